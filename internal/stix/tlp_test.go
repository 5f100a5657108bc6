package stix

import (
	"encoding/json"
	"testing"
)

func TestTLPLevel(t *testing.T) {
	tests := []struct {
		id, level string
	}{
		{"marking-definition--613f2e26-407d-48c7-9eca-b8e91df99dc9", "clear"}, // TLP 1.0 WHITE
		{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da", "green"},
		{"marking-definition--f88d31f6-486f-44da-b317-01333bde0b82", "amber"},
		{"marking-definition--5e57c739-391a-4eb3-b6be-7d15ca92d5ed", "red"},
		{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487", "clear"},
		{"marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb", "green"},
		{"marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421", "amber"},
		{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003", "amber+strict"},
		{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1", "red"},
	}
	for _, tt := range tests {
		level, ok := TLPLevel(tt.id)
		if !ok || level != tt.level {
			t.Errorf("TLPLevel(%s) = %q, %v; want %q", tt.id, level, ok, tt.level)
		}
	}
	for _, id := range []string{"", "marking-definition--fa42a846-8d90-4e51-bc29-71d5b4802168", "tlp:red", "RED"} {
		if level, ok := TLPLevel(id); ok {
			t.Errorf("TLPLevel(%q) = %q, want not ok", id, level)
		}
	}
}

func TestPredefinedMarkings(t *testing.T) {
	raw := PredefinedMarkings()
	if len(raw) != 9 {
		t.Fatalf("%d markings, want 9", len(raw))
	}
	wantLevels := []string{"clear", "green", "amber", "red", "clear", "green", "amber", "amber+strict", "red"}
	wantNames := []string{"TLP:WHITE", "TLP:GREEN", "TLP:AMBER", "TLP:RED",
		"TLP:CLEAR", "TLP:GREEN", "TLP:AMBER", "TLP:AMBER+STRICT", "TLP:RED"}
	seen := map[string]bool{}
	for i, b := range raw {
		obj := decodeOne(t, string(b))
		if vs := Validate(obj); len(vs) != 0 {
			t.Errorf("marking %d is invalid: %v", i, vs)
		}
		id, _ := obj["id"].(string)
		if seen[id] {
			t.Errorf("duplicate id %s", id)
		}
		seen[id] = true
		if level, ok := TLPLevel(id); !ok || level != wantLevels[i] {
			t.Errorf("marking %d (%s): level %q, want %q", i, id, level, wantLevels[i])
		}
		if obj["name"] != wantNames[i] {
			t.Errorf("marking %d: name %v, want %s", i, obj["name"], wantNames[i])
		}
		if i < 4 {
			def, _ := obj["definition"].(map[string]any)
			if obj["definition_type"] != "tlp" || obj["created"] != "2017-01-20T00:00:00.000Z" || def["tlp"] == nil {
				t.Errorf("TLP 1.0 marking %d is not as the specification defines it: %s", i, b)
			}
		} else {
			ext, _ := obj["extensions"].(map[string]any)
			e, _ := ext[TLP2ExtensionID].(map[string]any)
			tlp := wantLevels[i]
			if e["extension_type"] != "property-extension" || e["tlp_2_0"] != tlp || obj["created"] != "2022-10-01T00:00:00.000Z" {
				t.Errorf("TLP 2.0 marking %d is not as OASIS publishes it: %s", i, b)
			}
		}
	}
	// Callers get their own copies.
	raw[0][0] = 'X'
	if again := PredefinedMarkings(); again[0][0] != '{' {
		t.Fatal("PredefinedMarkings returned shared memory")
	}
	// The constants are plain JSON.
	for _, s := range []string{TLP1White, TLP2AmberStrict} {
		if !json.Valid([]byte(s)) {
			t.Fatalf("invalid JSON: %s", s)
		}
	}
}
