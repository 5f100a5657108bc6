package formats_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/formats"
	"github.com/mamori-cti/mamori/internal/ingest/warninglist"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

const fixtures = "../../../testdata/formats"

func newImporter(t testing.TB) (*formats.Importer, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return &formats.Importer{Importer: &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}, Store: st}, st
}

func open(t testing.TB, name string) *os.File {
	t.Helper()
	f, err := os.Open(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

func TestImportEveryFormat(t *testing.T) {
	im, st := newImporter(t)
	ctx := context.Background()
	cases := []struct {
		file, format string
		new          int
		notices      map[string]int
	}{
		{"mixed.txt", "txt", 14, map[string]int{"rejected": 1, "duplicate": 1, "changed": 1}},
		{"trails.tsv", "csv", 8, map[string]int{"rejected": 3}},
		{"misp-event.json", "misp", 0, nil},
		{"kev.json", "kev", 2, map[string]int{"rejected": 1}},
		{"cve.jsonl", "cve", 2, map[string]int{"rejected": 1}},
		{"osv.json", "osv", 1, nil},
		{"../kb-sample.json", "stix", 0, nil},
	}
	for _, c := range cases {
		var ns []string
		opts := formats.Options{OnNotice: func(n emit.Notice) { ns = append(ns, n.String()) }}
		if c.format == "txt" || c.format == "csv" {
			opts.Config = emit.Config{Identity: emit.SourceIdentityID(c.file), IdentityName: c.file, Epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
		}
		res, err := im.Import(ctx, c.file, open(t, c.file), opts)
		if err != nil {
			t.Errorf("%s: %v", c.file, err)
			continue
		}
		if res.Format != c.format {
			t.Errorf("%s: detected %s, want %s", c.file, res.Format, c.format)
		}
		if c.new > 0 && res.New != c.new {
			t.Errorf("%s: %s", c.file, res.Summary())
		}
		if res.Rejected != 0 {
			t.Errorf("%s: %d rejected by validation", c.file, res.Rejected)
		}
		for k, v := range c.notices {
			if res.Notices[k] != v {
				t.Errorf("%s: %d %s notices, want %d: %v", c.file, res.Notices[k], k, v, ns)
			}
		}
		if res.Sources == 0 {
			t.Errorf("%s: no provenance recorded", c.file)
		}
	}
	// Provenance of a list indicator.
	id := emit.IndicatorID("[ipv4-addr:value = '198.51.100.7']")
	srcs, err := st.Sources(ctx, id)
	if err != nil || len(srcs) != 1 || srcs[0].Source != "mixed.txt" {
		t.Fatalf("sources %+v %v", srcs, err)
	}
	rec, err := st.Get(ctx, id, store.GetOptions{})
	if err != nil || !bytes.Contains(rec.Raw, []byte(emit.SourceIdentityID("mixed.txt"))) {
		t.Fatalf("%v %s", err, rec.Raw)
	}
}

func TestSameIndicatorFromTwoLists(t *testing.T) {
	im, st := newImporter(t)
	ctx := context.Background()
	for i, name := range []string{"feed-a", "feed-b", "feed-a"} {
		opts := formats.Options{Source: name, Config: emit.Config{Identity: emit.SourceIdentityID(name), IdentityName: name, Epoch: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}}
		in := "hxxp://evil[.]example/x\n198.51.100.7\n"
		if name == "feed-b" {
			in = "198.51.100.7\n"
		}
		res, err := im.Import(ctx, name, strings.NewReader(in), opts)
		if err != nil {
			t.Fatal(err)
		}
		if i == 2 && (res.New != 0 || res.Unchanged != 3) {
			t.Errorf("reimport: %s", res.Summary())
		}
	}
	srcs, err := st.Sources(ctx, emit.IndicatorID("[ipv4-addr:value = '198.51.100.7']"))
	if err != nil || len(srcs) != 2 {
		t.Fatalf("%+v %v", srcs, err)
	}
	if srcs[0].Source != "feed-a" || srcs[0].Count != 2 || srcs[1].Source != "feed-b" {
		t.Errorf("%+v", srcs)
	}
	n, err := st.Count(ctx, store.Query{Types: []string{"indicator"}})
	if err != nil || n != 2 {
		t.Errorf("%d indicators, want 2 (%v)", n, err)
	}
}

func TestGzipAndForcedFormat(t *testing.T) {
	im, _ := newImporter(t)
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("evil.example\n"))
	zw.Close()
	res, err := im.Import(context.Background(), "x.gz", &buf, formats.Options{})
	if err != nil || res.New != 1 || res.Format != "txt" {
		t.Fatalf("%+v %v", res, err)
	}
	// A forced format that does not fit fails with the document's position.
	_, err = im.Import(context.Background(), "x", strings.NewReader("evil.example\n"), formats.Options{Format: "misp"})
	if err == nil || !strings.Contains(err.Error(), "x: $") {
		t.Errorf("%v", err)
	}
	_, err = im.Import(context.Background(), "x", strings.NewReader(`{"foo": 1}`), formats.Options{})
	if err == nil || !strings.Contains(err.Error(), "--format") {
		t.Errorf("%v", err)
	}
}

func TestFeedDir(t *testing.T) {
	im, st := newImporter(t)
	res, err := im.ImportFeedDir(context.Background(), filepath.Join(fixtures, "misp-feed"), 0, formats.Options{Source: "misp-feed"})
	if err != nil {
		t.Fatal(err)
	}
	if res.New == 0 || res.Rejected != 0 {
		t.Errorf("%s", res.Summary())
	}
	n, _ := st.Count(context.Background(), store.Query{Types: []string{"report"}})
	if n != 2 {
		t.Errorf("%d reports", n)
	}
	// Events not newer than since are skipped.
	res, err = im.ImportFeedDir(context.Background(), filepath.Join(fixtures, "misp-feed"), 1768300000, formats.Options{})
	if err != nil || res.Read == 0 || res.New != 0 {
		t.Errorf("%s %v", res.Summary(), err)
	}
}

func TestWarninglistOnBundle(t *testing.T) {
	im, st := newImporter(t)
	wl, err := warninglist.Load(filepath.Join(fixtures, "warninglists"))
	if err != nil {
		t.Fatal(err)
	}
	bundle := `{"type":"bundle","id":"bundle--0b0a9d4c-3c3e-4b7f-9b1e-000000000001","objects":[
{"type":"indicator","spec_version":"2.1","id":"indicator--0b0a9d4c-3c3e-4b7f-9b1e-000000000002","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '198.51.100.7']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"},
{"type":"indicator","spec_version":"2.1","id":"indicator--0b0a9d4c-3c3e-4b7f-9b1e-000000000003","created":"2026-01-01T00:00:00.000Z","modified":"2026-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '192.0.2.1']","pattern_type":"stix","valid_from":"2026-01-01T00:00:00Z"}]}`
	res, err := im.Import(context.Background(), "b.json", strings.NewReader(bundle), formats.Options{Config: emit.Config{Check: wl.Check}})
	if err != nil || res.New != 2 {
		t.Fatalf("%+v %v", res, err)
	}
	rec, _ := st.Get(context.Background(), "indicator--0b0a9d4c-3c3e-4b7f-9b1e-000000000002", store.GetOptions{})
	if !bytes.Contains(rec.Raw, []byte("warninglist:docnets")) {
		t.Errorf("%s", rec.Raw)
	}
	im2, _ := newImporter(t)
	res, err = im2.Import(context.Background(), "b.json", strings.NewReader(bundle), formats.Options{Config: emit.Config{Check: wl.Check, DropListed: true}})
	if err != nil || res.New != 1 || res.Notices["dropped"] != 1 {
		t.Errorf("%+v %v", res, err)
	}
}

func TestTopLevelID(t *testing.T) {
	for in, want := range map[string]string{
		`{"type":"x","id":"a--b"}`:                            "a--b",
		`{"ext":{"id":"no"},"list":[{"id":"no"}],"id":"yes"}`: "yes",
		` { "id" : "sp" }`:                                    "sp",
		`{"x":"\"id\":\"no\"","id":"ok"}`:                     "ok",
		`{"type":"x"}`:                                        "",
		`[]`:                                                  "",
	} {
		if got := formats.TopLevelID([]byte(in)); got != want {
			t.Errorf("TopLevelID(%s) = %q, want %q", in, got, want)
		}
	}
}
