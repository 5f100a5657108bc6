package pattern

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"runtime"
	"sync"
	"testing"
	"time"
)

var typicalPatterns = []string{
	"[ipv4-addr:value = '198.51.100.7']",
	"[file:hashes.'SHA-256' = 'aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f']",
	"[domain-name:value = 'x.example'] OR [url:value = 'http://x.example/a']",
}

func BenchmarkParse(b *testing.B) {
	b.ReportAllocs()
	for i := 0; b.Loop(); i++ {
		if _, err := Parse(typicalPatterns[i%len(typicalPatterns)]); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "patterns/s")
}

func BenchmarkString(b *testing.B) {
	p := mustParse(b, typicalPatterns[2])
	b.ReportAllocs()
	for b.Loop() {
		_ = p.String()
	}
}

// indicatorSet returns n single-observable patterns and their ids: IPv4
// addresses, domain names, SHA-256 hashes and URLs.
func indicatorSet(n int) (ids, patterns []string) {
	ids = make([]string, n)
	patterns = make([]string, n)
	for i := 0; i < n; i++ {
		ids[i] = fmt.Sprintf("indicator--%08x-0000-4000-8000-%012x", i, i)
		switch i % 10 {
		case 0, 1, 2, 3:
			patterns[i] = fmt.Sprintf("[ipv4-addr:value = '%d.%d.%d.%d']", 10+i>>24&0x7f, i>>16&0xff, i>>8&0xff, i&0xff)
		case 4, 5:
			patterns[i] = fmt.Sprintf("[domain-name:value = 'host%d.example']", i)
		case 6, 7, 8:
			h := sha256.Sum256([]byte{byte(i), byte(i >> 8), byte(i >> 16), byte(i >> 24)})
			patterns[i] = "[file:hashes.'SHA-256' = '" + hex.EncodeToString(h[:]) + "']"
		default:
			patterns[i] = fmt.Sprintf("[url:value = 'http://host%d.example/path']", i)
		}
	}
	return ids, patterns
}

const benchIndicators = 1000000

// loadIndex parses and adds every pattern, and returns the heap growth
// after a garbage collection.
func loadIndex(tb testing.TB, ids, patterns []string) (*Index, uint64) {
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ix := NewIndex()
	for i, s := range patterns {
		p, err := Parse(s)
		if err != nil {
			tb.Fatal(err)
		}
		if err := ix.Add(ids[i], p); err != nil {
			tb.Fatal(err)
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	// The input was on the heap before; it must not be freed in between.
	runtime.KeepAlive(ids)
	runtime.KeepAlive(patterns)
	return ix, after.HeapAlloc - before.HeapAlloc
}

func BenchmarkIndexLoad(b *testing.B) {
	ids, patterns := indicatorSet(benchIndicators)
	var heap uint64
	b.ResetTimer()
	for b.Loop() {
		var ix *Index
		ix, heap = loadIndex(b, ids, patterns)
		runtime.KeepAlive(ix)
	}
	b.ReportMetric(b.Elapsed().Seconds()/float64(b.N), "s/load")
	b.ReportMetric(float64(heap)/benchIndicators, "heap-bytes/indicator")
}

var (
	benchIndexOnce sync.Once
	benchIndex     *Index
	benchIDs       []string
	benchPatterns  []string
)

func BenchmarkIndexMatch(b *testing.B) {
	benchIndexOnce.Do(func() {
		benchIDs, benchPatterns = indicatorSet(benchIndicators)
		benchIndex, _ = loadIndex(b, benchIDs, benchPatterns)
	})
	// Half of the observations match one indicator, half match none.
	now := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var obs []*Observation
	for i := 0; i < 4096; i++ {
		var sco map[string]any
		k := i * 7919 % benchIndicators
		switch k % 10 {
		case 0, 1, 2, 3:
			sco = map[string]any{"type": "ipv4-addr", "value": fmt.Sprintf("%d.%d.%d.%d", 10+k>>24&0x7f, k>>16&0xff, k>>8&0xff, k&0xff)}
		case 4, 5:
			sco = map[string]any{"type": "domain-name", "value": fmt.Sprintf("host%d.example", k)}
		case 6, 7, 8:
			h := sha256.Sum256([]byte{byte(k), byte(k >> 8), byte(k >> 16), byte(k >> 24)})
			sco = map[string]any{"type": "file", "name": "a.exe", "hashes": map[string]any{"SHA-256": hex.EncodeToString(h[:])}}
		default:
			sco = map[string]any{"type": "url", "value": fmt.Sprintf("http://host%d.example/path", k)}
		}
		if i%2 == 1 { // a miss
			if v, ok := sco["value"].(string); ok {
				sco["value"] = v + "x"
			} else {
				sco["hashes"] = map[string]any{"SHA-256": "00"}
			}
		}
		o, _ := NewObservation(now, now, 1, sco)
		obs = append(obs, o)
	}
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		hits += len(benchIndex.Match(obs[i%len(obs)]))
	}
	if hits == 0 {
		b.Fatal("no observation matched")
	}
}

func BenchmarkIndexMatchValue(b *testing.B) {
	benchIndexOnce.Do(func() {
		benchIDs, benchPatterns = indicatorSet(benchIndicators)
		benchIndex, _ = loadIndex(b, benchIDs, benchPatterns)
	})
	values := make([]string, 4096)
	for i := range values {
		k := (i * 7930) % benchIndicators // multiples of 10: IPv4 indicators
		if i%2 == 1 {
			k++ // a domain-name indicator: no IPv4 match
		}
		values[i] = fmt.Sprintf("%d.%d.%d.%d", 10+k>>24&0x7f, k>>16&0xff, k>>8&0xff, k&0xff)
	}
	hits := 0
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; b.Loop(); i++ {
		hits += len(benchIndex.MatchValue("ipv4-addr", "value", values[i%len(values)]))
	}
	if hits == 0 {
		b.Fatal("no value matched")
	}
}

func BenchmarkMatchEvaluator(b *testing.B) {
	obs := fuzzObservations()
	p := mustParse(b, "([ipv4-addr:value ISSUBSET '10.0.0.0/8'] FOLLOWEDBY [network-traffic:src_ref.value = '2001:db8::/32']) WITHIN 300 SECONDS")
	b.ReportAllocs()
	for b.Loop() {
		if ok, err := p.Match(obs); !ok || err != nil {
			b.Fatal(ok, err)
		}
	}
}

// TestIndexMemoryBudget checks the per-indicator memory of the index on a
// smaller set, so that a regression shows in ordinary test runs.
func TestIndexMemoryBudget(t *testing.T) {
	if testing.Short() {
		t.Skip("slow")
	}
	const n = 100000
	ids, patterns := indicatorSet(n)
	ix, heap := loadIndex(t, ids, patterns)
	per := float64(heap) / n
	t.Logf("%.0f heap bytes per indicator", per)
	if per > 300 {
		t.Errorf("%.0f heap bytes per indicator, budget 300", per)
	}
	runtime.KeepAlive(ix)
}
