package taxii_test

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"mime"
	"net/http"
	"net/url"
	"regexp"
	"testing"

	"github.com/mamori-cti/mamori/internal/access"
)

// specClient is a small TAXII 2.1 client written from the specification
// alone (net/http and encoding/json, none of the package's code), to check
// the server against the text rather than against its own client.
type specClient struct {
	t          *testing.T
	user, pass string
}

var taxiiTimestamp = regexp.MustCompile(`^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$`)

func (c *specClient) call(method, u string, body []byte) (int, http.Header, map[string]any) {
	c.t.Helper()
	req, err := http.NewRequest(method, u, bytes.NewReader(body))
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Accept", "application/taxii+json;version=2.1") // section 3.1
	if body != nil {
		req.Header.Set("Content-Type", "application/taxii+json;version=2.1")
	}
	req.SetBasicAuth(c.user, c.pass) // section 1.6.9: HTTP Basic
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		c.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	// Section 3.1: every response names the media type and version.
	mt, params, err := mime.ParseMediaType(resp.Header.Get("Content-Type"))
	if err != nil || mt != "application/taxii+json" || params["version"] != "2.1" {
		c.t.Fatalf("%s %s: Content-Type %q", method, u, resp.Header.Get("Content-Type"))
	}
	var doc map[string]any
	if len(raw) > 0 {
		if err := json.Unmarshal(raw, &doc); err != nil {
			c.t.Fatalf("%s %s: %v: %s", method, u, err, raw)
		}
	}
	// Section 2: an empty list is never sent.
	for k, v := range doc {
		if l, ok := v.([]any); ok && len(l) == 0 {
			c.t.Errorf("%s %s: empty list %q", method, u, k)
		}
	}
	return resp.StatusCode, resp.Header, doc
}

func (c *specClient) get(u string) (http.Header, map[string]any) {
	c.t.Helper()
	status, h, doc := c.call("GET", u, nil)
	if status != 200 {
		c.t.Fatalf("GET %s: %d %v", u, status, doc)
	}
	return h, doc
}

func resolve(t *testing.T, base, ref string) string {
	b, _ := url.Parse(base)
	r, err := b.Parse(ref)
	if err != nil {
		t.Fatal(err)
	}
	return r.String()
}

func TestIndependentClient(t *testing.T) {
	f := newFixture(t, fixtureOptions{})
	if _, err := f.svc.CreateUser(context.Background(), "basic-user", f.orgA.ID, access.RoleAnalyst, "correct horse battery"); err != nil {
		t.Fatal(err)
	}
	c := &specClient{t: t, user: "basic-user", pass: "correct horse battery"}

	// 4.1 Discovery.
	discovery := f.srv.URL + "/taxii2/"
	_, d := c.get(discovery)
	if _, ok := d["title"].(string); !ok {
		t.Fatalf("discovery without title: %v", d)
	}
	roots, _ := d["api_roots"].([]any)
	if len(roots) == 0 || d["default"] != roots[0] {
		t.Fatalf("api_roots %v, default %v", roots, d["default"])
	}
	root := resolve(t, discovery, roots[0].(string))
	// A user name with an API token as the password is also HTTP Basic, and
	// spares each request the password hash (Argon2id, tens of milliseconds).
	c.user, c.pass = "a-analyst", f.tokens["a-analyst"]

	// 4.2 API root.
	_, ar := c.get(root)
	versions, _ := ar["versions"].([]any)
	if len(versions) == 0 || versions[0] != "application/taxii+json;version=2.1" {
		t.Fatalf("versions %v", ar["versions"])
	}
	if n, ok := ar["max_content_length"].(float64); !ok || n <= 0 {
		t.Fatalf("max_content_length %v", ar["max_content_length"])
	}

	// 5.1 Collections.
	_, cs := c.get(root + "collections/")
	var coll map[string]any
	for _, x := range cs["collections"].([]any) {
		m := x.(map[string]any)
		for _, k := range []string{"id", "title", "can_read", "can_write"} {
			if _, ok := m[k]; !ok {
				t.Fatalf("collection without %s: %v", k, m)
			}
		}
		if m["title"] == "Shared" {
			coll = m
		}
	}
	if coll == nil || coll["can_read"] != true || coll["can_write"] != true {
		t.Fatalf("collection: %v", coll)
	}
	collURL := root + "collections/" + coll["id"].(string) + "/"
	_, one := c.get(collURL)
	if one["id"] != coll["id"] {
		t.Fatalf("5.2 collection: %v", one)
	}

	// 5.4 Get objects, paged with next (3.5), then with added_after.
	walk := func(useNext bool) []string {
		var ids []string
		q := url.Values{"limit": {"2"}}
		lastDate := ""
		for pages := 0; pages < 100; pages++ {
			h, env := c.get(collURL + "objects/?" + q.Encode())
			first, last := h.Get("X-TAXII-Date-Added-First"), h.Get("X-TAXII-Date-Added-Last")
			if !taxiiTimestamp.MatchString(first) || !taxiiTimestamp.MatchString(last) || first > last {
				t.Fatalf("X-TAXII-Date-Added headers %q %q", first, last)
			}
			if lastDate != "" && first <= lastDate {
				t.Fatalf("page starts at %s, the previous ended at %s (3.3: ascending date_added)", first, lastDate)
			}
			lastDate = last
			objs, _ := env["objects"].([]any)
			if len(objs) > 2 {
				t.Fatalf("%d objects for limit=2", len(objs))
			}
			for _, o := range objs {
				ids = append(ids, o.(map[string]any)["id"].(string))
			}
			if env["more"] != true {
				return ids
			}
			if useNext {
				next, _ := env["next"].(string)
				if next == "" {
					t.Fatal("more without next")
				}
				q.Set("next", next)
			} else {
				q.Set("added_after", last)
			}
		}
		t.Fatal("pagination does not end")
		return nil
	}
	byNext, byDate := walk(true), walk(false)
	if len(byNext) != 3 || len(byDate) != len(byNext) {
		t.Fatalf("walks: %v and %v", byNext, byDate)
	}
	for i := range byNext {
		if byNext[i] != byDate[i] {
			t.Fatalf("walks differ: %v and %v", byNext, byDate)
		}
	}

	// 5.3 Manifest.
	_, man := c.get(collURL + "manifest/")
	for _, x := range man["objects"].([]any) {
		m := x.(map[string]any)
		if !taxiiTimestamp.MatchString(m["date_added"].(string)) || m["version"] == "" || m["media_type"] != "application/stix+json;version=2.1" {
			t.Errorf("manifest record %v", m)
		}
	}

	// 5.5 Add objects: a valid and an invalid object.
	env := []byte(`{"objects":[` + malware("malware--"+uuidN(4242), "2025-01-01T00:00:00.000Z", "spec client") +
		`,{"type":"malware","id":"malware--oops"}]}`)
	status, _, st := c.call("POST", collURL+"objects/", env)
	if status != 202 {
		t.Fatalf("POST: %d %v", status, st)
	}
	total := st["total_count"].(float64)
	if st["success_count"].(float64)+st["failure_count"].(float64)+st["pending_count"].(float64) != total || total != 2 {
		t.Fatalf("status counts: %v", st)
	}
	if s, ok := st["successes"].([]any); !ok || len(s) != 1 {
		t.Fatalf("successes %v", st["successes"])
	}
	if fl, ok := st["failures"].([]any); !ok || len(fl) != 1 || fl[0].(map[string]any)["message"] == "" {
		t.Fatalf("failures %v", st["failures"])
	}
	// 4.3 Status.
	_, st2 := c.get(root + "status/" + st["id"].(string) + "/")
	if st2["status"] != "complete" || st2["id"] != st["id"] {
		t.Fatalf("status: %v", st2)
	}

	// 5.6 Get an object, 5.8 its versions.
	objURL := collURL + "objects/malware--" + uuidN(4242) + "/"
	_, got := c.get(objURL)
	if objs := got["objects"].([]any); len(objs) != 1 || objs[0].(map[string]any)["name"] != "spec client" {
		t.Fatalf("object: %v", got)
	}
	_, vs := c.get(objURL + "versions/")
	if v := vs["versions"].([]any); len(v) != 1 || v[0] != "2025-01-01T00:00:00.000Z" {
		t.Fatalf("versions: %v", vs)
	}

	// 5.7 Delete, then the object is gone (404 with an error message).
	if status, _, doc := c.call("DELETE", objURL, nil); status != 200 {
		t.Fatalf("DELETE: %d %v", status, doc)
	}
	status, _, e := c.call("GET", objURL, nil)
	if status != 404 || e["http_status"] != "404" || e["title"] == "" {
		t.Fatalf("deleted object: %d %v", status, e)
	}

	// 1.6.9: wrong credentials are 401 with a challenge.
	bad := &specClient{t: t, user: "basic-user", pass: "wrong password"}
	status, h, e := bad.call("GET", discovery, nil)
	if status != 401 || h.Get("WWW-Authenticate") == "" || e["http_status"] != "401" {
		t.Fatalf("wrong password: %d %v %v", status, h, e)
	}
}
