package pattern

import (
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// constKind is the type of a constant in a comparison.
type constKind uint8

const (
	cString constKind = iota + 1
	cInt
	cFloat
	cBool
	cBinary
	cHex
	cTimestamp
)

func (k constKind) String() string {
	switch k {
	case cString:
		return "string"
	case cInt:
		return "integer"
	case cFloat:
		return "float"
	case cBool:
		return "boolean"
	case cBinary:
		return "binary"
	case cHex:
		return "hex"
	case cTimestamp:
		return "timestamp"
	}
	return "unknown"
}

// numeric reports whether the constant is an integer or a float.
func (k constKind) numeric() bool { return k == cInt || k == cFloat }

// bytesLike reports whether the constant denotes an array of octets.
func (k constKind) bytesLike() bool { return k == cBinary || k == cHex }

// constant is a literal value in a comparison.
type constant struct {
	kind constKind
	// str is the decoded text of a string, or the canonical text of a
	// timestamp.
	str string
	i   int64   // integer, or 1/0 for a boolean
	f   float64 // float
	b   []byte  // binary and hex
	t   time.Time
	// ip is set when a string constant is an IPv4 or IPv6 address or CIDR
	// block; ipOK tells whether it is.
	ip   netip.Prefix
	ipOK bool
}

// The range of integers that STIX allows (section 2.10 of the specification).
const (
	maxSTIXInt = 1<<53 - 1
	minSTIXInt = -(1<<53 - 1)
)

func intConstant(text string) (constant, error) {
	n, err := strconv.ParseInt(strings.TrimPrefix(text, "+"), 10, 64)
	if err != nil || n > maxSTIXInt || n < minSTIXInt {
		return constant{}, fmt.Errorf("integer %s is out of range (STIX integers are between -(2^53)+1 and 2^53-1)", text)
	}
	return constant{kind: cInt, i: n}, nil
}

func floatConstant(text string) (constant, error) {
	f, err := strconv.ParseFloat(strings.TrimPrefix(text, "+"), 64)
	if err != nil || math.IsInf(f, 0) || math.IsNaN(f) {
		return constant{}, fmt.Errorf("float %s is out of range", text)
	}
	if f == 0 {
		f = 0 // no negative zero
	}
	return constant{kind: cFloat, f: f}, nil
}

func stringConstant(s string) constant {
	return constant{kind: cString, str: s}
}

// setIP records whether a string constant is an address or CIDR block.
func (c *constant) setIP() {
	if c.kind == cString {
		c.ip, c.ipOK = parseIPPrefix(c.str)
	}
}

// parseIPPrefix parses an IPv4 or IPv6 address (a single-address prefix) or
// CIDR block, masked to its prefix length. Addresses with a zone are not
// accepted.
func parseIPPrefix(s string) (netip.Prefix, bool) {
	if len(s) < 2 || len(s) > 50 || !ipChars(s) {
		return netip.Prefix{}, false
	}
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return netip.Prefix{}, false
		}
		return p.Masked(), true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return netip.Prefix{}, false
	}
	return netip.PrefixFrom(a, a.BitLen()), true
}

// ipChars reports whether s is made only of characters that can occur in
// an address or CIDR block, with a dot or a colon, and so is worth parsing.
func ipChars(s string) bool {
	sep := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '.' || c == ':':
			sep = true
		case !isHexDigit(c) && c != '/':
			return false
		}
	}
	return sep
}

// prefixWithin reports whether every address of inner is in outer.
func prefixWithin(inner, outer netip.Prefix) bool {
	return inner.Addr().Is4() == outer.Addr().Is4() &&
		outer.Bits() <= inner.Bits() && outer.Contains(inner.Addr())
}

// decodeBase64 decodes a STIX binary constant: standard base64 with padding;
// line feeds (and carriage returns) are ignored.
func decodeBase64(s string) ([]byte, error) {
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	b, err := base64.StdEncoding.Strict().DecodeString(s)
	if err != nil {
		return nil, errors.New("not valid base64 with padding")
	}
	return b, nil
}

// parseTimestamp parses a STIX timestamp: YYYY-MM-DDTHH:mm:ss[.s+]Z in UTC.
// A leap second (ss = 60) is accepted and counts as the first instant of
// the next minute. Digits beyond nanoseconds are ignored.
func parseTimestamp(s string) (time.Time, error) {
	const layout = "YYYY-MM-DDTHH:mm:ssZ"
	bad := func(what string) (time.Time, error) {
		return time.Time{}, fmt.Errorf("%q is not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z): %s", s, what)
	}
	if len(s) < len(layout) {
		return bad("too short")
	}
	num := func(off, n int) (int, bool) {
		v := 0
		for i := off; i < off+n; i++ {
			if !isDigit(s[i]) {
				return 0, false
			}
			v = v*10 + int(s[i]-'0')
		}
		return v, true
	}
	year, ok1 := num(0, 4)
	month, ok2 := num(5, 2)
	day, ok3 := num(8, 2)
	hour, ok4 := num(11, 2)
	minute, ok5 := num(14, 2)
	sec, ok6 := num(17, 2)
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) || s[4] != '-' || s[7] != '-' || s[10] != 'T' || s[13] != ':' || s[16] != ':' {
		return bad("wrong layout")
	}
	if month < 1 || month > 12 {
		return bad("month out of range")
	}
	if day < 1 || day > daysIn(month, year) {
		return bad("day out of range")
	}
	if hour > 23 || minute > 59 || sec > 60 {
		return bad("time of day out of range")
	}
	rest := s[19:]
	nsec := 0
	if rest != "" && rest[0] == '.' {
		i := 1
		for i < len(rest) && isDigit(rest[i]) {
			if i <= 9 {
				nsec = nsec*10 + int(rest[i]-'0')
			}
			i++
		}
		if i == 1 {
			return bad("no digits after the decimal point")
		}
		for d := i; d <= 9; d++ {
			nsec *= 10
		}
		rest = rest[i:]
	}
	if rest != "Z" {
		return bad("must end in Z (UTC)")
	}
	return time.Date(year, time.Month(month), day, hour, minute, sec, nsec, time.UTC), nil
}

func daysIn(month, year int) int {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// canonicalTimestamp removes trailing zeros from the fractional seconds of a
// valid timestamp, and the decimal point when no digit is left.
func canonicalTimestamp(s string) string {
	dot := strings.IndexByte(s, '.')
	if dot < 0 {
		return s
	}
	frac := strings.TrimRight(s[dot+1:len(s)-1], "0")
	if frac == "" {
		return s[:dot] + "Z"
	}
	return s[:dot+1] + frac + "Z"
}

// formatFloat prints a float so that it reads back as the same float and
// always has a decimal point, as the grammar requires of float constants.
func formatFloat(f float64) string {
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.Contains(s, ".") {
		s += ".0"
	}
	return s
}

// numberKey returns the canonical text of a number used by the Index and by
// Observables: integral values print as integers, others in the shortest
// form that reads back as the same float64.
func numberKey(isInt bool, i int64, f float64) string {
	if isInt {
		return strconv.FormatInt(i, 10)
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// key returns the canonical text of a string or number constant.
func (c *constant) key() string {
	switch c.kind {
	case cString:
		return c.str
	case cInt:
		return numberKey(true, c.i, 0)
	case cFloat:
		return numberKey(false, 0, c.f)
	}
	return ""
}

// appendTo appends the canonical spelling of the constant.
func (c *constant) appendTo(b []byte) []byte {
	switch c.kind {
	case cString:
		return appendQuoted(b, c.str)
	case cInt:
		return strconv.AppendInt(b, c.i, 10)
	case cFloat:
		return append(b, formatFloat(c.f)...)
	case cBool:
		if c.i != 0 {
			return append(b, "true"...)
		}
		return append(b, "false"...)
	case cBinary:
		b = append(b, "b'"...)
		b = base64.StdEncoding.AppendEncode(b, c.b)
		return append(b, '\'')
	case cHex:
		b = append(b, "h'"...)
		b = hex.AppendEncode(b, c.b)
		return append(b, '\'')
	case cTimestamp:
		b = append(b, "t'"...)
		b = append(b, c.str...)
		return append(b, '\'')
	}
	return b
}

// appendQuoted appends s as a string constant, escaping ' and \.
func appendQuoted(b []byte, s string) []byte {
	b = append(b, '\'')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\'' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, s[i])
	}
	return append(b, '\'')
}
