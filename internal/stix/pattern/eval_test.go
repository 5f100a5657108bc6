package pattern

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// The files in testdata/eval hold evaluation cases:
//
//	# a comment
//	## name of a group of cases
//	version: 2.0              (optional; 2.1 by default)
//	observed:
//	[ JSON array of STIX objects, on one or more lines ]
//	true <pattern>            the pattern matches the observations
//	false <pattern>           it does not
//	invalid <pattern>         it does not parse
//	error <pattern>           it parses, but Match fails
//	observed-error: <text>    building the observations fails with <text>
//
// Each expectation line applies to the observations of its group.

type evalCase struct {
	file    string
	line    int
	group   string
	version string
	objects string
	want    string
	pattern string
}

func loadEvalCases(t *testing.T) []evalCase {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("testdata", "eval", "*.txt"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no evaluation cases: %v", err)
	}
	var cases []evalCase
	for _, name := range files {
		f, err := os.Open(name)
		if err != nil {
			t.Fatal(err)
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		var group, version, objects string
		inJSON := false
		lineNo := 0
		for sc.Scan() {
			lineNo++
			line := sc.Text()
			trimmed := strings.TrimSpace(line)
			word, rest, _ := strings.Cut(trimmed, " ")
			switch {
			case trimmed == "" || strings.HasPrefix(trimmed, "# "):
				continue
			case strings.HasPrefix(trimmed, "## "):
				group, version, objects, inJSON = strings.TrimPrefix(trimmed, "## "), "2.1", "", false
			case strings.HasPrefix(trimmed, "version:"):
				version = strings.TrimSpace(strings.TrimPrefix(trimmed, "version:"))
			case trimmed == "observed:":
				objects, inJSON = "", true
			case strings.HasPrefix(trimmed, "observed-error:"):
				inJSON = false
				cases = append(cases, evalCase{file: name, line: lineNo, group: group, version: version, objects: objects,
					want: "observed-error", pattern: strings.TrimSpace(strings.TrimPrefix(trimmed, "observed-error:"))})
			case word == "true" || word == "false" || word == "invalid" || word == "error":
				inJSON = false
				cases = append(cases, evalCase{file: name, line: lineNo, group: group, version: version, objects: objects, want: word, pattern: strings.TrimSpace(rest)})
			case inJSON:
				objects += line + "\n"
			default:
				t.Fatalf("%s:%d: cannot read %q", name, lineNo, line)
			}
		}
		if err := sc.Err(); err != nil {
			t.Fatal(err)
		}
		f.Close()
	}
	return cases
}

func decodeObjects(s string) ([]map[string]any, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var objs []map[string]any
	if err := dec.Decode(&objs); err != nil {
		return nil, err
	}
	return objs, nil
}

func observationsFor(version string, objs []map[string]any) ([]*Observation, error) {
	if version == "2.0" {
		return ObservationsFromSTIX20(objs)
	}
	return ObservationsFromSTIX21(objs)
}

func TestEvalFiles(t *testing.T) {
	cases := loadEvalCases(t)
	counts := map[string]int{}
	for _, c := range cases {
		counts[c.want]++
		where := fmt.Sprintf("%s:%d (%s)", c.file, c.line, c.group)
		objs, err := decodeObjects(c.objects)
		if err != nil {
			t.Errorf("%s: bad JSON: %v", where, err)
			continue
		}
		obs, err := observationsFor(c.version, objs)
		if c.want == "observed-error" {
			if err == nil || !strings.Contains(err.Error(), c.pattern) {
				t.Errorf("%s: building observations: got error %v, want one containing %q", where, err, c.pattern)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: building observations: %v", where, err)
			continue
		}
		p, err := Parse(c.pattern)
		if c.want == "invalid" {
			if err == nil {
				t.Errorf("%s: Parse(%q) succeeded, want an error", where, c.pattern)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Parse(%q): %v", where, c.pattern, err)
			continue
		}
		got, err := p.Match(obs)
		if c.want == "error" {
			if err == nil {
				t.Errorf("%s: Match(%q) = %v, want an error", where, c.pattern, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: Match(%q): %v", where, c.pattern, err)
			continue
		}
		if fmt.Sprint(got) != c.want {
			t.Errorf("%s: Match(%q) = %v, want %s", where, c.pattern, got, c.want)
		}
		// The canonical form must mean the same.
		q, err := Parse(p.String())
		if err != nil {
			t.Errorf("%s: canonical form %q: %v", where, p.String(), err)
			continue
		}
		if again, _ := q.Match(obs); again != got {
			t.Errorf("%s: canonical form %q matches %v, the original %v", where, p.String(), again, got)
		}
	}
	t.Logf("evaluation cases: %v", counts)
	if counts["true"] == 0 || counts["false"] == 0 {
		t.Error("the evaluation files should hold both matching and non-matching cases")
	}
}

func mustParse(t testing.TB, s string) *Pattern {
	t.Helper()
	p, err := Parse(s)
	if err != nil {
		t.Fatalf("Parse(%q): %v", s, err)
	}
	return p
}

func TestMatchTooComplex(t *testing.T) {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	var obs []*Observation
	for i := 0; i < 400; i++ {
		o, err := NewObservation(base.Add(time.Duration(i)*time.Second), base.Add(time.Duration(i)*time.Second), 1,
			map[string]any{"type": "ipv4-addr", "value": "10.0.0.1"})
		if err != nil {
			t.Fatal(err)
		}
		obs = append(obs, o)
	}
	p := mustParse(t, "([ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '10.0.0.1']) WITHIN 1 SECONDS")
	if _, err := p.Match(obs); !errors.Is(err, ErrTooComplex) {
		t.Errorf("Match: got %v, want ErrTooComplex", err)
	}
	// Without a constraint that needs every combination, the answer is quick.
	p = mustParse(t, "[ipv4-addr:value = '10.0.0.1'] REPEATS 400 TIMES")
	if ok, err := p.Match(obs); !ok || err != nil {
		t.Errorf("REPEATS 400 TIMES over 400 observations: %v, %v", ok, err)
	}
	p = mustParse(t, "[ipv4-addr:value = '10.0.0.1'] REPEATS 401 TIMES")
	if ok, err := p.Match(obs); ok || err != nil {
		t.Errorf("REPEATS 401 TIMES over 400 observations: %v, %v", ok, err)
	}
}

func TestMatchLargeNumberObserved(t *testing.T) {
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	o, err := NewObservation(base, base, 999999999, map[string]any{"type": "ipv4-addr", "value": "10.0.0.1"})
	if err != nil {
		t.Fatal(err)
	}
	for s, want := range map[string]bool{
		"[ipv4-addr:value = '10.0.0.1'] REPEATS 999999999 TIMES":                    true,
		"[ipv4-addr:value = '10.0.0.1'] REPEATS 1000000000 TIMES":                   false,
		"([ipv4-addr:value = '10.0.0.1'] REPEATS 123456789 TIMES) WITHIN 1 SECONDS": true,
	} {
		got, err := mustParse(t, s).Match([]*Observation{o})
		if err != nil || got != want {
			t.Errorf("%s: got %v, %v; want %v", s, got, err, want)
		}
	}
}

func TestNewObservation(t *testing.T) {
	now := time.Now()
	if _, err := NewObservation(now, now, 0); err == nil {
		t.Error("count 0 accepted")
	}
	if _, err := NewObservation(now, now.Add(-time.Second), 1); err == nil {
		t.Error("last before first accepted")
	}
	o, err := NewObservation(now, now, 1,
		map[string]any{"type": "network-traffic", "id": "network-traffic--1", "src_ref": "ipv4-addr--1"},
		map[string]any{"type": "ipv4-addr", "id": "ipv4-addr--1", "value": "192.0.2.1"},
		nil)
	if err != nil {
		t.Fatal(err)
	}
	if len(o.Objects()) != 2 {
		t.Errorf("Objects() = %d objects, want 2", len(o.Objects()))
	}
	ok, err := mustParse(t, "[network-traffic:src_ref.value = '192.0.2.1']").Match([]*Observation{o})
	if !ok || err != nil {
		t.Errorf("reference by id not followed: %v %v", ok, err)
	}
}

func TestMatchSkipsNilObservations(t *testing.T) {
	now := time.Now()
	o, _ := NewObservation(now, now, 1, map[string]any{"type": "ipv4-addr", "value": "192.0.2.1"})
	ok, err := mustParse(t, "[ipv4-addr:value = '192.0.2.1'] AND [ipv4-addr:value = '192.0.2.1']").Match([]*Observation{nil, o, nil})
	if ok || err != nil {
		t.Errorf("got %v %v", ok, err)
	}
	ok, err = mustParse(t, "[ipv4-addr:value = '192.0.2.1']").Match([]*Observation{nil, o})
	if !ok || err != nil {
		t.Errorf("got %v %v", ok, err)
	}
}

func TestLikeMatch(t *testing.T) {
	tests := []struct {
		s, p string
		want bool
	}{
		{"", "", true},
		{"", "%", true},
		{"", "_", false},
		{"abc", "abc", true},
		{"abc", "ab", false},
		{"abc", "a%", true},
		{"abc", "%c", true},
		{"abc", "%b%", true},
		{"abc", "a_c", true},
		{"abc", "a__c", false},
		{"abc", "%%%", true},
		{"aXbXc", "a%b%c", true},
		{"aXbXd", "a%b%c", false},
		{"mississippi", "%iss%ppi", true},
		{"mississippi", "m%ss%ss%", true},
		{"mississippi", "m%ss%ss%ss%", false},
		{"日本語", "日_語", true},
		{"日本語", "___", true},
		{"日本語", "__", false},
		{"ABC", "abc", false},
		{"a%b", "a%b", true},
		{"a\xffb", "a_b", true},
	}
	for _, tt := range tests {
		if got := likeMatch(tt.s, tt.p); got != tt.want {
			t.Errorf("likeMatch(%q, %q) = %v, want %v", tt.s, tt.p, got, tt.want)
		}
	}
}

func TestCmpNum(t *testing.T) {
	tests := []struct {
		a, b num
		want int
	}{
		{num{isInt: true, i: 1}, num{f: 1.5}, -1},
		{num{isInt: true, i: 2}, num{f: 1.5}, 1},
		{num{isInt: true, i: 1}, num{f: 1}, 0},
		{num{isInt: true, i: -1}, num{f: -1.5}, 1},
		{num{isInt: true, i: 1<<53 + 1}, num{f: 1 << 53}, 1},
		{num{isInt: true, i: 1<<62 + 1}, num{f: 1 << 62}, 1},
		{num{isInt: true, i: 1<<63 - 1}, num{f: 1 << 63}, -1},
		{num{isInt: true, i: -1 << 63}, num{f: -(1 << 63)}, 0},
		{num{isInt: true, i: -1 << 63}, num{f: -(1 << 64)}, 1},
		{num{f: 2.5}, num{isInt: true, i: 2}, 1},
		{num{f: 2.5}, num{f: 2.5}, 0},
	}
	for _, tt := range tests {
		if got := cmpNum(tt.a, tt.b); got != tt.want {
			t.Errorf("cmpNum(%+v, %+v) = %d, want %d", tt.a, tt.b, got, tt.want)
		}
	}
}

// The shortcut for REPEATS at the top of a pattern must agree with the
// enumeration of every set of observations.
func TestRepeatShortcutAgreesWithEnumeration(t *testing.T) {
	r := rand.New(rand.NewPCG(11, 12))
	base := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	for round := 0; round < 300; round++ {
		var obs []*Observation
		for i := 0; i < 1+r.IntN(6); i++ {
			first := base.Add(time.Duration(r.IntN(30)) * time.Second)
			last := first.Add(time.Duration(r.IntN(3)*r.IntN(10)) * time.Second)
			v := []string{"10.0.0.1", "10.0.0.2"}[r.IntN(2)]
			o, err := NewObservation(first, last, 1+r.IntN(3), map[string]any{"type": "ipv4-addr", "value": v})
			if err != nil {
				t.Fatal(err)
			}
			obs = append(obs, o)
		}
		quals := fmt.Sprintf("REPEATS %d TIMES", 1+r.IntN(6))
		switch r.IntN(3) {
		case 0:
			quals += fmt.Sprintf(" WITHIN %d SECONDS", 1+r.IntN(30))
		case 1:
			s := base.Add(time.Duration(r.IntN(20)) * time.Second)
			e := s.Add(time.Duration(1+r.IntN(20)) * time.Second)
			quals += " START t'" + s.Format(time.RFC3339) + "' STOP t'" + e.Format(time.RFC3339) + "'"
		}
		src := "([ipv4-addr:value = '10.0.0.1'] OR [ipv4-addr:value = '10.0.0.0/8']) " + quals
		p := mustParse(t, src)
		got, err := p.Match(obs)
		if err != nil {
			t.Fatal(err)
		}
		m := matcher{obs: obs}
		all, err := m.bindings(p.root, true)
		if err != nil {
			t.Fatal(err)
		}
		if want := len(all) > 0; got != want {
			t.Fatalf("%s: shortcut says %v, enumeration %v", src, got, want)
		}
	}
}

// References that lead back to the same list must not make a path reach an
// unbounded number of values.
func TestPathFanOutIsBounded(t *testing.T) {
	loop := map[string]any{"type": "x-loop", "id": "x-loop--1"}
	refs := make([]any, 20)
	for i := range refs {
		refs[i] = "x-loop--1"
	}
	loop["next_refs"] = refs
	o, err := NewObservation(time.Now(), time.Now(), 1, loop)
	if err != nil {
		t.Fatal(err)
	}
	path := "x-loop:" + strings.Repeat("next_refs[*].", 30) + "missing"
	start := time.Now()
	ok, err := mustParse(t, "["+path+" = 'x']").Match([]*Observation{o})
	if ok || err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("got %v %v after %v", ok, err, time.Since(start))
	}
	ok, _ = mustParse(t, "[x-loop:next_refs[3].next_refs[*].type = 'x-loop']").Match([]*Observation{o})
	if !ok {
		t.Error("a reference back to the same object should be followed")
	}
}
