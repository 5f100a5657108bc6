package taxii

import (
	"mime"
	"strconv"
	"strings"
)

// Content negotiation (TAXII 2.1 sections 1.6.8 and 3.1).
//
// Each endpoint defines the media types it produces: every endpoint
// produces application/taxii+json;version=2.1; the endpoints that return
// STIX objects or describe them (objects, object, versions, manifest) also
// answer a client that accepts only application/stix+json;version=2.1, with
// the same envelope labelled with that type. The Accept header is read as
// RFC 7231 defines it: media ranges with optional parameters and q values,
// the most specific matching range deciding a type's q, q=0 excluding it.
// A range without a version parameter means the latest version (2.1);
// another version does not match. */* and application/* match. A request
// without Accept is answered as if it accepted anything (RFC 7231 5.3.2);
// TAXII clients must send one, so this only makes the server lenient. When
// no produced type is acceptable the answer is 406.

type mediaKind int

const (
	mediaNone mediaKind = iota
	mediaTAXII
	mediaSTIX
)

func (k mediaKind) String() string {
	if k == mediaSTIX {
		return MediaSTIX
	}
	return MediaTAXII
}

type mediaRange struct {
	typ, sub string
	version  string // "" when absent
	q        float64
	params   int // number of parameters other than q
}

func parseAccept(h string) []mediaRange {
	var out []mediaRange
	for _, part := range splitHeaderList(h) {
		fields := strings.Split(part, ";")
		full := strings.ToLower(strings.TrimSpace(fields[0]))
		typ, sub, ok := strings.Cut(full, "/")
		if !ok || typ == "" || sub == "" {
			continue
		}
		mr := mediaRange{typ: typ, sub: sub, q: 1}
		for _, p := range fields[1:] {
			k, v, _ := strings.Cut(p, "=")
			k = strings.ToLower(strings.TrimSpace(k))
			v = strings.Trim(strings.TrimSpace(v), `"`)
			switch k {
			case "":
			case "q":
				q, err := strconv.ParseFloat(v, 64)
				if err != nil || q < 0 || q > 1 {
					q = 0
				}
				mr.q = q
			case "version":
				mr.version = v
				mr.params++
			default:
				mr.params++
			}
		}
		out = append(out, mr)
	}
	return out
}

// splitHeaderList splits a comma-separated header, keeping quoted commas.
func splitHeaderList(h string) []string {
	var out []string
	start, quoted := 0, false
	for i := 0; i < len(h); i++ {
		switch h[i] {
		case '"':
			quoted = !quoted
		case ',':
			if !quoted {
				out = append(out, strings.TrimSpace(h[start:i]))
				start = i + 1
			}
		}
	}
	if s := strings.TrimSpace(h[start:]); s != "" {
		out = append(out, s)
	}
	return out
}

// qualityOf is the q the ranges give to application/{sub};version=2.1: that
// of the most specific range matching it, 0 when none does.
func qualityOf(ranges []mediaRange, sub string) float64 {
	best, q := -1, 0.0
	for _, r := range ranges {
		spec := -1
		switch {
		case r.typ == "application" && r.sub == sub:
			if r.version != "" && r.version != "2.1" {
				continue
			}
			spec = 2
			if r.version != "" {
				spec = 3
			}
		case r.typ == "application" && r.sub == "*":
			spec = 1
		case r.typ == "*" && r.sub == "*":
			spec = 0
		default:
			continue
		}
		if spec > best {
			best, q = spec, r.q
		}
	}
	return q
}

// negotiate picks the response media type for an Accept header; allowSTIX
// says whether the endpoint also produces the STIX media type.
func negotiate(accept []string, allowSTIX bool) mediaKind {
	h := strings.TrimSpace(strings.Join(accept, ","))
	if h == "" {
		return mediaTAXII
	}
	ranges := parseAccept(h)
	qt := qualityOf(ranges, "taxii+json")
	qs := 0.0
	if allowSTIX {
		qs = qualityOf(ranges, "stix+json")
	}
	switch {
	case qt > 0 && qt >= qs:
		return mediaTAXII
	case qs > 0:
		return mediaSTIX
	}
	return mediaNone
}

// isTAXIIContentType reports whether a request body's Content-Type is the
// TAXII 2.1 media type (without a version parameter it means the latest,
// 2.1).
func isTAXIIContentType(ct string) bool {
	mt, params, err := mime.ParseMediaType(ct)
	if err != nil || mt != "application/taxii+json" {
		return false
	}
	v, ok := params["version"]
	return !ok || v == "2.1"
}
