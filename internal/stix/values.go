package stix

import (
	"net/netip"
	"strings"
)

// NormalizeValue puts an observable value in the form the store indexes and
// searches, whatever its type: IP addresses and prefixes in their canonical
// text form (IPv6 compressed, lower case), URLs as written, and everything
// else (domain names, e-mail addresses, hashes, MAC addresses, file names,
// registry keys) in lower case so that searches ignore case.
func NormalizeValue(v string) string {
	v = strings.TrimSpace(v)
	if v == "" {
		return ""
	}
	if c := v[0]; (c >= '0' && c <= '9') || c == ':' || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') {
		if strings.IndexByte(v, '/') >= 0 {
			if p, err := netip.ParsePrefix(v); err == nil {
				return p.String()
			}
		} else if a, err := netip.ParseAddr(v); err == nil {
			return a.String()
		}
	}
	if strings.Contains(v, "://") {
		return v
	}
	return strings.ToLower(v)
}

// observableProps lists, per cyber-observable type, the properties whose
// values the store indexes for exact search. "hashes" means every hash value.
var observableProps = map[string][]string{
	"ipv4-addr":            {"value"},
	"ipv6-addr":            {"value"},
	"domain-name":          {"value"},
	"url":                  {"value"},
	"email-addr":           {"value"},
	"mac-addr":             {"value"},
	"file":                 {"hashes", "name"},
	"artifact":             {"hashes", "url"},
	"directory":            {"path"},
	"mutex":                {"name"},
	"autonomous-system":    {"number"},
	"windows-registry-key": {"key"},
	"user-account":         {"user_id", "account_login"},
	"x509-certificate":     {"hashes", "serial_number"},
	"software":             {"cpe", "swid"},
	"email-message":        {"message_id"},
}

// ObservableValues returns the normalised values of a cyber-observable object
// that exact-value search finds, or nil for other objects.
func ObservableValues(obj map[string]any) []string {
	typ, _ := obj["type"].(string)
	props := observableProps[typ]
	if props == nil {
		return nil
	}
	var out []string
	for _, p := range props {
		switch v := obj[p].(type) {
		case string:
			if n := NormalizeValue(v); n != "" {
				out = append(out, n)
			}
		case map[string]any: // hashes
			for _, h := range v {
				if s, ok := h.(string); ok && s != "" {
					out = append(out, strings.ToLower(s))
				}
			}
		case interface{ String() string }: // json.Number
			out = append(out, v.String())
		}
	}
	return out
}

// IsObservableType reports whether typ is a STIX 2.1 cyber-observable type
// whose values the store indexes.
func IsObservableType(typ string) bool {
	_, ok := observableProps[typ]
	return ok
}
