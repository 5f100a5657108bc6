// Package emit holds what the format readers of package ingest share to
// produce STIX 2.1 objects: deterministic identifiers, a compact JSON object
// writer, the settings a reader applies to what it creates (source
// identity, TLP marking, confidence, validity window, warninglist check),
// and the notices a reader gives for input it could not turn into objects.
package emit

import (
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/stix"
)

// Namespace is the UUIDv5 namespace of the identifiers mamori derives from
// content (indicators from their canonical pattern, identities of sources,
// objects converted from other formats).
var Namespace = uuid.MustParse("1dd941c4-ed00-4d43-8642-15fef7123889")

// IndicatorID is the identifier of the indicator whose canonical STIX
// pattern is pattern: the same pattern from any feed or file gives the same
// indicator.
func IndicatorID(pattern string) string {
	return "indicator--" + uuid.NewSHA1(Namespace, []byte(pattern)).String()
}

// ID derives a deterministic identifier of type typ from key parts.
func ID(typ string, parts ...string) string {
	return typ + "--" + uuid.NewSHA1(Namespace, []byte(typ+"\x00"+strings.Join(parts, "\x1f"))).String()
}

// FromUUID makes an identifier of type typ from a UUID found in another
// format (a MISP uuid): kept when it is valid, otherwise derived from it.
func FromUUID(typ, u string) string {
	if p, err := uuid.Parse(u); err == nil && len(u) == 36 && p.Variant() == uuid.RFC4122 && p.Version() >= 1 && p.Version() <= 5 {
		return typ + "--" + strings.ToLower(u)
	}
	return ID(typ, u)
}

// SourceIdentityID is the identity that stands for a feed or list named
// name: the created_by_ref of what the reader creates from it.
func SourceIdentityID(name string) string { return ID("identity", "source", name) }

// IdentityEpoch is created and modified of the identities mamori derives
// for sources: fixed, so that each import of a source finds its identity
// unchanged.
var IdentityEpoch = time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)

// Identity returns the JSON of an identity object.
func Identity(id, name, class, description string, t time.Time) []byte {
	var o Obj
	o.Str("type", "identity")
	o.Str("spec_version", "2.1")
	o.Str("id", id)
	o.Time("created", t)
	o.Time("modified", t)
	o.Str("name", name)
	if description != "" {
		o.Str("description", description)
	}
	o.Str("identity_class", class)
	return o.End()
}

// TLPMarking maps a TLP name (clear, white, green, amber, amber+strict, red;
// case-insensitive, "tlp:" prefix allowed) to the TLP 2.0 marking
// definition id (TLP 1.0 white maps to TLP 2.0 clear).
func TLPMarking(name string) (string, bool) {
	n := strings.ToLower(strings.TrimSpace(name))
	n = strings.TrimPrefix(n, "tlp:")
	n = strings.TrimPrefix(n, "tlp-")
	switch n {
	case "clear", "white":
		return stix.TLP2ClearID, true
	case "green":
		return stix.TLP2GreenID, true
	case "amber":
		return stix.TLP2AmberID, true
	case "amber+strict", "amber-strict", "amber_strict":
		return stix.TLP2AmberStrictID, true
	case "red":
		return stix.TLP2RedID, true
	}
	return "", false
}

// MarkingDefinition returns the JSON of a predefined TLP marking definition,
// or nil for another id.
func MarkingDefinition(id string) []byte {
	for _, m := range stix.PredefinedMarkings() {
		if strings.Contains(string(m), `"id": "`+id+`"`) {
			return compactJSON(m)
		}
	}
	return nil
}

func compactJSON(b []byte) []byte {
	out := make([]byte, 0, len(b))
	inStr, esc := false, false
	for _, c := range b {
		switch {
		case esc:
			esc = false
		case inStr && c == '\\':
			esc = true
		case c == '"':
			inStr = !inStr
		case !inStr && (c == ' ' || c == '\n' || c == '\t' || c == '\r'):
			continue
		}
		out = append(out, c)
	}
	return out
}

// Obj writes one JSON object, keys in the order they are added, compact.
// The zero value is ready to use; End returns the bytes.
type Obj struct {
	b []byte
	n int
}

func (o *Obj) key(k string) {
	if o.b == nil {
		o.b = make([]byte, 0, 512)
	}
	if o.n == 0 {
		o.b = append(o.b, '{')
	} else {
		o.b = append(o.b, ',')
	}
	o.n++
	o.b = AppendString(o.b, k)
	o.b = append(o.b, ':')
}

// Str adds a string property.
func (o *Obj) Str(k, v string) {
	o.key(k)
	o.b = AppendString(o.b, v)
}

// StrIf adds a string property when v is not empty.
func (o *Obj) StrIf(k, v string) {
	if v != "" {
		o.Str(k, v)
	}
}

// Int adds an integer property.
func (o *Obj) Int(k string, v int64) {
	o.key(k)
	o.b = strconv.AppendInt(o.b, v, 10)
}

// Bool adds a boolean property.
func (o *Obj) Bool(k string, v bool) {
	o.key(k)
	o.b = strconv.AppendBool(o.b, v)
}

// Time adds a STIX timestamp property.
func (o *Obj) Time(k string, t time.Time) {
	o.Str(k, stix.FormatTimestamp(t))
}

// Strs adds a list of strings; nothing when the list is empty.
func (o *Obj) Strs(k string, vs []string) {
	if len(vs) == 0 {
		return
	}
	o.key(k)
	o.b = append(o.b, '[')
	for i, v := range vs {
		if i > 0 {
			o.b = append(o.b, ',')
		}
		o.b = AppendString(o.b, v)
	}
	o.b = append(o.b, ']')
}

// Raw adds a property whose value is already JSON.
func (o *Obj) Raw(k string, v []byte) {
	o.key(k)
	o.b = append(o.b, v...)
}

// End closes the object and returns it; o can be reused afterwards.
func (o *Obj) End() []byte {
	if o.n == 0 {
		o.b = append(o.b[:0], '{')
	}
	out := append(o.b, '}')
	o.b, o.n = nil, 0
	return out
}

// AppendString appends s as a JSON string. Invalid UTF-8 becomes U+FFFD.
func AppendString(b []byte, s string) []byte {
	const hex = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			if c >= 0x20 && c != '"' && c != '\\' {
				i++
				continue
			}
			b = append(b, s[start:i]...)
			switch c {
			case '"', '\\':
				b = append(b, '\\', c)
			case '\n':
				b = append(b, '\\', 'n')
			case '\r':
				b = append(b, '\\', 'r')
			case '\t':
				b = append(b, '\\', 't')
			default:
				b = append(b, '\\', 'u', '0', '0', hex[c>>4], hex[c&0xf])
			}
			i++
			start = i
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b = append(b, s[start:i]...)
			b = append(b, "\ufffd"...)
			i++
			start = i
			continue
		}
		if r == '\u2028' || r == '\u2029' {
			b = append(b, s[start:i]...)
			b = append(b, '\\', 'u', '2', '0', '2', hex[r&0xf])
			i += size
			start = i
			continue
		}
		i += size
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}
