// Package pattern implements the STIX 2.1 patterning language (section 9 of
// the STIX 2.1 specification): a lexer and a recursive-descent parser that
// report byte offsets on error, a printer for a canonical form used to
// deduplicate indicators, the extraction of the observables a pattern names,
// an evaluator that matches patterns against observed-data, and an Index that
// matches one observation against a large number of patterns at once.
//
// Parse turns a pattern string into a *Pattern:
//
//	p, err := pattern.Parse("[ipv4-addr:value = '198.51.100.7']")
//	if err != nil {
//		var perr *pattern.Error
//		errors.As(err, &perr) // perr.Offset is a byte offset into the input
//	}
//
// A Pattern is immutable and safe for concurrent use. Observations are built
// from STIX objects decoded as map[string]any with ObservationsFromSTIX21 or
// ObservationsFromSTIX20, or directly with NewObservation, and matched with
// Pattern.Match or Index.Match.
//
// docs/pattern.md describes the grammar, the precedence rules, the type rules
// of comparisons, the canonical form and the design of the Index.
package pattern
