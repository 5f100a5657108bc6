package web

import (
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"testing"
)

type scenario struct {
	name    string
	who     string // anon, A-reader, A-analyst, A-admin, B-reader, …
	method  string
	path    string
	form    url.Values
	csrf    string // "" right token, "-" none, else this value
	status  int
	has     []string // substrings the body must contain
	hasNot  []string // substrings it must not contain
	locPref string   // Location must start with this
}

func TestScenarios(t *testing.T) {
	f := newFixture(t)
	escaped := "Drops &lt;script&gt;alert(1)&lt;/script&gt; on hosts"
	scenarios := []scenario{
		// Signing in.
		{name: "anonymous dashboard goes to sign-in", who: "anon", method: "GET", path: "/", status: 303, locPref: "/login"},
		{name: "anonymous search goes to sign-in and back", who: "anon", method: "GET", path: "/search?q=x", status: 303, locPref: "/login?next=%2Fsearch%3Fq%3Dx"},
		{name: "anonymous object page goes to sign-in", who: "anon", method: "GET", path: "/objects/" + idSharedInd, status: 303, locPref: "/login"},
		{name: "sign-in page", who: "anon", method: "GET", path: "/login", status: 200, has: []string{"Sign in", `name="csrf"`}},
		{name: "sign-in without CSRF token", who: "anon", method: "POST", path: "/login", form: url.Values{"user": {"A-reader"}, "password": {testPassword}}, csrf: "-", status: 403},
		{name: "sign-in with a wrong CSRF token", who: "anon", method: "POST", path: "/login", form: url.Values{"user": {"A-reader"}, "password": {testPassword}}, csrf: "forged", status: 403},
		{name: "sign-in with a wrong password", who: "anon", method: "POST", path: "/login", form: url.Values{"user": {"A-reader"}, "password": {"nope"}}, status: 401, has: []string{"wrong"}},
		{name: "sign-in redirect stays on this site", who: "anon", method: "POST", path: "/login", form: url.Values{"user": {"A-analyst"}, "password": {testPassword}, "next": {"//evil.example/"}}, status: 303, locPref: "/"},
		{name: "static files need no session", who: "anon", method: "GET", path: "/static/style.css", status: 200, has: []string{"--brand"}},
		{name: "unknown path", who: "anon", method: "GET", path: "/no/such/page", status: 404},
		{name: "language switch without token", who: "anon", method: "POST", path: "/lang", form: url.Values{"lang": {"ja"}}, csrf: "-", status: 403},
		{name: "language switch", who: "anon", method: "POST", path: "/lang", form: url.Values{"lang": {"ja"}, "back": {"/login"}}, status: 303, locPref: "/login"},

		// Pages by role.
		{name: "reader dashboard", who: "A-reader", method: "GET", path: "/", status: 200, has: []string{"Dashboard", "Evil loader", "Harbour Panda", "T1059"}},
		{name: "reader search", who: "A-reader", method: "GET", path: "/search", status: 200},
		{name: "reader may not import", who: "A-reader", method: "GET", path: "/import", status: 403},
		{name: "reader may not post an import", who: "A-reader", method: "POST", path: "/import", status: 403},
		{name: "analyst import page", who: "A-analyst", method: "GET", path: "/import", status: 200, has: []string{`enctype="multipart/form-data"`}},
		{name: "reader may not administer", who: "A-reader", method: "GET", path: "/admin/users", status: 403},
		{name: "analyst may not administer", who: "A-analyst", method: "GET", path: "/admin/orgs", status: 403},
		{name: "analyst may not add an organisation", who: "A-analyst", method: "POST", path: "/admin/orgs", form: url.Values{"name": {"C"}}, status: 403},
		{name: "admin users", who: "A-admin", method: "GET", path: "/admin/users", status: 200, has: []string{"B-reader", "A-analyst"}},
		{name: "admin organisations", who: "A-admin", method: "GET", path: "/admin/orgs", status: 200, has: []string{"identity--"}},
		{name: "admin groups", who: "A-admin", method: "GET", path: "/admin/groups", status: 200},
		{name: "admin tokens", who: "A-admin", method: "GET", path: "/admin/tokens", status: 200},
		{name: "admin adds an organisation without token", who: "A-admin", method: "POST", path: "/admin/orgs", form: url.Values{"name": {"C"}}, csrf: "-", status: 403},
		{name: "admin adds an organisation with a wrong token", who: "A-admin", method: "POST", path: "/admin/orgs", form: url.Values{"name": {"C"}}, csrf: "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", status: 403},
		{name: "admin adds an organisation", who: "A-admin", method: "POST", path: "/admin/orgs", form: url.Values{"name": {"C"}}, status: 303, locPref: "/admin/orgs?done=org"},
		{name: "admin adds a group", who: "A-admin", method: "POST", path: "/admin/groups", form: url.Values{"name": {"G"}, "org": {"A", "B"}}, status: 303},
		{name: "admin adds a user with a generated password", who: "A-admin", method: "POST", path: "/admin/users", form: url.Values{"name": {"A-new"}, "org": {"A"}, "role": {"reader"}}, status: 200, has: []string{`id="secret"`}},
		{name: "admin refuses a bad role", who: "A-admin", method: "POST", path: "/admin/users", form: url.Values{"name": {"x"}, "org": {"A"}, "role": {"god"}}, status: 400},
		{name: "admin creates a token", who: "A-admin", method: "POST", path: "/admin/tokens", form: url.Values{"user": {"A-analyst"}, "name": {"siem"}, "days": {"30"}}, status: 200, has: []string{"mamori_"}},
		{name: "admin creates a collection", who: "A-admin", method: "POST", path: "/collections", form: url.Values{"title": {"Sector feed"}, "distribution": {"community"}}, status: 303},
		{name: "reader may not create a collection", who: "A-reader", method: "POST", path: "/collections", form: url.Values{"title": {"x"}}, status: 403},
		{name: "collections", who: "B-reader", method: "GET", path: "/collections", status: 200, has: []string{"/taxii2/api1/"}},
		{name: "feeds", who: "A-reader", method: "GET", path: "/feeds", status: 200},
		{name: "alerts empty state", who: "A-reader", method: "GET", path: "/alerts", status: 200, has: []string{"not set up"}},
		{name: "assets empty state", who: "A-reader", method: "GET", path: "/assets", status: 200},
		{name: "exposure empty state", who: "A-reader", method: "GET", path: "/exposure", status: 200, has: []string{"not computed"}},
		{name: "sign out", who: "A-reader", method: "POST", path: "/logout", status: 303, locPref: "/login"},
		{name: "sign out without token", who: "A-reader", method: "POST", path: "/logout", csrf: "-", status: 403},

		// The access check: B's TLP:RED indicator.
		{name: "owner sees its restricted object", who: "B-reader", method: "GET", path: "/objects/" + idSecretB, status: 200, has: []string{secretName, "TLP:RED"}},
		{name: "other organisation gets 404", who: "A-reader", method: "GET", path: "/objects/" + idSecretB, status: 404, hasNot: []string{secretName}},
		{name: "not even its administrator", who: "A-admin", method: "GET", path: "/objects/" + idSecretB, status: 404, hasNot: []string{secretName}},
		{name: "nor its JSON", who: "A-admin", method: "GET", path: "/objects/" + idSecretB + "/json", status: 404},
		{name: "owner downloads its JSON", who: "B-reader", method: "GET", path: "/objects/" + idSecretB + "/json", status: 200, has: []string{secretValue}},
		{name: "search by words hides it", who: "A-reader", method: "GET", path: "/search?q=zebrafish", status: 200, has: []string{"Nothing matches"}, hasNot: []string{secretName}},
		{name: "search by words finds it for B", who: "B-reader", method: "GET", path: "/search?q=zebrafish", status: 200, has: []string{secretName, "1 object"}},
		{name: "search by value hides it", who: "A-reader", method: "GET", path: "/search?value=" + secretValue, status: 200, hasNot: []string{secretName, idSecretB}},
		{name: "search by identifier hides it", who: "A-reader", method: "GET", path: "/search?q=" + idSecretB, status: 200, hasNot: []string{secretName}},
		{name: "search by identifier opens it for B", who: "B-reader", method: "GET", path: "/search?q=" + idSecretB, status: 303, locPref: "/objects/" + idSecretB},
		{name: "typed search hides it", who: "A-reader", method: "GET", path: "/search?type=indicator", status: 200, has: []string{"Shared beacon"}, hasNot: []string{secretName}},
		{name: "correlations hide it", who: "A-reader", method: "GET", path: "/objects/" + idSharedInd, status: 200, hasNot: []string{secretName}},

		// Object pages.
		{name: "script in a description is text", who: "A-reader", method: "GET", path: "/objects/" + idXSS, status: 200, has: []string{escaped}, hasNot: []string{xssPayload}},
		{name: "script in search results is text", who: "A-reader", method: "GET", path: "/search?q=evil", status: 200, has: []string{"Evil loader"}, hasNot: []string{xssPayload}},
		{name: "object page sections", who: "A-reader", method: "GET", path: "/objects/" + idSharedInd, status: 200,
			has: []string{"Shared beacon (updated)", "Relationships", "Evil loader", "Sightings", "×3", "Correlations", idIPv4, "Changes since", "labels"}},
		{name: "earlier version", who: "A-reader", method: "GET", path: "/objects/" + idSharedInd + "?v=2025-01-01T00:00:00.000000000Z", status: 200, has: []string{"earlier version"}, hasNot: []string{"Shared beacon (updated)</h1>"}},
		{name: "graph expands a node", who: "A-reader", method: "GET", path: "/objects/" + idSharedInd + "?expand=" + idXSS, status: 200, has: []string{"Harbour Panda", "Command and Scripting"}},
		{name: "graph expansion of an unrelated id is ignored", who: "A-reader", method: "GET", path: "/objects/" + idSharedInd + "?expand=" + idSecretB, status: 200, hasNot: []string{secretName}},
		{name: "unknown object", who: "A-reader", method: "GET", path: "/objects/indicator--00000000-0000-4000-8000-000000000000", status: 404},
		{name: "bad version key", who: "A-reader", method: "GET", path: "/objects/" + idSharedInd + "?v=yesterday", status: 404},
	}
	clients := map[string]*client{}
	for _, sc := range scenarios {
		t.Run(sc.name, func(t *testing.T) {
			c := clients[sc.who]
			if c == nil || sc.who == "anon" {
				c = f.signedIn(sc.who)
				c.f.t = t
				clients[sc.who] = c
			}
			c.f.t = t
			var r *response
			if sc.method == "GET" {
				r = c.get(sc.path)
			} else {
				form := url.Values{}
				for k, v := range sc.form {
					form[k] = append([]string(nil), v...)
				}
				// Forms name organisations by id.
				if sc.path == "/admin/groups" || sc.path == "/admin/users" {
					for i, o := range form["org"] {
						if org, ok := f.orgs[o]; ok {
							form["org"][i] = org.ID
						}
					}
				}
				if u, ok := f.users[form.Get("user")]; ok && sc.path == "/admin/tokens" {
					form.Set("user", u.ID)
				}
				r = c.post(sc.path, form, sc.csrf)
			}
			if r.StatusCode != sc.status {
				t.Fatalf("%s %s as %s: status %d, want %d\n%s", sc.method, sc.path, sc.who, r.StatusCode, sc.status, excerpt(r.body))
			}
			if sc.locPref != "" && !strings.HasPrefix(r.Header.Get("Location"), sc.locPref) {
				t.Errorf("Location %q, want prefix %q", r.Header.Get("Location"), sc.locPref)
			}
			for _, s := range sc.has {
				if !strings.Contains(r.body, s) {
					t.Errorf("body lacks %q\n%s", s, excerpt(r.body))
				}
			}
			for _, s := range sc.hasNot {
				if strings.Contains(r.body, s) {
					t.Errorf("body contains %q", s)
				}
			}
			checkHeaders(t, r)
			if sc.who == "A-reader" && sc.path == "/logout" && sc.status == 303 {
				delete(clients, sc.who) // signed out
			}
		})
	}
}

func excerpt(s string) string {
	if i := strings.Index(s, `<main id="main">`); i >= 0 {
		s = s[i:]
	}
	if len(s) > 1500 {
		s = s[:1500]
	}
	return s
}

// checkHeaders: every answer carries the security headers.
func checkHeaders(t *testing.T, r *response) {
	t.Helper()
	csp := r.Header.Get("Content-Security-Policy")
	for _, want := range []string{"default-src 'self'", "frame-ancestors 'none'", "script-src 'self'", "style-src 'self'", "object-src 'none'"} {
		if !strings.Contains(csp, want) {
			t.Errorf("%s: CSP %q lacks %q", r.Request.URL.Path, csp, want)
		}
	}
	if strings.Contains(csp, "unsafe-inline") || strings.Contains(csp, "unsafe-eval") {
		t.Errorf("CSP allows unsafe code: %q", csp)
	}
	if r.Header.Get("X-Content-Type-Options") != "nosniff" {
		t.Errorf("%s: no X-Content-Type-Options", r.Request.URL.Path)
	}
	if r.Header.Get("Referrer-Policy") == "" {
		t.Errorf("%s: no Referrer-Policy", r.Request.URL.Path)
	}
	if ct := r.Header.Get("Content-Type"); strings.HasPrefix(ct, "text/html") {
		// No inline script, style or event handler in any page.
		for _, re := range []*regexp.Regexp{regexp.MustCompile(`<script(?:\s[^>]*)?>[^<]`), regexp.MustCompile(`\sstyle=`), regexp.MustCompile(`<style`), regexp.MustCompile(`\son[a-z]+=`)} {
			if loc := re.FindStringIndex(r.body); loc != nil {
				t.Errorf("%s: inline code at %q", r.Request.URL.Path, r.body[max(loc[0]-40, 0):min(loc[1]+40, len(r.body))])
			}
		}
		if r.Header.Get("Cache-Control") != "no-store" {
			t.Errorf("%s: page may be cached: %q", r.Request.URL.Path, r.Header.Get("Cache-Control"))
		}
	}
}

func TestFacetCountsFollowTheViewer(t *testing.T) {
	f := newFixture(t)
	count := regexp.MustCompile(`href="/search\?[^"]*type=indicator[^"]*">[^<]+</a> <span class="count">([0-9,]+)</span>`)
	for _, tc := range []struct {
		who, path, want string
	}{
		{"A-reader", "/search", "1"},
		{"B-reader", "/search", "2"},
		{"A-reader", "/search?q=beacon", "1"},
		{"B-reader", "/search?q=beacon", "2"},
		{"A-reader", "/search?value=" + secretValue, ""},
		{"B-reader", "/search?value=" + secretValue, "1"},
	} {
		c := f.signedIn(tc.who)
		c.get("/") // the dashboard computes the totals that browsing uses
		r := c.get(tc.path)
		m := count.FindStringSubmatch(r.body)
		got := ""
		if m != nil {
			got = m[1]
		}
		if got != tc.want {
			t.Errorf("%s %s: indicator facet %q, want %q", tc.who, tc.path, got, tc.want)
		}
	}
	// The dashboard tiles count what the reader may see, too.
	tile := regexp.MustCompile(`href="/search\?type=indicator"><span class="tile-n">([0-9,]+)</span>`)
	for who, want := range map[string]string{"A-reader": "1", "B-admin": "2"} {
		r := f.signedIn(who).get("/")
		if m := tile.FindStringSubmatch(r.body); m == nil || m[1] != want {
			t.Errorf("%s: indicator tile %v, want %s", who, m, want)
		}
	}
}

func TestDisabledUserSessionEndsAtOnce(t *testing.T) {
	f := newFixture(t)
	reader := f.signedIn("A-reader")
	if r := reader.get("/"); r.StatusCode != 200 {
		t.Fatalf("dashboard: %d", r.StatusCode)
	}
	admin := f.signedIn("B-admin")
	if r := admin.post("/admin/users/"+f.users["A-reader"].ID+"/disable", nil, ""); r.StatusCode != 303 {
		t.Fatalf("disable: %d %s", r.StatusCode, excerpt(r.body))
	}
	r := reader.get("/")
	if r.StatusCode != http.StatusSeeOther || !strings.HasPrefix(r.Header.Get("Location"), "/login") {
		t.Fatalf("after disabling: %d %q, want a redirect to sign in", r.StatusCode, r.Header.Get("Location"))
	}
	if r := reader.get("/objects/" + idSharedInd); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("object after disabling: %d", r.StatusCode)
	}
	// Nor can they sign in again.
	if r := f.client("x").post("/login", url.Values{"user": {"A-reader"}, "password": {testPassword}}, ""); r.StatusCode != http.StatusUnauthorized {
		t.Fatalf("sign-in of a disabled user: %d", r.StatusCode)
	}
}

func TestPasswordChangeEndsSessions(t *testing.T) {
	f := newFixture(t)
	analyst := f.signedIn("A-analyst")
	if r := analyst.get("/import"); r.StatusCode != 200 {
		t.Fatalf("import page: %d", r.StatusCode)
	}
	admin := f.signedIn("A-admin")
	r := admin.post("/admin/users/"+f.users["A-analyst"].ID+"/password", nil, "")
	if r.StatusCode != 200 || !strings.Contains(r.body, `id="secret"`) {
		t.Fatalf("new password: %d", r.StatusCode)
	}
	if r := analyst.get("/import"); r.StatusCode != http.StatusSeeOther {
		t.Fatalf("after the password change: %d, want 303", r.StatusCode)
	}
}

func TestSignInIsThrottled(t *testing.T) {
	f := newFixture(t)
	c := f.client("x")
	status := 0
	for range 7 {
		status = c.post("/login", url.Values{"user": {"A-analyst"}, "password": {"guess"}}, "").StatusCode
	}
	if status != http.StatusTooManyRequests {
		t.Fatalf("after 7 failures: %d, want 429", status)
	}
	// Even the right password waits now.
	if r := c.post("/login", url.Values{"user": {"A-analyst"}, "password": {testPassword}}, ""); r.StatusCode != http.StatusTooManyRequests {
		t.Fatalf("right password while throttled: %d", r.StatusCode)
	}
}

func TestSessionCookie(t *testing.T) {
	f := newFixture(t)
	c := f.client("A-reader")
	form := url.Values{"user": {"A-reader"}, "password": {testPassword}, "csrf": {c.token()}}
	req, _ := http.NewRequest("POST", f.ts.URL+"/login", strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	r := c.do(req)
	sc := r.Header.Get("Set-Cookie")
	for _, want := range []string{"mamori_session=", "HttpOnly", "SameSite=Lax", "Path=/"} {
		if !strings.Contains(sc, want) {
			t.Errorf("Set-Cookie %q lacks %q", sc, want)
		}
	}
	if strings.Contains(sc, "Secure") {
		t.Errorf("Secure over plain HTTP: %q", sc)
	}
	// Behind a TLS proxy: Secure, and a __Host- name.
	req, _ = http.NewRequest("GET", f.ts.URL+"/login", nil)
	req.Header.Set("X-Forwarded-Proto", "https")
	r2 := f.client("x").do(req)
	sc = r2.Header.Get("Set-Cookie")
	if !strings.Contains(sc, "__Host-mamori_session=") || !strings.Contains(sc, "Secure") {
		t.Errorf("over TLS: Set-Cookie %q", sc)
	}
	if r2.Header.Get("Strict-Transport-Security") == "" {
		t.Error("over TLS: no HSTS")
	}
	// A tampered cookie is no session.
	u, _ := url.Parse(f.ts.URL)
	cookies := c.hc.Jar.Cookies(u)
	for _, ck := range cookies {
		if ck.Name == "mamori_session" {
			p, sig, _ := strings.Cut(ck.Value, ".")
			forged := &http.Cookie{Name: ck.Name, Value: p + "x." + sig, Path: "/"}
			c.hc.Jar.SetCookies(u, []*http.Cookie{forged})
		}
	}
	if r := c.get("/"); r.StatusCode != http.StatusSeeOther {
		t.Errorf("tampered cookie: %d, want a redirect to sign in", r.StatusCode)
	}
}

func TestAuditTrail(t *testing.T) {
	f := newFixture(t)
	f.client("x").post("/login", url.Values{"user": {"A-reader"}, "password": {"wrong"}}, "")
	b := f.signedIn("B-reader")
	b.get("/objects/" + idSecretB)                      // restricted: audited
	b.get("/objects/" + idSharedInd)                    // community: not audited
	f.signedIn("A-reader").get("/objects/" + idSecretB) // invisible: nothing read
	got := strings.Join(f.auditActions(), "\n")
	for _, want := range []string{"auth.fail:A-reader:/login", "login:B-reader:", "read:B-reader:" + idSecretB, "login:A-reader:"} {
		if !strings.Contains(got, want) {
			t.Errorf("audit trail lacks %q:\n%s", want, got)
		}
	}
	if strings.Contains(got, "read:B-reader:"+idSharedInd) || strings.Contains(got, "read:A-reader") {
		t.Errorf("audit trail has reads it should not:\n%s", got)
	}
	if _, err := f.audit.Verify(t.Context()); err != nil {
		t.Fatal(err)
	}
}

func TestImport(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn("A-analyst")
	doc := bundle(indicatorJSON("indicator--abcdefab-0000-4000-8000-000000000001", "Uploaded indicator", "192.0.2.55", "2025-03-01T00:00:00.000Z", ""),
		`{"type":"indicator","id":"indicator--bad"}`)
	// The token must be there, and before the file.
	if r := c.upload(nil, doc, "-", true); r.StatusCode != 403 {
		t.Fatalf("no token: %d", r.StatusCode)
	}
	if r := c.upload(nil, doc, "", false); r.StatusCode != 403 {
		t.Fatalf("token after the file: %d", r.StatusCode)
	}
	if r := c.upload(nil, doc, "wrong", true); r.StatusCode != 403 {
		t.Fatalf("wrong token: %d", r.StatusCode)
	}
	if r := f.signedIn("A-reader").upload(nil, doc, "", true); r.StatusCode != 403 {
		t.Fatalf("reader: %d", r.StatusCode)
	}
	c.get("/") // figures computed before the import must not hide it
	r := c.upload(map[string]string{"distribution": "org"}, doc, "", true)
	if r.StatusCode != 303 || !strings.HasPrefix(r.Header.Get("Location"), "/import/") {
		t.Fatalf("import: %d %s", r.StatusCode, excerpt(r.body))
	}
	res := c.get(r.Header.Get("Location"))
	for _, want := range []string{"The import is complete", "$.objects[1]"} {
		if !strings.Contains(res.body, want) {
			t.Errorf("result lacks %q\n%s", want, excerpt(res.body))
		}
	}
	// Another user cannot read the result page.
	if r := f.signedIn("A-admin").get(r.Header.Get("Location")); r.StatusCode != 404 {
		t.Errorf("someone else's result: %d", r.StatusCode)
	}
	// Distribution org: A sees it, B does not.
	if r := c.get("/search?value=192.0.2.55"); !strings.Contains(r.body, "Uploaded indicator") {
		t.Errorf("A cannot find its import")
	}
	if r := f.signedIn("B-admin").get("/search?value=192.0.2.55"); strings.Contains(r.body, "Uploaded indicator") {
		t.Errorf("B finds A's organisation-only import")
	}
	if r := c.get("/"); !strings.Contains(r.body, "Uploaded indicator") {
		t.Errorf("the dashboard does not show the import in recently added")
	}
	// Not a bundle: nothing written, said plainly.
	r = c.upload(nil, `{"hello":"world"}`, "", true)
	if res := c.get(r.Header.Get("Location")); !strings.Contains(res.body, "Nothing was written") {
		t.Errorf("non-bundle: %s", excerpt(res.body))
	}
	// An empty file.
	r = c.upload(nil, "", "", true)
	if res := c.get(r.Header.Get("Location")); !strings.Contains(res.body, "Nothing was written") {
		t.Errorf("empty file: %s", excerpt(res.body))
	}
	if !strings.Contains(strings.Join(f.auditActions(), "\n"), "import:A-analyst:") {
		t.Error("import not audited")
	}
}

func TestLanguage(t *testing.T) {
	f := newFixture(t)
	c := f.signedIn("A-reader")
	c.lang = "ja,en;q=0.5"
	r := c.get("/")
	if !strings.Contains(r.body, `<html lang="ja">`) || !strings.Contains(r.body, "ダッシュボード") {
		t.Fatalf("Accept-Language ja: %s", excerpt(r.body))
	}
	// The switch wins over Accept-Language.
	c.post("/lang", url.Values{"lang": {"en"}, "back": {"/"}}, "")
	if r := c.get("/"); !strings.Contains(r.body, `<html lang="en">`) {
		t.Fatal("the language switch did not stick")
	}
	c.post("/lang", url.Values{"lang": {"ja"}, "back": {"/"}}, "")
	if r := c.get("/search?q=beacon"); !strings.Contains(r.body, "検索") {
		t.Fatal("switch to ja")
	}
	// Unsupported languages fall back to English.
	d := f.client("x")
	d.lang = "de-DE"
	if r := d.get("/login"); !strings.Contains(r.body, `<html lang="en">`) {
		t.Fatal("fallback")
	}
}

// TestConcurrentReaders: readers of both organisations at once, while an
// import makes the dashboard figures stale (run with -race).
func TestConcurrentReaders(t *testing.T) {
	f := newFixture(t)
	clients := []*client{f.signedIn("A-reader"), f.signedIn("B-reader"), f.signedIn("A-analyst")}
	done := make(chan string, 64)
	for i, c := range clients {
		go func() {
			for j := range 8 {
				for _, p := range []string{"/", "/search?q=beacon", "/search", "/objects/" + idSharedInd} {
					req, _ := http.NewRequest("GET", f.ts.URL+p, nil)
					resp, err := c.hc.Do(req)
					if err != nil {
						done <- err.Error()
						return
					}
					resp.Body.Close()
					if resp.StatusCode != 200 {
						done <- p + ": " + resp.Status
						return
					}
				}
				if i == 2 && j == 3 {
					c.f.t = t
					doc := bundle(indicatorJSON("indicator--abcdefab-0000-4000-8000-00000000c0c0", "Concurrent", "192.0.2.99", "2025-03-01T00:00:00.000Z", ""))
					if r := c.upload(nil, doc, "", true); r.StatusCode != 303 {
						done <- "import: " + r.Status
						return
					}
				}
			}
			done <- ""
		}()
	}
	for range clients {
		if msg := <-done; msg != "" {
			t.Error(msg)
		}
	}
}
