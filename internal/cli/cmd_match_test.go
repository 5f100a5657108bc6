package cli

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestMatchCommands(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	if code, _, errOut := run(t, data, "", "org", "add", "CSIRT"); code != 0 {
		t.Skipf("org add: %d %s", code, errOut)
	}
	var objs []string
	pats := []string{
		"[domain-name:value = 'evil.example']",
		"[network-traffic:dst_ref.value = '198.51.100.7' AND network-traffic:dst_port = 8443]",
		"[url:value LIKE '%/gate.php%']",
	}
	for i, p := range pats {
		objs = append(objs, fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-00000000000%d","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","name":"c2 %d","pattern":%q,"pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z","confidence":70}`, i+1, i+1, p))
	}
	bundle := filepath.Join(dir, "b.json")
	os.WriteFile(bundle, []byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04982","objects":[`+strings.Join(objs, ",")+`]}`), 0o644)
	if code, _, errOut := run(t, data, "", "import", "--distribution", "community", bundle); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	ts := time.Now().Add(-time.Hour).Unix()
	log := fmt.Sprintf(`{"ts":%d.1,"id.orig_h":"10.0.0.5","id.resp_h":"198.51.100.7","id.resp_p":8443}
{"ts":%d.2,"id.orig_h":"10.0.0.5","id.resp_h":"198.51.100.7","id.resp_p":443}
{"ts":%d.3,"query":"cdn.evil.example"}
{"ts":%d.4,"query":"notevil.example"}
{"ts":%d.5,"host":"x.example","uri":"/a/gate.php?id=1"}
{"ts":%d.6,"query":"later.example"}
`, ts, ts, ts, ts, ts, ts)
	logFile := filepath.Join(dir, "zeek.json")
	os.WriteFile(logFile, []byte(log), 0o644)

	code, out, errOut := run(t, data, "", "match", "--format", "zeek", logFile)
	if code != 0 {
		t.Fatalf("match: %d %s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 3 {
		t.Fatalf("match: %d hits\n%s", len(lines), out)
	}
	want := []struct {
		record int64
		match  string
	}{{1, "conjunction"}, {3, "subdomain"}, {5, "like"}}
	for i, l := range lines {
		var h struct {
			Record     int64
			Match      string
			Indicator  string
			Confidence int
			Score      float64
		}
		if err := json.Unmarshal([]byte(l), &h); err != nil {
			t.Fatal(err)
		}
		if h.Record != want[i].record || h.Match != want[i].match || h.Confidence != 70 || h.Score <= 0 {
			t.Errorf("hit %d: %s", i, l)
		}
	}
	if !strings.Contains(errOut, "3 hits") {
		t.Errorf("summary: %s", errOut)
	}

	// Recording: sightings of the only organisation, and the history.
	if code, _, errOut := run(t, data, "", "match", "--record", "--stats", logFile); code != 0 || !strings.Contains(errOut, `"sightings_written":3`) {
		t.Fatalf("match --record: %d %s", code, errOut)
	}
	code, out, _ = run(t, data, "", "search", "--type", "sighting", "--count")
	if code != 0 || strings.TrimSpace(out) != "3" {
		t.Errorf("sightings: %s", out)
	}
	// A new indicator for a value seen before: the retro-hunt finds it.
	os.WriteFile(bundle, []byte(`{"type":"bundle","id":"bundle--44af6c39-c09b-49c5-9de2-394224b04983","objects":[{"type":"indicator","spec_version":"2.1","id":"indicator--00000000-0000-4000-8000-000000000009","created":"2025-01-02T00:00:00.000Z","modified":"2025-01-02T00:00:00.000Z","pattern":"[domain-name:value = 'later.example']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00Z"}]}`), 0o644)
	if code, _, errOut := run(t, data, "", "import", "--distribution", "community", bundle); code != 0 {
		t.Fatalf("import: %d %s", code, errOut)
	}
	if code, _, errOut := run(t, data, "", "retrohunt", "indicator--00000000-0000-4000-8000-000000000009"); code != 0 || !strings.Contains(errOut, "1 retrospective sightings") {
		t.Errorf("retrohunt: %d %s", code, errOut)
	}
	code, out, _ = run(t, data, "", "search", "--ref", "indicator--00000000-0000-4000-8000-000000000009", "--type", "sighting")
	if code != 0 || !strings.Contains(out, `"x_mamori_retrospective":true`) {
		t.Errorf("retrospective sighting: %s", out)
	}

	// Correlation by value and by object.
	code, out, _ = run(t, data, "", "correlate", "Evil.Example")
	if code != 0 || !strings.Contains(out, `"total":1`) || !strings.Contains(out, "indicator--00000000-0000-4000-8000-000000000001") {
		t.Errorf("correlate value: %d %s", code, out)
	}
	if code, _, _ := run(t, data, "", "correlate", "indicator--00000000-0000-4000-8000-000000000077"); code != ExitFail {
		t.Errorf("correlate unknown id: %d", code)
	}

	// False positives lower the score; --min-score then drops the hit.
	if code, _, errOut := run(t, data, "", "fp", "indicator--00000000-0000-4000-8000-000000000001"); code != ExitUsage || !strings.Contains(errOut, "--reason") {
		t.Errorf("fp without reason: %d %s", code, errOut)
	}
	code, out, errOut = run(t, data, "", "fp", "--reason", "sinkhole", "indicator--00000000-0000-4000-8000-000000000001")
	if code != 0 || !strings.Contains(out, `"false_positives":1`) {
		t.Fatalf("fp: %d %s %s", code, out, errOut)
	}
	code, out, _ = run(t, data, "", "match", "--format", "zeek", "--min-score", "50", logFile)
	if code != 0 || strings.Contains(out, "indicator--00000000-0000-4000-8000-000000000001") || strings.Count(out, "\n") != 3 {
		t.Errorf("match --min-score 50 after a false positive: %s", out)
	}
	code, out, _ = run(t, data, "", "score", "indicator--00000000-0000-4000-8000-000000000002")
	if code != 0 || !strings.Contains(out, `"class":"ip"`) {
		t.Errorf("score: %s", out)
	}
	if code, _, errOut := run(t, data, "", "match", "--format", "pcap", logFile); code != ExitUsage || !strings.Contains(errOut, "unknown format") {
		t.Errorf("bad format: %d %s", code, errOut)
	}
}
