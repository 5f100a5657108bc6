package misp

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/mamori-cti/mamori/internal/ingest/emit"
)

// objAttr is one attribute of a MISP object being converted.
type objAttr struct {
	a    *Attribute
	path string
	conv *converted
	used bool // consumed into an observable or a pattern
}

// object converts a MISP object: its attributes' observables go in one
// observed-data, its to_ids attributes in one indicator, and attributes
// that are not observables into the x_misp_attributes property (or a note
// when the object has nothing else).
func (c *evCtx) object(o *Object, path string) error {
	rd := c.rd
	rd.Stats.Objects++
	if o.Deleted {
		for i := range o.Attribute {
			rd.Stats.Attributes++
			rd.Stats.Skipped++
			rd.notice(emit.Skipped, fmt.Sprintf("%s.Attribute[%d]", path, i), string(o.Attribute[i].Value), "attribute of a deleted object")
		}
		return nil
	}
	marking, labels, galaxy := c.tags(o.Tag)
	if err := rd.markingDef(marking, path); err != nil {
		return err
	}
	t := c.timeOf(o.Timestamp)
	var attrs []*objAttr
	var cmps []comparison
	var scos []map[string]any
	var unmapped []any
	var vulns []string
	for i := range o.Attribute {
		a := &o.Attribute[i]
		p := fmt.Sprintf("%s.Attribute[%d]", path, i)
		rd.Stats.Attributes++
		for si := range a.ShadowAttribute {
			rd.Stats.Proposals++
			rd.notice(emit.Skipped, fmt.Sprintf("%s.ShadowAttribute[%d]", p, si), "", "proposal (shadow attribute) not imported")
		}
		value := string(a.Value)
		if a.Deleted {
			rd.Stats.Skipped++
			rd.notice(emit.Skipped, p, value, "deleted attribute")
			continue
		}
		conv, err := convert(a.Type, value)
		if err != nil {
			rd.Stats.Rejected++
			rd.notice(emit.Rejected, p, value, fmt.Sprintf("%s (%s): %v", a.Type, string(a.ObjectRelation), err))
			continue
		}
		oa := &objAttr{a: a, path: p, conv: conv}
		if conv != nil && conv.kind != "" {
			wl, drop, hits := rd.warn(conv)
			if drop {
				rd.Stats.Dropped++
				rd.notice(emit.Dropped, p, value, "on warninglist "+strings.Join(hits, ", "))
				continue
			}
			labels = appendNew(labels, wl...)
		}
		_, alabels, agalaxy := c.tags(a.Tag)
		labels = appendNew(labels, alabels...)
		galaxy = appendNew(galaxy, agalaxy...)
		attrs = append(attrs, oa)
	}
	// Template-specific observables.
	merged := mergeTemplate(o.Name, attrs)
	for _, oa := range attrs {
		conv := oa.conv
		switch {
		case conv == nil:
		case conv.vuln != "":
			id := rd.newID("vulnerability", oa.a.UUID, oa.path)
			if err := c.vulnerability(id, conv.vuln, oa.a.Comment, t, marking, labels, map[string]any{"x_misp_type": oa.a.Type}, oa.path); err != nil {
				return err
			}
			vulns = append(vulns, id)
			if oa.a.UUID != "" {
				c.byUUID[oa.a.UUID] = id
			}
			oa.used = true
			rd.Stats.InOther++
			continue
		case conv.patternType != "":
			id := rd.newID("indicator", oa.a.UUID, oa.path)
			ind := map[string]any{"type": "indicator", "id": id, "pattern": string(oa.a.Value), "pattern_type": conv.patternType,
				"indicator_types": []any{"malicious-activity"}, "x_misp_object_name": o.Name}
			c.common(ind, t, marking, labels)
			c.validity(ind, t, oa.a.FirstSeen, oa.a.LastSeen)
			c.addRef(id)
			if err := rd.out(ind, oa.path); err != nil {
				return err
			}
			if oa.a.UUID != "" {
				c.byUUID[oa.a.UUID] = id
			}
			oa.used = true
			rd.Stats.InOther++
			continue
		}
		if conv != nil && bool(oa.a.ToIDS) && len(conv.cmps) > 0 {
			cmps = append(cmps, conv.cmps...)
			oa.used = true
		}
		if conv != nil && len(conv.scos) > 0 && !merged[oa] {
			scos = append(scos, conv.scos...)
			oa.used = true
		}
		if merged[oa] {
			oa.used = true
		}
	}
	for _, m := range mergedSCOs(o.Name, attrs, merged) {
		scos = append(scos, m)
	}
	inPattern := map[*objAttr]bool{}
	for _, oa := range attrs {
		if oa.conv != nil && bool(oa.a.ToIDS) && len(oa.conv.cmps) > 0 {
			inPattern[oa] = true
		}
	}
	for _, oa := range attrs {
		if !oa.used {
			u := map[string]any{"type": oa.a.Type, "value": string(oa.a.Value)}
			if r := string(oa.a.ObjectRelation); r != "" {
				u["object_relation"] = r
			}
			if oa.a.Category != "" {
				u["category"] = oa.a.Category
			}
			if oa.a.Comment != "" {
				u["comment"] = oa.a.Comment
			}
			if oa.a.UUID != "" {
				u["uuid"] = oa.a.UUID
			}
			unmapped = append(unmapped, u)
		}
	}
	extra := map[string]any{"x_misp_object_name": o.Name}
	if o.MetaCategory != "" {
		extra["x_misp_meta_category"] = o.MetaCategory
	}
	if o.Comment != "" {
		extra["x_misp_comment"] = o.Comment
	}
	var indID, odID, primary string
	if len(cmps) > 0 {
		indID = rd.newID("indicator", o.UUID, path)
		x := copyMap(extra)
		if len(scos) == 0 && len(unmapped) > 0 {
			x["x_misp_attributes"] = unmapped
		}
		ok, err := c.indicator(indID, o.Name+": "+firstValue(attrs), o.Comment, cmps, t, o.FirstSeen, o.LastSeen, marking, labels, x, path)
		if err != nil {
			return err
		}
		if !ok {
			indID = ""
			for oa := range inPattern {
				if len(oa.conv.scos) == 0 && !merged[oa] {
					oa.used = false
					unmapped = append(unmapped, map[string]any{"type": oa.a.Type, "value": string(oa.a.Value), "object_relation": string(oa.a.ObjectRelation)})
				}
			}
		}
	}
	if len(scos) > 0 {
		ids, err := c.emitSCOs(scos, path)
		if err != nil {
			return err
		}
		for _, oa := range attrs {
			if oa.conv != nil {
				for _, r := range oa.conv.resolves {
					if err := c.relationship(r[0], "resolves-to", r[1], path, t, ""); err != nil {
						return err
					}
				}
			}
		}
		if o.Name == "domain-ip" {
			// The object's domains resolve to its addresses.
			var doms, ips []string
			for _, m := range scos {
				switch m["type"] {
				case "domain-name":
					doms = append(doms, m["id"].(string))
				case "ipv4-addr", "ipv6-addr":
					ips = append(ips, m["id"].(string))
				}
			}
			for _, d := range doms {
				for _, a := range ips {
					if err := c.relationship(d, "resolves-to", a, path, t, ""); err != nil {
						return err
					}
				}
			}
		}
		odID = rd.newID("observed-data", o.UUID, path)
		x := copyMap(extra)
		if len(unmapped) > 0 {
			x["x_misp_attributes"] = unmapped
		}
		if err := c.observedData(odID, dedup(ids), t, o.FirstSeen, o.LastSeen, marking, labels, x, path); err != nil {
			return err
		}
	}
	switch {
	case indID != "":
		primary = indID
	case odID != "":
		primary = odID
	case len(unmapped) > 0 || len(vulns) == 0:
		primary = rd.newID("note", o.UUID, path)
		var b strings.Builder
		fmt.Fprintf(&b, "MISP object %s", o.Name)
		if o.Comment != "" {
			fmt.Fprintf(&b, " (%s)", o.Comment)
		}
		b.WriteString("\n")
		for _, u := range unmapped {
			m := u.(map[string]any)
			fmt.Fprintf(&b, "\n%v (%v): %v", m["object_relation"], m["type"], m["value"])
		}
		x := copyMap(extra)
		if len(unmapped) > 0 {
			x["x_misp_attributes"] = unmapped
		}
		if err := c.note(primary, b.String(), o.Name, t, marking, labels, x, path); err != nil {
			return err
		}
	default:
		primary = vulns[0]
	}
	if indID != "" && odID != "" {
		if err := c.relationship(indID, "based-on", odID, path, t, ""); err != nil {
			return err
		}
	}
	for _, v := range vulns {
		if v != primary {
			if err := c.relationship(primary, "related-to", v, path, t, ""); err != nil {
				return err
			}
		}
	}
	// Account for every attribute.
	for _, oa := range attrs {
		switch {
		case oa.conv != nil && (oa.conv.vuln != "" || oa.conv.patternType != ""):
		case inPattern[oa] && indID != "":
			rd.Stats.InIndicators++
		case (len(oa.conv.scosOrNil()) > 0 || merged[oa]) && odID != "":
			rd.Stats.InObservables++
		default:
			rd.Stats.InOther++
		}
		if oa.a.UUID != "" && c.byUUID[oa.a.UUID] == "" {
			c.byUUID[oa.a.UUID] = primary
		}
	}
	if o.UUID != "" {
		c.byUUID[o.UUID] = primary
	}
	return c.attributeClusters(primary, nil, galaxy, t, path)
}

func (cv *converted) scosOrNil() []map[string]any {
	if cv == nil {
		return nil
	}
	return cv.scos
}

func firstValue(attrs []*objAttr) string {
	for _, oa := range attrs {
		if oa.conv != nil && bool(oa.a.ToIDS) && len(oa.conv.cmps) > 0 {
			return string(oa.a.Value)
		}
	}
	if len(attrs) > 0 {
		return string(attrs[0].a.Value)
	}
	return ""
}

func copyMap(m map[string]any) map[string]any {
	out := make(map[string]any, len(m)+1)
	for k, v := range m {
		out[k] = v
	}
	return out
}

func dedup(ids []string) []string {
	seen := map[string]bool{}
	out := ids[:0]
	for _, id := range ids {
		if !seen[id] {
			seen[id] = true
			out = append(out, id)
		}
	}
	return out
}

func appendNew(l []string, vs ...string) []string {
	for _, v := range vs {
		found := false
		for _, x := range l {
			if x == v {
				found = true
				break
			}
		}
		if !found {
			l = append(l, v)
		}
	}
	return l
}

// mergeTemplate marks the attributes that a template-specific observable
// replaces: the name, hashes, size and MIME type of a file object (one file
// object instead of one per attribute), the addresses and ports of an
// ip-port object (one network-traffic object).
func mergeTemplate(name string, attrs []*objAttr) map[*objAttr]bool {
	merged := map[*objAttr]bool{}
	switch name {
	case "file":
		for _, oa := range attrs {
			switch {
			case oa.conv != nil && len(oa.conv.scos) == 1 && oa.conv.scos[0]["type"] == "file":
				merged[oa] = true
			case oa.a.Type == "size-in-bytes" || oa.a.Type == "mime-type":
				merged[oa] = true
			}
		}
	case "ip-port":
		hasIP := false
		for _, oa := range attrs {
			if oa.a.Type == "ip-dst" || oa.a.Type == "ip-src" {
				hasIP = true
			}
		}
		if hasIP {
			for _, oa := range attrs {
				switch oa.a.Type {
				case "ip-dst", "ip-src", "port":
					merged[oa] = true
				}
			}
		}
	}
	return merged
}

// mergedSCOs builds the template-specific observables of mergeTemplate.
func mergedSCOs(name string, attrs []*objAttr, merged map[*objAttr]bool) []map[string]any {
	if len(merged) == 0 {
		return nil
	}
	switch name {
	case "file":
		f := map[string]any{"type": "file"}
		hashes := map[string]any{}
		for _, oa := range attrs {
			if !merged[oa] {
				continue
			}
			v := strings.TrimSpace(string(oa.a.Value))
			switch oa.a.Type {
			case "size-in-bytes":
				if n, err := strconv.ParseInt(v, 10, 64); err == nil && n >= 0 {
					f["size"] = n
				}
			case "mime-type":
				f["mime_type"] = v
			default:
				s := oa.conv.scos[0]
				if n, ok := s["name"]; ok {
					if _, has := f["name"]; !has {
						f["name"] = n
					}
				}
				if h, ok := s["hashes"].(map[string]any); ok {
					for k, x := range h {
						hashes[k] = x
					}
				}
			}
		}
		if len(hashes) > 0 {
			f["hashes"] = hashes
		}
		if len(f) == 1 {
			return nil
		}
		m, err := newSCO(f)
		if err != nil {
			return nil
		}
		return []map[string]any{m}
	case "ip-port":
		var out []map[string]any
		nt := map[string]any{"type": "network-traffic", "protocols": []any{"ipv4"}}
		for _, oa := range attrs {
			if !merged[oa] {
				continue
			}
			rel := string(oa.a.ObjectRelation)
			switch oa.a.Type {
			case "ip-dst", "ip-src":
				m := oa.conv.scos[0]
				out = append(out, m)
				side := "dst_ref"
				if oa.a.Type == "ip-src" || rel == "ip-src" {
					side = "src_ref"
				}
				if _, has := nt[side]; !has {
					nt[side] = m["id"]
				}
				if m["type"] == "ipv6-addr" {
					nt["protocols"] = []any{"ipv6"}
				}
			case "port":
				n, err := parsePort(string(oa.a.Value))
				if err != nil {
					continue
				}
				side := "dst_port"
				if rel == "src-port" {
					side = "src_port"
				}
				nt[side] = n
			}
		}
		m, err := newSCO(nt)
		if err != nil {
			return out
		}
		return append(out, m)
	}
	return nil
}
