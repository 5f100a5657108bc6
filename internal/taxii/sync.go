package taxii

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"regexp"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// PullOptions control Client.Pull.
type PullOptions struct {
	// Collection is the remote collection: id, alias or title.
	Collection string
	// AddedAfter starts after this date_added ("" from the beginning).
	AddedAfter string
	// PageSize is the limit asked of the server (which may send fewer);
	// default 1000.
	PageSize int
	// Versions is the match[version] filter; default all, so that every
	// version added since the last pull arrives, not only the newest.
	Versions []string
	// Types, when set, is the match[type] filter.
	Types []string
	// Import says how objects are stored: local collection, owner,
	// distribution. Strict is ignored: an invalid object is skipped and
	// counted, the rest of its page is stored.
	Import ingest.Options
	// Source labels the import in rejections; default the remote URL.
	Source string
	// Remote and State, when set, make each page advance the remote's
	// checkpoint to the page's X-TAXII-Date-Added-Last, in the same
	// transaction as the page's objects when the store allows it.
	Remote string
	State  StateStore
	// OnPage, when set, is called after each page is stored.
	OnPage func(p *Page, res ingest.Result)
}

// PullResult sums up a pull.
type PullResult struct {
	ingest.Result
	Pages int `json:"pages"`
	// Checkpoint is the X-TAXII-Date-Added-Last of the last stored page:
	// where the next pull can start.
	Checkpoint string `json:"checkpoint"`
}

// hookStore lets a pull write a checkpoint inside the import's transaction.
type hookStore struct {
	store.Store
	hook  func(w store.Writer) error
	fired bool
}

func (h *hookStore) Begin(ctx context.Context) (store.Writer, error) {
	w, err := h.Store.Begin(ctx)
	if err != nil {
		return nil, err
	}
	return &hookWriter{Writer: w, h: h}, nil
}

type hookWriter struct {
	store.Writer
	h *hookStore
}

func (w *hookWriter) Commit() error {
	if err := w.h.hook(w.Writer); err != nil {
		w.Writer.Rollback()
		return err
	}
	w.h.fired = true
	return w.Writer.Commit()
}

// laterTimestamp reports whether a is after b (both TAXII timestamps; an
// unparsable a is never later).
func laterTimestamp(a, b string) bool {
	ta, err := ParseTimestamp(a)
	if err != nil {
		return false
	}
	if b == "" {
		return true
	}
	tb, err := ParseTimestamp(b)
	return err != nil || ta.After(tb)
}

// Pull imports a remote collection into the local store through im, page
// by page, following next. Each page is one import transaction; with a
// Remote its checkpoint commits with it, so that an interrupted pull
// resumes after the last stored page.
func (c *Client) Pull(ctx context.Context, im *ingest.Importer, apiRoot string, opts PullOptions) (res PullResult, err error) {
	start := time.Now()
	defer func() {
		res.Elapsed = time.Since(start)
		res.Seconds = res.Elapsed.Seconds()
		if res.Seconds > 0 {
			res.PerSecond = float64(res.Read) / res.Seconds
		}
	}()
	coll, err := c.FindCollection(ctx, apiRoot, opts.Collection)
	if err != nil {
		return res, err
	}
	if !coll.CanRead {
		return res, fmt.Errorf("collection %s (%s): can_read is false for these credentials", coll.ID, coll.Title)
	}
	if opts.PageSize <= 0 {
		opts.PageSize = DefaultPageSize
	}
	if opts.Source == "" {
		opts.Source = apiRoot + "collections/" + coll.ID
	}
	iopts := opts.Import
	iopts.Strict = false
	res.Checkpoint = opts.AddedAfter
	if len(opts.Versions) == 0 {
		opts.Versions = []string{"all"}
	}
	f := Filter{AddedAfter: opts.AddedAfter, Limit: opts.PageSize, Versions: opts.Versions, Types: opts.Types}
	for {
		p, err := c.Objects(ctx, apiRoot, coll.ID, f)
		if err != nil {
			return res, err
		}
		res.Pages++
		cp := ""
		if p.Count > 0 && laterTimestamp(p.DateAddedLast, res.Checkpoint) {
			cp = p.DateAddedLast
		}
		if p.Count > 0 {
			savedInTx := false
			hs := &hookStore{Store: im.Store, hook: func(w store.Writer) error {
				if cp == "" || opts.Remote == "" {
					return nil
				}
				cw, ok := w.(checkpointWriter)
				if !ok {
					return nil
				}
				if err := cw.SetTAXIICheckpoint(ctx, opts.Remote, cp); err != nil {
					return err
				}
				savedInTx = true
				return nil
			}}
			pim := *im
			pim.Store = hs
			r, err := pim.ImportBundle(ctx, p.BundleReader(), opts.Source, iopts)
			if err != nil {
				return res, fmt.Errorf("page %d: %w", res.Pages, err)
			}
			res.Result.Add(r)
			if cp != "" && opts.Remote != "" && !savedInTx && opts.State != nil {
				// Nothing was written (every object was rejected), or the
				// store cannot checkpoint inside its transaction.
				if err := opts.State.SetTAXIICheckpoint(ctx, opts.Remote, cp); err != nil {
					return res, err
				}
			}
			if opts.OnPage != nil {
				opts.OnPage(p, r)
			}
		}
		if cp != "" {
			res.Checkpoint = cp
		}
		if !p.More {
			res.Committed = true
			return res, nil
		}
		if err := advance(&f, p); err != nil {
			return res, err
		}
	}
}

// PushOptions control Client.Push.
type PushOptions struct {
	// Collection is the remote collection: id, alias or title.
	Collection string
	// Query selects the local objects to send (Limit and AfterSeq are
	// managed by Push).
	Query store.Query
	// BatchObjects and BatchBytes bound each POST; defaults 1000 objects and
	// the smaller of 8 MiB and the API root's max_content_length.
	BatchObjects int
	BatchBytes   int64
	// StatusTimeout bounds the wait for a pending status; default 5 minutes.
	StatusTimeout time.Duration
}

// PushResult sums up a push.
type PushResult struct {
	Objects   int            `json:"objects"`
	Batches   int            `json:"batches"`
	Succeeded int            `json:"succeeded"`
	Failed    int            `json:"failed"`
	Pending   int            `json:"pending"`
	Failures  []StatusDetail `json:"failures,omitempty"` // the first 100
}

// Push posts local objects to a remote collection in envelopes that fit the
// server's max_content_length, waiting for each status to complete.
func (c *Client) Push(ctx context.Context, st store.Store, apiRoot string, opts PushOptions) (PushResult, error) {
	var res PushResult
	coll, err := c.FindCollection(ctx, apiRoot, opts.Collection)
	if err != nil {
		return res, err
	}
	if !coll.CanWrite {
		return res, fmt.Errorf("collection %s (%s): can_write is false for these credentials", coll.ID, coll.Title)
	}
	info, err := c.APIRoot(ctx, apiRoot)
	if err != nil {
		return res, err
	}
	if opts.BatchObjects <= 0 {
		opts.BatchObjects = 1000
	}
	if opts.BatchBytes <= 0 {
		opts.BatchBytes = 8 << 20
	}
	if info.MaxContentLength > 0 {
		opts.BatchBytes = min(opts.BatchBytes, info.MaxContentLength)
	}
	if opts.StatusTimeout <= 0 {
		opts.StatusTimeout = 5 * time.Minute
	}
	const envOpen, envClose = `{"objects":[`, `]}`
	var buf bytes.Buffer
	n := 0
	flush := func() error {
		if n == 0 {
			return nil
		}
		buf.WriteString(envClose)
		s, err := c.AddObjects(ctx, apiRoot, coll.ID, buf.Bytes())
		if err != nil {
			return err
		}
		if s.Status != "complete" {
			wctx, cancel := context.WithTimeout(ctx, opts.StatusTimeout)
			s, err = c.WaitStatus(wctx, apiRoot, s, time.Second)
			cancel()
			if err != nil && !errors.Is(err, context.DeadlineExceeded) {
				return err
			}
		}
		res.Batches++
		res.Succeeded += s.SuccessCount
		res.Failed += s.FailureCount
		res.Pending += s.PendingCount
		for _, f := range s.Failures {
			if len(res.Failures) < 100 {
				res.Failures = append(res.Failures, f)
			}
		}
		buf.Reset()
		n = 0
		return nil
	}
	q := opts.Query
	for {
		// Read a batch and close the iterator before sending: no read
		// transaction stays open while the network is slow.
		q.Limit = opts.BatchObjects
		batch, err := readBatch(ctx, st, q)
		if err != nil {
			return res, err
		}
		for _, rec := range batch {
			res.Objects++
			q.AfterSeq = rec.Seq
			if int64(len(envOpen)+len(rec.Raw)+len(envClose)) > opts.BatchBytes {
				res.Failed++
				if len(res.Failures) < 100 {
					res.Failures = append(res.Failures, StatusDetail{ID: rec.ID, Version: versionOf(rec), Message: "larger than the server's max_content_length; not sent"})
				}
				continue
			}
			if n > 0 && int64(buf.Len()+1+len(rec.Raw)+len(envClose)) > opts.BatchBytes {
				if err := flush(); err != nil {
					return res, err
				}
			}
			if n == 0 {
				buf.WriteString(envOpen)
			} else {
				buf.WriteByte(',')
			}
			buf.Write(rec.Raw)
			n++
		}
		if len(batch) < opts.BatchObjects {
			return res, flush()
		}
	}
}

// readBatch reads the records of q, copying them out of the iterator.
func readBatch(ctx context.Context, st store.Store, q store.Query) ([]*store.Record, error) {
	it, err := st.Query(ctx, q)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	var out []*store.Record
	for it.Next() {
		r := *it.At()
		r.Raw = bytes.Clone(r.Raw)
		out = append(out, &r)
	}
	return out, it.Err()
}

// Remote is a remote TAXII collection that mamori pulls from.
type Remote struct {
	Name string `json:"-"`
	// URL is the server's discovery URL or an API root URL.
	URL string `json:"url"`
	// Collection is the remote collection: id, alias or title.
	Collection string `json:"collection"`
	// Every is the pull interval of the scheduler; 0 pulls only on demand.
	Every Duration `json:"every,omitempty"`
	// Credentials: HTTP Basic or a Bearer token. They are stored in the
	// data directory with the rest of the configuration.
	User     string `json:"user,omitempty"`
	Password string `json:"password,omitempty"`
	Token    string `json:"token,omitempty"`
	// AllowPrivate permits loopback, private and link-local addresses.
	AllowPrivate bool `json:"allow_private,omitempty"`
	// Into is the local collection id that receives the objects ("" none).
	Into string `json:"into,omitempty"`
	// Level is the distribution of the pulled objects (TLP caps it).
	Level store.Level `json:"level"`
	// Group is the sharing group when Level is store.LevelGroup.
	Group string `json:"group,omitempty"`
	// PageSize is the page size asked of the server; default 1000.
	PageSize int `json:"page_size,omitempty"`

	// Checkpoint is where the next pull starts (an X-TAXII-Date-Added-Last).
	Checkpoint string `json:"-"`
	// Last is the outcome of the last sync.
	Last SyncResult `json:"-"`
}

// SyncResult is the outcome of one sync of a remote.
type SyncResult struct {
	At      time.Time `json:"at"`
	Error   string    `json:"error,omitempty"`
	Pages   int       `json:"pages"`
	Read    int       `json:"read"`
	New     int       `json:"new"`
	Updated int       `json:"new_versions"`
	Rejects int       `json:"rejected"`
	Seconds float64   `json:"seconds"`
}

// Duration is a time.Duration written as "15m0s" in JSON.
type Duration time.Duration

// MarshalJSON implements json.Marshaler.
func (d Duration) MarshalJSON() ([]byte, error) { return json.Marshal(time.Duration(d).String()) }

// UnmarshalJSON implements json.Unmarshaler.
func (d *Duration) UnmarshalJSON(b []byte) error {
	var s string
	if err := json.Unmarshal(b, &s); err != nil {
		return err
	}
	v, err := time.ParseDuration(s)
	*d = Duration(v)
	return err
}

var remoteNameRE = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$`)

// AddRemote stores a new remote.
func AddRemote(ctx context.Context, st StateStore, r Remote) error {
	if !remoteNameRE.MatchString(r.Name) {
		return fmt.Errorf("remote name %q: use 1 to 64 letters, digits, dots, hyphens and underscores", r.Name)
	}
	if _, err := ParseURL(r.URL); err != nil {
		return err
	}
	if strings.TrimSpace(r.Collection) == "" {
		return errors.New("a remote needs a collection")
	}
	if r.Every != 0 && time.Duration(r.Every) < time.Minute {
		return errors.New("--every must be at least one minute (or 0 for on-demand pulls)")
	}
	b, err := json.Marshal(r)
	if err != nil {
		return err
	}
	return st.PutTAXIIRemote(ctx, r.Name, b, true)
}

// GetRemote loads a remote with its checkpoint and last result.
func GetRemote(ctx context.Context, st StateStore, name string) (Remote, error) {
	cfg, result, cp, err := st.TAXIIRemote(ctx, name)
	if err != nil {
		return Remote{}, err
	}
	var r Remote
	if err := json.Unmarshal(cfg, &r); err != nil {
		return r, fmt.Errorf("remote %q: %w", name, err)
	}
	r.Name, r.Checkpoint = name, cp
	if len(result) > 0 {
		json.Unmarshal(result, &r.Last)
	}
	return r, nil
}

// ListRemotes loads every remote.
func ListRemotes(ctx context.Context, st StateStore) ([]Remote, error) {
	names, err := st.TAXIIRemoteNames(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Remote, 0, len(names))
	for _, n := range names {
		r, err := GetRemote(ctx, st, n)
		if err != nil {
			return nil, err
		}
		out = append(out, r)
	}
	return out, nil
}

// Sync pulls a remote from its checkpoint and records the outcome.
func Sync(ctx context.Context, st StateStore, im *ingest.Importer, name string) (PullResult, error) {
	r, err := GetRemote(ctx, st, name)
	if err != nil {
		return PullResult{}, err
	}
	started := time.Now()
	c := NewClient(ClientOptions{User: r.User, Password: r.Password, Token: r.Token, AllowPrivate: r.AllowPrivate})
	var res PullResult
	root, err := c.ResolveAPIRoot(ctx, r.URL)
	if err == nil {
		res, err = c.Pull(ctx, im, root, PullOptions{
			Collection: r.Collection,
			AddedAfter: r.Checkpoint,
			PageSize:   r.PageSize,
			Import:     ingest.Options{Collection: r.Into, Level: r.Level, Group: r.Group},
			Source:     "remote " + name,
			Remote:     name,
			State:      st,
		})
	}
	sr := SyncResult{At: started, Pages: res.Pages, Read: res.Read, New: res.New, Updated: res.NewVersions,
		Rejects: res.Rejected, Seconds: time.Since(started).Seconds()}
	if err != nil {
		sr.Error = err.Error()
	}
	b, _ := json.Marshal(sr)
	// Record the outcome even when ctx ended the sync.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if rerr := st.SetTAXIIResult(rctx, name, b); rerr != nil && err == nil {
		err = rerr
	}
	return res, err
}

// Scheduler pulls the remotes that have an interval (Remote.Every) when
// they are due. Run it in the server process:
//
//	go (&taxii.Scheduler{State: st, Importer: im, Log: log}).Run(ctx)
type Scheduler struct {
	State    StateStore
	Importer *ingest.Importer
	Log      *slog.Logger
	// Tick is how often due remotes are looked for; default 30 seconds.
	Tick time.Duration
	// SyncTimeout bounds one sync; default one hour.
	SyncTimeout time.Duration

	mu      sync.Mutex
	running map[string]bool
}

// Run syncs due remotes until ctx ends, one at a time; it returns ctx's error.
func (s *Scheduler) Run(ctx context.Context) error {
	tick := s.Tick
	if tick <= 0 {
		tick = 30 * time.Second
	}
	t := time.NewTicker(tick)
	defer t.Stop()
	for {
		s.RunDue(ctx)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-t.C:
		}
	}
}

// RunDue syncs every remote whose interval has passed since its last sync.
func (s *Scheduler) RunDue(ctx context.Context) {
	log := s.Log
	if log == nil {
		log = slog.Default()
	}
	timeout := s.SyncTimeout
	if timeout <= 0 {
		timeout = time.Hour
	}
	remotes, err := ListRemotes(ctx, s.State)
	if err != nil {
		if ctx.Err() == nil {
			log.Error("taxii scheduler: list remotes", "err", err)
		}
		return
	}
	now := time.Now()
	for _, r := range remotes {
		if ctx.Err() != nil {
			return
		}
		if r.Every <= 0 || (!r.Last.At.IsZero() && now.Sub(r.Last.At) < time.Duration(r.Every)) {
			continue
		}
		s.mu.Lock()
		if s.running == nil {
			s.running = map[string]bool{}
		}
		busy := s.running[r.Name]
		s.running[r.Name] = true
		s.mu.Unlock()
		if busy {
			continue
		}
		sctx, cancel := context.WithTimeout(ctx, timeout)
		res, err := Sync(sctx, s.State, s.Importer, r.Name)
		cancel()
		s.mu.Lock()
		delete(s.running, r.Name)
		s.mu.Unlock()
		if err != nil {
			log.Warn("taxii remote sync failed", "remote", r.Name, "pages", res.Pages, "err", err)
			continue
		}
		log.Info("taxii remote synced", "remote", r.Name, "pages", res.Pages, "read", res.Read,
			"new", res.New, "new_versions", res.NewVersions, "rejected", res.Rejected, "checkpoint", res.Checkpoint)
	}
}
