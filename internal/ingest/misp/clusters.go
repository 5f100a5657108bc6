package misp

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/mamori-cti/mamori/internal/ingest/emit"
)

// clusterType maps a galaxy type to the STIX type of its clusters, or ""
// for galaxies that are not threat intelligence objects (sectors,
// countries, guidelines, …), whose tags become labels.
func clusterType(galaxyType string) string {
	t := strings.ToLower(galaxyType)
	switch {
	case strings.Contains(t, "attack-pattern") || strings.Contains(t, "technique"):
		return "attack-pattern"
	case strings.Contains(t, "course-of-action") || strings.Contains(t, "mitigation"):
		return "course-of-action"
	case strings.Contains(t, "intrusion-set") || strings.Contains(t, "group"):
		return "intrusion-set"
	case strings.Contains(t, "threat-actor") || t == "actor" || strings.HasSuffix(t, "-actor"):
		return "threat-actor"
	case strings.Contains(t, "tool"):
		return "tool"
	case strings.Contains(t, "malware") || strings.Contains(t, "ransomware") || strings.Contains(t, "botnet") ||
		strings.Contains(t, "banker") || strings.Contains(t, "stealer") || t == "rat" || strings.Contains(t, "backdoor") ||
		strings.Contains(t, "exploit-kit") || strings.Contains(t, "android") || strings.Contains(t, "malpedia") ||
		strings.Contains(t, "cryptominer") || strings.Contains(t, "software") || strings.Contains(t, "loader"):
		return "malware"
	}
	return ""
}

var attackID = regexp.MustCompile(`\s+-\s+((?:T|TA|S|G|M|C|DS)\d{4}(?:\.\d{3})?)$`)

// cluster emits the STIX object of a galaxy cluster (once per document).
func (c *evCtx) cluster(galaxyType string, cl *Cluster, path string) (id, typ string, err error) {
	gt := cl.Type
	if gt == "" {
		gt = galaxyType
	}
	typ = clusterType(gt)
	if typ == "" || strings.TrimSpace(cl.Value) == "" {
		return "", "", nil
	}
	if cl.UUID != "" {
		id = emit.FromUUID(typ, cl.UUID)
	} else {
		key := cl.TagName
		if key == "" {
			key = gt + "=" + cl.Value
		}
		id = emit.ID(typ, key)
	}
	if c.rd.emitted[id] {
		return id, typ, nil
	}
	c.rd.emitted[id] = true
	c.rd.Stats.Clusters++
	name := strings.TrimSpace(cl.Value)
	var ext []any
	extID := ""
	if m := attackID.FindStringSubmatch(name); m != nil {
		extID = m[1]
		name = strings.TrimSpace(name[:len(name)-len(m[0])])
	}
	if v, ok := cl.Meta["external_id"]; ok {
		if l := metaStrings(v); len(l) > 0 && extID == "" {
			extID = l[0]
		}
	}
	if extID != "" && strings.HasPrefix(strings.ToLower(gt), "mitre") {
		ext = append(ext, map[string]any{"source_name": "mitre-attack", "external_id": extID})
	}
	for _, ref := range metaStrings(cl.Meta["refs"]) {
		if len(ext) >= 50 {
			break
		}
		if strings.HasPrefix(ref, "http://") || strings.HasPrefix(ref, "https://") {
			ext = append(ext, map[string]any{"source_name": "misp-galaxy:" + gt, "url": ref})
		}
	}
	o := map[string]any{"type": typ, "spec_version": "2.1", "id": id, "created": ts(emit.IdentityEpoch), "modified": ts(emit.IdentityEpoch), "name": name}
	if d := strings.TrimSpace(cl.Description); d != "" {
		o["description"] = d
	}
	if typ == "malware" {
		o["is_family"] = true
	}
	if syn := metaStrings(cl.Meta["synonyms"]); len(syn) > 0 && typ != "attack-pattern" && typ != "course-of-action" {
		var aliases []any
		for _, s := range syn {
			if s != "" && s != name {
				aliases = append(aliases, s)
			}
		}
		if len(aliases) > 0 {
			o["aliases"] = aliases
		}
	}
	if len(ext) > 0 {
		o["external_references"] = ext
	}
	if cl.TagName != "" {
		o["x_misp_tag"] = cl.TagName
	}
	if err := c.rd.out(o, path); err != nil {
		return "", "", fmt.Errorf("%s: %w", path, err)
	}
	return id, typ, nil
}

// clusterFromTag makes a cluster from a galaxy tag alone:
// misp-galaxy:<type>="<value>".
func (c *evCtx) clusterFromTag(tag, path string) (string, string, error) {
	rest := strings.TrimPrefix(tag, "misp-galaxy:")
	typ, val, ok := strings.Cut(rest, "=")
	if !ok {
		return "", "", nil
	}
	val = strings.Trim(val, `"`)
	return c.cluster(typ, &Cluster{Type: typ, Value: val, TagName: tag}, path)
}

func metaStrings(v any) []string {
	switch x := v.(type) {
	case string:
		return []string{x}
	case []any:
		var out []string
		for _, e := range x {
			if s, ok := e.(string); ok {
				out = append(out, s)
			}
		}
		return out
	}
	return nil
}
