package web

import (
	"bytes"
	"context"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"errors"
	"fmt"
	"html/template"
	"io/fs"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"net/url"
	"path"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

//go:embed templates/*.html
var templateFS embed.FS

//go:embed static
var staticFS embed.FS

// Options configure the web interface.
type Options struct {
	Store    store.Store
	Importer *ingest.Importer
	Access   *access.Service
	Audit    *audit.Log
	Log      *slog.Logger

	// Panels that other parts of mamori fill in; nil shows an empty state
	// (Feeds defaults to the feed definitions in the store).
	Alerts   AlertSource
	Exposure ExposureSource
	Assets   AssetSource
	Feeds    FeedSource

	// SessionTTL is how long a sign-in lasts; default 12 hours.
	SessionTTL time.Duration
	// MaxUploadBytes limits an imported file; default 100 MiB.
	MaxUploadBytes int64
	// TAXIIRoot is the TAXII API root shown with each collection; default "api1".
	TAXIIRoot string
	// DashboardRefresh is how old the dashboard's figures may grow before
	// they are brought up to date in the background; default 30 s.
	DashboardRefresh time.Duration
	// DashboardWait is how long a request waits for figures not computed
	// yet before the page shows that they are being prepared; default 500 ms.
	DashboardWait time.Duration
	// CountBudget bounds the time a search spends counting its facets;
	// counts not done in time are shown as lower bounds (and finished in
	// the background for the next request); default 75 ms.
	CountBudget time.Duration
}

// server is the web interface's state.
type server struct {
	opts      Options
	st        store.Store
	log       *slog.Logger
	mux       *http.ServeMux
	pages     map[string]map[string]*template.Template // page → language → template
	locs      map[string]*Localizer
	keys      keyring
	files     map[string]asset
	dash      *dashboards
	imports   *importResults
	counts    countCache    // exact facet counts of recent searches
	countSlot chan struct{} // one search counted in the background at a time
	now       func() time.Time
}

type asset struct {
	body  []byte
	ctype string
	etag  string
}

// New returns the web interface, to be mounted at / beside the API, TAXII,
// health and metrics paths.
func New(opts Options) http.Handler {
	s, err := newServer(opts)
	if err != nil {
		// The templates and catalogues are embedded: an error here is a
		// build defect that the package tests catch.
		panic(err)
	}
	return s
}

func newServer(opts Options) (*server, error) {
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.SessionTTL <= 0 {
		opts.SessionTTL = 12 * time.Hour
	}
	if opts.MaxUploadBytes <= 0 {
		opts.MaxUploadBytes = 100 << 20
	}
	if opts.TAXIIRoot == "" {
		opts.TAXIIRoot = "api1"
	}
	if opts.DashboardRefresh <= 0 {
		opts.DashboardRefresh = 30 * time.Second
	}
	if opts.DashboardWait <= 0 {
		opts.DashboardWait = 500 * time.Millisecond
	}
	if opts.CountBudget <= 0 {
		opts.CountBudget = 75 * time.Millisecond
	}
	if opts.Feeds == nil && opts.Store != nil {
		opts.Feeds = storeFeeds{opts.Store}
	}
	s := &server{opts: opts, st: opts.Store, log: opts.Log, mux: http.NewServeMux(), now: time.Now,
		imports: newImportResults(200), countSlot: make(chan struct{}, 1)}
	s.dash = newDashboards(s)
	cats, err := loadCatalogues()
	if err != nil {
		return nil, err
	}
	s.locs = map[string]*Localizer{}
	for l, c := range cats {
		s.locs[l] = newLocalizer(l, c)
	}
	if err := s.loadAssets(); err != nil {
		return nil, err
	}
	if err := s.loadTemplates(); err != nil {
		return nil, err
	}
	s.routes()
	return s, nil
}

func (s *server) routes() {
	m := s.mux
	m.HandleFunc("GET /{$}", s.authed(s.dashboard))
	m.HandleFunc("GET /login", s.loginPage)
	m.HandleFunc("POST /login", s.loginPost)
	m.HandleFunc("POST /logout", s.logout)
	m.HandleFunc("POST /lang", s.setLang)
	m.HandleFunc("GET /search", s.authed(s.search))
	m.HandleFunc("GET /objects/{id}", s.authed(s.object))
	m.HandleFunc("GET /objects/{id}/json", s.authed(s.objectJSON))
	m.HandleFunc("GET /import", s.authed(s.writer(s.importPage)))
	m.HandleFunc("POST /import", s.authed(s.writer(s.importPost)))
	m.HandleFunc("GET /import/{rid}", s.authed(s.writer(s.importResult)))
	m.HandleFunc("GET /collections", s.authed(s.collections))
	m.HandleFunc("POST /collections", s.authed(s.admin(s.collectionAdd)))
	m.HandleFunc("GET /feeds", s.authed(s.feeds))
	m.HandleFunc("GET /alerts", s.authed(s.alerts))
	m.HandleFunc("GET /assets", s.authed(s.assets))
	m.HandleFunc("GET /exposure", s.authed(s.exposure))
	m.HandleFunc("GET /admin/{$}", s.authed(s.admin(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/admin/users", http.StatusSeeOther)
	})))
	m.HandleFunc("GET /admin/orgs", s.authed(s.admin(s.orgsPage)))
	m.HandleFunc("POST /admin/orgs", s.authed(s.admin(s.orgAdd)))
	m.HandleFunc("GET /admin/users", s.authed(s.admin(s.usersPage)))
	m.HandleFunc("POST /admin/users", s.authed(s.admin(s.userAdd)))
	m.HandleFunc("POST /admin/users/{id}/disable", s.authed(s.admin(s.userDisable)))
	m.HandleFunc("POST /admin/users/{id}/password", s.authed(s.admin(s.userPassword)))
	m.HandleFunc("GET /admin/tokens", s.authed(s.admin(s.tokensPage)))
	m.HandleFunc("POST /admin/tokens", s.authed(s.admin(s.tokenAdd)))
	m.HandleFunc("POST /admin/tokens/{id}/revoke", s.authed(s.admin(s.tokenRevoke)))
	m.HandleFunc("GET /admin/groups", s.authed(s.admin(s.groupsPage)))
	m.HandleFunc("POST /admin/groups", s.authed(s.admin(s.groupAdd)))
	m.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		s.fail(w, r, http.StatusNotFound, "error.not_found")
	})
}

// ---- request state ----

type reqInfo struct {
	p    *access.Principal
	sess *session
	key  []byte
	loc  *Localizer
	// ended is set when a signed-in session was found void on this request.
	ended bool
}

type infoKey struct{}

func info(r *http.Request) *reqInfo {
	ri, _ := r.Context().Value(infoKey{}).(*reqInfo)
	return ri
}

func principal(r *http.Request) *access.Principal { return info(r).p }

// viewer is the read restriction of the request's principal: the same
// check as the REST API and TAXII.
func viewer(r *http.Request) *store.Viewer { return principal(r).Viewer() }

// csp allows nothing but this origin's own files: no inline script or
// style, no plugins, no framing.
const csp = "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; font-src 'self'; connect-src 'self'; " +
	"object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'"

func securityHeaders(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", csp)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Cross-Origin-Opener-Policy", "same-origin")
	h.Set("Cross-Origin-Resource-Policy", "same-origin")
	h.Set("Permissions-Policy", "camera=(), microphone=(), geolocation=(), payment=()")
	if isSecure(r) {
		h.Set("Strict-Transport-Security", "max-age=31536000")
	}
}

var crossOrigin = http.NewCrossOriginProtection()

func (s *server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	securityHeaders(w, r)
	if strings.HasPrefix(r.URL.Path, "/static/") {
		s.static(w, r)
		return
	}
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Vary", "Cookie, Accept-Language")
	if err := crossOrigin.Check(r); err != nil {
		http.Error(w, "cross-origin request refused", http.StatusForbidden)
		return
	}
	key, err := s.keys.get(r.Context(), s)
	if err != nil {
		s.log.Error("web: session key", "err", err)
		http.Error(w, "service unavailable", http.StatusServiceUnavailable)
		return
	}
	ri := &reqInfo{key: key, loc: s.locs[negotiate(r)]}
	now := s.now()
	ri.sess = readSession(r, key, s.opts.SessionTTL, now)
	if ri.sess != nil && ri.sess.UserID != "" {
		p, err := s.sessionPrincipal(r.Context(), ri.sess)
		if err != nil {
			s.log.Error("web: session", "err", err)
			http.Error(w, "service unavailable", http.StatusServiceUnavailable)
			return
		}
		if p == nil {
			// Void: disabled, password changed, or the user is gone. A
			// fresh anonymous session replaces it at once.
			ri.sess = &session{Nonce: newNonce(), Issued: now.UnixNano()}
			setSession(w, r, key, ri.sess, 0)
			ri.ended = true
		}
		ri.p = p
	}
	r = r.WithContext(context.WithValue(r.Context(), infoKey{}, ri))
	if r.Method == http.MethodPost {
		if !s.checkPostCSRF(w, r) {
			s.fail(w, r, http.StatusForbidden, "error.csrf")
			return
		}
	}
	s.mux.ServeHTTP(w, r)
}

// sessionPrincipal returns the principal of a signed-in session, or nil
// when the session is void.
func (s *server) sessionPrincipal(ctx context.Context, sess *session) (*access.Principal, error) {
	u, err := s.st.User(ctx, sess.UserID)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	if u.Disabled || u.Changed.UnixNano() > sess.Issued {
		return nil, nil
	}
	p, err := s.opts.Access.Principal(ctx, u)
	if errors.Is(err, store.ErrNotFound) {
		return nil, nil
	}
	return p, err
}

// checkPostCSRF checks the CSRF token of a form. The import form is
// multipart and streamed: its handler checks the token, which comes first.
func (s *server) checkPostCSRF(w http.ResponseWriter, r *http.Request) bool {
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "multipart/form-data" {
		return r.URL.Path == "/import"
	}
	if ct != "application/x-www-form-urlencoded" {
		return false
	}
	r.Body = http.MaxBytesReader(w, r.Body, 1<<20)
	if err := r.ParseForm(); err != nil {
		return false
	}
	ri := info(r)
	return validCSRF(ri.key, ri.sess, r.PostForm.Get("csrf"))
}

// authed requires a signed-in principal: anyone else goes to the sign-in
// page, which brings them back afterwards.
func (s *server) authed(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		ri := info(r)
		if ri.p == nil {
			q := url.Values{}
			if r.Method == http.MethodGet && r.URL.RequestURI() != "/" {
				q.Set("next", r.URL.RequestURI())
			}
			if ri.ended {
				q.Set("ended", "1")
			}
			target := "/login"
			if len(q) > 0 {
				target += "?" + q.Encode()
			}
			http.Redirect(w, r, target, http.StatusSeeOther)
			return
		}
		h(w, r)
	}
}

// writer requires a role that may write intelligence.
func (s *server) writer(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !principal(r).CanWrite() {
			s.fail(w, r, http.StatusForbidden, "error.forbidden")
			return
		}
		h(w, r)
	}
}

// admin requires an administrator.
func (s *server) admin(h http.HandlerFunc) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if !principal(r).CanAdmin() {
			s.fail(w, r, http.StatusForbidden, "error.forbidden")
			return
		}
		h(w, r)
	}
}

// ---- rendering ----

// pageData is what every page template receives.
type pageData struct {
	Lang    string
	Title   string
	Nav     string // the navigation entry to highlight
	User    *access.Principal
	CSRF    string
	Here    string // this page's path and query, for the language switch
	Refresh int    // seconds before the page reloads itself; 0: never
	Notice  string
	Error   string
	Data    any
}

var pageNames = []string{"login", "dashboard", "search", "object", "import", "import_result", "collections",
	"feeds", "alerts", "assets", "exposure", "admin_orgs", "admin_users", "admin_tokens", "admin_groups", "error"}

func (s *server) loadTemplates() error {
	s.pages = map[string]map[string]*template.Template{}
	for _, name := range pageNames {
		s.pages[name] = map[string]*template.Template{}
		for lang, loc := range s.locs {
			t, err := template.New("layout.html").Funcs(s.funcs(loc)).ParseFS(templateFS,
				"templates/layout.html", "templates/partials.html", "templates/"+name+".html")
			if err != nil {
				return fmt.Errorf("web: template %s: %w", name, err)
			}
			s.pages[name][lang] = t
		}
	}
	return nil
}

func (s *server) funcs(loc *Localizer) template.FuncMap {
	return template.FuncMap{
		"T":        loc.T,
		"TN":       loc.TN,
		"num":      loc.Num,
		"date":     loc.Date,
		"datetime": loc.DateTime,
		"typeName": loc.TypeName,
		"level":    func(l store.Level) string { return loc.T("level." + access.LevelName(l)) },
		"role":     func(r any) string { return loc.T("role." + fmt.Sprint(r)) },
		"tlp":      func(l string) string { return loc.T("tlp." + l) },
		"asset":    s.assetURL,
		"objURL":   objURL,
		"add":      func(a, b int) int { return a + b },
		"f1":       func(f float64) string { return fmt.Sprintf("%.1f", f) },
	}
}

// render writes a page; the body is built in memory first so that a
// template error never sends half a page.
func (s *server) render(w http.ResponseWriter, r *http.Request, status int, name string, pd *pageData) {
	ri := info(r)
	if ri.sess == nil {
		// Every page carries forms (at least the language switch), so
		// every visitor needs a session to bind CSRF tokens to.
		ri.sess = &session{Nonce: newNonce(), Issued: s.now().UnixNano()}
		setSession(w, r, ri.key, ri.sess, 0)
	}
	pd.Lang = ri.loc.Lang
	pd.User = ri.p
	pd.CSRF = csrfToken(ri.key, ri.sess)
	pd.Here = r.URL.RequestURI()
	if r.Method != http.MethodGet {
		pd.Here = r.URL.Path
	}
	var buf bytes.Buffer
	if err := s.pages[name][ri.loc.Lang].ExecuteTemplate(&buf, "layout.html", pd); err != nil {
		s.log.Error("web: render", "page", name, "err", err)
		http.Error(w, "internal error", http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "text/html; charset=utf-8")
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// fail renders an error page with a message from the catalogue.
func (s *server) fail(w http.ResponseWriter, r *http.Request, status int, key string) {
	loc := info(r).loc
	s.render(w, r, status, "error", &pageData{Title: loc.T("error.title"), Error: loc.T(key),
		Data: map[string]any{"Status": status}})
}

// internal logs err and renders a 500 page (a cancelled request is left alone).
func (s *server) internal(w http.ResponseWriter, r *http.Request, err error) {
	if errors.Is(err, context.Canceled) {
		return
	}
	s.log.Error("web: request failed", "method", r.Method, "path", r.URL.Path, "err", err)
	s.fail(w, r, http.StatusInternalServerError, "error.internal")
}

// auditRecord appends to the audit trail when one is configured.
func (s *server) auditRecord(r *http.Request, e audit.Entry) {
	if s.opts.Audit == nil {
		return
	}
	if p := principal(r); p != nil && e.Actor == "" {
		e.Actor, e.Org = p.User, p.OrgID
	}
	if e.Detail == nil {
		e.Detail = map[string]string{"via": "web", "client": clientIP(r)}
	}
	if err := s.opts.Audit.Record(context.WithoutCancel(r.Context()), e); err != nil {
		s.log.Error("web: audit", "action", e.Action, "err", err)
	}
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

// localPath keeps a redirect target on this site: a path starting with a
// single slash, else "/".
func localPath(p string) string {
	if !strings.HasPrefix(p, "/") || strings.HasPrefix(p, "//") || strings.HasPrefix(p, "/\\") || strings.ContainsAny(p, "\r\n") {
		return "/"
	}
	return p
}

func objURL(id string) string { return "/objects/" + url.PathEscape(id) }

// ---- static files ----

func (s *server) loadAssets() error {
	s.files = map[string]asset{}
	return fs.WalkDir(staticFS, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := staticFS.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(b)
		ct := mime.TypeByExtension(path.Ext(p))
		switch path.Ext(p) {
		case ".css":
			ct = "text/css; charset=utf-8"
		case ".js":
			ct = "text/javascript; charset=utf-8"
		case ".svg":
			ct = "image/svg+xml"
		}
		s.files[strings.TrimPrefix(p, "static/")] = asset{body: b, ctype: ct, etag: hex.EncodeToString(sum[:8])}
		return nil
	})
}

// assetURL names a static file with its content hash, so that it can be
// cached for good and a new build is fetched at once.
func (s *server) assetURL(name string) string {
	a, ok := s.files[name]
	if !ok {
		return "/static/" + name
	}
	return "/static/" + name + "?v=" + a.etag
}

func (s *server) static(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	a, ok := s.files[strings.TrimPrefix(r.URL.Path, "/static/")]
	if !ok {
		http.NotFound(w, r)
		return
	}
	etag := `"` + a.etag + `"`
	w.Header().Set("Content-Type", a.ctype)
	w.Header().Set("ETag", etag)
	if r.URL.Query().Get("v") == a.etag {
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	if r.Header.Get("If-None-Match") == etag {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	w.Write(a.body)
}

func isNotFound(err error) bool { return errors.Is(err, store.ErrNotFound) }
