package web

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"mime/multipart"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

// The fixture: organisations A and B, each with an administrator, an
// analyst and a reader; objects of A shared with the community, an
// indicator of B restricted to B, a malware whose description holds a
// script tag, and an indicator with two versions.

const (
	idSharedInd  = "indicator--11111111-1111-4111-8111-111111111111"
	idSecretB    = "indicator--22222222-2222-4222-8222-222222222222"
	idXSS        = "malware--33333333-3333-4333-8333-333333333333"
	idRel        = "relationship--44444444-4444-4444-8444-444444444444"
	idActor      = "intrusion-set--55555555-5555-4555-8555-555555555555"
	idRel2       = "relationship--66666666-6666-4666-8666-666666666666"
	idTechnique  = "attack-pattern--77777777-7777-4777-8777-777777777777"
	idRel3       = "relationship--88888888-8888-4888-8888-888888888888"
	idSighting   = "sighting--99999999-9999-4999-8999-999999999999"
	idIPv4       = "ipv4-addr--aaaaaaaa-aaaa-5aaa-8aaa-aaaaaaaaaaaa"
	secretName   = "Zebrafish secret beacon"
	secretValue  = "198.51.100.77"
	sharedValue  = "203.0.113.9"
	xssPayload   = `<script>alert(1)</script>`
	testPassword = "correct horse battery"
)

type fixture struct {
	t     *testing.T
	st    *sqlite.Store
	svc   *access.Service
	audit *audit.Log
	srv   *server
	ts    *httptest.Server
	orgs  map[string]store.Org
	users map[string]store.User
}

func bundle(objs ...string) string {
	return `{"type":"bundle","id":"bundle--0f0f0f0f-0000-4000-8000-000000000001","objects":[` + strings.Join(objs, ",") + `]}`
}

func indicatorJSON(id, name, value, modified, extra string) string {
	return fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2025-01-01T00:00:00.000Z","modified":%q,"name":%q,"pattern":"[ipv4-addr:value = '%s']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"%s}`,
		id, modified, name, value, extra)
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	f := &fixture{t: t, st: st, svc: access.NewService(st), audit: audit.New(st), orgs: map[string]store.Org{}, users: map[string]store.User{}}
	for _, o := range []string{"A", "B"} {
		org, err := f.svc.CreateOrg(ctx, o)
		if err != nil {
			t.Fatal(err)
		}
		f.orgs[o] = org
		for _, r := range []access.Role{access.RoleAdmin, access.RoleAnalyst, access.RoleReader} {
			name := o + "-" + string(r)
			u, err := f.svc.CreateUser(ctx, name, o, r, testPassword)
			if err != nil {
				t.Fatal(err)
			}
			f.users[name] = u
		}
	}
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	imp := func(owner string, lvl store.Level, doc string) {
		t.Helper()
		res, err := im.ImportBundle(ctx, strings.NewReader(doc), "test", ingest.Options{Owner: f.orgs[owner].ID, Level: lvl})
		if err != nil || res.Rejected > 0 {
			t.Fatalf("import: %v %+v", err, res)
		}
	}
	imp("A", store.LevelCommunity, bundle(
		indicatorJSON(idSharedInd, "Shared beacon", sharedValue, "2025-01-01T00:00:00.000Z", ""),
		fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":%q,"created":"2025-01-02T00:00:00.000Z","modified":"2025-01-02T00:00:00.000Z","name":"Evil loader","is_family":true,"description":%q}`, idXSS, "Drops "+xssPayload+" on hosts"),
		fmt.Sprintf(`{"type":"intrusion-set","spec_version":"2.1","id":%q,"created":"2025-01-02T00:00:00.000Z","modified":"2025-01-02T00:00:00.000Z","name":"Harbour Panda"}`, idActor),
		fmt.Sprintf(`{"type":"attack-pattern","spec_version":"2.1","id":%q,"created":"2025-01-02T00:00:00.000Z","modified":"2025-01-02T00:00:00.000Z","name":"Command and Scripting Interpreter","kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"execution"}],"external_references":[{"source_name":"mitre-attack","external_id":"T1059","url":"https://attack.mitre.org/techniques/T1059"}]}`, idTechnique),
		fmt.Sprintf(`{"type":"relationship","spec_version":"2.1","id":%q,"created":"2025-01-02T00:00:00.000Z","modified":"2025-01-02T00:00:00.000Z","relationship_type":"indicates","source_ref":%q,"target_ref":%q}`, idRel, idSharedInd, idXSS),
		fmt.Sprintf(`{"type":"relationship","spec_version":"2.1","id":%q,"created":"2025-01-02T00:00:00.000Z","modified":"2025-01-02T00:00:00.000Z","relationship_type":"uses","source_ref":%q,"target_ref":%q}`, idRel2, idActor, idXSS),
		fmt.Sprintf(`{"type":"relationship","spec_version":"2.1","id":%q,"created":"2025-01-02T00:00:00.000Z","modified":"2025-01-02T00:00:00.000Z","relationship_type":"uses","source_ref":%q,"target_ref":%q}`, idRel3, idXSS, idTechnique),
		fmt.Sprintf(`{"type":"sighting","spec_version":"2.1","id":%q,"created":"2025-01-03T00:00:00.000Z","modified":"2025-01-03T00:00:00.000Z","sighting_of_ref":%q,"first_seen":"2025-01-03T00:00:00Z","last_seen":"2025-01-04T00:00:00Z","count":3}`, idSighting, idSharedInd),
		fmt.Sprintf(`{"type":"ipv4-addr","spec_version":"2.1","id":%q,"value":%q}`, idIPv4, sharedValue),
	))
	// A second version of the shared indicator.
	imp("A", store.LevelCommunity, bundle(indicatorJSON(idSharedInd, "Shared beacon (updated)", sharedValue, "2025-02-01T00:00:00.000Z", `,"labels":["malicious-activity"]`)))
	// B's secret, for B only (TLP:RED caps it to B whatever the level).
	imp("B", store.LevelCommunity, bundle(indicatorJSON(idSecretB, secretName, secretValue, "2025-01-05T00:00:00.000Z", fmt.Sprintf(`,"object_marking_refs":[%q]`, stix.TLP2RedID))))
	srv, err := newServer(Options{Store: st, Importer: im, Access: f.svc, Audit: f.audit, Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
		DashboardWait: 5 * time.Second, CountBudget: 2 * time.Second})
	if err != nil {
		t.Fatal(err)
	}
	f.srv = srv
	f.ts = httptest.NewServer(srv)
	t.Cleanup(f.ts.Close)
	return f
}

// client is a browser: a cookie jar, no automatic redirects.
type client struct {
	f    *fixture
	name string
	hc   *http.Client
	lang string
}

func (f *fixture) client(name string) *client {
	jar, _ := cookiejar.New(nil)
	return &client{f: f, name: name, lang: "en", hc: &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error {
		return http.ErrUseLastResponse
	}}}
}

// signedIn returns a client signed in as name ("anon": not signed in).
func (f *fixture) signedIn(name string) *client {
	f.t.Helper()
	c := f.client(name)
	if name == "anon" {
		return c
	}
	resp := c.post("/login", url.Values{"user": {name}, "password": {testPassword}}, "")
	if resp.StatusCode != http.StatusSeeOther {
		f.t.Fatalf("sign in %s: %d %s", name, resp.StatusCode, resp.body)
	}
	return c
}

type response struct {
	*http.Response
	body string
}

func (c *client) do(req *http.Request) *response {
	c.f.t.Helper()
	req.Header.Set("Accept-Language", c.lang)
	resp, err := c.hc.Do(req)
	if err != nil {
		c.f.t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	return &response{resp, string(b)}
}

func (c *client) get(path string) *response {
	req, _ := http.NewRequest(http.MethodGet, c.f.ts.URL+path, nil)
	return c.do(req)
}

var csrfRe = regexp.MustCompile(`name="csrf" value="([^"]+)"`)

// token fetches a page and returns the CSRF token of its forms.
func (c *client) token() string {
	c.f.t.Helper()
	r := c.get("/login")
	if r.StatusCode == http.StatusSeeOther {
		r = c.get("/search")
	}
	m := csrfRe.FindStringSubmatch(r.body)
	if m == nil {
		c.f.t.Fatalf("no CSRF token in %s", r.body)
	}
	return m[1]
}

// post sends a form; csrf "" fetches the right token, "-" sends none.
func (c *client) post(path string, form url.Values, csrf string) *response {
	c.f.t.Helper()
	if form == nil {
		form = url.Values{}
	}
	switch csrf {
	case "":
		form.Set("csrf", c.token())
	case "-":
	default:
		form.Set("csrf", csrf)
	}
	req, _ := http.NewRequest(http.MethodPost, c.f.ts.URL+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return c.do(req)
}

// upload posts the import form; csrfFirst false puts the token after the file.
func (c *client) upload(fields map[string]string, file string, csrf string, csrfFirst bool) *response {
	c.f.t.Helper()
	if csrf == "" {
		csrf = c.token()
	}
	var buf bytes.Buffer
	mw := multipart.NewWriter(&buf)
	if csrfFirst && csrf != "-" {
		mw.WriteField("csrf", csrf)
	}
	for k, v := range fields {
		mw.WriteField(k, v)
	}
	fw, _ := mw.CreateFormFile("file", "bundle.json")
	io.WriteString(fw, file)
	if !csrfFirst && csrf != "-" {
		mw.WriteField("csrf", csrf)
	}
	mw.Close()
	req, _ := http.NewRequest(http.MethodPost, c.f.ts.URL+"/import", &buf)
	req.Header.Set("Content-Type", mw.FormDataContentType())
	return c.do(req)
}

// auditActions lists the actions of the audit trail, in order.
func (f *fixture) auditActions() []string {
	var out []string
	f.audit.Records(context.Background(), 0, func(r store.AuditRecord) error {
		out = append(out, r.Action+":"+r.Actor+":"+r.Target)
		return nil
	})
	return out
}
