package sbom

import (
	"os"
	"path/filepath"
	"testing"
)

// FuzzRead feeds the readers arbitrary documents: they must return a
// document or an error, never panic, and every component they return must
// have a name.
func FuzzRead(f *testing.F) {
	for _, name := range []string{"plant-hmi.cdx.xml", "deviations.spdx.json", "gateway.spdx", "cyclonedx-vex-not_affected.json"} {
		if data, err := os.ReadFile(filepath.Join("..", "testdata", name)); err == nil {
			f.Add(data)
		}
	}
	f.Add([]byte(`{"bomFormat":"CycloneDX","specVersion":"1.6","components":[{"name":"a","purl":"pkg:npm/a@1"}],"dependencies":[{"ref":"a","dependsOn":["a","b"]}]}`))
	f.Add([]byte("SPDXVersion: SPDX-2.3\nPackageName: x\nSPDXID: SPDXRef-x\nPackageOriginator: someone\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		doc, err := ReadBytes(data, "fuzz")
		if err != nil {
			return
		}
		for _, c := range doc.Components {
			if c.Name == "" {
				t.Fatalf("component without a name: %+v", c)
			}
			if c.Depth > 0 && len(c.Path) != c.Depth+1 {
				t.Fatalf("depth %d with path %v", c.Depth, c.Path)
			}
		}
	})
}
