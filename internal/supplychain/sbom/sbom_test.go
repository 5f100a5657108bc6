package sbom

import (
	"compress/gzip"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func readFixture(t *testing.T, name string) *Document {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	doc, err := ReadBytes(data, name)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return doc
}

func byName(doc *Document, name string) *Component {
	for _, c := range doc.Components {
		if c.Name == name {
			return c
		}
	}
	return nil
}

func hasWarning(doc *Document, loc, substr string) bool {
	for _, w := range doc.Warnings {
		if w.Location == loc && strings.Contains(w.Msg, substr) {
			return true
		}
	}
	return false
}

func TestCycloneDXXML(t *testing.T) {
	doc := readFixture(t, "plant-hmi.cdx.xml")
	if got := doc.Describe(); got != "CycloneDX 1.5 XML" {
		t.Errorf("format %q", got)
	}
	if doc.Root != "hmi" || len(doc.Components) != 5 {
		t.Fatalf("root %q, %d components", doc.Root, len(doc.Components))
	}
	lodash := byName(doc, "lodash")
	if lodash.PURL != "pkg:npm/lodash@4.17.20" || lodash.Depth != 1 || strings.Join(lodash.Path, " > ") != "plant-hmi@2.4.0 > lodash@4.17.20" {
		t.Errorf("lodash: %+v", lodash)
	}
	if lodash.Hashes["sha256"] == "" || lodash.Licenses[0] != "MIT" {
		t.Errorf("lodash hashes %v licences %v", lodash.Hashes, lodash.Licenses)
	}
	log4j := byName(doc, "org.apache.logging.log4j/log4j-core")
	if log4j == nil {
		log4j = byName(doc, "log4j-core")
	}
	if log4j == nil || log4j.ID.Ecosystem != "Maven" || log4j.ID.Name != "org.apache.logging.log4j:log4j-core" || log4j.Depth != 2 {
		t.Errorf("log4j: %+v", log4j)
	}
	if got := strings.Join(log4j.Path, " > "); got != "plant-hmi@2.4.0 > Django@3.2.0 > log4j-core@2.14.1" {
		t.Errorf("log4j path %q", got)
	}
	django := byName(doc, "Django")
	if django.PURL != "pkg:pypi/django@3.2.0" || django.ID.Ecosystem != "PyPI" {
		t.Errorf("django purl %q", django.PURL)
	}
	if !hasWarning(doc, "/bom/components/component[3]/purl", "repaired") {
		t.Errorf("no warning for the non-canonical purl: %v", doc.Warnings)
	}
	if ssl := byName(doc, "openssl"); len(ssl.CPEs) != 1 || ssl.PURL != "" {
		t.Errorf("openssl: %+v", ssl)
	}
	if root := byName(doc, "plant-hmi"); root.Supplier != "Acme Controls" {
		t.Errorf("root supplier %q", root.Supplier)
	}
}

func TestCycloneDXJSONExamples(t *testing.T) {
	doc := readFixture(t, "cyclonedx-laravel-7.12.0.bom.1.4.json")
	if doc.Describe() != "CycloneDX 1.4 JSON" || len(doc.Components) != 63 {
		t.Fatalf("%s, %d components", doc.Describe(), len(doc.Components))
	}
	direct, transitive := 0, 0
	for _, c := range doc.Components {
		if c.ID.Ecosystem != "Packagist" && c.Ref != doc.Root {
			t.Errorf("%s: ecosystem %q", c.PURL, c.ID.Ecosystem)
		}
		switch {
		case c.Depth == 1:
			direct++
		case c.Depth > 1:
			transitive++
		}
	}
	if direct == 0 || transitive == 0 || direct+transitive != 62 {
		t.Errorf("direct %d, transitive %d", direct, transitive)
	}
	doc = readFixture(t, "cyclonedx-proton-bridge-v1.8.0.bom.json")
	if len(doc.Components) != 202 {
		t.Errorf("proton-bridge: %d components", len(doc.Components))
	}
	c := byName(doc, "github.com/ProtonMail/go-crypto")
	if c == nil || c.ID.Ecosystem != "Go" {
		t.Fatalf("go-crypto: %+v", c)
	}
	if len(doc.Warnings) != 0 {
		t.Errorf("mixed-case Go purls are canonicalised without warnings: %v", doc.Warnings[:min(3, len(doc.Warnings))])
	}
}

func TestCycloneDXVEX(t *testing.T) {
	doc := readFixture(t, "cyclonedx-vex-not_affected.json")
	if len(doc.Vulnerabilities) != 1 {
		t.Fatalf("analyses: %+v", doc.Vulnerabilities)
	}
	a := doc.Vulnerabilities[0]
	if a.Vuln != "CVE-2021-44228" || a.State != "not_affected" || a.Justification != "code_not_present" || a.Affects[0] != "product-ABC" {
		t.Errorf("analysis %+v", a)
	}
}

func TestSPDXJSONDeviations(t *testing.T) {
	doc := readFixture(t, "deviations.spdx.json")
	if doc.Describe() != "SPDX 2.3 JSON" || doc.Root != "SPDXRef-firmware" || len(doc.Components) != 5 {
		t.Fatalf("%s root %q %d components", doc.Describe(), doc.Root, len(doc.Components))
	}
	for _, want := range []struct{ loc, msg string }{
		{"$.packages[0].supplier", `read as "Organization: Example Devices KK"`},
		{"$.packages[1].originator", `read as "Person: Jane Doe (jane@example.org)"`},
		{"$.packages[2].externalRefs[0]", "repaired"},
		{"$.packages[3]", "no version"},
		{"$.packages[4].externalRefs[0]", "package URL dropped"},
		{"$.relationships[1].spdxElementId", "SPDXRef- prefix"},
	} {
		if !hasWarning(doc, want.loc, want.msg) {
			t.Errorf("no warning %q at %s; have %v", want.msg, want.loc, doc.Warnings)
		}
	}
	gin := byName(doc, "github.com/gin-gonic/gin")
	if gin.Supplier != "Jane Doe" || gin.Depth != 1 || gin.Hashes["sha1"] != "da39a3ee5e6b4b0d3255bfef95601890afd80709" || gin.Licenses[0] != "MIT" {
		t.Errorf("gin: %+v", gin)
	}
	lp := byName(doc, "left-pad")
	if lp.PURL != "pkg:npm/left-pad@1.3.0" || lp.Depth != 2 {
		t.Errorf("left-pad: %+v", lp)
	}
	if fw := byName(doc, "edge-gateway-firmware"); fw.Supplier != "Example Devices KK" {
		t.Errorf("firmware supplier %q", fw.Supplier)
	}
}

func TestSPDXTagValue(t *testing.T) {
	doc := readFixture(t, "gateway.spdx")
	if doc.Describe() != "SPDX 2.2 tag-value" || doc.Root != "SPDXRef-app" {
		t.Fatalf("%s root %q", doc.Describe(), doc.Root)
	}
	u := byName(doc, "urllib3")
	if u.Depth != 2 || strings.Join(u.Path, " > ") != "gateway-app@3.1 > requests@2.19.0 > urllib3@1.23" || u.Supplier != "urllib3 project" {
		t.Errorf("urllib3: %+v", u)
	}
	if !hasWarning(doc, "line 21", "Person: Kenneth Reitz (me@kennethreitz.org)") {
		t.Errorf("warnings: %v", doc.Warnings)
	}
	if r := byName(doc, "requests"); r.Supplier != "Kenneth Reitz" || r.ID.Key() == "" {
		t.Errorf("requests: %+v", r)
	}
}

// TestBadInput: errors name the file and, where there is one, the location.
func TestBadInput(t *testing.T) {
	cases := []struct {
		name, data, want string
	}{
		{"empty.json", "", "empty.json: empty document"},
		{"other.json", `{"hello": "world"}`, "other.json: not a CycloneDX or SPDX 2 document"},
		{"trunc.cdx.json", "{\"bomFormat\": \"CycloneDX\",\n \"specVersion\": \"1.5\",\n \"components\": [{\"name\": ", "trunc.cdx.json: line 3, column"},
		{"type.cdx.json", "{\"bomFormat\": \"CycloneDX\", \"specVersion\": \"1.5\",\n\"components\": {\"name\": \"x\"}}", "trunc"},
		{"spec.cdx.json", `{"bomFormat": "CycloneDX", "specVersion": "9.9"}`, "spec.cdx.json: $.specVersion: CycloneDX specVersion 9.9"},
		{"broken.xml", "<bom xmlns=\"http://cyclonedx.org/schema/bom/1.4\">\n<components>\n<component>\n</bom>", "broken.xml: line 4"},
		{"old.spdx.json", `{"spdxVersion": "SPDX-1.2", "packages": []}`, `old.spdx.json: $.spdxVersion: SPDX version "SPDX-1.2" is not supported`},
		{"v3.json", `{"@context": "https://spdx.org/rdf/3.0.1/spdx-context.jsonld", "@graph": []}`, "SPDX 3"},
		{"vex.json", `{"@context": "https://openvex.dev/ns/v0.2.0", "statements": []}`, "OpenVEX document"},
		{"bad.spdx", "SPDXVersion: SPDX-2.3\nPackageName: a\nSPDXID: SPDXRef-a\nRelationship: SPDXRef-a DEPENDS_ON\n", "bad.spdx: SPDX tag-value"},
	}
	for _, c := range cases {
		_, err := ReadBytes([]byte(c.data), c.name)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		var se *Error
		if !errors.As(err, &se) || se.File != c.name {
			t.Errorf("%s: error %v does not name the file", c.name, err)
		}
		want := c.want
		if c.name == "type.cdx.json" {
			want = "type.cdx.json: line 2, column"
		}
		if !strings.Contains(err.Error(), want) {
			t.Errorf("%s: error %q, want it to contain %q", c.name, err, want)
		}
	}
}

func sharedDir() string {
	if d := os.Getenv("MAMORI_SHARED"); d != "" {
		return d
	}
	return filepath.Join("..", "..", "..", "..", "shared")
}

// TestRealWorldSBOM reads the grype release SBOM (local data only, never
// committed): SPDX 2.2 with originators not written "Person: …".
func TestRealWorldSBOM(t *testing.T) {
	p := filepath.Join(sharedDir(), "data", "sbom", "real-world", "grype-sbom.spdx.json.gz")
	f, err := os.Open(p)
	if err != nil {
		t.Skipf("shared data absent: %v", err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	doc, err := Read(zr, "grype-sbom.spdx.json")
	if err != nil {
		t.Fatal(err)
	}
	golang := 0
	for _, c := range doc.Components {
		if c.ID.Ecosystem == "Go" {
			golang++
		}
	}
	if len(doc.Components) != 1160 || golang != 1152 {
		t.Errorf("%d components, %d Go", len(doc.Components), golang)
	}
	if !hasWarning(doc, "$.packages[1].originator", "Georg Brandl") {
		t.Errorf("warnings: %v", doc.Warnings)
	}
}
