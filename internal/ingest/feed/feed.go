// Package feed pulls intelligence feeds on a schedule: each feed is a URL
// (file://, http://, https://) with a format and the settings of package
// formats (TLP, confidence, validity, warninglists, list layout). A run
// fetches the document (conditionally, with ETag and If-Modified-Since;
// within a size limit and a timeout; through a dialer that refuses
// loopback, private, link-local, multicast and unspecified addresses unless
// the feed allows private ones), imports it in one transaction, and
// records statistics and errors on the feed. A failing run writes nothing,
// so the feed keeps its last good data.
package feed

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/formats"
	"github.com/mamori-cti/mamori/internal/ingest/misp"
	"github.com/mamori-cti/mamori/internal/store"
)

// More feed option keys (see Settings for the others).
const (
	OptCollection   = "collection"   // a collection id that receives the objects
	OptDistribution = "distribution" // org, group, community, connected, public (default community)
)

// Statistics keys of store.Feed.Stats.
const (
	StatRead        = "read"
	StatNew         = "new"
	StatUpdated     = "updated" // new versions of known objects
	StatUnchanged   = "unchanged"
	StatRejected    = "rejected" // objects and input records that were not imported
	StatDropped     = "dropped"  // values on a warninglist with the drop policy
	StatDuplicates  = "duplicates"
	StatErrors      = "errors" // consecutive failed runs (0 after a success)
	StatBytes       = "bytes"
	StatMillis      = "duration_ms"
	StatNotModified = "not_modified" // 1 when the last run found the document unchanged
	StatRuns        = "runs"
	StatEvents      = "events" // MISP feeds: event files imported by the last run
)

// Runner runs feeds.
type Runner struct {
	Store    store.Store
	Importer *formats.Importer
	Log      *slog.Logger
	// Now returns the current time; tests replace it.
	Now func() time.Time

	mu      sync.Mutex
	running map[string]bool
}

// NewRunner returns a runner writing through im into st.
func NewRunner(st store.Store, im *ingest.Importer, log *slog.Logger) *Runner {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Runner{Store: st, Importer: &formats.Importer{Importer: im, Store: st}, Log: log, Now: time.Now, running: map[string]bool{}}
}

// ErrRunning is returned when a feed is already being run by this process.
var ErrRunning = errors.New("feed is already running")

// Run runs one feed now and returns it with its updated state. The error
// is the run's failure, also recorded in the feed's LastError.
func (r *Runner) Run(ctx context.Context, name string) (store.Feed, error) {
	r.mu.Lock()
	if r.running == nil {
		r.running = map[string]bool{}
	}
	if r.running[name] {
		r.mu.Unlock()
		return store.Feed{}, fmt.Errorf("%s: %w", name, ErrRunning)
	}
	r.running[name] = true
	r.mu.Unlock()
	defer func() {
		r.mu.Lock()
		delete(r.running, name)
		r.mu.Unlock()
	}()
	f, err := r.Store.Feed(ctx, name)
	if err != nil {
		return f, err
	}
	now := r.Now().UTC()
	start := time.Now()
	stats, etag, lastMod, runErr := r.run(ctx, &f, now)
	f.LastRun = now
	if f.Stats == nil {
		f.Stats = map[string]int64{}
	}
	f.Stats[StatRuns]++
	if runErr != nil {
		if errors.Is(runErr, context.Canceled) && ctx.Err() != nil {
			return f, runErr
		}
		f.LastError = runErr.Error()
		f.Stats[StatErrors]++
		r.Log.Warn("feed run failed", "feed", f.Name, "err", runErr)
	} else {
		runs := f.Stats[StatRuns]
		if stats[StatNotModified] == 1 {
			// Nothing changed: the counts of the last import stay.
			for k, v := range f.Stats {
				if _, ok := stats[k]; !ok {
					stats[k] = v
				}
			}
		} else {
			stats[StatNotModified] = 0
		}
		f.Stats = stats
		f.Stats[StatRuns] = runs
		f.Stats[StatErrors] = 0
		f.Stats[StatMillis] = time.Since(start).Milliseconds()
		f.LastError = ""
		f.LastSuccess = now
		f.ETag, f.LastModified = etag, lastMod
		r.Log.Info("feed run", "feed", f.Name, "new", stats[StatNew], "updated", stats[StatUpdated], "unchanged", stats[StatUnchanged], "rejected", stats[StatRejected], "not_modified", stats[StatNotModified] == 1)
	}
	// The feed's state is written even when the run was interrupted.
	if err := r.Store.PutFeed(context.WithoutCancel(ctx), f); err != nil {
		return f, errors.Join(runErr, err)
	}
	return f, runErr
}

func (r *Runner) run(ctx context.Context, f *store.Feed, now time.Time) (map[string]int64, string, string, error) {
	s, err := ParseSettings(f.Options)
	if err != nil {
		return nil, "", "", err
	}
	if s.Epoch.IsZero() {
		// A feed's indicators keep the time the feed was added, so that
		// runs find them unchanged; feeds stored without one use the
		// first run's time from then on.
		s.Epoch = now.Truncate(time.Second)
		f.Options = mergeOptions(f.Options, map[string]string{OptEpoch: s.Map()[OptEpoch]})
	}
	opts, err := s.Options(f.Format, f.Name)
	if err != nil {
		return nil, "", "", err
	}
	opts.Import = ingest.Options{Level: store.LevelCommunity}
	if v := f.Options[OptDistribution]; v != "" {
		l, err := access.ParseLevel(v)
		if err != nil {
			return nil, "", "", fmt.Errorf("distribution: %w", err)
		}
		opts.Import.Level = l
	}
	if c := f.Options[OptCollection]; c != "" {
		col, err := r.Store.Collection(ctx, c)
		if err != nil {
			return nil, "", "", fmt.Errorf("collection %s: %w", c, err)
		}
		opts.Import.Collection = col.ID
		if f.Options[OptDistribution] == "" {
			opts.Import.Level, opts.Import.Group = col.Level, col.Group
		}
	}
	opts.Now = now
	shown := 0
	opts.OnNotice = func(n emit.Notice) {
		if n.Kind == emit.Rejected && shown < 20 {
			shown++
			r.Log.Debug("feed notice", "feed", f.Name, "notice", n.String())
		}
	}
	fetcher := NewFetcher(s)
	if f.Format == ingest.FormatMISPFeed {
		return r.runMISPFeed(ctx, f, fetcher, opts)
	}
	d, err := fetcher.Fetch(ctx, f.URL, f.ETag, f.LastModified)
	if err != nil {
		return nil, "", "", err
	}
	defer d.Close()
	if d.NotModified {
		return map[string]int64{StatNotModified: 1}, d.ETag, d.LastModified, nil
	}
	in, err := os.Open(d.Path)
	if err != nil {
		return nil, "", "", err
	}
	defer in.Close()
	if st, err := in.Stat(); err == nil && st.IsDir() {
		return nil, "", "", fmt.Errorf("%s is a directory: use --format misp-feed for a MISP feed", f.URL)
	}
	res, err := r.Importer.Import(ctx, f.Name, in, opts)
	if err != nil {
		return nil, "", "", err
	}
	if !res.Committed {
		return nil, "", "", errors.New("nothing was written")
	}
	st := statsOf(res)
	st[StatBytes] = d.Bytes
	return st, d.ETag, d.LastModified, nil
}

// runMISPFeed fetches manifest.json and the event files changed since the
// last successful run (kept in the feed's LastModified as the highest
// manifest timestamp imported). Each event is its own transaction; a
// failing event fails the run but the events before it stay imported.
func (r *Runner) runMISPFeed(ctx context.Context, f *store.Feed, fetcher *Fetcher, opts formats.Options) (map[string]int64, string, string, error) {
	murl, err := child(f.URL, "manifest.json")
	if err != nil {
		return nil, "", "", err
	}
	md, err := fetcher.Fetch(ctx, murl, "", "")
	if err != nil {
		return nil, "", "", err
	}
	defer md.Close()
	mf, err := os.Open(md.Path)
	if err != nil {
		return nil, "", "", err
	}
	entries, err := misp.ReadManifest(mf)
	mf.Close()
	if err != nil {
		return nil, "", "", err
	}
	since, _ := strconv.ParseInt(f.LastModified, 10, 64)
	total := formats.Result{Notices: map[string]int{}}
	stats := map[string]int64{StatBytes: md.Bytes}
	high := since
	for _, e := range entries {
		if e.Timestamp <= since {
			continue
		}
		eurl, err := child(f.URL, e.File())
		if err != nil {
			return nil, "", "", err
		}
		d, err := fetcher.Fetch(ctx, eurl, "", "")
		if err != nil {
			return nil, "", "", fmt.Errorf("event %s: %w", e.UUID, err)
		}
		in, err := os.Open(d.Path)
		if err != nil {
			d.Close()
			return nil, "", "", err
		}
		o := opts
		o.Format = ingest.FormatMISP
		res, err := r.Importer.Import(ctx, e.File(), in, o)
		in.Close()
		d.Close()
		stats[StatBytes] += d.Bytes
		if err != nil {
			// Keep what the earlier events imported.
			f.LastModified = strconv.FormatInt(high, 10)
			return nil, "", "", fmt.Errorf("event %s: %w", e.UUID, err)
		}
		total.Add(res)
		stats[StatEvents]++
		high = max(high, e.Timestamp)
	}
	for k, v := range statsOf(total) {
		stats[k] += v
	}
	if stats[StatEvents] == 0 {
		return map[string]int64{StatNotModified: 1}, "", strconv.FormatInt(high, 10), nil
	}
	return stats, "", strconv.FormatInt(high, 10), nil
}

func statsOf(res formats.Result) map[string]int64 {
	return map[string]int64{
		StatRead:       int64(res.Read),
		StatNew:        int64(res.New),
		StatUpdated:    int64(res.NewVersions),
		StatUnchanged:  int64(res.Unchanged),
		StatRejected:   int64(res.Rejected + res.Notices[emit.Rejected]),
		StatDropped:    int64(res.Notices[emit.Dropped]),
		StatDuplicates: int64(res.Notices[emit.Duplicate]),
	}
}

func mergeOptions(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out[k] = v
	}
	for k, v := range b {
		out[k] = v
	}
	return out
}

// Scheduler runs the enabled feeds that have an interval, one at a time,
// whenever their interval has passed since their last run.
type Scheduler struct {
	Runner *Runner
	// Poll is how often the feed list is read again (default 30s).
	Poll time.Duration
}

// NewScheduler returns a scheduler for the feeds of st.
func NewScheduler(st store.Store, im *ingest.Importer, log *slog.Logger) *Scheduler {
	return &Scheduler{Runner: NewRunner(st, im, log)}
}

// Run runs due feeds until ctx ends; it returns nil then. A feed's failure
// is recorded on the feed and does not stop the scheduler.
func (s *Scheduler) Run(ctx context.Context) error {
	poll := s.Poll
	if poll <= 0 {
		poll = 30 * time.Second
	}
	for {
		wait := poll
		feeds, err := s.Runner.Store.Feeds(ctx)
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			s.Runner.Log.Warn("feed scheduler: list feeds", "err", err)
		}
		for _, f := range feeds {
			if !f.Enabled || f.Every <= 0 {
				continue
			}
			now := s.Runner.Now()
			due := f.LastRun.Add(f.Every)
			if f.LastRun.IsZero() || !now.Before(due) {
				if _, err := s.Runner.Run(ctx, f.Name); err != nil && ctx.Err() != nil {
					return nil
				}
				due = s.Runner.Now().Add(f.Every)
			}
			if d := time.Until(due); d < wait {
				wait = max(d, time.Second)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-time.After(wait):
		}
	}
}

// Validate checks a feed definition before it is stored.
func Validate(f store.Feed) error {
	if f.Name == "" || strings.ContainsAny(f.Name, "/\\\x00") || len(f.Name) > 100 {
		return fmt.Errorf("feed name %q: 1 to 100 characters, no slashes", f.Name)
	}
	if !strings.HasPrefix(f.URL, "file://") && !strings.HasPrefix(f.URL, "http://") && !strings.HasPrefix(f.URL, "https://") {
		return fmt.Errorf("feed URL %q: want file://, http:// or https://", f.URL)
	}
	if f.Format == "" || f.Format == ingest.FormatAuto {
		// detected at each run
	} else if !ingest.ValidFormat(f.Format) {
		return fmt.Errorf("format %q: want auto or one of %s", f.Format, strings.Join(ingest.Formats, ", "))
	}
	if _, err := ParseSettings(f.Options); err != nil {
		return err
	}
	if v := f.Options[OptDistribution]; v != "" {
		if _, err := access.ParseLevel(v); err != nil {
			return fmt.Errorf("distribution: %w", err)
		}
	}
	return nil
}
