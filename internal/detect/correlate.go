package detect

import (
	"context"
	"encoding/json"
	"time"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// Objects that share an observable are linked through the store's value
// index (store.Query{Value: v}): one row per value and object version, so
// its size grows with the values objects hold, never with the number of
// pairs that share one. A value held by 100,000 objects is 100,000 rows,
// not five billion links; a correlation query reads one page of them.

// ObjectRef describes a correlated object.
type ObjectRef struct {
	ID       string    `json:"id"`
	Type     string    `json:"type"`
	Name     string    `json:"name,omitempty"`
	Modified time.Time `json:"modified,omitzero"`
	Seq      int64     `json:"-"`
}

// Correlation is a value and (a page of) the objects that hold it.
type Correlation struct {
	Value   string      `json:"value"`
	Total   int64       `json:"total"` // objects holding the value (that the reader may see)
	Objects []ObjectRef `json:"objects"`
	// More is set when objects after this page hold the value; Next is the
	// sequence number to resume after.
	More bool  `json:"more"`
	Next int64 `json:"-"`
}

// CorrelateValue lists the objects (latest versions the viewer may read)
// that hold a value, normalised like the store's index, limit at a time
// after the sequence number after.
func CorrelateValue(ctx context.Context, st store.Store, value string, v *store.Viewer, limit int, after int64) (Correlation, error) {
	value = stix.NormalizeValue(value)
	c := Correlation{Value: value, Objects: []ObjectRef{}}
	if value == "" {
		return c, nil
	}
	if limit <= 0 {
		limit = 100
	}
	q := store.Query{Value: value, Viewer: v}
	n, err := st.Count(ctx, q)
	if err != nil {
		return c, err
	}
	c.Total = n
	q.AfterSeq, q.Limit = after, limit+1
	it, err := st.Query(ctx, q)
	if err != nil {
		return c, err
	}
	defer it.Close()
	for it.Next() {
		if len(c.Objects) == limit {
			c.More = true
			break
		}
		r := it.At()
		c.Objects = append(c.Objects, refOf(r))
		c.Next = r.Seq
	}
	return c, it.Err()
}

func refOf(r *store.Record) ObjectRef {
	var j struct {
		Name  string `json:"name"`
		Value string `json:"value"`
	}
	json.Unmarshal(r.Raw, &j)
	name := j.Name
	if name == "" {
		name = j.Value
	}
	return ObjectRef{ID: r.ID, Type: r.Type, Name: name, Modified: r.Modified, Seq: r.Seq}
}

// ObjectCorrelations lists, for each observable value of an object, the
// other objects that hold it (limit per value). The values are those the
// store indexes: a cyber-observable's, those an indicator's pattern
// compares, and for observed-data and sightings those of the objects they
// refer to. It returns store.ErrNotFound when the viewer may not read the
// object.
func ObjectCorrelations(ctx context.Context, st store.Store, id string, v *store.Viewer, limit int) ([]Correlation, error) {
	rec, err := st.Get(ctx, id, store.GetOptions{Viewer: v})
	if err != nil {
		return nil, err
	}
	values, err := objectValues(ctx, st, rec, v, 0)
	if err != nil {
		return nil, err
	}
	own, err := objectValues(ctx, st, rec, v, 1) // without referenced objects
	if err != nil {
		return nil, err
	}
	out := []Correlation{}
	for _, val := range values {
		c, err := CorrelateValue(ctx, st, val, v, limit+1, 0)
		if err != nil {
			return nil, err
		}
		// The object itself is not a correlation.
		others := c.Objects[:0]
		for _, o := range c.Objects {
			if o.ID != id {
				others = append(others, o)
			}
		}
		if contains(own, val) || len(others) < len(c.Objects) {
			c.Total--
		}
		if len(others) > limit {
			others, c.More = others[:limit], true
		}
		c.Objects = others
		if c.Total > 0 {
			out = append(out, c)
		}
	}
	return out, nil
}

// objectValues returns the indexed values of an object.
func objectValues(ctx context.Context, st store.Store, rec *store.Record, v *store.Viewer, depth int) ([]string, error) {
	var m map[string]any
	if err := json.Unmarshal(rec.Raw, &m); err != nil {
		return nil, err
	}
	var values []string
	add := func(vals ...string) {
		for _, x := range vals {
			if x != "" && !contains(values, x) {
				values = append(values, x)
			}
		}
	}
	add(stix.ObservableValues(m)...)
	switch rec.Type {
	case "indicator":
		if pt, _ := m["pattern_type"].(string); pt == "" || pt == "stix" {
			if p, ok := m["pattern"].(string); ok {
				add(ingest.DefaultPatternValues(p)...)
			}
		}
	case "observed-data", "sighting":
		if depth > 0 {
			break
		}
		var refs []string
		if r, ok := m["sighting_of_ref"].(string); ok {
			refs = append(refs, r)
		}
		if l, ok := m["object_refs"].([]any); ok {
			for _, x := range l {
				if s, ok := x.(string); ok {
					refs = append(refs, s)
				}
			}
		}
		if len(refs) > 100 {
			refs = refs[:100]
		}
		for _, ref := range refs {
			r, err := st.Get(ctx, ref, store.GetOptions{Viewer: v})
			if err != nil {
				continue
			}
			vals, err := objectValues(ctx, st, r, v, depth+1)
			if err == nil {
				add(vals...)
			}
		}
	}
	return values, nil
}
