package ioc

import (
	"strconv"
	"strings"
)

// Pattern returns the STIX pattern that detects v, in the canonical form of
// package pattern (Parse(p).String() == p), so that the indicator's
// identifier, derived from it, is the same whichever list the value came
// from.
//
//	ipv4, ipv6, cidr  [ipv4-addr:value = '…'] / [ipv6-addr:value = '…']
//	domain            [domain-name:value = '…']
//	url               [url:value = '…']
//	url-path          [url:value LIKE '%/path%']
//	email             [email-addr:value = '…']
//	md5 … sha512      [file:hashes.MD5 = '…'] / hashes.'SHA-1' / 'SHA-256' / 'SHA-512'
//	ip-port           [network-traffic:dst_ref.value = '…' AND network-traffic:dst_port = N]
//	domain-port       the same with the domain name
func Pattern(v Value) string {
	b := make([]byte, 0, 48+len(v.Value))
	b = append(b, '[')
	b = appendComparison(b, v)
	return string(append(b, ']'))
}

// ObjectPath is the STIX object path of a kind's value, such as
// "ipv4-addr:value" or "file:hashes.'SHA-256'".
func ObjectPath(v Value) string {
	switch v.Kind {
	case IPv4:
		return "ipv4-addr:value"
	case IPv6:
		return "ipv6-addr:value"
	case CIDR:
		if strings.IndexByte(v.Value, ':') >= 0 {
			return "ipv6-addr:value"
		}
		return "ipv4-addr:value"
	case Domain:
		return "domain-name:value"
	case URL, URLPath:
		return "url:value"
	case Email:
		return "email-addr:value"
	case MD5:
		return "file:hashes.MD5"
	case SHA1:
		return "file:hashes.'SHA-1'"
	case SHA256:
		return "file:hashes.'SHA-256'"
	case SHA512:
		return "file:hashes.'SHA-512'"
	case IPPort, DomainPort:
		return "network-traffic:dst_ref.value"
	}
	return ""
}

// appendComparison appends the comparison expression (without brackets).
func appendComparison(b []byte, v Value) []byte {
	b = append(b, ObjectPath(v)...)
	switch v.Kind {
	case URLPath:
		b = append(b, " LIKE "...)
		return appendQuoted(b, "%"+v.Value+"%")
	case IPPort, DomainPort:
		b = append(b, " = "...)
		b = appendQuoted(b, v.Value)
		b = append(b, " AND network-traffic:dst_port = "...)
		return strconv.AppendInt(b, int64(v.Port), 10)
	}
	b = append(b, " = "...)
	return appendQuoted(b, v.Value)
}

// appendQuoted appends s as a pattern string constant.
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

// Comparison is the comparison expression of v (Pattern without the
// brackets), for combining several values in one pattern.
func Comparison(v Value) string { return string(appendComparison(nil, v)) }

// SCOType is the cyber-observable type a value is an instance of.
func SCOType(v Value) string {
	switch v.Kind {
	case IPv4:
		return "ipv4-addr"
	case IPv6:
		return "ipv6-addr"
	case CIDR:
		if strings.IndexByte(v.Value, ':') >= 0 {
			return "ipv6-addr"
		}
		return "ipv4-addr"
	case Domain:
		return "domain-name"
	case URL:
		return "url"
	case Email:
		return "email-addr"
	case MD5, SHA1, SHA256, SHA512:
		return "file"
	}
	return ""
}

// HashName is the STIX hash algorithm name of a hash kind.
func HashName(k Kind) string {
	switch k {
	case MD5:
		return "MD5"
	case SHA1:
		return "SHA-1"
	case SHA256:
		return "SHA-256"
	case SHA512:
		return "SHA-512"
	}
	return ""
}
