package taxii

import (
	"context"
	"errors"
	"slices"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// Paging.
//
// A page is computed in two passes over the store, both keyset queries that
// start after the previous page's last sequence number (no OFFSET, so a deep
// page costs what the first does):
//
//  1. bounds: the records' sequence numbers and dates only (QueryMeta, no
//     JSON), limit+1 of them, to learn how many records the page holds,
//     whether more follow, and the date_added of its first and last record,
//     which go in the X-TAXII-Date-Added-* headers before the body;
//  2. stream: the records themselves, written to the response as they are
//     read, so memory stays flat whatever the page size.
//
// date_added is shown with microseconds (the TAXII timestamp type). The
// store spaces date_added by nanoseconds, so several records can share a
// shown microsecond; a page that would end inside such a group while more
// follow ends before the group instead (a page may hold fewer records than
// the limit). X-TAXII-Date-Added-Last is then exact: the records after it
// are those whose shown date_added is later, which is what added_after
// selects (addedAfterBound), and a client paging or resuming with
// added_after=X-TAXII-Date-Added-Last neither skips nor repeats.
//
// A version filter with several terms (first,last or timestamps) is an OR
// of store queries: the bounds pass reads each and merges their sequence
// numbers; the stream pass reads every version in the page's range and
// keeps those in the merged set.

type pageRequest struct {
	base  store.Query   // filters shared by every mode (collection, ids, types, …)
	modes []store.Query // one per version term: Versions and Modified
	after int64         // the previous page's last sequence number
	limit int
}

type pageBounds struct {
	n           int // records on the page
	lastSeq     int64
	first, last time.Time
	more        bool
	seqs        []int64 // the page's sequence numbers, multi-mode only
}

var errStop = errors.New("stop")

func (p *pageRequest) query(mode store.Query, limit int) store.Query {
	q := p.base
	q.Versions = mode.Versions
	q.Modified = mode.Modified
	q.AfterSeq = p.after
	q.Limit = limit
	return q
}

// each runs q and calls fn for every record; fn returning errStop ends the
// walk without error. Without raw, records come without their JSON when the
// store can do that cheaply.
func (s *Server) each(ctx context.Context, q store.Query, raw bool, fn func(*store.Record) error) error {
	if !raw {
		if mq, ok := s.opts.Store.(metaQuerier); ok {
			if err := mq.QueryMeta(ctx, q, fn); err != nil && err != errStop {
				return err
			}
			return nil
		}
	}
	it, err := s.opts.Store.Query(ctx, q)
	if err != nil {
		return err
	}
	defer it.Close()
	for it.Next() {
		if err := fn(it.At()); err != nil {
			if err == errStop {
				return nil
			}
			return err
		}
	}
	return it.Err()
}

// boundsBuilder accumulates the first pass.
type boundsBuilder struct {
	limit   int
	collect bool
	b       pageBounds
	groupUS int64 // microsecond of the current date_added group
	start   int   // index of its first record
	prevSeq int64 // the record before the current group
	prevAt  time.Time
}

// add takes the next record in sequence order; false means the page is
// complete (the record was the look-ahead one).
func (bb *boundsBuilder) add(seq int64, added time.Time) bool {
	us := added.UnixMicro()
	b := &bb.b
	if b.n == bb.limit {
		b.more = true
		if us == bb.groupUS && bb.start > 0 {
			// The page would end inside a microsecond group that goes on:
			// end it before the group.
			b.n, b.lastSeq, b.last = bb.start, bb.prevSeq, bb.prevAt
			if bb.collect {
				b.seqs = b.seqs[:b.n]
			}
		}
		return false
	}
	if b.n == 0 || us != bb.groupUS {
		bb.prevSeq, bb.prevAt = b.lastSeq, b.last
		bb.start, bb.groupUS = b.n, us
	}
	if b.n == 0 {
		b.first = added
	}
	b.n++
	b.lastSeq, b.last = seq, added
	if bb.collect {
		b.seqs = append(b.seqs, seq)
	}
	return true
}

type seqAt struct {
	seq   int64
	added time.Time
}

// bounds runs the first pass.
func (s *Server) bounds(ctx context.Context, p *pageRequest) (pageBounds, error) {
	bb := &boundsBuilder{limit: p.limit, collect: len(p.modes) > 1}
	if len(p.modes) == 1 {
		err := s.each(ctx, p.query(p.modes[0], p.limit+1), false, func(r *store.Record) error {
			if !bb.add(r.Seq, r.DateAdded) {
				return errStop
			}
			return nil
		})
		return bb.b, err
	}
	var all []seqAt
	for _, m := range p.modes {
		err := s.each(ctx, p.query(m, p.limit+1), false, func(r *store.Record) error {
			all = append(all, seqAt{r.Seq, r.DateAdded})
			return nil
		})
		if err != nil {
			return pageBounds{}, err
		}
	}
	slices.SortFunc(all, func(a, b seqAt) int { return cmpInt64(a.seq, b.seq) })
	all = slices.CompactFunc(all, func(a, b seqAt) bool { return a.seq == b.seq })
	for _, r := range all {
		if !bb.add(r.seq, r.added) {
			break
		}
	}
	return bb.b, nil
}

// stream runs the second pass, calling fn for each record of the page.
func (s *Server) stream(ctx context.Context, p *pageRequest, b *pageBounds, raw bool, fn func(*store.Record) error) error {
	if b.n == 0 {
		return nil
	}
	if len(p.modes) == 1 {
		return s.each(ctx, p.query(p.modes[0], b.n), raw, func(r *store.Record) error {
			if r.Seq > b.lastSeq {
				return errStop
			}
			return fn(r)
		})
	}
	i := 0
	return s.each(ctx, p.query(store.Query{Versions: store.VersionsAll}, 0), raw, func(r *store.Record) error {
		if r.Seq > b.lastSeq {
			return errStop
		}
		for i < len(b.seqs) && b.seqs[i] < r.Seq {
			i++
		}
		if i < len(b.seqs) && b.seqs[i] == r.Seq {
			return fn(r)
		}
		return nil
	})
}

func cmpInt64(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}
