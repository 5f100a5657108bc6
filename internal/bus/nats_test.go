package bus_test

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"

	"github.com/mamori-cti/mamori/internal/bus"
)

// runServer starts an in-process NATS server with JetStream on a random
// loopback port, storing in dir.
func runServer(t *testing.T, dir string, port int) *server.Server {
	t.Helper()
	s, err := server.NewServer(&server.Options{Host: "127.0.0.1", Port: port, JetStream: true, StoreDir: dir, NoLog: true, NoSigs: true})
	if err != nil {
		t.Fatal(err)
	}
	go s.Start()
	if !s.ReadyForConnections(10 * time.Second) {
		t.Fatal("NATS server did not start")
	}
	return s
}

func natsURL(t *testing.T) (string, func() *server.Server) {
	dir := t.TempDir()
	s := runServer(t, dir, -1)
	url := s.ClientURL()
	p := s.ClientURL()[len("nats://127.0.0.1:"):]
	t.Cleanup(func() { s.Shutdown() })
	restart := func() *server.Server {
		s.Shutdown()
		s.WaitForShutdown()
		var n int
		fmt.Sscan(p, &n)
		s = runServer(t, dir, n)
		return s
	}
	return url, restart
}

func dial(t *testing.T, url string) *bus.NATS {
	t.Helper()
	b, err := bus.DialNATS(context.Background(), url, bus.NATSOptions{AckWait: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { b.Close() })
	return b
}

func TestNATSGroups(t *testing.T) {
	url, _ := natsURL(t)
	p := dial(t, url)
	w1, w2, other := dial(t, url), dial(t, url), dial(t, url)
	var n1, n2, no atomic.Int64
	w1.Subscribe("mamori.work", "workers", func(context.Context, bus.Message) error { n1.Add(1); return nil })
	w2.Subscribe("mamori.work", "workers", func(context.Context, bus.Message) error { n2.Add(1); return nil })
	other.Subscribe("mamori.work", "audit", func(context.Context, bus.Message) error { no.Add(1); return nil })
	for i := range 200 {
		if err := p.Publish(context.Background(), "mamori.work", []byte(fmt.Sprint(i))); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return n1.Load()+n2.Load() == 200 && no.Load() == 200 })
	if n1.Load() == 0 || n2.Load() == 0 {
		t.Logf("work split %d/%d (both members are expected to get some)", n1.Load(), n2.Load())
	}
}

// A worker that dies mid-batch: its unacknowledged messages go to another
// member, none is lost, and the handler's idempotence hides repeats.
func TestNATSWorkerDies(t *testing.T) {
	url, _ := natsURL(t)
	p := dial(t, url)
	var mu sync.Mutex
	done := map[string]int{}
	handler := func(_ context.Context, m bus.Message) error {
		mu.Lock()
		done[string(m.Data)]++
		mu.Unlock()
		return nil
	}
	dying, err := bus.DialNATS(context.Background(), url, bus.NATSOptions{AckWait: time.Second})
	if err != nil {
		t.Fatal(err)
	}
	block := make(chan struct{})
	var took atomic.Int64
	dying.Subscribe("mamori.jobs", "w", func(ctx context.Context, m bus.Message) error {
		took.Add(1)
		<-block // never finishes: the process "dies" holding it
		return errors.New("killed")
	})
	for i := range 50 {
		p.Publish(context.Background(), "mamori.jobs", []byte(fmt.Sprint(i)))
	}
	waitFor(t, func() bool { return took.Load() > 0 })
	go dying.Close() // simulate a killed process: its in-flight message is never acked
	healthy := dial(t, url)
	healthy.Subscribe("mamori.jobs", "w", handler)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(done) == 50 })
	close(block)
}

func TestNATSRetry(t *testing.T) {
	url, _ := natsURL(t)
	b := dial(t, url)
	var calls atomic.Int64
	b.Subscribe("mamori.retry", "g", func(_ context.Context, m bus.Message) error {
		if calls.Add(1) < 3 {
			return errors.New("transient")
		}
		return nil
	})
	b.Publish(context.Background(), "mamori.retry", []byte("x"))
	waitFor(t, func() bool { return calls.Load() == 3 })
}

// The server restarts under load: publishers and consumers reconnect, and
// every accepted message is delivered.
func TestNATSServerRestart(t *testing.T) {
	url, restart := natsURL(t)
	b := dial(t, url)
	var mu sync.Mutex
	got := map[string]bool{}
	b.Subscribe("mamori.load", "g", func(_ context.Context, m bus.Message) error {
		mu.Lock()
		got[string(m.Data)] = true
		mu.Unlock()
		return nil
	})
	accepted := map[string]bool{}
	publish := func(from, to int) {
		for i := from; i < to; i++ {
			ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
			if err := b.Publish(ctx, "mamori.load", []byte(fmt.Sprint(i))); err == nil {
				accepted[fmt.Sprint(i)] = true
			}
			cancel()
		}
	}
	publish(0, 100)
	restart()
	deadline := time.Now().Add(10 * time.Second)
	for b.Healthy() != nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	if err := b.Healthy(); err != nil {
		t.Fatalf("did not reconnect: %v", err)
	}
	publish(100, 200)
	waitFor(t, func() bool {
		mu.Lock()
		defer mu.Unlock()
		for k := range accepted {
			if !got[k] {
				return false
			}
		}
		return true
	})
	if len(accepted) < 150 {
		t.Fatalf("only %d of 200 publishes were accepted around a restart", len(accepted))
	}
}

// TestNATSLocalServer runs against the NATS server of the machine when
// MAMORI_TEST_NATS is set.
func TestNATSLocalServer(t *testing.T) {
	url := os.Getenv("MAMORI_TEST_NATS")
	if url == "" {
		t.Skip("MAMORI_TEST_NATS not set")
	}
	b := dial(t, url)
	subject := fmt.Sprintf("mamori.test.%d", time.Now().UnixNano())
	var n atomic.Int64
	group := "test-" + subject[len("mamori.test."):]
	sub, err := b.Subscribe(subject, group, func(context.Context, bus.Message) error { n.Add(1); return nil })
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		sub.Unsubscribe()
		b.RemoveGroup(context.Background(), subject, group)
	})
	for range 10 {
		if err := b.Publish(context.Background(), subject, []byte("x")); err != nil {
			t.Fatal(err)
		}
	}
	waitFor(t, func() bool { return n.Load() == 10 })
}
