package api

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/formats"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

func TestExports(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := access.NewService(st)
	tokens := map[string]string{}
	var orgA string
	for _, org := range []string{"CSIRT-A", "CSIRT-B"} {
		o, err := svc.CreateOrg(ctx, org)
		if err != nil {
			t.Fatal(err)
		}
		if org == "CSIRT-A" {
			orgA = o.ID
		}
		user := strings.ToLower(org)
		if _, err := svc.CreateUser(ctx, user, org, access.RoleReader, ""); err != nil {
			t.Fatal(err)
		}
		tok, _, err := svc.CreateToken(ctx, user, "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[org] = "Bearer " + tok
	}
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	fi := &formats.Importer{Importer: im, Store: st}
	// A list owned by CSIRT-A, readable by its organisation only.
	f, err := os.Open("../../testdata/formats/mixed.txt")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if _, err := fi.Import(ctx, "mixed.txt", f, formats.Options{Source: "mixed", Config: emit.Config{Identity: emit.SourceIdentityID("mixed"), IdentityName: "mixed"},
		Import: ingest.Options{Owner: orgA, Level: store.LevelOrg}}); err != nil {
		t.Fatal(err)
	}
	s := New(st, im, Options{Auth: svc})
	if _, pat := s.mux.Handler(httptest.NewRequest("GET", "/api/v1/exports/csv", nil)); pat != "GET /api/v1/exports/{format}" {
		s.registerExports()
	}
	srv := httptest.NewServer(s)
	defer srv.Close()
	get := func(who, path string) (int, string, http.Header) {
		req, _ := http.NewRequest("GET", srv.URL+path, nil)
		if who != "" {
			req.Header.Set("Authorization", tokens[who])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b), resp.Header
	}
	code, body, h := get("CSIRT-A", "/api/v1/exports/txt?type=ip")
	if code != 200 || !strings.Contains(body, "198.51.100.7\n") || h.Get("Content-Disposition") == "" {
		t.Fatalf("owner: %d %q %v", code, body, h)
	}
	code, body, _ = get("CSIRT-B", "/api/v1/exports/txt?type=ip")
	if code != 200 || body != "" {
		t.Fatalf("other organisation: %d %q", code, body)
	}
	code, body, _ = get("CSIRT-B", "/api/v1/exports/stix")
	if code != 200 || strings.Contains(body, "indicator--") {
		t.Fatalf("stix for another organisation: %d %q", code, body)
	}
	code, body, _ = get("CSIRT-A", "/api/v1/exports/suricata?source=mixed")
	if code != 200 || !strings.Contains(body, "alert ip any any <> 198.51.100.7 any") {
		t.Fatalf("suricata: %d %q", code, body)
	}
	code, body, _ = get("CSIRT-A", "/api/v1/exports/suricata?dataset=domain")
	if code != 200 || !strings.Contains(body, "ZXZpbC5leGFtcGxl\n") {
		t.Fatalf("dataset: %d %q", code, body)
	}
	code, body, _ = get("CSIRT-A", "/api/v1/exports/zeek?source=other")
	if code != 200 || strings.Count(body, "\n") != 1 {
		t.Fatalf("zeek, another source: %d %q", code, body)
	}
	for path, want := range map[string]int{
		"/api/v1/exports/txt":                     400,
		"/api/v1/exports/pdf":                     404,
		"/api/v1/exports/csv?tlp=purple":          400,
		"/api/v1/exports/csv?min_confidence=200":  400,
		"/api/v1/exports/csv?type=nope":           400,
		"/api/v1/exports/csv?collection=nowhere":  404,
		"/api/v1/exports/rpz?rpz_action=explode":  400,
		"/api/v1/exports/suricata?dataset=emails": 400,
	} {
		if code, body, _ := get("CSIRT-A", path); code != want {
			t.Errorf("%s: %d %s, want %d", path, code, body, want)
		}
	}
	if code, _, _ := get("", "/api/v1/exports/csv"); code != 401 {
		t.Errorf("anonymous: %d", code)
	}
}
