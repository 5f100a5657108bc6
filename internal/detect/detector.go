package detect

import (
	"context"
	"encoding/json"
	"sync/atomic"
	"time"

	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/store"
)

// HitLine is the JSON line written for each hit.
type HitLine struct {
	// Record is the line number of the record in its input, Offset the
	// byte offset of the line.
	Record int64  `json:"record"`
	Offset int64  `json:"offset"`
	Time   string `json:"time,omitempty"` // the record's time stamp, when it has one
	// The observable: where it was read, its object path and value. A
	// pattern evaluated on the whole record has none.
	Field string `json:"field,omitempty"`
	Type  string `json:"type,omitempty"`
	Path  string `json:"path,omitempty"`
	Value string `json:"value,omitempty"`
	// Match says how it matched: exact, subdomain, cidr,
	// url-without-query, conjunction, like or pattern.
	Match      string           `json:"match"`
	Indicator  string           `json:"indicator"`
	Name       string           `json:"name,omitempty"`
	Confidence *int             `json:"confidence,omitempty"`
	Score      *float64         `json:"score,omitempty"`
	TLP        string           `json:"tlp,omitempty"`
	KillChain  []KillChainPhase `json:"kill_chain_phases,omitempty"`
	Attack     []string         `json:"attack,omitempty"`
	Labels     []string         `json:"labels,omitempty"`
	// Org is the organisation whose telemetry it was (service hits).
	Org string `json:"org,omitempty"`
}

// Detector turns the hits of the matcher into output lines, sightings and
// history, for one reader. Its methods are safe for concurrent use.
type Detector struct {
	Matcher  *match.Matcher
	Resolver *Resolver
	// Scorer, when set, adds scores to hits and applies MinScore.
	Scorer   *Scorer
	MinScore float64
	// Recorder, when set, records a sighting per record and indicator.
	Recorder *Recorder
	// History, when set, remembers the record's values for the retro-hunt.
	History *History
	// Org is the organisation whose telemetry it is ("" for the local
	// operator: nothing is recorded), Viewer what it may read (nil: all).
	Org    string
	Viewer *store.Viewer
	// Output makes RecordFunc write HitLines.
	Output bool
	// Now is the clock (default time.Now).
	Now func() time.Time

	hits, dropped, errors atomic.Int64
}

// DetectorStats counts what a detector did.
type DetectorStats struct {
	Hits    int64 `json:"hits"`    // hits reported (and recorded)
	Dropped int64 `json:"dropped"` // matches left out: not visible, expired, revoked or below the minimum score
	Errors  int64 `json:"errors"`  // indicators that could not be read
}

// Stats returns the counts so far.
func (d *Detector) Stats() DetectorStats {
	return DetectorStats{Hits: d.hits.Load(), Dropped: d.dropped.Load(), Errors: d.errors.Load()}
}

func (d *Detector) now() time.Time {
	if d.Now != nil {
		return d.Now()
	}
	return time.Now()
}

// RecordFunc returns the function the match engine calls for each record.
func (d *Detector) RecordFunc(ctx context.Context) match.RecordFunc {
	return func(rec *match.Record, hits []match.Hit, out []byte) []byte {
		var t time.Time
		timeRead := false
		recTime := func() time.Time {
			if !timeRead {
				t, timeRead = rec.Time(), true
			}
			return t
		}
		if d.History != nil && d.Org != "" {
			d.History.Observe(d.Org, rec, recTime())
		}
		if len(hits) == 0 {
			return out
		}
		now := d.now()
		var recorded []string
		for _, h := range hits {
			info, err := d.Resolver.Info(ctx, h.Indicator)
			if err != nil {
				d.errors.Add(1)
				continue
			}
			if !info.Matchable(now) || !d.Viewer.CanRead(info.Access) {
				d.dropped.Add(1)
				continue
			}
			var score *float64
			if d.Scorer != nil {
				sc, err := d.Scorer.Get(ctx, h.Indicator, now)
				if err != nil {
					d.errors.Add(1)
					continue
				}
				if sc.Score < d.MinScore {
					d.dropped.Add(1)
					continue
				}
				score = &sc.Score
			}
			d.hits.Add(1)
			if d.Recorder != nil && d.Org != "" && !contains(recorded, h.Indicator) {
				recorded = append(recorded, h.Indicator)
				d.Recorder.Add(h.Indicator, d.Org, recTime(), 1)
			}
			if !d.Output {
				continue
			}
			line := HitLine{Record: rec.N, Offset: rec.Offset, Match: h.Match.String(), Indicator: h.Indicator,
				Name: info.Name, Score: score, TLP: info.TLP, KillChain: info.KillChain, Attack: info.AttackFor(d.Viewer), Labels: info.Labels, Org: d.Org}
			if rt := recTime(); !rt.IsZero() {
				line.Time = rt.Format(time.RFC3339Nano)
			}
			if info.Confidence >= 0 {
				c := info.Confidence
				line.Confidence = &c
			}
			if h.Obs >= 0 && h.Obs < len(rec.Obs) {
				o := rec.Obs[h.Obs]
				line.Field, line.Type, line.Path, line.Value = o.Field, o.Path.Type(), o.Path.Prop(), string(rec.Value(h.Obs))
			}
			b, err := json.Marshal(&line)
			if err != nil {
				continue
			}
			out = append(out, b...)
			out = append(out, '\n')
		}
		return out
	}
}
