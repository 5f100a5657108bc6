package stix

import (
	"fmt"
	"strings"
)

// Violation is one rule of the STIX 2.1 specification that an object breaks.
// Every rejection names the object, where in it the problem is, and the rule.
type Violation struct {
	// ID is the object's id as written (may be empty or malformed).
	ID string `json:"id,omitempty"`
	// Path is a JSON path inside the object, such as "$.external_references[2].source_name".
	Path string `json:"path"`
	// Rule is a short stable identifier of the rule, such as "required" or "timestamp-format".
	Rule string `json:"rule"`
	// Msg explains the problem to a person.
	Msg string `json:"message"`
}

func (v *Violation) Error() string {
	id := v.ID
	if id == "" {
		id = "(no id)"
	}
	return fmt.Sprintf("%s: %s: %s (%s)", id, v.Path, v.Msg, v.Rule)
}

// Violations is the list of problems found in one object; it implements error.
type Violations []*Violation

func (vs Violations) Error() string {
	parts := make([]string, len(vs))
	for i, v := range vs {
		parts[i] = v.Error()
	}
	return strings.Join(parts, "; ")
}
