package cli

import (
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// newImporter builds the importer every write path uses, so the CLI and the
// API validate the same way.
func newImporter(st store.Store) *ingest.Importer {
	return &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), Patterns: ingest.DefaultPatterns}
}
