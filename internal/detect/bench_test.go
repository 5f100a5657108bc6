package detect_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/match"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

// BenchmarkHistoryCost observes one million distinct values (a mix of
// addresses, domain names with their parents, URLs and digests, as DNS,
// HTTP, connection and file records give them) and reports what the
// history costs: the heap of the buffer before it is written, and the
// growth of the database file after.
//
//	go test -run X -bench HistoryCost -benchtime 1x ./internal/detect/
func BenchmarkHistoryCost(b *testing.B) {
	for b.Loop() {
		historyCost(b, 1_000_000)
	}
}

func historyCost(b *testing.B, values int) {
	ctx := context.Background()
	dir := b.TempDir()
	st, err := sqlite.OpenDir(ctx, dir, sqlite.Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer st.Close()
	file := filepath.Join(dir, sqlite.FileName)
	size := func() int64 {
		var n int64
		for _, suffix := range []string{"", "-wal"} {
			if fi, err := os.Stat(file + suffix); err == nil {
				n += fi.Size()
			}
		}
		return n
	}
	st.WriterDB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	disk0 := size()
	h := detect.NewHistory(st, detect.HistoryOptions{Days: 30})
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	p := match.NewParser(match.FormatZeek, nil)
	var rec match.Record
	now := time.Now()
	keys := 0
	for i := 0; keys < values; i++ {
		var line string
		switch i % 4 {
		case 0:
			line = fmt.Sprintf(`{"id.orig_h":"10.%d.%d.%d","id.resp_h":"100.%d.%d.%d","id.resp_p":443}`, i>>16&255, i>>8&255, i&255, 64+i>>16&63, i>>8&255, i&255)
		case 1:
			line = fmt.Sprintf(`{"query":"host%d.zone%d.example"}`, i, i%5000)
		case 2:
			line = fmt.Sprintf(`{"host":"site%d.example","uri":"/p/%d.html"}`, i%20000, i)
		case 3:
			line = fmt.Sprintf(`{"sha256":"%064x"}`, i)
		}
		rec.Reset()
		p.Parse([]byte(line), &rec)
		before := h.Buffered()
		h.Observe("org-1", &rec, now)
		keys += h.Buffered() - before
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	mem := float64(after.HeapAlloc-before.HeapAlloc) / 1e6
	start := time.Now()
	if err := h.Flush(ctx); err != nil {
		b.Fatal(err)
	}
	flush := time.Since(start)
	st.WriterDB().ExecContext(ctx, `PRAGMA wal_checkpoint(TRUNCATE)`)
	disk := float64(size()-disk0) / 1e6
	scale := 1e6 / float64(keys)
	b.ReportMetric(mem*scale, "MB-memory/M-values")
	b.ReportMetric(disk*scale, "MB-disk/M-values")
	b.ReportMetric(flush.Seconds()*scale, "s-flush/M-values")
	b.Logf("%d distinct keys: buffer %.1f MB, database +%.1f MB, flush %v", keys, mem, disk, flush.Round(time.Millisecond))
}

// BenchmarkLoadFromStore reads 100,000 indicators from the SQLite store
// into a matcher (LoadMatcher: query, decode, parse, add).
func BenchmarkLoadFromStore(b *testing.B) {
	e := newEnvB(b)
	const n = 100000
	putPatterns(b, e, 0, n, func(i int) string {
		return fmt.Sprintf("[ipv4-addr:value = '10.%d.%d.%d']", i>>16&255, i>>8&255, i&255)
	})
	b.ResetTimer()
	for b.Loop() {
		m, res, err := detect.LoadMatcher(e.ctx, e.st, detect.LoadOptions{})
		if err != nil || res.Added != n || m.Len() != n {
			b.Fatalf("%+v %v", res, err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(b.N)/n, "µs/indicator")
}
