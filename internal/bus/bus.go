// Package bus carries mamori's events between its parts: an object stored,
// telemetry to match, work to re-evaluate. The in-process bus is the
// default; at scale the same interface runs over NATS JetStream so that
// several worker processes share the work.
package bus

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"
)

// Subjects used by mamori.
const (
	// SubjectObjectsStored carries an ObjectsStored message after every
	// committed import.
	SubjectObjectsStored = "mamori.objects.stored"
)

// SubjectIngest carries IngestBatch messages: objects to validate and
// store, consumed by the "ingest" group of `mamori worker` processes.
const SubjectIngest = "mamori.ingest"

// IngestBatch is a batch of STIX objects to import, with the distribution
// they get. Importing a batch twice stores nothing new the second time, so
// redelivery is harmless.
type IngestBatch struct {
	Source     string `json:"source"`
	Owner      string `json:"owner,omitempty"`
	Level      uint8  `json:"level"`
	Group      string `json:"group,omitempty"`
	Collection string `json:"collection,omitempty"`
	// SpecVersion is the bundle's spec_version ("2.0" for STIX 2.0 bundles).
	SpecVersion string            `json:"spec_version,omitempty"`
	Objects     []json.RawMessage `json:"objects"`
}

// ObjectsStored lists object versions written by one import (new or new
// versions; unchanged ones are left out).
type ObjectsStored struct {
	Source  string       `json:"source"`
	Owner   string       `json:"owner,omitempty"`
	Objects []StoredItem `json:"objects"`
}

// StoredItem is one stored object version.
type StoredItem struct {
	ID   string `json:"id"`
	Type string `json:"type"`
}

// Message is one event.
type Message struct {
	Subject string
	Data    []byte
	// Redelivered counts earlier deliveries of this message.
	Redelivered int
}

// Handler processes a message. Returning an error asks for redelivery
// (at-least-once): handlers must be idempotent.
type Handler func(ctx context.Context, m Message) error

// Bus publishes and delivers messages.
type Bus interface {
	// Publish sends data on subject; it returns once the bus has accepted it.
	Publish(ctx context.Context, subject string, data []byte) error
	// Subscribe delivers messages on subject (a trailing ".>" matches every
	// subject below) to h. Subscribers with the same group share the
	// messages (each message goes to one of them); different groups each
	// get every message.
	Subscribe(subject, group string, h Handler) (Subscription, error)
	// Close stops delivery; in-flight handlers finish first.
	Close() error
}

// Declarer is implemented by buses that keep messages only for existing
// groups (NATS JetStream): producers of work declare the consuming group
// first so that nothing published before a worker starts is lost.
type Declarer interface {
	Declare(ctx context.Context, subject, group string) error
}

// Declare declares (subject, group) on buses that need it.
func Declare(ctx context.Context, b Bus, subject, group string) error {
	if d, ok := b.(Declarer); ok {
		return d.Declare(ctx, subject, group)
	}
	return nil
}

// Subscription is an active subscription.
type Subscription interface {
	Unsubscribe() error
}

// ErrClosed is returned after Close.
var ErrClosed = errors.New("bus closed")

// Local is the in-process bus: each subscription has a bounded queue and
// one goroutine; a failed handler is retried with back-off, up to MaxRetries.
type Local struct {
	Log        *slog.Logger
	MaxRetries int

	mu     sync.Mutex
	subs   map[string][]*localSub // by group key
	closed bool
	wg     sync.WaitGroup
}

// NewLocal returns an in-process bus.
func NewLocal(log *slog.Logger) *Local {
	if log == nil {
		log = slog.Default()
	}
	return &Local{Log: log, MaxRetries: 5, subs: map[string][]*localSub{}}
}

type localSub struct {
	b       *Local
	subject string
	group   string
	h       Handler
	queue   chan Message
	cancel  context.CancelFunc
	stopped chan struct{}
	once    sync.Once
}

func matches(pattern, subject string) bool {
	if p, ok := strings.CutSuffix(pattern, ".>"); ok {
		return strings.HasPrefix(subject, p+".")
	}
	return pattern == subject
}

// Publish queues a message for every group subscribed to the subject; it
// blocks while a queue is full (back-pressure) or until ctx ends.
func (b *Local) Publish(ctx context.Context, subject string, data []byte) error {
	b.mu.Lock()
	if b.closed {
		b.mu.Unlock()
		return ErrClosed
	}
	var targets []*localSub
	for _, group := range b.subs {
		for _, s := range group {
			if matches(s.subject, subject) {
				targets = append(targets, s)
				break // one member per group
			}
		}
	}
	b.mu.Unlock()
	for _, s := range targets {
		select {
		case s.queue <- Message{Subject: subject, Data: data}:
		case <-s.stopped:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	return nil
}

// Subscribe starts delivering to h.
func (b *Local) Subscribe(subject, group string, h Handler) (Subscription, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.closed {
		return nil, ErrClosed
	}
	if group == "" {
		group = fmt.Sprintf("anon-%p", h)
	}
	ctx, cancel := context.WithCancel(context.Background())
	s := &localSub{b: b, subject: subject, group: group, h: h, queue: make(chan Message, 1024), cancel: cancel, stopped: make(chan struct{})}
	key := subject + "\x00" + group
	if len(b.subs[key]) > 0 {
		// Same group: share the existing queue, so each message goes to one member.
		s.queue = b.subs[key][0].queue
	}
	b.subs[key] = append(b.subs[key], s)
	b.wg.Add(1)
	go s.run(ctx)
	return s, nil
}

func (s *localSub) run(ctx context.Context) {
	defer s.b.wg.Done()
	for {
		select {
		case <-s.stopped:
			return
		case m := <-s.queue:
			s.deliver(ctx, m)
		}
	}
}

func (s *localSub) deliver(ctx context.Context, m Message) {
	delay := 50 * time.Millisecond
	for {
		err := s.h(ctx, m)
		if err == nil {
			return
		}
		if m.Redelivered >= s.b.MaxRetries {
			s.b.Log.Error("bus: giving up on a message", "subject", m.Subject, "group", s.group, "attempts", m.Redelivered+1, "err", err)
			return
		}
		s.b.Log.Warn("bus: handler failed, retrying", "subject", m.Subject, "group", s.group, "err", err)
		m.Redelivered++
		select {
		case <-time.After(delay):
		case <-s.stopped:
			return
		}
		delay = min(2*delay, 5*time.Second)
	}
}

// Unsubscribe stops this subscription.
func (s *localSub) Unsubscribe() error {
	s.once.Do(func() {
		s.b.mu.Lock()
		key := s.subject + "\x00" + s.group
		list := s.b.subs[key]
		for i, x := range list {
			if x == s {
				s.b.subs[key] = append(list[:i], list[i+1:]...)
				break
			}
		}
		if len(s.b.subs[key]) == 0 {
			delete(s.b.subs, key)
		}
		s.b.mu.Unlock()
		close(s.stopped)
		s.cancel()
	})
	return nil
}

// Close stops every subscription after its current message.
func (b *Local) Close() error {
	b.mu.Lock()
	b.closed = true
	var all []*localSub
	for _, g := range b.subs {
		all = append(all, g...)
	}
	b.mu.Unlock()
	for _, s := range all {
		s.Unsubscribe()
	}
	b.wg.Wait()
	return nil
}
