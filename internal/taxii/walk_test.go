package taxii_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// addBatch imports n new malware objects (one transaction, so their
// date_added values share microseconds) and returns their ids.
func (f *fixture) addBatch(start, n int) []string {
	f.t.Helper()
	objs := make([]string, n)
	ids := make([]string, n)
	for i := range n {
		ids[i] = "malware--" + uuidN(start+i)
		objs[i] = malware(ids[i], "2024-06-01T00:00:00.000Z", fmt.Sprintf("m%d", start+i))
	}
	f.importAs(f.orgA.ID, store.LevelCommunity, objs...)
	return ids
}

type envelopeDoc struct {
	More    bool              `json:"more"`
	Next    string            `json:"next"`
	Objects []json.RawMessage `json:"objects"`
}

func ids(t testing.TB, objs []json.RawMessage) []string {
	out := make([]string, len(objs))
	for i, o := range objs {
		var v struct {
			ID string `json:"id"`
		}
		if err := json.Unmarshal(o, &v); err != nil {
			t.Fatal(err)
		}
		out[i] = v.ID
	}
	return out
}

// walk pages through the shared collection as a-reader, by next or (byDate)
// by added_after=X-TAXII-Date-Added-Last, calling between after each page.
func (f *fixture) walk(limit int, byDate bool, between func(page int)) []string {
	f.t.Helper()
	base := f.collPath("api1", f.shared.ID) + "objects/?limit=" + fmt.Sprint(limit)
	var seen []string
	next, after := "", ""
	for page := 0; ; page++ {
		if page > 10000 {
			f.t.Fatal("walk does not end")
		}
		path := base
		if next != "" {
			path += "&next=" + url.QueryEscape(next)
		}
		if after != "" {
			path += "&added_after=" + url.QueryEscape(after)
		}
		resp := f.get("a-reader", path)
		if resp.status != 200 {
			f.t.Fatalf("page %d: %d %s", page, resp.status, resp.body)
		}
		var env envelopeDoc
		if err := json.Unmarshal([]byte(resp.body), &env); err != nil {
			f.t.Fatal(err)
		}
		if len(env.Objects) > limit {
			f.t.Fatalf("page of %d objects for limit %d", len(env.Objects), limit)
		}
		seen = append(seen, ids(f.t, env.Objects)...)
		if between != nil {
			between(page)
		}
		if !env.More {
			return seen
		}
		if byDate {
			after = resp.header.Get("X-TAXII-Date-Added-Last")
		} else {
			next = env.Next
		}
	}
}

// checkPrefix checks that a walk saw a prefix of the final listing: in
// order, nothing skipped, nothing repeated.
func checkPrefix(t *testing.T, seen, all []string) {
	t.Helper()
	dup := map[string]bool{}
	for _, id := range seen {
		if dup[id] {
			t.Fatalf("%s seen twice", id)
		}
		dup[id] = true
	}
	if len(seen) > len(all) {
		t.Fatalf("saw %d objects, the collection has %d", len(seen), len(all))
	}
	for i := range seen {
		if seen[i] != all[i] {
			t.Fatalf("object %d: saw %s, want %s (skipped or out of order)", i, seen[i], all[i])
		}
	}
}

func TestWalkWhileAdding(t *testing.T) {
	for _, byDate := range []bool{false, true} {
		t.Run(fmt.Sprintf("added_after=%v", byDate), func(t *testing.T) {
			f := newFixture(t, fixtureOptions{noSeed: true})
			f.addBatch(0, 300)
			before := f.walk(1000, false, nil)
			var mu sync.Mutex
			n := 300
			// Between pages, another writer adds batches of 40 (each batch
			// in one transaction, so pages end inside microsecond groups).
			seen := f.walk(25, byDate, func(page int) {
				if page%3 == 0 && page < 40 {
					mu.Lock()
					f.addBatch(n, 40)
					n += 40
					mu.Unlock()
				}
			})
			all := f.walk(1000, false, nil)
			if len(all) != n {
				t.Fatalf("collection has %d objects, want %d", len(all), n)
			}
			checkPrefix(t, seen, all)
			if len(seen) < len(before) {
				t.Fatalf("walk saw %d objects, %d were there before it started", len(seen), len(before))
			}
		})
	}
}

func TestWalkConcurrentWriter(t *testing.T) {
	f := newFixture(t, fixtureOptions{noSeed: true})
	f.addBatch(0, 200)
	ctx := context.Background()
	var stop atomic.Bool
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for i := 0; !stop.Load() && i < 60; i++ {
			objs := make([]string, 10)
			for j := range objs {
				objs[j] = malware("malware--"+uuidN(10000+i*10+j), "2024-06-01T00:00:00.000Z", "late")
			}
			if _, err := f.im.ImportBundle(ctx, strings.NewReader(bundle(objs...)), "writer",
				ingest.Options{Collection: f.shared.ID, Owner: f.orgA.ID, Level: store.LevelCommunity}); err != nil {
				return
			}
		}
	}()
	seen := f.walk(17, false, nil)
	stop.Store(true)
	wg.Wait()
	all := f.walk(10000, false, nil)
	checkPrefix(t, seen, all)
	if len(seen) < 200 {
		t.Fatalf("saw %d objects, 200 were there at the start", len(seen))
	}
}

func TestCursorBinding(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	objects := f.collPath("api1", f.shared.ID) + "objects/"
	first := f.get("a-reader", objects+"?limit=1&match[type]=malware,indicator")
	var env envelopeDoc
	json.Unmarshal([]byte(first.body), &env)
	if !env.More || env.Next == "" {
		t.Fatalf("no next: %s", first.body)
	}
	next := url.QueryEscape(env.Next)
	cases := []struct {
		name, path string
		status     int
	}{
		{"same filters", objects + "?limit=1&match[type]=malware,indicator&next=" + next, 200},
		{"values reordered, other limit", objects + "?limit=5&match[type]=indicator,malware&next=" + next, 200},
		{"other filters", objects + "?limit=1&match[type]=malware&next=" + next, 400},
		{"no filters", objects + "?limit=1&next=" + next, 400},
		{"other collection", f.collPath("api1", f.empty.ID) + "objects/?limit=1&match[type]=malware,indicator&next=" + next, 400},
		{"manifest", f.collPath("api1", f.shared.ID) + "manifest/?limit=1&match[type]=malware,indicator&next=" + next, 400},
		{"tampered", objects + "?limit=1&match[type]=malware,indicator&next=" + url.QueryEscape(tamper(env.Next)), 400},
		{"forged", objects + "?limit=1&match[type]=malware,indicator&next=AQEAAAAAAAAAAAAAAAAAAAAAAA", 400},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			resp := f.get("a-reader", tc.path)
			if resp.status != tc.status {
				t.Fatalf("status %d, want %d: %s", resp.status, tc.status, resp.body)
			}
			if resp.status == 400 && !strings.Contains(resp.body, `"error_code":"invalid-next"`) {
				t.Errorf("body: %s", resp.body)
			}
		})
	}
	// Another reader may follow the cursor, but it still sees only what it may read.
	resp := f.get("b-reader", objects+"?limit=1&match[type]=malware,indicator&next="+next)
	if resp.status != 200 {
		t.Fatalf("b-reader: %d %s", resp.status, resp.body)
	}
}

func tamper(s string) string {
	b := []byte(s)
	i := len(b) / 2
	if b[i] == 'A' {
		b[i] = 'B'
	} else {
		b[i] = 'A'
	}
	return string(b)
}

func TestAccessAcrossOrganisations(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	// More private objects of B, interleaved with A's.
	for i := range 5 {
		f.addBatch(100+i*3, 3)
		f.importAs(f.orgB.ID, store.LevelOrg, malware("malware--"+uuidN(500+i), "2024-07-01T00:00:00.000Z", "B secret"))
	}
	walkAs := func(who string) []string {
		base := f.collPath("api1", f.shared.ID) + "objects/?limit=2"
		var seen []string
		next := ""
		for {
			path := base
			if next != "" {
				path += "&next=" + url.QueryEscape(next)
			}
			resp := f.get(who, path)
			var env envelopeDoc
			if err := json.Unmarshal([]byte(resp.body), &env); err != nil {
				t.Fatalf("%s: %v %s", who, err, resp.body)
			}
			seen = append(seen, ids(t, env.Objects)...)
			if !env.More {
				return seen
			}
			next = env.Next
		}
	}
	a, b := walkAs("a-reader"), walkAs("b-reader")
	has := func(list []string, pred func(string) bool) int {
		n := 0
		for _, id := range list {
			if pred(id) {
				n++
			}
		}
		return n
	}
	secret := func(id string) bool { return id == mb || strings.HasPrefix(id, "malware--000001f") }
	if n := has(a, secret); n != 0 {
		t.Errorf("org A saw %d of B's private objects", n)
	}
	if n := has(b, secret); n != 6 {
		t.Errorf("org B saw %d of its 6 private objects", n)
	}
	if len(b) != len(a)+6 {
		t.Errorf("A saw %d objects, B %d: they should differ by B's 6", len(a), len(b))
	}
	man := f.get("a-reader", f.collPath("api1", f.shared.ID)+"manifest/")
	if strings.Contains(man.body, "malware--000001f") || strings.Contains(man.body, mb) {
		t.Errorf("manifest shows B's objects to A: %s", man.body)
	}
	if r := f.get("a-reader", f.collPath("api1", f.shared.ID)+"objects/malware--"+uuidN(500)+"/versions/"); r.status != 404 {
		t.Errorf("versions of B's object for A: %d", r.status)
	}

	// Status resources belong to the organisation that posted.
	post := f.do("a-analyst", "POST", f.collPath("api1", f.shared.ID)+"objects/", map[string]string{"Content-Type": "application/taxii+json;version=2.1"},
		envelope(malware("malware--"+uuidN(900), "2024-08-01T00:00:00.000Z", "posted")))
	var st struct {
		ID string `json:"id"`
	}
	json.Unmarshal([]byte(post.body), &st)
	if post.status != 202 || st.ID == "" {
		t.Fatalf("post: %d %s", post.status, post.body)
	}
	path := "/taxii2/api1/status/" + st.ID + "/"
	if r := f.get("a-reader", path); r.status != 200 || !strings.Contains(r.body, `"success_count":1`) {
		t.Errorf("status for A: %d %s", r.status, r.body)
	}
	if r := f.get("b-analyst", path); r.status != 404 {
		t.Errorf("status for B: %d %s", r.status, r.body)
	}
	if r := f.get("a-reader", "/taxii2/api2/status/"+st.ID+"/"); r.status != 404 {
		t.Errorf("status under another API root: %d", r.status)
	}
}
