package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/config"
)

// run executes mamori in-process with a data directory and returns the exit
// code, standard output and standard error.
func run(t *testing.T, data string, stdin string, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	env := &Env{Stdin: strings.NewReader(stdin), Stdout: &out, Stderr: &errb, Getenv: func(k string) string {
		if k == "MAMORI_DATA" {
			return data
		}
		return ""
	}}
	code := env.main(context.Background(), args)
	return code, out.String(), errb.String()
}

func TestHelp(t *testing.T) {
	code, out, _ := run(t, t.TempDir(), "", "--help")
	if code != 0 || !strings.Contains(out, "import") || !strings.Contains(out, "--data") {
		t.Fatalf("mamori --help: %d\n%s", code, out)
	}
	for _, cmd := range []string{"import", "export", "get", "search", "stats", "serve", "collection add", "collection list"} {
		args := append(strings.Fields(cmd), "--help")
		code, out, errOut := run(t, t.TempDir(), "", args...)
		if code != 0 || !strings.Contains(out, "Usage: mamori "+cmd) {
			t.Errorf("mamori %s --help: %d\n%s%s", cmd, code, out, errOut)
		}
	}
	if code, _, errOut := run(t, t.TempDir(), "", "frobnicate"); code != ExitUsage || !strings.Contains(errOut, "unknown command") {
		t.Errorf("unknown command: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, t.TempDir(), "", "import"); code != ExitUsage || !strings.Contains(errOut, "no file") {
		t.Errorf("import without files: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, t.TempDir(), "", "search", "--limit", "x"); code != ExitUsage || !strings.Contains(errOut, "invalid value") {
		t.Errorf("bad flag: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, t.TempDir(), "", "collection"); code != ExitUsage || !strings.Contains(errOut, "collection add") {
		t.Errorf("group without subcommand: %d %s", code, errOut)
	}
}

func TestImportSearchExport(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	code, out, errOut := run(t, data, "", "import", "../../testdata/kb-sample.json", "../../testdata/attack-sample.json")
	if code != 0 {
		t.Fatalf("import: %d\n%s%s", code, out, errOut)
	}
	if !strings.HasPrefix(out, "read 43, new 42, new versions 1, unchanged 0, rejected 0, ") || !strings.Contains(out, "objects/s") {
		t.Fatalf("summary line: %q", out)
	}
	if _, err := os.Stat(filepath.Join(data, "mamori.db")); err != nil {
		t.Fatalf("data directory not created: %v", err)
	}
	// Re-import from standard input: all unchanged.
	kb, _ := os.ReadFile("../../testdata/kb-sample.json")
	code, out, _ = run(t, data, string(kb), "import", "-")
	if code != 0 || !strings.HasPrefix(out, "read 10, new 0, new versions 0, unchanged 10, rejected 0") {
		t.Fatalf("re-import: %d %q", code, out)
	}

	code, out, _ = run(t, data, "", "search", "--value", "198.51.100.7")
	if code != 0 || strings.Count(out, "\n") != 1 || !strings.Contains(out, `"indicator--b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e"`) {
		t.Fatalf("search --value: %d %q", code, out)
	}
	code, out, _ = run(t, data, "", "search", "--text", "emotet", "--type", "malware")
	if code != 0 || !strings.Contains(out, `"name":"Emotet"`) || strings.Count(out, "\n") != 1 {
		t.Fatalf("search --text: %d %q", code, out)
	}
	code, out, _ = run(t, data, "", "search", "--count", "--type", "relationship")
	if code != 0 || strings.TrimSpace(out) != "9" {
		t.Fatalf("search --count: %d %q", code, out)
	}
	code, out, _ = run(t, data, "", "get", "--all-versions", "indicator--b2c3d4e5-f6a7-4b8c-9d0e-1f2a3b4c5d6e")
	if code != 0 || strings.Count(out, "\n") != 2 {
		t.Fatalf("get --all-versions: %d %q", code, out)
	}
	code, _, errOut = run(t, data, "", "get", "malware--00000000-0000-4000-8000-000000000000")
	if code != ExitFail || !strings.Contains(errOut, "no object") {
		t.Fatalf("get missing: %d %q", code, errOut)
	}
	code, out, _ = run(t, data, "", "stats")
	if code != 0 || !strings.Contains(out, "indicator") || !strings.Contains(out, "42  objects") {
		t.Fatalf("stats: %d %q", code, out)
	}
	file := filepath.Join(t.TempDir(), "out.json")
	code, _, errOut = run(t, data, "", "export", "--all-versions", "-o", file)
	if code != 0 || !strings.Contains(errOut, "exported 43 objects") {
		t.Fatalf("export: %d %q", code, errOut)
	}
	var b struct {
		Type    string            `json:"type"`
		Objects []json.RawMessage `json:"objects"`
	}
	raw, _ := os.ReadFile(file)
	if err := json.Unmarshal(raw, &b); err != nil || b.Type != "bundle" || len(b.Objects) != 43 {
		t.Fatalf("exported bundle: %v, %d objects", err, len(b.Objects))
	}
	code, out, _ = run(t, data, "", "export", "--type", "malware")
	if code != 0 || strings.Count(out, `"type":"malware"`) != 4 {
		t.Fatalf("export --type malware: %d %q", code, out)
	}
}

func TestImportReportsRejects(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.json")
	os.WriteFile(bad, []byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[
		{"type":"malware","spec_version":"2.1","id":"malware--31b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","is_family":true,"name":"x"},
		{"type":"malware","spec_version":"2.1","id":"malware--41b940d4-6f7f-459a-80ea-9c1f17b5891b","created":"2025-01-02T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","is_family":true,"name":"y"}]}`), 0o644)
	rejects := filepath.Join(dir, "rejects.jsonl")
	code, out, errOut := run(t, filepath.Join(dir, "data"), "", "import", "--rejects", rejects, bad)
	if code != ExitFail || !strings.Contains(out, "new 1,") || !strings.Contains(out, "rejected 1") {
		t.Fatalf("import with a bad object: %d %q %q", code, out, errOut)
	}
	if !strings.Contains(errOut, "$.objects[1]") || !strings.Contains(errOut, "malware--41b940d4") || !strings.Contains(errOut, "$.modified") {
		t.Fatalf("rejection not reported with id and path: %q", errOut)
	}
	rj, _ := os.ReadFile(rejects)
	if strings.Count(string(rj), "\n") != 1 || !strings.Contains(string(rj), `"object":{`) {
		t.Fatalf("rejects file: %q", rj)
	}
	code, out, _ = run(t, filepath.Join(dir, "strict"), "", "import", "--strict", bad)
	if code != ExitFail || !strings.Contains(out, "new 0,") {
		t.Fatalf("strict: %d %q", code, out)
	}
}

func TestServe(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := run(t, data, "", "import", "../../testdata/kb-sample.json"); code != 0 {
		t.Fatalf("import: %s %s", out, errOut)
	}
	for _, args := range [][]string{{"org", "add", "CSIRT"}, {"user", "add", "--org", "CSIRT", "--role", "reader", "rita"}} {
		if code, out, errOut := run(t, data, "", args...); code != 0 {
			t.Fatalf("%v: %s %s", args, out, errOut)
		}
	}
	code, token, errOut := run(t, data, "", "token", "create", "--user", "rita")
	if code != 0 || !strings.HasPrefix(token, "mamori_") || !strings.Contains(errOut, "shown once") {
		t.Fatalf("token create: %d %q %q", code, token, errOut)
	}
	token = strings.TrimSpace(token)
	ctx, cancel := context.WithCancel(context.Background())
	env := &Env{Stdin: strings.NewReader(""), Stdout: io.Discard, Stderr: io.Discard, DataDir: data, Config: config.Defaults(), Getenv: func(string) string { return "" }}
	env.Log = discardLogger()
	addrc := make(chan string, 1)
	done := make(chan error, 1)
	go func() { done <- env.serve(ctx, "127.0.0.1:0", 1<<20, func(a string) { addrc <- a }) }()
	var addr string
	select {
	case addr = <-addrc:
	case err := <-done:
		t.Fatal(err)
	case <-time.After(10 * time.Second):
		t.Fatal("server did not start")
	}
	base := "http://" + addr
	get := func(path string) (int, string) {
		req, _ := http.NewRequest("GET", base+path, nil)
		req.Header.Set("Authorization", "Bearer "+token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	if code, body := get("/healthz"); code != 200 || !strings.Contains(body, "ok") {
		t.Fatalf("healthz: %d %s", code, body)
	}
	if code, body := get("/api/v1/objects?value=198.51.100.7"); code != 200 || !strings.Contains(body, "indicator--b2c3d4e5") {
		t.Fatalf("objects: %d %s", code, body)
	}
	if code, body := get("/metrics"); code != 200 || !strings.Contains(body, "mamori_store_objects") {
		t.Fatalf("metrics: %d", code)
	}
	if resp, err := http.Get(base + "/api/v1/objects"); err != nil || resp.StatusCode != 401 {
		t.Fatalf("anonymous read: %v %v", resp.StatusCode, err)
	}
	if code, _ := get("/api/v1/objects/malware--00000000-0000-4000-8000-000000000000"); code != 404 {
		t.Fatalf("missing object: %d", code)
	}
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("serve returned %v", err)
		}
	case <-time.After(35 * time.Second):
		t.Fatal("graceful shutdown did not finish")
	}
}

func TestConfigCommands(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "mamori.json")
	os.WriteFile(file, []byte(`{"listen":"127.0.0.1:9999","store":"postgres://u:hunter2@db/m"}`), 0o644)
	code, out, errOut := run(t, dir, "", "--config", file, "config", "dump")
	if code != 0 || !strings.Contains(out, `"listen": "127.0.0.1:9999"`) || strings.Contains(out, "hunter2") || !strings.Contains(out, "REDACTED") {
		t.Fatalf("config dump: %d %s %s", code, out, errOut)
	}
	if code, out, _ := run(t, dir, "", "--config", file, "config", "check"); code != 0 || !strings.Contains(out, "valid") {
		t.Fatalf("config check: %d %s", code, out)
	}
	if code, _, errOut := run(t, dir, "", "--log-level", "loud", "config", "check"); code != ExitUsage || !strings.Contains(errOut, "log_level") {
		t.Fatalf("config check of a bad level: %d %s", code, errOut)
	}
	// Flags override the file.
	if code, out, _ := run(t, dir, "", "--config", file, "--data", "/elsewhere", "config", "dump"); code != 0 || !strings.Contains(out, `"data": "/elsewhere"`) {
		t.Fatalf("flag over file: %s", out)
	}
}
