package match

// Path is one of the object paths the telemetry extractors produce: an
// object type and a property, such as ipv4-addr:value. Indicators are
// matched only on these paths; a pattern that compares nothing else can
// never be satisfied by telemetry and is not loaded.
type Path uint8

// Paths produced by the extractors.
const (
	PathNone Path = iota
	PathIPv4
	PathIPv6
	PathDomain
	PathURL
	PathEmail
	PathMD5
	PathSHA1
	PathSHA256
	PathSHA512
	PathFileName
	PathSrcRef  // network-traffic:src_ref.value: the source address (or name)
	PathDstRef  // network-traffic:dst_ref.value: the destination address (or name)
	PathSrcPort // network-traffic:src_port
	PathDstPort // network-traffic:dst_port
	PathUserAgent
	PathJA3
	PathJA3S
	PathJA4
	PathCertSHA1
	PathCertSHA256
	PathCertSerial
	numPaths
)

type pathInfo struct {
	typ, prop string
	// obj is the object of a record the value belongs to: every network
	// value to the one network-traffic object, file hashes and name to the
	// one file, certificate values to the one certificate; 0 gives each
	// value an object of its own.
	obj uint8
}

// Objects of a record that several paths share.
const (
	objNetwork = 1
	objFile    = 2
	objCert    = 3
	objFirst   = 4 // values with an object of their own start here
)

var paths = [numPaths]pathInfo{
	PathIPv4:       {"ipv4-addr", "value", 0},
	PathIPv6:       {"ipv6-addr", "value", 0},
	PathDomain:     {"domain-name", "value", 0},
	PathURL:        {"url", "value", 0},
	PathEmail:      {"email-addr", "value", 0},
	PathMD5:        {"file", "hashes.MD5", objFile},
	PathSHA1:       {"file", "hashes.'SHA-1'", objFile},
	PathSHA256:     {"file", "hashes.'SHA-256'", objFile},
	PathSHA512:     {"file", "hashes.'SHA-512'", objFile},
	PathFileName:   {"file", "name", objFile},
	PathSrcRef:     {"network-traffic", "src_ref.value", objNetwork},
	PathDstRef:     {"network-traffic", "dst_ref.value", objNetwork},
	PathSrcPort:    {"network-traffic", "src_port", objNetwork},
	PathDstPort:    {"network-traffic", "dst_port", objNetwork},
	PathUserAgent:  {"network-traffic", "extensions.'http-request-ext'.request_header.'User-Agent'", objNetwork},
	PathJA3:        {"network-traffic", "extensions.'x-tls'.ja3", objNetwork},
	PathJA3S:       {"network-traffic", "extensions.'x-tls'.ja3s", objNetwork},
	PathJA4:        {"network-traffic", "extensions.'x-tls'.ja4", objNetwork},
	PathCertSHA1:   {"x509-certificate", "hashes.'SHA-1'", objCert},
	PathCertSHA256: {"x509-certificate", "hashes.'SHA-256'", objCert},
	PathCertSerial: {"x509-certificate", "serial_number", objCert},
}

// Type is the STIX object type of the path, such as "ipv4-addr".
func (p Path) Type() string {
	if p >= numPaths {
		return ""
	}
	return paths[p].typ
}

// Prop is the canonical property path after the type, as in
// pattern.Observable.Path: "value", "hashes.'SHA-256'", "dst_ref.value".
func (p Path) Prop() string {
	if p >= numPaths {
		return ""
	}
	return paths[p].prop
}

// String is the full object path, such as "ipv4-addr:value".
func (p Path) String() string {
	if p == PathNone || p >= numPaths {
		return ""
	}
	return paths[p].typ + ":" + paths[p].prop
}

// isAddress reports whether the path holds addresses with the pattern
// language's address semantics (a value inside a CIDR constant matches).
func (p Path) isAddress() bool {
	return p == PathIPv4 || p == PathIPv6 || p == PathSrcRef || p == PathDstRef
}

// isRef reports the paths through a reference, whose value may be an
// address or a domain name.
func (p Path) isRef() bool { return p == PathSrcRef || p == PathDstRef }

// isHash reports the paths holding hexadecimal digests.
func (p Path) isHash() bool {
	switch p {
	case PathMD5, PathSHA1, PathSHA256, PathSHA512, PathCertSHA1, PathCertSHA256, PathJA3, PathJA3S:
		return true
	}
	return false
}

var pathByName = func() map[string]Path {
	m := make(map[string]Path, numPaths)
	for p := PathNone + 1; p < numPaths; p++ {
		m[p.String()] = p
	}
	return m
}()

// ParsePath returns the Path of a full object path in canonical form
// ("ipv4-addr:value", "file:hashes.'SHA-256'"). A few spellings that are
// not canonical are accepted too: hashes.'MD5', hashes.SHA256 and the like.
func ParsePath(s string) (Path, bool) {
	if p, ok := pathByName[s]; ok {
		return p, true
	}
	switch s {
	case "file:hashes.'MD5'", "file:hashes.md5":
		return PathMD5, true
	case "file:hashes.SHA1", "file:hashes.sha1", "file:hashes.'SHA1'":
		return PathSHA1, true
	case "file:hashes.SHA256", "file:hashes.sha256", "file:hashes.'SHA256'":
		return PathSHA256, true
	case "file:hashes.SHA512", "file:hashes.sha512", "file:hashes.'SHA512'":
		return PathSHA512, true
	}
	return PathNone, false
}

// lookupPath maps the type and canonical property of a pattern comparison
// to a Path.
func lookupPath(typ, prop string) Path {
	for p := PathNone + 1; p < numPaths; p++ {
		if paths[p].typ == typ && paths[p].prop == prop {
			return p
		}
	}
	return PathNone
}
