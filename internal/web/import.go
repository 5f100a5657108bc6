package web

import (
	"bufio"
	"compress/gzip"
	"context"
	"errors"
	"fmt"
	"io"
	"mime/multipart"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// The import form is sent as multipart/form-data with the CSRF token and
// the options before the file; the handler reads the parts in order and
// streams the file into the importer, so that nothing is buffered whole
// and the browser's upload progress is also the import's progress.

const maxRejectionsShown = 50

type importData struct {
	Collections []store.Collection
	Groups      []store.Group
	Levels      []string
	MaxMB       int64
	Error       string
}

type importResult struct {
	id, userID string
	at         time.Time
	File       string
	Result     ingest.Result
	Rejections []rejectionRow
	Failure    string // why nothing was written
}

type rejectionRow struct {
	Path, ID string
	Reasons  []string
}

// importResults keeps the last results in memory for their result pages.
type importResults struct {
	mu   sync.Mutex
	max  int
	list []*importResult
}

func newImportResults(n int) *importResults { return &importResults{max: n} }

func (ir *importResults) add(r *importResult) {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	ir.list = append(ir.list, r)
	if len(ir.list) > ir.max {
		ir.list = slices.Delete(ir.list, 0, len(ir.list)-ir.max)
	}
}

func (ir *importResults) get(id, userID string) *importResult {
	ir.mu.Lock()
	defer ir.mu.Unlock()
	for _, r := range ir.list {
		if r.id == id && r.userID == userID {
			return r
		}
	}
	return nil
}

func (s *server) importForm(ctx context.Context, p *access.Principal) (*importData, error) {
	d := &importData{Levels: []string{"org", "group", "community", "connected", "public"}, MaxMB: s.opts.MaxUploadBytes >> 20}
	colls, err := s.st.Collections(ctx)
	if err != nil {
		return nil, err
	}
	d.Collections = colls
	groups, err := s.st.Groups(ctx)
	if err != nil {
		return nil, err
	}
	for _, g := range groups {
		if slices.Contains(p.Groups, g.ID) {
			d.Groups = append(d.Groups, g)
		}
	}
	return d, nil
}

func (s *server) importPage(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	d, err := s.importForm(r.Context(), ri.p)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.render(w, r, http.StatusOK, "import", &pageData{Title: ri.loc.T("import.title"), Nav: "import", Data: d})
}

func (s *server) importAgain(w http.ResponseWriter, r *http.Request, status int, key string) {
	ri := info(r)
	d, err := s.importForm(r.Context(), ri.p)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	d.Error = ri.loc.T(key)
	s.render(w, r, status, "import", &pageData{Title: ri.loc.T("import.title"), Nav: "import", Data: d})
}

func (s *server) importPost(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	r.Body = http.MaxBytesReader(w, r.Body, s.opts.MaxUploadBytes+1<<20)
	mr, err := r.MultipartReader()
	if err != nil {
		s.fail(w, r, http.StatusBadRequest, "error.bad_request")
		return
	}
	fields := map[string]string{}
	for {
		part, err := mr.NextPart()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			s.fail(w, r, http.StatusBadRequest, "error.bad_request")
			return
		}
		name := part.FormName()
		if name != "file" {
			b, _ := io.ReadAll(io.LimitReader(part, 4096))
			fields[name] = string(b)
			part.Close()
			continue
		}
		// The token must come before the file.
		if !validCSRF(ri.key, ri.sess, fields["csrf"]) {
			s.fail(w, r, http.StatusForbidden, "error.csrf")
			return
		}
		if part.FileName() == "" {
			break
		}
		s.importFile(w, r, part, fields)
		return
	}
	if !validCSRF(ri.key, ri.sess, fields["csrf"]) {
		s.fail(w, r, http.StatusForbidden, "error.csrf")
		return
	}
	s.importAgain(w, r, http.StatusBadRequest, "import.no_file")
}

func (s *server) importFile(w http.ResponseWriter, r *http.Request, part *multipart.Part, fields map[string]string) {
	ri := info(r)
	p := ri.p
	ctx := r.Context()
	opts := ingest.Options{Owner: p.OrgID, Level: store.LevelCommunity}
	if c := strings.TrimSpace(fields["collection"]); c != "" {
		coll, err := s.st.Collection(ctx, c)
		if isNotFound(err) {
			s.importAgain(w, r, http.StatusBadRequest, "import.no_collection")
			return
		}
		if err != nil {
			s.internal(w, r, err)
			return
		}
		opts.Collection, opts.Level, opts.Group = coll.ID, coll.Level, coll.Group
	}
	dist := strings.TrimSpace(fields["distribution"])
	if dist != "" {
		lvl, err := access.ParseLevel(dist)
		if err != nil {
			s.importAgain(w, r, http.StatusBadRequest, "error.bad_request")
			return
		}
		opts.Level = lvl
	}
	if g := strings.TrimSpace(fields["group"]); g != "" {
		if !slices.Contains(p.Groups, g) {
			s.importAgain(w, r, http.StatusForbidden, "import.not_member")
			return
		}
		opts.Group = g
		if dist == "" {
			opts.Level = store.LevelGroup
		}
	}
	opts.Strict = fields["strict"] != ""
	res := &importResult{id: newNonce(), userID: p.UserID, at: s.now(), File: truncate(part.FileName(), 200)}
	opts.OnReject = func(rj ingest.Rejection) {
		if len(res.Rejections) < maxRejectionsShown {
			row := rejectionRow{Path: rj.Path, ID: rj.ID}
			for i, v := range rj.Violations {
				if i == 5 {
					break
				}
				row.Reasons = append(row.Reasons, violationText(v))
			}
			res.Rejections = append(res.Rejections, row)
		}
	}
	// A gzip file is read through gzip.
	br := bufio.NewReaderSize(part, 64<<10)
	var src io.Reader = br
	if head, _ := br.Peek(2); len(head) == 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(br)
		if err != nil {
			res.Failure = ri.loc.T("import.bad_gzip")
		} else {
			defer zr.Close()
			src = &limitedReader{r: zr, n: 8 * s.opts.MaxUploadBytes}
		}
	}
	if s.opts.Importer == nil {
		s.fail(w, r, http.StatusServiceUnavailable, "error.internal")
		return
	}
	if res.Failure == "" {
		out, err := s.opts.Importer.ImportBundle(ctx, src, "web:"+res.File, opts)
		res.Result = out
		var mbe *http.MaxBytesError
		var se *ingest.SyntaxError
		switch {
		case err == nil:
		case errors.As(err, &mbe), errors.Is(err, errTooLarge):
			res.Failure = ri.loc.T("import.too_large", s.opts.MaxUploadBytes>>20)
		case errors.Is(err, ingest.ErrStrict):
			res.Failure = ri.loc.T("import.strict_failed")
		case errors.Is(err, ingest.ErrNotBundle):
			res.Failure = ri.loc.T("import.not_bundle")
		case errors.As(err, &se):
			res.Failure = ri.loc.T("import.malformed", se.Error())
		case errors.Is(err, context.Canceled):
			return
		default:
			s.internal(w, r, err)
			return
		}
		s.auditRecord(r, audit.Entry{Action: "import", Target: opts.Collection, Detail: map[string]any{"via": "web", "file": res.File,
			"read": out.Read, "new": out.New, "new_versions": out.NewVersions, "rejected": out.Rejected, "committed": err == nil}})
		if out.New+out.NewVersions > 0 {
			s.dash.invalidate()
			s.counts.clear()
		}
	}
	// Drain what is left of the request so that the browser sees the answer.
	io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	s.imports.add(res)
	http.Redirect(w, r, "/import/"+res.id, http.StatusSeeOther)
}

var errTooLarge = errors.New("decompressed file too large")

// limitedReader stops a decompression bomb.
type limitedReader struct {
	r io.Reader
	n int64
}

func (l *limitedReader) Read(p []byte) (int, error) {
	if l.n <= 0 {
		return 0, errTooLarge
	}
	if int64(len(p)) > l.n {
		p = p[:l.n]
	}
	n, err := l.r.Read(p)
	l.n -= int64(n)
	return n, err
}

func violationText(v *stix.Violation) string {
	s := v.Msg
	if v.Path != "" {
		s = v.Path + ": " + s
	}
	return truncate(s, 300)
}

func (s *server) importResult(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	res := s.imports.get(r.PathValue("rid"), ri.p.UserID)
	if res == nil {
		s.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	s.render(w, r, http.StatusOK, "import_result", &pageData{Title: ri.loc.T("import.result_title"), Nav: "import", Data: res})
}

func (r *importResult) String() string {
	return fmt.Sprintf("import %s: %s", r.File, r.Result.Summary())
}
