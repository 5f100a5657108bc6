package detect_test

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/mamori-cti/mamori/internal/detect"
	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store"
)

// putIndicators writes indicators from..to-1, each holding the shared
// address and a name of its own, without the import pipeline.
func putIndicators(t testing.TB, e *env, from, to int) {
	putPatterns(t, e, from, to, func(i int) string {
		return fmt.Sprintf("[ipv4-addr:value = '198.51.100.7'] OR [domain-name:value = 'host-%d.example']", i)
	})
}

func putPatterns(t testing.TB, e *env, from, to int, pat func(i int) string) {
	t.Helper()
	var batch []*store.Object
	flush := func() {
		if _, err := e.st.Put(e.ctx, batch, store.PutOptions{}); err != nil {
			t.Fatal(err)
		}
		batch = batch[:0]
	}
	for i := from; i < to; i++ {
		m := map[string]any{
			"type": "indicator", "spec_version": "2.1", "id": id(i),
			"created": "2025-01-01T00:00:00.000Z", "modified": "2025-01-01T00:00:00.000Z",
			"name": fmt.Sprintf("scan %d", i), "pattern_type": "stix", "valid_from": "2025-01-01T00:00:00Z",
			"pattern": pat(i),
		}
		raw, _ := json.Marshal(m)
		o := ingest.BuildObject(m, raw, ingest.DefaultPatternValues)
		o.Access = store.Access{Level: store.LevelCommunity}
		batch = append(batch, o)
		if len(batch) == 2000 {
			flush()
		}
	}
	if len(batch) > 0 {
		flush()
	}
}

func (e *env) valueRows(t *testing.T) int64 {
	var n int64
	if err := e.st.WriterDB().QueryRowContext(e.ctx, `SELECT count(*) FROM obs_values`).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
}

// TestCorrelationLinear: one value held by 100,000 objects. The value
// index has one row per (value, object version): twice the number of
// objects here (the shared address and a name each), growing linearly,
// where links between every pair of objects would be about 5·10⁹. A
// correlation query counts them and reads one page.
func TestCorrelationLinear(t *testing.T) {
	n := 100000
	if testing.Short() {
		n = 10000
	}
	e := newEnv(t)
	base := e.valueRows(t)
	putIndicators(t, e, 0, n/2)
	half := e.valueRows(t) - base
	putIndicators(t, e, n/2, n)
	full := e.valueRows(t) - base
	if half != int64(n) || full != int64(2*n) {
		t.Fatalf("value rows: %d after %d objects, %d after %d; want 2 per object", half, n/2, full, n)
	}
	start := time.Now()
	c, err := detect.CorrelateValue(e.ctx, e.st, "198.51.100.7", &store.Viewer{Org: e.orgA.ID}, 100, 0)
	if err != nil {
		t.Fatal(err)
	}
	first := time.Since(start)
	if c.Total != int64(n) || len(c.Objects) != 100 || !c.More {
		t.Fatalf("correlation: total %d, %d objects, more %v", c.Total, len(c.Objects), c.More)
	}
	next, err := detect.CorrelateValue(e.ctx, e.st, "198.51.100.7", nil, 100, c.Next)
	if err != nil || len(next.Objects) != 100 || next.Objects[0].ID == c.Objects[0].ID {
		t.Fatalf("second page: %v %v", next.Objects[:1], err)
	}
	// An object's correlations: the shared address links it to every
	// other object (a page of them), its own name to none.
	oc, err := detect.ObjectCorrelations(e.ctx, e.st, id(42), nil, 10)
	if err != nil {
		t.Fatal(err)
	}
	if len(oc) != 1 || oc[0].Value != "198.51.100.7" || oc[0].Total != int64(n-1) || len(oc[0].Objects) != 10 {
		t.Fatalf("object correlations: %+v", oc)
	}
	t.Logf("%d objects: %d value rows (%.1f per object); first page of the shared value in %v", n, full, float64(full)/float64(n), first)
}
