package detect

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/stix/pattern"
	"github.com/mamori-cti/mamori/internal/store"
)

// RetroHunter matches new indicators against the history of observed
// values and records what it finds as retrospective sightings.
type RetroHunter struct {
	Store    store.Store
	Storage  Storage
	Recorder *Recorder
	// Days is how far back to look (default 30, as the history keeps).
	Days int
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	viewers map[string]*store.Viewer
}

// RetroResult counts what a hunt did.
type RetroResult struct {
	Indicators  int `json:"indicators"`  // indicators hunted
	Unsupported int `json:"unsupported"` // patterns the history cannot answer (LIKE, MATCHES, …)
	Sightings   int `json:"sightings"`   // retrospective sightings recorded (before Flush)
}

// Hunt looks the given objects up in the history (those that are not
// current STIX indicators are skipped). The sightings are left in the
// recorder for its next Flush.
func (h *RetroHunter) Hunt(ctx context.Context, ids []string) (RetroResult, error) {
	var res RetroResult
	type target struct {
		id     string
		access store.Access
	}
	var targets []target
	byKey := map[string][]int{}
	var keys [][]byte
	type rng struct {
		lo, hi []byte
		t      int
	}
	var ranges []rng
	for _, id := range ids {
		rec, err := h.Store.Get(ctx, id, store.GetOptions{})
		if errors.Is(err, store.ErrNotFound) {
			continue
		}
		if err != nil {
			return res, err
		}
		if rec.Type != "indicator" || rec.Revoked {
			continue
		}
		info, err := parseIndicator(rec)
		if err != nil || info.Revoked || info.PatternType != "" && info.PatternType != "stix" {
			continue
		}
		p, err := pattern.Parse(info.Pattern)
		if err != nil {
			continue
		}
		res.Indicators++
		ks, rs, ok := match.PatternHistory(p)
		if !ok {
			res.Unsupported++
			continue
		}
		t := len(targets)
		targets = append(targets, target{id, rec.Access})
		for _, k := range ks {
			b := k.Bytes()
			if byKey[string(b)] == nil {
				keys = append(keys, append([]byte(nil), b...))
			}
			byKey[string(b)] = append(byKey[string(b)], t)
		}
		for _, r := range rs {
			ranges = append(ranges, rng{append([]byte(nil), r.Lo.Bytes()...), append([]byte(nil), r.Hi.Bytes()...), t})
		}
	}
	if len(targets) == 0 {
		return res, nil
	}
	now := time.Now()
	if h.Now != nil {
		now = h.Now()
	}
	days := h.Days
	if days <= 0 {
		days = 30
	}
	to := Day(now)
	from := to - days + 1
	type hit struct {
		t   int
		org string
		day int
	}
	counts := map[hit]int64{}
	err := h.Storage.ObservedKeys(ctx, keys, from, to, func(key []byte, org string, day int, count int64) error {
		for _, t := range byKey[string(key)] {
			counts[hit{t, org, day}] += count
		}
		return nil
	})
	if err != nil {
		return res, err
	}
	for _, r := range ranges {
		err := h.Storage.ObservedRange(ctx, r.lo, r.hi, from, to, func(key []byte, org string, day int, count int64) error {
			if len(key) == len(r.lo) { // the same address family
				counts[hit{r.t, org, day}] += count
			}
			return nil
		})
		if err != nil {
			return res, err
		}
	}
	for k, n := range counts {
		v, err := h.viewer(ctx, k.org)
		if err != nil {
			return res, err
		}
		if !v.CanRead(targets[k.t].access) {
			continue // the organisation may not see this indicator
		}
		h.Recorder.SetRetro(targets[k.t].id, k.org, k.day, n)
		res.Sightings++
	}
	return res, nil
}

func (h *RetroHunter) forgetViewers() {
	h.mu.Lock()
	h.viewers = nil
	h.mu.Unlock()
}

// viewer is the read restriction of an organisation.
func (h *RetroHunter) viewer(ctx context.Context, org string) (*store.Viewer, error) {
	h.mu.Lock()
	v, ok := h.viewers[org]
	h.mu.Unlock()
	if ok {
		return v, nil
	}
	groups, err := h.Store.OrgGroups(ctx, org)
	if err != nil {
		return nil, err
	}
	v = &store.Viewer{Org: org, Groups: groups}
	h.mu.Lock()
	if h.viewers == nil {
		h.viewers = map[string]*store.Viewer{}
	}
	h.viewers[org] = v
	h.mu.Unlock()
	return v, nil
}
