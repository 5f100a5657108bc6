package audit_test

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/mamori-cti/mamori/internal/audit"
	"github.com/mamori-cti/mamori/internal/store/sqlite"
)

func fill(t *testing.T) (*audit.Log, *sqlite.Store) {
	t.Helper()
	st, err := sqlite.OpenDir(context.Background(), t.TempDir(), sqlite.Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	log := audit.New(st)
	for i := range 10 {
		if err := log.Record(context.Background(), audit.Entry{Actor: "alice", Action: "import", Target: fmt.Sprint(i), Detail: map[string]int{"n": i}}); err != nil {
			t.Fatal(err)
		}
	}
	return log, st
}

func TestVerifyIntact(t *testing.T) {
	log, _ := fill(t)
	n, err := log.Verify(context.Background())
	if err != nil || n != 10 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}

// Tampering directly in SQLite is detected, and the first broken record named.
func TestVerifyDetectsTampering(t *testing.T) {
	cases := []struct {
		name    string
		sql     string
		wantSeq int64
	}{
		{"edit detail", `UPDATE audit SET detail = '{"n":99}' WHERE seq = 4`, 4},
		{"edit actor", `UPDATE audit SET actor = 'mallory' WHERE seq = 7`, 7},
		{"edit time", `UPDATE audit SET time = time + 1 WHERE seq = 2`, 2},
		{"delete", `DELETE FROM audit WHERE seq = 5`, 5},
		{"reorder", `UPDATE audit SET seq = 100 WHERE seq = 3; UPDATE audit SET seq = 3 WHERE seq = 6; UPDATE audit SET seq = 6 WHERE seq = 100`, 3},
		{"edit and rehash", `UPDATE audit SET target = 'x', hash = zeroblob(32) WHERE seq = 8`, 8},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			log, st := fill(t)
			if _, err := st.WriterDB().Exec(tc.sql); err != nil {
				t.Fatal(err)
			}
			_, err := log.Verify(context.Background())
			var ve *audit.VerifyError
			if !errors.As(err, &ve) {
				t.Fatalf("tampering not detected: %v", err)
			}
			if ve.Seq != tc.wantSeq {
				t.Fatalf("first broken record = %d (%s), want %d", ve.Seq, ve.Reason, tc.wantSeq)
			}
		})
	}
}

func TestRecordAfterTamperStillChains(t *testing.T) {
	log, _ := fill(t)
	if err := log.Record(context.Background(), audit.Entry{Actor: "bob", Action: "export"}); err != nil {
		t.Fatal(err)
	}
	if n, err := log.Verify(context.Background()); err != nil || n != 11 {
		t.Fatalf("Verify = %d, %v", n, err)
	}
}
