package api_test

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/api"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

// creds are the Authorization headers of the test's callers.
type creds map[string]string

func newServer(t *testing.T) (*httptest.Server, creds) {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := access.NewService(st)
	if _, err := svc.CreateOrg(ctx, "CSIRT"); err != nil {
		t.Fatal(err)
	}
	c := creds{"anonymous": ""}
	for _, u := range []struct {
		name string
		role access.Role
		pw   string
	}{{"alice", access.RoleAnalyst, "correct horse battery"}, {"rita", access.RoleReader, ""}} {
		if _, err := svc.CreateUser(ctx, u.name, "CSIRT", u.role, u.pw); err != nil {
			t.Fatal(err)
		}
		tok, _, err := svc.CreateToken(ctx, u.name, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		c[string(u.role)] = "Bearer " + tok
	}
	c["basic"] = "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:correct horse battery"))
	c["wrong password"] = "Basic " + base64.StdEncoding.EncodeToString([]byte("alice:wrong"))
	c["bad token"] = "Bearer mamori_notatoken"
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	f, err := os.Open("../../testdata/kb-sample.json")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := im.ImportBundle(ctx, f, "kb", ingest.Options{Level: store.LevelCommunity}); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(api.New(st, im, api.Options{MaxBodyBytes: 64 << 10, Auth: svc, Audit: audit.New(st)}))
	t.Cleanup(srv.Close)
	return srv, c
}

const indicatorID = "indicator--b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"

func TestScenarios(t *testing.T) {
	srv, c := newServer(t)
	goodBundle := `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Poison Ivy","is_family":true}]}`
	mixedBundle := strings.Replace(goodBundle, `]}`, `,{"type":"malware","id":"malware--x"}]}`, 1)
	cases := []struct {
		name, who, method, path, body, ctype string
		status                               int
		contains                             []string
		absent                               []string
	}{
		{"health", "analyst", "GET", "/healthz", "", "", 200, []string{`"ok"`}, nil},
		{"search all", "analyst", "GET", "/api/v1/objects", "", "", 200, []string{`"more":false`, indicatorID}, nil},
		{"search by type", "analyst", "GET", "/api/v1/objects?type=malware", "", "", 200, []string{`"name":"Emotet"`}, []string{indicatorID}},
		{"search by value", "analyst", "GET", "/api/v1/objects?value=C2.EXAMPLE.NET", "", "", 200, []string{indicatorID}, []string{"malware--"}},
		{"search by text", "analyst", "GET", "/api/v1/objects?text=heodo", "", "", 200, []string{"Emotet"}, []string{indicatorID}},
		{"search by external id", "analyst", "GET", "/api/v1/objects?external_id=cve-2021-44228", "", "", 200, []string{"vulnerability--"}, nil},
		{"page", "analyst", "GET", "/api/v1/objects?limit=2", "", "", 200, []string{`"more":true`, `"next":"c1.`}, nil},
		{"bad limit", "analyst", "GET", "/api/v1/objects?limit=-1", "", "", 400, []string{`"error"`, "limit"}, nil},
		{"bad cursor", "analyst", "GET", "/api/v1/objects?next=zzz", "", "", 400, []string{"cursor"}, nil},
		{"bad timestamp", "analyst", "GET", "/api/v1/objects?modified_since=yesterday", "", "", 400, []string{"modified_since"}, nil},
		{"get", "analyst", "GET", "/api/v1/objects/" + indicatorID, "", "", 200, []string{"(updated)"}, nil},
		{"get all versions", "analyst", "GET", "/api/v1/objects/" + indicatorID + "?all_versions=true", "", "", 200, []string{"(updated)", "<b>command</b>"}, nil},
		{"get missing", "analyst", "GET", "/api/v1/objects/malware--00000000-0000-4000-8000-000000000000", "", "", 404, []string{"no object"}, nil},
		{"relationships", "analyst", "GET", "/api/v1/objects/" + indicatorID + "/relationships", "", "", 200, []string{`"relationship_type":"indicates"`}, nil},
		{"relationships missing", "analyst", "GET", "/api/v1/objects/malware--00000000-0000-4000-8000-000000000000/relationships", "", "", 404, nil, nil},
		{"unknown endpoint", "analyst", "GET", "/api/v1/nothing", "", "", 404, []string{"no such endpoint"}, nil},
		{"post bundle", "analyst", "POST", "/api/v1/bundles", goodBundle, "application/json", 200, []string{`"new":1`, `"committed":true`}, nil},
		{"post mixed", "analyst", "POST", "/api/v1/bundles", mixedBundle, "application/stix+json;version=2.1", 200, []string{`"rejected":1`, `"path":"$.objects[1]"`}, nil},
		{"post strict", "analyst", "POST", "/api/v1/bundles?strict=true", mixedBundle, "application/json", 422, []string{`"committed":false`}, nil},
		{"post not bundle", "analyst", "POST", "/api/v1/bundles", `[]`, "application/json", 400, []string{"not a STIX bundle"}, nil},
		{"post truncated", "analyst", "POST", "/api/v1/bundles", goodBundle[:80], "application/json", 400, []string{"malformed JSON"}, nil},
		{"post wrong type", "analyst", "POST", "/api/v1/bundles", goodBundle, "text/plain", 415, nil, nil},
		{"post too large", "analyst", "POST", "/api/v1/bundles", `{"type":"bundle","objects":[],"pad":"` + strings.Repeat("x", 70<<10) + `"}`, "application/json", 413, []string{"limit"}, nil},
		{"anonymous read", "anonymous", "GET", "/api/v1/objects", "", "", 401, []string{"authentication required"}, nil},
		{"wrong password", "wrong password", "GET", "/api/v1/objects", "", "", 401, nil, nil},
		{"bad token", "bad token", "GET", "/api/v1/objects", "", "", 401, nil, nil},
		{"basic auth", "basic", "GET", "/api/v1/objects?type=malware", "", "", 200, []string{"Emotet"}, nil},
		{"reader reads", "reader", "GET", "/api/v1/objects/" + indicatorID, "", "", 200, []string{"(updated)"}, nil},
		{"reader may not import", "reader", "POST", "/api/v1/bundles", goodBundle, "application/json", 403, []string{"may not import"}, nil},
		{"ready", "anonymous", "GET", "/readyz", "", "", 200, []string{`"store":"ok"`}, nil},
		{"health needs no credentials", "anonymous", "GET", "/healthz", "", "", 200, nil, nil},
		{"post unknown collection", "analyst", "POST", "/api/v1/bundles?collection=nope", goodBundle, "application/json", 404, nil, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			req, _ := http.NewRequest(tc.method, srv.URL+tc.path, strings.NewReader(tc.body))
			if tc.ctype != "" {
				req.Header.Set("Content-Type", tc.ctype)
			}
			if h := c[tc.who]; h != "" {
				req.Header.Set("Authorization", h)
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
	srv, c := newServer(t)
	seen := map[string]bool{}
	next := ""
	for pages := 0; pages < 20; pages++ {
		url := srv.URL + "/api/v1/objects?limit=3"
		if next != "" {
			url += "&next=" + next
		}
		req, _ := http.NewRequest("GET", url, nil)
		req.Header.Set("Authorization", c["reader"])
		resp, err := http.DefaultClient.Do(req)
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
	if len(seen) != 10 { // the sample and the organisation's identity
		t.Fatalf("walked %d objects, want 10", len(seen))
	}
}
