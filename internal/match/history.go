package match

import (
	"encoding/binary"
	"net/netip"
	"strconv"

	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

// History keys are how the retro-hunt history stores observed values:
// compact, fixed-size and the same for a value seen in telemetry and for
// the constant of an indicator, so that new indicators can be looked up in
// what was seen before.
//
//	0x04 + 4 bytes    an IPv4 address (sorted, so a CIDR block is a range)
//	0x06 + 16 bytes   an IPv6 address
//	0x01 + 8 bytes    KeyHash of another value (domain names, URLs, digests, …)
//	0x02 + 8 bytes    KeyHash of a destination and port ("value|port")
//
// A domain name is also recorded under each parent domain (with two labels
// or more), so that an indicator for evil.example finds www.evil.example
// as live matching does; a URL with a query also under the URL without it.
const (
	histHash    = 0x01
	histDstPort = 0x02
	histIPv4    = 0x04
	histIPv6    = 0x06
	// HistoryKeyMax is the length of the longest key.
	HistoryKeyMax = 17
)

// HistoryKey is one key (a slice of its bytes is the key).
type HistoryKey struct {
	b [HistoryKeyMax]byte
	n uint8
}

// Bytes returns the key.
func (k *HistoryKey) Bytes() []byte { return k.b[:k.n] }

func hashKey(kind byte, h uint64) HistoryKey {
	var k HistoryKey
	k.b[0] = kind
	binary.BigEndian.PutUint64(k.b[1:], h)
	k.n = 9
	return k
}

func addrKey(a netip.Addr) HistoryKey {
	var k HistoryKey
	a = a.Unmap()
	if a.Is4() {
		k.b[0] = histIPv4
		b := a.As4()
		copy(k.b[1:], b[:])
		k.n = 5
	} else {
		k.b[0] = histIPv6
		b := a.As16()
		copy(k.b[1:], b[:])
		k.n = 17
	}
	return k
}

// histPath is the path a value is recorded under: values that mean the
// same in every path (addresses, domain names) share one.
func histPath(p Path) Path {
	switch p {
	case PathSrcRef, PathDstRef:
		return PathDomain // names; addresses become address keys
	case PathCertSHA1, PathCertSHA256, PathCertSerial, PathUserAgent, PathJA3, PathJA3S, PathJA4:
		return p
	}
	return p
}

// HistoryKeys calls fn with the history key of every value of the record
// worth remembering: addresses, domain names (and their parents), URLs
// (and without the query), e-mail addresses, digests, file names, user
// agents, TLS fingerprints and certificates, and the destination with its
// port. Ports alone and the source side of connections are not recorded.
func (r *Record) HistoryKeys(fn func(k HistoryKey)) {
	var dstPort []byte
	for i := range r.Obs {
		if r.Obs[i].Path == PathDstPort {
			dstPort = r.Value(i)
			break
		}
	}
	for i := range r.Obs {
		o := &r.Obs[i]
		v := r.Value(i)
		switch o.Path {
		case PathSrcPort, PathDstPort, PathSrcRef:
			continue
		case PathIPv4, PathIPv6:
			if a, ok := parseAddr(v); ok {
				fn(addrKey(a))
			}
		case PathDstRef:
			if dstPort != nil {
				fn(hashKey(histDstPort, dstPortHash(v, dstPort)))
			}
		case PathDomain:
			fn(hashKey(histHash, KeyHash(PathDomain, v)))
			for j := 0; j < len(v); j++ {
				if v[j] == '.' {
					if indexByte(v[j+1:], '.') < 0 {
						break
					}
					fn(hashKey(histHash, KeyHash(PathDomain, v[j+1:])))
				}
			}
		case PathURL:
			fn(hashKey(histHash, KeyHash(PathURL, v)))
			if q := indexByte(v, '?'); q >= 0 {
				fn(hashKey(histHash, KeyHash(PathURL, v[:q])))
			}
		default:
			fn(hashKey(histHash, KeyHash(histPath(o.Path), v)))
		}
	}
}

func dstPortHash[T string | []byte](v T, port T) uint64 {
	var buf [320]byte
	b := append(buf[:0], v...)
	b = append(b, '|')
	b = append(b, port...)
	return KeyHash(PathDstRef, b)
}

// KeyRange is a range of history keys, both ends included (the addresses
// of a CIDR block).
type KeyRange struct{ Lo, Hi HistoryKey }

// PatternHistory returns the history keys and ranges that a pattern
// matches when a value is observed: for the patterns matched by lookup
// (equality, IN, CIDR blocks and ISSUBSET on addresses) and for
// conjunctions of a destination and a port. ok is false for the others
// (LIKE, MATCHES, other conjunctions, qualifiers…), which the history
// cannot answer.
func PatternHistory(p *pattern.Pattern) (keys []HistoryKey, ranges []KeyRange, ok bool) {
	c := compile(p)
	switch c.class {
	case classSimple:
		for _, k := range c.keys {
			if k.path.isAddress() {
				if a, ok := parseAddr([]byte(k.val)); ok {
					keys = append(keys, addrKey(a))
					continue
				}
			}
			keys = append(keys, hashKey(histHash, KeyHash(histPath(k.path), k.val)))
		}
		for _, pp := range c.prefixes {
			lo, hi := pp.pfx.Masked().Addr(), lastAddr(pp.pfx)
			ranges = append(ranges, KeyRange{addrKey(lo), addrKey(hi)})
		}
		if len(c.always) > 0 {
			// ISSUBSET and ISSUPERSET constants are not kept as keys.
			for _, cm := range analyze(c.pat.String()).cmps {
				if cm.op == "ISSUBSET" && cm.path.isAddress() && len(cm.vals) == 1 {
					if pfx, err := netip.ParsePrefix(cm.vals[0].text); err == nil {
						ranges = append(ranges, KeyRange{addrKey(pfx.Masked().Addr()), addrKey(lastAddr(pfx))})
					}
				}
			}
		}
		return keys, ranges, true
	case classConj:
		if len(c.atoms) == 2 {
			var dst, port string
			for _, a := range c.atoms {
				switch a.path {
				case PathDstRef:
					dst = a.val
				case PathDstPort:
					port = a.val
				}
			}
			if dst != "" && port != "" {
				if _, err := strconv.Atoi(port); err == nil {
					return []HistoryKey{hashKey(histDstPort, dstPortHash(dst, port))}, nil, true
				}
			}
		}
	}
	return nil, nil, false
}

// lastAddr is the last address of a prefix.
func lastAddr(p netip.Prefix) netip.Addr {
	p = p.Masked()
	a := p.Addr()
	if a.Is4() {
		b := a.As4()
		v := binary.BigEndian.Uint32(b[:]) | (1<<(32-p.Bits()) - 1)
		if p.Bits() == 0 {
			v = 0xffffffff
		}
		binary.BigEndian.PutUint32(b[:], v)
		return netip.AddrFrom4(b)
	}
	b := a.As16()
	hi, lo := binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])
	bits := p.Bits()
	switch {
	case bits <= 64:
		if bits < 64 {
			hi |= 1<<(64-bits) - 1
		}
		lo = ^uint64(0)
	default:
		lo |= 1<<(128-bits) - 1
	}
	binary.BigEndian.PutUint64(b[:8], hi)
	binary.BigEndian.PutUint64(b[8:], lo)
	return netip.AddrFrom16(b)
}

// ValueClass names the kind of value a pattern looks for, from its first
// comparison on a path telemetry carries: "ip", "domain", "url", "email",
// "hash" (file digests), "file" (names), "network" (fingerprints, user
// agents) or "other". Scores decay at a rate per class.
func ValueClass(p *pattern.Pattern) string {
	for _, cm := range analyze(p.String()).cmps {
		switch cm.path {
		case PathIPv4, PathIPv6, PathSrcRef, PathDstRef:
			if cm.path.isRef() && len(cm.vals) > 0 {
				if _, ok := parseAddr([]byte(cm.vals[0].text)); !ok && indexByte([]byte(cm.vals[0].text), '/') < 0 {
					return "domain"
				}
			}
			return "ip"
		case PathDomain:
			return "domain"
		case PathURL:
			return "url"
		case PathEmail:
			return "email"
		case PathMD5, PathSHA1, PathSHA256, PathSHA512, PathCertSHA1, PathCertSHA256, PathCertSerial:
			return "hash"
		case PathFileName:
			return "file"
		case PathUserAgent, PathJA3, PathJA3S, PathJA4:
			return "network"
		}
	}
	return "other"
}
