package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/export"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/ioc"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

// The 1M-indicator store is built once per machine in the temporary
// directory (it takes a few minutes) and reused by later runs.
const benchIndicators = 1_000_000

var (
	millionOnce  sync.Once
	millionStore *sqlite.Store
	millionErr   error
)

// syntheticValue makes the i-th value: 40% IPv4, 35% domains, 15% URLs,
// 10% SHA-256 hashes.
func syntheticValue(i int) string {
	switch r := i % 20; {
	case r < 8:
		return fmt.Sprintf("%d.%d.%d.%d", 11+(i>>24)&127, (i>>16)&255, (i>>8)&255, i&255)
	case r < 15:
		return fmt.Sprintf("host%d.bench-%d.example", i, i%997)
	case r < 18:
		return fmt.Sprintf("http://site%d.example/path/%d/index.php?id=%d", i%5000, i, i)
	}
	return fmt.Sprintf("%064x", uint64(i)*0x9E3779B97F4A7C15)
}

func million(b *testing.B) *sqlite.Store {
	millionOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "mamori-export-bench-1m")
		done := filepath.Join(dir, "complete")
		ctx := context.Background()
		if _, err := os.Stat(done); err != nil {
			os.RemoveAll(dir)
			st, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
			if err != nil {
				millionErr = err
				return
			}
			pr, pw := io.Pipe()
			go func() {
				for i := range benchIndicators {
					fmt.Fprintln(pw, syntheticValue(i))
				}
				pw.Close()
			}()
			cfg := &emit.Config{Identity: emit.SourceIdentityID("bench"), Marking: stix.TLP2GreenID, Confidence: 70, HasConfidence: true,
				Epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), Notices: &emit.Notices{}}
			lr := ioc.NewListReader("bench", pr, cfg, ioc.ListOptions{})
			batch := make([]*store.Object, 0, 5000)
			flush := func() error {
				if len(batch) == 0 {
					return nil
				}
				_, err := st.Put(ctx, batch, store.PutOptions{})
				batch = batch[:0]
				return err
			}
			err = lr.Source()(func(_ int, raw []byte) error {
				dec := json.NewDecoder(bytes.NewReader(raw))
				dec.UseNumber()
				var m map[string]any
				if err := dec.Decode(&m); err != nil {
					return err
				}
				o := ingest.BuildObject(m, raw, ingest.DefaultPatternValues)
				o.Access = store.Access{Level: store.LevelCommunity}
				batch = append(batch, o)
				if len(batch) == cap(batch) {
					return flush()
				}
				return nil
			}, func(string) {})
			if err == nil {
				err = flush()
			}
			st.Close()
			if err != nil {
				millionErr = err
				return
			}
			os.WriteFile(done, nil, 0o644)
		}
		millionStore, millionErr = sqlite.OpenDir(ctx, dir, sqlite.Options{})
	})
	if millionErr != nil {
		b.Fatal(millionErr)
	}
	return millionStore
}

// BenchmarkExport1M exports a store of one million indicators (IPv4,
// domains, URLs, SHA-256) in each format, through a viewer.
func BenchmarkExport1M(b *testing.B) {
	st := million(b)
	for _, format := range []string{"suricata", "zeek", "csv", "edl", "rpz"} {
		b.Run(format, func(b *testing.B) {
			opts := export.Options{Filter: export.Filter{Viewer: &store.Viewer{Org: "bench"}, ValidOnly: true}}
			if format == "edl" {
				opts.Filter.Kinds = []string{"ip"}
			}
			for b.Loop() {
				s, err := export.Write(context.Background(), st, format, opts, io.Discard)
				if err != nil || s.Indicators != benchIndicators {
					b.Fatalf("%+v %v", s, err)
				}
			}
			b.ReportMetric(float64(benchIndicators*b.N)/b.Elapsed().Seconds(), "indicators/s")
		})
	}
}
