package taxii

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// statusListCap bounds the successes and failures lists of a status
// resource. A list is complete or absent (clients check that a present
// list's length equals its count); the counts are always exact.
const statusListCap = 10000

// addObjects serves POST {api-root}/collections/{id}/objects/: the envelope
// is streamed through the importer (the same validation as mamori import)
// in one transaction; invalid objects are reported as failures in the
// status resource while the valid ones are stored. The request completes
// before the answer, so the status is "complete" at once.
func (s *Server) addObjects(w http.ResponseWriter, r *http.Request, rt route, p *access.Principal) *httpError {
	ctx := r.Context()
	if ct := r.Header.Get("Content-Type"); !isTAXIIContentType(ct) {
		if ct == "" {
			ct = "none"
		}
		return newError(http.StatusUnsupportedMediaType, "unsupported-media-type", "Unsupported media type",
			"send a TAXII envelope as "+MediaTAXII+", not "+ct)
	}
	coll, herr := s.collection(ctx, rt)
	if herr != nil {
		return herr
	}
	if !p.CanWrite() {
		return newError(http.StatusForbidden, "forbidden", "Forbidden", "role "+string(p.Role)+" may not add objects (can_write is false)")
	}
	if s.opts.Importer == nil {
		return errInternal(errors.New("taxii: no importer configured"))
	}
	max := s.opts.MaxContentLength
	if r.ContentLength > max {
		return tooLarge(max)
	}
	started := s.now()
	body := http.MaxBytesReader(w, r.Body, max)
	src := spliceEnvelope(bufio.NewReaderSize(body, 64<<10))

	// A second reader follows the same bytes to learn each object's id and
	// version, which the status lists for the objects that were stored.
	pr, pw := io.Pipe()
	var items []statusItem
	done := make(chan struct{})
	go func() {
		defer close(done)
		ingest.ReadBundle(pr, func(_ *ingest.BundleInfo, i int, raw json.RawMessage) error {
			items = append(items, itemOf(raw))
			return nil
		})
		io.Copy(io.Discard, pr)
	}()
	var rejections []ingest.Rejection
	opts := ingest.Options{
		Collection: coll.ID, Owner: p.OrgID, Level: coll.Level, Group: coll.Group,
		OnReject: func(rj ingest.Rejection) {
			rj.Object = nil
			rejections = append(rejections, rj)
		},
	}
	res, err := s.opts.Importer.ImportBundle(ctx, io.TeeReader(src, pw), "taxii:"+p.User, opts)
	pw.Close()
	<-done
	if err != nil {
		var mbe *http.MaxBytesError
		var se *ingest.SyntaxError
		switch {
		case errors.As(err, &mbe):
			return tooLarge(max)
		case ctx.Err() != nil:
			return errInternal(ctx.Err())
		case errors.Is(err, ingest.ErrNotBundle):
			return newError(http.StatusUnprocessableEntity, "invalid-envelope", "Unprocessable envelope", "the body is not a TAXII envelope: "+strings.TrimPrefix(err.Error(), "taxii:"+p.User+": ")+"; nothing was stored")
		case errors.As(err, &se):
			return newError(http.StatusUnprocessableEntity, "malformed-json", "Malformed envelope", "malformed JSON at "+se.Error()+"; nothing was stored")
		}
		return errInternal(err)
	}
	st := buildStatus(uuid.NewString(), started, res.Read, items, rejections)
	b, err := json.Marshal(st)
	if err != nil {
		return errInternal(err)
	}
	if err := s.opts.State.PutTAXIIStatus(ctx, st.ID, rt.root.Name, p.OrgID, started, b); err != nil {
		return errInternal(err)
	}
	s.pruneStatuses()
	w.Header().Set("Content-Type", MediaTAXII)
	w.Header().Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusAccepted)
	w.Write(b)
	return nil
}

func tooLarge(max int64) *httpError {
	return newError(http.StatusRequestEntityTooLarge, "too-large", "Request entity too large",
		fmt.Sprintf("the body exceeds max_content_length (%d bytes); nothing was stored", max))
}

// pruneStatuses deletes expired status resources, at most once an hour.
func (s *Server) pruneStatuses() {
	s.pruneMu.Lock()
	defer s.pruneMu.Unlock()
	now := s.now()
	if now.Sub(s.lastPrune) < time.Hour {
		return
	}
	s.lastPrune = now
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := s.opts.State.PruneTAXIIStatuses(ctx, now.Add(-s.opts.StatusRetention)); err != nil {
		s.opts.Log.Warn("prune TAXII statuses", "err", err)
	}
}

// spliceEnvelope turns a TAXII envelope into a STIX bundle for the
// importer by inserting "type": "bundle" after its opening brace. Anything
// that does not start as a JSON object passes unchanged, for the importer
// to reject with its usual message.
func spliceEnvelope(br *bufio.Reader) io.Reader {
	skip := func() (byte, bool) {
		for {
			b, err := br.Peek(1)
			if err != nil {
				return 0, false
			}
			switch b[0] {
			case ' ', '\t', '\r', '\n':
				br.ReadByte()
				continue
			}
			return b[0], true
		}
	}
	if c, ok := skip(); !ok || c != '{' {
		return br
	}
	br.ReadByte()
	prefix := `{"type":"bundle","id":"bundle--` + uuid.NewString() + `"`
	if c, ok := skip(); ok && c != '}' {
		prefix += ","
	}
	return io.MultiReader(strings.NewReader(prefix), br)
}

type statusItem struct {
	id, version string
}

// itemOf reads an object's id and version (modified, else created) for the
// status resource.
func itemOf(raw json.RawMessage) statusItem {
	var o struct {
		ID       any `json:"id"`
		Modified any `json:"modified"`
		Created  any `json:"created"`
	}
	json.Unmarshal(raw, &o)
	str := func(v any) string { s, _ := v.(string); return s }
	it := statusItem{id: str(o.ID), version: str(o.Modified)}
	if it.version == "" {
		it.version = str(o.Created)
	}
	return it
}

func buildStatus(id string, at time.Time, total int, items []statusItem, rejections []ingest.Rejection) Status {
	st := Status{ID: id, Status: "complete", RequestTimestamp: FormatTimestamp(at), TotalCount: total}
	rejected := make(map[int]bool, len(rejections))
	for _, rj := range rejections {
		rejected[rj.Index] = true
	}
	st.FailureCount = len(rejections)
	st.SuccessCount = max(total-len(rejected), 0)
	if st.SuccessCount <= statusListCap {
		for i := 0; i < total && i < len(items); i++ {
			if !rejected[i] {
				st.Successes = append(st.Successes, StatusDetail{ID: items[i].id, Version: items[i].version})
			}
		}
		if len(st.Successes) != st.SuccessCount {
			st.Successes = nil
		}
	}
	if st.FailureCount <= statusListCap {
		slices.SortStableFunc(rejections, func(a, b ingest.Rejection) int { return a.Index - b.Index })
		for _, rj := range rejections {
			d := StatusDetail{ID: rj.ID, Message: rejectionMessage(rj)}
			if rj.Index < len(items) {
				if d.ID == "" {
					d.ID = items[rj.Index].id
				}
				d.Version = items[rj.Index].version
			}
			if d.ID == "" {
				d.ID = rj.Path // no identifier: where the object was in the envelope
			}
			st.Failures = append(st.Failures, d)
		}
	}
	return st
}

func rejectionMessage(rj ingest.Rejection) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", rj.Path)
	for i, v := range rj.Violations {
		if i > 0 {
			b.WriteString("; ")
		}
		if v.Path != "" {
			b.WriteString(v.Path + ": ")
		}
		b.WriteString(v.Msg)
		if v.Rule != "" {
			b.WriteString(" [" + v.Rule + "]")
		}
		if b.Len() > 2000 {
			return b.String()[:2000] + "…"
		}
	}
	return b.String()
}

// deleteObject serves DELETE {api-root}/collections/{id}/objects/{object-id}/:
// it removes the object's versions (all, or those match[version] selects)
// from the collection. The caller must be able to write and its
// organisation must own every version it removes.
func (s *Server) deleteObject(w http.ResponseWriter, r *http.Request, rt route, p *access.Principal) *httpError {
	ctx := r.Context()
	l, herr := s.parseListing(r, rt, p, epDelete)
	if herr != nil {
		return herr
	}
	ok, err := s.exists(ctx, l)
	if err != nil {
		return errInternal(err)
	}
	if !ok {
		return errNotFound("no object " + rt.object + " in collection " + l.coll.ID)
	}
	if !p.CanWrite() {
		return newError(http.StatusForbidden, "forbidden", "Forbidden", "role "+string(p.Role)+" may not delete objects (can_write is false)")
	}
	var seqs []int64
	foreign := false
	for _, m := range l.page.modes {
		q := l.page.base
		q.Versions, q.Modified = m.Versions, m.Modified
		err := s.each(ctx, q, false, func(rec *store.Record) error {
			if rec.Access.Owner != p.OrgID || p.OrgID == "" {
				foreign = true
			}
			seqs = append(seqs, rec.Seq)
			return nil
		})
		if err != nil {
			return errInternal(err)
		}
	}
	slices.Sort(seqs)
	seqs = slices.Compact(seqs)
	if len(seqs) == 0 {
		return errNotFound("no version of " + rt.object + " matches the filters")
	}
	if foreign {
		return newError(http.StatusForbidden, "forbidden", "Forbidden", "your organisation does not own every selected version of "+rt.object)
	}
	mr, ok := s.opts.Store.(memberRemover)
	if !ok {
		return newError(http.StatusNotImplemented, "not-implemented", "Not implemented", "this store cannot remove objects from collections")
	}
	if _, err := mr.RemoveFromCollection(ctx, l.coll.ID, seqs); err != nil {
		return errInternal(err)
	}
	w.Header().Set("Content-Type", MediaTAXII)
	w.Header().Set("Content-Length", "0")
	w.WriteHeader(http.StatusOK)
	return nil
}
