package postgres_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"io"
	"os"
	"path/filepath"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// attackObjects is the number of objects in enterprise ATT&CK 18.1.
const attackObjects = 24772

// sharedDir finds ../shared (or $MAMORI_SHARED); benchmarks that need it
// skip without it.
func sharedDir(b testing.TB) string {
	b.Helper()
	if d := os.Getenv("MAMORI_SHARED"); d != "" {
		return d
	}
	for _, rel := range []string{"../../../shared", "../../../../shared"} {
		if st, err := os.Stat(filepath.Join(rel, "data")); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(rel)
			return abs
		}
	}
	b.Skip("shared CTI data not found (set MAMORI_SHARED)")
	return ""
}

// attackEnterprise reads enterprise ATT&CK 18.1, gunzipped.
func attackEnterprise(b testing.TB) []byte {
	b.Helper()
	path := filepath.Join(sharedDir(b), "data", "attack", "enterprise-attack-18.1.json.gz")
	f, err := os.Open(path)
	if os.IsNotExist(err) {
		b.Skipf("%s not found", path)
	}
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		b.Fatal(err)
	}
	data, err := io.ReadAll(zr)
	if err != nil {
		b.Fatal(err)
	}
	return data
}

func newImporter(st store.Store) *ingest.Importer {
	return &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
}

// BenchmarkImportATTACK imports enterprise ATT&CK 18.1 (24,772 objects,
// 50.7 MB) into a fresh schema; it is the PostgreSQL counterpart of
// ingest.BenchmarkImportATTACK, which uses SQLite.
func BenchmarkImportATTACK(b *testing.B) {
	testDSN(b)
	data := attackEnterprise(b)
	ctx := context.Background()
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		st := open(b, newSchema(b))
		b.StartTimer()
		res, err := newImporter(st).ImportBundle(ctx, bytes.NewReader(data), "attack", ingest.Options{})
		if err != nil || res.New != attackObjects {
			b.Fatalf("%s, %v", res.Summary(), err)
		}
		b.StopTimer()
		st.Close()
		b.StartTimer()
	}
	b.ReportMetric(attackObjects*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkReimportATTACK imports the same bundle into a store that holds it
// (every object unchanged).
func BenchmarkReimportATTACK(b *testing.B) {
	testDSN(b)
	data := attackEnterprise(b)
	ctx := context.Background()
	st := open(b, newSchema(b))
	defer st.Close()
	im := newImporter(st)
	if _, err := im.ImportBundle(ctx, bytes.NewReader(data), "attack", ingest.Options{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := im.ImportBundle(ctx, bytes.NewReader(data), "attack", ingest.Options{})
		if err != nil || res.Unchanged != attackObjects {
			b.Fatalf("%s, %v", res.Summary(), err)
		}
	}
	b.ReportMetric(attackObjects*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}
