package pattern

import (
	"net/netip"
	"regexp"
	"strings"
	"time"
)

// Pattern is a parsed STIX pattern. It is immutable and safe for concurrent
// use.
type Pattern struct {
	root obsNode
}

// obsNode is a node of the observation level: an observation expression in
// brackets, observation expressions joined by an observation operator, or
// an expression with qualifiers.
type obsNode interface{ isObs() }

// obsBracket is [ comparison expression ].
type obsBracket struct {
	expr cmpNode
	// types are the object types a matching SCO can have.
	types []string
}

// obsOp is an observation operator.
type obsOp uint8

const (
	obsFollowedBy obsOp = iota + 1 // lowest precedence
	obsOr
	obsAnd // highest precedence
)

func (op obsOp) String() string {
	switch op {
	case obsAnd:
		return "AND"
	case obsOr:
		return "OR"
	}
	return "FOLLOWEDBY"
}

// obsCompound joins two or more observation expressions with one operator.
// Chains of the same operator are flattened: all three operators are
// associative.
type obsCompound struct {
	op   obsOp
	args []obsNode
}

// obsQualified applies qualifiers, in order, to an expression: in
// "[a] REPEATS 2 TIMES WITHIN 10 SECONDS" the WITHIN applies to the
// repetition.
type obsQualified struct {
	expr  obsNode
	quals []qualifier
}

func (*obsBracket) isObs()   {}
func (*obsCompound) isObs()  {}
func (*obsQualified) isObs() {}

// qualKind is the kind of an observation expression qualifier.
type qualKind uint8

const (
	qualWithin qualKind = iota + 1
	qualRepeats
	qualStartStop
)

func (k qualKind) String() string {
	switch k {
	case qualWithin:
		return "WITHIN"
	case qualRepeats:
		return "REPEATS"
	}
	return "START/STOP"
}

// qualifier is WITHIN n SECONDS, REPEATS n TIMES or START t STOP t.
type qualifier struct {
	kind    qualKind
	seconds float64 // WITHIN
	times   int64   // REPEATS
	start   time.Time
	stop    time.Time
	// startText and stopText are the canonical timestamps.
	startText, stopText string
}

// cmpNode is a node of the comparison level, inside brackets.
type cmpNode interface{ isCmp() }

// cmpBool joins two or more comparison expressions with AND or OR.
type cmpBool struct {
	and  bool
	args []cmpNode
}

// cmpOp is a comparison operator.
type cmpOp uint8

const (
	opEQ cmpOp = iota + 1
	opNEQ
	opLT
	opLE
	opGT
	opGE
	opIN
	opLIKE
	opMATCHES
	opISSUBSET
	opISSUPERSET
	opEXISTS
)

var cmpOpNames = [...]string{
	opEQ: "=", opNEQ: "!=", opLT: "<", opLE: "<=", opGT: ">", opGE: ">=",
	opIN: "IN", opLIKE: "LIKE", opMATCHES: "MATCHES", opISSUBSET: "ISSUBSET",
	opISSUPERSET: "ISSUPERSET", opEXISTS: "EXISTS",
}

func (op cmpOp) String() string { return cmpOpNames[op] }

// comparison is one comparison expression: path, operator and constant(s).
type comparison struct {
	path objectPath
	op   cmpOp
	not  bool
	val  constant   // the constant, except for IN and EXISTS
	set  []constant // IN
	re   *regexp.Regexp
	// like is the LIKE pattern, NFC-normalised.
	like string
	// pfx is the address block of ISSUBSET and ISSUPERSET.
	pfx netip.Prefix
	// binProp is set when the property compared is binary: its name ends
	// in _bin (base64) or _hex.
	binProp bool
	// ipValue is set when the path ends with the property value, which
	// holds an address or CIDR block in ipv4-addr and ipv6-addr objects.
	ipValue bool
	// typeBuf backs the slice types returns.
	typeBuf [1]string
}

// types returns the object types an SCO satisfying c can have: the type of
// its path.
func (c *comparison) types() []string {
	c.typeBuf[0] = c.path.typ
	return c.typeBuf[:]
}

func (*cmpBool) isCmp()    {}
func (*comparison) isCmp() {}

// stepKind is the kind of one step of an object path.
type stepKind uint8

const (
	stepKey   stepKind = iota + 1 // .name or .'quoted name'
	stepIndex                     // [n]
	stepAny                       // [*]
)

// refKind tells whether the value a step leads to is a reference to
// another object.
type refKind uint8

const (
	refNone refKind = iota
	refOne          // the value of a property named *_ref
	refList         // the value of a property named *_refs
)

// pathStep is one step of an object path after the object type.
type pathStep struct {
	kind  stepKind
	ref   refKind // for stepKey
	key   string
	index int
}

// objectPath is <object-type>:<property>(.<key> | [n] | [*])*.
type objectPath struct {
	typ   string
	steps []pathStep
}

// keyStep returns a step for the property name k.
func keyStep(k string) pathStep {
	s := pathStep{kind: stepKey, key: k}
	switch {
	case strings.HasSuffix(k, "_ref"):
		s.ref = refOne
	case strings.HasSuffix(k, "_refs"):
		s.ref = refList
	}
	return s
}

// binaryProperty reports whether the last property name of the path, not
// counting list indexes after it, ends in _bin or _hex.
func (p *objectPath) binaryProperty() bool {
	for i := len(p.steps) - 1; i >= 0; i-- {
		if s := p.steps[i]; s.kind == stepKey {
			return strings.HasSuffix(s.key, "_bin") || strings.HasSuffix(s.key, "_hex")
		}
	}
	return false
}

// lastKey returns the last property name of the path, or "" when the path
// ends with a list index.
func (p *objectPath) lastKey() string {
	if s := p.steps[len(p.steps)-1]; s.kind == stepKey {
		return s.key
	}
	return ""
}
