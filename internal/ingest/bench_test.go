package ingest_test

import (
	"bytes"
	"context"
	"io"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/export"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

func attackEnterprise(b *testing.B) []byte {
	return readFile(b, filepath.Join(sharedDir(b), "data", "attack", "enterprise-attack-18.1.json.gz"))
}

// BenchmarkImportATTACK imports enterprise ATT&CK 18.1 (24,772 objects,
// 50.7 MB) into a fresh store.
func BenchmarkImportATTACK(b *testing.B) {
	data := attackEnterprise(b)
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		b.StopTimer()
		st := openStore(b)
		b.StartTimer()
		res, err := newImporter(st).ImportBundle(context.Background(), bytes.NewReader(data), "attack", ingest.Options{})
		if err != nil || res.New != 24772 {
			b.Fatalf("%s, %v", res.Summary(), err)
		}
	}
	b.ReportMetric(24772*float64(b.N)/b.Elapsed().Seconds(), "objects/s")
}

// BenchmarkReimportATTACK imports the same bundle into a store that holds it.
func BenchmarkReimportATTACK(b *testing.B) {
	data := attackEnterprise(b)
	st := openStore(b)
	im := newImporter(st)
	if _, err := im.ImportBundle(context.Background(), bytes.NewReader(data), "attack", ingest.Options{}); err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(data)))
	for b.Loop() {
		res, err := im.ImportBundle(context.Background(), bytes.NewReader(data), "attack", ingest.Options{})
		if err != nil || res.Unchanged != 24772 {
			b.Fatalf("%s, %v", res.Summary(), err)
		}
	}
}

// BenchmarkExportATTACK exports a store holding enterprise ATT&CK.
func BenchmarkExportATTACK(b *testing.B) {
	data := attackEnterprise(b)
	st := openStore(b)
	if _, err := newImporter(st).ImportBundle(context.Background(), bytes.NewReader(data), "attack", ingest.Options{}); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		n, err := export.Bundle(context.Background(), st, store.Query{IncludeRevoked: true}, io.Discard)
		if err != nil || n != 24772 {
			b.Fatalf("%d, %v", n, err)
		}
	}
}

// BenchmarkImportATTACKPeakHeap reports the heap high-water mark of an ATT&CK import.
func BenchmarkImportATTACKPeakHeap(b *testing.B) {
	data := attackEnterprise(b)
	for b.Loop() {
		b.StopTimer()
		st := openStore(b)
		runtime.GC()
		var before runtime.MemStats
		runtime.ReadMemStats(&before)
		stop := make(chan struct{})
		peak := make(chan uint64)
		go func() {
			var m runtime.MemStats
			var hi uint64
			for {
				select {
				case <-stop:
					peak <- hi
					return
				default:
				}
				runtime.ReadMemStats(&m)
				hi = max(hi, m.HeapInuse)
				time.Sleep(5 * time.Millisecond)
			}
		}()
		b.StartTimer()
		if _, err := newImporter(st).ImportBundle(context.Background(), bytes.NewReader(data), "attack", ingest.Options{}); err != nil {
			b.Fatal(err)
		}
		close(stop)
		b.ReportMetric(float64(<-peak)/(1<<20), "peak-heap-MiB")
	}
}
