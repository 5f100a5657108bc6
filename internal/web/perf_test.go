package web

import (
	"bufio"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

// Performance: enterprise ATT&CK plus synthetic indicators (env
// MAMORI_WEB_BENCH_N, default 100,000; 1,000,000 for the target figure),
// built once per machine into $TMPDIR/mamori-web-bench-N and reused.
//
//	go test -run XXX -bench . -benchtime 20x ./internal/web/
//	MAMORI_WEB_BENCH_N=1000000 go test -run XXX -bench . -benchtime 20x ./internal/web/

func attackFile(tb testing.TB) string {
	dir := os.Getenv("MAMORI_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	p := filepath.Join(dir, "data", "attack", "enterprise-attack-18.1.json.gz")
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("no ATT&CK data at %s (set MAMORI_SHARED)", p)
	}
	return p
}

func importAttack(tb testing.TB, st store.Store, owner string) {
	f, err := os.Open(attackFile(tb))
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(bufio.NewReader(f))
	if err != nil {
		tb.Fatal(err)
	}
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	if _, err := im.ImportBundle(context.Background(), zr, "attack", ingest.Options{Owner: owner, Level: store.LevelCommunity}); err != nil {
		tb.Fatal(err)
	}
}

var benchWords = []string{"emotet", "qakbot", "cobalt", "strike", "loader", "phishing", "ransomware", "beacon", "dropper", "stealer",
	"credential", "banking", "trojan", "botnet", "exfiltration", "lateral", "movement", "persistence", "spearphishing", "backdoor"}

type benchEnv struct {
	st      *sqlite.Store
	srv     *server
	cookies []*http.Cookie
	malware string // an ATT&CK malware with many relationships
}

var (
	benchOnce sync.Once
	benchVal  *benchEnv
	benchErr  error
)

func benchN() int {
	n, err := strconv.Atoi(os.Getenv("MAMORI_WEB_BENCH_N"))
	if err != nil || n <= 0 {
		return 100_000
	}
	return n
}

// synthIndicator: most shared with the community, one in ten restricted to
// organisation B (which the benchmark reader of A does not see); one in a
// hundred comes with an "indicates" relationship to an ATT&CK malware.
func synthIndicator(i int, orgA, orgB string, malware []string) []*store.Object {
	ts := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * time.Second)
	ip := fmt.Sprintf("10.%d.%d.%d", (i>>16)&255, (i>>8)&255, i&255)
	id := fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", i, i)
	name := benchWords[i%len(benchWords)] + " " + benchWords[(i/7)%len(benchWords)] + " " + strconv.Itoa(i)
	desc := "Synthetic " + benchWords[(i/3)%len(benchWords)] + " indicator number " + strconv.Itoa(i)
	acc := store.Access{Owner: orgA, Level: store.LevelCommunity}
	if i%10 == 0 {
		acc = store.Access{Owner: orgB, Level: store.LevelOrg}
	}
	out := []*store.Object{{ID: id, Type: "indicator", SpecVersion: "2.1", Created: ts, Modified: ts, Access: acc,
		Index: store.IndexKeys{Name: name, Description: desc, Values: []string{ip}, Labels: []string{"malicious-activity"}},
		Raw: fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"name":%q,"description":%q,"pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":%q}`,
			id, ts.Format(time.RFC3339), ts.Format(time.RFC3339), name, desc, ip, ts.Format(time.RFC3339))}}
	if i%100 == 1 && len(malware) > 0 {
		rid := fmt.Sprintf("relationship--%08x-0000-4000-8000-%012x", i, i)
		target := malware[(i/100)%len(malware)]
		out = append(out, &store.Object{ID: rid, Type: "relationship", SpecVersion: "2.1", Created: ts, Modified: ts, Access: acc,
			Index: store.IndexKeys{Refs: []store.Ref{{Prop: "source_ref", Target: id}, {Prop: "target_ref", Target: target}}},
			Raw: fmt.Appendf(nil, `{"type":"relationship","spec_version":"2.1","id":%q,"created":%q,"modified":%q,"relationship_type":"indicates","source_ref":%q,"target_ref":%q}`,
				rid, ts.Format(time.RFC3339), ts.Format(time.RFC3339), id, target)})
	}
	return out
}

func benchSetup(b *testing.B) *benchEnv {
	benchOnce.Do(func() { benchVal, benchErr = buildBench(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	if benchVal == nil {
		b.Skip("no benchmark data")
	}
	return benchVal
}

func buildBench(b *testing.B) (*benchEnv, error) {
	attackFile(b)
	n := benchN()
	dir := filepath.Join(os.TempDir(), fmt.Sprintf("mamori-web-bench-%d", n))
	done := filepath.Join(dir, "complete")
	ctx := context.Background()
	if _, err := os.Stat(done); err != nil {
		os.RemoveAll(dir)
		st, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
		if err != nil {
			return nil, err
		}
		svc := access.NewService(st)
		orgA, err := svc.CreateOrg(ctx, "A")
		if err != nil {
			return nil, err
		}
		orgB, err := svc.CreateOrg(ctx, "B")
		if err != nil {
			return nil, err
		}
		if _, err := svc.CreateUser(ctx, "reader", "A", access.RoleReader, testPassword); err != nil {
			return nil, err
		}
		importAttack(b, st, orgA.ID)
		var malware []string
		it, err := st.Query(ctx, store.Query{Types: []string{"malware"}})
		if err != nil {
			return nil, err
		}
		for it.Next() {
			malware = append(malware, it.At().ID)
		}
		it.Close()
		start := time.Now()
		batch := make([]*store.Object, 0, 5000)
		for i := range n {
			batch = append(batch, synthIndicator(i, orgA.ID, orgB.ID, malware)...)
			if len(batch) >= 5000 {
				if _, err := st.Put(ctx, batch, store.PutOptions{}); err != nil {
					return nil, err
				}
				batch = batch[:0]
			}
		}
		if _, err := st.Put(ctx, batch, store.PutOptions{}); err != nil {
			return nil, err
		}
		b.Logf("inserted %d synthetic indicators in %v", n, time.Since(start))
		st.Close()
		os.WriteFile(done, nil, 0o644)
	}
	st, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		return nil, err
	}
	env := &benchEnv{st: st}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	env.srv, err = newServer(Options{Store: st, Access: access.NewService(st), Audit: audit.New(st), Log: quiet,
		DashboardWait: 10 * time.Minute, DashboardRefresh: time.Hour})
	if err != nil {
		return nil, err
	}
	// Sign in once.
	ts := httptest.NewServer(env.srv)
	defer ts.Close()
	c := &fixture{t: &testing.T{}, ts: ts}
	cl := c.client("reader")
	tok := cl.token()
	resp, err := cl.hc.PostForm(ts.URL+"/login", url.Values{"user": {"reader"}, "password": {testPassword}, "csrf": {tok}})
	if err != nil {
		return nil, err
	}
	resp.Body.Close()
	u, _ := url.Parse(ts.URL)
	env.cookies = cl.hc.Jar.Cookies(u)
	// The ATT&CK malware with the most relationships.
	it, err := st.Query(ctx, store.Query{Types: []string{"malware"}, Limit: 50})
	if err != nil {
		return nil, err
	}
	best := int64(-1)
	var ids []string
	for it.Next() {
		ids = append(ids, it.At().ID)
	}
	it.Close()
	for _, id := range ids {
		n, _ := st.Count(ctx, store.Query{Ref: id, Types: []string{"relationship"}})
		if n > best {
			best, env.malware = n, id
		}
	}
	return env, nil
}

// serve runs one request through the handler and returns the answer.
func (e *benchEnv) serve(b *testing.B, path string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodGet, path, nil)
	for _, c := range e.cookies {
		req.AddCookie(c)
	}
	w := httptest.NewRecorder()
	e.srv.ServeHTTP(w, req)
	if w.Code != 200 {
		b.Fatalf("%s: %d %s", path, w.Code, excerpt(w.Body.String()))
	}
	return w
}

func benchPage(b *testing.B, path string) { benchPageWith(b, path, false) }

// benchPageWith measures the server time of a page; uncached forgets the
// facet counts of earlier searches before each request.
func benchPageWith(b *testing.B, path string, uncached bool) {
	e := benchSetup(b)
	e.serve(b, path) // warm: caches, the dashboard's figures
	var times []time.Duration
	b.ResetTimer()
	for b.Loop() {
		if uncached {
			b.StopTimer()
			for len(e.srv.countSlot) > 0 { // let a background count finish
				time.Sleep(time.Millisecond)
			}
			e.srv.counts.clear()
			b.StartTimer()
		}
		start := time.Now()
		e.serve(b, path)
		times = append(times, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	b.ReportMetric(float64(times[len(times)/2].Microseconds())/1000, "ms-p50")
	b.ReportMetric(float64(times[len(times)*99/100].Microseconds())/1000, "ms-p99")
}

func BenchmarkDashboard(b *testing.B)   { benchPage(b, "/") }
func BenchmarkSearchText(b *testing.B)  { benchPage(b, "/search?q=emotet") }
func BenchmarkSearchValue(b *testing.B) { benchPage(b, "/search?value=10.0.3.7") }
func BenchmarkSearchTextFirst(b *testing.B) {
	benchPageWith(b, "/search?q=emotet", true)
}
func BenchmarkSearchType(b *testing.B) { benchPage(b, "/search?type=indicator") }
func BenchmarkSearchDeep(b *testing.B) { benchPage(b, "/search?q=emotet+loader&type=indicator") }
func BenchmarkObjectPage(b *testing.B) {
	e := benchSetup(b)
	benchPage(b, objURL(e.malware))
}

// BenchmarkDashboardFirst measures computing one reader's figures from
// nothing (done in the background; a page shows them when ready).
func BenchmarkDashboardFirst(b *testing.B) {
	e := benchSetup(b)
	v := (&access.Principal{OrgID: "bench-first", Role: access.RoleReader}).Viewer()
	for b.Loop() {
		d := newDashboards(e.srv)
		ent := &dashEntry{viewer: *v, scan: scanState{days: map[int64]*dayAgg{}, meta: map[string]entityMeta{}}}
		if _, err := d.compute(context.Background(), ent); err != nil {
			b.Fatal(err)
		}
	}
}

// TestPageWeightATTACK: with enterprise ATT&CK loaded, every page's HTML
// plus its style sheet, script and icon stays under 300 KB.
func TestPageWeightATTACK(t *testing.T) {
	if testing.Short() {
		t.Skip("imports ATT&CK")
	}
	attackFile(t)
	f := newFixture(t)
	start := time.Now()
	importAttack(t, f.st, f.orgs["A"].ID)
	t.Logf("ATT&CK imported in %v", time.Since(start).Round(time.Millisecond))
	c := f.signedIn("A-admin")
	// The heaviest objects: the largest, and the most related.
	ctx := context.Background()
	biggest, biggestN := "", 0
	it, err := f.st.Query(ctx, store.Query{})
	if err != nil {
		t.Fatal(err)
	}
	refs := map[string]int{}
	for it.Next() {
		r := it.At()
		if len(r.Raw) > biggestN {
			biggest, biggestN = r.ID, len(r.Raw)
		}
		if r.Type == "relationship" {
			var rel struct{ SourceRef, TargetRef string }
			json.Unmarshal(r.Raw, &struct {
				S *string `json:"source_ref"`
				T *string `json:"target_ref"`
			}{&rel.SourceRef, &rel.TargetRef})
			refs[rel.SourceRef]++
			refs[rel.TargetRef]++
		}
	}
	it.Close()
	most, mostN := "", 0
	for id, n := range refs {
		if n > mostN {
			most, mostN = id, n
		}
	}
	assets := 0
	for _, a := range f.srv.files {
		assets += len(a.body)
	}
	pages := []string{"/", "/search", "/search?q=phishing", "/search?type=attack-pattern", "/objects/" + biggest, "/objects/" + most,
		"/objects/" + most + "?expand=" + url.QueryEscape(strings.Join(firstRelated(t, f, most, 4), ",")),
		"/import", "/collections", "/feeds", "/alerts", "/exposure", "/admin/users", "/admin/orgs", "/admin/tokens", "/admin/groups"}
	for _, lang := range []string{"en", "ja"} {
		c.lang = lang
		for _, p := range pages {
			start := time.Now()
			r := c.get(p)
			if r.StatusCode != 200 {
				t.Fatalf("%s: %d", p, r.StatusCode)
			}
			total := len(r.body) + assets
			t.Logf("%s %s: %d bytes of HTML, %d with assets (%v)", lang, p, len(r.body), total, time.Since(start).Round(time.Millisecond))
			if total > 300<<10 {
				t.Errorf("%s %s weighs %d bytes, over 300 KB", lang, p, total)
			}
		}
	}
}

func firstRelated(t *testing.T, f *fixture, id string, n int) []string {
	it, err := f.st.Query(context.Background(), store.Query{Ref: id, Types: []string{"relationship"}, Limit: n})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		c := decodeCommon(it.At().Raw)
		if c.SourceRef == id {
			out = append(out, c.TargetRef)
		} else {
			out = append(out, c.SourceRef)
		}
	}
	return out
}

// TestPageWeight: the same bound on the small fixture, always run.
func TestPageWeight(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn("A-admin")
	assets := 0
	for _, a := range f.srv.files {
		assets += len(a.body)
	}
	for _, p := range []string{"/", "/search", "/objects/" + idSharedInd, "/objects/" + idXSS, "/import", "/collections", "/admin/users", "/login"} {
		r := c.get(p)
		if total := len(r.body) + assets; total > 300<<10 {
			t.Errorf("%s weighs %d bytes", p, total)
		}
	}
	if assets > 40<<10 {
		t.Errorf("static files weigh %d bytes", assets)
	}
}
