package supplychain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/supplychain"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
)

type env struct {
	t   *testing.T
	ctx context.Context
	st  *sqlite.Store
	im  *ingest.Importer
	sc  *supplychain.Service
	bus *bus.Local
}

func newEnv(t *testing.T) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	b := bus.NewLocal(nil)
	t.Cleanup(func() { b.Close() })
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues, Bus: b}
	sc := supplychain.New(st, im, st, nil, supplychain.Options{})
	sc.Now = func() time.Time { return time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) }
	return &env{t: t, ctx: ctx, st: st, im: im, sc: sc, bus: b}
}

func fixture(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// importObjects writes STIX objects through the importer (and so the bus).
func (e *env) importObjects(owner string, level store.Level, objs ...map[string]any) {
	e.t.Helper()
	_, err := e.im.Import(e.ctx, func(emit func(int, []byte) error, _ func(string)) error {
		for i, o := range objs {
			raw, _ := json.Marshal(o)
			if err := emit(i, raw); err != nil {
				return err
			}
		}
		return nil
	}, "test", ingest.Options{Owner: owner, Level: level, Strict: true, OnReject: func(r ingest.Rejection) { e.t.Errorf("rejected: %v", r.Error()) }})
	if err != nil {
		e.t.Fatal(err)
	}
}

const advisories = `{"id":"GHSA-jfh8-c2jp-5v3q","aliases":["CVE-2021-44228"],"summary":"Remote code injection in Log4j","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:C/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"Maven","name":"org.apache.logging.log4j:log4j-core"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.0-beta9"},{"fixed":"2.15.0"}]}]}]}
{"id":"GHSA-35jh-r3h4-6jhm","aliases":["CVE-2021-23337"],"summary":"Command injection in lodash","severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:H/UI:N/S:U/C:H/I:H/A:H"}],"affected":[{"package":{"ecosystem":"npm","name":"lodash"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"4.17.21"}]}]}]}
{"id":"PYSEC-2022-1","aliases":["CVE-2022-28346"],"summary":"SQL injection in Django","affected":[{"package":{"ecosystem":"PyPI","name":"django"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"3.2"},{"fixed":"3.2.13"}]}]}]}
`

const cveOpenSSL = `{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-2021-3711","state":"PUBLISHED"},"containers":{"cna":{"title":"SM2 decryption buffer overflow","metrics":[{"cvssV3_1":{"baseScore":9.8,"vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}],"affected":[{"vendor":"OpenSSL","product":"OpenSSL","cpes":["cpe:2.3:a:openssl:openssl:*:*:*:*:*:*:*:*"],"versions":[{"version":"1.1.1","lessThan":"1.1.1l","status":"affected","versionType":"custom"}]}]}}}`

const kevCatalog = `{"catalogVersion":"2026.01.01","vulnerabilities":[{"cveID":"CVE-2021-44228","vendorProject":"Apache","product":"Log4j2","dateAdded":"2021-12-10","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known"}]}`

func (e *env) loadAdvisories() {
	e.t.Helper()
	dir := e.t.TempDir()
	os.WriteFile(filepath.Join(dir, "osv.jsonl"), []byte(advisories), 0o644)
	os.WriteFile(filepath.Join(dir, "cve.json"), []byte(cveOpenSSL), 0o644)
	os.WriteFile(filepath.Join(dir, "kev.json"), []byte(kevCatalog), 0o644)
	os.WriteFile(filepath.Join(dir, "epss.csv"), []byte("cve,epss,percentile\nCVE-2021-44228,0.97,0.999\n"), 0o644)
	rep, err := e.sc.DB.LoadPath(dir)
	if err != nil || len(rep.Warnings) > 0 || rep.Advisories != 4 || rep.KEV != 1 || rep.EPSS != 1 {
		e.t.Fatalf("load: %v %+v", err, rep)
	}
}

func (e *env) plant(level store.Level, owner string) supplychain.Asset {
	e.t.Helper()
	as, err := e.sc.PutAssets(e.ctx, []supplychain.Asset{{Name: "Plant HMI", Owner: "Kawasaki plant", Kind: "things", Layer: 2, Criticality: "critical",
		Tags: []string{"ot"}, Suppliers: []string{"Acme Controls"}}}, supplychain.WriteOptions{Owner: owner, Level: level})
	if err != nil {
		e.t.Fatal(err)
	}
	return as[0]
}

func TestAssetsAreSTIXObjects(t *testing.T) {
	e := newEnv(t)
	a := e.plant(store.LevelOrg, "org-a")
	if !strings.HasPrefix(a.ID, "x-mamori-asset--") || a.Kind != supplychain.KindComponent {
		t.Fatalf("asset %+v", a)
	}
	rec, err := e.st.Get(e.ctx, a.ID, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var obj map[string]any
	json.Unmarshal(rec.Raw, &obj)
	if obj["type"] != "x-mamori-asset" || obj["cpsf_layer"] != 2.0 || obj["extensions"].(map[string]any)[supplychain.ExtensionID] == nil {
		t.Errorf("object %s", rec.Raw)
	}
	if _, err := e.st.Get(e.ctx, supplychain.ExtensionID, store.GetOptions{Viewer: &store.Viewer{MinLevel: store.LevelPublic}}); err != nil {
		t.Errorf("extension definition not stored publicly: %v", err)
	}
	// Searchable by tag, through the same index as every object.
	if n, _ := e.st.Count(e.ctx, store.Query{Label: "ot", Types: []string{supplychain.AssetType}}); n != 1 {
		t.Errorf("label search found %d", n)
	}
	// The access check: organisation B does not see A's asset.
	if as, _ := e.sc.Assets(e.ctx, &store.Viewer{Org: "org-b"}); len(as) != 0 {
		t.Errorf("org-b sees %v", as)
	}
	if _, err := e.sc.Asset(e.ctx, &store.Viewer{Org: "org-b"}, a.ID); err == nil {
		t.Errorf("org-b reads the asset by id")
	}
	if as, _ := e.sc.Assets(e.ctx, &store.Viewer{Org: "org-a"}); len(as) != 1 {
		t.Errorf("org-a sees %v", as)
	}
	// Adding it again writes a new version of the same id.
	a2 := e.plant(store.LevelOrg, "org-a")
	if a2.ID != a.ID || !a2.Modified.After(a.Modified) {
		t.Errorf("second version %+v", a2)
	}
	if n, _ := e.st.Count(e.ctx, store.Query{IDs: []string{a.ID}, Versions: store.VersionsAll}); n != 2 {
		t.Errorf("%d versions", n)
	}
	if err := e.sc.RemoveAsset(e.ctx, a2, ""); err != nil {
		t.Fatal(err)
	}
	if as, _ := e.sc.Assets(e.ctx, nil); len(as) != 0 {
		t.Errorf("removed asset listed: %v", as)
	}
}

func TestAssetsCSV(t *testing.T) {
	as, bad, err := supplychain.ReadAssetsCSV(strings.NewReader(string(fixture(t, "assets.csv"))))
	if err != nil {
		t.Fatal(err)
	}
	if len(as) != 4 || len(bad) != 1 || bad[0].Line != 6 || !strings.Contains(bad[0].Error(), "spaceship") {
		t.Fatalf("assets %d, bad %v", len(as), bad)
	}
	if as[1].Name != "ERP" || !slices.Equal(as[1].Suppliers, []string{"Contoso", "Fabrikam"}) || as[1].Layer != 3 || as[3].Kind != "people" {
		t.Errorf("assets %+v", as)
	}
	e := newEnv(t)
	if _, err := e.sc.PutAssets(e.ctx, as, supplychain.WriteOptions{Level: store.LevelCommunity}); err != nil {
		t.Fatal(err)
	}
	if got, _ := e.sc.Assets(e.ctx, nil); len(got) != 4 {
		t.Errorf("%d assets stored", len(got))
	}
}

func TestSBOMExposureAndVEX(t *testing.T) {
	e := newEnv(t)
	e.loadAdvisories()
	a := e.plant(store.LevelCommunity, "org-a")
	res, err := e.sc.ImportSBOM(e.ctx, a, fixture(t, "plant-hmi.cdx.xml"), "plant-hmi.cdx.xml", "")
	if err != nil {
		t.Fatal(err)
	}
	if res.SBOM.Name != "plant-hmi@2.4.0" || res.Components != 5 || res.Findings != 4 || res.KEV != 1 || len(res.WarningsS) != 1 {
		t.Fatalf("result %+v", res)
	}
	rep, err := e.sc.Exposure(e.ctx, supplychain.ExposureQuery{})
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, r := range rep.Rows {
		got = append(got, fmt.Sprintf("%s %s %s %s %s", r.Tier, r.Component, r.VulnID, r.Dependency, r.FixedVersion))
	}
	want := []string{
		"P1 log4j-core CVE-2021-44228 transitive 2.15.0",
		"P2 openssl CVE-2021-3711 transitive 1.1.1l", // 9.8 × 1.5 × 0.9
		"P2 lodash CVE-2021-23337 direct 4.17.21",    // 7.2 × 1.5
		"P3 Django CVE-2022-28346 direct 3.2.13",     // no score: 5 × 1.5
	}
	if !slices.Equal(got, want) {
		t.Errorf("rows:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	top := rep.Rows[0]
	if !top.KEV || top.KEVDue != "2021-12-24" || !top.KEVRansomware || top.EPSS != 0.97 || top.CVSS != 10 || top.Aliases[0] != "GHSA-jfh8-c2jp-5v3q" ||
		strings.Join(top.Path, " > ") != "plant-hmi@2.4.0 > Django@3.2.0 > log4j-core@2.14.1" || top.Via != "purl" {
		t.Errorf("top row %+v", top)
	}
	if rep.Rows[1].Via != "cpe" {
		t.Errorf("openssl matched via %q", rep.Rows[1].Via)
	}
	if len(rep.Suppliers) == 0 || rep.Suppliers[0].Supplier != "Acme Controls" || rep.Suppliers[0].Findings != 4 || rep.Suppliers[0].KEV != 1 {
		t.Errorf("suppliers %+v", rep.Suppliers)
	}
	// OpenVEX: log4j is not affected in this product; lodash under investigation.
	n, warns, err := e.sc.ImportVEX(e.ctx, a.ID, fixture(t, "vendor.openvex.json"), "vendor.openvex.json")
	if err != nil || len(warns) > 0 || n != 3 {
		t.Fatalf("VEX: %d %v %v", n, warns, err)
	}
	rep, _ = e.sc.Exposure(e.ctx, supplychain.ExposureQuery{})
	if len(rep.Rows) != 3 || rep.Rows[0].VulnID != "CVE-2021-3711" {
		t.Errorf("after VEX: %+v", rep.Rows)
	}
	for _, r := range rep.Rows {
		if r.Component == "lodash" && r.Status != inventory.StatusUnderInvestigation {
			t.Errorf("lodash status %q", r.Status)
		}
	}
	rep, _ = e.sc.Exposure(e.ctx, supplychain.ExposureQuery{All: true})
	if len(rep.Rows) != 4 || rep.Rows[3].Status != inventory.StatusNotAffected || rep.Rows[3].Justification != "vulnerable_code_not_in_execute_path" || rep.Rows[3].Tier != "-" {
		t.Errorf("with --all: %+v", rep.Rows[len(rep.Rows)-1])
	}
	// Supplier filter: a supplier of nothing gives nothing.
	rep, _ = e.sc.Exposure(e.ctx, supplychain.ExposureQuery{Supplier: "Nobody"})
	if len(rep.Rows) != 0 {
		t.Errorf("supplier filter: %d rows", len(rep.Rows))
	}
	// Every format writes.
	for _, f := range supplychain.Formats {
		var b strings.Builder
		if err := supplychain.WriteReport(&b, rep, f); err != nil {
			t.Errorf("%s: %v", f, err)
		}
	}
}

func TestCycloneDXVEXInsideSBOM(t *testing.T) {
	e := newEnv(t)
	e.loadAdvisories()
	a := e.plant(store.LevelCommunity, "")
	// The CISA example marks CVE-2021-44228 not_affected for product ABC.
	res, err := e.sc.ImportSBOM(e.ctx, a, fixture(t, "cyclonedx-vex-not_affected.json"), "vex.json", "")
	if err != nil || res.VEX != 1 {
		t.Fatalf("%v %+v", err, res)
	}
	sts, _ := e.st.VEXStatements(e.ctx, []string{a.ID})
	if len(sts) != 1 || sts[0].Status != "not_affected" || sts[0].Product != "product-ABC" {
		t.Errorf("statements %+v", sts)
	}
}

// waitAlerts polls until n alerts are visible to v.
func (e *env) waitAlerts(v *store.Viewer, n int) []supplychain.AlertView {
	e.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		as, err := e.sc.Alerts(e.ctx, v, inventory.AlertFilter{})
		if err != nil {
			e.t.Fatal(err)
		}
		if len(as) >= n || time.Now().After(deadline) {
			return as
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func vulnObject(id, name string, extra map[string]any) map[string]any {
	o := map[string]any{"type": "vulnerability", "spec_version": "2.1", "id": id, "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
		"name": name, "external_references": []any{map[string]any{"source_name": "cve", "external_id": name}}}
	for k, v := range extra {
		o[k] = v
	}
	return o
}

func TestContinuousAlerts(t *testing.T) {
	e := newEnv(t)
	e.loadAdvisories()
	a := e.plant(store.LevelCommunity, "org-a")
	if _, err := e.sc.ImportSBOM(e.ctx, a, fixture(t, "plant-hmi.cdx.xml"), "plant-hmi.cdx.xml", ""); err != nil {
		t.Fatal(err)
	}
	sub, err := e.sc.Subscribe(e.bus)
	if err != nil {
		t.Fatal(err)
	}
	defer sub.Unsubscribe()
	if as := e.waitAlerts(nil, 0); len(as) != 0 {
		t.Fatalf("alerts after the first import: %+v", as)
	}
	// 1. A new advisory, as the OSV reader stores it, for a package the
	// asset has (Django 3.2.0).
	vDjango := "vulnerability--3f0b1e8c-0c59-4a4a-9d57-8f1e2c3d4e01"
	e.importObjects("", store.LevelPublic, vulnObject(vDjango, "GHSA-new-django", map[string]any{
		"description": "Denial of service in Django",
		"x_mamori_osv_affected": []any{map[string]any{"package": map[string]any{"ecosystem": "PyPI", "name": "Django"},
			"ranges": []any{map[string]any{"type": "ECOSYSTEM", "events": []any{map[string]any{"introduced": "3.0"}, map[string]any{"fixed": "3.2.20"}}}}}},
		"x_mamori_osv_severity": []any{map[string]any{"type": "CVSS_V3", "score": "CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}},
		"external_references":   []any{map[string]any{"source_name": "osv", "external_id": "GHSA-new-django"}},
	}))
	as := e.waitAlerts(nil, 1)
	if len(as) != 1 || as[0].Kind != inventory.AlertNewFinding || as[0].VulnID != "GHSA-new-django" || as[0].AssetName != "Plant HMI" || as[0].Component != "Django@3.2.0" {
		t.Fatalf("alerts %+v", as)
	}
	// 2. A KEV entry for a vulnerability the asset already has.
	e.importObjects("", store.LevelPublic, vulnObject("vulnerability--3f0b1e8c-0c59-4a4a-9d57-8f1e2c3d4e02", "CVE-2021-23337", map[string]any{
		"labels": []any{"known-exploited"}, "x_mamori_kev_due_date": "2026-03-15", "x_mamori_kev_date_added": "2026-03-01"}))
	as = e.waitAlerts(nil, 2)
	if len(as) != 2 || as[0].Kind != inventory.AlertKEV || as[0].VulnID != "CVE-2021-23337" || !strings.Contains(as[0].Message, "due 2026-03-15") {
		t.Fatalf("alerts %+v", as)
	}
	// 3. Organisation B links the log4j vulnerability to a threat actor, for
	// itself only.
	vLog4j := "vulnerability--3f0b1e8c-0c59-4a4a-9d57-8f1e2c3d4e03"
	actor := "threat-actor--3f0b1e8c-0c59-4a4a-9d57-8f1e2c3d4e04"
	e.importObjects("", store.LevelPublic, vulnObject(vLog4j, "CVE-2021-44228", nil))
	e.importObjects("org-b", store.LevelOrg,
		map[string]any{"type": "threat-actor", "spec_version": "2.1", "id": actor, "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z", "name": "Ember Bear"},
		map[string]any{"type": "relationship", "spec_version": "2.1", "id": "relationship--3f0b1e8c-0c59-4a4a-9d57-8f1e2c3d4e05", "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
			"relationship_type": "targets", "source_ref": actor, "target_ref": vLog4j})
	orgB := &store.Viewer{Org: "org-b"}
	as = e.waitAlerts(orgB, 3)
	if len(as) != 3 || as[0].Kind != inventory.AlertLinked || as[0].VulnID != "CVE-2021-44228" || !strings.Contains(as[0].Message, "Ember Bear") {
		t.Fatalf("org-b alerts %+v", as)
	}
	// Organisation A sees the asset but not B's relationship: no linked alert.
	orgA := &store.Viewer{Org: "org-a"}
	// (B's three alerts are stored, so A's list is complete.)
	if as := e.waitAlerts(orgA, 2); len(as) != 2 {
		t.Errorf("org-a sees %d alerts: %+v", len(as), as)
	}
	// The exposure report shows the link only to B, and ranks it higher there.
	ra, _ := e.sc.Exposure(e.ctx, supplychain.ExposureQuery{Viewer: orgA})
	rb, _ := e.sc.Exposure(e.ctx, supplychain.ExposureQuery{Viewer: orgB})
	la, lb := findRow(ra, "CVE-2021-44228"), findRow(rb, "CVE-2021-44228")
	if la == nil || lb == nil || len(la.Links) != 0 || len(lb.Links) != 1 || lb.Links[0].Name != "Ember Bear" || lb.Score <= la.Score {
		t.Errorf("links: a %+v, b %+v", la, lb)
	}
	// Redelivery adds nothing.
	msg := bus.ObjectsStored{Source: "test", Objects: []bus.StoredItem{{ID: vDjango, Type: "vulnerability"}, {ID: "relationship--3f0b1e8c-0c59-4a4a-9d57-8f1e2c3d4e05", Type: "relationship"}}}
	if n, err := e.sc.HandleStored(e.ctx, msg); err != nil || n != 0 {
		t.Errorf("redelivery: %d alerts, %v", n, err)
	}
}

func findRow(rep *supplychain.Report, id string) *supplychain.Row {
	for i := range rep.Rows {
		if rep.Rows[i].VulnID == id {
			return &rep.Rows[i]
		}
	}
	return nil
}

func TestPriority(t *testing.T) {
	crit := supplychain.Asset{Criticality: "critical"}
	med := supplychain.Asset{Criticality: "medium"}
	for _, c := range []struct {
		f     inventory.Finding
		a     supplychain.Asset
		depth int
		links []supplychain.Link
		want  float64
		tier  string
	}{
		{inventory.Finding{CVSS: 9.8}, med, 1, nil, 9.8, "P2"},
		{inventory.Finding{CVSS: 7.5}, med, 2, nil, 6.75, "P3"},
		{inventory.Finding{Severity: "low"}, med, 0, nil, 2.5, "P4"},
		{inventory.Finding{}, med, 0, nil, 5, "P3"},
		{inventory.Finding{CVSS: 10, KEV: true, KEVRansomware: true, EPSS: 0.97}, crit, 2, nil, 42.8, "P1"},
		{inventory.Finding{CVSS: 5}, med, 1, []supplychain.Link{{Type: "intrusion-set"}, {Type: "threat-actor"}, {Type: "sighting"}}, 11, "P2"},
		{inventory.Finding{CVSS: 10, KEV: true, Status: inventory.StatusNotAffected}, crit, 1, nil, 0, "-"},
	} {
		p := supplychain.Priority(c.f, c.a, c.depth, c.links)
		if p.Score != c.want || p.Tier != c.tier {
			t.Errorf("%+v: %+v, want %v %s", c.f, p, c.want, c.tier)
		}
	}
}

// TestIndexWithoutSources: evaluating with an index that lacks the sources
// an SBOM was matched with keeps those findings (and still applies VEX).
func TestIndexWithoutSources(t *testing.T) {
	e := newEnv(t)
	e.loadAdvisories()
	a := e.plant(store.LevelCommunity, "")
	if _, err := e.sc.ImportSBOM(e.ctx, a, fixture(t, "plant-hmi.cdx.xml"), "plant-hmi.cdx.xml", ""); err != nil {
		t.Fatal(err)
	}
	bare := supplychain.New(e.st, e.im, e.st, nil, supplychain.Options{})
	if n, err := bare.Refresh(e.ctx); err != nil || n != 0 {
		t.Fatalf("refresh: %d %v", n, err)
	}
	if _, _, err := bare.ImportVEX(e.ctx, a.ID, fixture(t, "vendor.openvex.json"), "vendor.openvex.json"); err != nil {
		t.Fatal(err)
	}
	rep, _ := bare.Exposure(e.ctx, supplychain.ExposureQuery{All: true})
	status := map[string]string{}
	for _, r := range rep.Rows {
		status[r.VulnID] = r.Status
	}
	if len(rep.Rows) != 4 || status["CVE-2021-44228"] != "not_affected" || status["CVE-2021-23337"] != "under_investigation" || status["CVE-2021-3711"] != "affected" {
		t.Errorf("findings %v", status)
	}
}
