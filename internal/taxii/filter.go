package taxii

import (
	"fmt"
	"math"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// endpoint identifies the TAXII endpoints that take filters.
type endpoint int

const (
	epObjects endpoint = iota + 1
	epObject
	epVersions
	epManifest
	epDelete
)

func (e endpoint) String() string {
	return [...]string{"", "objects", "object", "versions", "manifest", "delete"}[e]
}

// params lists the URL parameters each endpoint understands (TAXII 2.1
// sections 5.3 to 5.8). Others, including match fields an endpoint does not
// define, are ignored as section 3.4 allows.
var params = map[endpoint][]string{
	epObjects:  {"added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]"},
	epManifest: {"added_after", "limit", "next", "match[id]", "match[type]", "match[version]", "match[spec_version]"},
	epObject:   {"added_after", "limit", "next", "match[version]", "match[spec_version]"},
	epVersions: {"added_after", "limit", "next", "match[spec_version]"},
	epDelete:   {"match[version]", "match[spec_version]"},
}

// versionSpec is a parsed match[version]: any of first, last and specific
// versions, or all.
type versionSpec struct {
	all, first, last bool
	times            []time.Time
}

// filters is the parsed filtering of one request.
type filters struct {
	addedAfter   time.Time // as sent; zero when absent
	ids, types   []string
	specVersions []string
	versions     versionSpec
	limit        int
	next         string
}

var (
	typeRE        = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]$`)
	idRE          = regexp.MustCompile(`^[a-z0-9][a-z0-9-]{1,248}[a-z0-9]--[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	specVersionRE = regexp.MustCompile(`^[0-9]{1,3}\.[0-9]{1,3}$`)
)

func badFilter(param, format string, a ...any) *httpError {
	e := newError(http.StatusBadRequest, "invalid-filter", "Invalid filter", fmt.Sprintf("%s: "+format, append([]any{param}, a...)...))
	e.details["parameter"] = param
	return e
}

// parseFilters reads the URL parameters of an endpoint. Malformed values,
// and a parameter given twice, are 400 errors (section 3.4).
func parseFilters(v url.Values, ep endpoint, defLimit, maxLimit int) (filters, *httpError) {
	f := filters{limit: defLimit, versions: versionSpec{last: true}}
	for _, name := range params[ep] {
		vals, ok := v[name]
		if !ok {
			continue
		}
		if len(vals) > 1 {
			return f, badFilter(name, "given %d times; give it once (several values go in one, separated by commas)", len(vals))
		}
		val := vals[0]
		switch name {
		case "added_after":
			t, err := ParseTimestamp(val)
			if err != nil {
				return f, badFilter(name, "%v", err)
			}
			f.addedAfter = t
		case "limit":
			n, err := strconv.Atoi(val)
			if err != nil || n < 1 {
				return f, badFilter(name, "want a positive integer, got %q", val)
			}
			f.limit = min(n, maxLimit)
		case "next":
			f.next = val
		case "match[id]":
			ids, err := splitValues(name, val, func(s string) bool { return idRE.MatchString(s) }, "a STIX identifier such as indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f")
			if err != nil {
				return f, err
			}
			f.ids = ids
		case "match[type]":
			types, err := splitValues(name, val, func(s string) bool { return typeRE.MatchString(s) && !strings.Contains(s, "--") }, "a STIX type: 3 to 250 lower-case letters, digits and hyphens")
			if err != nil {
				return f, err
			}
			f.types = types
		case "match[spec_version]":
			svs, err := splitValues(name, val, specVersionRE.MatchString, "a specification version such as 2.1")
			if err != nil {
				return f, err
			}
			f.specVersions = svs
		case "match[version]":
			vs, err := parseVersions(val)
			if err != nil {
				return f, err
			}
			f.versions = vs
		}
	}
	return f, nil
}

// splitValues splits a comma-separated filter value, checking each value.
func splitValues(param, val string, ok func(string) bool, want string) ([]string, *httpError) {
	parts := strings.Split(val, ",")
	seen := make(map[string]bool, len(parts))
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		if p == "" {
			return nil, badFilter(param, "empty value in %q", val)
		}
		if !ok(p) {
			return nil, badFilter(param, "%q is not %s", p, want)
		}
		if !seen[p] {
			seen[p] = true
			out = append(out, p)
		}
	}
	return out, nil
}

// parseVersions reads match[version]: first, last, all or STIX timestamps,
// comma-separated, each at most once, all alone.
func parseVersions(val string) (versionSpec, *httpError) {
	const param = "match[version]"
	var vs versionSpec
	seen := map[string]bool{}
	parts := strings.Split(val, ",")
	for _, p := range parts {
		if p == "" {
			return vs, badFilter(param, "empty value in %q", val)
		}
		key := p
		switch p {
		case "first":
			vs.first = true
		case "last":
			vs.last = true
		case "all":
			vs.all = true
		default:
			t, err := stix.ParseTimestamp(p)
			if err != nil {
				return vs, badFilter(param, "%q is not first, last, all or a STIX timestamp", p)
			}
			key = store.VersionKeyOf(t)
			vs.times = append(vs.times, t)
		}
		if seen[key] {
			return vs, badFilter(param, "%q appears twice", p)
		}
		seen[key] = true
	}
	if vs.all && len(parts) > 1 {
		return vs, badFilter(param, "all cannot be combined with other versions")
	}
	return vs, nil
}

// modes turns the version filter into store queries: one per keyword and
// one for the specific versions. More than one is an OR of their results.
func (vs versionSpec) modes() []store.Query {
	if vs.all {
		return []store.Query{{Versions: store.VersionsAll}}
	}
	var out []store.Query
	if vs.last {
		out = append(out, store.Query{Versions: store.VersionsLatest})
	}
	if vs.first {
		out = append(out, store.Query{Versions: store.VersionsFirst})
	}
	if len(vs.times) > 0 {
		out = append(out, store.Query{Versions: store.VersionsAll, Modified: vs.times})
	}
	return out
}

// canonical is the filter part of a cursor's scope: every filter but limit
// and next, in a fixed order, lists sorted.
func (f *filters) canonical() string {
	var b strings.Builder
	list := func(name string, vals []string) {
		s := slices.Clone(vals)
		slices.Sort(s)
		b.WriteString(name)
		b.WriteByte('=')
		b.WriteString(strings.Join(s, ","))
		b.WriteByte('|')
	}
	if !f.addedAfter.IsZero() {
		fmt.Fprintf(&b, "added_after=%d|", f.addedAfter.UnixNano())
	}
	list("id", f.ids)
	list("type", f.types)
	list("spec_version", f.specVersions)
	var vers []string
	if f.versions.all {
		vers = append(vers, "all")
	}
	if f.versions.first {
		vers = append(vers, "first")
	}
	if f.versions.last {
		vers = append(vers, "last")
	}
	for _, t := range f.versions.times {
		vers = append(vers, store.VersionKeyOf(t))
	}
	list("version", vers)
	return b.String()
}

// addedAfterBound converts added_after to the store's strict lower bound.
// date_added values are shown with microseconds, so "added after T" means a
// date_added, as shown, later than T: at or after the first microsecond
// past T. Comparing at the precision clients see keeps added_after paging
// exact (see pageBounds).
func addedAfterBound(t time.Time) time.Time {
	if t.IsZero() {
		return t
	}
	// The store compares Unix nanoseconds, which int64 holds from 1678 to
	// 2262 only.
	if lo := time.Unix(0, math.MinInt64+1); t.Before(lo) {
		return lo
	}
	if hi := time.Unix(0, math.MaxInt64-int64(time.Microsecond)); t.After(hi) {
		return time.Unix(0, math.MaxInt64)
	}
	return t.Truncate(time.Microsecond).Add(time.Microsecond - time.Nanosecond)
}
