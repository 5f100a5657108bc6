// Package misp reads MISP events (the MISP core format) and turns them into
// STIX 2.1: a single event ({"Event": …}), a list ({"response": [{"Event":
// …}, …]} or a JSON array), a bare event body, and the MISP feed layout (a
// directory with manifest.json and one <uuid>.json file per event). The
// mapping is described in docs/formats.md; every attribute ends up in a
// STIX object or is reported with its JSON path and the reason.
package misp

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

// Stats counts what a document held and what it became.
type Stats struct {
	Events     int `json:"events"`
	Attributes int `json:"attributes"` // every attribute, inside objects too
	// How the attributes were accounted for.
	InIndicators  int `json:"in_indicators"`  // part of an indicator's pattern
	InObservables int `json:"in_observables"` // a cyber-observable in observed-data
	InOther       int `json:"in_other"`       // a note, vulnerability, threat actor, campaign, rule, reference or property
	Skipped       int `json:"skipped"`        // deleted attributes
	Rejected      int `json:"rejected"`       // values that are invalid for their type
	Dropped       int `json:"dropped"`        // on a warninglist with the drop policy
	// Other content.
	Objects   int `json:"objects"`
	Clusters  int `json:"clusters"`
	Sightings int `json:"sightings"`
	Proposals int `json:"proposals"` // proposals (shadow attributes), not imported
	Emitted   int `json:"emitted"`   // STIX objects produced
}

// Accounted is how many attributes were imported, skipped, rejected or
// dropped: equal to Attributes when every attribute is accounted for.
func (s Stats) Accounted() int {
	return s.InIndicators + s.InObservables + s.InOther + s.Skipped + s.Rejected + s.Dropped
}

// ErrNotMISP reports a document that is not a MISP event or list of events.
var ErrNotMISP = errors.New("not a MISP event")

// Reader turns one MISP document into STIX objects.
type Reader struct {
	name    string
	r       io.Reader
	cfg     *emit.Config
	Stats   Stats
	origins []string
	emitted map[string]bool
	ids     map[string]string // ids derived from MISP uuids → the path that took them
	emitFn  func(int, []byte) error
}

// NewReader reads a MISP document from r; name is used in notices.
func NewReader(name string, r io.Reader, cfg *emit.Config) *Reader {
	return &Reader{name: name, r: r, cfg: cfg, emitted: map[string]bool{}, ids: map[string]string{}}
}

// Origin is the JSON path in the MISP document of what became the object
// emitted with index i.
func (rd *Reader) Origin(i int) string {
	if i >= 0 && i < len(rd.origins) {
		return rd.origins[i]
	}
	return ""
}

// Source is the document as an ingest.Source.
func (rd *Reader) Source() ingest.Source {
	return func(emitFn func(int, []byte) error, _ func(string)) error {
		rd.emitFn = emitFn
		return rd.read()
	}
}

// eventKeys are keys whose presence makes a bare object an event body.
var eventKeys = []string{"info", "Attribute", "Object", "date", "threat_level_id", "analysis", "Orgc", "Tag", "Galaxy", "EventReport"}

func (rd *Reader) read() error {
	dec := json.NewDecoder(rd.r)
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("$: %w", err)
	}
	switch tok {
	case json.Delim('['):
		for i := 0; dec.More(); i++ {
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("$[%d]: %w", i, err)
			}
			if err := rd.wrapped(raw, fmt.Sprintf("$[%d]", i)); err != nil {
				return err
			}
		}
		return nil
	case json.Delim('{'):
	default:
		return fmt.Errorf("%w: the document is not a JSON object", ErrNotMISP)
	}
	bare := map[string]json.RawMessage{}
	found := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("$: %w", err)
		}
		key, _ := kt.(string)
		switch key {
		case "Event":
			var ev Event
			if err := dec.Decode(&ev); err != nil {
				return fmt.Errorf("$.Event: %w", err)
			}
			found = true
			if err := rd.event(&ev, "$.Event"); err != nil {
				return err
			}
		case "response":
			t, err := dec.Token()
			if err != nil {
				return fmt.Errorf("$.response: %w", err)
			}
			if t != json.Delim('[') {
				return fmt.Errorf("$.response: %w: expected an array of events", ErrNotMISP)
			}
			for i := 0; dec.More(); i++ {
				var raw json.RawMessage
				if err := dec.Decode(&raw); err != nil {
					return fmt.Errorf("$.response[%d]: %w", i, err)
				}
				if err := rd.wrapped(raw, fmt.Sprintf("$.response[%d]", i)); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return fmt.Errorf("$.response: %w", err)
			}
			found = true
		default:
			var raw json.RawMessage
			if err := dec.Decode(&raw); err != nil {
				return fmt.Errorf("$.%s: %w", key, err)
			}
			if len(bare) < 10000 {
				bare[key] = raw
			}
		}
	}
	if _, err := dec.Token(); err != nil {
		return fmt.Errorf("$: %w", err)
	}
	if found {
		return nil
	}
	if !slices.ContainsFunc(eventKeys, func(k string) bool { _, ok := bare[k]; return ok }) {
		has := func(k string) bool { _, ok := bare[k]; return ok }
		switch {
		case len(bare) == 0:
			rd.notice(emit.Skipped, "$", "", "empty event")
			return nil
		case has("attributes") && (has("requiredOneOf") || has("required") || has("meta-category")):
			return fmt.Errorf("%w: this is a MISP object template", ErrNotMISP)
		case has("GalaxyCluster") || (has("namespace") && has("type") && has("name")):
			return fmt.Errorf("%w: this is a MISP galaxy", ErrNotMISP)
		case has("date_sighting") || (has("type") && has("value") && has("timestamp") && len(bare) <= 6):
			return fmt.Errorf("%w: this is a lone MISP sighting", ErrNotMISP)
		}
		return fmt.Errorf("%w: no Event, response or event properties (info, Attribute, Object, …)", ErrNotMISP)
	}
	b, err := json.Marshal(bare)
	if err != nil {
		return err
	}
	var ev Event
	if err := json.Unmarshal(b, &ev); err != nil {
		return fmt.Errorf("$: %w", err)
	}
	return rd.event(&ev, "$")
}

// wrapped handles one element of a list: {"Event": …} or a bare event.
func (rd *Reader) wrapped(raw json.RawMessage, path string) error {
	var w struct {
		Event *Event `json:"Event"`
	}
	if err := json.Unmarshal(raw, &w); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if w.Event != nil {
		return rd.event(w.Event, path+".Event")
	}
	var ev Event
	if err := json.Unmarshal(raw, &ev); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	return rd.event(&ev, path)
}

// out emits one object.
func (rd *Reader) out(obj map[string]any, origin string) error {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(obj); err != nil {
		return fmt.Errorf("%s: %w", origin, err)
	}
	b := bytes.TrimRight(buf.Bytes(), "\n")
	i := len(rd.origins)
	rd.origins = append(rd.origins, origin)
	rd.Stats.Emitted++
	return rd.emitFn(i, b)
}

func (rd *Reader) outRaw(b []byte, origin string) error {
	i := len(rd.origins)
	rd.origins = append(rd.origins, origin)
	rd.Stats.Emitted++
	return rd.emitFn(i, b)
}

func (rd *Reader) notice(kind, path, value, reason string) {
	rd.cfg.Notices.Add(emit.Notice{Kind: kind, Source: rd.name, Where: path, Value: value, Reason: reason})
}

// evCtx is what one event's conversion shares.
type evCtx struct {
	rd         *Reader
	ev         *Event
	path       string
	reportID   string
	created    time.Time
	modified   time.Time
	author     string
	marking    string
	refs       []string          // object_refs of the report
	extRefs    []map[string]any  // links
	byUUID     map[string]string // MISP uuid (attribute or object) → STIX id
	clusters   []clusterRef      // event-level clusters
	galaxyTags map[string]bool
}

type clusterRef struct {
	id, typ string
}

func ts(t time.Time) string { return stix.FormatTimestamp(t) }

func (rd *Reader) event(ev *Event, path string) error {
	rd.Stats.Events++
	c := &evCtx{rd: rd, ev: ev, path: path, byUUID: map[string]string{}, galaxyTags: map[string]bool{}}
	if ev.UUID != "" {
		c.reportID = emit.FromUUID("report", ev.UUID)
	} else {
		c.reportID = emit.ID("report", rd.name, path, ev.Info, string(ev.Date))
	}
	c.modified, _ = unixTime(ev.Timestamp)
	if d, err := time.Parse("2006-01-02", strings.TrimSpace(string(ev.Date))); err == nil {
		c.created = d.UTC()
	}
	switch {
	case c.created.IsZero() && c.modified.IsZero():
		c.created = rd.cfg.When()
		c.modified = c.created
	case c.created.IsZero():
		c.created = c.modified
	case c.modified.IsZero() || c.modified.Before(c.created):
		c.modified = c.created
	}
	// Author.
	if ev.Orgc != nil && (ev.Orgc.UUID != "" || ev.Orgc.Name != "") {
		u := ev.Orgc.UUID
		if u == "" {
			u = ev.Orgc.Name
		}
		c.author = emit.FromUUID("identity", u)
		name := ev.Orgc.Name
		if name == "" {
			name = u
		}
		if err := rd.once(c.author, path+".Orgc", func() []byte {
			return emit.Identity(c.author, name, "organization", "", emit.IdentityEpoch)
		}); err != nil {
			return err
		}
	} else if rd.cfg.Identity != "" {
		c.author = rd.cfg.Identity
		if rd.cfg.IdentityName != "" {
			if err := rd.once(c.author, path, func() []byte {
				return emit.Identity(c.author, rd.cfg.IdentityName, "system", "", emit.IdentityEpoch)
			}); err != nil {
				return err
			}
		}
	}
	// Marking and labels of the event.
	c.marking = rd.cfg.Marking
	var labels []string
	for _, t := range ev.Tag {
		if m, ok := tlpOf(t.Name); ok {
			c.marking = m
		} else if !strings.HasPrefix(t.Name, "misp-galaxy:") && t.Name != "" {
			labels = append(labels, t.Name)
		}
	}
	if err := rd.markingDef(c.marking, path); err != nil {
		return err
	}
	// Galaxy clusters of the event.
	for gi := range ev.Galaxy {
		g := &ev.Galaxy[gi]
		for ci := range g.GalaxyCluster {
			cl := &g.GalaxyCluster[ci]
			p := fmt.Sprintf("%s.Galaxy[%d].GalaxyCluster[%d]", path, gi, ci)
			id, typ, err := c.cluster(g.Type, cl, p)
			if err != nil {
				return err
			}
			if cl.TagName != "" {
				c.galaxyTags[cl.TagName] = true
			}
			if id == "" {
				labels = append(labels, cl.TagName)
				continue
			}
			c.clusters = append(c.clusters, clusterRef{id, typ})
			c.addRef(id)
		}
	}
	for i, t := range ev.Tag {
		if strings.HasPrefix(t.Name, "misp-galaxy:") && !c.galaxyTags[t.Name] {
			id, typ, err := c.clusterFromTag(t.Name, fmt.Sprintf("%s.Tag[%d]", path, i))
			if err != nil {
				return err
			}
			if id == "" {
				labels = append(labels, t.Name)
				continue
			}
			c.clusters = append(c.clusters, clusterRef{id, typ})
			c.addRef(id)
		}
	}
	// Attributes and objects.
	var pendingSightings []pendingSighting
	for i := range ev.Attribute {
		a := &ev.Attribute[i]
		p := fmt.Sprintf("%s.Attribute[%d]", path, i)
		id, err := c.attribute(a, p)
		if err != nil {
			return err
		}
		for si := range a.Sighting {
			pendingSightings = append(pendingSightings, pendingSighting{&a.Sighting[si], id, fmt.Sprintf("%s.Sighting[%d]", p, si)})
		}
	}
	for i := range ev.Object {
		if err := c.object(&ev.Object[i], fmt.Sprintf("%s.Object[%d]", path, i)); err != nil {
			return err
		}
	}
	for i := range ev.Object {
		o := &ev.Object[i]
		for ri := range o.ObjectReference {
			if err := c.reference(o, &o.ObjectReference[ri], fmt.Sprintf("%s.Object[%d].ObjectReference[%d]", path, i, ri)); err != nil {
				return err
			}
		}
		for ai := range o.Attribute {
			a := &o.Attribute[ai]
			for si := range a.Sighting {
				pendingSightings = append(pendingSightings, pendingSighting{&a.Sighting[si], c.byUUID[a.UUID], fmt.Sprintf("%s.Object[%d].Attribute[%d].Sighting[%d]", path, i, ai, si)})
			}
		}
	}
	for i := range ev.Sighting {
		s := &ev.Sighting[i]
		pendingSightings = append(pendingSightings, pendingSighting{s, c.byUUID[s.AttributeUUID], fmt.Sprintf("%s.Sighting[%d]", path, i)})
	}
	for _, ps := range pendingSightings {
		if err := c.sighting(ps); err != nil {
			return err
		}
	}
	for i := range ev.EventReport {
		if err := c.eventReport(&ev.EventReport[i], fmt.Sprintf("%s.EventReport[%d]", path, i)); err != nil {
			return err
		}
	}
	for i := range ev.ShadowAttribute {
		rd.Stats.Proposals++
		rd.notice(emit.Skipped, fmt.Sprintf("%s.ShadowAttribute[%d]", path, i), "", "proposal (shadow attribute) not imported")
	}
	if err := c.clusterRelationships(); err != nil {
		return err
	}
	// The report.
	if len(c.refs) == 0 {
		rd.notice(emit.Skipped, path, ev.Info, "the event has no content: no report created")
		return nil
	}
	name := ev.Info
	if name == "" {
		name = "MISP event " + ev.UUID
	}
	rep := map[string]any{
		"type": "report", "spec_version": "2.1", "id": c.reportID,
		"created": ts(c.created), "modified": ts(c.modified),
		"name": name, "report_types": []any{"threat-report"},
		"published": ts(c.published()), "object_refs": toAny(c.refs),
	}
	if c.author != "" {
		rep["created_by_ref"] = c.author
	}
	if len(labels) > 0 {
		rep["labels"] = toAny(labels)
	}
	if c.marking != "" {
		rep["object_marking_refs"] = []any{c.marking}
	}
	ext := []any{}
	if ev.UUID != "" {
		ext = append(ext, map[string]any{"source_name": "misp", "external_id": ev.UUID})
	}
	for _, e := range c.extRefs {
		ext = append(ext, e)
	}
	if len(ext) > 0 {
		rep["external_references"] = ext
	}
	if v := strings.TrimSpace(string(ev.ThreatLevelID)); v != "" {
		rep["x_misp_threat_level_id"] = v
	}
	if v := strings.TrimSpace(string(ev.Analysis)); v != "" {
		rep["x_misp_analysis"] = v
	}
	return rd.out(rep, path)
}

func (c *evCtx) published() time.Time {
	if t, ok := unixTime(c.ev.PublishTimestamp); ok && bool(c.ev.Published) {
		return t
	}
	return c.created
}

func (c *evCtx) addRef(id string) {
	if id != "" && !slices.Contains(c.refs, id) {
		c.refs = append(c.refs, id)
	}
}

// once emits a shared object (identity, marking, cluster, SCO) only the
// first time it is met in the document.
func (rd *Reader) once(id, origin string, build func() []byte) error {
	if rd.emitted[id] {
		return nil
	}
	rd.emitted[id] = true
	return rd.outRaw(build(), origin)
}

func (rd *Reader) markingDef(id, origin string) error {
	if id == "" {
		return nil
	}
	m := emit.MarkingDefinition(id)
	if m == nil {
		return nil
	}
	return rd.once(id, origin, func() []byte { return m })
}

func tlpOf(tag string) (string, bool) {
	t := strings.ToLower(strings.TrimSpace(tag))
	if !strings.HasPrefix(t, "tlp:") {
		return "", false
	}
	return emit.TLPMarking(strings.Trim(t[4:], `"`))
}

func toAny(ss []string) []any {
	out := make([]any, len(ss))
	for i, s := range ss {
		out[i] = s
	}
	return out
}

// common sets the properties every SDO of the event has.
func (c *evCtx) common(obj map[string]any, t time.Time, marking string, labels []string) {
	obj["spec_version"] = "2.1"
	obj["created"] = ts(t)
	obj["modified"] = ts(t)
	if c.author != "" {
		obj["created_by_ref"] = c.author
	}
	if marking != "" {
		obj["object_marking_refs"] = []any{marking}
	}
	if len(labels) > 0 {
		obj["labels"] = toAny(labels)
	}
}

// tags splits an attribute's or object's tags into a marking, labels and
// galaxy tags.
func (c *evCtx) tags(tags []Tag) (marking string, labels, galaxy []string) {
	marking = c.marking
	for _, t := range tags {
		switch {
		case t.Name == "":
		case strings.HasPrefix(t.Name, "misp-galaxy:"):
			galaxy = append(galaxy, t.Name)
		default:
			if m, ok := tlpOf(t.Name); ok {
				marking = m
			} else {
				labels = append(labels, t.Name)
			}
		}
	}
	return marking, labels, galaxy
}

func (c *evCtx) timeOf(s flexString) time.Time {
	if t, ok := unixTime(s); ok {
		return t
	}
	return c.modified
}

func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && !utf8Start(s[n]) {
		n--
	}
	return s[:n] + "…"
}

func utf8Start(b byte) bool { return b&0xC0 != 0x80 }

// emitSCOs emits cyber-observable objects once each and returns their ids.
func (c *evCtx) emitSCOs(scos []map[string]any, origin string) ([]string, error) {
	var ids []string
	for _, m := range scos {
		id := m["id"].(string)
		ids = append(ids, id)
		if c.rd.emitted[id] {
			continue
		}
		c.rd.emitted[id] = true
		if err := c.rd.out(m, origin); err != nil {
			return nil, err
		}
	}
	return ids, nil
}

// indicator emits an indicator with the pattern of cmps; ok is false when
// the pattern does not parse (reported).
func (c *evCtx) indicator(id, name, desc string, cmps []comparison, t time.Time, first, last flexString, marking string, labels []string, extra map[string]any, origin string) (bool, error) {
	p := buildPattern(cmps)
	pt, err := pattern.Parse(p)
	if err != nil {
		c.rd.notice(emit.Changed, origin, p, "no STIX pattern could be built ("+err.Error()+"); imported as an observable")
		return false, nil
	}
	ind := map[string]any{"type": "indicator", "id": id, "pattern": pt.String(), "pattern_type": "stix", "pattern_version": "2.1",
		"indicator_types": []any{"malicious-activity"}}
	c.common(ind, t, marking, labels)
	if name != "" {
		ind["name"] = truncate(name, 256)
	}
	if desc != "" {
		ind["description"] = desc
	}
	c.validity(ind, t, first, last)
	if c.rd.cfg.HasConfidence {
		ind["confidence"] = c.rd.cfg.Confidence
	}
	for k, v := range extra {
		ind[k] = v
	}
	c.addRef(id)
	return true, c.rd.out(ind, origin)
}

func (c *evCtx) validity(ind map[string]any, t time.Time, first, last flexString) {
	from := t
	if f, ok := seenTime(first); ok {
		from = f
	}
	ind["valid_from"] = ts(from)
	if l, ok := seenTime(last); ok && l.After(from) {
		ind["valid_until"] = ts(l)
	} else if d := c.rd.cfg.ValidFor; d > 0 {
		ind["valid_until"] = ts(from.Add(d))
	}
}

func (c *evCtx) observedData(id string, refs []string, t time.Time, first, last flexString, marking string, labels []string, extra map[string]any, origin string) error {
	od := map[string]any{"type": "observed-data", "id": id, "object_refs": toAny(refs), "number_observed": 1}
	c.common(od, t, marking, labels)
	f, l := t, t
	if x, ok := seenTime(first); ok {
		f, l = x, x
	}
	if x, ok := seenTime(last); ok && !x.Before(f) {
		l = x
	}
	od["first_observed"], od["last_observed"] = ts(f), ts(l)
	for k, v := range extra {
		od[k] = v
	}
	c.addRef(id)
	return c.rd.out(od, origin)
}

func (c *evCtx) note(id, content, abstract string, t time.Time, marking string, labels []string, extra map[string]any, origin string) error {
	n := map[string]any{"type": "note", "id": id, "content": content, "object_refs": []any{c.reportID}}
	if abstract != "" {
		n["abstract"] = truncate(abstract, 256)
	}
	c.common(n, t, marking, labels)
	for k, v := range extra {
		n[k] = v
	}
	c.addRef(id)
	return c.rd.out(n, origin)
}

func (c *evCtx) relationship(src, typ, dst, origin string, t time.Time, id string) error {
	if src == "" || dst == "" || src == dst {
		return nil
	}
	if id == "" {
		id = emit.ID("relationship", src, typ, dst)
	}
	if c.rd.emitted[id] {
		return nil
	}
	c.rd.emitted[id] = true
	r := map[string]any{"type": "relationship", "id": id, "relationship_type": typ, "source_ref": src, "target_ref": dst}
	c.common(r, t, c.marking, nil)
	c.addRef(id)
	return c.rd.out(r, origin)
}

var relTypeRE = regexp.MustCompile(`^[a-z0-9-]+$`)

func relType(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	s = strings.Map(func(r rune) rune {
		if r == ' ' || r == '_' {
			return '-'
		}
		return r
	}, s)
	if !relTypeRE.MatchString(s) {
		return "related-to"
	}
	return s
}

func attrID(typ, u, fallback string) string {
	if u != "" {
		return emit.FromUUID(typ, u)
	}
	return emit.ID(typ, fallback)
}

// newID is the identifier of the object made from the MISP element at
// path with uuid u. A uuid used twice in one document (copied attributes)
// gives the second element an identifier derived from its path.
func (rd *Reader) newID(typ, u, path string) string {
	id := attrID(typ, u, rd.name+path)
	if prev, dup := rd.ids[id]; dup && prev != path {
		rd.notice(emit.Changed, path, u, "uuid already used at "+prev+"; identifier derived from the path")
		id = emit.ID(typ, u, rd.name+path)
	}
	rd.ids[id] = path
	return id
}

// attribute converts one attribute outside objects and returns the id of
// the object that stands for it.
func (c *evCtx) attribute(a *Attribute, path string) (string, error) {
	rd := c.rd
	rd.Stats.Attributes++
	for i := range a.ShadowAttribute {
		rd.Stats.Proposals++
		rd.notice(emit.Skipped, fmt.Sprintf("%s.ShadowAttribute[%d]", path, i), "", "proposal (shadow attribute) not imported")
	}
	value := string(a.Value)
	if a.Deleted {
		rd.Stats.Skipped++
		rd.notice(emit.Skipped, path, value, "deleted attribute")
		return "", nil
	}
	conv, err := convert(a.Type, value)
	if err != nil {
		rd.Stats.Rejected++
		rd.notice(emit.Rejected, path, value, fmt.Sprintf("%s: %v", a.Type, err))
		return "", nil
	}
	marking, labels, galaxy := c.tags(a.Tag)
	if err := rd.markingDef(marking, path); err != nil {
		return "", err
	}
	if conv != nil && conv.kind != "" {
		wl, drop, hits := rd.warn(conv)
		if drop {
			rd.Stats.Dropped++
			rd.notice(emit.Dropped, path, value, "on warninglist "+strings.Join(hits, ", "))
			return "", nil
		}
		labels = append(labels, wl...)
	}
	if conv != nil && conv.note != "" {
		rd.notice(emit.Changed, path, value, conv.note)
	}
	t := c.timeOf(a.Timestamp)
	extra := map[string]any{"x_misp_type": a.Type}
	if a.Category != "" {
		extra["x_misp_category"] = a.Category
	}
	var id string
	switch {
	case conv == nil || (len(conv.cmps) == 0 && len(conv.scos) == 0 && conv.patternType == "" && conv.vuln == "" && conv.actor == "" && conv.campaign == "" && conv.link == ""):
		id = rd.newID("note", a.UUID, path)
		content := a.Type + ": " + value
		if a.Comment != "" {
			content += "\n\n" + a.Comment
		}
		extra["x_misp_value"] = value
		if err := c.note(id, content, a.Type, t, marking, labels, extra, path); err != nil {
			return "", err
		}
		rd.Stats.InOther++
	case conv.patternType != "":
		id = rd.newID("indicator", a.UUID, path)
		ind := map[string]any{"type": "indicator", "id": id, "pattern": value, "pattern_type": conv.patternType, "indicator_types": []any{"malicious-activity"}}
		c.common(ind, t, marking, labels)
		if a.Comment != "" {
			ind["description"] = a.Comment
		}
		c.validity(ind, t, a.FirstSeen, a.LastSeen)
		for k, v := range extra {
			ind[k] = v
		}
		c.addRef(id)
		if err := rd.out(ind, path); err != nil {
			return "", err
		}
		rd.Stats.InOther++
	case conv.vuln != "":
		id = rd.newID("vulnerability", a.UUID, path)
		if err := c.vulnerability(id, conv.vuln, a.Comment, t, marking, labels, extra, path); err != nil {
			return "", err
		}
		rd.Stats.InOther++
	case conv.actor != "" || conv.campaign != "":
		typ, name := "threat-actor", conv.actor
		if conv.campaign != "" {
			typ, name = "campaign", conv.campaign
		}
		id = rd.newID(typ, a.UUID, path)
		o := map[string]any{"type": typ, "id": id, "name": name}
		c.common(o, t, marking, labels)
		if a.Comment != "" {
			o["description"] = a.Comment
		}
		for k, v := range extra {
			o[k] = v
		}
		c.addRef(id)
		if err := rd.out(o, path); err != nil {
			return "", err
		}
		rd.Stats.InOther++
	case conv.link != "":
		ref := map[string]any{"source_name": "misp-link", "url": conv.link}
		if a.Comment != "" {
			ref["description"] = a.Comment
		}
		c.extRefs = append(c.extRefs, ref)
		rd.Stats.InOther++
		return c.reportID, nil
	case bool(a.ToIDS) && len(conv.cmps) > 0:
		id = rd.newID("indicator", a.UUID, path)
		ok, err := c.indicator(id, value, a.Comment, conv.cmps, t, a.FirstSeen, a.LastSeen, marking, labels, extra, path)
		if err != nil {
			return "", err
		}
		if ok {
			rd.Stats.InIndicators++
			break
		}
		fallthrough
	case len(conv.scos) > 0:
		ids, err := c.emitSCOs(conv.scos, path)
		if err != nil {
			return "", err
		}
		for _, r := range conv.resolves {
			if err := c.relationship(r[0], "resolves-to", r[1], path, t, ""); err != nil {
				return "", err
			}
		}
		id = rd.newID("observed-data", a.UUID, path)
		if a.Comment != "" {
			extra["x_misp_comment"] = a.Comment
		}
		if err := c.observedData(id, ids, t, a.FirstSeen, a.LastSeen, marking, labels, extra, path); err != nil {
			return "", err
		}
		rd.Stats.InObservables++
	default: // a comparison without an observable object (user-agent), not to_ids
		id = rd.newID("note", a.UUID, path)
		content := a.Type + ": " + value
		if a.Comment != "" {
			content += "\n\n" + a.Comment
		}
		extra["x_misp_value"] = value
		if err := c.note(id, content, a.Type, t, marking, labels, extra, path); err != nil {
			return "", err
		}
		rd.Stats.InOther++
	}
	if a.UUID != "" {
		c.byUUID[a.UUID] = id
	}
	if err := c.attributeClusters(id, a.Galaxy, galaxy, t, path); err != nil {
		return "", err
	}
	return id, nil
}

func (c *evCtx) vulnerability(id, name, desc string, t time.Time, marking string, labels []string, extra map[string]any, origin string) error {
	name = strings.TrimSpace(name)
	v := map[string]any{"type": "vulnerability", "id": id, "name": name}
	c.common(v, t, marking, labels)
	if desc != "" {
		v["description"] = desc
	}
	if cveRE.MatchString(strings.ToUpper(name)) {
		v["external_references"] = []any{map[string]any{"source_name": "cve", "external_id": strings.ToUpper(name)}}
	}
	for k, x := range extra {
		v[k] = x
	}
	c.addRef(id)
	return c.rd.out(v, origin)
}

// attributeClusters links an attribute's object to the clusters attached to
// the attribute.
func (c *evCtx) attributeClusters(id string, galaxies []Galaxy, tags []string, t time.Time, path string) error {
	seen := map[string]bool{}
	link := func(cid, ctyp string) error {
		rt := "related-to"
		if strings.HasPrefix(id, "indicator--") && ctyp != "course-of-action" {
			rt = "indicates"
		}
		return c.relationship(id, rt, cid, path, t, "")
	}
	for gi := range galaxies {
		g := &galaxies[gi]
		for ci := range g.GalaxyCluster {
			cl := &g.GalaxyCluster[ci]
			seen[cl.TagName] = true
			cid, ctyp, err := c.cluster(g.Type, cl, fmt.Sprintf("%s.Galaxy[%d].GalaxyCluster[%d]", path, gi, ci))
			if err != nil || cid == "" {
				if err != nil {
					return err
				}
				continue
			}
			c.addRef(cid)
			if err := link(cid, ctyp); err != nil {
				return err
			}
		}
	}
	for _, tag := range tags {
		if seen[tag] {
			continue
		}
		cid, ctyp, err := c.clusterFromTag(tag, path+".Tag")
		if err != nil {
			return err
		}
		if cid == "" {
			continue
		}
		c.addRef(cid)
		if err := link(cid, ctyp); err != nil {
			return err
		}
	}
	return nil
}

type pendingSighting struct {
	s    *Sighting
	of   string
	path string
}

func (c *evCtx) sighting(ps pendingSighting) error {
	rd := c.rd
	if ps.of == "" {
		rd.notice(emit.Skipped, ps.path, "", "sighting of an attribute that was not imported")
		return nil
	}
	t, ok := unixTime(ps.s.DateSighting)
	if !ok {
		t = c.modified
	}
	id := rd.newID("sighting", ps.s.UUID, ps.path)
	s := map[string]any{"type": "sighting", "id": id, "sighting_of_ref": ps.of, "first_seen": ts(t), "last_seen": ts(t), "count": 1}
	c.common(s, t, c.marking, nil)
	if o := ps.s.Organisation; o != nil && (o.UUID != "" || o.Name != "") {
		u := o.UUID
		if u == "" {
			u = o.Name
		}
		oid := emit.FromUUID("identity", u)
		name := o.Name
		if name == "" {
			name = u
		}
		if err := rd.once(oid, ps.path, func() []byte { return emit.Identity(oid, name, "organization", "", emit.IdentityEpoch) }); err != nil {
			return err
		}
		s["where_sighted_refs"] = []any{oid}
	}
	switch strings.TrimSpace(string(ps.s.Type)) {
	case "1":
		s["x_misp_sighting_type"] = "false-positive"
	case "2":
		s["x_misp_sighting_type"] = "expiration"
	}
	if ps.s.Source != "" {
		s["description"] = "source: " + ps.s.Source
	}
	rd.Stats.Sightings++
	c.addRef(id)
	return rd.out(s, ps.path)
}

func (c *evCtx) eventReport(er *EventReport, path string) error {
	if er.Deleted {
		c.rd.notice(emit.Skipped, path, er.Name, "deleted event report")
		return nil
	}
	if strings.TrimSpace(er.Content) == "" {
		c.rd.notice(emit.Skipped, path, er.Name, "empty event report")
		return nil
	}
	id := c.rd.newID("note", er.UUID, path)
	return c.note(id, er.Content, er.Name, c.timeOf(er.Timestamp), c.marking, nil, nil, path)
}

func (c *evCtx) reference(o *Object, r *ObjectReference, path string) error {
	if r.Deleted {
		c.rd.notice(emit.Skipped, path, "", "deleted object reference")
		return nil
	}
	src := c.byUUID[o.UUID]
	if r.ObjectUUID != "" && c.byUUID[r.ObjectUUID] != "" {
		src = c.byUUID[r.ObjectUUID]
	}
	dst := c.byUUID[r.ReferencedUUID]
	if src == "" || dst == "" {
		c.rd.notice(emit.Skipped, path, r.ReferencedUUID, "reference between objects that were not both imported")
		return nil
	}
	var id string
	if r.UUID != "" {
		id = emit.FromUUID("relationship", r.UUID)
	}
	return c.relationship(src, relType(r.RelationshipType), dst, path, c.timeOf(r.Timestamp), id)
}

// clusterRelationships links the event's actors to the malware, tools and
// techniques of the event ("uses"), and malware to techniques.
func (c *evCtx) clusterRelationships() error {
	for _, a := range c.clusters {
		for _, b := range c.clusters {
			actor := a.typ == "threat-actor" || a.typ == "intrusion-set"
			switch {
			case actor && (b.typ == "malware" || b.typ == "tool" || b.typ == "attack-pattern"):
			case a.typ == "malware" && b.typ == "attack-pattern":
			default:
				continue
			}
			if err := c.relationship(a.id, "uses", b.id, c.path, c.modified, ""); err != nil {
				return err
			}
		}
	}
	return nil
}
