package taxii

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// Defaults of Options.
const (
	DefaultMaxContentLength = 100 << 20
	DefaultPageSize         = 1000
	DefaultMaxPageSize      = 10000
	DefaultStatusRetention  = 7 * 24 * time.Hour
)

// Prefix is where the server is mounted: the TAXII 2.1 discovery URL.
const Prefix = "/taxii2/"

// APIRoot configures one API root.
type APIRoot struct {
	// Name is the root's path segment: the root is served at /taxii2/{Name}/.
	Name        string
	Title       string
	Description string
	// Collections, when set, limits the root to these collections (ids or
	// titles); by default every mamori collection is in every root.
	Collections []string
}

// Options configure the server.
type Options struct {
	Store    store.Store
	Importer *ingest.Importer
	// Auth identifies callers (HTTP Basic or Bearer); every endpoint requires
	// a principal, so a nil Auth answers 401 to everything.
	Auth access.Authenticator
	// State keeps status resources; default: Store when it implements
	// StateStore, else an in-memory state.
	State StateStore

	// Title, Description and Contact describe the server in discovery.
	Title, Description, Contact string
	// APIRoots are the roots served; default one root "api1". The first is
	// the default root.
	APIRoots []APIRoot
	// MaxContentLength is the largest POST body, advertised in the API root
	// resource; default 100 MiB.
	MaxContentLength int64
	// CursorKey signs next cursors (see LoadCursorKey); default a random
	// key, valid until the process ends.
	CursorKey []byte
	// DefaultPageSize and MaxPageSize bound pages; defaults 1000 and 10000.
	DefaultPageSize, MaxPageSize int
	// StatusRetention is how long status resources stay readable; default
	// seven days (TAXII asks for at least 24 hours).
	StatusRetention time.Duration
	// ErrorDocs is the external_details URL of error messages.
	ErrorDocs string
	Log       *slog.Logger
}

// Server serves TAXII 2.1; mount it at Prefix.
type Server struct {
	opts  Options
	roots map[string]*APIRoot
	now   func() time.Time

	pruneMu   sync.Mutex
	lastPrune time.Time
}

// NewServer builds the TAXII handler.
func NewServer(opts Options) *Server {
	if len(opts.APIRoots) == 0 {
		opts.APIRoots = []APIRoot{{Name: "api1"}}
	}
	if opts.Title == "" {
		opts.Title = "mamori TAXII 2.1"
	}
	if opts.MaxContentLength <= 0 {
		opts.MaxContentLength = DefaultMaxContentLength
	}
	if opts.DefaultPageSize <= 0 {
		opts.DefaultPageSize = DefaultPageSize
	}
	if opts.MaxPageSize <= 0 {
		opts.MaxPageSize = DefaultMaxPageSize
	}
	opts.DefaultPageSize = min(opts.DefaultPageSize, opts.MaxPageSize)
	if opts.StatusRetention <= 0 {
		opts.StatusRetention = DefaultStatusRetention
	}
	if opts.ErrorDocs == "" {
		opts.ErrorDocs = DefaultErrorDocs
	}
	if opts.Log == nil {
		opts.Log = slog.Default()
	}
	if opts.State == nil {
		if st, ok := opts.Store.(StateStore); ok {
			opts.State = st
		} else {
			opts.State = NewMemoryState()
		}
	}
	if len(opts.CursorKey) == 0 {
		opts.CursorKey = make([]byte, 32)
		rand.Read(opts.CursorKey)
	}
	s := &Server{opts: opts, roots: map[string]*APIRoot{}, now: time.Now}
	for i := range opts.APIRoots {
		r := &s.opts.APIRoots[i]
		if r.Title == "" {
			r.Title = "mamori " + r.Name
		}
		s.roots[r.Name] = r
	}
	return s
}

type routeKind int

const (
	rDiscovery routeKind = iota + 1
	rAPIRoot
	rStatus
	rCollections
	rCollection
	rObjects
	rObject
	rVersions
	rManifest
)

type route struct {
	kind       routeKind
	root       *APIRoot
	coll       string
	object     string
	statusID   string
	allowed    string // Allow header
	stixAccept bool   // the endpoint also produces application/stix+json
}

// parseRoute maps a path (with or without the /taxii2 prefix, with or
// without the trailing slash the specification's URLs end with) to an
// endpoint.
func (s *Server) parseRoute(path string) (route, bool) {
	rest := path
	switch {
	case strings.HasPrefix(path, Prefix):
		rest = path[len(Prefix):]
	case path == strings.TrimSuffix(Prefix, "/"):
		rest = ""
	default:
		rest = strings.TrimPrefix(path, "/")
	}
	rest = strings.TrimSuffix(rest, "/")
	if rest == "" {
		return route{kind: rDiscovery, allowed: "GET"}, true
	}
	segs := strings.Split(rest, "/")
	for _, seg := range segs {
		if seg == "" {
			return route{}, false
		}
	}
	root := s.roots[segs[0]]
	if root == nil {
		return route{}, false
	}
	rt := route{root: root, allowed: "GET"}
	switch {
	case len(segs) == 1:
		rt.kind = rAPIRoot
	case len(segs) == 3 && segs[1] == "status":
		rt.kind, rt.statusID = rStatus, segs[2]
	case segs[1] != "collections":
		return route{}, false
	case len(segs) == 2:
		rt.kind = rCollections
	case len(segs) == 3:
		rt.kind, rt.coll = rCollection, segs[2]
	case len(segs) == 4 && segs[3] == "objects":
		rt.kind, rt.coll, rt.allowed, rt.stixAccept = rObjects, segs[2], "GET, POST", true
	case len(segs) == 4 && segs[3] == "manifest":
		rt.kind, rt.coll, rt.stixAccept = rManifest, segs[2], true
	case len(segs) == 5 && segs[3] == "objects":
		rt.kind, rt.coll, rt.object, rt.allowed, rt.stixAccept = rObject, segs[2], segs[4], "GET, DELETE", true
	case len(segs) == 6 && segs[3] == "objects" && segs[5] == "versions":
		rt.kind, rt.coll, rt.object, rt.stixAccept = rVersions, segs[2], segs[4], true
	default:
		return route{}, false
	}
	return rt, true
}

func methodAllowed(allowed, method string) bool {
	for _, m := range strings.Split(allowed, ", ") {
		if m == method {
			return true
		}
	}
	return false
}

// ServeHTTP authenticates, routes and negotiates, then runs the endpoint.
// Every failure is a TAXII error message.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p, herr := s.authenticate(r)
	if herr != nil {
		s.writeError(w, r, herr)
		return
	}
	r = r.WithContext(access.WithPrincipal(r.Context(), p))
	rt, ok := s.parseRoute(r.URL.Path)
	if !ok {
		s.writeError(w, r, errNotFound("no TAXII endpoint at "+r.URL.Path))
		return
	}
	if !methodAllowed(rt.allowed, r.Method) {
		e := newError(http.StatusMethodNotAllowed, "method-not-allowed", "Method not allowed", r.Method+" is not supported here; use "+rt.allowed)
		e.header = http.Header{"Allow": {rt.allowed}}
		s.writeError(w, r, e)
		return
	}
	stixOK := rt.stixAccept && r.Method == http.MethodGet
	media := negotiate(r.Header.Values("Accept"), stixOK)
	if media == mediaNone {
		want := MediaTAXII
		if stixOK {
			want += " or " + MediaSTIX
		}
		e := newError(http.StatusNotAcceptable, "not-acceptable", "Not acceptable", "the Accept header allows no media type this endpoint produces: accept "+want)
		s.writeError(w, r, e)
		return
	}
	ctx := r.Context()
	var err *httpError
	switch rt.kind {
	case rDiscovery:
		err = s.discovery(w, r)
	case rAPIRoot:
		err = s.writeJSON(w, http.StatusOK, mediaTAXII, APIRootInfo{Title: rt.root.Title, Description: rt.root.Description,
			Versions: []string{MediaTAXII}, MaxContentLength: s.opts.MaxContentLength})
	case rStatus:
		err = s.status(ctx, w, rt, p)
	case rCollections:
		err = s.collections(ctx, w, rt, p)
	case rCollection:
		var c store.Collection
		if c, err = s.collection(ctx, rt); err == nil {
			err = s.writeJSON(w, http.StatusOK, mediaTAXII, collectionInfo(c, p))
		}
	case rObjects:
		if r.Method == http.MethodPost {
			err = s.addObjects(w, r, rt, p)
		} else {
			err = s.list(w, r, rt, p, epObjects, media)
		}
	case rManifest:
		err = s.list(w, r, rt, p, epManifest, media)
	case rObject:
		if r.Method == http.MethodDelete {
			err = s.deleteObject(w, r, rt, p)
		} else {
			err = s.list(w, r, rt, p, epObject, media)
		}
	case rVersions:
		err = s.list(w, r, rt, p, epVersions, media)
	}
	if err != nil {
		if errors.Is(ctx.Err(), context.Canceled) {
			return
		}
		s.writeError(w, r, err)
	}
}

func (s *Server) authenticate(r *http.Request) (*access.Principal, *httpError) {
	var p *access.Principal
	err := access.ErrUnauthenticated
	if s.opts.Auth != nil {
		p, err = s.opts.Auth.Authenticate(r)
	}
	switch {
	case errors.Is(err, access.ErrThrottled):
		e := newError(http.StatusTooManyRequests, "too-many-requests", "Too many requests", "too many requests or failed sign-ins; retry later")
		e.header = http.Header{"Retry-After": {"60"}}
		return nil, e
	case err != nil || p == nil:
		e := newError(http.StatusUnauthorized, "unauthorized", "Authentication required", "send HTTP Basic credentials or a Bearer token")
		e.header = http.Header{"Www-Authenticate": {`Basic realm="mamori TAXII", charset="UTF-8"`, `Bearer realm="mamori TAXII"`}}
		return nil, e
	}
	return p, nil
}

func (s *Server) writeJSON(w http.ResponseWriter, code int, media mediaKind, v any) *httpError {
	b, err := json.Marshal(v)
	if err != nil {
		return errInternal(err)
	}
	w.Header().Set("Content-Type", media.String())
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
	return nil
}

func (s *Server) rootURL(r *APIRoot) string { return Prefix + r.Name + "/" }

func (s *Server) discovery(w http.ResponseWriter, r *http.Request) *httpError {
	d := Discovery{Title: s.opts.Title, Description: s.opts.Description, Contact: s.opts.Contact}
	for i := range s.opts.APIRoots {
		d.APIRoots = append(d.APIRoots, s.rootURL(&s.opts.APIRoots[i]))
	}
	d.Default = d.APIRoots[0]
	return s.writeJSON(w, http.StatusOK, mediaTAXII, d)
}

func collectionInfo(c store.Collection, p *access.Principal) CollectionInfo {
	return CollectionInfo{ID: c.ID, Title: c.Title, Description: c.Description,
		CanRead: true, CanWrite: p.CanWrite(), MediaTypes: []string{MediaSTIX}}
}

func (root *APIRoot) has(c store.Collection) bool {
	if len(root.Collections) == 0 {
		return true
	}
	for _, k := range root.Collections {
		if k == c.ID || k == c.Title {
			return true
		}
	}
	return false
}

func (s *Server) collections(ctx context.Context, w http.ResponseWriter, rt route, p *access.Principal) *httpError {
	cs, err := s.opts.Store.Collections(ctx)
	if err != nil {
		return errInternal(err)
	}
	var out Collections
	for _, c := range cs {
		if rt.root.has(c) {
			out.Collections = append(out.Collections, collectionInfo(c, p))
		}
	}
	return s.writeJSON(w, http.StatusOK, mediaTAXII, out)
}

// collection finds the route's collection in its API root.
func (s *Server) collection(ctx context.Context, rt route) (store.Collection, *httpError) {
	c, err := s.opts.Store.Collection(ctx, rt.coll)
	if errors.Is(err, store.ErrNotFound) || (err == nil && !rt.root.has(c)) {
		return c, errNotFound("no collection " + rt.coll + " in API root " + rt.root.Name)
	}
	if err != nil {
		return c, errInternal(err)
	}
	return c, nil
}

func (s *Server) status(ctx context.Context, w http.ResponseWriter, rt route, p *access.Principal) *httpError {
	root, org, res, err := s.opts.State.TAXIIStatus(ctx, rt.statusID)
	if errors.Is(err, store.ErrNotFound) || (err == nil && (root != rt.root.Name || org != p.OrgID)) {
		// Another organisation's status is as absent as an unknown one.
		return errNotFound("no status " + rt.statusID)
	}
	if err != nil {
		return errInternal(err)
	}
	w.Header().Set("Content-Type", MediaTAXII)
	w.Header().Set("Content-Length", strconv.Itoa(len(res)))
	w.WriteHeader(http.StatusOK)
	w.Write(res)
	return nil
}

// listing is a parsed listing request: objects, manifest, object, versions.
type listing struct {
	ep    endpoint
	coll  store.Collection
	f     filters
	cur   cursor
	page  pageRequest
	scope string
}

func (s *Server) parseListing(r *http.Request, rt route, p *access.Principal, ep endpoint) (*listing, *httpError) {
	coll, herr := s.collection(r.Context(), rt)
	if herr != nil {
		return nil, herr
	}
	f, herr := parseFilters(r.URL.Query(), ep, s.opts.DefaultPageSize, s.opts.MaxPageSize)
	if herr != nil {
		return nil, herr
	}
	l := &listing{ep: ep, coll: coll, f: f}
	if rt.object != "" {
		l.f.ids = []string{rt.object}
	}
	if ep == epVersions {
		l.f.versions = versionSpec{all: true}
	}
	if ep == epDelete {
		if _, ok := r.URL.Query()["match[version]"]; !ok {
			l.f.versions = versionSpec{all: true}
		}
	}
	l.scope = ep.String() + "|" + rt.root.Name + "|" + coll.ID + "|" + rt.object + "|" + l.f.canonical()
	if f.next != "" {
		c, err := decodeCursor(s.opts.CursorKey, f.next, l.scope)
		if err != nil {
			e := errBadRequest("invalid-next", "next: "+err.Error()+"; repeat the request with the filters that returned it, or start again without next")
			e.details["parameter"] = "next"
			return nil, e
		}
		l.cur = c
	}
	l.page = pageRequest{
		base: store.Query{
			Collection:     coll.ID,
			IDs:            l.f.ids,
			Types:          l.f.types,
			SpecVersions:   l.f.specVersions,
			AddedAfter:     addedAfterBound(l.f.addedAfter),
			IncludeRevoked: true,
			Viewer:         p.Viewer(),
		},
		modes: l.f.versions.modes(),
		after: l.cur.seq,
		limit: l.f.limit,
	}
	return l, nil
}

// exists reports whether the caller can see any version of the listing's
// object in the collection (object endpoints answer 404 otherwise).
func (s *Server) exists(ctx context.Context, l *listing) (bool, error) {
	q := l.page.base
	q.AddedAfter, q.SpecVersions = time.Time{}, nil
	q.Versions = store.VersionsAll
	n, err := s.opts.Store.Count(ctx, q)
	return n > 0, err
}

// emptyDates is what the X-TAXII-Date-Added headers say for a page without
// records: where the request started (so that a client resuming from them
// neither skips nor repeats), else the epoch.
func (l *listing) emptyDates() string {
	switch {
	case l.cur.seq > 0:
		return FormatTimestamp(time.Unix(0, l.cur.added))
	case !l.f.addedAfter.IsZero():
		return FormatTimestamp(l.f.addedAfter)
	}
	return FormatTimestamp(time.Unix(0, 0))
}

// sendError is a failure to send a response body.
type sendError struct{ err error }

func (e *sendError) Error() string { return e.err.Error() }

// countingWriter tells whether anything reached the client yet.
type countingWriter struct {
	w io.Writer
	n int64
}

func (c *countingWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// list serves the listing endpoints: the objects envelope, the manifest,
// one object's envelope and one object's versions.
func (s *Server) list(w http.ResponseWriter, r *http.Request, rt route, p *access.Principal, ep endpoint, media mediaKind) *httpError {
	ctx := r.Context()
	l, herr := s.parseListing(r, rt, p, ep)
	if herr != nil {
		return herr
	}
	if rt.object != "" {
		ok, err := s.exists(ctx, l)
		if err != nil {
			return errInternal(err)
		}
		if !ok {
			return errNotFound("no object " + rt.object + " in collection " + l.coll.ID)
		}
	}
	b, err := s.bounds(ctx, &l.page)
	if err != nil {
		return errInternal(err)
	}
	h := w.Header()
	if b.n > 0 {
		h.Set("X-TAXII-Date-Added-First", FormatTimestamp(b.first))
		h.Set("X-TAXII-Date-Added-Last", FormatTimestamp(b.last))
	} else {
		d := l.emptyDates()
		h.Set("X-TAXII-Date-Added-First", d)
		h.Set("X-TAXII-Date-Added-Last", d)
	}
	h.Set("Content-Type", media.String())
	if b.n == 0 {
		h.Set("Content-Length", "2")
		w.WriteHeader(http.StatusOK)
		io.WriteString(w, "{}")
		return nil
	}
	cw := &countingWriter{w: w}
	bw := bufio.NewWriterSize(cw, 64<<10)
	bw.WriteString(`{"more":`)
	bw.WriteString(strconv.FormatBool(b.more))
	if b.more {
		bw.WriteString(`,"next":"`)
		bw.WriteString(encodeCursor(s.opts.CursorKey, cursor{seq: b.lastSeq, added: b.last.UnixNano()}, l.scope))
		bw.WriteByte('"')
	}
	key := `,"objects":[`
	if ep == epVersions {
		key = `,"versions":[`
	}
	n := 0
	var buf []byte
	err = s.stream(ctx, &l.page, &b, ep == epObjects || ep == epObject, func(rec *store.Record) error {
		if n == 0 {
			bw.WriteString(key)
		} else {
			bw.WriteByte(',')
		}
		n++
		var werr error
		switch ep {
		case epObjects, epObject:
			_, werr = bw.Write(rec.Raw)
		case epVersions:
			buf = appendJSONString(buf[:0], versionOf(rec))
			_, werr = bw.Write(buf)
		case epManifest:
			buf = appendManifestRecord(buf[:0], rec)
			_, werr = bw.Write(buf)
		}
		if werr != nil {
			return &sendError{werr}
		}
		return nil
	})
	if err != nil {
		var we *sendError
		switch {
		case ctx.Err() != nil || errors.As(err, &we):
			// The client went away.
		case cw.n == 0:
			// Nothing was sent: the client gets a proper error.
			return errInternal(err)
		default:
			s.opts.Log.Error("taxii page cut short", "path", r.URL.Path, "err", err)
		}
		return nil
	}
	if n > 0 {
		bw.WriteByte(']')
	}
	bw.WriteByte('}')
	if err := bw.Flush(); err != nil && ctx.Err() == nil {
		s.opts.Log.Debug("taxii write", "path", r.URL.Path, "err", err)
	}
	return nil
}

// versionOf is a record's TAXII version: its modified (else created)
// timestamp; objects without either are versioned by their date_added.
func versionOf(rec *store.Record) string {
	if !rec.Modified.IsZero() {
		return stix.FormatTimestamp(rec.Modified)
	}
	return FormatTimestamp(rec.DateAdded)
}

func appendManifestRecord(b []byte, rec *store.Record) []byte {
	b = append(b, `{"id":`...)
	b = appendJSONString(b, rec.ID)
	b = append(b, `,"date_added":"`...)
	b = rec.DateAdded.UTC().AppendFormat(b, TimestampLayout)
	b = append(b, `","version":`...)
	b = appendJSONString(b, versionOf(rec))
	b = append(b, `,"media_type":"`+MediaSTIX+`"}`...)
	return b
}

// appendJSONString appends s as a JSON string.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c > 0x7e || c == '"' || c == '\\' {
			q, _ := json.Marshal(s)
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}
