package ioc_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/ioc"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

var epoch = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

type collected struct {
	objs    []map[string]any
	idx     []int
	notices []emit.Notice
}

// collect runs a source and decodes what it emits; every object must pass
// validation.
func collect(t testing.TB, src ingest.Source, ns *emit.Notices) *collected {
	t.Helper()
	c := &collected{}
	ns.On = func(n emit.Notice) { c.notices = append(c.notices, n) }
	v := ingest.DefaultValidator()
	err := src(func(i int, raw []byte) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("object %d: %v: %s", i, err, raw)
		}
		if vs := v.Validate(m); len(vs) > 0 {
			t.Errorf("object %d invalid: %v\n%s", i, vs, raw)
		}
		c.objs = append(c.objs, m)
		c.idx = append(c.idx, i)
		return nil
	}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func (c *collected) ofType(typ string) []map[string]any {
	var out []map[string]any
	for _, o := range c.objs {
		if o["type"] == typ {
			out = append(out, o)
		}
	}
	return out
}

func (c *collected) patterns() []string {
	var out []string
	for _, o := range c.ofType("indicator") {
		out = append(out, o["pattern"].(string))
	}
	return out
}

func fixture(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join("..", "..", "..", "testdata", "formats", name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func newConfig(name string) *emit.Config {
	return &emit.Config{Source: name, Identity: emit.SourceIdentityID(name), IdentityName: name, Marking: stix.TLP2GreenID,
		Confidence: 60, HasConfidence: true, Epoch: epoch, ValidFor: 30 * 24 * time.Hour, Notices: &emit.Notices{}}
}

func TestLists(t *testing.T) {
	cases := []struct {
		file     string
		opts     ioc.ListOptions
		patterns []string
		stats    ioc.ListStats
		notices  []string // substrings, in order
	}{
		{
			file: "mixed.txt",
			patterns: []string{
				"[ipv4-addr:value = '198.51.100.7']",
				"[ipv4-addr:value = '203.0.113.0/24']",
				"[ipv6-addr:value = '2001:db8::1']",
				"[domain-name:value = 'evil.example']",
				"[url:value = 'http://evil.example/gate.php']",
				"[email-addr:value = 'phish@example.com']",
				"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']",
				"[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
				"[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855']",
				"[file:hashes.'SHA-512' = 'cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e']",
				"[network-traffic:dst_ref.value = '203.0.113.9' AND network-traffic:dst_port = 8443]",
				"[ipv4-addr:value = '10.0.0.0/8']",
				"[domain-name:value = 'hosts-style.example']",
			},
			stats:   ioc.ListStats{Lines: 18, Blank: 3, Values: 13, Rejected: 1, Duplicates: 1},
			notices: []string{"rejected mixed.txt:line 15", "duplicate mixed.txt:line 16: \"198.51.100.7\": same indicator as line 4", "changed mixed.txt:line 17"},
		},
		{
			file: "trails.tsv",
			patterns: []string{
				"[ipv4-addr:value = '198.51.100.20']",
				"[network-traffic:dst_ref.value = '203.0.113.30' AND network-traffic:dst_port = 443]",
				"[url:value LIKE '%/panel/gate.php%']",
				"[domain-name:value = 'c2.example']",
				"[url:value = 'c2.example/admin/']",
				"[ipv4-addr:value = '198.51.100.0/28']",
				"[network-traffic:dst_ref.value = '2001:db8::5' AND network-traffic:dst_port = 3478]",
			},
			stats:   ioc.ListStats{Lines: 11, Blank: 1, Values: 7, Rejected: 3},
			notices: []string{"rejected trails.tsv:line 9", "rejected trails.tsv:line 10", "rejected trails.tsv:line 11: \"198.51.100.21\": unknown type \"foo\""},
		},
		{
			file:     "hashes.txt",
			patterns: []string{"[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e']", "[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"},
			stats:    ioc.ListStats{Lines: 5, Blank: 2, Values: 2, Rejected: 1},
			notices:  []string{"rejected hashes.txt:line 5: \"zzzz\""},
		},
		{
			file:     "hashes.txt",
			opts:     ioc.ListOptions{Kind: ioc.SHA1},
			patterns: []string{"[file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']"},
			stats:    ioc.ListStats{Lines: 5, Blank: 2, Values: 1, Rejected: 2},
		},
		{
			file:     "counts.txt",
			patterns: []string{"[ipv4-addr:value = '198.51.100.7']", "[ipv4-addr:value = '198.51.100.8']", "[ipv4-addr:value = '203.0.113.77']"},
			stats:    ioc.ListStats{Lines: 4, Blank: 1, Values: 3},
		},
	}
	for _, c := range cases {
		t.Run(c.file, func(t *testing.T) {
			cfg := newConfig(c.file)
			lr := ioc.NewListReader(c.file, fixture(t, c.file), cfg, c.opts)
			got := collect(t, lr.Source(), cfg.Notices)
			if ps := got.patterns(); !slices.Equal(ps, c.patterns) {
				t.Errorf("patterns:\n got %q\nwant %q", ps, c.patterns)
			}
			if lr.Stats != c.stats {
				t.Errorf("stats %+v, want %+v", lr.Stats, c.stats)
			}
			var ns []string
			for _, n := range got.notices {
				ns = append(ns, n.String())
			}
			j := 0
			for _, n := range ns {
				if j < len(c.notices) && strings.Contains(n, c.notices[j]) {
					j++
				}
			}
			if j < len(c.notices) {
				t.Errorf("notices %q\nmissing %q", ns, c.notices[j:])
			}
			// Every line is accounted for.
			if s := lr.Stats; s.Blank+s.Values+s.Rejected+s.Duplicates+s.Dropped != s.Lines {
				t.Errorf("lines not accounted for: %+v", s)
			}
			for _, o := range got.ofType("indicator") {
				p := o["pattern"].(string)
				if o["id"] != emit.IndicatorID(p) {
					t.Errorf("%s: id %s is not derived from the pattern", p, o["id"])
				}
				if pt, err := pattern.Parse(p); err != nil || pt.String() != p {
					t.Errorf("%s: not canonical (%v)", p, err)
				}
				if o["created_by_ref"] != cfg.Identity || o["valid_from"] != "2026-01-02T03:04:05.000Z" || o["valid_until"] != "2026-02-01T03:04:05.000Z" {
					t.Errorf("%s: wrong source or validity: %v", p, o)
				}
				if refs, _ := o["object_marking_refs"].([]any); len(refs) != 1 || refs[0] != stix.TLP2GreenID {
					t.Errorf("%s: marking %v", p, o["object_marking_refs"])
				}
			}
			if len(got.ofType("identity")) != 1 || len(got.ofType("marking-definition")) != 1 {
				t.Errorf("want one identity and one marking definition")
			}
		})
	}
}

func TestTrailsLabels(t *testing.T) {
	cfg := newConfig("trails")
	got := collect(t, ioc.NewListReader("trails", fixture(t, "trails.tsv"), cfg, ioc.ListOptions{}).Source(), cfg.Notices)
	ind := got.ofType("indicator")
	if l := ind[0]["labels"]; len(l.([]any)) != 2 || l.([]any)[0] != "malware" || l.([]any)[1] != "examplebot" {
		t.Errorf("labels %v", l)
	}
	if it := ind[4]["indicator_types"].([]any); it[0] != "anomalous-activity" {
		t.Errorf("suspicious category: %v", it)
	}
}

func TestCountsAndColumns(t *testing.T) {
	cfg := newConfig("counts")
	got := collect(t, ioc.NewListReader("counts", fixture(t, "counts.txt"), cfg, ioc.ListOptions{}).Source(), cfg.Notices)
	if n := got.ofType("indicator")[2]["x_mamori_list_count"]; n != json.Number("10") {
		t.Errorf("count %v", n)
	}
	// Columns chosen explicitly: the value is in column 2.
	in := "# x\nfoo,198.51.100.9,80\nbar,\"c2.example\",90\nbaz,,70\n"
	cfg = newConfig("cols")
	lr := ioc.NewListReader("cols", strings.NewReader(in), cfg, ioc.ListOptions{Delimiter: ",", Columns: map[string]int{"value": 2, "confidence": 3, "comment": 1}})
	got = collect(t, lr.Source(), cfg.Notices)
	ind := got.ofType("indicator")
	if len(ind) != 2 || ind[1]["confidence"] != json.Number("90") || ind[1]["description"] != "bar" {
		t.Fatalf("%v", ind)
	}
	if lr.Stats.Rejected != 1 || len(got.notices) != 1 || !strings.Contains(got.notices[0].String(), "cols:line 4") {
		t.Errorf("%+v %v", lr.Stats, got.notices)
	}
}

func TestDeterministicAcrossLists(t *testing.T) {
	a := newConfig("a")
	b := newConfig("b")
	ga := collect(t, ioc.NewListReader("a", strings.NewReader("evil.example\n"), a, ioc.ListOptions{}).Source(), a.Notices)
	gb := collect(t, ioc.NewListReader("b", strings.NewReader("hxxp://x\nEVIL[.]EXAMPLE\n"), b, ioc.ListOptions{}).Source(), b.Notices)
	if ga.ofType("indicator")[0]["id"] != gb.ofType("indicator")[0]["id"] {
		t.Error("the same value from two lists has two ids")
	}
	if ga.ofType("identity")[0]["id"] == gb.ofType("identity")[0]["id"] {
		t.Error("two lists share an identity")
	}
}

func TestLongLine(t *testing.T) {
	cfg := newConfig("long")
	in := "198.51.100.1\n" + strings.Repeat("a", 100<<10) + "\n198.51.100.2\n"
	lr := ioc.NewListReader("long", strings.NewReader(in), cfg, ioc.ListOptions{})
	got := collect(t, lr.Source(), cfg.Notices)
	if len(got.ofType("indicator")) != 2 || lr.Stats.Rejected != 1 || !strings.Contains(got.notices[0].String(), "long:line 2: line longer than") {
		t.Errorf("%+v %v", lr.Stats, got.notices)
	}
}
