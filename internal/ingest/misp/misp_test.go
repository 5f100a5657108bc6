package misp_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/misp"
	"github.com/mamori-cti/mamori/internal/ingest/warninglist"
	"github.com/mamori-cti/mamori/internal/stix"
)

const fixtures = "../../../testdata/formats"

type result struct {
	objs    map[string]map[string]any
	order   []string
	notices []emit.Notice
	stats   misp.Stats
}

func (r *result) byType(typ string) []map[string]any {
	var out []map[string]any
	for _, id := range r.order {
		if strings.HasPrefix(id, typ+"--") {
			out = append(out, r.objs[id])
		}
	}
	return out
}

func read(t testing.TB, name string, data []byte, cfg *emit.Config) (*result, error) {
	t.Helper()
	res := &result{objs: map[string]map[string]any{}}
	if cfg == nil {
		cfg = &emit.Config{}
	}
	cfg.Source = name
	cfg.Notices = &emit.Notices{On: func(n emit.Notice) { res.notices = append(res.notices, n) }}
	rd := misp.NewReader(name, bytes.NewReader(data), cfg)
	v := ingest.DefaultValidator()
	err := rd.Source()(func(i int, raw []byte) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatalf("%s: %v", rd.Origin(i), err)
		}
		if vs := v.Validate(m); len(vs) > 0 {
			t.Errorf("%s: invalid %v\n%s", rd.Origin(i), vs, raw)
		}
		id := m["id"].(string)
		if _, dup := res.objs[id]; !dup {
			res.order = append(res.order, id)
		}
		res.objs[id] = m
		return nil
	}, func(string) {})
	res.stats = rd.Stats
	return res, err
}

func load(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func strs(v any) []string {
	var out []string
	for _, x := range v.([]any) {
		out = append(out, x.(string))
	}
	return out
}

func TestEvent(t *testing.T) {
	r, err := read(t, "misp-event.json", load(t, "misp-event.json"), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := r.stats
	want := misp.Stats{Events: 1, Attributes: 17, InIndicators: 6, InObservables: 4, InOther: 5, Skipped: 1, Rejected: 1,
		Objects: 2, Clusters: 3, Sightings: 2, Proposals: 1, Emitted: s.Emitted}
	if s != want {
		t.Errorf("stats\n got %+v\nwant %+v", s, want)
	}
	if s.Accounted() != s.Attributes {
		t.Errorf("%d of %d attributes accounted for", s.Accounted(), s.Attributes)
	}
	// Notices carry the JSON path.
	for _, w := range []string{
		`rejected misp-event.json:$.Event.Attribute[3]: "not-an-ip": ip-dst: not an IP address`,
		`skipped misp-event.json:$.Event.Attribute[7]: "http://c2.example/gate.php": deleted attribute`,
		`skipped misp-event.json:$.Event.Attribute[8].ShadowAttribute[0]`,
	} {
		if !slices.ContainsFunc(r.notices, func(n emit.Notice) bool { return strings.HasPrefix(n.String(), w) }) {
			t.Errorf("missing notice %q in %v", w, r.notices)
		}
	}
	rep := r.objs["report--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0001"]
	if rep == nil {
		t.Fatal("no report")
	}
	if m := strs(rep["object_marking_refs"]); m[0] != stix.TLP2AmberID {
		t.Errorf("report marking %v", m)
	}
	if l := strs(rep["labels"]); !slices.Equal(l, []string{"osint"}) {
		t.Errorf("report labels %v", l)
	}
	refs := strs(rep["object_refs"])
	for id := range r.objs {
		typ, _, _ := strings.Cut(id, "--")
		if typ == "identity" || typ == "marking-definition" || typ == "report" || stix.IsObservableType(typ) || typ == "network-traffic" {
			continue
		}
		if !slices.Contains(refs, id) {
			t.Errorf("report does not refer to %s", id)
		}
	}
	patterns := map[string]string{}
	for _, ind := range r.byType("indicator") {
		patterns[ind["id"].(string)] = ind["pattern"].(string)
	}
	for id, p := range map[string]string{
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0101": "[ipv4-addr:value = '198.51.100.7']",
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0103": "[file:hashes.'SHA-256' = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855' AND file:name = 'invoice.doc']",
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0109": "[domain-name:value = 'www.c2.example' AND domain-name:resolves_to_refs[*].value = '203.0.113.5']",
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0201": "[file:hashes.MD5 = 'd41d8cd98f00b204e9800998ecf8427e' OR file:hashes.'SHA-1' = 'da39a3ee5e6b4b0d3255bfef95601890afd80709']",
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0202": "[ipv4-addr:value = '203.0.113.9']",
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0110": "rule example { strings: $a = \"x\" condition: $a }",
	} {
		if patterns[id] != p && strings.TrimSuffix(strings.TrimPrefix(patterns[id], "["), "]") != strings.TrimSuffix(strings.TrimPrefix(p, "["), "]") {
			t.Errorf("%s: pattern %q, want %q", id, patterns[id], p)
		}
	}
	// The not-to_ids domain is an observable with its own TLP.
	od := r.objs["observed-data--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0102"]
	if od == nil || strs(od["object_marking_refs"])[0] != stix.TLP2GreenID {
		t.Fatalf("observed-data %v", od)
	}
	dn := r.objs[strs(od["object_refs"])[0]]
	if dn["type"] != "domain-name" || dn["value"] != "c2.example" {
		t.Errorf("domain %v", dn)
	}
	if id, _ := stix.SCOID(dn); id != dn["id"] {
		t.Errorf("SCO id %s is not deterministic (%s)", dn["id"], id)
	}
	// The file object: one file observable with name, hashes and size; the
	// text attribute kept as a property.
	fod := r.objs["observed-data--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0201"]
	file := r.objs[strs(fod["object_refs"])[0]]
	if file["name"] != "dropper.exe" || file["size"] != json.Number("0") || len(file["hashes"].(map[string]any)) != 2 {
		t.Errorf("file %v", file)
	}
	if xa := fod["x_misp_attributes"].([]any); len(xa) != 1 || xa[0].(map[string]any)["value"] != "Malicious" {
		t.Errorf("x_misp_attributes %v", fod["x_misp_attributes"])
	}
	// Galaxies and relationships.
	ap := r.objs["attack-pattern--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00b1"]
	if ap["name"] != "Spearphishing Attachment" || ap["external_references"].([]any)[0].(map[string]any)["external_id"] != "T1566.001" {
		t.Errorf("attack-pattern %v", ap)
	}
	mw := r.objs["malware--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00b2"]
	if mw["name"] != "ExampleRAT" || strs(mw["aliases"])[0] != "ExRAT" || mw["is_family"] != true {
		t.Errorf("malware %v", mw)
	}
	ta := r.byType("threat-actor")
	if len(ta) != 1 || ta[0]["name"] != "Example Panda" {
		t.Fatalf("threat-actor %v", ta)
	}
	rels := map[string]bool{}
	for _, rel := range r.byType("relationship") {
		rels[rel["source_ref"].(string)+" "+rel["relationship_type"].(string)+" "+rel["target_ref"].(string)] = true
	}
	for _, w := range []string{
		ta[0]["id"].(string) + " uses attack-pattern--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00b1",
		ta[0]["id"].(string) + " uses malware--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00b2",
		"malware--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00b2 uses attack-pattern--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00b1",
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0103 indicates malware--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00b2",
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0201 connects-to indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0202",
		"indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0201 based-on observed-data--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0201",
	} {
		if !rels[w] {
			t.Errorf("missing relationship %s", w)
		}
	}
	// Sightings.
	sg := r.objs["sighting--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0901"]
	if sg["sighting_of_ref"] != "indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0101" || strs(sg["where_sighted_refs"])[0] != "identity--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00ab" {
		t.Errorf("sighting %v", sg)
	}
	if fp := r.objs["sighting--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0902"]; fp["x_misp_sighting_type"] != "false-positive" {
		t.Errorf("false positive %v", fp)
	}
	// Link, vulnerability, text.
	if ext := rep["external_references"].([]any); len(ext) != 2 || ext[1].(map[string]any)["url"] != "https://blog.example/report" {
		t.Errorf("report references %v", ext)
	}
	if v := r.objs["vulnerability--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0107"]; v["name"] != "CVE-2025-0001" {
		t.Errorf("vulnerability %v", v)
	}
	if n := r.objs["note--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0105"]; !strings.Contains(n["content"].(string), "reuses infrastructure") {
		t.Errorf("note %v", n)
	}
	if id := r.objs["identity--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c00aa"]; id["name"] != "Example CSIRT" {
		t.Errorf("author %v", id)
	}
}

func TestForms(t *testing.T) {
	ev := load(t, "misp-event.json")
	var w struct{ Event json.RawMessage }
	if err := json.Unmarshal(ev, &w); err != nil {
		t.Fatal(err)
	}
	list := []byte(`{"response":[{"Event":` + string(w.Event) + `}]}`)
	array := []byte(`[{"Event":` + string(w.Event) + `}]`)
	for name, data := range map[string][]byte{"event": ev, "response": list, "array": array, "bare": w.Event} {
		r, err := read(t, name, data, nil)
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		if r.stats.Attributes != 17 || r.objs["report--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0001"] == nil {
			t.Errorf("%s: %+v", name, r.stats)
		}
	}
}

func TestBadInput(t *testing.T) {
	for in, want := range map[string]string{
		`[1, 2`:                       "$[0]",
		`{"Event": {"Attribute": 5}}`: "$.Event",
		`{"response": {}}`:            "$.response",
		`"x"`:                         "not a JSON object",
		`{"attributes": {}, "requiredOneOf": []}`: "object template",
		`{"foo": 1}`:             "no Event",
		`{"Event": {"info": "x"`: "$",
	} {
		_, err := read(t, "bad", []byte(in), nil)
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %v, want it to mention %q", in, err, want)
		}
	}
	_, err := read(t, "bad", []byte(`{"foo": 1}`), nil)
	if !errors.Is(err, misp.ErrNotMISP) {
		t.Errorf("%v is not ErrNotMISP", err)
	}
}

func TestWarninglistDrop(t *testing.T) {
	wl, err := warninglist.Load(filepath.Join(fixtures, "warninglists"))
	if err != nil {
		t.Fatal(err)
	}
	cfg := &emit.Config{Check: wl.Check, DropListed: true}
	r, err := read(t, "misp-event.json", load(t, "misp-event.json"), cfg)
	if err != nil {
		t.Fatal(err)
	}
	// 198.51.100.7 and 203.0.113.5/.9 are documentation addresses; the MD5
	// and SHA-1 of the file object are the empty file's.
	if r.stats.Dropped != 5 || r.stats.Accounted() != r.stats.Attributes {
		t.Errorf("%+v", r.stats)
	}
	if r.objs["indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0101"] != nil {
		t.Error("dropped indicator imported")
	}
	cfg = &emit.Config{Check: wl.Check}
	r, _ = read(t, "misp-event.json", load(t, "misp-event.json"), cfg)
	ind := r.objs["indicator--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0101"]
	if !slices.Contains(strs(ind["labels"]), "warninglist:docnets") {
		t.Errorf("labels %v", ind["labels"])
	}
}

func TestFeedManifest(t *testing.T) {
	f, err := os.Open(filepath.Join(fixtures, "misp-feed", "manifest.json"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	es, err := misp.ReadManifest(f)
	if err != nil {
		t.Fatal(err)
	}
	if len(es) != 2 || es[0].File() != "5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c1001.json" || es[1].Info != "Feed event two" {
		t.Errorf("%+v", es)
	}
	if _, err := misp.ReadManifest(strings.NewReader(`{"../etc/passwd": {}}`)); err == nil {
		t.Error("a manifest key that is not a uuid is accepted")
	}
}
