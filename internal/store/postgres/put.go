package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"strings"
	"unicode/utf8"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"

	"github.com/mamori-cti/mamori/internal/store"
)

// Put writes the batch in one transaction.
func (s *Store) Put(ctx context.Context, batch []*store.Object, opts store.PutOptions) (store.PutResult, error) {
	w, err := s.begin(ctx)
	if err != nil {
		return store.PutResult{}, err
	}
	res, err := w.Put(ctx, batch, opts)
	if err != nil {
		w.Rollback()
		return res, err
	}
	return res, w.Commit()
}

// Begin starts a multi-batch write transaction. It waits until no other
// writer, in this process or another one, holds the database.
func (s *Store) Begin(ctx context.Context) (store.Writer, error) {
	return s.begin(ctx)
}

// writer is one write transaction. It holds the writer_clock row lock from
// begin to commit or rollback.
type writer struct {
	s    *Store
	tx   pgx.Tx
	done bool
	// The last seq, collection seq and date_added handed out; written back
	// to writer_clock with each batch.
	lastSeq, lastCseq, lastAdded int64
}

func (s *Store) begin(ctx context.Context) (*writer, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	select {
	case s.wsem <- struct{}{}:
	case <-ctx.Done():
		return nil, ctx.Err()
	}
	tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
	if err != nil {
		<-s.wsem
		return nil, fmt.Errorf("postgres: begin: %w", err)
	}
	w := &writer{s: s, tx: tx}
	// The lock first; the second statement then reads, with a snapshot
	// taken after the lock was granted, what the previous writer committed.
	// The maxima guard against rows written without going through the clock
	// (a restore that did not include writer_clock).
	b := &pgx.Batch{}
	b.Queue(`SELECT 1 FROM writer_clock WHERE id = 1 FOR UPDATE`)
	b.Queue(`SELECT greatest(c.last_seq, (SELECT coalesce(max(seq), 0) FROM objects)),
		greatest(c.last_cseq, (SELECT coalesce(max(cseq), 0) FROM collection_objects)),
		greatest(c.last_added, (SELECT coalesce(max(added), 0) FROM objects))
		FROM writer_clock c WHERE c.id = 1`)
	br := tx.SendBatch(ctx, b)
	_, err = br.Exec()
	if err == nil {
		err = br.QueryRow().Scan(&w.lastSeq, &w.lastCseq, &w.lastAdded)
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		tx.Rollback(context.Background())
		<-s.wsem
		return nil, fmt.Errorf("postgres: begin: lock writer clock: %w", err)
	}
	return w, nil
}

// Commit commits the transaction and releases the writer lock.
func (w *writer) Commit() error {
	if w.done {
		return fmt.Errorf("postgres: transaction already ended")
	}
	w.done = true
	defer func() { <-w.s.wsem }()
	if err := w.tx.Commit(context.Background()); err != nil {
		return fmt.Errorf("postgres: commit: %w", err)
	}
	return nil
}

// Rollback discards the transaction and releases the writer lock; a no-op
// after Commit.
func (w *writer) Rollback() error {
	if w.done {
		return nil
	}
	w.done = true
	defer func() { <-w.s.wsem }()
	if err := w.tx.Rollback(context.Background()); err != nil && !errors.Is(err, pgx.ErrTxClosed) {
		return fmt.Errorf("postgres: rollback: %w", err)
	}
	return nil
}

// pending is a version inserted by the batch being written.
type pending struct {
	seq, added int64
	latest     bool
	o          *store.Object // replaced in place when a later copy changes an unversioned object
}

// version is a stored or pending version with its id and version key.
type version struct {
	seq  int64
	vkey string
	raw  []byte   // only for objects without a version key
	p    *pending // nil when the version was stored before this batch
}

type member struct{ cseq, seq, added int64 }

const lookupSQL = `SELECT seq, id, vkey, latest, CASE WHEN vkey = '' THEN raw END
	FROM objects WHERE id = ANY($1) AND (latest OR vkey = ANY($2))`

// Put writes a batch inside the transaction, in two round trips: one reads
// the stored versions of the batch's ids and the clock, the other writes.
// On error the caller must roll back.
func (w *writer) Put(ctx context.Context, batch []*store.Object, opts store.PutOptions) (res store.PutResult, err error) {
	if w.done {
		return res, fmt.Errorf("postgres: transaction already ended")
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}
	res.Outcomes = make([]store.Outcome, len(batch))
	keys := make([]string, len(batch))
	var ids, vkeys []string
	seenID, seenKey := map[string]bool{}, map[string]bool{}
	for i, o := range batch {
		keys[i] = o.VersionKey()
		if id := txt(o.ID); !seenID[id] {
			seenID[id] = true
			ids = append(ids, id)
		}
		if !seenKey[keys[i]] {
			seenKey[keys[i]] = true
			vkeys = append(vkeys, keys[i])
		}
	}

	// Round trip 1: the server clock, the collection and the stored versions.
	exact := map[string]*version{} // by id + "\x00" + vkey
	heads := map[string]*version{} // latest version by id
	var now int64
	collOK := true
	b := &pgx.Batch{}
	b.Queue(`SELECT (extract(epoch FROM clock_timestamp()) * 1000000)::bigint * 1000,
		$1::text = '' OR EXISTS (SELECT 1 FROM collections WHERE id = $1::text)`, opts.Collection)
	if len(ids) > 0 {
		b.Queue(lookupSQL, ids, vkeys)
	}
	br := w.tx.SendBatch(ctx, b)
	err = br.QueryRow().Scan(&now, &collOK)
	if err == nil && len(ids) > 0 {
		var rows pgx.Rows
		rows, err = br.Query()
		if err == nil {
			for rows.Next() {
				var v version
				var id string
				var latest bool
				if err = rows.Scan(&v.seq, &id, &v.vkey, &latest, &v.raw); err != nil {
					break
				}
				e := &v
				exact[id+"\x00"+v.vkey] = e
				if latest {
					heads[id] = e
				}
			}
			rows.Close()
			if err == nil {
				err = rows.Err()
			}
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return res, fmt.Errorf("postgres: look up batch: %w", err)
	}
	if !collOK {
		return res, fmt.Errorf("postgres: collection %s: %w", opts.Collection, store.ErrNotFound)
	}

	// Classify each object, in batch order, against what is stored and
	// what the batch wrote before it.
	next := func() int64 {
		w.lastAdded = max(now, w.lastAdded+1)
		return w.lastAdded
	}
	var (
		inserts      []*pending
		demote       []int64
		replaced     = map[int64]*store.Object{}
		replacedSeqs []int64
		members      []member
		inColl       = map[int64]bool{}
	)
	for i, o := range batch {
		vkey, id := keys[i], txt(o.ID)
		k := id + "\x00" + vkey
		e := exact[k]
		var seq int64
		switch {
		case e != nil && (vkey != "" || bytes.Equal(e.raw, o.Raw)):
			// The same version is stored: id and modified identify it.
			res.Outcomes[i] = store.OutcomeUnchanged
			res.Unchanged++
			seq = e.seq
		case e != nil:
			// An object without a version key whose content changed: the
			// new content replaces the old in place.
			if e.p != nil {
				e.p.o = o
			} else {
				if _, ok := replaced[e.seq]; !ok {
					replacedSeqs = append(replacedSeqs, e.seq)
				}
				replaced[e.seq] = o
			}
			e.raw = o.Raw
			res.Outcomes[i] = store.OutcomeNewVersion
			res.NewVersions++
			seq = e.seq
		default:
			h := heads[id]
			isLatest := h == nil || vkey > h.vkey
			w.lastSeq++
			p := &pending{seq: w.lastSeq, added: next(), latest: isLatest, o: o}
			inserts = append(inserts, p)
			v := &version{seq: p.seq, vkey: vkey, raw: o.Raw, p: p}
			exact[k] = v
			if isLatest {
				if h != nil {
					if h.p != nil {
						h.p.latest = false
					} else {
						demote = append(demote, h.seq)
					}
				}
				heads[id] = v
			}
			if h == nil {
				res.Outcomes[i] = store.OutcomeNew
				res.New++
			} else {
				res.Outcomes[i] = store.OutcomeNewVersion
				res.NewVersions++
			}
			seq = p.seq
		}
		if opts.Collection != "" && !inColl[seq] {
			inColl[seq] = true
			w.lastCseq++
			members = append(members, member{w.lastCseq, seq, next()})
		}
	}
	if err := ctx.Err(); err != nil {
		return res, err
	}

	// Round trip 2: every write, as arrays, in one pipeline.
	b = &pgx.Batch{}
	if len(demote) > 0 {
		b.Queue(`UPDATE objects SET latest = false WHERE seq = ANY($1)`, demote)
	}
	var d derived
	if len(replacedSeqs) > 0 {
		var r objectRows
		flush := func() {
			b.Queue(`UPDATE objects o SET type = u.type, spec_version = u.spec_version, created_by = u.created_by,
				markings = u.markings, revoked = u.revoked, owner = u.owner, level = u.level, sgroup = u.sgroup, raw = u.raw
				FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::boolean[], $7::text[], $8::smallint[], $9::text[], $10::bytea[])
					AS u(seq, type, spec_version, created_by, markings, revoked, owner, level, sgroup, raw)
				WHERE o.seq = u.seq`,
				r.seq, r.typ, r.spec, r.createdBy, r.markings, r.revoked, r.owner, r.level, r.group, r.raw)
			r = objectRows{}
		}
		for _, seq := range replacedSeqs {
			o := replaced[seq]
			if r.add(&pending{seq: seq, o: o}) {
				flush()
			}
			d.add(seq, o)
		}
		if len(r.seq) > 0 {
			flush()
		}
		for _, t := range []string{"refs", "labels", "external_ids", "obs_values", "objects_fts"} {
			b.Queue(`DELETE FROM `+t+` WHERE seq = ANY($1)`, replacedSeqs)
		}
	}
	if len(inserts) > 0 {
		var r objectRows
		flush := func() {
			b.Queue(`INSERT INTO objects (seq, id, type, vkey, spec_version, created_by, markings, revoked, latest, added, owner, level, sgroup, raw)
				SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::boolean[], $9::boolean[], $10::bigint[], $11::text[], $12::smallint[], $13::text[], $14::bytea[])`,
				r.seq, r.id, r.typ, r.vkey, r.spec, r.createdBy, r.markings, r.revoked, r.latest, r.added, r.owner, r.level, r.group, r.raw)
			r = objectRows{}
		}
		for _, p := range inserts {
			if r.add(p) {
				flush()
			}
			d.add(p.seq, p.o)
		}
		if len(r.seq) > 0 {
			flush()
		}
	}
	d.queue(b)
	if len(members) > 0 {
		cseqs, seqs, added := make([]int64, len(members)), make([]int64, len(members)), make([]int64, len(members))
		for i, m := range members {
			cseqs[i], seqs[i], added[i] = m.cseq, m.seq, m.added
		}
		b.Queue(`INSERT INTO collection_objects (cseq, coll, seq, added)
			SELECT c, $1, s, a FROM unnest($2::bigint[], $3::bigint[], $4::bigint[]) AS u(c, s, a)
			ON CONFLICT (coll, seq) DO NOTHING`, opts.Collection, cseqs, seqs, added)
	}
	if b.Len() == 0 {
		return res, nil
	}
	b.Queue(`UPDATE writer_clock SET last_seq = $1, last_cseq = $2, last_added = $3 WHERE id = 1`, w.lastSeq, w.lastCseq, w.lastAdded)
	if err := w.send(ctx, b); err != nil {
		return res, fmt.Errorf("postgres: write batch: %w", err)
	}
	return res, nil
}

// send runs a batch of statements that return no rows.
func (w *writer) send(ctx context.Context, b *pgx.Batch) error {
	br := w.tx.SendBatch(ctx, b)
	var err error
	for range b.Len() {
		if _, err = br.Exec(); err != nil {
			break
		}
	}
	if cerr := br.Close(); err == nil {
		err = cerr
	}
	return err
}

// objectRows holds the columns of objects rows as arrays, for unnest.
type objectRows struct {
	seq, added                                             []int64
	id, typ, vkey, spec, createdBy, markings, owner, group []string
	revoked, latest                                        []bool
	level                                                  []int16
	raw                                                    [][]byte
	bytes                                                  int
}

// maxStatementBytes bounds the JSON sent in one statement; PostgreSQL
// refuses arrays and messages over 1 GB.
const maxStatementBytes = 64 << 20

// add appends a row; true when the rows hold maxStatementBytes of JSON and
// should be sent.
func (r *objectRows) add(p *pending) bool {
	o := p.o
	r.bytes += len(o.Raw)
	r.seq = append(r.seq, p.seq)
	r.id = append(r.id, txt(o.ID))
	r.typ = append(r.typ, txt(o.Type))
	r.vkey = append(r.vkey, o.VersionKey())
	r.spec = append(r.spec, txt(o.SpecVersion))
	r.createdBy = append(r.createdBy, txt(o.CreatedByRef))
	r.markings = append(r.markings, txt(strings.Join(o.Markings, " ")))
	r.revoked = append(r.revoked, o.Revoked)
	r.latest = append(r.latest, p.latest)
	r.added = append(r.added, p.added)
	r.owner = append(r.owner, txt(o.Access.Owner))
	r.level = append(r.level, int16(o.Access.Level))
	r.group = append(r.group, txt(o.Access.Group))
	r.raw = append(r.raw, o.Raw)
	return r.bytes >= maxStatementBytes
}

// derived holds the rows of the derived index tables for a batch.
type derived struct {
	refTarget, refProp []string
	refSeq             []int64
	label              []string
	labelSeq           []int64
	extID              []string
	extSeq             []int64
	value              []string
	valueSeq           []int64
	ftsSeq             []int64
	ftsDoc             []pgtype.TSVector
}

func (d *derived) add(seq int64, o *store.Object) {
	ix := &o.Index
	for _, r := range ix.Refs {
		d.refTarget = append(d.refTarget, txt(r.Target))
		d.refProp = append(d.refProp, txt(r.Prop))
		d.refSeq = append(d.refSeq, seq)
	}
	for _, l := range ix.Labels {
		d.label = append(d.label, txt(l))
		d.labelSeq = append(d.labelSeq, seq)
	}
	for _, e := range ix.ExternalIDs {
		d.extID = append(d.extID, txt(strings.ToLower(e)))
		d.extSeq = append(d.extSeq, seq)
	}
	for _, v := range ix.Values {
		d.value = append(d.value, txt(v))
		d.valueSeq = append(d.valueSeq, seq)
	}
	if doc, ok := textVector(ix); ok {
		d.ftsSeq = append(d.ftsSeq, seq)
		d.ftsDoc = append(d.ftsDoc, doc)
	}
}

func (d *derived) queue(b *pgx.Batch) {
	if len(d.refSeq) > 0 {
		b.Queue(`INSERT INTO refs (target, prop, seq) SELECT * FROM unnest($1::text[], $2::text[], $3::bigint[])`, d.refTarget, d.refProp, d.refSeq)
	}
	if len(d.labelSeq) > 0 {
		b.Queue(`INSERT INTO labels (label, seq) SELECT * FROM unnest($1::text[], $2::bigint[])`, d.label, d.labelSeq)
	}
	if len(d.extSeq) > 0 {
		b.Queue(`INSERT INTO external_ids (ext_id, seq) SELECT * FROM unnest($1::text[], $2::bigint[])`, d.extID, d.extSeq)
	}
	if len(d.valueSeq) > 0 {
		b.Queue(`INSERT INTO obs_values (value, seq) SELECT * FROM unnest($1::text[], $2::bigint[])`, d.value, d.valueSeq)
	}
	if len(d.ftsSeq) > 0 {
		b.Queue(`INSERT INTO objects_fts (seq, doc) SELECT * FROM unnest($1::bigint[], $2::tsvector[])`, d.ftsSeq, d.ftsDoc)
	}
}

// txt makes s storable in a text column, which cannot hold NUL and must be
// valid UTF-8: NUL bytes are dropped and invalid bytes replaced by U+FFFD.
// Queries apply the same function to what they look up, so a value with a
// NUL is still found. (Raw JSON is bytea and kept byte for byte.)
func txt(s string) string {
	if strings.IndexByte(s, 0) < 0 && utf8.ValidString(s) {
		return s
	}
	return strings.ReplaceAll(strings.ToValidUTF8(s, "\uFFFD"), "\x00", "")
}
