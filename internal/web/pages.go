package web

import (
	"context"
	"errors"
	"net/http"
	"strings"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/store"
)

// ---- TAXII collections ----

type collectionsData struct {
	Rows      []collectionRow
	Discovery string
	Root      string
	Admin     bool
	Levels    []string
	Groups    []store.Group
}

type collectionRow struct {
	store.Collection
	Objects int64
	Counted bool // false: counting ran out of time
	URL     string
}

func (s *server) collectionsData(r *http.Request) (*collectionsData, error) {
	ctx := r.Context()
	p := principal(r)
	colls, err := s.st.Collections(ctx)
	if err != nil {
		return nil, err
	}
	d := &collectionsData{Discovery: "/taxii2/", Root: "/taxii2/" + s.opts.TAXIIRoot + "/", Admin: p.CanAdmin(),
		Levels: []string{"org", "group", "community", "connected", "public"}}
	cctx, cancel := context.WithTimeout(ctx, s.opts.CountBudget*2)
	defer cancel()
	for _, c := range colls {
		row := collectionRow{Collection: c, URL: d.Root + "collections/" + c.ID + "/objects/"}
		if cctx.Err() == nil {
			n, err := s.st.Count(cctx, store.Query{Collection: c.ID, Viewer: p.Viewer()})
			if err == nil {
				row.Objects, row.Counted = n, true
			} else if ctx.Err() != nil {
				return nil, ctx.Err()
			}
		}
		d.Rows = append(d.Rows, row)
	}
	if d.Admin {
		if d.Groups, err = s.st.Groups(ctx); err != nil {
			return nil, err
		}
	}
	return d, nil
}

func (s *server) collections(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	d, err := s.collectionsData(r)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	pd := &pageData{Title: ri.loc.T("coll.title"), Nav: "collections", Data: d}
	if r.URL.Query().Get("done") == "collection" {
		pd.Notice = ri.loc.T("admin.done.collection")
	}
	s.render(w, r, http.StatusOK, "collections", pd)
}

func (s *server) collectionAdd(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	f := r.PostForm
	fail := func(status int, key string) {
		d, err := s.collectionsData(r)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		s.render(w, r, status, "collections", &pageData{Title: ri.loc.T("coll.title"), Nav: "collections", Data: d, Error: ri.loc.T(key)})
	}
	title := strings.TrimSpace(f.Get("title"))
	if title == "" || len(title) > 200 {
		fail(http.StatusBadRequest, "admin.err.name")
		return
	}
	c := store.Collection{Title: title, Description: strings.TrimSpace(f.Get("description")), Level: store.LevelCommunity}
	if d := f.Get("distribution"); d != "" {
		lvl, err := access.ParseLevel(d)
		if err != nil {
			fail(http.StatusBadRequest, "error.bad_request")
			return
		}
		c.Level = lvl
	}
	if g := f.Get("group"); g != "" {
		grp, err := s.st.Group(r.Context(), g)
		if err != nil {
			fail(http.StatusBadRequest, "admin.err.group")
			return
		}
		c.Group = grp.ID
	}
	if c.Level == store.LevelGroup && c.Group == "" {
		fail(http.StatusBadRequest, "admin.err.group")
		return
	}
	c, err := s.st.CreateCollection(r.Context(), c)
	if errors.Is(err, store.ErrConflict) {
		fail(http.StatusConflict, "admin.err.exists")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.auditRecord(r, audit.Entry{Action: "collection.add", Target: c.ID, Detail: map[string]string{"via": "web", "title": c.Title}})
	http.Redirect(w, r, "/collections?done=collection", http.StatusSeeOther)
}

// ---- feeds, alerts, assets, exposure ----

type listData struct {
	On       bool // a source is configured
	Admin    bool
	Feeds    []FeedStatus
	Alerts   []Alert
	Assets   []Asset
	Exposure *Exposure
	Vulns    int64
	VulnsOK  bool
}

func (s *server) feeds(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	d := &listData{Admin: ri.p.CanAdmin()}
	if s.opts.Feeds != nil {
		f, err := s.opts.Feeds.FeedHealth(r.Context(), ri.p)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		d.On, d.Feeds = true, f
	}
	s.render(w, r, http.StatusOK, "feeds", &pageData{Title: ri.loc.T("feeds.title"), Nav: "feeds", Data: d})
}

func (s *server) alerts(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	d := &listData{}
	if s.opts.Alerts != nil {
		a, err := s.opts.Alerts.RecentAlerts(r.Context(), ri.p, 200)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		d.On, d.Alerts = true, a
	}
	s.render(w, r, http.StatusOK, "alerts", &pageData{Title: ri.loc.T("alerts.title"), Nav: "alerts", Data: d})
}

func (s *server) assets(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	d := &listData{}
	if s.opts.Assets != nil {
		a, err := s.opts.Assets.Assets(r.Context(), ri.p, 500)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		d.On, d.Assets = true, a
	}
	s.render(w, r, http.StatusOK, "assets", &pageData{Title: ri.loc.T("assets.title"), Nav: "exposure", Data: d})
}

func (s *server) exposure(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	d := &listData{}
	if s.opts.Exposure != nil {
		e, err := s.opts.Exposure.Exposure(r.Context(), ri.p)
		if err != nil {
			s.internal(w, r, err)
			return
		}
		d.On, d.Exposure = true, &e
	}
	// What the store knows already: the vulnerabilities the reader can see.
	cctx, cancel := context.WithTimeout(r.Context(), s.opts.CountBudget)
	defer cancel()
	if n, err := s.st.Count(cctx, store.Query{Types: []string{"vulnerability"}, Viewer: ri.p.Viewer()}); err == nil {
		d.Vulns, d.VulnsOK = n, true
	}
	s.render(w, r, http.StatusOK, "exposure", &pageData{Title: ri.loc.T("exposure.title"), Nav: "exposure", Data: d})
}
