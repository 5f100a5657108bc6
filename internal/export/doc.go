// Package export writes what the knowledge base holds in the formats other
// tools read, starting with STIX 2.1 bundles. Every writer streams: memory
// does not grow with the number of objects.
package export
