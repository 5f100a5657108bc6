package stix

// Traffic Light Protocol marking definitions.
//
// TLP 1.0 is predefined by STIX 2.1 itself (section 7.2.1.4): four
// marking-definition objects with definition_type "tlp" whose identifiers and
// contents are fixed; no other TLP marking definition may be created.
//
// TLP 2.0 is not part of STIX 2.1. OASIS publishes it as an extension-based
// marking definition: the extension definition
// extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d (a
// property-extension adding the tlp_2_0 property) and five marking
// definitions with fixed identifiers, all created 2022-10-01.

// Identifiers of the TLP 1.0 marking definitions.
const (
	TLP1WhiteID = "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9"
	TLP1GreenID = "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"
	TLP1AmberID = "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82"
	TLP1RedID   = "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed"
)

// Identifiers of the TLP 2.0 marking definitions and of the extension
// definition they use.
const (
	TLP2ExtensionID = "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d"

	TLP2ClearID       = "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"
	TLP2GreenID       = "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"
	TLP2AmberID       = "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421"
	TLP2AmberStrictID = "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"
	TLP2RedID         = "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"
)

// The TLP 1.0 marking definitions exactly as STIX 2.1 section 7.2.1.4
// defines them.
const (
	TLP1White = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9",
  "created": "2017-01-20T00:00:00.000Z",
  "definition_type": "tlp",
  "name": "TLP:WHITE",
  "definition": {
    "tlp": "white"
  }
}`
	TLP1Green = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da",
  "created": "2017-01-20T00:00:00.000Z",
  "definition_type": "tlp",
  "name": "TLP:GREEN",
  "definition": {
    "tlp": "green"
  }
}`
	TLP1Amber = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--f88d31f6-486f-44da-b317-01333bde0b82",
  "created": "2017-01-20T00:00:00.000Z",
  "definition_type": "tlp",
  "name": "TLP:AMBER",
  "definition": {
    "tlp": "amber"
  }
}`
	TLP1Red = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed",
  "created": "2017-01-20T00:00:00.000Z",
  "definition_type": "tlp",
  "name": "TLP:RED",
  "definition": {
    "tlp": "red"
  }
}`
)

// The TLP 2.0 marking definitions as OASIS publishes them for STIX 2.1.
const (
	TLP2Clear = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
  "created": "2022-10-01T00:00:00.000Z",
  "name": "TLP:CLEAR",
  "extensions": {
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
      "extension_type": "property-extension",
      "tlp_2_0": "clear"
    }
  }
}`
	TLP2Green = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
  "created": "2022-10-01T00:00:00.000Z",
  "name": "TLP:GREEN",
  "extensions": {
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
      "extension_type": "property-extension",
      "tlp_2_0": "green"
    }
  }
}`
	TLP2Amber = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
  "created": "2022-10-01T00:00:00.000Z",
  "name": "TLP:AMBER",
  "extensions": {
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
      "extension_type": "property-extension",
      "tlp_2_0": "amber"
    }
  }
}`
	TLP2AmberStrict = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
  "created": "2022-10-01T00:00:00.000Z",
  "name": "TLP:AMBER+STRICT",
  "extensions": {
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
      "extension_type": "property-extension",
      "tlp_2_0": "amber+strict"
    }
  }
}`
	TLP2Red = `{
  "type": "marking-definition",
  "spec_version": "2.1",
  "id": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
  "created": "2022-10-01T00:00:00.000Z",
  "name": "TLP:RED",
  "extensions": {
    "extension-definition--60a3c5c5-0d10-413e-aab3-9e08dde9e88d": {
      "extension_type": "property-extension",
      "tlp_2_0": "red"
    }
  }
}`
)

// The TLP levels TLPLevel reports. TLP 1.0 WHITE is reported as TLPClear,
// which TLP 2.0 defines as its replacement.
const (
	TLPClear       = "clear"
	TLPGreen       = "green"
	TLPAmber       = "amber"
	TLPAmberStrict = "amber+strict"
	TLPRed         = "red"
)

var tlpLevelByID = map[string]string{
	TLP1WhiteID:       TLPClear,
	TLP1GreenID:       TLPGreen,
	TLP1AmberID:       TLPAmber,
	TLP1RedID:         TLPRed,
	TLP2ClearID:       TLPClear,
	TLP2GreenID:       TLPGreen,
	TLP2AmberID:       TLPAmber,
	TLP2AmberStrictID: TLPAmberStrict,
	TLP2RedID:         TLPRed,
}

// TLPLevel maps the identifier of a predefined TLP 1.0 or TLP 2.0 marking
// definition to its level: one of "clear", "green", "amber", "amber+strict"
// or "red" (TLP 1.0 WHITE maps to "clear"). ok is false for any other
// identifier.
func TLPLevel(markingID string) (level string, ok bool) {
	level, ok = tlpLevelByID[markingID]
	return level, ok
}

var predefinedMarkings = [...]string{
	TLP1White, TLP1Green, TLP1Amber, TLP1Red,
	TLP2Clear, TLP2Green, TLP2Amber, TLP2AmberStrict, TLP2Red,
}

// PredefinedMarkings returns the nine TLP marking definitions (TLP 1.0 white,
// green, amber, red, then TLP 2.0 clear, green, amber, amber+strict, red) as
// JSON, for seeding a store. Each call returns fresh slices that the caller
// may keep or modify.
func PredefinedMarkings() [][]byte {
	out := make([][]byte, len(predefinedMarkings))
	for i, s := range predefinedMarkings {
		out[i] = []byte(s)
	}
	return out
}
