package access_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

func newService(t *testing.T) (*access.Service, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := access.NewService(st)
	if _, err := svc.CreateOrg(context.Background(), "CSIRT"); err != nil {
		t.Fatal(err)
	}
	return svc, st
}

func bearer(tok string) *http.Request {
	r, _ := http.NewRequest("GET", "/", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	return r
}

func TestPasswordHash(t *testing.T) {
	h, err := access.HashPassword("s3cret passphrase")
	if err != nil {
		t.Fatal(err)
	}
	if ok, err := access.CheckPassword(h, "s3cret passphrase"); !ok || err != nil {
		t.Fatalf("right password refused: %v", err)
	}
	if ok, _ := access.CheckPassword(h, "s3cret passphrasf"); ok {
		t.Fatal("wrong password accepted")
	}
	h2, _ := access.HashPassword("s3cret passphrase")
	if h == h2 {
		t.Fatal("two hashes of one password are equal: no salt")
	}
	for _, bad := range []string{"", "$argon2id$v=19$m=1,t=1,p=1$$", "plain", "$argon2id$v=19$m=99999999,t=1,p=1$AAAA$AAAA"} {
		if ok, err := access.CheckPassword(bad, "x"); ok || err == nil {
			t.Errorf("malformed hash %q accepted", bad)
		}
	}
}

func TestTokens(t *testing.T) {
	ctx := context.Background()
	svc, st := newService(t)
	if _, err := svc.CreateUser(ctx, "bot", "CSIRT", access.RoleReader, ""); err != nil {
		t.Fatal(err)
	}
	tok, rec, err := svc.CreateToken(ctx, "bot", "ci", 0)
	if err != nil {
		t.Fatal(err)
	}
	p, err := svc.Authenticate(bearer(tok))
	if err != nil || p.User != "bot" || p.Org != "CSIRT" || p.TokenID != rec.ID {
		t.Fatalf("token refused: %+v %v", p, err)
	}
	// Stored hashed: the secret appears nowhere in the store.
	toks, _ := st.Tokens(ctx, "")
	if len(toks) != 1 || string(toks[0].Hash) == tok {
		t.Fatal("token stored in clear")
	}
	if _, err := svc.Authenticate(bearer(tok + "x")); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("altered token: %v", err)
	}
	// Revoked: refused at once.
	if err := st.RevokeToken(ctx, rec.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(bearer(tok)); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("revoked token: %v", err)
	}
	// Expired: refused.
	short, _, err := svc.CreateToken(ctx, "bot", "short", time.Nanosecond)
	if err != nil {
		t.Fatal(err)
	}
	time.Sleep(time.Millisecond)
	if _, err := svc.Authenticate(bearer(short)); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("expired token: %v", err)
	}
	// A disabled user's tokens stop at once.
	live, _, _ := svc.CreateToken(ctx, "bot", "live", time.Hour)
	if _, err := svc.Authenticate(bearer(live)); err != nil {
		t.Fatal(err)
	}
	if err := svc.DisableUser(ctx, "bot"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Authenticate(bearer(live)); !errors.Is(err, access.ErrUnauthenticated) {
		t.Fatalf("disabled user's token: %v", err)
	}
}

func TestTokenRateLimit(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	svc.TokenRate, svc.TokenBurst = 1, 3
	svc.CreateUser(ctx, "bot", "CSIRT", access.RoleReader, "")
	tok, _, _ := svc.CreateToken(ctx, "bot", "", 0)
	var throttled bool
	for range 10 {
		if _, err := svc.Authenticate(bearer(tok)); errors.Is(err, access.ErrThrottled) {
			throttled = true
		}
	}
	if !throttled {
		t.Fatal("10 requests at once with a burst of 3 were never throttled")
	}
}

func TestLoginThrottling(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	if _, err := svc.CreateUser(ctx, "alice", "CSIRT", access.RoleAnalyst, "correct horse"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "alice", "correct horse", "10.0.0.1"); err != nil {
		t.Fatal(err)
	}
	for range 6 {
		if _, err := svc.Login(ctx, "alice", "wrong", "10.0.0.1"); err == nil {
			t.Fatal("wrong password accepted")
		}
	}
	if _, err := svc.Login(ctx, "alice", "correct horse", "10.0.0.2"); !errors.Is(err, access.ErrThrottled) {
		t.Fatalf("after 6 failures the user is not throttled: %v", err)
	}
	if _, err := svc.Login(ctx, "nobody", "x", "10.0.0.1"); !errors.Is(err, access.ErrThrottled) {
		t.Fatalf("after 6 failures the client is not throttled: %v", err)
	}
}

func TestEffective(t *testing.T) {
	cases := []struct {
		chosen  store.Level
		group   string
		marking []string
		want    store.Access
	}{
		{store.LevelPublic, "", nil, store.Access{Owner: "o", Level: store.LevelPublic}},
		{store.LevelPublic, "", []string{"marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1"}, store.Access{Owner: "o", Level: store.LevelOrg}},                // TLP:RED
		{store.LevelPublic, "g", []string{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"}, store.Access{Owner: "o", Level: store.LevelGroup, Group: "g"}}, // AMBER+STRICT
		{store.LevelPublic, "", []string{"marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003"}, store.Access{Owner: "o", Level: store.LevelOrg}},
		{store.LevelPublic, "", []string{"marking-definition--34098fce-860f-48ae-8e50-ebd3cc5e41da"}, store.Access{Owner: "o", Level: store.LevelConnected}}, // TLP1 GREEN
		{store.LevelOrg, "", []string{"marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487"}, store.Access{Owner: "o", Level: store.LevelOrg}},          // CLEAR does not widen
		{store.LevelCommunity, "g", nil, store.Access{Owner: "o", Level: store.LevelCommunity}},
	}
	for i, c := range cases {
		if got := access.Effective("o", c.chosen, c.group, c.marking); got != c.want {
			t.Errorf("case %d: Effective = %+v, want %+v", i, got, c.want)
		}
	}
}

func TestLoginCacheEndsOnChange(t *testing.T) {
	ctx := context.Background()
	svc, _ := newService(t)
	svc.CreateUser(ctx, "alice", "CSIRT", access.RoleAnalyst, "correct horse")
	for range 3 {
		if _, err := svc.Login(ctx, "alice", "correct horse", "c"); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := svc.Login(ctx, "alice", "wrong horse", "c"); err == nil {
		t.Fatal("wrong password accepted after a remembered login")
	}
	if err := svc.SetPassword(ctx, "alice", "new horse staple"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.Login(ctx, "alice", "correct horse", "c"); err == nil {
		t.Fatal("old password still accepted after a change")
	}
	if _, err := svc.Login(ctx, "alice", "new horse staple", "c"); err != nil {
		t.Fatal(err)
	}
	svc.DisableUser(ctx, "alice")
	if _, err := svc.Login(ctx, "alice", "new horse staple", "c"); err == nil {
		t.Fatal("disabled user signed in from the cache")
	}
}
