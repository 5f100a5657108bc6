package match

import (
	"strconv"
	"time"

	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

// matchGeneral evaluates the patterns that cannot be looked up on the
// record as one observation, when the record has an object of a type
// they name.
func (m *Matcher) matchGeneral(rec *Record, hits []Hit) []Hit {
	if m.generalAny == 0 {
		relevant := false
		for i := range rec.Obs {
			p := rec.Obs[i].Path
			if m.generalTypes[p.Type()] > 0 || p.isRef() && (m.generalTypes["ipv4-addr"] > 0 || m.generalTypes["ipv6-addr"] > 0 || m.generalTypes["domain-name"] > 0) {
				relevant = true
				break
			}
		}
		if !relevant {
			return hits
		}
	}
	obs := rec.Observation()
	if obs == nil {
		return hits
	}
	for _, id := range m.general.Match(obs) {
		hits = append(hits, Hit{Indicator: id, Obs: -1, Match: MatchPattern})
	}
	return hits
}

// Observation returns the record as a STIX observation: one object per
// value (an address, a domain name, a URL, an e-mail address), one file
// with its hashes and name, one certificate, and one network-traffic
// object with its ports, extensions and references to address objects
// (one network-traffic object per destination when there are several).
func (r *Record) Observation() *pattern.Observation {
	var objs []map[string]any
	var file, cert map[string]any
	var srcs, dsts []string
	net := map[string]any{}
	n := 0
	newID := func(typ string) string {
		n++
		return typ + "--" + strconv.Itoa(n)
	}
	refObj := func(v string) string {
		typ := "domain-name"
		if a, ok := parseAddr([]byte(v)); ok {
			typ = "ipv4-addr"
			if !a.Is4() {
				typ = "ipv6-addr"
			}
		}
		id := newID(typ)
		objs = append(objs, map[string]any{"type": typ, "id": id, "value": v})
		return id
	}
	setPath := func(obj map[string]any, keys []string, v any) {
		for _, k := range keys[:len(keys)-1] {
			next, _ := obj[k].(map[string]any)
			if next == nil {
				next = map[string]any{}
				obj[k] = next
			}
			obj = next
		}
		obj[keys[len(keys)-1]] = v
	}
	for i := range r.Obs {
		o := &r.Obs[i]
		v := string(r.Value(i))
		switch o.Path {
		case PathIPv4, PathIPv6, PathDomain, PathURL, PathEmail:
			objs = append(objs, map[string]any{"type": o.Path.Type(), "id": newID(o.Path.Type()), "value": v})
		case PathMD5, PathSHA1, PathSHA256, PathSHA512, PathFileName:
			if file == nil {
				file = map[string]any{"type": "file", "id": newID("file")}
			}
			switch o.Path {
			case PathFileName:
				file["name"] = v
			case PathMD5:
				setPath(file, []string{"hashes", "MD5"}, v)
			case PathSHA1:
				setPath(file, []string{"hashes", "SHA-1"}, v)
			case PathSHA256:
				setPath(file, []string{"hashes", "SHA-256"}, v)
			case PathSHA512:
				setPath(file, []string{"hashes", "SHA-512"}, v)
			}
		case PathCertSHA1, PathCertSHA256, PathCertSerial:
			if cert == nil {
				cert = map[string]any{"type": "x509-certificate", "id": newID("x509-certificate")}
			}
			switch o.Path {
			case PathCertSHA1:
				setPath(cert, []string{"hashes", "SHA-1"}, v)
			case PathCertSHA256:
				setPath(cert, []string{"hashes", "SHA-256"}, v)
			default:
				cert["serial_number"] = v
			}
		case PathSrcRef:
			srcs = append(srcs, v)
		case PathDstRef:
			dsts = append(dsts, v)
		case PathSrcPort, PathDstPort:
			if p, err := strconv.ParseInt(v, 10, 64); err == nil {
				net[o.Path.Prop()] = p
			}
		case PathUserAgent:
			setPath(net, []string{"extensions", "http-request-ext", "request_header", "User-Agent"}, v)
		case PathJA3:
			setPath(net, []string{"extensions", "x-tls", "ja3"}, v)
		case PathJA3S:
			setPath(net, []string{"extensions", "x-tls", "ja3s"}, v)
		case PathJA4:
			setPath(net, []string{"extensions", "x-tls", "ja4"}, v)
		}
	}
	if file != nil {
		objs = append(objs, file)
	}
	if cert != nil {
		objs = append(objs, cert)
	}
	if len(net) > 0 || len(srcs) > 0 || len(dsts) > 0 {
		if len(dsts) == 0 {
			dsts = []string{""}
		}
		for _, d := range dsts {
			nt := make(map[string]any, len(net)+4)
			for k, v := range net {
				nt[k] = v
			}
			nt["type"] = "network-traffic"
			nt["id"] = newID("network-traffic")
			if len(srcs) > 0 {
				nt["src_ref"] = refObj(srcs[0])
			}
			if d != "" {
				nt["dst_ref"] = refObj(d)
			}
			objs = append(objs, nt)
		}
	}
	if len(objs) == 0 {
		return nil
	}
	t := r.Time()
	if t.IsZero() {
		t = time.Now().UTC()
	}
	o, err := pattern.NewObservation(t, t, 1, objs...)
	if err != nil {
		return nil
	}
	return o
}
