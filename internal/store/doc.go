// Package store defines mamori's storage contract: the Store interface every
// backend implements (SQLite embedded, PostgreSQL at scale), the query and
// result types, iterators for large results, and the sentinel errors.
//
// A backend keeps every version of every STIX object, keyed by id and
// modified, as the JSON it was given; it serves the latest version unless asked
// for all of them, and it keeps the indexes that queries need. The conformance
// suite in package storetest states the contract as tests.
package store
