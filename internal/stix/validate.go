package stix

import (
	"encoding/base64"
	"encoding/json"
	"fmt"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
)

// Validator checks STIX 2.1 objects. The zero value is ready to use and is
// what Validate uses; set fields to add checks that live in other packages.
// A Validator is safe for concurrent use as long as its fields are.
type Validator struct {
	// Pattern, when set, checks the pattern of every indicator whose
	// pattern_type is "stix". A non-nil error becomes a violation with rule
	// "pattern" at $.pattern. When Pattern is nil, STIX patterns are only
	// checked to be strings.
	Pattern func(pattern string) error
}

// Validate checks one STIX 2.1 object with a zero Validator. See
// (*Validator).Validate.
func Validate(obj map[string]any) Violations {
	return zeroValidator.Validate(obj)
}

// zeroValidator is the configuration Validate uses; it is never modified.
var zeroValidator Validator

// Validate checks one STIX 2.1 object against the specification and returns
// every violation it finds, sorted by path; it returns nil for a valid
// object. obj is one object as decoded by encoding/json, preferably with
// Decoder.UseNumber so that integers keep their exact value (float64 and Go
// integer types are accepted too). Validate never panics and never modifies
// obj, whatever it contains.
//
// Open vocabularies accept any string. Closed enumerations are checked.
// Properties the specification does not define (custom properties) are
// allowed when their names follow the naming rules, and types it does not
// define are allowed when they start with "x-" or are declared as new object
// types through an extension definition; any other type is reported with
// rule "unknown-type". See docs/stix-validation.md for the list of rules.
func (cfg *Validator) Validate(obj map[string]any) Violations {
	v := validatorPool.Get().(*validator)
	v.cfg, v.root, v.id, v.typ, v.cat, v.out = cfg, obj, "", "", catUnknown, nil
	v.run(obj)
	out := v.out
	v.cfg, v.root, v.out, v.top = nil, nil, nil, pathSeg{}
	validatorPool.Put(v)
	if len(out) > 1 {
		slices.SortStableFunc(out, func(a, b *Violation) int {
			if c := strings.Compare(a.Path, b.Path); c != 0 {
				return c
			}
			return strings.Compare(a.Rule, b.Rule)
		})
	}
	return out
}

// validatorPool recycles validator states: each carries scratch space that
// would otherwise be allocated for every object.
var validatorPool = sync.Pool{New: func() any { return new(validator) }}

// maxDepth bounds how deep validation descends into nested custom values.
const maxDepth = 64

// validator holds the state of one Validate call.
type validator struct {
	cfg  *Validator
	root map[string]any
	id   string
	typ  string
	cat  category
	out  Violations
	top  pathSeg // segment of the top-level property being checked
	// scratch holds one path segment per depth of a custom value being
	// scanned. The scan is depth-first and renders the path of a violation
	// at once, so each depth needs only one live segment; keeping them here
	// saves an allocation per nested custom value.
	scratch [maxDepth + 1]pathSeg
}

// pathSeg is one step of a JSON path; the nil *pathSeg is the root "$".
// Paths are built as the validator descends, on the stack or in the
// validator's scratch space, and turned into strings only when a violation
// is reported, so a valid SDO or SRO costs no path allocation. To keep them
// there, no function value ever receives a *pathSeg: all checks are static
// calls.
type pathSeg struct {
	parent *pathSeg
	key    string
	index  int // list index, or -1 when key names a property
}

func (p *pathSeg) child(k string) pathSeg { return pathSeg{parent: p, key: k, index: -1} }
func (p *pathSeg) at(i int) pathSeg       { return pathSeg{parent: p, index: i} }

// String renders the path in JSONPath form: $.a.b[2]['key-with-hyphens'].
func (p *pathSeg) String() string {
	var b strings.Builder
	b.WriteByte('$')
	p.write(&b)
	return b.String()
}

// write appends the segments from the root down to p. It recurses instead
// of collecting the chain so that no path segment escapes to the heap.
func (p *pathSeg) write(b *strings.Builder) {
	if p == nil {
		return
	}
	p.parent.write(b)
	if p.index >= 0 {
		b.WriteByte('[')
		b.WriteString(strconv.Itoa(p.index))
		b.WriteByte(']')
		return
	}
	if simpleKey(p.key) {
		b.WriteByte('.')
		b.WriteString(p.key)
		return
	}
	b.WriteString("['")
	for _, r := range p.key {
		if r == '\'' || r == '\\' {
			b.WriteByte('\\')
		}
		b.WriteRune(r)
	}
	b.WriteString("']")
}

func simpleKey(k string) bool {
	if k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || i > 0 && c >= '0' && c <= '9') {
			return false
		}
	}
	return true
}

func (v *validator) add(p *pathSeg, rule, msg string) {
	v.out = append(v.out, &Violation{ID: v.id, Path: p.String(), Rule: rule, Msg: msg})
}

func (v *validator) addf(p *pathSeg, rule, format string, args ...any) {
	v.add(p, rule, fmt.Sprintf(format, args...))
}

func (v *validator) run(obj map[string]any) {
	var root *pathSeg
	if obj == nil {
		v.add(root, "invalid-object", "the object is null")
		return
	}
	if id, ok := obj["id"].(string); ok {
		v.id = id
	}

	// type
	typ, isString := obj["type"].(string)
	tp := root.child("type")
	switch {
	case obj["type"] == nil:
		if _, present := obj["type"]; present {
			v.add(&tp, "value-type", "type must be a string")
		} else {
			v.add(&tp, "required", "type is required")
		}
	case !isString:
		v.add(&tp, "value-type", "type must be a string")
	case !validTypeName(typ):
		v.addf(&tp, "type-syntax", "type %q must be 3–250 characters of a–z, 0–9 and single hyphens, starting with a letter", typ)
	}
	v.typ = typ
	spec := typeSpecs[typ]
	custom := false
	if spec != nil {
		v.cat = spec.cat
	} else if isString {
		custom = true
		v.cat = declaredCategory(obj)
		if v.cat == catUnknown && !strings.HasPrefix(typ, "x-") && validTypeName(typ) {
			v.addf(&tp, "unknown-type", "type %q is not defined by STIX 2.1; custom types must start with \"x-\" or be declared as a new object type by an extension definition", typ)
		}
	}

	v.checkID(obj, root)
	if v.cat == catBundle {
		checkBundle(v, obj, root)
		return
	}
	v.checkSpecVersion(obj, root, custom)

	// Required properties.
	switch v.cat {
	case catSDO, catSRO, catLanguage, catExtension:
		v.required(obj, root, "created", "modified")
	case catMarking:
		v.required(obj, root, "created")
	}
	if spec != nil {
		v.required(obj, root, spec.required...)
	}

	// Every property, once.
	lookup := commonLookup
	if spec != nil {
		lookup = spec.lookup
	}
	for k, val := range obj {
		switch k {
		case "type", "id", "spec_version":
			continue
		}
		// The segment lives in the validator rather than on the stack:
		// the recursive checks below would otherwise move it to the heap
		// once per property. Violations render their path immediately, so
		// reusing it for the next property is safe.
		v.top = pathSeg{key: k, index: -1}
		cp := &v.top
		pr := lookup[k]
		switch {
		case pr == nil:
			if !validPropertyName(k) {
				v.addf(cp, "property-name", "property name %q must be 3–250 characters of a–z, 0–9 and underscore, starting with a letter", k)
			}
			v.scanCustom(k, val, cp, 0)
		case pr.kind == kReserved:
			v.addf(cp, "reserved-property", "%s is a reserved property name and must not be used", k)
		default:
			if k == "defanged" && v.cat != catSCO && !(custom && v.cat == catUnknown) {
				v.add(cp, "not-applicable", "defanged may only be used on SCOs")
			}
			v.checkValue(val, cp, pr)
		}
	}

	// Versioning timestamps.
	v.checkOrder(obj, root, orderRule{earlier: "created", later: "modified"})
	if spec != nil {
		v.applyConstraints(obj, root, spec)
	}
}

// declaredCategory returns the category a custom type declares through an
// extension whose extension_type is new-sdo, new-sco or new-sro.
func declaredCategory(obj map[string]any) category {
	ext, _ := obj["extensions"].(map[string]any)
	for k, e := range ext {
		if !strings.HasPrefix(k, "extension-definition--") {
			continue
		}
		m, _ := e.(map[string]any)
		switch m["extension_type"] {
		case "new-sdo":
			return catSDO
		case "new-sco":
			return catSCO
		case "new-sro":
			return catSRO
		}
	}
	return catUnknown
}

func (v *validator) checkID(obj map[string]any, root *pathSeg) {
	p := root.child("id")
	raw, present := obj["id"]
	if !present {
		v.add(&p, "required", "id is required")
		return
	}
	id, ok := raw.(string)
	if !ok {
		v.add(&p, "value-type", "id must be a string")
		return
	}
	typ, ok := splitIdentifier(id)
	if !ok {
		v.addf(&p, "id-syntax", "id %q must be the object type, \"--\" and an RFC 4122 UUID", id)
		return
	}
	if v.typ != "" && typ != v.typ {
		v.addf(&p, "id-type-mismatch", "id starts with %q but the object type is %q", typ, v.typ)
	}
}

func (v *validator) checkSpecVersion(obj map[string]any, root *pathSeg, custom bool) {
	p := root.child("spec_version")
	raw, present := obj["spec_version"]
	if !present {
		// SCOs and custom types of unknown category may omit it.
		if v.cat != catSCO && !(custom && v.cat == catUnknown) {
			v.add(&p, "required", "spec_version is required")
		}
		return
	}
	s, ok := raw.(string)
	if !ok {
		v.add(&p, "value-type", "spec_version must be a string")
		return
	}
	if s != "2.1" {
		v.addf(&p, "spec-version", "spec_version must be \"2.1\", not %q", s)
	}
}

func (v *validator) required(obj map[string]any, root *pathSeg, names ...string) {
	for _, n := range names {
		if _, ok := obj[n]; !ok {
			p := root.child(n)
			v.addf(&p, "required", "%s is required", n)
		}
	}
}

// applyConstraints checks the cross-property constraints of a type or
// extension.
func (v *validator) applyConstraints(obj map[string]any, p *pathSeg, spec *typeSpec) {
	for _, r := range spec.order {
		v.checkOrder(obj, p, r)
	}
	for _, g := range spec.atLeastOne {
		v.atLeastOne(obj, p, g)
	}
	for _, pair := range spec.exclusive {
		_, a := obj[pair[0]]
		_, b := obj[pair[1]]
		if a && b {
			cp := p.child(pair[1])
			v.addf(&cp, "mutually-exclusive", "%s and %s must not both be present", pair[0], pair[1])
		}
	}
	for _, d := range spec.depends {
		_, a := obj[d.ifPresent]
		_, b := obj[d.then]
		if a && !b {
			cp := p.child(d.then)
			v.addf(&cp, "dependency", "%s is required when %s is present", d.then, d.ifPresent)
		}
	}
	switch spec.check {
	case chkIndicator:
		checkIndicator(v, obj, p)
	case chkLocation:
		checkLocation(v, obj, p)
	case chkMalware:
		checkMalware(v, obj, p)
	case chkObservedData:
		checkObservedData(v, obj, p)
	case chkRelationship:
		checkRelationship(v, obj, p)
	case chkEmailMessage:
		checkEmailMessage(v, obj, p)
	case chkIPValue:
		checkIPValue(v, obj, p)
	case chkMACValue:
		checkMACValue(v, obj, p)
	case chkNetworkTraffic:
		checkNetworkTraffic(v, obj, p)
	case chkMarkingDefinition:
		checkMarkingDefinition(v, obj, p)
	case chkLanguageContent:
		checkLanguageContent(v, obj, p)
	case chkExtensionDefinition:
		checkExtensionDefinition(v, obj, p)
	case chkBundle:
		checkBundle(v, obj, p)
	}
}

func (v *validator) atLeastOne(obj map[string]any, p *pathSeg, names []string) {
	for _, n := range names {
		if _, ok := obj[n]; ok {
			return
		}
	}
	if len(names) <= 4 {
		v.addf(p, "at-least-one", "at least one of %s must be present", strings.Join(names, ", "))
	} else {
		v.add(p, "at-least-one", "at least one property specific to this object must be present")
	}
}

// timeOf returns the instant in obj[key] when it is a valid timestamp.
func timeOf(obj map[string]any, key string) (sec int64, nsec int, ok bool) {
	s, isString := obj[key].(string)
	if !isString {
		return 0, 0, false
	}
	sec, nsec, reason := parseTimestamp(s)
	return sec, nsec, reason == ""
}

func (v *validator) checkOrder(obj map[string]any, p *pathSeg, r orderRule) {
	s1, n1, ok1 := timeOf(obj, r.earlier)
	s2, n2, ok2 := timeOf(obj, r.later)
	if !ok1 || !ok2 {
		return
	}
	cmp := 0
	switch {
	case s2 < s1 || s2 == s1 && n2 < n1:
		cmp = -1
	case s2 == s1 && n2 == n1:
		cmp = 0
	default:
		cmp = 1
	}
	if cmp < 0 || r.strict && cmp == 0 {
		cp := p.child(r.later)
		if r.strict {
			v.addf(&cp, "timestamp-order", "%s must be later than %s", r.later, r.earlier)
		} else {
			v.addf(&cp, "timestamp-order", "%s must not be earlier than %s", r.later, r.earlier)
		}
	}
}

// checkProps validates a nested object whose properties are described by
// props: known properties by kind, others as custom properties.
func (v *validator) checkProps(obj map[string]any, p *pathSeg, props map[string]prop, required []string, checkNames bool) {
	v.required(obj, p, required...)
	for k, val := range obj {
		cp := p.child(k)
		if pr, ok := props[k]; ok {
			v.checkValue(val, &cp, &pr)
			continue
		}
		if checkNames && !validPropertyName(k) {
			v.addf(&cp, "property-name", "property name %q must be 3–250 characters of a–z, 0–9 and underscore, starting with a letter", k)
		}
		v.scanCustom(k, val, &cp, 1)
	}
}

// checkValue checks one value of a property the specification defines.
func (v *validator) checkValue(val any, p *pathSeg, pr *prop) {
	switch pr.kind {
	case kAny:
	case kString:
		if _, ok := val.(string); !ok {
			v.add(p, "value-type", "must be a string")
		}
	case kBool:
		if _, ok := val.(bool); !ok {
			v.add(p, "value-type", "must be a boolean")
		}
	case kInteger:
		v.checkNumber(val, p, pr, true)
	case kNumber:
		v.checkNumber(val, p, pr, false)
	case kTimestamp:
		v.checkTimestamp(val, p, pr.ms)
	case kRef:
		v.checkRef(val, p, pr.targets)
	case kRefList:
		for i, item := range v.list(val, p) {
			ip := p.at(i)
			v.checkRef(item, &ip, pr.targets)
		}
	case kStringList, kVocabList:
		for i, item := range v.list(val, p) {
			if _, ok := item.(string); !ok {
				ip := p.at(i)
				v.add(&ip, "value-type", "must be a string")
			}
		}
	case kEnum:
		v.checkEnum(val, p, pr)
	case kEnumList:
		for i, item := range v.list(val, p) {
			ip := p.at(i)
			v.checkEnum(item, &ip, pr)
		}
	case kVocab:
		if _, ok := val.(string); !ok {
			v.add(p, "value-type", "must be a string")
		}
	case kKillChainPhases:
		for i, item := range v.list(val, p) {
			ip := p.at(i)
			if m := v.objectItem(item, &ip); m != nil {
				v.checkKillChainPhase(m, &ip)
			}
		}
	case kExternalRefs:
		for i, item := range v.list(val, p) {
			ip := p.at(i)
			if m := v.objectItem(item, &ip); m != nil {
				v.checkExternalReference(m, &ip)
			}
		}
	case kGranularMarkings:
		for i, item := range v.list(val, p) {
			ip := p.at(i)
			if m := v.objectItem(item, &ip); m != nil {
				v.checkGranularMarking(m, &ip)
			}
		}
	case kExtensions:
		v.checkExtensions(val, p)
	case kHashes:
		v.checkHashes(val, p, false)
	case kDict:
		v.checkDict(val, p, pr.elem)
	case kHex:
		v.checkHex(val, p)
	case kBinary:
		s, ok := val.(string)
		if !ok {
			v.add(p, "value-type", "must be a base64 string")
		} else if _, err := base64.StdEncoding.DecodeString(s); err != nil {
			v.add(p, "binary", "must be base64 (RFC 4648) encoded")
		}
	case kLangTag:
		v.checkLangTag(val, p)
	case kLangTagList:
		for i, item := range v.list(val, p) {
			ip := p.at(i)
			v.checkLangTag(item, &ip)
		}
	case kObject:
		if m := v.objectItem(val, p); m != nil {
			v.checkShape(m, p, pr.shape)
		}
	case kObjectList:
		for i, item := range v.list(val, p) {
			ip := p.at(i)
			if m := v.objectItem(item, &ip); m != nil {
				v.checkShape(m, &ip, pr.shape)
			}
		}
	case kStringOrInt:
		if _, ok := val.(string); ok {
			return
		}
		v.checkNumber(val, p, &prop{kind: kInteger}, true)
	case kContainer:
		v.checkContainer(val, p)
	}
}

// list returns the items of a non-empty JSON array, reporting a value that
// is not one; it returns nil when there is nothing to check.
func (v *validator) list(val any, p *pathSeg) []any {
	list, ok := val.([]any)
	if !ok {
		v.add(p, "value-type", "must be a list")
		return nil
	}
	if len(list) == 0 {
		v.add(p, "empty-list", "lists must not be empty; omit the property instead")
	}
	return list
}

// objectItem returns val as a JSON object, reporting it when it is not one.
func (v *validator) objectItem(val any, p *pathSeg) map[string]any {
	m, ok := val.(map[string]any)
	if !ok {
		v.add(p, "value-type", "must be an object")
	}
	return m
}

// checkShape checks an object nested in another against its shape.
func (v *validator) checkShape(m map[string]any, p *pathSeg, shape *typeSpec) {
	v.checkProps(m, p, shape.props, shape.required, false)
	v.applyConstraints(m, p, shape)
}

// numberOf converts a decoded JSON number to float64 and tells whether it is
// an integer.
func jsonNumber(val any) (f float64, isInt bool, ok bool) {
	switch n := val.(type) {
	case json.Number:
		// Try the integer form only when the text has no fraction or
		// exponent, so that ordinary floats cost no error allocation.
		if !strings.ContainsAny(string(n), ".eE") {
			if i, err := strconv.ParseInt(string(n), 10, 64); err == nil {
				return float64(i), true, true
			}
		}
		f, err := strconv.ParseFloat(string(n), 64)
		if err != nil {
			return 0, false, false
		}
		return f, f == math.Trunc(f) && !math.IsInf(f, 0), true
	case float64:
		return n, n == math.Trunc(n) && !math.IsInf(n, 0) && !math.IsNaN(n), !math.IsNaN(n)
	case float32:
		f := float64(n)
		return f, f == math.Trunc(f) && !math.IsInf(f, 0), !math.IsNaN(f)
	case int:
		return float64(n), true, true
	case int64:
		return float64(n), true, true
	case int32:
		return float64(n), true, true
	case uint64:
		return float64(n), true, true
	case uint32:
		return float64(n), true, true
	case uint:
		return float64(n), true, true
	}
	return 0, false, false
}

func (v *validator) checkNumber(val any, p *pathSeg, pr *prop, wantInt bool) {
	f, isInt, ok := jsonNumber(val)
	if !ok {
		if wantInt {
			v.add(p, "value-type", "must be an integer")
		} else {
			v.add(p, "value-type", "must be a number")
		}
		return
	}
	if wantInt && !isInt {
		v.add(p, "value-type", "must be an integer")
		return
	}
	lo, hi := -float64(maxSafeInteger), float64(maxSafeInteger)
	if pr.hasRange {
		lo, hi = pr.min, pr.max
	} else if !wantInt {
		return
	}
	if f < lo || f > hi {
		v.addf(p, "range", "must be between %s and %s", formatBound(lo), formatBound(hi))
	}
}

func formatBound(f float64) string { return strconv.FormatFloat(f, 'f', -1, 64) }

func (v *validator) checkTimestamp(val any, p *pathSeg, ms bool) {
	s, ok := val.(string)
	if !ok {
		v.add(p, "value-type", "must be a timestamp string")
		return
	}
	_, _, frac, reason := parseTimestampDigits(s)
	if reason != "" {
		v.addf(p, "timestamp-format", "%q is not a STIX timestamp (YYYY-MM-DDTHH:MM:SS[.s+]Z): %s", s, reason)
		return
	}
	if ms && frac < 3 {
		v.addf(p, "timestamp-precision", "%q must have at least millisecond precision", s)
	}
}

func (v *validator) checkEnum(val any, p *pathSeg, pr *prop) {
	s, ok := val.(string)
	if !ok {
		v.add(p, "value-type", "must be a string")
		return
	}
	if !pr.enum[s] {
		v.addf(p, "enum", "%q is not a value of the closed enumeration %s", s, pr.enumName)
	}
}

func (v *validator) checkRef(val any, p *pathSeg, t *targets) {
	s, ok := val.(string)
	if !ok {
		v.add(p, "value-type", "must be an identifier string")
		return
	}
	typ, ok := splitIdentifier(s)
	if !ok {
		v.addf(p, "ref-syntax", "%q is not an identifier (type--UUID)", s)
		return
	}
	if !t.allows(typ) {
		v.addf(p, "ref-target-type", "must reference %s, not %s", t.desc, typ)
	}
}

func (v *validator) checkHex(val any, p *pathSeg) {
	s, ok := val.(string)
	if !ok {
		v.add(p, "value-type", "must be a hex string")
		return
	}
	if len(s)%2 != 0 {
		v.add(p, "hex", "must have an even number of hexadecimal digits")
		return
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			v.add(p, "hex", "must contain only the digits 0–9 and lower-case a–f")
			return
		}
	}
}

func (v *validator) checkLangTag(val any, p *pathSeg) {
	s, ok := val.(string)
	if !ok {
		v.add(p, "value-type", "must be a language tag string")
		return
	}
	if !validLangTag(s) {
		v.addf(p, "language-tag", "%q is not an RFC 5646 language tag", s)
	}
}

// validLangTag accepts the RFC 5646 tag shape: subtags of 1–8 letters or
// digits separated by hyphens, the first made of letters.
func validLangTag(s string) bool {
	if s == "" || len(s) > 255 {
		return false
	}
	n := 0
	first := true
	for i := 0; i <= len(s); i++ {
		if i == len(s) || s[i] == '-' {
			if n == 0 || n > 8 {
				return false
			}
			n = 0
			first = false
			continue
		}
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= 'A' && c <= 'Z':
		case c >= '0' && c <= '9' && !first:
		default:
			return false
		}
		n++
	}
	return true
}

func (v *validator) checkKillChainPhase(m map[string]any, p *pathSeg) {
	for _, k := range [...]string{"kill_chain_name", "phase_name"} {
		cp := p.child(k)
		val, ok := m[k]
		if !ok {
			v.addf(&cp, "required", "%s is required", k)
		} else if _, isString := val.(string); !isString {
			v.add(&cp, "value-type", "must be a string")
		}
	}
}

func (v *validator) checkExternalReference(m map[string]any, p *pathSeg) {
	sp := p.child("source_name")
	source, ok := m["source_name"].(string)
	if _, present := m["source_name"]; !present {
		v.add(&sp, "required", "source_name is required")
	} else if !ok {
		v.add(&sp, "value-type", "must be a string")
	}
	for _, k := range [...]string{"description", "url", "external_id"} {
		if val, present := m[k]; present {
			if _, isString := val.(string); !isString {
				cp := p.child(k)
				v.add(&cp, "value-type", "must be a string")
			}
		}
	}
	if h, present := m["hashes"]; present {
		hp := p.child("hashes")
		v.checkHashes(h, &hp, true)
	}
	_, d := m["description"]
	_, u := m["url"]
	_, e := m["external_id"]
	if !d && !u && !e {
		v.add(p, "at-least-one", "an external reference needs at least one of description, url or external_id besides source_name")
	}
	extID, _ := m["external_id"].(string)
	switch {
	case v.typ == "attack-pattern" && source == "capec" && e:
		if !validPrefixedNumber(extID, "CAPEC-", 1) {
			ep := p.child("external_id")
			v.addf(&ep, "external-id-format", "a CAPEC external_id must be formatted as CAPEC-[id], not %q", extID)
		}
	case v.typ == "vulnerability" && source == "cve" && e:
		if !validCVE(extID) {
			ep := p.child("external_id")
			v.addf(&ep, "external-id-format", "a CVE external_id must be a CVE identifier such as CVE-2016-1234, not %q", extID)
		}
	}
}

func validPrefixedNumber(s, prefix string, minDigits int) bool {
	if !strings.HasPrefix(s, prefix) {
		return false
	}
	d := s[len(prefix):]
	if len(d) < minDigits {
		return false
	}
	for i := 0; i < len(d); i++ {
		if d[i] < '0' || d[i] > '9' {
			return false
		}
	}
	return true
}

func validCVE(s string) bool {
	if len(s) < len("CVE-2016-1234") || !strings.HasPrefix(s, "CVE-") || s[8] != '-' {
		return false
	}
	return validPrefixedNumber(s[:8], "CVE-", 4) && validPrefixedNumber(s[8:], "-", 4)
}

func (v *validator) checkGranularMarking(m map[string]any, p *pathSeg) {
	sp := p.child("selectors")
	if _, ok := m["selectors"]; !ok {
		v.add(&sp, "required", "selectors is required")
	} else {
		for i, item := range v.list(m["selectors"], &sp) {
			ip := sp.at(i)
			s, ok := item.(string)
			if !ok {
				v.add(&ip, "value-type", "must be a string")
				continue
			}
			if reason := resolveSelector(v.root, s); reason != "" {
				v.addf(&ip, "selector", "selector %q %s", s, reason)
			}
		}
	}
	_, hasRef := m["marking_ref"]
	_, hasLang := m["lang"]
	if hasRef {
		rp := p.child("marking_ref")
		v.checkRef(m["marking_ref"], &rp, toMarking)
	}
	if hasLang {
		lp := p.child("lang")
		v.checkLangTag(m["lang"], &lp)
	}
	switch {
	case !hasRef && !hasLang:
		v.add(p, "at-least-one", "a granular marking needs marking_ref or lang")
	case hasRef && hasLang:
		lp := p.child("lang")
		v.add(&lp, "mutually-exclusive", "a granular marking has either marking_ref or lang, not both")
	}
}

// resolveSelector reports why selector does not select content of obj, or
// "" when it does (section 7.2.3.1: property names separated by ".", list
// items written as "[n]").
func resolveSelector(obj map[string]any, selector string) string {
	if selector == "" {
		return "is empty"
	}
	var cur any = obj
	for _, seg := range strings.Split(selector, ".") {
		if seg == "" {
			return "has an empty segment"
		}
		if seg[0] == '[' {
			if len(seg) < 3 || seg[len(seg)-1] != ']' {
				return "has a malformed list index " + strconv.Quote(seg)
			}
			n, err := strconv.Atoi(seg[1 : len(seg)-1])
			if err != nil || n < 0 || seg[1] == '+' || seg[1] == '-' {
				return "has a malformed list index " + strconv.Quote(seg)
			}
			list, ok := cur.([]any)
			if !ok {
				return "indexes " + strconv.Quote(seg) + " into something that is not a list"
			}
			if n >= len(list) {
				return "indexes past the end of a list"
			}
			cur = list[n]
			continue
		}
		m, ok := cur.(map[string]any)
		if !ok {
			return "selects " + strconv.Quote(seg) + " inside something that is not an object"
		}
		next, ok := m[seg]
		if !ok {
			return "selects " + strconv.Quote(seg) + ", which is not present"
		}
		cur = next
	}
	return ""
}

// checkHashes checks a hashes dictionary (section 2.7). With vocabOnly the
// keys must come from hash-algorithm-ov, as external references require.
func (v *validator) checkHashes(val any, p *pathSeg, vocabOnly bool) {
	m, ok := val.(map[string]any)
	if !ok {
		v.add(p, "value-type", "must be an object of hash algorithm names to hash values")
		return
	}
	if len(m) == 0 {
		v.add(p, "empty-dict", "dictionaries must not be empty; omit the property instead")
		return
	}
	for k, hv := range m {
		kp := p.child(k)
		if !validDictKey(k, 3) {
			v.addf(&kp, "hash-key", "hash algorithm name %q must be 3–250 characters of a–z, A–Z, 0–9, hyphen and underscore", k)
		} else if vocabOnly && !hashAlgorithms[k] {
			v.addf(&kp, "hash-key", "hash algorithm name %q must come from hash-algorithm-ov here", k)
		}
		s, isString := hv.(string)
		if !isString {
			v.add(&kp, "value-type", "hash values must be strings")
			continue
		}
		if n, fixed := hashHexLength[k]; fixed && (len(s) != n || !isHexString(s)) {
			v.addf(&kp, "hash-value", "a %s hash must be %d hexadecimal digits", k, n)
		}
	}
}

func isHexString(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			return false
		}
	}
	return true
}

// validDictKey applies the dictionary key rules (section 2.3): ASCII
// letters, digits, hyphen and underscore, at most 250 characters.
func validDictKey(k string, minLen int) bool {
	if len(k) < minLen || len(k) > 250 || k == "" {
		return false
	}
	for i := 0; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			return false
		}
	}
	return true
}

func (v *validator) checkDict(val any, p *pathSeg, elem kind) {
	m, ok := val.(map[string]any)
	if !ok {
		v.add(p, "value-type", "must be an object (dictionary)")
		return
	}
	if len(m) == 0 {
		v.add(p, "empty-dict", "dictionaries must not be empty; omit the property instead")
		return
	}
	for k, item := range m {
		kp := p.child(k)
		if !validDictKey(k, 1) {
			v.addf(&kp, "dictionary-key", "dictionary key %q must be at most 250 characters of a–z, A–Z, 0–9, hyphen and underscore", k)
		}
		if elem != kAny {
			v.checkValue(item, &kp, &prop{kind: elem})
		}
	}
}

// checkExtensions checks the extensions dictionary (sections 3.2, 3.10, 7.3).
func (v *validator) checkExtensions(val any, p *pathSeg) {
	m, ok := val.(map[string]any)
	if !ok {
		v.add(p, "value-type", "must be an object")
		return
	}
	if len(m) == 0 {
		v.add(p, "empty-dict", "dictionaries must not be empty; omit the property instead")
		return
	}
	for k, ev := range m {
		ep := p.child(k)
		em, isObject := ev.(map[string]any)
		switch {
		case strings.HasPrefix(k, "extension-definition--"):
			if t, ok := splitIdentifier(k); !ok || t != "extension-definition" {
				v.addf(&ep, "extension-key", "extension key %q is not a valid extension-definition identifier", k)
			}
			if !isObject {
				v.add(&ep, "value-type", "an extension must be an object")
				continue
			}
			etp := ep.child("extension_type")
			if _, present := em["extension_type"]; !present {
				v.add(&etp, "required", "extension_type is required for extensions defined by an extension definition")
			}
			v.checkExtensionBody(em, &ep)
		case validExtensionName(k):
			if !isObject {
				v.add(&ep, "value-type", "an extension must be an object")
				continue
			}
			if es := extensionSpecs[k]; es != nil {
				if owner := extensionOwner[k]; v.typ != owner {
					v.addf(&ep, "not-applicable", "the %s extension may only be used on %s objects", k, owner)
				}
				if et, present := em["extension_type"]; present {
					etp := ep.child("extension_type")
					v.checkEnum(et, &etp, &extensionTypeEnum)
				}
				props := es.props
				v.required(em, &ep, es.required...)
				for ek, item := range em {
					if ek == "extension_type" {
						continue
					}
					cp := ep.child(ek)
					if pr, known := props[ek]; known {
						v.checkValue(item, &cp, &pr)
						continue
					}
					if !validPropertyName(ek) {
						v.addf(&cp, "property-name", "property name %q must be 3–250 characters of a–z, 0–9 and underscore, starting with a letter", ek)
					}
					v.scanCustom(ek, item, &cp, 1)
				}
				v.applyConstraints(em, &ep, es)
				continue
			}
			if len(em) == 0 {
				v.add(&ep, "empty-dict", "an extension must not be empty")
			}
			v.checkExtensionBody(em, &ep)
		default:
			v.addf(&ep, "extension-key", "extension key %q must be an extension-definition identifier or an extension name ending in \"-ext\"", k)
		}
	}
}

// checkExtensionBody checks the contents of an extension that this package
// has no definition for: an optional extension_type and custom properties.
func (v *validator) checkExtensionBody(em map[string]any, ep *pathSeg) {
	for ek, item := range em {
		cp := ep.child(ek)
		if ek == "extension_type" {
			v.checkEnum(item, &cp, &extensionTypeEnum)
			continue
		}
		if !validPropertyName(ek) {
			v.addf(&cp, "property-name", "property name %q must be 3–250 characters of a–z, 0–9 and underscore, starting with a letter", ek)
		}
		v.scanCustom(ek, item, &cp, 1)
	}
}

// validExtensionName accepts predefined and custom extension names such as
// "ntfs-ext" or "x-acme-ext".
func validExtensionName(k string) bool {
	return strings.HasSuffix(k, "-ext") && validTypeName(k)
}

// scanCustom checks a custom property (or a property nested in one) only
// through the naming rules of section 3.1: names ending in _ref hold an
// identifier, _refs a list of identifiers, _bin base64 and _hex hexadecimal.
// Custom values are otherwise free-form. An empty string in a custom _ref
// property is tolerated (published ATT&CK data uses it for "no reference").
func (v *validator) scanCustom(name string, val any, p *pathSeg, depth int) {
	if depth > maxDepth {
		return
	}
	switch {
	case strings.HasSuffix(name, "_ref"):
		if s, ok := val.(string); ok && s == "" {
			return
		}
		v.checkRef(val, p, nil)
		return
	case strings.HasSuffix(name, "_refs"):
		list, ok := val.([]any)
		if !ok {
			v.add(p, "value-type", "a property whose name ends in _refs must be a list of identifiers")
			return
		}
		for i, item := range list {
			if s, ok := item.(string); ok && s == "" {
				continue
			}
			ip := p.at(i)
			v.checkRef(item, &ip, nil)
		}
		return
	case strings.HasSuffix(name, "_bin"):
		v.checkValue(val, p, &prop{kind: kBinary})
		return
	case strings.HasSuffix(name, "_hex"):
		v.checkHex(val, p)
		return
	}
	// Children reuse one segment per depth (see validator.scratch).
	switch x := val.(type) {
	case map[string]any:
		seg := &v.scratch[depth]
		for k, item := range x {
			*seg = pathSeg{parent: p, key: k, index: -1}
			v.scanCustom(k, item, seg, depth+1)
		}
	case []any:
		seg := &v.scratch[depth]
		for i, item := range x {
			if m, ok := item.(map[string]any); ok {
				*seg = pathSeg{parent: p, index: i}
				v.scanCustom("", m, seg, depth+1)
			}
		}
	}
}

func (v *validator) checkContainer(val any, p *pathSeg) {
	m, ok := val.(map[string]any)
	if !ok {
		v.add(p, "value-type", "objects must be an object mapping local keys to cyber-observable objects")
		return
	}
	if len(m) == 0 {
		v.add(p, "empty-dict", "objects must contain at least one cyber-observable object")
		return
	}
	for k, item := range m {
		ip := p.child(k)
		o, ok := item.(map[string]any)
		if !ok {
			v.add(&ip, "value-type", "must be a cyber-observable object")
			continue
		}
		tp := ip.child("type")
		if _, present := o["type"]; !present {
			v.add(&tp, "required", "type is required")
		} else if s, isString := o["type"].(string); !isString || !validTypeName(s) {
			v.add(&tp, "type-syntax", "type must be a valid type name")
		}
	}
}

// validTypeName applies the type name rules (sections 3.1 and 11.2): 3–250
// characters of a–z, 0–9 and hyphen, starting with a letter, with no two
// hyphens in a row and no trailing hyphen.
func validTypeName(t string) bool {
	if len(t) < 3 || len(t) > 250 || t[0] < 'a' || t[0] > 'z' || t[len(t)-1] == '-' {
		return false
	}
	for i := 1; i < len(t); i++ {
		c := t[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case c == '-':
			if t[i-1] == '-' {
				return false
			}
		default:
			return false
		}
	}
	return true
}

// validPropertyName applies the property name rules (section 3.1): 3–250
// characters of a–z, 0–9 and underscore, starting with a letter.
func validPropertyName(k string) bool {
	if len(k) < 3 || len(k) > 250 || k[0] < 'a' || k[0] > 'z' {
		return false
	}
	for i := 1; i < len(k); i++ {
		c := k[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '_') {
			return false
		}
	}
	return true
}

// splitIdentifier splits an identifier into its type and checks both parts
// (section 2.9): a valid type name, "--", and an RFC 4122 UUID.
func splitIdentifier(s string) (typ string, ok bool) {
	if len(s) < 3+2+36 {
		return "", false
	}
	i := len(s) - 36 - 2
	if s[i] != '-' || s[i+1] != '-' {
		return "", false
	}
	typ = s[:i]
	if !validTypeName(typ) || !validUUID(s[i+2:]) {
		return "", false
	}
	return typ, true
}

// validUUID accepts the RFC 4122 string form with version 1 to 5 and the
// RFC 4122 variant. Upper- and lower-case hex digits are both accepted.
func validUUID(u string) bool {
	if len(u) != 36 || u[8] != '-' || u[13] != '-' || u[18] != '-' || u[23] != '-' {
		return false
	}
	var bad byte
	for _, i := range uuidHexPositions {
		bad |= hexClass[u[i]]
	}
	if bad != 0 || u[14] < '1' || u[14] > '5' {
		return false
	}
	switch u[19] {
	case '8', '9', 'a', 'b', 'A', 'B':
		return true
	}
	return false
}

// uuidHexPositions lists the positions of the 32 hex digits of a UUID.
var uuidHexPositions = func() (pos [32]uint8) {
	n := 0
	for i := 0; i < 36; i++ {
		if i != 8 && i != 13 && i != 18 && i != 23 {
			pos[n] = uint8(i)
			n++
		}
	}
	return pos
}()

// hexClass is 0 for hexadecimal digits and 1 for every other byte.
var hexClass = func() (t [256]byte) {
	for i := range t {
		c := byte(i)
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F') {
			t[i] = 1
		}
	}
	return t
}()

// Type-specific checks referenced from the tables in types.go.

func checkIndicator(v *validator, obj map[string]any, p *pathSeg) {
	if v.cfg == nil || v.cfg.Pattern == nil {
		return
	}
	if pt, _ := obj["pattern_type"].(string); pt != "stix" {
		return
	}
	pattern, ok := obj["pattern"].(string)
	if !ok {
		return
	}
	if err := v.cfg.Pattern(pattern); err != nil {
		pp := p.child("pattern")
		v.addf(&pp, "pattern", "invalid STIX pattern: %v", err)
	}
}

func checkLocation(v *validator, obj map[string]any, p *pathSeg) {
	_, region := obj["region"]
	_, country := obj["country"]
	_, lat := obj["latitude"]
	_, long := obj["longitude"]
	_, precision := obj["precision"]
	if !region && !country && !(lat && long) {
		v.add(p, "at-least-one", "a location needs region, country, or latitude and longitude")
	}
	if lat && !long {
		cp := p.child("longitude")
		v.add(&cp, "dependency", "longitude is required when latitude is present")
	}
	if long && !lat {
		cp := p.child("latitude")
		v.add(&cp, "dependency", "latitude is required when longitude is present")
	}
	if precision && !(lat && long) {
		cp := p.child("precision")
		v.add(&cp, "dependency", "precision requires latitude and longitude")
	}
}

func checkMalware(v *validator, obj map[string]any, p *pathSeg) {
	if fam, _ := obj["is_family"].(bool); fam {
		if _, ok := obj["name"]; !ok {
			cp := p.child("name")
			v.add(&cp, "required", "name is required when is_family is true")
		}
	}
}

func checkObservedData(v *validator, obj map[string]any, p *pathSeg) {
	list, ok := obj["object_refs"].([]any)
	if !ok || len(list) == 0 {
		return
	}
	for _, item := range list {
		s, _ := item.(string)
		typ, ok := splitIdentifier(s)
		if !ok {
			return // reported by the reference check
		}
		if spec := typeSpecs[typ]; spec == nil || spec.cat == catSCO {
			return
		}
	}
	cp := p.child("object_refs")
	v.add(&cp, "at-least-one", "object_refs must contain at least one SCO reference")
}

func checkRelationship(v *validator, obj map[string]any, p *pathSeg) {
	rt, ok := obj["relationship_type"].(string)
	if !ok {
		return
	}
	valid := rt != ""
	for i := 0; i < len(rt); i++ {
		c := rt[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			valid = false
			break
		}
	}
	if !valid {
		cp := p.child("relationship_type")
		v.addf(&cp, "relationship-type", "relationship_type %q must use only a–z, 0–9 and hyphen", rt)
	}
}

func checkEmailMessage(v *validator, obj map[string]any, p *pathSeg) {
	multi, ok := obj["is_multipart"].(bool)
	if !ok {
		return
	}
	if _, has := obj["body"]; multi && has {
		cp := p.child("body")
		v.add(&cp, "mutually-exclusive", "body must not be used when is_multipart is true")
	}
	if _, has := obj["body_multipart"]; !multi && has {
		cp := p.child("body_multipart")
		v.add(&cp, "mutually-exclusive", "body_multipart must not be used when is_multipart is false")
	}
}

func checkNetworkTraffic(v *validator, obj map[string]any, p *pathSeg) {
	if active, _ := obj["is_active"].(bool); active {
		if _, has := obj["end"]; has {
			cp := p.child("end")
			v.add(&cp, "mutually-exclusive", "end must not be present when is_active is true")
		}
	}
}

func checkIPValue(v *validator, obj map[string]any, p *pathSeg) {
	s, ok := obj["value"].(string)
	if !ok {
		return
	}
	want4 := v.typ == "ipv4-addr"
	var addr netip.Addr
	if strings.Contains(s, "/") {
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			addr = netip.Addr{}
		} else {
			addr = pfx.Addr()
		}
	} else {
		a, err := netip.ParseAddr(s)
		if err == nil && a.Zone() == "" {
			addr = a
		}
	}
	if !addr.IsValid() || addr.Is4() != want4 {
		cp := p.child("value")
		if want4 {
			v.addf(&cp, "value-format", "%q is not an IPv4 address or CIDR block", s)
		} else {
			v.addf(&cp, "value-format", "%q is not an IPv6 address or CIDR block", s)
		}
	}
}

func checkMACValue(v *validator, obj map[string]any, p *pathSeg) {
	s, ok := obj["value"].(string)
	if !ok {
		return
	}
	valid := len(s) == 17
	for i := 0; valid && i < 17; i++ {
		c := s[i]
		if i%3 == 2 {
			valid = c == ':'
		} else {
			valid = c >= '0' && c <= '9' || c >= 'a' && c <= 'f'
		}
	}
	if !valid {
		cp := p.child("value")
		v.addf(&cp, "value-format", "%q must be a colon-delimited, lower-case MAC-48 address with leading zeros", s)
	}
}

// tlpLevels1 maps the TLP 1.0 levels to the identifiers of their predefined
// marking definitions (section 7.2.1.4).
var tlpLevels1 = map[string]string{
	"white": TLP1WhiteID, "green": TLP1GreenID, "amber": TLP1AmberID, "red": TLP1RedID,
}

func checkMarkingDefinition(v *validator, obj map[string]any, p *pathSeg) {
	_, hasExt := obj["extensions"]
	if !hasExt {
		v.required(obj, p, "definition_type", "definition")
	}
	dt, _ := obj["definition_type"].(string)
	def, hasDef := obj["definition"]
	dp := p.child("definition")
	var defObj map[string]any
	if hasDef {
		m, ok := def.(map[string]any)
		if !ok {
			v.add(&dp, "value-type", "definition must be an object")
		}
		defObj = m
	}
	if defObj != nil {
		switch dt {
		case "statement":
			sp := dp.child("statement")
			if s, present := defObj["statement"]; !present {
				v.add(&sp, "required", "a statement marking needs statement")
			} else if _, ok := s.(string); !ok {
				v.add(&sp, "value-type", "must be a string")
			}
		case "tlp":
			tp := dp.child("tlp")
			level, ok := defObj["tlp"].(string)
			if _, present := defObj["tlp"]; !present {
				v.add(&tp, "required", "a TLP marking needs tlp")
			} else if !ok {
				v.add(&tp, "value-type", "must be a string")
			} else if want, known := tlpLevels1[level]; !known {
				v.addf(&tp, "enum", "%q is not a TLP level (white, green, amber, red)", level)
			} else if v.id != want {
				ip := p.child("id")
				v.addf(&ip, "tlp-predefined", "TLP markings must use the predefined marking definitions; TLP:%s is %s", strings.ToUpper(level), want)
			}
		}
	}
	// A marking definition must not mark itself.
	if list, ok := obj["object_marking_refs"].([]any); ok && v.id != "" {
		for i, item := range list {
			if s, _ := item.(string); s == v.id {
				ip := p.child("object_marking_refs")
				ip2 := ip.at(i)
				v.add(&ip2, "circular-marking", "a marking definition must not reference itself")
			}
		}
	}
	if list, ok := obj["granular_markings"].([]any); ok && v.id != "" {
		for i, item := range list {
			gm, _ := item.(map[string]any)
			if s, _ := gm["marking_ref"].(string); s == v.id {
				gp := p.child("granular_markings")
				gi := gp.at(i)
				rp := gi.child("marking_ref")
				v.add(&rp, "circular-marking", "a marking definition must not reference itself")
			}
		}
	}
}

func checkLanguageContent(v *validator, obj map[string]any, p *pathSeg) {
	raw, present := obj["contents"]
	if !present {
		return
	}
	cp := p.child("contents")
	m, ok := raw.(map[string]any)
	if !ok {
		v.add(&cp, "value-type", "contents must be an object keyed by language tag")
		return
	}
	if len(m) == 0 {
		v.add(&cp, "empty-dict", "contents must not be empty")
		return
	}
	for lang, tr := range m {
		lp := cp.child(lang)
		if !validLangTag(lang) {
			v.addf(&lp, "language-tag", "%q is not an RFC 5646 language tag", lang)
		}
		tm, ok := tr.(map[string]any)
		if !ok {
			v.add(&lp, "value-type", "must be an object of translated properties")
			continue
		}
		if len(tm) == 0 {
			v.add(&lp, "empty-dict", "must not be empty")
		}
	}
}

func checkExtensionDefinition(v *validator, obj map[string]any, p *pathSeg) {
	props, present := obj["extension_properties"]
	if !present {
		return
	}
	toplevel := false
	if list, ok := obj["extension_types"].([]any); ok {
		for _, t := range list {
			if t == "toplevel-property-extension" {
				toplevel = true
			}
		}
	}
	pp := p.child("extension_properties")
	if !toplevel {
		v.add(&pp, "not-applicable", "extension_properties may only be used when extension_types includes toplevel-property-extension")
	}
	if list, ok := props.([]any); ok {
		for i, item := range list {
			if s, ok := item.(string); ok && !validPropertyName(s) {
				ip := pp.at(i)
				v.addf(&ip, "property-name", "property name %q must be 3–250 characters of a–z, 0–9 and underscore, starting with a letter", s)
			}
		}
	}
}

// checkBundle checks the envelope of a bundle (section 8). The objects it
// carries are validated one by one by the caller, not here.
func checkBundle(v *validator, obj map[string]any, p *pathSeg) {
	raw, present := obj["objects"]
	if !present {
		return
	}
	op := p.child("objects")
	list, ok := raw.([]any)
	if !ok {
		v.add(&op, "value-type", "objects must be a list")
		return
	}
	if len(list) == 0 {
		v.add(&op, "empty-list", "lists must not be empty; omit the property instead")
	}
	for i, item := range list {
		if _, ok := item.(map[string]any); !ok {
			ip := op.at(i)
			v.add(&ip, "value-type", "must be an object")
		}
	}
}
