package pattern

import (
	"errors"
	"fmt"
	"strings"
	"testing"
)

// dump prints the syntax tree as an S-expression.
func dump(p *Pattern) string {
	var b strings.Builder
	dumpObs(&b, p.root)
	return b.String()
}

func dumpObs(b *strings.Builder, n obsNode) {
	switch n := n.(type) {
	case *obsBracket:
		b.WriteString("[")
		dumpCmp(b, n.expr)
		b.WriteString("]")
	case *obsCompound:
		fmt.Fprintf(b, "(%s", n.op)
		for _, a := range n.args {
			b.WriteString(" ")
			dumpObs(b, a)
		}
		b.WriteString(")")
	case *obsQualified:
		for i := len(n.quals) - 1; i >= 0; i-- {
			q := n.quals[i]
			switch q.kind {
			case qualWithin:
				fmt.Fprintf(b, "(WITHIN %g ", q.seconds)
			case qualRepeats:
				fmt.Fprintf(b, "(REPEATS %d ", q.times)
			case qualStartStop:
				fmt.Fprintf(b, "(START %s STOP %s ", q.start.Format("2006-01-02T15:04:05.999999999Z"), q.stop.Format("2006-01-02T15:04:05.999999999Z"))
			}
		}
		dumpObs(b, n.expr)
		b.WriteString(strings.Repeat(")", len(n.quals)))
	}
}

func dumpCmp(b *strings.Builder, n cmpNode) {
	switch n := n.(type) {
	case *cmpBool:
		if n.and {
			b.WriteString("(and")
		} else {
			b.WriteString("(or")
		}
		for _, a := range n.args {
			b.WriteString(" ")
			dumpCmp(b, a)
		}
		b.WriteString(")")
	case *comparison:
		b.WriteString("(")
		if n.not {
			b.WriteString("NOT ")
		}
		b.WriteString(n.op.String())
		b.WriteString(" ")
		b.WriteString(n.path.typ)
		for _, s := range n.path.steps {
			switch s.kind {
			case stepKey:
				fmt.Fprintf(b, "/%s", s.key)
				if s.ref == refOne {
					b.WriteString("→")
				} else if s.ref == refList {
					b.WriteString("⇉")
				}
			case stepIndex:
				fmt.Fprintf(b, "[%d]", s.index)
			case stepAny:
				b.WriteString("[*]")
			}
		}
		switch n.op {
		case opEXISTS:
		case opLIKE:
			fmt.Fprintf(b, " %q", n.like)
		case opIN:
			b.WriteString(" (")
			for i := range n.set {
				if i > 0 {
					b.WriteString(" ")
				}
				dumpConst(b, &n.set[i])
			}
			b.WriteString(")")
		default:
			b.WriteString(" ")
			dumpConst(b, &n.val)
		}
		b.WriteString(")")
	}
}

func dumpConst(b *strings.Builder, c *constant) {
	switch c.kind {
	case cString:
		fmt.Fprintf(b, "%q", c.str)
	case cInt:
		fmt.Fprintf(b, "int:%d", c.i)
	case cFloat:
		fmt.Fprintf(b, "float:%g", c.f)
	case cBool:
		fmt.Fprintf(b, "bool:%v", c.i != 0)
	case cBinary:
		fmt.Fprintf(b, "bin:%x", c.b)
	case cHex:
		fmt.Fprintf(b, "hex:%x", c.b)
	case cTimestamp:
		fmt.Fprintf(b, "ts:%s", c.t.Format("2006-01-02T15:04:05.999999999Z"))
	}
}

var astTests = []struct{ in, want string }{
	{"[ipv4-addr:value = '198.51.100.7']", `[(= ipv4-addr/value "198.51.100.7")]`},
	{"[file:hashes.'SHA-256' = 'abcd']", `[(= file/hashes/SHA-256 "abcd")]`},
	{"[email-message:from_ref.value = 'a@example.com']", `[(= email-message/from_ref→/value "a@example.com")]`},
	{"[network-traffic:src_ref.value = '10.0.0.1']", `[(= network-traffic/src_ref→/value "10.0.0.1")]`},
	{"[x-foo:y_refs[*].value = 'v']", `[(= x-foo/y_refs⇉[*]/value "v")]`},
	{"[network-traffic:protocols[0] = 'tcp']", `[(= network-traffic/protocols[0] "tcp")]`},
	{"[file:extensions.'windows-pebinary-ext'.sections[*].entropy > 7.0]", `[(> file/extensions/windows-pebinary-ext/sections[*]/entropy float:7)]`},
	{"[file:'name' = 'x']", `[(= file/name "x")]`},
	{"[file:size != 4112]", `[(!= file/size int:4112)]`},
	{"[file:size <> 4112]", `[(!= file/size int:4112)]`},
	{"[file:size == +4112]", `[(= file/size int:4112)]`},
	{"[file:size < -1 OR file:size <= 2 OR file:size > 3.5 OR file:size >= -.5]",
		`[(or (< file/size int:-1) (<= file/size int:2) (> file/size float:3.5) (>= file/size float:-0.5))]`},
	{"[file:x NOT = true]", `[(NOT = file/x bool:true)]`},
	{"[file:x = FALSE]", `[(= file/x bool:false)]`},
	{"[process:name IN ('proccy', 'proximus', 'badproc')]", `[(IN process/name ("proccy" "proximus" "badproc"))]`},
	{"[process:pid NOT IN (1, 2.5)]", `[(NOT IN process/pid (int:1 float:2.5))]`},
	{"[process:pid IN ()]", `[(IN process/pid ())]`},
	{"[directory:path LIKE 'C:\\\\Windows\\\\%\\\\foo']", `[(LIKE directory/path "C:\\Windows\\%\\foo")]`},
	{"[directory:path NOT MATCHES '^C:\\\\\\\\Windows\\\\w+$']", `[(NOT MATCHES directory/path "^C:\\\\Windows\\w+$")]`},
	{"[ipv4-addr:value ISSUBSET '198.51.100.0/24']", `[(ISSUBSET ipv4-addr/value "198.51.100.0/24")]`},
	{"[ipv4-addr:value NOT ISSUPERSET '198.51.100.0/24']", `[(NOT ISSUPERSET ipv4-addr/value "198.51.100.0/24")]`},
	{"[EXISTS windows-registry-key:values]", `[(EXISTS windows-registry-key/values)]`},
	{"[NOT EXISTS windows-registry-key:values]", `[(NOT EXISTS windows-registry-key/values)]`},
	{"[artifact:payload_bin = b'dGhpcyBpcyBhIHRlc3Q=' OR artifact:payload_bin = h'74686973']",
		`[(or (= artifact/payload_bin bin:7468697320697320612074657374) (= artifact/payload_bin hex:74686973))]`},
	{"[file:created = t'2014-01-13T07:03:17Z']", `[(= file/created ts:2014-01-13T07:03:17Z)]`},

	// AND binds tighter than OR inside brackets.
	{"[type-a:j = 'W' AND type-a:k = 'X' OR type-a:l = 'Z']",
		`[(or (and (= type-a/j "W") (= type-a/k "X")) (= type-a/l "Z"))]`},
	{"[type-a:j = 'W' OR type-a:k = 'X' AND type-a:l = 'Z']",
		`[(or (= type-a/j "W") (and (= type-a/k "X") (= type-a/l "Z")))]`},
	{"[(type-a:j = 'W' OR type-a:k = 'X') AND type-a:l = 'Z']",
		`[(and (or (= type-a/j "W") (= type-a/k "X")) (= type-a/l "Z"))]`},
	{"[(type-a:j = 'W' AND type-a:k = 'X') OR (type-b:m = 'Y' AND type-b:n = 'Z')]",
		`[(or (and (= type-a/j "W") (= type-a/k "X")) (and (= type-b/m "Y") (= type-b/n "Z")))]`},
	{"[(a-a:x = 1 OR b-b:y = 2) AND a-a:z = 3]", `[(and (or (= a-a/x int:1) (= b-b/y int:2)) (= a-a/z int:3))]`},
	{"[(((foo:x = 1)))]", `[(= foo/x int:1)]`},
	{"[foo:x = 1 AND (foo:y = 2 AND foo:z = 3)]", `[(and (= foo/x int:1) (= foo/y int:2) (= foo/z int:3))]`},

	// Observation operators: AND > OR > FOLLOWEDBY.
	{"[foo:a = 1] AND [foo:b = 2] OR [foo:c = 3]", `(OR (AND [(= foo/a int:1)] [(= foo/b int:2)]) [(= foo/c int:3)])`},
	{"[foo:a = 1] OR [foo:b = 2] AND [foo:c = 3]", `(OR [(= foo/a int:1)] (AND [(= foo/b int:2)] [(= foo/c int:3)]))`},
	{"[foo:a = 1] FOLLOWEDBY [foo:b = 2] OR [foo:c = 3]", `(FOLLOWEDBY [(= foo/a int:1)] (OR [(= foo/b int:2)] [(= foo/c int:3)]))`},
	{"[foo:a = 1] OR [foo:b = 2] FOLLOWEDBY [foo:c = 3] AND [foo:d = 4]",
		`(FOLLOWEDBY (OR [(= foo/a int:1)] [(= foo/b int:2)]) (AND [(= foo/c int:3)] [(= foo/d int:4)]))`},
	{"([foo:a = 1] FOLLOWEDBY [foo:b = 2]) FOLLOWEDBY [foo:c = 3]", `(FOLLOWEDBY [(= foo/a int:1)] [(= foo/b int:2)] [(= foo/c int:3)])`},
	{"[foo:a = 1] and [foo:b = 2] or [foo:c = 3] followedby [foo:d = 4]",
		`(FOLLOWEDBY (OR (AND [(= foo/a int:1)] [(= foo/b int:2)]) [(= foo/c int:3)]) [(= foo/d int:4)])`},

	// Qualifiers bind to the preceding observation expression.
	{"[foo:a = 'b'] FOLLOWEDBY [foo:c = 'd'] REPEATS 5 TIMES", `(FOLLOWEDBY [(= foo/a "b")] (REPEATS 5 [(= foo/c "d")]))`},
	{"([foo:a = 'b'] FOLLOWEDBY [foo:c = 'd']) REPEATS 5 TIMES", `(REPEATS 5 (FOLLOWEDBY [(= foo/a "b")] [(= foo/c "d")]))`},
	{"([foo:a = 1] AND [foo:b = 2]) REPEATS 5 TIMES WITHIN 300 SECONDS", `(WITHIN 300 (REPEATS 5 (AND [(= foo/a int:1)] [(= foo/b int:2)])))`},
	{"[foo:a = 1] WITHIN 1.5 SECONDS", `(WITHIN 1.5 [(= foo/a int:1)])`},
	{"([foo:a = 1] WITHIN 5 SECONDS) REPEATS 2 TIMES", `(REPEATS 2 (WITHIN 5 [(= foo/a int:1)]))`},
	{"([foo:a = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS", `(WITHIN 6 (WITHIN 5 [(= foo/a int:1)]))`},
	{"[file:name = 'foo.dll'] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'",
		`(START 2016-06-01T00:00:00Z STOP 2016-07-01T00:00:00Z [(= file/name "foo.dll")])`},
	{"[file:name = 'foo.dll'] START '2016-06-01T00:00:00Z' STOP '2016-07-01T00:00:00.5Z'",
		`(START 2016-06-01T00:00:00Z STOP 2016-07-01T00:00:00.5Z [(= file/name "foo.dll")])`},

	// Names that are also keywords.
	{"[exists:count = 1]", `[(= exists/count int:1)]`},
	{"[EXISTS exists:not]", `[(EXISTS exists/not)]`},
	{"[NOT EXISTS true:x]", `[(NOT EXISTS true/x)]`},
	{"[foo:in.like = 1]", `[(= foo/in/like int:1)]`},
}

func TestParseAST(t *testing.T) {
	for _, tt := range astTests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		if got := dump(p); got != tt.want {
			t.Errorf("Parse(%q):\n got %s\nwant %s", tt.in, got, tt.want)
		}
	}
}

var canonicalTests = []struct{ in, want string }{
	{"[ipv4-addr:value='198.51.100.7']", "[ipv4-addr:value = '198.51.100.7']"},
	{"  [ ipv4-addr : value   ==  '198.51.100.7' ]  ", "[ipv4-addr:value = '198.51.100.7']"},
	{"[file:hashes.'MD5' = 'x']", "[file:hashes.MD5 = 'x']"},
	{"[file:'hashes'.'SHA-256' = 'x']", "[file:hashes.'SHA-256' = 'x']"},
	{"[foo:'and' = 1 AND foo:'a.b' = 2 AND foo:'x y' = 3]", "[foo:'and' = 1 AND foo:'a.b' = 2 AND foo:'x y' = 3]"},
	{"[foo:in = 1]", "[foo:'in' = 1]"},
	{"[foo:x = 'it\\'s \\\\ here']", "[foo:x = 'it\\'s \\\\ here']"},
	{"[foo:x = h'ABCDEF']", "[foo:x = h'abcdef']"},
	{"[foo:x = b'AAEC\nAAEC']", "[foo:x = b'AAECAAEC']"},
	{"[foo:x = t'2016-06-01T00:00:00.000Z']", "[foo:x = t'2016-06-01T00:00:00Z']"},
	{"[foo:x = t'2016-06-01T00:00:00.120Z']", "[foo:x = t'2016-06-01T00:00:00.12Z']"},
	{"[foo:x = +1.50 OR foo:x = -0.0 OR foo:x = .5 OR foo:x = +7]", "[foo:x = 1.5 OR foo:x = 0.0 OR foo:x = 0.5 OR foo:x = 7]"},
	{"[foo:x = True]", "[foo:x = true]"},
	{"[foo:x <> 1]", "[foo:x != 1]"},
	{"[foo:x not in ('a','b')]", "[foo:x NOT IN ('a', 'b')]"},
	{"[foo:x = 1 and (foo:y = 2 or foo:z = 3)]", "[foo:x = 1 AND (foo:y = 2 OR foo:z = 3)]"},
	{"[(foo:x = 1 and foo:y = 2) or foo:z = 3]", "[foo:x = 1 AND foo:y = 2 OR foo:z = 3]"},
	{"[foo:a = 1] and ([foo:b = 2] and [foo:c = 3])", "[foo:a = 1] AND [foo:b = 2] AND [foo:c = 3]"},
	{"([foo:a = 1] or [foo:b = 2]) and [foo:c = 3]", "([foo:a = 1] OR [foo:b = 2]) AND [foo:c = 3]"},
	{"[foo:a = 1] or ([foo:b = 2] followedby [foo:c = 3])", "[foo:a = 1] OR ([foo:b = 2] FOLLOWEDBY [foo:c = 3])"},
	{"([foo:a = 1]) within 300.0 seconds", "[foo:a = 1] WITHIN 300 SECONDS"},
	{"[foo:a = 1] within 0.50 seconds", "[foo:a = 1] WITHIN 0.5 SECONDS"},
	{"([foo:a = 1] within 5 seconds) repeats 2 times", "[foo:a = 1] WITHIN 5 SECONDS REPEATS 2 TIMES"},
	{"([foo:a = 1] within 5 seconds) within 6 seconds", "([foo:a = 1] WITHIN 5 SECONDS) WITHIN 6 SECONDS"},
	{"([foo:a = 1] and [foo:b = 1]) within 5 seconds", "([foo:a = 1] AND [foo:b = 1]) WITHIN 5 SECONDS"},
	{"[foo:a = 1] start '2016-06-01T00:00:00.000Z' stop t'2016-07-01T00:00:00Z'", "[foo:a = 1] START t'2016-06-01T00:00:00Z' STOP t'2016-07-01T00:00:00Z'"},
	{"[exists foo:a and not exists foo:b]", "[EXISTS foo:a AND NOT EXISTS foo:b]"},
	{"[foo:a[ 0 ] . b[*] = 1]", "[foo:a[0].b[*] = 1]"},
	{"[foo:a = 1] /* why */ or // because\n [foo:b = 2]", "[foo:a = 1] OR [foo:b = 2]"},
	{"[foo:a like 'Cafe\u0301%']", "[foo:a LIKE 'Caf\u00e9%']"},
	{"[foo:a matches '^(?i)abc$']", "[foo:a MATCHES '^(?i)abc$']"},
}

func TestCanonicalString(t *testing.T) {
	for _, tt := range canonicalTests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Errorf("Parse(%q): %v", tt.in, err)
			continue
		}
		got := p.String()
		if got != tt.want {
			t.Errorf("String of %q:\n got %s\nwant %s", tt.in, got, tt.want)
			continue
		}
		again, err := Parse(got)
		if err != nil {
			t.Errorf("canonical form %q does not parse: %v", got, err)
			continue
		}
		if again.String() != got {
			t.Errorf("canonical form is not stable: %q then %q", got, again.String())
		}
	}
}

func TestCanonicalStringOfTables(t *testing.T) {
	for _, tt := range astTests {
		p, err := Parse(tt.in)
		if err != nil {
			continue
		}
		s := p.String()
		q, err := Parse(s)
		if err != nil {
			t.Errorf("String of %q is %q, which does not parse: %v", tt.in, s, err)
			continue
		}
		if dump(q) != dump(p) {
			t.Errorf("%q prints as %q, which parses to a different tree:\n%s\n%s", tt.in, s, dump(p), dump(q))
		}
	}
}

var errorTests = []struct {
	in     string
	offset int
	msg    string
}{
	{"", 0, "empty pattern: expected '[' or '('"},
	{"   ", 3, "empty pattern"},
	{"[foo:a = 1", 10, "expected ']' or AND/OR, found end of pattern"},
	{"[foo:a = 1 FOO]", 11, "expected ']' or AND/OR, found 'FOO'"},
	{"[foo:a = 1] [foo:b = 1]", 12, "expected AND, OR, FOLLOWEDBY, a qualifier or end of pattern, found '['"},
	{"[foo:a = 1] AND", 15, "expected '[' or '(', found end of pattern"},
	{"foo:a = 1", 0, "expected '[' or '(', found 'foo'"},
	{"[]", 1, "expected an object path, EXISTS or '(', found ']'"},
	{"[foo = 1]", 1, "expected an object path, EXISTS or '(', found 'foo'"},
	{"[foo:a 1]", 7, "expected a comparison operator (=, !=, <, <=, >, >=, IN, LIKE, MATCHES, ISSUBSET, ISSUPERSET), found '1'"},
	{"[foo:a NOT 1]", 11, "expected a comparison operator after NOT, found '1'"},
	{"[foo:a = ]", 9, "expected a constant, found ']'"},
	{"[foo:a > true]", 9, "booleans cannot be ordered"},
	{"[foo:a LIKE 1]", 12, "expected a string constant after LIKE, found '1'"},
	{"[foo:a MATCHES '(?<=a)b']", 15, "invalid regular expression (Go RE2 syntax; see docs/pattern.md): invalid named capture: (?<=a)b (lookbehind assertions are not supported)"},
	{"[foo:a MATCHES '(a)\\\\1']", 15, "(backreferences are not supported)"},
	{"[foo:a MATCHES 'a++']", 15, "(possessive quantifiers are not supported)"},
	{"[foo:a MATCHES 'a(?=b)']", 15, "(lookahead assertions are not supported)"},
	{"[ipv4-addr:value ISSUBSET 'not an ip']", 26, "ISSUBSET needs an IPv4 or IPv6 address or CIDR block, not 'not an ip'"},
	{"[foo:a IN 'x']", 10, "expected '(' after IN, found 'x'"},
	{"[foo:a IN ('x' 'y')]", 15, "expected ',' or ')', found 'y'"},
	{"[foo:a IN ('x', 1)]", 16, "the values of IN must all be of one type: integer '1' after string"},
	{"[foo:a IN ('x',)]", 15, "expected a constant, found ')'"},
	{"[foo:a = 9007199254740992]", 9, "integer 9007199254740992 is out of range"},
	{"[foo:a = 1 AND bar:b = 2]", 15, "comparisons joined by AND must refer to the same object type, but 'bar' cannot be combined with 'foo'"},
	{"[(foo:a = 1 OR bar:b = 2) AND baz:c = 3]", 30, "comparisons joined by AND must refer to the same object type, but 'baz' cannot be combined with 'foo'/'bar'"},
	{"[(foo:a = 1 AND bar:b = 2) OR foo:c = 3]", 16, "comparisons joined by AND"},
	{"[FOO:a = 1]", 1, "invalid object type 'FOO': must start with a lowercase letter"},
	{"[fo:a = 1]", 1, "invalid object type 'fo': must be between 3 and 250 characters long"},
	{"[foo--bar:a = 1]", 1, "invalid object type 'foo--bar': hyphens must separate words"},
	{"[foo-:a = 1]", 1, "invalid object type 'foo-': hyphens must separate words"},
	{"[foo_bar:a = 1]", 1, "invalid object type 'foo_bar': may only contain lowercase letters, digits and hyphens"},
	{"[foo:a-b = 1]", 5, "property name 'a-b' contains '-' and must be quoted"},
	{"[foo:a.b-c = 1]", 7, "property name 'b-c' contains '-' and must be quoted"},
	{"[foo:'' = 1]", 5, "empty property name"},
	{"[foo: = 1]", 6, "expected a property name, found '='"},
	{"[foo:a. = 1]", 8, "expected a property name, found '='"},
	{"[foo:a[-1] = 1]", 7, "a list index must be a non-negative integer or *"},
	{"[foo:a[x] = 1]", 7, "expected a list index (a non-negative integer or *), found 'x'"},
	{"[foo:a[0 = 1]", 9, "expected ']' after the list index, found '='"},
	{"[foo:a = 1] WITHIN 0 SECONDS", 19, "the WITHIN time window must be a positive number of seconds"},
	{"[foo:a = 1] WITHIN -5 SECONDS", 19, "the WITHIN time window must be a positive number of seconds"},
	{"[foo:a = 1] WITHIN 5 MINUTES", 21, "expected SECONDS, found 'MINUTES'"},
	{"[foo:a = 1] WITHIN 'x' SECONDS", 19, "expected a number of seconds after WITHIN, found 'x'"},
	{"[foo:a = 1] REPEATS 0 TIMES", 20, "REPEATS must be followed by a positive integer"},
	{"[foo:a = 1] REPEATS 1.5 TIMES", 20, "expected a positive integer after REPEATS, found '1.5'"},
	{"[foo:a = 1] REPEATS 2", 21, "expected TIMES, found end of pattern"},
	{"[foo:a = 1] REPEATS 2 TIMES REPEATS 3 TIMES", 28, "an observation expression must not have more than one REPEATS qualifier"},
	{"[foo:a = 1] WITHIN 2 SECONDS REPEATS 3 TIMES WITHIN 4 SECONDS", 45, "more than one WITHIN qualifier"},
	{"[foo:a = 1] START t'2016-07-01T00:00:00Z' STOP t'2016-06-01T00:00:00Z'", 18, "the STOP time must be later than the START time"},
	{"[foo:a = 1] START 5 STOP 6", 18, "expected a timestamp constant t'…' after START, found '5'"},
	{"[foo:a = 1] START 'yesterday' STOP t'2016-06-01T00:00:00Z'", 18, "invalid START time"},
	{"[foo:a = 1] START t'2016-06-01T00:00:00Z' t'2016-07-01T00:00:00Z'", 42, "expected STOP, found t'2016-07-01T00:00:00Z'"},
	{"([foo:a = 1]", 12, "expected ')', AND, OR, FOLLOWEDBY or a qualifier, found end of pattern"},
	{"[(foo:a = 1]", 11, "expected ')' or AND/OR, found ']'"},
	{"[foo:a = 'x]", 9, "unterminated string"},
	{"[foo:a = h'0']", 9, "invalid hex constant: odd number of digits"},
	{"[EXISTS foo]", 11, "expected ':' after the object type, found ']'"},
	{"[NOT EXISTS]", 11, "expected an object type, found ']'"},
	{strings.Repeat("(", 200) + "[foo:a = 1]", 100, "expressions are nested more than 100 deep"},
	{"[" + strings.Repeat("(", 200) + "foo:a = 1]", 100, "expressions are nested more than 100 deep"},
	{"[foo:a = 'x' 'abcdefghijklmnopqrstuvwxyz0123456789']", 13, "expected ']' or AND/OR, found 'abcdefghijklmnopqrstuvw…"},
}

func TestParseErrors(t *testing.T) {
	for _, tt := range errorTests {
		p, err := Parse(tt.in)
		if err == nil {
			t.Errorf("Parse(%q) = %s, want an error", tt.in, p)
			continue
		}
		var perr *Error
		if !errors.As(err, &perr) {
			t.Errorf("Parse(%q) error %T is not *Error", tt.in, err)
			continue
		}
		if perr.Offset != tt.offset || !strings.Contains(perr.Msg, tt.msg) {
			t.Errorf("Parse(%q):\n got offset %d: %s\nwant offset %d: %s", tt.in, perr.Offset, perr.Msg, tt.offset, tt.msg)
		}
		if perr.End < perr.Offset || perr.End > len(tt.in) {
			t.Errorf("Parse(%q): bad span %d-%d", tt.in, perr.Offset, perr.End)
		}
		if want := fmt.Sprintf("offset %d: %s", perr.Offset, perr.Msg); err.Error() != want {
			t.Errorf("Error() = %q, want %q", err.Error(), want)
		}
	}
}

func TestErrorSpan(t *testing.T) {
	in := "[foo:a = 1 AND bar:b = 2]"
	_, err := Parse(in)
	var perr *Error
	if !errors.As(err, &perr) {
		t.Fatal(err)
	}
	if got := in[perr.Offset:perr.End]; got != "bar:b = 2" {
		t.Errorf("error covers %q, want %q", got, "bar:b = 2")
	}
}

func TestObservables(t *testing.T) {
	tests := []struct {
		in   string
		want []Observable
	}{
		{"[ipv4-addr:value = '198.51.100.7']", []Observable{{"ipv4-addr", "value", "198.51.100.7"}}},
		{"[file:hashes.'SHA-256' = 'abcd' AND file:size = 10]", []Observable{{"file", "hashes.'SHA-256'", "abcd"}, {"file", "size", "10"}}},
		{"[domain-name:value = 'x.example'] OR [url:value = 'http://x.example/a']",
			[]Observable{{"domain-name", "value", "x.example"}, {"url", "value", "http://x.example/a"}}},
		{"[network-traffic:src_ref.value = '10.0.0.1' AND network-traffic:dst_port = 443.0]",
			[]Observable{{"network-traffic", "src_ref.value", "10.0.0.1"}, {"network-traffic", "dst_port", "443"}}},
		{"[x-foo:y_refs[*].value IN ('a', 'b', 'a')]", []Observable{{"x-foo", "y_refs[*].value", "a"}, {"x-foo", "y_refs[*].value", "b"}}},
		{"[foo:a = 1.5 OR foo:b = -2]", []Observable{{"foo", "a", "1.5"}, {"foo", "b", "-2"}}},
		{"([foo:a = 'x'] FOLLOWEDBY [foo:b = 'y']) WITHIN 5 SECONDS", []Observable{{"foo", "a", "x"}, {"foo", "b", "y"}}},
		// Not positive equalities of strings or numbers.
		{"[foo:a != 'x' OR foo:b NOT = 'y' OR foo:c NOT IN ('z') OR foo:d LIKE 'w%' OR foo:e > 5]", nil},
		{"[foo:a = true OR foo:b = h'00' OR foo:c = b'AA==' OR foo:d = t'2020-01-01T00:00:00Z']", nil},
		{"[ipv4-addr:value ISSUBSET '10.0.0.0/8' OR EXISTS ipv4-addr:value]", nil},
	}
	for _, tt := range tests {
		p, err := Parse(tt.in)
		if err != nil {
			t.Fatalf("Parse(%q): %v", tt.in, err)
		}
		got := p.Observables()
		if fmt.Sprint(got) != fmt.Sprint(tt.want) {
			t.Errorf("Observables(%q)\n got %v\nwant %v", tt.in, got, tt.want)
		}
	}
}

func TestNilPattern(t *testing.T) {
	var p *Pattern
	if p.String() != "" || p.Observables() != nil {
		t.Error("a nil pattern should print as empty and have no observables")
	}
	if _, err := p.Match(nil); err == nil {
		t.Error("Match on a nil pattern should fail")
	}
}
