package pattern

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"sort"
	"strconv"
	"time"
)

// Observation is what a pattern is matched against: one observed-data
// object, that is NumberObserved observations made between FirstObserved
// and LastObserved, of the cyber-observable objects it reports.
//
// Objects are STIX objects decoded from JSON as map[string]any, preferably
// with json.Decoder.UseNumber so that numbers arrive as json.Number (float64
// and the Go integer types are accepted too). An Observation does not copy
// them: they must not change while it is in use.
type Observation struct {
	// ID is the id of the observed-data object, empty for observations made
	// with NewObservation.
	ID string
	// FirstObserved and LastObserved bound the time of the observations.
	FirstObserved time.Time
	LastObserved  time.Time
	// NumberObserved is how many times the objects were observed (at least 1).
	NumberObserved int

	// roots are the objects the observation reports, where the object path
	// of a comparison starts.
	roots []map[string]any
	// refs resolves the values of _ref and _refs properties: identifiers in
	// STIX 2.1, the keys of the objects dictionary in STIX 2.0.
	refs map[string]map[string]any
	// types are the distinct types of the roots.
	types []string
}

// maxNumberObserved is the upper bound of number_observed (section 4.14).
const maxNumberObserved = 999999999

// NewObservation returns an observation of objects, observed count times
// between first and last. References between the objects (_ref and _refs
// properties) are resolved by their id property. It fails when count is not
// between 1 and 999,999,999 or last is before first.
func NewObservation(first, last time.Time, count int, objects ...map[string]any) (*Observation, error) {
	if count < 1 || count > maxNumberObserved {
		return nil, fmt.Errorf("number observed %d is not between 1 and %d", count, maxNumberObserved)
	}
	if last.Before(first) {
		return nil, errors.New("last observed is before first observed")
	}
	o := &Observation{FirstObserved: first, LastObserved: last, NumberObserved: count}
	o.refs = make(map[string]map[string]any, len(objects))
	for _, obj := range objects {
		if obj == nil {
			continue
		}
		o.roots = append(o.roots, obj)
		if id, ok := obj["id"].(string); ok {
			o.refs[id] = obj
		}
	}
	o.collectTypes()
	return o, nil
}

// Objects returns the objects the observation reports.
func (o *Observation) Objects() []map[string]any { return o.roots }

func (o *Observation) collectTypes() {
	for _, r := range o.roots {
		t, _ := r["type"].(string)
		found := false
		for _, have := range o.types {
			if have == t {
				found = true
				break
			}
		}
		if !found {
			o.types = append(o.types, t)
		}
	}
}

func (o *Observation) hasType(t string) bool {
	for _, have := range o.types {
		if have == t {
			return true
		}
	}
	return false
}

// ObservationsFromSTIX21 builds one Observation for each observed-data
// object in objects. The objects its object_refs names are looked up by id
// among objects; only those can be reached, through object_refs and through
// _ref and _refs properties (section 9.7.4). A reference to an object that
// is not in objects is an object that was not observed. An observed-data
// object that embeds its objects in the deprecated objects property is read
// as in STIX 2.0.
func ObservationsFromSTIX21(objects []map[string]any) ([]*Observation, error) {
	byID := make(map[string]map[string]any, len(objects))
	for _, obj := range objects {
		if id, ok := obj["id"].(string); ok {
			byID[id] = obj
		}
	}
	var out []*Observation
	for i, obj := range objects {
		if t, _ := obj["type"].(string); t != "observed-data" {
			continue
		}
		o, err := observedDataHeader(obj, i)
		if err != nil {
			return nil, err
		}
		refs, hasRefs := obj["object_refs"]
		if !hasRefs {
			if _, ok := obj["objects"]; !ok {
				return nil, fmt.Errorf("%s: has neither object_refs nor objects", o.name(i))
			}
			if err := o.embedded(obj, i); err != nil {
				return nil, err
			}
			out = append(out, o)
			continue
		}
		list, ok := refs.([]any)
		if !ok {
			return nil, fmt.Errorf("%s: object_refs is not a list", o.name(i))
		}
		o.refs = make(map[string]map[string]any, len(list))
		for _, r := range list {
			id, ok := r.(string)
			if !ok {
				return nil, fmt.Errorf("%s: object_refs holds a %T, not an identifier", o.name(i), r)
			}
			if target := byID[id]; target != nil {
				if _, dup := o.refs[id]; !dup {
					o.refs[id] = target
					o.roots = append(o.roots, target)
				}
			}
		}
		o.collectTypes()
		out = append(out, o)
	}
	return out, nil
}

// ObservationsFromSTIX20 builds one Observation for each STIX 2.0
// observed-data object in objects. Its cyber-observable objects are in its
// objects dictionary, and their _ref and _refs properties hold keys of that
// dictionary.
func ObservationsFromSTIX20(objects []map[string]any) ([]*Observation, error) {
	var out []*Observation
	for i, obj := range objects {
		if t, _ := obj["type"].(string); t != "observed-data" {
			continue
		}
		o, err := observedDataHeader(obj, i)
		if err != nil {
			return nil, err
		}
		if err := o.embedded(obj, i); err != nil {
			return nil, err
		}
		out = append(out, o)
	}
	return out, nil
}

func (o *Observation) name(i int) string {
	if o.ID != "" {
		return o.ID
	}
	return fmt.Sprintf("observed-data at index %d", i)
}

// embedded reads the objects dictionary of a STIX 2.0 observed-data.
func (o *Observation) embedded(obj map[string]any, i int) error {
	raw, ok := obj["objects"]
	if !ok {
		return fmt.Errorf("%s: has no objects dictionary (STIX 2.0 observed-data embeds its objects)", o.name(i))
	}
	dict, ok := raw.(map[string]any)
	if !ok {
		return fmt.Errorf("%s: objects is not a dictionary", o.name(i))
	}
	keys := make([]string, 0, len(dict))
	for k := range dict {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		a, aerr := strconv.Atoi(keys[i])
		b, berr := strconv.Atoi(keys[j])
		if aerr == nil && berr == nil {
			return a < b
		}
		if (aerr == nil) != (berr == nil) {
			return aerr == nil
		}
		return keys[i] < keys[j]
	})
	o.refs = make(map[string]map[string]any, len(dict))
	for _, k := range keys {
		sco, ok := dict[k].(map[string]any)
		if !ok {
			return fmt.Errorf("%s: objects[%q] is not an object", o.name(i), k)
		}
		o.refs[k] = sco
		o.roots = append(o.roots, sco)
	}
	o.collectTypes()
	return nil
}

// observedDataHeader reads first_observed, last_observed and
// number_observed.
func observedDataHeader(obj map[string]any, i int) (*Observation, error) {
	o := &Observation{}
	o.ID, _ = obj["id"].(string)
	var err error
	if o.FirstObserved, err = timeProperty(obj, "first_observed"); err != nil {
		return nil, fmt.Errorf("%s: %w", o.name(i), err)
	}
	if o.LastObserved, err = timeProperty(obj, "last_observed"); err != nil {
		return nil, fmt.Errorf("%s: %w", o.name(i), err)
	}
	if o.LastObserved.Before(o.FirstObserved) {
		return nil, fmt.Errorf("%s: last_observed is before first_observed", o.name(i))
	}
	n, ok := integerValue(obj["number_observed"])
	if !ok || n < 1 || n > maxNumberObserved {
		return nil, fmt.Errorf("%s: number_observed must be an integer between 1 and %d", o.name(i), maxNumberObserved)
	}
	o.NumberObserved = int(n)
	return o, nil
}

func timeProperty(obj map[string]any, name string) (time.Time, error) {
	s, ok := obj[name].(string)
	if !ok {
		return time.Time{}, fmt.Errorf("%s is missing or not a string", name)
	}
	t, err := parseTimestamp(s)
	if err != nil {
		return time.Time{}, fmt.Errorf("%s: %w", name, err)
	}
	return t, nil
}

// integerValue converts a decoded JSON number to an int64.
func integerValue(v any) (int64, bool) {
	switch n := v.(type) {
	case json.Number:
		i, err := n.Int64()
		return i, err == nil
	case float64:
		if n != math.Trunc(n) || math.Abs(n) > 1<<53 {
			return 0, false
		}
		return int64(n), true
	case int:
		return int64(n), true
	case int64:
		return n, true
	}
	return 0, false
}
