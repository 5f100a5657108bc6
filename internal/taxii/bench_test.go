package taxii_test

import (
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/taxii"
)

// loadATTACK imports enterprise ATT&CK into the fixture's shared collection.
func loadATTACK(tb testing.TB, f *fixture) int {
	tb.Helper()
	path := sharedFile(tb, "data/attack/enterprise-attack-18.1.json.gz")
	fh, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer fh.Close()
	zr, err := gzip.NewReader(fh)
	if err != nil {
		tb.Fatal(err)
	}
	start := time.Now()
	res, err := f.im.ImportBundle(context.Background(), zr, "attack", ingest.Options{Collection: f.shared.ID, Owner: f.orgA.ID, Level: store.LevelCommunity})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Logf("imported ATT&CK: %s (%v)", res.Summary(), time.Since(start).Round(time.Millisecond))
	return res.New + res.NewVersions
}

// putSynthetic writes n small objects into the shared collection directly
// through store.Put, in batches.
func putSynthetic(tb testing.TB, f *fixture, start, n int) {
	tb.Helper()
	ctx := context.Background()
	created := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := make([]*store.Object, 0, 1000)
	flush := func() {
		if _, err := f.st.Put(ctx, batch, store.PutOptions{Collection: f.shared.ID}); err != nil {
			tb.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := start; i < start+n; i++ {
		id := "indicator--" + uuidN(i)
		raw := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '10.%d.%d.%d']","pattern_type":"stix","valid_from":"2024-01-01T00:00:00Z"}`,
			id, i>>16&255, i>>8&255, i&255)
		batch = append(batch, &store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Created: created, Modified: created,
			Access: store.Access{Owner: f.orgA.ID, Level: store.LevelCommunity}, Raw: []byte(raw)})
		if len(batch) == cap(batch) {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

func percentile(ds []time.Duration, p float64) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := int(float64(len(s))*p+0.5) - 1
	return s[min(max(i, 0), len(s)-1)]
}

// BenchmarkWalkATTACK walks enterprise ATT&CK in pages of 1,000 through the
// Go client: one op is one full walk.
func BenchmarkWalkATTACK(b *testing.B) {
	f := newFixture(b, fixtureOptions{noSeed: true})
	loadATTACK(b, f)
	ctx := context.Background()
	c := f.client("a-reader")
	root := f.srv.URL + "/taxii2/api1/"
	var pageTimes []time.Duration
	objects, pages := 0, 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		objects, pages = 0, 0
		last := time.Now()
		err := c.Walk(ctx, root, f.shared.ID, taxii.Filter{Limit: 1000}, func(p *taxii.Page) error {
			now := time.Now()
			pageTimes = append(pageTimes, now.Sub(last))
			objects += p.Count
			pages++
			last = time.Now()
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(objects), "objects/walk")
	b.ReportMetric(float64(pages), "pages/walk")
	b.ReportMetric(float64(percentile(pageTimes, 0.99).Microseconds())/1000, "p99-page-ms")
	b.ReportMetric(float64(percentile(pageTimes, 0.50).Microseconds())/1000, "p50-page-ms")
}

// concurrentWalks runs clients that walk the shared collection until d has
// passed; it returns the pages read and the errors met.
func concurrentWalks(tb testing.TB, f *fixture, clients int, d time.Duration, limit int) (pages int64, times []time.Duration, errs []error) {
	ctx := context.Background()
	root := f.srv.URL + "/taxii2/api1/"
	deadline := time.Now().Add(d)
	var mu sync.Mutex
	var wg sync.WaitGroup
	var n atomic.Int64
	for i := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			who := []string{"a-reader", "b-reader", "a-analyst", "b-analyst"}[i%4]
			c := f.client(who)
			var local []time.Duration
			for time.Now().Before(deadline) {
				last := time.Now()
				err := c.Walk(ctx, root, f.shared.ID, taxii.Filter{Limit: limit}, func(p *taxii.Page) error {
					local = append(local, time.Since(last))
					n.Add(1)
					last = time.Now()
					if time.Now().After(deadline) {
						return errStopWalk
					}
					return nil
				})
				if err != nil && err != errStopWalk {
					mu.Lock()
					errs = append(errs, err)
					mu.Unlock()
					return
				}
			}
			mu.Lock()
			times = append(times, local...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	return n.Load(), times, errs
}

var errStopWalk = fmt.Errorf("stop")

// TestConcurrentClients has 32 clients walking one collection at once for a
// bounded time; every request must succeed.
func TestConcurrentClients(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSeed: true})
	putSynthetic(t, f, 0, 5000)
	d := 1500 * time.Millisecond
	if testing.Short() {
		d = 300 * time.Millisecond
	}
	pages, times, errs := concurrentWalks(t, f, 32, d, 500)
	if len(errs) > 0 {
		t.Fatalf("%d walks failed, first: %v", len(errs), errs[0])
	}
	if pages < 32 {
		t.Fatalf("only %d pages read", pages)
	}
	t.Logf("32 clients: %d pages of 500 in %v, p50 %v, p99 %v", pages, d, percentile(times, 0.5), percentile(times, 0.99))
}

// BenchmarkConcurrentClients is TestConcurrentClients for longer, over
// ATT&CK: 32 clients, 5 seconds per op.
func BenchmarkConcurrentClients(b *testing.B) {
	f := newFixture(b, fixtureOptions{noSeed: true})
	loadATTACK(b, f)
	b.ResetTimer()
	var total int64
	var all []time.Duration
	for i := 0; i < b.N; i++ {
		pages, times, errs := concurrentWalks(b, f, 32, 5*time.Second, 1000)
		if len(errs) > 0 {
			b.Fatalf("%d walks failed, first: %v", len(errs), errs[0])
		}
		total += pages
		all = append(all, times...)
	}
	b.StopTimer()
	b.ReportMetric(float64(total)/float64(b.N)/5, "pages/s")
	b.ReportMetric(float64(percentile(all, 0.99).Microseconds())/1000, "p99-page-ms")
}

// BenchmarkPageDepth compares the first page of a large collection with a
// page near its end: keyset pages cost the same wherever they are. It also
// times added_after on the last 1% of the collection. MAMORI_BENCH_N sets
// the collection's size (default 100,000; 1000000 for the 1M figures).
func BenchmarkPageDepth(b *testing.B) {
	n := 100000
	if s := os.Getenv("MAMORI_BENCH_N"); s != "" {
		fmt.Sscan(s, &n)
	}
	f := newFixture(b, fixtureOptions{noSeed: true})
	start := time.Now()
	putSynthetic(b, f, 0, n)
	b.Logf("stored %d objects in %v", n, time.Since(start).Round(time.Millisecond))
	ctx := context.Background()
	c := f.client("a-reader")
	root := f.srv.URL + "/taxii2/api1/"
	// Find a cursor deep in the collection.
	deep := ""
	f0 := taxii.Filter{Limit: 10000}
	for range n/10000 - 1 {
		p, err := c.Objects(ctx, root, f.shared.ID, f0)
		if err != nil {
			b.Fatal(err)
		}
		f0.Next = p.Next
		deep = p.Next
	}
	// The date_added of the object at 99% of the collection.
	it, err := f.st.Query(ctx, store.Query{Collection: f.shared.ID, Versions: store.VersionsAll, IncludeRevoked: true, Limit: 1, AfterSeq: int64(n) * 99 / 100})
	if err != nil || !it.Next() {
		b.Fatal("no object at 99%", err)
	}
	last1 := it.At().DateAdded.Add(-time.Microsecond).UTC().Format("2006-01-02T15:04:05.000000Z")
	it.Close()
	b.Run("added_after_last_1pct", func(b *testing.B) {
		for i := 0; i < b.N; i++ {
			p, err := c.Objects(ctx, root, f.shared.ID, taxii.Filter{Limit: 1000, AddedAfter: last1})
			if err != nil || p.Count == 0 || p.Count > 1000 {
				b.Fatalf("page: %v (%d objects)", err, p.Count)
			}
		}
	})
	for _, tc := range []struct {
		name, next string
	}{{"first", ""}, {"deep", deep}} {
		b.Run(tc.name, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				p, err := c.Objects(ctx, root, f.shared.ID, taxii.Filter{Limit: 1000, Next: tc.next})
				if err != nil || p.Count != 1000 {
					b.Fatalf("page: %v (%d objects)", err, p.Count)
				}
			}
		})
	}
}
