package supplychain_test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"runtime"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/supplychain"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
)

// fleet is an instance with many assets, each with an SBOM; one package
// (popular-lib) is in every asset, the others come from a pool of 5,000.
type fleet struct {
	ctx context.Context
	sc  *supplychain.Service
	im  *ingest.Importer
	st  *sqlite.Store
	n   int
}

func newFleet(tb testing.TB, assets, comps int, inv func(*sqlite.Store) inventory.Store) *fleet {
	tb.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, tb.TempDir(), sqlite.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { st.Close() })
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator()}
	sc := supplychain.New(st, im, inv(st), nil, supplychain.Options{})
	var as []supplychain.Asset
	for i := range assets {
		as = append(as, supplychain.Asset{Name: fmt.Sprintf("asset-%05d", i), Criticality: supplychain.Criticalities[i%4], Kind: "component", Layer: 1 + i%3})
	}
	for i := 0; i < len(as); i += 2000 {
		if _, err := sc.PutAssets(ctx, as[i:min(i+2000, len(as))], supplychain.WriteOptions{Level: store.LevelCommunity}); err != nil {
			tb.Fatal(err)
		}
	}
	stored, err := sc.Assets(ctx, nil)
	if err != nil || len(stored) != assets {
		tb.Fatalf("%d assets, %v", len(stored), err)
	}
	for a, asset := range stored {
		cs := make([]inventory.Component, comps)
		for i := range cs {
			name, version := fmt.Sprintf("pkg-%d", (a*7+i*13)%5000), fmt.Sprintf("1.%d.%d", i%5, a%7)
			if i == 0 {
				name, version = "popular-lib", "2.3.4"
			}
			cs[i] = inventory.Component{Name: name, Version: version, PURL: "pkg:npm/" + name + "@" + version, Ecosystem: "npm",
				Keys: []string{pkgid.Key("npm", name)}, Depth: 1 + i%3}
		}
		if _, err := sc.Inv.ReplaceSBOM(ctx, inventory.SBOM{AssetID: asset.ID, Name: "sbom", Format: "CycloneDX 1.6 JSON"}, cs); err != nil {
			tb.Fatal(err)
		}
	}
	// As mamori serve does: index the knowledge base and cache the assets.
	b := bus.NewLocal(nil)
	tb.Cleanup(func() { b.Close() })
	if _, err := sc.Start(ctx, b); err != nil {
		tb.Fatal(err)
	}
	return &fleet{ctx: ctx, sc: sc, im: im, st: st, n: assets}
}

// advisory stores a STIX vulnerability object (as the OSV reader writes
// it) for popular-lib and returns the bus message announcing it.
func (f *fleet) advisory(tb testing.TB, i int) bus.ObjectsStored {
	id := fmt.Sprintf("vulnerability--00000000-0000-4000-8000-%012d", i)
	o := map[string]any{"type": "vulnerability", "spec_version": "2.1", "id": id, "created": "2026-02-01T00:00:00.000Z", "modified": "2026-02-01T00:00:00.000Z",
		"name": fmt.Sprintf("GHSA-bench-%d", i), "external_references": []any{map[string]any{"source_name": "osv", "external_id": fmt.Sprintf("GHSA-bench-%d", i)}},
		"x_mamori_osv_affected": []any{map[string]any{"package": map[string]any{"ecosystem": "npm", "name": "popular-lib"},
			"ranges": []any{map[string]any{"type": "SEMVER", "events": []any{map[string]any{"introduced": "0"}, map[string]any{"fixed": "2.3.5"}}}}}}}
	raw, _ := json.Marshal(o)
	_, err := f.im.Import(f.ctx, func(emit func(int, []byte) error, _ func(string)) error { return emit(0, raw) }, "bench", ingest.Options{Level: store.LevelPublic, Strict: true})
	if err != nil {
		tb.Fatal(err)
	}
	return bus.ObjectsStored{Source: "bench", Objects: []bus.StoredItem{{ID: id, Type: "vulnerability"}}}
}

func memoryInventory(*sqlite.Store) inventory.Store    { return inventory.NewMemory() }
func sqliteInventory(st *sqlite.Store) inventory.Store { return st }

// TestIncrementalBudget: with 10,000 assets of 200 components each, a new
// advisory for one package (in every asset) is re-evaluated and alerted
// in at most a second. By default it runs on 1,000 assets (the full fleet
// takes 20 s to set up); MAMORI_BENCH=1 runs the full fleet, and
// MAMORI_BENCH_SQLITE=1 the full fleet on the SQLite inventory too (set-up:
// minutes, two million components).
func TestIncrementalBudget(t *testing.T) {
	if testing.Short() || raceEnabled {
		t.Skip("timing test: not with -short or -race")
	}
	assets := 1000
	if os.Getenv("MAMORI_BENCH") != "" || os.Getenv("MAMORI_BENCH_SQLITE") != "" {
		assets = 10000
	}
	stores := map[string]func(*sqlite.Store) inventory.Store{"memory": memoryInventory}
	if os.Getenv("MAMORI_BENCH_SQLITE") != "" {
		stores["sqlite"] = sqliteInventory
	}
	for name, inv := range stores {
		t.Run(name, func(t *testing.T) {
			start := time.Now()
			f := newFleet(t, assets, 200, inv)
			setup := time.Since(start)
			msg := f.advisory(t, 1)
			// Collect the setup's garbage first: a running service has not
			// just built two million components.
			runtime.GC()
			start = time.Now()
			n, err := f.sc.HandleStored(f.ctx, msg)
			took := time.Since(start)
			if err != nil {
				t.Fatal(err)
			}
			t.Logf("%s: %d assets × 200 components, setup %v; new advisory → %d alerts in %v", name, assets, setup, n, took)
			if n != assets {
				t.Errorf("%d alerts, want one per asset", n)
			}
			if took > time.Second {
				t.Errorf("took %v, the budget is 1s", took)
			}
		})
	}
}

func benchIncremental(b *testing.B, inv func(*sqlite.Store) inventory.Store) {
	f := newFleet(b, 10000, 200, inv)
	runtime.GC()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		b.StopTimer()
		msg := f.advisory(b, i+1)
		b.StartTimer()
		if _, err := f.sc.HandleStored(f.ctx, msg); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkIncrementalAdvisoryMemory(b *testing.B) { benchIncremental(b, memoryInventory) }
func BenchmarkIncrementalAdvisorySQLite(b *testing.B) { benchIncremental(b, sqliteInventory) }
