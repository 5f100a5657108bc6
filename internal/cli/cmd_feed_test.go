package cli

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestImportFormats(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	fx := "../../testdata/formats/"
	code, out, errOut := run(t, data, "", "import", "--tlp", "green", "--confidence", "50", fx+"mixed.txt")
	if code != ExitFail || !strings.HasPrefix(out, "read 15, new 15,") || !strings.Contains(errOut, "mixed.txt:line 15") {
		t.Fatalf("txt: %d %q %q", code, out, errOut)
	}
	// Columns chosen by flags.
	code, out, errOut = run(t, data, "", "import", "--format", "csv", "--column", "value=1", "--column", "type=2", "--delimiter", `\t`, "--header", "yes", "--quiet", fx+"trails.tsv")
	if code != ExitFail || !strings.Contains(out, "new 8,") {
		t.Fatalf("csv: %d %q %q", code, out, errOut)
	}
	for _, f := range []string{"misp-event.json", "kev.json", "osv.json", "misp-feed"} {
		code, out, errOut = run(t, data, "", "import", "--quiet", fx+f)
		if (code != 0 && code != ExitFail) || strings.Contains(out, "new 0,") {
			t.Errorf("%s: %d %q %q", f, code, out, errOut)
		}
	}
	code, _, errOut = run(t, data, "", "import", "--format", "pdf", fx+"kev.json")
	if code != ExitUsage || !strings.Contains(errOut, "--format") {
		t.Errorf("bad format: %d %q", code, errOut)
	}
	code, _, errOut = run(t, data, "", "import", "--column", "nope=1", fx+"kev.json")
	if code != ExitUsage {
		t.Errorf("bad column: %d %q", code, errOut)
	}
	code, out, _ = run(t, data, "", "search", "--value", "198.51.100.7")
	if code != 0 || !strings.Contains(out, `"confidence":50`) {
		t.Errorf("search: %d %q", code, out)
	}
}

func TestFeedCommands(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	list := filepath.Join(t.TempDir(), "list.txt")
	os.WriteFile(list, []byte("198.51.100.7\nevil.example\n"), 0o644)
	code, out, errOut := run(t, data, "", "feed", "add", "local", "--url", "file://"+list, "--format", "txt", "--every", "1h", "--tlp", "amber", "--confidence", "80")
	if code != 0 || !strings.Contains(out, "feed local") {
		t.Fatalf("feed add: %d %q %q", code, out, errOut)
	}
	code, out, errOut = run(t, data, "", "feed", "run", "local")
	if code != 0 || !strings.Contains(out, "local: read 4, new 4") {
		t.Fatalf("feed run: %d %q %q", code, out, errOut)
	}
	code, out, _ = run(t, data, "", "feed", "run", "local")
	if code != 0 || !strings.Contains(out, "not modified") {
		t.Fatalf("feed run again: %d %q", code, out)
	}
	code, out, _ = run(t, data, "", "feed", "list")
	if code != 0 || !strings.Contains(out, "local") || !strings.Contains(out, "1h0m0s") || !strings.Contains(out, "true") {
		t.Fatalf("feed list: %d %q", code, out)
	}
	if code, _, errOut := run(t, data, "", "feed", "disable", "local"); code != 0 {
		t.Fatal(errOut)
	}
	code, out, _ = run(t, data, "", "feed", "list", "--json")
	if code != 0 || !strings.Contains(out, `"enabled":false`) || !strings.Contains(out, `"new":4`) {
		t.Fatalf("feed list --json: %d %q", code, out)
	}
	code, _, errOut = run(t, data, "", "feed", "run", "nope")
	if code != ExitFail || !strings.Contains(errOut, "no feed") {
		t.Fatalf("unknown feed: %d %q", code, errOut)
	}
	code, _, errOut = run(t, data, "", "feed", "add", "bad", "--url", "ftp://x")
	if code != ExitUsage {
		t.Fatalf("bad url: %d %q", code, errOut)
	}
	code, _, errOut = run(t, data, "", "feed", "add", "web", "--url", "http://127.0.0.1:1/x", "--format", "txt")
	if code != 0 {
		t.Fatal(errOut)
	}
	code, _, errOut = run(t, data, "", "feed", "run", "web")
	if code != ExitFail || !strings.Contains(errOut, "not a public address") {
		t.Fatalf("ssrf: %d %q", code, errOut)
	}
	if code, _, errOut := run(t, data, "", "feed", "remove", "web"); code != 0 {
		t.Fatal(errOut)
	}
}

func TestExportFormats(t *testing.T) {
	data := filepath.Join(t.TempDir(), "data")
	if code, out, errOut := run(t, data, "", "import", "--quiet", "--tlp", "green", "--confidence", "60", "--source", "mixed", "../../testdata/formats/mixed.txt"); code != ExitFail {
		t.Fatalf("import: %d %q %q", code, out, errOut)
	}
	code, out, errOut := run(t, data, "", "export", "--format", "suricata", "--source", "mixed")
	if code != 0 || !strings.Contains(out, "alert ip any any <> 198.51.100.7 any") || !strings.Contains(errOut, "exported 8 values of 8 indicators (13 read") {
		t.Fatalf("suricata: %d %q %q", code, out, errOut)
	}
	code, out, _ = run(t, data, "", "export", "--format", "edl", "--type", "domain", "--tlp", "amber")
	if code != 0 || out != "evil.example\nhosts-style.example\n" {
		t.Fatalf("edl: %d %q", code, out)
	}
	code, out, _ = run(t, data, "", "export", "--format", "txt", "--type", "ip", "--min-confidence", "90")
	if code != 0 || out != "" {
		t.Fatalf("min confidence: %d %q", code, out)
	}
	dir := t.TempDir()
	code, out, errOut = run(t, data, "", "export", "--format", "suricata", "--datasets", dir, "-o", filepath.Join(dir, "x.rules"))
	if b, _ := os.ReadFile(filepath.Join(dir, "mamori-domains.lst")); code != 0 || len(b) == 0 {
		t.Fatalf("datasets: %d %q %q", code, out, errOut)
	}
	for _, args := range [][]string{{"--format", "txt"}, {"--format", "pdf"}, {"--format", "csv", "--tlp", "purple"}, {"--format", "zeek", "--datasets", dir}} {
		if code, _, errOut := run(t, data, "", append([]string{"export"}, args...)...); code != ExitUsage && code != ExitFail {
			t.Errorf("%v: %d %q", args, code, errOut)
		}
	}
	// The STIX export is still the default.
	code, out, _ = run(t, data, "", "export", "--type", "indicator")
	if code != 0 || !strings.HasPrefix(out, `{"type":"bundle"`) || strings.Count(out, `"type":"indicator"`) != 13 {
		t.Fatalf("stix: %d %.200q", code, out)
	}
}
