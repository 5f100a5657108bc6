package match

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"sync"
	"time"

	"github.com/gaissmai/bart"

	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

// MatchKind says how an observable matched an indicator.
type MatchKind uint8

// Kinds of matches.
const (
	MatchExact       MatchKind = iota + 1 // the value equals a constant of the pattern
	MatchSubdomain                        // the domain name is below a domain name of the pattern
	MatchCIDR                             // the address lies in a CIDR block of the pattern
	MatchURLNoQuery                       // the URL without its query equals a URL of the pattern
	MatchConjunction                      // every value a conjunction names is on one object
	MatchLike                             // a LIKE pattern matched
	MatchPattern                          // the pattern, evaluated on the record, matched
)

func (k MatchKind) String() string {
	switch k {
	case MatchExact:
		return "exact"
	case MatchSubdomain:
		return "subdomain"
	case MatchCIDR:
		return "cidr"
	case MatchURLNoQuery:
		return "url-without-query"
	case MatchConjunction:
		return "conjunction"
	case MatchLike:
		return "like"
	case MatchPattern:
		return "pattern"
	}
	return "unknown"
}

// Hit is one indicator matched by one observable of a record.
type Hit struct {
	Indicator string
	// Obs is the index of the observable in Record.Obs, or -1 when a
	// pattern evaluated on the whole record matched.
	Obs   int
	Match MatchKind
}

// Options configure a Matcher.
type Options struct {
	// ExactDomains turns off subdomain matching: by default an equality on
	// domain-name:value also matches every name below it.
	ExactDomains bool
}

// Matcher matches the observables of telemetry records against indicators
// (STIX patterns). It is built on pattern.Index and adds what telemetry
// needs: a prefilter so that the common miss costs one probe, subdomains,
// URL and case normalisation, conjunctions such as address and port, LIKE
// patterns by table, and evaluation of the remaining patterns per record.
// It is safe for concurrent use: lookups run in parallel and wait for
// changes.
type Matcher struct {
	opts Options

	mu      sync.RWMutex
	main    *pattern.Index // simple patterns
	general *pattern.Index // patterns evaluated per record

	pre      [numPaths]filterSet // per path, KeyHash of every value of the simple patterns
	preKeys  [numPaths]int
	prefixes [numPaths]*bart.Lite
	always   [numPaths]bool // ISSUBSET or ISSUPERSET: always ask the index

	ext       []extEnt
	arena     []byte
	atoms     []atomRef
	conjHeads map[uint64]uint32 // anchor KeyHash → entry + 1
	conjKeys  filterSet         // the keys of conjHeads, to reject quickly
	// dom2 holds the last two labels of every domain-name value, so that
	// most names cost one probe whatever their number of labels.
	dom2      filterSet
	conjPaths [numPaths]int
	likes     [numPaths]*likeTable
	byID      map[uint64]uint32 // hash of id → entry + 1 (conjunctions and LIKE)

	generalTypes map[string]int
	generalAny   int                 // general patterns evaluated on every record
	generalIDs   map[string][]string // general pattern id → its types

	counts  [classNone + 1]int
	removed int
}

type strRef struct{ off, n uint32 }

type atomRef struct {
	path Path
	val  strRef
}

// extEnt is a conjunction or LIKE pattern.
type extEnt struct {
	id     strRef
	atom0  uint32 // conjunction: first atom (the anchor)
	natoms uint8
	class  class
	lead   bool   // LIKE: the pattern starts with '%'
	trail  bool   // LIKE: the pattern ends with '%'
	winOff int32  // LIKE: likeSpec.winOff
	path   Path   // LIKE: the path
	lit    strRef // LIKE: the literal
	next   uint32 // next entry of the same bucket + 1
	nextID uint32 // next entry whose id has the same hash + 1
	dead   bool
}

// NewMatcher returns an empty matcher.
func NewMatcher(opts Options) *Matcher {
	return &Matcher{
		opts:         opts,
		main:         pattern.NewIndex(),
		general:      pattern.NewIndex(),
		conjHeads:    map[uint64]uint32{},
		byID:         map[uint64]uint32{},
		generalTypes: map[string]int{},
		generalIDs:   map[string][]string{},
	}
}

// ErrUnmatchable is returned by Add for a pattern that compares nothing
// telemetry carries (see Path).
var ErrUnmatchable = errors.New("match: the pattern compares nothing telemetry carries")

// Add adds (or replaces) the pattern of indicator id.
func (m *Matcher) Add(id string, p *pattern.Pattern) error {
	c := compile(p)
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(id)
	return m.insertLocked(id, c)
}

// AddText parses and adds a pattern.
func (m *Matcher) AddText(id, text string) error {
	p, err := pattern.Parse(text)
	if err != nil {
		return err
	}
	return m.Add(id, p)
}

// Remove removes the pattern of indicator id, if any.
func (m *Matcher) Remove(id string) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.removeLocked(id)
}

func (m *Matcher) removeLocked(id string) {
	found := false
	if m.main.Len() > 0 {
		n := m.main.Len()
		m.main.Remove(id)
		if m.main.Len() < n {
			found = true
			m.counts[classSimple]--
		}
	}
	if types, ok := m.generalIDs[id]; ok {
		m.general.Remove(id)
		delete(m.generalIDs, id)
		if types == nil {
			m.generalAny--
		}
		for _, t := range types {
			if m.generalTypes[t]--; m.generalTypes[t] <= 0 {
				delete(m.generalTypes, t)
			}
		}
		m.counts[classGeneral]--
		found = true
	}
	h := hashOf(0, id)
	var prev uint32
	for e := m.byID[h]; e != 0; {
		x := &m.ext[e-1]
		next := x.nextID
		if !x.dead && m.str(x.id) == id {
			x.dead = true
			m.counts[x.class]--
			found = true
			if x.class == classLike {
				t := m.likes[x.path]
				t.n--
				if j := slices.Index(t.short, e); j >= 0 {
					t.short = slices.Delete(t.short, j, j+1)
				}
			}
			// Unlink from the id chain; the bucket chain skips dead entries.
			if prev == 0 {
				if next == 0 {
					delete(m.byID, h)
				} else {
					m.byID[h] = next
				}
			} else {
				m.ext[prev-1].nextID = next
			}
		} else {
			prev = e
		}
		e = next
	}
	if found {
		m.removed++
	}
}

func (m *Matcher) str(r strRef) string { return string(m.arena[r.off : r.off+r.n]) }

func (m *Matcher) addStr(s string) strRef {
	r := strRef{uint32(len(m.arena)), uint32(len(s))}
	m.arena = append(m.arena, s...)
	return r
}

func (m *Matcher) insertLocked(id string, c compiled) error {
	switch c.class {
	case classSimple:
		if err := m.main.Add(id, c.pat); err != nil {
			return err
		}
		m.addKeysLocked(&c)
	case classGeneral:
		if err := m.general.Add(id, c.pat); err != nil {
			return err
		}
		m.generalIDs[id] = c.types
		if c.types == nil {
			m.generalAny++
		}
		for _, t := range c.types {
			m.generalTypes[t]++
		}
	case classConj:
		e := extEnt{id: m.addStr(id), class: classConj, atom0: uint32(len(m.atoms)), natoms: uint8(min(len(c.atoms), 255))}
		// The anchor is the most selective value: a port is the last choice.
		best := 0
		for i, a := range c.atoms {
			if selectivity(a.path) > selectivity(c.atoms[best].path) {
				best = i
			}
		}
		c.atoms[0], c.atoms[best] = c.atoms[best], c.atoms[0]
		for _, a := range c.atoms[:e.natoms] {
			m.atoms = append(m.atoms, atomRef{a.path, m.addStr(a.val)})
		}
		anchor := c.atoms[0]
		h := KeyHash(anchor.path, anchor.val)
		e.next = m.conjHeads[h]
		m.conjKeys.add(h)
		m.conjPaths[anchor.path]++
		idx := m.allocExt(e)
		m.conjHeads[h] = idx
	case classLike:
		t := m.likeTable(c.like.path)
		if !c.counted {
			t.count(c.like.lit)
		}
		window, winOff := t.window(c.like)
		if window == "" && len(t.short) >= maxShortLike {
			// Too many patterns without a window: evaluate this one.
			return m.insertLocked(id, compiled{class: classGeneral, pat: c.pat, types: []string{c.like.path.Type()}})
		}
		e := extEnt{id: m.addStr(id), class: classLike, lead: c.like.lead, trail: c.like.trail, path: c.like.path, lit: m.addStr(c.like.lit), winOff: int32(winOff)}
		if window == "" {
			t.short = append(t.short, m.allocExt(e))
		} else {
			h := windowHash(window)
			e.next = t.buckets[h]
			idx := m.allocExt(e)
			t.buckets[h] = idx
			t.keys.add(h)
			if len(window) == likeWide {
				t.first[window[0]] |= 1
			} else {
				t.first[window[0]] |= 2
			}
		}
		t.n++
	case classNone:
		m.counts[classNone]++
		return ErrUnmatchable
	}
	m.counts[c.class]++
	return nil
}

func (m *Matcher) likeTable(p Path) *likeTable {
	t := m.likes[p]
	if t == nil {
		t = &likeTable{buckets: map[uint64]uint32{}}
		m.likes[p] = t
	}
	return t
}

// addKeysLocked adds the prefilter keys, prefixes and flags of a simple
// pattern.
func (m *Matcher) addKeysLocked(c *compiled) {
	for _, k := range c.keys {
		m.pre[k.path].add(KeyHash(k.path, k.val))
		m.preKeys[k.path]++
		if k.path == PathDomain {
			m.dom2.add(KeyHash(PathDomain, lastLabels(k.val)))
		}
	}
	for _, pp := range c.prefixes {
		if m.prefixes[pp.path] == nil {
			m.prefixes[pp.path] = new(bart.Lite)
		}
		m.prefixes[pp.path].Insert(pp.pfx)
	}
	for _, p := range c.always {
		m.always[p] = true
	}
}

// allocExt stores e and links it by id; it returns its index + 1.
func (m *Matcher) allocExt(e extEnt) uint32 {
	h := hashOf(0, m.str(e.id))
	e.nextID = m.byID[h]
	m.ext = append(m.ext, e)
	idx := uint32(len(m.ext))
	m.byID[h] = idx
	return idx
}

func selectivity(p Path) int {
	switch p {
	case PathSrcPort, PathDstPort:
		return 0
	case PathUserAgent, PathFileName:
		return 1
	case PathSrcRef, PathDstRef, PathIPv4, PathIPv6:
		return 2
	}
	return 3
}

func (m *Matcher) prefilterLen() int {
	n := 0
	for i := range m.pre {
		n += m.pre[i].len()
	}
	return n
}

// Stats describes the matcher's content.
type Stats struct {
	Simple      int `json:"simple"`      // answered by lookup
	Conjunction int `json:"conjunction"` // an anchor value and the others on the same object
	Like        int `json:"like"`        // LIKE by table
	General     int `json:"general"`     // evaluated per record
	Unmatchable int `json:"unmatchable"` // compare nothing telemetry carries; not loaded
	Prefilter   int `json:"prefilter_keys"`
	// Removed counts removals and replacements since the matcher was built;
	// their prefilter keys stay until it is rebuilt.
	Removed int `json:"removed"`
}

// Stats returns counts of the patterns in the matcher.
func (m *Matcher) Stats() Stats {
	m.mu.RLock()
	defer m.mu.RUnlock()
	return Stats{
		Simple:      m.counts[classSimple],
		Conjunction: m.counts[classConj],
		Like:        m.counts[classLike],
		General:     m.counts[classGeneral],
		Unmatchable: m.counts[classNone],
		Prefilter:   m.prefilterLen(),
		Removed:     m.removed,
	}
}

// Len is the number of patterns that can match.
func (m *Matcher) Len() int {
	s := m.Stats()
	return s.Simple + s.Conjunction + s.Like + s.General
}

// BulkResult reports a bulk load.
type BulkResult struct {
	Added       int
	Unmatchable int
	Invalid     int
	Elapsed     time.Duration
}

// Bulk adds many patterns, parsing and compiling them on several
// goroutines; ids must be distinct and new to the matcher. Call Add for
// each and Close at the end.
type Bulk struct {
	m    *Matcher
	jobs chan []bulkItem
	done chan struct{}
	cur  []bulkItem
	free chan []bulkItem // batches to reuse
	// likes are added last (see likeTable.window).
	likes []bulkItem
	res   BulkResult
	wg    sync.WaitGroup
	mu    sync.Mutex
	// OnInvalid, when set, is called (from any goroutine) with each
	// pattern that does not parse.
	OnInvalid func(id string, err error)
	start     time.Time
}

type bulkItem struct {
	id, text string
	c        compiled
	err      error
}

// NewBulk starts a bulk load with workers parsing goroutines (0: GOMAXPROCS).
func (m *Matcher) NewBulk(workers int) *Bulk {
	if workers <= 0 {
		workers = runtime.GOMAXPROCS(0)
	}
	b := &Bulk{m: m, jobs: make(chan []bulkItem, workers*2), done: make(chan struct{}), free: make(chan []bulkItem, workers*4), start: time.Now()}
	compiledCh := make(chan []bulkItem, workers*2)
	for range workers {
		b.wg.Add(1)
		go func() {
			defer b.wg.Done()
			var scratch analysis
			for items := range b.jobs {
				for i := range items {
					p, err := pattern.Parse(items[i].text)
					if err != nil {
						items[i].err = err
						continue
					}
					items[i].c = compileWith(p, &scratch)
				}
				compiledCh <- items
			}
		}()
	}
	go func() { b.wg.Wait(); close(compiledCh) }()
	// The inserter fills the matcher's own tables; the indexer adds the
	// simple patterns to the pattern index, which has a lock of its own,
	// so the two run side by side.
	indexCh := make(chan []bulkItem, 2)
	indexed := make(chan struct{})
	go func() {
		defer close(indexed)
		for items := range indexCh {
			for i := range items {
				it := &items[i]
				if it.err == nil && it.c.class == classSimple {
					if err := m.main.Add(it.id, it.c.pat); err != nil {
						b.mu.Lock()
						b.res.Invalid++
						b.res.Added--
						b.mu.Unlock()
					}
				}
			}
			clear(items)
			select {
			case b.free <- items[:0]:
			default:
			}
		}
	}()
	go func() {
		defer close(b.done)
		defer func() { <-indexed }()
		defer close(indexCh)
		for items := range compiledCh {
			m.mu.Lock()
			b.mu.Lock()
			for i := range items {
				it := &items[i]
				switch {
				case it.err != nil:
					b.res.Invalid++
					if b.OnInvalid != nil {
						b.OnInvalid(it.id, it.err)
					}
				case it.c.class == classNone:
					b.res.Unmatchable++
					m.counts[classNone]++
				case it.c.class == classSimple:
					m.addKeysLocked(&it.c)
					m.counts[classSimple]++
					b.res.Added++
				case it.c.class == classLike:
					// Keyed at the end, once the windows of every LIKE
					// pattern are counted.
					m.likeTable(it.c.like.path).count(it.c.like.lit)
					b.likes = append(b.likes, bulkItem{id: it.id, c: it.c})
				default:
					if err := m.insertLocked(it.id, it.c); err != nil {
						b.res.Invalid++
						if b.OnInvalid != nil {
							b.OnInvalid(it.id, err)
						}
					} else {
						b.res.Added++
					}
				}
			}
			b.mu.Unlock()
			m.mu.Unlock()
			indexCh <- items
		}
		m.mu.Lock()
		b.mu.Lock()
		for i := range b.likes {
			it := &b.likes[i]
			it.c.counted = true
			if err := m.insertLocked(it.id, it.c); err != nil {
				b.res.Invalid++
				if b.OnInvalid != nil {
					b.OnInvalid(it.id, err)
				}
			} else {
				b.res.Added++
			}
		}
		b.likes = nil
		for i := range m.pre {
			m.pre[i].compact()
		}
		m.conjKeys.compact()
		m.dom2.compact()
		b.mu.Unlock()
		m.mu.Unlock()
	}()
	return b
}

// bulkBatch is the number of patterns handed to a worker at a time.
const bulkBatch = 2048

// Add queues a pattern.
func (b *Bulk) Add(id, text string) {
	if b.cur == nil {
		select {
		case b.cur = <-b.free:
		default:
			b.cur = make([]bulkItem, 0, bulkBatch)
		}
	}
	b.cur = append(b.cur, bulkItem{id: id, text: text})
	if len(b.cur) >= bulkBatch {
		b.jobs <- b.cur
		b.cur = nil
	}
}

// Close waits for every queued pattern to be added.
func (b *Bulk) Close() BulkResult {
	if len(b.cur) > 0 {
		b.jobs <- b.cur
		b.cur = nil
	}
	close(b.jobs)
	<-b.done
	b.res.Elapsed = time.Since(b.start)
	return b.res
}

// Match appends to hits the indicators that the observables of rec match,
// at most one hit per indicator and value.
func (m *Matcher) Match(rec *Record, hits []Hit) []Hit {
	m.mu.RLock()
	defer m.mu.RUnlock()
	start := len(hits)
	for i := range rec.Obs {
		o := &rec.Obs[i]
		v := rec.Value(i)
		switch o.Path {
		case PathDomain:
			if !m.always[PathDomain] && !m.dom2.has(KeyHash(PathDomain, lastLabels(v))) {
				// No domain indicator ends in the same two labels: neither
				// the name nor any parent can match.
				break
			}
			hits = m.lookup(PathDomain, v, i, MatchExact, hits)
			if !m.opts.ExactDomains && m.preKeys[PathDomain] > 0 {
				for j := 0; j < len(v); j++ {
					if v[j] != '.' {
						continue
					}
					suffix := v[j+1:]
					if indexByte(suffix, '.') < 0 {
						break // a single label: not a parent domain
					}
					hits = m.lookup(PathDomain, suffix, i, MatchSubdomain, hits)
				}
			}
		case PathURL:
			hits = m.lookup(PathURL, v, i, MatchExact, hits)
			if q := indexByte(v, '?'); q >= 0 {
				hits = m.lookup(PathURL, v[:q], i, MatchURLNoQuery, hits)
			}
		default:
			hits = m.lookup(o.Path, v, i, MatchExact, hits)
		}
		if m.conjPaths[o.Path] > 0 {
			hits = m.matchConj(rec, i, v, hits)
		}
		if t := m.likes[o.Path]; t != nil && t.n > 0 {
			hits = m.matchLike(t, v, i, hits)
		}
	}
	if m.general.Len() > 0 {
		hits = m.matchGeneral(rec, hits)
	}
	return dedupHits(rec, hits, start)
}

// lookup asks the index about one value when the prefilter, the prefix
// tables or an ISSUBSET/ISSUPERSET comparison say it may match.
func (m *Matcher) lookup(p Path, v []byte, obs int, kind MatchKind, hits []Hit) []Hit {
	ask := false
	if m.preKeys[p] > 0 && m.pre[p].has(KeyHash(p, v)) {
		ask = true
	} else if t := m.prefixes[p]; t != nil {
		if a, ok := parseAddr(v); ok && t.Lookup(a) {
			ask = true
			if kind == MatchExact {
				kind = MatchCIDR
			}
		}
	}
	if !ask && !m.always[p] {
		return hits
	}
	for _, id := range m.main.MatchValue(p.Type(), p.Prop(), string(v)) {
		hits = append(hits, Hit{Indicator: id, Obs: obs, Match: kind})
	}
	return hits
}

func (m *Matcher) matchConj(rec *Record, i int, v []byte, hits []Hit) []Hit {
	o := &rec.Obs[i]
	h := KeyHash(o.Path, v)
	if !m.conjKeys.has(h) {
		return hits
	}
	for e := m.conjHeads[h]; e != 0; e = m.ext[e-1].next {
		x := &m.ext[e-1]
		if x.dead {
			continue
		}
		anchor := m.atoms[x.atom0]
		if anchor.path != o.Path || m.str(anchor.val) != string(v) {
			continue
		}
		all := true
		for _, a := range m.atoms[x.atom0+1 : x.atom0+uint32(x.natoms)] {
			if !rec.has(o.Obj, a.path, m.arena[a.val.off:a.val.off+a.val.n]) {
				all = false
				break
			}
		}
		if all {
			hits = append(hits, Hit{Indicator: m.str(x.id), Obs: i, Match: MatchConjunction})
		}
	}
	return hits
}

// lastLabels returns the last two labels of a domain name (all of it when
// it has fewer).
func lastLabels[T string | []byte](v T) T {
	dots := 0
	for i := len(v) - 1; i >= 0; i-- {
		if v[i] == '.' {
			if dots++; dots == 2 {
				return v[i+1:]
			}
		}
	}
	return v
}

// has reports whether the record has value v of path p on object obj.
func (r *Record) has(obj uint16, p Path, v []byte) bool {
	for j := range r.Obs {
		o := &r.Obs[j]
		if o.Path == p && o.Obj == obj && string(r.buf[o.off:o.end]) == string(v) {
			return true
		}
	}
	return false
}

func (m *Matcher) matchLike(t *likeTable, v []byte, i int, hits []Hit) []Hit {
	start := len(hits)
	v = nfc(v)
	for p := 0; p < len(v); p++ {
		f := t.first[v[p]]
		if f == 0 {
			continue
		}
		if f&1 != 0 && p+likeWide <= len(v) {
			if h := windowHash(v[p : p+likeWide]); t.keys.has(h) {
				hits = m.likeBucket(t.buckets[h], v, p, i, hits, start)
			}
		}
		if f&2 != 0 && p+likeNarrow <= len(v) {
			if h := windowHash(v[p : p+likeNarrow]); t.keys.has(h) {
				hits = m.likeBucket(t.buckets[h], v, p, i, hits, start)
			}
		}
	}
	for _, e := range t.short {
		hits = m.likeCheck(e, v, -1, i, hits, start)
	}
	return hits
}

// likeBucket checks the patterns of one bucket, whose window is at p.
func (m *Matcher) likeBucket(head uint32, v []byte, p, obs int, hits []Hit, start int) []Hit {
	for e := head; e != 0; e = m.ext[e-1].next {
		hits = m.likeCheck(e, v, p, obs, hits, start)
	}
	return hits
}

// likeCheck checks one LIKE pattern on v; p is where its window was found
// (-1 for short patterns).
func (m *Matcher) likeCheck(e uint32, v []byte, p, obs int, hits []Hit, start int) []Hit {
	x := &m.ext[e-1]
	if x.dead {
		return hits
	}
	lit := m.arena[x.lit.off : x.lit.off+x.lit.n]
	var ok bool
	if p >= 0 && x.winOff >= 0 {
		// The match starts winOff bytes before the window.
		at := p - int(x.winOff)
		ok = at >= 0 && (x.lead || at == 0) && likeMatch(v[at:], false, x.trail, lit)
	} else {
		ok = likeMatch(v, x.lead, x.trail, lit)
	}
	if !ok {
		return hits
	}
	id := m.str(x.id)
	for _, h := range hits[start:] {
		if h.Indicator == id {
			return hits
		}
	}
	return append(hits, Hit{Indicator: id, Obs: obs, Match: MatchLike})
}

// dedupHits drops repeated (indicator, value) pairs among hits[start:].
func dedupHits(rec *Record, hits []Hit, start int) []Hit {
	if len(hits)-start < 2 {
		return hits
	}
	out := hits[:start]
	for _, h := range hits[start:] {
		dup := false
		for _, k := range out[start:] {
			if k.Indicator == h.Indicator && (k.Obs == h.Obs || k.Obs >= 0 && h.Obs >= 0 && string(rec.Value(k.Obs)) == string(rec.Value(h.Obs))) {
				dup = true
				break
			}
		}
		if !dup {
			out = append(out, h)
		}
	}
	return out
}

// MatchValue returns the indicators that one value of path p matches, as
// Match would for a record holding only that value.
func (m *Matcher) MatchValue(p Path, value string) []Hit {
	var rec Record
	rec.Reset()
	if !rec.Add(p, "value", []byte(value)) {
		return nil
	}
	return m.Match(&rec, nil)
}

// String describes the matcher.
func (m *Matcher) String() string {
	s := m.Stats()
	return fmt.Sprintf("%d simple, %d conjunctions, %d LIKE, %d evaluated, %d unmatchable", s.Simple, s.Conjunction, s.Like, s.General, s.Unmatchable)
}
