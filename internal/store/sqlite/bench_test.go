package sqlite_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

// The 1M-object store is built once per machine (in the temporary directory)
// and reused by later runs: building it takes a minute.
const benchObjects = 1_000_000

var (
	benchOnce  sync.Once
	benchStore *sqlite.Store
	benchErr   error
)

var words = []string{"emotet", "qakbot", "cobalt", "strike", "loader", "phishing", "ransomware", "beacon", "dropper", "stealer",
	"credential", "banking", "trojan", "botnet", "exfiltration", "lateral", "movement", "persistence", "spearphishing", "backdoor"}

func synthetic(i int) *store.Object {
	ts := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	ip := fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
	if i%2 == 0 {
		id := fmt.Sprintf("ipv4-addr--%08x-0000-5000-8000-%012x", i, i)
		return &store.Object{ID: id, Type: "ipv4-addr", SpecVersion: "2.1",
			Index: store.IndexKeys{Values: []string{ip}},
			Raw:   fmt.Appendf(nil, `{"type":"ipv4-addr","spec_version":"2.1","id":%q,"value":%q}`, id, ip)}
	}
	id := fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", i, i)
	name := words[i%len(words)] + " " + words[(i/7)%len(words)] + " " + strconv.Itoa(i)
	desc := "Synthetic " + words[(i/3)%len(words)] + " indicator number " + strconv.Itoa(i)
	return &store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Created: ts, Modified: ts,
		Index: store.IndexKeys{Name: name, Description: desc, Values: []string{ip}, Labels: []string{"malicious-activity"}},
		Raw: fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":%q,"description":%q,"pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":%q}`,
			id, ts.Format(time.RFC3339), ts.Format(time.RFC3339), name, desc, ip, ts.Format(time.RFC3339))}
}

func millionStore(b *testing.B) *sqlite.Store {
	benchOnce.Do(func() {
		dir := filepath.Join(os.TempDir(), "mamori-bench-1m")
		done := filepath.Join(dir, "complete")
		ctx := context.Background()
		if _, err := os.Stat(done); err != nil {
			os.RemoveAll(dir)
			s, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
			if err != nil {
				benchErr = err
				return
			}
			batch := make([]*store.Object, 0, 5000)
			for i := range benchObjects {
				batch = append(batch, synthetic(i))
				if len(batch) == cap(batch) {
					if _, err := s.Put(ctx, batch, store.PutOptions{}); err != nil {
						benchErr = err
						return
					}
					batch = batch[:0]
				}
			}
			s.Close()
			os.WriteFile(done, nil, 0o644)
		}
		benchStore, benchErr = sqlite.OpenDir(ctx, dir, sqlite.Options{})
	})
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchStore
}

// latencies runs op b.N times and reports p50 and p99.
func latencies(b *testing.B, op func(i int) error) {
	d := make([]time.Duration, 0, b.N)
	i := 0
	for b.Loop() {
		t := time.Now()
		if err := op(i); err != nil {
			b.Fatal(err)
		}
		d = append(d, time.Since(t))
		i++
	}
	slices.Sort(d)
	b.ReportMetric(float64(d[len(d)/2].Microseconds()), "p50-µs")
	b.ReportMetric(float64(d[len(d)*99/100].Microseconds()), "p99-µs")
}

func BenchmarkMillionGetByID(b *testing.B) {
	s := millionStore(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(1, 2))
	latencies(b, func(int) error {
		i := rng.IntN(benchObjects)
		_, err := s.Get(ctx, synthetic(i).ID, store.GetOptions{})
		return err
	})
}

func BenchmarkMillionSearchValue(b *testing.B) {
	s := millionStore(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(3, 4))
	latencies(b, func(int) error {
		i := rng.IntN(benchObjects)
		ip := fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
		it, err := s.Query(ctx, store.Query{Value: ip, Limit: 100})
		if err != nil {
			return err
		}
		n := 0
		for it.Next() {
			n++
		}
		it.Close()
		if n == 0 {
			return fmt.Errorf("value %s not found", ip)
		}
		return it.Err()
	})
}

func BenchmarkMillionFullText(b *testing.B) {
	s := millionStore(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(5, 6))
	latencies(b, func(int) error {
		q := words[rng.IntN(len(words))] + " " + words[rng.IntN(len(words))]
		it, err := s.Query(ctx, store.Query{Text: q, Limit: 100})
		if err != nil {
			return err
		}
		for it.Next() {
		}
		it.Close()
		return it.Err()
	})
}

func BenchmarkMillionPageDeep(b *testing.B) {
	s := millionStore(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(7, 8))
	latencies(b, func(int) error {
		it, err := s.Query(ctx, store.Query{Types: []string{"indicator"}, AfterSeq: int64(rng.IntN(benchObjects)), Limit: 1000})
		if err != nil {
			return err
		}
		for it.Next() {
		}
		it.Close()
		return it.Err()
	})
}

// The access check's cost: the same queries with and without a Viewer.
var benchViewer = &store.Viewer{Org: "org-a", Groups: []string{"g1", "g2"}}

func benchPage(b *testing.B, v *store.Viewer) {
	s := millionStore(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(9, 10))
	latencies(b, func(int) error {
		it, err := s.Query(ctx, store.Query{AfterSeq: int64(rng.IntN(benchObjects - 2000)), Limit: 1000, Viewer: v})
		if err != nil {
			return err
		}
		n := 0
		for it.Next() {
			n++
		}
		it.Close()
		if n != 1000 {
			return fmt.Errorf("page of %d", n)
		}
		return it.Err()
	})
}

func BenchmarkMillionPage1000(b *testing.B)       { benchPage(b, nil) }
func BenchmarkMillionPage1000Viewer(b *testing.B) { benchPage(b, benchViewer) }

func benchSearch(b *testing.B, v *store.Viewer) {
	s := millionStore(b)
	ctx := context.Background()
	rng := rand.New(rand.NewPCG(11, 12))
	latencies(b, func(int) error {
		q := words[rng.IntN(len(words))]
		it, err := s.Query(ctx, store.Query{Text: q, Types: []string{"indicator"}, Limit: 100, Viewer: v})
		if err != nil {
			return err
		}
		for it.Next() {
		}
		it.Close()
		return it.Err()
	})
}

func BenchmarkMillionSearch(b *testing.B)       { benchSearch(b, nil) }
func BenchmarkMillionSearchViewer(b *testing.B) { benchSearch(b, benchViewer) }
