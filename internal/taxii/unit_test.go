package taxii

import (
	"net/netip"
	"net/url"
	"strings"
	"testing"
	"time"
)

func TestNegotiate(t *testing.T) {
	cases := []struct {
		accept string
		stix   bool
		want   mediaKind
	}{
		{"", false, mediaTAXII},
		{"application/taxii+json;version=2.1", false, mediaTAXII},
		{"application/taxii+json; version=2.1", false, mediaTAXII},
		{`application/taxii+json;version="2.1"`, false, mediaTAXII},
		{"APPLICATION/TAXII+JSON;VERSION=2.1", false, mediaTAXII},
		{"application/taxii+json", false, mediaTAXII},
		{"*/*", false, mediaTAXII},
		{"application/*", false, mediaTAXII},
		{"*/*;q=0.1, text/html", false, mediaTAXII},
		{"application/taxii+json;version=2.0", false, mediaNone},
		{"application/vnd.oasis.taxii+json;version=2.0", false, mediaNone},
		{"application/json", false, mediaNone},
		{"text/html, application/xml", false, mediaNone},
		{"application/taxii+json;version=2.1;q=0", false, mediaNone},
		{"application/taxii+json;version=2.1;q=0, */*", false, mediaNone},
		{"application/stix+json;version=2.1", false, mediaNone},
		{"application/stix+json;version=2.1", true, mediaSTIX},
		{"application/stix+json", true, mediaSTIX},
		{"application/stix+json;version=2.0", true, mediaNone},
		{"application/stix+json;version=2.1, application/taxii+json;version=2.1", true, mediaTAXII},
		{"application/stix+json;version=2.1, application/taxii+json;version=2.1;q=0.5", true, mediaSTIX},
		{"application/taxii+json;version=2.1;q=0, */*", true, mediaSTIX},
		{"garbage", false, mediaNone},
	}
	for _, tc := range cases {
		if got := negotiate([]string{tc.accept}, tc.stix); got != tc.want {
			t.Errorf("negotiate(%q, stix=%v) = %v, want %v", tc.accept, tc.stix, got, tc.want)
		}
	}
	if got := negotiate([]string{"text/html", "application/taxii+json;version=2.1"}, false); got != mediaTAXII {
		t.Errorf("several Accept headers: %v", got)
	}
}

func TestContentType(t *testing.T) {
	for ct, want := range map[string]bool{
		"application/taxii+json;version=2.1":                true,
		"application/taxii+json; version=2.1":               true,
		"application/taxii+json":                            true,
		"application/taxii+json;version=2.1; charset=utf-8": true,
		"application/taxii+json;version=2.0":                false,
		"application/stix+json;version=2.1":                 false,
		"application/json":                                  false,
		"":                                                  false,
	} {
		if got := isTAXIIContentType(ct); got != want {
			t.Errorf("isTAXIIContentType(%q) = %v", ct, got)
		}
	}
}

func TestCursor(t *testing.T) {
	key := []byte("k")
	c := cursor{seq: 123456, added: time.Date(2025, 3, 4, 5, 6, 7, 891, time.UTC).UnixNano()}
	tok := encodeCursor(key, c, "scope")
	got, err := decodeCursor(key, tok, "scope")
	if err != nil || got != c {
		t.Fatalf("round trip: %v %v", got, err)
	}
	if _, err := decodeCursor(key, tok, "other scope"); err == nil {
		t.Error("cursor accepted for another scope")
	}
	if _, err := decodeCursor([]byte("other key"), tok, "scope"); err == nil {
		t.Error("cursor accepted with another key")
	}
	b := []byte(tok)
	for i := range b {
		mod := append([]byte(nil), b...)
		mod[i] ^= 1
		if _, err := decodeCursor(key, string(mod), "scope"); err == nil && string(mod) != tok {
			t.Errorf("tampered cursor %q accepted", mod)
		}
	}
	for _, s := range []string{"", "x", "AAAA", strings.Repeat("A", 40)} {
		if _, err := decodeCursor(key, s, "scope"); err == nil {
			t.Errorf("cursor %q accepted", s)
		}
	}
}

func TestParseFilters(t *testing.T) {
	v, _ := url.ParseQuery("match[type]=indicator,malware&match[version]=first,2024-01-01T00:00:00Z&limit=50&added_after=2024-05-06T07:08:09.123456Z")
	f, err := parseFilters(v, epObjects, 1000, 10000)
	if err != nil {
		t.Fatal(err)
	}
	if len(f.types) != 2 || !f.versions.first || f.versions.last || len(f.versions.times) != 1 || f.limit != 50 || f.addedAfter.IsZero() {
		t.Errorf("parsed %+v", f)
	}
	if len(f.versions.modes()) != 2 {
		t.Errorf("modes %v", f.versions.modes())
	}
	// The scope of a cursor ignores the order of values and the limit.
	v2, _ := url.ParseQuery("match[type]=malware,indicator&match[version]=2024-01-01T00:00:00.000Z,first&limit=7&added_after=2024-05-06T07:08:09.123456Z")
	f2, _ := parseFilters(v2, epObjects, 1000, 10000)
	if f.canonical() != f2.canonical() {
		t.Errorf("canonical forms differ:\n%s\n%s", f.canonical(), f2.canonical())
	}
	// Fields an endpoint does not define are ignored.
	v3, _ := url.ParseQuery("match[type]=Bad!")
	if _, err := parseFilters(v3, epVersions, 1000, 10000); err != nil {
		t.Errorf("versions endpoint rejected match[type]: %v", err)
	}
}

func TestAddedAfterBound(t *testing.T) {
	at := time.Date(2025, 1, 2, 3, 4, 5, 123456789, time.UTC)
	b := addedAfterBound(at)
	// Shown as ….123456Z; records of that microsecond are not after it.
	if want := time.Date(2025, 1, 2, 3, 4, 5, 123456999, time.UTC); !b.Equal(want) {
		t.Errorf("bound %v, want %v", b, want)
	}
	if b := addedAfterBound(time.Date(3000, 1, 1, 0, 0, 0, 0, time.UTC)); b.UnixNano() < 0 {
		t.Errorf("far future bound overflows: %v", b)
	}
}

func TestBoundsTrimMicrosecondGroup(t *testing.T) {
	base := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	at := func(us, ns int) time.Time { return base.Add(time.Duration(us)*time.Microsecond + time.Duration(ns)) }
	// Records 1-3 in µs 0, 4-6 in µs 1, 7 in µs 2.
	recs := []time.Time{at(0, 1), at(0, 3), at(0, 5), at(1, 1), at(1, 3), at(1, 5), at(2, 0)}
	run := func(limit int, from int) pageBounds {
		bb := &boundsBuilder{limit: limit, collect: true}
		for i := from; i < len(recs); i++ {
			if !bb.add(int64(i+1), recs[i]) {
				break
			}
		}
		return bb.b
	}
	// A limit of 5 would end inside µs 1: the page ends after record 3.
	if b := run(5, 0); b.n != 3 || b.lastSeq != 3 || !b.more || !b.last.Equal(recs[2]) || len(b.seqs) != 3 {
		t.Errorf("limit 5: %+v", b)
	}
	// A limit of 6 ends at a group boundary.
	if b := run(6, 0); b.n != 6 || b.lastSeq != 6 || !b.more {
		t.Errorf("limit 6: %+v", b)
	}
	// A page entirely inside one group cannot shrink: it is kept whole.
	if b := run(2, 0); b.n != 2 || b.lastSeq != 2 || !b.more {
		t.Errorf("limit 2: %+v", b)
	}
	// The last page has no look-ahead and is not trimmed.
	if b := run(10, 3); b.n != 4 || b.more || b.lastSeq != 7 {
		t.Errorf("last page: %+v", b)
	}
}

func TestParseEnvelope(t *testing.T) {
	body := ` { "next" : "a\"b", "objects" : [ {"id":"x--1","a":[1,{"b":"]"}]} , {"id":"x--2"} ], "more": true, "x_custom": {"k": [1,2]} } `
	var p Page
	if err := parseEnvelope([]byte(body), &p); err != nil {
		t.Fatal(err)
	}
	if !p.More || p.Next != `a"b` || p.Count != 2 {
		t.Fatalf("parsed %+v", p)
	}
	objs := p.Objects()
	if len(objs) != 2 || string(objs[1]) != `{"id":"x--2"}` {
		t.Fatalf("objects %q", objs)
	}
	for _, bad := range []string{``, `[]`, `{"objects":`, `{"objects":{}}`, `{"more":"yes"}`, `{} x`, `{"a" 1}`} {
		if err := parseEnvelope([]byte(bad), &Page{}); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
	var empty Page
	if err := parseEnvelope([]byte(`{}`), &empty); err != nil || empty.Count != 0 || empty.Objects() != nil {
		t.Errorf("empty envelope: %+v %v", empty, err)
	}
}

func TestBlockedAddr(t *testing.T) {
	for addr, want := range map[string]bool{
		"127.0.0.1": true, "127.8.9.10": true, "::1": true, "10.1.2.3": true, "172.16.0.1": true, "172.31.255.255": true,
		"192.168.1.1": true, "169.254.169.254": true, "fe80::1": true, "fc00::1": true, "fd12::1": true, "0.0.0.0": true,
		"::": true, "100.64.1.1": true, "224.0.0.1": true, "255.255.255.255": true, "::ffff:127.0.0.1": true,
		"::ffff:10.0.0.1": true, "64:ff9b::a00:1": true, "198.18.0.1": true,
		"8.8.8.8": false, "1.1.1.1": false, "172.32.0.1": false, "2606:4700:4700::1111": false, "64:ff9b::808:808": false,
	} {
		if got := blockedAddr(netip.MustParseAddr(addr)); got != want {
			t.Errorf("blockedAddr(%s) = %v, want %v", addr, got, want)
		}
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	for v, want := range map[string]time.Duration{
		"": -1, "0": 0, "5": 5 * time.Second, " 7 ": 7 * time.Second, "-1": -1, "soon": -1,
		"Wed, 01 Jan 2025 00:00:30 GMT": 30 * time.Second, "Tue, 31 Dec 2024 00:00:00 GMT": 0,
	} {
		got, ok := parseRetryAfter(v, now)
		if !ok {
			got = -1
		}
		if got != want {
			t.Errorf("parseRetryAfter(%q) = %v, want %v", v, got, want)
		}
	}
}
