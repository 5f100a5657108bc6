package web

import (
	"encoding/json"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
)

// common holds the properties of a STIX object that lists, charts and the
// graph show; decoding only these is much cheaper than the whole object.
type common struct {
	Type             string         `json:"type"`
	ID               string         `json:"id"`
	Name             string         `json:"name"`
	Value            any            `json:"value"`
	Pattern          string         `json:"pattern"`
	Description      string         `json:"description"`
	Modified         string         `json:"modified"`
	Created          string         `json:"created"`
	Revoked          bool           `json:"revoked"`
	Markings         []string       `json:"object_marking_refs"`
	RelationshipType string         `json:"relationship_type"`
	SourceRef        string         `json:"source_ref"`
	TargetRef        string         `json:"target_ref"`
	SightingOfRef    string         `json:"sighting_of_ref"`
	WhereSightedRefs []string       `json:"where_sighted_refs"`
	FirstSeen        string         `json:"first_seen"`
	LastSeen         string         `json:"last_seen"`
	Count            *int64         `json:"count"`
	Hashes           map[string]any `json:"hashes"`
	KillChainPhases  []struct {
		KillChainName string `json:"kill_chain_name"`
		PhaseName     string `json:"phase_name"`
	} `json:"kill_chain_phases"`
	ExternalReferences []struct {
		SourceName  string `json:"source_name"`
		ExternalID  string `json:"external_id"`
		URL         string `json:"url"`
		Description string `json:"description"`
	} `json:"external_references"`
}

func decodeCommon(raw []byte) common {
	var c common
	json.Unmarshal(raw, &c)
	return c
}

// label is a short human name for an object: its name, value, a hash, a
// relationship or sighting in words, else its identifier.
func (c *common) label() string {
	switch {
	case c.Name != "":
		return c.Name
	case c.Value != nil:
		switch v := c.Value.(type) {
		case string:
			return v
		case float64:
			return strings.TrimSuffix(strings.TrimRight(jsonNumber(v), "0"), ".")
		}
	case len(c.Hashes) > 0:
		for _, k := range []string{"SHA-256", "SHA-1", "MD5"} {
			if h, ok := c.Hashes[k].(string); ok {
				return h
			}
		}
		for _, h := range c.Hashes {
			if s, ok := h.(string); ok {
				return s
			}
		}
	case c.Type == "relationship":
		return shortID(c.SourceRef) + " " + c.RelationshipType + " " + shortID(c.TargetRef)
	case c.Type == "sighting":
		return shortID(c.SightingOfRef)
	case c.Pattern != "":
		return c.Pattern
	}
	return c.ID
}

func jsonNumber(f float64) string {
	b, _ := json.Marshal(f)
	return string(b)
}

// externalID is the ATT&CK (or other) identifier of an object, e.g. T1059.
func (c *common) externalID() string {
	for _, r := range c.ExternalReferences {
		if r.ExternalID != "" && (r.SourceName == "mitre-attack" || r.SourceName == "mitre-ics-attack" || r.SourceName == "mitre-mobile-attack") {
			return r.ExternalID
		}
	}
	for _, r := range c.ExternalReferences {
		if r.ExternalID != "" {
			return r.ExternalID
		}
	}
	return ""
}

// tlp is the strictest TLP marking of the object ("" when none).
func (c *common) tlp() string {
	order := map[string]int{"clear": 0, "green": 1, "amber": 2, "amber+strict": 3, "red": 4}
	best, rank := "", -1
	for _, m := range c.Markings {
		if l, ok := stix.TLPLevel(m); ok && order[l] > rank {
			best, rank = l, order[l]
		}
	}
	return best
}

// shortID shortens an identifier for tight places: the type and the first
// block of the UUID.
func shortID(id string) string {
	typ, u, ok := strings.Cut(id, "--")
	if !ok || len(u) < 8 {
		return id
	}
	return typ + "--" + u[:8]
}

func typeOfID(id string) string {
	t, _, _ := strings.Cut(id, "--")
	return t
}

func parseTS(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	t, err := stix.ParseTimestamp(s)
	if err != nil {
		return time.Time{}
	}
	return t
}

// item is one object in a list.
type item struct {
	ID       string
	Type     string
	Label    string
	Modified time.Time
	Added    time.Time
	Level    store.Level
	TLP      string
	Revoked  bool
	Ref      string // for a sighting: what was sighted
}

func itemOf(rec *store.Record) item {
	c := decodeCommon(rec.Raw)
	return item{ID: rec.ID, Type: rec.Type, Label: truncate(c.label(), 160), Modified: rec.Modified, Added: rec.DateAdded,
		Level: rec.Access.Level, TLP: c.tlp(), Revoked: rec.Revoked}
}

// truncate cuts s to at most n runes, marking the cut.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}
