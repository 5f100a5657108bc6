package storetest

import (
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

func testDirectory(t *testing.T, s store.Store) {
	now := time.Now().UTC().Truncate(time.Microsecond)
	a := store.Org{ID: "org-a", Name: "A", Identity: "identity--a", Created: now}
	if err := s.CreateOrg(ctx, a); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateOrg(ctx, store.Org{ID: "org-a2", Name: "A", Identity: "identity--x", Created: now}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate organisation name: %v", err)
	}
	s.CreateOrg(ctx, store.Org{ID: "org-b", Name: "B", Identity: "identity--b", Created: now})
	if o, err := s.Org(ctx, "A"); err != nil || o != a {
		t.Fatalf("Org by name = %+v, %v", o, err)
	}
	if o, err := s.Org(ctx, "org-a"); err != nil || o.Name != "A" {
		t.Fatalf("Org by id = %+v, %v", o, err)
	}
	if _, err := s.Org(ctx, "C"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing org: %v", err)
	}
	u := store.User{ID: "u1", Name: "alice", OrgID: "org-a", Role: "analyst", PasswordHash: "h", Created: now, Changed: now}
	if err := s.CreateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if err := s.CreateUser(ctx, store.User{ID: "u2", Name: "alice", OrgID: "org-b", Role: "reader", Created: now, Changed: now}); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("duplicate user: %v", err)
	}
	u.Disabled, u.Changed = true, now.Add(time.Second)
	if err := s.UpdateUser(ctx, u); err != nil {
		t.Fatal(err)
	}
	if got, err := s.User(ctx, "alice"); err != nil || got != u {
		t.Fatalf("User = %+v, %v; want %+v", got, err, u)
	}
	tok := store.Token{ID: "t1", UserID: "u1", Hash: []byte{1, 2, 3}, Name: "ci", Created: now, Expires: now.Add(time.Hour)}
	if err := s.CreateToken(ctx, tok); err != nil {
		t.Fatal(err)
	}
	got, err := s.TokenByHash(ctx, []byte{1, 2, 3})
	if err != nil || got.ID != "t1" || !got.Expires.Equal(tok.Expires) || got.Revoked {
		t.Fatalf("TokenByHash = %+v, %v", got, err)
	}
	if _, err := s.TokenByHash(ctx, []byte{9}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("missing token: %v", err)
	}
	if err := s.RevokeToken(ctx, "t1"); err != nil {
		t.Fatal(err)
	}
	if got, _ := s.TokenByHash(ctx, []byte{1, 2, 3}); !got.Revoked {
		t.Fatal("token not revoked")
	}
	if err := s.RevokeToken(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("revoke missing token: %v", err)
	}
	if err := s.CreateGroup(ctx, store.Group{ID: "g1", Name: "G", OrgIDs: []string{"org-a", "org-b"}, Created: now}); err != nil {
		t.Fatal(err)
	}
	g, err := s.Group(ctx, "G")
	if err != nil || fmt.Sprint(g.OrgIDs) != "[org-a org-b]" {
		t.Fatalf("Group = %+v, %v", g, err)
	}
	if gs, _ := s.OrgGroups(ctx, "org-b"); fmt.Sprint(gs) != "[g1]" {
		t.Fatalf("OrgGroups = %v", gs)
	}
	v, err := s.SetSettingIfAbsent(ctx, "k", []byte("one"))
	if err != nil || string(v) != "one" {
		t.Fatalf("SetSettingIfAbsent = %q, %v", v, err)
	}
	if v, _ := s.SetSettingIfAbsent(ctx, "k", []byte("two")); string(v) != "one" {
		t.Fatalf("setting overwritten: %q", v)
	}
}

func testAuditLog(t *testing.T, s store.Store) {
	if _, err := s.LastAudit(ctx); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("empty log: %v", err)
	}
	zero := make([]byte, 32)
	r1 := &store.AuditRecord{Seq: 1, Time: time.Now().UTC(), Actor: "a", Action: "x", Detail: "{}", Prev: zero, Hash: []byte("h1-------------------------------")[:32]}
	if err := s.AppendAudit(ctx, r1); err != nil {
		t.Fatal(err)
	}
	bad := &store.AuditRecord{Seq: 2, Time: time.Now().UTC(), Actor: "a", Action: "x", Detail: "{}", Prev: zero, Hash: zero}
	if err := s.AppendAudit(ctx, bad); !errors.Is(err, store.ErrConflict) {
		t.Fatalf("append not extending the chain: %v", err)
	}
	r2 := &store.AuditRecord{Seq: 2, Time: time.Now().UTC(), Actor: "b", Action: "y", Detail: `{"n":1}`, Prev: r1.Hash, Hash: zero}
	if err := s.AppendAudit(ctx, r2); err != nil {
		t.Fatal(err)
	}
	last, err := s.LastAudit(ctx)
	if err != nil || last.Seq != 2 || last.Actor != "b" {
		t.Fatalf("LastAudit = %+v, %v", last, err)
	}
	var seqs []int64
	s.AuditRecords(ctx, 0, func(r store.AuditRecord) error { seqs = append(seqs, r.Seq); return nil })
	if fmt.Sprint(seqs) != "[1 2]" {
		t.Fatalf("AuditRecords = %v", seqs)
	}
}

// testViewer checks that the backend's filtering agrees with
// store.Viewer.CanRead for every combination of access and viewer.
func testViewer(t *testing.T, s store.Store) {
	var batch []*store.Object
	var accesses []store.Access
	i := 0
	for _, owner := range []string{"", "org-a", "org-b"} {
		for lvl := store.LevelOrg; lvl <= store.LevelPublic; lvl++ {
			for _, grp := range []string{"", "g1", "g2"} {
				a := store.Access{Owner: owner, Level: lvl, Group: grp}
				o := obj(fmt.Sprintf("indicator--00000000-0000-4000-8000-%012d", i), "indicator", "2021-01-01T00:00:00Z")
				o.Access = a
				batch = append(batch, o)
				accesses = append(accesses, a)
				i++
			}
		}
	}
	put(t, s, batch...)
	viewers := []*store.Viewer{
		nil, {All: true}, {Org: "org-a"}, {Org: "org-a", Groups: []string{"g1"}}, {Org: "org-b", Groups: []string{"g1", "g2"}},
		{Org: "org-c"}, {Org: "org-a", MinLevel: store.LevelConnected}, {MinLevel: store.LevelPublic}, {Org: "org-a", Groups: []string{"g1"}, MinLevel: store.LevelGroup}, {Org: "org-c", Groups: []string{""}},
	}
	for vi, v := range viewers {
		want := map[string]bool{}
		for j, a := range accesses {
			if v.CanRead(a) {
				want[batch[j].ID] = true
			}
		}
		got := collect(t, s, store.Query{Viewer: v})
		if len(got) != len(want) {
			t.Errorf("viewer %d %+v: query returned %d, CanRead allows %d", vi, v, len(got), len(want))
		}
		for _, r := range got {
			if !want[r.ID] {
				t.Errorf("viewer %d %+v: query returned %s (%+v), CanRead forbids it", vi, v, r.ID, r.Access)
			}
		}
		for j, o := range batch {
			_, err := s.Get(ctx, o.ID, store.GetOptions{Viewer: v})
			if (err == nil) != want[o.ID] {
				t.Errorf("viewer %d: Get(%+v) error %v, want visible=%v", vi, accesses[j], err, want[o.ID])
			}
		}
	}
}
