package api_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/api"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/stix"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/taxii"
)

// The leak matrix: organisations A, B and C, sharing group G = {A, B}, and
// a sync account of a connected instance. Org A writes one indicator for
// every distribution × TLP marking. For every reader and every read path,
// each object must be visible exactly where docs/access.md says it is: the
// test fails on a leak and on an object wrongly hidden.

var tlpMarkings = map[string]string{
	"none": "", "clear": stix.TLP2ClearID, "green": stix.TLP2GreenID, "amber": stix.TLP2AmberID,
	"amber+strict": stix.TLP2AmberStrictID, "red": stix.TLP2RedID, "tlp1-white": stix.TLP1WhiteID, "tlp1-red": stix.TLP1RedID,
}

// expected is written from the table in docs/access.md, independently of
// store.Viewer.CanRead.
func expected(reader string, dist string, tlp string) bool {
	rank := map[string]int{"org": 0, "group": 1, "community": 2, "connected": 3, "public": 4}
	capOf := map[string]int{"none": 4, "clear": 4, "tlp1-white": 4, "green": 3, "amber": 2, "amber+strict": 1, "red": 0, "tlp1-red": 0}
	eff := min(rank[dist], capOf[tlp])
	if eff == 1 && dist != "group" {
		eff = 0 // capped to a sharing group, but none was named: organisation only
	}
	switch reader {
	case "A": // the owner
		return true
	case "B": // member of G
		return eff >= 1
	case "C": // another organisation
		return eff >= 2
	case "sync": // a connected instance
		return eff >= 3
	}
	return false
}

type leakFixture struct {
	srv     *httptest.Server
	st      *sqlite.Store
	tokens  map[string]string
	viewers map[string]*store.Viewer
	objects map[string][2]string // id -> {dist, tlp}
	anchor  string
	coll    string
}

func newLeakFixture(t *testing.T) *leakFixture {
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	svc := access.NewService(st)
	svc.TokenRate, svc.TokenBurst = 1e6, 1e6 // the matrix sends thousands of requests
	for _, o := range []string{"A", "B", "C", "Remote"} {
		if _, err := svc.CreateOrg(ctx, o); err != nil {
			t.Fatal(err)
		}
	}
	g, err := svc.CreateGroup(ctx, "G", []string{"A", "B"})
	if err != nil {
		t.Fatal(err)
	}
	f := &leakFixture{st: st, tokens: map[string]string{}, viewers: map[string]*store.Viewer{}, objects: map[string][2]string{}}
	for reader, u := range map[string]struct {
		org  string
		role access.Role
	}{"A": {"A", access.RoleReader}, "B": {"B", access.RoleReader}, "C": {"C", access.RoleAdmin}, "sync": {"Remote", access.RoleSync}} {
		if _, err := svc.CreateUser(ctx, "user-"+reader, u.org, u.role, ""); err != nil {
			t.Fatal(err)
		}
		tok, _, err := svc.CreateToken(ctx, "user-"+reader, "", 0)
		if err != nil {
			t.Fatal(err)
		}
		f.tokens[reader] = tok
		p, err := svc.TokenPrincipal(ctx, tok)
		if err != nil {
			t.Fatal(err)
		}
		f.viewers[reader] = p.Viewer()
	}
	orgA, _ := st.Org(ctx, "A")
	coll, err := st.CreateCollection(ctx, store.Collection{Title: "leak", Level: store.LevelCommunity})
	if err != nil {
		t.Fatal(err)
	}
	f.coll = coll.ID
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	// A public anchor every relationship points to.
	f.anchor = "malware--" + uuid.NewString()
	anchor := fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":%q,"created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"anchor","is_family":true}`, f.anchor)
	if _, err := im.ImportBundle(ctx, strings.NewReader(bundle(anchor)), "anchor", ingest.Options{Level: store.LevelPublic}); err != nil {
		t.Fatal(err)
	}
	for dist, lvl := range access.LevelNames {
		for tlp, marking := range tlpMarkings {
			id := "indicator--" + uuid.NewString()
			relID := "relationship--" + uuid.NewString()
			marks := ""
			if marking != "" {
				marks = fmt.Sprintf(`,"object_marking_refs":[%q]`, marking)
			}
			ind := fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"leak %s %s","pattern":"[domain-name:value = 'leak-test.example']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"%s}`, id, dist, tlp, marks)
			rel := fmt.Sprintf(`{"type":"relationship","spec_version":"2.1","id":%q,"created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","relationship_type":"indicates","source_ref":%q,"target_ref":%q%s}`, relID, id, f.anchor, marks)
			opts := ingest.Options{Owner: orgA.ID, Level: lvl, Collection: coll.ID}
			if lvl == store.LevelGroup {
				opts.Group = g.ID
			}
			res, err := im.ImportBundle(ctx, strings.NewReader(bundle(ind, rel)), "leak", opts)
			if err != nil || res.New != 2 {
				t.Fatalf("import %s/%s: %s %v", dist, tlp, res.Summary(), err)
			}
			f.objects[id] = [2]string{dist, tlp}
			f.objects[relID] = [2]string{dist, tlp}
		}
	}
	a := api.New(st, im, api.Options{Auth: svc})
	a.Handle(taxii.Prefix, taxii.NewServer(taxii.Options{Store: st, Importer: im, Auth: svc, State: st, CursorKey: []byte("leak-test-key-0123456789abcdef")}))
	f.srv = httptest.NewServer(a)
	t.Cleanup(f.srv.Close)
	return f
}

func bundle(objs ...string) string {
	return `{"type":"bundle","id":"bundle--` + uuid.NewString() + `","objects":[` + strings.Join(objs, ",") + `]}`
}

func (f *leakFixture) get(t *testing.T, reader, path string) (int, string) {
	req, _ := http.NewRequest("GET", f.srv.URL+path, nil)
	req.Header.Set("Authorization", "Bearer "+f.tokens[reader])
	if strings.HasPrefix(path, "/taxii2/") {
		req.Header.Set("Accept", "application/taxii+json;version=2.1")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func TestLeakMatrix(t *testing.T) {
	f := newLeakFixture(t)
	ctx := context.Background()
	readers := []string{"A", "B", "C", "sync"}
	for _, reader := range readers {
		v := f.viewers[reader]
		// Paths that list: search, value search, text search, relationships of the anchor, counts.
		_, all := f.get(t, reader, "/api/v1/objects?limit=10000&type=indicator&type=relationship")
		_, byValue := f.get(t, reader, "/api/v1/objects?limit=10000&value=leak-test.example")
		_, byText := f.get(t, reader, "/api/v1/objects?limit=10000&text=leak")
		_, rels := f.get(t, reader, "/api/v1/objects/"+f.anchor+"/relationships?limit=10000")
		tx := "/taxii2/api1/collections/" + f.coll + "/"
		_, taxiiObjects := f.get(t, reader, tx+"objects/?limit=10000")
		_, manifest := f.get(t, reader, tx+"manifest/?limit=10000")
		_, taxiiVersionsAll := f.get(t, reader, tx+"objects/?limit=10000&match[version]=all")
		wantIndicators, wantRels := 0, 0
		for id, dt := range f.objects {
			want := expected(reader, dt[0], dt[1])
			isInd := strings.HasPrefix(id, "indicator--")
			if want {
				if isInd {
					wantIndicators++
				} else {
					wantRels++
				}
			}
			cell := fmt.Sprintf("reader %s, %s, distribution %s, TLP %s", reader, strings.SplitN(id, "--", 2)[0], dt[0], dt[1])
			check := func(path string, got bool) {
				if got != want {
					t.Errorf("%s via %s: visible=%v, want %v", cell, path, got, want)
				}
			}
			check("GET /api/v1/objects", strings.Contains(all, id))
			if isInd {
				check("GET /api/v1/objects?value=", strings.Contains(byValue, id))
				check("GET /api/v1/objects?text=", strings.Contains(byText, id))
			} else {
				check("GET /api/v1/objects/{anchor}/relationships", strings.Contains(rels, id))
			}
			check("TAXII objects", strings.Contains(taxiiObjects, id))
			check("TAXII objects match[version]=all", strings.Contains(taxiiVersionsAll, id))
			check("TAXII manifest", strings.Contains(manifest, id))
			code, body := f.get(t, reader, tx+"objects/"+id+"/")
			check("TAXII object by id", code == 200 && strings.Contains(body, id))
			if !want && code != 404 {
				t.Errorf("%s: TAXII object by id answered %d, want 404", cell, code)
			}
			code, body = f.get(t, reader, tx+"objects/"+id+"/versions/")
			check("TAXII versions", code == 200 && strings.Contains(body, "2025-01-01T00:00:00"))
			code, body = f.get(t, reader, "/api/v1/objects/"+id)
			check("GET /api/v1/objects/{id}", code == 200 && strings.Contains(body, id))
			if !want && code != 404 {
				t.Errorf("%s: invisible object answered %d, want 404", cell, code)
			}
			code, body = f.get(t, reader, "/api/v1/objects/"+id+"?all_versions=true")
			check("GET /api/v1/objects/{id}?all_versions=true", code == 200 && strings.Contains(body, id))
			_, err := f.st.Get(ctx, id, store.GetOptions{Viewer: v})
			check("store.Get", err == nil)
			if got := v.CanRead(mustAccess(t, f.st, id)); got != want {
				t.Errorf("%s: Viewer.CanRead=%v, want %v", cell, got, want)
			}
		}
		n, err := f.st.Count(ctx, store.Query{Types: []string{"indicator"}, Viewer: v})
		if err != nil || int(n) != wantIndicators {
			t.Errorf("reader %s: store.Count of indicators = %d, want %d", reader, n, wantIndicators)
		}
		n, _ = f.st.Count(ctx, store.Query{Ref: f.anchor, Viewer: v})
		if int(n) != wantRels {
			t.Errorf("reader %s: store.Count of relationships = %d, want %d", reader, n, wantRels)
		}
		if reader == "A" && (wantIndicators != len(f.objects)/2) {
			t.Errorf("the owner sees %d of its %d indicators", wantIndicators, len(f.objects)/2)
		}
	}
}

func mustAccess(t *testing.T, st store.Store, id string) store.Access {
	r, err := st.Get(context.Background(), id, store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return r.Access
}
