package match

import (
	"net/netip"
	"strings"

	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

// How an indicator's pattern is matched.
type class uint8

const (
	// classSimple: only equality, IN, ISSUBSET and ISSUPERSET joined by OR
	// (the patterns pattern.Index answers by lookup); matched through
	// Index.MatchValue behind the prefilter.
	classSimple class = iota + 1
	// classConj: one observation expression whose comparisons are
	// equalities joined by AND, such as an address and a port; matched
	// through an anchor value and a check of the other values on the same
	// object.
	classConj
	// classLike: one LIKE comparison of the forms '%text%', 'text%',
	// '%text' or 'text'; matched through a table of the text's first
	// bytes.
	classLike
	// classGeneral: everything else, evaluated with Pattern.Match on each
	// record that has an object of a type the pattern names.
	classGeneral
	// classNone: compares only paths that telemetry never produces.
	classNone
)

func (c class) String() string {
	switch c {
	case classSimple:
		return "simple"
	case classConj:
		return "conjunction"
	case classLike:
		return "like"
	case classGeneral:
		return "general"
	}
	return "unmatchable"
}

// constVal is one constant of a comparison in the canonical pattern text.
type constVal struct {
	text       string // the decoded string, or the number's text
	str        bool   // a string (not a number)
	plain      bool   // a string or a number (not binary, hex, timestamp or boolean)
	start, end int    // the constant's bytes in the pattern text, quotes included
}

// comparison is one comparison of the pattern text.
type comparison struct {
	typ, prop string
	path      Path
	op        string
	not       bool
	vals      []constVal
	// one holds the first constant, so that comparisons with one
	// constant need no allocation for vals.
	one [1]constVal
}

// analysis is what the lexical scan of a canonical pattern found.
type analysis struct {
	cmps     []comparison
	brackets int
	and, or  int
	// other is set for NOT, EXISTS, FOLLOWEDBY and qualifiers.
	other bool
	// ok is set when the scan understood the whole text (cmps lists every
	// comparison).
	ok bool
}

// analyze scans the canonical text of a pattern (pattern.Pattern.String):
// single spaces around operators, keywords in upper case, strings between
// apostrophes with \' and \\ as the only escapes. It does not validate:
// the text comes from the parser.
func analyze(s string) analysis {
	var a analysis
	analyzeInto(s, &a)
	return a
}

// analyzeInto is analyze reusing the comparisons of a.
func analyzeInto(s string, a *analysis) {
	*a = analysis{cmps: a.cmps[:0]}
	type seg struct{ start, end int }
	var segBuf [16]seg
	segs := segBuf[:0]
	start := 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\'':
			for i++; i < len(s) && s[i] != '\''; i++ {
				if s[i] == '\\' {
					i++
				}
			}
		case ' ':
			if i > start {
				segs = append(segs, seg{start, i})
			}
			start = i + 1
		}
	}
	if start < len(s) {
		segs = append(segs, seg{start, len(s)})
	}
	const (
		wantPath = iota
		wantOp
		wantConst
		wantList
		wantExists
	)
	state := wantPath
	var cur *comparison
	for _, sg := range segs {
		st, end := sg.start, sg.end
		for st < end && (s[st] == '[' || s[st] == '(') {
			if s[st] == '[' {
				a.brackets++
			}
			st++
		}
		if st == end {
			continue
		}
		text := s[st:end]
		switch state {
		case wantPath:
			switch text {
			case "AND":
				a.and++
				continue
			case "OR":
				a.or++
				continue
			case "NOT":
				a.other = true
				continue
			case "EXISTS":
				a.other = true
				state = wantExists
				continue
			case "FOLLOWEDBY", "WITHIN", "SECONDS", "REPEATS", "TIMES", "START", "STOP":
				a.other = true
				continue
			}
			if c := text[0]; c == 't' && len(text) > 1 && text[1] == '\'' || '0' <= c && c <= '9' || c == '.' {
				continue // a qualifier's argument
			}
			colon := strings.IndexByte(text, ':')
			if colon <= 0 || !('a' <= text[0] && text[0] <= 'z') || strings.IndexByte(text[:colon], '\'') >= 0 {
				a.other = true
				return
			}
			a.cmps = append(a.cmps, comparison{typ: text[:colon], prop: text[colon+1:]})
			cur = &a.cmps[len(a.cmps)-1]
			cur.path = lookupPath(cur.typ, cur.prop)
			state = wantOp
		case wantExists:
			state = wantPath
		case wantOp:
			if text == "NOT" {
				cur.not = true
				a.other = true
				continue
			}
			cur.op = text
			switch text {
			case "IN":
				state = wantList
			case "=", "!=", "<", "<=", ">", ">=", "LIKE", "MATCHES", "ISSUBSET", "ISSUPERSET":
				state = wantConst
			default:
				a.other = true
				return
			}
		case wantConst, wantList:
			cv, rest, ok := scanConst(s, st, end)
			if !ok {
				a.other = true
				return
			}
			if cur.vals == nil {
				cur.one[0] = cv
				cur.vals = cur.one[:1:1]
			} else {
				cur.vals = append(cur.vals, cv)
			}
			if state == wantConst || strings.IndexByte(rest, ')') >= 0 {
				state = wantPath
			}
		}
	}
	if state != wantPath {
		a.other = true
		return
	}
	a.ok = true
	return
}

// scanConst reads the constant in s[st:end] and returns the text after it,
// which may only be closing brackets, parentheses and a comma.
func scanConst(s string, st, end int) (constVal, string, bool) {
	cv := constVal{start: st}
	i := st
	prefix := false
	if i+1 < end && s[i+1] == '\'' && (s[i] == 'b' || s[i] == 'h' || s[i] == 't') {
		prefix = true
		i++
	}
	switch {
	case s[i] == '\'':
		j := i + 1
		escaped := false
		for ; j < end && s[j] != '\''; j++ {
			if s[j] == '\\' && j+1 < end {
				escaped = true
				j++
			}
		}
		if j >= end {
			return cv, "", false
		}
		cv.text = s[i+1 : j]
		if escaped {
			var b strings.Builder
			for k := i + 1; k < j; k++ {
				if s[k] == '\\' {
					k++
				}
				b.WriteByte(s[k])
			}
			cv.text = b.String()
		}
		cv.str = true
		cv.plain = !prefix
		i = j + 1
	case s[i] == '-' || s[i] == '+' || s[i] == '.' || '0' <= s[i] && s[i] <= '9':
		j := i
		for j < end && (s[j] == '-' || s[j] == '+' || s[j] == '.' || '0' <= s[j] && s[j] <= '9') {
			j++
		}
		cv.text = s[i:j]
		cv.plain = true
		i = j
	default:
		j := i
		for j < end && 'a' <= s[j] && s[j] <= 'z' {
			j++
		}
		if w := s[i:j]; w != "true" && w != "false" {
			return cv, "", false
		}
		cv.text = s[i:j]
		i = j
	}
	cv.end = i
	rest := s[i:end]
	for k := 0; k < len(rest); k++ {
		if c := rest[k]; c != ')' && c != ']' && c != ',' {
			return cv, "", false
		}
	}
	return cv, rest, true
}

// key is a prefilter key: a normalised value of a path.
type key struct {
	path Path
	val  string
}

type pathPrefix struct {
	path Path
	pfx  netip.Prefix
}

// compiled is an indicator's pattern prepared for the matcher.
type compiled struct {
	class class
	pat   *pattern.Pattern // simple and general
	// simple: the values to put in the prefilter, the CIDR blocks of
	// address paths, and the paths with ISSUBSET or ISSUPERSET.
	keys     []key
	prefixes []pathPrefix
	always   []Path
	// conj: the values that must all be on one object.
	atoms []key
	// like
	like likeSpec
	// counted: the LIKE pattern's windows are already in the sketch.
	counted bool
	// general: the object types the pattern names.
	types []string
}

// compile classifies a parsed pattern and rewrites its constants into the
// normalised spelling telemetry is compared in.
func compile(p *pattern.Pattern) compiled {
	var a analysis
	return compileWith(p, &a)
}

// compileWith is compile with the scratch space of a previous call.
func compileWith(p *pattern.Pattern, scratch *analysis) compiled {
	text := p.String()
	analyzeInto(text, scratch)
	a := scratch
	if a.ok {
		if t, changed := rewrite(text, a); changed {
			if q, err := pattern.Parse(t); err == nil {
				if a2 := analyze(q.String()); a2.ok && len(a2.cmps) == len(a.cmps) {
					p, a = q, &a2
				}
			}
		}
	}
	switch {
	case a.ok && !a.other && isSimple(a):
		c := compiled{class: classSimple, pat: p}
		for _, cm := range a.cmps {
			if cm.path == PathNone {
				continue
			}
			switch cm.op {
			case "ISSUBSET", "ISSUPERSET":
				c.always = append(c.always, cm.path)
				continue
			}
			for _, v := range cm.vals {
				c.addKey(cm.path, v.text)
			}
		}
		if len(c.keys) == 0 && len(c.prefixes) == 0 && len(c.always) == 0 {
			return compiled{class: classNone}
		}
		return c
	case a.ok && !a.other && a.brackets == 1 && a.or == 0 && a.and > 0 && isConj(a):
		c := compiled{class: classConj}
		for _, cm := range a.cmps {
			c.atoms = append(c.atoms, key{cm.path, normConst(cm.path, cm.vals[0].text)})
		}
		return c
	case a.ok && !a.other && a.brackets == 1 && a.and == 0 && a.or == 0 && len(a.cmps) == 1 && a.cmps[0].op == "LIKE" && a.cmps[0].path != PathNone:
		if ls, ok := parseLike(a.cmps[0].path, a.cmps[0].vals[0].text); ok && a.cmps[0].vals[0].plain {
			return compiled{class: classLike, like: ls, pat: p}
		}
	}
	c := compiled{class: classGeneral, pat: p}
	known := false
	seen := map[string]bool{}
	for _, cm := range a.cmps {
		if !seen[cm.typ] {
			seen[cm.typ] = true
			c.types = append(c.types, cm.typ)
		}
		if objectTypes[cm.typ] {
			known = true
		}
	}
	if !a.ok {
		// The scan did not understand the text: keep the pattern and
		// evaluate it on every record.
		known = true
		c.types = nil
	}
	if !known {
		return compiled{class: classNone}
	}
	return c
}

// objectTypes are the object types records are made of.
var objectTypes = func() map[string]bool {
	m := map[string]bool{}
	for p := PathNone + 1; p < numPaths; p++ {
		m[p.Type()] = true
	}
	return m
}()

func isSimple(a *analysis) bool {
	if a.and > 0 || len(a.cmps) == 0 {
		return false
	}
	for _, cm := range a.cmps {
		if cm.not || strings.HasSuffix(cm.prop, "_bin") || strings.HasSuffix(cm.prop, "_hex") {
			return false
		}
		switch cm.op {
		case "=", "IN":
			for _, v := range cm.vals {
				if !v.plain {
					return false
				}
			}
		case "ISSUBSET", "ISSUPERSET":
		default:
			return false
		}
	}
	return true
}

func isConj(a *analysis) bool {
	if len(a.cmps) < 2 {
		return false
	}
	for _, cm := range a.cmps {
		if cm.not || cm.op != "=" || len(cm.vals) != 1 || !cm.vals[0].plain || cm.path == PathNone {
			return false
		}
		if cm.path.isAddress() && strings.IndexByte(cm.vals[0].text, '/') >= 0 {
			return false // a CIDR block: evaluate
		}
	}
	return true
}

// addKey adds the prefilter key or prefix of an equality constant.
func (c *compiled) addKey(p Path, v string) {
	if p.isAddress() {
		if strings.IndexByte(v, '/') >= 0 {
			if pfx, err := netip.ParsePrefix(v); err == nil {
				pfx = pfx.Masked()
				if a := pfx.Addr(); a.Is4In6() && pfx.Bits() >= 96 {
					pfx = netip.PrefixFrom(a.Unmap(), pfx.Bits()-96)
				}
				if pfx.IsSingleIP() {
					c.keys = append(c.keys, key{addrPath(p, pfx.Addr()), pfx.Addr().String()})
				} else {
					c.prefixes = append(c.prefixes, pathPrefix{p, pfx})
				}
				return
			}
		}
		if a, ok := parseAddr([]byte(v)); ok {
			c.keys = append(c.keys, key{addrPath(p, a), a.String()})
			return
		}
	}
	c.keys = append(c.keys, key{p, normConst(p, v)})
}

// addrPath is the path under which an address constant of path p is
// looked up: an IPv4 constant on ipv6-addr:value (an IPv4-mapped address)
// is found when the telemetry has the IPv4 address.
func addrPath(p Path, a netip.Addr) Path {
	switch p {
	case PathIPv4, PathIPv6:
		if a.Is4() {
			return PathIPv4
		}
		return PathIPv6
	}
	return p
}

// normConst normalises a constant of path p; a value that is not valid
// for the path is kept as written.
func normConst(p Path, v string) string {
	var buf [256]byte
	b, _, ok := appendNorm(buf[:0], p, []byte(v))
	if !ok || string(b) == v {
		return v
	}
	return string(b)
}

// rewrite replaces the string constants of equality, inequality and IN
// comparisons on known paths with their normalised spelling.
func rewrite(text string, a *analysis) (string, bool) {
	var b strings.Builder
	last := 0
	changed := false
	for _, cm := range a.cmps {
		if cm.path == PathNone || cm.path.isAddress() && !cm.path.isRef() {
			continue
		}
		switch cm.op {
		case "=", "!=", "IN":
		default:
			continue
		}
		for _, v := range cm.vals {
			if !v.str || !v.plain {
				continue
			}
			if cm.path.isRef() {
				if _, ok := parseAddr([]byte(v.text)); ok || strings.IndexByte(v.text, '/') >= 0 {
					continue
				}
			}
			n := normConst(cm.path, v.text)
			if n == v.text {
				continue
			}
			b.WriteString(text[last:v.start])
			b.WriteString(quote(n))
			last = v.end
			changed = true
		}
	}
	if !changed {
		return text, false
	}
	b.WriteString(text[last:])
	return b.String(), true
}

func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if s[i] == '\'' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}
