package taxii_test

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/taxii"
)

// TestStateStores runs the same checks on both StateStore implementations.
func TestStateStores(t *testing.T) {
	for name, mk := range map[string]func(t *testing.T) taxii.StateStore{
		"memory": func(t *testing.T) taxii.StateStore { return taxii.NewMemoryState() },
		"sqlite": func(t *testing.T) taxii.StateStore {
			st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { st.Close() })
			return st
		},
	} {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			s := mk(t)
			old := time.Now().Add(-48 * time.Hour)
			if err := s.PutTAXIIStatus(ctx, "s1", "api1", "orgA", old, []byte(`{"id":"s1"}`)); err != nil {
				t.Fatal(err)
			}
			if err := s.PutTAXIIStatus(ctx, "s2", "api1", "orgB", time.Now(), []byte(`{"id":"s2"}`)); err != nil {
				t.Fatal(err)
			}
			root, org, res, err := s.TAXIIStatus(ctx, "s1")
			if err != nil || root != "api1" || org != "orgA" || string(res) != `{"id":"s1"}` {
				t.Fatalf("status: %q %q %q %v", root, org, res, err)
			}
			if _, _, _, err := s.TAXIIStatus(ctx, "nope"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("unknown status: %v", err)
			}
			if n, err := s.PruneTAXIIStatuses(ctx, time.Now().Add(-24*time.Hour)); err != nil || n != 1 {
				t.Fatalf("prune: %d %v", n, err)
			}
			if _, _, _, err := s.TAXIIStatus(ctx, "s1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("pruned status: %v", err)
			}

			if err := s.PutTAXIIRemote(ctx, "r1", []byte(`{"url":"a"}`), true); err != nil {
				t.Fatal(err)
			}
			if err := s.PutTAXIIRemote(ctx, "r1", []byte(`{}`), true); !errors.Is(err, store.ErrConflict) {
				t.Fatalf("duplicate remote: %v", err)
			}
			if err := s.PutTAXIIRemote(ctx, "r2", []byte(`{}`), false); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("replace absent remote: %v", err)
			}
			if err := s.PutTAXIIRemote(ctx, "r1", []byte(`{"url":"b"}`), false); err != nil {
				t.Fatal(err)
			}
			if err := s.SetTAXIICheckpoint(ctx, "r1", "2025-01-01T00:00:00.000000Z"); err != nil {
				t.Fatal(err)
			}
			if err := s.SetTAXIIResult(ctx, "r1", []byte(`{"pages":1}`)); err != nil {
				t.Fatal(err)
			}
			cfg, result, cp, err := s.TAXIIRemote(ctx, "r1")
			if err != nil || string(cfg) != `{"url":"b"}` || string(result) != `{"pages":1}` || cp != "2025-01-01T00:00:00.000000Z" {
				t.Fatalf("remote: %q %q %q %v", cfg, result, cp, err)
			}
			if err := s.SetTAXIICheckpoint(ctx, "nope", "x"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("checkpoint of absent remote: %v", err)
			}
			s.PutTAXIIRemote(ctx, "a0", []byte(`{}`), true)
			if names, err := s.TAXIIRemoteNames(ctx); err != nil || strings.Join(names, ",") != "a0,r1" {
				t.Fatalf("names: %v %v", names, err)
			}
			if err := s.DeleteTAXIIRemote(ctx, "r1"); err != nil {
				t.Fatal(err)
			}
			if err := s.DeleteTAXIIRemote(ctx, "r1"); !errors.Is(err, store.ErrNotFound) {
				t.Fatalf("delete twice: %v", err)
			}
		})
	}
}

// plainStore hides the SQLite extras, as another backend would.
type plainStore struct{ store.Store }

func TestServerOnPlainStore(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	srv := taxii.NewServer(taxii.Options{Store: plainStore{f.st}, Importer: f.im, Auth: f.svc, Log: discardLog()})
	f.server = srv
	f.srv = httptest.NewServer(srv)
	t.Cleanup(f.srv.Close)
	objects := f.collPath("api1", f.shared.ID) + "objects/"
	if r := f.get("a-reader", objects+"?match[version]=first,last"); r.status != 200 || !strings.Contains(r.body, m2) {
		t.Fatalf("objects: %d %s", r.status, r.body)
	}
	if r := f.get("a-reader", f.collPath("api1", f.shared.ID)+"manifest/"); r.status != 200 || !strings.Contains(r.body, m2) {
		t.Fatalf("manifest: %d %s", r.status, r.body)
	}
	// Statuses live in memory.
	post := f.do("a-analyst", "POST", objects, map[string]string{"Content-Type": taxii.MediaTAXII}, envelope(malware("malware--"+uuidN(8), "2024-01-01T00:00:00.000Z", "x")))
	if post.status != 202 {
		t.Fatalf("post: %d %s", post.status, post.body)
	}
	id := post.body[strings.Index(post.body, `"id":"`)+6:]
	id = id[:strings.Index(id, `"`)]
	if r := f.get("a-analyst", "/taxii2/api1/status/"+id+"/"); r.status != 200 {
		t.Fatalf("status: %d %s", r.status, r.body)
	}
	// Without membership removal, DELETE is 501.
	if r := f.do("a-analyst", "DELETE", objects+m2+"/", nil, ""); r.status != 501 {
		t.Fatalf("delete: %d %s", r.status, r.body)
	}
}

// TestChunkedTooLarge sends a body without Content-Length: it is cut at the
// limit and nothing is stored.
func TestChunkedTooLarge(t *testing.T) {
	f := newFixture(t, fixtureOptions{maxContent: 4 << 10})
	objects := f.collPath("api1", f.shared.ID) + "objects/"
	var objs []string
	for i := range 40 {
		objs = append(objs, malware("malware--"+uuidN(7000+i), "2024-01-01T00:00:00.000Z", "big"))
	}
	body := io.MultiReader(strings.NewReader(envelope(objs...))) // unknown length: chunked
	req, _ := http.NewRequest("POST", f.srv.URL+objects, body)
	req.Header.Set("Content-Type", taxii.MediaTAXII)
	req.Header.Set("Accept", taxii.MediaTAXII)
	req.Header.Set("Authorization", "Bearer "+f.tokens["a-analyst"])
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 413 || resp.ContentLength == 0 || !strings.Contains(string(b), `"http_status":"413"`) {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
	if _, err := f.st.Get(context.Background(), "malware--"+uuidN(7000), store.GetOptions{}); !errors.Is(err, store.ErrNotFound) {
		t.Fatalf("an object of the refused body was stored: %v", err)
	}
}
