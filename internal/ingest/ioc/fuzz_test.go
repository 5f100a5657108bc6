package ioc_test

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/ioc"
	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

// FuzzListReader feeds arbitrary lists to the reader: it must not fail or
// panic, every line must be accounted for, and every indicator must be a
// valid STIX object whose pattern is canonical.
func FuzzListReader(f *testing.F) {
	for _, s := range []string{
		"198.51.100.7\nevil[.]example\n# c\n\n",
		"indicator\ttype\tcategory\tfamily\n203.0.113.1:80\tip:port\tmalware\tx\n/p\turl-path\tm\tf\n",
		"a;b\n\"q\"\"x\";c\n",
		"hxxp://x[.]y/z?a=1\n0.0.0.0 h.example\n[2001:db8::1]:443\n",
		"d41d8cd98f00b204e9800998ecf8427e,comment\n10.1.2.3/8,9\n",
		"\xef\xbb\xbfx.example\r\nx@y.example\r\n",
	} {
		f.Add([]byte(s), "")
		f.Add([]byte(s), ",")
	}
	v := ingest.DefaultValidator()
	f.Fuzz(func(t *testing.T, data []byte, delim string) {
		if len(delim) > 1 {
			delim = delim[:1]
		}
		cfg := &emit.Config{Source: "fuzz", Identity: emit.SourceIdentityID("fuzz"), IdentityName: "fuzz", Epoch: epoch, Notices: &emit.Notices{}}
		lr := ioc.NewListReader("fuzz", bytes.NewReader(data), cfg, ioc.ListOptions{Delimiter: delim, MaxLineBytes: 4096})
		err := lr.Source()(func(i int, raw []byte) error {
			var m map[string]any
			dec := json.NewDecoder(bytes.NewReader(raw))
			dec.UseNumber()
			if err := dec.Decode(&m); err != nil {
				t.Fatalf("invalid JSON: %v: %s", err, raw)
			}
			if vs := v.Validate(m); len(vs) > 0 {
				t.Fatalf("invalid object %v: %s", vs, raw)
			}
			if m["type"] == "indicator" {
				p := m["pattern"].(string)
				pt, err := pattern.Parse(p)
				if err != nil || pt.String() != p {
					t.Fatalf("pattern %s not canonical (%v)", p, err)
				}
				if m["id"] != emit.IndicatorID(p) {
					t.Fatalf("id not derived from the pattern: %s", raw)
				}
			}
			return nil
		}, func(string) {})
		if err != nil {
			t.Fatal(err)
		}
		s := lr.Stats
		if s.Blank+s.Values+s.Rejected+s.Duplicates+s.Dropped != s.Lines {
			t.Fatalf("lines not accounted for: %+v", s)
		}
	})
}
