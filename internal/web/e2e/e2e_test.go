// Package e2e drives the web interface in headless Chromium: the real
// server on 127.0.0.1, a person's steps (sign in, import, search, open an
// object, read the dashboard) in English and in Japanese, and screenshots
// at a desktop and a phone width.
package e2e

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/chromedp/cdproto/page"
	"github.com/chromedp/chromedp"

	"github.com/mamori-cti/mamori/internal/access"
	"github.com/mamori-cti/mamori/internal/api"
	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
	"github.com/mamori-cti/mamori/internal/web"
)

const chromium = "/usr/bin/chromium"

const xssDescription = `Loader seen in phishing. <script>alert(1)</script><img src=x onerror=alert(2)>`

// The bundle imported through the import page.
func testBundle(lang string) string {
	n := map[string]string{"en": "1", "ja": "2"}[lang]
	ind := fmt.Sprintf("indicator--e2e0000%s-0000-4000-8000-000000000001", n)
	mal := fmt.Sprintf("malware--e2e0000%s-0000-4000-8000-000000000002", n)
	set := fmt.Sprintf("intrusion-set--e2e0000%s-0000-4000-8000-000000000003", n)
	ap := fmt.Sprintf("attack-pattern--e2e0000%s-0000-4000-8000-000000000004", n)
	objs := []string{
		fmt.Sprintf(`{"type":"indicator","spec_version":"2.1","id":%q,"created":"2026-01-05T00:00:00.000Z","modified":"2026-01-05T00:00:00.000Z","name":"Kingfisher C2 %s","pattern":"[ipv4-addr:value = '192.0.2.%s']","pattern_type":"stix","valid_from":"2026-01-05T00:00:00Z"}`, ind, lang, n),
		fmt.Sprintf(`{"type":"malware","spec_version":"2.1","id":%q,"created":"2026-01-05T00:00:00.000Z","modified":"2026-01-05T00:00:00.000Z","name":"Kingfisher loader %s","is_family":true,"description":%q}`, mal, lang, xssDescription),
		fmt.Sprintf(`{"type":"intrusion-set","spec_version":"2.1","id":%q,"created":"2026-01-05T00:00:00.000Z","modified":"2026-01-05T00:00:00.000Z","name":"Heron Spider %s"}`, set, lang),
		fmt.Sprintf(`{"type":"attack-pattern","spec_version":"2.1","id":%q,"created":"2026-01-05T00:00:00.000Z","modified":"2026-01-05T00:00:00.000Z","name":"Phishing","kill_chain_phases":[{"kill_chain_name":"mitre-attack","phase_name":"initial-access"}],"external_references":[{"source_name":"mitre-attack","external_id":"T1566"}]}`, ap),
		fmt.Sprintf(`{"type":"relationship","spec_version":"2.1","id":"relationship--e2e0000%s-0000-4000-8000-000000000005","created":"2026-01-05T00:00:00.000Z","modified":"2026-01-05T00:00:00.000Z","relationship_type":"indicates","source_ref":%q,"target_ref":%q}`, n, ind, mal),
		fmt.Sprintf(`{"type":"relationship","spec_version":"2.1","id":"relationship--e2e0000%s-0000-4000-8000-000000000006","created":"2026-01-05T00:00:00.000Z","modified":"2026-01-05T00:00:00.000Z","relationship_type":"uses","source_ref":%q,"target_ref":%q}`, n, set, mal),
		fmt.Sprintf(`{"type":"relationship","spec_version":"2.1","id":"relationship--e2e0000%s-0000-4000-8000-000000000007","created":"2026-01-05T00:00:00.000Z","modified":"2026-01-05T00:00:00.000Z","relationship_type":"uses","source_ref":%q,"target_ref":%q}`, n, mal, ap),
		fmt.Sprintf(`{"type":"sighting","spec_version":"2.1","id":"sighting--e2e0000%s-0000-4000-8000-000000000008","created":"2026-01-06T00:00:00.000Z","modified":"2026-01-06T00:00:00.000Z","sighting_of_ref":%q,"first_seen":"2026-01-06T01:00:00Z","last_seen":"2026-01-07T09:00:00Z","count":4}`, n, ind),
	}
	return `{"type":"bundle","id":"bundle--e2e0000` + n + `-0000-4000-8000-000000000000","objects":[` + strings.Join(objs, ",") + `]}`
}

func TestBrowser(t *testing.T) {
	if _, err := os.Stat(chromium); err != nil {
		t.Skip("no Chromium at " + chromium + " (.ci/install-chromium.sh installs it)")
	}
	if testing.Short() {
		t.Skip("drives a browser")
	}
	shots := os.Getenv("MAMORI_SCREENSHOTS")
	if shots == "" {
		shots = t.TempDir()
	}
	if err := os.MkdirAll(shots, 0o755); err != nil {
		t.Fatal(err)
	}

	// The real server, mounted as mamori serve mounts it.
	ctx := context.Background()
	st, err := sqlite.OpenDir(ctx, t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	svc := access.NewService(st)
	auditLog := audit.New(st)
	if _, err := svc.CreateOrg(ctx, "Harbour CSIRT"); err != nil {
		t.Fatal(err)
	}
	if _, err := svc.CreateUser(ctx, "aiko", "Harbour CSIRT", access.RoleAnalyst, "e2e-password-1"); err != nil {
		t.Fatal(err)
	}
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	quiet := slog.New(slog.NewTextHandler(io.Discard, nil))
	srv := api.New(st, im, api.Options{Log: quiet, Auth: svc, Audit: auditLog})
	srv.Handle("/", web.New(web.Options{Store: st, Importer: im, Access: svc, Audit: auditLog, Log: quiet}))
	ts := httptest.NewServer(srv) // on 127.0.0.1
	defer ts.Close()

	dir := t.TempDir()
	files := map[string]string{}
	for _, lang := range []string{"en", "ja"} {
		p := filepath.Join(dir, "bundle-"+lang+".json")
		if err := os.WriteFile(p, []byte(testBundle(lang)), 0o644); err != nil {
			t.Fatal(err)
		}
		files[lang] = p
	}

	allocCtx, cancelAlloc := chromedp.NewExecAllocator(ctx,
		chromedp.ExecPath(chromium),
		chromedp.Headless,
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.NoFirstRun,
		chromedp.Flag("lang", "en-US"),
		chromedp.UserDataDir(t.TempDir()),
	)
	defer cancelAlloc()
	bctx, cancel := chromedp.NewContext(allocCtx)
	defer cancel()
	bctx, cancelTimeout := context.WithTimeout(bctx, 4*time.Minute)
	defer cancelTimeout()

	// Any alert, confirm or prompt means script ran: record and close it.
	var dialogs atomic.Int32
	events := chromedp.Events(bctx, page.JavascriptDialogOpening)
	go func() {
		for _, err := range events {
			if err != nil {
				return
			}
			dialogs.Add(1)
			chromedp.Call(bctx, page.HandleJavaScriptDialog, page.HandleJavaScriptDialogParams{Accept: true})
		}
	}()

	do := func(step string, actions ...chromedp.Action[chromedp.Void]) {
		t.Helper()
		if err := chromedp.Do(bctx, actions...); err != nil {
			t.Fatalf("%s: %v", step, err)
		}
	}
	text := func(sel string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.TextContent(chromedp.CSS(sel)))
		if err != nil {
			t.Fatalf("text of %s: %v", sel, err)
		}
		return s
	}
	eval := func(js string) string {
		t.Helper()
		s, err := chromedp.Run(bctx, chromedp.Evaluate[string](js))
		if err != nil {
			t.Fatalf("%s: %v", js, err)
		}
		return s
	}
	shot := func(name string) {
		t.Helper()
		for _, w := range []int64{1280, 390} {
			h := int64(900)
			if w == 390 {
				h = 844
			}
			do("viewport", chromedp.EmulateViewport(w, h))
			buf, err := chromedp.Run(bctx, chromedp.FullScreenshot(100))
			if err != nil {
				t.Fatalf("screenshot %s: %v", name, err)
			}
			p := filepath.Join(shots, fmt.Sprintf("%s-%d.png", name, w))
			if err := os.WriteFile(p, buf, 0o644); err != nil {
				t.Fatal(err)
			}
			// The page must not scroll sideways at either width (wide
			// tables and the heat map scroll inside their own box).
			if over := eval(`String(document.documentElement.scrollWidth - document.documentElement.clientWidth)`); over != "0" {
				t.Errorf("%s at %d px: the page is %s px wider than the window", name, w, over)
			}
		}
		do("viewport", chromedp.EmulateViewport(1280, 900))
	}

	do("viewport", chromedp.EmulateViewport(1280, 900))
	do("sign-in page", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`input[name=user]`)))
	if lang := eval(`document.documentElement.lang`); lang != "en" {
		t.Fatalf("first page in %q, want en", lang)
	}
	shot("login-en")
	do("sign in",
		chromedp.SendKeys(chromedp.CSS(`input[name=user]`), "aiko"),
		chromedp.SendKeys(chromedp.CSS(`input[name=password]`), "e2e-password-1"),
		chromedp.Click(chromedp.CSS(`button.primary`)),
		chromedp.WaitVisible(chromedp.CSS(`nav.main`)),
	)

	for _, lang := range []string{"en", "ja"} {
		words := map[string][2]string{"en": {"Dashboard", "The import is complete"}, "ja": {"ダッシュボード", "取り込みが完了しました"}}[lang]
		if lang == "ja" {
			do("switch to Japanese", chromedp.Click(chromedp.CSS(`.lang button[value=ja]`)), chromedp.WaitVisible(chromedp.CSS(`html[lang=ja] nav.main`)))
		}
		// Import through the form (the script posts it and shows progress).
		do("import page", chromedp.Navigate(ts.URL+"/import"), chromedp.WaitVisible(chromedp.ID("import-form")))
		do("choose file", chromedp.SetUploadFiles(chromedp.CSS(`input[type=file]`), []string{files[lang]}))
		do("upload", chromedp.Click(chromedp.CSS(`#import-form button[type=submit]`)), chromedp.WaitVisible(chromedp.ID("import-counts")))
		if got := text("#import-done"); !strings.Contains(got, words[1]) {
			t.Fatalf("%s: import result %q", lang, got)
		}
		if got := text("#import-counts"); !strings.Contains(got, "8") {
			t.Errorf("%s: counts %q, want 8 objects", lang, got)
		}
		shot("import-result-" + lang)

		// Search, then open the malware from the results.
		do("search", chromedp.Navigate(ts.URL+"/search?q=kingfisher"), chromedp.WaitVisible(chromedp.CSS(`table.items`)))
		if got := text("table.items"); !strings.Contains(got, "Kingfisher loader "+lang) || !strings.Contains(got, "Kingfisher C2 "+lang) {
			t.Fatalf("%s: results %q", lang, got)
		}
		shot("search-" + lang)
		do("open object",
			chromedp.Click(chromedp.JSPath(fmt.Sprintf(`[...document.querySelectorAll("table.items a")].filter(a => a.textContent === "Kingfisher loader %s")`, lang))),
			chromedp.WaitVisible(chromedp.ID("obj-title")))
		if got := text("#obj-title"); got != "Kingfisher loader "+lang {
			t.Fatalf("%s: object title %q", lang, got)
		}
		// The description holds markup: it must show as text, run nothing.
		if got := text("#obj-description"); got != xssDescription {
			t.Errorf("%s: description shows %q, want the text %q", lang, got, xssDescription)
		}
		if n := eval(`String(document.querySelectorAll("script").length) + "/" + String(document.querySelectorAll("#obj-description *").length)`); n != "1/0" {
			t.Errorf("%s: scripts/elements in the description: %s, want 1/0", lang, n)
		}
		if got := text("svg.graph"); !strings.Contains(got, "Heron Spider") || !strings.Contains(got, "Kingfisher C2") {
			t.Errorf("%s: graph %q", lang, got)
		}
		shot("object-" + lang)
		// Expand a node of the graph.
		do("expand", chromedp.Click(chromedp.CSS(`svg.graph a.expand`)), chromedp.WaitVisible(chromedp.ID("obj-title")))
		if loc, _ := chromedp.Run(bctx, chromedp.Location()); !strings.Contains(loc, "expand=") {
			t.Errorf("%s: expanding went to %s", lang, loc)
		}

		// The indicator: sightings timeline and correlations.
		do("indicator", chromedp.Navigate(ts.URL+"/search?value=192.0.2."+map[string]string{"en": "1", "ja": "2"}[lang]), chromedp.WaitVisible(chromedp.CSS(`table.items a`)))
		do("open indicator", chromedp.Click(chromedp.CSS(`table.items a`)), chromedp.WaitVisible(chromedp.CSS(`svg.timeline`)))

		// The dashboard.
		do("dashboard", chromedp.Navigate(ts.URL+"/"), chromedp.WaitVisible(chromedp.CSS(`.tiles`)))
		if got := text("main"); !strings.Contains(got, words[0]) || !strings.Contains(got, "Kingfisher loader") || !strings.Contains(got, "T1566") {
			t.Errorf("%s: dashboard %q", lang, got)
		}
		if n := eval(`String(document.querySelectorAll("svg.chart rect.bar").length)`); n != "60" {
			t.Errorf("%s: %s bars in the two charts, want 60", lang, n)
		}
		shot("dashboard-" + lang)
	}
	if n := dialogs.Load(); n != 0 {
		t.Errorf("%d script dialogs opened: markup from intelligence ran", n)
	}
	t.Logf("screenshots in %s", shots)
}
