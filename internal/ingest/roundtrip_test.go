package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/mamori-cti/mamori/internal/export"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// roundTrip imports files into a fresh store, exports everything with every
// version, and checks that each object comes back semantically equal.
func roundTrip(t *testing.T, files ...string) []byte {
	t.Helper()
	ctx := context.Background()
	st := openStore(t)
	im := newImporter(st)
	want := map[string]any{}
	for _, f := range files {
		data := readFile(t, f)
		for k, v := range decodeObjects(t, data) {
			want[k] = v
		}
		res, err := im.ImportBundle(ctx, bytes.NewReader(data), filepath.Base(f), ingest.Options{OnReject: func(r ingest.Rejection) {
			t.Errorf("rejected: %v", r.Error())
		}})
		if err != nil {
			t.Fatalf("import %s: %v", f, err)
		}
		if res.Rejected != 0 || !res.Committed {
			t.Fatalf("import %s: %s", f, res.Summary())
		}
	}
	var out bytes.Buffer
	if _, err := export.Bundle(ctx, st, store.Query{Versions: store.VersionsAll, IncludeRevoked: true}, &out); err != nil {
		t.Fatal(err)
	}
	sameObjects(t, want, decodeObjects(t, out.Bytes()))
	return out.Bytes()
}

func TestRoundTripFixtures(t *testing.T) {
	out := roundTrip(t, "../../testdata/attack-sample.json", "../../testdata/kb-sample.json")
	// Lossless means byte for byte, apart from white space: custom numbers
	// keep their spelling.
	if !bytes.Contains(out, []byte(`"x_example_member_count":1.50e2`)) {
		t.Error("custom number 1.50e2 was rewritten")
	}
	if !bytes.Contains(out, []byte(`"ünïcødé":"日本語"`)) {
		t.Error("Unicode property lost")
	}
	checkSchemas(t, out)
}

func TestRoundTripATTACK(t *testing.T) {
	if testing.Short() {
		t.Skip("short mode")
	}
	dir := filepath.Join(sharedDir(t), "data", "attack")
	// Each bundle in its own store: the three domains share object versions
	// (same id and modified) whose x_mitre_domains differ, and by the STIX
	// rule a store keeps the first copy of a version.
	for _, f := range []string{"enterprise-attack-18.1.json.gz", "mobile-attack-18.1.json.gz", "ics-attack-18.1.json.gz"} {
		t.Run(f, func(t *testing.T) {
			out := roundTrip(t, filepath.Join(dir, f))
			checkSchemas(t, out)
		})
	}
}

// checkSchemas validates every exported object of a type the OASIS STIX 2.1
// JSON schemas describe against its schema.
func checkSchemas(t *testing.T, bundle []byte) {
	t.Helper()
	root := filepath.Join(sharedDirOrEmpty(), "stix2-json-schemas", "schemas")
	if _, err := os.Stat(root); err != nil {
		t.Log("OASIS STIX 2.1 JSON schemas not found; schema check skipped")
		return
	}
	const base = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"
	c := jsonschema.NewCompiler()
	kinds := map[string]string{}
	err := filepath.WalkDir(root, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(p, ".json") {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		f, err := os.Open(p)
		if err != nil {
			return err
		}
		defer f.Close()
		doc, err := jsonschema.UnmarshalJSON(f)
		if err != nil {
			return err
		}
		url := base + filepath.ToSlash(rel)
		if err := c.AddResource(url, doc); err != nil {
			return err
		}
		dir := filepath.Dir(rel)
		if dir == "sdos" || dir == "sros" || dir == "observables" {
			kinds[strings.TrimSuffix(filepath.Base(rel), ".json")] = url
		}
		if rel == filepath.Join("common", "marking-definition.json") {
			kinds["marking-definition"] = url
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	schemas := map[string]*jsonschema.Schema{}
	var b struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	checked := 0
	for _, raw := range b.Objects {
		var head struct{ Type, ID string }
		json.Unmarshal(raw, &head)
		url, ok := kinds[head.Type]
		if !ok {
			continue // custom types such as x-mitre-tactic have no schema
		}
		sch := schemas[head.Type]
		if sch == nil {
			if sch, err = c.Compile(url); err != nil {
				t.Fatalf("compile %s: %v", url, err)
			}
			schemas[head.Type] = sch
		}
		inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
		if err != nil {
			t.Fatal(err)
		}
		if err := sch.Validate(inst); err != nil {
			t.Errorf("%s does not validate against %s: %v", head.ID, url, err)
		}
		checked++
	}
	t.Logf("%d exported objects validated against the OASIS schemas", checked)
}

func sharedDirOrEmpty() string {
	if d := os.Getenv("MAMORI_SHARED"); d != "" {
		return d
	}
	for _, rel := range []string{"../../../shared", "../../shared"} {
		if st, err := os.Stat(rel); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(rel)
			return abs
		}
	}
	return ""
}
