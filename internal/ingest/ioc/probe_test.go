package ioc

import (
	"context"
	"fmt"
	"testing"

	"github.com/mamori-cti/mamori/internal/ingest"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

func TestProbe(t *testing.T) {
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	im := &ingest.Importer{Store: st, Validator: ingest.DefaultValidator(), PatternValues: ingest.DefaultPatternValues}
	n := 200000
	src := func(emit func(int, []byte) error, _ func(string)) error {
		for i := 0; i < n; i++ {
			raw := fmt.Appendf(nil, `{"type":"indicator","spec_version":"2.1","id":"indicator--%08x-0000-5000-8000-%012x","created":"2025-01-01T00:00:00.000Z","modified":"2025-01-01T00:00:00.000Z","created_by_ref":"identity--00000000-0000-5000-8000-000000000001","pattern":"[ipv4-addr:value = '10.%d.%d.%d']","pattern_type":"stix","valid_from":"2025-01-01T00:00:00.000Z","indicator_types":["malicious-activity"],"labels":["ipsum"],"object_marking_refs":["marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb"]}`, i, i, (i>>16)&255, (i>>8)&255, i&255)
			if err := emit(i, raw); err != nil {
				return err
			}
		}
		return nil
	}
	res, err := im.Import(context.Background(), src, "probe", ingest.Options{})
	t.Log(res.Summary(), err)
}
