package match

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

// checkRecord checks what every parser must guarantee for any input: the
// observables are normalised (normalising again changes nothing), inside
// the record's buffer, and at most MaxObservables.
func checkRecord(t *testing.T, rec *Record) {
	t.Helper()
	if len(rec.Obs) > MaxObservables {
		t.Fatalf("%d observables", len(rec.Obs))
	}
	for i, o := range rec.Obs {
		if o.Path == PathNone || o.Path >= numPaths {
			t.Fatalf("observable %d has path %d", i, o.Path)
		}
		v := rec.Value(i)
		again, q, ok := appendNorm(nil, o.Path, v)
		if !ok || q != o.Path || !bytes.Equal(again, v) {
			t.Fatalf("%s %q is not normalised: %q %s %v", o.Path, v, again, q, ok)
		}
	}
	_ = rec.Time()
}

func fuzzFormat(f *testing.F, format Format, seeds ...string) {
	for _, s := range seeds {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		p := NewParser(format, FieldMap{"a.b": "ip", "c": "url:value", "d": "hash", "e": "text"})
		var rec Record
		for _, line := range strings.Split(in, "\n") {
			rec.Reset()
			p.Parse([]byte(line), &rec)
			rec.Observation() // must not panic
			checkRecord(t, &rec)
		}
	})
}

func FuzzZeek(f *testing.F) {
	fuzzFormat(f, FormatZeek,
		zeekConnHeader+"\n1700000000.1\tC\t10.0.0.5\t1\t198.51.100.7\t443\ttcp\t-\t1",
		"#separator \\x2c\n#fields,ts,query,answers\n1,a.example,1.2.3.4\\x2c5.6.7.8",
		`{"ts":1700000000.5,"id.orig_h":"10.0.0.5","host":"h.example","uri":"/x","answers":["a","1.2.3.4"]}`)
}

func FuzzEVE(f *testing.F) {
	fuzzFormat(f, FormatEVE,
		`{"event_type":"dns","dns":{"answers":[{"rdata":"1.2.3.4"}],"grouped":{"A":["1.2.3.4"]}}}`,
		`{"http":{"hostname":"ex\u0061mple.com","url":"\/a"},"tls":{"ja3":{"hash":"E7"}}}`,
		`{"src_ip":"::ffff:1.2.3.4","dest_port":443,"fileinfo":{"filename":"/a/b.exe","sha256":null}}`)
}

func FuzzJSON(f *testing.F) {
	fuzzFormat(f, FormatJSON, `{"a":{"b":"1.2.3.4"},"c":"HTTP://X.example:80/a/../b","d":"d41d8cd98f00b204e9800998ecf8427e","e":"mail x@y.example"}`,
		`{"x":["1.2.3.4",{"y":"evil[.]example"}]}`)
}

func FuzzCEF(f *testing.F) {
	fuzzFormat(f, FormatCEF, `CEF:0|V|P|1|2|Name evil.example|5|src=10.0.0.5 request=http://x.example/a\=b msg=a b\\ c`,
		`CEF:0|a\|b|c`)
}

func FuzzSyslog(f *testing.F) {
	fuzzFormat(f, FormatSyslog, `<34>1 2024-01-15T10:00:00Z host app - - [id k="v\"1.2.3.4" k2="x"] msg 198.51.100.7`,
		`<13>Jan  5 10:00:00 fw kernel: SRC=203.0.113.5`, `Jan  5 10:00:00 host CEF:0|V|P|1|2|N|3|dst=1.2.3.4`)
}

func FuzzText(f *testing.F) {
	fuzzFormat(f, FormatText, `see hxxp://evil[.]example/a?b=c, 198.51.100.7:80 [2001:db8::1]:443 x@y.example d41d8cd98f00b204e9800998ecf8427e`,
		"a.b.c.d.e.f...........", "[[[[.]]]]", "http://[::1", "user@@x..y")
}

// FuzzJSONScanner checks the scanner against encoding/json: on a valid
// object it reports exactly the strings json.Unmarshal finds.
func FuzzJSONScanner(f *testing.F) {
	for _, s := range []string{`{"a":"b","c":{"d":["e",{"f":"g"}],"h":1.5e3,"i":null}}`, `{"\u00e9":"\ud83d\ude00","x":"a\"b\\c"}`, `{}`, `{"a":[[1,"x"],"y"]}`} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		var s jsonScanner
		var got []string
		err := s.walk([]byte(in), &collect{out: &got})
		var v map[string]any
		if json.Unmarshal([]byte(in), &v) != nil || v == nil {
			return
		}
		if err != nil {
			t.Fatalf("scanner rejects valid JSON %q: %v", in, err)
		}
		var want []string
		var walk func(x any)
		walk = func(x any) {
			switch x := x.(type) {
			case string:
				want = append(want, x)
			case map[string]any:
				for _, e := range x {
					walk(e)
				}
			case []any:
				for _, e := range x {
					if _, nested := e.([]any); !nested {
						walk(e)
					}
				}
			}
		}
		walk(v)
		slices.Sort(got)
		slices.Sort(want)
		if !slices.Equal(got, want) && !duplicateKeys(in) && strings.ToValidUTF8(in, "\ufffd") == in {
			t.Fatalf("%q: scanner %q, encoding/json %q", in, got, want)
		}
	})
}

// duplicateKeys reports an object with the same key twice (the scanner
// reports both values, encoding/json keeps the last).
func duplicateKeys(s string) bool {
	type frame struct {
		obj, expectKey bool
		keys           map[string]bool
	}
	var stack []*frame
	valueDone := func() {
		if n := len(stack); n > 0 && stack[n-1].obj {
			stack[n-1].expectKey = true
		}
	}
	dec := json.NewDecoder(strings.NewReader(s))
	for {
		tok, err := dec.Token()
		if err != nil {
			return false
		}
		switch tok {
		case json.Delim('{'):
			stack = append(stack, &frame{obj: true, expectKey: true, keys: map[string]bool{}})
			continue
		case json.Delim('['):
			stack = append(stack, &frame{})
			continue
		case json.Delim('}'), json.Delim(']'):
			stack = stack[:len(stack)-1]
			valueDone()
			continue
		}
		if n := len(stack); n > 0 && stack[n-1].obj && stack[n-1].expectKey {
			k, _ := tok.(string)
			if stack[n-1].keys[k] {
				return true
			}
			stack[n-1].keys[k] = true
			stack[n-1].expectKey = false
			continue
		}
		valueDone()
	}
}

type collect struct{ out *[]string }

func (c *collect) descend([]byte) bool { return true }

func (c *collect) scalar(_ []byte, v []byte, str bool) {
	if str {
		*c.out = append(*c.out, string(v))
	}
}

// FuzzNormalize: normalising is idempotent for every path.
func FuzzNormalize(f *testing.F) {
	for _, s := range []string{"HTTP://User@Evil.Example:80/a/./b/../c%7e?q=%2f#top", "2001:0DB8::1", "Evil.Example.", "00:AB:cd", "<a@B.c>", "/x/y\\z.exe"} {
		f.Add(s, uint8(PathURL))
	}
	f.Fuzz(func(t *testing.T, v string, p uint8) {
		path := Path(p%uint8(numPaths-1)) + 1
		n, q, ok := appendNorm(nil, path, []byte(v))
		if !ok {
			return
		}
		again, q2, ok := appendNorm(nil, q, n)
		if !ok || q2 != q || !bytes.Equal(again, n) {
			t.Fatalf("%s %q → %s %q → %s %q %v", path, v, q, n, q2, again, ok)
		}
	})
}

// FuzzCompile: any pattern the parser accepts compiles; a rewritten
// pattern parses; an equality pattern on a known path matches its own
// normalised value.
func FuzzCompile(f *testing.F) {
	for _, s := range []string{"[ipv4-addr:value = '1.2.3.4']", "[url:value LIKE '%/a_b%c%']", "[domain-name:value IN ('A.example', 'b.example')] OR [file:name = 'x']",
		"[network-traffic:dst_ref.value = 'X.example' AND network-traffic:dst_port = 443]", "[file:hashes.'SHA-256' = 'AB'] WITHIN 5 SECONDS", "[url:value = 'HTTP://A.example:80/x/../y']"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, err := pattern.Parse(s)
		if err != nil {
			return
		}
		c := compile(p)
		if c.pat != nil {
			if _, err := pattern.Parse(c.pat.String()); err != nil {
				t.Fatalf("%s: compiled pattern %q does not parse: %v", s, c.pat, err)
			}
		}
		m := NewMatcher(Options{})
		if err := m.Add("x", p); err != nil && err != ErrUnmatchable {
			t.Fatalf("%s: %v", s, err)
		}
		if c.class == classSimple {
			for _, k := range c.keys {
				found := false
				for _, h := range m.MatchValue(k.path, k.val) {
					found = found || h.Indicator == "x"
				}
				var rec Record
				rec.Reset()
				if !found && rec.Add(k.path, "v", []byte(k.val)) && len(rec.Obs) == 1 && string(rec.Value(0)) == k.val && rec.Obs[0].Path == k.path {
					t.Fatalf("%s: value %s %q does not match", s, k.path, k.val)
				}
			}
		}
	})
}
