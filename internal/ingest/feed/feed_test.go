package feed_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/feed"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

const fixtures = "../../../testdata/formats"

func newRunner(t *testing.T) (*feed.Runner, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	return feed.NewRunner(st, im, nil), st
}

func put(t *testing.T, st store.Store, f store.Feed) {
	t.Helper()
	f.Enabled = true
	if err := feed.Validate(f); err != nil {
		t.Fatal(err)
	}
	if err := st.PutFeed(context.Background(), f); err != nil {
		t.Fatal(err)
	}
}

func TestFileFeed(t *testing.T) {
	r, st := newRunner(t)
	ctx := context.Background()
	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("198.51.100.7\nevil.example\nbad value here\n"), 0o644)
	put(t, st, store.Feed{Name: "local", URL: "file://" + list, Format: "txt", Options: map[string]string{"tlp": "green", "confidence": "70", "valid_for": "30d"}})
	f, err := r.Run(ctx, "local")
	if err != nil {
		t.Fatal(err)
	}
	if f.Stats["new"] != 4 || f.Stats["rejected"] != 1 || f.LastError != "" || f.LastSuccess.IsZero() || f.Options["epoch"] == "" {
		t.Fatalf("%+v", f)
	}
	// Unchanged file: not imported again.
	f, err = r.Run(ctx, "local")
	if err != nil || f.Stats["not_modified"] != 1 || f.Stats["runs"] != 2 {
		t.Fatalf("%+v %v", f.Stats, err)
	}
	// A changed file: known values unchanged, new ones new.
	time.Sleep(10 * time.Millisecond)
	os.WriteFile(list, []byte("198.51.100.7\nevil.example\nnew.example\n"), 0o644)
	f, err = r.Run(ctx, "local")
	if err != nil || f.Stats["new"] != 1 || f.Stats["unchanged"] != 4 {
		t.Fatalf("%+v %v", f.Stats, err)
	}
	rec, err := st.Get(ctx, emit.IndicatorID("[domain-name:value = 'new.example']"), store.GetOptions{})
	if err != nil || !strings.Contains(string(rec.Raw), `"confidence":70`) || !strings.Contains(string(rec.Raw), emit.SourceIdentityID("local")) {
		t.Fatalf("%v %s", err, rec.Raw)
	}
	srcs, _ := st.Sources(ctx, rec.ID)
	if len(srcs) != 1 || srcs[0].Source != "local" {
		t.Errorf("%+v", srcs)
	}
	// A failing run keeps the data and records the error.
	os.WriteFile(list, []byte(`{"type": "bundle", "objects": [`), 0o644)
	put(t, st, store.Feed{Name: "local", URL: "file://" + list, Format: "stix", Options: f.Options, Stats: f.Stats, LastModified: f.LastModified, LastRun: f.LastRun, LastSuccess: f.LastSuccess})
	f, err = r.Run(ctx, "local")
	if err == nil || f.LastError == "" || f.Stats["errors"] != 1 || f.Stats["new"] != 1 {
		t.Fatalf("%+v %v", f, err)
	}
	if n, _ := st.Count(ctx, store.Query{Types: []string{"indicator"}}); n != 3 {
		t.Errorf("%d indicators after a failed run", n)
	}
}

func TestHTTPFeed(t *testing.T) {
	r, st := newRunner(t)
	ctx := context.Background()
	var hits, notModified atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		hits.Add(1)
		if req.Header.Get("If-None-Match") == `"v1"` {
			notModified.Add(1)
			w.WriteHeader(http.StatusNotModified)
			return
		}
		w.Header().Set("ETag", `"v1"`)
		w.Write([]byte("indicator,type\n198.51.100.9,ip\nc2.example,domain\n"))
	}))
	defer srv.Close()
	// Loopback is refused unless the feed allows private addresses.
	put(t, st, store.Feed{Name: "web", URL: srv.URL + "/list.csv", Format: "auto"})
	f, err := r.Run(ctx, "web")
	if !errors.Is(err, feed.ErrRefusedAddress) || !strings.Contains(f.LastError, "not a public address") || hits.Load() != 0 {
		t.Fatalf("SSRF guard: %v %q %d", err, f.LastError, hits.Load())
	}
	put(t, st, store.Feed{Name: "web", URL: srv.URL + "/list.csv", Format: "auto", Options: map[string]string{"allow_private": "true"}})
	f, err = r.Run(ctx, "web")
	if err != nil || f.Stats["new"] != 3 || f.ETag != `"v1"` {
		t.Fatalf("%+v %v", f, err)
	}
	f, err = r.Run(ctx, "web")
	if err != nil || notModified.Load() != 1 || f.Stats["not_modified"] != 1 {
		t.Fatalf("%+v %v", f.Stats, err)
	}
	// Size limit.
	put(t, st, store.Feed{Name: "small", URL: srv.URL + "/list.csv", Format: "csv", Options: map[string]string{"allow_private": "true", "max_bytes": "10"}})
	if _, err := r.Run(ctx, "small"); !errors.Is(err, feed.ErrTooLarge) {
		t.Errorf("size limit: %v", err)
	}
	// A name that resolves to loopback is refused at connect time too.
	put(t, st, store.Feed{Name: "byname", URL: strings.Replace(srv.URL, "127.0.0.1", "localhost", 1), Format: "csv"})
	if _, err := r.Run(ctx, "byname"); !errors.Is(err, feed.ErrRefusedAddress) {
		t.Errorf("localhost: %v", err)
	}
}

func TestMISPFeed(t *testing.T) {
	r, st := newRunner(t)
	ctx := context.Background()
	srv := httptest.NewServer(http.FileServer(http.Dir(filepath.Join(fixtures, "misp-feed"))))
	defer srv.Close()
	put(t, st, store.Feed{Name: "misp", URL: srv.URL, Format: "misp-feed", Options: map[string]string{"allow_private": "true"}})
	f, err := r.Run(ctx, "misp")
	if err != nil || f.Stats["events"] != 2 || f.Stats["new"] == 0 || f.LastModified != "1768400000" {
		t.Fatalf("%+v %v", f, err)
	}
	f, err = r.Run(ctx, "misp")
	if err != nil || f.Stats["not_modified"] != 1 || f.LastModified != "1768400000" {
		t.Fatalf("%+v %v", f.Stats, err)
	}
	// The same feed as a directory.
	abs, _ := filepath.Abs(filepath.Join(fixtures, "misp-feed"))
	put(t, st, store.Feed{Name: "misp-dir", URL: "file://" + abs, Format: "misp-feed"})
	if f, err = r.Run(ctx, "misp-dir"); err != nil || f.Stats["events"] != 2 || f.Stats["unchanged"] == 0 {
		t.Fatalf("%+v %v", f.Stats, err)
	}
}

func TestWarninglistFeed(t *testing.T) {
	r, st := newRunner(t)
	ctx := context.Background()
	abs, _ := filepath.Abs(filepath.Join(fixtures, "mixed.txt"))
	wl, _ := filepath.Abs(filepath.Join(fixtures, "warninglists"))
	put(t, st, store.Feed{Name: "wl", URL: "file://" + abs, Format: "txt", Options: map[string]string{"warninglists": wl, "warninglist": "docnets,benign-hashes", "warninglist_action": "drop"}})
	f, err := r.Run(ctx, "wl")
	if err != nil || f.Stats["dropped"] != 6 {
		t.Fatalf("%+v %v", f.Stats, err)
	}
}

func TestScheduler(t *testing.T) {
	r, st := newRunner(t)
	dir := t.TempDir()
	list := filepath.Join(dir, "list.txt")
	os.WriteFile(list, []byte("198.51.100.7\n"), 0o644)
	put(t, st, store.Feed{Name: "every", URL: "file://" + list, Format: "txt", Every: time.Hour})
	put(t, st, store.Feed{Name: "manual", URL: "file://" + list, Format: "txt"})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- (&feed.Scheduler{Runner: r, Poll: 20 * time.Millisecond}).Run(ctx) }()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		f, _ := st.Feed(context.Background(), "every")
		if !f.LastRun.IsZero() {
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	f, _ := st.Feed(context.Background(), "every")
	m, _ := st.Feed(context.Background(), "manual")
	if f.LastRun.IsZero() || f.Stats["runs"] != 1 || !m.LastRun.IsZero() {
		t.Errorf("every: %+v; manual: %+v", f, m)
	}
}

func TestValidate(t *testing.T) {
	for _, f := range []store.Feed{
		{Name: "", URL: "file:///x"},
		{Name: "a/b", URL: "file:///x"},
		{Name: "x", URL: "ftp://x"},
		{Name: "x", URL: "file:///x", Format: "pdf"},
		{Name: "x", URL: "file:///x", Options: map[string]string{"tlp": "purple"}},
		{Name: "x", URL: "file:///x", Options: map[string]string{"confidence": "101"}},
		{Name: "x", URL: "file:///x", Options: map[string]string{"columns": "nope=1"}},
	} {
		if err := feed.Validate(f); err == nil {
			t.Errorf("%+v accepted", f)
		}
	}
}
