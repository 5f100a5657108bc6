package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/bus"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

const goodIndicator = `{"type":"indicator","spec_version":"2.1","id":"indicator--8e2e2d2b-17d4-4cbf-938f-98ee46b3cd3f","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","pattern":"[ipv4-addr:value = '203.0.113.9']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}`

const goodMalware = `{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"Poison Ivy","is_family":true}`

func bundle(objs ...string) string {
	return `{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[` + strings.Join(objs, ",") + `]}`
}

func TestImportBadDocuments(t *testing.T) {
	deep := strings.Repeat("[", 100000) + strings.Repeat("]", 100000)
	cases := []struct {
		name    string
		doc     string
		wantErr string // substring of the error
	}{
		{"empty", "", "empty document"},
		{"truncated", bundle(goodMalware, goodIndicator)[:300], "unexpected EOF"},
		{"truncated inside objects", bundle(goodMalware, goodIndicator[:50]), "$.objects[1]"},
		{"array", "[" + goodMalware + "]", "JSON array"},
		{"not a bundle", goodMalware, `$.type is "malware"`},
		{"no type", `{"objects":[]}`, "no \"type\": \"bundle\""},
		{"objects not array", `{"type":"bundle","objects":{}}`, "must be an array"},
		{"garbage after", bundle(goodMalware) + "{}", "data after the end"},
		{"not JSON", "hello", "invalid character"},
		{"deep nesting in an object", bundle(goodMalware, `{"type":"x","a":`+deep+`}`), "$.objects[1]"},
		{"type not string", `{"type":1,"objects":[]}`, "must be a string"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			res, err := newImporter(st).ImportBundle(context.Background(), strings.NewReader(tc.doc), "doc.json", ingest.Options{})
			if err == nil {
				t.Fatalf("no error; result %s", res.Summary())
			}
			if !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), "doc.json") {
				t.Fatalf("error %q does not name %q and the file", err, tc.wantErr)
			}
			if n, _ := st.Count(context.Background(), store.Query{IncludeRevoked: true, Versions: store.VersionsAll}); n != 0 || res.Committed {
				t.Fatalf("a failed document wrote %d objects", n)
			}
		})
	}
}

func TestImportRejectsObjects(t *testing.T) {
	badUTF8 := strings.Replace(goodMalware, "Poison Ivy", "Poison \xff Ivy", 1)
	noValidFrom := strings.Replace(goodIndicator, `,"valid_from":"2025-01-01T00:00:00Z"`, "", 1)
	badPattern := strings.Replace(goodIndicator, "[ipv4-addr:value = '203.0.113.9']", "[ipv4-addr:value = ", 1)
	unknown := `{"type":"flux-capacitor","spec_version":"2.1","id":"flux-capacitor--0f8ca4b6-6a3c-4c0a-9c9e-2b1e4f9a0e11","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z"}`
	dupDifferent := strings.Replace(goodMalware, "Poison Ivy", "Poison Oak", 1)
	cases := []struct {
		name     string
		obj      string
		wantRule string
	}{
		{"invalid UTF-8", badUTF8, "utf-8"},
		{"missing required", noValidFrom, "required"},
		{"invalid pattern", badPattern, "pattern"},
		{"unknown type", unknown, "unknown-type"},
		{"not an object", `"just a string"`, "json-object"},
		{"duplicate id and version, different content", dupDifferent, "duplicate-version"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st := openStore(t)
			var rejs []ingest.Rejection
			var rejects bytes.Buffer
			res, err := newImporter(st).ImportBundle(context.Background(), strings.NewReader(bundle(goodMalware, tc.obj, goodIndicator)), "b.json",
				ingest.Options{OnReject: func(r ingest.Rejection) { rejs = append(rejs, r) }, Rejects: &rejects})
			if err != nil {
				t.Fatal(err)
			}
			if res.Rejected != 1 || res.New != 2 || res.Read != 3 {
				t.Fatalf("result %s, want 2 new and 1 rejected", res.Summary())
			}
			if len(rejs) != 1 || rejs[0].Path != "$.objects[1]" || rejs[0].Index != 1 {
				t.Fatalf("rejections = %+v", rejs)
			}
			found := false
			for _, v := range rejs[0].Violations {
				if strings.Contains(v.Rule, tc.wantRule) {
					found = true
				}
			}
			if !found {
				t.Fatalf("violations %v lack rule %q", rejs[0].Violations, tc.wantRule)
			}
			if !strings.Contains(rejects.String(), `"path":"$.objects[1]"`) {
				t.Fatalf("rejects file lacks the rejection: %s", rejects.String())
			}
		})
	}
}

func TestImportStrict(t *testing.T) {
	st := openStore(t)
	bad := strings.Replace(goodIndicator, `"pattern_type":"stix",`, "", 1)
	res, err := newImporter(st).ImportBundle(context.Background(), strings.NewReader(bundle(goodMalware, bad)), "b.json", ingest.Options{Strict: true})
	if !errors.Is(err, ingest.ErrStrict) {
		t.Fatalf("strict import error = %v", err)
	}
	if res.Rejected != 1 || res.Committed {
		t.Fatalf("result %+v", res)
	}
	if n, _ := st.Count(context.Background(), store.Query{}); n != 0 {
		t.Fatalf("strict import wrote %d objects", n)
	}
}

func TestImportVersionsAndIdempotence(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	im := newImporter(st)
	data := readFile(t, "../../testdata/kb-sample.json")
	res, err := im.ImportBundle(ctx, bytes.NewReader(data), "kb", ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	// The fixture holds two versions of one indicator.
	if res.New != 9 || res.NewVersions != 1 || res.Rejected != 0 {
		t.Fatalf("first import: %s", res.Summary())
	}
	res, err = im.ImportBundle(ctx, bytes.NewReader(data), "kb", ingest.Options{})
	if err != nil {
		t.Fatal(err)
	}
	if res.Unchanged != 10 || res.New != 0 || res.NewVersions != 0 {
		t.Fatalf("re-import: %s", res.Summary())
	}
	r, err := st.Get(ctx, "indicator--b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e", store.GetOptions{})
	if err != nil || !strings.Contains(string(r.Raw), "(updated)") {
		t.Fatalf("latest indicator = %s, %v", r.Raw, err)
	}
	// Value search finds the indicator through its pattern and the SCO through its value.
	for value, want := range map[string]string{
		"198.51.100.7":   "indicator--b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
		"C2.Example.NET": "indicator--b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e",
		"198.51.100.3":   "ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd",
		"aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f": "file--9a1f834d-2506-5367-baec-7aa63996ac43",
	} {
		got := search(t, st, store.Query{Value: normalize(value)})
		if len(got) != 1 || got[0] != want {
			t.Errorf("value %s: got %v, want %s", value, got, want)
		}
	}
	if got := search(t, st, store.Query{ExternalID: "CVE-2021-44228"}); len(got) != 1 {
		t.Errorf("external id search: %v", got)
	}
	if got := search(t, st, store.Query{Ref: "malware--c3d4e5f6-a7b8-4c9d-8e0f-2a3b4c5d6e7f"}); len(got) != 1 || !strings.HasPrefix(got[0], "relationship--") {
		t.Errorf("ref search: %v", got)
	}
	if got := search(t, st, store.Query{Text: "geodo"}); len(got) != 1 {
		t.Errorf("alias search: %v", got)
	}
}

func TestImportSTIX20(t *testing.T) {
	ctx := context.Background()
	st := openStore(t)
	data := readFile(t, "../../testdata/unit42-stix20-gootloader.json")
	res, err := newImporter(st).ImportBundle(ctx, bytes.NewReader(data), "u42", ingest.Options{OnReject: func(r ingest.Rejection) { t.Error(r.Error()) }})
	if err != nil || res.New != 2 {
		t.Fatalf("import 2.0: %s, %v", res.Summary(), err)
	}
	r, err := st.Get(ctx, "indicator--a9bb8cfb-d555-43d5-b7e4-f1280e7b9f15", store.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`"spec_version":"2.1"`, `"pattern_type":"stix"`, `"indicator_types":["malicious-activity"]`} {
		if !strings.Contains(string(r.Raw), want) {
			t.Errorf("upgraded indicator lacks %s: %s", want, r.Raw)
		}
	}
}

func TestImportLargeString(t *testing.T) {
	st := openStore(t)
	big := strings.Replace(goodMalware, `"name":"Poison Ivy"`, `"name":"Poison Ivy","description":"`+strings.Repeat("a", 10<<20)+`"`, 1)
	res, err := newImporter(st).ImportBundle(context.Background(), strings.NewReader(bundle(big)), "big", ingest.Options{})
	if err != nil || res.New != 1 {
		t.Fatalf("10 MB string: %s, %v", res.Summary(), err)
	}
}

func TestImportManyBatches(t *testing.T) {
	// More objects than one batch, across workers: order and counts hold.
	var objs []string
	for i := range 2000 {
		objs = append(objs, fmt.Sprintf(`{"type":"ipv4-addr","spec_version":"2.1","id":"ipv4-addr--%08x-0000-5000-8000-000000000000","value":"10.0.%d.%d"}`, i, i/256, i%256))
	}
	st := openStore(t)
	res, err := newImporter(st).ImportBundle(context.Background(), strings.NewReader(bundle(objs...)), "many", ingest.Options{BatchSize: 64, Workers: 3})
	if err != nil || res.New != 2000 {
		t.Fatalf("%s, %v", res.Summary(), err)
	}
	got := search(t, st, store.Query{Value: "10.0.7.200"})
	if len(got) != 1 || got[0] != fmt.Sprintf("ipv4-addr--%08x-0000-5000-8000-000000000000", 7*256+200) {
		t.Fatalf("value search: %v", got)
	}
	// Store order follows bundle order.
	all := search(t, st, store.Query{})
	for i, id := range all {
		if id != fmt.Sprintf("ipv4-addr--%08x-0000-5000-8000-000000000000", i) {
			t.Fatalf("object %d is %s", i, id)
		}
	}
}

func search(t *testing.T, st store.Store, q store.Query) []string {
	t.Helper()
	it, err := st.Query(context.Background(), q)
	if err != nil {
		t.Fatal(err)
	}
	defer it.Close()
	var out []string
	for it.Next() {
		out = append(out, it.At().ID)
	}
	if err := it.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

func TestImportAnnouncesStoredObjects(t *testing.T) {
	st := openStore(t)
	b := bus.NewLocal(nil)
	defer b.Close()
	got := make(chan bus.ObjectsStored, 4)
	b.Subscribe(bus.SubjectObjectsStored, "test", func(_ context.Context, m bus.Message) error {
		var msg bus.ObjectsStored
		if err := json.Unmarshal(m.Data, &msg); err != nil {
			return err
		}
		got <- msg
		return nil
	})
	im := newImporter(st)
	im.Bus = b
	doc := bundle(goodMalware, goodIndicator)
	if _, err := im.ImportBundle(context.Background(), strings.NewReader(doc), "b", ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-got:
		if len(msg.Objects) != 2 || msg.Objects[1].Type != "indicator" || msg.Source != "b" {
			t.Fatalf("announcement = %+v", msg)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("no announcement")
	}
	// Unchanged objects are not announced.
	if _, err := im.ImportBundle(context.Background(), strings.NewReader(doc), "b", ingest.Options{}); err != nil {
		t.Fatal(err)
	}
	select {
	case msg := <-got:
		t.Fatalf("re-import announced %+v", msg)
	case <-time.After(200 * time.Millisecond):
	}
}
