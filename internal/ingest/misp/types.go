package misp

import (
	"fmt"
	"net/netip"
	"regexp"
	"strconv"
	"strings"

	"github.com/mamori-cti/mamori/internal/stix"
)

// comparison is one comparison expression of a STIX pattern and the object
// type it is about.
type comparison struct {
	root string // object type, e.g. "file"
	expr string // e.g. "file:hashes.MD5 = '…'"
	hash bool   // a hash of a file: hashes of one file are alternatives
}

// converted is what one attribute value becomes.
type converted struct {
	scos []map[string]any // cyber-observable objects, ids set, referenced ones first
	cmps []comparison     // comparisons for an indicator pattern
	// kind and value for the warninglist check ("" when not checked).
	kind, value string
	alsoKind    string // a second value to check (the address of domain|ip)
	alsoValue   string
	// special results for types that are not observables
	patternType string      // yara, snort, sigma: the value is the pattern
	vuln        string      // a CVE identifier
	actor       string      // threat-actor name
	campaign    string      // campaign name
	link        string      // a URL for external_references
	note        string      // how the value was changed, for a notice
	resolves    [][2]string // domain-name → address pairs (resolves-to)
}

var (
	macRE = regexp.MustCompile(`^([0-9a-f]{2}:){5}[0-9a-f]{2}$`)
	cveRE = regexp.MustCompile(`^CVE-\d{4}-\d{4,}$`)
)

func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('\'')
	for i := 0; i < len(s); i++ {
		if c := s[i]; c == '\'' || c == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('\'')
	return b.String()
}

func cmp(root, path, value string) comparison {
	return comparison{root: root, expr: root + ":" + path + " = " + quote(value)}
}

// newSCO sets the deterministic id of a cyber-observable object.
func newSCO(m map[string]any) (map[string]any, error) {
	m["spec_version"] = "2.1"
	id, err := stix.SCOID(m)
	if err != nil {
		return nil, err
	}
	m["id"] = id
	return m, nil
}

// hashKeys maps MISP hash types to STIX hash algorithm names (those of
// hash-algorithm-ov, else an upper-case custom name).
var hashKeys = map[string]string{
	"md5": "MD5", "sha1": "SHA-1", "sha224": "SHA224", "sha256": "SHA-256", "sha384": "SHA384", "sha512": "SHA-512",
	"sha512/224": "SHA512-224", "sha512/256": "SHA512-256", "sha3-224": "SHA3-224", "sha3-256": "SHA3-256", "sha3-384": "SHA3-384", "sha3-512": "SHA3-512",
	"ssdeep": "SSDEEP", "tlsh": "TLSH", "imphash": "IMPHASH", "authentihash": "AUTHENTIHASH", "pehash": "PEHASH",
	"impfuzzy": "IMPFUZZY", "telfhash": "TELFHASH", "vhash": "VHASH", "cdhash": "CDHASH", "sha256-imphash": "SHA256-IMPHASH",
}

var hashHex = map[string]int{"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128, "SHA3-256": 64, "SHA3-512": 128, "SHA224": 56, "SHA384": 96}

func hashPath(key string) string {
	for i := 0; i < len(key); i++ {
		c := key[i]
		if !('A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_') {
			return "hashes." + quote(key)
		}
	}
	return "hashes." + key
}

func checkHash(key, v string) (string, error) {
	v = strings.TrimSpace(v)
	if n, ok := hashHex[key]; ok {
		if len(v) != n || !isHex(v) {
			return "", fmt.Errorf("a %s hash is %d hexadecimal digits", key, n)
		}
		return strings.ToLower(v), nil
	}
	if v == "" {
		return "", fmt.Errorf("empty hash")
	}
	return v, nil
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

func ipSCO(v string) (map[string]any, string, error) {
	v = strings.TrimSpace(v)
	var a netip.Addr
	if strings.Contains(v, "/") {
		p, err := netip.ParsePrefix(v)
		if err != nil {
			return nil, "", fmt.Errorf("not an IP address or prefix")
		}
		p = p.Masked()
		a = p.Addr()
		v = p.String()
		if p.Bits() == a.BitLen() {
			v = a.String()
		}
	} else {
		var err error
		if a, err = netip.ParseAddr(v); err != nil {
			return nil, "", fmt.Errorf("not an IP address")
		}
		a = a.Unmap()
		v = a.String()
	}
	typ := "ipv4-addr"
	if !a.Unmap().Is4() {
		typ = "ipv6-addr"
	}
	m, err := newSCO(map[string]any{"type": typ, "value": v})
	return m, typ, err
}

func ipKind(m map[string]any) string {
	v, _ := m["value"].(string)
	if strings.Contains(v, "/") {
		return "cidr"
	}
	if m["type"] == "ipv6-addr" {
		return "ipv6"
	}
	return "ipv4"
}

func domainSCO(v string) (map[string]any, error) {
	v = strings.TrimSuffix(strings.ToLower(strings.TrimSpace(v)), ".")
	if v == "" || strings.ContainsAny(v, " /\t@") {
		return nil, fmt.Errorf("not a domain name")
	}
	return newSCO(map[string]any{"type": "domain-name", "value": v})
}

func splitPair(v string) (string, string, error) {
	a, b, ok := strings.Cut(v, "|")
	if !ok {
		return "", "", fmt.Errorf("expected two values separated by |")
	}
	return strings.TrimSpace(a), strings.TrimSpace(b), nil
}

func parsePort(s string) (int, error) {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil || n < 0 || n > 65535 {
		return 0, fmt.Errorf("invalid port %q", s)
	}
	return n, nil
}

// convert maps one attribute value of a MISP type to STIX. An error means
// the value is not valid for its type; (nil, nil) means the type is not an
// observable (it becomes a note).
func convert(typ, value string) (*converted, error) {
	c := &converted{}
	v := strings.TrimSpace(value)
	add := func(m map[string]any) { c.scos = append(c.scos, m) }
	switch typ {
	case "ip-src", "ip-dst":
		m, root, err := ipSCO(v)
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp(root, "value", m["value"].(string))}
		c.kind, c.value = ipKind(m), m["value"].(string)
	case "ip-src|port", "ip-dst|port":
		ip, port, err := splitPair(v)
		if err != nil {
			return nil, err
		}
		m, root, err := ipSCO(ip)
		if err != nil {
			return nil, err
		}
		n, err := parsePort(port)
		if err != nil {
			return nil, err
		}
		add(m)
		side := "dst"
		if typ == "ip-src|port" {
			side = "src"
		}
		proto := "ipv4"
		if root == "ipv6-addr" {
			proto = "ipv6"
		}
		nt, err := newSCO(map[string]any{"type": "network-traffic", side + "_ref": m["id"], side + "_port": n, "protocols": []any{proto}})
		if err != nil {
			return nil, err
		}
		add(nt)
		c.cmps = []comparison{{root: "network-traffic", expr: fmt.Sprintf("network-traffic:%s_ref.value = %s AND network-traffic:%s_port = %d", side, quote(m["value"].(string)), side, n)}}
		c.kind, c.value = "ip-port", m["value"].(string)
	case "domain", "hostname":
		m, err := domainSCO(v)
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("domain-name", "value", m["value"].(string))}
		c.kind, c.value = "domain", m["value"].(string)
	case "domain|ip":
		d, ip, err := splitPair(v)
		if err != nil {
			return nil, err
		}
		im, _, err := ipSCO(ip)
		if err != nil {
			return nil, err
		}
		dm, err := domainSCO(d)
		if err != nil {
			return nil, err
		}
		// The resolution is a resolves-to relationship (STIX 2.1 prefers it
		// to the domain's resolves_to_refs), so that the domain object stays
		// the same whoever reports it.
		c.resolves = append(c.resolves, [2]string{dm["id"].(string), im["id"].(string)})
		add(im)
		add(dm)
		c.cmps = []comparison{{root: "domain-name", expr: fmt.Sprintf("domain-name:value = %s AND domain-name:resolves_to_refs[*].value = %s", quote(dm["value"].(string)), quote(im["value"].(string)))}}
		c.kind, c.value = "domain", dm["value"].(string)
		c.alsoKind, c.alsoValue = ipKind(im), im["value"].(string)
	case "hostname|port":
		d, port, err := splitPair(v)
		if err != nil {
			return nil, err
		}
		dm, err := domainSCO(d)
		if err != nil {
			return nil, err
		}
		n, err := parsePort(port)
		if err != nil {
			return nil, err
		}
		add(dm)
		nt, err := newSCO(map[string]any{"type": "network-traffic", "dst_ref": dm["id"], "dst_port": n, "protocols": []any{"tcp"}})
		if err != nil {
			return nil, err
		}
		add(nt)
		c.cmps = []comparison{{root: "network-traffic", expr: fmt.Sprintf("network-traffic:dst_ref.value = %s AND network-traffic:dst_port = %d", quote(dm["value"].(string)), n)}}
		c.kind, c.value = "domain-port", dm["value"].(string)
	case "url", "uri":
		if v == "" || strings.ContainsAny(v, "\t\n\r") {
			return nil, fmt.Errorf("not a URL")
		}
		if strings.Contains(v, " ") {
			v = strings.ReplaceAll(v, " ", "%20")
			c.note = "spaces in the URL percent-encoded"
		}
		m, err := newSCO(map[string]any{"type": "url", "value": v})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("url", "value", v)}
		c.kind, c.value = "url", v
	case "email", "email-src", "email-dst", "target-email", "whois-registrant-email", "email-reply-to", "dns-soa-email":
		if !strings.Contains(v, "@") || strings.ContainsAny(v, " \t") {
			return nil, fmt.Errorf("not an e-mail address")
		}
		m, err := newSCO(map[string]any{"type": "email-addr", "value": v})
		if err != nil {
			return nil, err
		}
		add(m)
		switch typ {
		case "email-src":
			c.cmps = []comparison{cmp("email-message", "from_ref.value", v)}
		case "email-dst":
			c.cmps = []comparison{cmp("email-message", "to_refs[*].value", v)}
		default:
			c.cmps = []comparison{cmp("email-addr", "value", v)}
		}
		c.kind, c.value = "email", v
	case "email-subject":
		m, err := newSCO(map[string]any{"type": "email-message", "is_multipart": false, "subject": value})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("email-message", "subject", value)}
	case "email-attachment":
		m, err := newSCO(map[string]any{"type": "file", "name": value})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("email-message", "body_multipart[*].body_raw_ref.name", value)}
	case "filename", "filename-pattern":
		if value == "" {
			return nil, fmt.Errorf("empty file name")
		}
		m, err := newSCO(map[string]any{"type": "file", "name": value})
		if err != nil {
			return nil, err
		}
		add(m)
		if typ == "filename-pattern" {
			c.cmps = []comparison{{root: "file", expr: "file:name MATCHES " + quote(value)}}
		} else {
			c.cmps = []comparison{cmp("file", "name", value)}
		}
	case "malware-sample":
		name, h, err := splitPair(v)
		if err != nil { // a file name alone
			m, err := newSCO(map[string]any{"type": "file", "name": v})
			if err != nil {
				return nil, err
			}
			add(m)
			c.cmps = []comparison{cmp("file", "name", v)}
			return c, nil
		}
		return fileWithHash(c, name, "MD5", h)
	case "attachment":
		m, err := newSCO(map[string]any{"type": "file", "name": value})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("file", "name", value)}
	case "regkey":
		m, err := newSCO(map[string]any{"type": "windows-registry-key", "key": v})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("windows-registry-key", "key", v)}
	case "regkey|value":
		k, data, err := splitPair(value)
		if err != nil {
			return nil, err
		}
		m, err := newSCO(map[string]any{"type": "windows-registry-key", "key": k, "values": []any{map[string]any{"data": data}}})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{{root: "windows-registry-key", expr: fmt.Sprintf("windows-registry-key:key = %s AND windows-registry-key:values[*].data = %s", quote(k), quote(data))}}
	case "mutex":
		m, err := newSCO(map[string]any{"type": "mutex", "name": value})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("mutex", "name", value)}
	case "AS":
		n, err := strconv.ParseInt(strings.TrimPrefix(strings.ToUpper(v), "AS"), 10, 64)
		if err != nil || n < 0 || n > 4294967295 {
			return nil, fmt.Errorf("not an autonomous system number")
		}
		m, err := newSCO(map[string]any{"type": "autonomous-system", "number": n})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{{root: "autonomous-system", expr: "autonomous-system:number = " + strconv.FormatInt(n, 10)}}
	case "mac-address":
		mac := strings.ToLower(strings.ReplaceAll(v, "-", ":"))
		if !macRE.MatchString(mac) {
			return nil, fmt.Errorf("not a MAC address")
		}
		m, err := newSCO(map[string]any{"type": "mac-addr", "value": mac})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("mac-addr", "value", mac)}
	case "user-agent":
		c.cmps = []comparison{cmp("network-traffic", "extensions.'http-request-ext'.request_header.'User-Agent'", value)}
	case "x509-fingerprint-sha1", "x509-fingerprint-md5", "x509-fingerprint-sha256":
		key := map[string]string{"x509-fingerprint-sha1": "SHA-1", "x509-fingerprint-md5": "MD5", "x509-fingerprint-sha256": "SHA-256"}[typ]
		h, err := checkHash(key, v)
		if err != nil {
			return nil, err
		}
		m, err := newSCO(map[string]any{"type": "x509-certificate", "hashes": map[string]any{key: h}})
		if err != nil {
			return nil, err
		}
		add(m)
		c.cmps = []comparison{cmp("x509-certificate", hashPath(key), h)}
	case "yara", "snort", "sigma", "suricata":
		if v == "" {
			return nil, fmt.Errorf("empty rule")
		}
		c.patternType = typ
	case "vulnerability", "threat-actor", "campaign-name", "link":
		if v == "" {
			return nil, fmt.Errorf("empty value")
		}
		switch typ {
		case "vulnerability":
			c.vuln = v
		case "threat-actor":
			c.actor = v
		case "campaign-name":
			c.campaign = v
		case "link":
			c.link = v
		}
	default:
		if key, ok := hashKeys[typ]; ok {
			return fileWithHash(c, "", key, v)
		}
		if name, ok := strings.CutPrefix(typ, "filename|"); ok {
			if key, ok := hashKeys[name]; ok {
				fn, h, err := splitPair(value)
				if err != nil {
					return nil, err
				}
				return fileWithHash(c, fn, key, h)
			}
		}
		return nil, nil
	}
	return c, nil
}

// warn applies the warninglist policy to a converted value.
func (rd *Reader) warn(conv *converted) (labels []string, drop bool, hits []string) {
	if conv == nil || conv.kind == "" {
		return nil, false, nil
	}
	labels, drop, hits = rd.cfg.WarnLabels(conv.kind, conv.value)
	if conv.alsoKind != "" && !drop {
		l2, d2, h2 := rd.cfg.WarnLabels(conv.alsoKind, conv.alsoValue)
		labels, drop, hits = append(labels, l2...), d2, append(hits, h2...)
	}
	return labels, drop, hits
}

func fileWithHash(c *converted, name, key, h string) (*converted, error) {
	h, err := checkHash(key, h)
	if err != nil {
		return nil, err
	}
	m := map[string]any{"type": "file", "hashes": map[string]any{key: h}}
	if name != "" {
		m["name"] = name
	}
	if m, err = newSCO(m); err != nil {
		return nil, err
	}
	c.scos = append(c.scos, m)
	hc := cmp("file", hashPath(key), h)
	hc.hash = true
	c.cmps = []comparison{hc}
	if name != "" {
		c.cmps = append(c.cmps, cmp("file", "name", name))
	}
	switch key {
	case "MD5", "SHA-1", "SHA-256", "SHA-512":
		c.kind, c.value = strings.ToLower(strings.ReplaceAll(key, "-", "")), h
	}
	return c, nil
}

// buildPattern combines comparisons: those about one object type go in one
// observation expression joined by AND (hashes of one file joined by OR
// first: each identifies the file), observation expressions of different
// types are joined by OR.
func buildPattern(cmps []comparison) string {
	var roots []string
	byRoot := map[string][]comparison{}
	for _, c := range cmps {
		if _, ok := byRoot[c.root]; !ok {
			roots = append(roots, c.root)
		}
		byRoot[c.root] = append(byRoot[c.root], c)
	}
	var obs []string
	for _, r := range roots {
		var hashes, others []string
		for _, c := range byRoot[r] {
			if c.hash {
				hashes = append(hashes, c.expr)
			} else {
				others = append(others, c.expr)
			}
		}
		var parts []string
		switch {
		case len(hashes) == 1:
			parts = append(parts, hashes[0])
		case len(hashes) > 1:
			parts = append(parts, "("+strings.Join(hashes, " OR ")+")")
		}
		parts = append(parts, others...)
		if len(parts) > 1 {
			for i, p := range parts {
				if strings.Contains(p, " OR ") && !strings.HasPrefix(p, "(") {
					parts[i] = "(" + p + ")"
				}
			}
		}
		obs = append(obs, "["+strings.Join(parts, " AND ")+"]")
	}
	return strings.Join(obs, " OR ")
}
