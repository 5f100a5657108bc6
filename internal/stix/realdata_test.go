package stix

import (
	"path/filepath"
	"strings"
	"testing"
)

// reportViolations fails the test with every violation found, grouped so
// that a large failure stays readable.
func reportViolations(t *testing.T, source string, objs []map[string]any, v *Validator) {
	t.Helper()
	failed := 0
	byRule := map[string]int{}
	for _, o := range objs {
		vs := v.Validate(o)
		if len(vs) == 0 {
			continue
		}
		failed++
		for _, x := range vs {
			byRule[x.Rule]++
			if byRule[x.Rule] <= 5 {
				t.Errorf("%s: %v", source, x)
			}
		}
	}
	if failed > 0 {
		t.Errorf("%s: %d of %d objects have violations; by rule: %v", source, failed, len(objs), byRule)
	}
}

func TestATTACKBundlesValidate(t *testing.T) {
	for _, domain := range []string{"enterprise", "mobile", "ics"} {
		t.Run(domain, func(t *testing.T) {
			objs := attackObjects(t, domain)
			if len(objs) == 0 {
				t.Fatal("no objects")
			}
			reportViolations(t, domain, objs, &Validator{})
			t.Logf("%s: %d objects validated", domain, len(objs))
		})
	}
}

func TestOASISExamplesValidate(t *testing.T) {
	files := tarJSON(t, filepath.Join("data", "stix", "oasis-stix21-schemas-and-examples.tar.gz"), func(name string) bool {
		return strings.Contains(name, "/examples/")
	})
	if len(files) == 0 {
		t.Skip("no examples in the archive")
	}
	total := 0
	for _, name := range sortedKeys(files) {
		objs := decodeBytes(t, files[name])
		total += len(objs)
		reportViolations(t, name, objs, &Validator{})
	}
	t.Logf("%d example files, %d objects validated", len(files), total)
}
