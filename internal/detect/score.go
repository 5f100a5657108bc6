package detect

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/stix/pattern"
	"github.com/mamori-cti/mamori/internal/store"
)

// DefaultHalfLives are the default half-lives of scores per class of
// value (see match.ValueClass): addresses change hands in days, domain
// names and URLs in weeks or months, file digests stay true for years.
var DefaultHalfLives = map[string]time.Duration{
	"ip":      10 * 24 * time.Hour,
	"url":     30 * 24 * time.Hour,
	"domain":  60 * 24 * time.Hour,
	"network": 90 * 24 * time.Hour,
	"email":   180 * 24 * time.Hour,
	"file":    365 * 24 * time.Hour,
	"hash":    3 * 365 * 24 * time.Hour,
	"other":   180 * 24 * time.Hour,
}

// ParseHalfLives reads "class=duration,…" where a duration is a Go
// duration or a number of days (d), weeks (w) or years (y): "ip=7d,hash=2y".
func ParseHalfLives(s string) (map[string]time.Duration, error) {
	out := map[string]time.Duration{}
	for _, item := range strings.Split(s, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		class, v, ok := strings.Cut(item, "=")
		if _, known := DefaultHalfLives[class]; !ok || !known {
			return nil, fmt.Errorf("half-life %q: want CLASS=DURATION with CLASS one of ip, url, domain, network, email, file, hash, other", item)
		}
		d, err := parseLongDuration(v)
		if err != nil || d <= 0 {
			return nil, fmt.Errorf("half-life %q: want a positive duration such as 7d, 12w, 2y or 36h", item)
		}
		out[class] = d
	}
	return out, nil
}

func parseLongDuration(s string) (time.Duration, error) {
	s = strings.TrimSpace(s)
	if n := len(s); n > 1 {
		unit := map[byte]time.Duration{'d': 24 * time.Hour, 'w': 7 * 24 * time.Hour, 'y': 365 * 24 * time.Hour}[s[n-1]]
		if unit > 0 {
			f, err := strconv.ParseFloat(s[:n-1], 64)
			if err != nil {
				return 0, err
			}
			return time.Duration(f * float64(unit)), nil
		}
	}
	return time.ParseDuration(s)
}

// ScoreOptions configure a Scorer.
type ScoreOptions struct {
	// HalfLives override DefaultHalfLives per class.
	HalfLives map[string]time.Duration
	// DefaultConfidence is used for sources and indicators without one
	// (default 50).
	DefaultConfidence int
	// MaxAge is how long a computed score is reused before it is computed
	// again (default 6 hours); between, it decays from the stored value.
	MaxAge time.Duration
}

// Score is an indicator's score and how it was reached.
type Score struct {
	Indicator string  `json:"indicator"`
	Score     float64 `json:"score"` // 0 to 100 at Computed
	// Base is the score before decay, at Reference.
	Base float64 `json:"base"`
	// Sources are the sources that reported the indicator, each with the
	// confidence counted for it.
	Sources        []SourceConfidence `json:"sources"`
	Sightings      int64              `json:"sightings"`
	FalsePositives int                `json:"false_positives"` // organisations that reported one
	Class          string             `json:"class"`
	HalfLifeDays   float64            `json:"half_life_days"`
	// Reference is when the indicator was last known to be true: the
	// latest of its modification, a source reporting it, and a sighting.
	Reference time.Time `json:"reference"`
	AgeDays   float64   `json:"age_days"`
	Computed  time.Time `json:"computed"`
}

// SourceConfidence is one source of an indicator.
type SourceConfidence struct {
	Source     string `json:"source,omitempty"`
	Confidence int    `json:"confidence"`
}

// At returns the score decayed to t.
func (s *Score) At(t time.Time) float64 {
	if s.HalfLifeDays <= 0 {
		return s.Score
	}
	age := t.Sub(s.Reference).Hours() / 24
	if age < 0 {
		age = 0
	}
	return math.Round(10*s.Base*math.Exp2(-age/s.HalfLifeDays)) / 10
}

// Scorer computes indicator scores:
//
//	each source counts with its confidence (the feed's "confidence"
//	option, else the indicator's confidence, else DefaultConfidence);
//	sources combine as independent reports: p = 1 − Π(1 − cᵢ);
//	sightings raise p towards 1: p += (1 − p) · ½ · (1 − e^(−sightings/5));
//	each organisation's false-positive report halves p;
//	the result decays with the age since Reference: × 2^(−age/half-life),
//	with the half-life of the indicator's class of value;
//	score = 100 · p, rounded to a tenth.
//
// Scores are stored (Storage.PutScore) with how they were computed. It is
// safe for concurrent use.
type Scorer struct {
	Store   store.Store
	Storage Storage
	ScoreOptions

	mu    sync.Mutex
	cache map[string]*Score
	feeds map[string]int // feed name → confidence option (-1: none)
}

// NewScorer returns a scorer.
func NewScorer(st store.Store, storage Storage, opts ScoreOptions) *Scorer {
	return &Scorer{Store: st, Storage: storage, ScoreOptions: opts, cache: map[string]*Score{}, feeds: map[string]int{}}
}

func (s *Scorer) halfLife(class string) time.Duration {
	if d, ok := s.HalfLives[class]; ok && d > 0 {
		return d
	}
	if d, ok := DefaultHalfLives[class]; ok {
		return d
	}
	return DefaultHalfLives["other"]
}

func (s *Scorer) maxAge() time.Duration {
	if s.MaxAge > 0 {
		return s.MaxAge
	}
	return 6 * time.Hour
}

// Get returns the score of an indicator at now: the stored one, decayed,
// when it is recent enough, else a new one.
func (s *Scorer) Get(ctx context.Context, id string, now time.Time) (Score, error) {
	s.mu.Lock()
	sc, ok := s.cache[id]
	s.mu.Unlock()
	if !ok && s.Storage != nil {
		if _, computed, detail, err := s.Storage.Score(ctx, id); err == nil {
			var stored Score
			if json.Unmarshal(detail, &stored) == nil && !computed.IsZero() {
				stored.Computed = computed
				sc, ok = &stored, true
			}
		} else if !errors.Is(err, store.ErrNotFound) {
			return Score{}, err
		}
	}
	if ok && now.Sub(sc.Computed) < s.maxAge() && now.Sub(sc.Computed) >= 0 {
		out := *sc
		out.Score = sc.At(now)
		return out, nil
	}
	return s.Compute(ctx, id, now)
}

// Forget drops a cached score (the indicator, its sightings or its
// reports changed).
func (s *Scorer) Forget(id string) {
	s.mu.Lock()
	delete(s.cache, id)
	s.mu.Unlock()
}

// Compute computes, stores and returns the score of an indicator at now.
func (s *Scorer) Compute(ctx context.Context, id string, now time.Time) (Score, error) {
	rec, err := s.Store.Get(ctx, id, store.GetOptions{})
	if err != nil {
		return Score{}, err
	}
	info, err := parseIndicator(rec)
	if err != nil {
		return Score{}, fmt.Errorf("%s: %w", id, err)
	}
	sc := Score{Indicator: id, Class: "other", Computed: now}
	if p, err := pattern.Parse(info.Pattern); err == nil && (info.PatternType == "" || info.PatternType == "stix") {
		sc.Class = match.ValueClass(p)
	}
	def := s.DefaultConfidence
	if def <= 0 {
		def = 50
	}
	own := info.Confidence
	if own < 0 {
		own = def
	}
	sc.Reference = info.Modified
	if sc.Reference.IsZero() {
		sc.Reference = info.Created
	}
	srcs, err := s.Store.Sources(ctx, id)
	if err != nil {
		return Score{}, err
	}
	for _, src := range srcs {
		c := s.feedConfidence(ctx, src.Source)
		if c < 0 {
			c = own
		}
		sc.Sources = append(sc.Sources, SourceConfidence{src.Source, c})
		if src.LastSeen.After(sc.Reference) {
			sc.Reference = src.LastSeen
		}
	}
	if len(sc.Sources) == 0 {
		sc.Sources = []SourceConfidence{{"indicator", own}}
	}
	miss := 1.0
	for _, src := range sc.Sources {
		miss *= 1 - float64(min(max(src.Confidence, 0), 100))/100
	}
	p := 1 - miss
	if s.Storage != nil {
		n, last, err := s.Storage.SightingTotals(ctx, id)
		if err != nil {
			return Score{}, err
		}
		sc.Sightings = n
		if last.After(sc.Reference) && !last.After(now) {
			sc.Reference = last
		}
		orgs := map[string]bool{}
		if err := s.Storage.FalsePositives(ctx, id, func(org, _, _ string, _ time.Time) error {
			orgs[org] = true
			return nil
		}); err != nil {
			return Score{}, err
		}
		sc.FalsePositives = len(orgs)
	}
	p += (1 - p) * 0.5 * (1 - math.Exp(-float64(sc.Sightings)/5))
	p *= math.Exp2(-float64(sc.FalsePositives))
	sc.Base = 100 * p
	sc.HalfLifeDays = s.halfLife(sc.Class).Hours() / 24
	if sc.Reference.IsZero() || sc.Reference.After(now) {
		sc.Reference = now
	}
	sc.AgeDays = math.Round(10*now.Sub(sc.Reference).Hours()/24) / 10
	sc.Score = sc.At(now)
	sc.Base = math.Round(1000*sc.Base) / 1000
	if s.Storage != nil {
		detail, _ := json.Marshal(sc)
		if err := s.Storage.PutScore(ctx, id, sc.Score, now, detail); err != nil {
			return Score{}, err
		}
	}
	s.mu.Lock()
	if len(s.cache) > 100000 {
		clear(s.cache)
	}
	c := sc
	s.cache[id] = &c
	s.mu.Unlock()
	return sc, nil
}

// feedConfidence is the "confidence" option of a feed, or -1.
func (s *Scorer) feedConfidence(ctx context.Context, name string) int {
	s.mu.Lock()
	c, ok := s.feeds[name]
	s.mu.Unlock()
	if ok {
		return c
	}
	c = -1
	if f, err := s.Store.Feed(ctx, name); err == nil {
		if v, err := strconv.Atoi(f.Options["confidence"]); err == nil && v >= 0 && v <= 100 {
			c = v
		}
	}
	s.mu.Lock()
	s.feeds[name] = c
	s.mu.Unlock()
	return c
}

// ReportFalsePositive records a false positive on an indicator and
// returns its new score.
func (s *Scorer) ReportFalsePositive(ctx context.Context, id, org, user, reason string, now time.Time) (Score, error) {
	rec, err := s.Store.Get(ctx, id, store.GetOptions{})
	if err != nil {
		return Score{}, err
	}
	if rec.Type != "indicator" {
		return Score{}, fmt.Errorf("%s is a %s, not an indicator", id, rec.Type)
	}
	if err := s.Storage.AddFalsePositive(ctx, id, org, user, reason, now); err != nil {
		return Score{}, err
	}
	s.Forget(id)
	return s.Compute(ctx, id, now)
}

// FalsePositive is one report.
type FalsePositive struct {
	Org    string    `json:"org,omitempty"`
	User   string    `json:"user,omitempty"`
	Reason string    `json:"reason"`
	At     time.Time `json:"at"`
}

// FalsePositives lists the reports on an indicator.
func (s *Scorer) FalsePositives(ctx context.Context, id string) ([]FalsePositive, error) {
	var out []FalsePositive
	err := s.Storage.FalsePositives(ctx, id, func(org, user, reason string, at time.Time) error {
		out = append(out, FalsePositive{org, user, reason, at})
		return nil
	})
	return out, err
}

// Keep returns a filter of indicator ids by minimum score at now, for
// exports and matching; indicators that cannot be scored are kept out.
func (s *Scorer) Keep(ctx context.Context, min float64, now time.Time) func(id string) bool {
	return func(id string) bool {
		sc, err := s.Get(ctx, id, now)
		return err == nil && sc.Score >= min
	}
}

// Refresh computes the score of every indicator the store holds (a
// periodic job: decay needs no refresh, sources and sightings do).
func (s *Scorer) Refresh(ctx context.Context, now time.Time) (int, error) {
	it, err := s.Store.Query(ctx, store.Query{Types: []string{"indicator"}})
	if err != nil {
		return 0, err
	}
	var ids []string
	for it.Next() {
		ids = append(ids, it.At().ID)
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return 0, err
	}
	sort.Strings(ids)
	for i, id := range ids {
		if _, err := s.Compute(ctx, id, now); err != nil {
			return i, err
		}
	}
	return len(ids), nil
}
