package match

import (
	"bytes"
	"errors"
	"unicode/utf16"
	"unicode/utf8"
)

// jsonScanner walks one JSON object (a log line) without building it: it
// reports each scalar member (and each scalar element of an array) with
// its flattened key path ("dns.answers.rdata"), and descends only into the
// objects the caller asks for. Strings without escapes are reported as
// slices of the line; others are decoded into a scratch buffer.
type jsonScanner struct {
	data  []byte
	pos   int
	path  []byte
	scr   []byte
	depth int
}

var errJSON = errors.New("malformed JSON")

const maxJSONDepth = 64

// jsonVisitor receives the members of an object.
type jsonVisitor interface {
	// descend reports whether to walk the object or array of objects
	// found at path.
	descend(path []byte) bool
	// scalar receives a string (str true, decoded) or another scalar (its
	// JSON text) at path.
	scalar(path []byte, v []byte, str bool)
}

// walk scans data, which must hold one JSON object.
func (s *jsonScanner) walk(data []byte, v jsonVisitor) error {
	s.data, s.pos, s.path, s.depth = data, 0, s.path[:0], 0
	s.ws()
	if s.pos >= len(s.data) || s.data[s.pos] != '{' {
		return errJSON
	}
	return s.object(v)
}

func (s *jsonScanner) ws() {
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case ' ', '\t', '\r', '\n':
			s.pos++
		default:
			return
		}
	}
}

// object scans an object starting at '{' with s.path as the prefix.
func (s *jsonScanner) object(v jsonVisitor) error {
	s.depth++
	if s.depth > maxJSONDepth {
		return errJSON
	}
	defer func() { s.depth-- }()
	s.pos++ // '{'
	base := len(s.path)
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == '}' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != '"' {
			return errJSON
		}
		key, err := s.str()
		if err != nil {
			return err
		}
		s.path = s.path[:base]
		if base > 0 {
			s.path = append(s.path, '.')
		}
		s.path = append(s.path, key...)
		s.ws()
		if s.pos >= len(s.data) || s.data[s.pos] != ':' {
			return errJSON
		}
		s.pos++
		s.ws()
		if err := s.value(v); err != nil {
			return err
		}
		s.path = s.path[:base]
		s.ws()
		if s.pos >= len(s.data) {
			return errJSON
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case '}':
			s.pos++
			return nil
		default:
			return errJSON
		}
	}
}

// value scans the value at s.pos, a member or element at s.path.
func (s *jsonScanner) value(v jsonVisitor) error {
	if s.pos >= len(s.data) {
		return errJSON
	}
	switch c := s.data[s.pos]; c {
	case '"':
		b, err := s.str()
		if err != nil {
			return err
		}
		v.scalar(s.path, b, true)
		return nil
	case '{':
		if v.descend(s.path) {
			return s.object(v)
		}
		return s.skip()
	case '[':
		return s.array(v)
	default:
		start := s.pos
		for s.pos < len(s.data) {
			switch s.data[s.pos] {
			case ',', '}', ']', ' ', '\t', '\r', '\n':
				goto done
			}
			s.pos++
		}
	done:
		if s.pos == start {
			return errJSON
		}
		v.scalar(s.path, s.data[start:s.pos], false)
		return nil
	}
}

func (s *jsonScanner) array(v jsonVisitor) error {
	s.depth++
	if s.depth > maxJSONDepth {
		return errJSON
	}
	defer func() { s.depth-- }()
	s.pos++ // '['
	s.ws()
	if s.pos < len(s.data) && s.data[s.pos] == ']' {
		s.pos++
		return nil
	}
	for {
		s.ws()
		if s.pos >= len(s.data) {
			return errJSON
		}
		switch s.data[s.pos] {
		case '[':
			if err := s.skip(); err != nil {
				return err
			}
		default:
			if err := s.value(v); err != nil {
				return err
			}
		}
		s.ws()
		if s.pos >= len(s.data) {
			return errJSON
		}
		switch s.data[s.pos] {
		case ',':
			s.pos++
		case ']':
			s.pos++
			return nil
		default:
			return errJSON
		}
	}
}

// str scans a string at s.pos (on its opening quote) and returns its
// content, decoded when it has escapes (into the scratch buffer, valid
// until the next string is decoded).
func (s *jsonScanner) str() ([]byte, error) {
	start := s.pos + 1
	i := start
	for {
		j := bytes.IndexByte(s.data[i:], '"')
		if j < 0 {
			return nil, errJSON
		}
		i += j
		// Count the backslashes before the quote.
		k := i - 1
		for k >= start && s.data[k] == '\\' {
			k--
		}
		if (i-k-1)%2 == 0 {
			break
		}
		i++
	}
	raw := s.data[start:i]
	s.pos = i + 1
	if bytes.IndexByte(raw, '\\') < 0 {
		return raw, nil
	}
	s.scr = s.scr[:0] // the previous decoded string has been used
	return s.unescape(raw)
}

func (s *jsonScanner) unescape(raw []byte) ([]byte, error) {
	start := len(s.scr)
	for i := 0; i < len(raw); i++ {
		c := raw[i]
		if c != '\\' {
			s.scr = append(s.scr, c)
			continue
		}
		i++
		if i >= len(raw) {
			return nil, errJSON
		}
		switch raw[i] {
		case '"', '\\', '/':
			s.scr = append(s.scr, raw[i])
		case 'b':
			s.scr = append(s.scr, '\b')
		case 'f':
			s.scr = append(s.scr, '\f')
		case 'n':
			s.scr = append(s.scr, '\n')
		case 'r':
			s.scr = append(s.scr, '\r')
		case 't':
			s.scr = append(s.scr, '\t')
		case 'u':
			r, n := hex4(raw[i+1:])
			if n < 0 {
				return nil, errJSON
			}
			i += 4
			if utf16.IsSurrogate(r) {
				if i+6 < len(raw) && raw[i+1] == '\\' && raw[i+2] == 'u' {
					r2, n2 := hex4(raw[i+3:])
					if n2 >= 0 {
						if d := utf16.DecodeRune(r, r2); d != utf8.RuneError {
							r = d
							i += 6
						}
					}
				}
			}
			s.scr = utf8.AppendRune(s.scr, r)
		default:
			return nil, errJSON
		}
	}
	return s.scr[start:], nil
}

func hex4(b []byte) (rune, int) {
	if len(b) < 4 {
		return 0, -1
	}
	var r rune
	for _, c := range b[:4] {
		if !isHexDigit(c) {
			return 0, -1
		}
		r = r<<4 | rune(unhex(c))
	}
	return r, 4
}

// skip passes over the object or array at s.pos.
func (s *jsonScanner) skip() error {
	depth := 0
	for s.pos < len(s.data) {
		switch s.data[s.pos] {
		case '"':
			if _, err := s.strRaw(); err != nil {
				return err
			}
			continue
		case '{', '[':
			depth++
		case '}', ']':
			depth--
			if depth == 0 {
				s.pos++
				return nil
			}
		}
		s.pos++
	}
	return errJSON
}

// strRaw passes over a string without decoding it.
func (s *jsonScanner) strRaw() ([]byte, error) {
	start := s.pos + 1
	i := start
	for {
		j := bytes.IndexByte(s.data[i:], '"')
		if j < 0 {
			return nil, errJSON
		}
		i += j
		k := i - 1
		for k >= start && s.data[k] == '\\' {
			k--
		}
		if (i-k-1)%2 == 0 {
			break
		}
		i++
	}
	s.pos = i + 1
	return s.data[start:i], nil
}

// topVisitor reports the top-level string members of an object.
type topVisitor struct {
	fn func(key, value []byte)
}

func (v *topVisitor) descend([]byte) bool { return false }

func (v *topVisitor) scalar(path, val []byte, str bool) {
	if str && bytes.IndexByte(path, '.') < 0 {
		v.fn(path, val)
	}
}

// TopLevelStrings calls fn with the key and decoded value of each string
// member of the JSON object data, without descending into nested objects
// (elements of arrays of strings are reported under their array's key).
// The slices are valid only during the call. It returns an error when
// data is not a well-formed object.
func TopLevelStrings(data []byte, fn func(key, value []byte)) error {
	var s jsonScanner
	return s.walk(data, &topVisitor{fn: fn})
}
