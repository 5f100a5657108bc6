package vulndb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
)

// osvRecord is the part of an OSV record (schema 1.x) matching needs.
type osvRecord struct {
	ID        string   `json:"id"`
	Aliases   []string `json:"aliases"`
	Summary   string   `json:"summary"`
	Details   string   `json:"details"`
	Published string   `json:"published"`
	Modified  string   `json:"modified"`
	Withdrawn string   `json:"withdrawn"`
	Severity  []struct {
		Type  string `json:"type"`
		Score string `json:"score"`
	} `json:"severity"`
	Affected []struct {
		Package struct {
			Ecosystem string `json:"ecosystem"`
			Name      string `json:"name"`
			PURL      string `json:"purl"`
		} `json:"package"`
		Severity []struct {
			Type  string `json:"type"`
			Score string `json:"score"`
		} `json:"severity"`
		Ranges []struct {
			Type   string              `json:"type"`
			Events []map[string]string `json:"events"`
		} `json:"ranges"`
		Versions         []string        `json:"versions"`
		DatabaseSpecific json.RawMessage `json:"database_specific"`
	} `json:"affected"`
	DatabaseSpecific struct {
		Severity any `json:"severity"`
	} `json:"database_specific"`
}

// ParseOSV reads one OSV record. Problems that leave the rest usable (a
// range whose versions do not parse, an unknown ecosystem) are returned as
// warnings.
func ParseOSV(data []byte, source string) (*Advisory, []string, error) {
	var r osvRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, err
	}
	if r.ID == "" {
		return nil, nil, fmt.Errorf("OSV record without an id")
	}
	a := &Advisory{ID: r.ID, Aliases: appendUnique(nil, r.Aliases...), Summary: r.Summary, Source: "osv:" + source}
	if a.Summary == "" {
		a.Summary = firstLine(r.Details)
	}
	a.Published, _ = time.Parse(time.RFC3339, r.Published)
	a.Modified, _ = time.Parse(time.RFC3339, r.Modified)
	a.Withdrawn = r.Withdrawn != ""
	var warns []string
	for _, s := range r.Severity {
		if sv := severityFromVector(s.Score); sv.Better(a.Severity) {
			a.Severity = sv
		}
	}
	if s, ok := r.DatabaseSpecific.Severity.(string); ok && a.Severity.Label == "" {
		a.Severity.Label = severityLabel(s)
	}
	for i, af := range r.Affected {
		for _, s := range af.Severity {
			if sv := severityFromVector(s.Score); sv.Better(a.Severity) {
				a.Severity = sv
			}
		}
		eco, name := af.Package.Ecosystem, af.Package.Name
		if (eco == "" || name == "") && af.Package.PURL != "" {
			if id, _, err := pkgid.Parse(af.Package.PURL); err == nil {
				eco, name = id.Ecosystem, id.Name
			}
		}
		if eco == "" || name == "" {
			warns = append(warns, fmt.Sprintf("%s: affected[%d] names no package; skipped", r.ID, i))
			continue
		}
		out := &Affected{Ecosystem: eco, Name: name, Key: pkgid.Key(eco, name)}
		for _, v := range af.Versions {
			if out.Versions == nil {
				out.Versions = map[string]bool{}
			}
			out.Versions[normalizeVersion(eco, v)] = true
		}
		git := false
		for j, rg := range af.Ranges {
			typ := strings.ToUpper(rg.Type)
			if typ == "GIT" {
				git = true
				continue
			}
			if typ != "SEMVER" && typ != "ECOSYSTEM" {
				warns = append(warns, fmt.Sprintf("%s: affected[%d].ranges[%d]: range type %q is not supported; skipped", r.ID, i, j, rg.Type))
				continue
			}
			var evs []Event
			for _, e := range rg.Events {
				for k, v := range e {
					switch k {
					case "introduced":
						evs = append(evs, Event{Kind: introduced, Version: v})
					case "fixed":
						evs = append(evs, Event{Kind: fixed, Version: v})
					case "last_affected":
						evs = append(evs, Event{Kind: lastAffected, Version: v})
					case "limit":
						if v != "*" {
							evs = append(evs, Event{Kind: limit, Version: v})
						}
					}
				}
			}
			rr, err := newEventRange(typ, eco, evs)
			if err != nil {
				warns = append(warns, fmt.Sprintf("%s: affected[%d].ranges[%d]: %v; skipped", r.ID, i, j, err))
				continue
			}
			out.Ranges = append(out.Ranges, rr)
		}
		if len(out.Ranges) == 0 && len(out.Versions) == 0 {
			if git {
				// Only commit ranges: SBOMs name versions, not commits.
				continue
			}
			out.All = true
		}
		a.Affected = append(a.Affected, out)
	}
	return a, warns, nil
}

func firstLine(s string) string {
	s = strings.TrimSpace(s)
	if i := strings.IndexAny(s, "\r\n"); i >= 0 {
		s = s[:i]
	}
	if len(s) > 200 {
		s = s[:200] + "…"
	}
	return s
}
