package loadtest

import (
	"context"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/postgres"
)

// TestBusIngestScaling queues N synthetic indicators (MAMORI_LOAD_N,
// default 20,000) on an in-process NATS JetStream server and lets 1, then
// 2, workers import them into PostgreSQL (MAMORI_TEST_POSTGRES). It reports
// throughput and the p99 time to import one batch of 1,000. Skipped unless
// MAMORI_LOAD is set, because it takes minutes at a million.
func TestBusIngestScaling(t *testing.T) {
	dsn := os.Getenv("MAMORI_TEST_POSTGRES")
	if dsn == "" || os.Getenv("MAMORI_LOAD") == "" {
		t.Skip("set MAMORI_LOAD=1 and MAMORI_TEST_POSTGRES to run the load test")
	}
	n := 20000
	if s := os.Getenv("MAMORI_LOAD_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	for _, workers := range []int{1, 2} {
		t.Run(fmt.Sprintf("workers=%d", workers), func(t *testing.T) { runLoad(t, dsn, n, workers) })
	}
}

func runLoad(t *testing.T, dsn string, n, workers int) {
	ctx := context.Background()
	ns, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: -1, JetStream: true, StoreDir: t.TempDir(), NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go ns.Start()
	if !ns.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS did not start")
	}
	defer ns.Shutdown()
	schema := fmt.Sprintf("load_%d", time.Now().UnixNano())
	st, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	defer func() {
		st.Pool().Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		st.Close()
	}()

	var mu sync.Mutex
	var batchTimes []time.Duration
	for w := range workers {
		b, err := bus.DialNATS(ctx, ns.ClientURL(), bus.NATSOptions{Name: fmt.Sprintf("worker-%d", w)})
		if err != nil {
			t.Fatal(err)
		}
		defer b.Close()
		// Each worker is its own process in production: its own pool.
		wst, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
		if err != nil {
			t.Fatal(err)
		}
		defer wst.Close()
		im := &ingest.Importer{Store: wst, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
		if _, err := b.Subscribe(bus.SubjectIngest, ingest.IngestGroup, func(ctx context.Context, m bus.Message) error {
			start := time.Now()
			err := im.HandleIngest(ctx, m)
			mu.Lock()
			batchTimes = append(batchTimes, time.Since(start))
			mu.Unlock()
			return err
		}); err != nil {
			t.Fatal(err)
		}
	}
	pub, err := bus.DialNATS(ctx, ns.ClientURL(), bus.NATSOptions{Name: "producer"})
	if err != nil {
		t.Fatal(err)
	}
	defer pub.Close()
	start := time.Now()
	src := func(emit func(int, []byte) error, _ func(string)) error {
		for i := range n {
			ip := fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
			raw := fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-0000-4000-8000-%012x","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"load %d","pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`, i, i, i, ip)
			if err := emit(i, raw); err != nil {
				return err
			}
		}
		return nil
	}
	queued, err := ingest.Enqueue(ctx, pub, src, bus.IngestBatch{Source: "load", Level: uint8(store.LevelCommunity)}, 1000)
	if err != nil || queued != n {
		t.Fatalf("queued %d of %d: %v", queued, n, err)
	}
	enqueued := time.Since(start)
	deadline := time.Now().Add(30 * time.Minute)
	for {
		c, err := st.Count(ctx, store.Query{Types: []string{"indicator"}})
		if err != nil {
			t.Fatal(err)
		}
		if int(c) == n {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("only %d of %d stored", c, n)
		}
		time.Sleep(200 * time.Millisecond)
	}
	took := time.Since(start)
	mu.Lock()
	slices.Sort(batchTimes)
	p99 := batchTimes[len(batchTimes)*99/100]
	mu.Unlock()
	t.Logf("%d workers: %d indicators in %.1fs (%.0f/s); queued in %.1fs; batch of 1,000 p50 %v p99 %v",
		workers, n, took.Seconds(), float64(n)/took.Seconds(), enqueued.Seconds(), batchTimes[len(batchTimes)/2].Round(time.Millisecond), p99.Round(time.Millisecond))
}
