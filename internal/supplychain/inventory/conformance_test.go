package inventory_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
)

// TestConformance runs the same checks on both stores.
func TestConformance(t *testing.T) {
	t.Run("memory", func(t *testing.T) { conformance(t, inventory.NewMemory()) })
	t.Run("sqlite", func(t *testing.T) {
		st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		conformance(t, st)
	})
}

func conformance(t *testing.T, s inventory.Store) {
	ctx := context.Background()
	comps := []inventory.Component{
		{Name: "lodash", Version: "4.17.20", PURL: "pkg:npm/lodash@4.17.20", Keys: []string{"npm\x00lodash"}, Depth: 1, Path: []string{"app@1", "lodash@4.17.20"}, Hashes: map[string]string{"sha256": "ab"}},
		{Name: "openssl", Version: "1.1.1k", CPEs: []string{"cpe:2.3:a:openssl:openssl:1.1.1k:*:*:*:*:*:*:*"}, Keys: []string{"cpe:openssl:openssl"}},
		{Name: "app", Version: "1", Root: true},
	}
	a1, err := s.ReplaceSBOM(ctx, inventory.SBOM{AssetID: "asset-1", Name: "app", Format: "CycloneDX 1.5 JSON", Imported: time.Now()}, comps)
	if err != nil {
		t.Fatal(err)
	}
	a2, err := s.ReplaceSBOM(ctx, inventory.SBOM{AssetID: "asset-2", Name: "fw", Format: "SPDX 2.3 JSON"}, comps[:1])
	if err != nil {
		t.Fatal(err)
	}
	if a1[0].ID == 0 || a1[0].ID == a2[0].ID || a1[0].AssetID != "asset-1" {
		t.Fatalf("ids %+v %+v", a1[0], a2[0])
	}
	var got []inventory.Component
	collect := func(c inventory.Component) error { got = append(got, c); return nil }
	if err := s.SBOMComponentsByKey(ctx, []string{"npm\x00lodash"}, collect); err != nil || len(got) != 2 {
		t.Fatalf("by key: %v %d", err, len(got))
	}
	if !slices.Equal(got[0].Path, comps[0].Path) || got[0].Hashes["sha256"] != "ab" || !slices.Equal(got[0].Keys, comps[0].Keys) {
		t.Errorf("round trip %+v", got[0])
	}
	got = nil
	if err := s.SBOMComponents(ctx, "asset-1", collect); err != nil || len(got) != 3 || !got[2].Root {
		t.Fatalf("asset components %v %+v", err, got)
	}
	sboms, _ := s.SBOMs(ctx, "")
	if len(sboms) != 2 || sboms[0].Components != 3 {
		t.Errorf("SBOMs %+v", sboms)
	}

	// Findings: replace, keep first_seen, look up by alias.
	f := inventory.Finding{AssetID: "asset-1", ComponentID: a1[0].ID, VulnID: "CVE-2021-23337", Aliases: []string{"GHSA-35jh-r3h4-6jhm"}, Status: "affected", CVSS: 7.2}
	if err := s.ReplaceFindings(ctx, []int64{a1[0].ID, a1[1].ID}, []inventory.Finding{f}); err != nil {
		t.Fatal(err)
	}
	fs, _ := s.ExposureFindings(ctx, inventory.FindingFilter{VulnIDs: []string{"ghsa-35jh-r3h4-6jhm"}})
	if len(fs) != 1 || fs[0].CVSS != 7.2 || fs[0].First.IsZero() {
		t.Fatalf("by alias %+v", fs)
	}
	first := fs[0].First
	time.Sleep(2 * time.Millisecond)
	f.CVSS = 8
	if err := s.ReplaceFindings(ctx, []int64{a1[0].ID}, []inventory.Finding{f}); err != nil {
		t.Fatal(err)
	}
	fs, _ = s.ExposureFindings(ctx, inventory.FindingFilter{AssetIDs: []string{"asset-1"}})
	if len(fs) != 1 || fs[0].CVSS != 8 || !fs[0].First.Equal(first) {
		t.Errorf("replaced %+v (first %v)", fs, first)
	}
	if err := s.ReplaceFindings(ctx, []int64{a1[1].ID}, []inventory.Finding{f}); err == nil {
		t.Errorf("a finding outside the replaced components was accepted")
	}
	// Re-importing the SBOM drops the old components and their findings.
	if _, err := s.ReplaceSBOM(ctx, inventory.SBOM{AssetID: "asset-1", Name: "app"}, comps[1:]); err != nil {
		t.Fatal(err)
	}
	if fs, _ := s.ExposureFindings(ctx, inventory.FindingFilter{}); len(fs) != 0 {
		t.Errorf("findings of replaced components remain: %+v", fs)
	}

	// VEX.
	st := inventory.VEXStatement{AssetID: "asset-1", Vuln: "CVE-1", Product: "pkg:npm/lodash", Status: "not_affected", Source: "v.json"}
	if err := s.PutVEX(ctx, []inventory.VEXStatement{st, {Vuln: "CVE-2", Status: "fixed", Source: "g.json"}}); err != nil {
		t.Fatal(err)
	}
	st.Status = "fixed"
	s.PutVEX(ctx, []inventory.VEXStatement{st})
	sts, _ := s.VEXStatements(ctx, []string{"asset-1"})
	if len(sts) != 2 || sts[1].Status != "fixed" && sts[0].Status != "fixed" {
		t.Errorf("VEX %+v", sts)
	}
	if sts, _ := s.VEXStatements(ctx, []string{"asset-2"}); len(sts) != 1 {
		t.Errorf("VEX for asset-2 %+v", sts)
	}

	// Alerts: idempotent by key, newest first, paging after an id.
	added, err := s.AddExposureAlerts(ctx, []inventory.Alert{{Key: "k1", AssetID: "asset-1", VulnID: "CVE-1"}, {Key: "k2", AssetID: "asset-2", VulnID: "CVE-2"}})
	if err != nil || len(added) != 2 || added[1].ID <= added[0].ID {
		t.Fatalf("alerts %v %+v", err, added)
	}
	if again, _ := s.AddExposureAlerts(ctx, []inventory.Alert{{Key: "k1", AssetID: "asset-1"}}); len(again) != 0 {
		t.Errorf("duplicate key stored")
	}
	as, _ := s.ExposureAlerts(ctx, inventory.AlertFilter{})
	if len(as) != 2 || as[0].Key != "k2" {
		t.Errorf("newest first %+v", as)
	}
	as, _ = s.ExposureAlerts(ctx, inventory.AlertFilter{AssetIDs: []string{"asset-1"}})
	if len(as) != 1 || as[0].Key != "k1" {
		t.Errorf("by asset %+v", as)
	}
	as, _ = s.ExposureAlerts(ctx, inventory.AlertFilter{AfterID: added[0].ID})
	if len(as) != 1 || as[0].Key != "k2" {
		t.Errorf("after %+v", as)
	}
	if as, _ := s.ExposureAlerts(ctx, inventory.AlertFilter{AssetIDs: []string{}}); len(as) != 0 {
		t.Errorf("empty asset list matches %d", len(as))
	}

	// Deleting an asset removes its inventory.
	if err := s.DeleteAssetInventory(ctx, "asset-2"); err != nil {
		t.Fatal(err)
	}
	got = nil
	s.SBOMComponents(ctx, "asset-2", collect)
	if sb, _ := s.SBOMs(ctx, "asset-2"); len(got) != 0 || len(sb) != 0 {
		t.Errorf("asset-2 remains: %+v %+v", got, sb)
	}
}
