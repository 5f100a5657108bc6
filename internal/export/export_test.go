package export_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/export"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/formats"
	"github.com/mamori-cti/mamori/internal/ingest/misp"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

const fixtures = "../../testdata/formats"

var now = time.Date(2026, 1, 20, 0, 0, 0, 0, time.UTC)

// fixtureStore holds the list fixtures (TLP green, confidence 60, valid 30
// days from 2026-01-01) and the MISP event (TLP amber), owned by org-a at
// organisation level.
func fixtureStore(t testing.TB) *sqlite.Store {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	im := &formats.Importer{Importer: &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}, Store: st}
	for _, f := range []string{"mixed.txt", "trails.tsv", "misp-event.json"} {
		in, err := os.Open(filepath.Join(fixtures, f))
		if err != nil {
			t.Fatal(err)
		}
		cfg := emit.Config{Identity: emit.SourceIdentityID(f), IdentityName: f, Epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC), ValidFor: 30 * 24 * time.Hour}
		if f != "misp-event.json" {
			cfg.Marking, cfg.Confidence, cfg.HasConfidence = stix.TLP2GreenID, 60, true
		}
		_, err = im.Import(context.Background(), f, in, formats.Options{Config: cfg, Import: ingest.Options{Owner: "org-a", Level: store.LevelOrg}})
		in.Close()
		if err != nil {
			t.Fatal(err)
		}
	}
	return st
}

func export1(t testing.TB, st store.Store, format string, opts export.Options) (string, export.ScanStats) {
	t.Helper()
	var buf bytes.Buffer
	opts.Now = now
	s, err := export.Write(context.Background(), st, format, opts, &buf)
	if err != nil {
		t.Fatalf("%s: %v", format, err)
	}
	return buf.String(), s
}

func TestFormats(t *testing.T) {
	st := fixtureStore(t)
	cases := []struct {
		format   string
		filter   export.Filter
		contains []string
		absent   []string
	}{
		{format: "txt", filter: export.Filter{Kinds: []string{"ip"}}, contains: []string{"198.51.100.7\n", "203.0.113.0/24\n", "2001:db8::1\n", "10.0.0.0/8\n"}, absent: []string{"evil.example"}},
		{format: "txt", filter: export.Filter{Kinds: []string{"domain"}, MaxTLP: "green"}, contains: []string{"evil.example\n", "c2.example\n"}, absent: []string{"www.c2.example"}},
		{format: "txt", filter: export.Filter{Kinds: []string{"sha256"}}, contains: []string{"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\n"}},
		{format: "txt", filter: export.Filter{Kinds: []string{"ip-port"}}, contains: []string{"203.0.113.9:8443\n", "[2001:db8::5]:3478\n"}},
		{format: "edl", filter: export.Filter{Kinds: []string{"url"}}, contains: []string{"evil.example/gate.php\n", "c2.example/admin/\n"}, absent: []string{"http://"}},
		{format: "csv", contains: []string{"value,type,port,indicator_id", "198.51.100.7,ipv4,," + emit.IndicatorID("[ipv4-addr:value = '198.51.100.7']") + ",,60,green,2026-01-01T00:00:00.000Z,2026-01-31T00:00:00.000Z"}},
		{format: "zeek", contains: []string{"#fields\tindicator\tindicator_type\tmeta.source\tmeta.desc\tmeta.url\n", "198.51.100.7\tIntel::ADDR\t", "203.0.113.0/24\tIntel::SUBNET", "evil.example\tIntel::DOMAIN", "evil.example/gate.php\tIntel::URL", "d41d8cd98f00b204e9800998ecf8427e\tIntel::FILE_HASH", "phish@example.com\tIntel::EMAIL"}},
		{format: "rpz", contains: []string{"$TTL 300", "evil.example CNAME .\n*.evil.example CNAME .\n", "32.7.100.51.198.rpz-ip CNAME .\n", "24.0.113.0.203.rpz-ip CNAME .\n", "128.1.zz.db8.2001.rpz-ip CNAME .\n"}},
		{format: "suricata", contains: []string{
			"alert ip any any <> 198.51.100.7 any (msg:\"mamori ipv4 198.51.100.7\"; classtype:trojan-activity; metadata:mamori_id ",
			"alert dns any any -> any any (msg:\"mamori domain evil.example\"; dns.query; dotprefix; content:\".evil.example\"; nocase; endswith;",
			"alert http any any -> any any (msg:\"mamori url http://evil.example/gate.php\"; flow:established,to_server; http.host; content:\"evil.example\"; nocase; endswith; http.uri; content:\"/gate.php\"; startswith;",
			"alert tcp any any -> 203.0.113.9 8443 ",
			"http.uri; content:\"/panel/gate.php\";",
			", confidence 60, tlp green; sid:"}},
		{format: "snort", contains: []string{
			"alert udp any any -> any 53 (msg:\"mamori domain evil.example\"; content:\"|04|evil|07|example|00|\", nocase, fast_pattern;",
			"http_header:field host; content:\"evil.example\", nocase; http_uri; content:\"/gate.php\";"}},
		{format: "misp", filter: export.Filter{Kinds: []string{"domain"}}, contains: []string{`"type":"domain","category":"Network activity","to_ids":true,"value":"evil.example"`, `{"name":"tlp:green"}`}},
		{format: "txt", filter: export.Filter{Kinds: []string{"ip"}, MinConfidence: 70}, absent: []string{"198.51.100.7"}},
		{format: "txt", filter: export.Filter{Kinds: []string{"domain"}, Sources: []string{emit.SourceIdentityID("trails.tsv")}}, contains: []string{"c2.example\n"}, absent: []string{"evil.example"}},
		{format: "txt", filter: export.Filter{Kinds: []string{"ip"}, ValidOnly: true, Now: time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)}, absent: []string{"198.51.100.7"}},
	}
	for _, c := range cases {
		out, stats := export1(t, st, c.format, export.Options{Filter: c.filter})
		for _, w := range c.contains {
			if !strings.Contains(out, w) {
				t.Errorf("%s %+v: missing %q in\n%s", c.format, c.filter, w, out)
			}
		}
		for _, w := range c.absent {
			if strings.Contains(out, w) {
				t.Errorf("%s %+v: %q should be left out", c.format, c.filter, w)
			}
		}
		if stats.Indicators == 0 {
			t.Errorf("%s: no indicators read", c.format)
		}
	}
}

func TestViewer(t *testing.T) {
	st := fixtureStore(t)
	out, _ := export1(t, st, "txt", export.Options{Filter: export.Filter{Kinds: []string{"ip"}, Viewer: &store.Viewer{Org: "org-b"}}})
	if out != "" {
		t.Errorf("another organisation sees %q", out)
	}
	out, _ = export1(t, st, "txt", export.Options{Filter: export.Filter{Kinds: []string{"ip"}, Viewer: &store.Viewer{Org: "org-a"}}})
	if !strings.Contains(out, "198.51.100.7") {
		t.Errorf("the owner sees %q", out)
	}
	out, _ = export1(t, st, "stix", export.Options{Filter: export.Filter{Viewer: &store.Viewer{Org: "org-b"}}})
	if strings.Contains(out, "indicator--") {
		t.Errorf("stix export leaks to another organisation")
	}
}

func TestStableSIDs(t *testing.T) {
	st := fixtureStore(t)
	a, _ := export1(t, st, "suricata", export.Options{})
	b, _ := export1(t, st, "suricata", export.Options{})
	strip := func(s string) string { return s[strings.Index(s, "\n# One"):] }
	if strip(a) != strip(b) {
		t.Error("two exports give different rules")
	}
	seen := map[string]bool{}
	for _, l := range strings.Split(a, "\n") {
		i := strings.Index(l, "sid:")
		if i < 0 {
			continue
		}
		sid := l[i : i+strings.IndexByte(l[i:], ';')]
		if seen[sid] {
			t.Errorf("duplicate %s", sid)
		}
		seen[sid] = true
	}
}

func TestSuricataDatasets(t *testing.T) {
	st := fixtureStore(t)
	dir := t.TempDir()
	out, _ := export1(t, st, "suricata", export.Options{DatasetDir: dir})
	if !strings.Contains(out, "dns.query; dataset:isset,mamori-domains,type string,load "+filepath.Join(dir, "mamori-domains.lst")) ||
		!strings.Contains(out, "filemd5:"+filepath.Join(dir, "mamori-md5.txt")) || strings.Contains(out, "dotprefix") {
		t.Fatalf("%s", out)
	}
	b, _ := os.ReadFile(filepath.Join(dir, "mamori-domains.lst"))
	if !strings.Contains(string(b), "ZXZpbC5leGFtcGxl\n") { // evil.example
		t.Errorf("domains dataset %q", b)
	}
}

func TestMISPRoundTrip(t *testing.T) {
	st := fixtureStore(t)
	out, _ := export1(t, st, "misp", export.Options{Filter: export.Filter{Kinds: []string{"domain", "ip"}}, Name: "weekly"})
	var ids []string
	rd := misp.NewReader("export", strings.NewReader(out), &emit.Config{Notices: &emit.Notices{}})
	err := rd.Source()(func(i int, raw []byte) error {
		var m map[string]any
		json.Unmarshal(raw, &m)
		if m["type"] == "indicator" {
			ids = append(ids, m["id"].(string))
		}
		return nil
	}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	want := emit.IndicatorID("[domain-name:value = 'evil.example']")
	found := false
	for _, id := range ids {
		found = found || id == want
	}
	if !found || rd.Stats.Rejected != 0 {
		t.Errorf("%v %+v", ids, rd.Stats)
	}
}

func TestBadOptions(t *testing.T) {
	st := fixtureStore(t)
	for _, c := range []struct {
		format string
		opts   export.Options
	}{
		{"txt", export.Options{}},
		{"edl", export.Options{Filter: export.Filter{Kinds: []string{"md5"}}}},
		{"pdf", export.Options{}},
		{"csv", export.Options{Filter: export.Filter{Kinds: []string{"nope"}}}},
		{"csv", export.Options{Filter: export.Filter{MaxTLP: "purple"}}},
		{"rpz", export.Options{RPZAction: "explode"}},
	} {
		if _, err := export.Write(context.Background(), st, c.format, c.opts, &bytes.Buffer{}); err == nil {
			t.Errorf("%s %+v accepted", c.format, c.opts)
		}
	}
}

type failingWriter struct{ n int }

func (f *failingWriter) Write(p []byte) (int, error) {
	f.n++
	return 0, os.ErrClosed
}

func TestFailingDestination(t *testing.T) {
	st := fixtureStore(t)
	fw := &failingWriter{}
	_, err := export.Write(context.Background(), st, "csv", export.Options{}, fw)
	if err == nil || fw.n != 1 {
		t.Errorf("%v after %d writes", err, fw.n)
	}
}
