package advisory

import (
	"encoding/json"
	"io"
	"strings"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
)

// CVERecord is the part of a CVE JSON 5 record mamori reads.
type CVERecord struct {
	DataType    string `json:"dataType"`
	DataVersion string `json:"dataVersion"`
	CVEMetadata struct {
		CVEID         string `json:"cveId"`
		State         string `json:"state"`
		DatePublished string `json:"datePublished"`
		DateReserved  string `json:"dateReserved"`
		DateUpdated   string `json:"dateUpdated"`
		DateRejected  string `json:"dateRejected"`
		AssignerShort string `json:"assignerShortName"`
	} `json:"cveMetadata"`
	Containers struct {
		CNA cveContainer   `json:"cna"`
		ADP []cveContainer `json:"adp"`
	} `json:"containers"`
}

type cveContainer struct {
	Title            string `json:"title"`
	ProviderMetadata struct {
		ShortName string `json:"shortName"`
	} `json:"providerMetadata"`
	Descriptions []struct {
		Lang  string `json:"lang"`
		Value string `json:"value"`
	} `json:"descriptions"`
	RejectedReasons []struct {
		Lang  string `json:"lang"`
		Value string `json:"value"`
	} `json:"rejectedReasons"`
	Affected     json.RawMessage              `json:"affected"`
	Metrics      []map[string]json.RawMessage `json:"metrics"`
	ProblemTypes []struct {
		Descriptions []struct {
			CWEID       string `json:"cweId"`
			Description string `json:"description"`
		} `json:"descriptions"`
	} `json:"problemTypes"`
	References []struct {
		URL  string   `json:"url"`
		Name string   `json:"name"`
		Tags []string `json:"tags"`
	} `json:"references"`
}

// CVEReader reads CVE JSON 5 records: one record, a JSON array of records
// or JSON Lines.
type CVEReader struct {
	reader
	in io.Reader
}

// NewCVEReader reads CVE records from in.
func NewCVEReader(name string, in io.Reader, cfg *emit.Config) *CVEReader {
	return &CVEReader{reader: reader{name: name, cfg: cfg}, in: in}
}

// Source is the records as an ingest.Source.
func (c *CVEReader) Source() ingest.Source {
	return source(&c.reader, func() error { return records(c.in, c.record) })
}

func englishText(ds []struct {
	Lang  string `json:"lang"`
	Value string `json:"value"`
}) string {
	for _, d := range ds {
		if strings.HasPrefix(strings.ToLower(d.Lang), "en") && strings.TrimSpace(d.Value) != "" {
			return d.Value
		}
	}
	for _, d := range ds {
		if strings.TrimSpace(d.Value) != "" {
			return d.Value
		}
	}
	return ""
}

func (c *CVEReader) record(raw []byte, where string) error {
	c.Stats.Records++
	var rec CVERecord
	if err := json.Unmarshal(raw, &rec); err != nil {
		c.Stats.Rejected++
		c.notice(emit.Rejected, where, "", "not a CVE JSON 5 record: "+err.Error())
		return nil
	}
	md := rec.CVEMetadata
	id := strings.ToUpper(strings.TrimSpace(md.CVEID))
	if !cveRE.MatchString(id) {
		c.Stats.Rejected++
		c.notice(emit.Rejected, where+".cveMetadata.cveId", md.CVEID, "not a CVE identifier")
		return nil
	}
	created, ok := parseTime(md.DatePublished)
	if !ok {
		if created, ok = parseTime(md.DateReserved); !ok {
			if created, ok = parseTime(md.DateRejected); !ok {
				created, _ = parseTime(md.DateUpdated)
			}
		}
	}
	if created.IsZero() {
		created = emit.IdentityEpoch
	}
	modified, ok := parseTime(md.DateUpdated)
	if !ok {
		modified = created
	}
	v := c.base(VulnerabilityID("cve", id), id, created, modified)
	cna := &rec.Containers.CNA
	desc := englishText(cna.Descriptions)
	if strings.EqualFold(md.State, "REJECTED") {
		v["revoked"] = true
		if desc == "" {
			desc = englishText(cna.RejectedReasons)
		}
	}
	if desc != "" {
		v["description"] = desc
	}
	var r refs
	r.cve(id)
	all := append([]cveContainer{*cna}, rec.Containers.ADP...)
	var cvss []any
	var ssvc []any
	for _, ct := range all {
		for _, pt := range ct.ProblemTypes {
			for _, d := range pt.Descriptions {
				r.cwe(d.CWEID)
			}
		}
		src := ct.ProviderMetadata.ShortName
		for _, m := range ct.Metrics {
			for k, val := range m {
				switch {
				case strings.HasPrefix(k, "cvssV"):
					var s struct {
						Version      string  `json:"version"`
						BaseScore    float64 `json:"baseScore"`
						BaseSeverity string  `json:"baseSeverity"`
						Vector       string  `json:"vectorString"`
					}
					if json.Unmarshal(val, &s) != nil {
						continue
					}
					e := map[string]any{"version": s.Version, "base_score": s.BaseScore, "vector": s.Vector, "source": src}
					if s.BaseSeverity != "" {
						e["base_severity"] = s.BaseSeverity
					}
					if s.Version == "" {
						e["version"] = strings.TrimPrefix(strings.ReplaceAll(k, "_", "."), "cvssV")
					}
					if s.Vector == "" {
						delete(e, "vector")
					}
					if src == "" {
						delete(e, "source")
					}
					cvss = append(cvss, e)
				case k == "other":
					var o struct {
						Type    string          `json:"type"`
						Content json.RawMessage `json:"content"`
					}
					if json.Unmarshal(val, &o) == nil && strings.EqualFold(o.Type, "ssvc") {
						if x := rawJSON(o.Content); x != nil {
							ssvc = append(ssvc, x)
						}
					}
				}
			}
		}
	}
	for _, ref := range cna.References {
		r.url("cve-reference", ref.URL, ref.Name)
	}
	v["external_references"] = r.list
	if cna.Title != "" {
		v["x_mamori_cve_title"] = cna.Title
	}
	if md.State != "" {
		v["x_mamori_cve_state"] = md.State
	}
	if md.AssignerShort != "" {
		v["x_mamori_cve_assigner"] = md.AssignerShort
	}
	if len(cvss) > 0 {
		v["x_mamori_cvss"] = cvss
	}
	if len(ssvc) > 0 {
		v["x_mamori_ssvc"] = ssvc
	}
	if a := clean(rawJSON(cna.Affected)); a != nil {
		v["x_mamori_cve_affected"] = a
	}
	return c.out(v, where)
}

// clean removes nulls, empty lists and empty objects (STIX allows none of
// them) from a decoded value; nil when nothing is left.
func clean(v any) any {
	switch x := v.(type) {
	case nil:
		return nil
	case map[string]any:
		out := map[string]any{}
		for k, e := range x {
			if c := clean(e); c != nil {
				out[k] = c
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case []any:
		var out []any
		for _, e := range x {
			if c := clean(e); c != nil {
				out = append(out, c)
			}
		}
		if len(out) == 0 {
			return nil
		}
		return out
	case string:
		return x
	}
	return v
}
