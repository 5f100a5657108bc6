// Package audit keeps mamori's append-only audit trail: logins, token use,
// imports, exports, reads of restricted objects and administrative actions.
// Each record carries the SHA-256 of the previous one, so editing, removing
// or reordering a record breaks the chain, and Verify finds the first
// record where it breaks.
package audit

import (
	"context"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// Log appends to and verifies the audit trail.
type Log struct {
	st  store.AuditLog
	now func() time.Time
	mu  sync.Mutex
}

// New returns a Log over st.
func New(st store.AuditLog) *Log { return &Log{st: st, now: time.Now} }

// Entry is what a caller records; Detail is any JSON-encodable value.
type Entry struct {
	Actor  string
	Org    string
	Action string
	Target string
	Detail any
}

// Hash computes a record's chain hash from its Prev and fields.
func Hash(r *store.AuditRecord) []byte {
	fields, _ := json.Marshal([]any{r.Seq, r.Time.UnixNano(), r.Actor, r.Org, r.Action, r.Target, r.Detail})
	h := sha256.New()
	h.Write(r.Prev)
	h.Write(fields)
	return h.Sum(nil)
}

// Record appends an entry to the trail.
func (l *Log) Record(ctx context.Context, e Entry) error {
	detail := "{}"
	if e.Detail != nil {
		b, err := json.Marshal(e.Detail)
		if err != nil {
			return fmt.Errorf("audit: detail: %w", err)
		}
		detail = string(b)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	for attempt := 0; ; attempt++ {
		rec := &store.AuditRecord{Time: l.now().UTC(), Actor: e.Actor, Org: e.Org, Action: e.Action, Target: e.Target, Detail: detail}
		last, err := l.st.LastAudit(ctx)
		switch {
		case errors.Is(err, store.ErrNotFound):
			rec.Seq, rec.Prev = 1, make([]byte, sha256.Size)
		case err != nil:
			return fmt.Errorf("audit: %w", err)
		default:
			rec.Seq, rec.Prev = last.Seq+1, last.Hash
		}
		rec.Hash = Hash(rec)
		err = l.st.AppendAudit(ctx, rec)
		if err == nil {
			return nil
		}
		// Another process appended first: chain onto its record.
		if !errors.Is(err, store.ErrConflict) || attempt >= 10 {
			return fmt.Errorf("audit: %w", err)
		}
	}
}

// VerifyError names the first record where the chain breaks.
type VerifyError struct {
	Seq    int64 // the record found broken (or the first missing number)
	Reason string
}

func (e *VerifyError) Error() string { return fmt.Sprintf("audit record %d: %s", e.Seq, e.Reason) }

// Verify walks the whole trail and returns the number of records checked,
// or a *VerifyError for the first record that was edited, removed or
// reordered.
func (l *Log) Verify(ctx context.Context) (int64, error) {
	prev := make([]byte, sha256.Size)
	var want int64 = 1
	var n int64
	err := l.st.AuditRecords(ctx, 0, func(r store.AuditRecord) error {
		switch {
		case r.Seq != want:
			if r.Seq > want {
				return &VerifyError{Seq: want, Reason: fmt.Sprintf("missing (the next record is %d): a record was removed", r.Seq)}
			}
			return &VerifyError{Seq: r.Seq, Reason: "out of order"}
		case string(r.Prev) != string(prev):
			return &VerifyError{Seq: r.Seq, Reason: "does not follow the previous record: a record before it was removed, edited or reordered"}
		case string(Hash(&r)) != string(r.Hash):
			return &VerifyError{Seq: r.Seq, Reason: "its content does not match its hash: it was edited"}
		}
		prev = r.Hash
		want++
		n++
		return nil
	})
	return n, err
}

// Records calls fn for each record after seq, in order.
func (l *Log) Records(ctx context.Context, after int64, fn func(store.AuditRecord) error) error {
	return l.st.AuditRecords(ctx, after, fn)
}
