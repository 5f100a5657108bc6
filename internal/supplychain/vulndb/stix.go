package vulndb

import (
	"encoding/json"
	"fmt"
	"regexp"
	"strings"
)

// vulnIDRE accepts identifiers of vulnerability databases: CVE-2021-44228,
// GHSA-xxxx-xxxx-xxxx, GO-2022-0001, PYSEC-2021-1, RUSTSEC-…, BIT-…, OSV-….
var vulnIDRE = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*-[A-Za-z0-9][A-Za-z0-9._:-]*$`)

// FromSTIX reads a STIX 2.1 vulnerability object, as mamori's advisory
// readers (package ingest/advisory) write them or as others do. What it
// reads:
//
//   - the identifier: the name when it is a vulnerability id (CVE-…,
//     GHSA-…, GO-…), else the first such external_references[].external_id;
//     every other such external_id is an alias;
//   - the summary: x_mamori_cve_title, else the first line of description;
//   - affected packages: OSV "affected" entries in x_mamori_osv_affected
//     (or x_osv_affected, or an extension's "affected"), and CVE JSON 5
//     "affected" entries in x_mamori_cve_affected;
//   - severity: x_mamori_osv_severity (OSV severity entries),
//     x_mamori_cvss (entries with vector and base_score), the severity in
//     x_mamori_osv_database_specific, or a custom property ending in
//     cvss_vector or cvss_score;
//   - KEV: the label "known-exploited" (or "kev", "cisa-kev"), an external
//     reference with source_name "cisa-kev", with x_mamori_kev_due_date,
//     x_mamori_kev_date_added and x_mamori_kev_known_ransomware_campaign_use;
//   - withdrawn: revoked, x_mamori_osv_withdrawn, or x_mamori_cve_state
//     REJECTED.
//
// The advisory's Source is "kb:" and the STIX id.
func FromSTIX(raw []byte) (*Advisory, []KEV, error) {
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return nil, nil, err
	}
	if t, _ := m["type"].(string); t != "vulnerability" {
		return nil, nil, fmt.Errorf("not a vulnerability object")
	}
	stixID, _ := m["id"].(string)
	name, _ := m["name"].(string)
	name = strings.TrimSpace(name)
	a := &Advisory{Source: "kb:" + stixID}
	var ext []string
	kev := false
	if refs, ok := m["external_references"].([]any); ok {
		for _, r := range refs {
			rm, _ := r.(map[string]any)
			id, _ := rm["external_id"].(string)
			src, _ := rm["source_name"].(string)
			switch strings.ToLower(src) {
			case "cisa-kev", "cisa_kev", "kev":
				kev = true
			case "cwe", "capec":
				continue
			}
			if id != "" && vulnIDRE.MatchString(id) {
				ext = appendUnique(ext, id)
			}
		}
	}
	switch {
	case vulnIDRE.MatchString(name):
		a.ID = name
	case len(ext) > 0:
		a.ID = ext[0]
	default:
		a.ID = stixID
	}
	for _, id := range ext {
		if !strings.EqualFold(id, a.ID) {
			a.Aliases = appendUnique(a.Aliases, id)
		}
	}
	if t, ok := m["x_mamori_cve_title"].(string); ok && t != "" {
		a.Summary = t
	} else if d, ok := m["description"].(string); ok {
		a.Summary = firstLine(d)
	}
	if ls, ok := m["labels"].([]any); ok {
		for _, l := range ls {
			switch s, _ := l.(string); strings.ToLower(s) {
			case "kev", "cisa-kev", "known-exploited", "known_exploited":
				kev = true
			}
		}
	}
	if r, _ := m["revoked"].(bool); r {
		a.Withdrawn = true
	}
	if s, _ := m["x_mamori_osv_withdrawn"].(string); s != "" {
		a.Withdrawn = true
	}
	if s, _ := m["x_mamori_cve_state"].(string); strings.EqualFold(s, "REJECTED") {
		a.Withdrawn = true
	}
	better := func(sv Severity) {
		if sv.Better(a.Severity) {
			a.Severity = sv
		}
	}
	var osvAffected any
	for k, v := range m {
		lk := strings.ToLower(k)
		switch {
		case lk == "x_mamori_osv_affected" || lk == "x_osv_affected":
			osvAffected = v
		case lk == "x_mamori_cve_affected":
			if list, ok := v.([]any); ok {
				b, _ := json.Marshal(list)
				var afs []cveAffected
				if json.Unmarshal(b, &afs) == nil {
					for _, af := range afs {
						addCVEAffected(a, af)
					}
				}
			}
		case lk == "x_mamori_osv_severity":
			for _, e := range asList(v) {
				if s, ok := e["score"].(string); ok {
					better(severityFromVector(s))
				}
			}
		case lk == "x_mamori_cvss":
			for _, e := range asList(v) {
				vec, _ := e["vector"].(string)
				score, _ := e["base_score"].(float64)
				sv := severityFromVector(vec)
				if sv.Score == 0 && score > 0 && score <= 10 {
					sv = Severity{Score: score, Vector: vec, Label: LabelFor(score)}
				}
				better(sv)
			}
		case lk == "x_mamori_osv_database_specific":
			if dm, ok := v.(map[string]any); ok && a.Severity.Label == "" {
				if s, ok := dm["severity"].(string); ok {
					a.Severity.Label = severityLabel(s)
				}
			}
		case strings.HasSuffix(lk, "cvss_vector"):
			if s, ok := v.(string); ok {
				better(severityFromVector(s))
			}
		case strings.HasSuffix(lk, "cvss_score"):
			if f, ok := v.(float64); ok && f > 0 && f <= 10 {
				better(Severity{Score: f, Label: LabelFor(f)})
			}
		}
	}
	if exts, ok := m["extensions"].(map[string]any); ok && osvAffected == nil {
		for _, e := range exts {
			if em, ok := e.(map[string]any); ok && em["affected"] != nil {
				osvAffected = em["affected"]
			}
		}
	}
	if osvAffected != nil {
		rec, _ := json.Marshal(map[string]any{"id": a.ID, "affected": osvAffected})
		if o, _, err := ParseOSV(rec, "kb"); err == nil {
			a.Affected = append(a.Affected, o.Affected...)
		}
	}
	var kevs []KEV
	if kev {
		str := func(k string) string { s, _ := m[k].(string); return strings.TrimSpace(s) }
		for _, id := range a.IDs() {
			if strings.HasPrefix(strings.ToUpper(id), "CVE-") {
				kevs = append(kevs, KEV{CVE: id, DueDate: shortDate(str("x_mamori_kev_due_date")), DateAdded: shortDate(str("x_mamori_kev_date_added")),
					Vendor: str("x_mamori_kev_vendor_project"), Product: str("x_mamori_kev_product"), Name: str("x_mamori_kev_vulnerability_name"),
					Ransomware: strings.EqualFold(str("x_mamori_kev_known_ransomware_campaign_use"), "Known")})
			}
		}
	}
	return a, kevs, nil
}

func asList(v any) []map[string]any {
	l, _ := v.([]any)
	out := make([]map[string]any, 0, len(l))
	for _, e := range l {
		if m, ok := e.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out
}

// shortDate keeps the date of a timestamp.
func shortDate(s string) string {
	if len(s) > 10 && s[4] == '-' {
		return s[:10]
	}
	return s
}
