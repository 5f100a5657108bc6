package detect

import (
	"context"
	"runtime"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// LoadOptions configure LoadMatcher.
type LoadOptions struct {
	// Viewer restricts the indicators to those a reader may see; nil loads
	// every indicator (the local operator, or a shared matcher whose hits
	// are checked per reader).
	Viewer *store.Viewer
	// Match configures the matcher.
	Match match.Options
	// Now is the time valid_until is compared with (default time.Now).
	Now time.Time
	// Workers decode and parse in parallel (default GOMAXPROCS).
	Workers int
	// OnInvalid, when set, receives indicators whose pattern is not valid.
	OnInvalid func(id string, err error)
}

// LoadResult counts what LoadMatcher read.
type LoadResult struct {
	Read        int           `json:"read"`        // indicators read (not revoked)
	Added       int           `json:"added"`       // in the matcher
	Expired     int           `json:"expired"`     // past valid_until: searchable, not matched
	NotSTIX     int           `json:"not_stix"`    // pattern_type other than stix
	Unmatchable int           `json:"unmatchable"` // compare nothing telemetry carries
	Invalid     int           `json:"invalid"`
	Elapsed     time.Duration `json:"-"`
	Seconds     float64       `json:"seconds"`
}

type loadItem struct {
	id  string
	raw []byte
}

// LoadMatcher builds a matcher from the indicators in the store that the
// viewer may read: revoked indicators and those past their valid_until are
// left out, and so are patterns of other languages than STIX.
func LoadMatcher(ctx context.Context, st store.Store, opts LoadOptions) (*match.Matcher, LoadResult, error) {
	start := time.Now()
	now := opts.Now
	if now.IsZero() {
		now = time.Now()
	}
	workers := opts.Workers
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	m := match.NewMatcher(opts.Match)
	bulk := m.NewBulk(workers)
	bulk.OnInvalid = opts.OnInvalid
	var res LoadResult
	var mu sync.Mutex // guards res and bulk
	items := make(chan []loadItem, workers*2)
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for batch := range items {
				var local LoadResult
				type pair struct{ id, pattern string }
				var add []pair
				for _, it := range batch {
					var j struct{ Pattern, PatternType, ValidUntil string }
					err := match.TopLevelStrings(it.raw, func(k, v []byte) {
						switch string(k) {
						case "pattern":
							j.Pattern = string(v)
						case "pattern_type":
							j.PatternType = string(v)
						case "valid_until":
							j.ValidUntil = string(v)
						}
					})
					if err != nil {
						local.Invalid++
						continue
					}
					if j.PatternType != "" && j.PatternType != "stix" {
						local.NotSTIX++
						continue
					}
					if j.ValidUntil != "" {
						if t, err := stix.ParseTimestamp(j.ValidUntil); err == nil && !now.Before(t) {
							local.Expired++
							continue
						}
					}
					add = append(add, pair{it.id, j.Pattern})
				}
				mu.Lock()
				res.Invalid += local.Invalid
				res.NotSTIX += local.NotSTIX
				res.Expired += local.Expired
				for _, p := range add {
					bulk.Add(p.id, p.pattern)
				}
				mu.Unlock()
			}
		}()
	}
	it, err := st.Query(ctx, store.Query{Types: []string{"indicator"}, Viewer: opts.Viewer})
	if err != nil {
		close(items)
		wg.Wait()
		bulk.Close()
		return nil, res, err
	}
	var batch []loadItem
	for it.Next() {
		r := it.At()
		batch = append(batch, loadItem{id: r.ID, raw: append([]byte(nil), r.Raw...)})
		res.Read++
		if len(batch) == 1024 {
			items <- batch
			batch = nil
		}
	}
	if len(batch) > 0 {
		items <- batch
	}
	close(items)
	wg.Wait()
	err = it.Err()
	it.Close()
	br := bulk.Close()
	res.Added = br.Added
	res.Unmatchable = br.Unmatchable
	res.Invalid += br.Invalid
	res.Elapsed = time.Since(start)
	res.Seconds = res.Elapsed.Seconds()
	if err != nil {
		return nil, res, err
	}
	return m, res, ctx.Err()
}
