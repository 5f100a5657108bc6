package match

import (
	"bytes"
	"context"
	"fmt"
	"maps"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
)

// plantedSet is an indicator set and the plants that should hit it.
type plantedSet struct {
	m      *Matcher
	plants []plant
	want   [][]string // indicator ids each plant hits
}

func newPlantedSet(t testing.TB) *plantedSet {
	g := newLogGen(99)
	s := &plantedSet{m: NewMatcher(Options{})}
	add := func(id, p string) {
		if err := s.m.AddText(id, p); err != nil {
			t.Fatal(id, p, err)
		}
	}
	for i := 0; i < 200; i++ {
		ip := fmt.Sprintf("198.51.100.%d", i)
		add(fmt.Sprintf("ind-ip-%d", i), "[ipv4-addr:value = '"+ip+"']")
		s.plants = append(s.plants, plant{kind: "ip", value: ip})
		s.want = append(s.want, []string{fmt.Sprintf("ind-ip-%d", i)})
	}
	add("ind-cidr", "[ipv4-addr:value = '192.0.2.0/25']")
	for i := 0; i < 20; i++ {
		s.plants = append(s.plants, plant{kind: "ip", value: fmt.Sprintf("192.0.2.%d", i*5)})
		s.want = append(s.want, []string{"ind-cidr"})
	}
	for i := 0; i < 50; i++ {
		ip := fmt.Sprintf("203.0.113.%d", i)
		add(fmt.Sprintf("ind-ipport-%d", i), fmt.Sprintf("[network-traffic:dst_ref.value = '%s' AND network-traffic:dst_port = %d]", ip, 8000+i))
		s.plants = append(s.plants, plant{kind: "ipport", value: ip, port: 8000 + i})
		s.want = append(s.want, []string{fmt.Sprintf("ind-ipport-%d", i)})
		// The same address on another port hits nothing.
		s.plants = append(s.plants, plant{kind: "ipport", value: ip, port: 9999})
		s.want = append(s.want, nil)
	}
	for i := 0; i < 100; i++ {
		d := fmt.Sprintf("evil-%d.example", i)
		add(fmt.Sprintf("ind-dom-%d", i), "[domain-name:value = '"+d+"']")
		kind := []string{"domain", "host", "sni"}[i%3]
		s.plants = append(s.plants, plant{kind: kind, value: d})
		s.want = append(s.want, []string{fmt.Sprintf("ind-dom-%d", i)})
		s.plants = append(s.plants, plant{kind: kind, value: "www.cdn." + d})
		s.want = append(s.want, []string{fmt.Sprintf("ind-dom-%d", i)})
		// A name that contains an indicator's name but is not below it.
		s.plants = append(s.plants, plant{kind: kind, value: "not" + d})
		s.want = append(s.want, nil)
		s.plants = append(s.plants, plant{kind: kind, value: d + ".test"})
		s.want = append(s.want, nil)
	}
	for i := 0; i < 50; i++ {
		add(fmt.Sprintf("ind-path-%d", i), fmt.Sprintf("[url:value LIKE '%%/gate-%d.php%%']", i))
		s.plants = append(s.plants, plant{kind: "url", value: g.domain(), uri: fmt.Sprintf("/a/gate-%d.php?id=%d", i, i)})
		s.want = append(s.want, []string{fmt.Sprintf("ind-path-%d", i)})
		add(fmt.Sprintf("ind-url-%d", i), fmt.Sprintf("[url:value = 'http://bad-%d.example/drop/x.exe']", i))
		s.plants = append(s.plants, plant{kind: "url", value: fmt.Sprintf("BAD-%d.example", i), uri: "/drop/x.exe"})
		s.want = append(s.want, []string{fmt.Sprintf("ind-url-%d", i)})
		s.plants = append(s.plants, plant{kind: "url", value: fmt.Sprintf("bad-%d.example", i), uri: "/drop/x.exe.txt"})
		s.want = append(s.want, nil)
	}
	for i := 0; i < 100; i++ {
		h := g.hex(64)
		add(fmt.Sprintf("ind-sha-%d", i), "[file:hashes.'SHA-256' = '"+strings.ToUpper(h)+"']")
		s.plants = append(s.plants, plant{kind: "sha256", value: h})
		s.want = append(s.want, []string{fmt.Sprintf("ind-sha-%d", i)})
		m := g.hex(32)
		add(fmt.Sprintf("ind-md5-%d", i), "[file:hashes.MD5 = '"+m+"']")
		s.plants = append(s.plants, plant{kind: "md5", value: m})
		s.want = append(s.want, []string{fmt.Sprintf("ind-md5-%d", i)})
		j := g.hex(32)
		add(fmt.Sprintf("ind-ja3-%d", i), "[network-traffic:extensions.'x-tls'.ja3 = '"+j+"']")
		s.plants = append(s.plants, plant{kind: "ja3", value: j})
		s.want = append(s.want, []string{fmt.Sprintf("ind-ja3-%d", i)})
	}
	// Indicators no plant hits, whose values are substrings of benign ones.
	add("ind-substring-dom", "[domain-name:value = 'corp.tes']")
	add("ind-substring-ip", "[ipv4-addr:value = '10.1.1.1']")
	return s
}

// runPlanted writes a log with every plant at a random record and checks
// that the hits are exactly the planted ones.
func runPlanted(t *testing.T, format Format, write func(g *logGen, b *bytes.Buffer, p *plant)) {
	s := newPlantedSet(t)
	g := newLogGen(7)
	var b bytes.Buffer
	const records = 20000
	at := map[int]int{} // record → plant
	for i, p := range g.r.Perm(records)[:len(s.plants)] {
		at[p] = i
	}
	lineOf := map[int64]int{} // line number → plant
	for r := 0; r < records; r++ {
		line := int64(r) + 1 // one line per record
		if pi, ok := at[r]; ok {
			lineOf[line] = pi
			write(g, &b, &s.plants[pi])
		} else {
			write(g, &b, nil)
		}
	}
	var mu sync.Mutex
	got := map[int64][]string{}
	e := &Engine{Matcher: s.m, Format: format, Workers: 3, ChunkSize: 64 << 10}
	st, err := e.Run(context.Background(), bytes.NewReader(b.Bytes()), nil, func(rec *Record, hits []Hit, out []byte) []byte {
		if len(hits) == 0 {
			return out
		}
		mu.Lock()
		defer mu.Unlock()
		for _, h := range hits {
			if !slices.Contains(got[rec.N], h.Indicator) {
				got[rec.N] = append(got[rec.N], h.Indicator)
			}
		}
		return out
	})
	if err != nil {
		t.Fatal(err)
	}
	if st.Records != records {
		t.Errorf("%d records, want %d", st.Records, records)
	}
	want := map[int64][]string{}
	for line, pi := range lineOf {
		if len(s.want[pi]) > 0 {
			want[line] = s.want[pi]
		}
	}
	for _, l := range slices.Sorted(maps.Keys(want)) {
		g := got[l]
		sort.Strings(g)
		if !slices.Equal(g, want[l]) {
			t.Errorf("line %d (%+v): hits %v, want %v", l, s.plants[lineOf[l]], g, want[l])
		}
	}
	for l, ids := range got {
		if _, ok := want[l]; !ok {
			p := "no plant"
			if pi, ok := lineOf[l]; ok {
				p = fmt.Sprintf("%+v", s.plants[pi])
			}
			t.Errorf("line %d (%s): unexpected hits %v", l, p, ids)
		}
	}
	t.Logf("%d records, %d plants, %d lines with hits", st.Records, len(s.plants), len(got))
}

func TestPlantedZeekJSON(t *testing.T) {
	runPlanted(t, FormatZeek, func(g *logGen, b *bytes.Buffer, p *plant) { g.zeekJSON(b, p) })
}

func TestPlantedEVE(t *testing.T) {
	runPlanted(t, FormatEVE, func(g *logGen, b *bytes.Buffer, p *plant) { g.eve(b, p) })
}

func TestPlantedAuto(t *testing.T) {
	// Zeek and EVE records mixed, read with format auto.
	runPlanted(t, FormatAuto, func(g *logGen, b *bytes.Buffer, p *plant) {
		if g.r.IntN(2) == 0 {
			g.zeekJSON(b, p)
		} else {
			g.eve(b, p)
		}
	})
}

func TestPlantedZeekTSV(t *testing.T) {
	s := newPlantedSet(t)
	g := newLogGen(8)
	plants := map[int]*plant{}
	want := map[int64][]string{}
	const n = 20000
	const header = 8 // lines before the first record
	for i, pi := range g.r.Perm(n)[:300] {
		p := &s.plants[i%len(s.plants)]
		if p.kind != "ip" && p.kind != "ipport" {
			continue
		}
		plants[pi] = p
		if w := s.want[i%len(s.plants)]; len(w) > 0 {
			want[int64(pi+header+1)] = w
		}
	}
	var b bytes.Buffer
	g.zeekTSVConn(&b, n, plants)
	got := map[int64][]string{}
	var mu sync.Mutex
	e := &Engine{Matcher: s.m, Format: FormatZeek, Workers: 2, ChunkSize: 32 << 10}
	if _, err := e.Run(context.Background(), bytes.NewReader(b.Bytes()), nil, func(rec *Record, hits []Hit, out []byte) []byte {
		mu.Lock()
		defer mu.Unlock()
		for _, h := range hits {
			got[rec.N] = append(got[rec.N], h.Indicator)
		}
		return out
	}); err != nil {
		t.Fatal(err)
	}
	if !maps.EqualFunc(got, want, slices.Equal) {
		t.Errorf("got %d lines with hits, want %d", len(got), len(want))
		for l, w := range want {
			if !slices.Equal(got[l], w) {
				t.Errorf("line %d: %v, want %v", l, got[l], w)
			}
		}
		for l, g := range got {
			if _, ok := want[l]; !ok {
				t.Errorf("line %d: unexpected %v", l, g)
			}
		}
	}
}
