package vulndb

import (
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/google/osv-scalibr/semantic"

	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
)

// KEV is one entry of the CISA Known Exploited Vulnerabilities catalog.
type KEV struct {
	CVE        string
	Vendor     string
	Product    string
	Name       string
	DateAdded  string // YYYY-MM-DD
	DueDate    string // YYYY-MM-DD
	Ransomware bool   // knownRansomwareCampaignUse is "Known"
}

// EPSS is the exploit prediction score of a CVE.
type EPSS struct {
	Score      float64
	Percentile float64
}

// DB is the index. It is safe for concurrent use; readers never wait for
// more than one advisory's update.
type DB struct {
	mu     sync.RWMutex
	advs   map[string]*Advisory   // by source kind and id
	byKey  map[string][]*Advisory // package or CPE key → advisories
	byID   map[string][]*Advisory // normalised id or alias → advisories
	kev    map[string]KEV
	epss   map[string]EPSS
	cveSev map[string]Severity // severity from CVE records
}

// New returns an empty index.
func New() *DB {
	return &DB{advs: map[string]*Advisory{}, byKey: map[string][]*Advisory{}, byID: map[string][]*Advisory{},
		kev: map[string]KEV{}, epss: map[string]EPSS{}, cveSev: map[string]Severity{}}
}

// Stats counts what the index holds.
type Stats struct {
	Advisories int `json:"advisories"`
	Packages   int `json:"packages"`
	KEV        int `json:"kev"`
	EPSS       int `json:"epss"`
}

// Stats counts what the index holds.
func (db *DB) Stats() Stats {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return Stats{Advisories: len(db.advs), Packages: len(db.byKey), KEV: len(db.kev), EPSS: len(db.epss)}
}

func advKey(a *Advisory) string {
	if strings.HasPrefix(a.Source, "kb:") {
		// STIX objects are keyed by their STIX id.
		return a.Source
	}
	kind := a.Source
	if i := strings.IndexByte(kind, ':'); i >= 0 {
		kind = kind[:i]
	}
	return kind + "\x00" + a.ID
}

func keysOf(a *Advisory) []string {
	var ks []string
	for _, af := range a.Affected {
		if af.Key != "" && !slices.Contains(ks, af.Key) {
			ks = append(ks, af.Key)
		}
	}
	return ks
}

func remove(l []*Advisory, a *Advisory) []*Advisory {
	for i, x := range l {
		if x == a {
			return append(l[:i:i], l[i+1:]...)
		}
	}
	return l
}

// Add puts an advisory into the index, replacing one of the same source
// kind and id, and returns the keys of the packages whose matches may have
// changed (those of the old and of the new version).
func (db *DB) Add(a *Advisory) []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	return db.add(a)
}

// AddAll is Add for many advisories under one lock.
func (db *DB) AddAll(as []*Advisory) []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	seen := map[string]bool{}
	var keys []string
	for _, a := range as {
		for _, k := range db.add(a) {
			if !seen[k] {
				seen[k] = true
				keys = append(keys, k)
			}
		}
	}
	return keys
}

func (db *DB) add(a *Advisory) []string {
	k := advKey(a)
	var changed []string
	if old := db.advs[k]; old != nil {
		changed = keysOf(old)
		for _, key := range changed {
			db.byKey[key] = remove(db.byKey[key], old)
			if len(db.byKey[key]) == 0 {
				delete(db.byKey, key)
			}
		}
		for _, id := range old.IDs() {
			n := normID(id)
			db.byID[n] = remove(db.byID[n], old)
			if len(db.byID[n]) == 0 {
				delete(db.byID, n)
			}
		}
	}
	db.advs[k] = a
	for _, key := range keysOf(a) {
		db.byKey[key] = append(db.byKey[key], a)
		if !slices.Contains(changed, key) {
			changed = append(changed, key)
		}
	}
	for _, id := range a.IDs() {
		n := normID(id)
		if !slices.Contains(db.byID[n], a) {
			db.byID[n] = append(db.byID[n], a)
		}
	}
	if strings.HasPrefix(a.Source, "cve") && a.Severity.Score > 0 {
		db.cveSev[normID(a.ID)] = a.Severity
	}
	return changed
}

// AddKEV records catalog entries and returns their CVE ids.
func (db *DB) AddKEV(ks []KEV) []string {
	db.mu.Lock()
	defer db.mu.Unlock()
	ids := make([]string, 0, len(ks))
	for _, k := range ks {
		id := normID(k.CVE)
		if old, ok := db.kev[id]; ok {
			// Keep what the earlier entry knew and the new one does not.
			if k.DueDate == "" {
				k.DueDate = old.DueDate
			}
			if k.DateAdded == "" {
				k.DateAdded = old.DateAdded
			}
			if k.Vendor == "" {
				k.Vendor, k.Product = old.Vendor, old.Product
			}
			if k.Name == "" {
				k.Name = old.Name
			}
			k.Ransomware = k.Ransomware || old.Ransomware
		}
		db.kev[id] = k
		ids = append(ids, id)
	}
	return ids
}

// AddEPSS records scores.
func (db *DB) AddEPSS(m map[string]EPSS) {
	db.mu.Lock()
	defer db.mu.Unlock()
	for k, v := range m {
		db.epss[normID(k)] = v
	}
}

// KEV returns the catalog entry of a CVE.
func (db *DB) KEV(cve string) (KEV, bool) {
	db.mu.RLock()
	defer db.mu.RUnlock()
	k, ok := db.kev[normID(cve)]
	return k, ok
}

// ByID returns the advisories with id as their id or an alias.
func (db *DB) ByID(id string) []*Advisory {
	db.mu.RLock()
	defer db.mu.RUnlock()
	return slices.Clone(db.byID[normID(id)])
}

// Known reports whether the index has an advisory under any of ids.
func (db *DB) Known(ids []string) bool {
	db.mu.RLock()
	defer db.mu.RUnlock()
	for _, id := range ids {
		if len(db.byID[normID(id)]) > 0 {
			return true
		}
	}
	return false
}

// KeysFor returns the package keys of every advisory known under one of ids.
func (db *DB) KeysFor(ids []string) []string {
	db.mu.RLock()
	defer db.mu.RUnlock()
	var keys []string
	for _, id := range ids {
		for _, a := range db.byID[normID(id)] {
			for _, k := range keysOf(a) {
				if !slices.Contains(keys, k) {
					keys = append(keys, k)
				}
			}
		}
	}
	return keys
}

// Component is what matching needs of an SBOM component.
type Component struct {
	// Package is the parsed purl (zero when the component has none).
	Package pkgid.ID
	// CPEs are the component's CPEs, parsed.
	CPEs []pkgid.CPE
	// Version is the component's version when the purl has none.
	Version string
}

// Keys returns the lookup keys of a component.
func (c *Component) Keys() []string {
	var ks []string
	if k := c.Package.Key(); k != "" {
		ks = append(ks, k)
	}
	for _, cp := range c.CPEs {
		if k := cp.Key(); !slices.Contains(ks, k) {
			ks = append(ks, k)
		}
	}
	return ks
}

// UsesCPE reports whether a component is matched by CPE: only when its
// purl names no ecosystem mamori has version rules for. (Generators such as
// syft guess many CPEs per package; matching those as well as the purl
// would report the same flaw twice, or a different product's.)
func (c *Component) UsesCPE() bool { return c.Package.Ecosystem == "" && len(c.CPEs) > 0 }

// Match is one advisory that affects a component.
type Match struct {
	Advisory *Advisory
	// Via is "purl" or "cpe".
	Via string
	// Fixed is the first fixed version above the component's, when known.
	Fixed string
}

// Match finds the advisories that affect a component. Withdrawn advisories
// are left out.
func (db *DB) Match(c *Component) []Match {
	db.mu.RLock()
	defer db.mu.RUnlock()
	var out []Match
	version := c.Package.Version
	if version == "" {
		version = c.Version
	}
	if c.Package.Ecosystem == "Go" && strings.HasPrefix(version, "go") {
		// The standard library and toolchain: "go1.21.3" is 1.21.3.
		version = strings.TrimPrefix(version, "go")
	}
	if key := c.Package.Key(); key != "" && version != "" {
		pv := parsedVersions{raw: version}
		for _, a := range db.byKey[key] {
			if a.Withdrawn {
				continue
			}
			for _, af := range a.Affected {
				if af.Key != key || af.CPE != nil || !c.Package.ReleaseMatches(af.Ecosystem) {
					continue
				}
				if ok, fix := af.affects(&pv); ok {
					out = append(out, Match{Advisory: a, Via: "purl", Fixed: fix})
					break
				}
			}
		}
	}
	if c.UsesCPE() {
		seen := map[*Advisory]bool{}
		for _, cp := range c.CPEs {
			v := version
			if !cp.AnyVersion() {
				v = cp.Version
			}
			if v == "" {
				continue
			}
			pv := parsedVersions{raw: v}
			for _, a := range db.byKey[cp.Key()] {
				if a.Withdrawn || seen[a] {
					continue
				}
				for _, af := range a.Affected {
					if af.CPE == nil || af.Key != cp.Key() || !af.CPE.Covers(cp) {
						continue
					}
					if !af.CPE.AnyVersion() && len(af.Ranges) == 0 && len(af.Versions) == 0 {
						if normalizeVersion("", af.CPE.Version) == v {
							seen[a] = true
							out = append(out, Match{Advisory: a, Via: "cpe"})
							break
						}
						continue
					}
					if ok, fix := af.affects(&pv); ok {
						seen[a] = true
						out = append(out, Match{Advisory: a, Via: "cpe", Fixed: fix})
						break
					}
				}
			}
		}
	}
	return out
}

// parsedVersions caches a component version parsed under each rule set.
type parsedVersions struct {
	raw    string
	parsed map[string]semantic.Version
	bad    map[string]bool
}

func (p *parsedVersions) get(typ, ecosystem string) (semantic.Version, bool) {
	k := typ + "\x00" + pkgid.BaseEcosystem(ecosystem)
	if typ == "SEMVER" {
		k = "SEMVER"
	}
	if v, ok := p.parsed[k]; ok {
		return v, true
	}
	if p.bad[k] {
		return nil, false
	}
	v, err := parseVersion(typ, ecosystem, p.raw)
	if err != nil {
		if p.bad == nil {
			p.bad = map[string]bool{}
		}
		p.bad[k] = true
		return nil, false
	}
	if p.parsed == nil {
		p.parsed = map[string]semantic.Version{}
	}
	p.parsed[k] = v
	return v, true
}

func (af *Affected) affects(pv *parsedVersions) (bool, string) {
	if af.All {
		return true, ""
	}
	if len(af.Versions) > 0 && af.Versions[normalizeVersion(af.Ecosystem, pv.raw)] {
		fix := ""
		for _, r := range af.Ranges {
			if v, ok := pv.get(r.Type, r.Ecosystem); ok {
				if in, f := r.contains(v); in && f != "" {
					fix = f
				}
			}
		}
		return true, fix
	}
	for _, r := range af.Ranges {
		v, ok := pv.get(r.Type, r.Ecosystem)
		if !ok {
			continue
		}
		if in, fix := r.contains(v); in {
			return true, fix
		}
	}
	return false, ""
}

// Group is the advisories of one component that name each other as
// aliases: one finding.
type Group struct {
	ID         string   // preferred id
	Aliases    []string // every other id
	Advisories []*Advisory
	Via        string
	Fixed      string
}

// GroupMatches merges matches whose advisories share an id or alias, and
// orders the groups by id.
func GroupMatches(ms []Match) []Group {
	n := len(ms)
	parent := make([]int, n)
	for i := range parent {
		parent[i] = i
	}
	var find func(int) int
	find = func(i int) int {
		for parent[i] != i {
			parent[i] = parent[parent[i]]
			i = parent[i]
		}
		return i
	}
	owner := map[string]int{}
	for i, m := range ms {
		for _, id := range m.Advisory.IDs() {
			k := normID(id)
			if j, ok := owner[k]; ok {
				parent[find(i)] = find(j)
			} else {
				owner[k] = i
			}
		}
	}
	byRoot := map[int]*Group{}
	var order []int
	for i, m := range ms {
		r := find(i)
		g := byRoot[r]
		if g == nil {
			g = &Group{}
			byRoot[r] = g
			order = append(order, r)
		}
		g.Advisories = append(g.Advisories, m.Advisory)
		g.Aliases = appendUnique(g.Aliases, m.Advisory.IDs()...)
		if g.Via == "" || m.Via == "purl" {
			g.Via = m.Via
		}
		if m.Fixed != "" && (g.Fixed == "" || versionLess(m.Advisory, m.Fixed, g.Fixed)) {
			g.Fixed = m.Fixed
		}
	}
	out := make([]Group, 0, len(order))
	for _, r := range order {
		g := byRoot[r]
		g.ID = PreferredID(g.Aliases)
		al := g.Aliases[:0]
		seen := map[string]bool{normID(g.ID): true}
		for _, id := range g.Aliases {
			if !seen[normID(id)] {
				seen[normID(id)] = true
				al = append(al, id)
			}
		}
		g.Aliases = al
		sort.Strings(g.Aliases)
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

// versionLess compares two fixed versions with the rules of the
// advisory's first affected entry; it keeps the lower (the first fix).
func versionLess(a *Advisory, x, y string) bool {
	eco := ""
	if len(a.Affected) > 0 {
		eco = a.Affected[0].Ecosystem
	}
	vx, err1 := parseVersion("ECOSYSTEM", eco, x)
	vy, err2 := parseVersion("ECOSYSTEM", eco, y)
	if err1 != nil || err2 != nil {
		return x < y
	}
	return compare(vx, vy) < 0
}

// Info is what the index knows about a vulnerability beyond its matches.
type Info struct {
	Summary  string
	Severity Severity
	KEV      *KEV
	EPSS     *EPSS
}

// Info gathers severity, KEV and EPSS for a group of ids: the highest
// severity of any advisory or CVE record, the KEV entry of any CVE among
// them (the earliest due date), the highest EPSS.
func (db *DB) Info(ids []string, advs []*Advisory) Info {
	db.mu.RLock()
	defer db.mu.RUnlock()
	var in Info
	all := slices.Clone(advs)
	for _, id := range ids {
		for _, a := range db.byID[normID(id)] {
			if !slices.Contains(all, a) {
				all = append(all, a)
			}
		}
	}
	for _, a := range all {
		if a.Severity.Better(in.Severity) {
			in.Severity = a.Severity
		}
	}
	// The summary of an OSV record reads best; a CVE record's title next.
	for _, osvFirst := range []bool{true, false} {
		for _, a := range all {
			if in.Summary == "" && a.Summary != "" && (!osvFirst || strings.HasPrefix(a.Source, "osv")) {
				in.Summary = a.Summary
			}
		}
	}
	for _, id := range ids {
		n := normID(id)
		if s, ok := db.cveSev[n]; ok && s.Better(in.Severity) {
			in.Severity = s
		}
		if k, ok := db.kev[n]; ok && (in.KEV == nil || k.DueDate < in.KEV.DueDate) {
			kk := k
			in.KEV = &kk
		}
		if e, ok := db.epss[n]; ok && (in.EPSS == nil || e.Score > in.EPSS.Score) {
			ee := e
			in.EPSS = &ee
		}
	}
	if in.Severity.Label == "" && in.Severity.Score > 0 {
		in.Severity.Label = LabelFor(in.Severity.Score)
	}
	return in
}
