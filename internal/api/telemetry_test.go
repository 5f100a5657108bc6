package api_test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/api"
	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

func TestDetectionEndpoints(t *testing.T) {
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := access.NewService(st)
	org, err := svc.CreateOrg(ctx, "CSIRT")
	if err != nil {
		t.Fatal(err)
	}
	tokens := map[access.Role]string{}
	for _, role := range []access.Role{access.RoleAnalyst, access.RoleReader} {
		if _, err := svc.CreateUser(ctx, string(role), "CSIRT", role, ""); err != nil {
			t.Fatal(err)
		}
		tok, _, err := svc.CreateToken(ctx, string(role), "test", 0)
		if err != nil {
			t.Fatal(err)
		}
		tokens[role] = "Bearer " + tok
	}
	b := bus.NewLocal(nil)
	defer b.Close()
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues, Bus: b}
	var objs []string
	for i := 1; i <= 3; i++ {
		objs = append(objs, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000000%d","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"c2 %d","pattern":"[domain-name:value = 'evil.example'] OR [ipv4-addr:value = '198.51.100.%d']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","confidence":80}`, i, i, i))
	}
	bundle := `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[` + strings.Join(objs, ",") + `]}`
	if _, err := im.ImportBundle(ctx, strings.NewReader(bundle), "test", ingest.Options{Level: store.LevelCommunity}); err != nil {
		t.Fatal(err)
	}
	det := detect.NewService(detect.ServiceOptions{Store: st, Storage: st, Importer: im, Bus: b, FlushEvery: time.Hour})
	if err := det.Start(ctx); err != nil {
		t.Fatal(err)
	}
	defer det.Close()
	hits := make(chan string, 10)
	sub, _ := b.Subscribe(detect.SubjectHits, "test", func(_ context.Context, m bus.Message) error {
		hits <- string(m.Data)
		return nil
	})
	defer sub.Unsubscribe()
	srv := api.New(st, im, api.Options{MaxBodyBytes: 4096, Auth: svc})
	srv.RegisterDetection(det)
	hs := httptest.NewServer(srv)
	defer hs.Close()

	do := func(method, path, who, body string) (int, string) {
		t.Helper()
		req, _ := http.NewRequest(method, hs.URL+path, strings.NewReader(body))
		if who != "" {
			req.Header.Set("Authorization", tokens[access.Role(who)])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	ts := time.Now().Add(-time.Hour).Unix()
	telemetry := fmt.Sprintf(`{"timestamp":"%s","event_type":"dns","src_ip":"10.0.0.5","dns":{"rrname":"www.evil.example"}}`+"\n"+`{"ts":%d.1,"id.orig_h":"10.0.0.5","id.resp_h":"198.51.100.77"}`+"\n",
		time.Unix(ts, 0).UTC().Format("2006-01-02T15:04:05.000000-0700"), ts)
	for _, c := range []struct {
		method, path, who, body string
		status                  int
		contains                string
	}{
		{"POST", "/api/v1/telemetry", "", telemetry, 401, "authentication"},
		{"POST", "/api/v1/telemetry", "reader", telemetry, 403, "may not submit"},
		{"POST", "/api/v1/telemetry?format=pcap", "analyst", telemetry, 400, "unknown format"},
		{"POST", "/api/v1/telemetry?map=x", "analyst", telemetry, 400, "FIELD=PATH"},
		{"POST", "/api/v1/telemetry", "analyst", strings.Repeat(telemetry, 100), 413, "limit"},
		{"POST", "/api/v1/telemetry", "analyst", telemetry, 202, `"lines":2`},
		{"GET", "/api/v1/correlations", "reader", "", 400, "value is required"},
		{"GET", "/api/v1/correlations?value=EVIL.example&limit=2", "reader", "", 200, `"total":3`},
		{"GET", "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000001/correlations", "reader", "", 200, `"value":"evil.example","total":2`},
		{"GET", "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000009/correlations", "reader", "", 404, "no object"},
		{"POST", "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000001/false-positives", "reader", `{"reason":"x"}`, 403, "may not"},
		{"POST", "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000001/false-positives", "analyst", `{}`, 400, "reason is required"},
		{"POST", "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000001/false-positives", "analyst", `{"reason":"sinkholed"}`, 201, `"false_positives":1`},
		{"GET", "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000001/false-positives", "reader", "", 200, `"reason":"sinkholed"`},
		{"GET", "/api/v1/objects/indicator--00000000-0000-4000-8000-000000000002/score", "reader", "", 200, `"class":"domain"`},
		{"GET", "/api/v1/objects/" + org.Identity + "/score", "reader", "", 400, "is a identity"},
	} {
		status, body := do(c.method, c.path, c.who, c.body)
		if status != c.status || !strings.Contains(body, c.contains) {
			t.Errorf("%s %s as %q: %d %s; want %d with %q", c.method, c.path, c.who, status, body, c.status, c.contains)
		}
	}
	// Paging through a value's objects.
	_, page := do("GET", "/api/v1/correlations?value=evil.example&limit=2", "reader", "")
	var rep struct {
		Objects []struct{ ID string }
		More    bool
		Next    string
	}
	json.Unmarshal([]byte(page), &rep)
	if len(rep.Objects) != 2 || !rep.More || rep.Next == "" {
		t.Fatalf("first page %s", page)
	}
	_, page2 := do("GET", "/api/v1/correlations?value=evil.example&limit=2&next="+rep.Next, "reader", "")
	if !strings.Contains(page2, "000000000003") || strings.Contains(page2, `"more":true`) {
		t.Errorf("second page %s", page2)
	}
	// The accepted telemetry was matched: two records, three indicators
	// by the domain (the address is in none).
	got := ""
	deadline := time.After(10 * time.Second)
	for strings.Count(got, "\n") < 3 {
		select {
		case h := <-hits:
			got += h
		case <-deadline:
			t.Fatalf("hits announced: %q", got)
		}
	}
	if !strings.Contains(got, `"match":"subdomain"`) || !strings.Contains(got, `"org":"`+org.ID+`"`) {
		t.Errorf("hits %s", got)
	}
	if err := det.Flush(ctx); err != nil {
		t.Fatal(err)
	}
	if n, _ := st.Count(ctx, store.Query{Types: []string{"sighting"}, Viewer: &store.Viewer{Org: org.ID}}); n != 3 {
		t.Errorf("%d sightings, want 3", n)
	}
}
