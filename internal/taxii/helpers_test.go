package taxii_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/taxii"
)

// fixture is a TAXII server on 127.0.0.1 over a real SQLite store, with two
// organisations (A and B), an analyst (writer) and a reader in each, a
// community collection holding objects of A and one org-only object of B,
// and an empty collection served alone by a second API root.
type fixture struct {
	t      testing.TB
	st     *sqlite.Store
	im     *ingest.Importer
	svc    *access.Service
	srv    *httptest.Server
	server *taxii.Server
	orgA   store.Org
	orgB   store.Org
	tokens map[string]string // "a-analyst", "a-reader", "b-analyst", "b-reader"
	shared store.Collection
	empty  store.Collection
}

const (
	m1 = "malware--00000001-0000-4000-8000-000000000001" // three versions, org A
	m2 = "malware--00000002-0000-4000-8000-000000000002" // org A
	i1 = "indicator--00000003-0000-4000-8000-000000000003"
	mb = "malware--0000000b-0000-4000-8000-00000000000b" // org B, organisation only
)

func malware(id, modified, name string) string {
	return fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":%q,"created":"2024-01-01T00:00:00.000Z","modified":%q,"name":%q,"is_family":true}`, id, modified, name)
}

func indicator(id, value string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2024-01-05T00:00:00.000Z","modified":"2024-01-05T00:00:00.000Z","name":"bad address","pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":"2024-01-05T00:00:00Z"}`, id, value)
}

func bundle(objs ...string) string {
	return `{"type":"bundle","id":"bundle--5d0092c5-5f74-4287-9642-33f4c354e56d","objects":[` + strings.Join(objs, ",") + `]}`
}

func envelope(objs ...string) string {
	return `{"objects":[` + strings.Join(objs, ",") + `]}`
}

// uuidN makes a distinct version-4 UUID from n.
func uuidN(n int) string { return fmt.Sprintf("%08x-0000-4000-8000-%012x", n, n) }

type fixtureOptions struct {
	maxContent int64
	readConns  int
	noSeed     bool
}

func newFixture(t testing.TB, fo fixtureOptions) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{ReadConns: fo.readConns})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, tokens: map[string]string{}}
	f.im = &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	f.svc = access.NewService(st)
	f.svc.TokenRate, f.svc.TokenBurst = 1e6, 1e6
	for _, org := range []string{"A", "B"} {
		o, err := f.svc.CreateOrg(ctx, "org "+org)
		if err != nil {
			t.Fatal(err)
		}
		if org == "A" {
			f.orgA = o
		} else {
			f.orgB = o
		}
		for _, role := range []access.Role{access.RoleAnalyst, access.RoleReader} {
			name := strings.ToLower(org) + "-" + string(role)
			if _, err := f.svc.CreateUser(ctx, name, o.ID, role, ""); err != nil {
				t.Fatal(err)
			}
			secret, _, err := f.svc.CreateToken(ctx, name, "test", 0)
			if err != nil {
				t.Fatal(err)
			}
			f.tokens[name] = secret
		}
	}
	if f.shared, err = st.CreateCollection(ctx, store.Collection{Title: "Shared", Description: "community feed", Level: store.LevelCommunity}); err != nil {
		t.Fatal(err)
	}
	if f.empty, err = st.CreateCollection(ctx, store.Collection{Title: "Empty", Level: store.LevelCommunity}); err != nil {
		t.Fatal(err)
	}
	if !fo.noSeed {
		f.importAs(f.orgA.ID, store.LevelCommunity, malware(m1, "2024-01-01T00:00:00.000Z", "one v1"),
			malware(m1, "2024-02-01T00:00:00.000Z", "one v2"), malware(m1, "2024-03-01T00:00:00.000Z", "one v3"),
			malware(m2, "2024-01-02T00:00:00.000Z", "two"), indicator(i1, "203.0.113.9"))
		f.importAs(f.orgB.ID, store.LevelOrg, malware(mb, "2024-04-01T00:00:00.000Z", "B private"))
	}
	f.server = taxii.NewServer(taxii.Options{
		Store: st, Importer: f.im, Auth: f.svc, State: st,
		Title: "test server", Contact: "soc@example.org",
		APIRoots:         []taxii.APIRoot{{Name: "api1", Title: "Everything"}, {Name: "api2", Title: "Only empty", Collections: []string{f.empty.ID}}},
		MaxContentLength: fo.maxContent,
		CursorKey:        []byte("0123456789abcdef0123456789abcdef"),
		Log:              discardLog(),
	})
	mux := http.NewServeMux()
	mux.Handle(taxii.Prefix, f.server)
	f.srv = httptest.NewServer(mux)
	t.Cleanup(f.srv.Close)
	return f
}

// importAs stores objects in the shared collection as org owner.
func (f *fixture) importAs(owner string, lvl store.Level, objs ...string) {
	f.t.Helper()
	res, err := f.im.ImportBundle(context.Background(), strings.NewReader(bundle(objs...)), "fixture",
		ingest.Options{Collection: f.shared.ID, Owner: owner, Level: lvl})
	if err != nil || res.Rejected > 0 {
		f.t.Fatalf("import: %v (%d rejected)", err, res.Rejected)
	}
}

type response struct {
	status int
	header http.Header
	body   string
}

// do sends a request as who ("" for no credentials, else a token name or
// "token:SECRET").
func (f *fixture) do(who, method, path string, hdr map[string]string, body string) response {
	f.t.Helper()
	req, err := http.NewRequest(method, f.srv.URL+path, strings.NewReader(body))
	if err != nil {
		f.t.Fatal(err)
	}
	if _, ok := hdr["Accept"]; !ok {
		req.Header.Set("Accept", taxii.MediaTAXII)
	}
	for k, v := range hdr {
		if v == "" {
			req.Header.Del(k)
		} else {
			req.Header.Set(k, v)
		}
	}
	switch {
	case who == "":
	case strings.HasPrefix(who, "token:"):
		req.Header.Set("Authorization", "Bearer "+strings.TrimPrefix(who, "token:"))
	default:
		tok, ok := f.tokens[who]
		if !ok {
			f.t.Fatalf("no user %q", who)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		f.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return response{resp.StatusCode, resp.Header, string(b)}
}

func (f *fixture) get(who, path string) response { return f.do(who, "GET", path, nil, "") }

func (f *fixture) collPath(root, c string) string {
	return "/taxii2/" + root + "/collections/" + c + "/"
}

// objectIDs lists the ids (with modified) of an envelope's objects.
func objectIDs(t testing.TB, body string) []string {
	t.Helper()
	var env struct {
		Objects []struct {
			ID       string `json:"id"`
			Modified string `json:"modified"`
		} `json:"objects"`
	}
	if err := json.Unmarshal([]byte(body), &env); err != nil {
		t.Fatalf("not an envelope: %v: %s", err, body)
	}
	var out []string
	for _, o := range env.Objects {
		out = append(out, o.ID+"@"+o.Modified)
	}
	return out
}

func discardLog() *slog.Logger { return slog.New(slog.NewTextHandler(io.Discard, nil)) }

// sharedFile finds a file under the project's shared directory ($MAMORI_SHARED
// or ../../../shared); tests that need it skip without it.
func sharedFile(tb testing.TB, rel string) string {
	tb.Helper()
	dir := os.Getenv("MAMORI_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	for _, p := range []string{filepath.Join(dir, rel), filepath.Join(dir, strings.TrimPrefix(rel, "data/"))} {
		if _, err := os.Stat(p); err == nil {
			return p
		}
	}
	tb.Skipf("%s not found (set MAMORI_SHARED)", rel)
	return ""
}

func waitFor(t testing.TB, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatal("condition not met in time")
		}
		time.Sleep(10 * time.Millisecond)
	}
}
