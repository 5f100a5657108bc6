package web

import (
	"context"
	"errors"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

const (
	pageSize  = 50
	sampleCap = 1000 // matches read to find the facets of a search
)

var stixIDPattern = regexp.MustCompile(`^[a-z0-9][a-z0-9-]*--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

type searchData struct {
	Text, Value string
	Ref         string // objects that refer to this identifier
	Types       []string
	TypeOptions []string
	Searched    bool
	Results     []item
	Facets      []facet
	AllLink     string
	Total       int64
	TotalExact  bool
	Next        string
	First       string // link back to the first page when paging
}

type facet struct {
	Type   string
	Count  int64
	Exact  bool // false: at least Count (counting ran out of time)
	Link   string
	Active bool
}

func (s *server) search(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	v := viewer(r)
	qv := r.URL.Query()
	sd := &searchData{Text: strings.TrimSpace(qv.Get("q")), Value: strings.TrimSpace(qv.Get("value")), Ref: strings.TrimSpace(qv.Get("ref"))}
	for _, t := range qv["type"] {
		if t = strings.TrimSpace(t); t != "" && len(sd.Types) < 20 {
			sd.Types = append(sd.Types, t)
		}
	}
	ctx := r.Context()
	// An identifier goes straight to its object (when the reader may see it).
	if id := sd.Text; stixIDPattern.MatchString(id) && sd.Value == "" {
		if _, err := s.st.Get(ctx, id, store.GetOptions{Viewer: v}); err == nil {
			http.Redirect(w, r, objURL(id), http.StatusSeeOther)
			return
		} else if !errors.Is(err, store.ErrNotFound) {
			s.internal(w, r, err)
			return
		}
	}
	base := store.Query{Text: sd.Text, Value: stix.NormalizeValue(sd.Value), Ref: sd.Ref, Viewer: v}
	q := base
	q.Types = sd.Types
	if after, err := strconv.ParseInt(qv.Get("after"), 10, 64); err == nil && after > 0 {
		q.AfterSeq = after
		sd.First = searchURL(sd.Text, sd.Value, sd.Ref, sd.Types, 0)
	}
	q.Limit = pageSize + 1
	it, err := s.st.Query(ctx, q)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	var last int64
	for it.Next() {
		if len(sd.Results) == pageSize {
			sd.Next = searchURL(sd.Text, sd.Value, sd.Ref, sd.Types, last)
			break
		}
		rec := it.At()
		sd.Results = append(sd.Results, itemOf(rec))
		last = rec.Seq
	}
	err = it.Err()
	it.Close()
	if err != nil {
		s.internal(w, r, err)
		return
	}
	sd.Searched = true
	facets, err := s.facets(ctx, base, v)
	if err != nil {
		s.internal(w, r, err)
		return
	}
	sd.TotalExact = true
	for _, f := range facets {
		active := len(sd.Types) == 0
		for _, t := range sd.Types {
			if t == f.Type {
				active = true
				f.Active = len(sd.Types) > 0
			}
		}
		f.Link = searchURL(sd.Text, sd.Value, sd.Ref, []string{f.Type}, 0)
		if active {
			sd.Total += max(f.Count, 0)
			sd.TotalExact = sd.TotalExact && f.Exact
		}
		sd.Facets = append(sd.Facets, f)
		sd.TypeOptions = append(sd.TypeOptions, f.Type)
	}
	if len(sd.Types) > 0 {
		sd.AllLink = searchURL(sd.Text, sd.Value, sd.Ref, nil, 0)
	}
	// Keep a selected type in the menu even when nothing of it matches.
	for _, t := range sd.Types {
		found := false
		for _, o := range sd.TypeOptions {
			found = found || o == t
		}
		if !found {
			sd.TypeOptions = append(sd.TypeOptions, t)
		}
	}
	s.render(w, r, http.StatusOK, "search", &pageData{Title: ri.loc.T("search.title"), Nav: "search", Data: sd})
}

func searchURL(text, value, ref string, types []string, after int64) string {
	q := url.Values{}
	if ref != "" {
		q.Set("ref", ref)
	}
	if text != "" {
		q.Set("q", text)
	}
	if value != "" {
		q.Set("value", value)
	}
	for _, t := range types {
		q.Add("type", t)
	}
	if after > 0 {
		q.Set("after", strconv.FormatInt(after, 10))
	}
	if len(q) == 0 {
		return "/search"
	}
	return "/search?" + q.Encode()
}

// facets counts the matches of a search by type, with the search's viewer.
// A sample of the first matches finds the types (and, when the sample holds
// every match, the exact counts); otherwise store.Count counts each type
// within Options.CountBudget, and a type not counted in time shows its
// sampled number as a lower bound. The counting then goes on in the
// background (one search at a time) and its exact counts serve the next
// requests of the same search by the same viewer: the next page, a type
// picked from the facets.
func (s *server) facets(ctx context.Context, base store.Query, v *store.Viewer) ([]facet, error) {
	key := facetKey(base, v)
	if f, ok := s.counts.get(key, s.now()); ok {
		return f, nil
	}
	sampled := map[string]int64{}
	if base.Text == "" && base.Value == "" && base.Ref == "" {
		// Browsing: the dashboard's totals for this viewer, when it has them.
		if snap := s.dash.peek(v); snap != nil {
			return sortedFacets(snap.Totals, nil), nil
		}
		s.dash.kick(v) // so that the next search has them
		stats, err := s.st.Stats(ctx)
		if err != nil {
			return nil, err
		}
		for t := range stats.ByType {
			sampled[t] = 0
		}
	} else {
		q := base
		q.Limit = sampleCap + 1
		it, err := s.st.Query(ctx, q)
		if err != nil {
			return nil, err
		}
		n := 0
		complete := true
		for it.Next() {
			n++
			if n > sampleCap {
				complete = false
				break
			}
			sampled[it.At().Type]++
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
		if complete {
			return sortedFacets(sampled, nil), nil
		}
	}
	// Count the most frequent types first.
	types := make([]string, 0, len(sampled))
	for t := range sampled {
		types = append(types, t)
	}
	sort.Slice(types, func(i, j int) bool {
		if sampled[types[i]] != sampled[types[j]] {
			return sampled[types[i]] > sampled[types[j]]
		}
		return types[i] < types[j]
	})
	cctx, cancel := context.WithTimeout(ctx, s.opts.CountBudget)
	defer cancel()
	counts := map[string]int64{}
	exact := map[string]bool{}
	for _, t := range types {
		q := base
		q.Types = []string{t}
		n, err := s.st.Count(cctx, q)
		if err != nil {
			if ctx.Err() != nil {
				return nil, ctx.Err()
			}
			if cctx.Err() != nil {
				break // out of time: the rest stay lower bounds
			}
			return nil, err
		}
		counts[t], exact[t] = n, true
	}
	missing := []string{}
	for _, t := range types {
		if !exact[t] {
			missing = append(missing, t)
			counts[t] = sampled[t]
			if counts[t] == 0 {
				counts[t] = -1 // not counted in time, none in the sample
			}
		}
	}
	if len(missing) == 0 {
		f := sortedFacets(counts, nil)
		s.counts.put(key, f, s.now())
		return f, nil
	}
	s.countLater(key, base, counts, missing)
	return sortedFacets(counts, exact), nil
}

// countLater finishes counting a search's facets in the background, when
// no other search is being counted, and keeps the result for a minute.
func (s *server) countLater(key string, base store.Query, done map[string]int64, missing []string) {
	select {
	case s.countSlot <- struct{}{}:
	default:
		return // busy: this search keeps its lower bounds
	}
	counts := make(map[string]int64, len(done))
	for t, n := range done {
		counts[t] = n
	}
	base.Viewer = &store.Viewer{Org: base.Viewer.Org, Groups: slices.Clone(base.Viewer.Groups), MinLevel: base.Viewer.MinLevel, All: base.Viewer.All}
	go func() {
		defer func() { <-s.countSlot }()
		ctx, cancel := context.WithTimeout(context.Background(), backgroundCount)
		defer cancel()
		for _, t := range missing {
			q := base
			q.Types = []string{t}
			n, err := s.st.Count(ctx, q)
			if err != nil {
				return
			}
			counts[t] = n
		}
		s.counts.put(key, sortedFacets(counts, nil), s.now())
	}()
}

const (
	backgroundCount = 30 * time.Second
	countTTL        = time.Minute
)

func facetKey(q store.Query, v *store.Viewer) string {
	return viewerKey(v) + "\x00" + q.Text + "\x00" + q.Value + "\x00" + q.Ref
}

// countCache keeps exact facet counts of recent searches.
type countCache struct {
	mu sync.Mutex
	m  map[string]countEntry
}

type countEntry struct {
	facets []facet
	at     time.Time
}

func (c *countCache) get(key string, now time.Time) ([]facet, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[key]
	if !ok || now.Sub(e.at) > countTTL {
		return nil, false
	}
	return e.facets, true
}

func (c *countCache) clear() {
	c.mu.Lock()
	c.m = nil
	c.mu.Unlock()
}

func (c *countCache) put(key string, f []facet, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.m == nil {
		c.m = map[string]countEntry{}
	}
	if len(c.m) >= 512 {
		for k, e := range c.m {
			if now.Sub(e.at) > countTTL || len(c.m) >= 512 {
				delete(c.m, k)
			}
		}
	}
	c.m[key] = countEntry{f, now}
}

// sortedFacets orders facets by count, largest first; exact nil means all exact.
func sortedFacets(counts map[string]int64, exact map[string]bool) []facet {
	var out []facet
	for t, n := range counts {
		if n == 0 {
			continue
		}
		out = append(out, facet{Type: t, Count: n, Exact: exact == nil || exact[t]})
	}
	sort.Slice(out, func(i, j int) bool {
		if (out[i].Count < 0) != (out[j].Count < 0) {
			return out[j].Count < 0
		}
		if out[i].Count != out[j].Count {
			return out[i].Count > out[j].Count
		}
		return out[i].Type < out[j].Type
	})
	return out
}

// peek returns the viewer's dashboard figures when they are recent enough
// to count search facets with, without computing anything.
func (d *dashboards) peek(v *store.Viewer) *snapshot {
	d.mu.Lock()
	e := d.m[viewerKey(v)]
	d.mu.Unlock()
	if e == nil {
		return nil
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if e.snap == nil || e.stale || d.s.now().Sub(e.snap.At) > 2*d.s.opts.DashboardRefresh+time.Minute {
		return nil
	}
	return e.snap
}
