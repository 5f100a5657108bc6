package api

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// Options configure the API.
type Options struct {
	// MaxBodyBytes limits request bodies (POST /api/v1/bundles); default 100 MiB.
	MaxBodyBytes int64
	// Log receives request errors; default slog.Default().
	Log *slog.Logger
	// Registry receives the API's metrics; default a new registry.
	Registry *prometheus.Registry
	// Auth identifies callers; every /api/v1 route requires a principal.
	Auth access.Authenticator
	// Audit, when set, records imports, sign-ins, token use and reads of
	// restricted objects.
	Audit *audit.Log
	// Checks are the readiness checks of /readyz by name (the store is
	// always checked; add the bus and other dependencies).
	Checks map[string]func(context.Context) error
}

// Server holds the API's dependencies.
type Server struct {
	authMu   sync.Mutex
	authSeen map[string]time.Time
	st       store.Store
	im       *ingest.Importer
	opts     Options
	mux      *http.ServeMux
	metrics  *metrics
}

// DefaultMaxBody is the default request body limit.
const DefaultMaxBody = 100 << 20

// MaxPageSize is the largest page the objects endpoints return.
const MaxPageSize = 10000

// New builds the API handler.
func New(st store.Store, im *ingest.Importer, opts Options) *Server {
	if opts.MaxBodyBytes <= 0 {
		opts.MaxBodyBytes = DefaultMaxBody
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.Registry == nil {
		opts.Registry = prometheus.NewRegistry()
	}
	s := &Server{st: st, im: im, opts: opts, mux: http.NewServeMux(), authSeen: map[string]time.Time{}}
	s.metrics = newMetrics(opts.Registry, st)
	s.handle("GET /healthz", s.health)
	s.mux.HandleFunc("GET /readyz", s.ready)
	s.mux.Handle("GET /metrics", promhttp.HandlerFor(opts.Registry, promhttp.HandlerOpts{}))
	s.handle("GET /api/v1/objects", s.authed(s.listObjects))
	s.handle("GET /api/v1/objects/{id}", s.authed(s.getObject))
	s.handle("GET /api/v1/objects/{id}/relationships", s.authed(s.relationships))
	s.handle("POST /api/v1/bundles", s.authed(s.postBundle))
	s.registerExports()
	s.mux.HandleFunc("/api/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, &Error{Status: http.StatusNotFound, Msg: "no such endpoint: " + r.Method + " " + r.URL.Path})
	})
	return s
}

// Handle adds another handler to the API's mux (used by other packages that
// serve under the same listener).
func (s *Server) Handle(pattern string, h http.Handler) { s.mux.Handle(pattern, h) }

// ServeHTTP serves the API with request metrics.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	sw := &statusWriter{ResponseWriter: w, status: http.StatusOK}
	s.mux.ServeHTTP(sw, r)
	_, pattern := s.mux.Handler(r)
	if pattern == "" {
		pattern = "other"
	}
	s.metrics.requests.WithLabelValues(pattern, strconv.Itoa(sw.status)).Inc()
	s.metrics.latency.WithLabelValues(pattern).Observe(time.Since(start).Seconds())
}

type statusWriter struct {
	http.ResponseWriter
	status int
	wrote  bool
}

func (w *statusWriter) WriteHeader(code int) {
	if !w.wrote {
		w.status = code
		w.wrote = true
	}
	w.ResponseWriter.WriteHeader(code)
}

func (w *statusWriter) Write(p []byte) (int, error) {
	w.wrote = true
	return w.ResponseWriter.Write(p)
}

func (w *statusWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// Error is an API error with its HTTP status.
type Error struct {
	Status int    `json:"status"`
	Msg    string `json:"message"`
}

func (e *Error) Error() string { return e.Msg }

func badRequest(format string, a ...any) error {
	return &Error{Status: http.StatusBadRequest, Msg: fmt.Sprintf(format, a...)}
}

// streamed is returned by handlers that wrote the response themselves.
type streamed struct{}

type handlerFunc = func(w http.ResponseWriter, r *http.Request) (any, error)

// authed requires an authenticated principal and puts it in the context.
func (s *Server) authed(h handlerFunc) handlerFunc {
	return func(w http.ResponseWriter, r *http.Request) (any, error) {
		if s.opts.Auth == nil {
			return nil, &Error{Status: http.StatusUnauthorized, Msg: "authentication is not configured"}
		}
		p, err := s.opts.Auth.Authenticate(r)
		switch {
		case errors.Is(err, access.ErrThrottled):
			w.Header().Set("Retry-After", "60")
			return nil, &Error{Status: http.StatusTooManyRequests, Msg: "too many requests; retry later"}
		case err != nil || p == nil:
			w.Header().Set("WWW-Authenticate", `Basic realm="mamori", charset="UTF-8"`)
			w.Header().Add("WWW-Authenticate", `Bearer realm="mamori"`)
			if s.opts.Audit != nil && r.Header.Get("Authorization") != "" {
				user, _, _ := r.BasicAuth()
				s.opts.Audit.Record(r.Context(), audit.Entry{Actor: user, Action: "auth.fail", Target: r.URL.Path, Detail: map[string]string{"client": r.RemoteAddr}})
			}
			return nil, &Error{Status: http.StatusUnauthorized, Msg: "authentication required: HTTP Basic or a Bearer token"}
		}
		s.noteAuth(r, p)
		return h(w, r.WithContext(access.WithPrincipal(r.Context(), p)))
	}
}

// noteAuth records sign-ins and token use in the audit trail, at most once
// per principal every ten minutes so that the trail stays readable.
func (s *Server) noteAuth(r *http.Request, p *access.Principal) {
	if s.opts.Audit == nil {
		return
	}
	key, action := "user:"+p.UserID, "login"
	if p.TokenID != "" {
		key, action = "token:"+p.TokenID, "token.use"
	}
	now := time.Now()
	s.authMu.Lock()
	last, seen := s.authSeen[key]
	if !seen || now.Sub(last) > 10*time.Minute {
		s.authSeen[key] = now
	}
	s.authMu.Unlock()
	if !seen || now.Sub(last) > 10*time.Minute {
		s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: action, Target: p.TokenID, Detail: map[string]string{"client": r.RemoteAddr}})
	}
}

// viewer is the read restriction of the request's principal.
func viewer(r *http.Request) *store.Viewer { return access.FromContext(r.Context()).Viewer() }

// handle registers a handler that returns a value to encode as JSON.
func (s *Server) handle(pattern string, h func(w http.ResponseWriter, r *http.Request) (any, error)) {
	s.mux.HandleFunc(pattern, func(w http.ResponseWriter, r *http.Request) {
		v, err := h(w, r)
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				switch {
				case errors.Is(err, store.ErrNotFound):
					e = &Error{Status: http.StatusNotFound, Msg: err.Error()}
				case errors.Is(err, context.Canceled):
					return
				default:
					s.opts.Log.Error("request failed", "method", r.Method, "path", r.URL.Path, "err", err)
					e = &Error{Status: http.StatusInternalServerError, Msg: "internal error"}
				}
			}
			writeError(w, e)
			return
		}
		if _, ok := v.(streamed); ok {
			return
		}
		writeJSON(w, http.StatusOK, v)
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	enc := json.NewEncoder(w)
	enc.Encode(v)
}

func writeError(w http.ResponseWriter, e *Error) {
	writeJSON(w, e.Status, map[string]*Error{"error": e})
}

func (s *Server) health(w http.ResponseWriter, r *http.Request) (any, error) {
	ctx, cancel := context.WithTimeout(r.Context(), 2*time.Second)
	defer cancel()
	if err := s.st.Ping(ctx); err != nil {
		return nil, &Error{Status: http.StatusServiceUnavailable, Msg: "store: " + err.Error()}
	}
	return map[string]string{"status": "ok"}, nil
}

// ready reports each dependency: 200 when all answer, 503 otherwise, with
// the failing ones named.
func (s *Server) ready(w http.ResponseWriter, r *http.Request) {
	ctx, cancel := context.WithTimeout(r.Context(), 3*time.Second)
	defer cancel()
	checks := map[string]func(context.Context) error{"store": s.st.Ping}
	for name, c := range s.opts.Checks {
		checks[name] = c
	}
	out := map[string]string{}
	status := http.StatusOK
	for name, c := range checks {
		if err := c(ctx); err != nil {
			out[name] = err.Error()
			status = http.StatusServiceUnavailable
		} else {
			out[name] = "ok"
		}
	}
	writeJSON(w, status, out)
}

// parseQuery reads the search filters shared by the objects endpoints.
func parseQuery(r *http.Request) (store.Query, error) {
	v := r.URL.Query()
	q := store.Query{
		Types:      v["type"],
		Text:       v.Get("text"),
		Value:      stix.NormalizeValue(v.Get("value")),
		Ref:        v.Get("ref"),
		Label:      v.Get("label"),
		ExternalID: v.Get("external_id"),
		CreatedBy:  v.Get("created_by"),
		Limit:      100,
	}
	if l := v.Get("limit"); l != "" {
		n, err := strconv.Atoi(l)
		if err != nil || n < 1 {
			return q, badRequest("limit: want a positive integer, got %q", l)
		}
		q.Limit = min(n, MaxPageSize)
	}
	for _, name := range []string{"all_versions", "include_revoked"} {
		if s := v.Get(name); s != "" {
			b, err := strconv.ParseBool(s)
			if err != nil {
				return q, badRequest("%s: want true or false, got %q", name, s)
			}
			if name == "all_versions" && b {
				q.Versions = store.VersionsAll
			} else if name == "include_revoked" {
				q.IncludeRevoked = b
			}
		}
	}
	if s := v.Get("modified_since"); s != "" {
		t, err := stix.ParseTimestamp(s)
		if err != nil {
			return q, badRequest("modified_since: %v", err)
		}
		q.ModifiedSince = t
	}
	if c := v.Get("next"); c != "" {
		seq, err := decodeCursor(c)
		if err != nil {
			return q, badRequest("next: %v", err)
		}
		q.AfterSeq = seq
	}
	return q, nil
}

const cursorPrefix = "c1."

func encodeCursor(seq int64) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString(strconv.AppendInt(nil, seq, 10))
}

func decodeCursor(c string) (int64, error) {
	b, err := base64.RawURLEncoding.DecodeString(strings.TrimPrefix(c, cursorPrefix))
	if err != nil || !strings.HasPrefix(c, cursorPrefix) {
		return 0, store.ErrInvalidCursor
	}
	n, err := strconv.ParseInt(string(b), 10, 64)
	if err != nil || n < 0 {
		return 0, store.ErrInvalidCursor
	}
	return n, nil
}

// streamPage writes {"objects":[...],"more":…,"next":…} for q, reading one
// record past the limit to know whether more follow.
func (s *Server) streamPage(w http.ResponseWriter, r *http.Request, q store.Query) (any, error) {
	limit := q.Limit
	q.Limit = limit + 1
	it, err := s.st.Query(r.Context(), q)
	if err != nil {
		return nil, err
	}
	defer it.Close()
	w.Header().Set("Content-Type", "application/json")
	started := false
	n := 0
	var last int64
	more := false
	for it.Next() {
		if n == limit {
			more = true
			break
		}
		rec := it.At()
		if !started {
			io.WriteString(w, `{"objects":[`)
			started = true
		} else {
			io.WriteString(w, ",")
		}
		w.Write(rec.Raw)
		last = rec.Seq
		n++
	}
	if err := it.Err(); err != nil {
		if !started {
			return nil, err
		}
		s.opts.Log.Error("stream failed", "path", r.URL.Path, "err", err)
		return streamed{}, nil // the status line is gone; the client sees truncated JSON
	}
	if !started {
		io.WriteString(w, `{"objects":[`)
	}
	io.WriteString(w, `],"more":`+strconv.FormatBool(more))
	if more {
		io.WriteString(w, `,"next":"`+encodeCursor(last)+`"`)
	}
	io.WriteString(w, "}\n")
	return streamed{}, nil
}

func (s *Server) listObjects(w http.ResponseWriter, r *http.Request) (any, error) {
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	q.Viewer = viewer(r)
	return s.streamPage(w, r, q)
}

func (s *Server) getObject(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if all, _ := strconv.ParseBool(r.URL.Query().Get("all_versions")); all {
		q := store.Query{IDs: []string{id}, Versions: store.VersionsAll, IncludeRevoked: true, Viewer: viewer(r)}
		n, err := s.st.Count(r.Context(), q)
		if err != nil {
			return nil, err
		}
		if n == 0 {
			return nil, &Error{Status: http.StatusNotFound, Msg: "no object " + id}
		}
		q.Limit = MaxPageSize
		return s.streamPage(w, r, q)
	}
	rec, err := s.st.Get(r.Context(), id, store.GetOptions{Viewer: viewer(r)})
	if err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &Error{Status: http.StatusNotFound, Msg: "no object " + id}
		}
		return nil, err
	}
	s.noteRestrictedRead(r, rec)
	w.Header().Set("Content-Type", "application/json")
	w.Write(rec.Raw)
	io.WriteString(w, "\n")
	return streamed{}, nil
}

func (s *Server) relationships(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("id")
	q, err := parseQuery(r)
	if err != nil {
		return nil, err
	}
	if _, err := s.st.Get(r.Context(), id, store.GetOptions{Viewer: viewer(r)}); err != nil {
		if errors.Is(err, store.ErrNotFound) {
			return nil, &Error{Status: http.StatusNotFound, Msg: "no object " + id}
		}
		return nil, err
	}
	q.Ref = id
	q.Types = []string{"relationship"}
	q.Viewer = viewer(r)
	return s.streamPage(w, r, q)
}

func (s *Server) postBundle(w http.ResponseWriter, r *http.Request) (any, error) {
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Msg: "send a STIX bundle as application/json or application/stix+json, not " + ct}
	}
	if r.ContentLength > s.opts.MaxBodyBytes {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body is %d bytes, the limit is %d", r.ContentLength, s.opts.MaxBodyBytes)}
	}
	p := access.FromContext(r.Context())
	if !p.CanWrite() {
		return nil, &Error{Status: http.StatusForbidden, Msg: "role " + string(p.Role) + " may not import"}
	}
	body := http.MaxBytesReader(w, r.Body, s.opts.MaxBodyBytes)
	v := r.URL.Query()
	opts := ingest.Options{Owner: p.OrgID, Level: store.LevelCommunity}
	if b, err := strconv.ParseBool(v.Get("strict")); err == nil {
		opts.Strict = b
	}
	if c := v.Get("collection"); c != "" {
		coll, err := s.st.Collection(r.Context(), c)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, &Error{Status: http.StatusNotFound, Msg: "no collection " + c}
			}
			return nil, err
		}
		opts.Collection = coll.ID
		opts.Level, opts.Group = coll.Level, coll.Group
	}
	if d := v.Get("distribution"); d != "" {
		lvl, err := access.ParseLevel(d)
		if err != nil {
			return nil, badRequest("distribution: %v", err)
		}
		opts.Level = lvl
	}
	if g := v.Get("sharing_group"); g != "" {
		grp, err := s.st.Group(r.Context(), g)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, badRequest("sharing_group: no group %q", g)
			}
			return nil, err
		}
		if !memberOf(p, grp.ID) {
			return nil, &Error{Status: http.StatusForbidden, Msg: "your organisation is not a member of sharing group " + g}
		}
		opts.Group = grp.ID
		if v.Get("distribution") == "" {
			opts.Level = store.LevelGroup
		}
	}
	var rejections []ingest.Rejection
	opts.OnReject = func(rj ingest.Rejection) {
		if len(rejections) < 1000 {
			rj.Object = nil
			rejections = append(rejections, rj)
		}
	}
	res, err := s.im.ImportBundle(r.Context(), body, "request", opts)
	if s.opts.Audit != nil {
		s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "import", Target: opts.Collection,
			Detail: map[string]any{"read": res.Read, "new": res.New, "new_versions": res.NewVersions, "rejected": res.Rejected, "committed": err == nil}})
	}
	s.metrics.imported.Add(float64(res.New + res.NewVersions))
	s.metrics.rejected.Add(float64(res.Rejected))
	type reply struct {
		ingest.Result
		Rejections []ingest.Rejection `json:"rejections"`
	}
	if err != nil {
		var mbe *http.MaxBytesError
		switch {
		case errors.As(err, &mbe):
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body exceeds the limit of %d bytes; nothing was written", mbe.Limit)}
		case errors.Is(err, ingest.ErrStrict):
			writeJSON(w, http.StatusUnprocessableEntity, reply{res, rejections})
			return streamed{}, nil
		case errors.Is(err, ingest.ErrNotBundle):
			return nil, badRequest("%v; nothing was written", err)
		}
		var se *ingest.SyntaxError
		if errors.As(err, &se) {
			return nil, badRequest("malformed JSON at %v; nothing was written", se)
		}
		return nil, err
	}
	if rejections == nil {
		rejections = []ingest.Rejection{}
	}
	return reply{res, rejections}, nil
}

func memberOf(p *access.Principal, group string) bool {
	for _, g := range p.Groups {
		if g == group {
			return true
		}
	}
	return false
}

// noteRestrictedRead audits reads of objects not shared with the whole community.
func (s *Server) noteRestrictedRead(r *http.Request, rec *store.Record) {
	if s.opts.Audit == nil || rec.Access.Level >= store.LevelCommunity {
		return
	}
	p := access.FromContext(r.Context())
	s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "read", Target: rec.ID})
}

type metrics struct {
	requests *prometheus.CounterVec
	latency  *prometheus.HistogramVec
	imported prometheus.Counter
	rejected prometheus.Counter
}

func newMetrics(reg *prometheus.Registry, st store.Store) *metrics {
	m := &metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "mamori_http_requests_total", Help: "HTTP requests by route and status."}, []string{"route", "status"}),
		latency:  prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "mamori_http_request_duration_seconds", Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2, 16)}, []string{"route"}),
		imported: prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_api_imported_objects_total", Help: "Object versions written through the API."}),
		rejected: prometheus.NewCounter(prometheus.CounterOpts{Name: "mamori_api_rejected_objects_total", Help: "Objects rejected by validation through the API."}),
	}
	reg.MustRegister(m.requests, m.latency, m.imported, m.rejected, &storeCollector{st: st},
		prometheus.NewGoCollector(), prometheus.NewProcessCollector(prometheus.ProcessCollectorOpts{}))
	return m
}

// storeCollector reports object counts by type at scrape time.
type storeCollector struct{ st store.Store }

var objectsDesc = prometheus.NewDesc("mamori_store_objects", "Latest object versions in the store, by STIX type.", []string{"type"}, nil)

func (c *storeCollector) Describe(ch chan<- *prometheus.Desc) { ch <- objectsDesc }

func (c *storeCollector) Collect(ch chan<- prometheus.Metric) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	st, err := c.st.Stats(ctx)
	if err != nil {
		return
	}
	for t, n := range st.ByType {
		ch <- prometheus.MustNewConstMetric(objectsDesc, prometheus.GaugeValue, float64(n), t)
	}
}
