package pattern

import (
	"fmt"
	"strings"
	"testing"
)

func newLexer(input string) *lexer {
	l := &lexer{}
	l.reset(input)
	return l
}

// lexAll returns the tokens of s as "kind text" strings, ending with the
// EOF or error token.
func lexAll(s string) []string {
	l := newLexer(s)
	var out []string
	for i := 0; i < 1000; i++ {
		t := l.next()
		switch t.kind {
		case tokEOF:
			return append(out, fmt.Sprintf("EOF@%d", t.pos))
		case tokError:
			return append(out, fmt.Sprintf("ERROR@%d-%d %s", t.pos, t.end, t.val))
		case tokString, tokBinary, tokHex, tokTimestamp:
			out = append(out, fmt.Sprintf("%s %s=%q", t.kind, t.text, t.val))
		default:
			out = append(out, fmt.Sprintf("%s %s", t.kind, t.text))
		}
	}
	return append(out, "…")
}

var lexTests = []struct {
	in   string
	want []string
}{
	{"", []string{"EOF@0"}},
	{"  \t\n", []string{"EOF@4"}},
	{"[ipv4-addr:value = '198.51.100.7']", []string{
		"'[' [", "identifier ipv4-addr", "':' :", "identifier value", "'=' =",
		`string '198.51.100.7'="198.51.100.7"`, "']' ]", "EOF@34",
	}},
	{"file:hashes.'SHA-256'", []string{
		"identifier file", "':' :", "identifier hashes", "'.' .", `string 'SHA-256'="SHA-256"`, "EOF@21",
	}},
	{"x_refs[*].value[0]", []string{
		"identifier x_refs", "'[' [", "'*' *", "']' ]", "'.' .", "identifier value", "'[' [", "integer 0", "']' ]", "EOF@18",
	}},
	{"= == != <> < <= > >=", []string{"'=' =", "'=' ==", "'!=' !=", "'!=' <>", "'<' <", "'<=' <=", "'>' >", "'>=' >=", "EOF@20"}},
	{"AND and Or not FollowedBy LIKE matches ISSUBSET issuperset IN EXISTS START STOP WITHIN SECONDS REPEATS TIMES", []string{
		"AND AND", "AND and", "OR Or", "NOT not", "FOLLOWEDBY FollowedBy", "LIKE LIKE", "MATCHES matches",
		"ISSUBSET ISSUBSET", "ISSUPERSET issuperset", "IN IN", "EXISTS EXISTS", "START START", "STOP STOP",
		"WITHIN WITHIN", "SECONDS SECONDS", "REPEATS REPEATS", "TIMES TIMES", "EOF@108",
	}},
	{"true FALSE last", []string{"boolean true", "boolean FALSE", "identifier last", "EOF@15"}},
	{"0 42 -7 +3 1.5 -.25 +0.5 007.5", []string{
		"integer 0", "integer 42", "integer -7", "integer +3", "float 1.5", "float -.25", "float +0.5", "float 007.5", "EOF@30",
	}},
	{`'it\'s' 'a\\b' ''`, []string{`string 'it\'s'="it's"`, `string 'a\\b'="a\\b"`, `string ''=""`, "EOF@17"}},
	{"'日本語'", []string{`string '日本語'="日本語"`, "EOF@11"}},
	{"b'AAEC' h'00fF' h'' t'2016-06-01T00:00:00Z' t'2016-06-01T00:00:00.123Z'", []string{
		`binary b'AAEC'="AAEC"`, `hex h'00fF'="00fF"`, `hex h''=""`,
		`timestamp t'2016-06-01T00:00:00Z'="2016-06-01T00:00:00Z"`,
		`timestamp t'2016-06-01T00:00:00.123Z'="2016-06-01T00:00:00.123Z"`, "EOF@71",
	}},
	{"b'AAEC\nAAEC'", []string{"binary b'AAEC\nAAEC'=\"AAEC\\nAAEC\"", "EOF@12"}},
	{"b h t bx'", []string{"identifier b", "identifier h", "identifier t", "identifier bx", "ERROR@8-9 unterminated string"}},
	{"/* comment */ [ // line\n ]", []string{"'[' [", "']' ]", "EOF@26"}},
	{"\u00a0[\u3000]\u2028", []string{"'[' [", "']' ]", "EOF@10"}},
	{"( ) , . :", []string{"'(' (", "')' )", "',' ,", "'.' .", "':' :", "EOF@9"}},

	// Errors.
	{"'abc", []string{"ERROR@0-4 unterminated string"}},
	{`'a\nb'`, []string{`ERROR@2-4 invalid escape sequence in string: only \' and \\ are allowed`}},
	{"[a:b = 007]", []string{"'[' [", "identifier a", "':' :", "identifier b", "'=' =", `ERROR@7-10 invalid integer "007": leading zeros are not allowed`}},
	{"1e5", []string{`ERROR@0-3 invalid number "1e5"`}},
	{"1.2.3", []string{`ERROR@0-5 invalid number "1.2.3"`}},
	{"h'abc'", []string{"ERROR@0-6 invalid hex constant: odd number of digits"}},
	{"h'zz'", []string{`ERROR@0-5 invalid hex constant: 'z' is not a hexadecimal digit`}},
	{"b'abc'", []string{"ERROR@0-6 invalid binary constant: not valid base64 with padding"}},
	{"t'2016-13-01T00:00:00Z'", []string{`ERROR@0-23 invalid timestamp constant: "2016-13-01T00:00:00Z" is not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z): month out of range`}},
	{"t'2017-02-29T00:00:00Z'", []string{`ERROR@0-23 invalid timestamp constant: "2017-02-29T00:00:00Z" is not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z): day out of range`}},
	{"t'2016-01-01T00:00:00+01:00'", []string{`ERROR@0-28 invalid timestamp constant: "2016-01-01T00:00:00+01:00" is not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z): must end in Z (UTC)`}},
	{"t'2016", []string{"ERROR@0-6 unterminated timestamp constant"}},
	{"! =", []string{"ERROR@0-1 unexpected '!' (did you mean '!='?)"}},
	{"[ - ]", []string{"'[' [", "ERROR@2-3 unexpected '-'"}},
	{"a # b", []string{"identifier a", "ERROR@2-3 unexpected character '#'"}},
	{"a \xff", []string{"identifier a", "ERROR@2-3 invalid UTF-8 encoding"}},
	{"'\xff'", []string{"ERROR@1-2 invalid UTF-8 encoding in string"}},
	{"/* open", []string{"ERROR@0-7 unterminated comment"}},
}

func TestLexer(t *testing.T) {
	for _, tt := range lexTests {
		got := lexAll(tt.in)
		if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
			t.Errorf("lex %q:\n got %q\nwant %q", tt.in, got, tt.want)
		}
	}
}

func TestLexerOffsetsCoverInput(t *testing.T) {
	in := "([file:hashes.'SHA-256' = 'ab'] AND [x-foo:y_refs[*].value NOT IN (1, 2.5)]) WITHIN 60 SECONDS"
	l := newLexer(in)
	for {
		tok := l.next()
		if tok.kind == tokEOF {
			break
		}
		if tok.kind == tokError {
			t.Fatalf("unexpected error %s", tok.val)
		}
		if in[tok.pos:tok.end] != tok.text {
			t.Errorf("token %v: text %q but input[%d:%d] is %q", tok.kind, tok.text, tok.pos, tok.end, in[tok.pos:tok.end])
		}
	}
}

func TestLexerKeepsReturningEnd(t *testing.T) {
	l := newLexer("'x")
	first := l.next()
	for i := 0; i < 3; i++ {
		if again := l.next(); again != first {
			t.Fatalf("after an error the lexer returned %+v, then %+v", first, again)
		}
	}
	l = newLexer("")
	for i := 0; i < 3; i++ {
		if tok := l.next(); tok.kind != tokEOF {
			t.Fatalf("got %v after end of input", tok.kind)
		}
	}
}
