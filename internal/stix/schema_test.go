package stix

import (
	"bytes"
	"encoding/json"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
)

// oasisSchemas compiles the OASIS STIX 2.1 JSON schemas from the shared
// directory and returns a function giving the schema of a type (nil when the
// schemas do not describe it).
func oasisSchemas(t *testing.T) func(typ string) *jsonschema.Schema {
	t.Helper()
	dir := sharedDir()
	root := filepath.Join(dir, "stix2-json-schemas", "schemas")
	if dir == "" {
		t.Skip("shared directory not found (set MAMORI_SHARED)")
	}
	if _, err := os.Stat(root); err != nil {
		t.Skipf("%s not present", root)
	}
	// The schemas' $id values are URLs; resolve them from the local copy.
	const idBase = "http://raw.githubusercontent.com/oasis-open/cti-stix2-json-schemas/stix2.1/schemas/"
	compiler := jsonschema.NewCompiler()
	byType := map[string]string{}
	walkErr := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || filepath.Ext(p) != ".json" {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		doc, err := jsonschema.UnmarshalJSON(bytes.NewReader(data))
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(root, p)
		rel = filepath.ToSlash(rel)
		if err := compiler.AddResource(idBase+rel, doc); err != nil {
			return err
		}
		switch kind, name, _ := strings.Cut(rel, "/"); kind {
		case "sdos", "sros", "observables":
			byType[strings.TrimSuffix(name, ".json")] = idBase + rel
		case "common":
			if name == "marking-definition.json" || name == "language-content.json" || name == "extension-definition.json" {
				byType[strings.TrimSuffix(name, ".json")] = idBase + rel
			}
		}
		return nil
	})
	if walkErr != nil {
		t.Fatal(walkErr)
	}
	compiled := map[string]*jsonschema.Schema{}
	return func(typ string) *jsonschema.Schema {
		url, ok := byType[typ]
		if !ok {
			return nil
		}
		if s, ok := compiled[typ]; ok {
			return s
		}
		s, err := compiler.Compile(url)
		if err != nil {
			t.Fatalf("compiling %s: %v", url, err)
		}
		compiled[typ] = s
		return s
	}
}

func schemaInstance(t *testing.T, obj map[string]any) any {
	t.Helper()
	b, err := json.Marshal(obj)
	if err != nil {
		t.Fatal(err)
	}
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	return inst
}

// schemaDisagreements names the valid examples that the OASIS schemas
// reject because of known defects in the schemas, not in the objects.
var schemaDisagreements = map[string]string{
	// STIX 2.1 section 7.2.3.1 lets a granular marking carry lang instead of
	// marking_ref; the schema requires marking_ref.
	"granular markings and custom extension": "the schema requires marking_ref in every granular marking",
	// RFC 5646 script subtags are written in title case ("Hans"); the
	// schema's pattern only admits lower case.
	"software": "the schema's language tag pattern rejects zh-Hans",
}

// TestAgreesWithOASISSchemas checks a handful of objects against the OASIS
// JSON schemas: the valid examples must satisfy them, and objects breaking
// rules that the schemas also express must fail both.
func TestAgreesWithOASISSchemas(t *testing.T) {
	schemaFor := oasisSchemas(t)
	checked := 0
	for _, name := range sortedKeys(validObjects) {
		obj := decodeOne(t, validObjects[name])
		typ, _ := obj["type"].(string)
		s := schemaFor(typ)
		if s == nil {
			continue
		}
		err := s.Validate(schemaInstance(t, obj))
		if why, known := schemaDisagreements[name]; known {
			if err == nil {
				t.Errorf("%s: the schema now accepts it; drop the recorded disagreement (%s)", name, why)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: valid for Validate, rejected by the OASIS schema: %v", name, err)
		}
		checked++
	}
	for _, caseName := range []string{
		"malware without is_family",
		"indicator without pattern_type",
		"opinion outside the enumeration",
		"sighting observed_data_refs to an indicator",
		"relationship to a marking definition",
		"confidence above 100",
		"created without milliseconds",
		"location latitude out of range",
		"network-traffic port out of range",
		"report without published",
		"artifact payload_bin and url",
		"observed-data objects and object_refs",
	} {
		var tc *ruleCase
		for i := range ruleCases {
			if ruleCases[i].name == caseName {
				tc = &ruleCases[i]
			}
		}
		if tc == nil {
			t.Fatalf("no rule case %q", caseName)
		}
		obj := mutate(t, tc.base, tc.edit)
		if vs := Validate(obj); len(vs) == 0 {
			t.Errorf("%s: Validate accepts it", caseName)
		}
		if err := schemaFor(obj["type"].(string)).Validate(schemaInstance(t, obj)); err == nil {
			t.Errorf("%s: the OASIS schema accepts it", caseName)
		}
		checked++
	}
	// A sample of real objects: both must accept them.
	for _, o := range attackObjects(t, "ics") {
		typ, _ := o["type"].(string)
		if s := schemaFor(typ); s != nil {
			if err := s.Validate(schemaInstance(t, o)); err != nil {
				t.Errorf("%v: rejected by the OASIS schema: %v", o["id"], err)
			}
			checked++
		}
	}
	t.Logf("%d objects checked against the OASIS schemas", checked)
}
