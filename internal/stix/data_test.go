package stix

import (
	"archive/tar"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
)

// sharedDir returns the project's shared directory: $MAMORI_SHARED when set,
// otherwise ../../../shared relative to this package (the repository lives
// beside shared/). It returns "" when the directory does not exist.
func sharedDir() string {
	dir := os.Getenv("MAMORI_SHARED")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared")
	}
	// Accept MAMORI_SHARED pointing at shared/data as well as at shared/.
	if _, err := os.Stat(filepath.Join(dir, "data")); err != nil {
		if _, err := os.Stat(filepath.Join(dir, "attack")); err == nil {
			return filepath.Dir(dir)
		}
		return ""
	}
	return dir
}

// sharedFile returns the path of a file under shared/, skipping the test when
// it is absent.
func sharedFile(tb testing.TB, rel string) string {
	tb.Helper()
	dir := sharedDir()
	if dir == "" {
		tb.Skip("shared data directory not found (set MAMORI_SHARED)")
	}
	p := filepath.Join(dir, rel)
	if _, err := os.Stat(p); err != nil {
		tb.Skipf("%s not present", p)
	}
	return p
}

// decodeObjects decodes a bundle (or a single object, or a list of objects)
// with UseNumber and returns its objects.
func decodeObjects(r io.Reader) ([]map[string]any, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return nil, err
	}
	var list []any
	switch d := doc.(type) {
	case map[string]any:
		if d["type"] == "bundle" {
			list, _ = d["objects"].([]any)
		} else {
			list = []any{d}
		}
	case []any:
		list = d
	}
	out := make([]map[string]any, 0, len(list))
	for _, item := range list {
		if m, ok := item.(map[string]any); ok {
			out = append(out, m)
		}
	}
	return out, nil
}

var attackCache sync.Map // file name -> []map[string]any

// attackObjects loads one ATT&CK bundle (enterprise, mobile or ics).
func attackObjects(tb testing.TB, domain string) []map[string]any {
	tb.Helper()
	name := domain + "-attack-18.1.json.gz"
	if objs, ok := attackCache.Load(name); ok {
		return objs.([]map[string]any)
	}
	path := sharedFile(tb, filepath.Join("data", "attack", name))
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	objs, err := decodeObjects(zr)
	if err != nil {
		tb.Fatalf("%s: %v", name, err)
	}
	attackCache.Store(name, objs)
	return objs
}

// tarJSON returns the JSON files of a .tar.gz archive under shared/ whose
// names match keep, in archive order.
func tarJSON(tb testing.TB, rel string, keep func(name string) bool) map[string][]byte {
	tb.Helper()
	path := sharedFile(tb, rel)
	f, err := os.Open(path)
	if err != nil {
		tb.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		tb.Fatal(err)
	}
	tr := tar.NewReader(zr)
	out := map[string][]byte{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			tb.Fatal(err)
		}
		if h.Typeflag != tar.TypeReg || !strings.HasSuffix(h.Name, ".json") || !keep(h.Name) {
			continue
		}
		data, err := io.ReadAll(tr)
		if err != nil {
			tb.Fatal(err)
		}
		out[h.Name] = data
	}
	return out
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func decodeBytes(tb testing.TB, data []byte) []map[string]any {
	tb.Helper()
	objs, err := decodeObjects(bytes.NewReader(data))
	if err != nil {
		tb.Fatal(err)
	}
	return objs
}

// decodeOne decodes one JSON object with UseNumber.
func decodeOne(tb testing.TB, s string) map[string]any {
	tb.Helper()
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		tb.Fatalf("decoding %s: %v", s, err)
	}
	return m
}

// readDoc returns a file of the repository's docs/ directory.
func readDoc(tb testing.TB, name string) string {
	tb.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "docs", name))
	if err != nil {
		tb.Fatalf("reading docs/%s: %v", name, err)
	}
	return string(data)
}
