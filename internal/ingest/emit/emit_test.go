package emit

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/stix"
)

func TestAppendString(t *testing.T) {
	for _, s := range []string{"", "plain", `q"uote\back`, "tab\tnl\ncr\r", "\x00\x1f", "日本語", "\u2028\u2029", "bad\xffutf8"} {
		b := AppendString(nil, s)
		var got string
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatalf("%q: %s: %v", s, b, err)
		}
		want := s
		if s == "bad\xffutf8" {
			want = "bad\ufffdutf8"
		}
		if got != want {
			t.Errorf("%q round-trips as %q", s, got)
		}
	}
}

func TestObj(t *testing.T) {
	var o Obj
	o.Str("type", "x")
	o.StrIf("empty", "")
	o.Int("n", -3)
	o.Bool("b", true)
	o.Strs("l", []string{"a", "b"})
	o.Strs("none", nil)
	o.Time("t", time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC))
	o.Raw("r", []byte(`{"k":1}`))
	if got := string(o.End()); got != `{"type":"x","n":-3,"b":true,"l":["a","b"],"t":"2026-01-02T03:04:05.000Z","r":{"k":1}}` {
		t.Error(got)
	}
	if got := string(o.End()); got != "{}" {
		t.Error(got)
	}
}

func TestIDs(t *testing.T) {
	if IndicatorID("[ipv4-addr:value = '198.51.100.7']") != IndicatorID("[ipv4-addr:value = '198.51.100.7']") {
		t.Error("not deterministic")
	}
	for in, want := range map[string]string{
		"5A0F3C1E-7D7B-4A57-9A0E-3F1F0D8C0001": "report--5a0f3c1e-7d7b-4a57-9a0e-3f1f0d8c0001",
		"5a0f3c1e-7d7b-0000-0000-000000000000": ID("report", "5a0f3c1e-7d7b-0000-0000-000000000000"),
		"not a uuid":                           ID("report", "not a uuid"),
	} {
		if got := FromUUID("report", in); got != want {
			t.Errorf("FromUUID(%q) = %s, want %s", in, got, want)
		}
	}
	if SourceIdentityID("a") == SourceIdentityID("b") {
		t.Error("sources share an identity")
	}
}

func TestMarkings(t *testing.T) {
	v := stix.Validator{}
	for _, name := range []string{"clear", "WHITE", "tlp:green", "amber", "amber+strict", "red"} {
		id, ok := TLPMarking(name)
		if !ok {
			t.Fatalf("%s", name)
		}
		var m map[string]any
		if err := json.Unmarshal(MarkingDefinition(id), &m); err != nil || m["id"] != id {
			t.Fatalf("%s: %v %v", name, m, err)
		}
		if vs := v.Validate(m); len(vs) > 0 {
			t.Errorf("%s: %v", name, vs)
		}
	}
	if _, ok := TLPMarking("purple"); ok || MarkingDefinition("marking-definition--x") != nil {
		t.Error("unknown TLP accepted")
	}
	var idObj map[string]any
	json.Unmarshal(Identity(SourceIdentityID("feed"), "feed", "system", "", IdentityEpoch), &idObj)
	if vs := v.Validate(idObj); len(vs) > 0 {
		t.Errorf("identity: %v", vs)
	}
}
