package formats_test

import (
	"context"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/formats"
)

// iocLists are the indicator lists of the shared data (about 1.1 million
// indicators).
var iocLists = []string{
	"ipsum.txt.gz", "threatfox-ips.txt.gz", "maltrail-static-trails.tsv.gz", "blocklistproject-phishing.txt.gz",
	"blocklistproject-ransomware.txt.gz", "blocklistproject-scam.txt.gz", "blocklistproject-malware.ip.gz",
	"eset-malware-hashes.tsv.gz", "signature-base/hash-iocs.txt.gz", "signature-base/c2-iocs.txt.gz",
}

func sharedIOC(b testing.TB) string {
	for _, d := range []string{os.Getenv("MAMORI_SHARED"), "../../../../shared", "../../../shared"} {
		if d == "" {
			continue
		}
		p := filepath.Join(d, "data", "ioc")
		if st, err := os.Stat(p); err == nil && st.IsDir() {
			return p
		}
	}
	b.Skip("shared CTI data not found (set MAMORI_SHARED)")
	return ""
}

// BenchmarkImportIOCLists imports every IOC list of the shared data into a
// fresh store, provenance included, and reports indicators per second.
func BenchmarkImportIOCLists(b *testing.B) {
	benchLists(b, false)
}

// BenchmarkImportIOCListsNoProvenance is the same without recording
// provenance, to tell the two costs apart.
func BenchmarkImportIOCListsNoProvenance(b *testing.B) {
	benchLists(b, true)
}

func benchLists(b *testing.B, noProv bool) {
	dir := sharedIOC(b)
	for b.Loop() {
		b.StopTimer()
		im, _ := newImporter(b)
		b.StartTimer()
		n := 0
		var importTime, provTime time.Duration
		for _, l := range iocLists {
			f, err := os.Open(filepath.Join(dir, l))
			if err != nil {
				b.Fatal(err)
			}
			name := filepath.Base(l)
			start := time.Now()
			res, err := im.Import(context.Background(), name, f, formats.Options{Source: name, NoProvenance: noProv,
				Config: emit.Config{Identity: emit.SourceIdentityID(name), IdentityName: name, Epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}})
			f.Close()
			if err != nil {
				b.Fatal(err)
			}
			importTime += res.Elapsed
			provTime += time.Since(start) - res.Elapsed
			n += res.Read
		}
		b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "indicators/s")
		b.ReportMetric(importTime.Seconds(), "import-s")
		b.ReportMetric(provTime.Seconds(), "provenance-s")
	}
}
