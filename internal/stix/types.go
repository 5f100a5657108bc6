package stix

import "slices"

// This file holds the tables that drive validation: the object types STIX 2.1
// defines, their categories, the properties each one defines with the kind of
// value each takes, which of them are required, which references are
// restricted to which target types, the closed enumerations, the predefined
// SCO extensions and the ID contributing properties used for deterministic
// SCO identifiers. Section numbers refer to STIX Version 2.1 (OASIS Standard,
// with Errata 01).

// category is the kind of STIX object a type belongs to.
type category uint8

const (
	catUnknown   category = iota
	catSDO                // STIX Domain Object (section 4)
	catSRO                // STIX Relationship Object (section 5)
	catSCO                // STIX Cyber-observable Object (section 6)
	catMarking            // marking-definition (section 7.2.1)
	catLanguage           // language-content (section 7.1)
	catExtension          // extension-definition (section 7.3)
	catBundle             // bundle (section 8)
)

func (c category) String() string {
	switch c {
	case catSDO:
		return "SDO"
	case catSRO:
		return "SRO"
	case catSCO:
		return "SCO"
	case catMarking:
		return "marking definition"
	case catLanguage:
		return "language content"
	case catExtension:
		return "extension definition"
	case catBundle:
		return "bundle"
	}
	return "unknown"
}

// catMask is a set of categories.
type catMask uint16

func (m catMask) has(c category) bool { return m&(1<<c) != 0 }

func catSet(cs ...category) catMask {
	var m catMask
	for _, c := range cs {
		m |= 1 << c
	}
	return m
}

// targets restricts the object types an identifier reference may point to.
// A nil *targets means any STIX object.
type targets struct {
	types  []string // spec-defined types that are allowed
	cats   catMask  // categories whose spec-defined types are allowed
	custom bool     // whether types the specification does not define are allowed
	desc   string   // description for messages, such as "identity"
}

func (t *targets) allows(typ string) bool {
	if t == nil {
		return true
	}
	spec, known := typeSpecs[typ]
	if !known {
		return t.custom
	}
	for _, a := range t.types {
		if a == typ {
			return true
		}
	}
	return t.cats.has(spec.cat)
}

func onlyTypes(types ...string) *targets {
	d := ""
	for i, t := range types {
		switch {
		case i == 0:
		case i == len(types)-1:
			d += " or "
		default:
			d += ", "
		}
		d += t
	}
	return &targets{types: types, desc: d}
}

var (
	toIdentity         = onlyTypes("identity")
	toMarking          = onlyTypes("marking-definition")
	toSoftware         = onlyTypes("software")
	toFileOrArtifact   = onlyTypes("file", "artifact")
	toObservedData     = onlyTypes("observed-data")
	toIdentityLocation = onlyTypes("identity", "location")
	toSDOorSCO         = &targets{cats: catSet(catSDO, catSCO), custom: true, desc: "an SDO or SCO (not an SRO, marking definition, language content, extension definition or bundle)"}
	toSDO              = &targets{cats: catSet(catSDO), custom: true, desc: "an SDO"}
	toSCO              = &targets{cats: catSet(catSCO), custom: true, desc: "an SCO"}
	toSCOorSRO         = &targets{cats: catSet(catSCO, catSRO), custom: true, desc: "an SCO or SRO"}
	toSTIXObject       = &targets{cats: catSet(catSDO, catSRO, catSCO, catMarking, catLanguage, catExtension), custom: true, desc: "a STIX object (not a bundle)"}
)

// kind is the kind of value a property takes.
type kind uint8

const (
	kAny              kind = iota
	kString                // string
	kBool                  // boolean
	kInteger               // integer, optionally range-checked
	kNumber                // float, optionally range-checked
	kTimestamp             // timestamp (section 2.16)
	kRef                   // identifier reference, optionally type-restricted
	kRefList               // non-empty list of identifier references
	kStringList            // non-empty list of strings
	kEnum                  // string from a closed enumeration
	kEnumList              // non-empty list of strings from a closed enumeration
	kVocab                 // open vocabulary: any string
	kVocabList             // non-empty list of open vocabulary strings
	kKillChainPhases       // non-empty list of kill-chain-phase
	kExternalRefs          // non-empty list of external-reference
	kGranularMarkings      // non-empty list of granular-marking
	kExtensions            // extensions dictionary
	kHashes                // hashes dictionary
	kDict                  // dictionary with values of kind elem
	kHex                   // hex string
	kBinary                // base64 string
	kLangTag               // RFC 5646 language tag
	kLangTagList           // non-empty list of RFC 5646 language tags
	kObject                // object with the given shape
	kObjectList            // non-empty list of objects with the given shape
	kStringOrInt           // string or integer (dictionary values)
	kContainer             // deprecated observable container (section 2.13)
	kReserved              // a reserved name (section 3.8), in lookup tables only
)

// prop describes one property.
type prop struct {
	kind     kind
	targets  *targets        // kRef, kRefList
	enum     map[string]bool // kEnum, kEnumList
	enumName string          // name of the enumeration, for messages
	hasRange bool
	min, max float64   // kInteger, kNumber when hasRange
	elem     kind      // kDict: kind of the values
	shape    *typeSpec // kObject, kObjectList
	ms       bool      // kTimestamp: at least millisecond precision required
}

func pString() prop { return prop{kind: kString} }
func pBool() prop   { return prop{kind: kBool} }
func pInt() prop    { return prop{kind: kInteger} }
func pNonNeg() prop { return prop{kind: kInteger, hasRange: true, min: 0, max: maxSafeInteger} }
func pIntRange(lo, hi float64) prop {
	return prop{kind: kInteger, hasRange: true, min: lo, max: hi}
}
func pNumber() prop                 { return prop{kind: kNumber} }
func pNumRange(lo, hi float64) prop { return prop{kind: kNumber, hasRange: true, min: lo, max: hi} }
func pTime() prop                   { return prop{kind: kTimestamp} }
func pRef(t *targets) prop          { return prop{kind: kRef, targets: t} }
func pRefs(t *targets) prop         { return prop{kind: kRefList, targets: t} }
func pStrings() prop                { return prop{kind: kStringList} }
func pVocab() prop                  { return prop{kind: kVocab} }
func pVocabs() prop                 { return prop{kind: kVocabList} }
func pHashes() prop                 { return prop{kind: kHashes} }
func pHex() prop                    { return prop{kind: kHex} }
func pBinary() prop                 { return prop{kind: kBinary} }
func pDict(elem kind) prop          { return prop{kind: kDict, elem: elem} }
func pObject(shape *typeSpec) prop  { return prop{kind: kObject, shape: shape} }
func pObjects(shape *typeSpec) prop { return prop{kind: kObjectList, shape: shape} }

func pEnum(name string, values ...string) prop {
	m := make(map[string]bool, len(values))
	for _, v := range values {
		m[v] = true
	}
	return prop{kind: kEnum, enum: m, enumName: name}
}

func pEnumList(name string, values ...string) prop {
	p := pEnum(name, values...)
	p.kind = kEnumList
	return p
}

// maxSafeInteger is the largest integer STIX allows (section 2.10: a signed
// 54-bit value).
const maxSafeInteger = 1<<53 - 1

// orderRule states that the timestamp in later must not be earlier than (or,
// when strict, must be later than) the timestamp in earlier.
type orderRule struct {
	earlier, later string
	strict         bool
}

// checkKind selects a type-specific check implemented in validate.go.
type checkKind uint8

const (
	chkNone checkKind = iota
	chkIndicator
	chkLocation
	chkMalware
	chkObservedData
	chkRelationship
	chkEmailMessage
	chkIPValue
	chkMACValue
	chkNetworkTraffic
	chkMarkingDefinition
	chkLanguageContent
	chkExtensionDefinition
	chkBundle
)

// dependency states that when if is present, then must be present too.
type dependency struct{ ifPresent, then string }

// typeSpec describes one object type (or one predefined extension).
type typeSpec struct {
	name       string
	cat        category
	props      map[string]prop
	required   []string
	order      []orderRule
	atLeastOne [][]string  // each group: at least one of these must be present
	exclusive  [][2]string // pairs that must not both be present
	depends    []dependency
	check      checkKind // type-specific checks beyond the table
	// idContrib lists the ID contributing properties of an SCO type, in the
	// order the specification lists them (section 6).
	idContrib []string
	// hasIDContrib is false for SCO types that define no ID contributing
	// properties (process), whose identifiers are always UUIDv4.
	hasIDContrib bool
	// lookup merges props, the common properties and the reserved names,
	// so that validation needs one map lookup per property.
	lookup map[string]*prop
}

// commonLookup is the lookup table of types the specification does not
// define: common properties and reserved names.
var commonLookup map[string]*prop

// buildLookup merges the tables a top-level object type is checked against.
func buildLookup(props map[string]prop) map[string]*prop {
	m := make(map[string]*prop, len(commonProps)+len(props)+len(reservedProperties))
	for k, p := range commonProps {
		m[k] = &p
	}
	for k, p := range props {
		m[k] = &p
	}
	for k := range reservedProperties {
		m[k] = &prop{kind: kReserved}
	}
	return m
}

// Closed enumerations (section 10).
var (
	extensionTypeEnum = pEnum("extension-type-enum",
		"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension")
	encryptionAlgorithmEnum = pEnum("encryption-algorithm-enum",
		"AES-256-GCM", "ChaCha20-Poly1305", "mime-type-indicated")
	opinionEnum = pEnum("opinion-enum",
		"strongly-disagree", "disagree", "neutral", "agree", "strongly-agree")
	socketAddressFamilyEnum = pEnum("network-socket-address-family-enum",
		"AF_UNSPEC", "AF_INET", "AF_IPX", "AF_APPLETALK", "AF_NETBIOS", "AF_INET6", "AF_IRDA", "AF_BTH")
	socketTypeEnum = pEnum("network-socket-type-enum",
		"SOCK_STREAM", "SOCK_DGRAM", "SOCK_RAW", "SOCK_RDM", "SOCK_SEQPACKET")
	integrityLevelEnum   = pEnum("windows-integrity-level-enum", "low", "medium", "high", "system")
	registryDatatypeEnum = pEnum("windows-registry-datatype-enum",
		"REG_NONE", "REG_SZ", "REG_EXPAND_SZ", "REG_BINARY", "REG_DWORD", "REG_DWORD_BIG_ENDIAN",
		"REG_DWORD_LITTLE_ENDIAN", "REG_LINK", "REG_MULTI_SZ", "REG_RESOURCE_LIST",
		"REG_FULL_RESOURCE_DESCRIPTION", "REG_RESOURCE_REQUIREMENTS_LIST", "REG_QWORD", "REG_INVALID_TYPE")
	serviceStartTypeEnum = pEnum("windows-service-start-type-enum",
		"SERVICE_AUTO_START", "SERVICE_BOOT_START", "SERVICE_DEMAND_START", "SERVICE_DISABLED", "SERVICE_SYSTEM_ALERT")
	serviceTypeEnum = pEnum("windows-service-type-enum",
		"SERVICE_KERNEL_DRIVER", "SERVICE_FILE_SYSTEM_DRIVER", "SERVICE_WIN32_OWN_PROCESS", "SERVICE_WIN32_SHARE_PROCESS")
	serviceStatusEnum = pEnum("windows-service-status-enum",
		"SERVICE_CONTINUE_PENDING", "SERVICE_PAUSE_PENDING", "SERVICE_PAUSED", "SERVICE_RUNNING",
		"SERVICE_START_PENDING", "SERVICE_STOP_PENDING", "SERVICE_STOPPED")
)

// hashAlgorithms is hash-algorithm-ov (section 10.7). It is an open
// vocabulary, but external references must take their hash keys from it.
var hashAlgorithms = map[string]bool{
	"MD5": true, "SHA-1": true, "SHA-256": true, "SHA-512": true,
	"SHA3-256": true, "SHA3-512": true, "SSDEEP": true, "TLSH": true,
}

// hashHexLength is the length in hex digits of the hash algorithms whose
// values have a fixed hexadecimal form.
var hashHexLength = map[string]int{
	"MD5": 32, "SHA-1": 40, "SHA-256": 64, "SHA-512": 128, "SHA3-256": 64, "SHA3-512": 128,
}

// reservedProperties may not appear in any STIX content (section 3.8). The
// specification lists phone_number; its JSON schemas list phone_numbers, so
// both are rejected.
var reservedProperties = map[string]bool{
	"severity": true, "username": true, "phone_number": true, "phone_numbers": true, "action": true,
}

// Common properties of SDOs, SROs and most meta objects (section 3.2). The
// created and modified timestamps need millisecond precision.
var commonProps = map[string]prop{
	"created_by_ref":      pRef(toIdentity),
	"created":             {kind: kTimestamp, ms: true},
	"modified":            {kind: kTimestamp, ms: true},
	"revoked":             pBool(),
	"labels":              pStrings(),
	"confidence":          pIntRange(0, 100),
	"lang":                {kind: kLangTag},
	"external_references": {kind: kExternalRefs},
	"object_marking_refs": pRefs(toMarking),
	"granular_markings":   {kind: kGranularMarkings},
	"defanged":            pBool(),
	"extensions":          {kind: kExtensions},
}

// typeSpecs holds every object type the specification defines.
var typeSpecs map[string]*typeSpec

// extensionSpecs holds the predefined SCO extensions by key (sections 6.7,
// 6.12, 6.13, 6.16); owner is the only type that may carry each one.
var extensionSpecs map[string]*typeSpec

func init() {
	typeSpecs = make(map[string]*typeSpec)
	for _, s := range sdoSpecs() {
		s.cat = catSDO
		typeSpecs[s.name] = s
	}
	for _, s := range sroSpecs() {
		s.cat = catSRO
		typeSpecs[s.name] = s
	}
	for _, s := range scoSpecs() {
		s.cat = catSCO
		s.hasIDContrib = len(s.idContrib) > 0
		typeSpecs[s.name] = s
	}
	for _, s := range metaSpecs() {
		typeSpecs[s.name] = s
	}
	for _, s := range typeSpecs {
		s.lookup = buildLookup(s.props)
	}
	commonLookup = buildLookup(nil)
	extensionSpecs = make(map[string]*typeSpec)
	for _, s := range predefinedExtensionSpecs() {
		extensionSpecs[s.name] = s
	}
}

func seenPair(first, last string) []orderRule {
	return []orderRule{{earlier: first, later: last}}
}

func sdoSpecs() []*typeSpec {
	killChain := prop{kind: kKillChainPhases}
	return []*typeSpec{
		{name: "attack-pattern", props: map[string]prop{
			"name": pString(), "description": pString(), "aliases": pStrings(), "kill_chain_phases": killChain,
		}, required: []string{"name"}},
		{name: "campaign", props: map[string]prop{
			"name": pString(), "description": pString(), "aliases": pStrings(),
			"first_seen": pTime(), "last_seen": pTime(), "objective": pString(),
		}, required: []string{"name"}, order: seenPair("first_seen", "last_seen")},
		{name: "course-of-action", props: map[string]prop{
			"name": pString(), "description": pString(),
		}, required: []string{"name"}},
		{name: "grouping", props: map[string]prop{
			"name": pString(), "description": pString(), "context": pVocab(), "object_refs": pRefs(nil),
		}, required: []string{"context", "object_refs"}},
		{name: "identity", props: map[string]prop{
			"name": pString(), "description": pString(), "roles": pStrings(), "identity_class": pVocab(),
			"sectors": pVocabs(), "contact_information": pString(),
		}, required: []string{"name"}},
		{name: "incident", props: map[string]prop{
			"name": pString(), "description": pString(),
		}, required: []string{"name"}},
		{name: "indicator", props: map[string]prop{
			"name": pString(), "description": pString(), "indicator_types": pVocabs(), "pattern": pString(),
			"pattern_type": pVocab(), "pattern_version": pString(), "valid_from": pTime(), "valid_until": pTime(),
			"kill_chain_phases": killChain,
		}, required: []string{"pattern", "pattern_type", "valid_from"},
			order: []orderRule{{earlier: "valid_from", later: "valid_until", strict: true}},
			check: chkIndicator},
		{name: "infrastructure", props: map[string]prop{
			"name": pString(), "description": pString(), "infrastructure_types": pVocabs(), "aliases": pStrings(),
			"kill_chain_phases": killChain, "first_seen": pTime(), "last_seen": pTime(),
		}, required: []string{"name"}, order: seenPair("first_seen", "last_seen")},
		{name: "intrusion-set", props: map[string]prop{
			"name": pString(), "description": pString(), "aliases": pStrings(), "first_seen": pTime(), "last_seen": pTime(),
			"goals": pStrings(), "resource_level": pVocab(), "primary_motivation": pVocab(),
			"secondary_motivations": pVocabs(),
		}, required: []string{"name"}, order: seenPair("first_seen", "last_seen")},
		{name: "location", props: map[string]prop{
			"name": pString(), "description": pString(), "latitude": pNumRange(-90, 90),
			"longitude": pNumRange(-180, 180), "precision": pNumber(), "region": pVocab(), "country": pString(),
			"administrative_area": pString(), "city": pString(), "street_address": pString(), "postal_code": pString(),
		}, check: chkLocation},
		{name: "malware", props: map[string]prop{
			"name": pString(), "description": pString(), "malware_types": pVocabs(), "is_family": pBool(),
			"aliases": pStrings(), "kill_chain_phases": killChain, "first_seen": pTime(), "last_seen": pTime(),
			"operating_system_refs": pRefs(toSoftware), "architecture_execution_envs": pVocabs(),
			"implementation_languages": pVocabs(), "capabilities": pVocabs(),
			"sample_refs": pRefs(toFileOrArtifact),
		}, required: []string{"is_family"}, order: seenPair("first_seen", "last_seen"), check: chkMalware},
		{name: "malware-analysis", props: map[string]prop{
			"product": pString(), "version": pString(), "host_vm_ref": pRef(toSoftware),
			"operating_system_ref": pRef(toSoftware), "installed_software_refs": pRefs(toSoftware),
			"configuration_version": pString(), "modules": pStrings(), "analysis_engine_version": pString(),
			"analysis_definition_version": pString(), "submitted": pTime(), "analysis_started": pTime(),
			"analysis_ended": pTime(), "result_name": pString(), "result": pVocab(),
			"analysis_sco_refs": pRefs(toSCO), "sample_ref": pRef(onlyTypes("file", "network-traffic", "artifact")),
		}, required: []string{"product"}, atLeastOne: [][]string{{"result", "analysis_sco_refs"}}},
		{name: "note", props: map[string]prop{
			"abstract": pString(), "content": pString(), "authors": pStrings(), "object_refs": pRefs(nil),
		}, required: []string{"content", "object_refs"}},
		{name: "observed-data", props: map[string]prop{
			"first_observed": pTime(), "last_observed": pTime(), "number_observed": pIntRange(1, 999999999),
			"objects": {kind: kContainer}, "object_refs": pRefs(toSCOorSRO),
		}, required: []string{"first_observed", "last_observed", "number_observed"},
			order:      seenPair("first_observed", "last_observed"),
			atLeastOne: [][]string{{"objects", "object_refs"}},
			exclusive:  [][2]string{{"objects", "object_refs"}},
			check:      chkObservedData},
		{name: "opinion", props: map[string]prop{
			"explanation": pString(), "authors": pStrings(), "opinion": opinionEnum, "object_refs": pRefs(nil),
		}, required: []string{"opinion", "object_refs"}},
		{name: "report", props: map[string]prop{
			"name": pString(), "description": pString(), "report_types": pVocabs(), "published": pTime(),
			"object_refs": pRefs(nil),
		}, required: []string{"name", "published", "object_refs"}},
		{name: "threat-actor", props: map[string]prop{
			"name": pString(), "description": pString(), "threat_actor_types": pVocabs(), "aliases": pStrings(),
			"first_seen": pTime(), "last_seen": pTime(), "roles": pVocabs(), "goals": pStrings(),
			"sophistication": pVocab(), "resource_level": pVocab(), "primary_motivation": pVocab(),
			"secondary_motivations": pVocabs(), "personal_motivations": pVocabs(),
		}, required: []string{"name"}, order: seenPair("first_seen", "last_seen")},
		{name: "tool", props: map[string]prop{
			"name": pString(), "description": pString(), "tool_types": pVocabs(), "aliases": pStrings(),
			"kill_chain_phases": killChain, "tool_version": pString(),
		}, required: []string{"name"}},
		{name: "vulnerability", props: map[string]prop{
			"name": pString(), "description": pString(),
		}, required: []string{"name"}},
	}
}

func sroSpecs() []*typeSpec {
	return []*typeSpec{
		{name: "relationship", props: map[string]prop{
			"relationship_type": pString(), "description": pString(), "source_ref": pRef(toSDOorSCO),
			"target_ref": pRef(toSDOorSCO), "start_time": pTime(), "stop_time": pTime(),
		}, required: []string{"relationship_type", "source_ref", "target_ref"},
			order: []orderRule{{earlier: "start_time", later: "stop_time", strict: true}},
			check: chkRelationship},
		{name: "sighting", props: map[string]prop{
			"description": pString(), "first_seen": pTime(), "last_seen": pTime(), "count": pIntRange(0, 999999999),
			"sighting_of_ref": pRef(toSDO), "observed_data_refs": pRefs(toObservedData),
			"where_sighted_refs": pRefs(toIdentityLocation), "summary": pBool(),
		}, required: []string{"sighting_of_ref"}, order: seenPair("first_seen", "last_seen")},
	}
}

func scoSpecs() []*typeSpec {
	userAccountProps := map[string]prop{
		"user_id": pString(), "credential": pString(), "account_login": pString(), "account_type": pVocab(),
		"display_name": pString(), "is_service_account": pBool(), "is_privileged": pBool(),
		"can_escalate_privs": pBool(), "is_disabled": pBool(), "account_created": pTime(),
		"account_expires": pTime(), "credential_last_changed": pTime(), "account_first_login": pTime(),
		"account_last_login": pTime(),
	}
	processProps := map[string]prop{
		"is_hidden": pBool(), "pid": pInt(), "created_time": pTime(), "cwd": pString(),
		"command_line": pString(), "environment_variables": pDict(kString),
		"opened_connection_refs": pRefs(onlyTypes("network-traffic")), "creator_user_ref": pRef(onlyTypes("user-account")),
		"image_ref": pRef(onlyTypes("file")), "parent_ref": pRef(onlyTypes("process")), "child_refs": pRefs(onlyTypes("process")),
	}
	registryProps := map[string]prop{
		"key": pString(), "values": pObjects(registryValueShape), "modified_time": pTime(),
		"creator_user_ref": pRef(onlyTypes("user-account")), "number_of_subkeys": pNonNeg(),
	}
	x509Props := map[string]prop{
		"is_self_signed": pBool(), "hashes": pHashes(), "version": pString(), "serial_number": pString(),
		"signature_algorithm": pString(), "issuer": pString(), "validity_not_before": pTime(),
		"validity_not_after": pTime(), "subject": pString(), "subject_public_key_algorithm": pString(),
		"subject_public_key_modulus": pString(), "subject_public_key_exponent": pInt(),
		"x509_v3_extensions": pObject(x509ExtShape),
	}
	return []*typeSpec{
		{name: "artifact", props: map[string]prop{
			"mime_type": pString(), "payload_bin": pBinary(), "url": pString(), "hashes": pHashes(),
			"encryption_algorithm": encryptionAlgorithmEnum, "decryption_key": pString(),
		}, atLeastOne: [][]string{{"payload_bin", "url"}},
			exclusive: [][2]string{{"payload_bin", "url"}},
			depends:   []dependency{{"url", "hashes"}, {"decryption_key", "encryption_algorithm"}},
			idContrib: []string{"hashes", "payload_bin"}},
		{name: "autonomous-system", props: map[string]prop{
			"number": pInt(), "name": pString(), "rir": pString(),
		}, required: []string{"number"}, idContrib: []string{"number"}},
		{name: "directory", props: map[string]prop{
			"path": pString(), "path_enc": pString(), "ctime": pTime(), "mtime": pTime(), "atime": pTime(),
			"contains_refs": pRefs(onlyTypes("file", "directory")),
		}, required: []string{"path"}, idContrib: []string{"path"}},
		{name: "domain-name", props: map[string]prop{
			"value": pString(), "resolves_to_refs": pRefs(onlyTypes("ipv4-addr", "ipv6-addr", "domain-name")),
		}, required: []string{"value"}, idContrib: []string{"value"}},
		{name: "email-addr", props: map[string]prop{
			"value": pString(), "display_name": pString(), "belongs_to_ref": pRef(onlyTypes("user-account")),
		}, required: []string{"value"}, idContrib: []string{"value"}},
		{name: "email-message", props: map[string]prop{
			"is_multipart": pBool(), "date": pTime(), "content_type": pString(),
			"from_ref": pRef(onlyTypes("email-addr")), "sender_ref": pRef(onlyTypes("email-addr")),
			"to_refs": pRefs(onlyTypes("email-addr")), "cc_refs": pRefs(onlyTypes("email-addr")),
			"bcc_refs": pRefs(onlyTypes("email-addr")), "message_id": pString(), "subject": pString(),
			"received_lines": pStrings(), "additional_header_fields": pDict(kStringList), "body": pString(),
			"body_multipart": pObjects(mimePartShape), "raw_email_ref": pRef(onlyTypes("artifact")),
		}, required: []string{"is_multipart"}, check: chkEmailMessage,
			idContrib: []string{"from_ref", "subject", "body"}},
		{name: "file", props: map[string]prop{
			"hashes": pHashes(), "size": pNonNeg(), "name": pString(), "name_enc": pString(),
			"magic_number_hex": pHex(), "mime_type": pString(), "ctime": pTime(), "mtime": pTime(), "atime": pTime(),
			"parent_directory_ref": pRef(onlyTypes("directory")), "contains_refs": pRefs(toSCO),
			"content_ref": pRef(onlyTypes("artifact")),
		}, atLeastOne: [][]string{{"hashes", "name"}},
			idContrib: []string{"hashes", "name", "extensions", "parent_directory_ref"}},
		{name: "ipv4-addr", props: map[string]prop{
			"value": pString(), "resolves_to_refs": pRefs(onlyTypes("mac-addr")),
			"belongs_to_refs": pRefs(onlyTypes("autonomous-system")),
		}, required: []string{"value"}, check: chkIPValue, idContrib: []string{"value"}},
		{name: "ipv6-addr", props: map[string]prop{
			"value": pString(), "resolves_to_refs": pRefs(onlyTypes("mac-addr")),
			"belongs_to_refs": pRefs(onlyTypes("autonomous-system")),
		}, required: []string{"value"}, check: chkIPValue, idContrib: []string{"value"}},
		{name: "mac-addr", props: map[string]prop{
			"value": pString(),
		}, required: []string{"value"}, check: chkMACValue, idContrib: []string{"value"}},
		{name: "mutex", props: map[string]prop{
			"name": pString(),
		}, required: []string{"name"}, idContrib: []string{"name"}},
		{name: "network-traffic", props: map[string]prop{
			"start": pTime(), "end": pTime(), "is_active": pBool(),
			"src_ref":  pRef(onlyTypes("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name")),
			"dst_ref":  pRef(onlyTypes("ipv4-addr", "ipv6-addr", "mac-addr", "domain-name")),
			"src_port": pIntRange(0, 65535), "dst_port": pIntRange(0, 65535), "protocols": pStrings(),
			"src_byte_count": pNonNeg(), "dst_byte_count": pNonNeg(),
			"src_packets": pNonNeg(), "dst_packets": pNonNeg(), "ipfix": pDict(kStringOrInt),
			"src_payload_ref": pRef(onlyTypes("artifact")), "dst_payload_ref": pRef(onlyTypes("artifact")),
			"encapsulates_refs":   pRefs(onlyTypes("network-traffic")),
			"encapsulated_by_ref": pRef(onlyTypes("network-traffic")),
		}, required: []string{"protocols"}, order: seenPair("start", "end"),
			atLeastOne: [][]string{{"src_ref", "dst_ref"}}, check: chkNetworkTraffic,
			idContrib: []string{"start", "end", "src_ref", "dst_ref", "src_port", "dst_port", "protocols", "extensions"}},
		{name: "process", props: processProps,
			atLeastOne: [][]string{append(propNames(processProps), "extensions")}},
		{name: "software", props: map[string]prop{
			"name": pString(), "cpe": pString(), "swid": pString(), "languages": {kind: kLangTagList},
			"vendor": pString(), "version": pString(),
		}, required: []string{"name"}, idContrib: []string{"name", "cpe", "swid", "vendor", "version"}},
		{name: "url", props: map[string]prop{
			"value": pString(),
		}, required: []string{"value"}, idContrib: []string{"value"}},
		{name: "user-account", props: userAccountProps,
			atLeastOne: [][]string{append(propNames(userAccountProps), "extensions")},
			idContrib:  []string{"account_type", "user_id", "account_login"}},
		{name: "windows-registry-key", props: registryProps,
			atLeastOne: [][]string{propNames(registryProps)},
			idContrib:  []string{"key", "values"}},
		{name: "x509-certificate", props: x509Props,
			atLeastOne: [][]string{propNames(x509Props)},
			idContrib:  []string{"hashes", "serial_number"}},
	}
}

func metaSpecs() []*typeSpec {
	return []*typeSpec{
		{name: "marking-definition", cat: catMarking, props: map[string]prop{
			"name": pString(), "definition_type": pVocab(), "definition": {kind: kAny},
		}, check: chkMarkingDefinition},
		{name: "language-content", cat: catLanguage, props: map[string]prop{
			"object_ref": pRef(toSTIXObject), "object_modified": pTime(), "contents": {kind: kAny},
		}, required: []string{"object_ref", "contents"}, check: chkLanguageContent},
		{name: "extension-definition", cat: catExtension, props: map[string]prop{
			"name": pString(), "description": pString(), "schema": pString(), "version": pString(),
			"extension_types": pEnumList("extension-type-enum",
				"new-sdo", "new-sco", "new-sro", "property-extension", "toplevel-property-extension"),
			"extension_properties": pStrings(),
		}, required: []string{"created_by_ref", "name", "schema", "version", "extension_types"},
			check: chkExtensionDefinition},
		{name: "bundle", cat: catBundle, props: map[string]prop{
			"objects": {kind: kAny},
		}, check: chkBundle},
	}
}

func predefinedExtensionSpecs() []*typeSpec {
	peProps := map[string]prop{
		"pe_type": pVocab(), "imphash": pString(), "machine_hex": pHex(), "number_of_sections": pNonNeg(),
		"time_date_stamp": pTime(), "pointer_to_symbol_table_hex": pHex(), "number_of_symbols": pNonNeg(),
		"size_of_optional_header": pNonNeg(), "characteristics_hex": pHex(),
		"file_header_hashes": pHashes(), "optional_header": pObject(peOptionalHeaderShape),
		"sections": pObjects(peSectionShape),
	}
	peOthers := propNames(peProps)
	for i, k := range peOthers {
		if k == "pe_type" {
			peOthers = append(peOthers[:i], peOthers[i+1:]...)
			break
		}
	}
	ntfs := map[string]prop{"sid": pString(), "alternate_data_streams": pObjects(adsShape)}
	pdf := map[string]prop{
		"version": pString(), "is_optimized": pBool(), "document_info_dict": pDict(kString),
		"pdfid0": pString(), "pdfid1": pString(),
	}
	raster := map[string]prop{
		"image_height": pInt(), "image_width": pInt(), "bits_per_pixel": pInt(),
		"exif_tags": pDict(kStringOrInt),
	}
	tcp := map[string]prop{"src_flags_hex": pHex(), "dst_flags_hex": pHex()}
	winProc := map[string]prop{
		"aslr_enabled": pBool(), "dep_enabled": pBool(), "priority": pString(), "owner_sid": pString(),
		"window_title": pString(), "startup_info": pDict(kAny), "integrity_level": integrityLevelEnum,
	}
	winSvc := map[string]prop{
		"service_name": pString(), "descriptions": pStrings(), "display_name": pString(), "group_name": pString(),
		"start_type": serviceStartTypeEnum, "service_dll_refs": pRefs(onlyTypes("file")),
		"service_type": serviceTypeEnum, "service_status": serviceStatusEnum,
	}
	unix := map[string]prop{"gid": pInt(), "groups": pStrings(), "home_dir": pString(), "shell": pString()}
	return []*typeSpec{
		{name: "archive-ext", props: map[string]prop{
			"contains_refs": pRefs(onlyTypes("file", "directory")), "comment": pString(),
		}, required: []string{"contains_refs"}},
		{name: "ntfs-ext", props: ntfs, atLeastOne: [][]string{propNames(ntfs)}},
		{name: "pdf-ext", props: pdf, atLeastOne: [][]string{propNames(pdf)}},
		{name: "raster-image-ext", props: raster, atLeastOne: [][]string{propNames(raster)}},
		{name: "windows-pebinary-ext", props: peProps, required: []string{"pe_type"},
			atLeastOne: [][]string{peOthers}},
		{name: "http-request-ext", props: map[string]prop{
			"request_method": pString(), "request_value": pString(), "request_version": pString(),
			"request_header": pDict(kStringList), "message_body_length": pNonNeg(),
			"message_body_data_ref": pRef(onlyTypes("artifact")),
		}, required: []string{"request_method", "request_value"}},
		{name: "icmp-ext", props: map[string]prop{
			"icmp_type_hex": pHex(), "icmp_code_hex": pHex(),
		}, required: []string{"icmp_type_hex", "icmp_code_hex"}},
		{name: "socket-ext", props: map[string]prop{
			"address_family": socketAddressFamilyEnum, "is_blocking": pBool(), "is_listening": pBool(),
			"options": pDict(kInteger), "socket_type": socketTypeEnum, "socket_descriptor": pNonNeg(),
			"socket_handle": pInt(),
		}, required: []string{"address_family"}},
		{name: "tcp-ext", props: tcp, atLeastOne: [][]string{propNames(tcp)}},
		{name: "windows-process-ext", props: winProc, atLeastOne: [][]string{propNames(winProc)}},
		{name: "windows-service-ext", props: winSvc, atLeastOne: [][]string{propNames(winSvc)}},
		{name: "unix-account-ext", props: unix, atLeastOne: [][]string{propNames(unix)}},
	}
}

// Shapes of objects nested in SCOs and their extensions.
var (
	mimePartShape = &typeSpec{name: "email MIME component", props: map[string]prop{
		"body": pString(), "body_raw_ref": pRef(onlyTypes("artifact", "file")),
		"content_type": pString(), "content_disposition": pString(),
	}, atLeastOne: [][]string{{"body", "body_raw_ref"}}}
	registryValueShape = &typeSpec{name: "windows registry value", props: map[string]prop{
		"name": pString(), "data": pString(), "data_type": registryDatatypeEnum,
	}, atLeastOne: [][]string{{"name", "data", "data_type"}}}
	x509ExtShape = atLeastOneOf("X.509 v3 extensions", x509ExtProps)
	x509ExtProps = map[string]prop{
		"basic_constraints": pString(), "name_constraints": pString(), "policy_constraints": pString(),
		"key_usage": pString(), "extended_key_usage": pString(), "subject_key_identifier": pString(),
		"authority_key_identifier": pString(), "subject_alternative_name": pString(),
		"issuer_alternative_name": pString(), "subject_directory_attributes": pString(),
		"crl_distribution_points": pString(), "inhibit_any_policy": pString(),
		"private_key_usage_period_not_before": pTime(), "private_key_usage_period_not_after": pTime(),
		"certificate_policies": pString(), "policy_mappings": pString(),
	}
	adsShape = &typeSpec{name: "alternate data stream", props: map[string]prop{
		"name": pString(), "hashes": pHashes(), "size": pNonNeg(),
	}, required: []string{"name"}}
	peSectionShape = &typeSpec{name: "windows PE section", props: map[string]prop{
		"name": pString(), "size": pNonNeg(), "entropy": pNumber(), "hashes": pHashes(),
	}, required: []string{"name"}}
	peOptionalHeaderShape = atLeastOneOf("windows PE optional header", peOptionalHeaderProps)
	peOptionalHeaderProps = map[string]prop{
		"magic_hex": pHex(), "major_linker_version": pInt(), "minor_linker_version": pInt(),
		"size_of_code": pNonNeg(), "size_of_initialized_data": pNonNeg(),
		"size_of_uninitialized_data": pNonNeg(), "address_of_entry_point": pInt(),
		"base_of_code": pInt(), "base_of_data": pInt(), "image_base": pInt(),
		"section_alignment": pInt(), "file_alignment": pInt(), "major_os_version": pInt(),
		"minor_os_version": pInt(), "major_image_version": pInt(), "minor_image_version": pInt(),
		"major_subsystem_version": pInt(), "minor_subsystem_version": pInt(),
		"win32_version_value_hex": pHex(), "size_of_image": pNonNeg(), "size_of_headers": pNonNeg(),
		"checksum_hex": pHex(), "subsystem_hex": pHex(), "dll_characteristics_hex": pHex(),
		"size_of_stack_reserve": pNonNeg(), "size_of_stack_commit": pNonNeg(),
		"size_of_heap_reserve": pNonNeg(), "size_of_heap_commit": pNonNeg(),
		"loader_flags_hex": pHex(), "number_of_rva_and_sizes": pInt(), "hashes": pHashes(),
	}
)

// atLeastOneOf builds the shape of an object all of whose properties are
// optional but at least one of which must be present.
func atLeastOneOf(name string, props map[string]prop) *typeSpec {
	return &typeSpec{name: name, props: props, atLeastOne: [][]string{propNames(props)}}
}

// extensionOwner names the only object type that may carry each predefined
// extension.
var extensionOwner = map[string]string{
	"archive-ext": "file", "ntfs-ext": "file", "pdf-ext": "file", "raster-image-ext": "file",
	"windows-pebinary-ext": "file", "http-request-ext": "network-traffic", "icmp-ext": "network-traffic",
	"socket-ext": "network-traffic", "tcp-ext": "network-traffic", "windows-process-ext": "process",
	"windows-service-ext": "process", "unix-account-ext": "user-account",
}

// keysOf returns the keys of m in sorted order, so that tables built from it
// and the messages that list them are deterministic.
func propNames(m map[string]prop) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}
