package ioc_test

import (
	"compress/gzip"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest/emit"
	"github.com/mamori-cti/mamori/internal/ingest/ioc"
)

// sharedData finds the shared CTI data ($MAMORI_SHARED or ../../../shared
// relative to the package); tests that need it skip without it.
func sharedData(t testing.TB) string {
	t.Helper()
	dirs := []string{os.Getenv("MAMORI_SHARED"), "../../../../shared", "../../../shared"}
	for _, d := range dirs {
		if d == "" {
			continue
		}
		if st, err := os.Stat(filepath.Join(d, "data", "ioc")); err == nil && st.IsDir() {
			return filepath.Join(d, "data")
		}
	}
	t.Skip("shared CTI data not found (set MAMORI_SHARED)")
	return ""
}

func openGz(t testing.TB, path string) io.Reader {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	return zr
}

// RealLists are the IOC lists of the shared data with the counts each gives.
var RealLists = []struct {
	File     string
	Values   int
	Rejected int // lines that are not indicators (reported with their line)
}{
	{"ipsum.txt.gz", 120430, 0},
	{"threatfox-ips.txt.gz", 19863, 0},
	{"maltrail-static-trails.tsv.gz", 712058, 186},
	{"blocklistproject-phishing.txt.gz", 190215, 0},
	{"blocklistproject-ransomware.txt.gz", 1904, 0},
	{"blocklistproject-scam.txt.gz", 8527, 0},
	{"blocklistproject-malware.ip.gz", 20907, 0},
	{"eset-malware-hashes.tsv.gz", 16074, 0},
	{"signature-base/hash-iocs.txt.gz", 3053, 0},
	{"signature-base/c2-iocs.txt.gz", 1773, 0},
}

func TestRealLists(t *testing.T) {
	dir := filepath.Join(sharedData(t), "ioc")
	total := 0
	for _, l := range RealLists {
		cfg := &emit.Config{Source: l.File, Notices: &emit.Notices{}}
		reasons := map[string]int{}
		examples := map[string]string{}
		cfg.Notices.On = func(n emit.Notice) {
			key := n.Kind + ": " + n.Reason
			if i := strings.Index(key, "line "); i > 0 && n.Kind == emit.Duplicate {
				key = key[:i]
			}
			reasons[key]++
			if _, ok := examples[key]; !ok {
				examples[key] = n.String()
			}
		}
		lr := ioc.NewListReader(l.File, openGz(t, filepath.Join(dir, l.File)), cfg, ioc.ListOptions{})
		n := 0
		if err := lr.Source()(func(int, []byte) error { n++; return nil }, func(string) {}); err != nil {
			t.Fatal(err)
		}
		s := lr.Stats
		t.Logf("%s: %+v", l.File, s)
		for k, v := range reasons {
			if v > 0 {
				t.Logf("   %6d %s   e.g. %s", v, k, examples[k])
			}
		}
		if s.Blank+s.Values+s.Rejected+s.Duplicates+s.Dropped != s.Lines {
			t.Errorf("%s: lines not accounted for: %+v", l.File, s)
		}
		if s.Values != l.Values || s.Rejected != l.Rejected {
			t.Errorf("%s: %d values and %d rejected, want %d and %d", l.File, s.Values, s.Rejected, l.Values, l.Rejected)
		}
		if n != s.Values {
			t.Errorf("%s: emitted %d objects for %d values", l.File, n, s.Values)
		}
		total += s.Values
	}
	t.Logf("total indicators %d", total)
}
