package vulndb

import (
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

type kevCatalog struct {
	CatalogVersion  string `json:"catalogVersion"`
	Vulnerabilities []struct {
		CVEID                      string `json:"cveID"`
		VendorProject              string `json:"vendorProject"`
		Product                    string `json:"product"`
		VulnerabilityName          string `json:"vulnerabilityName"`
		DateAdded                  string `json:"dateAdded"`
		DueDate                    string `json:"dueDate"`
		KnownRansomwareCampaignUse string `json:"knownRansomwareCampaignUse"`
	} `json:"vulnerabilities"`
}

// ParseKEV reads the CISA KEV catalog (JSON).
func ParseKEV(data []byte) ([]KEV, error) {
	var c kevCatalog
	if err := json.Unmarshal(data, &c); err != nil {
		return nil, err
	}
	if c.CatalogVersion == "" && len(c.Vulnerabilities) == 0 {
		return nil, errors.New("not a KEV catalog")
	}
	out := make([]KEV, 0, len(c.Vulnerabilities))
	for _, v := range c.Vulnerabilities {
		if v.CVEID == "" {
			continue
		}
		out = append(out, KEV{CVE: v.CVEID, Vendor: v.VendorProject, Product: v.Product, Name: v.VulnerabilityName,
			DateAdded: v.DateAdded, DueDate: v.DueDate, Ransomware: strings.EqualFold(v.KnownRansomwareCampaignUse, "Known")})
	}
	return out, nil
}

// ParseEPSS reads an EPSS CSV file ("cve,epss,percentile", optionally
// after a "#model_version…" comment line). Errors name the line.
func ParseEPSS(r io.Reader) (map[string]EPSS, error) {
	cr := csv.NewReader(r)
	cr.Comment = '#'
	cr.FieldsPerRecord = -1
	out := map[string]EPSS{}
	header := true
	cols := map[string]int{"cve": 0, "epss": 1, "percentile": 2}
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			return out, nil
		}
		line, _ := cr.FieldPos(0)
		if err != nil {
			return out, fmt.Errorf("line %d: %w", line, err)
		}
		if header {
			header = false
			if len(rec) > 0 && strings.EqualFold(strings.TrimSpace(rec[0]), "cve") {
				for i, h := range rec {
					cols[strings.ToLower(strings.TrimSpace(h))] = i
				}
				continue
			}
		}
		get := func(k string) string {
			if i, ok := cols[k]; ok && i < len(rec) {
				return strings.TrimSpace(rec[i])
			}
			return ""
		}
		cve := get("cve")
		if !strings.HasPrefix(strings.ToUpper(cve), "CVE-") {
			return out, fmt.Errorf("line %d: %q is not a CVE id", line, cve)
		}
		score, err1 := strconv.ParseFloat(get("epss"), 64)
		pct, err2 := strconv.ParseFloat(get("percentile"), 64)
		if err1 != nil || err2 != nil || score < 0 || score > 1 || pct < 0 || pct > 1 {
			return out, fmt.Errorf("line %d: epss and percentile must be numbers from 0 to 1", line)
		}
		out[normID(cve)] = EPSS{Score: score, Percentile: pct}
	}
}
