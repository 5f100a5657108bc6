package detect

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/store"
)

// Subjects of the detection service.
const (
	// SubjectTelemetry carries batches of telemetry to match: a JSON
	// header (Submission) on the first line, then the records.
	SubjectTelemetry = "mamori.telemetry"
	// SubjectHits carries the hits found, as HitLine JSON lines.
	SubjectHits = "mamori.detect.hits"
)

// Subscriber groups.
const (
	GroupMatch = "mamori.detect.match" // matchers share the telemetry
	GroupRetro = "mamori.detect.retro" // one retro-hunt per new indicator
	// Every process keeps its own matcher up to date: its group for
	// SubjectObjectsStored is GroupIndex followed by a random suffix.
	GroupIndex = "mamori.detect.index."
)

// Submission describes a batch of telemetry.
type Submission struct {
	Org    string         `json:"org"`
	User   string         `json:"user,omitempty"`
	Format string         `json:"format,omitempty"` // match.Format name; default auto
	Map    match.FieldMap `json:"map,omitempty"`
	// Level and Group are the distribution the organisation chose for the
	// sightings of its telemetry.
	Level store.Level `json:"level"`
	Group string      `json:"group,omitempty"`
}

// ServiceOptions configure a Service.
type ServiceOptions struct {
	Store    store.Store
	Storage  Storage
	Importer *ingest.Importer
	// Bus carries telemetry and announcements; nil runs submissions at
	// once, in the caller.
	Bus bus.Bus
	Log *slog.Logger

	Match    match.Options
	History  HistoryOptions
	Score    ScoreOptions
	MinScore float64
	// FlushEvery is how often sightings and history are written (default
	// 10 seconds).
	FlushEvery time.Duration
	// BatchBytes bounds the telemetry of one bus message (default 512
	// KiB, below the 1 MB a NATS server accepts by default).
	BatchBytes int
	// RebuildRatio rebuilds the matcher when this share of its patterns
	// has been removed or replaced since it was built (default 0.2).
	RebuildRatio float64
}

// Service runs detection: it matches telemetry submitted on the bus,
// records sightings and history, keeps its matcher in step with the
// indicators in the store, and hunts new indicators in the history.
type Service struct {
	opts     ServiceOptions
	matcher  atomic.Pointer[match.Matcher]
	Resolver *Resolver
	Scorer   *Scorer
	Recorder *Recorder
	History  *History
	Hunter   *RetroHunter

	mu        sync.Mutex
	orgs      map[string]OrgInfo // distribution chosen per organisation
	viewers   map[string]*store.Viewer
	subs      []bus.Subscription
	stop      chan struct{}
	done      chan struct{}
	rebuildMu sync.Mutex

	Records, Hits atomic.Int64
}

// NewService prepares a service; Start loads the indicators and
// subscribes.
func NewService(opts ServiceOptions) *Service {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.FlushEvery <= 0 {
		opts.FlushEvery = 10 * time.Second
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 512 << 10
	}
	if opts.RebuildRatio <= 0 {
		opts.RebuildRatio = 0.2
	}
	s := &Service{opts: opts, orgs: map[string]OrgInfo{}, viewers: map[string]*store.Viewer{}}
	s.Resolver = NewResolver(opts.Store)
	s.Scorer = NewScorer(opts.Store, opts.Storage, opts.Score)
	s.Recorder = &Recorder{Store: opts.Store, Storage: opts.Storage, Importer: opts.Importer, Org: s.orgInfo}
	s.History = NewHistory(opts.Storage, opts.History)
	s.Hunter = &RetroHunter{Store: opts.Store, Storage: opts.Storage, Recorder: s.Recorder, Days: opts.History.days()}
	s.matcher.Store(match.NewMatcher(opts.Match))
	return s
}

// Matcher is the current matcher.
func (s *Service) Matcher() *match.Matcher { return s.matcher.Load() }

// Start loads the matcher from the store, subscribes to the bus and starts
// writing sightings and history every FlushEvery, until Close.
func (s *Service) Start(ctx context.Context) error {
	m, res, err := LoadMatcher(ctx, s.opts.Store, LoadOptions{Match: s.opts.Match})
	if err != nil {
		return fmt.Errorf("load indicators: %w", err)
	}
	s.matcher.Store(m)
	s.opts.Log.Info("detection: indicators loaded", "added", res.Added, "expired", res.Expired, "unmatchable", res.Unmatchable, "seconds", res.Seconds, "matcher", m.String())
	if b := s.opts.Bus; b != nil {
		var suffix [6]byte
		rand.Read(suffix[:])
		for _, sub := range []struct {
			subject, group string
			h              bus.Handler
		}{
			{SubjectTelemetry, GroupMatch, s.handleTelemetry},
			{bus.SubjectObjectsStored, GroupIndex + hex.EncodeToString(suffix[:]), s.handleIndex},
			{bus.SubjectObjectsStored, GroupRetro, s.handleRetro},
		} {
			sb, err := b.Subscribe(sub.subject, sub.group, sub.h)
			if err != nil {
				s.unsubscribe()
				return err
			}
			s.subs = append(s.subs, sb)
		}
	}
	s.stop, s.done = make(chan struct{}), make(chan struct{})
	go s.loop()
	return nil
}

func (s *Service) unsubscribe() {
	for _, sb := range s.subs {
		sb.Unsubscribe()
	}
	s.subs = nil
}

// Close unsubscribes, stops the periodic work and writes what is pending.
func (s *Service) Close() error {
	s.unsubscribe()
	if s.stop != nil {
		close(s.stop)
		<-s.done
		s.stop = nil
	}
	return s.Flush(context.Background())
}

func (s *Service) loop() {
	defer close(s.done)
	flush := time.NewTicker(s.opts.FlushEvery)
	defer flush.Stop()
	prune := time.NewTicker(time.Hour)
	defer prune.Stop()
	ctx := context.Background()
	for {
		select {
		case <-s.stop:
			return
		case <-flush.C:
			if err := s.Flush(ctx); err != nil {
				s.opts.Log.Error("detection: flush", "err", err)
			}
			s.maybeRebuild(ctx)
		case <-prune.C:
			// Sharing groups change: read the organisations' views again.
			s.mu.Lock()
			clear(s.viewers)
			s.mu.Unlock()
			s.Hunter.forgetViewers()
			if n, err := s.History.Prune(ctx); err != nil {
				s.opts.Log.Error("detection: prune history", "err", err)
			} else if n > 0 {
				s.opts.Log.Info("detection: history pruned", "rows", n)
			}
		}
	}
}

// Flush writes pending sightings and history.
func (s *Service) Flush(ctx context.Context) error {
	herr := s.History.Flush(ctx)
	_, serr := s.Recorder.Flush(ctx)
	return errors.Join(herr, serr)
}

// maybeRebuild reloads the matcher when many of its patterns were
// removed or replaced (their prefilter entries stay until a rebuild).
func (s *Service) maybeRebuild(ctx context.Context) {
	m := s.Matcher()
	st := m.Stats()
	if float64(st.Removed) < s.opts.RebuildRatio*float64(max(m.Len(), 1000)) || !s.rebuildMu.TryLock() {
		return
	}
	go func() {
		defer s.rebuildMu.Unlock()
		nm, res, err := LoadMatcher(ctx, s.opts.Store, LoadOptions{Match: s.opts.Match})
		if err != nil {
			s.opts.Log.Error("detection: rebuild matcher", "err", err)
			return
		}
		// Changes announced while loading are in the store, so the new
		// matcher has them.
		s.matcher.Store(nm)
		s.opts.Log.Info("detection: matcher rebuilt", "added", res.Added, "seconds", res.Seconds)
	}()
}

// orgInfo returns an organisation's identity and the distribution it
// chose for its sightings.
func (s *Service) orgInfo(ctx context.Context, id string) (OrgInfo, error) {
	o, err := s.opts.Store.Org(ctx, id)
	if err != nil {
		return OrgInfo{}, err
	}
	s.mu.Lock()
	info, ok := s.orgs[id]
	s.mu.Unlock()
	if !ok {
		info = OrgInfo{Level: store.LevelOrg}
	}
	info.ID, info.Identity = o.ID, o.Identity
	return info, nil
}

func (s *Service) viewer(ctx context.Context, org string) (*store.Viewer, error) {
	s.mu.Lock()
	v, ok := s.viewers[org]
	s.mu.Unlock()
	if ok {
		return v, nil
	}
	groups, err := s.opts.Store.OrgGroups(ctx, org)
	if err != nil {
		return nil, err
	}
	v = &store.Viewer{Org: org, Groups: groups}
	s.mu.Lock()
	s.viewers[org] = v
	s.mu.Unlock()
	return v, nil
}

// maxSubmitLine bounds one line of submitted telemetry.
const maxSubmitLine = 16 << 20

// SubmitResult reports a submission.
type SubmitResult struct {
	Bytes   int64 `json:"bytes"`
	Lines   int64 `json:"lines"`
	Batches int   `json:"batches"`
}

// Submit reads telemetry from r and publishes it on the bus in batches of
// whole lines (or, without a bus, matches it at once).
func (s *Service) Submit(ctx context.Context, sub Submission, r io.Reader) (SubmitResult, error) {
	var res SubmitResult
	if sub.Format == "" {
		sub.Format = "auto"
	}
	if _, err := match.ParseFormat(sub.Format); err != nil {
		return res, err
	}
	header, err := json.Marshal(sub)
	if err != nil {
		return res, err
	}
	buf := make([]byte, 0, s.opts.BatchBytes)
	var carry []byte
	chunk := make([]byte, 64<<10)
	send := func(data []byte) error {
		if len(bytes.TrimSpace(data)) == 0 {
			return nil
		}
		msg := make([]byte, 0, len(header)+1+len(data))
		msg = append(append(append(msg, header...), '\n'), data...)
		res.Batches++
		if s.opts.Bus == nil {
			return s.handleTelemetry(ctx, bus.Message{Subject: SubjectTelemetry, Data: msg})
		}
		return s.opts.Bus.Publish(ctx, SubjectTelemetry, msg)
	}
	var last byte
	for {
		n, rerr := r.Read(chunk)
		if n > 0 {
			last = chunk[n-1]
		}
		res.Bytes += int64(n)
		res.Lines += int64(bytes.Count(chunk[:n], []byte{'\n'}))
		buf = append(append(buf, carry...), chunk[:n]...)
		carry = carry[:0]
		if len(buf) >= s.opts.BatchBytes || rerr != nil {
			cut := len(buf)
			if rerr == nil {
				i := bytes.LastIndexByte(buf, '\n')
				if i < 0 {
					if len(buf) > maxSubmitLine {
						return res, fmt.Errorf("a line is longer than %d bytes", maxSubmitLine)
					}
					continue // one long line: read on
				}
				cut = i + 1
			}
			carry = append(carry, buf[cut:]...)
			if err := send(buf[:cut]); err != nil {
				return res, err
			}
			buf = buf[:0]
		}
		if rerr == io.EOF {
			if len(carry) > 0 {
				if err := send(carry); err != nil {
					return res, err
				}
			}
			if res.Bytes > 0 && last != '\n' {
				res.Lines++ // a last line without a line feed
			}
			return res, nil
		}
		if rerr != nil {
			return res, rerr
		}
	}
}

// handleTelemetry matches one batch.
func (s *Service) handleTelemetry(ctx context.Context, m bus.Message) error {
	nl := bytes.IndexByte(m.Data, '\n')
	if nl < 0 {
		nl = len(m.Data)
	}
	var sub Submission
	if err := json.Unmarshal(m.Data[:nl], &sub); err != nil {
		s.opts.Log.Error("detection: malformed telemetry batch dropped", "err", err)
		return nil // redelivery would not help
	}
	data := m.Data[min(nl+1, len(m.Data)):]
	format, err := match.ParseFormat(sub.Format)
	if err != nil {
		format = match.FormatAuto
	}
	if sub.Org != "" {
		s.mu.Lock()
		s.orgs[sub.Org] = OrgInfo{Level: sub.Level, Group: sub.Group}
		s.mu.Unlock()
	}
	var v *store.Viewer
	if sub.Org != "" {
		if v, err = s.viewer(ctx, sub.Org); err != nil {
			return err
		}
	}
	d := &Detector{Matcher: s.Matcher(), Resolver: s.Resolver, Scorer: s.Scorer, MinScore: s.opts.MinScore,
		Recorder: s.Recorder, History: s.History, Org: sub.Org, Viewer: v, Output: true}
	e := &match.Engine{Matcher: d.Matcher, Format: format, Map: sub.Map, Workers: 1}
	var out bytes.Buffer
	st, err := e.Run(ctx, bytes.NewReader(data), &out, d.RecordFunc(ctx))
	if err != nil {
		return err
	}
	s.Records.Add(st.Records)
	s.Hits.Add(d.Stats().Hits)
	if out.Len() > 0 && s.opts.Bus != nil {
		if err := s.opts.Bus.Publish(ctx, SubjectHits, out.Bytes()); err != nil {
			s.opts.Log.Warn("detection: hits not announced", "err", err)
		}
	}
	return nil
}

// handleIndex keeps the matcher in step with stored indicators.
func (s *Service) handleIndex(ctx context.Context, m bus.Message) error {
	var msg bus.ObjectsStored
	if err := json.Unmarshal(m.Data, &msg); err != nil {
		return nil
	}
	now := time.Now()
	for _, it := range msg.Objects {
		if it.Type != "indicator" {
			continue
		}
		s.Resolver.Forget(it.ID)
		s.Scorer.Forget(it.ID)
		mt := s.Matcher()
		rec, err := s.opts.Store.Get(ctx, it.ID, store.GetOptions{})
		if errors.Is(err, store.ErrNotFound) {
			mt.Remove(it.ID)
			continue
		}
		if err != nil {
			return err
		}
		info, err := parseIndicator(rec)
		if err != nil || !info.Matchable(now) || info.PatternType != "" && info.PatternType != "stix" {
			mt.Remove(it.ID)
			continue
		}
		if err := mt.AddText(it.ID, info.Pattern); err != nil && !errors.Is(err, match.ErrUnmatchable) {
			s.opts.Log.Warn("detection: indicator not matched", "id", it.ID, "err", err)
		}
	}
	return nil
}

// handleRetro hunts new indicators in the history.
func (s *Service) handleRetro(ctx context.Context, m bus.Message) error {
	var msg bus.ObjectsStored
	if err := json.Unmarshal(m.Data, &msg); err != nil {
		return nil
	}
	var ids []string
	for _, it := range msg.Objects {
		if it.Type == "indicator" {
			ids = append(ids, it.ID)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	// What was observed until now must be in the history first.
	if err := s.History.Flush(ctx); err != nil {
		return err
	}
	res, err := s.Hunter.Hunt(ctx, ids)
	if err != nil {
		return err
	}
	if res.Sightings > 0 {
		if _, err := s.Recorder.Flush(ctx); err != nil {
			return err
		}
		s.opts.Log.Info("detection: retro-hunt", "indicators", res.Indicators, "sightings", res.Sightings)
	}
	return nil
}

// CorrelateValue lists the objects a reader may see that hold a value.
func (s *Service) CorrelateValue(ctx context.Context, value string, v *store.Viewer, limit int, after int64) (Correlation, error) {
	return CorrelateValue(ctx, s.opts.Store, value, v, limit, after)
}

// ObjectCorrelations lists the objects sharing a value with an object.
func (s *Service) ObjectCorrelations(ctx context.Context, id string, v *store.Viewer, limit int) ([]Correlation, error) {
	return ObjectCorrelations(ctx, s.opts.Store, id, v, limit)
}

// IsID reports whether s is a STIX identifier (type--UUID).
func IsID(s string) bool {
	typ, u, ok := strings.Cut(s, "--")
	if !ok || typ == "" || len(u) != 36 {
		return false
	}
	for i := 0; i < len(typ); i++ {
		if c := typ[i]; !('a' <= c && c <= 'z' || '0' <= c && c <= '9' || c == '-') {
			return false
		}
	}
	_, err := uuid.Parse(u)
	return err == nil
}
