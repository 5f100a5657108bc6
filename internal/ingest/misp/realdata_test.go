package misp_test

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/misp"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

func sharedData(t testing.TB) string {
	t.Helper()
	for _, d := range []string{os.Getenv("MAMORI_SHARED"), "../../../../shared", "../../../shared"} {
		if d == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(d, "data", "misp")); err == nil && st.IsDir() {
			return filepath.Join(d, "data")
		}
	}
	t.Skip("shared CTI data not found (set MAMORI_SHARED)")
	return ""
}

type tarFile struct {
	name string
	data []byte
}

func readTar(t testing.TB, path string) []tarFile {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(zr)
	var out []tarFile
	for {
		h, err := tr.Next()
		if errors.Is(err, io.EOF) {
			return out
		}
		if err != nil {
			t.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") {
			continue
		}
		b, err := io.ReadAll(tr)
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, tarFile{h.Name, b})
	}
}

// countAttributes counts attributes (inside objects too) in a MISP document
// independently of the reader.
func countAttributes(t testing.TB, data []byte) int {
	var doc any
	if err := json.Unmarshal(data, &doc); err != nil {
		t.Fatal(err)
	}
	var events []map[string]any
	var walk func(v any)
	walk = func(v any) {
		switch x := v.(type) {
		case []any:
			for _, e := range x {
				walk(e)
			}
		case map[string]any:
			if ev, ok := x["Event"].(map[string]any); ok {
				events = append(events, ev)
			} else if r, ok := x["response"]; ok {
				walk(r)
			} else {
				events = append(events, x)
			}
		}
	}
	walk(doc)
	n := 0
	for _, ev := range events {
		attrs, _ := ev["Attribute"].([]any)
		n += len(attrs)
		objs, _ := ev["Object"].([]any)
		for _, o := range objs {
			if om, ok := o.(map[string]any); ok {
				a, _ := om["Attribute"].([]any)
				n += len(a)
			}
		}
	}
	return n
}

// notEvents are the PyMISP fixtures that are not MISP events: object
// templates, a galaxy definition, a lone sighting and an empty object.
var notEvents = map[string]bool{
	"tests/mispevent_testfiles/test_object_template/definition.json": true,
	"tests/mispevent_testfiles/overwrite_file/definition.json":       true,
	"tests/mispevent_testfiles/galaxy.json":                          true,
	"tests/mispevent_testfiles/sighting.json":                        true,
	"tests/mispevent_testfiles/simple.json":                          true,
}

func TestRealEvents(t *testing.T) {
	dir := filepath.Join(sharedData(t), "misp")
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	for _, set := range []struct {
		file   string
		events int // files
	}{{"eset-misp-events.tar.gz", 57}, {"pymisp-test-events.tar.gz", 37}} {
		files := readTar(t, filepath.Join(dir, set.file))
		if len(files) != set.events {
			t.Fatalf("%s: %d JSON files, want %d", set.file, len(files), set.events)
		}
		var total misp.Stats
		for _, f := range files {
			name := strings.TrimPrefix(f.name, "./")
			cfg := &emit.Config{Source: name, Notices: &emit.Notices{}}
			reasons := map[string]int{}
			cfg.Notices.On = func(n emit.Notice) { reasons[n.Kind+": "+n.Reason]++ }
			rd := misp.NewReader(name, bytes.NewReader(f.data), cfg)
			res, err := im.Import(context.Background(), rd.Source(), name, ingest.Options{
				OnReject: func(r ingest.Rejection) {
					t.Errorf("%s: %s: rejected by validation: %v", name, rd.Origin(r.Index), r.Violations)
				},
			})
			want := countAttributes(t, f.data)
			if notEvents[name] {
				if !errors.Is(err, misp.ErrNotMISP) && want == 0 && err == nil {
					// An empty object or a sighting: nothing to import.
				}
				if want != 0 {
					t.Errorf("%s: %d attributes in a document that is not an event", name, want)
				}
				t.Logf("%s: not an event: %v", name, err)
				continue
			}
			if err != nil {
				t.Errorf("%s: %v", name, err)
				continue
			}
			s := rd.Stats
			if s.Attributes != want || s.Accounted() != want {
				t.Errorf("%s: %d attributes, read %d, accounted for %d: %+v", name, want, s.Attributes, s.Accounted(), s)
			}
			if res.Rejected > 0 {
				t.Errorf("%s: %d objects rejected", name, res.Rejected)
			}
			for k, v := range reasons {
				if strings.HasPrefix(k, emit.Rejected) {
					t.Logf("%s: %d × %s", name, v, k)
				}
			}
			addStats(&total, s)
		}
		t.Logf("%s: %+v", set.file, total)
	}
}

func addStats(a *misp.Stats, b misp.Stats) {
	a.Events += b.Events
	a.Attributes += b.Attributes
	a.InIndicators += b.InIndicators
	a.InObservables += b.InObservables
	a.InOther += b.InOther
	a.Skipped += b.Skipped
	a.Rejected += b.Rejected
	a.Dropped += b.Dropped
	a.Objects += b.Objects
	a.Clusters += b.Clusters
	a.Sightings += b.Sightings
	a.Proposals += b.Proposals
	a.Emitted += b.Emitted
}
