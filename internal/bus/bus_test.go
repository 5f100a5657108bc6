package bus_test

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/bus"
)

func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestGroupsAndWildcards(t *testing.T) {
	b := bus.NewLocal(nil)
	defer b.Close()
	var a1, a2, other, wild atomic.Int64
	b.Subscribe("x.y", "workers", func(context.Context, bus.Message) error { a1.Add(1); return nil })
	b.Subscribe("x.y", "workers", func(context.Context, bus.Message) error { a2.Add(1); return nil })
	b.Subscribe("x.y", "audit", func(context.Context, bus.Message) error { other.Add(1); return nil })
	b.Subscribe("x.>", "all", func(context.Context, bus.Message) error { wild.Add(1); return nil })
	for range 100 {
		if err := b.Publish(context.Background(), "x.y", []byte("m")); err != nil {
			t.Fatal(err)
		}
	}
	b.Publish(context.Background(), "x.z", nil)
	waitFor(t, func() bool { return a1.Load()+a2.Load() == 100 && other.Load() == 100 && wild.Load() == 101 })
}

func TestRetryUntilSuccess(t *testing.T) {
	b := bus.NewLocal(nil)
	defer b.Close()
	var mu sync.Mutex
	var seen []int
	b.Subscribe("s", "g", func(_ context.Context, m bus.Message) error {
		mu.Lock()
		defer mu.Unlock()
		seen = append(seen, m.Redelivered)
		if m.Redelivered < 2 {
			return errors.New("not yet")
		}
		return nil
	})
	b.Publish(context.Background(), "s", nil)
	waitFor(t, func() bool { mu.Lock(); defer mu.Unlock(); return len(seen) == 3 })
}

func TestClosed(t *testing.T) {
	b := bus.NewLocal(nil)
	b.Close()
	if err := b.Publish(context.Background(), "s", nil); !errors.Is(err, bus.ErrClosed) {
		t.Fatalf("publish after close: %v", err)
	}
}
