package vulndb

import (
	"strings"

	gocvss20 "github.com/pandatix/go-cvss/20"
	gocvss30 "github.com/pandatix/go-cvss/30"
	gocvss31 "github.com/pandatix/go-cvss/31"
	gocvss40 "github.com/pandatix/go-cvss/40"
)

// ScoreVector computes the base score of a CVSS v2, v3.0, v3.1 or v4.0
// vector; ok is false when the vector does not parse.
func ScoreVector(vector string) (float64, bool) {
	vector = strings.TrimSpace(vector)
	switch {
	case strings.HasPrefix(vector, "CVSS:3.1/"):
		if c, err := gocvss31.ParseVector(vector); err == nil {
			return c.BaseScore(), true
		}
	case strings.HasPrefix(vector, "CVSS:3.0/"):
		if c, err := gocvss30.ParseVector(vector); err == nil {
			return c.BaseScore(), true
		}
	case strings.HasPrefix(vector, "CVSS:4.0/"):
		if c, err := gocvss40.ParseVector(vector); err == nil {
			return c.Score(), true
		}
	case strings.HasPrefix(vector, "AV:"):
		v := strings.TrimPrefix(vector, "(")
		v = strings.TrimSuffix(v, ")")
		if c, err := gocvss20.ParseVector(v); err == nil {
			return c.BaseScore(), true
		}
	}
	return 0, false
}

// severityFromVector builds a Severity from a vector, computing its score.
func severityFromVector(vector string) Severity {
	if s, ok := ScoreVector(vector); ok {
		return Severity{Score: s, Vector: vector, Label: LabelFor(s)}
	}
	return Severity{}
}

// severityLabel normalises a qualitative rating ("HIGH", "Moderate").
func severityLabel(s string) string {
	switch strings.ToLower(strings.TrimSpace(s)) {
	case "critical":
		return "critical"
	case "high", "important":
		return "high"
	case "medium", "moderate":
		return "medium"
	case "low":
		return "low"
	case "none":
		return "none"
	}
	return ""
}
