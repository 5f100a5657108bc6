package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"unicode/utf16"
	"unicode/utf8"

	"github.com/google/uuid"
)

// SCONamespace is the UUIDv5 namespace STIX 2.1 defines for deterministic
// identifiers of cyber-observable objects (section 2.9).
var SCONamespace = uuid.MustParse("00abedb4-aa42-466c-9c01-fed23315a9b7")

// ErrNotSCO is wrapped by the error SCOID returns for an object that is not a
// cyber-observable object this package knows.
var ErrNotSCO = errors.New("not a STIX cyber-observable object")

// SCOID returns the identifier STIX 2.1 prescribes for a cyber-observable
// object (sections 2.9 and 3.4): its type, "--", and a UUIDv5 in the STIX
// namespace over the RFC 8785 (JSON Canonicalization Scheme) serialization of
// a JSON object holding the type's ID contributing properties that obj has.
//
// For hashes, only one hash contributes: MD5, SHA-1, SHA-256 or SHA-512, the
// first present in that order, otherwise the alphabetically first key, so that
// producers holding different sets of hashes for one file still agree. Other
// values contribute as written, references included. When none of the
// contributing properties is present (or the type defines none, as process
// does) the UUID is a random UUIDv4, as the specification requires.
//
// obj is typically decoded with Decoder.UseNumber; json.Number, float64 and
// Go integer types are canonicalized as IEEE 754 doubles, as RFC 8785
// requires. An error is returned for an object whose type is not an SCO
// defined by STIX 2.1 and for values that have no JSON form.
func SCOID(obj map[string]any) (string, error) {
	typ, _ := obj["type"].(string)
	spec := typeSpecs[typ]
	if spec == nil || spec.cat != catSCO {
		return "", fmt.Errorf("%w: type %q", ErrNotSCO, typ)
	}
	contrib := make(map[string]any, len(spec.idContrib))
	for _, k := range spec.idContrib {
		val, ok := obj[k]
		if !ok {
			continue
		}
		if k == "hashes" {
			h, ok := chooseHash(val)
			if !ok {
				continue
			}
			val = h
		}
		contrib[k] = val
	}
	if len(contrib) == 0 {
		u, err := uuid.NewRandom()
		if err != nil {
			return "", err
		}
		return typ + "--" + u.String(), nil
	}
	data, err := Canonicalize(contrib)
	if err != nil {
		return "", fmt.Errorf("stix: canonicalizing the ID contributing properties of %s: %w", typ, err)
	}
	return typ + "--" + uuid.NewSHA1(SCONamespace, data).String(), nil
}

// chooseHash picks the one hash that contributes to an SCO identifier.
func chooseHash(val any) (map[string]any, bool) {
	m, ok := val.(map[string]any)
	if !ok || len(m) == 0 {
		return nil, false
	}
	for _, k := range [...]string{"MD5", "SHA-1", "SHA-256", "SHA-512"} {
		if h, ok := m[k]; ok {
			return map[string]any{k: h}, true
		}
	}
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return map[string]any{keys[0]: m[keys[0]]}, true
}

// Canonicalize serializes a decoded JSON value following RFC 8785 (JSON
// Canonicalization Scheme): object members sorted by the UTF-16 code units of
// their names, no insignificant whitespace, strings with only the mandatory
// escapes, and numbers in the ECMAScript shortest round-trip form.
func Canonicalize(v any) ([]byte, error) {
	var b []byte
	b, err := appendCanonical(b, v, 0)
	if err != nil {
		return nil, err
	}
	return b, nil
}

func appendCanonical(b []byte, v any, depth int) ([]byte, error) {
	if depth > 10000 {
		return nil, errors.New("value nested too deeply")
	}
	switch x := v.(type) {
	case nil:
		return append(b, "null"...), nil
	case bool:
		if x {
			return append(b, "true"...), nil
		}
		return append(b, "false"...), nil
	case string:
		return appendCanonicalString(b, x), nil
	case json.Number:
		f, err := strconv.ParseFloat(string(x), 64)
		if err != nil {
			return nil, fmt.Errorf("number %s cannot be represented as an IEEE 754 double", x)
		}
		return appendES6Number(b, f)
	case float64:
		return appendES6Number(b, x)
	case float32:
		return appendES6Number(b, float64(x))
	case int:
		return appendES6Number(b, float64(x))
	case int8:
		return appendES6Number(b, float64(x))
	case int16:
		return appendES6Number(b, float64(x))
	case int32:
		return appendES6Number(b, float64(x))
	case int64:
		return appendES6Number(b, float64(x))
	case uint:
		return appendES6Number(b, float64(x))
	case uint8:
		return appendES6Number(b, float64(x))
	case uint16:
		return appendES6Number(b, float64(x))
	case uint32:
		return appendES6Number(b, float64(x))
	case uint64:
		return appendES6Number(b, float64(x))
	case []any:
		b = append(b, '[')
		for i, item := range x {
			if i > 0 {
				b = append(b, ',')
			}
			var err error
			if b, err = appendCanonical(b, item, depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, ']'), nil
	case []string:
		b = append(b, '[')
		for i, item := range x {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonicalString(b, item)
		}
		return append(b, ']'), nil
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		slices.SortFunc(keys, compareUTF16)
		b = append(b, '{')
		for i, k := range keys {
			if i > 0 {
				b = append(b, ',')
			}
			b = appendCanonicalString(b, k)
			b = append(b, ':')
			var err error
			if b, err = appendCanonical(b, x[k], depth+1); err != nil {
				return nil, err
			}
		}
		return append(b, '}'), nil
	case map[string]string:
		m := make(map[string]any, len(x))
		for k, s := range x {
			m[k] = s
		}
		return appendCanonical(b, m, depth)
	}
	return nil, fmt.Errorf("value of type %T has no JSON form", v)
}

// compareUTF16 orders strings by their UTF-16 code units, as RFC 8785
// section 3.2.3 requires. It differs from byte order only when a string
// holds characters above U+FFFF next to characters in U+E000–U+FFFF.
func compareUTF16(a, b string) int {
	for a != "" && b != "" {
		ra, na := utf8.DecodeRuneInString(a)
		rb, nb := utf8.DecodeRuneInString(b)
		if ra != rb {
			ua, ub := utf16Units(ra), utf16Units(rb)
			for i := 0; i < len(ua) && i < len(ub); i++ {
				if ua[i] != ub[i] {
					if ua[i] < ub[i] {
						return -1
					}
					return 1
				}
			}
			return len(ua) - len(ub)
		}
		a, b = a[na:], b[nb:]
	}
	return len(a) - len(b) // the shorter one is a prefix of the other
}

func utf16Units(r rune) []uint16 {
	if r >= 0x10000 {
		r1, r2 := utf16.EncodeRune(r)
		return []uint16{uint16(r1), uint16(r2)}
	}
	return []uint16{uint16(r)}
}

// appendCanonicalString writes s as a JSON string the way ECMAScript's
// JSON.stringify does: only '"', '\\' and control characters are escaped,
// control characters with the short forms where they exist and \u00XX with
// lower-case hex otherwise. Invalid UTF-8 is replaced with U+FFFD.
func appendCanonicalString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"':
				b = append(b, '\\', '"')
			case c == '\\':
				b = append(b, '\\', '\\')
			case c == '\b':
				b = append(b, '\\', 'b')
			case c == '\f':
				b = append(b, '\\', 'f')
			case c == '\n':
				b = append(b, '\\', 'n')
			case c == '\r':
				b = append(b, '\\', 'r')
			case c == '\t':
				b = append(b, '\\', 't')
			case c < 0x20:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			default:
				b = append(b, c)
			}
			i++
			continue
		}
		r, n := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && n == 1 {
			b = utf8.AppendRune(b, utf8.RuneError)
		} else {
			b = append(b, s[i:i+n]...)
		}
		i += n
	}
	return append(b, '"')
}

// appendES6Number writes f the way ECMAScript's Number.prototype.toString
// does (RFC 8785 section 3.2.2.3): the shortest digits that round-trip,
// plain notation for exponents from -6 to 20, scientific notation otherwise,
// and -0 written as 0.
func appendES6Number(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, errors.New("NaN and Infinity have no JSON form")
	}
	if f == 0 {
		return append(b, '0'), nil
	}
	if f < 0 {
		b = append(b, '-')
		f = -f
	}
	// Shortest round-trip digits in the form d.ddde±XX.
	var tmp [32]byte
	e := strconv.AppendFloat(tmp[:0], f, 'e', -1, 64)
	mant, exp, _ := strings.Cut(string(e), "e")
	digits := strings.Replace(mant, ".", "", 1)
	x, _ := strconv.Atoi(exp)
	k := len(digits)
	n := x + 1 // the decimal point sits after n digits
	switch {
	case k <= n && n <= 21:
		b = append(b, digits...)
		for i := 0; i < n-k; i++ {
			b = append(b, '0')
		}
	case 0 < n && n <= 21:
		b = append(b, digits[:n]...)
		b = append(b, '.')
		b = append(b, digits[n:]...)
	case -6 < n && n <= 0:
		b = append(b, '0', '.')
		for i := 0; i < -n; i++ {
			b = append(b, '0')
		}
		b = append(b, digits...)
	default:
		b = append(b, digits[0])
		if k > 1 {
			b = append(b, '.')
			b = append(b, digits[1:]...)
		}
		b = append(b, 'e')
		if n-1 >= 0 {
			b = append(b, '+')
		}
		b = strconv.AppendInt(b, int64(n-1), 10)
	}
	return b, nil
}
