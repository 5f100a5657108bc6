package postgres_test

import (
	"context"
	crand "crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/url"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/postgres"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/store/storetest"
	"github.com/mamori-cti/mamori/internal/taxii"
)

// The TAXII server and client use these when the store has them.
var (
	_ taxii.StateStore = (*postgres.Store)(nil)
	_ interface {
		RemoveFromCollection(ctx context.Context, collection string, seqs []int64) (int64, error)
		QueryMeta(ctx context.Context, q store.Query, fn func(*store.Record) error) error
	} = (*postgres.Store)(nil)
)

// testDSN is the database the tests use: $MAMORI_TEST_POSTGRES, for example
// postgres://postgres@127.0.0.1:5432/test?sslmode=disable. Without it the
// tests skip.
func testDSN(t testing.TB) string {
	t.Helper()
	dsn := os.Getenv("MAMORI_TEST_POSTGRES")
	if dsn == "" {
		t.Skip("PostgreSQL tests need MAMORI_TEST_POSTGRES (e.g. postgres://postgres@127.0.0.1:5432/test?sslmode=disable)")
	}
	return dsn
}

// newSchema names a fresh schema and drops it, with everything in it, when
// the test ends (after the stores opened on it are closed).
func newSchema(t testing.TB) string {
	t.Helper()
	dsn := testDSN(t)
	var b [6]byte
	crand.Read(b[:])
	name := "mamori_test_" + hex.EncodeToString(b[:])
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		conn, err := pgx.Connect(ctx, dsn)
		if err != nil {
			t.Errorf("drop schema %s: %v", name, err)
			return
		}
		defer conn.Close(ctx)
		if _, err := conn.Exec(ctx, `DROP SCHEMA IF EXISTS `+pgx.Identifier{name}.Sanitize()+` CASCADE`); err != nil {
			t.Errorf("drop schema %s: %v", name, err)
		}
	})
	return name
}

func open(t testing.TB, schema string) *postgres.Store {
	t.Helper()
	s, err := postgres.Open(context.Background(), testDSN(t), postgres.Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestConformance(t *testing.T) {
	testDSN(t)
	storetest.Run(t, func(t *testing.T) store.Store {
		return open(t, newSchema(t))
	})
}

func TestRefusesNewerSchema(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	s := open(t, schema)
	if _, err := s.Pool().Exec(ctx, `INSERT INTO schema_version (version, name, applied) VALUES (9999, 'future', 0)`); err != nil {
		t.Fatal(err)
	}
	s.Close()
	s2, err := postgres.Open(ctx, testDSN(t), postgres.Options{Schema: schema})
	if !errors.Is(err, store.ErrSchemaTooNew) {
		if s2 != nil {
			s2.Close()
		}
		t.Fatalf("open newer schema: %v, want ErrSchemaTooNew", err)
	}
}

func TestMigrationsOncePerSchema(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	// Processes starting together: each migration is applied once.
	var wg sync.WaitGroup
	stores := make([]*postgres.Store, 3)
	errs := make([]error, 3)
	for i := range stores {
		wg.Go(func() {
			stores[i], errs[i] = postgres.Open(ctx, testDSN(t), postgres.Options{Schema: schema})
		})
	}
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Fatal(err)
		}
		defer stores[i].Close()
	}
	var n, max int
	if err := stores[0].Pool().QueryRow(ctx, `SELECT count(*), max(version) FROM schema_version`).Scan(&n, &max); err != nil {
		t.Fatal(err)
	}
	if max != postgres.SchemaVersion() || n != max {
		t.Fatalf("schema_version has %d rows up to %d, want %d", n, max, postgres.SchemaVersion())
	}
}

func TestReopenKeepsData(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	s := open(t, schema)
	o := &store.Object{ID: "malware--22222222-2222-4222-8222-222222222222", Type: "malware", SpecVersion: "2.1", Raw: []byte(`{"x":1}`)}
	if _, err := s.Put(ctx, []*store.Object{o}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	first, err := s.Get(ctx, o.ID, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	s.Close()
	s = open(t, schema)
	defer s.Close()
	o2 := &store.Object{ID: "malware--33333333-2222-4222-8222-222222222222", Type: "malware", SpecVersion: "2.1", Raw: []byte(`{"x":2}`)}
	if _, err := s.Put(ctx, []*store.Object{o2}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	second, err := s.Get(ctx, o2.ID, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !second.DateAdded.After(first.DateAdded) || second.Seq <= first.Seq {
		t.Fatalf("date_added or seq went back after reopening: %+v then %+v", first, second)
	}
}

// TestTwoProcesses has two stores on one schema, as two mamori processes
// would, write overlapping versions of the same objects concurrently, some
// in single batches, some in multi-batch transactions, some into a
// collection. Afterwards date_added must be strictly increasing with seq
// (in objects and in the collection), and each id must have exactly one
// latest version: the one with the greatest version key.
func TestTwoProcesses(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	a, b := open(t, schema), open(t, schema)
	defer a.Close()
	defer b.Close()
	coll, err := a.CreateCollection(ctx, store.Collection{Title: "shared"})
	if err != nil {
		t.Fatal(err)
	}
	const ids, rounds = 40, 8
	id := func(i int) string { return fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i) }
	version := func(rng *rand.Rand, i int) *store.Object {
		m := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(50)) * time.Hour)
		o := &store.Object{ID: id(i), Type: "indicator", SpecVersion: "2.1", Created: m, Modified: m}
		o.Raw = fmt.Appendf(nil, `{"id":%q,"modified":%q}`, o.ID, m.Format(time.RFC3339))
		o.Index.Name = fmt.Sprintf("indicator %d", i)
		return o
	}
	var wg sync.WaitGroup
	errc := make(chan error, 8)
	for w, s := range []*postgres.Store{a, b, a, b} {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(uint64(w), 7))
			for r := range rounds {
				batch := make([]*store.Object, 0, 15)
				for range 15 {
					batch = append(batch, version(rng, rng.IntN(ids)))
				}
				opts := store.PutOptions{}
				if r%3 == 0 {
					opts.Collection = coll.ID
				}
				if r%2 == 0 {
					if _, err := s.Put(ctx, batch, opts); err != nil {
						errc <- err
						return
					}
					continue
				}
				tx, err := s.Begin(ctx)
				if err != nil {
					errc <- err
					return
				}
				for part := range slices.Chunk(batch, 5) {
					if _, err := tx.Put(ctx, part, opts); err != nil {
						tx.Rollback()
						errc <- err
						return
					}
				}
				if r%4 == 1 {
					err = tx.Rollback()
				} else {
					err = tx.Commit()
				}
				if err != nil {
					errc <- err
					return
				}
			}
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Fatal(err)
	}

	checkStrict := func(q store.Query) int {
		it, err := b.Query(ctx, q)
		if err != nil {
			t.Fatal(err)
		}
		defer it.Close()
		var prev store.Record
		n := 0
		for it.Next() {
			r := *it.At()
			if n > 0 && (r.Seq <= prev.Seq || !r.DateAdded.After(prev.DateAdded)) {
				t.Fatalf("not strictly increasing: seq %d at %v, then seq %d at %v", prev.Seq, prev.DateAdded, r.Seq, r.DateAdded)
			}
			prev = r
			n++
		}
		if err := it.Err(); err != nil {
			t.Fatal(err)
		}
		return n
	}
	if n := checkStrict(store.Query{Versions: store.VersionsAll}); n == 0 {
		t.Fatal("nothing written")
	}
	if n := checkStrict(store.Query{Versions: store.VersionsAll, Collection: coll.ID}); n == 0 {
		t.Fatal("nothing in the collection")
	}
	// Date_added across both tables comes from one clock: no value twice.
	var dups int
	if err := a.Pool().QueryRow(ctx, `SELECT count(*) FROM (SELECT added FROM objects UNION ALL SELECT added FROM collection_objects) x GROUP BY added HAVING count(*) > 1`).Scan(&dups); err != nil && !errors.Is(err, pgx.ErrNoRows) {
		t.Fatal(err)
	}
	if dups != 0 {
		t.Fatal("a date_added value was handed out twice")
	}
	var bad int
	if err := a.Pool().QueryRow(ctx, `SELECT count(*) FROM (
		SELECT id, count(*) FILTER (WHERE latest) AS n, max(vkey) AS top, max(vkey) FILTER (WHERE latest) AS l
		FROM objects GROUP BY id) x WHERE n <> 1 OR top <> l`).Scan(&bad); err != nil {
		t.Fatal(err)
	}
	if bad != 0 {
		t.Fatalf("%d ids without exactly one latest version that is the newest", bad)
	}
}

// TestWriterWaitsAcrossProcesses checks that a writer of one store blocks a
// writer of another until it ends.
func TestWriterWaitsAcrossProcesses(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	a, b := open(t, schema), open(t, schema)
	defer a.Close()
	defer b.Close()
	w, err := a.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	short, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	if w2, err := b.Begin(short); err == nil {
		w2.Rollback()
		t.Fatal("second writer began while the first was open")
	}
	done := make(chan error, 1)
	go func() {
		w2, err := b.Begin(ctx)
		if err == nil {
			err = w2.Commit()
		}
		done <- err
	}()
	time.Sleep(100 * time.Millisecond)
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err != nil {
		t.Fatal(err)
	}
}

// textObjects are indexed for full-text search by both backends.
var textObjects = []store.IndexKeys{
	{Name: "Emotet", Aliases: []string{"Geodo", "Heodo"}, Description: "Banking trojan turned loader."},
	{Name: "Command-and-control server", Description: "C2 over HTTPS to evil.example.com, port 8443."},
	{Name: "Café Crème", Description: "Naïve résumé of a façade; ÉLAN."},
	{Name: "T1059.001 PowerShell", Description: "Adversaries may abuse PowerShell commands and scripts."},
	{Name: "APT28", Aliases: []string{"Fancy Bear", "Sofacy"}, Description: "Attributed to GRU unit 26165 (Россия)."},
	{Name: "don't stop", Description: "it's O'Brien's \"quoted\" text with \\backslash\\ and 'single' quotes"},
	{Name: "strike", Description: "Cobalt Strike beacon; cobalt-strike; cobaltstrike"},
}

// TestTextSearchAgreesWithSQLite runs the same full-text queries against
// both backends and expects the same objects.
func TestTextSearchAgreesWithSQLite(t *testing.T) {
	ctx := context.Background()
	pg := open(t, newSchema(t))
	defer pg.Close()
	lite, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer lite.Close()
	var batch []*store.Object
	for i, ix := range textObjects {
		id := fmt.Sprintf("malware--00000000-0000-4000-8000-%012d", i)
		batch = append(batch, &store.Object{ID: id, Type: "malware", SpecVersion: "2.1", Index: ix, Raw: fmt.Appendf(nil, `{"id":%q}`, id)})
	}
	for _, s := range []store.Store{pg, lite} {
		if _, err := s.Put(ctx, batch, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	queries := []string{
		"emotet", "EMOTET", "emo", "geodo", "heodo loader", "banking trojan", "trojan banking", "turned", "loader.",
		"command-and-control", "command and control", "control-and", "and-control", "C2", "evil.example.com", "example", "exam", "com 8443",
		"cafe", "café", "CAFÉ CRÈME", "naive resume", "facade", "élan", "elan",
		"T1059.001", "t1059", "T1059.00", "001", "powershell", "power", "PowerShell commands",
		"APT28", "apt", "fancy bear", "bear fancy", "sofacy", "россия", "РОС", "26165",
		"don't", "don", "o'brien", `"quoted"`, `\backslash\`, "'single'", `'`, `"`, `\`, "it's", "s",
		"cobalt strike", "cobalt-strike", "cobaltstrike", "strike", "cobalt-str", "beacon;",
		`"emotet" OR NEAR(`, "emotet OR", "*", "emo*", "e", "-", "nothing-here", "loader server",
	}
	collect := func(s store.Store, text string) ([]string, error) {
		it, err := s.Query(ctx, store.Query{Text: text})
		if err != nil {
			return nil, err
		}
		defer it.Close()
		var out []string
		for it.Next() {
			out = append(out, it.At().ID)
		}
		return out, it.Err()
	}
	for _, q := range queries {
		want, lerr := collect(lite, q)
		got, err := collect(pg, q)
		if err != nil {
			t.Errorf("postgres %q: %v", q, err)
			continue
		}
		if lerr != nil {
			// SQLite refuses some queries (FTS5 syntax); PostgreSQL answers them.
			t.Logf("sqlite %q: %v; postgres returned %d", q, lerr, len(got))
			continue
		}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("%q: postgres %v, sqlite %v", q, got, want)
		}
		if n, err := pg.Count(ctx, store.Query{Text: q}); err != nil || n != int64(len(got)) {
			t.Errorf("Count(%q) = %d, %v; Query returned %d", q, n, err, len(got))
		}
	}
}

// TestUnversionedTwiceInBatch: an object without a version key, changed
// within one batch, is inserted once with the last content.
func TestUnversionedTwiceInBatch(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	id := "ipv4-addr--44444444-4444-5444-8444-444444444444"
	a := &store.Object{ID: id, Type: "ipv4-addr", SpecVersion: "2.1", Raw: []byte(`{"value":"198.51.100.7"}`), Index: store.IndexKeys{Values: []string{"198.51.100.7"}}}
	b := &store.Object{ID: id, Type: "ipv4-addr", SpecVersion: "2.1", Raw: []byte(`{"value":"198.51.100.8"}`), Index: store.IndexKeys{Values: []string{"198.51.100.8"}}}
	r, err := s.Put(ctx, []*store.Object{a, b, b}, store.PutOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(r.Outcomes) != "[new new-version unchanged]" {
		t.Fatalf("outcomes = %v", r.Outcomes)
	}
	got, err := s.Get(ctx, id, store.GetOptions{})
	if err != nil || string(got.Raw) != string(b.Raw) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
	for v, want := range map[string]int64{"198.51.100.7": 0, "198.51.100.8": 1} {
		if n, _ := s.Count(ctx, store.Query{Value: v}); n != want {
			t.Fatalf("value %s: %d objects, want %d", v, n, want)
		}
	}
	// And replaced again in a later batch: the stored row changes in place.
	c := &store.Object{ID: id, Type: "ipv4-addr", SpecVersion: "2.1", Raw: []byte(`{"value":"198.51.100.9"}`), Index: store.IndexKeys{Values: []string{"198.51.100.9"}, Name: "nine"}}
	if r, err := s.Put(ctx, []*store.Object{c}, store.PutOptions{}); err != nil || r.NewVersions != 1 {
		t.Fatalf("replace: %+v, %v", r, err)
	}
	if n, _ := s.Count(ctx, store.Query{Value: "198.51.100.8"}); n != 0 {
		t.Fatal("old value still indexed")
	}
	if n, _ := s.Count(ctx, store.Query{Text: "nine"}); n != 1 {
		t.Fatal("new text not indexed")
	}
	if st, _ := s.Stats(ctx); st.Versions != 1 {
		t.Fatalf("Stats = %+v, want one version", st)
	}
}

func TestTAXIIState(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	now := time.Now()
	if err := s.PutTAXIIStatus(ctx, "st-1", "api1", "org-a", now.Add(-time.Hour), []byte(`{"status":"pending"}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTAXIIStatus(ctx, "st-1", "api1", "org-a", now.Add(-time.Hour), []byte(`{"status":"complete"}`)); err != nil {
		t.Fatal(err)
	}
	if root, org, res, err := s.TAXIIStatus(ctx, "st-1"); err != nil || root != "api1" || org != "org-a" || string(res) != `{"status":"complete"}` {
		t.Fatalf("TAXIIStatus = %s %s %s %v", root, org, res, err)
	}
	if n, err := s.PruneTAXIIStatuses(ctx, now); err != nil || n != 1 {
		t.Fatalf("prune = %d, %v", n, err)
	}
	if _, _, _, err := s.TAXIIStatus(ctx, "st-1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("pruned status: %v", err)
	}
	if err := s.PutTAXIIRemote(ctx, "r1", []byte(`{"url":"x"}`), true); err != nil {
		t.Fatal(err)
	}
	if err := s.PutTAXIIRemote(ctx, "r1", []byte(`{}`), true); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate remote: %v", err)
	}
	if err := s.PutTAXIIRemote(ctx, "r2", []byte(`{}`), false); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("replace missing remote: %v", err)
	}
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	cw := w.(interface {
		SetTAXIICheckpoint(ctx context.Context, name, checkpoint string) error
	})
	if err := cw.SetTAXIICheckpoint(ctx, "r1", "2025-01-01T00:00:00Z"); err != nil {
		t.Fatal(err)
	}
	w.Rollback()
	if _, _, cp, _ := s.TAXIIRemote(ctx, "r1"); cp != "" {
		t.Fatalf("checkpoint survived a rollback: %q", cp)
	}
	if err := s.SetTAXIIResult(ctx, "r1", []byte(`{"ok":true}`)); err != nil {
		t.Fatal(err)
	}
	if err := s.SetTAXIICheckpoint(ctx, "r1", "cp"); err != nil {
		t.Fatal(err)
	}
	cfg, res, cp, err := s.TAXIIRemote(ctx, "r1")
	if err != nil || string(cfg) != `{"url":"x"}` || string(res) != `{"ok":true}` || cp != "cp" {
		t.Fatalf("TAXIIRemote = %s %s %s %v", cfg, res, cp, err)
	}
	if names, _ := s.TAXIIRemoteNames(ctx); fmt.Sprint(names) != "[r1]" {
		t.Fatalf("names = %v", names)
	}
	if err := s.DeleteTAXIIRemote(ctx, "r1"); err != nil {
		t.Fatal(err)
	}
	if err := s.DeleteTAXIIRemote(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("delete missing remote: %v", err)
	}

	// Memberships removed from a collection; their numbers are not reused.
	c, err := s.CreateCollection(ctx, store.Collection{Title: "c"})
	if err != nil {
		t.Fatal(err)
	}
	mk := func(i int) *store.Object {
		id := fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i)
		return &store.Object{ID: id, Type: "indicator", SpecVersion: "2.1", Created: now, Modified: now, Raw: fmt.Appendf(nil, `{"id":%q}`, id)}
	}
	if _, err := s.Put(ctx, []*store.Object{mk(1), mk(2)}, store.PutOptions{Collection: c.ID}); err != nil {
		t.Fatal(err)
	}
	var seqs []int64
	if err := s.QueryMeta(ctx, store.Query{Collection: c.ID}, func(r *store.Record) error {
		if r.Raw != nil || r.ID == "" {
			t.Errorf("QueryMeta record = %+v", r)
		}
		seqs = append(seqs, r.Seq)
		return nil
	}); err != nil || len(seqs) != 2 {
		t.Fatalf("QueryMeta: %v, %v", seqs, err)
	}
	if n, err := s.RemoveFromCollection(ctx, c.ID, seqs[1:]); err != nil || n != 1 {
		t.Fatalf("RemoveFromCollection = %d, %v", n, err)
	}
	if _, err := s.Put(ctx, []*store.Object{mk(3)}, store.PutOptions{Collection: c.ID}); err != nil {
		t.Fatal(err)
	}
	var after []int64
	s.QueryMeta(ctx, store.Query{Collection: c.ID, AfterSeq: seqs[1]}, func(r *store.Record) error { after = append(after, r.Seq); return nil })
	if len(after) != 1 {
		t.Fatalf("membership added after a removal is not after the removed one: %v (removed %d)", after, seqs[1])
	}
}

// TestNULInIndexedText: PostgreSQL text cannot hold NUL, which JSON strings
// may (\u0000). Such values are stored without it and still found, and the
// object's JSON is kept byte for byte.
func TestNULInIndexedText(t *testing.T) {
	ctx := context.Background()
	s := open(t, newSchema(t))
	defer s.Close()
	m := time.Date(2020, 1, 1, 0, 0, 0, 0, time.UTC)
	o := &store.Object{ID: "malware--22222222-2222-4222-8222-222222222222", Type: "malware", SpecVersion: "2.1", Created: m, Modified: m,
		CreatedByRef: "identity--a\x00", Markings: []string{"marking-definition--\x00"},
		Index: store.IndexKeys{Name: "a\x00b", Labels: []string{"x\x00y"}, ExternalIDs: []string{"E\x001"}, Values: []string{"v\x00", "bad \xff utf-8"},
			Refs: []store.Ref{{Prop: "p\x00", Target: "t\x00"}}},
		Raw: []byte(`{"name":"a\u0000b"}`)}
	if _, err := s.Put(ctx, []*store.Object{o}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	for _, q := range []store.Query{{Label: "x\x00y"}, {ExternalID: "e\x001"}, {Value: "v\x00"}, {Value: "bad \xff utf-8"}, {Ref: "t\x00"}, {CreatedBy: "identity--a\x00"}, {IDs: []string{o.ID, "x\x00"}}} {
		if n, err := s.Count(ctx, q); err != nil || n != 1 {
			t.Errorf("Count(%+v) = %d, %v", q, n, err)
		}
	}
	if got, err := s.Get(ctx, o.ID, store.GetOptions{}); err != nil || string(got.Raw) != string(o.Raw) {
		t.Fatalf("Get = %+v, %v", got, err)
	}
}

// TestSearchPathInDSN: a schema named in the connection string (and created
// beforehand, as a DBA would) holds the tables.
func TestSearchPathInDSN(t *testing.T) {
	ctx := context.Background()
	schema := newSchema(t)
	conn, err := pgx.Connect(ctx, testDSN(t))
	if err != nil {
		t.Fatal(err)
	}
	_, err = conn.Exec(ctx, `CREATE SCHEMA `+pgx.Identifier{schema}.Sanitize())
	conn.Close(ctx)
	if err != nil {
		t.Fatal(err)
	}
	u, err := url.Parse(testDSN(t))
	if err != nil || u.Scheme == "" {
		t.Skip("MAMORI_TEST_POSTGRES is not a URL")
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	s, err := postgres.Open(ctx, u.String(), postgres.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	var n int
	if err := s.Pool().QueryRow(ctx, `SELECT count(*) FROM pg_tables WHERE schemaname = $1 AND tablename = 'objects'`, schema).Scan(&n); err != nil || n != 1 {
		t.Fatalf("objects table in %s: %d, %v", schema, n, err)
	}
}
