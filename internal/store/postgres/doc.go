// Package postgres is the PostgreSQL implementation of store.Store, for
// instances that outgrow one SQLite file or run several mamori processes
// against one database.
//
// It mirrors the SQLite backend: the same tables (see migrations/), the same
// version keys, latest flags and write outcomes, strictly increasing
// date_added, keyset pagination on seq, and the same conformance suite
// (internal/store/storetest). Differences are in how PostgreSQL does the work:
//
//   - Writers are serialised across processes by a row lock on writer_clock,
//     taken when a write transaction begins and held until it ends; the row
//     also carries the last seq, cseq and date_added handed out, so
//     date_added is strictly increasing for every process sharing the
//     database.
//   - A batch is written in two round trips: one looks up the stored versions
//     of the batch's ids, the other sends every insert and update as arrays
//     (INSERT … SELECT FROM unnest(…)) in one pipeline.
//   - Full-text search uses a table of tsvector documents with a GIN index;
//     mamori tokenises the text itself, like SQLite's unicode61 tokenizer, so
//     search does not depend on the database's locale or text search
//     configuration.
//
// Open takes a connection string (libpq URL or key=value form) and an
// optional schema, which it creates and puts on the search_path. See
// docs/postgres.md for running mamori on PostgreSQL.
package postgres
