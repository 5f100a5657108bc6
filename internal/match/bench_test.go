package match

import (
	"bytes"
	"context"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// realMatcher loads the shared indicator lists (about 1.1 million
// indicators) once, and reports the heap it took and the time.
var (
	realOnce  sync.Once
	realM     *Matcher
	realHeap  uint64
	realLoad  time.Duration
	realBulk  BulkResult
	realStats Stats
)

func realMatcher(tb testing.TB) *Matcher {
	tb.Helper()
	set := loadIOCs(tb)
	realOnce.Do(func() {
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		start := time.Now()
		m := NewMatcher(Options{})
		b := m.NewBulk(0)
		for i := range set.ids {
			b.Add(set.ids[i], set.patterns[i])
		}
		realBulk = b.Close()
		realLoad = time.Since(start)
		runtime.GC()
		runtime.ReadMemStats(&after)
		runtime.KeepAlive(set)
		realHeap = after.HeapAlloc - before.HeapAlloc
		realM = m
		realStats = m.Stats()
	})
	return realM
}

// TestRealIndexBudget loads the shared lists and checks the index stays
// within 250 MB; the load time is logged (it depends on the machine's load).
func TestRealIndexBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("loads 1.1 million indicators")
	}
	m := realMatcher(t)
	set := loadIOCs(t)
	t.Logf("%d indicators: %v; load %v (%s), heap %.1f MB (%.0f bytes per indicator)",
		len(set.ids), realStats, realLoad.Round(time.Millisecond), m, float64(realHeap)/1e6, float64(realHeap)/float64(len(set.ids)))
	if realBulk.Invalid > 0 {
		t.Errorf("%d patterns did not load", realBulk.Invalid)
	}
	if realHeap > 250e6 {
		t.Errorf("index takes %.1f MB, budget 250 MB", float64(realHeap)/1e6)
	}
	if realStats.General > 100 {
		t.Errorf("%d patterns are evaluated per record; the lists should all be looked up", realStats.General)
	}
	// Every indicator value matches its own indicator.
	for i := 0; i < len(set.ids); i += 997 {
		pat, v := set.patterns[i], set.values[i]
		var p Path
		switch {
		case strings.HasPrefix(pat, "[ipv4-addr"):
			p = PathIPv4
		case strings.HasPrefix(pat, "[domain-name"):
			p = PathDomain
		case strings.HasPrefix(pat, "[url:value ="):
			p = PathURL
		case strings.HasPrefix(pat, "[file:hashes.MD5"):
			p = PathMD5
		case strings.HasPrefix(pat, "[file:hashes.'SHA-1'"):
			p = PathSHA1
		case strings.HasPrefix(pat, "[file:hashes.'SHA-256'"):
			p = PathSHA256
		default:
			continue
		}
		if strings.Contains(v, "/") && p == PathIPv4 {
			v = strings.Split(v, "/")[0]
		}
		found := false
		for _, h := range m.MatchValue(p, v) {
			if h.Indicator == set.ids[i] {
				found = true
			}
		}
		if !found {
			t.Errorf("%s (%s) does not match its own value %q", set.ids[i], pat, v)
		}
	}
}

// lookupRecords prepares records of one observable each: one in ten a value
// of an indicator, the rest addresses, names, URLs and digests that are not.
func lookupRecords(tb testing.TB, n int) []Record {
	set := loadIOCs(tb)
	g := newLogGen(1)
	recs := make([]Record, n)
	for i := range recs {
		r := &recs[i]
		r.Reset()
		if i%10 == 0 {
			j := (i * 7919) % len(set.values)
			pat, v := set.patterns[j], set.values[j]
			switch {
			case strings.HasPrefix(pat, "[ipv4-addr"):
				r.Add(PathIPv4, "v", []byte(strings.Split(v, "/")[0]))
			case strings.HasPrefix(pat, "[domain-name"):
				r.Add(PathDomain, "v", []byte("www."+v))
			case strings.HasPrefix(pat, "[url"):
				r.Add(PathURL, "v", []byte(strings.TrimPrefix(v, "http://")))
			case strings.HasPrefix(pat, "[file"):
				r.Add(hashPath([]byte(v)), "v", []byte(v))
			default:
				r.Add(PathIPv4, "v", []byte(g.benignIP(false)))
			}
			continue
		}
		switch i % 4 {
		case 0:
			r.Add(PathIPv4, "v", []byte(g.benignIP(false)))
		case 1:
			r.Add(PathDomain, "v", []byte(g.domain()))
		case 2:
			r.Add(PathURL, "v", []byte(g.domain()+"/"+g.hex(8)+"/x.php"))
		case 3:
			r.Add(PathSHA256, "v", []byte(g.hex(64)))
		}
	}
	return recs
}

// BenchmarkLookup: pre-parsed observables against the shared lists.
func BenchmarkLookup(b *testing.B) {
	m := realMatcher(b)
	recs := lookupRecords(b, 100000)
	var hits []Hit
	nh := 0
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	cpu0 := cpuTime()
	n := 0
	for i := 0; b.Loop(); i++ {
		hits = m.Match(&recs[i%len(recs)], hits[:0])
		nh += len(hits)
		n++
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(n)/b.Elapsed().Seconds(), "lookups/s")
	b.ReportMetric(float64(n)/cpu.Seconds(), "lookups/cpu-s")
	_ = nh
}

// zeekJSONLog is a synthetic Zeek JSON log of about size bytes.
func zeekJSONLog(size int) []byte {
	g := newLogGen(2)
	var b bytes.Buffer
	for b.Len() < size {
		g.zeekJSON(&b, nil)
	}
	return b.Bytes()
}

func eveLog(size int) []byte {
	g := newLogGen(3)
	var b bytes.Buffer
	for b.Len() < size {
		g.eve(&b, nil)
	}
	return b.Bytes()
}

// cpuTime is the CPU time the process has used: on a machine shared with
// other work, bytes per CPU second is the throughput per core.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func benchEngine(b *testing.B, f Format, data []byte, m *Matcher) {
	e := &Engine{Matcher: m, Format: f, Workers: 1}
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	runtime.GC()
	b.ResetTimer()
	var st RunStats
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		var err error
		st, err = e.Run(context.Background(), bytes.NewReader(data), io.Discard, nil)
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	cpu := cpuTime() - cpu0
	b.ReportMetric(float64(st.Records), "records")
	b.ReportMetric(float64(n)*float64(len(data))/1e6/cpu.Seconds(), "MB/cpu-s")
}

// BenchmarkZeekJSON: Zeek JSON logs end to end (read, extract, match) on
// one goroutine, against the shared lists.
func BenchmarkZeekJSON(b *testing.B) {
	benchEngine(b, FormatZeek, zeekJSONLog(32<<20), realMatcher(b))
}

func BenchmarkEVE(b *testing.B) {
	benchEngine(b, FormatEVE, eveLog(32<<20), realMatcher(b))
}

func BenchmarkZeekTSV(b *testing.B) {
	g := newLogGen(4)
	var buf bytes.Buffer
	g.zeekTSVConn(&buf, 200000, nil)
	benchEngine(b, FormatZeek, buf.Bytes(), realMatcher(b))
}

// BenchmarkTextExtract: typed extraction from free text, without matching.
func BenchmarkTextExtract(b *testing.B) {
	g := newLogGen(5)
	var buf bytes.Buffer
	g.prose(&buf, 16<<20)
	data := buf.Bytes()
	b.SetBytes(int64(len(data)))
	b.ReportAllocs()
	var rec Record
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		d := data
		for len(d) > 0 {
			i := bytes.IndexByte(d, '\n')
			rec.Reset()
			extractText(&rec, "text", d[:i])
			d = d[i+1:]
		}
		n++
	}
	b.ReportMetric(float64(n)*float64(len(data))/1e6/(cpuTime()-cpu0).Seconds(), "MB/cpu-s")
}

// BenchmarkText: free text end to end against the shared lists.
func BenchmarkText(b *testing.B) {
	g := newLogGen(5)
	var buf bytes.Buffer
	g.prose(&buf, 16<<20)
	benchEngine(b, FormatText, buf.Bytes(), realMatcher(b))
}

// BenchmarkLoad: parse and add the shared lists to an empty matcher.
func BenchmarkLoad(b *testing.B) {
	set := loadIOCs(b)
	b.ReportAllocs()
	cpu0 := cpuTime()
	n := 0
	for b.Loop() {
		m := NewMatcher(Options{})
		bl := m.NewBulk(0)
		for i := range set.ids {
			bl.Add(set.ids[i], set.patterns[i])
		}
		bl.Close()
		n++
	}
	b.ReportMetric((cpuTime()-cpu0).Seconds()/float64(n), "cpu-s/load")
	b.ReportMetric(float64(len(set.ids)), "indicators")
}

// BenchmarkGrep runs the same values and log through grep -F -f, for
// comparison: substring matching of the 1.1 million values (with the
// false positives that brings: evil.example in notevil.example).
func BenchmarkGrep(b *testing.B) {
	grep, err := exec.LookPath("grep")
	if err != nil {
		b.Skip("grep not found")
	}
	set := loadIOCs(b)
	dir := b.TempDir()
	values := filepath.Join(dir, "values.txt")
	logFile := filepath.Join(dir, "zeek.json")
	if err := os.WriteFile(values, []byte(strings.Join(set.values, "\n")+"\n"), 0o644); err != nil {
		b.Fatal(err)
	}
	data := zeekJSONLog(32 << 20)
	if err := os.WriteFile(logFile, data, 0o644); err != nil {
		b.Fatal(err)
	}
	empty := filepath.Join(dir, "empty")
	os.WriteFile(empty, nil, 0o644)
	run := func(file string) (string, time.Duration) {
		cmd := exec.Command(grep, "-F", "-c", "-f", values, file)
		cmd.Env = append(os.Environ(), "LC_ALL=C")
		start := time.Now()
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out)), time.Since(start)
	}
	_, setup := run(empty)
	b.SetBytes(int64(len(data)))
	var lines string
	var took time.Duration
	for b.Loop() {
		lines, took = run(logFile)
	}
	b.Logf("grep -F -c -f (%d values): %s matching lines, all false; %v in all, %v of it reading the values; %.1f MB/s after that",
		len(set.values), lines, took.Round(time.Millisecond), setup.Round(time.Millisecond), float64(len(data))/1e6/(took-setup).Seconds())
}
