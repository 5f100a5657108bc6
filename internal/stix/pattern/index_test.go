package pattern

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// randomPatterns and randomObservation draw from small vocabularies so that
// random patterns often match random observations.

var (
	ipValues     = []string{"10.0.0.1", "10.0.0.2", "10.0.0.0/8", "10.1.2.0/24", "10.1.2.3/32", "192.0.2.1", "2001:db8::1", "2001:0db8::1", "2001:db8::/32", "0.0.0.0/0"}
	domainValues = []string{"a.example", "b.example", "10.0.0.1", "A.example"}
	hashValues   = []string{"79054025255fb1a26e4bc422aef54eb4", "cead3f77f6cda6ec00f57d76c9a6879f", "d41d8cd98f00b204e9800998ecf8427e"}
	names        = []string{"foo.dll", "bar.exe", "Foo.dll", "a'b"}
	numbers      = []string{"1", "2", "2.0", "2.5", "443", "-1"}
)

func pick[T any](r *rand.Rand, xs []T) T { return xs[r.IntN(len(xs))] }

func quote(s string) string { return string(appendQuoted(nil, s)) }

// randomAtom returns a comparison the index can answer by lookup.
func randomAtom(r *rand.Rand) string {
	switch r.IntN(12) {
	case 0:
		return "ipv4-addr:value = " + quote(pick(r, ipValues))
	case 1:
		return "ipv6-addr:value = " + quote(pick(r, ipValues))
	case 2:
		return "ipv4-addr:value ISSUBSET " + quote(pick(r, ipValues))
	case 3:
		return "ipv4-addr:value ISSUPERSET " + quote(pick(r, ipValues))
	case 4:
		return "domain-name:value = " + quote(pick(r, domainValues))
	case 5:
		return "file:hashes.MD5 = " + quote(pick(r, hashValues))
	case 6:
		return "file:name IN (" + quote(pick(r, names)) + ", " + quote(pick(r, names)) + ")"
	case 7:
		return "file:size = " + pick(r, numbers)
	case 8:
		return "network-traffic:dst_ref.value = " + quote(pick(r, append(ipValues, domainValues...)))
	case 9:
		return "network-traffic:dst_port IN (" + pick(r, numbers) + ", " + pick(r, numbers) + ")"
	case 10:
		return "network-traffic:protocols[*] = " + quote(pick(r, []string{"tcp", "udp"}))
	default:
		return "process:pid = " + pick(r, numbers)
	}
}

// randomComplex returns a comparison the index must evaluate.
func randomComplex(r *rand.Rand) string {
	switch r.IntN(8) {
	case 0:
		return "file:name != " + quote(pick(r, names))
	case 1:
		return "file:name LIKE '%.dll'"
	case 2:
		return "file:name MATCHES '^[a-z]+\\\\.'"
	case 3:
		return "file:size > " + pick(r, numbers)
	case 4:
		return "ipv4-addr:value NOT = " + quote(pick(r, ipValues))
	case 5:
		return "EXISTS network-traffic:src_ref"
	case 6:
		return "domain-name:value = " + quote(pick(r, domainValues)) + " AND domain-name:resolves_to_refs[*].value = " + quote(pick(r, ipValues))
	default:
		return "file:hashes.MD5 = " + quote(pick(r, hashValues)) + " AND file:name = " + quote(pick(r, names))
	}
}

func randomPattern(r *rand.Rand) string {
	switch r.IntN(10) {
	case 0, 1, 2, 3:
		return "[" + randomAtom(r) + "]"
	case 4:
		return "[" + randomAtom(r) + " OR " + randomAtom(r) + "]"
	case 5:
		return "[" + randomAtom(r) + "] OR [" + randomAtom(r) + " OR " + randomAtom(r) + "]"
	case 6:
		return "[" + randomComplex(r) + "]"
	case 7:
		return "[" + randomAtom(r) + "] AND [" + randomAtom(r) + "]"
	case 8:
		return "[" + randomAtom(r) + "] REPEATS 2 TIMES"
	default:
		return "[" + randomAtom(r) + "] WITHIN 10 SECONDS"
	}
}

func randomObservation(r *rand.Rand) *Observation {
	var objs []map[string]any
	ipType := func(v string) string {
		if strings.Contains(v, ":") {
			return "ipv6-addr"
		}
		return "ipv4-addr"
	}
	n := 1 + r.IntN(4)
	for i := 0; i < n; i++ {
		id := fmt.Sprintf("--%d", i)
		switch r.IntN(6) {
		case 0:
			v := pick(r, ipValues)
			objs = append(objs, map[string]any{"type": ipType(v), "id": ipType(v) + id, "value": v})
		case 1:
			objs = append(objs, map[string]any{"type": "domain-name", "id": "domain-name" + id, "value": pick(r, domainValues),
				"resolves_to_refs": []any{"ipv4-addr--r"}})
			objs = append(objs, map[string]any{"type": "ipv4-addr", "id": "ipv4-addr--r", "value": pick(r, ipValues)})
		case 2:
			f := map[string]any{"type": "file", "id": "file" + id, "name": pick(r, names), "size": jsonNumber(pick(r, numbers))}
			if r.IntN(2) == 0 {
				f["hashes"] = map[string]any{"MD5": pick(r, hashValues)}
			}
			objs = append(objs, f)
		case 3:
			target := map[string]any{"type": "domain-name", "id": "x--t" + id, "value": pick(r, domainValues)}
			if r.IntN(2) == 0 {
				v := pick(r, ipValues)
				target = map[string]any{"type": ipType(v), "id": "x--t" + id, "value": v}
			}
			nt := map[string]any{"type": "network-traffic", "id": "network-traffic" + id, "dst_ref": "x--t" + id,
				"dst_port": jsonNumber(pick(r, numbers)), "protocols": []any{"ipv4", pick(r, []string{"tcp", "udp"})}}
			if r.IntN(2) == 0 {
				nt["src_ref"] = "x--t" + id
			}
			objs = append(objs, nt)
			if r.IntN(4) != 0 { // sometimes the target is missing
				objs = append(objs, target)
			}
		case 4:
			objs = append(objs, map[string]any{"type": "process", "id": "process" + id, "pid": jsonNumber(pick(r, numbers))})
		default:
			objs = append(objs, map[string]any{"type": "url", "id": "url" + id, "value": "http://a.example/"})
		}
	}
	first := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	last := first.Add(time.Duration(r.IntN(20)) * time.Second)
	o, err := NewObservation(first, last, 1+r.IntN(2), objs...)
	if err != nil {
		panic(err)
	}
	return o
}

func jsonNumber(s string) any { return json.Number(s) }

func TestIndexMatchesEvaluator(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	ix := NewIndex()
	pats := map[string]*Pattern{}
	const nPatterns, nObservations = 2000, 800
	for i := 0; i < nPatterns; i++ {
		s := randomPattern(r)
		p := mustParse(t, s)
		id := fmt.Sprintf("indicator--%04d", i)
		if err := ix.Add(id, p); err != nil {
			t.Fatal(err)
		}
		pats[id] = p
	}
	// Replace some and remove some.
	for i := 0; i < nPatterns; i += 7 {
		id := fmt.Sprintf("indicator--%04d", i)
		if i%2 == 0 {
			ix.Remove(id)
			delete(pats, id)
			continue
		}
		p := mustParse(t, randomPattern(r))
		if err := ix.Add(id, p); err != nil {
			t.Fatal(err)
		}
		pats[id] = p
	}
	if ix.Len() != len(pats) {
		t.Fatalf("Len() = %d, want %d", ix.Len(), len(pats))
	}
	matched := 0
	for i := 0; i < nObservations; i++ {
		obs := randomObservation(r)
		got := ix.Match(obs)
		var want []string
		for id, p := range pats {
			ok, err := p.Match([]*Observation{obs})
			if err != nil {
				t.Fatal(err)
			}
			if ok {
				want = append(want, id)
			}
		}
		slices.Sort(want)
		matched += len(want)
		if !slices.Equal(got, want) {
			t.Fatalf("observation %d %v:\nindex matched %d, evaluator %d\nonly index: %v\nonly evaluator: %v",
				i, describeObs(obs), len(got), len(want), diffIDs(got, want, pats), diffIDs(want, got, pats))
		}
	}
	if matched < 1000 {
		t.Errorf("only %d matches: the random vocabularies should overlap more", matched)
	}
	t.Logf("%d patterns, %d matches", len(pats), matched)
}

func describeObs(o *Observation) string {
	var parts []string
	for _, r := range o.roots {
		parts = append(parts, fmt.Sprint(r))
	}
	return fmt.Sprintf("n=%d %v..%v %s", o.NumberObserved, o.FirstObserved.Format(time.TimeOnly), o.LastObserved.Format(time.TimeOnly), strings.Join(parts, " "))
}

func diffIDs(a, b []string, pats map[string]*Pattern) []string {
	var out []string
	for _, id := range a {
		if !slices.Contains(b, id) {
			out = append(out, id+" "+pats[id].String())
		}
	}
	return out
}

func TestIndexRemoveEverything(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	ix := NewIndex()
	var ids []string
	for i := 0; i < 2000; i++ {
		id := fmt.Sprintf("indicator--%d", i)
		if err := ix.Add(id, mustParse(t, randomPattern(r))); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	r.Shuffle(len(ids), func(i, j int) { ids[i], ids[j] = ids[j], ids[i] })
	for _, id := range ids {
		ix.Remove(id)
	}
	ix.Remove("never-added")
	if ix.Len() != 0 || ix.byKey.n != 0 || len(ix.types) != 0 || len(ix.evaluated) != 0 || len(ix.ext) != 0 {
		t.Fatalf("after removing everything: len %d, keys %d, types %d, evaluated %d, extra %d",
			ix.Len(), ix.byKey.n, len(ix.types), len(ix.evaluated), len(ix.ext))
	}
	for i := 0; i < 100; i++ {
		if got := ix.Match(randomObservation(r)); got != nil {
			t.Fatalf("empty index matched %v", got)
		}
	}
}

func TestIndexMatchValue(t *testing.T) {
	ix := NewIndex()
	add := func(id, s string) {
		t.Helper()
		if err := ix.Add(id, mustParse(t, s)); err != nil {
			t.Fatal(err)
		}
	}
	add("ip", "[ipv4-addr:value = '203.0.113.9']")
	add("ip32", "[ipv4-addr:value = '203.0.113.9/32']")
	add("net", "[ipv4-addr:value = '203.0.113.0/24']")
	add("sub", "[ipv4-addr:value ISSUBSET '203.0.0.0/16']")
	add("super", "[ipv4-addr:value ISSUPERSET '203.0.113.9']")
	add("other", "[ipv4-addr:value = '198.51.100.1']")
	add("v6", "[ipv6-addr:value = '2001:0db8::1']")
	add("sha", "[file:hashes.'SHA-256' = 'AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F']")
	add("md5", "[file:hashes.MD5 IN ('79054025255fb1a26e4bc422aef54eb4', 'cead3f77f6cda6ec00f57d76c9a6879f')]")
	add("port", "[network-traffic:dst_port = 443]")
	add("dst", "[network-traffic:dst_ref.value = '203.0.113.0/24']")
	add("either", "[domain-name:value = 'x.example'] OR [url:value = 'http://x.example/a']")
	add("complex", "[domain-name:value LIKE '%.example']")
	tests := []struct {
		typ, path, value string
		want             []string
	}{
		{"ipv4-addr", "value", "203.0.113.9", []string{"ip", "ip32", "net", "sub", "super"}},
		{"ipv4-addr", "value", "203.0.113.10", []string{"net", "sub"}},
		{"ipv4-addr", "value", "203.0.113.0/25", []string{"net", "sub", "super"}},
		{"ipv4-addr", "value", "198.51.100.1", []string{"other"}},
		{"ipv4-addr", "value", "192.0.2.1", nil},
		{"ipv6-addr", "value", "2001:db8::1", []string{"v6"}},
		{"ipv6-addr", "value", "2001:DB8:0::1", []string{"v6"}},
		{"file", "hashes.'SHA-256'", "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f", []string{"sha"}},
		{"file", "hashes.'SHA-256'", "AEC070645FE53EE3B3763059376134F058CC337247C978ADD178B6CCDFB0019F", []string{"sha"}},
		{"file", "hashes.SHA-256", "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f", nil},
		{"file", "hashes.MD5", "CEAD3F77F6CDA6EC00F57D76C9A6879F", []string{"md5"}},
		{"file", "hashes.'MD5'", "79054025255fb1a26e4bc422aef54eb4", []string{"md5"}},
		{"network-traffic", "dst_port", "443", []string{"port"}},
		{"network-traffic", "dst_port", "443.0", []string{"port"}},
		{"network-traffic", "dst_port", "444", nil},
		{"network-traffic", "dst_ref.value", "203.0.113.77", []string{"dst"}},
		{"domain-name", "value", "x.example", []string{"either"}},
		{"url", "value", "http://x.example/a", []string{"either"}},
		{"domain-name", "value", "y.example", nil},
		{"nothing", "value", "x", nil},
	}
	for _, tt := range tests {
		if got := ix.MatchValue(tt.typ, tt.path, tt.value); !slices.Equal(got, tt.want) {
			t.Errorf("MatchValue(%s, %s, %s) = %v, want %v", tt.typ, tt.path, tt.value, got, tt.want)
		}
	}
}

func TestIndexHashesIgnoreCase(t *testing.T) {
	ix := NewIndex()
	p := mustParse(t, "[file:hashes.MD5 = 'CEAD3F77F6CDA6EC00F57D76C9A6879F']")
	if err := ix.Add("upper", p); err != nil {
		t.Fatal(err)
	}
	o, _ := NewObservation(time.Now(), time.Now(), 1, map[string]any{"type": "file", "hashes": map[string]any{"MD5": "cead3f77f6cda6ec00f57d76c9a6879f"}})
	if got := ix.Match(o); !slices.Equal(got, []string{"upper"}) {
		t.Errorf("index: %v, want [upper]", got)
	}
	// The evaluator follows the specification: case matters.
	if ok, _ := p.Match([]*Observation{o}); ok {
		t.Error("the evaluator should compare hash strings exactly")
	}
}

func TestIndexReplace(t *testing.T) {
	ix := NewIndex()
	o, _ := NewObservation(time.Now(), time.Now(), 1, map[string]any{"type": "domain-name", "value": "a.example"})
	if err := ix.Add("x", mustParse(t, "[domain-name:value = 'a.example']")); err != nil {
		t.Fatal(err)
	}
	if got := ix.Match(o); !slices.Equal(got, []string{"x"}) {
		t.Fatalf("got %v", got)
	}
	if err := ix.Add("x", mustParse(t, "[domain-name:value = 'b.example']")); err != nil {
		t.Fatal(err)
	}
	if got := ix.Match(o); got != nil {
		t.Fatalf("after replacing: %v", got)
	}
	if ix.Len() != 1 {
		t.Fatalf("Len() = %d", ix.Len())
	}
	if err := ix.Add("", mustParse(t, "[domain-name:value = 'b.example']")); err == nil {
		t.Error("empty id accepted")
	}
	if err := ix.Add("y", nil); err == nil {
		t.Error("nil pattern accepted")
	}
	if ix.Match(nil) != nil {
		t.Error("Match(nil) should be nil")
	}
}

func TestIndexConcurrent(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	ix := NewIndex()
	var pats []*Pattern
	var obs []*Observation
	for i := 0; i < 200; i++ {
		pats = append(pats, mustParse(t, randomPattern(r)))
		obs = append(obs, randomObservation(r))
	}
	done := make(chan bool)
	go func() {
		for i, p := range pats {
			_ = ix.Add(fmt.Sprint(i%50), p)
		}
		done <- true
	}()
	for _, o := range obs {
		ix.Match(o)
		ix.MatchValue("ipv4-addr", "value", "10.0.0.1")
	}
	<-done
}

func TestSlotTable(t *testing.T) {
	// Hash everything to a few home positions to exercise collisions, tags
	// that differ in the high bits and the backward shift on removal.
	vals := map[uint32]uint64{}
	var tab slotTable
	r := rand.New(rand.NewPCG(7, 8))
	live := map[uint32]bool{}
	for i := uint32(0); i < 5000; i++ {
		vals[i] = uint64(r.IntN(4))<<40 | uint64(r.IntN(8))
		tab.insert(vals[i], i)
		live[i] = true
		if r.IntN(3) == 0 {
			victim := uint32(r.IntN(int(i + 1)))
			if live[victim] {
				tab.remove(vals[victim], victim)
				delete(live, victim)
			}
		}
	}
	if tab.n != len(live) {
		t.Fatalf("n = %d, want %d", tab.n, len(live))
	}
	for s, h := range vals {
		found := false
		tab.probe(h, func(x uint32) bool {
			if vals[x] != h && tagOf(vals[x]) != tagOf(h) {
				t.Fatalf("probe for %x returned slot %d with hash %x", h, x, vals[x])
			}
			if x == s {
				found = true
			}
			return true
		})
		if found != live[s] {
			t.Fatalf("slot %d: found %v, live %v", s, found, live[s])
		}
	}
}

func TestLooksNumeric(t *testing.T) {
	for s, want := range map[string]bool{
		"0": true, "443": true, "-1": true, "1.5": true, "1e5": true, "1E+5": true, "-0.5e-3": true,
		"": false, "-": false, "01": false, "1.": false, ".5": false, "1e": false, "10.0.0.1": false, "0x1": false, "+1": false,
	} {
		if got := looksNumeric(s); got != want {
			t.Errorf("looksNumeric(%q) = %v, want %v", s, got, want)
		}
	}
}
