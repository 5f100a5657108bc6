package stix

import (
	"sort"
	"strconv"
	"strings"

	"github.com/google/uuid"
)

// labelProperty maps the STIX 2.0 types whose labels property carried their
// required subtype vocabulary to the STIX 2.1 property that replaced it.
// STIX 2.1 forbids using labels for that purpose (section 3.2, labels).
var labelProperty = map[string]string{
	"indicator":    "indicator_types",
	"malware":      "malware_types",
	"report":       "report_types",
	"threat-actor": "threat_actor_types",
	"tool":         "tool_types",
}

// Upgrade20 upgrades one STIX 2.0 object to STIX 2.1 in place and reports
// whether it changed anything. The mapping follows the differences between
// the two versions and is documented in docs/stix20-upgrade.md:
//
//   - spec_version "2.1" is set on every object (a bundle instead loses its
//     spec_version, which 2.1 bundles do not have, and its objects are
//     upgraded);
//   - labels move to indicator_types, malware_types, report_types,
//     threat_actor_types or tool_types on the types whose labels were the
//     subtype vocabulary in 2.0 (merged with any values already there);
//   - malware gets is_family true, since 2.0 malware described families;
//   - indicator gets pattern_type "stix", the only language 2.0 had;
//   - created and modified written without millisecond precision are
//     rewritten with it (the same instant), as both versions require it.
//
// Everything else is kept as it is: references, markings, custom properties,
// and the deprecated observed-data objects container, which 2.1 still
// allows. Objects that are already 2.1 are left alone. Upgrade20 never fails
// and never panics; input that is invalid in both versions stays invalid and
// is reported by Validate.
func Upgrade20(obj map[string]any) (changed bool) {
	if obj == nil {
		return false
	}
	typ, _ := obj["type"].(string)
	if typ == "bundle" {
		if _, ok := obj["spec_version"]; ok {
			delete(obj, "spec_version")
			changed = true
		}
		if list, ok := obj["objects"].([]any); ok {
			for _, item := range list {
				if m, ok := item.(map[string]any); ok && Upgrade20(m) {
					changed = true
				}
			}
		}
		return changed
	}
	if sv, _ := obj["spec_version"].(string); sv == "2.1" {
		return false
	}
	obj["spec_version"] = "2.1"
	changed = true

	if target, ok := labelProperty[typ]; ok {
		if labels, ok := obj["labels"].([]any); ok {
			merged := mergeStrings(obj[target], labels)
			if merged != nil {
				obj[target] = merged
				delete(obj, "labels")
			}
		}
	}
	switch typ {
	case "malware":
		if _, ok := obj["is_family"]; !ok {
			obj["is_family"] = true
		}
	case "indicator":
		if _, ok := obj["pattern_type"]; !ok {
			obj["pattern_type"] = "stix"
		}
	}
	for _, k := range [...]string{"created", "modified"} {
		if s, ok := obj[k].(string); ok {
			if fixed, ok := withMilliseconds(s); ok {
				obj[k] = fixed
			}
		}
	}
	return changed
}

// mergeStrings appends the strings of add that existing lacks, keeping
// order. It returns nil when existing is present but not a list, so that
// nothing is overwritten.
func mergeStrings(existing any, add []any) []any {
	var out []any
	switch e := existing.(type) {
	case nil:
	case []any:
		out = append(out, e...)
	default:
		return nil
	}
	seen := make(map[any]bool, len(out)+len(add))
	for _, x := range out {
		if s, ok := x.(string); ok {
			seen[s] = true
		}
	}
	for _, x := range add {
		s, ok := x.(string)
		if ok && seen[s] {
			continue
		}
		if ok {
			seen[s] = true
		}
		out = append(out, x)
	}
	return out
}

// withMilliseconds rewrites a valid timestamp that has fewer than three
// fraction digits so that it has three. ok is false when nothing changes.
func withMilliseconds(s string) (string, bool) {
	_, _, frac, reason := parseTimestampDigits(s)
	if reason != "" || frac >= 3 {
		return s, false
	}
	base := s[:19]
	digits := ""
	if frac > 0 {
		digits = s[20 : 20+frac]
	}
	return base + "." + digits + strings.Repeat("0", 3-frac) + "Z", true
}

// scoRenames20 maps the STIX 2.0 cyber-observable properties that STIX 2.1
// renamed, by object type.
var scoRenames20 = map[string]map[string]string{
	"file":                 {"created": "ctime", "modified": "mtime", "accessed": "atime"},
	"directory":            {"created": "ctime", "modified": "mtime", "accessed": "atime"},
	"process":              {"created": "created_time", "binary_ref": "image_ref"},
	"user-account":         {"password_last_changed": "credential_last_changed"},
	"windows-registry-key": {"modified": "modified_time"},
}

// UpgradeBundle20 upgrades the objects of a STIX 2.0 bundle to STIX 2.1 and
// returns them. Besides applying Upgrade20 to each object, it moves the
// cyber-observable objects out of the objects container of every
// observed-data, which 2.1 deprecates: each becomes a top-level SCO with
// spec_version "2.1", the properties 2.1 renamed (file and directory
// created/modified/accessed, process created and binary_ref, user-account
// password_last_changed, windows-registry-key modified) are renamed, local
// references ("0", "1", …) are replaced by identifiers, and the
// observed-data lists those identifiers in object_refs instead of carrying
// objects. Identifiers are deterministic (SCOID) when every local
// reference an object's ID contributing properties use can be resolved,
// and random otherwise (reference cycles). An SCO already present in the
// result (same identifier) is not added twice. Objects are modified in place;
// the returned slice holds them followed by the extracted SCOs.
func UpgradeBundle20(objs []map[string]any) []map[string]any {
	out := make([]map[string]any, 0, len(objs))
	seen := make(map[string]bool)
	for _, o := range objs {
		if id, ok := o["id"].(string); ok {
			seen[id] = true
		}
	}
	var extracted []map[string]any
	for _, o := range objs {
		if o == nil {
			continue
		}
		Upgrade20(o)
		out = append(out, o)
		if o["type"] != "observed-data" {
			continue
		}
		container, ok := o["objects"].(map[string]any)
		if !ok || len(container) == 0 {
			continue
		}
		if _, has := o["object_refs"]; has {
			continue
		}
		scos, refs, ok := extractContainer(container)
		if !ok {
			continue
		}
		delete(o, "objects")
		o["object_refs"] = refs
		for _, s := range scos {
			id := s["id"].(string)
			if seen[id] {
				continue
			}
			seen[id] = true
			extracted = append(extracted, s)
		}
	}
	return append(out, extracted...)
}

// extractContainer turns the objects of an observable container into
// top-level SCOs. ok is false when the container holds something that is
// not an object with a type.
func extractContainer(container map[string]any) (scos []map[string]any, refs []any, ok bool) {
	keys := make([]string, 0, len(container))
	for k := range container {
		keys = append(keys, k)
	}
	// Containers conventionally use "0", "1", …; order numerically when
	// possible so the output is stable.
	sort.Slice(keys, func(i, j int) bool {
		a, errA := strconv.Atoi(keys[i])
		b, errB := strconv.Atoi(keys[j])
		if errA == nil && errB == nil {
			return a < b
		}
		return keys[i] < keys[j]
	})
	copies := make(map[string]map[string]any, len(container))
	for _, k := range keys {
		src, isObj := container[k].(map[string]any)
		if !isObj {
			return nil, nil, false
		}
		typ, _ := src["type"].(string)
		if !validTypeName(typ) {
			return nil, nil, false
		}
		c := copyJSON(src).(map[string]any)
		for from, to := range scoRenames20[typ] {
			if val, has := c[from]; has {
				if _, taken := c[to]; !taken {
					c[to] = val
					delete(c, from)
				}
			}
		}
		c["spec_version"] = "2.1"
		copies[k] = c
	}
	ids := make(map[string]string, len(copies))
	// Resolve identifiers in rounds: an object gets its identifier once every
	// local reference among its ID contributing properties has one.
	for progress := true; progress && len(ids) < len(copies); {
		progress = false
		for _, k := range keys {
			if _, done := ids[k]; done {
				continue
			}
			c := copies[k]
			if !localRefsResolved(c, contributingRefs(c), ids) {
				continue
			}
			ids[k] = scoIDWithRefs(c, ids)
			progress = true
		}
	}
	for _, k := range keys {
		if _, done := ids[k]; !done {
			typ, _ := copies[k]["type"].(string)
			ids[k] = typ + "--" + uuid.NewString()
		}
	}
	for _, k := range keys {
		c := copies[k]
		rewriteLocalRefs(c, ids)
		c["id"] = ids[k]
		scos = append(scos, c)
		refs = append(refs, ids[k])
	}
	return scos, refs, true
}

// contributingRefs returns the ID contributing properties of c that are
// references.
func contributingRefs(c map[string]any) []string {
	typ, _ := c["type"].(string)
	spec := typeSpecs[typ]
	if spec == nil {
		return nil
	}
	var out []string
	for _, k := range spec.idContrib {
		if strings.HasSuffix(k, "_ref") || strings.HasSuffix(k, "_refs") {
			out = append(out, k)
		}
	}
	return out
}

func localRefsResolved(c map[string]any, props []string, ids map[string]string) bool {
	for _, k := range props {
		switch r := c[k].(type) {
		case string:
			if !isIdentifierLike(r) {
				if _, ok := ids[r]; !ok {
					return false
				}
			}
		case []any:
			for _, x := range r {
				if s, ok := x.(string); ok && !isIdentifierLike(s) {
					if _, ok := ids[s]; !ok {
						return false
					}
				}
			}
		}
	}
	return true
}

func isIdentifierLike(s string) bool {
	_, ok := splitIdentifier(s)
	return ok
}

// scoIDWithRefs computes the deterministic identifier of c after replacing
// its local references with their identifiers. Objects of types this package
// does not know get a random identifier.
func scoIDWithRefs(c map[string]any, ids map[string]string) string {
	tmp := make(map[string]any, len(c))
	for k, v := range c {
		tmp[k] = v
	}
	rewriteLocalRefs(tmp, ids)
	if id, err := SCOID(tmp); err == nil {
		return id
	}
	typ, _ := c["type"].(string)
	return typ + "--" + uuid.NewString()
}

// rewriteLocalRefs replaces container-local references in every property
// whose name ends in _ref or _refs, at any depth (extensions and
// body_multipart included).
func rewriteLocalRefs(m map[string]any, ids map[string]string) {
	for k, v := range m {
		switch {
		case strings.HasSuffix(k, "_ref"):
			if s, ok := v.(string); ok {
				if id, ok := ids[s]; ok {
					m[k] = id
				}
			}
		case strings.HasSuffix(k, "_refs"):
			if list, ok := v.([]any); ok {
				for i, x := range list {
					if s, ok := x.(string); ok {
						if id, ok := ids[s]; ok {
							list[i] = id
						}
					}
				}
			}
		default:
			rewriteNested(v, ids)
		}
	}
}

func rewriteNested(v any, ids map[string]string) {
	switch x := v.(type) {
	case map[string]any:
		rewriteLocalRefs(x, ids)
	case []any:
		for _, item := range x {
			rewriteNested(item, ids)
		}
	}
}

// deepCopy copies maps and slices of a decoded JSON value.
func copyJSON(v any) any {
	switch x := v.(type) {
	case map[string]any:
		m := make(map[string]any, len(x))
		for k, item := range x {
			m[k] = copyJSON(item)
		}
		return m
	case []any:
		l := make([]any, len(x))
		for i, item := range x {
			l[i] = copyJSON(item)
		}
		return l
	}
	return v
}
