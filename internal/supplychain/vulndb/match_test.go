package vulndb

import (
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/supplychain/pkgid"
)

// osvRec builds an OSV record for one package with one range.
func osvRec(id, eco, name, typ string, events []map[string]string, versions ...string) []byte {
	rec := map[string]any{"id": id, "modified": "2024-01-01T00:00:00Z", "affected": []any{map[string]any{
		"package":  map[string]any{"ecosystem": eco, "name": name},
		"ranges":   []any{map[string]any{"type": typ, "events": events}},
		"versions": versions,
	}}}
	b, _ := json.Marshal(rec)
	return b
}

func ev(kv ...string) []map[string]string {
	var out []map[string]string
	for i := 0; i+1 < len(kv); i += 2 {
		out = append(out, map[string]string{kv[i]: kv[i+1]})
	}
	return out
}

func matchPURL(t *testing.T, db *DB, purl string) []Match {
	t.Helper()
	id, _, err := pkgid.Parse(purl)
	if err != nil {
		t.Fatalf("%s: %v", purl, err)
	}
	return db.Match(&Component{Package: id})
}

// TestEcosystemKnownAnswers: for one advisory per ecosystem, versions just
// inside and just outside each range, compared with that ecosystem's rules.
func TestEcosystemKnownAnswers(t *testing.T) {
	cases := []struct {
		eco, name, typ string
		events         []map[string]string
		purl           string // without version
		in, out        []string
		fixed          string // expected first fix for in[0]
	}{
		{"Go", "github.com/gin-gonic/gin", "SEMVER", ev("introduced", "0", "fixed", "1.6.3"), "pkg:golang/github.com/gin-gonic/gin",
			[]string{"v1.6.2", "v1.6.3-rc.1", "v0.0.0-20200101000000-abcdefabcdef", "v1.6.2+incompatible"}, []string{"v1.6.3", "v1.7.0", "v1.6.3+build"}, "1.6.3"},
		{"npm", "lodash", "SEMVER", ev("introduced", "0", "fixed", "4.17.21"), "pkg:npm/lodash",
			[]string{"4.17.20", "4.17.21-beta.1", "3.10.1"}, []string{"4.17.21", "4.18.0"}, "4.17.21"},
		{"npm", "@babel/traverse", "SEMVER", ev("introduced", "8.0.0-alpha.0", "fixed", "8.0.0-alpha.4"), "pkg:npm/%40babel/traverse",
			[]string{"8.0.0-alpha.0", "8.0.0-alpha.3"}, []string{"7.23.1", "8.0.0-alpha.4", "8.0.0"}, "8.0.0-alpha.4"},
		{"PyPI", "Django", "ECOSYSTEM", ev("introduced", "3.2", "fixed", "3.2.14"), "pkg:pypi/django",
			[]string{"3.2", "3.2.13", "3.2.14rc1", "3.2.13.post1"}, []string{"3.2rc1", "3.2.14", "3.2.14.post1", "4.0"}, "3.2.14"},
		{"Maven", "org.apache.logging.log4j:log4j-core", "ECOSYSTEM", ev("introduced", "2.0-beta9", "fixed", "2.15.0"), "pkg:maven/org.apache.logging.log4j/log4j-core",
			[]string{"2.14.1", "2.0", "2.15.0-rc1", "2.0-beta9"}, []string{"2.0-beta8", "2.15.0", "2.17.1", "1.2.17"}, "2.15.0"},
		{"crates.io", "smallvec", "SEMVER", ev("introduced", "0.6.3", "fixed", "0.6.14", "introduced", "1.0.0", "fixed", "1.6.1"), "pkg:cargo/smallvec",
			[]string{"0.6.13", "1.6.0", "1.0.0"}, []string{"0.6.2", "0.6.14", "0.7.0", "1.6.1"}, "0.6.14"},
		{"RubyGems", "rails", "ECOSYSTEM", ev("introduced", "6.0.0", "fixed", "6.0.3.1"), "pkg:gem/rails",
			[]string{"6.0.3", "6.0.0", "6.0.3.1.pre"}, []string{"6.0.0.rc1", "6.0.3.1", "6.1.0"}, "6.0.3.1"},
		{"NuGet", "Newtonsoft.Json", "ECOSYSTEM", ev("introduced", "0", "fixed", "13.0.1"), "pkg:nuget/newtonsoft.json",
			[]string{"12.0.3", "13.0.1-beta1"}, []string{"13.0.1", "13.0.2"}, "13.0.1"},
		{"Packagist", "laravel/framework", "ECOSYSTEM", ev("introduced", "7.0.0", "fixed", "7.30.3"), "pkg:composer/laravel/framework",
			[]string{"7.12.0", "v7.30.2", "7.30.3-beta"}, []string{"6.20.0", "7.30.3", "v8.0.0"}, "7.30.3"},
		{"Debian:11", "openssl", "ECOSYSTEM", ev("introduced", "0", "fixed", "1.1.1n-0+deb11u1"), "pkg:deb/debian/openssl?distro=debian-11",
			[]string{"1.1.1k-1+deb11u2", "1.1.1n-0", "1.1.1n-0~deb11u0"}, []string{"1.1.1n-0+deb11u1", "1.1.1n-0+deb11u3", "1:1.0.0-1"}, "1.1.1n-0+deb11u1"},
		{"Alpine:v3.15", "busybox", "ECOSYSTEM", ev("introduced", "0", "fixed", "1.34.1-r5"), "pkg:apk/alpine/busybox?distro=3.15.4",
			[]string{"1.34.1-r4", "1.34.1_rc1-r9", "1.33.9-r20"}, []string{"1.34.1-r5", "1.34.2-r0", "1.34.1a-r0"}, "1.34.1-r5"},
		{"Red Hat", "openssl", "ECOSYSTEM", ev("introduced", "0", "fixed", "1:1.1.1k-6.el8_5"), "pkg:rpm/redhat/openssl",
			[]string{"1:1.1.1k-5.el8_5", "1:1.1.1g-15.el8_3", "1.1.1z-1"}, []string{"1:1.1.1k-6.el8_5", "1:1.1.1k-7.el8", "2:1.0-1"}, "1:1.1.1k-6.el8_5"},
		{"Bitnami", "activemq", "SEMVER", ev("introduced", "0", "fixed", "5.15.14", "introduced", "5.16.0", "last_affected", "5.16.0"), "pkg:bitnami/activemq",
			[]string{"5.15.13", "5.16.0"}, []string{"5.15.14", "5.16.1", "5.17.0"}, "5.15.14"},
	}
	for _, c := range cases {
		db := New()
		a, warns, err := ParseOSV(osvRec("TEST-"+c.eco, c.eco, c.name, c.typ, c.events), "test")
		if err != nil || len(warns) > 0 {
			t.Fatalf("%s: %v %v", c.eco, err, warns)
		}
		db.Add(a)
		for i, v := range c.in {
			ms := matchPURL(t, db, withVersion(c.purl, v))
			if len(ms) != 1 {
				t.Errorf("%s %s@%s: want affected, got %d matches", c.eco, c.name, v, len(ms))
				continue
			}
			if i == 0 && ms[0].Fixed != c.fixed {
				t.Errorf("%s %s@%s: fixed %q, want %q", c.eco, c.name, v, ms[0].Fixed, c.fixed)
			}
		}
		for _, v := range c.out {
			if ms := matchPURL(t, db, withVersion(c.purl, v)); len(ms) != 0 {
				t.Errorf("%s %s@%s: want not affected", c.eco, c.name, v)
			}
		}
	}
}

func withVersion(purl, v string) string {
	base, q, _ := strings.Cut(purl, "?")
	s := base + "@" + strings.ReplaceAll(v, "+", "%2B")
	if q != "" {
		s += "?" + q
	}
	return s
}

func TestRangeEvents(t *testing.T) {
	db := New()
	// limit: versions at or above it are outside the range.
	a, _, _ := ParseOSV(osvRec("T-LIMIT", "npm", "x", "SEMVER", ev("introduced", "1.0.0", "limit", "2.0.0")), "t")
	db.Add(a)
	// An exact list without ranges.
	b, _, _ := ParseOSV([]byte(`{"id":"T-LIST","affected":[{"package":{"ecosystem":"PyPI","name":"Some_Pkg"},"versions":["0.9","1.0"]}]}`), "t")
	db.Add(b)
	// No ranges and no versions: every version.
	c, _, _ := ParseOSV([]byte(`{"id":"T-ALL","affected":[{"package":{"ecosystem":"npm","name":"evil-pkg"}}]}`), "t")
	db.Add(c)
	// Only a GIT range: nothing an SBOM version can match.
	d, _, _ := ParseOSV([]byte(`{"id":"T-GIT","affected":[{"package":{"ecosystem":"npm","name":"gitonly"},"ranges":[{"type":"GIT","repo":"r","events":[{"introduced":"0"},{"fixed":"abc"}]}]}]}`), "t")
	db.Add(d)
	// The Go standard library, versions written "go1.20.1" in SBOMs.
	g, _, _ := ParseOSV(osvRec("T-STDLIB", "Go", "stdlib", "SEMVER", ev("introduced", "0", "fixed", "1.20.2")), "t")
	db.Add(g)
	// Withdrawn.
	e, _, _ := ParseOSV([]byte(`{"id":"T-WD","withdrawn":"2024-01-01T00:00:00Z","affected":[{"package":{"ecosystem":"npm","name":"evil-pkg"}}]}`), "t")
	db.Add(e)
	for _, c := range []struct {
		purl string
		want []string
	}{
		{"pkg:npm/x@1.5.0", []string{"T-LIMIT"}},
		{"pkg:npm/x@2.0.0", nil},
		{"pkg:npm/x@0.9.0", nil},
		{"pkg:pypi/some-pkg@1.0", []string{"T-LIST"}},
		{"pkg:pypi/some.pkg@0.9", []string{"T-LIST"}},
		{"pkg:pypi/some-pkg@1.1", nil},
		{"pkg:npm/evil-pkg@9.9.9", []string{"T-ALL"}},
		{"pkg:npm/gitonly@1.0.0", nil},
		{"pkg:golang/stdlib@go1.20.1", []string{"T-STDLIB"}},
		{"pkg:golang/stdlib@go1.20.2", nil},
	} {
		var got []string
		for _, m := range matchPURL(t, db, c.purl) {
			got = append(got, m.Advisory.ID)
		}
		if !slices.Equal(got, c.want) {
			t.Errorf("%s: got %v, want %v", c.purl, got, c.want)
		}
	}
}

func TestDistroRelease(t *testing.T) {
	db := New()
	a, _, _ := ParseOSV(osvRec("DSA-1", "Debian:12", "curl", "ECOSYSTEM", ev("introduced", "0", "fixed", "7.88.1-10+deb12u5")), "t")
	db.Add(a)
	if ms := matchPURL(t, db, "pkg:deb/debian/curl@7.74.0-1.3+deb11u1?distro=debian-11"); len(ms) != 0 {
		t.Errorf("Debian 12 advisory matched a Debian 11 package")
	}
	if ms := matchPURL(t, db, "pkg:deb/debian/curl@7.88.1-10?distro=bookworm"); len(ms) != 1 {
		t.Errorf("Debian 12 advisory did not match bookworm")
	}
	if ms := matchPURL(t, db, "pkg:deb/debian/curl@7.88.1-10"); len(ms) != 1 {
		t.Errorf("a package without a release is matched")
	}
}

func TestAliasesMerge(t *testing.T) {
	db := New()
	for _, rec := range []string{
		`{"id":"GHSA-jfh8-c2jp-5v3q","aliases":["CVE-2021-44228"],"summary":"Remote code injection in Log4j","affected":[{"package":{"ecosystem":"Maven","name":"org.apache.logging.log4j:log4j-core"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.0-beta9"},{"fixed":"2.15.0"}]}]}]}`,
		`{"id":"OSV-2021-LOG4J","aliases":["GHSA-jfh8-c2jp-5v3q"],"affected":[{"package":{"ecosystem":"Maven","name":"org.apache.logging.log4j:log4j-core"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"2.0"},{"fixed":"2.16.0"}]}]}]}`,
		`{"id":"GHSA-other","affected":[{"package":{"ecosystem":"Maven","name":"org.apache.logging.log4j:log4j-core"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"2.17.1"}]}]}]}`,
	} {
		a, _, err := ParseOSV([]byte(rec), "t")
		if err != nil {
			t.Fatal(err)
		}
		db.Add(a)
	}
	db.AddKEV([]KEV{{CVE: "CVE-2021-44228", DueDate: "2021-12-24"}})
	db.AddEPSS(map[string]EPSS{"CVE-2021-44228": {Score: 0.97, Percentile: 0.99}})
	gs := GroupMatches(matchPURL(t, db, "pkg:maven/org.apache.logging.log4j/log4j-core@2.14.1"))
	if len(gs) != 2 {
		t.Fatalf("groups: %+v", gs)
	}
	g := gs[0]
	if g.ID != "CVE-2021-44228" || !slices.Equal(g.Aliases, []string{"GHSA-jfh8-c2jp-5v3q", "OSV-2021-LOG4J"}) || g.Fixed != "2.15.0" {
		t.Errorf("group %+v", g)
	}
	in := db.Info(append([]string{g.ID}, g.Aliases...), g.Advisories)
	if in.KEV == nil || in.KEV.DueDate != "2021-12-24" || in.EPSS == nil || in.EPSS.Score != 0.97 || in.Summary != "Remote code injection in Log4j" {
		t.Errorf("info %+v", in)
	}
	if gs[1].ID != "GHSA-other" {
		t.Errorf("second group %+v", gs[1])
	}
}

func TestPreferredID(t *testing.T) {
	for _, c := range []struct {
		ids  []string
		want string
	}{
		{[]string{"GO-2022-0001", "GHSA-aaaa-bbbb-cccc", "CVE-2022-1"}, "CVE-2022-1"},
		{[]string{"CVE-2015-5741", "CVE-2015-5739", "GO-2021-0159"}, "CVE-2015-5739"},
		{[]string{"CVE-2021-10000", "CVE-2021-9999"}, "CVE-2021-9999"},
		{[]string{"PYSEC-2021-1", "GHSA-x"}, "GHSA-x"},
	} {
		if got := PreferredID(c.ids); got != c.want {
			t.Errorf("%v: %s, want %s", c.ids, got, c.want)
		}
	}
}

const cveDoc = `{"dataType":"CVE_RECORD","cveMetadata":{"cveId":"CVE-2099-0001","state":"PUBLISHED"},
"containers":{"cna":{"title":"Overflow in Example Router firmware","metrics":[{"cvssV3_1":{"baseScore":9.8,"vectorString":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:H/I:H/A:H"}}],
"affected":[{"vendor":"example","product":"router_firmware","cpes":["cpe:2.3:o:example:router_firmware:*:*:*:*:*:*:*:*"],
 "versions":[{"version":"2.0","lessThan":"2.4.1","status":"affected","versionType":"custom"},{"version":"3.0","status":"affected"}]},
 {"vendor":"Example","product":"Go Lib","collectionURL":"https://pkg.go.dev","packageName":"example.com/lib","versions":[{"version":"0","lessThan":"1.2.0","status":"affected","versionType":"semver"}]}]},
"adp":[{"cpeApplicability":[{"nodes":[{"operator":"OR","cpeMatch":[{"vulnerable":true,"criteria":"cpe:2.3:a:example:web_ui:*:*:*:*:*:*:*:*","versionStartIncluding":"1.0","versionEndExcluding":"1.5"}]}]}]}]}}`

func TestCVEMatching(t *testing.T) {
	db := New()
	a, warns, err := ParseCVE([]byte(cveDoc), "cve.json")
	if err != nil || len(warns) > 0 {
		t.Fatal(err, warns)
	}
	db.Add(a)
	if a.Severity.Score != 9.8 || a.Summary != "Overflow in Example Router firmware" {
		t.Errorf("advisory %+v", a)
	}
	cpe := func(s string) *Component {
		c, err := pkgid.ParseCPE(s)
		if err != nil {
			t.Fatal(err)
		}
		return &Component{CPEs: []pkgid.CPE{c}}
	}
	for _, c := range []struct {
		cpe   string
		hit   bool
		fixed string
	}{
		{"cpe:2.3:o:example:router_firmware:2.3.9:*:*:*:*:*:*:*", true, "2.4.1"},
		{"cpe:2.3:o:example:router_firmware:2.0:*:*:*:*:*:*:*", true, "2.4.1"},
		{"cpe:2.3:o:example:router_firmware:2.4.1:*:*:*:*:*:*:*", false, ""},
		{"cpe:2.3:o:example:router_firmware:1.9:*:*:*:*:*:*:*", false, ""},
		{"cpe:2.3:o:example:router_firmware:3.0:*:*:*:*:*:*:*", true, ""},
		{"cpe:2.3:a:example:router_firmware:2.3:*:*:*:*:*:*:*", false, ""}, // part a, not o
		{"cpe:/a:example:web_ui:1.4.2", true, "1.5"},
		{"cpe:2.3:a:example:web_ui:1.5:*:*:*:*:*:*:*", false, ""},
	} {
		ms := db.Match(cpe(c.cpe))
		if (len(ms) == 1) != c.hit || c.hit && (ms[0].Via != "cpe" || ms[0].Fixed != c.fixed) {
			t.Errorf("%s: %+v, want hit=%v fixed=%q", c.cpe, ms, c.hit, c.fixed)
		}
	}
	if ms := matchPURL(t, db, "pkg:golang/example.com/lib@v1.1.9"); len(ms) != 1 {
		t.Errorf("CVE package entry (collectionURL pkg.go.dev) did not match")
	}
	if ms := matchPURL(t, db, "pkg:golang/example.com/lib@v1.2.0"); len(ms) != 0 {
		t.Errorf("fixed version matched")
	}
	// A component with an ecosystem purl is not matched by its CPEs.
	id, _, _ := pkgid.Parse("pkg:npm/web-ui@1.4.2")
	c := cpe("cpe:2.3:a:example:web_ui:1.4.2:*:*:*:*:*:*:*")
	c.Package = id
	if ms := db.Match(c); len(ms) != 0 {
		t.Errorf("CPE used beside an ecosystem purl: %+v", ms)
	}
}

func TestKEVAndEPSS(t *testing.T) {
	ks, err := ParseKEV([]byte(`{"catalogVersion":"2025.01.01","vulnerabilities":[{"cveID":"CVE-2021-44228","dateAdded":"2021-12-10","dueDate":"2021-12-24","knownRansomwareCampaignUse":"Known"}]}`))
	if err != nil || len(ks) != 1 || !ks[0].Ransomware || ks[0].DueDate != "2021-12-24" {
		t.Fatalf("%v %+v", err, ks)
	}
	m, err := ParseEPSS(strings.NewReader("#model_version:v2023.03.01,score_date:2024-01-01T00:00:00+0000\ncve,epss,percentile\nCVE-2021-44228,0.97565,0.99996\n"))
	if err != nil || m["CVE-2021-44228"].Score != 0.97565 {
		t.Fatalf("%v %v", err, m)
	}
	_, err = ParseEPSS(strings.NewReader("cve,epss,percentile\nCVE-1,0.5,0.5\nnot-a-cve,1,1\n"))
	if err == nil || !strings.Contains(err.Error(), "line 3") {
		t.Errorf("bad EPSS line: %v", err)
	}
}

func TestFromSTIX(t *testing.T) {
	osv := `{"type":"vulnerability","spec_version":"2.1","id":"vulnerability--6b2b2fb8-8e1f-5a0e-9ef5-1d6b5d8b0001","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z",
	"name":"GO-2024-0001","description":"Panic in parser\n\nDetails.","external_references":[{"source_name":"osv","external_id":"GO-2024-0001"},{"source_name":"cve","external_id":"CVE-2024-0001"},{"source_name":"cwe","external_id":"CWE-20"}],
	"x_mamori_osv_affected":[{"package":{"ecosystem":"Go","name":"example.com/parser"},"ranges":[{"type":"SEMVER","events":[{"introduced":"0"},{"fixed":"1.0.1"}]}]}],
	"x_mamori_osv_severity":[{"type":"CVSS_V3","score":"CVSS:3.1/AV:N/AC:L/PR:N/UI:N/S:U/C:N/I:N/A:H"}]}`
	a, kevs, err := FromSTIX([]byte(osv))
	if err != nil || len(kevs) != 0 {
		t.Fatal(err, kevs)
	}
	if a.ID != "GO-2024-0001" || !slices.Equal(a.Aliases, []string{"CVE-2024-0001"}) || a.Summary != "Panic in parser" || a.Severity.Score != 7.5 || len(a.Affected) != 1 {
		t.Errorf("advisory %+v", a)
	}
	kev := `{"type":"vulnerability","spec_version":"2.1","id":"vulnerability--6b2b2fb8-8e1f-5a0e-9ef5-1d6b5d8b0002","created":"2024-01-01T00:00:00Z","modified":"2024-01-01T00:00:00Z",
	"name":"CVE-2024-0001","labels":["known-exploited"],"external_references":[{"source_name":"cve","external_id":"CVE-2024-0001"}],
	"x_mamori_kev_due_date":"2024-02-01","x_mamori_kev_date_added":"2024-01-11","x_mamori_kev_known_ransomware_campaign_use":"Known"}`
	_, kevs, err = FromSTIX([]byte(kev))
	if err != nil || len(kevs) != 1 || kevs[0].DueDate != "2024-02-01" || !kevs[0].Ransomware {
		t.Errorf("%v %+v", err, kevs)
	}
	db := New()
	db.Add(a)
	if ms := matchPURL(t, db, "pkg:golang/example.com/parser@v1.0.0"); len(ms) != 1 {
		t.Errorf("advisory from a STIX object does not match")
	}
}

func TestLoadErrorsNameTheLine(t *testing.T) {
	db := New()
	data := osvRec("A-1", "npm", "a", "SEMVER", ev("introduced", "0"))
	doc := string(data) + "\n{not json\n" + `{"id":"B-1","affected":[{"package":{"ecosystem":"Debian","name":"b"},"ranges":[{"type":"ECOSYSTEM","events":[{"introduced":"0"},{"fixed":"x:1.0"}]}]}]}` + "\n"
	rep, err := db.Load(strings.NewReader(doc), "feed.jsonl")
	if err != nil {
		t.Fatal(err)
	}
	if rep.Advisories != 2 || len(rep.Warnings) != 2 || !strings.HasPrefix(rep.Warnings[0], "feed.jsonl:2:") || !strings.HasPrefix(rep.Warnings[1], "feed.jsonl:3:") {
		t.Errorf("report %+v", rep)
	}

}
