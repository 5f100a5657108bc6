// Package detect turns matches of telemetry against indicators into
// intelligence: it records sightings (aggregated per indicator,
// organisation and day), keeps a bounded history of observed values and
// hunts new indicators in it (retro-hunt), scores indicators from their
// sources, sightings, false-positive reports and age, and links objects
// that share an observable. Service runs it on the bus.
package detect

import (
	"context"
	"time"
)

// Storage keeps what detection needs besides STIX objects. The SQLite
// store implements it (see internal/store/sqlite/detect.go); its methods
// use only basic types so that the backend does not depend on this
// package.
type Storage interface {
	// AddObserved adds counts to the history of values observed by org on
	// day (days since 1970-01-01, UTC): keys[i] (distinct) was seen
	// counts[i] more times.
	AddObserved(ctx context.Context, org string, day int, keys [][]byte, counts []int64) error
	// ObservedKeys calls fn for every history row whose key is one of
	// keys, for days from..to (inclusive).
	ObservedKeys(ctx context.Context, keys [][]byte, from, to int, fn func(key []byte, org string, day int, count int64) error) error
	// ObservedRange calls fn for every row with lo <= key <= hi.
	ObservedRange(ctx context.Context, lo, hi []byte, from, to int, fn func(key []byte, org string, day int, count int64) error) error
	// ObservedCount is the number of distinct keys of org on day.
	ObservedCount(ctx context.Context, org string, day int) (int64, error)
	// PruneObserved deletes the rows of days before day.
	PruneObserved(ctx context.Context, before int) (int64, error)

	// AddSighting records count more sightings (with absolute, sets the
	// count) of an indicator by org on day, seen between first and last,
	// under the sighting id, and returns the totals and the version to
	// write: created is when the sighting was first recorded, modified a
	// time after every version returned before (now, or later).
	AddSighting(ctx context.Context, id, indicator, org string, day int, retro bool, count int64, first, last time.Time, absolute bool, now time.Time) (total int64, firstSeen, lastSeen, created, modified time.Time, err error)
	// SightingTotals sums the sightings of an indicator (all
	// organisations and days) and returns the last.
	SightingTotals(ctx context.Context, indicator string) (count int64, last time.Time, err error)

	// AddFalsePositive records a false-positive report.
	AddFalsePositive(ctx context.Context, indicator, org, user, reason string, at time.Time) error
	// FalsePositives calls fn with the reports on an indicator, oldest first.
	FalsePositives(ctx context.Context, indicator string, fn func(org, user, reason string, at time.Time) error) error

	// PutScore stores an indicator's score and how it was computed.
	PutScore(ctx context.Context, indicator string, score float64, computed time.Time, detail []byte) error
	// Score returns a stored score; store.ErrNotFound when there is none.
	Score(ctx context.Context, indicator string) (score float64, computed time.Time, detail []byte, err error)
	// Scores calls fn for every stored score of at least min.
	Scores(ctx context.Context, min float64, fn func(indicator string, score float64, computed time.Time) error) error
}

// SightingCount is the aggregate behind one sighting object.
type SightingCount struct {
	ID        string // sighting--… (deterministic, see SightingID)
	Indicator string
	Org       string
	Day       int
	Retro     bool
	Count     int64
	FirstSeen time.Time
	LastSeen  time.Time
	Created   time.Time // set by AddSighting
	Modified  time.Time // set by AddSighting
}

// Day is the day number of t (days since 1970-01-01, UTC).
func Day(t time.Time) int { return int(t.UTC().Unix() / 86400) }

// DayStart is the first instant of day d.
func DayStart(d int) time.Time { return time.Unix(int64(d)*86400, 0).UTC() }
