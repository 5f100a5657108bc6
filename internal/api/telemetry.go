package api

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/store"
)

// RegisterDetection adds the detection endpoints, served by d:
//
//	POST /api/v1/telemetry                         telemetry to match (JSON lines; format=, map=)
//	GET  /api/v1/correlations?value=V              objects holding an observable value
//	GET  /api/v1/objects/{id}/correlations         objects sharing a value with an object
//	GET  /api/v1/objects/{id}/score                an indicator's score
//	POST /api/v1/objects/{id}/false-positives      report a false positive ({"reason": …})
//	GET  /api/v1/objects/{id}/false-positives      the reports on an indicator
func (s *Server) RegisterDetection(d *detect.Service) {
	h := &detectHandlers{s: s, d: d}
	s.handle("POST /api/v1/telemetry", s.authed(h.postTelemetry))
	s.handle("GET /api/v1/correlations", s.authed(h.correlations))
	s.handle("GET /api/v1/objects/{id}/correlations", s.authed(h.objectCorrelations))
	s.handle("GET /api/v1/objects/{id}/score", s.authed(h.score))
	s.handle("POST /api/v1/objects/{id}/false-positives", s.authed(h.postFalsePositive))
	s.handle("GET /api/v1/objects/{id}/false-positives", s.authed(h.falsePositives))
}

type detectHandlers struct {
	s *Server
	d *detect.Service
}

// postTelemetry accepts telemetry, one record per line, and hands it to the
// detection service in batches. The records of a body cut off by the size
// limit that came before the limit are matched; the reply says how much was
// accepted.
func (h *detectHandlers) postTelemetry(w http.ResponseWriter, r *http.Request) (any, error) {
	p := access.FromContext(r.Context())
	if !p.CanWrite() {
		return nil, &Error{Status: http.StatusForbidden, Msg: "role " + string(p.Role) + " may not submit telemetry"}
	}
	if ct := r.Header.Get("Content-Type"); ct != "" && !strings.Contains(ct, "json") && !strings.HasPrefix(ct, "text/plain") {
		return nil, &Error{Status: http.StatusUnsupportedMediaType, Msg: "send telemetry as application/x-ndjson, application/json or text/plain, not " + ct}
	}
	max := h.s.opts.MaxBodyBytes
	if r.ContentLength > max {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body is %d bytes, the limit is %d", r.ContentLength, max)}
	}
	q := r.URL.Query()
	sub := detect.Submission{Org: p.OrgID, User: p.User, Format: "auto", Level: store.LevelOrg}
	if f := q.Get("format"); f != "" {
		if _, err := match.ParseFormat(f); err != nil {
			return nil, badRequest("format: %v", err)
		}
		sub.Format = f
	}
	if maps := q["map"]; len(maps) > 0 {
		fm, err := match.ParseFieldMap(maps)
		if err != nil {
			return nil, badRequest("map: %v", err)
		}
		sub.Map = fm
	}
	if d := q.Get("distribution"); d != "" {
		lvl, err := access.ParseLevel(d)
		if err != nil {
			return nil, badRequest("distribution: %v", err)
		}
		sub.Level = lvl
	}
	if g := q.Get("sharing_group"); g != "" {
		grp, err := h.s.st.Group(r.Context(), g)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return nil, badRequest("sharing_group: no group %q", g)
			}
			return nil, err
		}
		if !memberOf(p, grp.ID) {
			return nil, &Error{Status: http.StatusForbidden, Msg: "your organisation is not a member of sharing group " + g}
		}
		sub.Group = grp.ID
		if q.Get("distribution") == "" {
			sub.Level = store.LevelGroup
		}
	}
	body := http.MaxBytesReader(w, r.Body, max)
	res, err := h.d.Submit(r.Context(), sub, body)
	if h.s.opts.Audit != nil {
		h.s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "telemetry", Target: sub.Format,
			Detail: map[string]any{"bytes": res.Bytes, "lines": res.Lines, "batches": res.Batches, "complete": err == nil}})
	}
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			writeJSON(w, http.StatusRequestEntityTooLarge, map[string]any{
				"error":    &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body exceeds the limit of %d bytes; the lines before it were accepted", mbe.Limit)},
				"accepted": res,
			})
			return streamed{}, nil
		}
		if errors.Is(err, io.ErrUnexpectedEOF) {
			return nil, badRequest("body ended early")
		}
		return nil, err
	}
	writeJSON(w, http.StatusAccepted, res)
	return streamed{}, nil
}

func (h *detectHandlers) limit(r *http.Request) (int, error) {
	l := r.URL.Query().Get("limit")
	if l == "" {
		return 100, nil
	}
	n, err := strconv.Atoi(l)
	if err != nil || n < 1 {
		return 0, badRequest("limit: want a positive integer, got %q", l)
	}
	return min(n, MaxPageSize), nil
}

type correlationReply struct {
	detect.Correlation
	Next string `json:"next,omitempty"`
}

func (h *detectHandlers) correlations(w http.ResponseWriter, r *http.Request) (any, error) {
	value := strings.TrimSpace(r.URL.Query().Get("value"))
	if value == "" {
		return nil, badRequest("value is required")
	}
	limit, err := h.limit(r)
	if err != nil {
		return nil, err
	}
	var after int64
	if c := r.URL.Query().Get("next"); c != "" {
		if after, err = decodeCursor(c); err != nil {
			return nil, badRequest("next: %v", err)
		}
	}
	c, err := h.d.CorrelateValue(r.Context(), value, viewer(r), limit, after)
	if err != nil {
		return nil, err
	}
	rep := correlationReply{Correlation: c}
	if c.More {
		rep.Next = encodeCursor(c.Next)
	}
	return rep, nil
}

func (h *detectHandlers) objectCorrelations(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("id")
	limit, err := h.limit(r)
	if err != nil {
		return nil, err
	}
	cs, err := h.d.ObjectCorrelations(r.Context(), id, viewer(r), limit)
	if errors.Is(err, store.ErrNotFound) {
		return nil, &Error{Status: http.StatusNotFound, Msg: "no object " + id}
	}
	if err != nil {
		return nil, err
	}
	return map[string]any{"id": id, "correlations": cs}, nil
}

// visibleIndicator checks that the caller may read the indicator.
func (h *detectHandlers) visibleIndicator(r *http.Request, id string) error {
	rec, err := h.s.st.Get(r.Context(), id, store.GetOptions{Viewer: viewer(r)})
	if errors.Is(err, store.ErrNotFound) {
		return &Error{Status: http.StatusNotFound, Msg: "no object " + id}
	}
	if err != nil {
		return err
	}
	if rec.Type != "indicator" {
		return badRequest("%s is a %s; scores and false positives are about indicators", id, rec.Type)
	}
	return nil
}

func (h *detectHandlers) score(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := h.visibleIndicator(r, id); err != nil {
		return nil, err
	}
	sc, err := h.d.Scorer.Get(r.Context(), id, time.Now())
	if err != nil {
		return nil, err
	}
	return hideSources(sc), nil
}

// hideSources keeps the confidence each source counted with but not its
// name: the sources of an indicator may be feeds of other organisations.
func hideSources(sc detect.Score) detect.Score {
	srcs := make([]detect.SourceConfidence, len(sc.Sources))
	for i, s := range sc.Sources {
		srcs[i] = detect.SourceConfidence{Confidence: s.Confidence}
	}
	sc.Sources = srcs
	return sc
}

func (h *detectHandlers) postFalsePositive(w http.ResponseWriter, r *http.Request) (any, error) {
	p := access.FromContext(r.Context())
	if !p.CanWrite() {
		return nil, &Error{Status: http.StatusForbidden, Msg: "role " + string(p.Role) + " may not report false positives"}
	}
	id := r.PathValue("id")
	if err := h.visibleIndicator(r, id); err != nil {
		return nil, err
	}
	var req struct {
		Reason string `json:"reason"`
	}
	dec := json.NewDecoder(io.LimitReader(r.Body, 64<<10))
	if err := dec.Decode(&req); err != nil {
		return nil, badRequest("want a JSON object {\"reason\": \"…\"}: %v", err)
	}
	req.Reason = strings.TrimSpace(req.Reason)
	if req.Reason == "" {
		return nil, badRequest("reason is required")
	}
	sc, err := h.d.Scorer.ReportFalsePositive(r.Context(), id, p.OrgID, p.User, req.Reason, time.Now())
	if err != nil {
		return nil, err
	}
	if h.s.opts.Audit != nil {
		h.s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "false-positive", Target: id, Detail: map[string]any{"reason": req.Reason, "score": sc.Score}})
	}
	writeJSON(w, http.StatusCreated, hideSources(sc))
	return streamed{}, nil
}

func (h *detectHandlers) falsePositives(w http.ResponseWriter, r *http.Request) (any, error) {
	id := r.PathValue("id")
	if err := h.visibleIndicator(r, id); err != nil {
		return nil, err
	}
	fps, err := h.d.Scorer.FalsePositives(r.Context(), id)
	if err != nil {
		return nil, err
	}
	// Reports of other organisations are counted, not shown.
	org := access.FromContext(r.Context()).OrgID
	own := []detect.FalsePositive{}
	others := 0
	for _, fp := range fps {
		if fp.Org == org {
			own = append(own, fp)
		} else {
			others++
		}
	}
	return map[string]any{"indicator": id, "reports": own, "other_organisations_reports": others}, nil
}
