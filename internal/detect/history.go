package detect

import (
	"bytes"
	"context"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mamori-cti/mamori/internal/match"
)

// HistoryOptions bound the retro-hunt history.
type HistoryOptions struct {
	// Days is how many days of observed values are kept (default 30).
	Days int
	// MaxPerDay bounds the distinct values kept per organisation and day
	// (default 10 million); once reached, new values of that day are not
	// recorded (and are counted as dropped).
	MaxPerDay int64
}

func (o HistoryOptions) days() int {
	if o.Days <= 0 {
		return 30
	}
	return o.Days
}

func (o HistoryOptions) maxPerDay() int64 {
	if o.MaxPerDay <= 0 {
		return 10_000_000
	}
	return o.MaxPerDay
}

// histEntry is one buffered history row.
type histEntry struct {
	org uint32
	day int32
	key match.HistoryKey
}

const histShards = 16

// History buffers the values observed in telemetry, per organisation and
// day with counts, and writes them to the storage on Flush. It is safe for
// concurrent use.
type History struct {
	Storage Storage
	HistoryOptions

	orgMu sync.Mutex
	orgs  map[string]uint32
	names []string

	shards [histShards]struct {
		mu sync.Mutex
		m  map[histEntry]int64
	}
	knownMu sync.Mutex
	known   map[[2]int64]int64 // (org, day) → distinct keys stored
	dropped atomic.Int64
}

// NewHistory returns a history writing to st.
func NewHistory(st Storage, opts HistoryOptions) *History {
	return &History{Storage: st, HistoryOptions: opts, orgs: map[string]uint32{}, known: map[[2]int64]int64{}}
}

func (h *History) orgNum(org string) uint32 {
	h.orgMu.Lock()
	defer h.orgMu.Unlock()
	n, ok := h.orgs[org]
	if !ok {
		n = uint32(len(h.names))
		h.orgs[org] = n
		h.names = append(h.names, org)
	}
	return n
}

// Observe adds the values of a record seen by org at t.
func (h *History) Observe(org string, rec *match.Record, t time.Time) {
	if t.IsZero() {
		t = time.Now()
	}
	e := histEntry{org: h.orgNum(org), day: int32(Day(t))}
	rec.HistoryKeys(func(k match.HistoryKey) {
		e.key = k
		b := k.Bytes()
		s := &h.shards[(uint(b[len(b)-1])^uint(b[1]))%histShards]
		s.mu.Lock()
		if s.m == nil {
			s.m = map[histEntry]int64{}
		}
		s.m[e]++
		s.mu.Unlock()
	})
}

// Buffered is the number of distinct values waiting for Flush.
func (h *History) Buffered() int {
	n := 0
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		n += len(s.m)
		s.mu.Unlock()
	}
	return n
}

// Dropped is the number of values left out because a day was full.
func (h *History) Dropped() int64 { return h.dropped.Load() }

// Flush writes the buffered values.
func (h *History) Flush(ctx context.Context) error {
	type group struct {
		keys   [][]byte
		counts []int64
	}
	groups := map[[2]int64]*group{}
	for i := range h.shards {
		s := &h.shards[i]
		s.mu.Lock()
		m := s.m
		s.m = nil
		s.mu.Unlock()
		for e, c := range m {
			gk := [2]int64{int64(e.org), int64(e.day)}
			g := groups[gk]
			if g == nil {
				g = &group{}
				groups[gk] = g
			}
			k := e.key
			g.keys = append(g.keys, append([]byte(nil), k.Bytes()...))
			g.counts = append(g.counts, c)
		}
	}
	oldest := Day(time.Now()) - h.days() + 1
	for gk, g := range groups {
		if int(gk[1]) < oldest {
			continue // older than the history keeps
		}
		h.orgMu.Lock()
		org := h.names[gk[0]]
		h.orgMu.Unlock()
		h.knownMu.Lock()
		known, ok := h.known[gk]
		h.knownMu.Unlock()
		if !ok {
			n, err := h.Storage.ObservedCount(ctx, org, int(gk[1]))
			if err != nil {
				return err
			}
			known = n
		}
		if known >= h.maxPerDay() {
			h.dropped.Add(int64(len(g.keys)))
			continue
		}
		// In key order, rows go to the end of the same pages instead of
		// all over the table.
		sort.Sort(byKey{g.keys, g.counts})
		for start := 0; start < len(g.keys); start += 10000 {
			end := min(start+10000, len(g.keys))
			if err := h.Storage.AddObserved(ctx, org, int(gk[1]), g.keys[start:end], g.counts[start:end]); err != nil {
				return err
			}
		}
		known, err := h.Storage.ObservedCount(ctx, org, int(gk[1]))
		if err != nil {
			return err
		}
		h.knownMu.Lock()
		h.known[gk] = known
		h.knownMu.Unlock()
	}
	return nil
}

type byKey struct {
	keys   [][]byte
	counts []int64
}

func (b byKey) Len() int           { return len(b.keys) }
func (b byKey) Less(i, j int) bool { return bytes.Compare(b.keys[i], b.keys[j]) < 0 }
func (b byKey) Swap(i, j int) {
	b.keys[i], b.keys[j] = b.keys[j], b.keys[i]
	b.counts[i], b.counts[j] = b.counts[j], b.counts[i]
}

// Prune deletes the days the history no longer keeps.
func (h *History) Prune(ctx context.Context) (int64, error) {
	before := Day(time.Now()) - h.days() + 1
	h.knownMu.Lock()
	for k := range h.known {
		if int(k[1]) < before {
			delete(h.known, k)
		}
	}
	h.knownMu.Unlock()
	return h.Storage.PruneObserved(ctx, before)
}
