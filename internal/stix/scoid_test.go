package stix

import (
	"encoding/json"
	"errors"
	"math"
	"strings"
	"testing"

	"github.com/google/uuid"
)

// Identifiers published by OASIS for example SCOs. The first four appear in
// the STIX 2.1 specification (sections 2.9, 4.8, 4.12, 4.14); the last two
// in the OASIS documentation examples ("sighting of observed data"). The
// file with both MD5 and SHA-1 pins the hash preference: only the MD5
// contributes.
//
// Three file identifiers of the specification's examples (sections 3.9.1,
// 3.10 and 4.12) cannot be reproduced from any subset of the properties
// shown and are not used; section 3.4 warns that some example identifiers
// were not computed from the objects shown.
var scoVectors = []struct {
	obj, id string
}{
	{`{"type": "ipv4-addr", "spec_version": "2.1", "value": "198.51.100.3"}`,
		"ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"},
	{`{"type": "ipv4-addr", "spec_version": "2.1", "value": "198.52.200.4"}`,
		"ipv4-addr--055987b7-7d94-5326-8e20-c3dad8241976"},
	{`{"type": "domain-name", "spec_version": "2.1", "value": "example.com",
		"resolves_to_refs": ["ipv4-addr--28bb3599-77cd-5a82-a950-b5bc3caf07c4"]}`,
		"domain-name--bedb4899-d24b-5401-bc86-8f6b4cc18ec7"},
	{`{"type": "directory", "spec_version": "2.1", "path": "C:\\"}`,
		"directory--ab82f84a-5afc-5ea7-8d98-9fcbc277eda6"},
	{`{"type": "file", "spec_version": "2.1", "hashes": {"MD5": "1717b7fff97d37a1e1a0029d83492de1",
		"SHA-1": "c79a326f8411e9488bdc3779753e1e3489aaedea"}, "size": 83968, "name": "resume.pdf"}`,
		"file--364fe3e5-b1f4-5ba3-b951-ee5983b3538d"},
	{`{"type": "windows-registry-key", "spec_version": "2.1",
		"key": "HKEY_LOCAL_MACHINE\\SYSTEM\\ControlSet001\\Services\\WSALG2"}`,
		"windows-registry-key--16b80d14-d574-5620-abad-10ff304b1c26"},
}

func TestSCOIDVectors(t *testing.T) {
	for _, v := range scoVectors {
		got, err := SCOID(decodeOne(t, v.obj))
		if err != nil {
			t.Errorf("SCOID(%s): %v", v.obj, err)
			continue
		}
		if got != v.id {
			t.Errorf("SCOID(%s) = %s, want %s", v.obj, got, v.id)
		}
	}
}

// TestSCOIDOASISExamples recomputes the identifier of every SCO in the OASIS
// examples whose identifier is a UUIDv5 in the STIX namespace.
func TestSCOIDOASISExamples(t *testing.T) {
	files := tarJSON(t, "data/stix/oasis-stix21-schemas-and-examples.tar.gz", func(name string) bool {
		return strings.Contains(name, "/examples/")
	})
	checked := 0
	for _, name := range sortedKeys(files) {
		for _, o := range decodeBytes(t, files[name]) {
			typ, _ := o["type"].(string)
			id, _ := o["id"].(string)
			if spec := typeSpecs[typ]; spec == nil || spec.cat != catSCO {
				continue
			}
			u, err := uuid.Parse(strings.TrimPrefix(id, typ+"--"))
			if err != nil || u.Version() != 5 {
				continue // a UUIDv4 identifier, which cannot be recomputed
			}
			got, err := SCOID(o)
			if err != nil {
				t.Errorf("%s: %s: %v", name, id, err)
			} else if got != id {
				t.Errorf("%s: SCOID = %s, want %s", name, got, id)
			}
			checked++
		}
	}
	t.Logf("%d deterministic SCO identifiers recomputed", checked)
}

func TestSCOIDDeterministicAndOrderIndependent(t *testing.T) {
	a := decodeOne(t, `{"type": "network-traffic", "src_ref": "ipv4-addr--`+uuid5+`", "dst_port": 443,
		"protocols": ["ipv4", "tcp"], "start": "2014-11-30T10:00:00Z", "src_port": 50000,
		"extensions": {"tcp-ext": {"src_flags_hex": "00000002"}, "x-acme-ext": {"b": 1, "a": [1, 2.5, "x"]}}}`)
	b := decodeOne(t, `{"extensions": {"x-acme-ext": {"a": [1, 2.5, "x"], "b": 1}, "tcp-ext": {"src_flags_hex": "00000002"}},
		"start": "2014-11-30T10:00:00Z", "src_port": 50000, "protocols": ["ipv4", "tcp"], "dst_port": 443,
		"src_ref": "ipv4-addr--`+uuid5+`", "type": "network-traffic", "spec_version": "2.1", "is_active": false}`)
	idA, err := SCOID(a)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 50; i++ {
		idB, err := SCOID(b)
		if err != nil {
			t.Fatal(err)
		}
		if idA != idB {
			t.Fatalf("%s != %s", idA, idB)
		}
	}
	u := uuid.MustParse(strings.TrimPrefix(idA, "network-traffic--"))
	if u.Version() != 5 {
		t.Fatalf("version %d", u.Version())
	}
	// Properties that do not contribute do not change the identifier; those
	// that do, do.
	b["dst_byte_count"] = json.Number("1")
	if id, _ := SCOID(b); id != idA {
		t.Fatal("a non-contributing property changed the identifier")
	}
	b["dst_port"] = json.Number("80")
	if id, _ := SCOID(b); id == idA {
		t.Fatal("a contributing property did not change the identifier")
	}
	// Numbers are compared as numbers, not as text.
	c := decodeOne(t, `{"type": "autonomous-system", "number": 15139}`)
	d := decodeOne(t, `{"type": "autonomous-system", "number": 15139.0}`)
	e := decodeOne(t, `{"type": "autonomous-system", "number": 1.5139e4}`)
	idC, _ := SCOID(c)
	idD, _ := SCOID(d)
	idE, _ := SCOID(e)
	if idC != idD || idC != idE {
		t.Fatalf("15139, 15139.0 and 1.5139e4 gave %s %s %s", idC, idD, idE)
	}
	if idF, _ := SCOID(map[string]any{"type": "autonomous-system", "number": 15139}); idF != idC {
		t.Fatalf("an int gave %s, json.Number %s", idF, idC)
	}
}

func TestSCOIDHashChoice(t *testing.T) {
	mk := func(hashes string) string {
		id, err := SCOID(decodeOne(t, `{"type": "file", "hashes": `+hashes+`}`))
		if err != nil {
			t.Fatal(err)
		}
		return id
	}
	md5 := `"MD5": "1717b7fff97d37a1e1a0029d83492de1"`
	sha1 := `"SHA-1": "c79a326f8411e9488bdc3779753e1e3489aaedea"`
	sha256 := `"SHA-256": "effb46bba03f6c8aea5c653f9cf984f170dcdd3bbbe2ff6843c3e5da0e698766"`
	if mk("{"+md5+", "+sha1+", "+sha256+"}") != mk("{"+md5+"}") {
		t.Error("MD5 is not preferred")
	}
	if mk("{"+sha256+", "+sha1+"}") != mk("{"+sha1+"}") {
		t.Error("SHA-1 is not preferred over SHA-256")
	}
	if mk(`{"TLSH": "t1", "SSDEEP": "s1"}`) != mk(`{"SSDEEP": "s1"}`) {
		t.Error("without a preferred hash, the alphabetically first key does not win")
	}
}

func TestSCOIDRandomWithoutContributingProperties(t *testing.T) {
	for _, obj := range []string{
		`{"type": "process", "pid": 1}`,             // process defines no ID contributing properties
		`{"type": "ipv4-addr"}`,                     // required value missing
		`{"type": "file", "size": 3, "hashes": {}}`, // nothing that contributes
		`{"type": "user-account", "display_name": "x"}`,
	} {
		o := decodeOne(t, obj)
		id1, err := SCOID(o)
		if err != nil {
			t.Fatalf("%s: %v", obj, err)
		}
		id2, _ := SCOID(o)
		typ := o["type"].(string)
		u, err := uuid.Parse(strings.TrimPrefix(id1, typ+"--"))
		if err != nil || u.Version() != 4 || id1 == id2 {
			t.Errorf("%s: got %s and %s, want two random UUIDv4 identifiers", obj, id1, id2)
		}
	}
}

func TestSCOIDErrors(t *testing.T) {
	for _, obj := range []map[string]any{
		nil,
		{},
		{"type": "malware"},
		{"type": "x-acme-thing", "value": "x"},
		{"type": 3},
	} {
		if _, err := SCOID(obj); !errors.Is(err, ErrNotSCO) {
			t.Errorf("SCOID(%v) error = %v, want ErrNotSCO", obj, err)
		}
	}
	if _, err := SCOID(map[string]any{"type": "url", "value": math.NaN()}); err == nil {
		t.Error("NaN accepted")
	}
	if _, err := SCOID(map[string]any{"type": "url", "value": make(chan int)}); err == nil {
		t.Error("a channel accepted")
	}
}

// TestCanonicalizeNumbers checks the ECMAScript number serialization RFC
// 8785 requires, including the examples of its appendix B.
func TestCanonicalizeNumbers(t *testing.T) {
	tests := []struct {
		in   any
		want string
	}{
		{json.Number("0"), "0"},
		{json.Number("-0"), "0"},
		{math.Copysign(0, -1), "0"},
		{json.Number("1"), "1"},
		{json.Number("-1"), "-1"},
		{json.Number("1.0"), "1"},
		{json.Number("4.50"), "4.5"},
		{json.Number("2e-3"), "0.002"},
		{json.Number("0.000001"), "0.000001"},
		{json.Number("1e-7"), "1e-7"},
		{json.Number("123e-10"), "1.23e-8"},
		{json.Number("1E30"), "1e+30"},
		{json.Number("1e21"), "1e+21"},
		{json.Number("1e20"), "100000000000000000000"},
		{json.Number("999999999999999900000"), "999999999999999900000"},
		{json.Number("333333333.33333329"), "333333333.3333333"},
		{json.Number("0.000000000000000000000000001"), "1e-27"},
		{json.Number("9007199254740993"), "9007199254740992"}, // beyond 2^53: rounded as a double
		{json.Number("-1.7976931348623157e308"), "-1.7976931348623157e+308"},
		{json.Number("5e-324"), "5e-324"},
		{float64(1) / 3, "0.3333333333333333"},
		{295147905179352830000.0, "295147905179352830000"},
		{int64(-42), "-42"},
		{uint8(7), "7"},
	}
	for _, tt := range tests {
		got, err := Canonicalize(tt.in)
		if err != nil {
			t.Errorf("Canonicalize(%v): %v", tt.in, err)
			continue
		}
		if string(got) != tt.want {
			t.Errorf("Canonicalize(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
	for _, bad := range []any{math.NaN(), math.Inf(1), json.Number("1e400"), json.Number("x")} {
		if _, err := Canonicalize(bad); err == nil {
			t.Errorf("Canonicalize(%v) succeeded", bad)
		}
	}
}

func TestCanonicalizeStringsAndOrder(t *testing.T) {
	// The string example of RFC 8785 section 3.2.2.2.
	in := map[string]any{
		"string":   "€$\u000f\nA'B\"\\\\\"/",
		"literals": []any{nil, true, false},
		"numbers": []any{json.Number("333333333.33333329"), json.Number("1E30"), json.Number("4.50"),
			json.Number("2e-3"), json.Number("0.000000000000000000000000001")},
	}
	want := `{"literals":[null,true,false],"numbers":[333333333.3333333,1e+30,4.5,0.002,1e-27],` +
		`"string":"€$\u000f\nA'B\"\\\\\"/"}`
	got, err := Canonicalize(in)
	if err != nil {
		t.Fatal(err)
	}
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Property sorting by UTF-16 code units (RFC 8785 section 3.2.3).
	keys := map[string]any{
		"\u20ac": "Euro Sign", "\r": "Carriage Return", "\ufb33": "Hebrew Letter Dalet With Dagesh",
		"1": "One", "\U0001F600": "Emoji: Grinning Face", "\u0080": "Control", "\u00f6": "Latin Small Letter O With Diaeresis",
	}
	got, err = Canonicalize(keys)
	if err != nil {
		t.Fatal(err)
	}
	want = "{\"\\r\":\"Carriage Return\",\"1\":\"One\",\"\u0080\":\"Control\",\"\u00f6\":\"Latin Small Letter O With Diaeresis\"," +
		"\"\u20ac\":\"Euro Sign\",\"\U0001F600\":\"Emoji: Grinning Face\",\"\ufb33\":\"Hebrew Letter Dalet With Dagesh\"}"
	if string(got) != want {
		t.Fatalf("got  %s\nwant %s", got, want)
	}
	// Escapes: short forms, lower-case \u00XX, nothing else escaped.
	got, _ = Canonicalize("\b\f\t\x00\x1f\u2028<>&\u00e9")
	if want := "\"\\b\\f\\t\\u0000\\u001f\u2028<>&\u00e9\""; string(got) != want {
		t.Fatalf("got %s, want %s", got, want)
	}
	// Invalid UTF-8 becomes U+FFFD.
	got, _ = Canonicalize("a\xffb")
	if string(got) != "\"a\uFFFDb\"" {
		t.Fatalf("got %q", got)
	}
}
