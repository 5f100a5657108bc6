package match

import (
	"fmt"
	"strings"
)

// fieldKind is what a log field holds.
type fieldKind uint8

const (
	fNone       fieldKind = iota
	fTime                 // the record's time stamp
	fSrcIP                // the connection's source address
	fDstIP                // the connection's destination address
	fSrcPort              // the connection's source port
	fDstPort              // the connection's destination port
	fIP                   // an address
	fDomain               // a domain name (or an address)
	fAnswer               // a DNS answer: an address or a name; other data is skipped
	fHost                 // an HTTP host (name or address, maybe with a port)
	fServerName           // a TLS or QUIC server name
	fURI                  // the path of an HTTP request
	fURL                  // a URL
	fUserAgent            // an HTTP User-Agent
	fMD5                  // file digests
	fSHA1                 //
	fSHA256               //
	fSHA512               //
	fHash                 // a file digest of any of those lengths
	fFileName             // a file name or path
	fEmail                // an e-mail address, or text holding some
	fJA3                  // TLS fingerprints
	fJA3S                 //
	fJA4                  //
	fCertHash             // a certificate fingerprint (SHA-1 or SHA-256 by its length)
	fCertSHA256           //
	fCertSerial           // a certificate serial number
	fText                 // free text: typed extraction
	fPath                 // a value of the path in fieldSpec.path (from a field map)
)

type fieldSpec struct {
	kind fieldKind
	name string // the field's name as reported in hits
	list bool   // a Zeek set or vector: elements separated by the set separator
	path Path   // for fPath
}

// fieldTable maps flattened field names to what they hold, and knows the
// objects worth descending into (the prefixes of the names). Lookups go
// through a small open-addressing table.
type fieldTable struct {
	fields map[string]fieldSpec
	slots  []fieldSlot
}

type fieldSlot struct {
	key     string
	spec    fieldSpec
	field   bool
	prefix  bool
	present bool
}

func newFieldTable(m map[string]fieldSpec) *fieldTable {
	t := &fieldTable{fields: map[string]fieldSpec{}}
	prefixes := map[string]bool{}
	for k, s := range m {
		s.name = k
		t.fields[k] = s
		for i := 0; i < len(k); i++ {
			if k[i] == '.' {
				prefixes[k[:i]] = true
			}
		}
	}
	size := 16
	for size < 4*(len(t.fields)+len(prefixes)) {
		size *= 2
	}
	t.slots = make([]fieldSlot, size)
	for k, s := range t.fields {
		sl := t.slot(k)
		sl.key, sl.spec, sl.field, sl.present = k, s, true, true
	}
	for k := range prefixes {
		sl := t.slot(k)
		sl.key, sl.prefix, sl.present = k, true, true
	}
	return t
}

// slot returns the slot of key, or the empty slot where it would go.
func (t *fieldTable) slot(key string) *fieldSlot {
	mask := uint64(len(t.slots) - 1)
	for i := hashOf(0, key) & mask; ; i = (i + 1) & mask {
		if s := &t.slots[i]; !s.present || s.key == key {
			return s
		}
	}
}

// find returns the slot of a name, or nil.
func (t *fieldTable) find(key []byte) *fieldSlot {
	mask := uint64(len(t.slots) - 1)
	for i := hashOf(0, key) & mask; ; i = (i + 1) & mask {
		s := &t.slots[i]
		if !s.present {
			return nil
		}
		if s.key == string(key) {
			return s
		}
	}
}

// netFields are the fields of Zeek logs (conn, dns, http, files, ssl,
// x509, smtp, notice; TSV and JSON) and Suricata EVE records (flow, dns,
// http, tls, quic, fileinfo, smtp, alert). Their names do not collide, so
// one table serves both.
var netFields = newFieldTable(map[string]fieldSpec{
	// Zeek
	"ts":                    {kind: fTime},
	"id.orig_h":             {kind: fSrcIP},
	"id.resp_h":             {kind: fDstIP},
	"id.orig_p":             {kind: fSrcPort},
	"id.resp_p":             {kind: fDstPort},
	"src":                   {kind: fSrcIP},
	"dst":                   {kind: fDstIP},
	"query":                 {kind: fDomain},
	"answers":               {kind: fAnswer, list: true},
	"host":                  {kind: fHost},
	"uri":                   {kind: fURI},
	"referrer":              {kind: fURL},
	"user_agent":            {kind: fUserAgent},
	"orig_filenames":        {kind: fFileName, list: true},
	"resp_filenames":        {kind: fFileName, list: true},
	"filename":              {kind: fFileName},
	"md5":                   {kind: fMD5},
	"sha1":                  {kind: fSHA1},
	"sha256":                {kind: fSHA256},
	"tx_hosts":              {kind: fIP, list: true},
	"rx_hosts":              {kind: fIP, list: true},
	"server_name":           {kind: fServerName},
	"ja3":                   {kind: fJA3},
	"ja3s":                  {kind: fJA3S},
	"ja4":                   {kind: fJA4},
	"cert_chain_fps":        {kind: fCertHash, list: true},
	"client_cert_chain_fps": {kind: fCertHash, list: true},
	"fingerprint":           {kind: fCertHash},
	"certificate.serial":    {kind: fCertSerial},
	"san.dns":               {kind: fDomain, list: true},
	"san.email":             {kind: fEmail, list: true},
	"san.ip":                {kind: fIP, list: true},
	"san.uri":               {kind: fURL, list: true},
	"mailfrom":              {kind: fEmail},
	"rcptto":                {kind: fEmail, list: true},
	"from":                  {kind: fEmail},
	"to":                    {kind: fEmail, list: true},
	"reply_to":              {kind: fEmail},
	"x_originating_ip":      {kind: fIP},
	// Suricata EVE
	"timestamp":            {kind: fTime},
	"src_ip":               {kind: fSrcIP},
	"dest_ip":              {kind: fDstIP},
	"src_port":             {kind: fSrcPort},
	"dest_port":            {kind: fDstPort},
	"dns.rrname":           {kind: fDomain},
	"dns.rdata":            {kind: fAnswer},
	"dns.queries.rrname":   {kind: fDomain},
	"dns.answers.rrname":   {kind: fDomain},
	"dns.answers.rdata":    {kind: fAnswer},
	"dns.grouped.A":        {kind: fIP},
	"dns.grouped.AAAA":     {kind: fIP},
	"dns.grouped.CNAME":    {kind: fDomain},
	"http.hostname":        {kind: fHost},
	"http.url":             {kind: fURI},
	"http.http_user_agent": {kind: fUserAgent},
	"http.http_refer":      {kind: fURL},
	"http.redirect":        {kind: fURL},
	"tls.sni":              {kind: fServerName},
	"tls.fingerprint":      {kind: fCertHash},
	"tls.serial":           {kind: fCertSerial},
	"tls.ja3.hash":         {kind: fJA3},
	"tls.ja3s.hash":        {kind: fJA3S},
	"tls.ja4":              {kind: fJA4},
	"quic.sni":             {kind: fServerName},
	"quic.ja3.hash":        {kind: fJA3},
	"quic.ja4":             {kind: fJA4},
	"fileinfo.filename":    {kind: fFileName},
	"fileinfo.md5":         {kind: fMD5},
	"fileinfo.sha1":        {kind: fSHA1},
	"fileinfo.sha256":      {kind: fSHA256},
	"smtp.mail_from":       {kind: fEmail},
	"smtp.rcpt_to":         {kind: fEmail},
	"email.from":           {kind: fEmail},
	"email.to":             {kind: fEmail},
	"email.cc":             {kind: fEmail},
})

// FieldMap says which fields of generic JSON records hold which values:
// field (a dotted path into the record, such as "source.ip") → an object
// path ("ipv4-addr:value", "domain-name:value", "url:value",
// "file:hashes.'SHA-256'", "network-traffic:dst_port", …) or one of the
// words ip (an IPv4 or IPv6 address), hash (a digest of any length), host
// (a name or address), time and text (free text).
type FieldMap map[string]string

// ParseFieldMap reads FIELD=PATH items (the --map flag).
func ParseFieldMap(items []string) (FieldMap, error) {
	fm := FieldMap{}
	for _, it := range items {
		f, p, ok := strings.Cut(it, "=")
		f, p = strings.TrimSpace(f), strings.TrimSpace(p)
		if !ok || f == "" || p == "" {
			return nil, fmt.Errorf("field map %q: want FIELD=PATH", it)
		}
		if _, err := specOf(p); err != nil {
			return nil, fmt.Errorf("field map %q: %w", it, err)
		}
		fm[f] = p
	}
	return fm, nil
}

func specOf(p string) (fieldSpec, error) {
	switch strings.ToLower(p) {
	case "ip":
		return fieldSpec{kind: fIP}, nil
	case "hash":
		return fieldSpec{kind: fHash}, nil
	case "host":
		return fieldSpec{kind: fHost}, nil
	case "time":
		return fieldSpec{kind: fTime}, nil
	case "text":
		return fieldSpec{kind: fText}, nil
	case "src_ip":
		return fieldSpec{kind: fSrcIP}, nil
	case "dst_ip":
		return fieldSpec{kind: fDstIP}, nil
	}
	path, ok := ParsePath(p)
	if !ok {
		var names []string
		for q := PathNone + 1; q < numPaths; q++ {
			names = append(names, q.String())
		}
		return fieldSpec{}, fmt.Errorf("unknown path %q; use ip, hash, host, time, text or one of %s", p, strings.Join(names, ", "))
	}
	switch path {
	case PathSrcRef:
		return fieldSpec{kind: fSrcIP}, nil
	case PathDstRef:
		return fieldSpec{kind: fDstIP}, nil
	}
	return fieldSpec{kind: fPath, path: path}, nil
}

func (fm FieldMap) table() *fieldTable {
	if len(fm) == 0 {
		return nil
	}
	m := map[string]fieldSpec{}
	for f, p := range fm {
		s, err := specOf(p)
		if err == nil {
			m[f] = s
		}
	}
	return newFieldTable(m)
}

// addField adds the value v of a field to rec.
func addField(rec *Record, s *fieldSpec, v []byte) {
	v = trimSpace(v)
	if len(v) == 0 {
		return
	}
	name := s.name
	switch s.kind {
	case fTime:
		if rec.timeEnd == 0 {
			rec.setTime(v)
		}
	case fSrcIP:
		rec.Add(PathIPv4, name, v)
		rec.Add(PathSrcRef, name, v)
	case fDstIP:
		rec.Add(PathIPv4, name, v)
		rec.Add(PathDstRef, name, v)
	case fSrcPort:
		rec.Add(PathSrcPort, name, v)
	case fDstPort:
		rec.Add(PathDstPort, name, v)
	case fIP:
		rec.Add(PathIPv4, name, v)
	case fDomain:
		rec.Add(PathDomain, name, v)
	case fAnswer:
		if _, ok := parseAddr(v); ok {
			rec.Add(PathIPv4, name, v)
		} else if indexByte(v, ' ') < 0 && indexByte(v, '.') > 0 {
			rec.Add(PathDomain, name, v)
		}
	case fHost:
		rec.host = rec.keep(v)
		rec.hostField = name
	case fServerName:
		rec.addHost(name, v)
	case fURI:
		rec.uri = rec.keep(v)
		rec.uriFld = name
	case fURL:
		addURL(rec, name, v)
	case fUserAgent:
		rec.Add(PathUserAgent, name, v)
	case fMD5:
		rec.Add(PathMD5, name, v)
	case fSHA1:
		rec.Add(PathSHA1, name, v)
	case fSHA256:
		rec.Add(PathSHA256, name, v)
	case fSHA512:
		rec.Add(PathSHA512, name, v)
	case fHash:
		if p := hashPath(v); p != PathNone {
			rec.Add(p, name, v)
		}
	case fFileName:
		rec.Add(PathFileName, name, v)
	case fEmail:
		if !rec.Add(PathEmail, name, v) {
			extractText(rec, name, v)
		}
	case fJA3:
		rec.Add(PathJA3, name, v)
	case fJA3S:
		rec.Add(PathJA3S, name, v)
	case fJA4:
		rec.Add(PathJA4, name, v)
	case fCertHash:
		n := 0
		for _, c := range v {
			if c != ':' {
				n++
			}
		}
		switch n {
		case 40:
			rec.Add(PathCertSHA1, name, v)
		case 64:
			rec.Add(PathCertSHA256, name, v)
		}
	case fCertSHA256:
		rec.Add(PathCertSHA256, name, v)
	case fCertSerial:
		rec.Add(PathCertSerial, name, v)
	case fText:
		extractText(rec, name, v)
	case fPath:
		switch s.path {
		case PathURL:
			addURL(rec, name, v)
		case PathDomain:
			rec.Add(PathDomain, name, v)
		default:
			rec.Add(s.path, name, v)
		}
	}
}

// keep copies v into the record's buffer.
func (r *Record) keep(v []byte) []byte {
	start := len(r.buf)
	r.buf = append(r.buf, v...)
	return r.buf[start:len(r.buf):len(r.buf)]
}

// addURL adds a URL and the domain name (or address) of its host.
func addURL(rec *Record, name string, v []byte) {
	if !rec.Add(PathURL, name, v) {
		return
	}
	u := rec.Value(len(rec.Obs) - 1)
	end := len(u)
	if len(u) > 0 && u[0] == '[' {
		if j := indexByte(u, ']'); j > 0 {
			rec.Add(PathIPv6, name, u[1:j])
		}
		return
	}
	for i, c := range u {
		if c == '/' || c == ':' || c == '?' {
			end = i
			break
		}
	}
	host := rec.keep(u[:end])
	rec.Add(PathDomain, name, host)
}

// hashPath is the file digest path of a hexadecimal value by its length.
func hashPath(v []byte) Path {
	for _, c := range v {
		if !isHexDigit(c) {
			return PathNone
		}
	}
	switch len(v) {
	case 32:
		return PathMD5
	case 40:
		return PathSHA1
	case 64:
		return PathSHA256
	case 128:
		return PathSHA512
	}
	return PathNone
}
