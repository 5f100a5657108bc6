package pattern

import (
	"encoding/hex"
	"errors"
	"fmt"
	"regexp"
	"regexp/syntax"
	"slices"
	"strings"
	"sync"

	"golang.org/x/text/unicode/norm"
)

// Error is a syntax or validation error in a pattern. Offset and End are byte
// offsets into the pattern text: input[Offset:End] is the offending part
// (empty at the end of the input).
type Error struct {
	// Offset is the byte offset where the problem starts.
	Offset int
	// End is the byte offset just after the offending token.
	End int
	// Msg says what was expected or what is wrong.
	Msg string
}

// Error returns "offset N: msg".
func (e *Error) Error() string { return fmt.Sprintf("offset %d: %s", e.Offset, e.Msg) }

// maxDepth bounds the nesting of parentheses and brackets.
const maxDepth = 100

// Parse parses a STIX 2.1 pattern. On failure the error is an *Error whose
// Offset is the byte offset of the problem in s.
func Parse(s string) (*Pattern, error) {
	p := parserPool.Get().(*parser)
	*p = parser{}
	p.lex.reset(s)
	root, err := p.parsePattern()
	*p = parser{} // drop references to s
	parserPool.Put(p)
	if err != nil {
		return nil, err
	}
	return &Pattern{root: root}, nil
}

// parserPool recycles parsers: the lexer's state functions make a parser
// escape to the heap, and it is large.
var parserPool = sync.Pool{New: func() any { return new(parser) }}

type parser struct {
	lex     lexer
	ring    [4]token // tokens read ahead, from ring[head]
	head    int
	n       int // tokens in ring
	depth   int
	lastEnd int // end of the token most recently consumed
}

// fill reads tokens until i+1 are ahead.
func (p *parser) fill(i int) {
	for p.n <= i {
		p.ring[(p.head+p.n)&3] = p.lex.next()
		p.n++
	}
}

// peekKind returns the kind of the token i positions ahead (0 is the next
// token).
func (p *parser) peekKind(i int) tokKind {
	p.fill(i)
	return p.ring[(p.head+i)&3].kind
}

// peek returns the next token without consuming it.
func (p *parser) peek() token {
	p.fill(0)
	return p.ring[p.head]
}

func (p *parser) next() token {
	p.fill(0)
	t := p.ring[p.head]
	p.head = (p.head + 1) & 3
	p.n--
	p.lastEnd = t.end
	return t
}

// errAt returns an error for token t: the lexer's message for an error
// token, else "expected <what>, found <t>".
func errAt(t token, expected string) *Error {
	if t.kind == tokError {
		return &Error{Offset: t.pos, End: t.end, Msg: t.val}
	}
	return &Error{Offset: t.pos, End: t.end, Msg: "expected " + expected + ", found " + t.describe()}
}

func errTok(t token, format string, args ...any) *Error {
	if t.kind == tokError {
		return &Error{Offset: t.pos, End: t.end, Msg: t.val}
	}
	return &Error{Offset: t.pos, End: t.end, Msg: fmt.Sprintf(format, args...)}
}

func (p *parser) enter(t token) *Error {
	p.depth++
	if p.depth > maxDepth {
		return &Error{Offset: t.pos, End: t.end, Msg: fmt.Sprintf("expressions are nested more than %d deep", maxDepth)}
	}
	return nil
}

func (p *parser) parsePattern() (obsNode, error) {
	if t := p.peek(); t.kind == tokEOF {
		return nil, &Error{Offset: t.pos, End: t.end, Msg: "empty pattern: expected '[' or '('"}
	}
	root, err := p.parseFollowedBy()
	if err != nil {
		return nil, err
	}
	if t := p.peek(); t.kind != tokEOF {
		return nil, errAt(t, "AND, OR, FOLLOWEDBY, a qualifier or end of pattern")
	}
	return root, nil
}

// joinObs builds an n-ary node, splicing operands that are the same operator.
func joinObs(op obsOp, args []obsNode) obsNode {
	if len(args) == 1 {
		return args[0]
	}
	nested := false
	for _, a := range args {
		if c, ok := a.(*obsCompound); ok && c.op == op {
			nested = true
		}
	}
	if !nested {
		return &obsCompound{op: op, args: args}
	}
	flat := args[:0:0]
	for _, a := range args {
		if c, ok := a.(*obsCompound); ok && c.op == op {
			flat = append(flat, c.args...)
		} else {
			flat = append(flat, a)
		}
	}
	return &obsCompound{op: op, args: flat}
}

func (p *parser) parseFollowedBy() (obsNode, error) {
	return p.parseObsChain(obsFollowedBy, tokFOLLOWEDBY, (*parser).parseObsOr)
}

func (p *parser) parseObsOr() (obsNode, error) {
	return p.parseObsChain(obsOr, tokOR, (*parser).parseObsAnd)
}

func (p *parser) parseObsAnd() (obsNode, error) {
	return p.parseObsChain(obsAnd, tokAND, (*parser).parseObsQualified)
}

func (p *parser) parseObsChain(op obsOp, k tokKind, operand func(*parser) (obsNode, error)) (obsNode, error) {
	first, err := operand(p)
	if err != nil {
		return nil, err
	}
	if p.peekKind(0) != k {
		return first, nil
	}
	args := make([]obsNode, 1, 4)
	args[0] = first
	for p.peekKind(0) == k {
		p.next()
		a, err := operand(p)
		if err != nil {
			return nil, err
		}
		args = append(args, a)
	}
	return joinObs(op, args), nil
}

func (p *parser) parseObsQualified() (obsNode, error) {
	e, err := p.parseObsPrimary()
	if err != nil {
		return nil, err
	}
	var quals []qualifier
	for {
		t := p.peek()
		if t.kind != tokWITHIN && t.kind != tokREPEATS && t.kind != tokSTART {
			break
		}
		q, err := p.parseQualifier()
		if err != nil {
			return nil, err
		}
		for _, prev := range quals {
			if prev.kind == q.kind {
				return nil, &Error{Offset: t.pos, End: t.end, Msg: fmt.Sprintf("an observation expression must not have more than one %s qualifier; use parentheses to apply another", q.kind)}
			}
		}
		quals = append(quals, q)
	}
	if len(quals) == 0 {
		return e, nil
	}
	// ([a] WITHIN 5 SECONDS) REPEATS 2 TIMES is the same as
	// [a] WITHIN 5 SECONDS REPEATS 2 TIMES: merge when no kind repeats.
	if inner, ok := e.(*obsQualified); ok {
		merge := true
		for _, q := range quals {
			for _, iq := range inner.quals {
				if iq.kind == q.kind {
					merge = false
				}
			}
		}
		if merge {
			return &obsQualified{expr: inner.expr, quals: append(slices.Clip(inner.quals), quals...)}, nil
		}
	}
	return &obsQualified{expr: e, quals: quals}, nil
}

func (p *parser) parseQualifier() (qualifier, error) {
	kw := p.next()
	switch kw.kind {
	case tokWITHIN:
		t := p.next()
		var secs float64
		switch t.kind {
		case tokInt:
			c, err := intConstant(t.text)
			if err != nil {
				return qualifier{}, errTok(t, "%v", err)
			}
			secs = float64(c.i)
		case tokFloat:
			c, err := floatConstant(t.text)
			if err != nil {
				return qualifier{}, errTok(t, "%v", err)
			}
			secs = c.f
		default:
			return qualifier{}, errAt(t, "a number of seconds after WITHIN")
		}
		if secs <= 0 {
			return qualifier{}, errTok(t, "the WITHIN time window must be a positive number of seconds")
		}
		if u := p.next(); u.kind != tokSECONDS {
			return qualifier{}, errAt(u, "SECONDS")
		}
		return qualifier{kind: qualWithin, seconds: secs}, nil
	case tokREPEATS:
		t := p.next()
		if t.kind != tokInt {
			return qualifier{}, errAt(t, "a positive integer after REPEATS")
		}
		c, err := intConstant(t.text)
		if err != nil {
			return qualifier{}, errTok(t, "%v", err)
		}
		if c.i < 1 {
			return qualifier{}, errTok(t, "REPEATS must be followed by a positive integer")
		}
		if u := p.next(); u.kind != tokTIMES {
			return qualifier{}, errAt(u, "TIMES")
		}
		return qualifier{kind: qualRepeats, times: c.i}, nil
	default: // tokSTART
		start, startTok, err := p.parseQualifierTime("START")
		if err != nil {
			return qualifier{}, err
		}
		if u := p.next(); u.kind != tokSTOP {
			return qualifier{}, errAt(u, "STOP")
		}
		stop, stopTok, err := p.parseQualifierTime("STOP")
		if err != nil {
			return qualifier{}, err
		}
		if !stop.t.After(start.t) {
			return qualifier{}, &Error{Offset: startTok.pos, End: stopTok.end, Msg: "the STOP time must be later than the START time"}
		}
		return qualifier{kind: qualStartStop, start: start.t, stop: stop.t, startText: start.str, stopText: stop.str}, nil
	}
}

// parseQualifierTime reads the timestamp of START or STOP. The specification
// requires a timestamp constant (t'…'); a plain string holding a valid
// timestamp, as written by older producers, is accepted too.
func (p *parser) parseQualifierTime(kw string) (constant, token, error) {
	t := p.next()
	switch t.kind {
	case tokTimestamp, tokString:
		body := t.val
		ts, err := parseTimestamp(body)
		if err != nil {
			return constant{}, t, errTok(t, "invalid %s time: %v", kw, err)
		}
		return constant{kind: cTimestamp, t: ts, str: canonicalTimestamp(body)}, t, nil
	}
	return constant{}, t, errAt(t, "a timestamp constant t'…' after "+kw)
}

func (p *parser) parseObsPrimary() (obsNode, error) {
	t := p.next()
	switch t.kind {
	case tokLBrack:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		e, types, err := p.parseCmpOr()
		if err != nil {
			return nil, err
		}
		if u := p.next(); u.kind != tokRBrack {
			return nil, errAt(u, "']' or AND/OR")
		}
		p.depth--
		return &obsBracket{expr: e, types: types}, nil
	case tokLParen:
		if err := p.enter(t); err != nil {
			return nil, err
		}
		e, err := p.parseFollowedBy()
		if err != nil {
			return nil, err
		}
		if u := p.next(); u.kind != tokRParen {
			return nil, errAt(u, "')', AND, OR, FOLLOWEDBY or a qualifier")
		}
		p.depth--
		return e, nil
	}
	return nil, errAt(t, "'[' or '('")
}

// joinCmp builds an n-ary AND or OR node, splicing nested nodes of the same
// operator.
func joinCmp(and bool, args []cmpNode) cmpNode {
	if len(args) == 1 {
		return args[0]
	}
	nested := false
	for _, a := range args {
		if b, ok := a.(*cmpBool); ok && b.and == and {
			nested = true
		}
	}
	if !nested {
		return &cmpBool{and: and, args: args}
	}
	flat := args[:0:0]
	for _, a := range args {
		if b, ok := a.(*cmpBool); ok && b.and == and {
			flat = append(flat, b.args...)
		} else {
			flat = append(flat, a)
		}
	}
	return &cmpBool{and: and, args: flat}
}

// parseCmpOr parses comparison expressions joined by OR. It also returns
// the object types an SCO matching the expression can have.
func (p *parser) parseCmpOr() (cmpNode, []string, error) {
	first, types, err := p.parseCmpAnd()
	if err != nil {
		return nil, nil, err
	}
	if p.peekKind(0) != tokOR {
		return first, types, nil
	}
	args := make([]cmpNode, 1, 4)
	args[0] = first
	for p.peekKind(0) == tokOR {
		p.next()
		a, ts, err := p.parseCmpAnd()
		if err != nil {
			return nil, nil, err
		}
		args = append(args, a)
		for _, t := range ts {
			if !slices.Contains(types, t) {
				types = append(types, t)
			}
		}
	}
	return joinCmp(false, args), types, nil
}

// parseCmpAnd parses comparison expressions joined by AND. All operands of
// AND must be satisfiable by the same SCO (section 9.5), so the sets of
// object types of the operands must intersect.
func (p *parser) parseCmpAnd() (cmpNode, []string, error) {
	first, types, err := p.parseCmpPrimary()
	if err != nil {
		return nil, nil, err
	}
	if p.peekKind(0) != tokAND {
		return first, types, nil
	}
	args := make([]cmpNode, 1, 4)
	args[0] = first
	for p.peekKind(0) == tokAND {
		p.next()
		start := p.peek()
		a, ts, err := p.parseCmpPrimary()
		if err != nil {
			return nil, nil, err
		}
		common := types[:0:0]
		for _, t := range types {
			if slices.Contains(ts, t) {
				common = append(common, t)
			}
		}
		if len(common) == 0 {
			return nil, nil, &Error{Offset: start.pos, End: p.lastEnd, Msg: fmt.Sprintf(
				"comparisons joined by AND must refer to the same object type, but %s cannot be combined with %s (join different types with OR, or use separate observation expressions)",
				typeList(ts), typeList(types))}
		}
		types = common
		args = append(args, a)
	}
	return joinCmp(true, args), types, nil
}

func typeList(ts []string) string {
	q := make([]string, len(ts))
	for i, t := range ts {
		q[i] = "'" + t + "'"
	}
	return strings.Join(q, "/")
}

func (p *parser) parseCmpPrimary() (cmpNode, []string, error) {
	t := p.peek()
	switch {
	case t.kind == tokLParen:
		p.next()
		if err := p.enter(t); err != nil {
			return nil, nil, err
		}
		e, types, err := p.parseCmpOr()
		if err != nil {
			return nil, nil, err
		}
		if u := p.next(); u.kind != tokRParen {
			return nil, nil, errAt(u, "')' or AND/OR")
		}
		p.depth--
		return e, types, nil
	case t.kind == tokEXISTS && p.peekKind(1) != tokColon:
		p.next()
		path, err := p.parsePath()
		if err != nil {
			return nil, nil, err
		}
		c := &comparison{path: path, op: opEXISTS}
		return c, c.types(), nil
	case t.kind == tokNOT && p.peekKind(1) == tokEXISTS && p.peekKind(2) != tokColon:
		p.next()
		p.next()
		path, err := p.parsePath()
		if err != nil {
			return nil, nil, err
		}
		c := &comparison{path: path, op: opEXISTS, not: true}
		return c, c.types(), nil
	case t.kind.isWord() && p.peekKind(1) == tokColon:
		c, err := p.parseComparison()
		if err != nil {
			return nil, nil, err
		}
		return c, c.types(), nil
	}
	return nil, nil, errAt(t, "an object path, EXISTS or '('")
}

// parseComparison parses path [NOT] operator constant.
func (p *parser) parseComparison() (*comparison, error) {
	path, err := p.parsePath()
	if err != nil {
		return nil, err
	}
	c := &comparison{path: path, binProp: path.binaryProperty(), ipValue: path.lastKey() == "value"}
	opTok := p.next()
	if opTok.kind == tokNOT {
		c.not = true
		opTok = p.next()
	}
	switch opTok.kind {
	case tokEQ, tokNEQ:
		c.op = opEQ
		if opTok.kind == tokNEQ {
			c.op = opNEQ
		}
		c.val, err = p.parseConstant(true)
	case tokLT, tokLE, tokGT, tokGE:
		switch opTok.kind {
		case tokLT:
			c.op = opLT
		case tokLE:
			c.op = opLE
		case tokGT:
			c.op = opGT
		default:
			c.op = opGE
		}
		c.val, err = p.parseConstant(false)
	case tokIN:
		c.op = opIN
		c.set, err = p.parseSet()
	case tokLIKE:
		c.op = opLIKE
		var s token
		s, err = p.expectString("LIKE")
		c.like = norm.NFC.String(s.val)
		c.val = constant{kind: cString, str: s.val}
	case tokMATCHES:
		c.op = opMATCHES
		var s token
		s, err = p.expectString("MATCHES")
		if err == nil {
			c.re, err = compileRegexp(s)
			c.val = constant{kind: cString, str: s.val}
		}
	case tokISSUBSET, tokISSUPERSET:
		c.op = opISSUBSET
		if opTok.kind == tokISSUPERSET {
			c.op = opISSUPERSET
		}
		var s token
		s, err = p.expectString(c.op.String())
		if err == nil {
			var ok bool
			if c.pfx, ok = parseIPPrefix(s.val); !ok {
				err = errTok(s, "%s needs an IPv4 or IPv6 address or CIDR block, not %s", c.op, s.describe())
			}
			c.val = constant{kind: cString, str: s.val}
		}
	default:
		if c.not {
			return nil, errAt(opTok, "a comparison operator after NOT")
		}
		return nil, errAt(opTok, "a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET)")
	}
	if err != nil {
		return nil, err
	}
	if c.ipValue && (c.op == opEQ || c.op == opNEQ || c.op == opIN) {
		// The value of an address object compares as an address set.
		c.val.setIP()
		for i := range c.set {
			c.set[i].setIP()
		}
	}
	return c, nil
}

func compileRegexp(s token) (*regexp.Regexp, error) {
	re, err := regexp.Compile("(?s)" + s.val)
	if err != nil {
		msg := err.Error()
		var e *syntax.Error
		if errors.As(err, &e) {
			msg = string(e.Code) + ": " + e.Expr
		}
		return nil, errTok(s, "invalid regular expression (Go RE2 syntax; see docs/pattern.md): %s%s", msg, pcreHint(s.val))
	}
	return re, nil
}

// pcreHint explains which PCRE feature that RE2 lacks a regular expression
// seems to use.
func pcreHint(src string) string {
	switch {
	case strings.Contains(src, "(?<=") || strings.Contains(src, "(?<!"):
		return " (lookbehind assertions are not supported)"
	case strings.Contains(src, "(?=") || strings.Contains(src, "(?!"):
		return " (lookahead assertions are not supported)"
	case strings.Contains(src, "(?>"):
		return " (atomic groups are not supported)"
	case strings.Contains(src, "++") || strings.Contains(src, "*+") || strings.Contains(src, "?+") || strings.Contains(src, "}+"):
		return " (possessive quantifiers are not supported)"
	}
	for i := 0; i+1 < len(src); i++ {
		if src[i] == '\\' {
			if isDigit(src[i+1]) && src[i+1] != '0' {
				return " (backreferences are not supported)"
			}
			i++
		}
	}
	return ""
}

func (p *parser) expectString(op string) (token, error) {
	t := p.next()
	if t.kind != tokString {
		return t, errAt(t, "a string constant after "+op)
	}
	return t, nil
}

// parseConstant parses a constant; booleans only when allowBool (they are
// not ordered).
func (p *parser) parseConstant(allowBool bool) (constant, error) {
	t := p.next()
	switch t.kind {
	case tokString:
		return stringConstant(t.val), nil
	case tokInt:
		c, err := intConstant(t.text)
		if err != nil {
			return c, errTok(t, "%v", err)
		}
		return c, nil
	case tokFloat:
		c, err := floatConstant(t.text)
		if err != nil {
			return c, errTok(t, "%v", err)
		}
		return c, nil
	case tokBool:
		if !allowBool {
			return constant{}, errTok(t, "booleans cannot be ordered: use = or != with %s", t.describe())
		}
		var v int64
		if strings.EqualFold(t.text, "true") {
			v = 1
		}
		return constant{kind: cBool, i: v}, nil
	case tokBinary:
		b, err := decodeBase64(t.val)
		if err != nil {
			return constant{}, errTok(t, "invalid binary constant: %v", err)
		}
		return constant{kind: cBinary, b: b}, nil
	case tokHex:
		b, err := hex.DecodeString(t.val)
		if err != nil {
			return constant{}, errTok(t, "invalid hex constant: %v", err)
		}
		return constant{kind: cHex, b: b}, nil
	case tokTimestamp:
		ts, err := parseTimestamp(t.val)
		if err != nil {
			return constant{}, errTok(t, "invalid timestamp constant: %v", err)
		}
		return constant{kind: cTimestamp, t: ts, str: canonicalTimestamp(t.val)}, nil
	}
	if allowBool {
		return constant{}, errAt(t, "a constant")
	}
	return constant{}, errAt(t, "a string, number, binary, hex or timestamp constant")
}

// parseSet parses ( constant, … ). The constants must be of one type; an
// integer and a float are both numbers, a binary and a hex constant both
// octets.
func (p *parser) parseSet() ([]constant, error) {
	if t := p.next(); t.kind != tokLParen {
		return nil, errAt(t, "'(' after IN")
	}
	if p.peekKind(0) == tokRParen {
		p.next()
		return []constant{}, nil
	}
	var set []constant
	for {
		t := p.peek()
		c, err := p.parseConstant(true)
		if err != nil {
			return nil, err
		}
		if len(set) > 0 && !sameSetType(set[0].kind, c.kind) {
			return nil, errTok(t, "the values of IN must all be of one type: %s %s after %s", c.kind, t.describe(), set[0].kind)
		}
		set = append(set, c)
		u := p.next()
		if u.kind == tokRParen {
			return set, nil
		}
		if u.kind != tokComma {
			return nil, errAt(u, "',' or ')'")
		}
	}
}

func sameSetType(a, b constKind) bool {
	return a == b || (a.numeric() && b.numeric()) || (a.bytesLike() && b.bytesLike())
}

// parsePath parses <object-type>:<property>(.<key> | [n] | [*])*.
func (p *parser) parsePath() (objectPath, error) {
	t := p.next()
	if !t.kind.isWord() {
		return objectPath{}, errAt(t, "an object type")
	}
	if err := checkTypeName(t.text); err != "" {
		return objectPath{}, errTok(t, "invalid object type %s: %s", t.describe(), err)
	}
	path := objectPath{typ: t.text}
	if u := p.next(); u.kind != tokColon {
		return objectPath{}, errAt(u, "':' after the object type")
	}
	key, err := p.parseKey()
	if err != nil {
		return objectPath{}, err
	}
	path.steps = append(make([]pathStep, 0, 2), keyStep(key))
	for {
		switch p.peekKind(0) {
		case tokDot:
			p.next()
			key, err := p.parseKey()
			if err != nil {
				return objectPath{}, err
			}
			path.steps = append(path.steps, keyStep(key))
		case tokLBrack:
			p.next()
			t := p.next()
			switch t.kind {
			case tokAsterisk:
				path.steps = append(path.steps, pathStep{kind: stepAny})
			case tokInt:
				c, err := intConstant(t.text)
				if err != nil || c.i < 0 || c.i > 1<<31-1 {
					return objectPath{}, errTok(t, "a list index must be a non-negative integer or *")
				}
				path.steps = append(path.steps, pathStep{kind: stepIndex, index: int(c.i)})
			default:
				return objectPath{}, errAt(t, "a list index (a non-negative integer or *)")
			}
			if u := p.next(); u.kind != tokRBrack {
				return objectPath{}, errAt(u, "']' after the list index")
			}
		default:
			return path, nil
		}
	}
}

// parseKey parses a property name or dictionary key: a bare word without
// hyphens, or a quoted string.
func (p *parser) parseKey() (string, error) {
	t := p.next()
	switch {
	case t.kind == tokString:
		if t.val == "" {
			return "", errTok(t, "empty property name")
		}
		return t.val, nil
	case t.kind.isWord():
		if strings.IndexByte(t.text, '-') >= 0 {
			return "", errTok(t, "property name %s contains '-' and must be quoted", t.describe())
		}
		return t.text, nil
	}
	return "", errAt(t, "a property name")
}

// checkTypeName validates an object type name against section 3.1: 3 to 250
// characters, starting with a lowercase ASCII letter, made of lowercase
// letters, digits and single hyphens, not ending with a hyphen. It returns
// "" when the name is valid.
func checkTypeName(s string) string {
	if len(s) < 3 || len(s) > 250 {
		return "must be between 3 and 250 characters long"
	}
	if s[0] < 'a' || s[0] > 'z' {
		return "must start with a lowercase letter"
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case 'a' <= c && c <= 'z', isDigit(c):
		case c == '-':
			if i == len(s)-1 || s[i+1] == '-' {
				return "hyphens must separate words"
			}
		default:
			return "may only contain lowercase letters, digits and hyphens"
		}
	}
	return ""
}
