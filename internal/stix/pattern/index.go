package pattern

import (
	"errors"
	"hash/maphash"
	"net/netip"
	"slices"
	"sort"
	"strings"
	"sync"

	"github.com/gaissmai/bart"
)

// Index matches an observation against many patterns at once.
//
// Patterns that only look for values (equality and IN with string or number
// constants, ISSUBSET and ISSUPERSET, joined by OR within one observation
// expression or across observation expressions, without NOT or qualifiers)
// are kept as hash-table and prefix-table entries, without their syntax
// tree: a lookup costs a few hash probes per property of the observed
// objects, whatever the number of patterns. Other patterns are evaluated
// one by one, skipping those whose object types the observation lacks.
//
// For the hash table, hash values (properties hashes.<algorithm>) made of
// hexadecimal digits are compared case-insensitively, where Pattern.Match
// compares them exactly as the specification requires. Equality on the
// value of ipv4-addr and ipv6-addr objects follows Pattern.Match: an
// address matches a constant CIDR block that contains it.
//
// An Index is safe for concurrent use; lookups run in parallel with each
// other and wait for Add and Remove.
type Index struct {
	mu   sync.RWMutex
	seed maphash.Seed

	inds    []indicator
	freeInd []uint32
	ents    []entry
	freeEnt []uint32
	byID    slotTable // indicator slots by id
	byKey   slotTable // entry slots by (path kind, value)

	types map[string]*typeIndex
	paths []*pathIndex // by id; nil when free
	ext   map[uint32]*extra
	// evaluated lists the slots of the patterns evaluated one by one.
	evaluated []uint32
}

// indicator is one pattern in the index.
type indicator struct {
	id   string
	ent  uint32 // the entry of a kindSingle indicator
	kind uint8
}

const (
	kindFree   uint8 = iota
	kindSingle       // one hash-table entry and nothing else
	kindExtra        // described by an extra
)

// extra describes an indicator with several entries, prefix-table entries
// or a pattern to evaluate.
type extra struct {
	ents     []uint32
	prefixes []prefixRef
	pat      *Pattern
	types    []string // object types of an evaluated pattern
	pos      int      // position in evaluated
}

type prefixRef struct {
	path  *pathIndex
	table uint8
	pfx   netip.Prefix
}

// entry is one (path, kind, value) key of the hash table.
type entry struct {
	val string
	tp  uint32 // pathIndex id << 2 | value kind; 0 for a free entry
	ind uint32
}

// Value kinds of entries.
const (
	vkString  = iota // a string constant, compared as a string
	vkNumber         // a number constant, by its canonical text
	vkIP             // an address constant spelled canonically
	vkIPOther        // an address constant spelled otherwise, by its canonical text
)

// The prefix tables of a path.
const (
	tabEqual    = iota // = with a CIDR block on the value of an address object
	tabSubset          // ISSUBSET
	tabSuperset        // ISSUPERSET
)

type typeIndex struct {
	paths   []*pathIndex
	byCanon map[string]*pathIndex
}

// pathIndex is one object path that patterns of the index compare.
type pathIndex struct {
	id      uint32
	typ     string
	canon   string
	steps   []pathStep
	refs    int  // entries and prefixes using the path
	hash    bool // hashes.<algorithm>
	ipValue bool // ends with the property value
	noRefs  bool // has no _ref or _refs step
	tables  [3]*bart.Table[[]uint32]
}

// NewIndex returns an empty index.
func NewIndex() *Index {
	return &Index{
		seed:  maphash.MakeSeed(),
		types: map[string]*typeIndex{},
		ext:   map[uint32]*extra{},
		paths: []*pathIndex{nil}, // ids start at 1 so that tp is never 0
	}
}

// Len returns the number of patterns in the index.
func (ix *Index) Len() int {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	return ix.byID.n
}

func (ix *Index) hashKey(tp uint32, val string) uint64 {
	return maphash.String(ix.seed, val) ^ (uint64(tp) * 0x9E3779B97F4A7C15)
}

func (ix *Index) lookupID(id string) (uint32, bool) {
	var found uint32
	ok := false
	ix.byID.probe(maphash.String(ix.seed, id), func(s uint32) bool {
		if ix.inds[s].id == id {
			found, ok = s, true
			return false
		}
		return true
	})
	return found, ok
}

// Add adds a pattern under id, replacing any pattern already added under
// the same id.
func (ix *Index) Add(id string, p *Pattern) error {
	if id == "" {
		return errors.New("pattern: Index.Add: empty id")
	}
	if p == nil || p.root == nil {
		return errors.New("pattern: Index.Add: nil pattern")
	}
	var atomBuf [4]atom
	atoms, simple := collectAtoms(p.root, atomBuf[:0])
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if s, ok := ix.lookupID(id); ok {
		ix.removeSlot(s)
	}
	slot := ix.allocInd(strings.Clone(id))
	if !simple {
		x := &extra{pat: p, types: patternTypes(p.root), pos: len(ix.evaluated)}
		ix.evaluated = append(ix.evaluated, slot)
		ix.setExtra(slot, x)
		return nil
	}
	var keyBuf [4]keyPlan
	keys := keyBuf[:0]
	var prefixes []prefixRef
	for _, a := range atoms {
		pi := ix.pathFor(a.path)
		keys, prefixes = planAtom(pi, a, keys, prefixes)
	}
	keys = dedupKeys(keys)
	if len(keys) == 1 && len(prefixes) == 0 {
		ix.inds[slot].kind = kindSingle
		ix.inds[slot].ent = ix.addEntry(keys[0], slot)
		return nil
	}
	x := &extra{}
	for _, k := range keys {
		x.ents = append(x.ents, ix.addEntry(k, slot))
	}
	for _, pr := range prefixes {
		ix.addPrefix(pr, slot)
		x.prefixes = append(x.prefixes, pr)
	}
	ix.setExtra(slot, x)
	return nil
}

func (ix *Index) setExtra(slot uint32, x *extra) {
	ix.inds[slot].kind = kindExtra
	ix.ext[slot] = x
}

func (ix *Index) allocInd(id string) uint32 {
	var s uint32
	if n := len(ix.freeInd); n > 0 {
		s = ix.freeInd[n-1]
		ix.freeInd = ix.freeInd[:n-1]
		ix.inds[s] = indicator{id: id}
	} else {
		s = uint32(len(ix.inds))
		ix.inds = append(ix.inds, indicator{id: id})
	}
	ix.byID.insert(maphash.String(ix.seed, id), s)
	return s
}

// keyPlan is a hash-table key to add.
type keyPlan struct {
	path *pathIndex
	kind uint32
	val  string
}

func (ix *Index) addEntry(k keyPlan, ind uint32) uint32 {
	e := entry{val: strings.Clone(k.val), tp: k.path.id<<2 | k.kind, ind: ind}
	var s uint32
	if n := len(ix.freeEnt); n > 0 {
		s = ix.freeEnt[n-1]
		ix.freeEnt = ix.freeEnt[:n-1]
		ix.ents[s] = e
	} else {
		s = uint32(len(ix.ents))
		ix.ents = append(ix.ents, e)
	}
	k.path.refs++
	ix.byKey.insert(ix.hashKey(e.tp, e.val), s)
	return s
}

func (ix *Index) addPrefix(pr prefixRef, ind uint32) {
	t := pr.path.tables[pr.table]
	if t == nil {
		t = new(bart.Table[[]uint32])
		pr.path.tables[pr.table] = t
	}
	t.Modify(pr.pfx, func(old []uint32, _ bool) ([]uint32, bool) {
		return append(old, ind), false
	})
	pr.path.refs++
}

// Remove removes the pattern added under id, if any.
func (ix *Index) Remove(id string) {
	ix.mu.Lock()
	defer ix.mu.Unlock()
	if s, ok := ix.lookupID(id); ok {
		ix.removeSlot(s)
	}
}

func (ix *Index) removeSlot(slot uint32) {
	ind := ix.inds[slot]
	switch ind.kind {
	case kindSingle:
		ix.removeEntry(ind.ent)
	case kindExtra:
		x := ix.ext[slot]
		for _, e := range x.ents {
			ix.removeEntry(e)
		}
		for _, pr := range x.prefixes {
			ix.removePrefix(pr, slot)
		}
		if x.pat != nil {
			last := ix.evaluated[len(ix.evaluated)-1]
			ix.evaluated[x.pos] = last
			ix.ext[last].pos = x.pos
			ix.evaluated = ix.evaluated[:len(ix.evaluated)-1]
		}
		delete(ix.ext, slot)
	}
	ix.byID.remove(maphash.String(ix.seed, ind.id), slot)
	ix.inds[slot] = indicator{}
	ix.freeInd = append(ix.freeInd, slot)
}

func (ix *Index) removeEntry(s uint32) {
	e := ix.ents[s]
	ix.byKey.remove(ix.hashKey(e.tp, e.val), s)
	ix.ents[s] = entry{}
	ix.freeEnt = append(ix.freeEnt, s)
	ix.releasePath(ix.paths[e.tp>>2])
}

func (ix *Index) removePrefix(pr prefixRef, ind uint32) {
	if t := pr.path.tables[pr.table]; t != nil {
		t.Modify(pr.pfx, func(old []uint32, ok bool) ([]uint32, bool) {
			if i := slices.Index(old, ind); i >= 0 {
				old = slices.Delete(old, i, i+1)
			}
			return old, len(old) == 0
		})
		if t.Size() == 0 {
			pr.path.tables[pr.table] = nil
		}
	}
	ix.releasePath(pr.path)
}

// pathFor returns the pathIndex of an object path, creating it.
func (ix *Index) pathFor(p *objectPath) *pathIndex {
	ti := ix.types[p.typ]
	if ti == nil {
		ti = &typeIndex{byCanon: map[string]*pathIndex{}}
		ix.types[strings.Clone(p.typ)] = ti
	}
	var canon string
	if len(p.steps) == 1 && p.steps[0].kind == stepKey && bareKey(p.steps[0].key) {
		canon = p.steps[0].key // the common case, without allocating
	} else {
		canon = p.pathString()
	}
	if pi := ti.byCanon[canon]; pi != nil {
		return pi
	}
	canon = strings.Clone(canon)
	pi := &pathIndex{
		typ:     strings.Clone(p.typ),
		canon:   canon,
		steps:   cloneSteps(p.steps),
		ipValue: p.lastKey() == "value",
		noRefs:  true,
	}
	n := len(p.steps)
	pi.hash = !pi.ipValue && n >= 2 && p.steps[n-1].kind == stepKey &&
		p.steps[n-2].kind == stepKey && p.steps[n-2].key == "hashes"
	for _, s := range p.steps {
		if s.ref != refNone {
			pi.noRefs = false
		}
	}
	if i := slices.Index(ix.paths[1:], nil); i >= 0 {
		pi.id = uint32(i + 1)
		ix.paths[pi.id] = pi
	} else {
		pi.id = uint32(len(ix.paths))
		ix.paths = append(ix.paths, pi)
	}
	ti.byCanon[canon] = pi
	ti.paths = append(ti.paths, pi)
	return pi
}

// cloneSteps copies path steps so that they do not keep the pattern text
// alive.
func cloneSteps(steps []pathStep) []pathStep {
	out := make([]pathStep, len(steps))
	for i, s := range steps {
		s.key = strings.Clone(s.key)
		out[i] = s
	}
	return out
}

// releasePath drops one use of a path and forgets the path when unused.
func (ix *Index) releasePath(pi *pathIndex) {
	pi.refs--
	if pi.refs > 0 {
		return
	}
	ti := ix.types[pi.typ]
	delete(ti.byCanon, pi.canon)
	ti.paths = slices.DeleteFunc(ti.paths, func(x *pathIndex) bool { return x == pi })
	if len(ti.paths) == 0 {
		delete(ix.types, pi.typ)
	}
	ix.paths[pi.id] = nil
}

// atom is a comparison the index can answer by lookup.
type atom struct {
	path *objectPath
	cmp  *comparison
	k    *constant
}

// collectAtoms returns the comparisons of a pattern that matches exactly
// when one of them holds for one object of the observation, or false when
// the pattern is not of that form.
func collectAtoms(n obsNode, out []atom) ([]atom, bool) {
	switch n := n.(type) {
	case *obsBracket:
		return collectCmpAtoms(n.expr, out)
	case *obsCompound:
		if n.op != obsOr {
			return nil, false
		}
		for _, a := range n.args {
			var ok bool
			if out, ok = collectAtoms(a, out); !ok {
				return nil, false
			}
		}
		return out, true
	}
	return nil, false
}

func collectCmpAtoms(n cmpNode, out []atom) ([]atom, bool) {
	switch n := n.(type) {
	case *cmpBool:
		if n.and {
			return nil, false
		}
		for _, a := range n.args {
			var ok bool
			if out, ok = collectCmpAtoms(a, out); !ok {
				return nil, false
			}
		}
		return out, true
	case *comparison:
		if n.not || n.binProp {
			return nil, false
		}
		switch n.op {
		case opEQ:
			if n.val.kind != cString && !n.val.kind.numeric() {
				return nil, false
			}
			return append(out, atom{path: &n.path, cmp: n, k: &n.val}), true
		case opIN:
			for i := range n.set {
				if n.set[i].kind != cString && !n.set[i].kind.numeric() {
					return nil, false
				}
			}
			for i := range n.set {
				out = append(out, atom{path: &n.path, cmp: n, k: &n.set[i]})
			}
			return out, true
		case opISSUBSET, opISSUPERSET:
			return append(out, atom{path: &n.path, cmp: n}), true
		}
	}
	return nil, false
}

// planAtom adds the hash-table keys and prefix-table entries of an atom.
func planAtom(pi *pathIndex, a atom, keys []keyPlan, prefixes []prefixRef) ([]keyPlan, []prefixRef) {
	switch a.cmp.op {
	case opISSUBSET:
		return keys, append(prefixes, prefixRef{path: pi, table: tabSubset, pfx: a.cmp.pfx})
	case opISSUPERSET:
		return keys, append(prefixes, prefixRef{path: pi, table: tabSuperset, pfx: a.cmp.pfx})
	}
	k := a.k
	if k.kind.numeric() {
		return append(keys, keyPlan{path: pi, kind: vkNumber, val: k.key()}), prefixes
	}
	v := k.str
	if pi.hash {
		v = lowerHex(v)
	}
	if pi.ipValue && k.ipOK {
		if k.ip.IsSingleIP() {
			canon := k.ip.Addr().String()
			if canon == v {
				return append(keys, keyPlan{path: pi, kind: vkIP, val: v}), prefixes
			}
			return append(keys, keyPlan{path: pi, kind: vkIPOther, val: canon}, keyPlan{path: pi, kind: vkString, val: v}), prefixes
		}
		keys = append(keys, keyPlan{path: pi, kind: vkString, val: v})
		return keys, append(prefixes, prefixRef{path: pi, table: tabEqual, pfx: k.ip})
	}
	return append(keys, keyPlan{path: pi, kind: vkString, val: v}), prefixes
}

func dedupKeys(keys []keyPlan) []keyPlan {
	if len(keys) < 2 {
		return keys
	}
	out := keys[:0]
	for i, k := range keys {
		if !slices.Contains(keys[:i], k) {
			out = append(out, k)
		}
	}
	return out
}

// lowerHex returns s in lower case when it is made of hexadecimal digits.
func lowerHex(s string) string {
	upper := false
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'A' <= c && c <= 'F':
			upper = true
		case isDigit(c) || ('a' <= c && c <= 'f'):
		default:
			return s
		}
	}
	if !upper {
		return s
	}
	return strings.ToLower(s)
}

// patternTypes returns the object types a pattern compares.
func patternTypes(n obsNode) []string {
	var types []string
	forEachComparison(n, func(c *comparison) {
		if !slices.Contains(types, c.path.typ) {
			types = append(types, c.path.typ)
		}
	})
	return types
}

// Match returns the ids of the patterns that match the single observation
// obs (as Pattern.Match with obs alone), sorted. A pattern whose evaluation
// fails with ErrTooComplex counts as not matching.
func (ix *Index) Match(obs *Observation) []string {
	if obs == nil {
		return nil
	}
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	var buf [8]uint32
	hits := buf[:0]
	for _, root := range obs.roots {
		t, _ := root["type"].(string)
		ti := ix.types[t]
		if ti == nil {
			continue
		}
		for _, pi := range ti.paths {
			walk(obs, root, pi.steps, func(v any, owner map[string]any) bool {
				switch v := v.(type) {
				case string:
					hits = ix.lookupString(pi, v, pi.ipValue && isIPObject(owner), hits)
				case bool, map[string]any, []any:
				default:
					if n, ok := numberOf(v); ok {
						hits = ix.lookupKey(pi.id<<2|vkNumber, valueKey(n), hits)
					}
				}
				return true
			})
		}
	}
	for _, s := range ix.evaluated {
		x := ix.ext[s]
		relevant := false
		for _, t := range x.types {
			if obs.hasType(t) {
				relevant = true
				break
			}
		}
		if !relevant {
			continue
		}
		if ok, err := x.pat.matchOne(obs); ok && err == nil {
			hits = append(hits, s)
		}
	}
	return ix.ids(hits)
}

// MatchValue returns the ids of the patterns that match an object of type
// scoType whose property path (in canonical form, as in Observable.Path)
// holds value, sorted. It answers from the hash and prefix tables alone:
// patterns that the index evaluates one by one are not consulted. The value
// is looked up as a string and, when it is a JSON number, as a number. When
// the path goes through a reference the type of the object holding the
// value is unknown, and a value that is an address is treated as the value
// of an address object.
func (ix *Index) MatchValue(scoType, path, value string) []string {
	ix.mu.RLock()
	defer ix.mu.RUnlock()
	ti := ix.types[scoType]
	if ti == nil {
		return nil
	}
	pi := ti.byCanon[path]
	if pi == nil {
		// Accept a spelling that is not canonical, such as hashes.'MD5'.
		if c, ok := parseLoosePath(scoType, path); ok {
			pi = ti.byCanon[c]
		}
		if pi == nil {
			return nil
		}
	}
	var buf [8]uint32
	ipOwner := scoType == "ipv4-addr" || scoType == "ipv6-addr"
	if !pi.noRefs {
		ipOwner = true
	}
	hits := ix.lookupString(pi, value, pi.ipValue && ipOwner, buf[:0])
	if looksNumeric(value) {
		if n, ok := parseNumber(value); ok {
			hits = ix.lookupKey(pi.id<<2|vkNumber, valueKey(n), hits)
		}
	}
	return ix.ids(hits)
}

// parseLoosePath parses "type:path" and returns the canonical path.
func parseLoosePath(typ, path string) (string, bool) {
	var p parser
	p.lex.reset(typ + ":" + path)
	op, err := p.parsePath()
	if err != nil || p.peek().kind != tokEOF {
		return "", false
	}
	return op.pathString(), true
}

// looksNumeric reports whether s is a JSON number:
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?
func looksNumeric(s string) bool {
	i := 0
	digits := func() int {
		n := 0
		for i < len(s) && isDigit(s[i]) {
			i++
			n++
		}
		return n
	}
	if i < len(s) && s[i] == '-' {
		i++
	}
	start := i
	if n := digits(); n == 0 || (n > 1 && s[start] == '0') {
		return false
	}
	if i < len(s) && s[i] == '.' {
		i++
		if digits() == 0 {
			return false
		}
	}
	if i < len(s) && (s[i] == 'e' || s[i] == 'E') {
		i++
		if i < len(s) && (s[i] == '+' || s[i] == '-') {
			i++
		}
		if digits() == 0 {
			return false
		}
	}
	return i == len(s)
}

// lookupString appends to hits the indicators whose entries or prefixes
// match a string value of path pi. ipOwner tells whether the value belongs
// to an address object.
func (ix *Index) lookupString(pi *pathIndex, s string, ipOwner bool, hits []uint32) []uint32 {
	if pi.hash {
		s = lowerHex(s)
	}
	var pfx netip.Prefix
	pfxOK := false
	if pi.ipValue || pi.tables[tabSubset] != nil || pi.tables[tabSuperset] != nil {
		pfx, pfxOK = parseIPPrefix(s)
	}
	if ipOwner && pfxOK {
		// Address semantics: the constant's block must contain the value.
		if pfx.IsSingleIP() {
			var buf [64]byte
			canon := s
			if b := pfx.Addr().AppendTo(buf[:0]); string(b) != s {
				canon = string(b)
			}
			hits = ix.lookupKey(pi.id<<2|vkIP, canon, hits)
			hits = ix.lookupKey(pi.id<<2|vkIPOther, canon, hits)
		}
		if t := pi.tables[tabEqual]; t != nil {
			for _, slots := range t.Supernets(pfx) {
				hits = append(hits, slots...)
			}
		}
	} else {
		hits = ix.lookupKey(pi.id<<2|vkString, s, hits)
		if pi.ipValue && pfxOK && pfx.IsSingleIP() {
			var buf [64]byte
			if b := pfx.Addr().AppendTo(buf[:0]); string(b) == s {
				hits = ix.lookupKey(pi.id<<2|vkIP, s, hits)
			}
		}
	}
	if !pfxOK {
		return hits
	}
	if t := pi.tables[tabSubset]; t != nil {
		for _, slots := range t.Supernets(pfx) {
			hits = append(hits, slots...)
		}
	}
	if t := pi.tables[tabSuperset]; t != nil {
		for _, slots := range t.Subnets(pfx) {
			hits = append(hits, slots...)
		}
	}
	return hits
}

// lookupKey appends to hits the indicators of the entries with key
// (tp, val).
func (ix *Index) lookupKey(tp uint32, val string, hits []uint32) []uint32 {
	if len(ix.byKey.pos) == 0 {
		return hits
	}
	t := &ix.byKey
	mask := uint64(len(t.pos) - 1)
	tag := tagOf(ix.hashKey(tp, val))
	for i := uint64(tag) & mask; t.pos[i] != 0; i = (i + 1) & mask {
		if v := t.pos[i]; uint32(v>>32) == tag {
			if e := &ix.ents[uint32(v)-1]; e.tp == tp && e.val == val {
				hits = append(hits, e.ind)
			}
		}
	}
	return hits
}

// ids turns indicator slots into sorted, distinct ids.
func (ix *Index) ids(hits []uint32) []string {
	switch len(hits) {
	case 0:
		return nil
	case 1:
		return []string{ix.inds[hits[0]].id}
	}
	slices.Sort(hits)
	hits = slices.Compact(hits)
	out := make([]string, len(hits))
	for i, s := range hits {
		out[i] = ix.inds[s].id
	}
	sort.Strings(out)
	return out
}

// slotTable is an open-addressing hash set of uint32 slots with linear
// probing. Each position holds 32 bits of the element's hash, which give
// its home position and filter comparisons, and the slot number plus one
// (0 marks an empty position): 8 bytes, at most 1/0.75 of that per element
// with the load factor. Equal keys may occur more than once.
type slotTable struct {
	pos []uint64
	n   int
}

func tagOf(h uint64) uint32 { return uint32(h>>32) ^ uint32(h) }

func (t *slotTable) grow() {
	size := 16
	if len(t.pos) > 0 {
		size = 2 * len(t.pos)
	}
	old := t.pos
	t.pos = make([]uint64, size)
	mask := uint64(size - 1)
	for _, v := range old {
		if v == 0 {
			continue
		}
		i := (v >> 32) & mask
		for t.pos[i] != 0 {
			i = (i + 1) & mask
		}
		t.pos[i] = v
	}
}

func (t *slotTable) insert(h uint64, s uint32) {
	if (t.n+1)*4 > len(t.pos)*3 {
		t.grow()
	}
	mask := uint64(len(t.pos) - 1)
	tag := tagOf(h)
	i := uint64(tag) & mask
	for t.pos[i] != 0 {
		i = (i + 1) & mask
	}
	t.pos[i] = uint64(tag)<<32 | uint64(s+1)
	t.n++
}

// probe calls fn with each slot stored under the same 32 hash bits as h,
// until fn returns false.
func (t *slotTable) probe(h uint64, fn func(uint32) bool) {
	if len(t.pos) == 0 {
		return
	}
	mask := uint64(len(t.pos) - 1)
	tag := tagOf(h)
	for i := uint64(tag) & mask; t.pos[i] != 0; i = (i + 1) & mask {
		if v := t.pos[i]; uint32(v>>32) == tag && !fn(uint32(v)-1) {
			return
		}
	}
}

// remove deletes slot s, stored under hash h, shifting later elements of
// the probe sequence back so that no tombstone is needed.
func (t *slotTable) remove(h uint64, s uint32) {
	if len(t.pos) == 0 {
		return
	}
	mask := uint64(len(t.pos) - 1)
	want := uint64(tagOf(h))<<32 | uint64(s+1)
	i := (want >> 32) & mask
	for {
		v := t.pos[i]
		if v == 0 {
			return
		}
		if v == want {
			break
		}
		i = (i + 1) & mask
	}
	for j := i; ; {
		j = (j + 1) & mask
		v := t.pos[j]
		if v == 0 {
			break
		}
		home := (v >> 32) & mask
		// The element at j may fill the hole at i unless its home position
		// lies cyclically in (i, j].
		if (i < j && (home <= i || home > j)) || (j < i && home <= i && home > j) {
			t.pos[i] = v
			i = j
		}
	}
	t.pos[i] = 0
	t.n--
}
