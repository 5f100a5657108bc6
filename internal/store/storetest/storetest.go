// Package storetest is the conformance suite for store.Store backends. Every
// backend's tests call Run with a function that opens a fresh, empty store.
package storetest

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// NewStore opens a fresh, empty store for one test; the suite closes it.
type NewStore func(t *testing.T) store.Store

// Run runs every conformance test against stores made by newStore.
func Run(t *testing.T, newStore NewStore) {
	tests := []struct {
		name string
		fn   func(t *testing.T, s store.Store)
	}{
		{"PutGetRoundTrip", testPutGet},
		{"Versioning", testVersioning},
		{"UnversionedReplace", testUnversionedReplace},
		{"DuplicateInBatch", testDuplicateInBatch},
		{"QueryFilters", testQueryFilters},
		{"VersionModes", testVersionModes},
		{"Revoked", testRevoked},
		{"Pagination", testPagination},
		{"DateAddedStrict", testDateAdded},
		{"Collections", testCollections},
		{"AtomicBatch", testAtomic},
		{"WriterSpansBatches", testWriter},
		{"Stats", testStats},
		{"ConcurrentReadersAndWriter", testConcurrent},
		{"Directory", testDirectory},
		{"AuditLog", testAuditLog},
		{"ViewerAgreesWithCanRead", testViewer},
		{"Provenance", testProvenance},
		{"Feeds", testFeeds},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := newStore(t)
			t.Cleanup(func() { s.Close() })
			tc.fn(t, s)
		})
	}
}

var ctx = context.Background()

func ts(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// obj builds a minimal versioned object with raw JSON that records its version.
func obj(id, typ, modified string) *store.Object {
	o := &store.Object{ID: id, Type: typ, SpecVersion: "2.1"}
	if modified != "" {
		o.Created = ts("2020-01-01T00:00:00Z")
		o.Modified = ts(modified)
	}
	o.Raw = fmt.Appendf(nil, `{"type":%q,"id":%q,"modified":%q,"x_custom":{"keep":[1,2.50,"three"]}}`, typ, id, modified)
	return o
}

func put(t *testing.T, s store.Store, objs ...*store.Object) store.PutResult {
	t.Helper()
	r, err := s.Put(ctx, objs, store.PutOptions{})
	if err != nil {
		t.Fatalf("Put: %v", err)
	}
	return r
}

func collect(t *testing.T, s store.Store, q store.Query) []store.Record {
	t.Helper()
	it, err := s.Query(ctx, q)
	if err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	defer it.Close()
	var out []store.Record
	for it.Next() {
		r := *it.At()
		r.Raw = append([]byte(nil), r.Raw...)
		out = append(out, r)
	}
	if err := it.Err(); err != nil {
		t.Fatalf("Query(%+v): %v", q, err)
	}
	n, err := s.Count(ctx, q)
	if err != nil {
		t.Fatalf("Count: %v", err)
	}
	if q.Limit == 0 && q.AfterSeq == 0 && n != int64(len(out)) {
		t.Fatalf("Count(%+v) = %d, Query returned %d", q, n, len(out))
	}
	return out
}

func ids(rs []store.Record) []string {
	out := make([]string, len(rs))
	for i, r := range rs {
		out[i] = r.ID
	}
	return out
}

const (
	idA = "indicator--11111111-1111-4111-8111-111111111111"
	idB = "malware--22222222-2222-4222-8222-222222222222"
	idC = "relationship--33333333-3333-4333-8333-333333333333"
	idD = "ipv4-addr--44444444-4444-5444-8444-444444444444"
	idI = "identity--55555555-5555-4555-8555-555555555555"
)

func testPutGet(t *testing.T, s store.Store) {
	o := obj(idA, "indicator", "2021-01-01T00:00:00.123Z")
	r := put(t, s, o)
	if r.New != 1 || r.Outcomes[0] != store.OutcomeNew {
		t.Fatalf("Put result = %+v, want one new", r)
	}
	got, err := s.Get(ctx, idA, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Raw) != string(o.Raw) {
		t.Fatalf("raw changed:\n got %s\nwant %s", got.Raw, o.Raw)
	}
	if got.ID != idA || got.Type != "indicator" || !got.Latest || !got.Modified.Equal(o.Modified) || got.SpecVersion != "2.1" {
		t.Fatalf("record = %+v", got)
	}
	if got.DateAdded.IsZero() || got.Seq <= 0 {
		t.Fatalf("record lacks date_added or seq: %+v", got)
	}
	if _, err := s.Get(ctx, idB, store.GetOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("Get(missing) error = %v, want ErrNotFound", err)
	}
}

func testVersioning(t *testing.T, s store.Store) {
	v2 := obj(idA, "indicator", "2021-02-01T00:00:00Z")
	v1 := obj(idA, "indicator", "2021-01-01T00:00:00Z")
	v3 := obj(idA, "indicator", "2021-03-01T00:00:00Z")
	if r := put(t, s, v2); r.New != 1 {
		t.Fatalf("first version: %+v", r)
	}
	// An older version arriving after a newer one is stored but not latest.
	if r := put(t, s, v1); r.NewVersions != 1 {
		t.Fatalf("older version: %+v", r)
	}
	got, err := s.Get(ctx, idA, store.GetOptions{})
	if err != nil || !got.Modified.Equal(v2.Modified) {
		t.Fatalf("latest after older import = %v, %v; want v2", got, err)
	}
	// The same modified twice is unchanged.
	if r := put(t, s, obj(idA, "indicator", "2021-02-01T00:00:00.000Z")); r.Unchanged != 1 {
		t.Fatalf("same version again: %+v", r)
	}
	if r := put(t, s, v3); r.NewVersions != 1 {
		t.Fatalf("newer version: %+v", r)
	}
	got, _ = s.Get(ctx, idA, store.GetOptions{})
	if !got.Modified.Equal(v3.Modified) || string(got.Raw) != string(v3.Raw) {
		t.Fatalf("latest = %s, want v3", got.Raw)
	}
	old, err := s.Get(ctx, idA, store.GetOptions{Modified: v1.Modified})
	if err != nil || string(old.Raw) != string(v1.Raw) || old.Latest {
		t.Fatalf("Get v1 = %+v, %v", old, err)
	}
	all := collect(t, s, store.Query{IDs: []string{idA}, Versions: store.VersionsAll})
	if len(all) != 3 {
		t.Fatalf("all versions = %d, want 3", len(all))
	}
	latest := collect(t, s, store.Query{IDs: []string{idA}})
	if len(latest) != 1 || !latest[0].Modified.Equal(v3.Modified) {
		t.Fatalf("latest query = %+v", latest)
	}
	// Sub-millisecond precision distinguishes versions.
	put(t, s, obj(idB, "malware", "2021-01-01T00:00:00.0000001Z"))
	if r := put(t, s, obj(idB, "malware", "2021-01-01T00:00:00.0000002Z")); r.NewVersions != 1 {
		t.Fatalf("nanosecond versions: %+v", r)
	}
}

func testUnversionedReplace(t *testing.T, s store.Store) {
	a := obj(idD, "ipv4-addr", "")
	a.Index.Values = []string{"198.51.100.7"}
	put(t, s, a)
	if r := put(t, s, obj(idD, "ipv4-addr", "")); r.Unchanged != 1 {
		// same bytes as a (obj is deterministic)
		t.Fatalf("identical SCO again: %+v", r)
	}
	b := obj(idD, "ipv4-addr", "")
	b.Raw = []byte(`{"type":"ipv4-addr","id":"` + idD + `","value":"198.51.100.8"}`)
	b.Index.Values = []string{"198.51.100.8"}
	if r := put(t, s, b); r.NewVersions != 1 {
		t.Fatalf("changed SCO: %+v", r)
	}
	got, _ := s.Get(ctx, idD, store.GetOptions{})
	if string(got.Raw) != string(b.Raw) {
		t.Fatalf("SCO not replaced: %s", got.Raw)
	}
	if rs := collect(t, s, store.Query{Value: "198.51.100.7"}); len(rs) != 0 {
		t.Fatalf("old value still indexed: %v", ids(rs))
	}
	if rs := collect(t, s, store.Query{Value: "198.51.100.8"}); len(rs) != 1 {
		t.Fatalf("new value not indexed: %v", ids(rs))
	}
}

func testDuplicateInBatch(t *testing.T, s store.Store) {
	a := obj(idA, "indicator", "2021-01-01T00:00:00Z")
	b := obj(idA, "indicator", "2021-01-01T00:00:00Z")
	c := obj(idA, "indicator", "2022-01-01T00:00:00Z")
	r := put(t, s, a, b, c)
	want := []store.Outcome{store.OutcomeNew, store.OutcomeUnchanged, store.OutcomeNewVersion}
	for i := range want {
		if r.Outcomes[i] != want[i] {
			t.Fatalf("outcomes = %v, want %v", r.Outcomes, want)
		}
	}
}

func testQueryFilters(t *testing.T, s store.Store) {
	ind := obj(idA, "indicator", "2021-01-01T00:00:00Z")
	ind.CreatedByRef = idI
	ind.Index = store.IndexKeys{Name: "Bad IP", Description: "Command and control server of Emotet", Labels: []string{"malicious-activity"}, Values: []string{"198.51.100.7"}}
	mal := obj(idB, "malware", "2021-01-01T00:00:00Z")
	mal.Index = store.IndexKeys{Name: "Emotet", Aliases: []string{"Geodo", "Heodo"}, ExternalIDs: []string{"S0367"}}
	rel := obj(idC, "relationship", "2021-01-01T00:00:00Z")
	rel.Index = store.IndexKeys{Refs: []store.Ref{{Prop: "source_ref", Target: idA}, {Prop: "target_ref", Target: idB}}}
	put(t, s, ind, mal, rel)
	cases := []struct {
		name string
		q    store.Query
		want []string
	}{
		{"all", store.Query{}, []string{idA, idB, idC}},
		{"type", store.Query{Types: []string{"malware"}}, []string{idB}},
		{"types", store.Query{Types: []string{"malware", "indicator"}}, []string{idA, idB}},
		{"id", store.Query{IDs: []string{idC}}, []string{idC}},
		{"value", store.Query{Value: "198.51.100.7"}, []string{idA}},
		{"value miss", store.Query{Value: "198.51.100.70"}, nil},
		{"ref target", store.Query{Ref: idB}, []string{idC}},
		{"label", store.Query{Label: "malicious-activity"}, []string{idA}},
		{"external id", store.Query{ExternalID: "S0367"}, []string{idB}},
		{"external id case", store.Query{ExternalID: "s0367"}, []string{idB}},
		{"created by", store.Query{CreatedBy: idI}, []string{idA}},
		{"text name", store.Query{Text: "emotet"}, []string{idA, idB}},
		{"text alias", store.Query{Text: "heodo"}, []string{idB}},
		{"text prefix", store.Query{Text: "Emo"}, []string{idA, idB}},
		{"text two words", store.Query{Text: "control server"}, []string{idA}},
		{"text with syntax", store.Query{Text: `"emotet" OR NEAR(`}, nil},
		{"text of quotes only", store.Query{Text: `" "`}, nil},
		{"text and type", store.Query{Text: "emotet", Types: []string{"malware"}}, []string{idB}},
		{"modified since", store.Query{ModifiedSince: ts("2021-01-01T00:00:00Z")}, []string{idA, idB, idC}},
		{"modified since later", store.Query{ModifiedSince: ts("2021-01-01T00:00:00.001Z")}, nil},
		{"spec version", store.Query{SpecVersions: []string{"2.0"}}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := ids(collect(t, s, tc.q))
			if fmt.Sprint(got) != fmt.Sprint(tc.want) && !(len(got) == 0 && len(tc.want) == 0) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func testVersionModes(t *testing.T, s store.Store) {
	put(t, s, obj(idA, "indicator", "2021-02-01T00:00:00Z"), obj(idA, "indicator", "2021-01-01T00:00:00Z"), obj(idA, "indicator", "2021-03-01T00:00:00Z"))
	first := collect(t, s, store.Query{Versions: store.VersionsFirst})
	if len(first) != 1 || !first[0].Modified.Equal(ts("2021-01-01T00:00:00Z")) {
		t.Fatalf("first = %+v", first)
	}
	last := collect(t, s, store.Query{})
	if len(last) != 1 || !last[0].Modified.Equal(ts("2021-03-01T00:00:00Z")) {
		t.Fatalf("latest = %+v", last)
	}
}

func testRevoked(t *testing.T, s store.Store) {
	o := obj(idB, "malware", "2021-01-01T00:00:00Z")
	r := obj(idB, "malware", "2021-06-01T00:00:00Z")
	r.Revoked = true
	put(t, s, o, r)
	if got := collect(t, s, store.Query{}); len(got) != 0 {
		t.Fatalf("revoked object returned by default: %v", ids(got))
	}
	got := collect(t, s, store.Query{IncludeRevoked: true})
	if len(got) != 1 || !got[0].Revoked {
		t.Fatalf("IncludeRevoked = %+v", got)
	}
	rec, err := s.Get(ctx, idB, store.GetOptions{})
	if err != nil || !rec.Revoked {
		t.Fatalf("Get revoked = %+v, %v", rec, err)
	}
}

func testPagination(t *testing.T, s store.Store) {
	var batch []*store.Object
	for i := range 25 {
		batch = append(batch, obj(fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i), "indicator", "2021-01-01T00:00:00Z"))
	}
	put(t, s, batch...)
	var walked []string
	var after int64
	for page := 0; ; page++ {
		rs := collect(t, s, store.Query{Limit: 10, AfterSeq: after})
		if len(rs) == 0 {
			break
		}
		if page == 1 {
			// Objects added during a walk come after the cursor, never before.
			put(t, s, obj("indicator--00000000-0000-4000-8000-999999999999", "indicator", "2021-01-01T00:00:00Z"))
		}
		for _, r := range rs {
			if r.Seq <= after {
				t.Fatalf("seq %d not after cursor %d", r.Seq, after)
			}
			after = r.Seq
			walked = append(walked, r.ID)
		}
	}
	if len(walked) != 26 {
		t.Fatalf("walked %d objects, want 26", len(walked))
	}
	seen := map[string]bool{}
	for _, id := range walked {
		if seen[id] {
			t.Fatalf("%s returned twice", id)
		}
		seen[id] = true
	}
}

func testDateAdded(t *testing.T, s store.Store) {
	var batch []*store.Object
	for i := range 50 {
		batch = append(batch, obj(fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i), "indicator", "2021-01-01T00:00:00Z"))
	}
	put(t, s, batch[:25]...)
	put(t, s, batch[25:]...)
	rs := collect(t, s, store.Query{})
	for i := 1; i < len(rs); i++ {
		if !rs[i].DateAdded.After(rs[i-1].DateAdded) || rs[i].Seq <= rs[i-1].Seq {
			t.Fatalf("date_added not strictly increasing at %d: %v then %v", i, rs[i-1].DateAdded, rs[i].DateAdded)
		}
	}
	mid := rs[24].DateAdded
	after := collect(t, s, store.Query{AddedAfter: mid})
	if len(after) != 25 || after[0].ID != rs[25].ID {
		t.Fatalf("AddedAfter returned %d, want 25", len(after))
	}
}

func testCollections(t *testing.T, s store.Store) {
	c, err := s.CreateCollection(ctx, store.Collection{Title: "Sector feed", Description: "for members"})
	if err != nil {
		t.Fatal(err)
	}
	if c.ID == "" {
		t.Fatal("collection id not generated")
	}
	if _, err := s.CreateCollection(ctx, store.Collection{Title: "Sector feed"}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate title error = %v, want ErrConflict", err)
	}
	fixed := "8c4d3a2b-1c0e-4f5a-9b8c-7d6e5f4a3b2c"
	if _, err := s.CreateCollection(ctx, store.Collection{ID: fixed, Title: "Other"}); err != nil {
		t.Fatal(err)
	}
	if _, err := s.CreateCollection(ctx, store.Collection{ID: "not-a-uuid", Title: "Bad"}); err == nil {
		t.Fatal("non-UUID collection id accepted")
	}
	got, err := s.Collection(ctx, "Sector feed")
	if err != nil || got.ID != c.ID || got.Description != "for members" {
		t.Fatalf("Collection by title = %+v, %v", got, err)
	}
	if got, err := s.Collection(ctx, fixed); err != nil || got.Title != "Other" {
		t.Fatalf("Collection by id = %+v, %v", got, err)
	}
	if _, err := s.Collection(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing collection error = %v", err)
	}
	list, err := s.Collections(ctx)
	if err != nil || len(list) != 2 || list[0].Title != "Other" {
		t.Fatalf("Collections = %+v, %v", list, err)
	}
	put(t, s, obj(idB, "malware", "2021-01-01T00:00:00Z")) // not in the collection
	if _, err := s.Put(ctx, []*store.Object{obj(idA, "indicator", "2021-01-01T00:00:00Z")}, store.PutOptions{Collection: c.ID}); err != nil {
		t.Fatal(err)
	}
	// Adding an already stored version to a collection makes it a member.
	if r, err := s.Put(ctx, []*store.Object{obj(idB, "malware", "2021-01-01T00:00:00Z")}, store.PutOptions{Collection: c.ID}); err != nil || r.Unchanged != 1 {
		t.Fatalf("re-put into collection = %+v, %v", r, err)
	}
	in := collect(t, s, store.Query{Collection: c.ID})
	if fmt.Sprint(ids(in)) != fmt.Sprint([]string{idA, idB}) {
		t.Fatalf("collection members = %v", ids(in))
	}
	if !in[1].DateAdded.After(in[0].DateAdded) {
		t.Fatalf("collection date_added not increasing")
	}
	if got := collect(t, s, store.Query{Collection: fixed}); len(got) != 0 {
		t.Fatalf("other collection has %v", ids(got))
	}
	if _, err := s.Put(ctx, []*store.Object{obj(idC, "relationship", "2021-01-01T00:00:00Z")}, store.PutOptions{Collection: "00000000-0000-4000-8000-000000000000"}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("put into missing collection error = %v", err)
	}
	if _, err := s.Get(ctx, idC, store.GetOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatal("failed put left an object behind")
	}
}

func testAtomic(t *testing.T, s store.Store) {
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := s.Put(cctx, []*store.Object{obj(idA, "indicator", "2021-01-01T00:00:00Z")}, store.PutOptions{}); err == nil {
		t.Fatal("Put with a cancelled context succeeded")
	}
	if n, _ := s.Count(ctx, store.Query{IncludeRevoked: true, Versions: store.VersionsAll}); n != 0 {
		t.Fatalf("cancelled Put wrote %d objects", n)
	}
}

func testStats(t *testing.T, s store.Store) {
	put(t, s, obj(idA, "indicator", "2021-01-01T00:00:00Z"), obj(idA, "indicator", "2021-02-01T00:00:00Z"), obj(idB, "malware", "2021-01-01T00:00:00Z"))
	st, err := s.Stats(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if st.Objects != 2 || st.Versions != 3 || st.ByType["indicator"] != 1 || st.ByType["malware"] != 1 {
		t.Fatalf("Stats = %+v", st)
	}
}

func testConcurrent(t *testing.T, s store.Store) {
	var wg sync.WaitGroup
	errs := make(chan error, 8)
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := range 20 {
			var batch []*store.Object
			for j := range 10 {
				batch = append(batch, obj(fmt.Sprintf("indicator--00000000-0000-4000-8000-%06d%06d", i, j), "indicator", "2021-01-01T00:00:00Z"))
			}
			if _, err := s.Put(ctx, batch, store.PutOptions{}); err != nil {
				errs <- err
				return
			}
		}
	}()
	for range 3 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 20 {
				it, err := s.Query(ctx, store.Query{Types: []string{"indicator"}, Limit: 50})
				if err != nil {
					errs <- err
					return
				}
				for it.Next() {
				}
				if err := it.Err(); err != nil {
					errs <- err
				}
				it.Close()
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, store.Query{}); n != 200 {
		t.Fatalf("count after concurrent writes = %d, want 200", n)
	}
}

func testWriter(t *testing.T, s store.Store) {
	w, err := s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Put(ctx, []*store.Object{obj(idA, "indicator", "2021-01-01T00:00:00Z")}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	r, err := w.Put(ctx, []*store.Object{obj(idA, "indicator", "2021-01-01T00:00:00Z"), obj(idB, "malware", "2021-01-01T00:00:00Z")}, store.PutOptions{})
	if err != nil || r.Unchanged != 1 || r.New != 1 {
		t.Fatalf("second batch in a transaction = %+v, %v", r, err)
	}
	if err := w.Rollback(); err != nil {
		t.Fatal(err)
	}
	if n, _ := s.Count(ctx, store.Query{}); n != 0 {
		t.Fatalf("rolled back writer left %d objects", n)
	}
	w, err = s.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := w.Put(ctx, []*store.Object{obj(idA, "indicator", "2021-01-01T00:00:00Z")}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := w.Put(ctx, []*store.Object{obj(idB, "malware", "2021-01-01T00:00:00Z")}, store.PutOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if err := w.Rollback(); err != nil {
		t.Fatalf("Rollback after Commit = %v, want no-op", err)
	}
	if n, _ := s.Count(ctx, store.Query{}); n != 2 {
		t.Fatalf("committed writer: %d objects, want 2", n)
	}
	// After a rollback, date_added still increases.
	rs := collect(t, s, store.Query{})
	if !rs[1].DateAdded.After(rs[0].DateAdded) {
		t.Fatal("date_added not increasing across writers")
	}
}
