package ingest_test

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

// sharedDir finds ../shared (or $MAMORI_SHARED); tests that need it skip without it.
func sharedDir(t testing.TB) string {
	t.Helper()
	if d := os.Getenv("MAMORI_SHARED"); d != "" {
		return d
	}
	for _, rel := range []string{"../../../shared", "../../shared", "../shared"} {
		if st, err := os.Stat(filepath.Join(rel, "data")); err == nil && st.IsDir() {
			abs, _ := filepath.Abs(rel)
			return abs
		}
	}
	t.Skip("shared CTI data not found (set MAMORI_SHARED)")
	return ""
}

func openStore(t testing.TB) *sqlite.Store {
	t.Helper()
	s, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func newImporter(st store.Store) *ingest.Importer {
	return &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), Patterns: ingest.DefaultPatterns}
}

func readFile(t testing.TB, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	if len(b) > 2 && b[0] == 0x1f && b[1] == 0x8b {
		zr, err := gzip.NewReader(bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		if b, err = io.ReadAll(zr); err != nil {
			t.Fatal(err)
		}
	}
	return b
}

// decodeObjects returns a bundle's objects keyed by id and modified.
func decodeObjects(t testing.TB, bundle []byte) map[string]any {
	t.Helper()
	var b struct {
		Objects []json.RawMessage `json:"objects"`
	}
	if err := json.Unmarshal(bundle, &b); err != nil {
		t.Fatal(err)
	}
	out := make(map[string]any, len(b.Objects))
	for _, raw := range b.Objects {
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.UseNumber()
		var m map[string]any
		if err := dec.Decode(&m); err != nil {
			t.Fatal(err)
		}
		key, _ := m["id"].(string)
		if mod, ok := m["modified"].(string); ok {
			key += "@" + mod
		}
		out[key] = m
	}
	return out
}

// sameObjects reports every object of want missing or different in got.
func sameObjects(t testing.TB, want, got map[string]any) {
	t.Helper()
	bad := 0
	for k, w := range want {
		g, ok := got[k]
		if !ok {
			t.Errorf("%s: not exported", k)
		} else if !reflect.DeepEqual(w, g) {
			wb, _ := json.Marshal(w)
			gb, _ := json.Marshal(g)
			t.Errorf("%s: exported differently:\nwant %s\n got %s", k, wb, gb)
		} else {
			continue
		}
		if bad++; bad > 10 {
			t.Fatal("too many differences")
		}
	}
	if len(got) != len(want) {
		t.Errorf("exported %d objects, imported %d", len(got), len(want))
	}
}

func normalize(v string) string { return stix.NormalizeValue(v) }
