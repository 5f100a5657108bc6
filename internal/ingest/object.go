package ingest

import (
	"strings"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// PatternValues extracts the observable values compared for equality in a
// STIX pattern; the store indexes them so that a value search finds the
// indicators that detect it. Nil disables that indexing.
type PatternValues func(pattern string) []string

// BuildObject derives the store's view of one validated object: the common
// properties and the index keys. raw is the object's JSON, stored as given.
func BuildObject(m map[string]any, raw []byte, patternValues PatternValues) *store.Object {
	o := &store.Object{Raw: raw}
	o.ID, _ = m["id"].(string)
	o.Type, _ = m["type"].(string)
	o.SpecVersion, _ = m["spec_version"].(string)
	if o.SpecVersion == "" {
		o.SpecVersion = "2.1"
	}
	if s, ok := m["created"].(string); ok {
		o.Created, _ = stix.ParseTimestamp(s)
	}
	if s, ok := m["modified"].(string); ok {
		o.Modified, _ = stix.ParseTimestamp(s)
	}
	o.Revoked, _ = m["revoked"].(bool)
	o.CreatedByRef, _ = m["created_by_ref"].(string)
	o.Markings = stringList(m["object_marking_refs"])

	ix := &o.Index
	ix.Name, _ = m["name"].(string)
	ix.Description, _ = m["description"].(string)
	ix.Aliases = append(stringList(m["aliases"]), stringList(m["x_mitre_aliases"])...)
	ix.Labels = stringList(m["labels"])
	if refs, ok := m["external_references"].([]any); ok {
		for _, r := range refs {
			if rm, ok := r.(map[string]any); ok {
				if id, ok := rm["external_id"].(string); ok && id != "" {
					ix.ExternalIDs = appendUnique(ix.ExternalIDs, id)
				}
			}
		}
	}
	if o.Type == "vulnerability" && strings.HasPrefix(strings.ToUpper(ix.Name), "CVE-") {
		ix.ExternalIDs = appendUnique(ix.ExternalIDs, ix.Name)
	}
	for k, v := range m {
		if k == "created_by_ref" || k == "object_marking_refs" {
			continue
		}
		switch {
		case strings.HasSuffix(k, "_ref"):
			if s, ok := v.(string); ok && s != "" {
				ix.Refs = append(ix.Refs, store.Ref{Prop: k, Target: s})
			}
		case strings.HasSuffix(k, "_refs"):
			for _, s := range stringList(v) {
				ix.Refs = append(ix.Refs, store.Ref{Prop: k, Target: s})
			}
		}
	}
	ix.Values = stix.ObservableValues(m)
	if o.Type == "indicator" && patternValues != nil {
		if pt, _ := m["pattern_type"].(string); pt == "stix" || pt == "" {
			if p, ok := m["pattern"].(string); ok {
				for _, v := range patternValues(p) {
					ix.Values = appendUnique(ix.Values, v)
				}
			}
		}
	}
	return o
}

func stringList(v any) []string {
	l, ok := v.([]any)
	if !ok {
		return nil
	}
	out := make([]string, 0, len(l))
	for _, e := range l {
		if s, ok := e.(string); ok {
			out = append(out, s)
		}
	}
	return out
}

func appendUnique(l []string, v string) []string {
	for _, e := range l {
		if e == v {
			return l
		}
	}
	return append(l, v)
}
