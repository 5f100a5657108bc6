package detect

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// sightingNamespace is the UUIDv5 namespace of sighting identifiers.
var sightingNamespace = uuid.MustParse("5c1f3f7e-8a0b-4e43-9d55-2f0b6d8e4a71")

// SightingID is the identifier of the sighting of an indicator by an
// organisation on a day: the same inputs always give the same id, so that
// the counts of a day accumulate in versions of one object. Retrospective
// sightings (from the retro-hunt) have ids of their own.
func SightingID(indicator, org string, day int, retro bool) string {
	name := indicator + "|" + org + "|" + strconv.Itoa(day)
	if retro {
		name += "|retro"
	}
	return "sighting--" + uuid.NewSHA1(sightingNamespace, []byte(name)).String()
}

// OrgInfo is what sightings need of an organisation.
type OrgInfo struct {
	ID       string
	Identity string // the organisation's STIX identity: created_by_ref and where_sighted_refs
	// Level and Group are the distribution of the organisation's
	// sightings (ingest.Options Level and Group).
	Level store.Level
	Group string
}

type sightKey struct {
	indicator, org string
	day            int
	retro          bool
}

type sightAgg struct {
	count       int64
	first, last time.Time
	absolute    bool
}

// Recorder aggregates hits into sightings per indicator, organisation and
// day and writes them, on Flush, as new versions of deterministic sighting
// objects through the importer. It is safe for concurrent use.
type Recorder struct {
	Store    store.Store
	Storage  Storage
	Importer *ingest.Importer
	// Org returns the details of an organisation (by id); nil uses the
	// store's directory with distribution to the organisation only.
	Org func(ctx context.Context, id string) (OrgInfo, error)
	// Now is the clock (default time.Now).
	Now func() time.Time

	mu      sync.Mutex
	pending map[sightKey]*sightAgg
}

// Add records n sightings of indicator by org at t.
func (r *Recorder) Add(indicator, org string, t time.Time, n int64) {
	if t.IsZero() {
		t = r.now()
	}
	k := sightKey{indicator, org, Day(t), false}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[sightKey]*sightAgg{}
	}
	a := r.pending[k]
	if a == nil {
		a = &sightAgg{first: t, last: t}
		r.pending[k] = a
	}
	a.count += n
	if t.Before(a.first) {
		a.first = t
	}
	if t.After(a.last) {
		a.last = t
	}
}

// SetRetro sets the count of the retrospective sighting of indicator by
// org on day (from the history, which knows days, not times).
func (r *Recorder) SetRetro(indicator, org string, day int, count int64) {
	k := sightKey{indicator, org, day, true}
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[sightKey]*sightAgg{}
	}
	r.pending[k] = &sightAgg{count: count, first: DayStart(day), last: DayStart(day + 1).Add(-time.Millisecond), absolute: true}
}

// Pending is the number of sightings waiting for Flush.
func (r *Recorder) Pending() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.pending)
}

func (r *Recorder) now() time.Time {
	if r.Now != nil {
		return r.Now()
	}
	return time.Now()
}

// FlushResult counts what a flush wrote.
type FlushResult struct {
	Sightings int // sighting versions written
	ingest.Result
}

// Flush writes the pending sightings: one new version per indicator,
// organisation and day, with the totals so far.
func (r *Recorder) Flush(ctx context.Context) (FlushResult, error) {
	r.mu.Lock()
	pending := r.pending
	r.pending = nil
	r.mu.Unlock()
	var fr FlushResult
	if len(pending) == 0 {
		return fr, nil
	}
	keys := make([]sightKey, 0, len(pending))
	for k := range pending {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.org != b.org {
			return a.org < b.org
		}
		if a.indicator != b.indicator {
			return a.indicator < b.indicator
		}
		if a.day != b.day {
			return a.day < b.day
		}
		return !a.retro && b.retro
	})
	// One import per organisation, with its distribution.
	for start := 0; start < len(keys); {
		end := start
		for end < len(keys) && keys[end].org == keys[start].org {
			end++
		}
		org, err := r.org(ctx, keys[start].org)
		if err != nil {
			r.requeue(pending, nil, keys[start:])
			return fr, fmt.Errorf("sightings of organisation %s: %w", keys[start].org, err)
		}
		var objs [][]byte
		for i, k := range keys[start:end] {
			a := pending[k]
			id := SightingID(k.indicator, k.org, k.day, k.retro)
			total, first, last, created, modified, err := r.Storage.AddSighting(ctx, id, k.indicator, k.org, k.day, k.retro, a.count, a.first, a.last, a.absolute, r.now())
			if err != nil {
				r.requeue(pending, keys[start:start+i], keys[start+i:])
				return fr, err
			}
			objs = append(objs, sightingJSON(id, k, org.Identity, total, first, last, created, modified))
		}
		res, err := r.Importer.Import(ctx, func(emit func(int, []byte) error, _ func(string)) error {
			for i, o := range objs {
				if err := emit(i, o); err != nil {
					return err
				}
			}
			return nil
		}, "detection", ingest.Options{Owner: org.ID, Level: org.Level, Group: org.Group})
		fr.Result.Add(res)
		fr.Sightings += res.New + res.NewVersions
		if err != nil {
			r.requeue(pending, keys[start:end], keys[end:])
			return fr, err
		}
		if res.Rejected > 0 {
			return fr, fmt.Errorf("%d sightings were rejected", res.Rejected)
		}
		start = end
	}
	return fr, nil
}

// requeue puts back what a failed flush did not write: counted keys are
// already in the storage's totals and only need their object written
// again; the others keep their counts.
func (r *Recorder) requeue(pending map[sightKey]*sightAgg, counted, rest []sightKey) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.pending == nil {
		r.pending = map[sightKey]*sightAgg{}
	}
	put := func(k sightKey, a sightAgg) {
		if cur := r.pending[k]; cur != nil && !cur.absolute && !a.absolute {
			cur.count += a.count
			if a.first.Before(cur.first) {
				cur.first = a.first
			}
			if a.last.After(cur.last) {
				cur.last = a.last
			}
			return
		}
		if r.pending[k] == nil {
			r.pending[k] = &a
		}
	}
	for _, k := range counted {
		a := *pending[k]
		if !a.absolute {
			a.count = 0
		}
		put(k, a)
	}
	for _, k := range rest {
		put(k, *pending[k])
	}
}

func (r *Recorder) org(ctx context.Context, id string) (OrgInfo, error) {
	if r.Org != nil {
		return r.Org(ctx, id)
	}
	o, err := r.Store.Org(ctx, id)
	if err != nil {
		return OrgInfo{}, err
	}
	return OrgInfo{ID: o.ID, Identity: o.Identity, Level: store.LevelOrg}, nil
}

// stixTime formats a time as a STIX timestamp with milliseconds.
func stixTime(t time.Time) string { return t.UTC().Format("2006-01-02T15:04:05.000Z") }

// maxSightingCount is the largest count STIX allows.
const maxSightingCount = 999999999

func sightingJSON(id string, k sightKey, identity string, total int64, first, last, created, modified time.Time) []byte {
	obj := map[string]any{
		"type":               "sighting",
		"spec_version":       "2.1",
		"id":                 id,
		"created":            stixTime(created),
		"modified":           stixTime(modified),
		"sighting_of_ref":    k.indicator,
		"count":              min(total, maxSightingCount),
		"x_mamori_day":       DayStart(k.day).Format("2006-01-02"),
		"x_mamori_detection": true,
	}
	if identity != "" {
		obj["created_by_ref"] = identity
		obj["where_sighted_refs"] = []string{identity}
	}
	if !first.IsZero() {
		obj["first_seen"] = stixTime(first)
	}
	if !last.IsZero() && !last.Before(first) {
		obj["last_seen"] = stixTime(last)
	}
	if k.retro {
		obj["x_mamori_retrospective"] = true
		obj["description"] = "Retrospective: the indicator matched telemetry observed before it was known."
	}
	b, _ := json.Marshal(obj)
	return b
}
