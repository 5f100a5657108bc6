package advisory_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/advisory"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

const fixtures = "../../../testdata/formats"

type out struct {
	objs    []map[string]any
	notices []string
}

func run(t testing.TB, src func(cfg *emit.Config) ingest.Source) *out {
	t.Helper()
	o := &out{}
	cfg := &emit.Config{Notices: &emit.Notices{On: func(n emit.Notice) { o.notices = append(o.notices, n.String()) }}}
	v := ingest.DefaultValidator()
	err := src(cfg)(func(i int, raw []byte) error {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		if vs := v.Validate(m); len(vs) > 0 {
			t.Errorf("invalid: %v\n%s", vs, raw)
		}
		o.objs = append(o.objs, m)
		return nil
	}, func(string) {})
	if err != nil {
		t.Fatal(err)
	}
	return o
}

func open(t testing.TB, name string) io.Reader {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(fixtures, name))
	if err != nil {
		t.Fatal(err)
	}
	return bytes.NewReader(b)
}

func extIDs(v map[string]any, source string) []string {
	var out []string
	for _, r := range v["external_references"].([]any) {
		m := r.(map[string]any)
		if m["source_name"] == source {
			out = append(out, m["external_id"].(string))
		}
	}
	return out
}

func TestKEV(t *testing.T) {
	o := run(t, func(cfg *emit.Config) ingest.Source {
		return advisory.NewKEVReader("kev.json", open(t, "kev.json"), cfg).Source()
	})
	if len(o.objs) != 2 || len(o.notices) != 1 || !strings.Contains(o.notices[0], "kev.json:$.vulnerabilities[2]") {
		t.Fatalf("%d objects, notices %v", len(o.objs), o.notices)
	}
	v := o.objs[0]
	if v["name"] != "CVE-2025-48384" || v["id"] != advisory.VulnerabilityID("kev", "CVE-2025-48384") ||
		v["x_mamori_kev_due_date"] != "2025-09-15" || v["x_mamori_kev_vendor_project"] != "Git" ||
		v["created"] != "2025-08-25T00:00:00.000Z" {
		t.Errorf("%v", v)
	}
	if ids := extIDs(v, "cwe"); len(ids) != 2 || ids[0] != "CWE-59" {
		t.Errorf("cwe %v", ids)
	}
	if ids := extIDs(v, "cve"); len(ids) != 1 {
		t.Errorf("cve %v", ids)
	}
}

func TestCVE(t *testing.T) {
	o := run(t, func(cfg *emit.Config) ingest.Source {
		return advisory.NewCVEReader("cve.jsonl", open(t, "cve.jsonl"), cfg).Source()
	})
	if len(o.objs) != 2 || len(o.notices) != 1 || !strings.Contains(o.notices[0], "cve.jsonl:line 3.cveMetadata.cveId") {
		t.Fatalf("%d objects, notices %v", len(o.objs), o.notices)
	}
	v := o.objs[0]
	if v["name"] != "CVE-2005-10003" || v["revoked"] != nil || v["x_mamori_cvss"] == nil || v["x_mamori_cve_affected"] == nil {
		t.Errorf("%v", v)
	}
	cvss := v["x_mamori_cvss"].([]any)
	if len(cvss) != 4 || cvss[0].(map[string]any)["version"] != "4.0" {
		t.Errorf("cvss %v", cvss)
	}
	if len(extIDs(v, "cwe")) == 0 {
		t.Errorf("no CWE: %v", v["external_references"])
	}
	if o.objs[1]["revoked"] != true {
		t.Errorf("a rejected CVE is not revoked: %v", o.objs[1])
	}
	// The same record pretty-printed, and in an array.
	b, _ := os.ReadFile(filepath.Join(fixtures, "cve.jsonl"))
	first := strings.SplitN(string(b), "\n", 2)[0]
	var x any
	json.Unmarshal([]byte(first), &x)
	pretty, _ := json.MarshalIndent(x, "", "  ")
	for name, doc := range map[string]string{"pretty": string(pretty), "array": "[" + first + "]"} {
		o := run(t, func(cfg *emit.Config) ingest.Source {
			return advisory.NewCVEReader(name, strings.NewReader(doc), cfg).Source()
		})
		if len(o.objs) != 1 || o.objs[0]["name"] != "CVE-2005-10003" {
			t.Errorf("%s: %v", name, o.objs)
		}
	}
}

func TestOSV(t *testing.T) {
	o := run(t, func(cfg *emit.Config) ingest.Source {
		return advisory.NewOSVReader("osv.json", open(t, "osv.json"), cfg).Source()
	})
	if len(o.objs) != 1 {
		t.Fatal(len(o.objs))
	}
	v := o.objs[0]
	if v["name"] != "EXAMPLE-2026-0001" || extIDs(v, "cve")[0] != "CVE-2026-12345" || extIDs(v, "cwe")[0] != "CWE-22" {
		t.Errorf("%v", v)
	}
	// Affected packages and ranges are kept exactly.
	var want struct{ Affected any }
	b, _ := os.ReadFile(filepath.Join(fixtures, "osv.json"))
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	dec.Decode(&want)
	wj, _ := json.Marshal(want.Affected)
	gj, _ := json.Marshal(v["x_mamori_osv_affected"])
	if !bytes.Equal(wj, gj) {
		t.Errorf("affected not kept:\n%s\n%s", wj, gj)
	}
	if e := v["x_mamori_osv_ecosystems"].([]any); len(e) != 2 {
		t.Errorf("ecosystems %v", e)
	}
}

func sharedData(t testing.TB) string {
	for _, d := range []string{os.Getenv("MAMORI_SHARED"), "../../../../shared", "../../../shared"} {
		if d == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(d, "data", "kev")); err == nil && st.IsDir() {
			return filepath.Join(d, "data")
		}
	}
	t.Skip("shared CTI data not found (set MAMORI_SHARED)")
	return ""
}

func TestRealAdvisories(t *testing.T) {
	dir := sharedData(t)
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator()}
	gz := func(p string) io.Reader {
		f, err := os.Open(p)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { f.Close() })
		if !strings.HasSuffix(p, ".gz") {
			return f
		}
		zr, err := gzip.NewReader(f)
		if err != nil {
			t.Fatal(err)
		}
		return zr
	}
	cases := []struct {
		file    string
		records int
		src     func(io.Reader, *emit.Config) ingest.Source
	}{
		{"kev/known_exploited_vulnerabilities.json", 1404, func(r io.Reader, c *emit.Config) ingest.Source { return advisory.NewKEVReader("kev", r, c).Source() }},
		{"cve/cve-json5-sample.jsonl.gz", 2000, func(r io.Reader, c *emit.Config) ingest.Source { return advisory.NewCVEReader("cve", r, c).Source() }},
		{"osv/go-vulndb.osv.jsonl.gz", 4291, func(r io.Reader, c *emit.Config) ingest.Source { return advisory.NewOSVReader("go", r, c).Source() }},
		{"osv/pypi-pypa.osv.jsonl.gz", 2661, func(r io.Reader, c *emit.Config) ingest.Source { return advisory.NewOSVReader("pypi", r, c).Source() }},
		{"osv/bitnami.osv.jsonl.gz", 7444, func(r io.Reader, c *emit.Config) ingest.Source {
			return advisory.NewOSVReader("bitnami", r, c).Source()
		}},
	}
	for _, c := range cases {
		ns := &emit.Notices{On: func(n emit.Notice) { t.Errorf("%s: %s", c.file, n) }}
		cfg := &emit.Config{Notices: ns}
		rejected := 0
		res, err := im.Import(context.Background(), c.src(gz(filepath.Join(dir, c.file)), cfg), c.file, ingest.Options{
			OnReject: func(r ingest.Rejection) {
				if rejected++; rejected < 5 {
					t.Errorf("%s: rejected %v", c.file, r.Violations)
				}
			},
		})
		if err != nil {
			t.Fatal(err)
		}
		if res.New != c.records || res.Rejected != 0 {
			t.Errorf("%s: %s", c.file, res.Summary())
		}
	}
	// KEV, CVE and OSV objects of one CVE are found together by the CVE id.
	it, err := st.Query(context.Background(), store.Query{ExternalID: "CVE-2020-17519"})
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	n := 0
	for it.Next() {
		n++
	}
	if n < 3 {
		t.Errorf("CVE-2020-17519: %d objects from KEV, CVE and OSV, want 3 or more", n)
	}
}
