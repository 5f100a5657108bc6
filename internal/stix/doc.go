// Package stix holds mamori's internal model: STIX 2.1 objects kept as their
// original JSON (so unknown and custom properties survive a round trip), the
// common properties parsed out for indexing, validation against the STIX 2.1
// specification, the STIX 2.0 to 2.1 upgrade, deterministic identifiers for
// cyber-observable objects, and the predefined TLP marking definitions.
package stix
