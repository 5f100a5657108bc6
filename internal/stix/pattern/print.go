package pattern

import (
	"math"
	"strconv"
)

// String returns the canonical form of the pattern: single spaces around
// operators and none inside brackets, upper-case keywords, only the
// parentheses that precedence requires, property names quoted only when
// they must be, and constants in one spelling (hex in lower case, base64
// re-encoded, timestamps without trailing zeros in the fraction, numbers
// without a plus sign, LIKE patterns NFC-normalised, == as =, <> as !=).
// Operands keep their order. Parsing the canonical form gives the same
// canonical form again.
func (p *Pattern) String() string {
	if p == nil || p.root == nil {
		return ""
	}
	return string(appendObs(make([]byte, 0, 64), p.root, 0))
}

func (op obsOp) prec() int { return int(op) }

func appendObs(b []byte, n obsNode, parentPrec int) []byte {
	switch n := n.(type) {
	case *obsBracket:
		b = append(b, '[')
		b = appendCmp(b, n.expr, false)
		return append(b, ']')
	case *obsCompound:
		paren := n.op.prec() < parentPrec
		if paren {
			b = append(b, '(')
		}
		for i, a := range n.args {
			if i > 0 {
				b = append(b, ' ')
				b = append(b, n.op.String()...)
				b = append(b, ' ')
			}
			b = appendObs(b, a, n.op.prec())
		}
		if paren {
			b = append(b, ')')
		}
		return b
	case *obsQualified:
		if _, ok := n.expr.(*obsBracket); ok {
			b = appendObs(b, n.expr, 0)
		} else {
			b = append(b, '(')
			b = appendObs(b, n.expr, 0)
			b = append(b, ')')
		}
		for _, q := range n.quals {
			b = append(b, ' ')
			b = q.appendTo(b)
		}
		return b
	}
	return b
}

func (q *qualifier) appendTo(b []byte) []byte {
	switch q.kind {
	case qualWithin:
		b = append(b, "WITHIN "...)
		if q.seconds == math.Trunc(q.seconds) && q.seconds <= maxSTIXInt {
			b = strconv.AppendInt(b, int64(q.seconds), 10)
		} else {
			b = append(b, formatFloat(q.seconds)...)
		}
		return append(b, " SECONDS"...)
	case qualRepeats:
		b = append(b, "REPEATS "...)
		b = strconv.AppendInt(b, q.times, 10)
		return append(b, " TIMES"...)
	}
	b = append(b, "START t'"...)
	b = append(b, q.startText...)
	b = append(b, "' STOP t'"...)
	b = append(b, q.stopText...)
	return append(b, '\'')
}

func appendCmp(b []byte, n cmpNode, insideAnd bool) []byte {
	switch n := n.(type) {
	case *cmpBool:
		paren := insideAnd && !n.and
		if paren {
			b = append(b, '(')
		}
		sep := " OR "
		if n.and {
			sep = " AND "
		}
		for i, a := range n.args {
			if i > 0 {
				b = append(b, sep...)
			}
			b = appendCmp(b, a, n.and)
		}
		if paren {
			b = append(b, ')')
		}
		return b
	case *comparison:
		return n.appendTo(b)
	}
	return b
}

func (c *comparison) appendTo(b []byte) []byte {
	if c.op == opEXISTS {
		if c.not {
			b = append(b, "NOT "...)
		}
		b = append(b, "EXISTS "...)
		return c.path.appendTo(b)
	}
	b = c.path.appendTo(b)
	b = append(b, ' ')
	if c.not {
		b = append(b, "NOT "...)
	}
	b = append(b, c.op.String()...)
	b = append(b, ' ')
	switch c.op {
	case opIN:
		b = append(b, '(')
		for i := range c.set {
			if i > 0 {
				b = append(b, ", "...)
			}
			b = c.set[i].appendTo(b)
		}
		return append(b, ')')
	case opLIKE:
		return appendQuoted(b, c.like)
	}
	return c.val.appendTo(b)
}

// appendTo appends the canonical spelling of the path.
func (p *objectPath) appendTo(b []byte) []byte {
	b = append(b, p.typ...)
	b = append(b, ':')
	return appendSteps(b, p.steps)
}

// pathString returns the canonical spelling of the path after the object
// type, such as hashes.'SHA-256' or src_ref.value.
func (p *objectPath) pathString() string {
	return string(appendSteps(make([]byte, 0, 32), p.steps))
}

func appendSteps(b []byte, steps []pathStep) []byte {
	for i, s := range steps {
		switch s.kind {
		case stepKey:
			if i > 0 {
				b = append(b, '.')
			}
			b = appendKey(b, s.key)
		case stepIndex:
			b = append(b, '[')
			b = strconv.AppendInt(b, int64(s.index), 10)
			b = append(b, ']')
		case stepAny:
			b = append(b, "[*]"...)
		}
	}
	return b
}

// appendKey appends a property name, quoted unless it is a plain identifier
// that is not a reserved word.
func appendKey(b []byte, k string) []byte {
	if bareKey(k) {
		return append(b, k...)
	}
	return appendQuoted(b, k)
}

func bareKey(k string) bool {
	if k == "" || !isIdentStart(k[0]) {
		return false
	}
	for i := 1; i < len(k); i++ {
		if c := k[i]; !isIdentStart(c) && !isDigit(c) {
			return false
		}
	}
	return lookupWord(k) == tokIdent
}
