// Package vulndb is mamori's compact vulnerability index for exposure
// matching. It reads OSV records, CVE JSON 5 records, the CISA KEV catalog,
// EPSS scores and STIX vulnerability objects, indexes advisories by package
// (ecosystem and name) and by CPE product, and matches components against
// them with each ecosystem's own version rules (github.com/google/osv-scalibr's
// semantic package).
package vulndb

import (
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/google/osv-scalibr/semantic"

	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
)

// Advisory is one vulnerability record: an OSV record, a CVE record, or a
// STIX vulnerability object.
type Advisory struct {
	ID      string
	Aliases []string
	Summary string
	// Source names where the advisory came from (a file, "kb").
	Source    string
	Published time.Time
	Modified  time.Time
	Withdrawn bool
	Severity  Severity
	Affected  []*Affected
}

// IDs returns the id and the aliases.
func (a *Advisory) IDs() []string { return append([]string{a.ID}, a.Aliases...) }

// Severity is a CVSS score with its vector, or a label alone.
type Severity struct {
	Score  float64
	Vector string
	// Label is critical, high, medium, low or none.
	Label string
}

// Better reports whether s carries more than o (a score beats a label,
// a higher score a lower one).
func (s Severity) Better(o Severity) bool {
	if s.Score != o.Score {
		return s.Score > o.Score
	}
	return o.Label == "" && s.Label != ""
}

// LabelFor maps a CVSS score to its qualitative rating.
func LabelFor(score float64) string {
	switch {
	case score >= 9:
		return "critical"
	case score >= 7:
		return "high"
	case score >= 4:
		return "medium"
	case score > 0:
		return "low"
	}
	return "none"
}

// Affected is one affected package (or CPE product) of an advisory.
type Affected struct {
	// Ecosystem as the advisory writes it ("Debian:11"), Name the package.
	Ecosystem string
	Name      string
	// Key is the package key (pkgid.Key) or the CPE key ("cpe:vendor:product").
	Key string
	// CPE, when set, is the CPE pattern a component's CPE must fit.
	CPE *pkgid.CPE
	// Ranges of affected versions (OSV SEMVER and ECOSYSTEM ranges, or
	// intervals from CVE records).
	Ranges []*Range
	// Versions lists affected versions exactly.
	Versions map[string]bool
	// All is set when every version is affected (an OSV entry with no
	// ranges and no versions, or a CVE entry whose default status is
	// affected with nothing else said).
	All bool
}

// Event kinds of OSV ranges.
const (
	introduced = iota
	fixed
	lastAffected
	limit
)

// Event is one event of a range, its version parsed.
type Event struct {
	Kind    int
	Version string
	zero    bool // introduced "0": before every version
	v       semantic.Version
}

// Range is a list of OSV events, sorted, or a CVE interval.
type Range struct {
	// Type is SEMVER, ECOSYSTEM or INTERVAL (from a CVE record).
	Type string
	// Ecosystem decides the version rules for ECOSYSTEM and INTERVAL ranges.
	Ecosystem string
	Events    []Event
	// interval bounds (INTERVAL ranges).
	lo, hi         *Event
	loIncl, hiIncl bool
	exact          *Event
}

// parseVersion parses v with the rules of a range type and ecosystem.
func parseVersion(typ, ecosystem, v string) (semantic.Version, error) {
	if typ == "SEMVER" {
		return semantic.ParseSemverVersion(v), nil
	}
	eco := pkgid.BaseEcosystem(ecosystem)
	ver, err := semantic.Parse(v, eco)
	if err != nil && strings.Contains(err.Error(), "unsupported ecosystem") {
		// Ecosystems without rules of their own compare like SemVer,
		// which tolerates most dotted versions.
		return semantic.ParseSemverVersion(v), nil
	}
	return ver, err
}

func compare(a, b semantic.Version) int {
	c, err := a.Compare(b)
	if err != nil {
		return 0
	}
	return c
}

// newEventRange builds and sorts a range of OSV events. Events whose
// version does not parse are returned as an error.
func newEventRange(typ, ecosystem string, evs []Event) (*Range, error) {
	r := &Range{Type: typ, Ecosystem: ecosystem}
	for _, e := range evs {
		if e.Kind == introduced && (e.Version == "0" || e.Version == "") {
			e.zero = true
			r.Events = append(r.Events, e)
			continue
		}
		v, err := parseVersion(typ, ecosystem, e.Version)
		if err != nil {
			return nil, err
		}
		e.v = v
		r.Events = append(r.Events, e)
	}
	sort.SliceStable(r.Events, func(i, j int) bool {
		a, b := r.Events[i], r.Events[j]
		if a.zero || b.zero {
			return a.zero && !b.zero
		}
		return compare(a.v, b.v) < 0
	})
	return r, nil
}

// contains reports whether version v (parsed with the range's rules) is in
// the range, and the first fixed version above it.
func (r *Range) contains(v semantic.Version) (bool, string) {
	if r.Type == "INTERVAL" {
		return r.containsInterval(v)
	}
	affected := false
	at := -1
	for i, e := range r.Events {
		switch e.Kind {
		case introduced:
			if e.zero || compare(v, e.v) >= 0 {
				affected, at = true, i
			}
		case fixed, limit:
			if compare(v, e.v) >= 0 {
				affected = false
			}
		case lastAffected:
			if compare(v, e.v) > 0 {
				affected = false
			}
		}
	}
	if !affected {
		return false, ""
	}
	for _, e := range r.Events[at+1:] {
		if e.Kind == fixed && compare(e.v, v) > 0 {
			return true, e.Version
		}
	}
	return true, ""
}

func (r *Range) containsInterval(v semantic.Version) (bool, string) {
	if r.exact != nil {
		return compare(v, r.exact.v) == 0, ""
	}
	if r.lo != nil {
		c := compare(v, r.lo.v)
		if c < 0 || c == 0 && !r.loIncl {
			return false, ""
		}
	}
	if r.hi != nil {
		c := compare(v, r.hi.v)
		if c > 0 || c == 0 && !r.hiIncl {
			return false, ""
		}
		if !r.hiIncl {
			return true, r.hi.Version
		}
	}
	return true, ""
}

// newInterval builds an INTERVAL range; empty bounds are open.
func newInterval(ecosystem, lo string, loIncl bool, hi string, hiIncl bool) (*Range, error) {
	r := &Range{Type: "INTERVAL", Ecosystem: ecosystem, loIncl: loIncl, hiIncl: hiIncl}
	if lo != "" && lo != "0" && lo != "*" && lo != "-" {
		v, err := parseVersion("ECOSYSTEM", ecosystem, lo)
		if err != nil {
			return nil, err
		}
		r.lo = &Event{Version: lo, v: v}
	}
	if hi != "" && hi != "*" {
		v, err := parseVersion("ECOSYSTEM", ecosystem, hi)
		if err != nil {
			return nil, err
		}
		r.hi = &Event{Version: hi, v: v}
	}
	return r, nil
}

func newExact(ecosystem, version string) (*Range, error) {
	v, err := parseVersion("ECOSYSTEM", ecosystem, version)
	if err != nil {
		return nil, err
	}
	return &Range{Type: "INTERVAL", Ecosystem: ecosystem, exact: &Event{Version: version, v: v}}, nil
}

// normalizeVersion is the form exact version lists are compared in.
func normalizeVersion(ecosystem, v string) string {
	v = strings.TrimSpace(v)
	switch pkgid.BaseEcosystem(ecosystem) {
	case "Go":
		return strings.TrimPrefix(v, "v")
	case "PyPI":
		return strings.ToLower(v)
	}
	return v
}

// idRank orders identifiers for choosing the one a finding is named by.
func idRank(id string) int {
	u := strings.ToUpper(id)
	switch {
	case strings.HasPrefix(u, "CVE-"):
		return 0
	case strings.HasPrefix(u, "GHSA-"):
		return 1
	case strings.HasPrefix(u, "GO-"):
		return 2
	case strings.HasPrefix(u, "PYSEC-"):
		return 3
	}
	return 4
}

// PreferredID picks the identifier a group of aliases is shown under: a CVE
// id when there is one (the lowest when several), else a GHSA id, else GO-,
// PYSEC- and the rest, ties broken by text order.
func PreferredID(ids []string) string {
	best := ""
	for _, id := range ids {
		if id == "" {
			continue
		}
		if best == "" || idRank(id) < idRank(best) || idRank(id) == idRank(best) && lessID(id, best) {
			best = id
		}
	}
	return best
}

// lessID orders ids naturally ("CVE-2021-999" before "CVE-2021-1000").
func lessID(a, b string) bool {
	if len(a) != len(b) && strings.HasPrefix(strings.ToUpper(a), "CVE-") && strings.HasPrefix(strings.ToUpper(b), "CVE-") {
		ya, yb := a[:min(len(a), 8)], b[:min(len(b), 8)]
		if ya == yb {
			return len(a) < len(b)
		}
	}
	return a < b
}

// normID is how ids are compared: upper case, trimmed.
func normID(id string) string { return strings.ToUpper(strings.TrimSpace(id)) }

func appendUnique(l []string, vs ...string) []string {
	for _, v := range vs {
		if v != "" && !slices.Contains(l, v) {
			l = append(l, v)
		}
	}
	return l
}
