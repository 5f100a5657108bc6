package taxii_test

import (
	"encoding/json"
	"strconv"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/taxii"
)

type scenario struct {
	name     string
	who      string
	method   string
	path     string
	hdr      map[string]string
	body     string
	status   int
	ctype    string            // expected Content-Type ("" skips the check)
	headers  map[string]string // expected response headers ("*": any value)
	contains []string
	absent   []string
}

func runScenarios(t *testing.T, f *fixture, cases []scenario) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			method := tc.method
			if method == "" {
				method = "GET"
			}
			resp := f.do(tc.who, method, tc.path, tc.hdr, tc.body)
			if resp.status != tc.status {
				t.Fatalf("%s %s: status %d, want %d: %s", method, tc.path, resp.status, tc.status, resp.body)
			}
			if tc.ctype != "" && resp.header.Get("Content-Type") != tc.ctype {
				t.Errorf("Content-Type %q, want %q", resp.header.Get("Content-Type"), tc.ctype)
			}
			for k, v := range tc.headers {
				got := resp.header.Get(k)
				if got == "" || (v != "*" && got != v) {
					t.Errorf("header %s = %q, want %q", k, got, v)
				}
			}
			if resp.status >= 400 {
				checkError(t, resp)
			} else if resp.body != "" && !json.Valid([]byte(resp.body)) {
				t.Errorf("body is not JSON: %s", resp.body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(resp.body, c) {
					t.Errorf("body lacks %q: %s", c, resp.body)
				}
			}
			for _, c := range tc.absent {
				if strings.Contains(resp.body, c) {
					t.Errorf("body has %q: %s", c, resp.body)
				}
			}
		})
	}
}

// checkError checks that an error response is a TAXII error message.
func checkError(t *testing.T, resp response) {
	t.Helper()
	if ct := resp.header.Get("Content-Type"); ct != taxii.MediaTAXII {
		t.Errorf("error Content-Type %q, want %q", ct, taxii.MediaTAXII)
	}
	var e map[string]any
	if err := json.Unmarshal([]byte(resp.body), &e); err != nil {
		t.Fatalf("error body is not JSON: %v: %s", err, resp.body)
	}
	for _, k := range []string{"title", "description", "error_id", "error_code", "http_status", "external_details", "details"} {
		if _, ok := e[k]; !ok {
			t.Errorf("error message lacks %s: %s", k, resp.body)
		}
	}
	if e["http_status"] != strconv.Itoa(resp.status) {
		t.Errorf("http_status %v, want %q", e["http_status"], strconv.Itoa(resp.status))
	}
	if _, ok := e["details"].(map[string]any); !ok {
		t.Errorf("details is not a dictionary: %s", resp.body)
	}
}

func TestScenarios(t *testing.T) {
	f := newFixture(t, fixtureOptions{maxContent: 64 << 10})
	shared := f.collPath("api1", f.shared.ID)
	objects := shared + "objects/"
	taxiiCT, stixCT := taxii.MediaTAXII, taxii.MediaSTIX
	accept := func(v string) map[string]string { return map[string]string{"Accept": v} }
	post := func(ct string) map[string]string { return map[string]string{"Content-Type": ct} }
	dates := map[string]string{"X-TAXII-Date-Added-First": "*", "X-TAXII-Date-Added-Last": "*"}
	v1, v2, v3 := m1+`","created":"2024-01-01T00:00:00.000Z","modified":"2024-01-01`, `"modified":"2024-02-01`, `"modified":"2024-03-01`
	good := malware("malware--000000aa-0000-4000-8000-0000000000aa", "2024-05-01T00:00:00.000Z", "posted")
	bad := `{"type":"malware","spec_version":"2.1","id":"malware--000000ab-0000-4000-8000-0000000000ab","name":"no timestamps"}`

	cases := []scenario{
		// Discovery and content negotiation.
		{name: "discovery", who: "a-reader", path: "/taxii2/", status: 200, ctype: taxiiCT, contains: []string{`"title":"test server"`, `"api_roots":["/taxii2/api1/","/taxii2/api2/"]`, `"default":"/taxii2/api1/"`, `"contact":"soc@example.org"`}},
		{name: "discovery without slash", who: "a-reader", path: "/taxii2", status: 200, ctype: taxiiCT},
		{name: "no credentials", path: "/taxii2/", status: 401, headers: map[string]string{"WWW-Authenticate": "*"}},
		{name: "no credentials on objects", path: objects, status: 401, headers: map[string]string{"WWW-Authenticate": "*"}},
		{name: "wrong token", who: "token:mamori_nope", path: "/taxii2/", status: 401},
		{name: "accept missing", who: "a-reader", path: "/taxii2/", hdr: accept(""), status: 200, ctype: taxiiCT},
		{name: "accept any", who: "a-reader", path: "/taxii2/", hdr: accept("*/*"), status: 200, ctype: taxiiCT},
		{name: "accept application/*", who: "a-reader", path: "/taxii2/", hdr: accept("application/*"), status: 200, ctype: taxiiCT},
		{name: "accept without version", who: "a-reader", path: "/taxii2/", hdr: accept("application/taxii+json"), status: 200, ctype: taxiiCT},
		{name: "accept with space", who: "a-reader", path: "/taxii2/", hdr: accept("application/taxii+json; version=2.1"), status: 200, ctype: taxiiCT},
		{name: "accept among others", who: "a-reader", path: "/taxii2/", hdr: accept("text/html, application/taxii+json;version=2.1;q=0.5"), status: 200, ctype: taxiiCT},
		{name: "accept TAXII 2.0", who: "a-reader", path: "/taxii2/", hdr: accept("application/taxii+json;version=2.0"), status: 406},
		{name: "accept TAXII 2.0 vendor type", who: "a-reader", path: "/taxii2/", hdr: accept("application/vnd.oasis.taxii+json; version=2.0"), status: 406},
		{name: "accept json", who: "a-reader", path: "/taxii2/", hdr: accept("application/json"), status: 406},
		{name: "accept excluded by q=0", who: "a-reader", path: "/taxii2/", hdr: accept("application/taxii+json;version=2.1;q=0"), status: 406},
		{name: "accept STIX on discovery", who: "a-reader", path: "/taxii2/", hdr: accept(stixCT), status: 406},
		{name: "post discovery", who: "a-analyst", method: "POST", path: "/taxii2/", status: 405, headers: map[string]string{"Allow": "GET"}},

		// API roots and collections.
		{name: "api root", who: "a-reader", path: "/taxii2/api1/", status: 200, ctype: taxiiCT, contains: []string{`"versions":["application/taxii+json;version=2.1"]`, `"max_content_length":65536`, `"title":"Everything"`}},
		{name: "api root without slash", who: "a-reader", path: "/taxii2/api1", status: 200},
		{name: "unknown api root", who: "a-reader", path: "/taxii2/nope/", status: 404},
		{name: "unknown path", who: "a-reader", path: "/taxii2/api1/channels/", status: 404},
		{name: "collections as reader", who: "a-reader", path: "/taxii2/api1/collections/", status: 200, ctype: taxiiCT, contains: []string{f.shared.ID, f.empty.ID, `"can_read":true`, `"can_write":false`, `"media_types":["application/stix+json;version=2.1"]`}, absent: []string{`"can_write":true`}},
		{name: "collections as analyst", who: "a-analyst", path: "/taxii2/api1/collections/", status: 200, contains: []string{`"can_write":true`}, absent: []string{`"can_write":false`}},
		{name: "collections of a restricted root", who: "a-reader", path: "/taxii2/api2/collections/", status: 200, contains: []string{f.empty.ID}, absent: []string{f.shared.ID}},
		{name: "collection", who: "b-reader", path: shared, status: 200, ctype: taxiiCT, contains: []string{`"id":"` + f.shared.ID + `"`, `"title":"Shared"`, `"description":"community feed"`}},
		{name: "collection without slash", who: "b-reader", path: strings.TrimSuffix(shared, "/"), status: 200},
		{name: "unknown collection", who: "a-reader", path: "/taxii2/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/", status: 404},
		{name: "collection outside its root", who: "a-reader", path: f.collPath("api2", f.shared.ID), status: 404},
		{name: "objects of unknown collection", who: "a-reader", path: "/taxii2/api1/collections/91a7b528-80eb-42ed-a74d-c6fbd5a26116/objects/", status: 404},
		{name: "delete collection", who: "a-analyst", method: "DELETE", path: shared, status: 405},
		{name: "put objects", who: "a-analyst", method: "PUT", path: objects, status: 405, headers: map[string]string{"Allow": "GET, POST"}},

		// Objects and filters.
		{name: "objects latest", who: "a-reader", path: objects, status: 200, ctype: taxiiCT, headers: dates, contains: []string{v3, m2, i1, `"more":false`}, absent: []string{v1, v2, mb}},
		{name: "objects of org B", who: "b-reader", path: objects, status: 200, contains: []string{mb, m2}},
		{name: "objects without slash", who: "a-reader", path: strings.TrimSuffix(objects, "/"), status: 200, contains: []string{m2}},
		{name: "objects as STIX", who: "a-reader", path: objects, hdr: accept(stixCT), status: 200, ctype: stixCT, contains: []string{m2}},
		{name: "objects prefer TAXII", who: "a-reader", path: objects, hdr: accept(stixCT + ", " + taxiiCT), status: 200, ctype: taxiiCT},
		{name: "objects accept xml", who: "a-reader", path: objects, hdr: accept("application/xml"), status: 406},
		{name: "match type", who: "a-reader", path: objects + "?match[type]=indicator", status: 200, contains: []string{i1}, absent: []string{m1, m2}},
		{name: "match types", who: "a-reader", path: objects + "?match[type]=indicator,malware", status: 200, contains: []string{i1, m2}},
		{name: "match unknown type", who: "a-reader", path: objects + "?match[type]=x-nothing", status: 200, contains: []string{}, absent: []string{"objects"}},
		{name: "match id", who: "a-reader", path: objects + "?match[id]=" + m2 + "," + i1, status: 200, contains: []string{m2, i1}, absent: []string{m1}},
		{name: "match id of invisible object", who: "a-reader", path: objects + "?match[id]=" + mb, status: 200, absent: []string{mb}},
		{name: "version all", who: "a-reader", path: objects + "?match[id]=" + m1 + "&match[version]=all", status: 200, contains: []string{v1, v2, v3}},
		{name: "version first", who: "a-reader", path: objects + "?match[id]=" + m1 + "&match[version]=first", status: 200, contains: []string{v1}, absent: []string{v2, v3}},
		{name: "version first,last", who: "a-reader", path: objects + "?match[id]=" + m1 + "&match[version]=first,last", status: 200, contains: []string{v1, v3}, absent: []string{v2}},
		{name: "version timestamp", who: "a-reader", path: objects + "?match[version]=2024-02-01T00:00:00.000Z", status: 200, contains: []string{v2}, absent: []string{v1, v3, m2}},
		{name: "version timestamps and last", who: "a-reader", path: objects + "?match[id]=" + m1 + "&match[version]=2024-01-01T00:00:00Z,last", status: 200, contains: []string{v1, v3}, absent: []string{v2}},
		{name: "spec version", who: "a-reader", path: objects + "?match[spec_version]=2.1", status: 200, contains: []string{m2}},
		{name: "spec version 2.0", who: "a-reader", path: objects + "?match[spec_version]=2.0", status: 200, absent: []string{"objects"}, headers: dates},
		{name: "added after the future", who: "a-reader", path: objects + "?added_after=2999-01-01T00:00:00.000000Z", status: 200, headers: map[string]string{"X-TAXII-Date-Added-Last": "2999-01-01T00:00:00.000000Z"}, absent: []string{"objects"}},
		{name: "added after the past", who: "a-reader", path: objects + "?added_after=2000-01-01T00:00:00Z", status: 200, contains: []string{m2}},
		{name: "unknown parameter ignored", who: "a-reader", path: objects + "?match[name]=x&foo=bar", status: 200, contains: []string{m2}},
		{name: "limit", who: "a-reader", path: objects + "?limit=1", status: 200, contains: []string{`"more":true`, `"next":"`}},
		{name: "limit above the maximum", who: "a-reader", path: objects + "?limit=1000000", status: 200, contains: []string{`"more":false`}},
		{name: "bad version", who: "a-reader", path: objects + "?match[version]=newest", status: 400, contains: []string{"match[version]"}},
		{name: "all with another version", who: "a-reader", path: objects + "?match[version]=all,last", status: 400},
		{name: "duplicate version", who: "a-reader", path: objects + "?match[version]=last,last", status: 400},
		{name: "duplicate timestamp", who: "a-reader", path: objects + "?match[version]=2024-02-01T00:00:00Z,2024-02-01T00:00:00.000Z", status: 400},
		{name: "empty version", who: "a-reader", path: objects + "?match[version]=", status: 400},
		{name: "bad limit", who: "a-reader", path: objects + "?limit=0", status: 400, contains: []string{"limit"}},
		{name: "negative limit", who: "a-reader", path: objects + "?limit=-5", status: 400},
		{name: "word limit", who: "a-reader", path: objects + "?limit=ten", status: 400},
		{name: "bad added_after", who: "a-reader", path: objects + "?added_after=yesterday", status: 400, contains: []string{"added_after"}},
		{name: "two added_after", who: "a-reader", path: objects + "?added_after=2024-01-01T00:00:00Z&added_after=2024-01-02T00:00:00Z", status: 400},
		{name: "bad type", who: "a-reader", path: objects + "?match[type]=Malware", status: 400},
		{name: "empty type", who: "a-reader", path: objects + "?match[type]=malware,", status: 400},
		{name: "match type twice", who: "a-reader", path: objects + "?match[type]=malware&match[type]=indicator", status: 400},
		{name: "bad id", who: "a-reader", path: objects + "?match[id]=malware-1", status: 400},
		{name: "bad spec version", who: "a-reader", path: objects + "?match[spec_version]=two", status: 400},
		{name: "garbage next", who: "a-reader", path: objects + "?next=abc", status: 400, contains: []string{"next"}},

		// One object and its versions.
		{name: "object", who: "a-reader", path: objects + m1 + "/", status: 200, ctype: taxiiCT, headers: dates, contains: []string{v3}, absent: []string{v1, v2, m2}},
		{name: "object without slash", who: "a-reader", path: objects + m1, status: 200, contains: []string{v3}},
		{name: "object all versions", who: "a-reader", path: objects + m1 + "/?match[version]=all", status: 200, contains: []string{v1, v2, v3}},
		{name: "object first", who: "a-reader", path: objects + m1 + "/?match[version]=first", status: 200, contains: []string{v1}, absent: []string{v3}},
		{name: "object version not present", who: "a-reader", path: objects + m1 + "/?match[version]=2020-01-01T00:00:00.000Z", status: 200, absent: []string{"objects"}},
		{name: "object as STIX", who: "a-reader", path: objects + m1 + "/", hdr: accept(stixCT), status: 200, ctype: stixCT},
		{name: "object match type ignored", who: "a-reader", path: objects + m1 + "/?match[type]=indicator", status: 200, contains: []string{v3}},
		{name: "unknown object", who: "a-reader", path: objects + "malware--99999999-0000-4000-8000-000000000000/", status: 404},
		{name: "malformed object id", who: "a-reader", path: objects + "not-an-id/", status: 404},
		{name: "object of another org", who: "a-reader", path: objects + mb + "/", status: 404},
		{name: "object of own org", who: "b-reader", path: objects + mb + "/", status: 200, contains: []string{mb}},
		{name: "object bad filter", who: "a-reader", path: objects + m1 + "/?match[version]=nope", status: 400},
		{name: "post to object", who: "a-analyst", method: "POST", path: objects + m1 + "/", status: 405, headers: map[string]string{"Allow": "GET, DELETE"}},
		{name: "versions", who: "a-reader", path: objects + m1 + "/versions/", status: 200, ctype: taxiiCT, headers: dates, contains: []string{`"versions":["2024-01-01T00:00:00.000Z","2024-02-01T00:00:00.000Z","2024-03-01T00:00:00.000Z"]`}},
		{name: "versions without slash", who: "a-reader", path: objects + m1 + "/versions", status: 200},
		{name: "versions paged", who: "a-reader", path: objects + m1 + "/versions/?limit=2", status: 200, contains: []string{`"more":true`, `"next":"`}},
		{name: "versions as STIX", who: "a-reader", path: objects + m1 + "/versions/", hdr: accept(stixCT), status: 200, ctype: stixCT},
		{name: "versions of another org's object", who: "a-reader", path: objects + mb + "/versions/", status: 404},
		{name: "versions bad filter", who: "a-reader", path: objects + m1 + "/versions/?match[spec_version]=x", status: 400},

		// Manifest.
		{name: "manifest", who: "a-reader", path: shared + "manifest/", status: 200, ctype: taxiiCT, headers: dates, contains: []string{`"id":"` + m2 + `"`, `"date_added":"`, `"version":"2024-03-01T00:00:00.000Z"`, `"media_type":"application/stix+json;version=2.1"`}, absent: []string{mb, "2024-02-01T00:00:00.000Z"}},
		{name: "manifest of org B", who: "b-reader", path: shared + "manifest/", status: 200, contains: []string{mb}},
		{name: "manifest filtered", who: "a-reader", path: shared + "manifest/?match[type]=indicator", status: 200, contains: []string{i1}, absent: []string{m2}},
		{name: "manifest all versions", who: "a-reader", path: shared + "manifest/?match[version]=all&match[id]=" + m1, status: 200, contains: []string{"2024-01-01T00:00:00.000Z", "2024-02-01T00:00:00.000Z"}},
		{name: "manifest as STIX", who: "a-reader", path: shared + "manifest/", hdr: accept(stixCT), status: 200, ctype: stixCT},
		{name: "manifest bad filter", who: "a-reader", path: shared + "manifest/?added_after=2024-13-01T00:00:00Z", status: 400},
		{name: "manifest unknown collection", who: "a-reader", path: "/taxii2/api1/collections/nope/manifest/", status: 404},

		// Status.
		{name: "unknown status", who: "a-analyst", path: "/taxii2/api1/status/2d086da7-4bdc-4f91-900e-d77486753710/", status: 404},

		// Adding objects.
		{name: "post", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: envelope(good), status: 202, ctype: taxiiCT, contains: []string{`"status":"complete"`, `"total_count":1`, `"success_count":1`, `"failure_count":0`, `"pending_count":0`, `"request_timestamp":"`}},
		{name: "post again is no error", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: envelope(good), status: 202, contains: []string{`"success_count":1`}},
		{name: "post without version parameter", who: "a-analyst", method: "POST", path: objects, hdr: post("application/taxii+json"), body: envelope(good), status: 202},
		{name: "post as reader", who: "a-reader", method: "POST", path: objects, hdr: post(taxiiCT), body: envelope(good), status: 403},
		{name: "post unauthenticated", method: "POST", path: objects, hdr: post(taxiiCT), body: envelope(good), status: 401},
		{name: "post json", who: "a-analyst", method: "POST", path: objects, hdr: post("application/json"), body: envelope(good), status: 415},
		{name: "post STIX bundle type", who: "a-analyst", method: "POST", path: objects, hdr: post(stixCT), body: bundle(good), status: 415},
		{name: "post TAXII 2.0", who: "a-analyst", method: "POST", path: objects, hdr: post("application/taxii+json;version=2.0"), body: envelope(good), status: 415},
		{name: "post without content type", who: "a-analyst", method: "POST", path: objects, hdr: post(""), body: envelope(good), status: 415},
		{name: "post accepting only STIX", who: "a-analyst", method: "POST", path: objects, hdr: map[string]string{"Content-Type": taxiiCT, "Accept": stixCT}, body: envelope(good), status: 406},
		{name: "post malformed JSON", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: `{"objects":[{"type":`, status: 422},
		{name: "post array", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: `[` + good + `]`, status: 422},
		{name: "post objects not a list", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: `{"objects":{"a":1}}`, status: 422},
		{name: "post not JSON", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: `hello`, status: 422},
		{name: "post empty envelope", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: `{}`, status: 202, contains: []string{`"total_count":0`, `"success_count":0`}},
		{name: "post mixed", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: envelope(good, bad, "42"), status: 202,
			contains: []string{`"total_count":3`, `"success_count":1`, `"failure_count":2`, `"failures":[`, `"id":"malware--000000ab-0000-4000-8000-0000000000ab"`, `"message":"`, `"id":"$.objects[2]"`, `"successes":[{"id":"malware--000000aa-0000-4000-8000-0000000000aa","version":"2024-05-01T00:00:00.000Z"}]`}},
		{name: "post too large", who: "a-analyst", method: "POST", path: objects, hdr: post(taxiiCT), body: `{"objects":[],"pad":"` + strings.Repeat("x", 70<<10) + `"}`, status: 413, contains: []string{"max_content_length"}},
		{name: "post to unknown collection", who: "a-analyst", method: "POST", path: "/taxii2/api1/collections/nope/objects/", hdr: post(taxiiCT), body: envelope(good), status: 404},
		{name: "post to manifest", who: "a-analyst", method: "POST", path: shared + "manifest/", hdr: post(taxiiCT), body: envelope(good), status: 405},

		// Deleting.
		{name: "delete as reader", who: "a-reader", method: "DELETE", path: objects + m2 + "/", status: 403},
		{name: "delete another org's object", who: "b-analyst", method: "DELETE", path: objects + m2 + "/", status: 403},
		{name: "delete invisible object", who: "a-analyst", method: "DELETE", path: objects + mb + "/", status: 404},
		{name: "delete unknown object", who: "a-analyst", method: "DELETE", path: objects + "malware--99999999-0000-4000-8000-000000000000/", status: 404},
		{name: "delete absent version", who: "a-analyst", method: "DELETE", path: objects + m2 + "/?match[version]=2020-01-01T00:00:00Z", status: 404},
		{name: "delete bad filter", who: "a-analyst", method: "DELETE", path: objects + m2 + "/?match[version]=x", status: 400},
		{name: "delete", who: "a-analyst", method: "DELETE", path: objects + m2 + "/", status: 200, ctype: taxiiCT},
		{name: "deleted object", who: "a-reader", path: objects + m2 + "/", status: 404},
		{name: "deleted from listing", who: "a-reader", path: objects, status: 200, contains: []string{i1}, absent: []string{m2}},
		{name: "deleted from manifest", who: "a-reader", path: shared + "manifest/", status: 200, absent: []string{m2}},
		{name: "delete one version", who: "a-analyst", method: "DELETE", path: objects + m1 + "/?match[version]=2024-02-01T00:00:00.000Z", status: 200},
		{name: "remaining versions", who: "a-reader", path: objects + m1 + "/versions/", status: 200, contains: []string{`"versions":["2024-01-01T00:00:00.000Z","2024-03-01T00:00:00.000Z"]`}},
		{name: "delete by owner of B", who: "b-analyst", method: "DELETE", path: objects + mb + "/", status: 200},
	}
	runScenarios(t, f, cases)
}
