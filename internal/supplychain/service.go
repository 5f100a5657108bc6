// Package supplychain measures supply-chain exposure: assets placed on the
// Cyber/Physical Security Framework (CPSF) model and stored as STIX objects
// in the knowledge base, their SBOMs, the vulnerabilities of their
// components, VEX statements, a documented priority, and alerts when new
// intelligence changes the exposure.
//
// Sub-packages: pkgid (package URLs, ecosystems, CPEs), sbom (CycloneDX and
// SPDX readers), vulndb (the in-memory vulnerability index and matching),
// vex (CycloneDX VEX and OpenVEX) and inventory (what is stored besides
// STIX objects, and the storage contract for it).
package supplychain

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
	"github.com/mamori-cti/mamori/internal/supplychain/sbom"
	"github.com/mamori-cti/mamori/internal/supplychain/vex"
	"github.com/mamori-cti/mamori/internal/supplychain/vulndb"
)

// Service is the supply-chain exposure service.
type Service struct {
	// KB is the knowledge base; Importer writes assets into it.
	KB       store.Store
	Importer *ingest.Importer
	// Inv stores SBOM components, findings, VEX statements and alerts.
	Inv inventory.Store
	// DB is the vulnerability index.
	DB  *vulndb.DB
	Log *slog.Logger
	// Webhook, when set, receives new alerts.
	Webhook *Webhook
	// Now is the clock (tests replace it).
	Now func() time.Time

	mu         sync.Mutex
	defsStored bool
	evalMu     sync.Mutex // one evaluation writes findings at a time
	assetMu    sync.Mutex
	assetCache map[string]Asset // every asset, for alerts; nil until loaded
}

// Options configure New.
type Options struct {
	Log     *slog.Logger
	Webhook *Webhook
}

// New returns a service. db may be nil (an empty index).
func New(kb store.Store, im *ingest.Importer, inv inventory.Store, db *vulndb.DB, opts Options) *Service {
	if db == nil {
		db = vulndb.New()
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	return &Service{KB: kb, Importer: im, Inv: inv, DB: db, Log: opts.Log, Webhook: opts.Webhook}
}

func (s *Service) now() time.Time {
	if s.Now != nil {
		return s.Now().UTC()
	}
	return time.Now().UTC().Truncate(time.Millisecond)
}

// assetsByID returns every asset (trusted view), cached until assets change.
func (s *Service) assetsByID(ctx context.Context) (map[string]Asset, error) {
	s.assetMu.Lock()
	defer s.assetMu.Unlock()
	if s.assetCache != nil {
		return s.assetCache, nil
	}
	all, err := s.Assets(ctx, nil)
	if err != nil {
		return nil, err
	}
	m := make(map[string]Asset, len(all))
	for _, a := range all {
		m[a.ID] = a
	}
	s.assetCache = m
	return m, nil
}

// forgetAssets drops the cache; noteAssets updates it in place (the cache
// is kept only once loaded, so a long-running service does not reload every
// asset after each change).
func (s *Service) forgetAssets() {
	s.assetMu.Lock()
	s.assetCache = nil
	s.assetMu.Unlock()
}

func (s *Service) noteAssets(as []Asset, removed bool) {
	s.assetMu.Lock()
	defer s.assetMu.Unlock()
	if s.assetCache == nil {
		return
	}
	for _, a := range as {
		if removed {
			delete(s.assetCache, a.ID)
		} else {
			s.assetCache[a.ID] = a
		}
	}
}

// refreshAsset re-reads one asset into the cache.
func (s *Service) refreshAsset(ctx context.Context, id string) {
	rec, err := s.KB.Get(ctx, id, store.GetOptions{})
	if err != nil || rec.Revoked {
		s.noteAssets([]Asset{{ID: id}}, true)
		return
	}
	if a, err := assetFromRecord(rec); err == nil {
		s.noteAssets([]Asset{a}, false)
	}
}

// SBOMResult reports an SBOM import.
type SBOMResult struct {
	Asset      string         `json:"asset"`
	SBOM       inventory.SBOM `json:"sbom"`
	Warnings   []sbom.Warning `json:"-"`
	WarningsS  []string       `json:"warnings"`
	Findings   int            `json:"findings"`
	KEV        int            `json:"kev"`
	VEX        int            `json:"vex_statements"`
	Components int            `json:"components"`
	Advisories vulndb.Stats   `json:"vulnerability_index"`
}

// ImportSBOM reads an SBOM for an asset, replacing an earlier SBOM of the
// same name, and evaluates its components. The first evaluation of a new
// SBOM raises no alerts: alerts are for changes that new intelligence
// brings to what was already known.
func (s *Service) ImportSBOM(ctx context.Context, a Asset, data []byte, fileName, sbomName string) (SBOMResult, error) {
	doc, err := sbom.ReadBytes(data, fileName)
	if err != nil {
		return SBOMResult{}, err
	}
	if sbomName == "" {
		sbomName = strings.TrimSpace(doc.Name)
		if sbomName == "" || sbomName == "." || sbomName == "/" {
			sbomName = fileName
		}
	}
	sum := sha256.Sum256(data)
	rec := inventory.SBOM{AssetID: a.ID, Name: sbomName, Format: doc.Describe(), Digest: hex.EncodeToString(sum[:]), Imported: s.now(), Warnings: len(doc.Warnings)}
	comps := make([]inventory.Component, 0, len(doc.Components))
	for _, c := range doc.Components {
		comps = append(comps, toInventory(c, doc.Root))
	}
	stored, err := s.Inv.ReplaceSBOM(ctx, rec, comps)
	if err != nil {
		return SBOMResult{}, err
	}
	rec.Components = len(stored)
	res := SBOMResult{Asset: a.Name, SBOM: rec, Warnings: doc.Warnings, Components: len(stored), Advisories: s.DB.Stats()}
	for _, w := range doc.Warnings {
		res.WarningsS = append(res.WarningsS, w.String())
	}
	if sts, warns := vex.FromCycloneDX(doc, fileName); len(sts) > 0 {
		for i := range sts {
			sts[i].AssetID = a.ID
		}
		if err := s.Inv.PutVEX(ctx, sts); err != nil {
			return res, err
		}
		res.VEX = len(sts)
		res.WarningsS = append(res.WarningsS, warns...)
	}
	fs, _, err := s.evaluate(ctx, stored, false, nil)
	if err != nil {
		return res, err
	}
	res.Findings = len(fs)
	for _, f := range fs {
		if f.KEV {
			res.KEV++
		}
	}
	return res, nil
}

func toInventory(c *sbom.Component, root string) inventory.Component {
	ic := inventory.Component{Ref: c.Ref, Name: c.Name, Version: c.Version, PURL: c.PURL, Ecosystem: c.ID.Ecosystem,
		CPEs: c.CPEs, Licenses: c.Licenses, Hashes: c.Hashes, Supplier: c.Supplier, Depth: c.Depth, Path: c.Path,
		Root: c.Ref != "" && c.Ref == root}
	if c.ID.Version != "" {
		ic.Version = c.ID.Version
	}
	vc := matchComponent(ic)
	ic.Keys = vc.Keys()
	return ic
}

// matchComponent builds what vulndb needs from a stored component.
func matchComponent(c inventory.Component) vulndb.Component {
	var vc vulndb.Component
	if c.PURL != "" {
		if id, _, err := pkgid.Parse(c.PURL); err == nil {
			vc.Package = id
		}
	}
	if vc.Package.Version == "" {
		vc.Package.Version = c.Version
	}
	vc.Version = c.Version
	for _, s := range c.CPEs {
		if cp, err := pkgid.ParseCPE(s); err == nil {
			vc.CPEs = append(vc.CPEs, cp)
		}
	}
	return vc
}

// ImportVEX stores VEX statements for an asset ("" for every asset) and
// re-evaluates the findings they name.
func (s *Service) ImportVEX(ctx context.Context, assetID string, data []byte, name string) (int, []string, error) {
	sts, warns, err := vex.Read(data, name)
	if err != nil {
		return 0, warns, err
	}
	for i := range sts {
		sts[i].AssetID = assetID
		if sts[i].Timestamp.IsZero() {
			sts[i].Timestamp = s.now()
		}
	}
	if err := s.Inv.PutVEX(ctx, sts); err != nil {
		return 0, warns, err
	}
	var ids []string
	for _, st := range sts {
		ids = appendUniq(ids, st.Vuln)
	}
	fs, err := s.Inv.ExposureFindings(ctx, inventory.FindingFilter{VulnIDs: ids})
	if err != nil {
		return len(sts), warns, err
	}
	var compIDs []int64
	for _, f := range fs {
		if assetID == "" || f.AssetID == assetID {
			compIDs = append(compIDs, f.ComponentID)
		}
	}
	if _, err := s.reevaluateComponents(ctx, compIDs, false, nil); err != nil {
		return len(sts), warns, err
	}
	return len(sts), warns, nil
}

// Trigger describes the intelligence that caused a re-evaluation.
type Trigger struct {
	ID     string         // STIX id or source name
	Access []store.Access // the distribution of the objects it reveals
	// Links are the knowledge-base objects the trigger links vulnerabilities to.
	Links []Link
	// Vulns are the ids of the vulnerabilities it names.
	Vulns []string
}

// Refresh re-evaluates the components of the given assets (every asset when
// none is given) against the current index, storing changed findings and
// raising alerts for new ones.
func (s *Service) Refresh(ctx context.Context, assetIDs ...string) (int, error) {
	var comps []inventory.Component
	collect := func(c inventory.Component) error { comps = append(comps, c); return nil }
	if len(assetIDs) == 0 {
		if err := s.Inv.SBOMComponents(ctx, "", collect); err != nil {
			return 0, err
		}
	}
	for _, id := range assetIDs {
		if err := s.Inv.SBOMComponents(ctx, id, collect); err != nil {
			return 0, err
		}
	}
	_, added, err := s.evaluate(ctx, comps, true, &Trigger{ID: "refresh"})
	return added, err
}

// ReevaluatePackages re-evaluates every component indexed under the given
// package or CPE keys (see vulndb.Component.Keys) and raises alerts. It is
// what a new advisory costs: the components of its packages, not all.
func (s *Service) ReevaluatePackages(ctx context.Context, keys []string, t *Trigger) (int, error) {
	if len(keys) == 0 {
		return 0, nil
	}
	var comps []inventory.Component
	if err := s.Inv.SBOMComponentsByKey(ctx, keys, func(c inventory.Component) error { comps = append(comps, c); return nil }); err != nil {
		return 0, err
	}
	_, added, err := s.evaluate(ctx, comps, true, t)
	return added, err
}

func (s *Service) reevaluateComponents(ctx context.Context, ids []int64, alert bool, t *Trigger) (int, error) {
	if len(ids) == 0 {
		return 0, nil
	}
	fs, err := s.Inv.ExposureFindings(ctx, inventory.FindingFilter{ComponentIDs: ids})
	if err != nil {
		return 0, err
	}
	assets := map[string]bool{}
	for _, f := range fs {
		assets[f.AssetID] = true
	}
	want := map[int64]bool{}
	for _, id := range ids {
		want[id] = true
	}
	var comps []inventory.Component
	for a := range assets {
		err := s.Inv.SBOMComponents(ctx, a, func(c inventory.Component) error {
			if want[c.ID] {
				comps = append(comps, c)
			}
			return nil
		})
		if err != nil {
			return 0, err
		}
	}
	_, n, err := s.evaluate(ctx, comps, alert, t)
	return n, err
}

// evaluate matches components, stores their findings and, when alert is
// set, raises alerts for what changed. It returns the findings and how
// many alerts were stored.
func (s *Service) evaluate(ctx context.Context, comps []inventory.Component, alert bool, t *Trigger) ([]inventory.Finding, int, error) {
	if len(comps) == 0 {
		return nil, 0, nil
	}
	s.evalMu.Lock()
	defer s.evalMu.Unlock()
	now := s.now()
	ids := make([]int64, len(comps))
	var assetIDs []string
	seenAsset := map[string]bool{}
	for i, c := range comps {
		ids[i] = c.ID
		if !seenAsset[c.AssetID] {
			seenAsset[c.AssetID] = true
			assetIDs = append(assetIDs, c.AssetID)
		}
	}
	all, err := s.Inv.VEXStatements(ctx, assetIDs)
	if err != nil {
		return nil, 0, err
	}
	vexBy := map[string][]inventory.VEXStatement{}
	var global []inventory.VEXStatement
	for _, st := range all {
		if st.AssetID == "" {
			global = append(global, st)
		} else {
			vexBy[st.AssetID] = append(vexBy[st.AssetID], st)
		}
	}
	old, err := s.Inv.ExposureFindings(ctx, inventory.FindingFilter{ComponentIDs: ids})
	if err != nil {
		return nil, 0, err
	}
	oldBy := map[int64][]inventory.Finding{}
	for _, f := range old {
		oldBy[f.ComponentID] = append(oldBy[f.ComponentID], f)
	}
	roots := map[string][]inventory.Component{}
	var out []inventory.Finding
	for _, c := range comps {
		vc := matchComponent(c)
		groups := vulndb.GroupMatches(s.DB.Match(&vc))
		if len(groups) == 0 && len(oldBy[c.ID]) == 0 {
			continue
		}
		sts := vexBy[c.AssetID]
		if len(global) > 0 {
			sts = append(slices.Clone(sts), global...)
		}
		if _, ok := roots[c.AssetID]; !ok && len(sts) > 0 {
			roots[c.AssetID] = s.rootsOf(ctx, c.AssetID)
		}
		first := len(out)
		for _, g := range groups {
			f := s.finding(c, g)
			f.Updated = now
			if st := applicableVEX(sts, c, &f, roots[c.AssetID]); st != nil {
				f.Status, f.Justification = st.Status, st.Justification
			}
			out = append(out, f)
		}
		// A finding only an earlier index knew (its vulnerability is not in
		// this one: a source not loaded now) is kept as it was; this index
		// cannot judge it. VEX still applies.
		for _, o := range oldBy[c.ID] {
			if s.DB.Known(o.IDs()) || overlapsAny(out[first:], o.IDs()) {
				continue
			}
			o.Status, o.Justification = inventory.StatusAffected, ""
			if st := applicableVEX(sts, c, &o, roots[c.AssetID]); st != nil {
				o.Status, o.Justification = st.Status, st.Justification
			}
			out = append(out, o)
		}
	}
	if err := s.Inv.ReplaceFindings(ctx, ids, out); err != nil {
		return nil, 0, err
	}
	if !alert {
		return out, 0, nil
	}
	alerts, err := s.diffAlerts(ctx, comps, old, out, t, now)
	if err != nil {
		return out, 0, err
	}
	added, err := s.Inv.AddExposureAlerts(ctx, alerts)
	if err != nil {
		return out, 0, err
	}
	if s.Webhook != nil && len(added) > 0 {
		s.Webhook.Enqueue(s.decorate(ctx, added))
	}
	return out, len(added), nil
}

// rootsOf returns the root components of an asset's SBOMs.
func (s *Service) rootsOf(ctx context.Context, assetID string) []inventory.Component {
	var roots []inventory.Component
	s.Inv.SBOMComponents(ctx, assetID, func(c inventory.Component) error {
		if c.Root {
			roots = append(roots, c)
		}
		return nil
	})
	return roots
}

func (s *Service) finding(c inventory.Component, g vulndb.Group) inventory.Finding {
	ids := append([]string{g.ID}, g.Aliases...)
	in := s.DB.Info(ids, g.Advisories)
	f := inventory.Finding{AssetID: c.AssetID, ComponentID: c.ID, VulnID: g.ID, Aliases: g.Aliases, Via: g.Via,
		Summary: in.Summary, Severity: in.Severity.Label, CVSS: in.Severity.Score, Vector: in.Severity.Vector,
		FixedVersion: g.Fixed, Status: inventory.StatusAffected}
	if in.KEV != nil {
		f.KEV, f.KEVDue, f.KEVRansomware = true, in.KEV.DueDate, in.KEV.Ransomware
	}
	if in.EPSS != nil {
		f.EPSS, f.EPSSPct = in.EPSS.Score, in.EPSS.Percentile
	}
	return f
}

// applicableVEX returns the newest statement that applies to a finding.
func applicableVEX(sts []inventory.VEXStatement, c inventory.Component, f *inventory.Finding, roots []inventory.Component) *inventory.VEXStatement {
	var best *inventory.VEXStatement
	ids := f.IDs()
	for i := range sts {
		st := &sts[i]
		if !containsFold(ids, st.Vuln) {
			continue
		}
		if !productApplies(st, c, roots) {
			continue
		}
		if best == nil || st.Timestamp.After(best.Timestamp) {
			best = st
		}
	}
	return best
}

// productApplies decides whether a statement's product (and subcomponents)
// name the component: directly (purl, bom-ref, CPE), or as the product the
// SBOM describes, or as the whole asset when the statement names none.
func productApplies(st *inventory.VEXStatement, c inventory.Component, roots []inventory.Component) bool {
	if namesComponent(st.Product, c) {
		return true
	}
	whole := st.Product == ""
	for _, r := range roots {
		if r.SBOM == c.SBOM && namesComponent(st.Product, r) {
			whole = true
		}
	}
	if !whole {
		return false
	}
	if len(st.Subcomponents) == 0 {
		return true
	}
	for _, sc := range st.Subcomponents {
		if namesComponent(sc, c) {
			return true
		}
	}
	return false
}

func namesComponent(id string, c inventory.Component) bool {
	if id == "" {
		return false
	}
	switch {
	case strings.HasPrefix(id, "pkg:"):
		return vex.PurlMatches(id, c.PURL)
	case strings.HasPrefix(id, "cpe:"):
		return slices.Contains(c.CPEs, id)
	}
	return id == c.Ref
}

func containsFold(l []string, s string) bool {
	for _, x := range l {
		if strings.EqualFold(x, s) {
			return true
		}
	}
	return false
}

func appendUniq(l []string, vs ...string) []string {
	for _, v := range vs {
		if v != "" && !slices.Contains(l, v) {
			l = append(l, v)
		}
	}
	return l
}

// diffAlerts compares a component's findings before and after and makes
// an alert for each new vulnerability (not matching any earlier finding's
// ids) and each finding that became KEV. A trigger with links adds a
// "linked" alert for every affected finding of the vulnerabilities it names.
func (s *Service) diffAlerts(ctx context.Context, comps []inventory.Component, old, cur []inventory.Finding, t *Trigger, now time.Time) ([]inventory.Alert, error) {
	oldBy := map[int64][]inventory.Finding{}
	for _, f := range old {
		oldBy[f.ComponentID] = append(oldBy[f.ComponentID], f)
	}
	compBy := make(map[int64]*inventory.Component, len(comps))
	for i := range comps {
		compBy[comps[i].ID] = &comps[i]
	}
	assets, err := s.assetsByID(ctx)
	if err != nil {
		return nil, err
	}
	var out []inventory.Alert
	trig := ""
	var acc []store.Access
	if t != nil {
		trig, acc = t.ID, t.Access
	}
	for i := range cur {
		f := &cur[i]
		if f.Status == inventory.StatusNotAffected || f.Status == inventory.StatusFixed {
			continue
		}
		c := compBy[f.ComponentID]
		a := assets[f.AssetID]
		var prev *inventory.Finding
		for j := range oldBy[f.ComponentID] {
			o := &oldBy[f.ComponentID][j]
			if overlaps(o.IDs(), f.IDs()) {
				prev = o
				break
			}
		}
		mk := func(kind, msg string) inventory.Alert {
			p := Priority(*f, a, c.Depth, nil)
			return inventory.Alert{Key: kind + "\x00" + strconvI(f.ComponentID) + "\x00" + f.VulnID, Created: now, Kind: kind,
				AssetID: f.AssetID, ComponentID: f.ComponentID, Component: display(c), PURL: c.PURL,
				VulnID: f.VulnID, Aliases: f.Aliases, Priority: p.Score, Tier: p.Tier, Message: msg, Trigger: trig, TriggerAccess: acc}
		}
		switch {
		case prev == nil:
			msg := fmt.Sprintf("%s in %s is affected by %s", display(c), a.Name, f.VulnID)
			if f.Summary != "" {
				msg += ": " + f.Summary
			}
			out = append(out, mk(inventory.AlertNewFinding, msg))
		case f.KEV && !prev.KEV:
			out = append(out, mk(inventory.AlertKEV, fmt.Sprintf("%s (in %s of %s) is now in the KEV catalog, due %s", f.VulnID, display(c), a.Name, f.KEVDue)))
		}
		if t != nil && len(t.Links) > 0 && overlaps(t.Vulns, f.IDs()) {
			var names []string
			for _, l := range t.Links {
				names = append(names, l.String())
			}
			al := mk(inventory.AlertLinked, fmt.Sprintf("%s (in %s of %s) is linked to %s", f.VulnID, display(c), a.Name, strings.Join(names, ", ")))
			al.Key += "\x00" + t.ID
			p := Priority(*f, a, c.Depth, t.Links)
			al.Priority, al.Tier = p.Score, p.Tier
			out = append(out, al)
		}
	}
	return out, nil
}

func overlapsAny(fs []inventory.Finding, ids []string) bool {
	for i := range fs {
		if overlaps(fs[i].IDs(), ids) {
			return true
		}
	}
	return false
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if containsFold(b, x) {
			return true
		}
	}
	return false
}

func display(c *inventory.Component) string {
	if c == nil {
		return ""
	}
	if c.Version == "" {
		return c.Name
	}
	return c.Name + "@" + c.Version
}

func strconvI(n int64) string { return fmt.Sprintf("%d", n) }
