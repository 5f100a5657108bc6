package match

import (
	"net/netip"
	"strings"
)

// Normalisation puts a value in the one spelling that matching compares,
// on both sides: the constants of indicators when they are loaded and the
// values of telemetry as they are read. The rules, per path:
//
//   - addresses: the canonical text of netip (IPv6 compressed, lower
//     case); an IPv4-mapped IPv6 address is the IPv4 address;
//   - domain names (and names in src_ref/dst_ref): ASCII lower case,
//     without a trailing dot;
//   - URLs: see NormalizeURL;
//   - e-mail addresses: lower case, without angle brackets or mailto:;
//   - digests (file and certificate hashes, JA3, JA3S): lower-case hex,
//     colons removed;
//   - certificate serial numbers: lower-case hex without colons or
//     leading zeros;
//   - ports: decimal without leading zeros;
//   - file names: the last element of a path;
//   - user agents and JA4: as written.

// appendNorm appends the normalised value v of path p to dst. It returns
// the path the value belongs to (an address read from a domain field
// becomes an address) and false when v is not a value of that path.
func appendNorm(dst []byte, p Path, v []byte) ([]byte, Path, bool) {
	v = trimSpace(v)
	if len(v) == 0 {
		return dst, p, false
	}
	switch p {
	case PathIPv4, PathIPv6:
		return appendIP(dst, v)
	case PathSrcRef, PathDstRef:
		if d, _, ok := appendIP(dst, v); ok {
			return d, p, true
		}
		return appendDomain(dst, p, v)
	case PathDomain:
		for len(v) > 1 && v[len(v)-1] == '.' {
			v = v[:len(v)-1] // "192.0.2.1." is the address
		}
		if d, q, ok := appendIP(dst, v); ok {
			return d, q, true
		}
		return appendDomain(dst, p, v)
	case PathURL:
		return appendURL(dst, v)
	case PathEmail:
		return appendEmail(dst, v)
	case PathMD5, PathSHA1, PathSHA256, PathSHA512, PathCertSHA1, PathCertSHA256, PathJA3, PathJA3S:
		return appendHex(dst, p, v)
	case PathCertSerial:
		return appendSerial(dst, v)
	case PathSrcPort, PathDstPort:
		return appendPort(dst, p, v)
	case PathFileName:
		if i := lastIndexAny2(v, '/', '\\'); i >= 0 {
			v = trimSpace(v[i+1:])
		}
		if len(v) == 0 {
			return dst, p, false
		}
		return append(dst, v...), p, true
	}
	return append(dst, v...), p, true
}

// Normalize returns the normalised form of a value of path p, and the path
// it belongs to, or false when it is not a value of that path.
func Normalize(p Path, v string) (string, Path, bool) {
	b, q, ok := appendNorm(nil, p, []byte(v))
	return string(b), q, ok
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[0] == ' ' || b[0] == '\t' || b[0] == '\r' || b[0] == '\n') {
		b = b[1:]
	}
	for len(b) > 0 && (b[len(b)-1] == ' ' || b[len(b)-1] == '\t' || b[len(b)-1] == '\r' || b[len(b)-1] == '\n') {
		b = b[:len(b)-1]
	}
	return b
}

func lastIndexAny2(b []byte, c1, c2 byte) int {
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] == c1 || b[i] == c2 {
			return i
		}
	}
	return -1
}

func lower(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// parseIPv4 parses a dotted quad without leading zeros. canonical is false
// when the text is an address in another spelling netip accepts (never, for
// IPv4: netip rejects leading zeros too).
func parseIPv4(b []byte) (netip.Addr, bool) {
	var a [4]byte
	part, digits, val := 0, 0, 0
	for i := 0; i < len(b); i++ {
		c := b[i]
		switch {
		case '0' <= c && c <= '9':
			if digits > 0 && val == 0 {
				return netip.Addr{}, false // leading zero
			}
			val = val*10 + int(c-'0')
			digits++
			if val > 255 {
				return netip.Addr{}, false
			}
		case c == '.':
			if digits == 0 || part == 3 {
				return netip.Addr{}, false
			}
			a[part] = byte(val)
			part++
			digits, val = 0, 0
		default:
			return netip.Addr{}, false
		}
	}
	if part != 3 || digits == 0 {
		return netip.Addr{}, false
	}
	a[3] = byte(val)
	return netip.AddrFrom4(a), true
}

// parseAddr parses an IPv4 or IPv6 address (without a zone), unmapping
// IPv4-mapped IPv6 addresses.
func parseAddr(b []byte) (netip.Addr, bool) {
	if a, ok := parseIPv4(b); ok {
		return a, true
	}
	if len(b) < 2 || len(b) > 45 {
		return netip.Addr{}, false
	}
	colon := false
	for _, c := range b {
		switch {
		case c == ':':
			colon = true
		case c == '.' || '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F':
		default:
			return netip.Addr{}, false
		}
	}
	if !colon {
		return netip.Addr{}, false
	}
	a, err := netip.ParseAddr(string(b))
	if err != nil {
		return netip.Addr{}, false
	}
	return a.Unmap(), true
}

func appendIP(dst []byte, v []byte) ([]byte, Path, bool) {
	if len(v) > 2 && v[0] == '[' && v[len(v)-1] == ']' {
		v = v[1 : len(v)-1]
	}
	a, ok := parseAddr(v)
	if !ok {
		return dst, PathNone, false
	}
	if a.Is4() {
		return a.AppendTo(dst), PathIPv4, true
	}
	return a.AppendTo(dst), PathIPv6, true
}

// domainByte reports bytes allowed in a domain name as telemetry writes it:
// letters, digits, hyphen, underscore, dot, and any non-ASCII byte
// (internationalised names).
var domainByte = func() (t [256]bool) {
	for c := 'a'; c <= 'z'; c++ {
		t[c] = true
		t[c-'a'+'A'] = true
	}
	for c := '0'; c <= '9'; c++ {
		t[c] = true
	}
	t['-'], t['_'], t['.'] = true, true, true
	for c := 0x80; c < 256; c++ {
		t[c] = true
	}
	return
}()

func appendDomain(dst []byte, p Path, v []byte) ([]byte, Path, bool) {
	for len(v) > 0 && v[len(v)-1] == '.' {
		v = v[:len(v)-1]
	}
	if len(v) == 0 || len(v) > 253 || v[0] == '.' {
		return dst, p, false
	}
	start := len(dst)
	for _, c := range v {
		if !domainByte[c] {
			return dst[:start], p, false
		}
		dst = append(dst, lower(c))
	}
	return dst, p, true
}

func appendEmail(dst []byte, v []byte) ([]byte, Path, bool) {
	if len(v) > 7 && strings.EqualFold(string(v[:7]), "mailto:") {
		v = v[7:]
	}
	if len(v) > 2 && v[0] == '<' && v[len(v)-1] == '>' {
		v = v[1 : len(v)-1]
	}
	at := -1
	for i, c := range v {
		switch {
		case c == '@':
			at = i
		case c <= ' ' || c == '<' || c == '>' || c == '"' || c == ',' || c == ';' || c == 0x7f:
			return dst, PathEmail, false
		}
	}
	if at <= 0 || at == len(v)-1 {
		return dst, PathEmail, false
	}
	for _, c := range v {
		dst = append(dst, lower(c))
	}
	return dst, PathEmail, true
}

func isHexDigit(c byte) bool {
	return '0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F'
}

func appendHex(dst []byte, p Path, v []byte) ([]byte, Path, bool) {
	start := len(dst)
	for _, c := range v {
		switch {
		case isHexDigit(c):
			dst = append(dst, lower(c))
		case c == ':':
		default:
			return dst[:start], p, false
		}
	}
	if len(dst) == start {
		return dst, p, false
	}
	return dst, p, true
}

func appendSerial(dst []byte, v []byte) ([]byte, Path, bool) {
	start := len(dst)
	for _, c := range v {
		switch {
		case isHexDigit(c):
			if len(dst) == start && c == '0' {
				continue // leading zero
			}
			dst = append(dst, lower(c))
		case c == ':' || c == ' ':
		default:
			return dst[:start], PathCertSerial, false
		}
	}
	if len(dst) == start {
		dst = append(dst, '0')
	}
	return dst, PathCertSerial, true
}

func appendPort(dst []byte, p Path, v []byte) ([]byte, Path, bool) {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' {
			return dst, p, false
		}
		n = n*10 + int(c-'0')
		if n > 65535 {
			return dst, p, false
		}
	}
	return appendInt(dst, n), p, true
}

func appendInt(dst []byte, n int) []byte {
	var buf [20]byte
	i := len(buf)
	for {
		i--
		buf[i] = byte('0' + n%10)
		n /= 10
		if n == 0 {
			break
		}
	}
	return append(dst, buf[i:]...)
}

// NormalizeURL returns the key under which mamori compares URLs: the URL
// without its scheme, user information and fragment, with the host in lower
// case (an address in canonical form), the port only when it is not 80 or
// 443, "/" for an empty path, dot segments removed, and percent-escapes of
// unreserved characters decoded (other escapes in upper case):
//
//	HTTP://User@Evil.Example:80/a/./b/../c%7e?q=1#top  →  evil.example/a/c~?q=1
//
// Dropping the scheme makes http and https addresses of the same resource
// one indicator, and lets scheme-less URLs from block lists and from logs
// that split host and path (Zeek, Suricata) meet; for the same reason
// ports 80 and 443 are dropped whatever the scheme (ftp://x:21/ keeps its
// port). It returns false when there is no host or the host has characters
// a host name cannot have.
func NormalizeURL(s string) (string, bool) {
	b, _, ok := appendURL(nil, []byte(s))
	return string(b), ok
}

func appendURL(dst []byte, v []byte) ([]byte, Path, bool) {
	start := len(dst)
	rest := v
	for i := 0; i < len(v) && i < 32; i++ {
		c := v[i]
		if c == ':' {
			if i > 0 && len(v) > i+2 && v[i+1] == '/' && v[i+2] == '/' {
				rest = v[i+3:]
			}
			break
		}
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			break
		}
	}
	end := len(rest)
	for i, c := range rest {
		if c == '/' || c == '?' || c == '#' {
			end = i
			break
		}
	}
	auth, tail := rest[:end], rest[end:]
	for i := len(auth) - 1; i >= 0; i-- {
		if auth[i] == '@' {
			auth = auth[i+1:]
			break
		}
	}
	host, port := auth, []byte(nil)
	if len(host) > 0 && host[0] == '[' {
		j := indexByte(host, ']')
		if j < 0 {
			return dst, PathURL, false
		}
		a, err := netip.ParseAddr(string(host[1:j]))
		if err != nil {
			return dst, PathURL, false
		}
		after := host[j+1:]
		if len(after) > 0 {
			if after[0] != ':' {
				return dst, PathURL, false
			}
			port = after[1:]
		}
		a = a.Unmap()
		if a.Is4() {
			dst = a.AppendTo(dst)
		} else {
			dst = append(dst, '[')
			dst = a.AppendTo(dst)
			dst = append(dst, ']')
		}
	} else {
		if j := lastIndexAny2(host, ':', ':'); j >= 0 { // host:port
			port = host[j+1:]
			host = host[:j]
		}
		for len(host) > 0 && host[len(host)-1] == '.' {
			host = host[:len(host)-1]
		}
		if len(host) == 0 {
			return dst, PathURL, false
		}
		if a, ok := parseIPv4(host); ok {
			dst = a.AppendTo(dst)
		} else {
			for _, c := range host {
				if !domainByte[c] {
					return dst[:start], PathURL, false
				}
				dst = append(dst, lower(c))
			}
		}
	}
	if len(port) > 0 {
		n := 0
		for _, c := range port {
			if c < '0' || c > '9' {
				return dst[:start], PathURL, false
			}
			n = n*10 + int(c-'0')
			if n > 65535 {
				return dst[:start], PathURL, false
			}
		}
		// The key has no scheme, so which port is the default cannot
		// depend on it: 80 and 443 are dropped whatever the scheme.
		if n != 80 && n != 443 {
			dst = append(dst, ':')
			dst = appendInt(dst, n)
		}
	}
	if i := indexByte(tail, '#'); i >= 0 {
		tail = tail[:i]
	}
	pth, query := tail, []byte(nil)
	hasQuery := false
	if i := indexByte(tail, '?'); i >= 0 {
		pth, query = tail[:i], tail[i+1:]
		hasQuery = true
	}
	pstart := len(dst)
	if len(pth) == 0 {
		dst = append(dst, '/')
	} else {
		dst = appendEscapes(dst, pth)
		dst = removeDotSegments(dst, pstart)
	}
	if hasQuery {
		dst = append(dst, '?')
		dst = appendEscapes(dst, query)
	}
	return dst, PathURL, true
}

func indexByte(b []byte, c byte) int {
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}

func unreserved(c byte) bool {
	return 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '.' || c == '_' || c == '~'
}

func unhex(c byte) byte {
	switch {
	case '0' <= c && c <= '9':
		return c - '0'
	case 'a' <= c && c <= 'f':
		return c - 'a' + 10
	}
	return c - 'A' + 10
}

// appendEscapes copies s, decoding percent-escapes of unreserved characters
// and writing the hex digits of the others in upper case.
func appendEscapes(dst, s []byte) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '%' && i+2 < len(s) && isHexDigit(s[i+1]) && isHexDigit(s[i+2]) {
			d := unhex(s[i+1])<<4 | unhex(s[i+2])
			if unreserved(d) {
				dst = append(dst, d)
			} else {
				dst = append(dst, '%', upperHex(s[i+1]), upperHex(s[i+2]))
			}
			i += 2
			continue
		}
		dst = append(dst, c)
	}
	return dst
}

func upperHex(c byte) byte {
	if 'a' <= c && c <= 'f' {
		return c - 'a' + 'A'
	}
	return c
}

// removeDotSegments removes "." and ".." segments from the path that
// starts at dst[start] (RFC 3986, section 5.2.4), in place.
func removeDotSegments(dst []byte, start int) []byte {
	p := dst[start:]
	if indexByte(p, '.') < 0 {
		return dst
	}
	// Quick check: a dot segment is "/." or "/.." followed by "/" or the end.
	has := false
	for i := 0; i+1 < len(p); i++ {
		if p[i] == '/' && p[i+1] == '.' && (i+2 == len(p) || p[i+2] == '/' || p[i+2] == '.' && (i+3 == len(p) || p[i+3] == '/')) {
			has = true
			break
		}
	}
	if !has {
		return dst
	}
	segs := strings.Split(string(p), "/")
	out := make([]string, 0, len(segs))
	for i, s := range segs {
		last := i == len(segs)-1
		switch s {
		case ".":
			if last {
				out = append(out, "")
			}
		case "..":
			if len(out) > 1 {
				out = out[:len(out)-1]
			}
			if last {
				out = append(out, "")
			}
		default:
			out = append(out, s)
		}
	}
	r := strings.Join(out, "/")
	if !strings.HasPrefix(r, "/") {
		r = "/" + r
	}
	return append(dst[:start], r...)
}
