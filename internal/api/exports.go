package api

import (
	"errors"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/export"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/store"
)

// registerExports adds GET /api/v1/exports/{format}: the indicators the
// caller may read, in one of export.Formats, streamed. Query parameters:
//
//	type            value kinds (repeatable): ip, hash, ipv4, domain, url, sha256, …;
//	                for stix, STIX object types
//	tlp             highest TLP level (clear, green, amber, amber+strict, red)
//	min_confidence  lowest confidence, 0-100
//	min_score       lowest current score, 0-100 (docs/detection.md)
//	source          created_by_ref identity id, or a feed or list name (repeatable)
//	valid           true (default): only indicators whose valid_until is in the future
//	collection      a collection id or title
//	dataset         suricata: one dataset file instead of rules (domain, md5, sha1, sha256)
//	rpz_action      rpz: nxdomain (default), nodata, drop, passthru
//	name            name of the export (MISP event info)
func (s *Server) registerExports() {
	s.handle("GET /api/v1/exports/{format}", s.authed(s.exportIndicators))
}

func (s *Server) exportIndicators(w http.ResponseWriter, r *http.Request) (any, error) {
	format := r.PathValue("format")
	known := false
	for _, f := range export.Formats {
		known = known || f == format
	}
	if !known {
		return nil, &Error{Status: http.StatusNotFound, Msg: "no export format " + strconv.Quote(format) + "; one of " + strings.Join(export.Formats, ", ")}
	}
	q := r.URL.Query()
	if s.opts.Audit != nil {
		p := access.FromContext(r.Context())
		s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "export", Target: format, Detail: map[string]string{"query": r.URL.RawQuery}})
	}
	opts := export.Options{Name: q.Get("name"), RPZAction: q.Get("rpz_action"), DatasetOnly: q.Get("dataset")}
	f := &opts.Filter
	f.Viewer = viewer(r)
	if format == export.FormatSTIX {
		opts.STIXTypes = q["type"]
	} else {
		f.Kinds = q["type"]
	}
	f.ValidOnly = true
	if v := q.Get("valid"); v != "" {
		b, err := strconv.ParseBool(v)
		if err != nil {
			return nil, badRequest("valid: want true or false, got %q", v)
		}
		f.ValidOnly = b
	}
	if v := q.Get("tlp"); v != "" {
		l, err := export.ParseTLP(v)
		if err != nil {
			return nil, badRequest("tlp: %v", err)
		}
		f.MaxTLP = l
	}
	if v := q.Get("min_score"); v != "" {
		min, err := strconv.ParseFloat(v, 64)
		if err != nil || min < 0 || min > 100 {
			return nil, badRequest("min_score: want 0 to 100, got %q", v)
		}
		storage, ok := s.st.(detect.Storage)
		if !ok {
			return nil, &Error{Status: http.StatusNotImplemented, Msg: "min_score needs the embedded store"}
		}
		f.Keep = detect.NewScorer(s.st, storage, detect.ScoreOptions{}).Keep(r.Context(), min, time.Now())
	}
	if v := q.Get("min_confidence"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 0 || n > 100 {
			return nil, badRequest("min_confidence: want 0 to 100, got %q", v)
		}
		f.MinConfidence = n
	}
	for _, src := range q["source"] {
		f.Sources = append(f.Sources, SourceIdentity(src))
	}
	if c := q.Get("collection"); c != "" {
		col, err := s.st.Collection(r.Context(), c)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, &Error{Status: http.StatusNotFound, Msg: "no collection " + strconv.Quote(c)}
			}
			return nil, err
		}
		f.Collection = col.ID
	}
	if err := f.Validate(); err != nil {
		return nil, badRequest("%v", err)
	}
	lw := &lazyWriter{w: w, contentType: export.ContentType(format), filename: "mamori-" + format + extension(format, opts.DatasetOnly)}
	if _, err := export.Write(r.Context(), s.st, format, opts, lw); err != nil {
		if !lw.started {
			if errors.Is(err, store.ErrNotFound) {
				return nil, err
			}
			return nil, badRequest("%v", err)
		}
		s.opts.Log.Error("export failed", "format", format, "err", err)
		return streamed{}, nil // the status line is gone; the client sees a truncated file
	}
	if !lw.started {
		lw.start()
	}
	return streamed{}, nil
}

// SourceIdentity turns a source filter into an identity id: an identity id
// as is, a feed or list name into the identity mamori gives it.
func SourceIdentity(src string) string {
	if strings.HasPrefix(src, "identity--") {
		return src
	}
	return emit.SourceIdentityID(src)
}

func extension(format, dataset string) string {
	switch {
	case dataset != "":
		return "-" + dataset + ".lst"
	case format == export.FormatSTIX || format == export.FormatMISP:
		return ".json"
	case format == export.FormatCSV:
		return ".csv"
	case format == export.FormatSuricata || format == export.FormatSnort:
		return ".rules"
	case format == export.FormatZeek:
		return ".intel"
	case format == export.FormatRPZ:
		return ".zone"
	}
	return ".txt"
}

// lazyWriter sends the response headers with the first bytes, so that an
// error found before any output is still answered with an error status.
type lazyWriter struct {
	w           http.ResponseWriter
	contentType string
	filename    string
	started     bool
}

func (l *lazyWriter) start() {
	l.started = true
	h := l.w.Header()
	h.Set("Content-Type", l.contentType)
	h.Set("Content-Disposition", `attachment; filename="`+l.filename+`"`)
	h.Set("Cache-Control", "no-store")
	l.w.WriteHeader(http.StatusOK)
}

func (l *lazyWriter) Write(p []byte) (int, error) {
	if !l.started {
		l.start()
	}
	return l.w.Write(p)
}
