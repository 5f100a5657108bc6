// Package ingest turns documents into stored STIX 2.1 objects: it reads STIX
// bundles as a stream, upgrades STIX 2.0 content, validates every object,
// derives the keys the store indexes, and writes each file in one
// transaction, reporting every rejected object with where and why.
package ingest
