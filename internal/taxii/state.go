package taxii

import (
	"context"
	"fmt"
	"sort"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// StateStore keeps what TAXII needs besides objects: the status resources
// of POST requests and the remote collections that mamori pulls from.
// *sqlite.Store implements it (migration 0003_taxii.sql); MemoryState is an
// in-memory implementation for tests and short-lived tools.
//
// Status resources and remote configurations are stored as JSON documents
// that this package encodes; the store only files them.
type StateStore interface {
	// PutTAXIIStatus stores or replaces a status resource. org is the
	// organisation of the principal that made the request.
	PutTAXIIStatus(ctx context.Context, id, apiRoot, org string, created time.Time, resource []byte) error
	// TAXIIStatus returns a status resource; store.ErrNotFound when absent.
	TAXIIStatus(ctx context.Context, id string) (apiRoot, org string, resource []byte, err error)
	// PruneTAXIIStatuses deletes status resources created before t.
	PruneTAXIIStatuses(ctx context.Context, before time.Time) (int64, error)

	// PutTAXIIRemote adds (create) or replaces a remote's configuration:
	// store.ErrConflict when adding a name that exists, store.ErrNotFound
	// when replacing one that does not.
	PutTAXIIRemote(ctx context.Context, name string, config []byte, create bool) error
	// TAXIIRemote returns a remote's configuration, last result and
	// checkpoint; store.ErrNotFound when absent.
	TAXIIRemote(ctx context.Context, name string) (config, result []byte, checkpoint string, err error)
	// TAXIIRemoteNames lists the remotes by name.
	TAXIIRemoteNames(ctx context.Context) ([]string, error)
	// DeleteTAXIIRemote removes a remote; store.ErrNotFound when absent.
	DeleteTAXIIRemote(ctx context.Context, name string) error
	// SetTAXIICheckpoint records where the next pull of a remote starts.
	SetTAXIICheckpoint(ctx context.Context, name, checkpoint string) error
	// SetTAXIIResult records the outcome of a remote's last sync.
	SetTAXIIResult(ctx context.Context, name string, result []byte) error
}

// checkpointWriter is a store.Writer that records a remote's checkpoint in
// its own transaction (the SQLite writer does), so that the checkpoint
// commits with the objects of the page it follows.
type checkpointWriter interface {
	SetTAXIICheckpoint(ctx context.Context, name, checkpoint string) error
}

// memberRemover removes collection memberships by their sequence numbers
// (Record.Seq of a collection query); the DELETE endpoint needs it.
type memberRemover interface {
	RemoveFromCollection(ctx context.Context, collection string, seqs []int64) (int64, error)
}

// metaQuerier lists records without their JSON (Raw), which makes manifest
// pages and page bounds cheap. Stores without it are read with Query.
type metaQuerier interface {
	QueryMeta(ctx context.Context, q store.Query, fn func(*store.Record) error) error
}

// MemoryState is an in-memory StateStore.
type MemoryState struct {
	mu       sync.Mutex
	statuses map[string]memStatus
	remotes  map[string]*memRemote
}

type memStatus struct {
	apiRoot, org string
	created      time.Time
	resource     []byte
}

type memRemote struct {
	config, result []byte
	checkpoint     string
}

// NewMemoryState returns an empty MemoryState.
func NewMemoryState() *MemoryState {
	return &MemoryState{statuses: map[string]memStatus{}, remotes: map[string]*memRemote{}}
}

var _ StateStore = (*MemoryState)(nil)

// PutTAXIIStatus implements StateStore.
func (m *MemoryState) PutTAXIIStatus(ctx context.Context, id, apiRoot, org string, created time.Time, resource []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.statuses[id] = memStatus{apiRoot, org, created, append([]byte(nil), resource...)}
	return nil
}

// TAXIIStatus implements StateStore.
func (m *MemoryState) TAXIIStatus(ctx context.Context, id string) (string, string, []byte, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	s, ok := m.statuses[id]
	if !ok {
		return "", "", nil, fmt.Errorf("status %s: %w", id, store.ErrNotFound)
	}
	return s.apiRoot, s.org, append([]byte(nil), s.resource...), nil
}

// PruneTAXIIStatuses implements StateStore.
func (m *MemoryState) PruneTAXIIStatuses(ctx context.Context, before time.Time) (int64, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var n int64
	for id, s := range m.statuses {
		if s.created.Before(before) {
			delete(m.statuses, id)
			n++
		}
	}
	return n, nil
}

// PutTAXIIRemote implements StateStore.
func (m *MemoryState) PutTAXIIRemote(ctx context.Context, name string, config []byte, create bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.remotes[name]
	switch {
	case create && ok:
		return fmt.Errorf("remote %q exists: %w", name, store.ErrConflict)
	case create:
		m.remotes[name] = &memRemote{config: append([]byte(nil), config...)}
	case !ok:
		return fmt.Errorf("remote %q: %w", name, store.ErrNotFound)
	default:
		r.config = append([]byte(nil), config...)
	}
	return nil
}

// TAXIIRemote implements StateStore.
func (m *MemoryState) TAXIIRemote(ctx context.Context, name string) ([]byte, []byte, string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.remotes[name]
	if !ok {
		return nil, nil, "", fmt.Errorf("remote %q: %w", name, store.ErrNotFound)
	}
	return append([]byte(nil), r.config...), append([]byte(nil), r.result...), r.checkpoint, nil
}

// TAXIIRemoteNames implements StateStore.
func (m *MemoryState) TAXIIRemoteNames(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	names := make([]string, 0, len(m.remotes))
	for n := range m.remotes {
		names = append(names, n)
	}
	sort.Strings(names)
	return names, nil
}

// DeleteTAXIIRemote implements StateStore.
func (m *MemoryState) DeleteTAXIIRemote(ctx context.Context, name string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.remotes[name]; !ok {
		return fmt.Errorf("remote %q: %w", name, store.ErrNotFound)
	}
	delete(m.remotes, name)
	return nil
}

// SetTAXIICheckpoint implements StateStore.
func (m *MemoryState) SetTAXIICheckpoint(ctx context.Context, name, checkpoint string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.remotes[name]
	if !ok {
		return fmt.Errorf("remote %q: %w", name, store.ErrNotFound)
	}
	r.checkpoint = checkpoint
	return nil
}

// SetTAXIIResult implements StateStore.
func (m *MemoryState) SetTAXIIResult(ctx context.Context, name string, result []byte) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	r, ok := m.remotes[name]
	if !ok {
		return fmt.Errorf("remote %q: %w", name, store.ErrNotFound)
	}
	r.result = append([]byte(nil), result...)
	return nil
}
