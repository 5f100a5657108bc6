package ingest

import (
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/stix/pattern"
)

// DefaultValidator is the validator every write path uses: the STIX 2.1
// rules, with STIX patterns of indicators checked by the pattern parser.
func DefaultValidator() *stix.Validator {
	return &stix.Validator{Pattern: func(p string) error {
		_, err := pattern.Parse(p)
		return err
	}}
}

// PatternParser parses a STIX pattern once and returns the values it
// compares for equality (normalised for the index) and the parse error.
type PatternParser func(pattern string) (values []string, err error)

// DefaultPatterns is the PatternParser of every write path: one parse gives
// both the validation error and the index values.
func DefaultPatterns(p string) ([]string, error) {
	pt, err := pattern.Parse(p)
	if err != nil {
		return nil, err
	}
	return patternValues(pt), nil
}

// DefaultPatternValues indexes the values a STIX pattern compares for
// equality, normalised like the values of cyber-observable objects.
func DefaultPatternValues(p string) []string {
	pt, err := pattern.Parse(p)
	if err != nil {
		return nil
	}
	return patternValues(pt)
}

func patternValues(pt *pattern.Pattern) []string {
	obs := pt.Observables()
	if len(obs) == 0 {
		return nil
	}
	out := make([]string, 0, len(obs))
	for _, o := range obs {
		if v := stix.NormalizeValue(o.Value); v != "" {
			out = append(out, v)
		}
	}
	return out
}
