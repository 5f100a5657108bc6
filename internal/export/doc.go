// Package export writes what the knowledge base holds in the formats other
// tools read: STIX 2.1 bundles, MISP, CSV, plain lists, Suricata and Snort
// rules, Zeek Intel files, DNS response policy zones and firewall external
// dynamic lists. Every writer streams: memory
// does not grow with the number of objects.
package export
