package cli

import (
	"context"
	"fmt"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/store/postgres"
)

// TestPostgresStore runs the data commands against PostgreSQL through
// --store when MAMORI_TEST_POSTGRES names a server.
func TestPostgresStore(t *testing.T) {
	dsn := os.Getenv("MAMORI_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("MAMORI_TEST_POSTGRES not set")
	}
	ctx := context.Background()
	schema := fmt.Sprintf("cli_test_%d", time.Now().UnixNano())
	st, err := postgres.Open(ctx, dsn, postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		st.Pool().Exec(ctx, "DROP SCHEMA "+schema+" CASCADE")
		st.Close()
	})
	u, _ := url.Parse(dsn)
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	storeURL := u.String()
	code, out, errOut := run(t, t.TempDir(), "", "--store", storeURL, "import", "../../testdata/kb-sample.json")
	if code != 0 || !strings.HasPrefix(out, "read 10, new 9, new versions 1") {
		t.Fatalf("import into PostgreSQL: %d %q %q", code, out, errOut)
	}
	code, out, _ = run(t, t.TempDir(), "", "--store", storeURL, "search", "--value", "198.51.100.7")
	if code != 0 || !strings.Contains(out, "indicator--b2c3d4e5") {
		t.Fatalf("search in PostgreSQL: %d %q", code, out)
	}
	code, out, _ = run(t, t.TempDir(), "", "--store", storeURL, "stats", "--json")
	if code != 0 || !strings.Contains(out, `"objects":9`) {
		t.Fatalf("stats in PostgreSQL: %d %q", code, out)
	}
	if code, out, errOut := run(t, t.TempDir(), "", "--store", storeURL, "org", "add", "CSIRT"); code != 0 {
		t.Fatalf("org add in PostgreSQL: %q %q", out, errOut)
	}
}
