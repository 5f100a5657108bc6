package ingest_test

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"os"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// FuzzReadBundle: the bundle reader never panics; on a valid JSON bundle
// it hands out exactly the elements encoding/json finds, compacted.
func FuzzReadBundle(f *testing.F) {
	for _, s := range []string{bundle(goodMalware, goodIndicator), "", "[]", `{"type":"bundle"}`, `{"objects":[1,2,{}],"type":"bundle"}`,
		bundle(goodMalware)[:40], `{"type":"bundle","objects":null}`, `{"type":"bundle","objects":[]} x`} {
		f.Add([]byte(s))
	}
	if b, err := os.ReadFile("../../testdata/kb-sample.json"); err == nil {
		f.Add(b)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		var got []string
		_, err := ingest.ReadBundle(bytes.NewReader(data), func(_ *ingest.BundleInfo, i int, raw json.RawMessage) error {
			got = append(got, string(raw))
			return nil
		})
		if err != nil && err.Error() == "" {
			t.Fatal("empty error message")
		}
		if !json.Valid(data) {
			return
		}
		var doc struct {
			Type    any               `json:"type"`
			Objects []json.RawMessage `json:"objects"`
		}
		if json.Unmarshal(data, &doc) != nil || doc.Type != "bundle" {
			return
		}
		if err != nil {
			t.Fatalf("valid bundle refused: %v", err)
		}
		if len(got) != len(doc.Objects) {
			t.Fatalf("read %d elements, encoding/json finds %d", len(got), len(doc.Objects))
		}
		for i, raw := range doc.Objects {
			var want bytes.Buffer
			json.Compact(&want, raw)
			if got[i] != want.String() {
				t.Fatalf("element %d = %q, want %q", i, got[i], want.String())
			}
		}
	})
}

// FuzzImport: importing arbitrary bytes never panics, and a failed import
// writes nothing.
func FuzzImport(f *testing.F) {
	f.Add([]byte(bundle(goodMalware, goodIndicator)))
	f.Add([]byte(bundle(goodMalware, `{"type":"indicator"}`)))
	f.Add([]byte(bundle(`{"type":"ipv4-addr","id":"ipv4-addr--ff26c055-6336-5bc5-b98d-13d6226742dd","value":"1.2.3.4"}`)))
	if b, err := os.ReadFile("../../testdata/kb-sample.json"); err == nil {
		f.Add(b)
	}
	st := openStore(f)
	im := newImporter(st)
	ctx := context.Background()
	f.Fuzz(func(t *testing.T, data []byte) {
		before, _ := st.Count(ctx, store.Query{Versions: store.VersionsAll, IncludeRevoked: true})
		res, err := im.ImportBundle(ctx, bytes.NewReader(data), "fuzz", ingest.Options{})
		after, _ := st.Count(ctx, store.Query{Versions: store.VersionsAll, IncludeRevoked: true})
		if err != nil && after != before {
			t.Fatalf("failed import (%v) changed the store from %d to %d versions", err, before, after)
		}
		if err == nil && int(after-before) > res.New+res.NewVersions {
			t.Fatalf("store grew by %d, import reported %s", after-before, res.Summary())
		}
		var se *ingest.SyntaxError
		if errors.As(err, &se) && se.Path == "" {
			t.Fatal("syntax error without a path")
		}
	})
}
