// Package pkgid names software packages the way vulnerability matching needs
// them: a package URL parsed and normalised, the OSV ecosystem it belongs
// to, and a lookup key that is the same for every spelling of one package.
package pkgid

import (
	"fmt"
	"net/url"
	"regexp"
	"strings"

	"github.com/package-url/packageurl-go"
)

// ID identifies one package version.
type ID struct {
	// PURL is the canonical package URL (qualifiers kept, sorted).
	PURL string
	// Type is the purl type (golang, npm, pypi, …).
	Type string
	// Ecosystem is the OSV ecosystem ("Go", "npm", "PyPI", "Debian", …);
	// "" when mamori knows none for the purl type.
	Ecosystem string
	// Release is the distribution release for distribution ecosystems
	// ("11" for Debian 11), when the purl says so.
	Release string
	// Name is the package name as the ecosystem's advisories write it
	// ("github.com/gin-gonic/gin", "org.apache.logging.log4j:log4j-core",
	// "@babel/core").
	Name string
	// Version is the package version ("" when unknown).
	Version string
	// Qualifiers of the purl.
	Qualifiers map[string]string
}

// Key is the lookup key of the package: ecosystem and normalised name.
// It is "" when the ecosystem is unknown.
func (id ID) Key() string {
	if id.Ecosystem == "" {
		return ""
	}
	return Key(id.Ecosystem, id.Name)
}

// purl types mapped to OSV ecosystems. Distribution types (deb, apk, rpm)
// depend on the namespace and are handled in ecosystemOf.
var typeEcosystem = map[string]string{
	packageurl.TypeGolang:   "Go",
	packageurl.TypeNPM:      "npm",
	packageurl.TypePyPi:     "PyPI",
	packageurl.TypeMaven:    "Maven",
	packageurl.TypeCargo:    "crates.io",
	packageurl.TypeGem:      "RubyGems",
	packageurl.TypeNuget:    "NuGet",
	packageurl.TypeComposer: "Packagist",
	packageurl.TypeBitnami:  "Bitnami",
	packageurl.TypeHex:      "Hex",
	packageurl.TypePub:      "Pub",
	packageurl.TypeSwift:    "SwiftURL",
	packageurl.TypeCran:     "CRAN",
	packageurl.TypeHackage:  "Hackage",
	packageurl.TypeConan:    "ConanCenter",
	"julia":                 "Julia",
}

// distro namespaces of deb, apk and rpm purls, mapped to OSV ecosystems.
var distroEcosystem = map[string]string{
	"debian":      "Debian",
	"ubuntu":      "Ubuntu",
	"alpine":      "Alpine",
	"wolfi":       "Wolfi",
	"chainguard":  "Chainguard",
	"redhat":      "Red Hat",
	"rhel":        "Red Hat",
	"rocky":       "Rocky Linux",
	"rocky-linux": "Rocky Linux",
	"almalinux":   "AlmaLinux",
	"opensuse":    "openSUSE",
	"suse":        "SUSE",
	"sles":        "SUSE",
	"openeuler":   "openEuler",
	"mageia":      "Mageia",
}

// defaultDistro is the ecosystem of a distribution purl without a namespace.
var defaultDistro = map[string]string{
	packageurl.TypeDebian: "Debian",
	packageurl.TypeApk:    "Alpine",
	packageurl.TypeRPM:    "Red Hat",
}

// EcosystemOfType returns the OSV ecosystem of a purl type and namespace,
// or "".
func EcosystemOfType(typ, namespace string) string {
	if e, ok := typeEcosystem[typ]; ok {
		return e
	}
	if d, ok := defaultDistro[typ]; ok {
		if namespace == "" {
			return d
		}
		return distroEcosystem[strings.ToLower(namespace)]
	}
	return ""
}

// Problem describes how a purl was repaired; empty when it was canonical.
type Problem string

// Parse reads a package URL. Common deviations are repaired (surrounding
// white space, an upper-case scheme or type, spaces and other characters
// left unencoded, a "pkg://" prefix, an empty or repeated qualifier) and
// reported in the returned note; a purl that cannot be read at all is an
// error.
func Parse(s string) (ID, string, error) {
	orig := s
	var notes []string
	s = strings.TrimSpace(s)
	if s != orig {
		notes = append(notes, "surrounding white space removed")
	}
	if len(s) >= 4 && strings.EqualFold(s[:4], "pkg:") && s[:4] != "pkg:" {
		s = "pkg:" + s[4:]
		notes = append(notes, "scheme written in lower case")
	}
	if strings.HasPrefix(s, "pkg://") {
		s = "pkg:" + strings.TrimLeft(s[4:], "/")
		notes = append(notes, "slashes after pkg: removed")
	}
	p, err := packageurl.FromString(s)
	if err != nil {
		fixed, how := repair(s)
		if fixed == s {
			return ID{}, "", fmt.Errorf("package URL %q: %w", orig, err)
		}
		p, err = packageurl.FromString(fixed)
		if err != nil {
			return ID{}, "", fmt.Errorf("package URL %q: %w", orig, err)
		}
		notes = append(notes, how)
	}
	if p.Type != strings.ToLower(p.Type) {
		p.Type = strings.ToLower(p.Type)
		notes = append(notes, "type written in lower case")
	}
	id := fromPURL(p)
	if canon := id.PURL; len(notes) == 0 && canon != s && !equivalentPURL(canon, s) {
		notes = append(notes, "written as "+canon)
	}
	return id, strings.Join(notes, "; "), nil
}

// equivalentPURL reports whether two purls differ only in percent-encoding
// that the canonical form chooses differently (e.g. "@" in npm scopes) or in
// the case the canonical form imposes (golang, pypi, …): not worth a warning.
func equivalentPURL(a, b string) bool {
	ua, err1 := url.PathUnescape(a)
	ub, err2 := url.PathUnescape(b)
	return err1 == nil && err2 == nil && strings.EqualFold(ua, ub)
}

var badPercent = regexp.MustCompile(`%([^0-9A-Fa-f]|[0-9A-Fa-f][^0-9A-Fa-f]|$)`)

// repair fixes what makes packageurl reject real-world purls: stray
// percent signs, spaces, and empty qualifiers.
func repair(s string) (string, string) {
	var how []string
	if badPercent.MatchString(s) {
		s = badPercent.ReplaceAllStringFunc(s, func(m string) string { return "%25" + m[1:] })
		how = append(how, "stray % encoded")
	}
	if strings.ContainsAny(s, " \t") {
		s = strings.NewReplacer(" ", "%20", "\t", "%09").Replace(s)
		how = append(how, "spaces encoded")
	}
	if base, q, ok := strings.Cut(s, "?"); ok {
		frag := ""
		if i := strings.IndexByte(q, '#'); i >= 0 {
			q, frag = q[:i], q[i:]
		}
		var kept []string
		seen := map[string]bool{}
		for _, kv := range strings.Split(q, "&") {
			k, v, _ := strings.Cut(kv, "=")
			lk := strings.ToLower(k)
			if k == "" || v == "" || seen[lk] {
				continue
			}
			seen[lk] = true
			kept = append(kept, lk+"="+v)
		}
		ns := base
		if len(kept) > 0 {
			ns += "?" + strings.Join(kept, "&")
		}
		ns += frag
		if ns != s {
			s = ns
			how = append(how, "empty or repeated qualifiers dropped")
		}
	}
	return s, strings.Join(how, ", ")
}

func fromPURL(p packageurl.PackageURL) ID {
	id := ID{Type: p.Type, Version: p.Version, Qualifiers: p.Qualifiers.Map()}
	id.PURL = p.ToString()
	id.Ecosystem = EcosystemOfType(p.Type, p.Namespace)
	switch p.Type {
	case packageurl.TypeMaven:
		if p.Namespace != "" {
			id.Name = p.Namespace + ":" + p.Name
		} else {
			id.Name = p.Name
		}
	case packageurl.TypeDebian, packageurl.TypeApk, packageurl.TypeRPM:
		id.Name = p.Name
		id.Release = distroRelease(id.Qualifiers["distro"])
	case packageurl.TypeSwift:
		id.Name = p.Namespace + "/" + p.Name
	default:
		if p.Namespace != "" {
			id.Name = p.Namespace + "/" + p.Name
		} else {
			id.Name = p.Name
		}
	}
	return id
}

// distroRelease reads the release from a distro qualifier such as
// "debian-11", "bullseye", "alpine-3.18" or "3.18.4".
func distroRelease(q string) string {
	if q == "" {
		return ""
	}
	q = strings.ToLower(q)
	if i := strings.LastIndexByte(q, '-'); i >= 0 {
		q = q[i+1:]
	}
	if c, ok := debianCodenames[q]; ok {
		return c
	}
	// Alpine releases are major.minor.
	parts := strings.Split(q, ".")
	if len(parts) > 2 {
		q = parts[0] + "." + parts[1]
	}
	return q
}

var debianCodenames = map[string]string{
	"buster": "10", "bullseye": "11", "bookworm": "12", "trixie": "13", "stretch": "9", "jessie": "8",
}

// Key builds the lookup key of a package from its ecosystem and name, both
// normalised as each ecosystem compares names: PyPI names by PEP 503, Go
// module paths and npm, NuGet, Packagist and Bitnami names case-insensitively,
// Maven coordinates and crates as written. The release suffix of a
// distribution ecosystem ("Debian:11") is dropped: it is checked separately.
func Key(ecosystem, name string) string {
	eco := BaseEcosystem(ecosystem)
	return eco + "\x00" + NormalizeName(eco, name)
}

// BaseEcosystem strips a release suffix ("Debian:11" → "Debian").
func BaseEcosystem(ecosystem string) string {
	if i := strings.IndexByte(ecosystem, ':'); i >= 0 {
		return ecosystem[:i]
	}
	return ecosystem
}

// ReleaseOf returns the release suffix of an ecosystem ("Debian:11" → "11").
func ReleaseOf(ecosystem string) string {
	if i := strings.IndexByte(ecosystem, ':'); i >= 0 {
		r := ecosystem[i+1:]
		// "Alpine:v3.18" → "3.18"
		return strings.TrimPrefix(r, "v")
	}
	return ""
}

var pep503 = regexp.MustCompile(`[-_.]+`)

// NormalizeName normalises a package name for comparison within an ecosystem.
func NormalizeName(ecosystem, name string) string {
	name = strings.TrimSpace(name)
	switch BaseEcosystem(ecosystem) {
	case "PyPI":
		return pep503.ReplaceAllString(strings.ToLower(name), "-")
	case "Go", "npm", "NuGet", "Packagist", "Bitnami", "Debian", "Ubuntu", "Alpine", "Wolfi", "Chainguard", "Hex", "Pub", "RubyGems":
		return strings.ToLower(name)
	}
	return name
}

// Display returns "name@version" (or the name alone).
func (id ID) Display() string {
	if id.Version == "" {
		return id.Name
	}
	return id.Name + "@" + id.Version
}

// ReleaseMatches reports whether an advisory's ecosystem release (from
// "Debian:11") applies to this package: when either side does not say, it
// does.
func (id ID) ReleaseMatches(advisoryEcosystem string) bool {
	r := ReleaseOf(advisoryEcosystem)
	if r == "" || id.Release == "" {
		return true
	}
	return r == id.Release || strings.HasPrefix(id.Release, r+".")
}
