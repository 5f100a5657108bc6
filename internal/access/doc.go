// Package access decides who may read and write what: organisations, users,
// API tokens and roles; the distribution of every object (organisation,
// sharing group, community, connected communities, public) capped by its TLP
// marking; and the one read check that every read path applies, expressed as
// a store.Viewer so that the database filters, counts and pages with it.
// docs/access.md describes the rules.
package access
