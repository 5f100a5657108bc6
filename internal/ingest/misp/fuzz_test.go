package misp_test

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/misp"
)

// FuzzReader feeds arbitrary documents to the MISP reader: it must not
// panic, every object it emits must be valid STIX, and every attribute it
// reads must be accounted for.
func FuzzReader(f *testing.F) {
	for _, name := range []string{"misp-event.json", "misp-feed/5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c1002.json"} {
		b, err := os.ReadFile(filepath.Join(fixtures, name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, s := range []string{
		`{"response":[{"Event":{"info":"x","Attribute":[{"type":"ip-src|port","value":"1.2.3.4|80","to_ids":"1"}]}}]}`,
		`[{"info":"x","Object":[{"name":"file","Attribute":[{"type":"sha256","value":"00","to_ids":true}]}]}]`,
		`{"Attribute":[{"type":"regkey|value","value":"HKLM\\x|1","to_ids":1},{"type":"AS","value":"AS65000"}]}`,
		`{"Event":{"Tag":[{"name":"tlp:red"},{"name":"misp-galaxy:tool=\"x\""}],"Galaxy":[{"type":"mitre-malware","GalaxyCluster":[{"value":"y - S0001","meta":{"synonyms":["z"]}}]}]}}`,
	} {
		f.Add([]byte(s))
	}
	v := ingest.DefaultValidator()
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := &emit.Config{Source: "fuzz", Epoch: epochFuzz, Notices: &emit.Notices{}}
		rd := misp.NewReader("fuzz", bytes.NewReader(data), cfg)
		err := rd.Source()(func(i int, raw []byte) error {
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			var m map[string]any
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("%s: invalid JSON %v: %s", rd.Origin(i), err, raw)
			}
			if vs := v.Validate(m); len(vs) > 0 {
				t.Fatalf("%s: invalid STIX %v: %s", rd.Origin(i), vs, raw)
			}
			return nil
		}, func(string) {})
		if err == nil && rd.Stats.Accounted() != rd.Stats.Attributes {
			t.Fatalf("%d of %d attributes accounted for: %+v", rd.Stats.Accounted(), rd.Stats.Attributes, rd.Stats)
		}
	})
}

var epochFuzz = mustTime("2026-01-01T00:00:00Z")

func mustTime(s string) time.Time {
	t, err := time.Parse(time.RFC3339, s)
	if err != nil {
		panic(err)
	}
	return t
}
