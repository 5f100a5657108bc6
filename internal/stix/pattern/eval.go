package pattern

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/text/unicode/norm"
)

// maxPathValues bounds the values one object path may reach in one object:
// [*] steps over long lists, or over references that lead back to the same
// lists, could otherwise multiply without end.
const maxPathValues = 1 << 16

// walk resolves the steps of an object path from root and calls fn with
// each value reached and the object holding its last property, until fn
// returns false. A reference (the value of a *_ref property, or an element
// of a *_refs list) is followed when a property of the referenced object is
// asked for; a reference that the observation cannot resolve, a missing
// property, an index out of range or a step that does not fit the value (a
// key on a list, an index on a string) reaches nothing. After
// maxPathValues steps the walk stops.
func walk(o *Observation, root map[string]any, steps []pathStep, fn func(v any, owner map[string]any) bool) {
	w := walker{o: o, budget: maxPathValues, fn: fn}
	w.walk(root, root, refNone, steps)
}

type walker struct {
	o      *Observation
	budget int
	fn     func(v any, owner map[string]any) bool
}

// walk resolves steps from cur, which is a reference (refOne) or a list of
// references (refList) as ref tells. It returns false when fn or the
// budget stopped the walk.
func (w *walker) walk(cur any, owner map[string]any, ref refKind, steps []pathStep) bool {
	if w.budget--; w.budget < 0 {
		return false
	}
	if len(steps) == 0 {
		if cur == nil {
			return true
		}
		return w.fn(cur, owner)
	}
	s := &steps[0]
	switch s.kind {
	case stepKey:
		m, ok := cur.(map[string]any)
		if !ok {
			id, isStr := cur.(string)
			if !isStr || ref != refOne || w.o == nil {
				return true
			}
			if m = w.o.refs[id]; m == nil {
				return true
			}
		}
		v, ok := m[s.key]
		if !ok {
			return true
		}
		return w.walk(v, m, s.ref, steps[1:])
	case stepIndex, stepAny:
		list, ok := cur.([]any)
		if !ok {
			return true
		}
		elemRef := refNone
		if ref == refList {
			elemRef = refOne
		}
		if s.kind == stepIndex {
			if s.index >= len(list) {
				return true
			}
			return w.walk(list[s.index], owner, elemRef, steps[1:])
		}
		for _, e := range list {
			if !w.walk(e, owner, elemRef, steps[1:]) {
				return false
			}
		}
	}
	return true
}

// evalCmp evaluates a comparison expression against one SCO of an
// observation, the object where every object path starts.
func evalCmp(n cmpNode, o *Observation, root map[string]any, rootType string) bool {
	switch n := n.(type) {
	case *comparison:
		return n.eval(o, root, rootType)
	case *cmpBool:
		if n.and {
			for _, a := range n.args {
				if !evalCmp(a, o, root, rootType) {
					return false
				}
			}
			return true
		}
		for _, a := range n.args {
			if evalCmp(a, o, root, rootType) {
				return true
			}
		}
	}
	return false
}

// eval evaluates the comparison against root. A path that reaches nothing
// makes the comparison false, whatever the operator and NOT (section 9.6),
// except NOT EXISTS, which is true on an object of the path's type that
// lacks the property. With [*] the comparison holds when it holds for any
// element; NOT negates that result.
func (c *comparison) eval(o *Observation, root map[string]any, rootType string) bool {
	if rootType != c.path.typ {
		return false
	}
	present, hit := false, false
	walk(o, root, c.path.steps, func(v any, owner map[string]any) bool {
		present = true
		if c.op == opEXISTS || c.test(v, owner) {
			hit = true
			return false
		}
		return true
	})
	if c.op == opEXISTS {
		return present != c.not
	}
	if !present {
		return false
	}
	return hit != c.not
}

// test applies the operator, without NOT, to one value. Values of a type
// that cannot be compared with the constant make every operator false but
// != (section 9.6.1).
func (c *comparison) test(v any, owner map[string]any) bool {
	switch c.op {
	case opEQ:
		eq, ok := c.equal(&c.val, v, owner)
		return ok && eq
	case opNEQ:
		eq, ok := c.equal(&c.val, v, owner)
		return !ok || !eq
	case opIN:
		for i := range c.set {
			if eq, ok := c.equal(&c.set[i], v, owner); ok && eq {
				return true
			}
		}
		return false
	case opLT, opLE, opGT, opGE:
		r, ok := c.order(v)
		if !ok {
			return false
		}
		switch c.op {
		case opLT:
			return r < 0
		case opLE:
			return r <= 0
		case opGT:
			return r > 0
		}
		return r >= 0
	case opLIKE:
		s, ok := c.text(v)
		return ok && likeMatch(s, c.like)
	case opMATCHES:
		s, ok := c.text(v)
		return ok && c.re.MatchString(s)
	case opISSUBSET, opISSUPERSET:
		s, ok := v.(string)
		if !ok {
			return false
		}
		p, ok := parseIPPrefix(s)
		if !ok {
			return false
		}
		if c.op == opISSUBSET {
			return prefixWithin(p, c.pfx)
		}
		return prefixWithin(c.pfx, p)
	}
	return false
}

// isIPObject reports whether obj is an ipv4-addr or ipv6-addr object.
func isIPObject(obj map[string]any) bool {
	t, _ := obj["type"].(string)
	return t == "ipv4-addr" || t == "ipv6-addr"
}

// equal compares v with k. comparable is false when their types do not
// allow a comparison.
//
// The value property of ipv4-addr and ipv6-addr objects compares as a set
// of addresses when both sides parse as an address or CIDR block: the
// comparison is true when the observed address or block lies within the
// constant's, so '203.0.113.5' equals '203.0.113.0/24' and
// '198.51.100.1/32' equals '198.51.100.1'.
func (c *comparison) equal(k *constant, v any, owner map[string]any) (eq, comparable bool) {
	switch v := v.(type) {
	case string:
		if c.binProp {
			b, ok := c.decodeBinary(v)
			if !ok {
				return false, false
			}
			kb, ok := constBytes(k)
			if !ok {
				return false, false
			}
			return bytes.Equal(b, kb), true
		}
		switch k.kind {
		case cString:
			if k.ipOK && c.ipValue && isIPObject(owner) {
				if p, ok := parseIPPrefix(v); ok {
					return prefixWithin(p, k.ip), true
				}
			}
			return v == k.str, true
		case cBinary, cHex:
			b, ok := latin1Bytes(v)
			if !ok {
				return false, false
			}
			return bytes.Equal(b, k.b), true
		case cTimestamp:
			t, err := parseTimestamp(v)
			if err != nil {
				return false, false
			}
			return t.Equal(k.t), true
		}
		return false, false
	case bool:
		if k.kind != cBool {
			return false, false
		}
		return v == (k.i != 0), true
	}
	if n, ok := numberOf(v); ok && k.kind.numeric() {
		return cmpNum(n, constNum(k)) == 0, true
	}
	return false, false
}

// order compares v with the constant of an ordering operator and returns
// -1, 0 or +1. Strings compare by code point, binary values as unsigned
// octets, timestamps as instants.
func (c *comparison) order(v any) (int, bool) {
	k := &c.val
	switch v := v.(type) {
	case string:
		if c.binProp {
			b, ok := c.decodeBinary(v)
			if !ok {
				return 0, false
			}
			kb, ok := constBytes(k)
			if !ok {
				return 0, false
			}
			return bytes.Compare(b, kb), true
		}
		switch k.kind {
		case cString:
			return strings.Compare(v, k.str), true
		case cBinary, cHex:
			b, ok := latin1Bytes(v)
			if !ok {
				return 0, false
			}
			return bytes.Compare(b, k.b), true
		case cTimestamp:
			t, err := parseTimestamp(v)
			if err != nil {
				return 0, false
			}
			return t.Compare(k.t), true
		}
		return 0, false
	}
	if n, ok := numberOf(v); ok && k.kind.numeric() {
		return cmpNum(n, constNum(k)), true
	}
	return 0, false
}

// text returns the string LIKE and MATCHES work on: the NFC-normalised
// string, or for a binary property its octets as the code points U+0000 to
// U+00FF.
func (c *comparison) text(v any) (string, bool) {
	s, ok := v.(string)
	if !ok {
		return "", false
	}
	if c.binProp {
		b, ok := c.decodeBinary(s)
		if !ok {
			return "", false
		}
		return latin1String(b), true
	}
	return norm.NFC.String(s), true
}

// decodeBinary decodes the value of a binary property: base64 for names
// ending in _bin, hexadecimal for _hex.
func (c *comparison) decodeBinary(s string) ([]byte, bool) {
	var b []byte
	var err error
	if strings.HasSuffix(c.binaryName(), "_hex") {
		b, err = hex.DecodeString(s)
	} else {
		if strings.ContainsAny(s, "\r\n") {
			s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
		}
		b, err = base64.StdEncoding.DecodeString(s)
	}
	return b, err == nil
}

func (c *comparison) binaryName() string {
	for i := len(c.path.steps) - 1; i >= 0; i-- {
		if s := c.path.steps[i]; s.kind == stepKey {
			return s.key
		}
	}
	return ""
}

// constBytes returns the octets a constant stands for when compared with a
// binary property: those of a binary or hex constant, or the code points of
// a string when all are below U+0100 (section 9.6.4).
func constBytes(k *constant) ([]byte, bool) {
	switch k.kind {
	case cBinary, cHex:
		return k.b, true
	case cString:
		return latin1Bytes(k.str)
	}
	return nil, false
}

// latin1Bytes maps each code point of s below U+0100 to one octet. It fails
// when s has a code point above U+00FF or is not valid UTF-8.
func latin1Bytes(s string) ([]byte, bool) {
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r > 0xFF || (r == utf8.RuneError && size == 1) {
			return nil, false
		}
		b = append(b, byte(r))
		i += size
	}
	return b, true
}

// latin1String maps each octet to the code point of the same value.
func latin1String(b []byte) string {
	var sb strings.Builder
	sb.Grow(len(b))
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// num is a number from a constant or an observed value.
type num struct {
	isInt bool
	i     int64
	f     float64
}

func constNum(k *constant) num {
	if k.kind == cInt {
		return num{isInt: true, i: k.i}
	}
	return num{f: k.f}
}

// numberOf reads a JSON number: a json.Number, a float64 or a Go integer.
func numberOf(v any) (num, bool) {
	switch n := v.(type) {
	case json.Number:
		return parseNumber(string(n))
	case float64:
		if math.IsNaN(n) || math.IsInf(n, 0) {
			return num{}, false
		}
		return num{f: n}, true
	case int:
		return num{isInt: true, i: int64(n)}, true
	case int64:
		return num{isInt: true, i: n}, true
	case int32:
		return num{isInt: true, i: int64(n)}, true
	}
	return num{}, false
}

func parseNumber(s string) (num, bool) {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return num{isInt: true, i: i}, true
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil && !isRangeErr(err) || math.IsNaN(f) || math.IsInf(f, 0) {
		return num{}, false
	}
	return num{f: f}, true
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// cmpNum compares two numbers exactly: an integer and a float are compared
// without rounding the integer.
func cmpNum(a, b num) int {
	switch {
	case a.isInt && b.isInt:
		return cmpInt(a.i, b.i)
	case a.isInt:
		return cmpIntFloat(a.i, b.f)
	case b.isInt:
		return -cmpIntFloat(b.i, a.f)
	}
	switch {
	case a.f < b.f:
		return -1
	case a.f > b.f:
		return 1
	}
	return 0
}

func cmpInt(a, b int64) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func cmpIntFloat(i int64, f float64) int {
	const two63 = 9223372036854775808.0
	if f >= two63 {
		return -1
	}
	if f < -two63 {
		return 1
	}
	t := math.Trunc(f)
	if r := cmpInt(i, int64(t)); r != 0 {
		return r
	}
	switch frac := f - t; {
	case frac > 0:
		return -1
	case frac < 0:
		return 1
	}
	return 0
}

// valueKey returns the canonical text of an observed number, as numberKey.
func valueKey(n num) string { return numberKey(n.isInt, n.i, n.f) }

// likeMatch reports whether s matches the SQL LIKE pattern p, where % stands
// for any sequence of code points and _ for exactly one. The pattern has no
// escape character. The match is case-sensitive.
func likeMatch(s, p string) bool {
	si, pi := 0, 0
	starP, starS := -1, 0
	for si < len(s) {
		if pi < len(p) {
			switch p[pi] {
			case '%':
				pi++
				starP, starS = pi, si
				continue
			case '_':
				_, size := utf8.DecodeRuneInString(s[si:])
				si += size
				pi++
				continue
			default:
				_, size := utf8.DecodeRuneInString(p[pi:])
				if strings.HasPrefix(s[si:], p[pi:pi+size]) {
					si += size
					pi += size
					continue
				}
			}
		}
		if starP < 0 {
			return false
		}
		_, size := utf8.DecodeRuneInString(s[starS:])
		starS += size
		si, pi = starS, starP
	}
	for pi < len(p) && p[pi] == '%' {
		pi++
	}
	return pi == len(p)
}
