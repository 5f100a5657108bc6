package taxii_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/taxii"
)

func (f *fixture) client(who string) *taxii.Client {
	return taxii.NewClient(taxii.ClientOptions{Token: f.tokens[who], AllowPrivate: true, MaxRetryWait: 5 * time.Second})
}

// localStore is a second mamori store, the other end of a sync.
func localStore(t testing.TB) (*sqlite.Store, *ingest.Importer) {
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st, &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
}

func countVersions(t testing.TB, st store.Store, q store.Query) int {
	q.Versions, q.IncludeRevoked = store.VersionsAll, true
	n, err := st.Count(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	return int(n)
}

func TestClientEndpoints(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	c := f.client("a-analyst")
	d, err := c.Discover(ctx, f.srv.URL+"/taxii2/")
	if err != nil || d.Title != "test server" || len(d.APIRoots) != 2 {
		t.Fatalf("discover: %+v %v", d, err)
	}
	root, err := c.ResolveAPIRoot(ctx, f.srv.URL+"/taxii2/")
	if err != nil || root != f.srv.URL+"/taxii2/api1/" {
		t.Fatalf("resolve discovery: %q %v", root, err)
	}
	if r, err := c.ResolveAPIRoot(ctx, f.srv.URL+"/taxii2/api2"); err != nil || r != f.srv.URL+"/taxii2/api2/" {
		t.Fatalf("resolve API root: %q %v", r, err)
	}
	info, err := c.APIRoot(ctx, root)
	if err != nil || info.MaxContentLength != taxii.DefaultMaxContentLength {
		t.Fatalf("api root: %+v %v", info, err)
	}
	coll, err := c.FindCollection(ctx, root, "shared")
	if err != nil || coll.ID != f.shared.ID || !coll.CanWrite {
		t.Fatalf("find collection: %+v %v", coll, err)
	}
	var n int
	err = c.Walk(ctx, root, coll.ID, taxii.Filter{Limit: 2, Versions: []string{"all"}}, func(p *taxii.Page) error {
		if p.DateAddedFirst == "" || p.DateAddedLast == "" {
			t.Errorf("page without date headers")
		}
		n += len(p.Objects())
		return nil
	})
	if err != nil || n != 5 {
		t.Fatalf("walk: %d objects, %v", n, err)
	}
	p, err := c.Object(ctx, root, coll.ID, m1, taxii.Filter{Versions: []string{"first"}})
	if err != nil || p.Count != 1 || !strings.Contains(string(p.Objects()[0]), "one v1") {
		t.Fatalf("object: %+v %v", p, err)
	}
	vs, err := c.Versions(ctx, root, coll.ID, m1, taxii.Filter{})
	if err != nil || len(vs.Versions) != 3 {
		t.Fatalf("versions: %+v %v", vs, err)
	}
	man, err := c.Manifest(ctx, root, coll.ID, taxii.Filter{Types: []string{"indicator"}})
	if err != nil || len(man.Objects) != 1 || man.Objects[0].ID != i1 {
		t.Fatalf("manifest: %+v %v", man, err)
	}
	st, err := c.AddObjects(ctx, root, coll.ID, []byte(envelope(malware("malware--"+uuidN(77), "2024-09-09T00:00:00.000Z", "via client"))))
	if err != nil || st.Status != "complete" || st.SuccessCount != 1 {
		t.Fatalf("add: %+v %v", st, err)
	}
	if st2, err := c.Status(ctx, root, st.ID); err != nil || st2.ID != st.ID || st2.SuccessCount != 1 {
		t.Fatalf("status: %+v %v", st2, err)
	}
	if err := c.DeleteObject(ctx, root, coll.ID, "malware--"+uuidN(77), taxii.Filter{}); err != nil {
		t.Fatalf("delete: %v", err)
	}
	_, err = c.Object(ctx, root, coll.ID, "malware--"+uuidN(77), taxii.Filter{})
	var te *taxii.Error
	if !errors.As(err, &te) || te.StatusCode != 404 || te.ErrorID == "" {
		t.Fatalf("deleted object: %v", err)
	}
	if _, err := f.client("a-reader").AddObjects(ctx, root, coll.ID, []byte(`{}`)); !errors.As(err, &te) || te.StatusCode != 403 {
		t.Fatalf("reader add: %v", err)
	}
}

func TestPullAndPush(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	local, im := localStore(t)
	c := f.client("b-analyst")
	root, err := c.ResolveAPIRoot(ctx, f.srv.URL+"/taxii2/")
	if err != nil {
		t.Fatal(err)
	}
	res, err := c.Pull(ctx, im, root, taxii.PullOptions{Collection: f.shared.ID, PageSize: 2, Import: ingest.Options{Level: store.LevelCommunity}})
	if err != nil {
		t.Fatal(err)
	}
	// B sees A's five versions and its own private one.
	if res.Read != 6 || res.New != 3+1 || res.NewVersions != 2 || res.Pages != 3 || res.Checkpoint == "" {
		t.Fatalf("pull: %+v", res)
	}
	if got := countVersions(t, local, store.Query{}); got != 6 {
		t.Fatalf("local store has %d versions", got)
	}
	rec, err := local.Get(ctx, m1, store.GetOptions{})
	if err != nil || !strings.Contains(string(rec.Raw), "one v3") {
		t.Fatalf("pulled latest version: %v", err)
	}
	// Nothing new: a pull from the checkpoint reads nothing.
	again, err := c.Pull(ctx, im, root, taxii.PullOptions{Collection: "Shared", AddedAfter: res.Checkpoint})
	if err != nil || again.Read != 0 {
		t.Fatalf("pull from checkpoint: %+v %v", again, err)
	}

	// Objects created locally go back with push.
	lres, err := im.ImportBundle(ctx, strings.NewReader(bundle(
		malware("malware--"+uuidN(301), "2024-10-01T00:00:00.000Z", "local one"),
		indicator("indicator--"+uuidN(302), "192.0.2.44"))), "local", ingest.Options{Level: store.LevelCommunity})
	if err != nil || lres.New != 2 {
		t.Fatalf("local import: %+v %v", lres, err)
	}
	pres, err := c.Push(ctx, local, root, taxii.PushOptions{Collection: f.shared.ID, Query: store.Query{Types: []string{"indicator"}}, BatchObjects: 1})
	if err != nil || pres.Objects != 2 || pres.Succeeded != 2 || pres.Failed != 0 || pres.Batches != 1 {
		t.Fatalf("push: %+v %v", pres, err)
	}
	if r := f.get("a-reader", f.collPath("api1", f.shared.ID)+"objects/indicator--"+uuidN(302)+"/"); r.status != 200 {
		t.Fatalf("pushed object: %d %s", r.status, r.body)
	}
	// Small batches: one object per request.
	pres, err = c.Push(ctx, local, root, taxii.PushOptions{Collection: f.shared.ID, Query: store.Query{Types: []string{"malware"}}, BatchBytes: 300})
	if err != nil || pres.Objects != 4 || pres.Batches != 4 || pres.Succeeded != 4 {
		t.Fatalf("push in small batches: %+v %v", pres, err)
	}
	// Pushed objects belong to the pushing organisation.
	rec, err = f.st.Get(ctx, "indicator--"+uuidN(302), store.GetOptions{})
	if err != nil || rec.Access.Owner != f.orgB.ID {
		t.Fatalf("pushed object owner: %+v %v", rec, err)
	}
	// A reader cannot push.
	if _, err := f.client("a-reader").Push(ctx, local, root, taxii.PushOptions{Collection: f.shared.ID}); err == nil || !strings.Contains(err.Error(), "can_write") {
		t.Fatalf("reader push: %v", err)
	}
}

// flaky is a proxy in front of the test server that can fail requests.
type flaky struct {
	srv   *httptest.Server
	n     atomic.Int64
	fail  func(n int64, r *http.Request) (status int, retryAfter string)
	delay time.Duration
}

func newFlaky(t testing.TB, target string) *flaky {
	u, _ := url.Parse(target)
	fl := &flaky{}
	proxy := httputil.NewSingleHostReverseProxy(u)
	fl.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := fl.n.Add(1)
		if fl.delay > 0 {
			time.Sleep(fl.delay)
		}
		if fl.fail != nil {
			if status, ra := fl.fail(n, r); status != 0 {
				if ra != "" {
					w.Header().Set("Retry-After", ra)
				}
				w.Header().Set("Content-Type", taxii.MediaTAXII)
				w.WriteHeader(status)
				w.Write([]byte(`{"title":"injected failure","http_status":"` + http.StatusText(status) + `"}`))
				return
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	t.Cleanup(fl.srv.Close)
	return fl
}

func isObjects(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, "/objects/") }

func TestRemoteSyncResumes(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSeed: true})
	ctx := context.Background()
	f.addBatch(0, 10)
	fl := newFlaky(t, f.srv.URL)
	local, im := localStore(t)
	err := taxii.AddRemote(ctx, local, taxii.Remote{Name: "up", URL: fl.srv.URL + "/taxii2/", Collection: f.shared.ID,
		Token: f.tokens["a-reader"], AllowPrivate: true, PageSize: 3, Level: store.LevelCommunity})
	if err != nil {
		t.Fatal(err)
	}
	// The third objects page fails (500 is not retried): the first two pages stay stored.
	var pages atomic.Int64
	fl.fail = func(n int64, r *http.Request) (int, string) {
		if isObjects(r) && pages.Add(1) == 3 {
			return http.StatusInternalServerError, ""
		}
		return 0, ""
	}
	res, err := taxii.Sync(ctx, local, im, "up")
	if err == nil {
		t.Fatal("sync through a failing server succeeded")
	}
	if res.Read != 6 || countVersions(t, local, store.Query{}) != 6 {
		t.Fatalf("after the failure: %+v, %d stored", res, countVersions(t, local, store.Query{}))
	}
	r, _ := taxii.GetRemote(ctx, local, "up")
	if r.Checkpoint == "" || r.Last.Error == "" {
		t.Fatalf("remote after failure: %+v", r)
	}
	// The next sync resumes after the sixth object.
	fl.fail = nil
	res, err = taxii.Sync(ctx, local, im, "up")
	if err != nil || res.Read != 4 || res.New != 4 {
		t.Fatalf("resumed sync: %+v %v", res, err)
	}
	// New objects only, next time.
	f.addBatch(100, 5)
	res, err = taxii.Sync(ctx, local, im, "up")
	if err != nil || res.Read != 5 || res.New != 5 {
		t.Fatalf("incremental sync: %+v %v", res, err)
	}
	if got := countVersions(t, local, store.Query{}); got != 15 {
		t.Fatalf("local store has %d versions, want 15", got)
	}
	r, _ = taxii.GetRemote(ctx, local, "up")
	if r.Last.Error != "" || r.Last.Read != 5 {
		t.Fatalf("last result: %+v", r.Last)
	}
}

func TestSyncIntoCollectionAndScheduler(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	local, im := localStore(t)
	into, err := local.CreateCollection(ctx, store.Collection{Title: "From upstream", Level: store.LevelCommunity})
	if err != nil {
		t.Fatal(err)
	}
	err = taxii.AddRemote(ctx, local, taxii.Remote{Name: "up", URL: f.srv.URL + "/taxii2/api1/", Collection: "Shared",
		Token: f.tokens["a-reader"], AllowPrivate: true, Every: taxii.Duration(time.Hour), Into: into.ID, Level: store.LevelCommunity})
	if err != nil {
		t.Fatal(err)
	}
	if err := taxii.AddRemote(ctx, local, taxii.Remote{Name: "up", URL: f.srv.URL, Collection: "x"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate remote: %v", err)
	}
	if err := taxii.AddRemote(ctx, local, taxii.Remote{Name: "bad name", URL: f.srv.URL, Collection: "x"}); err == nil {
		t.Fatal("remote with a space in its name")
	}
	if err := taxii.AddRemote(ctx, local, taxii.Remote{Name: "ftp", URL: "ftp://example.org/", Collection: "x"}); err == nil {
		t.Fatal("ftp remote accepted")
	}
	sched := &taxii.Scheduler{State: local, Importer: im, Log: discardLog()}
	sched.RunDue(ctx)
	r, err := taxii.GetRemote(ctx, local, "up")
	if err != nil || r.Last.At.IsZero() || r.Last.Error != "" || r.Last.Read != 5 {
		t.Fatalf("after the scheduler: %+v %v", r, err)
	}
	if got := countVersions(t, local, store.Query{Collection: into.ID}); got != 5 {
		t.Fatalf("local collection has %d versions", got)
	}
	first := r.Last.At
	sched.RunDue(ctx) // not due for an hour
	if r, _ := taxii.GetRemote(ctx, local, "up"); !r.Last.At.Equal(first) {
		t.Fatalf("the scheduler synced a remote that was not due")
	}
	// Run stops with its context.
	rctx, cancel := context.WithTimeout(ctx, 100*time.Millisecond)
	defer cancel()
	if err := sched.Run(rctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Run: %v", err)
	}
}

func TestClientRetries(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	ctx := context.Background()
	fl := newFlaky(t, f.srv.URL)
	root := fl.srv.URL + "/taxii2/api1/"
	c := f.client("a-reader")

	// 429 and 503 with Retry-After are retried.
	fl.fail = func(n int64, r *http.Request) (int, string) {
		switch n {
		case 1:
			return http.StatusTooManyRequests, "0"
		case 2:
			return http.StatusServiceUnavailable, "0"
		}
		return 0, ""
	}
	if _, err := c.Collections(ctx, root); err != nil || fl.n.Load() != 3 {
		t.Fatalf("retried request: %v after %d attempts", err, fl.n.Load())
	}
	// A POST answered 429 is sent again, body included.
	fl.n.Store(0)
	fl.fail = func(n int64, r *http.Request) (int, string) {
		if n == 1 {
			return http.StatusTooManyRequests, "0"
		}
		return 0, ""
	}
	st, err := f.client("a-analyst").AddObjects(ctx, root, f.shared.ID, []byte(envelope(malware("malware--"+uuidN(55), "2024-01-01T00:00:00.000Z", "retried"))))
	if err != nil || st.SuccessCount != 1 {
		t.Fatalf("retried POST: %+v %v", st, err)
	}
	// A wait longer than MaxRetryWait is an error at once.
	fl.fail = func(n int64, r *http.Request) (int, string) { return http.StatusTooManyRequests, "3600" }
	start := time.Now()
	_, err = c.Collections(ctx, root)
	var te *taxii.Error
	if !errors.As(err, &te) || te.StatusCode != 429 || te.RetryAfter != time.Hour || time.Since(start) > 2*time.Second {
		t.Fatalf("long Retry-After: %v", err)
	}
	// Retries are bounded.
	fl.n.Store(0)
	fl.fail = func(n int64, r *http.Request) (int, string) { return http.StatusServiceUnavailable, "0" }
	c2 := taxii.NewClient(taxii.ClientOptions{Token: f.tokens["a-reader"], AllowPrivate: true, MaxRetries: 2})
	if _, err := c2.Collections(ctx, root); !errors.As(err, &te) || te.StatusCode != 503 || fl.n.Load() != 3 {
		t.Fatalf("bounded retries: %v after %d attempts", err, fl.n.Load())
	}
	// Other errors are not retried.
	fl.n.Store(0)
	fl.fail = func(n int64, r *http.Request) (int, string) { return http.StatusBadRequest, "" }
	if _, err := c.Collections(ctx, root); !errors.As(err, &te) || te.StatusCode != 400 || fl.n.Load() != 1 {
		t.Fatalf("400: %v after %d attempts", err, fl.n.Load())
	}
}

func TestClientTimeout(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSeed: true})
	fl := newFlaky(t, f.srv.URL)
	fl.delay = 2 * time.Second
	c := taxii.NewClient(taxii.ClientOptions{Token: f.tokens["a-reader"], AllowPrivate: true, Timeout: 150 * time.Millisecond, MaxRetries: -1})
	start := time.Now()
	if _, err := c.Discover(context.Background(), fl.srv.URL+"/taxii2/"); err == nil {
		t.Fatal("no timeout")
	}
	if d := time.Since(start); d > time.Second {
		t.Fatalf("timed out after %v", d)
	}
}

func TestOutboundGuard(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSeed: true})
	ctx := context.Background()
	c := taxii.NewClient(taxii.ClientOptions{Token: f.tokens["a-reader"]})
	var blocked *taxii.BlockedAddressError
	if _, err := c.Discover(ctx, f.srv.URL+"/taxii2/"); !errors.As(err, &blocked) {
		t.Fatalf("loopback address: %v", err)
	}
	// A name is checked on the address it resolves to.
	u, _ := url.Parse(f.srv.URL)
	if _, err := c.Discover(ctx, "http://localhost:"+u.Port()+"/taxii2/"); !errors.As(err, &blocked) {
		t.Fatalf("localhost: %v", err)
	}
	for _, bad := range []string{"ftp://example.org/taxii2/", "file:///etc/passwd", "http://user:pw@example.org/taxii2/", "/taxii2/"} {
		if _, err := c.Discover(ctx, bad); err == nil {
			t.Errorf("%s accepted", bad)
		}
	}
	// A redirect is checked like the first request.
	redirect := httptest.NewServer(http.RedirectHandler("ftp://example.org/", http.StatusFound))
	defer redirect.Close()
	allowed := f.client("a-reader")
	if _, err := allowed.Discover(ctx, redirect.URL+"/taxii2/"); err == nil || !strings.Contains(err.Error(), "only http and https") {
		t.Fatalf("redirect to ftp: %v", err)
	}
	local := httptest.NewServer(http.RedirectHandler(f.srv.URL+"/taxii2/", http.StatusFound))
	defer local.Close()
	if _, err := c.Discover(ctx, local.URL); !errors.As(err, &blocked) {
		t.Fatalf("redirect: %v", err)
	}
	// With AllowPrivate the same server answers.
	if _, err := allowed.Discover(ctx, f.srv.URL+"/taxii2/"); err != nil {
		t.Fatal(err)
	}
}
