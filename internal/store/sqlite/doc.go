// Package sqlite is mamori's embedded storage backend: one SQLite database
// (pure Go, modernc.org/sqlite) in the data directory, in WAL mode, with a
// pool of read connections and a single writer connection, and ordered
// migrations embedded in the binary. docs/schema.md describes the tables.
package sqlite
