package misp

import (
	"bytes"
	"encoding/json"
	"strconv"
	"strings"
	"time"
)

// The MISP core format, as far as mamori reads it. MISP writes numbers and
// booleans as strings in some versions and as JSON numbers and booleans in
// others; flexString and flexBool accept both.

// Event is a MISP event.
type Event struct {
	UUID             string            `json:"uuid"`
	Info             string            `json:"info"`
	Date             flexString        `json:"date"`
	Timestamp        flexString        `json:"timestamp"`
	PublishTimestamp flexString        `json:"publish_timestamp"`
	Published        flexBool          `json:"published"`
	ThreatLevelID    flexString        `json:"threat_level_id"`
	Analysis         flexString        `json:"analysis"`
	Orgc             *Org              `json:"Orgc"`
	Attribute        []Attribute       `json:"Attribute"`
	Object           []Object          `json:"Object"`
	Tag              []Tag             `json:"Tag"`
	Galaxy           []Galaxy          `json:"Galaxy"`
	ShadowAttribute  []json.RawMessage `json:"ShadowAttribute"`
	EventReport      []EventReport     `json:"EventReport"`
	Sighting         []Sighting        `json:"Sighting"`
}

// Org is an organisation (Orgc is the creator of an event).
type Org struct {
	UUID string `json:"uuid"`
	Name string `json:"name"`
}

// Attribute is one MISP attribute.
type Attribute struct {
	UUID            string            `json:"uuid"`
	Type            string            `json:"type"`
	Category        string            `json:"category"`
	Value           flexString        `json:"value"`
	ToIDS           flexBool          `json:"to_ids"`
	Comment         string            `json:"comment"`
	Timestamp       flexString        `json:"timestamp"`
	Deleted         flexBool          `json:"deleted"`
	FirstSeen       flexString        `json:"first_seen"`
	LastSeen        flexString        `json:"last_seen"`
	ObjectRelation  flexString        `json:"object_relation"`
	Data            string            `json:"data"`
	Tag             []Tag             `json:"Tag"`
	Galaxy          []Galaxy          `json:"Galaxy"`
	Sighting        []Sighting        `json:"Sighting"`
	ShadowAttribute []json.RawMessage `json:"ShadowAttribute"`
}

// Object is a MISP object: attributes grouped by a template.
type Object struct {
	UUID            string            `json:"uuid"`
	Name            string            `json:"name"`
	MetaCategory    string            `json:"meta-category"`
	Description     string            `json:"description"`
	TemplateUUID    string            `json:"template_uuid"`
	Comment         string            `json:"comment"`
	Timestamp       flexString        `json:"timestamp"`
	Deleted         flexBool          `json:"deleted"`
	FirstSeen       flexString        `json:"first_seen"`
	LastSeen        flexString        `json:"last_seen"`
	Attribute       []Attribute       `json:"Attribute"`
	ObjectReference []ObjectReference `json:"ObjectReference"`
	Tag             []Tag             `json:"Tag"`
}

// ObjectReference links a MISP object to an attribute or another object.
type ObjectReference struct {
	UUID             string     `json:"uuid"`
	ObjectUUID       string     `json:"object_uuid"`
	ReferencedUUID   string     `json:"referenced_uuid"`
	RelationshipType string     `json:"relationship_type"`
	Comment          string     `json:"comment"`
	Timestamp        flexString `json:"timestamp"`
	Deleted          flexBool   `json:"deleted"`
}

// Tag is a tag (taxonomy machine tag, galaxy tag or free text).
type Tag struct {
	Name string `json:"name"`
}

// Galaxy is a galaxy with the clusters attached to an event or attribute.
type Galaxy struct {
	UUID          string    `json:"uuid"`
	Name          string    `json:"name"`
	Type          string    `json:"type"`
	Namespace     string    `json:"namespace"`
	GalaxyCluster []Cluster `json:"GalaxyCluster"`
}

// Cluster is one galaxy cluster (a threat actor, a malware family, an
// ATT&CK technique, …).
type Cluster struct {
	UUID        string         `json:"uuid"`
	Type        string         `json:"type"`
	Value       string         `json:"value"`
	TagName     string         `json:"tag_name"`
	Description string         `json:"description"`
	Source      string         `json:"source"`
	Meta        map[string]any `json:"meta"`
}

// Sighting is a sighting of an attribute.
type Sighting struct {
	UUID          string     `json:"uuid"`
	DateSighting  flexString `json:"date_sighting"`
	Type          flexString `json:"type"` // 0 sighting, 1 false positive, 2 expiration
	Source        string     `json:"source"`
	Organisation  *Org       `json:"Organisation"`
	AttributeUUID string     `json:"attribute_uuid"`
}

// EventReport is a free-text (Markdown) report inside an event.
type EventReport struct {
	UUID      string     `json:"uuid"`
	Name      string     `json:"name"`
	Content   string     `json:"content"`
	Timestamp flexString `json:"timestamp"`
	Deleted   flexBool   `json:"deleted"`
}

// flexString accepts a JSON string, number, boolean or null.
type flexString string

func (f *flexString) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*f = ""
	case b[0] == '"':
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		*f = flexString(s)
	case b[0] == '{' || b[0] == '[':
		*f = flexString(b)
	default:
		*f = flexString(b)
	}
	return nil
}

// flexBool accepts true/false, 0/1, "0"/"1", "true"/"false" and null.
type flexBool bool

func (f *flexBool) UnmarshalJSON(b []byte) error {
	s := strings.Trim(strings.TrimSpace(string(b)), `"`)
	switch strings.ToLower(s) {
	case "true", "1":
		*f = true
	default:
		*f = false
	}
	return nil
}

// unixTime reads a MISP timestamp (seconds since the epoch, as a string).
func unixTime(s flexString) (time.Time, bool) {
	n, err := strconv.ParseInt(strings.TrimSpace(string(s)), 10, 64)
	if err != nil || n <= 0 || n > 253402300799 {
		return time.Time{}, false
	}
	return time.Unix(n, 0).UTC(), true
}

// seenTime reads first_seen/last_seen (ISO 8601 with microseconds and an
// offset) or a date.
func seenTime(s flexString) (time.Time, bool) {
	v := strings.TrimSpace(string(s))
	if v == "" {
		return time.Time{}, false
	}
	for _, layout := range []string{time.RFC3339Nano, "2006-01-02T15:04:05.999999-0700", "2006-01-02 15:04:05", "2006-01-02"} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC(), true
		}
	}
	if t, ok := unixTime(s); ok {
		return t, true
	}
	return time.Time{}, false
}
