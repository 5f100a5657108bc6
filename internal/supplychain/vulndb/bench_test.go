package vulndb_test

import (
	"compress/gzip"
	"os"
	"path/filepath"
	"sort"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
	"github.com/mamori-cti/mamori/internal/supplychain/sbom"
	"github.com/mamori-cti/mamori/internal/supplychain/vulndb"
)

// raceEnabled is set under the race detector, which makes timings meaningless.
var raceEnabled bool

func sharedDir() string {
	if d := os.Getenv("MAMORI_SHARED"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", "shared")
}

// grypeAgainstOSV loads every OSV record of the shared data and the grype
// release SBOM (1,152 Go modules); it skips when the data is absent.
func grypeAgainstOSV(tb testing.TB) (*vulndb.DB, []vulndb.Component) {
	tb.Helper()
	osv := filepath.Join(sharedDir(), "data", "osv")
	f, err := os.Open(filepath.Join(sharedDir(), "data", "sbom", "real-world", "grype-sbom.spdx.json.gz"))
	if err != nil {
		tb.Skipf("shared data absent: %v", err)
	}
	defer f.Close()
	if _, err := os.Stat(osv); err != nil {
		tb.Skipf("shared data absent: %v", err)
	}
	db := vulndb.New()
	rep, err := db.LoadPath(osv)
	if err != nil {
		tb.Fatal(err)
	}
	if rep.Advisories < 14000 || len(rep.Warnings) > 0 {
		tb.Fatalf("OSV load: %d advisories, warnings %v", rep.Advisories, rep.Warnings[:min(5, len(rep.Warnings))])
	}
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	doc, err := sbom.Read(zr, "grype-sbom.spdx.json")
	if err != nil {
		tb.Fatal(err)
	}
	comps := make([]vulndb.Component, 0, len(doc.Components))
	for _, c := range doc.Components {
		vc := vulndb.Component{Package: c.ID, Version: c.Version}
		for _, s := range c.CPEs {
			if cp, err := pkgid.ParseCPE(s); err == nil {
				vc.CPEs = append(vc.CPEs, cp)
			}
		}
		comps = append(comps, vc)
	}
	return db, comps
}

func matchAll(db *vulndb.DB, comps []vulndb.Component) (findings int, vulns map[string]bool) {
	vulns = map[string]bool{}
	for i := range comps {
		for _, g := range vulndb.GroupMatches(db.Match(&comps[i])) {
			db.Info(append([]string{g.ID}, g.Aliases...), g.Advisories)
			findings++
			vulns[g.ID] = true
		}
	}
	return findings, vulns
}

// TestGrypeSBOMBudget: matching the grype SBOM against every OSV record of
// the shared data, once loaded, takes at most 200 ms.
func TestGrypeSBOMBudget(t *testing.T) {
	db, comps := grypeAgainstOSV(t)
	var times []time.Duration
	var vulns map[string]bool
	var findings int
	for range 3 {
		start := time.Now()
		findings, vulns = matchAll(db, comps)
		times = append(times, time.Since(start))
	}
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	t.Logf("grype SBOM: %d components, %d findings, %d distinct vulnerabilities; median %v", len(comps), findings, len(vulns), times[1])
	// The data's notes count about 130 distinct Go vulnerabilities.
	if len(vulns) < 120 || len(vulns) > 160 {
		t.Errorf("%d distinct vulnerabilities, expected about 130", len(vulns))
	}
	if !raceEnabled && times[1] > 200*time.Millisecond {
		t.Errorf("median %v, the budget is 200ms", times[1])
	}
}

func BenchmarkMatchGrypeSBOM(b *testing.B) {
	db, comps := grypeAgainstOSV(b)
	b.ResetTimer()
	for b.Loop() {
		matchAll(db, comps)
	}
}
