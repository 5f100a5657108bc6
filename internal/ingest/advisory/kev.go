package advisory

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/ingest/emit"
)

// KEVEntry is one entry of the CISA KEV catalog.
type KEVEntry struct {
	CVEID                      string   `json:"cveID"`
	VendorProject              string   `json:"vendorProject"`
	Product                    string   `json:"product"`
	VulnerabilityName          string   `json:"vulnerabilityName"`
	DateAdded                  string   `json:"dateAdded"`
	ShortDescription           string   `json:"shortDescription"`
	RequiredAction             string   `json:"requiredAction"`
	DueDate                    string   `json:"dueDate"`
	KnownRansomwareCampaignUse string   `json:"knownRansomwareCampaignUse"`
	Notes                      string   `json:"notes"`
	CWEs                       []string `json:"cwes"`
}

// KEVReader reads the CISA Known Exploited Vulnerabilities catalog (its
// JSON form: {"catalogVersion": …, "vulnerabilities": [...]}).
type KEVReader struct {
	reader
	in io.Reader
	// Catalog is the catalogVersion read.
	Catalog string
}

// NewKEVReader reads a KEV catalog from in.
func NewKEVReader(name string, in io.Reader, cfg *emit.Config) *KEVReader {
	return &KEVReader{reader: reader{name: name, cfg: cfg}, in: in}
}

// Source is the catalog as an ingest.Source.
func (k *KEVReader) Source() ingest.Source { return source(&k.reader, k.run) }

// KEV properties are custom properties of the vulnerability object, named
// x_mamori_kev_<field> (see docs/formats.md).
func (k *KEVReader) run() error {
	dec := json.NewDecoder(io.LimitReader(k.in, 1<<30))
	t, err := dec.Token()
	if err != nil {
		return fmt.Errorf("$: %w", err)
	}
	if t != json.Delim('{') {
		return fmt.Errorf("$: a KEV catalog is a JSON object")
	}
	found := false
	for dec.More() {
		kt, err := dec.Token()
		if err != nil {
			return fmt.Errorf("$: %w", err)
		}
		key, _ := kt.(string)
		switch key {
		case "catalogVersion":
			var v string
			if err := dec.Decode(&v); err != nil {
				return fmt.Errorf("$.catalogVersion: %w", err)
			}
			k.Catalog = v
		case "vulnerabilities":
			found = true
			if t, err := dec.Token(); err != nil || t != json.Delim('[') {
				return fmt.Errorf("$.vulnerabilities: expected an array")
			}
			for i := 0; dec.More(); i++ {
				path := fmt.Sprintf("$.vulnerabilities[%d]", i)
				var e KEVEntry
				if err := dec.Decode(&e); err != nil {
					return fmt.Errorf("%s: %w", path, err)
				}
				if err := k.entry(&e, path); err != nil {
					return err
				}
			}
			if _, err := dec.Token(); err != nil {
				return fmt.Errorf("$.vulnerabilities: %w", err)
			}
		default:
			var skip json.RawMessage
			if err := dec.Decode(&skip); err != nil {
				return fmt.Errorf("$.%s: %w", key, err)
			}
		}
	}
	if !found {
		return fmt.Errorf("$: no vulnerabilities array: not a KEV catalog")
	}
	return nil
}

func (k *KEVReader) entry(e *KEVEntry, path string) error {
	k.Stats.Records++
	cve := strings.ToUpper(strings.TrimSpace(e.CVEID))
	if !cveRE.MatchString(cve) {
		k.Stats.Rejected++
		k.notice(emit.Rejected, path, e.CVEID, "cveID is not a CVE identifier")
		return nil
	}
	added, ok := parseTime(e.DateAdded)
	if !ok {
		k.Stats.Rejected++
		k.notice(emit.Rejected, path+".dateAdded", e.DateAdded, "not a date")
		return nil
	}
	v := k.base(VulnerabilityID("kev", cve), cve, added, added)
	if e.ShortDescription != "" {
		v["description"] = e.ShortDescription
	}
	var r refs
	r.cve(cve)
	for _, c := range e.CWEs {
		r.cwe(c)
	}
	r.url("cisa-kev", "https://www.cisa.gov/known-exploited-vulnerabilities-catalog", "")
	for _, u := range strings.Split(e.Notes, " ; ") {
		u = strings.TrimSpace(u)
		if i := strings.Index(u, "http"); i >= 0 && !strings.ContainsAny(u[i:], " \t") {
			r.url("cisa-kev-note", u[i:], "")
		}
	}
	v["external_references"] = r.list
	v["labels"] = toAny(append(append([]string{}, k.cfg.Labels...), "known-exploited"))
	set := func(prop, val string) {
		if s := strings.TrimSpace(val); s != "" {
			v["x_mamori_kev_"+prop] = s
		}
	}
	set("vendor_project", e.VendorProject)
	set("product", e.Product)
	set("vulnerability_name", e.VulnerabilityName)
	set("date_added", e.DateAdded)
	set("required_action", e.RequiredAction)
	set("due_date", e.DueDate)
	set("known_ransomware_campaign_use", e.KnownRansomwareCampaignUse)
	set("notes", e.Notes)
	if len(e.CWEs) > 0 {
		v["x_mamori_kev_cwes"] = toAny(e.CWEs)
	}
	return k.out(v, path)
}
