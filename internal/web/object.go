package web

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"sort"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

const (
	maxListed    = 50    // items of a list property shown
	maxJSONChars = 4000  // characters of a nested value shown
	maxTextChars = 30000 // characters of a text property shown
	maxVersions  = 100
	maxSightings = 100
	maxValues    = 10 // observable values correlated
	maxCorrel    = 20 // objects listed per value
)

type objectData struct {
	ID          string
	Type        string
	Label       string
	Description string
	Revoked     bool
	Modified    time.Time
	Added       time.Time
	VKey        string // the shown version's key
	Latest      bool
	TLP         string
	Markings    []marking
	Level       store.Level
	Owner       string
	Group       string
	Props       []prop
	Versions    []version
	Diff        []diffLine
	DiffFrom    time.Time
	Graph       graph
	Sightings   []sightingRow
	Timeline    timeline
	Correlated  []correlation
	Sources     []store.SourceRecord
	JSONLink    string
	RefsLink    string
}

type marking struct {
	ID    string
	TLP   string // when a TLP marking
	Label string
}

type prop struct {
	Key  string
	Kind string // text, long, time, ref, refs, list, json, extrefs, phases, bool
	Text string
	Time time.Time
	Refs []string
	List []string
	More int
	Ext  []extRef
}

type extRef struct {
	Source, ExternalID, URL, Description string
}

type version struct {
	VKey     string
	Modified time.Time
	Added    time.Time
	Revoked  bool
	Current  bool
	Link     string
}

type diffLine struct {
	Key, Kind, Old, New string
}

type correlation struct {
	Value   string
	Objects []item
	More    bool
	Link    string
}

type sightingRow struct {
	ID        string
	Label     string
	FirstSeen time.Time
	LastSeen  time.Time
	Count     int64
	Where     []string
}

func (s *server) object(w http.ResponseWriter, r *http.Request) {
	ri := info(r)
	ctx := r.Context()
	v := viewer(r)
	id := r.PathValue("id")
	opts := store.GetOptions{Viewer: v}
	if vk := r.URL.Query().Get("v"); vk != "" {
		if opts.Modified = store.ParseVersionKey(vk); opts.Modified.IsZero() {
			s.fail(w, r, http.StatusNotFound, "error.not_found")
			return
		}
	}
	rec, err := s.st.Get(ctx, id, opts)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.noteRestrictedRead(r, rec)
	c := decodeCommon(rec.Raw)
	od := &objectData{ID: rec.ID, Type: rec.Type, Label: c.label(), Revoked: rec.Revoked, Modified: rec.Modified, Added: rec.DateAdded,
		VKey: store.VersionKeyOf(rec.Modified), Latest: rec.Latest, TLP: c.tlp(), Level: rec.Access.Level,
		JSONLink: objURL(rec.ID) + "/json", RefsLink: "/search?ref=" + url.QueryEscape(rec.ID)}
	if rec.Modified.IsZero() {
		od.VKey = ""
	}
	od.Description = truncate(c.Description, maxTextChars)
	if !rec.Latest && od.VKey != "" {
		od.JSONLink += "?v=" + url.QueryEscape(od.VKey)
	}
	od.Props = properties(rec.Raw)
	if err := s.objectContext(ctx, od, rec, &c, v, r); err != nil {
		s.internal(w, r, err)
		return
	}
	od.Timeline = newTimeline(ri.loc, od.Sightings)
	s.render(w, r, http.StatusOK, "object", &pageData{Title: truncate(od.Label, 80) + " · " + ri.loc.TypeName(rec.Type), Nav: "search", Data: od})
}

// objectContext fills everything around the object itself; every read
// goes through the reader's viewer.
func (s *server) objectContext(ctx context.Context, od *objectData, rec *store.Record, c *common, v *store.Viewer, r *http.Request) error {
	st := s.st
	// Markings: TLP by its well-known identifier, others by their name.
	var other []string
	for _, m := range c.Markings {
		if l, ok := stix.TLPLevel(m); ok {
			od.Markings = append(od.Markings, marking{ID: m, TLP: l})
		} else {
			other = append(other, m)
		}
	}
	if len(other) > 0 {
		labels, err := s.labels(ctx, other, v)
		if err != nil {
			return err
		}
		for _, m := range other {
			if l, ok := labels[m]; ok {
				od.Markings = append(od.Markings, marking{ID: m, Label: l})
			}
		}
	}
	if rec.Access.Owner != "" {
		if o, err := st.Org(ctx, rec.Access.Owner); err == nil {
			od.Owner = o.Name
		}
	}
	if rec.Access.Group != "" {
		if g, err := st.Group(ctx, rec.Access.Group); err == nil {
			od.Group = g.Name
		}
	}
	// Versions, and the difference from the previous one.
	it, err := st.Query(ctx, store.Query{IDs: []string{rec.ID}, Versions: store.VersionsAll, IncludeRevoked: true, Viewer: v, Limit: maxVersions})
	if err != nil {
		return err
	}
	var prevRaw []byte
	var prevMod time.Time
	var vs []version
	for it.Next() {
		x := it.At()
		vk := store.VersionKeyOf(x.Modified)
		vs = append(vs, version{VKey: vk, Modified: x.Modified, Added: x.DateAdded, Revoked: x.Revoked,
			Current: x.Seq == rec.Seq, Link: objURL(rec.ID) + "?v=" + url.QueryEscape(vk)})
		if x.Modified.Before(rec.Modified) && (prevRaw == nil || x.Modified.After(prevMod)) {
			prevRaw, prevMod = append([]byte(nil), x.Raw...), x.Modified
		}
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return err
	}
	sort.Slice(vs, func(i, j int) bool { return vs[i].Modified.After(vs[j].Modified) })
	if len(vs) > 1 {
		od.Versions = vs
	}
	if prevRaw != nil {
		od.Diff, od.DiffFrom = diffObjects(prevRaw, rec.Raw), prevMod
	}
	// The relationship graph.
	g, err := s.buildGraph(ctx, rec, c, v, r.URL.Query().Get("expand"))
	if err != nil {
		return err
	}
	od.Graph = g
	// Sightings of the object.
	if rec.Type != "sighting" && rec.Type != "relationship" {
		if err := s.sightings(ctx, od, rec.ID, v); err != nil {
			return err
		}
	}
	// Correlations: other objects with one of this object's observable values.
	if err := s.correlations(ctx, od, rec, v); err != nil {
		return err
	}
	// Sources name feeds and files, which are the operators' business:
	// administrators see them.
	if principal(r).CanAdmin() {
		if src, err := st.Sources(ctx, rec.ID); err == nil {
			od.Sources = src
		}
	}
	return nil
}

// labels returns the labels of the readable objects among ids.
func (s *server) labels(ctx context.Context, ids []string, v *store.Viewer) (map[string]string, error) {
	out := map[string]string{}
	for len(ids) > 0 {
		n := min(len(ids), 200)
		it, err := s.st.Query(ctx, store.Query{IDs: ids[:n], Viewer: v, IncludeRevoked: true})
		if err != nil {
			return nil, err
		}
		for it.Next() {
			c := decodeCommon(it.At().Raw)
			if it.At().Type == "marking-definition" && c.Name == "" {
				c.Name = markingStatement(it.At().Raw)
			}
			out[it.At().ID] = truncate(c.label(), 80)
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return nil, err
		}
		ids = ids[n:]
	}
	return out, nil
}

func markingStatement(raw []byte) string {
	var m struct {
		Definition struct {
			Statement string `json:"statement"`
		} `json:"definition"`
	}
	json.Unmarshal(raw, &m)
	return m.Definition.Statement
}

func (s *server) sightings(ctx context.Context, od *objectData, id string, v *store.Viewer) error {
	it, err := s.st.Query(ctx, store.Query{Ref: id, Types: []string{"sighting"}, Viewer: v, Limit: maxSightings})
	if err != nil {
		return err
	}
	var where []string
	for it.Next() {
		c := decodeCommon(it.At().Raw)
		row := sightingRow{ID: it.At().ID, Label: c.label(), FirstSeen: parseTS(c.FirstSeen), LastSeen: parseTS(c.LastSeen), Count: 1, Where: c.WhereSightedRefs}
		if c.Count != nil {
			row.Count = *c.Count
		}
		if row.FirstSeen.IsZero() {
			row.FirstSeen = parseTS(c.Created)
		}
		if row.LastSeen.IsZero() {
			row.LastSeen = row.FirstSeen
		}
		where = append(where, c.WhereSightedRefs...)
		od.Sightings = append(od.Sightings, row)
	}
	err = it.Err()
	it.Close()
	if err != nil {
		return err
	}
	if len(where) > 0 {
		names, err := s.labels(ctx, dedupe(where), v)
		if err != nil {
			return err
		}
		for i := range od.Sightings {
			var ws []string
			for _, w := range od.Sightings[i].Where {
				if n, ok := names[w]; ok {
					ws = append(ws, n)
				}
			}
			od.Sightings[i].Where = ws
		}
	}
	sort.Slice(od.Sightings, func(i, j int) bool { return od.Sightings[i].FirstSeen.Before(od.Sightings[j].FirstSeen) })
	return nil
}

func dedupe(l []string) []string {
	seen := map[string]bool{}
	var out []string
	for _, x := range l {
		if !seen[x] {
			seen[x] = true
			out = append(out, x)
		}
	}
	return out
}

func (s *server) correlations(ctx context.Context, od *objectData, rec *store.Record, v *store.Viewer) error {
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(rec.Raw))
	dec.UseNumber()
	if dec.Decode(&m) != nil {
		return nil
	}
	values := ingest.BuildObject(m, rec.Raw, ingest.DefaultPatternValues).Index.Values
	if len(values) > maxValues {
		values = values[:maxValues]
	}
	for _, val := range values {
		it, err := s.st.Query(ctx, store.Query{Value: val, Viewer: v, Limit: maxCorrel + 2})
		if err != nil {
			return err
		}
		cr := correlation{Value: val, Link: "/search?value=" + url.QueryEscape(val)}
		for it.Next() {
			if it.At().ID == rec.ID {
				continue
			}
			if len(cr.Objects) == maxCorrel {
				cr.More = true
				break
			}
			cr.Objects = append(cr.Objects, itemOf(it.At()))
		}
		err = it.Err()
		it.Close()
		if err != nil {
			return err
		}
		if len(cr.Objects) > 0 {
			od.Correlated = append(od.Correlated, cr)
		}
	}
	return nil
}

// noteRestrictedRead audits reads of objects not shared with the whole
// community, as the REST API does.
func (s *server) noteRestrictedRead(r *http.Request, rec *store.Record) {
	if rec.Access.Level >= store.LevelCommunity {
		return
	}
	s.auditRecord(r, audit.Entry{Action: "read", Target: rec.ID, Detail: map[string]string{"via": "web", "level": access.LevelName(rec.Access.Level)}})
}

// objectJSON sends the object as stored, as a download.
func (s *server) objectJSON(w http.ResponseWriter, r *http.Request) {
	opts := store.GetOptions{Viewer: viewer(r)}
	if vk := r.URL.Query().Get("v"); vk != "" {
		opts.Modified = store.ParseVersionKey(vk)
	}
	rec, err := s.st.Get(r.Context(), r.PathValue("id"), opts)
	if errors.Is(err, store.ErrNotFound) {
		s.fail(w, r, http.StatusNotFound, "error.not_found")
		return
	}
	if err != nil {
		s.internal(w, r, err)
		return
	}
	s.noteRestrictedRead(r, rec)
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Disposition", `attachment; filename="`+strings.ReplaceAll(rec.ID, `"`, "")+`.json"`)
	var buf bytes.Buffer
	if json.Indent(&buf, rec.Raw, "", "  ") != nil {
		buf.Reset()
		buf.Write(rec.Raw)
	}
	buf.WriteByte('\n')
	w.Write(buf.Bytes())
}

// ---- properties ----

type kv struct {
	key string
	val json.RawMessage
}

// orderedProps decodes the top level of an object, keeping the order of
// its properties.
func orderedProps(raw []byte) []kv {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if t, err := dec.Token(); err != nil || t != json.Delim('{') {
		return nil
	}
	var out []kv
	for dec.More() {
		t, err := dec.Token()
		if err != nil {
			return out
		}
		k, _ := t.(string)
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return out
		}
		out = append(out, kv{k, v})
	}
	return out
}

// shown apart at the top of the page, not in the property table
var headerProps = map[string]bool{"type": true, "id": true, "name": true, "description": true, "object_marking_refs": true}

func properties(raw []byte) []prop {
	var out []prop
	for _, p := range orderedProps(raw) {
		if headerProps[p.key] {
			continue
		}
		out = append(out, propOf(p.key, p.val))
	}
	return out
}

func propOf(key string, val json.RawMessage) prop {
	p := prop{Key: key}
	var str string
	isStr := json.Unmarshal(val, &str) == nil
	switch {
	case isStr && (strings.HasSuffix(key, "_ref")) && strings.Contains(str, "--"):
		p.Kind, p.Refs = "ref", []string{str}
	case isStr && isTimestampProp(key):
		if t, err := stix.ParseTimestamp(str); err == nil {
			p.Kind, p.Time, p.Text = "time", t, str
		} else {
			p.Kind, p.Text = "text", str
		}
	case isStr:
		p.Kind, p.Text = "text", truncate(str, maxTextChars)
		if strings.Contains(str, "\n") || len(str) > 200 {
			p.Kind = "long"
		}
	case strings.HasSuffix(key, "_refs"):
		var refs []string
		if json.Unmarshal(val, &refs) == nil {
			p.Kind = "refs"
			if len(refs) > maxListed {
				p.More = len(refs) - maxListed
				refs = refs[:maxListed]
			}
			p.Refs = refs
		} else {
			p.Kind, p.Text = "json", compactJSON(val)
		}
	case key == "external_references":
		var refs []extRef
		var rawRefs []struct {
			SourceName  string `json:"source_name"`
			ExternalID  string `json:"external_id"`
			URL         string `json:"url"`
			Description string `json:"description"`
		}
		if json.Unmarshal(val, &rawRefs) == nil {
			for _, x := range rawRefs {
				u := x.URL
				if !strings.HasPrefix(u, "https://") && !strings.HasPrefix(u, "http://") {
					u = "" // only web links become links
				}
				refs = append(refs, extRef{Source: x.SourceName, ExternalID: x.ExternalID, URL: u, Description: truncate(x.Description, 300)})
			}
			p.Kind = "extrefs"
			if len(refs) > maxListed {
				p.More = len(refs) - maxListed
				refs = refs[:maxListed]
			}
			p.Ext = refs
		} else {
			p.Kind, p.Text = "json", compactJSON(val)
		}
	case key == "kill_chain_phases":
		var phases []struct {
			KillChainName string `json:"kill_chain_name"`
			PhaseName     string `json:"phase_name"`
		}
		if json.Unmarshal(val, &phases) == nil {
			p.Kind = "list"
			for _, ph := range phases {
				p.List = append(p.List, ph.KillChainName+": "+ph.PhaseName)
			}
		} else {
			p.Kind, p.Text = "json", compactJSON(val)
		}
	case len(val) > 0 && val[0] != '[' && val[0] != '{':
		var x any
		json.Unmarshal(val, &x)
		p.Kind, p.Text = "text", scalarText(x)
	default:
		var list []any
		if json.Unmarshal(val, &list) == nil && scalars(list) {
			p.Kind = "list"
			for i, x := range list {
				if i == maxListed {
					p.More = len(list) - maxListed
					break
				}
				p.List = append(p.List, scalarText(x))
			}
		} else {
			p.Kind, p.Text = "json", prettyJSON(val)
		}
	}
	return p
}

func isTimestampProp(k string) bool {
	switch k {
	case "created", "modified", "valid_from", "valid_until", "first_seen", "last_seen", "published", "first_observed",
		"last_observed", "start_time", "stop_time", "ctime", "mtime", "atime", "date", "start", "end":
		return true
	}
	return strings.HasSuffix(k, "_time") || strings.HasSuffix(k, "_date")
}

func scalars(l []any) bool {
	for _, x := range l {
		switch x.(type) {
		case map[string]any, []any:
			return false
		}
	}
	return true
}

func scalarText(x any) string {
	switch v := x.(type) {
	case string:
		return truncate(v, 500)
	case nil:
		return "null"
	}
	b, _ := json.Marshal(x)
	return string(b)
}

func compactJSON(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Compact(&b, v) != nil {
		return truncate(string(v), maxJSONChars)
	}
	return truncate(b.String(), maxJSONChars)
}

func prettyJSON(v json.RawMessage) string {
	var b bytes.Buffer
	if json.Indent(&b, v, "", "  ") != nil {
		return truncate(string(v), maxJSONChars)
	}
	return truncate(b.String(), maxJSONChars)
}

// diffObjects compares two versions property by property.
func diffObjects(oldRaw, newRaw []byte) []diffLine {
	oldP, newP := map[string]string{}, map[string]string{}
	var order []string
	for _, p := range orderedProps(oldRaw) {
		oldP[p.key] = compactJSON(p.val)
		order = append(order, p.key)
	}
	for _, p := range orderedProps(newRaw) {
		newP[p.key] = compactJSON(p.val)
		if _, ok := oldP[p.key]; !ok {
			order = append(order, p.key)
		}
	}
	var out []diffLine
	for _, k := range order {
		o, inOld := oldP[k]
		n, inNew := newP[k]
		switch {
		case inOld && !inNew:
			out = append(out, diffLine{Key: k, Kind: "removed", Old: truncate(o, 600)})
		case !inOld && inNew:
			out = append(out, diffLine{Key: k, Kind: "added", New: truncate(n, 600)})
		case o != n:
			out = append(out, diffLine{Key: k, Kind: "changed", Old: truncate(o, 600), New: truncate(n, 600)})
		}
	}
	return out
}

// ---- sightings timeline ----

type timeline struct {
	W, H  int
	Rows  []timelineRow
	Ticks []axisTick
	Empty bool
}

type timelineRow struct {
	X, Y, W float64
	Title   string
	Label   string
	LX      float64
}

func newTimeline(loc *Localizer, rows []sightingRow) timeline {
	tl := timeline{W: 480, Empty: len(rows) == 0}
	if tl.Empty {
		return tl
	}
	if len(rows) > 20 {
		rows = rows[len(rows)-20:]
	}
	start, end := rows[0].FirstSeen, rows[0].LastSeen
	for _, r := range rows {
		if r.FirstSeen.Before(start) {
			start = r.FirstSeen
		}
		if r.LastSeen.After(end) {
			end = r.LastSeen
		}
	}
	span := end.Sub(start)
	if span <= 0 {
		span = time.Hour
		start = start.Add(-span / 2)
	}
	const left, right, rowH = 10.0, 400.0, 16.0
	x := func(t time.Time) float64 { return left + float64(t.Sub(start))/float64(span)*(right-left) }
	for i, r := range rows {
		x0, x1 := x(r.FirstSeen), x(r.LastSeen)
		w := max(x1-x0, 3)
		y := 24 + float64(i)*rowH
		tl.Rows = append(tl.Rows, timelineRow{X: x0, Y: y, W: w, Title: r.Label, Label: "×" + jsonNumber(float64(r.Count)), LX: min(x0+w+4, right+6)})
	}
	tl.H = int(24 + float64(len(tl.Rows))*rowH + 6)
	tl.Ticks = []axisTick{{X: left, Y: 12, Label: loc.Date(start)}, {X: right, Y: 12, Label: loc.Date(end)}}
	return tl
}
