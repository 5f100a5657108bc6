// Package ioc reads indicator lists: plain text with one value per line and
// delimited files (CSV, TSV, "value;comment") whose columns are chosen by
// flags or found from a header. Each value's type is detected (IPv4, IPv6,
// CIDR, domain, URL, e-mail address, MD5, SHA-1, SHA-256, SHA-512, IP and
// port), defanged values are refanged, and every value becomes a STIX 2.1
// indicator with a canonical pattern and an identifier derived from it, so
// that the same value from several lists is one indicator.
package ioc

import (
	"errors"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"
)

// Kind is the type of an indicator value.
type Kind string

// Kinds of values.
const (
	IPv4       Kind = "ipv4"
	IPv6       Kind = "ipv6"
	CIDR       Kind = "cidr"
	Domain     Kind = "domain"
	URL        Kind = "url"
	URLPath    Kind = "url-path" // a path that URLs contain, such as /gate.php
	Email      Kind = "email"
	MD5        Kind = "md5"
	SHA1       Kind = "sha1"
	SHA256     Kind = "sha256"
	SHA512     Kind = "sha512"
	IPPort     Kind = "ip-port"     // an address and a destination port
	DomainPort Kind = "domain-port" // a domain name and a destination port
)

// Kinds lists every kind, in the order documentation shows them.
var Kinds = []Kind{IPv4, IPv6, CIDR, Domain, URL, URLPath, Email, MD5, SHA1, SHA256, SHA512, IPPort, DomainPort}

// Value is one parsed indicator value.
type Value struct {
	Kind  Kind
	Value string // normalised: IPs canonical, domains and hashes lower case
	Port  int    // for IPPort and DomainPort
	// Note says how the value was changed from what was written (other than
	// refanging and case), for a notice.
	Note string
}

// String is the value as a list would write it.
func (v Value) String() string {
	switch v.Kind {
	case IPPort, DomainPort:
		if strings.IndexByte(v.Value, ':') >= 0 {
			return "[" + v.Value + "]:" + strconv.Itoa(v.Port)
		}
		return v.Value + ":" + strconv.Itoa(v.Port)
	}
	return v.Value
}

// typeNames maps the type names used by lists, MISP and maltrail to kinds.
var typeNames = map[string]Kind{
	"ip": "", "ipv4": IPv4, "ipv4-addr": IPv4, "ip-src": "", "ip-dst": "", "ipv6": IPv6, "ipv6-addr": IPv6, "ipaddress": "", "address": "",
	"cidr": CIDR, "ip-range": CIDR, "netblock": CIDR, "subnet": CIDR, "network": CIDR,
	"domain": Domain, "hostname": Domain, "fqdn": Domain, "host": Domain, "domain-name": Domain,
	"url": URL, "uri": URL, "link": URL,
	"url-path": URLPath, "path": URLPath, "uri-path": URLPath,
	"email": Email, "email-src": Email, "email-dst": Email, "email-addr": Email, "mail": Email,
	"md5": MD5, "sha1": SHA1, "sha-1": SHA1, "sha256": SHA256, "sha-256": SHA256, "sha512": SHA512, "sha-512": SHA512,
	"hash": "", "filehash": "",
	"ip:port": IPPort, "ip-port": IPPort, "ip-dst|port": IPPort, "ip-src|port": IPPort, "ipport": IPPort,
	"domain:port": DomainPort, "hostname|port": DomainPort, "domain-port": DomainPort,
}

// ParseKind maps a type name (ipv4, ip-dst, domain, hostname, sha256,
// ip:port, …; case-insensitive) to a kind. Names that cover several kinds
// (ip, hash) give "" with ok true: the value decides.
func ParseKind(name string) (k Kind, ok bool) {
	k, ok = typeNames[strings.ToLower(strings.TrimSpace(name))]
	return k, ok
}

// ErrNotIndicator is wrapped by the errors Parse returns.
var ErrNotIndicator = errors.New("not an indicator value")

func notIndicator(format string, a ...any) error {
	return fmt.Errorf("%w: %s", ErrNotIndicator, fmt.Sprintf(format, a...))
}

// Parse refangs s, detects its kind and normalises it. When hint is not
// empty the value must be of that kind (an IP given as a domain is still
// accepted as an IP, with a Note).
func Parse(s string, hint Kind) (Value, error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Value{}, notIndicator("empty value")
	}
	if !utf8.ValidString(s) {
		return Value{}, notIndicator("invalid UTF-8")
	}
	if len(s) > 4096 {
		return Value{}, notIndicator("value longer than 4096 bytes")
	}
	s = Refang(s)
	if hint != "" {
		v, err := parseAs(s, hint)
		if err == nil {
			return v, nil
		}
		d, derr := detect(s)
		if derr != nil {
			return Value{}, err
		}
		if compatible(hint, d.Kind) {
			return d, nil
		}
		d.Note = fmt.Sprintf("listed as %s, read as %s", hint, d.Kind)
		return d, nil
	}
	return detect(s)
}

// compatible reports kinds that a type name may stand for interchangeably.
func compatible(hint, k Kind) bool {
	switch hint {
	case IPv4, IPv6:
		return k == IPv4 || k == IPv6 || k == CIDR
	case CIDR:
		return k == IPv4 || k == IPv6
	case MD5, SHA1, SHA256, SHA512:
		return k == MD5 || k == SHA1 || k == SHA256 || k == SHA512
	}
	return false
}

func parseAs(s string, k Kind) (Value, error) {
	switch k {
	case IPv4, IPv6, CIDR:
		return parseIP(s)
	case Domain:
		d, note, err := parseDomain(s)
		return Value{Kind: Domain, Value: d, Note: note}, err
	case URL:
		return parseURL(s, true)
	case URLPath:
		if !strings.HasPrefix(s, "/") || strings.ContainsAny(s, " \t") {
			return Value{}, notIndicator("a URL path starts with / and has no spaces")
		}
		return Value{Kind: URLPath, Value: s}, nil
	case Email:
		return parseEmail(s)
	case MD5, SHA1, SHA256, SHA512:
		v, ok := parseHash(s)
		if !ok {
			return Value{}, notIndicator("not a hexadecimal MD5, SHA-1, SHA-256 or SHA-512 hash")
		}
		if v.Kind != k {
			v.Note = fmt.Sprintf("listed as %s, read as %s by its length", k, v.Kind)
		}
		return v, nil
	case IPPort, DomainPort:
		return parseHostPort(s)
	}
	return Value{}, notIndicator("unknown kind %q", k)
}

func detect(s string) (Value, error) {
	if strings.Contains(s, "://") {
		return parseURL(s, false)
	}
	if v, ok := parseHash(s); ok {
		return v, nil
	}
	if v, err := parseIP(s); err == nil {
		return v, nil
	}
	if strings.HasPrefix(s, "/") {
		return Value{}, notIndicator("a path alone is read only from a column of type url-path")
	}
	if strings.IndexByte(s, '@') > 0 {
		return parseEmail(s)
	}
	if i := strings.IndexByte(s, '/'); i > 0 {
		host := s[:i]
		if _, err := parseIP(host); err == nil {
			return parseURL(s, true)
		}
		if _, _, err := parseDomain(host); err == nil {
			return parseURL(s, true)
		}
		if strings.Contains(host, ":") {
			if _, err := parseHostPort(host); err == nil {
				return parseURL(s, true)
			}
		}
		return Value{}, notIndicator("not an IP, prefix, domain, URL, e-mail address or hash")
	}
	if strings.IndexByte(s, ':') >= 0 {
		if v, err := parseHostPort(s); err == nil {
			return v, nil
		}
	}
	d, note, err := parseDomain(s)
	if err != nil {
		return Value{}, notIndicator("not an IP, prefix, domain, URL, e-mail address or hash")
	}
	return Value{Kind: Domain, Value: d, Note: note}, nil
}

func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f' || 'A' <= c && c <= 'F') {
			return false
		}
	}
	return true
}

func parseHash(s string) (Value, bool) {
	var k Kind
	switch len(s) {
	case 32:
		k = MD5
	case 40:
		k = SHA1
	case 64:
		k = SHA256
	case 128:
		k = SHA512
	default:
		return Value{}, false
	}
	if !isHex(s) {
		return Value{}, false
	}
	return Value{Kind: k, Value: strings.ToLower(s)}, true
}

func parseIP(s string) (Value, error) {
	if strings.IndexByte(s, '/') >= 0 {
		p, err := netip.ParsePrefix(s)
		if err != nil {
			return Value{}, notIndicator("invalid CIDR prefix")
		}
		var note string
		if m := p.Masked(); m != p {
			note = fmt.Sprintf("prefix %s has host bits set; read as %s", p, m)
			p = m
		}
		a := p.Addr().Unmap()
		if p.Bits() == a.BitLen() || (p.Addr().Is4In6() && p.Bits() == 128) {
			return ipValue(a, note), nil
		}
		if p.Addr().Is4In6() {
			if p.Bits() < 96 {
				return Value{}, notIndicator("IPv4-mapped prefix shorter than /96")
			}
			p = netip.PrefixFrom(a, p.Bits()-96)
		}
		return Value{Kind: CIDR, Value: p.String(), Note: note}, nil
	}
	if i := strings.IndexByte(s, '-'); i > 0 && strings.Count(s, ".") == 6 {
		return Value{}, notIndicator("IP ranges are not supported; use CIDR prefixes")
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Zone() != "" {
		return Value{}, notIndicator("invalid IP address")
	}
	return ipValue(a.Unmap(), ""), nil
}

func ipValue(a netip.Addr, note string) Value {
	if a.Is4() {
		return Value{Kind: IPv4, Value: a.String(), Note: note}
	}
	return Value{Kind: IPv6, Value: a.String(), Note: note}
}

// parseDomain checks and lower-cases a domain name. A leading "*." (a
// wildcard for the subdomains) and a trailing dot are removed.
func parseDomain(s string) (string, string, error) {
	note := ""
	if strings.HasPrefix(s, "*.") {
		s = s[2:]
		note = "wildcard *. removed: the indicator is the domain itself"
	}
	s = strings.TrimSuffix(s, ".")
	if len(s) == 0 || len(s) > 253 {
		return "", "", notIndicator("a domain name has 1 to 253 characters")
	}
	s = strings.ToLower(s)
	labels := 0
	last := ""
	for l := range strings.SplitSeq(s, ".") {
		if l == "" || len(l) > 63 {
			return "", "", notIndicator("empty or too long label in domain name")
		}
		if l[0] == '-' || l[len(l)-1] == '-' {
			return "", "", notIndicator("a domain label does not start or end with a hyphen")
		}
		for _, r := range l {
			if !(r == '-' || r == '_' || 'a' <= r && r <= 'z' || '0' <= r && r <= '9' || r > 0x7f && (unicode.IsLetter(r) || unicode.IsDigit(r) || unicode.Is(unicode.Mn, r))) {
				return "", "", notIndicator("character %q is not allowed in a domain name", r)
			}
		}
		labels++
		last = l
	}
	if labels < 2 {
		return "", "", notIndicator("a domain name has at least two labels")
	}
	allDigits := true
	for i := 0; i < len(last); i++ {
		if last[i] < '0' || last[i] > '9' {
			allDigits = false
			break
		}
	}
	if allDigits {
		return "", "", notIndicator("the top-level label of a domain name is not numeric")
	}
	return s, note, nil
}

func parseURL(s string, noScheme bool) (Value, error) {
	if strings.ContainsAny(s, " \t\r\n") {
		return Value{}, notIndicator("a URL has no white space")
	}
	rest := s
	scheme := ""
	if i := strings.Index(s, "://"); i >= 0 {
		scheme = strings.ToLower(s[:i])
		if scheme == "" || !isScheme(scheme) {
			return Value{}, notIndicator("invalid URL scheme")
		}
		rest = s[i+3:]
	} else if !noScheme {
		return Value{}, notIndicator("no URL scheme")
	}
	end := strings.IndexAny(rest, "/?#")
	if end < 0 {
		end = len(rest)
	}
	host := rest[:end]
	if at := strings.LastIndexByte(host, '@'); at >= 0 {
		host = host[at+1:]
	}
	if host == "" {
		return Value{}, notIndicator("a URL has a host")
	}
	if !validURLHost(host) {
		return Value{}, notIndicator("invalid host in URL")
	}
	lowered := strings.ToLower(rest[:end]) + rest[end:]
	if scheme != "" {
		return Value{Kind: URL, Value: scheme + "://" + lowered}, nil
	}
	return Value{Kind: URL, Value: lowered}, nil
}

func isScheme(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !('a' <= c && c <= 'z' || i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.')) {
			return false
		}
	}
	return true
}

func validURLHost(h string) bool {
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return false
		}
		if _, err := netip.ParseAddr(h[1:end]); err != nil {
			return false
		}
		rest := h[end+1:]
		return rest == "" || rest[0] == ':' && validPort(rest[1:])
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if !validPort(h[i+1:]) {
			return false
		}
		h = h[:i]
	}
	if _, err := netip.ParseAddr(h); err == nil {
		return true
	}
	_, _, err := parseDomain(h)
	return err == nil || h == "localhost"
}

func validPort(p string) bool {
	n, err := strconv.Atoi(p)
	return err == nil && n >= 0 && n <= 65535 && p != ""
}

func parseEmail(s string) (Value, error) {
	at := strings.LastIndexByte(s, '@')
	if at <= 0 || at == len(s)-1 {
		return Value{}, notIndicator("an e-mail address is local@domain")
	}
	local := s[:at]
	if strings.ContainsAny(local, " \t<>\"()[],;:\\@") {
		return Value{}, notIndicator("invalid local part of an e-mail address")
	}
	d, _, err := parseDomain(s[at+1:])
	if err != nil {
		return Value{}, notIndicator("invalid domain of an e-mail address")
	}
	return Value{Kind: Email, Value: local + "@" + d}, nil
}

// parseHostPort reads ip:port, [ipv6]:port and domain:port.
func parseHostPort(s string) (Value, error) {
	var host, port string
	if strings.HasPrefix(s, "[") {
		end := strings.IndexByte(s, ']')
		if end < 0 || end+1 >= len(s) || s[end+1] != ':' {
			return Value{}, notIndicator("expected [address]:port")
		}
		host, port = s[1:end], s[end+2:]
	} else {
		i := strings.LastIndexByte(s, ':')
		if i <= 0 {
			return Value{}, notIndicator("expected host:port")
		}
		host, port = s[:i], s[i+1:]
		if strings.IndexByte(host, ':') >= 0 {
			return Value{}, notIndicator("expected host:port with one port")
		}
	}
	if !validPort(port) {
		return Value{}, notIndicator("invalid port %q", port)
	}
	n, _ := strconv.Atoi(port)
	if a, err := netip.ParseAddr(host); err == nil && a.Zone() == "" {
		return Value{Kind: IPPort, Value: a.Unmap().String(), Port: n}, nil
	}
	d, _, err := parseDomain(host)
	if err != nil {
		return Value{}, notIndicator("invalid host in host:port")
	}
	return Value{Kind: DomainPort, Value: d, Port: n}, nil
}

// refangs lists defanging notations and their plain form. Matching ignores
// case.
var refangs = []struct{ from, to string }{
	{"hxxps[:]//", "https://"}, {"hxxp[:]//", "http://"},
	{"hxxps://", "https://"}, {"hxxp://", "http://"}, {"hxxps", "https"}, {"hxxp", "http"},
	{"hXXps", "https"}, {"hXXp", "http"}, {"h__ps", "https"}, {"h__p", "http"},
	{"fxp://", "ftp://"}, {"fxps://", "ftps://"},
	{"[://]", "://"}, {"(://)", "://"}, {"[:]//", "://"}, {"[:]", ":"}, {"(:)", ":"},
	{"[.]", "."}, {"(.)", "."}, {"{.}", "."}, {"[dot]", "."}, {"(dot)", "."}, {"{dot}", "."}, {" dot ", "."}, {"\\.", "."},
	{"[@]", "@"}, {"(@)", "@"}, {"{@}", "@"}, {"[at]", "@"}, {"(at)", "@"}, {"{at}", "@"}, {" at ", "@"},
	{"[/]", "/"}, {"[slash]", "/"},
}

// Refang undoes the usual defanging of indicators: hxxp and hXXp schemes,
// [.] (.) {.} [dot] (dot) for dots, [@] [at] (at) for @, [:] and [://],
// and backslash-escaped dots. Values without such marks are returned as is.
func Refang(s string) string {
	if !strings.ContainsAny(s, "[({\\ ") && indexFold(s, "xxp") < 0 && indexFold(s, "__p") < 0 && indexFold(s, "fxp") < 0 {
		return s
	}
	lower := strings.ToLower(s)
	changed := false
	for _, r := range refangs {
		if !strings.Contains(lower, strings.ToLower(r.from)) {
			continue
		}
		s = replaceFold(s, r.from, r.to)
		lower = strings.ToLower(s)
		changed = true
	}
	if changed {
		return strings.TrimSpace(s)
	}
	return s
}

// replaceFold replaces every case-insensitive occurrence of old (ASCII) in s.
func replaceFold(s, old, new string) string {
	var b strings.Builder
	lo := strings.ToLower(old)
	for {
		i := indexFold(s, lo)
		if i < 0 {
			b.WriteString(s)
			return b.String()
		}
		b.WriteString(s[:i])
		b.WriteString(new)
		s = s[i+len(old):]
	}
}

func indexFold(s, lowerSub string) int {
	n := len(lowerSub)
	for i := 0; i+n <= len(s); i++ {
		match := true
		for j := 0; j < n; j++ {
			c := s[i+j]
			if 'A' <= c && c <= 'Z' {
				c += 'a' - 'A'
			}
			if c != lowerSub[j] {
				match = false
				break
			}
		}
		if match {
			return i
		}
	}
	return -1
}
