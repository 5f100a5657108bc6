package pattern

import (
	"fmt"
	"strings"
	"unicode"
	"unicode/utf8"
)

// The lexer is a synchronous state machine in the style of text/template's
// and Prometheus' lexers: each state function consumes input and returns the
// next state. The parser pulls one token at a time with next; a state that
// emits a token stops the loop, so no goroutine or channel is involved.

// stateFn is one state of the lexer.
type stateFn func(*lexer) stateFn

type lexer struct {
	input   string
	start   int // start of the token being scanned
	pos     int // current position
	state   stateFn
	tok     token
	emitted bool
}

func (l *lexer) reset(input string) {
	*l = lexer{input: input, state: lexAny}
}

// next returns the next token. After the end of input or an error it keeps
// returning the same EOF or error token.
func (l *lexer) next() token {
	l.emitted = false
	for !l.emitted {
		l.state = l.state(l)
	}
	return l.tok
}

func (l *lexer) emit(k tokKind) {
	l.tok = token{kind: k, pos: l.start, end: l.pos, text: l.input[l.start:l.pos]}
	l.emitted = true
	l.start = l.pos
}

func (l *lexer) emitVal(k tokKind, val string) {
	l.emit(k)
	l.tok.val = val
}

// errorf emits an error token covering input[pos:end] and stops the lexer.
func (l *lexer) errorf(pos, end int, format string, args ...any) stateFn {
	if end > len(l.input) {
		end = len(l.input)
	}
	if end < pos {
		end = pos
	}
	l.tok = token{kind: tokError, pos: pos, end: end, text: l.input[pos:end], val: fmt.Sprintf(format, args...)}
	l.emitted = true
	return lexStopped
}

func lexStopped(l *lexer) stateFn {
	l.emitted = true // keep returning the stored token
	return lexStopped
}

func (l *lexer) peekByte(off int) byte {
	if l.pos+off < len(l.input) {
		return l.input[l.pos+off]
	}
	return 0
}

// skipSpace skips whitespace (every code point with the Unicode White_Space
// property) and /* */ and // comments. It returns false and emits an error
// for an unterminated comment or invalid UTF-8.
func (l *lexer) skipSpace() stateFn {
	for l.pos < len(l.input) {
		c := l.input[l.pos]
		switch {
		case c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f':
			l.pos++
		case c == '/' && l.peekByte(1) == '*':
			end := strings.Index(l.input[l.pos+2:], "*/")
			if end < 0 {
				return l.errorf(l.pos, len(l.input), "unterminated comment")
			}
			l.pos += 2 + end + 2
		case c == '/' && l.peekByte(1) == '/':
			end := strings.IndexByte(l.input[l.pos:], '\n')
			if end < 0 {
				l.pos = len(l.input)
			} else {
				l.pos += end + 1
			}
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(l.input[l.pos:])
			if r == utf8.RuneError && size == 1 {
				return l.errorf(l.pos, l.pos+1, "invalid UTF-8 encoding")
			}
			if !unicode.IsSpace(r) {
				return nil
			}
			l.pos += size
		default:
			return nil
		}
	}
	return nil
}

// lexAny scans the next token of any kind.
func lexAny(l *lexer) stateFn {
	if st := l.skipSpace(); st != nil {
		return st
	}
	l.start = l.pos
	if l.pos >= len(l.input) {
		l.emit(tokEOF)
		return lexAny
	}
	c := l.input[l.pos]
	switch {
	case c == '[':
		return l.single(tokLBrack)
	case c == ']':
		return l.single(tokRBrack)
	case c == '(':
		return l.single(tokLParen)
	case c == ')':
		return l.single(tokRParen)
	case c == ':':
		return l.single(tokColon)
	case c == ',':
		return l.single(tokComma)
	case c == '*':
		return l.single(tokAsterisk)
	case c == '.':
		if isDigit(l.peekByte(1)) {
			return lexNumber
		}
		return l.single(tokDot)
	case c == '=':
		l.pos++
		if l.peekByte(0) == '=' {
			l.pos++
		}
		l.emit(tokEQ)
		return lexAny
	case c == '!':
		if l.peekByte(1) != '=' {
			return l.errorf(l.pos, l.pos+1, "unexpected '!' (did you mean '!='?)")
		}
		l.pos += 2
		l.emit(tokNEQ)
		return lexAny
	case c == '<':
		l.pos++
		switch l.peekByte(0) {
		case '=':
			l.pos++
			l.emit(tokLE)
		case '>':
			l.pos++
			l.emit(tokNEQ)
		default:
			l.emit(tokLT)
		}
		return lexAny
	case c == '>':
		l.pos++
		if l.peekByte(0) == '=' {
			l.pos++
			l.emit(tokGE)
		} else {
			l.emit(tokGT)
		}
		return lexAny
	case c == '\'':
		return lexString
	case c == '+' || c == '-':
		n := l.peekByte(1)
		if isDigit(n) || (n == '.' && isDigit(l.peekByte(2))) {
			return lexNumber
		}
		return l.errorf(l.pos, l.pos+1, "unexpected %q", c)
	case isDigit(c):
		return lexNumber
	case isIdentStart(c):
		return lexWord
	}
	r, size := utf8.DecodeRuneInString(l.input[l.pos:])
	if r == utf8.RuneError && size == 1 {
		return l.errorf(l.pos, l.pos+1, "invalid UTF-8 encoding")
	}
	return l.errorf(l.pos, l.pos+size, "unexpected character %q", r)
}

func (l *lexer) single(k tokKind) stateFn {
	l.pos++
	l.emit(k)
	return lexAny
}

func isDigit(c byte) bool      { return '0' <= c && c <= '9' }
func isIdentStart(c byte) bool { return c == '_' || ('a' <= c && c <= 'z') || ('A' <= c && c <= 'Z') }
func isIdentChar(c byte) bool  { return isIdentStart(c) || isDigit(c) || c == '-' }

// lexWord scans an identifier, a keyword, a boolean, or the prefix of a
// binary (b'…'), hex (h'…') or timestamp (t'…') constant.
func lexWord(l *lexer) stateFn {
	for l.pos < len(l.input) && isIdentChar(l.input[l.pos]) {
		l.pos++
	}
	w := l.input[l.start:l.pos]
	if len(w) == 1 && l.peekByte(0) == '\'' {
		switch w[0] {
		case 'b':
			return lexBinary
		case 'h':
			return lexHex
		case 't':
			return lexTimestamp
		}
	}
	l.emit(lookupWord(w))
	return lexAny
}

// lexString scans a string constant. The only escapes are \' and \\.
func lexString(l *lexer) stateFn {
	l.pos++ // opening quote
	var b *strings.Builder
	seg := l.pos
	for {
		if l.pos >= len(l.input) {
			return l.errorf(l.start, len(l.input), "unterminated string")
		}
		c := l.input[l.pos]
		switch {
		case c == '\'':
			var val string
			if b == nil {
				val = l.input[seg:l.pos]
			} else {
				b.WriteString(l.input[seg:l.pos])
				val = b.String()
			}
			l.pos++
			l.emitVal(tokString, val)
			return lexAny
		case c == '\\':
			n := l.peekByte(1)
			if n != '\'' && n != '\\' {
				end := l.pos + 2
				if n >= utf8.RuneSelf {
					_, size := utf8.DecodeRuneInString(l.input[l.pos+1:])
					end = l.pos + 1 + size
				}
				return l.errorf(l.pos, end, "invalid escape sequence in string: only \\' and \\\\ are allowed")
			}
			if b == nil {
				b = &strings.Builder{}
			}
			b.WriteString(l.input[seg:l.pos])
			b.WriteByte(n)
			l.pos += 2
			seg = l.pos
		case c >= utf8.RuneSelf:
			r, size := utf8.DecodeRuneInString(l.input[l.pos:])
			if r == utf8.RuneError && size == 1 {
				return l.errorf(l.pos, l.pos+1, "invalid UTF-8 encoding in string")
			}
			l.pos += size
		default:
			l.pos++
		}
	}
}

// quotedBody scans the body of a prefixed constant (b'…', h'…', t'…'),
// which has no escapes. It leaves pos after the closing quote and returns
// the body, or ok false after emitting an error.
func (l *lexer) quotedBody(what string) (body string, st stateFn) {
	l.pos++ // opening quote
	end := strings.IndexByte(l.input[l.pos:], '\'')
	if end < 0 {
		return "", l.errorf(l.start, len(l.input), "unterminated %s constant", what)
	}
	body = l.input[l.pos : l.pos+end]
	l.pos += end + 1
	return body, nil
}

func lexBinary(l *lexer) stateFn {
	body, st := l.quotedBody("binary")
	if st != nil {
		return st
	}
	if _, err := decodeBase64(body); err != nil {
		return l.errorf(l.start, l.pos, "invalid binary constant: %v", err)
	}
	l.emitVal(tokBinary, body)
	return lexAny
}

func lexHex(l *lexer) stateFn {
	body, st := l.quotedBody("hex")
	if st != nil {
		return st
	}
	if len(body)%2 != 0 {
		return l.errorf(l.start, l.pos, "invalid hex constant: odd number of digits")
	}
	for i := 0; i < len(body); i++ {
		if !isHexDigit(body[i]) {
			return l.errorf(l.start, l.pos, "invalid hex constant: %q is not a hexadecimal digit", rune(body[i]))
		}
	}
	l.emitVal(tokHex, body)
	return lexAny
}

func lexTimestamp(l *lexer) stateFn {
	body, st := l.quotedBody("timestamp")
	if st != nil {
		return st
	}
	if _, err := parseTimestamp(body); err != nil {
		return l.errorf(l.start, l.pos, "invalid timestamp constant: %v", err)
	}
	l.emitVal(tokTimestamp, body)
	return lexAny
}

func isHexDigit(c byte) bool {
	return isDigit(c) || ('a' <= c && c <= 'f') || ('A' <= c && c <= 'F')
}

// lexNumber scans an integer ([+-]?(0|[1-9][0-9]*)) or a float
// ([+-]?[0-9]*.[0-9]+). Exponents are not part of the grammar.
func lexNumber(l *lexer) stateFn {
	if c := l.input[l.pos]; c == '+' || c == '-' {
		l.pos++
	}
	digits := l.pos
	for l.pos < len(l.input) && isDigit(l.input[l.pos]) {
		l.pos++
	}
	intDigits := l.input[digits:l.pos]
	kind := tokInt
	if l.peekByte(0) == '.' && isDigit(l.peekByte(1)) {
		kind = tokFloat
		l.pos++
		for l.pos < len(l.input) && isDigit(l.input[l.pos]) {
			l.pos++
		}
	}
	if l.pos < len(l.input) {
		if c := l.input[l.pos]; isIdentChar(c) || c == '.' {
			end := l.pos + 1
			for end < len(l.input) && (isIdentChar(l.input[end]) || l.input[end] == '.') {
				end++
			}
			return l.errorf(l.start, end, "invalid number %q", l.input[l.start:end])
		}
	}
	if kind == tokInt && len(intDigits) > 1 && intDigits[0] == '0' {
		return l.errorf(l.start, l.pos, "invalid integer %q: leading zeros are not allowed", l.input[l.start:l.pos])
	}
	l.emit(kind)
	return lexAny
}
