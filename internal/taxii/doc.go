// Package taxii serves mamori collections over TAXII 2.1 and pulls from and
// pushes to other TAXII 2.1 servers.
//
// The server (NewServer) implements every endpoint of the TAXII 2.1
// specification under /taxii2/: discovery, API roots, collections, objects
// (GET, POST), one object (GET, DELETE), its versions, the manifest and
// status resources. Every read goes through the caller's access.Principal
// Viewer, so an object a caller may not read is absent, never forbidden.
// Pages are keyset pages over the collection's membership sequence, and the
// next cursor is signed so that a client cannot alter it.
//
// The client (NewClient) talks to any TAXII 2.1 server with HTTP Basic or
// Bearer credentials, retries 429 and 503 answers as told by Retry-After, and
// by default refuses to connect to loopback, private and link-local
// addresses, checked on the resolved address at connect time. Pull imports a
// remote collection page by page through the ingest.Importer; Sync and
// Scheduler do the same for the remotes configured with mamori remote add,
// committing each page's checkpoint with the page's objects.
//
// docs/taxii.md describes the behaviour and its design.
package taxii
