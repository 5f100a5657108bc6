package inventory

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"
)

// Memory is an in-memory Store, for tests and for running without a
// database.
type Memory struct {
	mu       sync.RWMutex
	nextComp int64
	nextAl   int64
	sboms    map[string]SBOM               // asset\x00name
	comps    map[int64]*Component          // by ID
	bySBOM   map[string][]int64            // asset\x00name → component IDs
	byAsset  map[string]map[int64]struct{} // asset → component IDs
	byKey    map[string]map[int64]struct{}
	findings map[int64][]Finding // by component
	byVuln   map[string]map[int64]struct{}
	vex      map[string]VEXStatement
	alerts   []Alert
	alertKey map[string]bool
}

var _ Store = (*Memory)(nil)

// NewMemory returns an empty in-memory store.
func NewMemory() *Memory {
	return &Memory{
		sboms: map[string]SBOM{}, comps: map[int64]*Component{}, bySBOM: map[string][]int64{},
		byAsset: map[string]map[int64]struct{}{}, byKey: map[string]map[int64]struct{}{},
		findings: map[int64][]Finding{}, byVuln: map[string]map[int64]struct{}{},
		vex: map[string]VEXStatement{}, alertKey: map[string]bool{},
	}
}

func addTo[K comparable](m map[K]map[int64]struct{}, k K, id int64) {
	s := m[k]
	if s == nil {
		s = map[int64]struct{}{}
		m[k] = s
	}
	s[id] = struct{}{}
}

func removeFrom[K comparable](m map[K]map[int64]struct{}, k K, id int64) {
	if s := m[k]; s != nil {
		delete(s, id)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

func (m *Memory) dropComponent(id int64) {
	c := m.comps[id]
	if c == nil {
		return
	}
	m.setFindings(id, nil)
	for _, k := range c.Keys {
		removeFrom(m.byKey, k, id)
	}
	removeFrom(m.byAsset, c.AssetID, id)
	delete(m.comps, id)
}

// ReplaceSBOM implements Store.
func (m *Memory) ReplaceSBOM(ctx context.Context, s SBOM, comps []Component) ([]Component, error) {
	if s.AssetID == "" || s.Name == "" {
		return nil, fmt.Errorf("%w: an SBOM needs an asset and a name", ErrInvalid)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	key := s.AssetID + "\x00" + s.Name
	for _, id := range m.bySBOM[key] {
		m.dropComponent(id)
	}
	s.Components = len(comps)
	m.sboms[key] = s
	out := make([]Component, len(comps))
	ids := make([]int64, len(comps))
	for i, c := range comps {
		m.nextComp++
		c.ID = m.nextComp
		c.AssetID, c.SBOM = s.AssetID, s.Name
		cc := c
		m.comps[c.ID] = &cc
		addTo(m.byAsset, c.AssetID, c.ID)
		for _, k := range c.Keys {
			addTo(m.byKey, k, c.ID)
		}
		out[i] = c
		ids[i] = c.ID
	}
	m.bySBOM[key] = ids
	return out, nil
}

// SBOMs implements Store.
func (m *Memory) SBOMs(ctx context.Context, assetID string) ([]SBOM, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []SBOM
	for _, s := range m.sboms {
		if assetID == "" || s.AssetID == assetID {
			out = append(out, s)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].AssetID != out[j].AssetID {
			return out[i].AssetID < out[j].AssetID
		}
		return out[i].Name < out[j].Name
	})
	return out, nil
}

// DeleteAssetInventory implements Store.
func (m *Memory) DeleteAssetInventory(ctx context.Context, assetID string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for id := range m.byAsset[assetID] {
		m.dropComponent(id)
	}
	for k, s := range m.sboms {
		if s.AssetID == assetID {
			delete(m.sboms, k)
			delete(m.bySBOM, k)
		}
	}
	for k, st := range m.vex {
		if st.AssetID == assetID {
			delete(m.vex, k)
		}
	}
	return nil
}

func (m *Memory) each(ids map[int64]struct{}, fn func(Component) error) error {
	list := make([]int64, 0, len(ids))
	for id := range ids {
		list = append(list, id)
	}
	slices.Sort(list)
	for _, id := range list {
		if c := m.comps[id]; c != nil {
			if err := fn(*c); err != nil {
				return err
			}
		}
	}
	return nil
}

// SBOMComponents implements Store.
func (m *Memory) SBOMComponents(ctx context.Context, assetID string, fn func(Component) error) error {
	m.mu.RLock()
	var comps []Component
	if assetID == "" {
		for _, c := range m.comps {
			comps = append(comps, *c)
		}
		slices.SortFunc(comps, func(a, b Component) int { return int(a.ID - b.ID) })
	} else {
		m.each(m.byAsset[assetID], func(c Component) error { comps = append(comps, c); return nil })
	}
	m.mu.RUnlock()
	for _, c := range comps {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// SBOMComponentsByKey implements Store.
func (m *Memory) SBOMComponentsByKey(ctx context.Context, keys []string, fn func(Component) error) error {
	m.mu.RLock()
	ids := map[int64]struct{}{}
	for _, k := range keys {
		for id := range m.byKey[k] {
			ids[id] = struct{}{}
		}
	}
	var comps []Component
	m.each(ids, func(c Component) error { comps = append(comps, c); return nil })
	m.mu.RUnlock()
	for _, c := range comps {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

func (m *Memory) setFindings(compID int64, fs []Finding) {
	for _, f := range m.findings[compID] {
		for _, id := range f.IDs() {
			removeFrom(m.byVuln, strings.ToUpper(id), compID)
		}
	}
	if len(fs) == 0 {
		delete(m.findings, compID)
		return
	}
	m.findings[compID] = fs
	for _, f := range fs {
		for _, id := range f.IDs() {
			addTo(m.byVuln, strings.ToUpper(id), compID)
		}
	}
}

// ReplaceFindings implements Store.
func (m *Memory) ReplaceFindings(ctx context.Context, componentIDs []int64, fs []Finding) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	byComp := map[int64][]Finding{}
	now := time.Now().UTC()
	for _, f := range fs {
		byComp[f.ComponentID] = append(byComp[f.ComponentID], f)
	}
	replaced := make(map[int64]bool, len(componentIDs))
	for _, cid := range componentIDs {
		replaced[cid] = true
	}
	for cid := range byComp {
		if !replaced[cid] {
			return fmt.Errorf("%w: finding for component %d not in the replaced set", ErrInvalid, cid)
		}
	}
	for _, cid := range componentIDs {
		if m.comps[cid] == nil {
			continue
		}
		old := map[string]Finding{}
		for _, f := range m.findings[cid] {
			old[f.VulnID] = f
		}
		nf := byComp[cid]
		for i := range nf {
			if o, ok := old[nf[i].VulnID]; ok && !o.First.IsZero() {
				nf[i].First = o.First
			}
			if nf[i].First.IsZero() {
				nf[i].First = now
			}
			if nf[i].Updated.IsZero() {
				nf[i].Updated = now
			}
		}
		m.setFindings(cid, nf)
	}
	return nil
}

// ExposureFindings implements Store.
func (m *Memory) ExposureFindings(ctx context.Context, f FindingFilter) ([]Finding, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var cand map[int64]struct{}
	narrow := func(ids map[int64]struct{}) {
		if cand == nil {
			cand = ids
			return
		}
		n := map[int64]struct{}{}
		for id := range cand {
			if _, ok := ids[id]; ok {
				n[id] = struct{}{}
			}
		}
		cand = n
	}
	if len(f.VulnIDs) > 0 {
		ids := map[int64]struct{}{}
		for _, v := range f.VulnIDs {
			for id := range m.byVuln[strings.ToUpper(strings.TrimSpace(v))] {
				ids[id] = struct{}{}
			}
		}
		narrow(ids)
	}
	if len(f.ComponentIDs) > 0 {
		ids := map[int64]struct{}{}
		for _, id := range f.ComponentIDs {
			ids[id] = struct{}{}
		}
		narrow(ids)
	}
	if len(f.AssetIDs) > 0 {
		ids := map[int64]struct{}{}
		for _, a := range f.AssetIDs {
			for id := range m.byAsset[a] {
				ids[id] = struct{}{}
			}
		}
		narrow(ids)
	}
	if cand == nil {
		cand = map[int64]struct{}{}
		for id := range m.findings {
			cand[id] = struct{}{}
		}
	}
	var out []Finding
	for id := range cand {
		for _, fd := range m.findings[id] {
			if len(f.VulnIDs) > 0 && !anyIn(fd.IDs(), f.VulnIDs) {
				continue
			}
			out = append(out, fd)
		}
	}
	SortFindings(out)
	return out, nil
}

// SortFindings orders findings by component and vulnerability id, the order
// every Store returns.
func SortFindings(fs []Finding) {
	slices.SortFunc(fs, func(a, b Finding) int {
		if a.ComponentID != b.ComponentID {
			if a.ComponentID < b.ComponentID {
				return -1
			}
			return 1
		}
		return strings.Compare(a.VulnID, b.VulnID)
	})
}

func anyIn(have, want []string) bool {
	for _, h := range have {
		for _, w := range want {
			if strings.EqualFold(h, strings.TrimSpace(w)) {
				return true
			}
		}
	}
	return false
}

func vexKey(s VEXStatement) string {
	return strings.Join([]string{s.AssetID, s.Vuln, s.Product, s.Source}, "\x00")
}

// PutVEX implements Store.
func (m *Memory) PutVEX(ctx context.Context, sts []VEXStatement) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	for _, s := range sts {
		m.vex[vexKey(s)] = s
	}
	return nil
}

// VEXStatements implements Store.
func (m *Memory) VEXStatements(ctx context.Context, assetIDs []string) ([]VEXStatement, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var out []VEXStatement
	for _, s := range m.vex {
		if s.AssetID == "" || assetIDs == nil || slices.Contains(assetIDs, s.AssetID) {
			out = append(out, s)
		}
	}
	slices.SortFunc(out, func(a, b VEXStatement) int { return strings.Compare(vexKey(a), vexKey(b)) })
	return out, nil
}

// AddExposureAlerts implements Store.
func (m *Memory) AddExposureAlerts(ctx context.Context, as []Alert) ([]Alert, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var added []Alert
	for _, a := range as {
		if a.Key == "" {
			return added, fmt.Errorf("%w: an alert needs a key", ErrInvalid)
		}
		if m.alertKey[a.Key] {
			continue
		}
		m.alertKey[a.Key] = true
		m.nextAl++
		a.ID = m.nextAl
		if a.Created.IsZero() {
			a.Created = time.Now().UTC()
		}
		m.alerts = append(m.alerts, a)
		added = append(added, a)
	}
	return added, nil
}

// ExposureAlerts implements Store.
func (m *Memory) ExposureAlerts(ctx context.Context, f AlertFilter) ([]Alert, error) {
	m.mu.RLock()
	defer m.mu.RUnlock()
	var assets map[string]bool
	if f.AssetIDs != nil {
		assets = map[string]bool{}
		for _, a := range f.AssetIDs {
			assets[a] = true
		}
	}
	keep := func(a Alert) bool {
		return (assets == nil || assets[a.AssetID]) && (f.Since.IsZero() || !a.Created.Before(f.Since)) && a.ID > f.AfterID
	}
	var out []Alert
	if f.AfterID > 0 {
		for _, a := range m.alerts {
			if keep(a) {
				out = append(out, a)
				if f.Limit > 0 && len(out) == f.Limit {
					break
				}
			}
		}
		return out, nil
	}
	for i := len(m.alerts) - 1; i >= 0; i-- {
		if a := m.alerts[i]; keep(a) {
			out = append(out, a)
			if f.Limit > 0 && len(out) == f.Limit {
				break
			}
		}
	}
	return out, nil
}
