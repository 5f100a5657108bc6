package vulndb

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
)

type cveVersion struct {
	Version         string `json:"version"`
	Status          string `json:"status"`
	VersionType     string `json:"versionType"`
	LessThan        string `json:"lessThan"`
	LessThanOrEqual string `json:"lessThanOrEqual"`
}

type cveAffected struct {
	Vendor        string       `json:"vendor"`
	Product       string       `json:"product"`
	CollectionURL string       `json:"collectionURL"`
	PackageName   string       `json:"packageName"`
	CPEs          []string     `json:"cpes"`
	Versions      []cveVersion `json:"versions"`
	DefaultStatus string       `json:"defaultStatus"`
}

type cveMetric struct {
	V40 *struct {
		BaseScore    float64 `json:"baseScore"`
		VectorString string  `json:"vectorString"`
	} `json:"cvssV4_0"`
	V31 *struct {
		BaseScore    float64 `json:"baseScore"`
		VectorString string  `json:"vectorString"`
	} `json:"cvssV3_1"`
	V30 *struct {
		BaseScore    float64 `json:"baseScore"`
		VectorString string  `json:"vectorString"`
	} `json:"cvssV3_0"`
	V20 *struct {
		BaseScore    float64 `json:"baseScore"`
		VectorString string  `json:"vectorString"`
	} `json:"cvssV2_0"`
}

type cveCPEMatch struct {
	Vulnerable            bool   `json:"vulnerable"`
	Criteria              string `json:"criteria"`
	VersionStartIncluding string `json:"versionStartIncluding"`
	VersionStartExcluding string `json:"versionStartExcluding"`
	VersionEndIncluding   string `json:"versionEndIncluding"`
	VersionEndExcluding   string `json:"versionEndExcluding"`
}

type cveContainer struct {
	Title        string `json:"title"`
	Descriptions []struct {
		Lang  string `json:"lang"`
		Value string `json:"value"`
	} `json:"descriptions"`
	Affected         []cveAffected `json:"affected"`
	Metrics          []cveMetric   `json:"metrics"`
	CPEApplicability []struct {
		Nodes []struct {
			CPEMatch []cveCPEMatch `json:"cpeMatch"`
		} `json:"nodes"`
	} `json:"cpeApplicability"`
}

type cveRecord struct {
	DataType    string `json:"dataType"`
	CVEMetadata struct {
		CVEID         string `json:"cveId"`
		State         string `json:"state"`
		DatePublished string `json:"datePublished"`
		DateUpdated   string `json:"dateUpdated"`
	} `json:"cveMetadata"`
	Containers struct {
		CNA cveContainer   `json:"cna"`
		ADP []cveContainer `json:"adp"`
	} `json:"containers"`
}

// collectionEcosystems maps the collectionURL of a CVE record's affected
// package to the OSV ecosystem.
var collectionEcosystems = map[string]string{
	"https://pkg.go.dev":                   "Go",
	"https://proxy.golang.org":             "Go",
	"https://pypi.org":                     "PyPI",
	"https://pypi.python.org":              "PyPI",
	"https://www.npmjs.com":                "npm",
	"https://registry.npmjs.org":           "npm",
	"https://repo.maven.apache.org/maven2": "Maven",
	"https://repo1.maven.org/maven2":       "Maven",
	"https://crates.io":                    "crates.io",
	"https://rubygems.org":                 "RubyGems",
	"https://www.nuget.org":                "NuGet",
	"https://packagist.org":                "Packagist",
}

// versionTypeEcosystem maps a CVE versionType to version rules.
func versionTypeEcosystem(vt, fallback string) string {
	switch strings.ToLower(vt) {
	case "semver":
		return "Go" // SemVer rules (leading "v" tolerated)
	case "maven":
		return "Maven"
	case "rpm":
		return "Red Hat"
	case "python":
		return "PyPI"
	case "":
		if fallback != "" {
			return fallback
		}
	}
	if fallback != "" {
		return fallback
	}
	// "custom" and other types: the dpkg comparison, which orders dotted
	// versions with letter suffixes as vendors mean them (1.1.1 < 1.1.1k <
	// 1.1.1l), where SemVer would not.
	return genericRules
}

// genericRules names the version rules used where a record gives none.
const genericRules = "Debian"

// ParseCVE reads one CVE JSON 5 record.
func ParseCVE(data []byte, source string) (*Advisory, []string, error) {
	var r cveRecord
	if err := json.Unmarshal(data, &r); err != nil {
		return nil, nil, err
	}
	id := r.CVEMetadata.CVEID
	if id == "" {
		return nil, nil, fmt.Errorf("CVE record without cveMetadata.cveId")
	}
	a := &Advisory{ID: id, Source: "cve:" + source, Withdrawn: strings.EqualFold(r.CVEMetadata.State, "REJECTED")}
	a.Published, _ = time.Parse(time.RFC3339, fixCVETime(r.CVEMetadata.DatePublished))
	a.Modified, _ = time.Parse(time.RFC3339, fixCVETime(r.CVEMetadata.DateUpdated))
	cna := &r.Containers.CNA
	a.Summary = cna.Title
	if a.Summary == "" {
		for _, d := range cna.Descriptions {
			if strings.HasPrefix(d.Lang, "en") {
				a.Summary = firstLine(d.Value)
				break
			}
		}
	}
	var warns []string
	containers := append([]*cveContainer{cna}, ptrs(r.Containers.ADP)...)
	for _, c := range containers {
		for _, m := range c.Metrics {
			for _, cand := range []*struct {
				BaseScore    float64 `json:"baseScore"`
				VectorString string  `json:"vectorString"`
			}{m.V31, m.V30, m.V40, m.V20} {
				if cand == nil {
					continue
				}
				s := Severity{Score: cand.BaseScore, Vector: cand.VectorString, Label: LabelFor(cand.BaseScore)}
				if s.Score == 0 {
					s = severityFromVector(cand.VectorString)
				}
				// Prefer v3 scores: keep the first one found in this order.
				if a.Severity.Score == 0 || s.Score > a.Severity.Score && !strings.HasPrefix(a.Severity.Vector, "CVSS:3") {
					a.Severity = s
				}
				break
			}
		}
		for i, af := range c.Affected {
			w := addCVEAffected(a, af)
			for _, s := range w {
				warns = append(warns, fmt.Sprintf("%s: affected[%d]: %s", id, i, s))
			}
		}
		for _, ca := range c.CPEApplicability {
			for _, n := range ca.Nodes {
				for _, m := range n.CPEMatch {
					if !m.Vulnerable {
						continue
					}
					if w := addCPEMatch(a, m); w != "" {
						warns = append(warns, id+": "+w)
					}
				}
			}
		}
	}
	return a, warns, nil
}

func ptrs(cs []cveContainer) []*cveContainer {
	out := make([]*cveContainer, len(cs))
	for i := range cs {
		out[i] = &cs[i]
	}
	return out
}

// fixCVETime adds the zone CVE records sometimes leave out.
func fixCVETime(s string) string {
	if s != "" && !strings.HasSuffix(s, "Z") && !strings.ContainsAny(s[min(len(s), 19):], "+-") {
		return s + "Z"
	}
	return s
}

// cveRanges converts the versions of a CVE affected entry into ranges.
func cveRanges(vs []cveVersion, eco string) ([]*Range, map[string]bool, []string) {
	var rs []*Range
	var exact map[string]bool
	var warns []string
	for _, v := range vs {
		if !strings.EqualFold(v.Status, "affected") {
			continue
		}
		if strings.EqualFold(v.VersionType, "git") || strings.EqualFold(v.VersionType, "original_commit_for_fix") {
			continue
		}
		e := versionTypeEcosystem(v.VersionType, eco)
		switch {
		case v.LessThan != "" || v.LessThanOrEqual != "":
			hi, incl := v.LessThan, false
			if hi == "" {
				hi, incl = v.LessThanOrEqual, true
			}
			r, err := newInterval(e, v.Version, true, hi, incl)
			if err != nil {
				warns = append(warns, fmt.Sprintf("versions %q to %q: %v", v.Version, hi, err))
				continue
			}
			rs = append(rs, r)
		case v.Version != "" && v.Version != "*" && v.Version != "0" && v.Version != "unspecified" && v.Version != "n/a":
			if exact == nil {
				exact = map[string]bool{}
			}
			exact[normalizeVersion(eco, v.Version)] = true
			if r, err := newExact(e, v.Version); err == nil {
				rs = append(rs, r)
			}
		}
	}
	return rs, exact, warns
}

func addCVEAffected(a *Advisory, af cveAffected) []string {
	eco := collectionEcosystems[strings.TrimSuffix(strings.ToLower(af.CollectionURL), "/")]
	rs, exact, warns := cveRanges(af.Versions, eco)
	if len(rs) == 0 && len(exact) == 0 {
		// Nothing but a default status: only "affected" says something.
		if !strings.EqualFold(af.DefaultStatus, "affected") {
			return warns
		}
	}
	all := len(rs) == 0 && len(exact) == 0
	if eco != "" && af.PackageName != "" {
		a.Affected = append(a.Affected, &Affected{Ecosystem: eco, Name: af.PackageName, Key: pkgid.Key(eco, af.PackageName), Ranges: rs, Versions: exact, All: all})
	}
	seen := map[string]bool{}
	for _, s := range af.CPEs {
		c, err := pkgid.ParseCPE(s)
		if err != nil {
			warns = append(warns, fmt.Sprintf("CPE %q: %v", s, err))
			continue
		}
		seen[c.Key()] = true
		cc := c
		entry := &Affected{Ecosystem: eco, Name: c.Vendor + ":" + c.Product, Key: c.Key(), CPE: &cc, Ranges: rs, Versions: exact}
		if len(rs) == 0 && len(exact) == 0 && c.AnyVersion() {
			entry.All = all
			if !all {
				continue
			}
		}
		a.Affected = append(a.Affected, entry)
	}
	// Vendor and product without CPEs: a CPE pattern of them.
	if len(af.CPEs) == 0 && af.Vendor != "" && af.Product != "" && !strings.EqualFold(af.Vendor, "n/a") && (len(rs) > 0 || len(exact) > 0) {
		vendor, product := cpeWord(af.Vendor), cpeWord(af.Product)
		if c, err := pkgid.ParseCPE("cpe:2.3:a:" + vendor + ":" + product + ":*:*:*:*:*:*:*:*"); err == nil && !seen[c.Key()] {
			cc := c
			a.Affected = append(a.Affected, &Affected{Ecosystem: eco, Name: vendor + ":" + product, Key: c.Key(), CPE: &cc, Ranges: rs, Versions: exact})
		}
	}
	return warns
}

// cpeWord writes a vendor or product name as CPE dictionaries do.
func cpeWord(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	var b strings.Builder
	for _, r := range s {
		switch {
		case r >= 'a' && r <= 'z', r >= '0' && r <= '9', r == '_', r == '-', r == '.':
			b.WriteRune(r)
		case r == ' ':
			b.WriteByte('_')
		}
	}
	return b.String()
}

func addCPEMatch(a *Advisory, m cveCPEMatch) string {
	c, err := pkgid.ParseCPE(m.Criteria)
	if err != nil {
		return fmt.Sprintf("cpeMatch %q: %v", m.Criteria, err)
	}
	entry := &Affected{Name: c.Vendor + ":" + c.Product, Key: c.Key(), CPE: &c}
	lo, loIncl := m.VersionStartIncluding, true
	if lo == "" && m.VersionStartExcluding != "" {
		lo, loIncl = m.VersionStartExcluding, false
	}
	hi, hiIncl := m.VersionEndExcluding, false
	if hi == "" && m.VersionEndIncluding != "" {
		hi, hiIncl = m.VersionEndIncluding, true
	}
	if lo != "" || hi != "" {
		r, err := newInterval(genericRules, lo, loIncl, hi, hiIncl)
		if err != nil {
			return fmt.Sprintf("cpeMatch %q: %v", m.Criteria, err)
		}
		entry.Ranges = []*Range{r}
	} else if c.AnyVersion() {
		entry.All = true
	}
	a.Affected = append(a.Affected, entry)
	return ""
}
