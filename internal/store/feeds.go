package store

import (
	"context"
	"time"
)

// Provenance records which sources reported which objects, so that the same
// indicator from several feeds is one object with every source kept.
type Provenance interface {
	// AddSources records sightings of objects in sources: a new (object,
	// source) pair is inserted; a known one keeps FirstSeen, takes the later
	// LastSeen and adds Count.
	AddSources(ctx context.Context, recs []SourceRecord) error
	// Sources lists the sources of an object, by first sighting.
	Sources(ctx context.Context, objectID string) ([]SourceRecord, error)
}

// SourceRecord is one source of one object.
type SourceRecord struct {
	ObjectID  string
	Source    string // a feed name, a file, a TAXII remote
	FirstSeen time.Time
	LastSeen  time.Time
	Count     int64
}

// Feeds stores feed definitions and their run state.
type Feeds interface {
	// PutFeed creates or replaces the feed with f.Name.
	PutFeed(ctx context.Context, f Feed) error
	// Feed finds a feed by name; ErrNotFound when absent.
	Feed(ctx context.Context, name string) (Feed, error)
	// Feeds lists feeds by name.
	Feeds(ctx context.Context) ([]Feed, error)
	// DeleteFeed removes a feed; ErrNotFound when absent.
	DeleteFeed(ctx context.Context, name string) error
}

// Feed is a source of intelligence pulled on a schedule.
type Feed struct {
	Name    string
	URL     string // file://, http:// or https://
	Format  string
	Every   time.Duration // 0: only on demand
	Enabled bool
	// Options hold format and policy settings (TLP, confidence, columns,
	// warninglists, whether private addresses are allowed, …).
	Options map[string]string
	// State kept between runs.
	ETag         string
	LastModified string
	LastRun      time.Time
	LastSuccess  time.Time
	LastError    string
	// Stats of the last run: new, updated, unchanged, rejected, errors, …
	Stats map[string]int64
}
