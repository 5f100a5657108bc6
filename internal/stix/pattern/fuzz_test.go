package pattern

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fuzzObservations are matched against every pattern the fuzzer finds, to
// make sure evaluation never panics either.
func fuzzObservations() []*Observation {
	t0 := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	a, _ := NewObservation(t0, t0, 2,
		map[string]any{"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "10.0.0.1"},
		map[string]any{"type": "file", "id": "file--1", "name": "foo.dll", "size": 42, "hashes": map[string]any{"MD5": "abc"},
			"payload_bin": "AAEC", "magic_number_hex": "ff", "parent_directory_ref": "directory--1", "x_refs": []any{"ipv4-addr--1"}},
		map[string]any{"type": "directory", "id": "directory--1", "path": "C:\\Windows"},
	)
	b, _ := NewObservation(t0.Add(time.Minute), t0.Add(2*time.Minute), 1,
		map[string]any{"type": "network-traffic", "id": "network-traffic--1", "src_ref": "ipv4-addr--2", "protocols": []any{"tcp"}},
		map[string]any{"type": "ipv4-addr", "id": "ipv4-addr--2", "value": "2001:db8::/32"},
	)
	return []*Observation{a, b}
}

func FuzzParse(f *testing.F) {
	for _, tt := range lexTests {
		f.Add(tt.in)
	}
	for _, tt := range astTests {
		f.Add(tt.in)
	}
	for _, tt := range canonicalTests {
		f.Add(tt.in)
	}
	for _, tt := range errorTests {
		f.Add(tt.in)
	}
	files, _ := filepath.Glob(filepath.Join("testdata", "eval", "*.txt"))
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			f.Fatal(err)
		}
		for _, line := range strings.Split(string(data), "\n") {
			for _, w := range []string{"true ", "false ", "invalid ", "error "} {
				if rest, ok := strings.CutPrefix(line, w); ok {
					f.Add(rest)
				}
			}
		}
	}
	obs := fuzzObservations()
	f.Fuzz(func(t *testing.T, s string) {
		start := time.Now()
		defer func() {
			if d := time.Since(start); d > 2*time.Second {
				t.Fatalf("%q took %v", s, d)
			}
		}()
		p, err := Parse(s)
		if err != nil {
			var perr *Error
			if !errors.As(err, &perr) {
				t.Fatalf("Parse(%q): error %T is not *Error", s, err)
			}
			if perr.Offset < 0 || perr.Offset > len(s) || perr.End < perr.Offset || perr.End > len(s) {
				t.Fatalf("Parse(%q): span %d-%d outside the input", s, perr.Offset, perr.End)
			}
			return
		}
		c := p.String()
		q, err := Parse(c)
		if err != nil {
			t.Fatalf("the canonical form %q of %q does not parse: %v", c, s, err)
		}
		if c2 := q.String(); c2 != c {
			t.Fatalf("the canonical form of %q is not stable:\n%s\n%s", s, c, c2)
		}
		if dump(q) != dump(p) {
			t.Fatalf("the canonical form %q of %q parses to another tree:\n%s\n%s", c, s, dump(p), dump(q))
		}
		p.Observables()
		m1, err1 := p.Match(obs)
		m2, err2 := q.Match(obs)
		if m1 != m2 || (err1 == nil) != (err2 == nil) {
			t.Fatalf("%q and its canonical form %q match differently: %v %v / %v %v", s, c, m1, err1, m2, err2)
		}
		ix := NewIndex()
		if err := ix.Add("x", p); err != nil {
			t.Fatal(err)
		}
		for _, o := range obs {
			ix.Match(o)
		}
		ix.Remove("x")
	})
}
