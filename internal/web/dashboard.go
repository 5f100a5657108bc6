package web

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// The dashboard's figures are computed per reader (per store.Viewer: the
// same organisation and sharing groups see the same figures) from store
// queries made with that viewer, and kept between requests: the activity of
// the last 30 days is brought up to date incrementally (only records added
// since the last look are read, by sequence number), the totals by type
// are recounted when something was added or every few minutes. A request
// renders the figures it finds and, when they are older than
// Options.DashboardRefresh, starts an update in the background.

const (
	windowDays  = 30
	scanBatch   = 5000
	topN        = 8
	maxHeatRows = 10               // techniques per tactic in the heat map
	totalsEvery = 5 * time.Minute  // totals are recounted at least this often
	dashIdle    = 2 * time.Hour    // figures unused this long are dropped
	dashTimeout = 10 * time.Minute // one update may take this long at most
)

// tactics are the ATT&CK enterprise tactics in matrix order.
var tactics = []string{"reconnaissance", "resource-development", "initial-access", "execution", "persistence",
	"privilege-escalation", "defense-evasion", "credential-access", "discovery", "lateral-movement",
	"collection", "command-and-control", "exfiltration", "impact"}

// relationship types that say an entity was used or seen, as opposed to
// structure (subtechnique-of, revoked-by) or defence (mitigates, detects).
var activityRels = map[string]bool{"uses": true, "indicates": true, "targets": true, "attributed-to": true,
	"delivers": true, "drops": true, "downloads": true, "exploits": true, "variant-of": true, "communicates-with": true,
	"compromises": true, "originates-from": true, "authored-by": true, "hosts": true, "owns": true, "controls": true, "impersonates": true}

// tracked are the types whose references the dashboard ranks.
func tracked(id string) bool {
	switch typeOfID(id) {
	case "malware", "intrusion-set", "threat-actor", "attack-pattern":
		return true
	}
	return false
}

type dashboards struct {
	s  *server
	mu sync.Mutex
	m  map[string]*dashEntry
}

func newDashboards(s *server) *dashboards { return &dashboards{s: s, m: map[string]*dashEntry{}} }

func viewerKey(v *store.Viewer) string {
	g := slices.Clone(v.Groups)
	sort.Strings(g)
	return fmt.Sprintf("%s|%s|%d|%t", v.Org, strings.Join(g, ","), v.MinLevel, v.All)
}

// dashEntry holds one viewer's figures.
type dashEntry struct {
	viewer store.Viewer

	mu       sync.Mutex
	snap     *snapshot     // the latest figures; immutable once published
	running  chan struct{} // closed when the running update ends; nil when none runs
	stale    bool          // something was imported: update before showing
	lastUsed time.Time

	// The update's own state, touched only by the one running update.
	scan scanState
}

// scanState is the incremental part: records added in the window.
type scanState struct {
	lastSeq    int64
	days       map[int64]*dayAgg // by UTC day (Unix seconds of midnight)
	recent     []recentRec       // the last few records added, oldest first
	totals     map[string]int64
	totalsAt   time.Time
	totalsSeq  int64         // lastSeq when the totals were counted
	totalsCost time.Duration // how long counting them took
	meta       map[string]entityMeta
}

type dayAgg struct {
	indicators, sightings, objects int64
	refs                           map[string]int32 // tracked id → references that day
}

type recentRec struct {
	seq   int64
	id    string
	typ   string
	at    time.Time
	mod   time.Time
	level store.Level
	raw   []byte
}

type entityMeta struct {
	label   string
	extID   string
	tactics []string
	ok      bool // false: not readable (absent, revoked or invisible)
}

// snapshot is what the dashboard shows.
type snapshot struct {
	At         time.Time
	Days       []time.Time
	Indicators []int64
	Sightings  []int64
	Objects    []int64
	Totals     map[string]int64
	Total      int64
	TopMalware []ranked
	TopActors  []ranked
	Techniques map[string][]ranked // by tactic
	Recent     []item
}

type ranked struct {
	ID    string
	Label string
	ExtID string
	Type  string
	Count int64
}

// get returns the viewer's figures, waiting up to DashboardWait when there
// are none yet or an import made them stale. nil means not ready yet.
func (d *dashboards) get(v *store.Viewer) *snapshot {
	deadline := time.NewTimer(d.s.opts.DashboardWait)
	defer deadline.Stop()
	for {
		e, snap, stale, running := d.start(v)
		if (snap != nil && !stale) || running == nil {
			return snap
		}
		select {
		case <-running:
		case <-deadline.C:
			e.mu.Lock()
			defer e.mu.Unlock()
			return e.snap
		}
	}
}

// kick starts computing the viewer's figures when they are due, without
// waiting for them.
func (d *dashboards) kick(v *store.Viewer) { d.start(v) }

// start finds the viewer's entry and starts an update when one is due.
func (d *dashboards) start(v *store.Viewer) (e *dashEntry, snap *snapshot, stale bool, running chan struct{}) {
	key := viewerKey(v)
	now := d.s.now()
	d.mu.Lock()
	e = d.m[key]
	if e == nil {
		e = &dashEntry{viewer: *v, scan: scanState{days: map[int64]*dayAgg{}, meta: map[string]entityMeta{}}}
		e.viewer.Groups = slices.Clone(v.Groups)
		d.m[key] = e
	}
	for k, x := range d.m { // drop figures nobody looked at for a while
		if x == e {
			continue
		}
		x.mu.Lock()
		idle := x.running == nil && now.Sub(x.lastUsed) > dashIdle
		x.mu.Unlock()
		if idle {
			delete(d.m, k)
		}
	}
	d.mu.Unlock()

	e.mu.Lock()
	defer e.mu.Unlock()
	e.lastUsed = now
	snap, stale = e.snap, e.stale
	due := snap == nil || stale || now.Sub(snap.At) > d.s.opts.DashboardRefresh
	running = e.running
	if due && running == nil {
		running = make(chan struct{})
		e.running = running
		e.stale = false
		go d.update(e, running)
	}
	return e, snap, stale, running
}

// invalidate marks every viewer's figures stale (after an import).
func (d *dashboards) invalidate() {
	d.mu.Lock()
	defer d.mu.Unlock()
	for _, e := range d.m {
		e.mu.Lock()
		e.stale = true
		e.mu.Unlock()
	}
}

func (d *dashboards) update(e *dashEntry, done chan struct{}) {
	defer func() {
		e.mu.Lock()
		e.running = nil
		e.mu.Unlock()
		close(done)
	}()
	ctx, cancel := context.WithTimeout(context.Background(), dashTimeout)
	defer cancel()
	snap, err := d.compute(ctx, e)
	if err != nil {
		d.s.log.Error("web: dashboard figures", "err", err)
		return
	}
	e.mu.Lock()
	e.snap = snap
	e.mu.Unlock()
}

func dayOf(t time.Time) int64 {
	u := t.UTC()
	return time.Date(u.Year(), u.Month(), u.Day(), 0, 0, 0, 0, time.UTC).Unix()
}

// compute brings the scan state up to date and derives a snapshot.
func (d *dashboards) compute(ctx context.Context, e *dashEntry) (*snapshot, error) {
	st := d.s.st
	v := &e.viewer
	sc := &e.scan
	now := d.s.now().UTC()
	today := dayOf(now)
	first := today - (windowDays-1)*86400
	for k := range sc.days {
		if k < first {
			delete(sc.days, k)
		}
	}
	if sc.lastSeq == 0 {
		// Start at the first record of the window.
		it, err := st.Query(ctx, store.Query{AddedAfter: time.Unix(first, 0).Add(-time.Nanosecond), Versions: store.VersionsAll,
			IncludeRevoked: true, Viewer: v, Limit: 1})
		if err != nil {
			return nil, err
		}
		if it.Next() {
			sc.lastSeq = it.At().Seq - 1
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
	}
	for {
		n, err := d.scanBatch(ctx, sc, v, first)
		if err != nil {
			return nil, err
		}
		if n < scanBatch {
			break
		}
	}
	// Recount the totals when something was added, at most as often as
	// ten times what counting takes (cheap on a small store, bounded on a
	// large one), and at least every totalsEvery.
	if sc.totals == nil || now.Sub(sc.totalsAt) > totalsEvery ||
		(sc.totalsSeq != sc.lastSeq && now.Sub(sc.totalsAt) > 10*sc.totalsCost) {
		start := time.Now()
		if err := d.countTotals(ctx, sc, v); err != nil {
			return nil, err
		}
		sc.totalsAt, sc.totalsSeq, sc.totalsCost = now, sc.lastSeq, time.Since(start)
		sc.meta = map[string]entityMeta{}
	}
	return d.snapshot(ctx, sc, v, now, first)
}

// scanBatch reads the next batch of records added since the last look.
func (d *dashboards) scanBatch(ctx context.Context, sc *scanState, v *store.Viewer, first int64) (int, error) {
	it, err := d.s.st.Query(ctx, store.Query{AfterSeq: sc.lastSeq, Versions: store.VersionsAll, IncludeRevoked: true,
		Viewer: v, Limit: scanBatch})
	if err != nil {
		return 0, err
	}
	defer it.Close()
	n := 0
	for it.Next() {
		rec := it.At()
		n++
		sc.lastSeq = rec.Seq
		day := dayOf(rec.DateAdded)
		if day < first {
			continue
		}
		agg := sc.days[day]
		if agg == nil {
			agg = &dayAgg{refs: map[string]int32{}}
			sc.days[day] = agg
		}
		agg.objects++
		switch rec.Type {
		case "indicator":
			agg.indicators++
		case "sighting":
			agg.sightings++
		}
		if rec.Type == "relationship" || rec.Type == "sighting" {
			var c struct {
				RelationshipType string `json:"relationship_type"`
				SourceRef        string `json:"source_ref"`
				TargetRef        string `json:"target_ref"`
				SightingOfRef    string `json:"sighting_of_ref"`
			}
			if json.Unmarshal(rec.Raw, &c) == nil && !rec.Revoked {
				if rec.Type == "sighting" {
					if tracked(c.SightingOfRef) {
						agg.refs[c.SightingOfRef]++
					}
				} else if activityRels[c.RelationshipType] {
					for _, id := range []string{c.SourceRef, c.TargetRef} {
						if tracked(id) {
							agg.refs[id]++
						}
					}
				}
			}
		}
		// Keep the last few records for "recently added" (relationships and
		// markings say little on their own).
		if rec.Type == "relationship" || rec.Type == "marking-definition" {
			continue
		}
		const keep = 8
		if len(sc.recent) == keep {
			r := sc.recent[0]
			copy(sc.recent, sc.recent[1:])
			sc.recent = sc.recent[:keep-1]
			r.raw = append(r.raw[:0], rec.Raw...)
			r.seq, r.id, r.typ, r.at, r.mod, r.level = rec.Seq, rec.ID, rec.Type, rec.DateAdded, rec.Modified, rec.Access.Level
			sc.recent = append(sc.recent, r)
		} else {
			sc.recent = append(sc.recent, recentRec{seq: rec.Seq, id: rec.ID, typ: rec.Type, at: rec.DateAdded, mod: rec.Modified,
				level: rec.Access.Level, raw: append([]byte(nil), rec.Raw...)})
		}
	}
	return n, it.Err()
}

// countTotals counts the latest versions of each type the viewer can read.
// Stats (which is not restricted) only says which types to count.
func (d *dashboards) countTotals(ctx context.Context, sc *scanState, v *store.Viewer) error {
	stats, err := d.s.st.Stats(ctx)
	if err != nil {
		return err
	}
	totals := map[string]int64{}
	for typ := range stats.ByType {
		n, err := d.s.st.Count(ctx, store.Query{Types: []string{typ}, Viewer: v})
		if err != nil {
			return err
		}
		if n > 0 {
			totals[typ] = n
		}
	}
	sc.totals = totals
	return nil
}

func (d *dashboards) snapshot(ctx context.Context, sc *scanState, v *store.Viewer, now time.Time, first int64) (*snapshot, error) {
	snap := &snapshot{At: now, Totals: sc.totals, Techniques: map[string][]ranked{}}
	for _, n := range sc.totals {
		snap.Total += n
	}
	refs := map[string]int64{}
	for i := range windowDays {
		day := first + int64(i)*86400
		snap.Days = append(snap.Days, time.Unix(day, 0).UTC())
		agg := sc.days[day]
		if agg == nil {
			snap.Indicators = append(snap.Indicators, 0)
			snap.Sightings = append(snap.Sightings, 0)
			snap.Objects = append(snap.Objects, 0)
			continue
		}
		snap.Indicators = append(snap.Indicators, agg.indicators)
		snap.Sightings = append(snap.Sightings, agg.sightings)
		snap.Objects = append(snap.Objects, agg.objects)
		for id, n := range agg.refs {
			refs[id] += int64(n)
		}
	}
	// Rank by references, then look the leaders up (with the viewer: an
	// entity the reader cannot see is left out even when visible
	// relationships point at it).
	byType := map[string][]ranked{}
	for id, n := range refs {
		t := typeOfID(id)
		if t == "threat-actor" {
			t = "intrusion-set"
		}
		byType[t] = append(byType[t], ranked{ID: id, Type: typeOfID(id), Count: n})
	}
	for _, l := range byType {
		sort.Slice(l, func(i, j int) bool {
			if l[i].Count != l[j].Count {
				return l[i].Count > l[j].Count
			}
			return l[i].ID < l[j].ID
		})
	}
	want := map[string]bool{}
	cands := map[string][]ranked{}
	for t, limit := range map[string]int{"malware": topN * 3, "intrusion-set": topN * 3, "attack-pattern": 400} {
		l := byType[t]
		if len(l) > limit {
			l = l[:limit]
		}
		cands[t] = l
		for _, r := range l {
			if _, ok := sc.meta[r.ID]; !ok {
				want[r.ID] = true
			}
		}
	}
	if err := d.lookup(ctx, sc, v, want); err != nil {
		return nil, err
	}
	fill := func(l []ranked, n int) []ranked {
		var out []ranked
		for _, r := range l {
			m := sc.meta[r.ID]
			if !m.ok {
				continue
			}
			r.Label, r.ExtID = m.label, m.extID
			out = append(out, r)
			if len(out) == n {
				break
			}
		}
		return out
	}
	snap.TopMalware = fill(cands["malware"], topN)
	snap.TopActors = fill(cands["intrusion-set"], topN)
	for _, r := range fill(cands["attack-pattern"], len(cands["attack-pattern"])) {
		for _, t := range sc.meta[r.ID].tactics {
			if len(snap.Techniques[t]) < maxHeatRows {
				snap.Techniques[t] = append(snap.Techniques[t], r)
			}
		}
	}
	// A sighting is named after what was sighted (when the reader may see it).
	var sighted []string
	for i := len(sc.recent) - 1; i >= 0; i-- {
		r := sc.recent[i]
		it := itemOf(&store.Record{ID: r.id, Type: r.typ, DateAdded: r.at, Modified: r.mod, Access: store.Access{Level: r.level}, Raw: r.raw})
		if r.typ == "sighting" {
			if c := decodeCommon(r.raw); c.SightingOfRef != "" {
				sighted = append(sighted, c.SightingOfRef)
				it.Ref = c.SightingOfRef
			}
		}
		snap.Recent = append(snap.Recent, it)
	}
	if len(sighted) > 0 {
		names, err := d.s.labels(ctx, dedupe(sighted), v)
		if err != nil {
			return nil, err
		}
		for i, it := range snap.Recent {
			if n, ok := names[it.Ref]; ok {
				snap.Recent[i].Label = n
			}
		}
	}
	return snap, nil
}

// lookup reads names, ATT&CK ids and tactics of entities, with the viewer.
func (d *dashboards) lookup(ctx context.Context, sc *scanState, v *store.Viewer, want map[string]bool) error {
	ids := make([]string, 0, len(want))
	for id := range want {
		ids = append(ids, id)
		sc.meta[id] = entityMeta{}
	}
	sort.Strings(ids)
	for len(ids) > 0 {
		n := min(len(ids), 200)
		it, err := d.s.st.Query(ctx, store.Query{IDs: ids[:n], Viewer: v})
		if err != nil {
			return err
		}
		for it.Next() {
			rec := it.At()
			c := decodeCommon(rec.Raw)
			m := entityMeta{label: truncate(c.label(), 80), extID: c.externalID(), ok: true}
			for _, k := range c.KillChainPhases {
				if strings.HasPrefix(k.KillChainName, "mitre-") && !slices.Contains(m.tactics, k.PhaseName) {
					m.tactics = append(m.tactics, k.PhaseName)
				}
			}
			sc.meta[rec.ID] = m
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return err
		}
		ids = ids[n:]
	}
	return nil
}

// ---- the page ----

type dashData struct {
	Ready      bool
	At         time.Time
	Tiles      []tile
	Indicators barChart
	Sightings  barChart
	TopMalware []ranked
	TopActors  []ranked
	Heat       heatMap
	Recent     []item
	Exposure   *Exposure
	ExposureOn bool
	Feeds      []FeedStatus
	FeedsOn    bool
	Alerts     []Alert
	AlertsOn   bool
	Admin      bool
}

type tile struct {
	Key   string // message key of the label
	Count int64
	Link  string
}

func (s *server) dashboard(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	p := ri.p
	dd := &dashData{Admin: p.CanAdmin()}
	snap := s.dash.get(p.Viewer())
	pd := &pageData{Title: ri.loc.T("dash.title"), Nav: "dashboard", Data: dd}
	if snap == nil {
		pd.Refresh = 5
	} else {
		dd.Ready, dd.At = true, snap.At
		t := snap.Totals
		dd.Tiles = []tile{
			{"dash.tile.objects", snap.Total, "/search"},
			{"dash.tile.indicators", t["indicator"], "/search?type=indicator"},
			{"dash.tile.sightings", t["sighting"], "/search?type=sighting"},
			{"dash.tile.malware", t["malware"], "/search?type=malware"},
			{"dash.tile.actors", t["intrusion-set"] + t["threat-actor"], "/search?type=intrusion-set&type=threat-actor"},
			{"dash.tile.techniques", t["attack-pattern"], "/search?type=attack-pattern"},
			{"dash.tile.vulnerabilities", t["vulnerability"], "/search?type=vulnerability"},
			{"dash.tile.reports", t["report"], "/search?type=report"},
		}
		dd.Indicators = newBarChart(ri.loc, snap.Days, snap.Indicators)
		dd.Sightings = newBarChart(ri.loc, snap.Days, snap.Sightings)
		dd.TopMalware, dd.TopActors = snap.TopMalware, snap.TopActors
		dd.Heat = newHeatMap(ri.loc, snap.Techniques)
		dd.Recent = snap.Recent
	}
	ctx := r.Context()
	if s.opts.Exposure != nil {
		if e, err := s.opts.Exposure.Exposure(ctx, p); err == nil {
			dd.Exposure, dd.ExposureOn = &e, true
		} else {
			s.log.Warn("web: exposure", "err", err)
		}
	}
	if s.opts.Feeds != nil {
		if f, err := s.opts.Feeds.FeedHealth(ctx, p); err == nil {
			dd.Feeds, dd.FeedsOn = f, true
			if len(dd.Feeds) > 8 {
				dd.Feeds = dd.Feeds[:8]
			}
		} else {
			s.log.Warn("web: feeds", "err", err)
		}
	}
	if s.opts.Alerts != nil {
		if a, err := s.opts.Alerts.RecentAlerts(ctx, p, 8); err == nil {
			dd.Alerts, dd.AlertsOn = a, true
		} else {
			s.log.Warn("web: alerts", "err", err)
		}
	}
	s.render(w, r, http.StatusOK, "dashboard", pd)
}
