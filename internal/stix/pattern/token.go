package pattern

// tokKind is the kind of a lexical token.
type tokKind uint8

const (
	tokError tokKind = iota // a lexical error; the token's val holds the message
	tokEOF

	// Identifiers and constants.
	tokIdent     // ipv4-addr, value, hashes
	tokString    // 'text'
	tokInt       // 42, -7, +3
	tokFloat     // 1.5, -.25
	tokBool      // true, false
	tokBinary    // b'AAEC'
	tokHex       // h'00ff'
	tokTimestamp // t'2020-01-01T00:00:00Z'

	// Punctuation.
	tokLBrack   // [
	tokRBrack   // ]
	tokLParen   // (
	tokRParen   // )
	tokColon    // :
	tokDot      // .
	tokComma    // ,
	tokAsterisk // *

	// Comparison operators.
	tokEQ  // = or ==
	tokNEQ // != or <>
	tokLT  // <
	tokLE  // <=
	tokGT  // >
	tokGE  // >=

	// Keywords; keywordStart marks the first of them.
	tokAND
	tokOR
	tokNOT
	tokFOLLOWEDBY
	tokLIKE
	tokMATCHES
	tokISSUBSET
	tokISSUPERSET
	tokIN
	tokEXISTS
	tokSTART
	tokSTOP
	tokWITHIN
	tokSECONDS
	tokREPEATS
	tokTIMES
)

const keywordStart = tokAND

var tokNames = [...]string{
	tokError:      "error",
	tokEOF:        "end of pattern",
	tokIdent:      "identifier",
	tokString:     "string",
	tokInt:        "integer",
	tokFloat:      "float",
	tokBool:       "boolean",
	tokBinary:     "binary",
	tokHex:        "hex",
	tokTimestamp:  "timestamp",
	tokLBrack:     "'['",
	tokRBrack:     "']'",
	tokLParen:     "'('",
	tokRParen:     "')'",
	tokColon:      "':'",
	tokDot:        "'.'",
	tokComma:      "','",
	tokAsterisk:   "'*'",
	tokEQ:         "'='",
	tokNEQ:        "'!='",
	tokLT:         "'<'",
	tokLE:         "'<='",
	tokGT:         "'>'",
	tokGE:         "'>='",
	tokAND:        "AND",
	tokOR:         "OR",
	tokNOT:        "NOT",
	tokFOLLOWEDBY: "FOLLOWEDBY",
	tokLIKE:       "LIKE",
	tokMATCHES:    "MATCHES",
	tokISSUBSET:   "ISSUBSET",
	tokISSUPERSET: "ISSUPERSET",
	tokIN:         "IN",
	tokEXISTS:     "EXISTS",
	tokSTART:      "START",
	tokSTOP:       "STOP",
	tokWITHIN:     "WITHIN",
	tokSECONDS:    "SECONDS",
	tokREPEATS:    "REPEATS",
	tokTIMES:      "TIMES",
}

func (k tokKind) String() string {
	if int(k) < len(tokNames) {
		return tokNames[k]
	}
	return "unknown"
}

// isKeyword reports whether k is one of the reserved words.
func (k tokKind) isKeyword() bool { return k >= keywordStart }

// isWord reports whether a token of kind k is spelled as a bare word, so it
// can stand for a name where the grammar expects an identifier (an object
// type such as "exists" or a property called "count").
func (k tokKind) isWord() bool { return k == tokIdent || k == tokBool || k.isKeyword() }

// keywords maps the upper-case spelling of each reserved word to its kind.
// Keywords are recognised regardless of case.
var keywords = map[string]tokKind{
	"AND":        tokAND,
	"OR":         tokOR,
	"NOT":        tokNOT,
	"FOLLOWEDBY": tokFOLLOWEDBY,
	"LIKE":       tokLIKE,
	"MATCHES":    tokMATCHES,
	"ISSUBSET":   tokISSUBSET,
	"ISSUPERSET": tokISSUPERSET,
	"IN":         tokIN,
	"EXISTS":     tokEXISTS,
	"START":      tokSTART,
	"STOP":       tokSTOP,
	"WITHIN":     tokWITHIN,
	"SECONDS":    tokSECONDS,
	"REPEATS":    tokREPEATS,
	"TIMES":      tokTIMES,
}

// lookupWord classifies a bare word as a keyword, a boolean or an identifier.
func lookupWord(w string) tokKind {
	if len(w) < 2 || len(w) > len("ISSUPERSET") {
		return tokIdent
	}
	var buf [10]byte
	for i := 0; i < len(w); i++ {
		c := w[i]
		if 'a' <= c && c <= 'z' {
			c -= 'a' - 'A'
		}
		buf[i] = c
	}
	up := buf[:len(w)]
	if k, ok := keywords[string(up)]; ok {
		return k
	}
	if string(up) == "TRUE" || string(up) == "FALSE" {
		return tokBool
	}
	return tokIdent
}

// token is one lexical token. pos and end are byte offsets into the input:
// text is input[pos:end]. For strings val holds the decoded text, for errors
// the message.
type token struct {
	kind tokKind
	pos  int
	end  int
	text string
	val  string
}

// describe returns how an error message names the token.
func (t token) describe() string {
	switch t.kind {
	case tokEOF:
		return "end of pattern"
	case tokError:
		return "invalid input"
	}
	s := t.text
	const max = 24
	if len(s) > max {
		cut := max
		for cut > 0 && !startsRune(s[cut]) {
			cut--
		}
		s = s[:cut] + "…"
	}
	switch t.kind {
	case tokString, tokBinary, tokHex, tokTimestamp:
		return s // already quoted
	}
	return "'" + s + "'"
}

func startsRune(b byte) bool { return b&0xC0 != 0x80 }
