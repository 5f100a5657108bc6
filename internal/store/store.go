package store

import (
	"context"
	"errors"
	"time"
)

// Sentinel errors. Backends wrap them; test with errors.Is.
var (
	// ErrNotFound: no object (or collection) with that identifier exists.
	ErrNotFound = errors.New("not found")
	// ErrConflict: the write contradicts what is stored (a duplicate name or
	// id, an audit record that does not extend the chain).
	ErrConflict = errors.New("conflict")
	// ErrSchemaTooNew: the database was written by a newer mamori.
	ErrSchemaTooNew = errors.New("database schema is newer than this mamori")
	// ErrInvalidCursor: a pagination cursor was not produced by this store or was altered.
	ErrInvalidCursor = errors.New("invalid cursor")
)

// Store is the storage contract. All methods are safe for concurrent use.
type Store interface {
	// Put writes a batch of validated objects in one transaction: either all
	// of them are stored or none is. Each object is classified as new, a new
	// version, or unchanged (same id and version key already stored).
	Put(ctx context.Context, batch []*Object, opts PutOptions) (PutResult, error)
	// Begin starts a write transaction spanning several batches, for imports
	// that must be all-or-nothing. Only one writer runs at a time: Begin waits
	// for the previous one to commit or roll back. The caller must end it
	// with Commit or Rollback.
	Begin(ctx context.Context) (Writer, error)
	// Get returns the latest version of id, or with opts the version
	// modified at a given time. ErrNotFound when absent.
	Get(ctx context.Context, id string, opts GetOptions) (*Record, error)
	// Query returns matching records ordered by Seq; the caller closes the iterator.
	Query(ctx context.Context, q Query) (Iterator, error)
	// Count returns how many records a query would return, ignoring Limit and After.
	Count(ctx context.Context, q Query) (int64, error)
	// Stats counts the latest versions by type.
	Stats(ctx context.Context) (Stats, error)

	// CreateCollection adds a collection; ErrConflict if the id or title exists.
	CreateCollection(ctx context.Context, c Collection) (Collection, error)
	// Collections lists collections by title.
	Collections(ctx context.Context) ([]Collection, error)
	// Collection finds a collection by id or title; ErrNotFound when absent.
	Collection(ctx context.Context, idOrTitle string) (Collection, error)

	// Directory stores organisations, users, tokens and sharing groups.
	Directory
	// AuditLog stores the audit trail.
	AuditLog
	// Provenance records the sources of objects.
	Provenance
	// Feeds stores feed definitions and state.
	Feeds

	// Ping reports whether the store can serve requests.
	Ping(ctx context.Context) error
	// Close releases the store's resources.
	Close() error
}

// Writer is an open write transaction.
type Writer interface {
	// Put writes a batch inside the transaction; see Store.Put.
	Put(ctx context.Context, batch []*Object, opts PutOptions) (PutResult, error)
	// Commit makes every batch visible at once.
	Commit() error
	// Rollback discards every batch; it is a no-op after Commit.
	Rollback() error
}

// Object is one object version to write. The ingest layer fills it from
// validated JSON; Raw is stored and returned byte for byte.
type Object struct {
	ID          string
	Type        string
	SpecVersion string
	// Created and Modified are the object's timestamps; zero when the object
	// has none (cyber-observable objects). The version key is Modified, else
	// Created, else none (a single version that a changed copy replaces).
	Created  time.Time
	Modified time.Time
	// Revoked is the object's revoked property.
	Revoked      bool
	CreatedByRef string
	// Markings holds object_marking_refs.
	Markings []string
	// Access says who may read this version; see package access.
	Access Access
	// Index holds the derived keys a backend indexes for queries.
	Index IndexKeys
	// Raw is the object's JSON, compact, as it will be exported.
	Raw []byte
}

// Level is how far an object version is distributed, from narrowest to
// widest. The access package computes it from the writer's choice, the
// collection's default and the TLP marking, which caps it.
type Level uint8

// Distribution levels.
const (
	LevelOrg       Level = iota // the owning organisation only
	LevelGroup                  // the owner and the members of one sharing group
	LevelCommunity              // every organisation on this instance
	LevelConnected              // also connected communities (federated instances)
	LevelPublic                 // anyone
)

// Access is the effective distribution of one object version.
type Access struct {
	// Owner is the id of the owning organisation ("" for the instance itself).
	Owner string
	// Level is the effective level, already capped by TLP.
	Level Level
	// Group is the sharing group id when Level is LevelGroup.
	Group string
}

// Viewer restricts a query to what one organisation may read. A nil Viewer
// in a Query means no restriction: only trusted, local callers (the CLI on
// the data directory, internal jobs) leave it nil.
type Viewer struct {
	Org    string   // the reader's organisation id
	Groups []string // the sharing groups the organisation belongs to
	// MinLevel, when above LevelOrg, also requires objects of other
	// organisations to be distributed at least this widely (LevelConnected
	// for sync peers, LevelPublic for anonymous readers).
	MinLevel Level
	// All lifts the restriction (instance administrators).
	All bool
}

// CanRead is the Go form of the restriction a Viewer puts on queries; the
// backends express the same rule in their query language, and the
// conformance suite checks that the two agree.
func (v *Viewer) CanRead(a Access) bool {
	if v == nil || v.All {
		return true
	}
	if a.Owner != "" && a.Owner == v.Org && v.MinLevel <= LevelCommunity {
		return true
	}
	switch {
	case a.Level >= LevelCommunity:
		return a.Level >= v.MinLevel
	case a.Level == LevelGroup && v.MinLevel <= LevelGroup:
		for _, g := range v.Groups {
			if g == a.Group && g != "" {
				return true
			}
		}
	}
	return false
}

// IndexKeys are the values of an object that queries look up.
type IndexKeys struct {
	// Name, Description and Aliases feed full-text search.
	Name        string
	Description string
	Aliases     []string
	Labels      []string
	// ExternalIDs holds external_references[].external_id (CVE-…, T1059, …).
	ExternalIDs []string
	// Refs holds every identifier the object refers to, other than
	// created_by_ref and object_marking_refs (relationship source and target,
	// object_refs of reports, sighting_of_ref, …).
	Refs []Ref
	// Values are normalised observable values: those of a cyber-observable
	// object, and those compared for equality in a STIX indicator pattern.
	Values []string
}

// Ref is one reference from an object to another.
type Ref struct {
	Prop   string // the property name, e.g. "source_ref"
	Target string // the referenced identifier
}

// PutOptions control a write.
type PutOptions struct {
	// Collection, when set, also adds every written or unchanged version to
	// that collection (by collection id).
	Collection string
}

// Outcome is what happened to one object of a Put.
type Outcome uint8

// Outcomes of a write.
const (
	OutcomeNew        Outcome = iota + 1 // the first version of this id
	OutcomeNewVersion                    // another version of a known id
	OutcomeUnchanged                     // this exact version was already stored
)

func (o Outcome) String() string {
	switch o {
	case OutcomeNew:
		return "new"
	case OutcomeNewVersion:
		return "new-version"
	case OutcomeUnchanged:
		return "unchanged"
	}
	return "unknown"
}

// PutResult reports a batch write; Outcomes is parallel to the batch.
type PutResult struct {
	New, NewVersions, Unchanged int
	Outcomes                    []Outcome
}

// Add accumulates another result's counts.
func (r *PutResult) Add(o PutResult) {
	r.New += o.New
	r.NewVersions += o.NewVersions
	r.Unchanged += o.Unchanged
}

// GetOptions select a version in Get.
type GetOptions struct {
	// Modified, when non-zero, selects the version with this version key.
	Modified time.Time
	// Viewer, when set, makes an invisible version look absent (ErrNotFound).
	Viewer *Viewer
}

// Record is one stored object version.
type Record struct {
	// Seq is the store's insertion sequence number: unique, strictly
	// increasing with DateAdded, stable for the life of the store.
	Seq      int64
	ID       string
	Type     string
	Modified time.Time // zero for objects without a version key
	// DateAdded is when this version was first stored, strictly increasing with Seq.
	DateAdded   time.Time
	SpecVersion string
	Latest      bool
	Revoked     bool
	Access      Access
	Raw         []byte
}

// VersionMode selects which versions of each object a query returns.
type VersionMode uint8

// Version modes.
const (
	VersionsLatest VersionMode = iota // only each object's latest version (default)
	VersionsAll                       // every version
	VersionsFirst                     // only each object's earliest version
)

// Query selects records. Empty fields do not filter; filters combine with AND,
// values inside one slice with OR.
type Query struct {
	IDs        []string
	Types      []string
	Text       string // full-text search over name, description and aliases
	Value      string // an exact observable value (normalised like IndexKeys.Values)
	Ref        string // objects that refer to this identifier
	Label      string
	ExternalID string
	CreatedBy  string
	// Modified keeps only versions with one of these version keys.
	Modified []time.Time
	// ModifiedSince keeps versions with Modified at or after it.
	ModifiedSince time.Time
	// AddedAfter keeps versions added strictly after it.
	AddedAfter time.Time
	// Versions selects latest (default), all or first versions.
	Versions VersionMode
	// IncludeRevoked also returns revoked objects (off by default).
	IncludeRevoked bool
	// Collection restricts to one collection id.
	Collection string
	// SpecVersions keeps only these spec_version values.
	SpecVersions []string
	// AfterSeq resumes a walk after this sequence number (keyset pagination).
	AfterSeq int64
	// Limit caps the number of records; 0 means no cap.
	Limit int
	// Viewer, when set, keeps only what that reader may see.
	Viewer *Viewer
}

// Iterator walks a result. Use:
//
//	for it.Next() { r := it.At() ... }
//	if err := it.Err(); ...
//	it.Close()
//
// The Record returned by At and its Raw bytes belong to the iterator and are
// valid only until the next call to Next; copy them to keep them.
type Iterator interface {
	Next() bool
	At() *Record
	Err() error
	Close() error
}

// Stats counts latest object versions by type.
type Stats struct {
	ByType   map[string]int64
	Objects  int64 // latest versions
	Versions int64 // all versions
}

// Collection is a named set of object versions, shared over TAXII.
type Collection struct {
	ID          string // a UUID
	Title       string
	Description string
	Created     time.Time
	// Level and Group are the default distribution of objects written
	// into the collection without an explicit one.
	Level Level
	Group string
}

// VersionKeyLayout formats version keys: fixed width, so that the text order
// is the time order for years 0000 to 9999.
const VersionKeyLayout = "2006-01-02T15:04:05.000000000Z"

// VersionKey returns the version key of an object: its modified time, else
// its created time, formatted with VersionKeyLayout; "" when it has neither.
func (o *Object) VersionKey() string {
	t := o.Modified
	if t.IsZero() {
		t = o.Created
	}
	return VersionKeyOf(t)
}

// VersionKeyOf formats t as a version key ("" for the zero time).
func VersionKeyOf(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(VersionKeyLayout)
}

// ParseVersionKey is the inverse of VersionKeyOf.
func ParseVersionKey(k string) time.Time {
	if k == "" {
		return time.Time{}
	}
	t, err := time.Parse(VersionKeyLayout, k)
	if err != nil {
		return time.Time{}
	}
	return t
}
