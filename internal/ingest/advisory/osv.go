package advisory

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
)

// OSVRecord is the part of an OSV record mamori reads; affected, severity
// and database_specific are kept as they are.
type OSVRecord struct {
	SchemaVersion string          `json:"schema_version"`
	ID            string          `json:"id"`
	Modified      string          `json:"modified"`
	Published     string          `json:"published"`
	Withdrawn     string          `json:"withdrawn"`
	Aliases       []string        `json:"aliases"`
	Related       []string        `json:"related"`
	Summary       string          `json:"summary"`
	Details       string          `json:"details"`
	Severity      json.RawMessage `json:"severity"`
	Affected      json.RawMessage `json:"affected"`
	References    []struct {
		Type string `json:"type"`
		URL  string `json:"url"`
	} `json:"references"`
	DatabaseSpecific json.RawMessage `json:"database_specific"`
}

// OSVReader reads OSV records: one record, a JSON array or JSON Lines.
type OSVReader struct {
	reader
	in io.Reader
}

// NewOSVReader reads OSV records from in.
func NewOSVReader(name string, in io.Reader, cfg *emit.Config) *OSVReader {
	return &OSVReader{reader: reader{name: name, cfg: cfg}, in: in}
}

// Source is the records as an ingest.Source.
func (o *OSVReader) Source() ingest.Source {
	return source(&o.reader, func() error { return records(o.in, o.record) })
}

func (o *OSVReader) record(raw []byte, where string) error {
	o.Stats.Records++
	var rec OSVRecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		o.Stats.Rejected++
		o.notice(emit.Rejected, where, "", "not an OSV record: "+err.Error())
		return nil
	}
	id := strings.TrimSpace(rec.ID)
	if id == "" {
		o.Stats.Rejected++
		o.notice(emit.Rejected, where+".id", "", "an OSV record has an id")
		return nil
	}
	// Some databases (the Go vulndb repository) leave published and
	// modified at 0001-01-01: those fall back to a fixed date, so that a
	// record imported again is found unchanged.
	created, ok := parseTime(rec.Published)
	if !ok {
		created = emit.IdentityEpoch
	}
	modified, ok := parseTime(rec.Modified)
	if !ok {
		modified = created
	}
	v := o.base(VulnerabilityID("osv", id), id, created, modified)
	desc := strings.TrimSpace(rec.Summary)
	if d := strings.TrimSpace(rec.Details); d != "" {
		if desc != "" {
			desc += "\n\n"
		}
		desc += d
	}
	if desc != "" {
		v["description"] = desc
	}
	if _, ok := parseTime(rec.Withdrawn); ok {
		v["revoked"] = true
	}
	var r refs
	r.add(map[string]any{"source_name": "osv", "external_id": id})
	if strings.HasPrefix(strings.ToUpper(id), "CVE-") {
		r.cve(id)
	}
	for _, a := range rec.Aliases {
		if strings.HasPrefix(strings.ToUpper(a), "CVE-") {
			r.cve(a)
		} else if a != "" {
			r.add(map[string]any{"source_name": "osv", "external_id": a})
		}
	}
	var ecos []string
	if db, ok := rawJSON(rec.DatabaseSpecific).(map[string]any); ok {
		if ids, ok := db["cwe_ids"].([]any); ok {
			for _, c := range ids {
				if s, ok := c.(string); ok {
					r.cwe(s)
				}
			}
		}
	}
	for _, ref := range rec.References {
		r.url("osv-"+strings.ToLower(ref.Type), ref.URL, "")
	}
	v["external_references"] = r.list
	if a := clean(rawJSON(rec.Affected)); a != nil {
		v["x_mamori_osv_affected"] = a
		if list, ok := a.([]any); ok {
			seen := map[string]bool{}
			for _, e := range list {
				if m, ok := e.(map[string]any); ok {
					if p, ok := m["package"].(map[string]any); ok {
						if eco, ok := p["ecosystem"].(string); ok && eco != "" && !seen[eco] {
							seen[eco] = true
							ecos = append(ecos, eco)
						}
					}
				}
			}
		}
	}
	if len(ecos) > 0 {
		v["x_mamori_osv_ecosystems"] = toAny(ecos)
	}
	if s := clean(rawJSON(rec.Severity)); s != nil {
		v["x_mamori_osv_severity"] = s
	}
	if d := clean(rawJSON(rec.DatabaseSpecific)); d != nil {
		v["x_mamori_osv_database_specific"] = d
	}
	if rec.SchemaVersion != "" {
		v["x_mamori_osv_schema_version"] = rec.SchemaVersion
	}
	if len(rec.Related) > 0 {
		v["x_mamori_osv_related"] = toAny(rec.Related)
	}
	set := func(k, val string) {
		if strings.TrimSpace(val) != "" {
			v[k] = val
		}
	}
	set("x_mamori_osv_published", rec.Published)
	set("x_mamori_osv_modified", rec.Modified)
	set("x_mamori_osv_withdrawn", rec.Withdrawn)
	return o.out(v, where)
}
