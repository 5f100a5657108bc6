package api

import (
	"bytes"
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
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/supplychain"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
	"github.com/mamori-cti/mamori/internal/supplychain/sbom"
)

// RegisterSupplyChain adds the supply-chain exposure routes:
//
//	GET    /api/v1/assets                      assets the caller may read
//	POST   /api/v1/assets                      add or update an asset (JSON), or many (text/csv)
//	GET    /api/v1/assets/{asset}              one asset (name or id) with SBOMs and exposure summary
//	DELETE /api/v1/assets/{asset}              remove an asset of the caller's organisation
//	GET    /api/v1/assets/{asset}/sboms        its SBOMs
//	POST   /api/v1/assets/{asset}/sboms        import an SBOM (?name=)
//	POST   /api/v1/assets/{asset}/vex          import VEX statements
//	GET    /api/v1/exposure                    findings ranked by priority (?asset= &supplier= &all= &format=json|csv|sarif)
//	GET    /api/v1/alerts                      alerts (?after= &limit= &since=)
//	POST   /api/v1/supplychain/advisories      load an OSV, CVE 5, KEV or EPSS document (administrators)
//
// Every read goes through the caller's viewer: an asset the caller may not
// read answers 404, and its findings and alerts are not listed.
func (s *Server) RegisterSupplyChain(sc *supplychain.Service) {
	h := &scHandlers{s: s, sc: sc}
	s.handle("GET /api/v1/assets", s.authed(h.listAssets))
	s.handle("POST /api/v1/assets", s.authed(h.putAssets))
	s.handle("GET /api/v1/assets/{asset}", s.authed(h.getAsset))
	s.handle("DELETE /api/v1/assets/{asset}", s.authed(h.deleteAsset))
	s.handle("GET /api/v1/assets/{asset}/sboms", s.authed(h.listSBOMs))
	s.handle("POST /api/v1/assets/{asset}/sboms", s.authed(h.postSBOM))
	s.handle("POST /api/v1/assets/{asset}/vex", s.authed(h.postVEX))
	s.handle("GET /api/v1/exposure", s.authed(h.exposure))
	s.handle("GET /api/v1/alerts", s.authed(h.alerts))
	s.handle("POST /api/v1/supplychain/advisories", s.authed(h.postAdvisories))
}

type scHandlers struct {
	s  *Server
	sc *supplychain.Service
}

func scError(err error) error {
	switch {
	case errors.Is(err, store.ErrNotFound):
		return &Error{Status: http.StatusNotFound, Msg: err.Error()}
	case errors.Is(err, supplychain.ErrAmbiguous):
		return &Error{Status: http.StatusConflict, Msg: err.Error()}
	}
	var se *sbom.Error
	if errors.As(err, &se) {
		return badRequest("%v", se)
	}
	var re *supplychain.RejectedError
	if errors.As(err, &re) {
		return &Error{Status: http.StatusUnprocessableEntity, Msg: re.Error()}
	}
	return err
}

func (h *scHandlers) listAssets(w http.ResponseWriter, r *http.Request) (any, error) {
	as, err := h.sc.Assets(r.Context(), viewer(r))
	if err != nil {
		return nil, err
	}
	if as == nil {
		as = []supplychain.Asset{}
	}
	return map[string]any{"assets": as}, nil
}

// writable finds an asset the caller may change: readable, and owned by
// the caller's organisation.
func (h *scHandlers) writable(r *http.Request) (supplychain.Asset, error) {
	p := access.FromContext(r.Context())
	if !p.CanWrite() {
		return supplychain.Asset{}, &Error{Status: http.StatusForbidden, Msg: "role " + string(p.Role) + " may not change assets"}
	}
	a, err := h.sc.Asset(r.Context(), viewer(r), r.PathValue("asset"))
	if err != nil {
		return a, scError(err)
	}
	if a.Access.Owner != p.OrgID {
		return a, &Error{Status: http.StatusForbidden, Msg: "the asset belongs to another organisation"}
	}
	return a, nil
}

func (h *scHandlers) writeOptions(r *http.Request) (supplychain.WriteOptions, error) {
	p := access.FromContext(r.Context())
	w := supplychain.WriteOptions{Owner: p.OrgID, Identity: p.OrgIdentity, Level: store.LevelCommunity}
	v := r.URL.Query()
	if g := v.Get("sharing_group"); g != "" {
		grp, err := h.s.st.Group(r.Context(), g)
		if err != nil {
			if errors.Is(err, store.ErrNotFound) {
				return w, badRequest("sharing_group: no group %q", g)
			}
			return w, err
		}
		if !memberOf(p, grp.ID) {
			return w, &Error{Status: http.StatusForbidden, Msg: "your organisation is not a member of sharing group " + g}
		}
		w.Group, w.Level = grp.ID, store.LevelGroup
	}
	if d := v.Get("distribution"); d != "" {
		lvl, err := access.ParseLevel(d)
		if err != nil {
			return w, badRequest("distribution: %v", err)
		}
		w.Level = lvl
	}
	return w, nil
}

func (h *scHandlers) putAssets(w http.ResponseWriter, r *http.Request) (any, error) {
	p := access.FromContext(r.Context())
	if !p.CanWrite() {
		return nil, &Error{Status: http.StatusForbidden, Msg: "role " + string(p.Role) + " may not add assets"}
	}
	opts, err := h.writeOptions(r)
	if err != nil {
		return nil, err
	}
	body := http.MaxBytesReader(w, r.Body, h.s.opts.MaxBodyBytes)
	var assets []supplychain.Asset
	var skipped []string
	if strings.Contains(r.Header.Get("Content-Type"), "csv") {
		as, bad, err := supplychain.ReadAssetsCSV(body)
		if err != nil {
			return nil, badRequest("CSV: %v", err)
		}
		for _, b := range bad {
			skipped = append(skipped, b.Error())
		}
		assets = as
	} else {
		var a supplychain.Asset
		dec := json.NewDecoder(body)
		dec.DisallowUnknownFields()
		if err := dec.Decode(&a); err != nil {
			return nil, badRequest("asset: %v", err)
		}
		a.ID = ""
		if err := a.Validate(); err != nil {
			return nil, badRequest("%v", err)
		}
		assets = []supplychain.Asset{a}
	}
	// An existing asset of another organisation is not overwritten: ids
	// derive from the owner, so this only guards ids given in CSV.
	out, err := h.sc.PutAssets(r.Context(), assets, opts)
	if h.s.opts.Audit != nil {
		h.s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "asset.put", Target: fmt.Sprintf("%d assets", len(assets)), Detail: map[string]any{"committed": err == nil}})
	}
	if err != nil {
		return nil, scError(err)
	}
	if out == nil {
		out = []supplychain.Asset{}
	}
	if skipped == nil {
		skipped = []string{}
	}
	return map[string]any{"assets": out, "skipped": skipped}, nil
}

func (h *scHandlers) getAsset(w http.ResponseWriter, r *http.Request) (any, error) {
	d, err := h.sc.AssetDetail(r.Context(), viewer(r), r.PathValue("asset"))
	if err != nil {
		return nil, scError(err)
	}
	return d, nil
}

func (h *scHandlers) deleteAsset(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := h.writable(r)
	if err != nil {
		return nil, err
	}
	p := access.FromContext(r.Context())
	if err := h.sc.RemoveAsset(r.Context(), a, p.OrgIdentity); err != nil {
		return nil, scError(err)
	}
	if h.s.opts.Audit != nil {
		h.s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "asset.remove", Target: a.ID})
	}
	return map[string]string{"removed": a.ID}, nil
}

func (h *scHandlers) listSBOMs(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := h.sc.Asset(r.Context(), viewer(r), r.PathValue("asset"))
	if err != nil {
		return nil, scError(err)
	}
	sboms, err := h.sc.Inv.SBOMs(r.Context(), a.ID)
	if err != nil {
		return nil, err
	}
	if sboms == nil {
		sboms = []inventory.SBOM{}
	}
	return map[string]any{"sboms": sboms}, nil
}

func (h *scHandlers) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	if r.ContentLength > h.s.opts.MaxBodyBytes {
		return nil, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body is %d bytes, the limit is %d", r.ContentLength, h.s.opts.MaxBodyBytes)}
	}
	data, err := io.ReadAll(http.MaxBytesReader(w, r.Body, h.s.opts.MaxBodyBytes))
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			return nil, &Error{Status: http.StatusRequestEntityTooLarge, Msg: fmt.Sprintf("body exceeds the limit of %d bytes", mbe.Limit)}
		}
		return nil, err
	}
	return data, nil
}

func (h *scHandlers) postSBOM(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := h.writable(r)
	if err != nil {
		return nil, err
	}
	data, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	name := r.URL.Query().Get("name")
	res, err := h.sc.ImportSBOM(r.Context(), a, data, scFirst(name, "upload"), name)
	p := access.FromContext(r.Context())
	if h.s.opts.Audit != nil {
		h.s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "sbom.import", Target: a.ID, Detail: map[string]any{"components": res.Components, "committed": err == nil}})
	}
	if err != nil {
		return nil, scError(err)
	}
	if res.WarningsS == nil {
		res.WarningsS = []string{}
	}
	return res, nil
}

func (h *scHandlers) postVEX(w http.ResponseWriter, r *http.Request) (any, error) {
	a, err := h.writable(r)
	if err != nil {
		return nil, err
	}
	data, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	n, warns, err := h.sc.ImportVEX(r.Context(), a.ID, data, scFirst(r.URL.Query().Get("name"), "upload"))
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if warns == nil {
		warns = []string{}
	}
	return map[string]any{"statements": n, "warnings": warns}, nil
}

func (h *scHandlers) exposure(w http.ResponseWriter, r *http.Request) (any, error) {
	v := r.URL.Query()
	q := supplychain.ExposureQuery{Asset: v.Get("asset"), Supplier: v.Get("supplier"), Viewer: viewer(r)}
	if s := v.Get("all"); s != "" {
		b, err := strconv.ParseBool(s)
		if err != nil {
			return nil, badRequest("all: want true or false, got %q", s)
		}
		q.All = b
	}
	format := scFirst(v.Get("format"), "json")
	if format == "table" {
		return nil, badRequest("format: want json, csv or sarif")
	}
	rep, err := h.sc.Exposure(r.Context(), q)
	if err != nil {
		return nil, scError(err)
	}
	var buf bytes.Buffer
	if err := supplychain.WriteReport(&buf, rep, format); err != nil {
		return nil, badRequest("%v", err)
	}
	switch format {
	case "csv":
		w.Header().Set("Content-Type", "text/csv; charset=utf-8")
	case "sarif":
		w.Header().Set("Content-Type", "application/sarif+json")
	default:
		w.Header().Set("Content-Type", "application/json")
	}
	w.Write(buf.Bytes())
	return streamed{}, nil
}

func (h *scHandlers) alerts(w http.ResponseWriter, r *http.Request) (any, error) {
	v := r.URL.Query()
	f := inventory.AlertFilter{Limit: 100}
	if s := v.Get("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 {
			return nil, badRequest("limit: want a positive integer, got %q", s)
		}
		f.Limit = min(n, MaxPageSize)
	}
	if s := v.Get("after"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 0 {
			return nil, badRequest("after: want an alert id, got %q", s)
		}
		f.AfterID = n
	}
	if s := v.Get("since"); s != "" {
		t, err := time.Parse(time.RFC3339, s)
		if err != nil {
			return nil, badRequest("since: want an RFC 3339 time, got %q", s)
		}
		f.Since = t
	}
	as, err := h.sc.Alerts(r.Context(), viewer(r), f)
	if err != nil {
		return nil, err
	}
	if as == nil {
		as = []supplychain.AlertView{}
	}
	return map[string]any{"alerts": as}, nil
}

func (h *scHandlers) postAdvisories(w http.ResponseWriter, r *http.Request) (any, error) {
	p := access.FromContext(r.Context())
	if !p.CanAdmin() {
		return nil, &Error{Status: http.StatusForbidden, Msg: "only administrators load vulnerability sources"}
	}
	data, err := h.readBody(w, r)
	if err != nil {
		return nil, err
	}
	name := scFirst(r.URL.Query().Get("name"), "upload.json")
	rep, n, err := h.sc.LoadAdvisoryDocument(r.Context(), bytes.NewReader(data), name)
	if err != nil {
		return nil, badRequest("%v", err)
	}
	if h.s.opts.Audit != nil {
		h.s.opts.Audit.Record(r.Context(), audit.Entry{Actor: p.User, Org: p.OrgID, Action: "advisories.load", Target: name, Detail: map[string]any{"advisories": rep.Advisories, "kev": rep.KEV, "alerts": n}})
	}
	if rep.Warnings == nil {
		rep.Warnings = []string{}
	}
	return map[string]any{"report": rep, "alerts": n}, nil
}

func scFirst(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
