// Package match matches telemetry against indicators. It reads records
// (Zeek TSV and JSON logs, Suricata EVE, other JSON through a field map,
// CEF, syslog and free text), takes out their observables in a normalised
// form (Record, Path, Normalize), and looks them up in a Matcher: STIX
// patterns kept in a pattern.Index behind a prefilter, with what telemetry
// needs on top (subdomains, URL normalisation, case rules, conjunctions of
// values on one object, LIKE by table, evaluation of the rest per record).
// Engine runs the whole on several goroutines. See docs/detection.md.
package match
