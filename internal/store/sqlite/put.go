package sqlite

import (
	"bytes"
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// Put writes the batch in one transaction.
func (s *Store) Put(ctx context.Context, batch []*store.Object, opts store.PutOptions) (store.PutResult, error) {
	var res store.PutResult
	err := withRetry(ctx, func() error {
		w, err := s.begin(ctx)
		if err != nil {
			return err
		}
		res, err = w.Put(ctx, batch, opts)
		if err != nil {
			w.Rollback()
			return err
		}
		return w.Commit()
	})
	return res, err
}

// Begin starts a multi-batch write transaction.
func (s *Store) Begin(ctx context.Context) (store.Writer, error) {
	var w *writer
	err := withRetry(ctx, func() error {
		var err error
		w, err = s.begin(ctx)
		return err
	})
	if err != nil {
		return nil, err // not a typed nil in the interface
	}
	return w, nil
}

type writer struct {
	s         *Store
	tx        *sql.Tx
	done      bool
	lastAdded int64 // the store's lastAdded when the transaction began

	insert, demote, replace, fts, ftsDelete      *sql.Stmt
	ref, label, extID, value, member, collExists *sql.Stmt
	delDerived                                   []*sql.Stmt
}

func (s *Store) begin(ctx context.Context) (*writer, error) {
	s.mu.Lock()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		s.mu.Unlock()
		return nil, fmt.Errorf("sqlite: begin: %w", err)
	}
	w := &writer{s: s, tx: tx, lastAdded: s.lastAdded}
	prep := func(q string) *sql.Stmt {
		if err != nil {
			return nil
		}
		var st *sql.Stmt
		st, err = tx.PrepareContext(ctx, q)
		return st
	}
	w.insert = prep(`INSERT INTO objects (id, type, vkey, spec_version, created_by, markings, revoked, latest, added, owner, level, sgroup, raw) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`)
	w.demote = prep(`UPDATE objects SET latest = 0 WHERE seq = ?`)
	w.replace = prep(`UPDATE objects SET type = ?, spec_version = ?, created_by = ?, markings = ?, revoked = ?, owner = ?, level = ?, sgroup = ?, raw = ? WHERE seq = ?`)
	w.fts = prep(`INSERT INTO objects_fts (rowid, name, description, aliases) VALUES (?, ?, ?, ?)`)
	w.ftsDelete = prep(`DELETE FROM objects_fts WHERE rowid = ?`)
	w.ref = prep(`INSERT INTO refs (target, prop, seq) VALUES (?, ?, ?)`)
	w.label = prep(`INSERT INTO labels (label, seq) VALUES (?, ?)`)
	w.extID = prep(`INSERT INTO external_ids (ext_id, seq) VALUES (?, ?)`)
	w.value = prep(`INSERT INTO obs_values (value, seq) VALUES (?, ?)`)
	w.member = prep(`INSERT OR IGNORE INTO collection_objects (coll, seq, added) VALUES (?, ?, ?)`)
	w.collExists = prep(`SELECT count(*) FROM collections WHERE id = ?`)
	for _, t := range []string{"refs", "labels", "external_ids", "obs_values"} {
		w.delDerived = append(w.delDerived, prep(`DELETE FROM `+t+` WHERE seq = ?`))
	}
	if err != nil {
		tx.Rollback()
		s.mu.Unlock()
		return nil, fmt.Errorf("sqlite: prepare: %w", err)
	}
	return w, nil
}

// Commit commits the transaction and releases the writer lock.
func (w *writer) Commit() error {
	if w.done {
		return fmt.Errorf("sqlite: transaction already ended")
	}
	w.done = true
	defer w.s.mu.Unlock()
	if err := w.tx.Commit(); err != nil {
		w.s.lastAdded = w.lastAdded
		return fmt.Errorf("sqlite: commit: %w", err)
	}
	return nil
}

// Rollback discards the transaction and releases the writer lock.
func (w *writer) Rollback() error {
	if w.done {
		return nil
	}
	w.done = true
	defer w.s.mu.Unlock()
	w.s.lastAdded = w.lastAdded
	return w.tx.Rollback()
}

func (w *writer) next(now int64) int64 {
	w.s.lastAdded = max(now, w.s.lastAdded+1)
	return w.s.lastAdded
}

func (w *writer) writeDerived(ctx context.Context, seq int64, o *store.Object) error {
	ix := &o.Index
	if ix.Name != "" || ix.Description != "" || len(ix.Aliases) > 0 {
		if _, err := w.fts.ExecContext(ctx, seq, ix.Name, ix.Description, strings.Join(ix.Aliases, "\n")); err != nil {
			return err
		}
	}
	for _, r := range ix.Refs {
		if _, err := w.ref.ExecContext(ctx, r.Target, r.Prop, seq); err != nil {
			return err
		}
	}
	for _, l := range ix.Labels {
		if _, err := w.label.ExecContext(ctx, l, seq); err != nil {
			return err
		}
	}
	for _, e := range ix.ExternalIDs {
		if _, err := w.extID.ExecContext(ctx, e, seq); err != nil {
			return err
		}
	}
	for _, v := range ix.Values {
		if _, err := w.value.ExecContext(ctx, v, seq); err != nil {
			return err
		}
	}
	return nil
}

// Put writes a batch inside the transaction. On error the caller must roll back.
func (w *writer) Put(ctx context.Context, batch []*store.Object, opts store.PutOptions) (res store.PutResult, err error) {
	if w.done {
		return res, fmt.Errorf("sqlite: transaction already ended")
	}
	if opts.Collection != "" {
		var n int
		if err = w.collExists.QueryRowContext(ctx, opts.Collection).Scan(&n); err != nil {
			return res, fmt.Errorf("sqlite: collection %s: %w", opts.Collection, err)
		}
		if n == 0 {
			return res, fmt.Errorf("sqlite: collection %s: %w", opts.Collection, store.ErrNotFound)
		}
	}
	now := time.Now().UnixNano()
	states, err := w.prefetch(ctx, batch)
	if err != nil {
		return res, err
	}
	res.Outcomes = make([]store.Outcome, len(batch))
	for i, o := range batch {
		if err = ctx.Err(); err != nil {
			return res, err
		}
		vkey := o.VersionKey()
		known := states[o.ID]
		if known == nil {
			known = &idState{versions: map[string]int64{}}
			states[o.ID] = known
		}
		exactSeq := known.versions[vkey]
		exactRaw := known.unversionedRaw
		latestSeq, latestKey := known.latestSeq, known.latestKey
		markings := strings.Join(o.Markings, " ")
		var seq int64
		switch {
		case exactSeq != 0 && (vkey != "" || bytes.Equal(exactRaw, o.Raw)):
			// The same version is stored: by the specification, id and
			// modified identify an object version.
			res.Outcomes[i] = store.OutcomeUnchanged
			res.Unchanged++
			seq = exactSeq
		case exactSeq != 0:
			// An object without a version key (a cyber-observable) whose
			// content changed: the new content replaces the old.
			if _, err = w.replace.ExecContext(ctx, o.Type, o.SpecVersion, o.CreatedByRef, markings, o.Revoked, o.Access.Owner, o.Access.Level, o.Access.Group, o.Raw, exactSeq); err != nil {
				return res, fmt.Errorf("sqlite: replace %s: %w", o.ID, err)
			}
			for _, st := range w.delDerived {
				if _, err = st.ExecContext(ctx, exactSeq); err != nil {
					return res, fmt.Errorf("sqlite: replace %s: %w", o.ID, err)
				}
			}
			if _, err = w.ftsDelete.ExecContext(ctx, exactSeq); err != nil {
				return res, fmt.Errorf("sqlite: replace %s: %w", o.ID, err)
			}
			if err = w.writeDerived(ctx, exactSeq, o); err != nil {
				return res, fmt.Errorf("sqlite: index %s: %w", o.ID, err)
			}
			res.Outcomes[i] = store.OutcomeNewVersion
			res.NewVersions++
			seq = exactSeq
			known.unversionedRaw = o.Raw
		default:
			isLatest := latestSeq == 0 || vkey > latestKey
			r, ierr := w.insert.ExecContext(ctx, o.ID, o.Type, vkey, o.SpecVersion, o.CreatedByRef, markings, o.Revoked, isLatest, w.next(now), o.Access.Owner, o.Access.Level, o.Access.Group, o.Raw)
			if ierr != nil {
				err = ierr
				return res, fmt.Errorf("sqlite: insert %s: %w", o.ID, err)
			}
			seq, _ = r.LastInsertId()
			if isLatest && latestSeq != 0 {
				if _, err = w.demote.ExecContext(ctx, latestSeq); err != nil {
					return res, fmt.Errorf("sqlite: update %s: %w", o.ID, err)
				}
			}
			if err = w.writeDerived(ctx, seq, o); err != nil {
				return res, fmt.Errorf("sqlite: index %s: %w", o.ID, err)
			}
			known.versions[vkey] = seq
			if vkey == "" {
				known.unversionedRaw = o.Raw
			}
			if isLatest {
				known.latestSeq, known.latestKey = seq, vkey
			}
			if latestSeq == 0 {
				res.Outcomes[i] = store.OutcomeNew
				res.New++
			} else {
				res.Outcomes[i] = store.OutcomeNewVersion
				res.NewVersions++
			}
		}
		if opts.Collection != "" {
			if _, err = w.member.ExecContext(ctx, opts.Collection, seq, w.next(now)); err != nil {
				return res, fmt.Errorf("sqlite: add %s to collection: %w", o.ID, err)
			}
		}
	}
	return res, nil
}

// idState is what the store holds for one id, as far as a Put needs it.
type idState struct {
	versions       map[string]int64 // version key -> seq
	latestSeq      int64
	latestKey      string
	unversionedRaw []byte // the content of the version without a key
}

// prefetch reads, in a few queries, the stored versions of every id in the
// batch: one query per 300 ids instead of one per object.
func (w *writer) prefetch(ctx context.Context, batch []*store.Object) (map[string]*idState, error) {
	states := make(map[string]*idState, len(batch))
	ids := make([]any, 0, len(batch))
	for _, o := range batch {
		if _, ok := states[o.ID]; !ok {
			states[o.ID] = nil
			ids = append(ids, o.ID)
		}
	}
	const chunk = 300
	for len(ids) > 0 {
		n := min(len(ids), chunk)
		part := ids[:n]
		ids = ids[n:]
		q := `SELECT id, seq, vkey, latest, CASE WHEN vkey = '' THEN raw END FROM objects WHERE id IN (` +
			strings.TrimSuffix(strings.Repeat("?,", len(part)), ",") + `)`
		rows, err := w.tx.QueryContext(ctx, q, part...)
		if err != nil {
			return nil, fmt.Errorf("sqlite: look up batch: %w", err)
		}
		for rows.Next() {
			var id, k string
			var seq int64
			var latest bool
			var raw []byte
			if err := rows.Scan(&id, &seq, &k, &latest, &raw); err != nil {
				rows.Close()
				return nil, fmt.Errorf("sqlite: look up batch: %w", err)
			}
			st := states[id]
			if st == nil {
				st = &idState{versions: map[string]int64{}}
				states[id] = st
			}
			st.versions[k] = seq
			if latest {
				st.latestSeq, st.latestKey = seq, k
			}
			if k == "" {
				st.unversionedRaw = raw
			}
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return nil, fmt.Errorf("sqlite: look up batch: %w", err)
		}
	}
	return states, nil
}
