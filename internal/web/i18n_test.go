package web

import (
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"
)

// usedKeys finds every message key the interface uses: in templates
// (T "key", TN "key"), in Go code (string literals in a catalogue
// namespace), and the keys the code builds at run time (dynamicKeys).
func usedKeys(t *testing.T, cats map[string]catalogue) map[string][]string {
	t.Helper()
	spaces := map[string]bool{}
	for k := range cats["en"] {
		spaces[strings.SplitN(k, ".", 2)[0]] = true
	}
	used := map[string][]string{}
	tmplKey := regexp.MustCompile(`\bTN? "([^"]+)"`)
	err := fs.WalkDir(templateFS, "templates", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, _ := templateFS.ReadFile(p)
		for _, m := range tmplKey.FindAllStringSubmatch(string(b), -1) {
			used[m[1]] = append(used[m[1]], p)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	goKey := regexp.MustCompile(`"([a-z]+(?:\.[a-z0-9_+-]+)+)"`)
	files, _ := filepath.Glob("*.go")
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range goKey.FindAllStringSubmatch(string(b), -1) {
			k := m[1]
			if spaces[strings.SplitN(k, ".", 2)[0]] && !regexp.MustCompile(`\.(html|json|css|js|svg)$`).MatchString(k) {
				used[k] = append(used[k], f)
			}
		}
	}
	for _, k := range dynamicKeys() {
		used[k] = append(used[k], "dynamicKeys")
	}
	for _, k := range []string{"layout.date", "layout.datetime", "layout.day"} {
		used[k] = append(used[k], "i18n.go")
	}
	return used
}

// TestCatalogues fails when a message lacks a translation: every key used
// must be in every catalogue, and the catalogues must have the same keys
// (plural forms aside) with the same placeholders.
func TestCatalogues(t *testing.T) {
	cats, err := loadCatalogues()
	if err != nil {
		t.Fatal(err)
	}
	used := usedKeys(t, cats)
	if len(used) < 100 {
		t.Fatalf("found only %d keys: the scan is broken", len(used))
	}
	keys := make([]string, 0, len(used))
	for k := range used {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, lang := range Languages {
		for _, k := range keys {
			if v, ok := cats[lang][k]; !ok || strings.TrimSpace(v) == "" {
				t.Errorf("%s: no translation of %q (used in %s)", lang, k, strings.Join(slices.Compact(used[k]), ", "))
			}
		}
	}
	placeholder := regexp.MustCompile(`\{[0-9]+\}`)
	for _, a := range Languages {
		for k, v := range cats[a] {
			base := strings.TrimSuffix(k, ".one")
			for _, b := range Languages {
				w, ok := cats[b][k]
				if !ok {
					w, ok = cats[b][base]
				}
				if !ok {
					t.Errorf("%q is in %s.json but not in %s.json", k, a, b)
					continue
				}
				pa, pb := placeholder.FindAllString(v, -1), placeholder.FindAllString(w, -1)
				sort.Strings(pa)
				sort.Strings(pb)
				if !slices.Equal(pa, pb) && !strings.HasSuffix(k, ".one") {
					t.Errorf("%q: placeholders %v in %s, %v in %s", k, pa, a, pb, b)
				}
			}
			if _, ok := used[base]; !ok && !strings.HasPrefix(k, "type.") {
				t.Errorf("%s: %q is never used", a, k)
			}
		}
	}
}

// TestNoUntranslatedTextInPages renders pages in Japanese and looks for
// message keys that were left as they are.
func TestNoUntranslatedTextInPages(t *testing.T) {
	f := newFixture(t)
	cats, _ := loadCatalogues()
	keyRe := regexp.MustCompile(`\b(?:nav|dash|obj|search|import|admin|coll|feeds|alerts|assets|exposure|error|login|level|role|tactic|diff|feed|chart|col|lang|footer)\.[a-z_.+-]+\b`)
	c := f.signedIn("A-admin")
	c.lang = "ja"
	for _, p := range []string{"/", "/search", "/search?q=beacon", "/objects/" + idSharedInd, "/objects/" + idXSS, "/import", "/collections",
		"/feeds", "/alerts", "/assets", "/exposure", "/admin/users", "/admin/orgs", "/admin/groups", "/admin/tokens", "/nowhere"} {
		r := c.get(p)
		body := r.body
		// Identifiers and code are content, not interface text.
		body = regexp.MustCompile(`(?s)<code[^>]*>.*?</code>|href="[^"]*"`).ReplaceAllString(body, "")
		for _, m := range keyRe.FindAllString(body, -1) {
			if _, ok := cats["ja"][m]; ok {
				t.Errorf("%s: untranslated key %q", p, m)
			}
		}
		if !strings.Contains(r.body, `lang="ja"`) {
			t.Errorf("%s: not in Japanese", p)
		}
	}
}

func TestLocalizer(t *testing.T) {
	cats, _ := loadCatalogues()
	en, ja := newLocalizer("en", cats["en"]), newLocalizer("ja", cats["ja"])
	if got := en.Num(1234567); got != "1,234,567" {
		t.Errorf("en number: %q", got)
	}
	if got := ja.Num(1234567); got != "1,234,567" {
		t.Errorf("ja number: %q", got)
	}
	day := time.Date(2026, 3, 4, 5, 6, 0, 0, time.UTC)
	if got := en.DateTime(day); got != "4 Mar 2026 05:06 UTC" {
		t.Errorf("en date: %q", got)
	}
	if got := ja.DateTime(day); got != "2026年3月4日 05:06 UTC" {
		t.Errorf("ja date: %q", got)
	}
	if got := en.TN("search.count", int64(1)); got != "1 object" {
		t.Errorf("en singular: %q", got)
	}
	if got := en.TN("search.count", int64(12000)); got != "12,000 objects" {
		t.Errorf("en plural: %q", got)
	}
	if got := ja.TN("search.count", int64(12000)); got != "12,000 件" {
		t.Errorf("ja: %q", got)
	}
	if got := ja.T("chart.summary", int64(5), 30); got != "30 日間で合計 5 件" {
		t.Errorf("ja order of placeholders: %q", got)
	}
	if got := en.T("no.such.key"); got != "no.such.key" {
		t.Errorf("missing key: %q", got)
	}
}
