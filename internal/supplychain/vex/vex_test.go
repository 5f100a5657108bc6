package vex

import (
	"os"
	"path/filepath"
	"testing"
)

func TestOpenVEX(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "testdata", "vendor.openvex.json"))
	if err != nil {
		t.Fatal(err)
	}
	sts, warns, err := Read(data, "vendor.openvex.json")
	if err != nil || len(warns) != 0 {
		t.Fatal(err, warns)
	}
	// One statement per vulnerability id: the name and each alias.
	if len(sts) != 3 {
		t.Fatalf("%+v", sts)
	}
	s := sts[0]
	if s.Vuln != "CVE-2021-44228" || s.Status != "not_affected" || s.Product != "pkg:generic/plant-hmi@2.4.0" ||
		len(s.Subcomponents) != 1 || s.Justification != "vulnerable_code_not_in_execute_path" || s.Timestamp.IsZero() || s.Source != "vendor.openvex.json" {
		t.Errorf("statement %+v", s)
	}
	if sts[1].Vuln != "GHSA-jfh8-c2jp-5v3q" || sts[2].Status != "under_investigation" {
		t.Errorf("statements %+v", sts[1:])
	}
	if !PurlMatches("pkg:npm/lodash", "pkg:npm/lodash@4.17.20") || PurlMatches("pkg:npm/lodash@4.17.21", "pkg:npm/lodash@4.17.20") {
		t.Errorf("purl matching")
	}
}

func TestCycloneDXVEX(t *testing.T) {
	data, _ := os.ReadFile(filepath.Join("..", "testdata", "cyclonedx-vex-not_affected.json"))
	sts, _, err := Read(data, "cdx.json")
	if err != nil || len(sts) != 1 || sts[0].Status != "not_affected" || sts[0].Product != "product-ABC" {
		t.Fatalf("%v %+v", err, sts)
	}
	if _, _, err := Read([]byte(`{"spdxVersion":"SPDX-2.3","SPDXID":"SPDXRef-DOCUMENT","name":"x","dataLicense":"CC0-1.0","documentNamespace":"x","creationInfo":{"created":"2026-01-01T00:00:00Z","creators":["Tool: x"]}}`), "spdx.json"); err == nil {
		t.Errorf("SPDX accepted as VEX")
	}
	if _, _, err := Read([]byte(`{"@context": "https://openvex.dev/ns/v0.2.0", "statements": "nope"}`), "bad.json"); err == nil {
		t.Errorf("malformed OpenVEX accepted")
	}
}
