package api_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/api"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

func newServer(t *testing.T) *httptest.Server {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	f, err := os.Open("../../testdata/kb-sample.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := im.ImportBundle(context.Background(), f, "kb", ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(st, im, api.Options{MaxBodyBytes: 64 << 10}))
	t.Cleanup(srv.Close)
	return srv
}

const indicatorID = "indicator--b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"

func TestScenarios(t *testing.T) {
	srv := newServer(t)
	goodBundle := `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Poison Ivy","is_family":true}]}`
	mixedBundle := strings.Replace(goodBundle, `]}`, `,{"type":"malware","id":"malware--x"}]}`, 1)
	cases := []struct {
		name, method, path, body, ctype string
		status                          int
		contains                        []string
		absent                          []string
	}{
		{"health", "GET", "/healthz", "", "", 200, []string{`"ok"`}, nil},
		{"search all", "GET", "/api/v1/objects", "", "", 200, []string{`"more":false`, indicatorID}, nil},
		{"search by type", "GET", "/api/v1/objects?type=malware", "", "", 200, []string{`"name":"Emotet"`}, []string{indicatorID}},
		{"search by value", "GET", "/api/v1/objects?value=C2.EXAMPLE.NET", "", "", 200, []string{indicatorID}, []string{"malware--"}},
		{"search by text", "GET", "/api/v1/objects?text=heodo", "", "", 200, []string{"Emotet"}, []string{indicatorID}},
		{"search by external id", "GET", "/api/v1/objects?external_id=cve-2021-44228", "", "", 200, []string{"vulnerability--"}, nil},
		{"page", "GET", "/api/v1/objects?limit=2", "", "", 200, []string{`"more":true`, `"next":"c1.`}, nil},
		{"bad limit", "GET", "/api/v1/objects?limit=-1", "", "", 400, []string{`"error"`, "limit"}, nil},
		{"bad cursor", "GET", "/api/v1/objects?next=zzz", "", "", 400, []string{"cursor"}, nil},
		{"bad timestamp", "GET", "/api/v1/objects?modified_since=yesterday", "", "", 400, []string{"modified_since"}, nil},
		{"get", "GET", "/api/v1/objects/" + indicatorID, "", "", 200, []string{"(updated)"}, nil},
		{"get all versions", "GET", "/api/v1/objects/" + indicatorID + "?all_versions=true", "", "", 200, []string{"(updated)", "<b>command</b>"}, nil},
		{"get missing", "GET", "/api/v1/objects/malware--00000000-0000-4000-8000-000000000000", "", "", 404, []string{"no object"}, nil},
		{"relationships", "GET", "/api/v1/objects/" + indicatorID + "/relationships", "", "", 200, []string{`"relationship_type":"indicates"`}, nil},
		{"relationships missing", "GET", "/api/v1/objects/malware--00000000-0000-4000-8000-000000000000/relationships", "", "", 404, nil, nil},
		{"unknown endpoint", "GET", "/api/v1/nothing", "", "", 404, []string{"no such endpoint"}, nil},
		{"post bundle", "POST", "/api/v1/bundles", goodBundle, "application/json", 200, []string{`"new":1`, `"committed":true`}, nil},
		{"post mixed", "POST", "/api/v1/bundles", mixedBundle, "application/stix+json;version=2.1", 200, []string{`"rejected":1`, `"path":"$.objects[1]"`}, nil},
		{"post strict", "POST", "/api/v1/bundles?strict=true", mixedBundle, "application/json", 422, []string{`"committed":false`}, nil},
		{"post not bundle", "POST", "/api/v1/bundles", `[]`, "application/json", 400, []string{"not a STIX bundle"}, nil},
		{"post truncated", "POST", "/api/v1/bundles", goodBundle[:80], "application/json", 400, []string{"malformed JSON"}, nil},
		{"post wrong type", "POST", "/api/v1/bundles", goodBundle, "text/plain", 415, nil, nil},
		{"post too large", "POST", "/api/v1/bundles", `{"type":"bundle","objects":[],"pad":"` + strings.Repeat("x", 70<<10) + `"}`, "application/json", 413, []string{"limit"}, nil},
		{"post unknown collection", "POST", "/api/v1/bundles?collection=nope", goodBundle, "application/json", 404, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			b, _ := io.ReadAll(resp.Body)
			body := string(b)
			if resp.StatusCode != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.StatusCode, tc.status, body)
			}
			if !json.Valid(b) {
				t.Fatalf("response is not JSON: %s", body)
			}
			for _, c := range tc.contains {
				if !strings.Contains(body, c) {
					t.Errorf("response lacks %q: %s", c, body)
				}
			}
			for _, c := range tc.absent {
				if strings.Contains(body, c) {
					t.Errorf("response has %q: %s", c, body)
				}
			}
		})
	}
}

func TestPaginationWalk(t *testing.T) {
	srv := newServer(t)
	seen := map[string]bool{}
	next := ""
	for pages := 0; pages < 20; pages++ {
		url := srv.URL + "/api/v1/objects?limit=3"
		if next != "" {
			url += "&next=" + next
		}
		resp, err := http.Get(url)
		if err != nil {
			t.Fatal(err)
		}
		var page struct {
			Objects []struct{ ID string } `json:"objects"`
			More    bool                  `json:"more"`
			Next    string                `json:"next"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&page); err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		for _, o := range page.Objects {
			if seen[o.ID] {
				t.Fatalf("%s returned twice", o.ID)
			}
			seen[o.ID] = true
		}
		if !page.More {
			break
		}
		next = page.Next
	}
	if len(seen) != 9 {
		t.Fatalf("walked %d objects, want 9", len(seen))
	}
}
