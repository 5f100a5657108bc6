package sqlite_test

import (
	"context"
	"errors"
	"path/filepath"
	"testing"

	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/store/storetest"
)

func TestConformance(t *testing.T) {
	storetest.Run(t, func(t *testing.T) store.Store {
		s, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
		if err != nil {
			t.Fatal(err)
		}
		return s
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	dir := t.TempDir()
	s, err := sqlite.OpenDir(context.Background(), dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := s.WriterDB().Exec(`INSERT INTO schema_version (version, name, applied) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	_, err = sqlite.Open(context.Background(), filepath.Join(dir, sqlite.FileName), sqlite.Options{})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		t.Fatalf("open newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestReopenKeepsData(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := &store.Object{ID: "malware--22222222-2222-4222-8222-222222222222", Type: "malware", SpecVersion: "2.1", Raw: []byte(`{"x":1}`)}
	if _, err := s.Put(ctx, []*store.Object{o}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	first, _ := s.Get(ctx, o.ID, store.GetOptions{})
	s.Close()
	s, err = sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	o2 := &store.Object{ID: "malware--33333333-2222-4222-8222-222222222222", Type: "malware", SpecVersion: "2.1", Raw: []byte(`{"x":2}`)}
	if _, err := s.Put(ctx, []*store.Object{o2}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	second, err := s.Get(ctx, o2.ID, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !second.DateAdded.After(first.DateAdded) {
		t.Fatalf("date_added went back after reopening: %v then %v", first.DateAdded, second.DateAdded)
	}
}

// A migration numbered below the newest applied one (it landed later) is
// still applied when the database is opened.
func TestAppliesMissingLowerMigration(t *testing.T) {
	dir := t.TempDir()
	ctx := context.Background()
	s, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Undo 0005 as if the database had been created before it existed.
	if _, err := s.WriterDB().Exec(`DELETE FROM schema_version WHERE version = 5;
		DROP TABLE detect_orgs; DROP TABLE detect_history; DROP TABLE detect_sightings;
		DROP TABLE detect_false_positives; DROP TABLE detect_scores`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s, err = sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		t.Fatalf("reopen with 0005 missing: %v", err)
	}
	defer s.Close()
	var n int
	if err := s.WriterDB().QueryRow(`SELECT count(*) FROM schema_version WHERE version = 5`).Scan(&n); err != nil || n != 1 {
		t.Fatalf("0005 not applied: %d, %v", n, err)
	}
	if _, err := s.WriterDB().Exec(`SELECT count(*) FROM detect_scores`); err != nil {
		t.Fatalf("0005's tables missing: %v", err)
	}
}
