package cli_test

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/cli"
)

func runCLI(t *testing.T, stdin string, args ...string) (stdout, stderr string, code int) {
	t.Helper()
	var out, errb bytes.Buffer
	code = cli.Main(context.Background(), args, strings.NewReader(stdin), &out, &errb)
	return out.String(), errb.String(), code
}

func TestPatternCheck(t *testing.T) {
	in := strings.Join([]string{
		"[ipv4-addr:value = '198.51.100.7']",
		"",
		"   ",
		"[ipv4-addr:value = '198.51.100.7' FOO]",
		`{"type":"indicator","pattern":"[file:hashes.'SHA-256' = 'abc']","pattern_type":"stix"}`,
		`  {"pattern":"[file:name = 'a' AND url:value = 'b']"}`,
		`{"pattern":"alert tcp any any","pattern_type":"snort"}`,
		`{"name":"no pattern"}`,
		`{not json`,
		"[url:value = 'http://x.example/?a=1&b=<2>']\r",
		"[file:name = 'a']",
	}, "\n")
	want := strings.Join([]string{
		`{"valid":true}`,
		`{"valid":false,"error":"expected ']' or AND/OR, found 'FOO'","offset":34}`,
		`{"valid":true}`,
		`{"valid":false,"error":"comparisons joined by AND must refer to the same object type, but 'url' cannot be combined with 'file' (join different types with OR, or use separate observation expressions)","offset":21}`,
		`{"valid":false,"error":"pattern_type is \"snort\", not stix"}`,
		`{"valid":false,"error":"the JSON object has no \"pattern\" string"}`,
		`{"valid":false,"error":"invalid JSON: invalid character 'n' looking for beginning of object key string"}`,
		`{"valid":true}`,
		`{"valid":true}`,
	}, "\n") + "\n"
	out, errOut, code := runCLI(t, in, "pattern", "check")
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if code != 1 || errOut != "" {
		t.Errorf("exit %d, stderr %q; want 1 and nothing", code, errOut)
	}
}

func TestPatternCheckAllValid(t *testing.T) {
	out, errOut, code := runCLI(t, "[ipv4-addr:value = '198.51.100.7']\n[domain-name:value = 'x.example'] OR [url:value = 'http://x.example/a']\n", "pattern", "check", "-")
	if code != 0 || errOut != "" || out != "{\"valid\":true}\n{\"valid\":true}\n" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	out, _, code = runCLI(t, "", "pattern", "check")
	if code != 0 || out != "" {
		t.Errorf("empty input: exit %d, stdout %q", code, out)
	}
}

func TestPatternCheckFiles(t *testing.T) {
	dir := t.TempDir()
	a := filepath.Join(dir, "a.txt")
	b := filepath.Join(dir, "b.jsonl")
	if err := os.WriteFile(a, []byte("[ipv4-addr:value = '198.51.100.7']\n[bad"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b, []byte(`{"pattern":"[file:size > 10]"}`+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, code := runCLI(t, "[url:value = 'x']\n", "pattern", "check", a, "-", b)
	want := `{"valid":true}
{"valid":false,"error":"expected an object path, EXISTS or '(', found 'bad'","offset":1}
{"valid":true}
{"valid":true}
`
	if out != want || code != 1 {
		t.Errorf("exit %d, output:\n%s\nwant:\n%s", code, out, want)
	}
	_, errOut, code := runCLI(t, "", "pattern", "check", filepath.Join(dir, "missing"))
	if code != 1 || !strings.Contains(errOut, "missing") {
		t.Errorf("missing file: exit %d, stderr %q", code, errOut)
	}
}

const od21 = `{"type":"observed-data","id":"observed-data--00000000-0000-4000-8000-000000000001","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"object_refs":["ipv4-addr--00000000-0000-4000-8000-000000000001"]},{"type":"ipv4-addr","id":"ipv4-addr--00000000-0000-4000-8000-000000000001","value":"198.51.100.7"}`

const od20 = `{"type":"observed-data","id":"observed-data--00000000-0000-4000-8000-000000000001","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":2,"objects":{"0":{"type":"network-traffic","dst_ref":"1","dst_port":443},"1":{"type":"ipv4-addr","value":"198.51.100.7"}}}`

func TestPatternEval(t *testing.T) {
	in := strings.Join([]string{
		`{"pattern":"[ipv4-addr:value = '198.51.100.7']","observed":[` + od21 + `]}`,
		`{"pattern":"[ipv4-addr:value = '198.51.100.0/24']","observed":[` + od21 + `]}`,
		`{"pattern":"[ipv4-addr:value = '198.51.100.8']","observed":[` + od21 + `]}`,
		`{"pattern":"[ipv4-addr:value = '198.51.100.7'] REPEATS 2 TIMES","observed":[` + od21 + `]}`,
		``,
		`{"pattern":"[ipv4-addr:value = ","observed":[]}`,
		`{"observed":[]}`,
		`{"pattern":"[ipv4-addr:value = '1.2.3.4']","observed":[{"type":"observed-data","first_observed":"yesterday"}]}`,
		`not json`,
		`{"pattern":"[ipv4-addr:value = '198.51.100.7']","observed":[]}`,
	}, "\n")
	want := strings.Join([]string{
		`{"match":true}`,
		`{"match":true}`,
		`{"match":false}`,
		`{"match":false}`,
		`{"error":"pattern: offset 19: expected a constant, found end of pattern"}`,
		`{"error":"the line has no \"pattern\" string"}`,
		`{"error":"observed: observed-data at index 0: first_observed: \"yesterday\" is not a STIX timestamp (YYYY-MM-DDTHH:mm:ss[.s+]Z): too short"}`,
		`{"error":"invalid JSON: invalid character 'o' in literal null (expecting 'u')"}`,
		`{"match":false}`,
	}, "\n") + "\n"
	out, errOut, code := runCLI(t, in, "pattern", "eval")
	if out != want {
		t.Errorf("output:\n%s\nwant:\n%s", out, want)
	}
	if code != 1 || errOut != "" {
		t.Errorf("exit %d, stderr %q; want 1 and nothing", code, errOut)
	}
}

func TestPatternEvalSTIX20(t *testing.T) {
	in := `{"pattern":"[network-traffic:dst_ref.value ISSUBSET '198.51.100.0/24' AND network-traffic:dst_port = 443] REPEATS 2 TIMES","observed":[` + od20 + `]}
{"pattern":"[network-traffic:dst_port = 80]","observed":[` + od20 + `]}
`
	out, errOut, code := runCLI(t, in, "pattern", "eval", "--stix-version", "2.0")
	if out != "{\"match\":true}\n{\"match\":false}\n" || code != 0 || errOut != "" {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
	// STIX 2.1 objects read as STIX 2.0 are rejected: no objects dictionary.
	in = `{"pattern":"[ipv4-addr:value = '198.51.100.7']","observed":[` + od21 + `]}` + "\n"
	out, _, code = runCLI(t, in, "pattern", "eval", "--stix-version", "2.0")
	if !strings.Contains(out, `"error":"observed: observed-data--00000000-0000-4000-8000-000000000001: has no objects dictionary`) || code != 1 {
		t.Errorf("2.1 objects as 2.0: exit %d, stdout %q", code, out)
	}
}

func TestPatternEvalLongLine(t *testing.T) {
	// A line of several megabytes: many observed-data objects.
	var b strings.Builder
	b.WriteString(`{"pattern":"[ipv4-addr:value = '10.0.0.1'] AND [ipv4-addr:value = '198.51.100.7']","observed":[`)
	for i := 0; i < 20000; i++ {
		fmt.Fprintf(&b, `{"type":"observed-data","id":"observed-data--%d","first_observed":"2020-01-01T00:00:00Z","last_observed":"2020-01-01T00:00:00Z","number_observed":1,"object_refs":["ipv4-addr--%d"]},{"type":"ipv4-addr","id":"ipv4-addr--%d","value":"10.%d.%d.%d"},`, i, i, i, i>>16&0xff, i>>8&0xff, i&0xff)
	}
	b.WriteString(od21 + "]}\n")
	if b.Len() < 4<<20 {
		t.Fatalf("line is only %d bytes", b.Len())
	}
	out, errOut, code := runCLI(t, b.String(), "pattern", "eval")
	if out != "{\"match\":true}\n" || code != 0 {
		t.Errorf("exit %d, stdout %q, stderr %q", code, out, errOut)
	}
}

func TestPatternEvalUsage(t *testing.T) {
	_, errOut, code := runCLI(t, "", "pattern", "eval", "--stix-version", "3.0")
	if code != 2 || !strings.Contains(errOut, "--stix-version must be 2.0 or 2.1") {
		t.Errorf("exit %d, stderr %q", code, errOut)
	}
	out, _, code := runCLI(t, "", "pattern", "check", "--help")
	if code != 0 || !strings.Contains(out, "Usage: mamori pattern check") {
		t.Errorf("help: exit %d, stdout %q", code, out)
	}
	out, _, code = runCLI(t, "", "pattern", "eval", "--help")
	if code != 0 || !strings.Contains(out, "--stix-version") {
		t.Errorf("help: exit %d, stdout %q", code, out)
	}
}
