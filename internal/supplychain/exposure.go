package supplychain

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
)

// Link is a knowledge-base object that a vulnerability is linked to: the
// other end of a relationship (a threat actor, intrusion set, campaign,
// malware, tool, …), a sighting of it, or a report that refers to it.
type Link struct {
	Type         string `json:"type"`
	ID           string `json:"id"`
	Name         string `json:"name,omitempty"`
	Relationship string `json:"relationship,omitempty"` // relationship_type, for relationships
}

func (l Link) String() string {
	s := l.Type
	if l.Name != "" {
		s += " " + strconvQuote(l.Name)
	}
	if l.Relationship != "" {
		s += " (" + l.Relationship + ")"
	}
	return s
}

func strconvQuote(s string) string { return "“" + s + "”" }

// linkClass groups link types: threats (threat actors, intrusion sets,
// campaigns), capabilities (malware, tools, infrastructure), sightings, and
// the rest (reports, notes, …).
func linkClass(t string) string {
	switch t {
	case "threat-actor", "intrusion-set", "campaign":
		return "threat"
	case "malware", "tool", "infrastructure":
		return "capability"
	case "sighting":
		return "sighting"
	}
	return "other"
}

// linkWeight is what a class of links adds to a finding's priority; each
// class counts once.
func linkWeight(t string) float64 {
	switch linkClass(t) {
	case "threat":
		return 4
	case "capability":
		return 3
	case "sighting":
		return 2
	}
	return 1
}

// PriorityScore is a finding's priority and tier.
type PriorityScore struct {
	Score float64 `json:"priority"`
	Tier  string  `json:"tier"`
}

// Priority ranks a finding (see docs/supplychain.md, "Priority"):
//
//	base  = CVSS base score; without one: critical 9, high 7.5, medium 5,
//	        low 2.5, unknown 5
//	      + 10 when the vulnerability is in the KEV catalog (+2 more when
//	        it is known to be used by ransomware)
//	      + 10 × the EPSS probability
//	      + for the knowledge-base links, each class once: 4 for threat
//	        actors, intrusion sets or campaigns; 3 for malware, tools or
//	        infrastructure; 2 for sightings; 1 for reports and other objects
//	score = base × criticality (critical 1.5, high 1.25, medium 1,
//	        low 0.75) × depth (transitive dependency 0.9, otherwise 1)
//
// A finding that VEX marks not_affected or fixed scores 0. Tiers: P1 from
// 18, P2 from 9, P3 from 5, P4 below.
func Priority(f inventory.Finding, a Asset, depth int, links []Link) PriorityScore {
	if f.Status == inventory.StatusNotAffected || f.Status == inventory.StatusFixed {
		return PriorityScore{Score: 0, Tier: "-"}
	}
	base := f.CVSS
	if base == 0 {
		switch f.Severity {
		case "critical":
			base = 9
		case "high":
			base = 7.5
		case "low":
			base = 2.5
		default:
			base = 5
		}
	}
	if f.KEV {
		base += 10
		if f.KEVRansomware {
			base += 2
		}
	}
	base += 10 * f.EPSS
	seen := map[string]bool{}
	for _, l := range links {
		k := linkClass(l.Type)
		if seen[k] {
			continue
		}
		seen[k] = true
		base += linkWeight(l.Type)
	}
	score := base * criticalityFactor(a.Criticality)
	if depth > 1 {
		score *= 0.9
	}
	score = math.Round(score*100) / 100
	return PriorityScore{Score: score, Tier: TierOf(score)}
}

func criticalityFactor(c string) float64 {
	switch c {
	case "critical":
		return 1.5
	case "high":
		return 1.25
	case "low":
		return 0.75
	}
	return 1
}

// TierOf maps a priority score to P1–P4.
func TierOf(score float64) string {
	switch {
	case score >= 18:
		return "P1"
	case score >= 9:
		return "P2"
	case score >= 5:
		return "P3"
	}
	return "P4"
}

// Links returns what the knowledge base links the vulnerability known by
// ids to, as far as the viewer may see: the other ends of relationships
// referring to a vulnerability object with one of those ids, sightings of
// it, and reports (and other objects) referring to it.
func (s *Service) Links(ctx context.Context, v *store.Viewer, ids []string) ([]Link, error) {
	var vulnObjs []string
	for _, id := range ids {
		it, err := s.KB.Query(ctx, store.Query{Types: []string{"vulnerability"}, ExternalID: id, Viewer: v, Limit: 50})
		if err != nil {
			return nil, err
		}
		for it.Next() {
			vulnObjs = appendUniq(vulnObjs, it.At().ID)
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
	}
	var out []Link
	seen := map[string]bool{}
	for _, vid := range vulnObjs {
		ls, err := s.linksOf(ctx, v, vid)
		if err != nil {
			return nil, err
		}
		for _, l := range ls {
			if !seen[l.ID] {
				seen[l.ID] = true
				out = append(out, l)
			}
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if linkWeight(out[i].Type) != linkWeight(out[j].Type) {
			return linkWeight(out[i].Type) > linkWeight(out[j].Type)
		}
		return out[i].ID < out[j].ID
	})
	return out, nil
}

// linksOf lists the objects referring to one vulnerability object.
func (s *Service) linksOf(ctx context.Context, v *store.Viewer, vulnID string) ([]Link, error) {
	it, err := s.KB.Query(ctx, store.Query{Ref: vulnID, Viewer: v, Limit: 1000})
	if err != nil {
		return nil, err
	}
	type ref struct {
		typ, id, rel string
		raw          []byte
	}
	var refs []ref
	for it.Next() {
		r := it.At()
		refs = append(refs, ref{typ: r.Type, id: r.ID, raw: append([]byte(nil), r.Raw...)})
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return nil, err
	}
	var out []Link
	for _, r := range refs {
		var o struct {
			Name     string `json:"name"`
			RelType  string `json:"relationship_type"`
			Source   string `json:"source_ref"`
			Target   string `json:"target_ref"`
			Count    int    `json:"count"`
			LastSeen string `json:"last_seen"`
		}
		json.Unmarshal(r.raw, &o)
		switch r.typ {
		case "relationship":
			other := o.Source
			if other == vulnID {
				other = o.Target
			}
			rec, err := s.KB.Get(ctx, other, store.GetOptions{Viewer: v})
			if err != nil {
				continue // absent or not visible
			}
			var end struct {
				Name string `json:"name"`
			}
			json.Unmarshal(rec.Raw, &end)
			out = append(out, Link{Type: rec.Type, ID: rec.ID, Name: end.Name, Relationship: o.RelType})
		case "sighting":
			name := ""
			if o.Count > 0 {
				name = fmt.Sprintf("seen %d times", o.Count)
			}
			if o.LastSeen != "" {
				name = strings.TrimSpace(name + " last " + o.LastSeen)
			}
			out = append(out, Link{Type: "sighting", ID: r.id, Name: name})
		default:
			out = append(out, Link{Type: r.typ, ID: r.id, Name: o.Name})
		}
	}
	return out, nil
}

// ExposureQuery selects an exposure report.
type ExposureQuery struct {
	// Asset restricts to one asset (name or id).
	Asset string
	// Supplier restricts to assets supplied by, or components from, an
	// organisation (case-insensitive).
	Supplier string
	// All includes findings VEX marks not_affected or fixed.
	All bool
	// Viewer restricts to what a reader may see (nil: everything).
	Viewer *store.Viewer
}

// Row is one finding in an exposure report.
type Row struct {
	Rank int `json:"rank"`
	PriorityScore
	AssetID      string   `json:"asset_id"`
	Asset        string   `json:"asset"`
	Owner        string   `json:"owner,omitempty"`
	Criticality  string   `json:"criticality"`
	Kind         string   `json:"cpsf_component"`
	Layer        int      `json:"cpsf_layer,omitempty"`
	Suppliers    []string `json:"suppliers,omitempty"`
	Component    string   `json:"component"`
	Version      string   `json:"version,omitempty"`
	PURL         string   `json:"purl,omitempty"`
	CompSupplier string   `json:"component_supplier,omitempty"`
	// Dependency is direct, transitive or unknown (no dependency graph).
	Dependency string   `json:"dependency"`
	Path       []string `json:"path,omitempty"`
	inventory.Finding
	Links []Link `json:"links,omitempty"`
}

// SupplierRollup sums a supplier's exposure.
type SupplierRollup struct {
	Supplier    string  `json:"supplier"`
	Assets      int     `json:"assets"`
	Findings    int     `json:"findings"`
	KEV         int     `json:"kev"`
	Critical    int     `json:"critical"`
	MaxPriority float64 `json:"max_priority"`
	Tier        string  `json:"tier"`
}

// Report is an exposure report.
type Report struct {
	Generated time.Time        `json:"generated"`
	Assets    int              `json:"assets"`
	Rows      []Row            `json:"findings"`
	Suppliers []SupplierRollup `json:"suppliers"`
}

// Exposure builds the report: every finding of the assets the viewer may
// read, with its knowledge-base links, ranked by priority (highest first).
func (s *Service) Exposure(ctx context.Context, q ExposureQuery) (*Report, error) {
	var assets []Asset
	if q.Asset != "" {
		a, err := s.Asset(ctx, q.Viewer, q.Asset)
		if err != nil {
			return nil, err
		}
		assets = []Asset{a}
	} else {
		var err error
		if assets, err = s.Assets(ctx, q.Viewer); err != nil {
			return nil, err
		}
	}
	rep := &Report{Generated: s.now(), Assets: len(assets), Rows: []Row{}, Suppliers: []SupplierRollup{}}
	if len(assets) == 0 {
		return rep, nil
	}
	byID := make(map[string]Asset, len(assets))
	ids := make([]string, len(assets))
	for i, a := range assets {
		byID[a.ID] = a
		ids[i] = a.ID
	}
	fs, err := s.Inv.ExposureFindings(ctx, inventory.FindingFilter{AssetIDs: ids})
	if err != nil {
		return nil, err
	}
	comps := map[int64]inventory.Component{}
	loaded := map[string]bool{}
	links := map[string][]Link{}
	sup := strings.ToLower(strings.TrimSpace(q.Supplier))
	for _, f := range fs {
		if !q.All && (f.Status == inventory.StatusNotAffected || f.Status == inventory.StatusFixed) {
			continue
		}
		a := byID[f.AssetID]
		if !loaded[f.AssetID] {
			loaded[f.AssetID] = true
			err := s.Inv.SBOMComponents(ctx, f.AssetID, func(c inventory.Component) error { comps[c.ID] = c; return nil })
			if err != nil {
				return nil, err
			}
		}
		c := comps[f.ComponentID]
		if sup != "" && !supplies(a, c, sup) {
			continue
		}
		ls, ok := links[f.VulnID]
		if !ok {
			if ls, err = s.Links(ctx, q.Viewer, f.IDs()); err != nil {
				return nil, err
			}
			links[f.VulnID] = ls
		}
		row := Row{AssetID: a.ID, Asset: a.Name, Owner: a.Owner, Criticality: a.Criticality, Kind: a.Kind, Layer: a.Layer,
			Suppliers: a.Suppliers, Component: c.Name, Version: c.Version, PURL: c.PURL, CompSupplier: c.Supplier,
			Dependency: dependency(c), Path: c.Path, Finding: f, Links: ls}
		row.PriorityScore = Priority(f, a, c.Depth, ls)
		rep.Rows = append(rep.Rows, row)
	}
	sort.SliceStable(rep.Rows, func(i, j int) bool {
		x, y := &rep.Rows[i], &rep.Rows[j]
		if x.Score != y.Score {
			return x.Score > y.Score
		}
		if x.Asset != y.Asset {
			return x.Asset < y.Asset
		}
		if x.Component != y.Component {
			return x.Component < y.Component
		}
		return x.VulnID < y.VulnID
	})
	for i := range rep.Rows {
		rep.Rows[i].Rank = i + 1
	}
	rep.Suppliers = rollup(rep.Rows)
	return rep, nil
}

func dependency(c inventory.Component) string {
	switch {
	case c.Root:
		return "root"
	case c.Depth == 1:
		return "direct"
	case c.Depth > 1:
		return "transitive"
	}
	return "unknown"
}

func supplies(a Asset, c inventory.Component, sup string) bool {
	for _, s := range a.Suppliers {
		if strings.ToLower(s) == sup {
			return true
		}
	}
	return c.Supplier != "" && strings.Contains(strings.ToLower(c.Supplier), sup)
}

// rollup sums the rows per supplier: the asset's suppliers and the
// component's supplier each count.
func rollup(rows []Row) []SupplierRollup {
	by := map[string]*SupplierRollup{}
	assets := map[string]map[string]bool{}
	for _, r := range rows {
		names := append([]string(nil), r.Suppliers...)
		if r.CompSupplier != "" {
			names = appendUniq(names, r.CompSupplier)
		}
		if len(names) == 0 {
			names = []string{"(unknown)"}
		}
		for _, n := range names {
			su := by[n]
			if su == nil {
				su = &SupplierRollup{Supplier: n}
				by[n] = su
				assets[n] = map[string]bool{}
			}
			su.Findings++
			if r.KEV {
				su.KEV++
			}
			if r.Severity == "critical" {
				su.Critical++
			}
			if r.Score > su.MaxPriority {
				su.MaxPriority = r.Score
			}
			assets[n][r.AssetID] = true
		}
	}
	out := make([]SupplierRollup, 0, len(by))
	for n, su := range by {
		su.Assets = len(assets[n])
		su.Tier = TierOf(su.MaxPriority)
		out = append(out, *su)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].MaxPriority != out[j].MaxPriority {
			return out[i].MaxPriority > out[j].MaxPriority
		}
		if out[i].Findings != out[j].Findings {
			return out[i].Findings > out[j].Findings
		}
		return out[i].Supplier < out[j].Supplier
	})
	return out
}

// AssetDetail is an asset with its SBOMs and a summary of its exposure.
type AssetDetail struct {
	Asset
	LayerName  string           `json:"cpsf_layer_name"`
	Access     string           `json:"distribution"`
	SBOMs      []inventory.SBOM `json:"sboms"`
	Components int              `json:"components"`
	Findings   int              `json:"findings"`
	KEV        int              `json:"kev"`
	ByTier     map[string]int   `json:"by_tier"`
	Top        []Row            `json:"top_findings,omitempty"`
}

// AssetDetail describes one asset the viewer may read.
func (s *Service) AssetDetail(ctx context.Context, v *store.Viewer, nameOrID string) (*AssetDetail, error) {
	a, err := s.Asset(ctx, v, nameOrID)
	if err != nil {
		return nil, err
	}
	d := &AssetDetail{Asset: a, LayerName: LayerName(a.Layer), Access: levelName(a.Access.Level), ByTier: map[string]int{}}
	if d.SBOMs, err = s.Inv.SBOMs(ctx, a.ID); err != nil {
		return nil, err
	}
	if d.SBOMs == nil {
		d.SBOMs = []inventory.SBOM{}
	}
	for _, sb := range d.SBOMs {
		d.Components += sb.Components
	}
	rep, err := s.Exposure(ctx, ExposureQuery{Asset: a.ID, Viewer: v})
	if err != nil {
		return nil, err
	}
	d.Findings = len(rep.Rows)
	for i, r := range rep.Rows {
		d.ByTier[r.Tier]++
		if r.KEV {
			d.KEV++
		}
		if i < 10 {
			d.Top = append(d.Top, r)
		}
	}
	return d, nil
}

func levelName(l store.Level) string {
	switch l {
	case store.LevelOrg:
		return "org"
	case store.LevelGroup:
		return "group"
	case store.LevelCommunity:
		return "community"
	case store.LevelConnected:
		return "connected"
	}
	return "public"
}
