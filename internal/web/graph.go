package web

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"

	"github.com/mamori-cti/mamori/internal/store"
)

// The relationship graph of an object: the object in the middle, the
// objects it is related to (relationships that refer to it, and the
// objects it refers to) on a ring around it, and, for each node the reader
// expanded, that node's own neighbours on an outer arc. Every node is
// looked up with the reader's viewer: an object the reader cannot see is
// not drawn, even when a visible relationship names it.

const (
	maxRing1     = 36 // neighbours drawn around the object
	maxRing2     = 12 // neighbours drawn per expanded node
	maxExpanded  = 4
	maxLabelRune = 22
)

type graph struct {
	ViewBox   string
	W, H      int
	Nodes     []gnode
	Edges     []gedge
	Hidden    int // neighbours not drawn (over the limit)
	Expanded  []string
	Collapse  string // link without expansions
	Empty     bool
	MaxLabels bool
}

type gnode struct {
	ID, Label, Type, Class string
	X, Y, R                float64
	Center                 bool
	Link                   string // the node's own page
	Expand                 string // link that expands it ("" when expanded or the centre)
	EX, EY                 float64
	LX, LY                 float64
	Anchor                 string
	Rotate                 string // transform of a radial label
	Ring                   int
}

type gedge struct {
	X1, Y1, X2, Y2 float64
	Label          string
	MX, MY         float64
	ShowLabel      bool
}

type neighbour struct {
	id, label string // label of the edge
}

func typeClass(t string) string {
	switch t {
	case "malware", "tool", "intrusion-set", "threat-actor", "campaign":
		return "g-threat"
	case "attack-pattern", "course-of-action", "x-mitre-tactic", "x-mitre-detection-strategy", "x-mitre-analytic":
		return "g-ttp"
	case "indicator", "sighting", "observed-data":
		return "g-ind"
	case "vulnerability", "infrastructure":
		return "g-vuln"
	case "identity", "location", "report", "note", "opinion", "grouping", "incident":
		return "g-ctx"
	}
	if strings.HasPrefix(t, "x-") {
		return "g-other"
	}
	return "g-obs"
}

// neighbours lists the objects related to id: through relationships that
// refer to it (and, for a relationship, its ends), and through its own
// reference properties.
func (s *server) neighbours(ctx context.Context, id string, raw []byte, v *store.Viewer, limit int) ([]neighbour, int, error) {
	var out []neighbour
	seen := map[string]bool{id: true}
	hidden := 0
	add := func(nid, label string) {
		if nid == "" || seen[nid] || !strings.Contains(nid, "--") {
			return
		}
		seen[nid] = true
		if len(out) >= limit {
			hidden++
			return
		}
		out = append(out, neighbour{nid, label})
	}
	// The object's own references (relationship ends, sighting_of_ref,
	// object_refs of a report, …), but not its author or markings.
	var m map[string]json.RawMessage
	json.Unmarshal(raw, &m)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		if k == "created_by_ref" || k == "object_marking_refs" {
			continue
		}
		switch {
		case strings.HasSuffix(k, "_ref"):
			var ref string
			if json.Unmarshal(m[k], &ref) == nil {
				add(ref, strings.TrimSuffix(k, "_ref"))
			}
		case strings.HasSuffix(k, "_refs"):
			var refs []string
			if json.Unmarshal(m[k], &refs) == nil {
				for _, ref := range refs {
					add(ref, strings.TrimSuffix(k, "_refs"))
				}
			}
		}
	}
	// Relationships that refer to it.
	it, err := s.st.Query(ctx, store.Query{Ref: id, Types: []string{"relationship"}, Viewer: v, Limit: limit * 3})
	if err != nil {
		return nil, 0, err
	}
	for it.Next() {
		c := decodeCommon(it.At().Raw)
		other := c.SourceRef
		if other == id {
			other = c.TargetRef
		}
		add(other, c.RelationshipType)
	}
	err = it.Err()
	it.Close()
	return out, hidden, err
}

func (s *server) buildGraph(ctx context.Context, rec *store.Record, c *common, v *store.Viewer, expandParam string) (graph, error) {
	var g graph
	ring1, hidden, err := s.neighbours(ctx, rec.ID, rec.Raw, v, maxRing1)
	if err != nil {
		return g, err
	}
	g.Hidden = hidden
	ids := []string{}
	for _, n := range ring1 {
		ids = append(ids, n.id)
	}
	// Expansions: only of nodes on the first ring.
	var expanded []string
	for _, e := range strings.Split(expandParam, ",") {
		e = strings.TrimSpace(e)
		if e == "" || slices.Contains(expanded, e) || len(expanded) == maxExpanded {
			continue
		}
		if slices.Contains(ids, e) {
			expanded = append(expanded, e)
		}
	}
	labels, err := s.labels(ctx, ids, v)
	if err != nil {
		return g, err
	}
	// Drop what the reader cannot see.
	visible := ring1[:0]
	for _, n := range ring1 {
		if _, ok := labels[n.id]; ok {
			visible = append(visible, n)
		}
	}
	ring1 = visible
	expanded = slices.DeleteFunc(expanded, func(e string) bool { _, ok := labels[e]; return !ok })
	g.Expanded = expanded
	g.Empty = len(ring1) == 0
	if g.Empty {
		return g, nil
	}
	// Neighbours of expanded nodes.
	ring2 := map[string][]neighbour{}
	placed := map[string]bool{rec.ID: true}
	for _, n := range ring1 {
		placed[n.id] = true
	}
	var more []string
	for _, e := range expanded {
		er, err := s.getVisible(ctx, e, v)
		if err != nil {
			return g, err
		}
		if er == nil {
			continue
		}
		ns, _, err := s.neighbours(ctx, e, er.Raw, v, maxRing2*2)
		if err != nil {
			return g, err
		}
		for _, n := range ns {
			if !placed[n.id] && len(ring2[e]) < maxRing2 {
				placed[n.id] = true
				ring2[e] = append(ring2[e], n)
				more = append(more, n.id)
			}
		}
	}
	if len(more) > 0 {
		l2, err := s.labels(ctx, more, v)
		if err != nil {
			return g, err
		}
		for k, l := range l2 {
			labels[k] = l
		}
		for e, ns := range ring2 {
			ring2[e] = slices.DeleteFunc(ns, func(n neighbour) bool { _, ok := labels[n.id]; return !ok })
		}
	}

	// Layout.
	base := objURL(rec.ID)
	expandLink := func(with []string) string {
		if len(with) == 0 {
			return base + "#graph"
		}
		return base + "?expand=" + url.QueryEscape(strings.Join(with, ",")) + "#graph"
	}
	g.Collapse = expandLink(nil)
	n1 := len(ring1)
	r1 := math.Max(150, float64(n1)*30/(2*math.Pi))
	r2 := r1 + 120
	if n1 > 10 {
		r2 = r1 + 170 // beyond the radial labels of the first ring
	}
	minX, minY, maxX, maxY := -60.0, -40.0, 60.0, 40.0
	center := gnode{ID: rec.ID, Label: truncate(c.label(), maxLabelRune), Type: rec.Type, Class: typeClass(rec.Type), R: 16, Center: true,
		Link: base, LY: 32, Anchor: "middle"}
	g.Nodes = append(g.Nodes, center)
	g.MaxLabels = n1 <= 14
	radial := n1 > 10 || len(expanded) > 0
	node := func(id string, angle, radius float64, ring int) gnode {
		t := typeOfID(id)
		x, y := radius*math.Cos(angle), radius*math.Sin(angle)
		nd := gnode{ID: id, Label: truncate(labels[id], maxLabelRune), Type: t, Class: typeClass(t), X: x, Y: y, R: 10, Link: objURL(id), Ring: ring}
		if ring == 2 {
			nd.R = 7
		}
		cos, sin := math.Cos(angle), math.Sin(angle)
		w := float64(len([]rune(nd.Label))) * 6.8
		if radial {
			// Many nodes: labels point away from the centre, so that
			// neighbours' labels do not overlap.
			d := nd.R + 5
			nd.LX, nd.LY = x+cos*d, y+sin*d
			deg := angle * 180 / math.Pi
			nd.Anchor = "start"
			if cos < 0 {
				deg += 180
				nd.Anchor = "end"
			}
			nd.Rotate = fmt.Sprintf("rotate(%.1f %.1f %.1f)", deg, nd.LX, nd.LY)
			nd.LY += 4 // centre the text on the ray (the rotation is about the anchor)
			ex, ey := x+cos*(d+w), y+sin*(d+w)
			minX, maxX = math.Min(minX, math.Min(nd.LX, ex)-10), math.Max(maxX, math.Max(nd.LX, ex)+10)
			minY, maxY = math.Min(minY, math.Min(nd.LY, ey)-12), math.Max(maxY, math.Max(nd.LY, ey)+12)
			return nd
		}
		nd.LX, nd.LY = x+cos*(nd.R+5), y+sin*(nd.R+5)+4
		switch {
		case cos > 0.3:
			nd.Anchor = "start"
		case cos < -0.3:
			nd.Anchor = "end"
		default:
			nd.Anchor = "middle"
			if sin > 0 {
				nd.LY += 8
			} else {
				nd.LY -= 4
			}
		}
		lx0, lx1 := nd.LX, nd.LX+w
		switch nd.Anchor {
		case "end":
			lx0, lx1 = nd.LX-w, nd.LX
		case "middle":
			lx0, lx1 = nd.LX-w/2, nd.LX+w/2
		}
		minX, maxX = math.Min(minX, lx0-8), math.Max(maxX, lx1+8)
		minY, maxY = math.Min(minY, nd.LY-16), math.Max(maxY, nd.LY+10)
		return nd
	}
	angleOf := map[string]float64{}
	for i, n := range ring1 {
		a := -math.Pi/2 + 2*math.Pi*float64(i)/float64(n1)
		angleOf[n.id] = a
		nd := node(n.id, a, r1, 1)
		if !slices.Contains(expanded, n.id) {
			nd.Expand = expandLink(append(slices.Clone(expanded), n.id))
			nd.EX, nd.EY = nd.X+nd.R*0.9, nd.Y-nd.R*0.9
		}
		g.Nodes = append(g.Nodes, nd)
		g.Edges = append(g.Edges, gedge{X2: nd.X, Y2: nd.Y, Label: n.label, MX: nd.X * 0.6, MY: nd.Y*0.6 - 3, ShowLabel: g.MaxLabels})
	}
	for _, e := range expanded {
		ns := ring2[e]
		if len(ns) == 0 {
			continue
		}
		a0 := angleOf[e]
		// Enough room for each child's label, without going round.
		span := math.Min(2*math.Pi/3, math.Max(2*math.Pi/float64(n1)*1.6, float64(len(ns))*0.09))
		for j, n := range ns {
			a := a0
			if len(ns) > 1 {
				a = a0 - span/2 + span*float64(j)/float64(len(ns)-1)
			}
			nd := node(n.id, a, r2, 2)
			g.Nodes = append(g.Nodes, nd)
			px, py := r1*math.Cos(a0), r1*math.Sin(a0)
			g.Edges = append(g.Edges, gedge{X1: px, Y1: py, X2: nd.X, Y2: nd.Y, Label: n.label})
		}
	}
	// At least a comfortable size, so that a small graph is not blown up.
	w, h := maxX-minX, maxY-minY
	if w < 560 {
		minX -= (560 - w) / 2
		w = 560
	}
	if h < 380 {
		minY -= (380 - h) / 2
		h = 380
	}
	g.W, g.H = int(w), int(h)
	g.ViewBox = fmt.Sprintf("%.0f %.0f %.0f %.0f", minX, minY, w, h)
	return g, nil
}

// getVisible returns the latest version of id when the viewer may read it, else nil.
func (s *server) getVisible(ctx context.Context, id string, v *store.Viewer) (*store.Record, error) {
	rec, err := s.st.Get(ctx, id, store.GetOptions{Viewer: v})
	if err != nil {
		if isNotFound(err) {
			return nil, nil
		}
		return nil, err
	}
	return rec, nil
}
