package detect_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

type env struct {
	st     *sqlite.Store
	im     *ingest.Importer
	orgA   store.Org
	orgB   store.Org
	b      *bus.Local
	ctx    context.Context
	serial int
}

func newEnv(t *testing.T) *env { return newEnvB(t) }

func newEnvB(t testing.TB) *env {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := access.NewService(st)
	a, err := svc.CreateOrg(ctx, "CSIRT A")
	if err != nil {
		t.Fatal(err)
	}
	b, err := svc.CreateOrg(ctx, "CSIRT B")
	if err != nil {
		t.Fatal(err)
	}
	bs := bus.NewLocal(nil)
	t.Cleanup(func() { bs.Close() })
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues, Bus: bs}
	return &env{st: st, im: im, orgA: a, orgB: b, b: bs, ctx: ctx}
}

// indicator returns the JSON of an indicator.
func (e *env) indicator(id, pat string, extra string) string {
	e.serial++
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"%s","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"test %d","pattern":%q,"pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"%s}`, id, e.serial, pat, extra)
}

func (e *env) importObjects(t *testing.T, opts ingest.Options, objs ...string) {
	t.Helper()
	bundle := `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[` + strings.Join(objs, ",") + `]}`
	res, err := e.im.ImportBundle(e.ctx, strings.NewReader(bundle), "test", opts)
	if err != nil {
		t.Fatal(err)
	}
	if res.Rejected > 0 {
		t.Fatalf("rejected: %+v", res)
	}
}

func id(n int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", n) }

func (e *env) sightings(t *testing.T, indicator string) []map[string]any {
	t.Helper()
	it, err := e.st.Query(e.ctx, store.Query{Types: []string{"sighting"}, Ref: indicator})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []map[string]any
	for it.Next() {
		var m map[string]any
		json.Unmarshal(it.At().Raw, &m)
		out = append(out, m)
	}
	return out
}

func TestSightingsAggregate(t *testing.T) {
	e := newEnv(t)
	e.importObjects(t, ingest.Options{Level: store.LevelCommunity}, e.indicator(id(1), "[ipv4-addr:value = '198.51.100.7']", ""))
	now := time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)
	clock := now
	rec := &detect.Recorder{Store: e.st, Storage: e.st, Importer: e.im, Now: func() time.Time { return clock }}
	day := now.Add(-2 * time.Hour)
	rec.Add(id(1), e.orgA.ID, day, 1)
	rec.Add(id(1), e.orgA.ID, day.Add(time.Hour), 2)
	rec.Add(id(1), e.orgB.ID, day, 1)
	if _, err := rec.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	clock = clock.Add(time.Second)
	rec.Add(id(1), e.orgA.ID, day.Add(90*time.Minute), 4)
	if _, err := rec.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	ss := e.sightings(t, id(1))
	if len(ss) != 2 {
		t.Fatalf("%d sightings, want one per organisation: %v", len(ss), ss)
	}
	for _, s := range ss {
		want := detect.SightingID(id(1), e.orgA.ID, detect.Day(day), false)
		identity := e.orgA.Identity
		count := 7.0
		if s["id"] != want {
			want = detect.SightingID(id(1), e.orgB.ID, detect.Day(day), false)
			identity, count = e.orgB.Identity, 1
		}
		if s["id"] != want || s["count"] != count || s["created_by_ref"] != identity || fmt.Sprint(s["where_sighted_refs"]) != "["+identity+"]" {
			t.Errorf("sighting %v", s)
		}
		if identity == e.orgA.Identity && (s["first_seen"] != "2025-03-01T10:00:00.000Z" || s["last_seen"] != "2025-03-01T11:30:00.000Z") {
			t.Errorf("window %v – %v", s["first_seen"], s["last_seen"])
		}
	}
	// Two versions of A's sighting, one of B's; organisation-only by default.
	n, _ := e.st.Count(e.ctx, store.Query{Types: []string{"sighting"}, Versions: store.VersionsAll})
	if n != 3 {
		t.Errorf("%d versions, want 3", n)
	}
	if n, _ := e.st.Count(e.ctx, store.Query{Types: []string{"sighting"}, Viewer: &store.Viewer{Org: e.orgB.ID}}); n != 1 {
		t.Errorf("B sees %d sightings, want its own only", n)
	}
}

// observe records telemetry lines of org into the history.
func observe(t *testing.T, h *detect.History, org string, f match.Format, lines ...string) {
	t.Helper()
	p := match.NewParser(f, nil)
	var rec match.Record
	for _, l := range lines {
		rec.Reset()
		if p.Parse([]byte(l), &rec) {
			h.Observe(org, &rec, rec.Time())
		}
	}
}

func TestRetroHunt(t *testing.T) {
	e := newEnv(t)
	now := time.Now().UTC()
	day := now.Add(-48 * time.Hour)
	ts := fmt.Sprintf("%d.5", day.Unix())
	h := detect.NewHistory(e.st, detect.HistoryOptions{Days: 30})
	observe(t, h, e.orgA.ID, match.FormatZeek,
		`{"ts":`+ts+`,"id.orig_h":"10.0.0.5","id.resp_h":"198.51.100.7","id.resp_p":8443}`,
		`{"ts":`+ts+`,"id.orig_h":"10.0.0.5","id.resp_h":"198.51.100.7","id.resp_p":443}`,
		`{"ts":`+ts+`,"query":"www.evil.example","answers":["203.0.113.9"]}`,
		`{"ts":`+ts+`,"query":"notevil.example"}`,
		`{"ts":`+ts+`,"host":"dl.example","uri":"/x/payload.exe?id=1"}`,
		`{"ts":`+ts+`,"sha256":"E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855"}`,
	)
	observe(t, h, e.orgB.ID, match.FormatZeek, `{"ts":`+ts+`,"query":"evil.example"}`)
	if err := h.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	// Indicators that arrive later. The one of organisation B is for B only.
	e.importObjects(t, ingest.Options{Level: store.LevelCommunity},
		e.indicator(id(1), "[domain-name:value = 'evil.example']", ""),
		e.indicator(id(2), "[ipv4-addr:value = '203.0.113.0/24']", ""),
		e.indicator(id(3), "[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 8443]", ""),
		e.indicator(id(4), "[url:value = 'http://dl.example/x/payload.exe']", ""),
		e.indicator(id(5), "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']", ""),
		e.indicator(id(6), "[url:value LIKE '%/payload.exe%']", ""),
		e.indicator(id(7), "[domain-name:value = 'vil.example']", ""),
	)
	e.importObjects(t, ingest.Options{Owner: e.orgB.ID, Level: store.LevelOrg}, e.indicator(id(8), "[domain-name:value = 'www.evil.example']", ""))
	rec := &detect.Recorder{Store: e.st, Storage: e.st, Importer: e.im}
	hunter := &detect.RetroHunter{Store: e.st, Storage: e.st, Recorder: rec}
	var ids []string
	for i := 1; i <= 8; i++ {
		ids = append(ids, id(i))
	}
	res, err := hunter.Hunt(e.ctx, ids)
	if err != nil {
		t.Fatal(err)
	}
	if res.Indicators != 8 || res.Unsupported != 1 {
		t.Errorf("hunt %+v", res)
	}
	if _, err := rec.Flush(e.ctx); err != nil {
		t.Fatal(err)
	}
	want := map[string]map[string]float64{ // indicator → identity → count
		id(1): {e.orgA.Identity: 1, e.orgB.Identity: 1},
		id(2): {e.orgA.Identity: 1},
		id(3): {e.orgA.Identity: 1},
		id(4): {e.orgA.Identity: 1},
		id(5): {e.orgA.Identity: 1},
	}
	for i := 1; i <= 8; i++ {
		got := map[string]float64{}
		for _, s := range e.sightings(t, id(i)) {
			if s["x_mamori_retrospective"] != true || s["x_mamori_day"] != day.Format("2006-01-02") {
				t.Errorf("%s: %v", id(i), s)
			}
			got[s["created_by_ref"].(string)] = s["count"].(float64)
		}
		if fmt.Sprint(got) != fmt.Sprint(want[id(i)]) && !(len(got) == 0 && len(want[id(i)]) == 0) {
			t.Errorf("%s: sightings %v, want %v", id(i), got, want[id(i)])
		}
	}
	// Hunting again changes nothing: the counts are absolute.
	if _, err := hunter.Hunt(e.ctx, ids); err != nil {
		t.Fatal(err)
	}
	fr, err := rec.Flush(e.ctx)
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range e.sightings(t, id(1)) {
		if s["count"] != 1.0 {
			t.Errorf("after a second hunt: %v (%+v)", s, fr)
		}
	}
}

func TestScore(t *testing.T) {
	e := newEnv(t)
	e.importObjects(t, ingest.Options{Level: store.LevelCommunity},
		e.indicator(id(1), "[ipv4-addr:value = '198.51.100.7']", `,"confidence":80`),
		e.indicator(id(2), "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']", `,"confidence":80`))
	modified := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	sc := detect.NewScorer(e.st, e.st, detect.ScoreOptions{})
	at := modified.Add(10 * 24 * time.Hour)
	ip, err := sc.Compute(e.ctx, id(1), at)
	if err != nil {
		t.Fatal(err)
	}
	if ip.Class != "ip" || ip.Score != 40 || ip.Base != 80 {
		t.Errorf("IP after one half-life: %+v", ip)
	}
	h, err := sc.Compute(e.ctx, id(2), at)
	if err != nil {
		t.Fatal(err)
	}
	if h.Class != "hash" || h.Score < 79 || h.Score > 80 {
		t.Errorf("hash after ten days: %+v", h)
	}
	// A second source raises it, a false positive halves it.
	if err := e.st.AddSources(e.ctx, []store.SourceRecord{{ObjectID: id(1), Source: "feed-a", FirstSeen: modified, LastSeen: modified}, {ObjectID: id(1), Source: "feed-b", FirstSeen: modified, LastSeen: modified}}); err != nil {
		t.Fatal(err)
	}
	two, _ := sc.Compute(e.ctx, id(1), at)
	if two.Score != 48 { // 1 − 0.2² = 0.96, halved
		t.Errorf("two sources: %+v", two)
	}
	fp, err := sc.ReportFalsePositive(e.ctx, id(1), e.orgA.ID, "alice", "our proxy", at)
	if err != nil {
		t.Fatal(err)
	}
	if fp.Score != 24 || fp.FalsePositives != 1 {
		t.Errorf("after a false positive: %+v", fp)
	}
	// Stored, and decaying between computations.
	later, err := sc.Get(e.ctx, id(1), at.Add(time.Hour))
	if err != nil || later.Score >= fp.Score {
		t.Errorf("an hour later: %+v %v", later, err)
	}
	keep := sc.Keep(e.ctx, 50, at)
	if keep(id(1)) || !keep(id(2)) {
		t.Error("Keep(50)")
	}
	hl, err := detect.ParseHalfLives("ip=7d,hash=2y")
	if err != nil || hl["ip"] != 7*24*time.Hour || hl["hash"] != 2*365*24*time.Hour {
		t.Errorf("ParseHalfLives: %v %v", hl, err)
	}
	if _, err := detect.ParseHalfLives("cat=1d"); err == nil {
		t.Error("unknown class accepted")
	}
}

func TestLoadMatcher(t *testing.T) {
	e := newEnv(t)
	e.importObjects(t, ingest.Options{Level: store.LevelCommunity},
		e.indicator(id(1), "[ipv4-addr:value = '198.51.100.1']", ""),
		e.indicator(id(2), "[ipv4-addr:value = '198.51.100.2']", `,"valid_until":"2025-02-01T00:00:00Z"`),
		e.indicator(id(3), "[ipv4-addr:value = '198.51.100.3']", `,"revoked":true`),
		e.indicator(id(4), "[process:name = 'x.exe']", ""),
	)
	e.importObjects(t, ingest.Options{Owner: e.orgB.ID, Level: store.LevelOrg}, e.indicator(id(5), "[ipv4-addr:value = '198.51.100.5']", ""))
	m, res, err := detect.LoadMatcher(e.ctx, e.st, detect.LoadOptions{Viewer: &store.Viewer{Org: e.orgA.ID}, Now: time.Date(2025, 6, 1, 0, 0, 0, 0, time.UTC)})
	if err != nil {
		t.Fatal(err)
	}
	if res.Read != 3 || res.Added != 1 || res.Expired != 1 || res.Unmatchable != 1 {
		t.Errorf("load %+v", res)
	}
	for i, want := range []int{1, 0, 0, 0, 0} {
		if got := len(m.MatchValue(match.PathIPv4, fmt.Sprintf("198.51.100.%d", i+1))); got != want {
			t.Errorf("198.51.100.%d: %d hits", i+1, got)
		}
	}
	// The expired indicator stays searchable.
	if n, _ := e.st.Count(e.ctx, store.Query{Value: "198.51.100.2"}); n != 1 {
		t.Errorf("expired indicator not found by value")
	}
}

func TestServiceEndToEnd(t *testing.T) {
	e := newEnv(t)
	e.importObjects(t, ingest.Options{Level: store.LevelCommunity},
		e.indicator(id(1), "[domain-name:value = 'evil.example']", `,"confidence":90,"kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"command-and-control"}],"external_references":[{"source_name":"mitre-attack","external_id":"T1071"}]`))
	svc := detect.NewService(detect.ServiceOptions{Store: e.st, Storage: e.st, Importer: e.im, Bus: e.b, FlushEvery: time.Hour})
	if err := svc.Start(e.ctx); err != nil {
		t.Fatal(err)
	}
	hits := make(chan []byte, 10)
	sub, _ := e.b.Subscribe(detect.SubjectHits, "test", func(_ context.Context, m bus.Message) error {
		hits <- m.Data
		return nil
	})
	defer sub.Unsubscribe()
	ts := time.Now().Add(-time.Hour).Unix()
	data := fmt.Sprintf(`{"ts":%d.5,"id.orig_h":"10.0.0.5","query":"c2.evil.example"}`+"\n"+`{"ts":%d.5,"query":"ok.example"}`+"\n", ts, ts)
	res, err := svc.Submit(e.ctx, detect.Submission{Org: e.orgA.ID, Format: "zeek"}, strings.NewReader(data))
	if err != nil || res.Lines != 2 || res.Batches != 1 {
		t.Fatalf("submit %+v %v", res, err)
	}
	var line detect.HitLine
	select {
	case b := <-hits:
		if err := json.Unmarshal(bytes.TrimSpace(b), &line); err != nil {
			t.Fatal(err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no hit announced")
	}
	if line.Indicator != id(1) || line.Match != "subdomain" || line.Value != "c2.evil.example" || line.Record != 1 || fmt.Sprint(line.Attack) != "[T1071]" || *line.Confidence != 90 || line.Org != e.orgA.ID {
		t.Errorf("hit %+v", line)
	}
	// A new indicator: added to the matcher and hunted in the history.
	e.importObjects(t, ingest.Options{Level: store.LevelCommunity}, e.indicator(id(2), "[domain-name:value = 'ok.example']", ""))
	deadline := time.Now().Add(10 * time.Second)
	for len(svc.Matcher().MatchValue(match.PathDomain, "ok.example")) == 0 || len(e.sightings(t, id(2))) == 0 {
		if time.Now().After(deadline) {
			t.Fatalf("new indicator: matcher %d, sightings %v", len(svc.Matcher().MatchValue(match.PathDomain, "ok.example")), e.sightings(t, id(2)))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if err := svc.Close(); err != nil {
		t.Fatal(err)
	}
	ss := e.sightings(t, id(1))
	if len(ss) != 1 || ss[0]["count"] != 1.0 || ss[0]["x_mamori_day"] != time.Unix(ts, 0).UTC().Format("2006-01-02") {
		t.Errorf("live sighting %v", ss)
	}
	rs := e.sightings(t, id(2))
	if len(rs) != 1 || rs[0]["x_mamori_retrospective"] != true {
		t.Errorf("retrospective sighting %v", rs)
	}
}
