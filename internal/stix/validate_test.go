package stix

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"testing"
)

const (
	uuid1 = "8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f"
	uuid2 = "44298a74-ba52-4f0c-87a3-1824e67d7fad"
	uuid5 = "28bb3599-77cd-5a82-a950-b5bc3caf07c4"
)

// sdoCommon is the common part of a valid SDO or SRO; %s is its type.
const sdoCommon = `"type": %q, "spec_version": "2.1", "id": "%s--` + uuid1 + `",
	"created": "2016-04-06T20:03:48.000Z", "modified": "2016-04-06T20:03:48.000Z",
	"created_by_ref": "identity--` + uuid2 + `"`

func sdo(typ, rest string) string {
	return "{" + fmt.Sprintf(sdoCommon, typ, typ) + rest + "}"
}

func sco(typ, rest string) string {
	return fmt.Sprintf(`{"type": %q, "spec_version": "2.1", "id": "%s--%s"%s}`, typ, typ, uuid5, rest)
}

// validObjects holds one valid object of every type the specification
// defines, plus the custom forms Validate accepts.
var validObjects = map[string]string{
	"attack-pattern": sdo("attack-pattern", `, "name": "Spear Phishing", "aliases": ["phish"],
		"kill_chain_phases": [{"kill_chain_name": "lockheed-martin-cyber-kill-chain", "phase_name": "delivery"}],
		"external_references": [{"source_name": "capec", "external_id": "CAPEC-163"}]`),
	"campaign": sdo("campaign", `, "name": "Green Group", "first_seen": "2016-01-01T00:00:00Z",
		"last_seen": "2016-01-01T00:00:00Z", "objective": "money"`),
	"course-of-action": sdo("course-of-action", `, "name": "Block port 80"`),
	"grouping": sdo("grouping", `, "context": "suspicious-activity",
		"object_refs": ["indicator--`+uuid1+`", "file--`+uuid5+`"]`),
	"identity": sdo("identity", `, "name": "ACME", "identity_class": "something-new", "sectors": ["technology"],
		"roles": ["CEO"], "contact_information": "x"`),
	"incident": sdo("incident", `, "name": "Incident 43"`),
	"indicator": sdo("indicator", `, "indicator_types": ["malicious-activity"],
		"pattern": "[ file:hashes.'SHA-256' = '4bac27393bdd9777ce02453256c5577cd02275510b2227f473d03f533924f877' ]",
		"pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z", "valid_until": "2016-01-01T00:00:00.001Z"`),
	"infrastructure": sdo("infrastructure", `, "name": "Poison Ivy C2", "infrastructure_types": ["command-and-control"]`),
	"intrusion-set": sdo("intrusion-set", `, "name": "Bobcat Breakin", "goals": ["acquisition-theft"],
		"resource_level": "team", "primary_motivation": "x", "secondary_motivations": ["y"]`),
	"location": sdo("location", `, "latitude": 48.8566, "longitude": 2.3522, "precision": 1000.5, "region": "europe"`),
	"malware": sdo("malware", `, "name": "Cryptolocker", "is_family": true, "malware_types": ["ransomware", "brand-new"],
		"operating_system_refs": ["software--`+uuid5+`"], "sample_refs": ["file--`+uuid5+`", "artifact--`+uuid5+`"],
		"architecture_execution_envs": ["x86"], "implementation_languages": ["rust"], "capabilities": ["evades-av"]`),
	"malware-analysis": sdo("malware-analysis", `, "product": "microsoft", "result": "malicious",
		"analysis_started": "2012-02-11T08:36:14Z", "analysis_ended": "2012-02-11T08:36:14Z",
		"sample_ref": "file--`+uuid5+`", "host_vm_ref": "software--`+uuid5+`",
		"analysis_sco_refs": ["file--`+uuid5+`"]`),
	"note": sdo("note", `, "content": "text", "authors": ["John Doe"], "object_refs": ["campaign--`+uuid1+`"]`),
	"observed-data": sdo("observed-data", `, "first_observed": "2015-12-21T19:00:00Z",
		"last_observed": "2015-12-21T19:00:00Z", "number_observed": 50,
		"object_refs": ["ipv4-addr--`+uuid5+`", "relationship--`+uuid1+`"]`),
	"opinion": sdo("opinion", `, "opinion": "strongly-disagree", "object_refs": ["relationship--`+uuid1+`"]`),
	"report": sdo("report", `, "name": "Report", "published": "2016-01-20T17:00:00.000Z",
		"report_types": ["campaign"], "object_refs": ["indicator--`+uuid1+`"]`),
	"threat-actor": sdo("threat-actor", `, "name": "Evil Org", "threat_actor_types": ["crime-syndicate"],
		"roles": ["director"], "sophistication": "advanced", "personal_motivations": ["revenge"]`),
	"tool": sdo("tool", `, "name": "VNC", "tool_types": ["remote-access"], "tool_version": "1"`),
	"vulnerability": sdo("vulnerability", `, "name": "CVE-2016-1234",
		"external_references": [{"source_name": "cve", "external_id": "CVE-2016-1234"}]`),
	"relationship": sdo("relationship", `, "relationship_type": "uses",
		"source_ref": "intrusion-set--`+uuid1+`", "target_ref": "x-mitre-tactic--`+uuid1+`",
		"start_time": "2016-01-01T00:00:00Z", "stop_time": "2016-01-02T00:00:00Z"`),
	"sighting": sdo("sighting", `, "sighting_of_ref": "indicator--`+uuid1+`", "count": 0,
		"first_seen": "2015-12-21T19:00:00Z", "last_seen": "2015-12-21T19:00:00Z",
		"observed_data_refs": ["observed-data--`+uuid1+`"],
		"where_sighted_refs": ["identity--`+uuid1+`", "location--`+uuid1+`"], "summary": false`),

	"artifact": sco("artifact", `, "mime_type": "application/zip", "payload_bin": "aGVsbG8=",
		"encryption_algorithm": "mime-type-indicated", "decryption_key": "infected"`),
	"autonomous-system": sco("autonomous-system", `, "number": 15139, "name": "Slime Industries", "rir": "ARIN"`),
	"directory": sco("directory", `, "path": "C:\\Windows\\System32", "ctime": "2016-01-01T00:00:00Z",
		"contains_refs": ["file--`+uuid5+`"]`),
	"domain-name": sco("domain-name", `, "value": "example.com", "resolves_to_refs": ["ipv4-addr--`+uuid5+`"]`),
	"email-addr": sco("email-addr", `, "value": "john@example.com", "display_name": "John Doe",
		"belongs_to_ref": "user-account--`+uuid5+`"`),
	"email-message": sco("email-message", `, "is_multipart": true, "date": "1997-11-21T15:55:06Z",
		"from_ref": "email-addr--`+uuid5+`", "to_refs": ["email-addr--`+uuid5+`"], "subject": "Hello",
		"additional_header_fields": {"Reply-To": ["steve@example.com", "jane@example.com"]},
		"body_multipart": [{"content_type": "text/plain", "body": "Cats are funny!"},
			{"content_type": "image/png", "body_raw_ref": "artifact--`+uuid5+`"}]`),
	"file": sco("file", `, "hashes": {"SHA-256": "effb46bba03f6c8aea5c653f9cf984f170dcdd3bbbe2ff6843c3e5da0e698766", "x_foo_hash": "aaa"},
		"size": 25536, "name": "foo.dll", "magic_number_hex": "4d5a", "parent_directory_ref": "directory--`+uuid5+`",
		"extensions": {"ntfs-ext": {"sid": "1234567", "alternate_data_streams": [{"name": "second.stream", "size": 25536}]},
			"windows-pebinary-ext": {"pe_type": "exe", "number_of_sections": 4, "sections": [{"name": ".text", "entropy": 7.1}],
				"optional_header": {"magic_hex": "010b"}},
			"archive-ext": {"contains_refs": ["file--`+uuid5+`"]}}`),
	"ipv4-addr": sco("ipv4-addr", `, "value": "198.51.100.0/24", "belongs_to_refs": ["autonomous-system--`+uuid5+`"]`),
	"ipv6-addr": sco("ipv6-addr", `, "value": "2001:0db8::/96"`),
	"mac-addr":  sco("mac-addr", `, "value": "d2:fb:49:24:37:18"`),
	"mutex":     sco("mutex", `, "name": "__CLEANSWEEP__"`),
	"network-traffic": sco("network-traffic", `, "src_ref": "ipv4-addr--`+uuid5+`", "dst_port": 443,
		"protocols": ["ipv4", "tcp", "http"], "start": "2014-11-30T10:00:00Z", "end": "2014-11-30T10:00:00Z",
		"is_active": false, "ipfix": {"minimumIpTotalLength": 32, "protocolIdentifier": "6"},
		"extensions": {"http-request-ext": {"request_method": "get", "request_value": "/download.html",
			"request_header": {"Accept-Encoding": ["gzip,deflate"]}},
			"socket-ext": {"address_family": "AF_INET", "socket_type": "SOCK_STREAM", "options": {"SO_ACCEPTCONN": 1}},
			"tcp-ext": {"src_flags_hex": "00000002"}, "icmp-ext": {"icmp_type_hex": "08", "icmp_code_hex": "00"}}`),
	"process": sco("process", `, "pid": 1221, "command_line": "./gedit-bin --new-window",
		"image_ref": "file--`+uuid5+`", "environment_variables": {"HOME": "/root"},
		"extensions": {"windows-process-ext": {"aslr_enabled": true, "integrity_level": "high"},
			"windows-service-ext": {"service_name": "sirvizio", "start_type": "SERVICE_AUTO_START",
				"service_type": "SERVICE_WIN32_OWN_PROCESS", "service_status": "SERVICE_RUNNING"}}`),
	"software": sco("software", `, "name": "Word", "cpe": "cpe:2.3:a:microsoft:word:2000:*:*:*:*:*:*:*",
		"languages": ["en", "zh-Hans"], "vendor": "Microsoft", "version": "2002"`),
	"url": sco("url", `, "value": "https://example.com/research/index.html"`),
	"user-account": sco("user-account", `, "user_id": "1001", "account_login": "jdoe", "account_type": "unix",
		"account_created": "2016-01-20T12:31:12Z", "extensions": {"unix-account-ext": {"gid": 1001, "groups": ["wheel"]}}`),
	"windows-registry-key": sco("windows-registry-key", `, "key": "HKEY_LOCAL_MACHINE\\System\\Foo\\Bar",
		"values": [{"name": "Foo", "data": "qwerty", "data_type": "REG_SZ"}]`),
	"x509-certificate": sco("x509-certificate", `, "issuer": "C=ZA, ST=Western Cape", "serial_number": "02:08:87:83",
		"validity_not_before": "2016-03-12T12:00:00Z", "x509_v3_extensions": {"basic_constraints": "critical,CA:TRUE"}}`),

	"marking-definition (statement)": `{"type": "marking-definition", "spec_version": "2.1",
		"id": "marking-definition--` + uuid1 + `", "created": "2016-08-01T00:00:00.000Z",
		"definition_type": "statement", "definition": {"statement": "Copyright 2016, Example Corp"}}`,
	"marking-definition (tlp)": TLP1Amber,
	"marking-definition (extension)": `{"type": "marking-definition", "spec_version": "2.1",
		"id": "marking-definition--` + uuid1 + `", "created": "2022-10-01T00:00:00.000Z", "name": "PAP:GREEN",
		"extensions": {"extension-definition--` + uuid2 + `": {"extension_type": "property-extension", "pap": "green"}}}`,
	"language-content": sdo("language-content", `, "object_ref": "campaign--`+uuid1+`",
		"object_modified": "2017-02-08T21:31:22.007Z",
		"contents": {"de": {"name": "Bank Angriff 1", "aliases": ["", "Zweiter"]}, "fr": {"name": "Attaque"}}`),
	"extension-definition": sdo("extension-definition", `, "name": "Extension Foo", "schema": "https://example.com/schema.json",
		"version": "1.2.1", "extension_types": ["toplevel-property-extension"], "extension_properties": ["toxicity"]`),
	"x- custom type": `{"type": "x-mitre-tactic", "spec_version": "2.1", "id": "x-mitre-tactic--` + uuid1 + `",
		"created": "2017-05-31T21:30:19.735Z", "modified": "2017-05-31T21:30:19.735Z", "x_mitre_shortname": "execution",
		"x_mitre_data_source_ref": "", "x_mitre_contents": [{"object_ref": "attack-pattern--` + uuid1 + `"}]}`,
	"x- custom SCO without created": `{"type": "x-oca-asset", "id": "x-oca-asset--` + uuid5 + `", "hostname": "myhost"}`,
	"new-sdo through an extension": `{"type": "my-favorite-sdo", "spec_version": "2.1", "id": "my-favorite-sdo--` + uuid1 + `",
		"created": "2014-02-20T09:16:08.989Z", "modified": "2014-02-20T09:16:08.989Z", "name": "This is the name",
		"some_property_name1": "value1",
		"extensions": {"extension-definition--` + uuid2 + `": {"extension_type": "new-sdo"}}}`,
	"new-sco through an extension": `{"type": "my-observable", "id": "my-observable--` + uuid5 + `", "value": "x",
		"extensions": {"extension-definition--` + uuid2 + `": {"extension_type": "new-sco"}}}`,
	"granular markings and custom extension": sdo("indicator", `, "name": "Example", "description": "x",
		"pattern": "[ ipv4-addr:value = '198.51.100.1' ]", "pattern_type": "stix", "valid_from": "2016-01-01T00:00:00Z",
		"lang": "en", "confidence": 100, "labels": ["a"], "revoked": false,
		"object_marking_refs": ["marking-definition--`+uuid1+`"],
		"granular_markings": [{"selectors": ["description", "labels.[0]"], "marking_ref": "marking-definition--`+uuid1+`"},
			{"selectors": ["name"], "lang": "de"}],
		"external_references": [{"source_name": "veris", "url": "https://example.com",
			"hashes": {"SHA-256": "6db12788c37247f2316052e142f42f4b259d6561751e5f401a1ae2a6df9c674b"}}],
		"x_acme_score": {"impact": "high", "linked_ref": "campaign--`+uuid1+`", "raw_bin": "AAEC", "flags_hex": "0a0b"},
		"extensions": {"x-acme-ext": {"weight": 1}, "extension-definition--`+uuid2+`": {"extension_type": "property-extension", "rank": 5}}`),
}

func TestValidObjects(t *testing.T) {
	for _, name := range sortedKeys(validObjects) {
		obj := decodeOne(t, validObjects[name])
		if vs := Validate(obj); len(vs) != 0 {
			t.Errorf("%s: unexpected violations:\n%v", name, strings.ReplaceAll(vs.Error(), "; ", "\n"))
		}
	}
	// Every type the specification defines has a valid example above.
	for typ := range typeSpecs {
		if typ == "bundle" {
			continue
		}
		if _, ok := validObjects[typ]; !ok && !strings.HasPrefix(typ, "marking-definition") {
			t.Errorf("no valid example of %s", typ)
		}
	}
}

// mutate decodes one of validObjects and applies f to it.
func mutate(t *testing.T, name string, f func(m map[string]any)) map[string]any {
	t.Helper()
	src, ok := validObjects[name]
	if !ok {
		t.Fatalf("no valid object %q", name)
	}
	m := decodeOne(t, src)
	if f != nil {
		f(m)
	}
	return m
}

func set(kv ...any) func(map[string]any) {
	return func(m map[string]any) {
		for i := 0; i+1 < len(kv); i += 2 {
			k := kv[i].(string)
			if kv[i+1] == nil {
				delete(m, k)
			} else {
				m[k] = raw(kv[i+1])
			}
		}
	}
}

// J marks a test value written as JSON, to be decoded with UseNumber.
type J string

// raw decodes J values; other values are used as they are.
func raw(v any) any {
	s, ok := v.(J)
	if !ok {
		return v
	}
	dec := json.NewDecoder(strings.NewReader(string(s)))
	dec.UseNumber()
	var out any
	if err := dec.Decode(&out); err != nil {
		panic(fmt.Sprintf("bad JSON in test: %s: %v", s, err))
	}
	return out
}

func del(keys ...string) func(map[string]any) {
	return func(m map[string]any) {
		for _, k := range keys {
			delete(m, k)
		}
	}
}

type ruleCase struct {
	name string
	base string
	edit func(map[string]any)
	rule string
	path string
}

// alsoExpected lists, by case name, further violations ("rule path") that
// an edit necessarily causes, for the few rules that cannot be broken alone.
var alsoExpected = map[string][]string{
	"type syntax: upper case":    {"id-syntax $.id"},
	"type syntax: double hyphen": {"id-type-mismatch $.id"},
	"type syntax: too short":     {"id-type-mismatch $.id"},
}

var ruleCases = []ruleCase{
	// Identity of the object.
	{"type missing", "campaign", del("type"), "required", "$.type"},
	{"type not a string", "campaign", set("type", J("7")), "value-type", "$.type"},
	{"type syntax: upper case", "campaign", set("type", "Campaign", "id", "Campaign--"+uuid1), "type-syntax", "$.type"},
	{"type syntax: double hyphen", "campaign", set("type", "x--y"), "type-syntax", "$.type"},
	{"type syntax: too short", "campaign", set("type", "xy"), "type-syntax", "$.type"},
	{"unknown type", "campaign", set("type", "camp", "id", "camp--"+uuid1), "unknown-type", "$.type"},
	{"id missing", "campaign", del("id"), "required", "$.id"},
	{"id not a string", "campaign", set("id", J("12")), "value-type", "$.id"},
	{"id without UUID", "campaign", set("id", "campaign--1234"), "id-syntax", "$.id"},
	{"id with UUID version 0", "campaign", set("id", "campaign--8e2e2d2b-17d4-0cbf-938f-98ee46b3cd3f"), "id-syntax", "$.id"},
	{"id with non-RFC 4122 variant", "campaign", set("id", "campaign--8e2e2d2b-17d4-4cbf-c38f-98ee46b3cd3f"), "id-syntax", "$.id"},
	{"id of another type", "campaign", set("id", "malware--"+uuid1), "id-type-mismatch", "$.id"},
	{"spec_version missing", "campaign", del("spec_version"), "required", "$.spec_version"},
	{"spec_version 2.0", "campaign", set("spec_version", "2.0"), "spec-version", "$.spec_version"},
	{"SCO spec_version wrong", "url", set("spec_version", "2.0"), "spec-version", "$.spec_version"},
	{"extension-defined SDO without spec_version", "new-sdo through an extension", del("spec_version"), "required", "$.spec_version"},

	// Common properties.
	{"created missing", "campaign", del("created"), "required", "$.created"},
	{"modified missing", "relationship", del("modified"), "required", "$.modified"},
	{"marking definition without created", "marking-definition (statement)", del("created"), "required", "$.created"},
	{"created not a timestamp", "campaign", set("created", "2016-04-06 20:03:48"), "timestamp-format", "$.created"},
	{"created with an offset", "campaign", set("created", "2016-04-06T20:03:48.000+01:00"), "timestamp-format", "$.created"},
	{"created without milliseconds", "campaign", set("created", "2016-04-06T20:03:48Z"), "timestamp-precision", "$.created"},
	{"modified before created", "campaign", set("modified", "2016-04-06T20:03:47.999Z"), "timestamp-order", "$.modified"},
	{"created_by_ref to a non-identity", "campaign", set("created_by_ref", "malware--"+uuid1), "ref-target-type", "$.created_by_ref"},
	{"created_by_ref malformed", "campaign", set("created_by_ref", "identity--x"), "ref-syntax", "$.created_by_ref"},
	{"object_marking_refs to an identity", "campaign", set("object_marking_refs", J(`["identity--`+uuid1+`"]`)), "ref-target-type", "$.object_marking_refs[0]"},
	{"object_marking_refs empty", "campaign", set("object_marking_refs", J("[]")), "empty-list", "$.object_marking_refs"},
	{"labels not a list", "campaign", set("labels", "x"), "value-type", "$.labels"},
	{"labels with a number", "campaign", set("labels", J(`["a", 3]`)), "value-type", "$.labels[1]"},
	{"revoked not a boolean", "campaign", set("revoked", "yes"), "value-type", "$.revoked"},
	{"confidence above 100", "campaign", set("confidence", J("101")), "range", "$.confidence"},
	{"confidence fractional", "campaign", set("confidence", J("50.5")), "value-type", "$.confidence"},
	{"lang not RFC 5646", "campaign", set("lang", "en_US"), "language-tag", "$.lang"},
	{"defanged on an SDO", "campaign", set("defanged", J("true")), "not-applicable", "$.defanged"},
	{"reserved property", "campaign", set("severity", "high"), "reserved-property", "$.severity"},
	{"reserved action on course-of-action", "course-of-action", set("action", "x"), "reserved-property", "$.action"},
	{"property name with upper case", "campaign", set("x_Acme", J("1")), "property-name", "$.x_Acme"},
	{"property name too short", "campaign", set("xy", J("1")), "property-name", "$.xy"},
	{"property name with hyphen", "campaign", set("x-acme", J("1")), "property-name", "$['x-acme']"},
	{"property name starting with a digit", "campaign", set("1abc", J("1")), "property-name", "$['1abc']"},
	{"custom _ref not an identifier", "campaign", set("x_acme_ref", "nope"), "ref-syntax", "$.x_acme_ref"},
	{"custom _refs not a list", "campaign", set("x_acme_refs", "campaign--"+uuid1), "value-type", "$.x_acme_refs"},
	{"nested custom _ref", "campaign", set("x_acme", J(`{"a": [{"b_ref": "1"}]}`)), "ref-syntax", "$.x_acme.a[0].b_ref"},
	{"custom _bin not base64", "campaign", set("x_acme_bin", "%%%"), "binary", "$.x_acme_bin"},
	{"custom _hex upper case", "campaign", set("x_acme_hex", "0A"), "hex", "$.x_acme_hex"},

	// External references and kill chain phases.
	{"external reference without source_name", "attack-pattern",
		set("external_references", J(`[{"source_name": "a", "url": "u"}, {"url": "u"}]`)), "required", "$.external_references[1].source_name"},
	{"external reference with only source_name", "attack-pattern",
		set("external_references", J(`[{"source_name": "a"}]`)), "at-least-one", "$.external_references[0]"},
	{"external reference hash outside the vocabulary", "attack-pattern",
		set("external_references", J(`[{"source_name": "a", "url": "u", "hashes": {"sha256": "aa"}}]`)), "hash-key", "$.external_references[0].hashes.sha256"},
	{"CAPEC id malformed", "attack-pattern",
		set("external_references", J(`[{"source_name": "capec", "external_id": "163"}]`)), "external-id-format", "$.external_references[0].external_id"},
	{"CVE id malformed", "vulnerability",
		set("external_references", J(`[{"source_name": "cve", "external_id": "cve-2016-1234"}]`)), "external-id-format", "$.external_references[0].external_id"},
	{"kill chain phase without phase_name", "attack-pattern",
		set("kill_chain_phases", J(`[{"kill_chain_name": "k"}]`)), "required", "$.kill_chain_phases[0].phase_name"},
	{"kill chain phase not an object", "attack-pattern", set("kill_chain_phases", J(`["delivery"]`)), "value-type", "$.kill_chain_phases[0]"},

	// Granular markings.
	{"granular marking without selectors", "granular markings and custom extension",
		set("granular_markings", J(`[{"marking_ref": "marking-definition--`+uuid1+`"}]`)), "required", "$.granular_markings[0].selectors"},
	{"granular marking selecting nothing", "granular markings and custom extension",
		set("granular_markings", J(`[{"selectors": ["labels.[5]"], "marking_ref": "marking-definition--`+uuid1+`"}]`)), "selector", "$.granular_markings[0].selectors[0]"},
	{"granular marking to an identity", "granular markings and custom extension",
		set("granular_markings", J(`[{"selectors": ["name"], "marking_ref": "identity--`+uuid1+`"}]`)), "ref-target-type", "$.granular_markings[0].marking_ref"},
	{"granular marking with neither marking_ref nor lang", "granular markings and custom extension",
		set("granular_markings", J(`[{"selectors": ["name"]}]`)), "at-least-one", "$.granular_markings[0]"},
	{"granular marking with both marking_ref and lang", "granular markings and custom extension",
		set("granular_markings", J(`[{"selectors": ["name"], "lang": "en", "marking_ref": "marking-definition--`+uuid1+`"}]`)),
		"mutually-exclusive", "$.granular_markings[0].lang"},

	// Extensions.
	{"extensions empty", "campaign", set("extensions", J("{}")), "empty-dict", "$.extensions"},
	{"extension key neither id nor -ext", "campaign", set("extensions", J(`{"acme": {"a": 1}}`)), "extension-key", "$.extensions.acme"},
	{"extension-definition key with a bad UUID", "campaign",
		set("extensions", J(`{"extension-definition--1234": {"extension_type": "property-extension"}}`)), "extension-key", "$.extensions['extension-definition--1234']"},
	{"extension without extension_type", "campaign",
		set("extensions", J(`{"extension-definition--`+uuid2+`": {"rank": 1}}`)), "required", "$.extensions['extension-definition--" + uuid2 + "'].extension_type"},
	{"extension_type outside the enumeration", "campaign",
		set("extensions", J(`{"extension-definition--`+uuid2+`": {"extension_type": "new-thing"}}`)), "enum", "$.extensions['extension-definition--" + uuid2 + "'].extension_type"},
	{"extension property name invalid", "campaign",
		set("extensions", J(`{"extension-definition--`+uuid2+`": {"extension_type": "property-extension", "Rank": 1}}`)), "property-name", "$.extensions['extension-definition--" + uuid2 + "'].Rank"},
	{"predefined extension on the wrong type", "url", set("extensions", J(`{"ntfs-ext": {"sid": "1"}}`)), "not-applicable", "$.extensions['ntfs-ext']"},
	{"predefined extension missing a property", "file",
		set("extensions", J(`{"archive-ext": {"comment": "x"}}`)), "required", "$.extensions['archive-ext'].contains_refs"},
	{"predefined extension with no property", "file", set("extensions", J(`{"ntfs-ext": {}}`)), "at-least-one", "$.extensions['ntfs-ext']"},
	{"socket address family outside the enumeration", "network-traffic",
		set("extensions", J(`{"socket-ext": {"address_family": "AF_FOO"}}`)), "enum", "$.extensions['socket-ext'].address_family"},
	{"http request header values not lists", "network-traffic",
		set("extensions", J(`{"http-request-ext": {"request_method": "get", "request_value": "/", "request_header": {"Host": "x"}}}`)),
		"value-type", "$.extensions['http-request-ext'].request_header.Host"},
	{"archive contains a url", "file",
		set("extensions", J(`{"archive-ext": {"contains_refs": ["url--`+uuid5+`"]}}`)), "ref-target-type", "$.extensions['archive-ext'].contains_refs[0]"},

	// SDO-specific rules.
	{"attack-pattern without name", "attack-pattern", del("name"), "required", "$.name"},
	{"campaign last_seen before first_seen", "campaign", set("last_seen", "2015-12-31T23:59:59Z"), "timestamp-order", "$.last_seen"},
	{"grouping without context", "grouping", del("context"), "required", "$.context"},
	{"grouping object_refs empty", "grouping", set("object_refs", J("[]")), "empty-list", "$.object_refs"},
	{"identity identity_class not a string", "identity", set("identity_class", J(`["unknown"]`)), "value-type", "$.identity_class"},
	{"indicator without pattern_type", "indicator", del("pattern_type"), "required", "$.pattern_type"},
	{"indicator valid_until equal to valid_from", "indicator", set("valid_until", "2016-01-01T00:00:00.000Z"), "timestamp-order", "$.valid_until"},
	{"indicator valid_from malformed", "indicator", set("valid_from", "2016-01-01"), "timestamp-format", "$.valid_from"},
	{"infrastructure without name", "infrastructure", del("name"), "required", "$.name"},
	{"location with nothing to locate", "location", del("latitude", "longitude", "precision", "region"), "at-least-one", "$"},
	{"location latitude without longitude", "location", del("longitude", "precision"), "dependency", "$.longitude"},
	{"location latitude out of range", "location", set("latitude", J("90.5")), "range", "$.latitude"},
	{"location latitude as a string", "location", set("latitude", "north"), "value-type", "$.latitude"},
	{"malware without is_family", "malware", del("is_family"), "required", "$.is_family"},
	{"malware family without name", "malware", del("name"), "required", "$.name"},
	{"malware sample_refs to a url", "malware", set("sample_refs", J(`["url--`+uuid5+`"]`)), "ref-target-type", "$.sample_refs[0]"},
	{"malware operating_system_refs to a file", "malware", set("operating_system_refs", J(`["file--`+uuid5+`"]`)), "ref-target-type", "$.operating_system_refs[0]"},
	{"malware-analysis without result or SCOs", "malware-analysis", del("result", "analysis_sco_refs"), "at-least-one", "$"},
	{"malware-analysis sample_ref to a url", "malware-analysis", set("sample_ref", "url--"+uuid5), "ref-target-type", "$.sample_ref"},
	{"note without content", "note", del("content"), "required", "$.content"},
	{"observed-data objects and object_refs", "observed-data",
		set("objects", J(`{"0": {"type": "ipv4-addr", "value": "1.2.3.4"}}`)), "mutually-exclusive", "$.object_refs"},
	{"observed-data neither objects nor object_refs", "observed-data", del("object_refs"), "at-least-one", "$"},
	{"observed-data object_refs to an SDO", "observed-data", set("object_refs", J(`["file--`+uuid5+`", "malware--`+uuid1+`"]`)), "ref-target-type", "$.object_refs[1]"},
	{"observed-data object_refs without an SCO", "observed-data", set("object_refs", J(`["relationship--`+uuid1+`"]`)), "at-least-one", "$.object_refs"},
	{"observed-data number_observed zero", "observed-data", set("number_observed", J("0")), "range", "$.number_observed"},
	{"observed-data last_observed before first_observed", "observed-data", set("last_observed", "2015-12-21T18:59:59Z"), "timestamp-order", "$.last_observed"},
	{"observed-data container object without type", "observed-data",
		set("object_refs", nil, "objects", J(`{"0": {"value": "1.2.3.4"}}`)), "required", "$.objects['0'].type"},
	{"opinion outside the enumeration", "opinion", set("opinion", "meh"), "enum", "$.opinion"},
	{"report without published", "report", del("published"), "required", "$.published"},
	{"threat-actor without name", "threat-actor", del("name"), "required", "$.name"},
	{"tool without name", "tool", del("name"), "required", "$.name"},
	{"vulnerability without name", "vulnerability", del("name"), "required", "$.name"},

	// SRO-specific rules.
	{"relationship without relationship_type", "relationship", del("relationship_type"), "required", "$.relationship_type"},
	{"relationship_type with upper case", "relationship", set("relationship_type", "Uses"), "relationship-type", "$.relationship_type"},
	{"relationship to a marking definition", "relationship", set("target_ref", "marking-definition--"+uuid1), "ref-target-type", "$.target_ref"},
	{"relationship from a sighting", "relationship", set("source_ref", "sighting--"+uuid1), "ref-target-type", "$.source_ref"},
	{"relationship stop_time equal to start_time", "relationship", set("stop_time", "2016-01-01T00:00:00Z"), "timestamp-order", "$.stop_time"},
	{"sighting of an SCO", "sighting", set("sighting_of_ref", "file--"+uuid5), "ref-target-type", "$.sighting_of_ref"},
	{"sighting observed_data_refs to an indicator", "sighting", set("observed_data_refs", J(`["indicator--`+uuid1+`"]`)), "ref-target-type", "$.observed_data_refs[0]"},
	{"sighting where_sighted_refs to a malware", "sighting", set("where_sighted_refs", J(`["malware--`+uuid1+`"]`)), "ref-target-type", "$.where_sighted_refs[0]"},
	{"sighting count negative", "sighting", set("count", J("-1")), "range", "$.count"},
	{"sighting last_seen before first_seen", "sighting", set("last_seen", "2015-12-21T18:00:00Z"), "timestamp-order", "$.last_seen"},

	// SCO-specific rules.
	{"artifact payload_bin and url", "artifact", set("url", "https://example.com/a.zip", "hashes", J(`{"MD5": "3773a88f65a5e780c8dff9cdc3a056f3"}`)), "mutually-exclusive", "$.url"},
	{"artifact url without hashes", "artifact", set("payload_bin", nil, "url", "https://example.com/a.zip"), "dependency", "$.hashes"},
	{"artifact without payload", "artifact", del("payload_bin"), "at-least-one", "$"},
	{"artifact payload_bin not base64", "artifact", set("payload_bin", "not base64!"), "binary", "$.payload_bin"},
	{"artifact encryption algorithm outside the enumeration", "artifact", set("encryption_algorithm", "rot13"), "enum", "$.encryption_algorithm"},
	{"artifact decryption_key without algorithm", "artifact", del("encryption_algorithm"), "dependency", "$.encryption_algorithm"},
	{"autonomous-system without number", "autonomous-system", del("number"), "required", "$.number"},
	{"directory without path", "directory", del("path"), "required", "$.path"},
	{"directory contains a url", "directory", set("contains_refs", J(`["url--`+uuid5+`"]`)), "ref-target-type", "$.contains_refs[0]"},
	{"domain-name resolves to a url", "domain-name", set("resolves_to_refs", J(`["url--`+uuid5+`"]`)), "ref-target-type", "$.resolves_to_refs[0]"},
	{"email-addr without value", "email-addr", del("value"), "required", "$.value"},
	{"email-message without is_multipart", "email-message", del("is_multipart"), "required", "$.is_multipart"},
	{"email-message body while multipart", "email-message", set("body", "x"), "mutually-exclusive", "$.body"},
	{"email-message from_ref to a url", "email-message", set("from_ref", "url--"+uuid5), "ref-target-type", "$.from_ref"},
	{"email MIME part without body", "email-message", set("body_multipart", J(`[{"content_type": "text/plain"}]`)), "at-least-one", "$.body_multipart[0]"},
	{"file without hashes or name", "file", del("hashes", "name"), "at-least-one", "$"},
	{"file MD5 malformed", "file", set("hashes", J(`{"MD5": "zz"}`)), "hash-value", "$.hashes.MD5"},
	{"file hash key too short", "file", set("hashes", J(`{"md": "aa"}`)), "hash-key", "$.hashes.md"},
	{"file size negative", "file", set("size", J("-1")), "range", "$.size"},
	{"file magic number not hex", "file", set("magic_number_hex", "4D5A"), "hex", "$.magic_number_hex"},
	{"file parent_directory_ref to a file", "file", set("parent_directory_ref", "file--"+uuid5), "ref-target-type", "$.parent_directory_ref"},
	{"ipv4-addr value malformed", "ipv4-addr", set("value", "198.51.100.300"), "value-format", "$.value"},
	{"ipv4-addr holding an IPv6 address", "ipv4-addr", set("value", "2001:db8::1"), "value-format", "$.value"},
	{"ipv6-addr value malformed", "ipv6-addr", set("value", "2001:db8::g"), "value-format", "$.value"},
	{"mac-addr upper case", "mac-addr", set("value", "D2:FB:49:24:37:18"), "value-format", "$.value"},
	{"mutex without name", "mutex", del("name"), "required", "$.name"},
	{"network-traffic without protocols", "network-traffic", del("protocols"), "required", "$.protocols"},
	{"network-traffic without src_ref or dst_ref", "network-traffic", del("src_ref"), "at-least-one", "$"},
	{"network-traffic port out of range", "network-traffic", set("dst_port", J("65536")), "range", "$.dst_port"},
	{"network-traffic end while active", "network-traffic", set("is_active", J("true")), "mutually-exclusive", "$.end"},
	{"network-traffic end before start", "network-traffic", set("end", "2014-11-30T09:59:59Z"), "timestamp-order", "$.end"},
	{"network-traffic ipfix value not string or integer", "network-traffic", set("ipfix", J(`{"a": true}`)), "value-type", "$.ipfix.a"},
	{"process with no property", "process", del("pid", "command_line", "image_ref", "environment_variables", "extensions"), "at-least-one", "$"},
	{"process environment variable name with a space", "process", set("environment_variables", J(`{"MY VAR": "1"}`)), "dictionary-key", "$.environment_variables['MY VAR']"},
	{"process integrity level outside the enumeration", "process",
		set("extensions", J(`{"windows-process-ext": {"integrity_level": "ultra"}}`)), "enum", "$.extensions['windows-process-ext'].integrity_level"},
	{"software without name", "software", del("name"), "required", "$.name"},
	{"software language not RFC 5646", "software", set("languages", J(`["english!"]`)), "language-tag", "$.languages[0]"},
	{"url without value", "url", del("value"), "required", "$.value"},
	{"user-account with no property", "user-account", del("user_id", "account_login", "account_type", "account_created", "extensions"), "at-least-one", "$"},
	{"windows-registry-key value datatype outside the enumeration", "windows-registry-key",
		set("values", J(`[{"name": "Foo", "data_type": "REG_FOO"}]`)), "enum", "$.values[0].data_type"},
	{"x509-certificate with no property", "x509-certificate",
		del("issuer", "serial_number", "validity_not_before", "x509_v3_extensions"), "at-least-one", "$"},
	{"defanged not a boolean", "url", set("defanged", J("1")), "value-type", "$.defanged"},

	// Meta objects.
	{"marking definition without definition", "marking-definition (statement)", del("definition"), "required", "$.definition"},
	{"statement marking without statement", "marking-definition (statement)", set("definition", J(`{"text": "x"}`)), "required", "$.definition.statement"},
	{"TLP marking with an unknown level", "marking-definition (tlp)", set("definition", J(`{"tlp": "purple"}`)), "enum", "$.definition.tlp"},
	{"TLP marking with its own id", "marking-definition (tlp)", set("id", "marking-definition--"+uuid1), "tlp-predefined", "$.id"},
	{"marking definition marking itself", "marking-definition (statement)",
		set("object_marking_refs", J(`["marking-definition--`+uuid1+`"]`)), "circular-marking", "$.object_marking_refs[0]"},
	{"language-content without contents", "language-content", del("contents"), "required", "$.contents"},
	{"language-content language key malformed", "language-content", set("contents", J(`{"de DE": {"name": "x"}}`)), "language-tag", "$.contents['de DE']"},
	{"language-content object_ref to a bundle", "language-content", set("object_ref", "bundle--"+uuid1), "ref-target-type", "$.object_ref"},
	{"extension-definition without created_by_ref", "extension-definition", del("created_by_ref"), "required", "$.created_by_ref"},
	{"extension-definition without schema", "extension-definition", del("schema"), "required", "$.schema"},
	{"extension-definition extension type outside the enumeration", "extension-definition",
		set("extension_types", J(`["new-thing"]`), "extension_properties", nil), "enum", "$.extension_types[0]"},
	{"extension-definition properties without toplevel extension", "extension-definition",
		set("extension_types", J(`["property-extension"]`)), "not-applicable", "$.extension_properties"},
}

func TestValidationRules(t *testing.T) {
	seen := map[string]bool{}
	for _, tc := range ruleCases {
		t.Run(tc.name, func(t *testing.T) {
			obj := mutate(t, tc.base, tc.edit)
			vs := Validate(obj)
			want := append([]string{tc.rule + " " + tc.path}, alsoExpected[tc.name]...)
			var got []string
			for _, v := range vs {
				got = append(got, v.Rule+" "+v.Path)
				if id, _ := obj["id"].(string); v.ID != id {
					t.Errorf("violation ID %q, want %q", v.ID, id)
				}
				if v.Msg == "" {
					t.Errorf("empty message in %v", v)
				}
			}
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("want exactly %q, got:\n%s", want, strings.ReplaceAll(vs.Error(), "; ", "\n"))
			}
		})
		seen[tc.rule] = true
	}
	// Every rule the validator can report has at least one row above.
	for _, rule := range allRules {
		if !seen[rule] && rule != "invalid-object" && rule != "pattern" {
			t.Errorf("rule %q has no test case", rule)
		}
	}
}

// allRules lists every rule identifier the validator reports.
var allRules = []string{
	"at-least-one", "binary", "circular-marking", "dependency", "dictionary-key", "empty-dict", "empty-list",
	"enum", "extension-key", "external-id-format", "hash-key", "hash-value", "hex", "id-syntax",
	"id-type-mismatch", "invalid-object", "language-tag", "mutually-exclusive", "not-applicable", "pattern",
	"property-name", "range", "ref-syntax", "ref-target-type", "relationship-type", "required",
	"reserved-property", "selector", "spec-version", "timestamp-format", "timestamp-order",
	"timestamp-precision", "tlp-predefined", "type-syntax", "unknown-type", "value-format", "value-type",
}

// TestAllRulesListed keeps allRules and docs/stix-validation.md in step with
// the rules validate.go reports.
func TestAllRulesListed(t *testing.T) {
	src, err := os.ReadFile("validate.go")
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]bool{}
	for _, m := range regexp.MustCompile(`v\.addf?\([^,]+, "([a-z-]+)"`).FindAllStringSubmatch(string(src), -1) {
		used[m[1]] = true
	}
	for rule := range used {
		if !slices.Contains(allRules, rule) {
			t.Errorf("validate.go reports rule %q, which allRules lacks", rule)
		}
	}
	for _, rule := range allRules {
		if !used[rule] {
			t.Errorf("allRules lists %q, which validate.go never reports", rule)
		}
	}
	doc := readDoc(t, "stix-validation.md")
	for _, rule := range allRules {
		if !strings.Contains(doc, "`"+rule+"`") {
			t.Errorf("docs/stix-validation.md does not describe rule %q", rule)
		}
	}
}

func TestValidateNil(t *testing.T) {
	vs := Validate(nil)
	if len(vs) != 1 || vs[0].Rule != "invalid-object" || vs[0].Path != "$" {
		t.Fatalf("Validate(nil) = %v", vs)
	}
	var v *Validator
	if vs := v.Validate(decodeOne(t, validObjects["campaign"])); len(vs) != 0 {
		t.Fatalf("nil *Validator: %v", vs)
	}
}

func TestValidateCollectsEverything(t *testing.T) {
	obj := mutate(t, "campaign", set("created", "bad", "labels", J("[]"), "confidence", J("-1"), "xy", J("1")))
	vs := Validate(obj)
	got := map[string]string{}
	for _, v := range vs {
		got[v.Path] = v.Rule
	}
	want := map[string]string{
		"$.created": "timestamp-format", "$.labels": "empty-list", "$.confidence": "range", "$.xy": "property-name",
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("got %v, want %v", got, want)
	}
	// Violations come sorted by path, and the result is deterministic.
	for i := 0; i < 20; i++ {
		again := Validate(obj)
		if !reflect.DeepEqual(again, vs) {
			t.Fatalf("non-deterministic result: %v vs %v", again, vs)
		}
	}
	if !slices.IsSortedFunc(vs, func(a, b *Violation) int { return strings.Compare(a.Path, b.Path) }) {
		t.Fatalf("not sorted: %v", vs)
	}
}

func TestValidateIDAsWritten(t *testing.T) {
	obj := mutate(t, "campaign", set("id", "campaign--not-a-uuid", "labels", J("[]")))
	for _, v := range Validate(obj) {
		if v.ID != "campaign--not-a-uuid" {
			t.Errorf("violation %v has ID %q", v, v.ID)
		}
	}
	obj = mutate(t, "campaign", set("id", J("42")))
	for _, v := range Validate(obj) {
		if v.ID != "" {
			t.Errorf("violation %v has ID %q for a non-string id", v, v.ID)
		}
	}
}

func TestOpenVocabulariesAcceptAnything(t *testing.T) {
	for _, tc := range []struct {
		base, prop string
		value      any
	}{
		{"identity", "identity_class", "space-alien"},
		{"identity", "sectors", J(`["quantum-computing"]`)},
		{"malware", "malware_types", J(`["cryptojacker-9000"]`)},
		{"indicator", "pattern_type", "kql"},
		{"grouping", "context", "anything"},
		{"threat-actor", "sophistication", "godlike"},
		{"malware-analysis", "result", "weird"},
		{"location", "region", "atlantis"},
		{"user-account", "account_type", "mastodon"},
	} {
		obj := mutate(t, tc.base, set(tc.prop, tc.value))
		if tc.prop == "pattern_type" {
			obj["pattern"] = "SecurityEvent | where EventID == 4625"
		}
		if vs := Validate(obj); len(vs) != 0 {
			t.Errorf("%s %s=%v: %v", tc.base, tc.prop, tc.value, vs)
		}
	}
}

func TestPatternHook(t *testing.T) {
	errBad := errors.New("unbalanced brackets")
	calls := 0
	v := &Validator{Pattern: func(p string) error {
		calls++
		if strings.Count(p, "[") != strings.Count(p, "]") {
			return errBad
		}
		return nil
	}}
	good := mutate(t, "indicator", nil)
	if vs := v.Validate(good); len(vs) != 0 {
		t.Fatalf("valid pattern: %v", vs)
	}
	bad := mutate(t, "indicator", set("pattern", "[ file:name = 'x' "))
	vs := v.Validate(bad)
	if len(vs) != 1 || vs[0].Rule != "pattern" || vs[0].Path != "$.pattern" || !strings.Contains(vs[0].Msg, errBad.Error()) {
		t.Fatalf("invalid pattern: %v", vs)
	}
	// Other pattern languages are not handed to the hook.
	other := mutate(t, "indicator", set("pattern_type", "yara", "pattern", "rule x { condition: [ }"))
	if vs := v.Validate(other); len(vs) != 0 {
		t.Fatalf("yara pattern: %v", vs)
	}
	if calls != 2 {
		t.Fatalf("hook called %d times, want 2", calls)
	}
	// Without a hook, the STIX pattern is only checked to be a string.
	if vs := Validate(bad); len(vs) != 0 {
		t.Fatalf("zero Validator: %v", vs)
	}
}

func TestCustomTypes(t *testing.T) {
	// An undeclared type that does not start with x- is reported, and its
	// other properties are still checked.
	obj := decodeOne(t, `{"type": "acme-thing", "spec_version": "2.1", "id": "acme-thing--`+uuid1+`", "labels": []}`)
	vs := Validate(obj)
	rules := map[string]string{}
	for _, v := range vs {
		rules[v.Path] = v.Rule
	}
	if rules["$.type"] != "unknown-type" || rules["$.labels"] != "empty-list" || len(vs) != 2 {
		t.Fatalf("got %v", vs)
	}
	// A declared new-sdo needs the SDO common properties.
	obj = mutate(t, "new-sdo through an extension", del("created"))
	if vs := Validate(obj); len(vs) != 1 || vs[0].Path != "$.created" {
		t.Fatalf("new-sdo without created: %v", vs)
	}
}

// TestValidateNeverPanics replaces every property of every valid object with
// values of every JSON type, and nests values deeply.
func TestValidateNeverPanics(t *testing.T) {
	weird := []any{
		nil, true, false, "", "x", json.Number("1e999"), json.Number("-0"), json.Number("1.5"), json.Number("nope"),
		float64(3), []any{}, []any{nil}, []any{[]any{}}, map[string]any{}, map[string]any{"": nil},
		map[string]any{"x": []any{map[string]any{}}}, []any{"a", 1.5, map[string]any{"selectors": nil}},
		1, int64(-1), uint(7), struct{}{}, []string{"a"}, map[string]string{"a": "b"},
	}
	deep := any("leaf")
	for i := 0; i < 5000; i++ {
		if i%2 == 0 {
			deep = []any{deep}
		} else {
			deep = map[string]any{"x_ref": deep, "y": deep}
		}
		if i > 50 {
			// Keep the fan-out bounded.
			deep = map[string]any{"z": deep}
		}
	}
	weird = append(weird, deep)
	for _, name := range sortedKeys(validObjects) {
		base := decodeOne(t, validObjects[name])
		for k := range base {
			for _, w := range weird {
				obj := decodeOne(t, validObjects[name])
				obj[k] = w
				_ = Validate(obj)
				obj[k+"_ref"] = w
				obj["extensions"] = map[string]any{"ntfs-ext": w, "extension-definition--" + uuid2: w, "x-ext": w}
				obj["granular_markings"] = []any{map[string]any{"selectors": []any{"extensions.ntfs-ext", "[0]", "a.[x]", ".", w}}, w}
				_ = Validate(obj)
			}
		}
	}
}

// FuzzValidate decodes arbitrary bytes as one object and validates it: the
// validator must never panic and must always report well-formed violations.
func FuzzValidate(f *testing.F) {
	for _, name := range sortedKeys(validObjects) {
		f.Add([]byte(validObjects[name]))
	}
	for _, tc := range ruleCases {
		obj := decodeOne(f, validObjects[tc.base])
		tc.edit(obj)
		b, err := json.Marshal(obj)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte(`{"type":"bundle","id":"bundle--` + uuid1 + `","objects":[1]}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		dec := json.NewDecoder(strings.NewReader(string(data)))
		dec.UseNumber()
		var obj map[string]any
		if err := dec.Decode(&obj); err != nil {
			return
		}
		vs := Validate(obj)
		id, _ := obj["id"].(string)
		for _, v := range vs {
			if v == nil || v.Rule == "" || v.Msg == "" || !strings.HasPrefix(v.Path, "$") || v.ID != id {
				t.Fatalf("malformed violation %#v", v)
			}
		}
		_ = v2(obj)
	})
}

// v2 runs the other entry points on fuzzed input too; none may panic.
func v2(obj map[string]any) error {
	c := copyJSON(obj).(map[string]any)
	Upgrade20(c)
	_ = Validate(c)
	_, err := SCOID(obj)
	_, _ = Canonicalize(obj)
	return err
}
