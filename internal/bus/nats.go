package bus

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// StreamName is the JetStream stream that holds every mamori.> subject.
const StreamName = "MAMORI"

// NATSOptions tune the JetStream bus.
type NATSOptions struct {
	// Name identifies this process to the server (shown in monitoring).
	Name string
	// AckWait is how long a handler may run before the message is
	// delivered again (default 1 minute).
	AckWait time.Duration
	// MaxDeliver bounds deliveries of one message (default 10).
	MaxDeliver int
	// MaxAge bounds how long unacknowledged messages are kept (default 7 days).
	MaxAge time.Duration
	Log    *slog.Logger
}

// NATS is the bus over NATS JetStream: messages are persisted in one
// stream with interest retention; each subscription group is a durable
// consumer, so members of a group (in any process) share its messages and
// a message is removed once every group acknowledged it. Handlers that fail
// or whose process dies get the message again (at-least-once).
type NATS struct {
	nc   *nats.Conn
	js   jetstream.JetStream
	str  jetstream.Stream
	opts NATSOptions

	mu   sync.Mutex
	subs []*natsSub
}

// DialNATS connects to url, creating or updating the stream.
func DialNATS(ctx context.Context, url string, opts NATSOptions) (*NATS, error) {
	if opts.AckWait <= 0 {
		opts.AckWait = time.Minute
	}
	if opts.MaxDeliver <= 0 {
		opts.MaxDeliver = 10
	}
	if opts.MaxAge <= 0 {
		opts.MaxAge = 7 * 24 * time.Hour
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Name == "" {
		opts.Name = "mamori"
	}
	log := opts.Log
	nc, err := nats.Connect(url,
		nats.Name(opts.Name),
		nats.MaxReconnects(-1),
		nats.ReconnectWait(250*time.Millisecond),
		nats.DisconnectErrHandler(func(_ *nats.Conn, err error) {
			if err != nil {
				log.Warn("bus: disconnected from NATS", "err", err)
			}
		}),
		nats.ReconnectHandler(func(c *nats.Conn) { log.Info("bus: reconnected to NATS", "url", c.ConnectedUrlRedacted()) }),
		nats.ErrorHandler(func(_ *nats.Conn, _ *nats.Subscription, err error) { log.Error("bus: NATS error", "err", err) }),
	)
	if err != nil {
		return nil, fmt.Errorf("bus: connect to %s: %w", url, err)
	}
	js, err := jetstream.New(nc)
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: JetStream: %w", err)
	}
	str, err := js.CreateOrUpdateStream(ctx, jetstream.StreamConfig{
		Name:      StreamName,
		Subjects:  []string{"mamori.>"},
		Retention: jetstream.InterestPolicy,
		Storage:   jetstream.FileStorage,
		MaxAge:    opts.MaxAge,
		Discard:   jetstream.DiscardOld,
	})
	if err != nil {
		nc.Close()
		return nil, fmt.Errorf("bus: create stream %s: %w", StreamName, err)
	}
	return &NATS{nc: nc, js: js, str: str, opts: opts}, nil
}

// Publish stores the message in the stream; it returns once JetStream
// acknowledged it, so an accepted message survives a restart.
func (b *NATS) Publish(ctx context.Context, subject string, data []byte) error {
	if b.nc.IsClosed() {
		return ErrClosed
	}
	if _, err := b.js.Publish(ctx, subject, data); err != nil {
		return fmt.Errorf("bus: publish %s: %w", subject, err)
	}
	return nil
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9_-]`)

// consumerName is a durable name for (subject, group), stable across processes.
func consumerName(subject, group string) string {
	h := sha256.Sum256([]byte(subject + "\x00" + group))
	return unsafeName.ReplaceAllString(group, "_") + "-" + hex.EncodeToString(h[:6])
}

type natsSub struct {
	cc   jetstream.ConsumeContext
	wg   sync.WaitGroup
	stop context.CancelFunc
	once sync.Once
}

// Declare creates the durable consumer of (subject, group) without
// consuming: the stream keeps messages for a group only while it exists, so
// a producer of work declares the groups that will process it before the
// first worker starts.
func (b *NATS) Declare(ctx context.Context, subject, group string) error {
	_, err := b.consumer(ctx, subject, group)
	return err
}

func (b *NATS) consumer(ctx context.Context, subject, group string) (jetstream.Consumer, error) {
	cons, err := b.str.CreateOrUpdateConsumer(ctx, jetstream.ConsumerConfig{
		Durable:       consumerName(subject, group),
		FilterSubject: subject,
		AckPolicy:     jetstream.AckExplicitPolicy,
		AckWait:       b.opts.AckWait,
		MaxDeliver:    b.opts.MaxDeliver,
		DeliverPolicy: jetstream.DeliverAllPolicy,
		MaxAckPending: 256,
	})
	if err != nil {
		return nil, fmt.Errorf("bus: consumer for %s/%s: %w", subject, group, err)
	}
	return cons, nil
}

// Subscribe binds to (or creates) the durable consumer of the group and
// delivers its messages to h.
func (b *NATS) Subscribe(subject, group string, h Handler) (Subscription, error) {
	if group == "" {
		return nil, errors.New("bus: a NATS subscription needs a group (the durable consumer)")
	}
	ctx, cancel := context.WithCancel(context.Background())
	cons, err := b.consumer(ctx, subject, group)
	if err != nil {
		cancel()
		return nil, err
	}
	s := &natsSub{stop: cancel}
	log := b.opts.Log
	cc, err := cons.Consume(func(msg jetstream.Msg) {
		s.wg.Add(1)
		defer s.wg.Done()
		m := Message{Subject: msg.Subject(), Data: msg.Data()}
		if md, err := msg.Metadata(); err == nil && md.NumDelivered > 0 {
			m.Redelivered = int(md.NumDelivered) - 1
		}
		if err := h(ctx, m); err != nil {
			delay := min(time.Duration(1<<min(m.Redelivered, 6))*100*time.Millisecond, 10*time.Second)
			log.Warn("bus: handler failed, will redeliver", "subject", m.Subject, "group", group, "delivery", m.Redelivered+1, "err", err)
			msg.NakWithDelay(delay)
			return
		}
		if err := msg.Ack(); err != nil {
			log.Warn("bus: ack failed; the message may be delivered again", "subject", m.Subject, "err", err)
		}
	}, jetstream.ConsumeErrHandler(func(_ jetstream.ConsumeContext, err error) {
		log.Warn("bus: consume", "subject", subject, "group", group, "err", err)
	}))
	if err != nil {
		cancel()
		return nil, fmt.Errorf("bus: consume %s/%s: %w", subject, group, err)
	}
	s.cc = cc
	b.mu.Lock()
	b.subs = append(b.subs, s)
	b.mu.Unlock()
	return s, nil
}

// Unsubscribe stops delivery; the durable consumer stays for the group's
// other members and for restarts. Handlers in flight finish first.
func (s *natsSub) Unsubscribe() error {
	s.once.Do(func() {
		s.cc.Drain()
		<-s.cc.Closed()
		s.wg.Wait()
		s.stop()
	})
	return nil
}

// Healthy reports whether the connection is up (for readiness checks).
func (b *NATS) Healthy() error {
	if st := b.nc.Status(); st != nats.CONNECTED {
		return fmt.Errorf("bus: NATS connection %s", st)
	}
	return nil
}

// Close stops every subscription after its in-flight messages and closes
// the connection.
func (b *NATS) Close() error {
	b.mu.Lock()
	subs := b.subs
	b.subs = nil
	b.mu.Unlock()
	for _, s := range subs {
		s.Unsubscribe()
	}
	if err := b.nc.Drain(); err != nil && !errors.Is(err, nats.ErrConnectionClosed) {
		return err
	}
	return nil
}

// RemoveGroup deletes the durable consumer of (subject, group): its pending
// messages are dropped. For decommissioning a group, and for tests.
func (b *NATS) RemoveGroup(ctx context.Context, subject, group string) error {
	if err := b.str.DeleteConsumer(ctx, consumerName(subject, group)); err != nil && !errors.Is(err, jetstream.ErrConsumerNotFound) {
		return fmt.Errorf("bus: remove group %s: %w", group, err)
	}
	return nil
}
