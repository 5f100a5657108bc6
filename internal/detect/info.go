package detect

import (
	"container/list"
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// KillChainPhase is a STIX kill-chain phase.
type KillChainPhase struct {
	KillChainName string `json:"kill_chain_name"`
	PhaseName     string `json:"phase_name"`
}

// IndicatorInfo is what a hit reports about its indicator, read from the
// store when the indicator first matches.
type IndicatorInfo struct {
	ID         string
	Name       string
	Confidence int // -1 when absent
	TLP        string
	Labels     []string
	KillChain  []KillChainPhase
	// Attack lists ATT&CK identifiers: the indicator's own external
	// references to mitre-attack and those of the attack patterns it
	// indicates (see AttackFor).
	Attack []string
	// attackVia holds, for identifiers from indicated attack patterns,
	// the access of the pattern, which the reader must be able to read.
	attackVia   map[string]store.Access
	Pattern     string
	PatternType string
	ValidUntil  time.Time
	Created     time.Time
	Modified    time.Time
	Revoked     bool
	Access      store.Access
	// Missing is set when the indicator is no longer in the store.
	Missing bool
}

// Matchable reports whether the indicator may still match at t: it is in
// the store, not revoked, and not past its valid_until.
func (i *IndicatorInfo) Matchable(t time.Time) bool {
	return !i.Missing && !i.Revoked && (i.ValidUntil.IsZero() || t.Before(i.ValidUntil))
}

type indicatorJSON struct {
	Name               string           `json:"name"`
	Confidence         *int             `json:"confidence"`
	Labels             []string         `json:"labels"`
	KillChainPhases    []KillChainPhase `json:"kill_chain_phases"`
	Markings           []string         `json:"object_marking_refs"`
	Pattern            string           `json:"pattern"`
	PatternType        string           `json:"pattern_type"`
	ValidFrom          string           `json:"valid_from"`
	ValidUntil         string           `json:"valid_until"`
	Created            string           `json:"created"`
	Modified           string           `json:"modified"`
	Revoked            bool             `json:"revoked"`
	ExternalReferences []struct {
		SourceName string `json:"source_name"`
		ExternalID string `json:"external_id"`
	} `json:"external_references"`
}

// parseIndicator reads the fields detection uses from an indicator's JSON.
func parseIndicator(rec *store.Record) (*IndicatorInfo, error) {
	var j indicatorJSON
	if err := json.Unmarshal(rec.Raw, &j); err != nil {
		return nil, err
	}
	info := &IndicatorInfo{
		ID: rec.ID, Name: j.Name, Confidence: -1, Labels: j.Labels, KillChain: j.KillChainPhases,
		Pattern: j.Pattern, PatternType: j.PatternType, Revoked: rec.Revoked || j.Revoked, Access: rec.Access,
	}
	if j.Confidence != nil {
		info.Confidence = *j.Confidence
	}
	for _, m := range j.Markings {
		if l, ok := stix.TLPLevel(m); ok {
			info.TLP = l
		}
	}
	for _, r := range j.ExternalReferences {
		if r.SourceName == "mitre-attack" && r.ExternalID != "" {
			info.Attack = appendNew(info.Attack, r.ExternalID)
		}
	}
	info.ValidUntil, _ = stix.ParseTimestamp(j.ValidUntil)
	info.Created, _ = stix.ParseTimestamp(j.Created)
	info.Modified, _ = stix.ParseTimestamp(j.Modified)
	return info, nil
}

// AttackFor returns the ATT&CK identifiers that reader v may see.
func (i *IndicatorInfo) AttackFor(v *store.Viewer) []string {
	if len(i.attackVia) == 0 {
		return i.Attack
	}
	var out []string
	for _, a := range i.Attack {
		if acc, ok := i.attackVia[a]; !ok || v.CanRead(acc) {
			out = append(out, a)
		}
	}
	return out
}

func contains(l []string, s string) bool {
	for _, x := range l {
		if x == s {
			return true
		}
	}
	return false
}

func appendNew(l []string, s string) []string {
	for _, x := range l {
		if x == s {
			return l
		}
	}
	return append(l, s)
}

// Resolver reads indicator details for hits from the store, keeping the
// most recently used in a bounded cache. It is safe for concurrent use.
type Resolver struct {
	Store store.Store
	// Size bounds the cache (default 100,000 indicators).
	Size int

	mu    sync.Mutex
	cache map[string]*list.Element
	lru   list.List
}

type resolved struct {
	id   string
	info *IndicatorInfo
}

// NewResolver returns a resolver reading st.
func NewResolver(st store.Store) *Resolver {
	return &Resolver{Store: st, cache: map[string]*list.Element{}}
}

// Info returns the details of indicator id (with Missing set when it is
// not in the store).
func (r *Resolver) Info(ctx context.Context, id string) (*IndicatorInfo, error) {
	r.mu.Lock()
	if e, ok := r.cache[id]; ok {
		r.lru.MoveToFront(e)
		info := e.Value.(*resolved).info
		r.mu.Unlock()
		return info, nil
	}
	r.mu.Unlock()
	info, err := r.read(ctx, id)
	if err != nil {
		return nil, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.cache[id]; ok {
		return e.Value.(*resolved).info, nil
	}
	r.cache[id] = r.lru.PushFront(&resolved{id, info})
	size := r.Size
	if size <= 0 {
		size = 100000
	}
	for r.lru.Len() > size {
		old := r.lru.Back()
		delete(r.cache, old.Value.(*resolved).id)
		r.lru.Remove(old)
	}
	return info, nil
}

// Forget drops an indicator from the cache (it changed).
func (r *Resolver) Forget(id string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if e, ok := r.cache[id]; ok {
		delete(r.cache, id)
		r.lru.Remove(e)
	}
}

func (r *Resolver) read(ctx context.Context, id string) (*IndicatorInfo, error) {
	rec, err := r.Store.Get(ctx, id, store.GetOptions{})
	if errors.Is(err, store.ErrNotFound) {
		return &IndicatorInfo{ID: id, Missing: true, Confidence: -1}, nil
	}
	if err != nil {
		return nil, err
	}
	info, err := parseIndicator(rec)
	if err != nil {
		return &IndicatorInfo{ID: id, Missing: true, Confidence: -1}, nil
	}
	// ATT&CK techniques the indicator indicates.
	it, err := r.Store.Query(ctx, store.Query{Ref: id, Types: []string{"relationship"}, Limit: 100})
	if err != nil {
		return nil, err
	}
	var targets []string
	for it.Next() {
		var rel struct {
			Type   string `json:"relationship_type"`
			Source string `json:"source_ref"`
			Target string `json:"target_ref"`
		}
		if json.Unmarshal(it.At().Raw, &rel) == nil && rel.Source == id && rel.Type == "indicates" && strings.HasPrefix(rel.Target, "attack-pattern--") {
			targets = append(targets, rel.Target)
		}
	}
	it.Close()
	for _, t := range targets {
		ap, err := r.Store.Get(ctx, t, store.GetOptions{})
		if err != nil {
			continue
		}
		var j indicatorJSON
		if json.Unmarshal(ap.Raw, &j) == nil {
			for _, ref := range j.ExternalReferences {
				if ref.SourceName == "mitre-attack" && ref.ExternalID != "" && !contains(info.Attack, ref.ExternalID) {
					info.Attack = append(info.Attack, ref.ExternalID)
					if info.attackVia == nil {
						info.attackVia = map[string]store.Access{}
					}
					info.attackVia[ref.ExternalID] = ap.Access
				}
			}
		}
	}
	return info, nil
}
