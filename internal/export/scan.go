package export

import (
	"strconv"
	"unicode/utf8"
)

// scanObject calls fn with each top-level member of a JSON object and its
// raw value, without decoding the values; false when raw is not a
// well-formed object as far as the scan needs.
func scanObject(raw []byte, fn func(key, val []byte) bool) bool {
	i := skipWS(raw, 0)
	if i >= len(raw) || raw[i] != '{' {
		return false
	}
	i = skipWS(raw, i+1)
	if i < len(raw) && raw[i] == '}' {
		return true
	}
	for {
		if i >= len(raw) || raw[i] != '"' {
			return false
		}
		kEnd, ok := stringEnd(raw, i)
		if !ok {
			return false
		}
		key := raw[i+1 : kEnd-1]
		i = skipWS(raw, kEnd)
		if i >= len(raw) || raw[i] != ':' {
			return false
		}
		i = skipWS(raw, i+1)
		vEnd, ok := valueEnd(raw, i)
		if !ok {
			return false
		}
		if !fn(key, raw[i:vEnd]) {
			return true
		}
		i = skipWS(raw, vEnd)
		if i >= len(raw) {
			return false
		}
		if raw[i] == '}' {
			return true
		}
		if raw[i] != ',' {
			return false
		}
		i = skipWS(raw, i+1)
	}
}

func skipWS(b []byte, i int) int {
	for i < len(b) && (b[i] == ' ' || b[i] == '\t' || b[i] == '\n' || b[i] == '\r') {
		i++
	}
	return i
}

// stringEnd returns the index after the closing quote of the string at b[i].
func stringEnd(b []byte, i int) (int, bool) {
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '"':
			return j + 1, true
		}
	}
	return 0, false
}

// valueEnd returns the index after the JSON value at b[i].
func valueEnd(b []byte, i int) (int, bool) {
	if i >= len(b) {
		return 0, false
	}
	switch b[i] {
	case '"':
		return stringEnd(b, i)
	case '{', '[':
		depth := 0
		for j := i; j < len(b); j++ {
			switch b[j] {
			case '"':
				e, ok := stringEnd(b, j)
				if !ok {
					return 0, false
				}
				j = e - 1
			case '{', '[':
				depth++
			case '}', ']':
				depth--
				if depth == 0 {
					return j + 1, true
				}
			}
		}
		return 0, false
	}
	j := i
	for j < len(b) && b[j] != ',' && b[j] != '}' && b[j] != ']' && b[j] != ' ' && b[j] != '\n' && b[j] != '\t' && b[j] != '\r' {
		j++
	}
	return j, j > i
}

// jsonString decodes a raw JSON string value ("" for other values).
func jsonString(v []byte) string {
	if len(v) < 2 || v[0] != '"' {
		return ""
	}
	body := v[1 : len(v)-1]
	plain := true
	for _, c := range body {
		if c == '\\' {
			plain = false
			break
		}
	}
	if plain {
		return string(body)
	}
	s, err := strconv.Unquote(string(v))
	if err != nil || !utf8.ValidString(s) {
		return decodeJSONEscapes(body)
	}
	return s
}

// decodeJSONEscapes handles the escapes strconv.Unquote does not know
// (\/ and surrogate pairs).
func decodeJSONEscapes(b []byte) string {
	out := make([]rune, 0, len(b))
	for i := 0; i < len(b); i++ {
		c := b[i]
		if c != '\\' || i+1 >= len(b) {
			r, n := utf8.DecodeRune(b[i:])
			out = append(out, r)
			i += n - 1
			continue
		}
		i++
		switch b[i] {
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			if i+4 < len(b) {
				if n, err := strconv.ParseUint(string(b[i+1:i+5]), 16, 32); err == nil {
					r := rune(n)
					i += 4
					if r >= 0xD800 && r < 0xDC00 && i+6 < len(b) && b[i+1] == '\\' && b[i+2] == 'u' {
						if lo, err := strconv.ParseUint(string(b[i+3:i+7]), 16, 32); err == nil && lo >= 0xDC00 && lo < 0xE000 {
							r = (r-0xD800)<<10 + (rune(lo) - 0xDC00) + 0x10000
							i += 6
						}
					}
					out = append(out, r)
				}
			}
		default:
			out = append(out, rune(b[i]))
		}
	}
	return string(out)
}

// forEachString calls fn with each string of a raw JSON array.
func forEachString(v []byte, fn func(string)) {
	i := skipWS(v, 0)
	if i >= len(v) || v[i] != '[' {
		return
	}
	i++
	for {
		i = skipWS(v, i)
		if i >= len(v) || v[i] == ']' {
			return
		}
		end, ok := valueEnd(v, i)
		if !ok {
			return
		}
		if v[i] == '"' {
			fn(jsonString(v[i:end]))
		}
		i = skipWS(v, end)
		if i < len(v) && v[i] == ',' {
			i++
		}
	}
}
