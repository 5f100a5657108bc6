package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"
)

// This file stores what detection keeps besides objects (migration
// 0005_detect.sql): the retro-hunt history of observed values, the counts
// behind sighting objects, false-positive reports and indicator scores.
// The methods match the Storage interface that package detect declares;
// nothing here depends on that package.

// detectTx runs fn in a write transaction, serialised with Put.
func (s *Store) detectTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
	return withRetry(ctx, func() error {
		s.mu.Lock()
		defer s.mu.Unlock()
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		if err := fn(tx); err != nil {
			tx.Rollback()
			return err
		}
		return tx.Commit()
	})
}

// detectOrg returns the number of an organisation, adding it.
func detectOrg(ctx context.Context, tx *sql.Tx, org string) (int64, error) {
	var n int64
	err := tx.QueryRowContext(ctx, `SELECT n FROM detect_orgs WHERE org = ?`, org).Scan(&n)
	if err == nil {
		return n, nil
	}
	if !errors.Is(err, sql.ErrNoRows) {
		return 0, err
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO detect_orgs (org) VALUES (?)`, org)
	if err != nil {
		return 0, err
	}
	return res.LastInsertId()
}

// detectRows is how many rows one statement of AddObserved writes.
const detectRows = 250

// AddObserved adds counts to the history of values org observed on day;
// keys must be distinct.
func (s *Store) AddObserved(ctx context.Context, org string, day int, keys [][]byte, counts []int64) error {
	if len(keys) != len(counts) {
		return fmt.Errorf("sqlite: add observed: %d keys and %d counts", len(keys), len(counts))
	}
	err := s.detectTx(ctx, func(tx *sql.Tx) error {
		n, err := detectOrg(ctx, tx, org)
		if err != nil {
			return err
		}
		stmts := map[int]*sql.Stmt{}
		defer func() {
			for _, st := range stmts {
				st.Close()
			}
		}()
		args := make([]any, 0, 4*detectRows)
		for start := 0; start < len(keys); start += detectRows {
			end := min(start+detectRows, len(keys))
			st := stmts[end-start]
			if st == nil {
				q := `INSERT INTO detect_history (key, org, day, count) VALUES ` + strings.TrimSuffix(strings.Repeat("(?, ?, ?, ?), ", end-start), ", ") +
					` ON CONFLICT (key, org, day) DO UPDATE SET count = count + excluded.count`
				if st, err = tx.PrepareContext(ctx, q); err != nil {
					return err
				}
				stmts[end-start] = st
			}
			args = args[:0]
			for i := start; i < end; i++ {
				args = append(args, keys[i], n, day, counts[i])
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: add observed: %w", err)
	}
	return nil
}

// ObservedKeys calls fn for the history rows of the given keys.
func (s *Store) ObservedKeys(ctx context.Context, keys [][]byte, from, to int, fn func(key []byte, org string, day int, count int64) error) error {
	for start := 0; start < len(keys); start += detectRows {
		end := min(start+detectRows, len(keys))
		args := make([]any, 0, end-start+2)
		for _, k := range keys[start:end] {
			args = append(args, k)
		}
		args = append(args, from, to)
		q := `SELECT h.key, o.org, h.day, h.count FROM detect_history h JOIN detect_orgs o ON o.n = h.org
			WHERE h.key IN (` + strings.TrimSuffix(strings.Repeat("?, ", end-start), ", ") + `) AND h.day BETWEEN ? AND ?`
		if err := s.observedRows(ctx, q, args, fn); err != nil {
			return err
		}
	}
	return nil
}

// ObservedRange calls fn for the history rows with lo <= key <= hi.
func (s *Store) ObservedRange(ctx context.Context, lo, hi []byte, from, to int, fn func(key []byte, org string, day int, count int64) error) error {
	return s.observedRows(ctx, `SELECT h.key, o.org, h.day, h.count FROM detect_history h JOIN detect_orgs o ON o.n = h.org
		WHERE h.key BETWEEN ? AND ? AND h.day BETWEEN ? AND ?`, []any{lo, hi, from, to}, fn)
}

func (s *Store) observedRows(ctx context.Context, q string, args []any, fn func(key []byte, org string, day int, count int64) error) error {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: observed: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var key []byte
		var org string
		var day int
		var count int64
		if err := rows.Scan(&key, &org, &day, &count); err != nil {
			return fmt.Errorf("sqlite: observed: %w", err)
		}
		if err := fn(key, org, day, count); err != nil {
			return err
		}
	}
	return rows.Err()
}

// ObservedCount is the number of distinct keys org observed on day.
func (s *Store) ObservedCount(ctx context.Context, org string, day int) (int64, error) {
	var n int64
	err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM detect_history h JOIN detect_orgs o ON o.n = h.org WHERE o.org = ? AND h.day = ?`, org, day).Scan(&n)
	if err != nil {
		return 0, fmt.Errorf("sqlite: observed count: %w", err)
	}
	return n, nil
}

// PruneObserved deletes the history of days before day.
func (s *Store) PruneObserved(ctx context.Context, before int) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM detect_history WHERE day < ?`, before)
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune observed: %w", err)
	}
	return res.RowsAffected()
}

// AddSighting adds to (or sets) the count of a sighting and returns the
// version to write.
func (s *Store) AddSighting(ctx context.Context, id, indicator, org string, day int, retro bool, count int64, first, last time.Time, absolute bool, now time.Time) (total int64, firstSeen, lastSeen, created, modified time.Time, err error) {
	err = s.detectTx(ctx, func(tx *sql.Tx) error {
		var c, f, l, cr, mo int64
		err := tx.QueryRowContext(ctx, `SELECT count, first_seen, last_seen, created, modified FROM detect_sightings WHERE id = ?`, id).Scan(&c, &f, &l, &cr, &mo)
		switch {
		case errors.Is(err, sql.ErrNoRows):
			c, f, l, cr = count, nanos(first), nanos(last), now.UnixNano()
			mo = cr
			_, err = tx.ExecContext(ctx, `INSERT INTO detect_sightings (id, indicator, org, day, retro, count, first_seen, last_seen, created, modified) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
				id, indicator, org, day, retro, c, f, l, cr, mo)
		case err == nil:
			if absolute {
				c = count
			} else {
				c += count
			}
			if nf := nanos(first); nf != 0 && (f == 0 || nf < f) {
				f = nf
			}
			if nl := nanos(last); nl > l {
				l = nl
			}
			// A new version is at least a millisecond (the precision of
			// the timestamps written) after the previous one.
			mo = max(now.UnixNano(), mo+int64(time.Millisecond))
			_, err = tx.ExecContext(ctx, `UPDATE detect_sightings SET count = ?, first_seen = ?, last_seen = ?, modified = ? WHERE id = ?`, c, f, l, mo, id)
		}
		if err != nil {
			return err
		}
		total, firstSeen, lastSeen, created, modified = c, fromNanos(f), fromNanos(l), fromNanos(cr), fromNanos(mo)
		return nil
	})
	if err != nil {
		err = fmt.Errorf("sqlite: add sighting: %w", err)
	}
	return
}

// SightingTotals sums the sightings of an indicator.
func (s *Store) SightingTotals(ctx context.Context, indicator string) (int64, time.Time, error) {
	var n, last int64
	err := s.rdb.QueryRowContext(ctx, `SELECT coalesce(sum(count), 0), coalesce(max(last_seen), 0) FROM detect_sightings WHERE indicator = ?`, indicator).Scan(&n, &last)
	if err != nil {
		return 0, time.Time{}, fmt.Errorf("sqlite: sighting totals: %w", err)
	}
	return n, fromNanos(last), nil
}

// AddFalsePositive records a false-positive report.
func (s *Store) AddFalsePositive(ctx context.Context, indicator, org, user, reason string, at time.Time) error {
	if _, err := s.exec(ctx, `INSERT INTO detect_false_positives (indicator, org, user, reason, at) VALUES (?, ?, ?, ?, ?)`, indicator, org, user, reason, nanos(at)); err != nil {
		return fmt.Errorf("sqlite: add false positive: %w", err)
	}
	return nil
}

// FalsePositives lists the reports on an indicator, oldest first.
func (s *Store) FalsePositives(ctx context.Context, indicator string, fn func(org, user, reason string, at time.Time) error) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT org, user, reason, at FROM detect_false_positives WHERE indicator = ? ORDER BY at, rowid`, indicator)
	if err != nil {
		return fmt.Errorf("sqlite: false positives: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var org, user, reason string
		var at int64
		if err := rows.Scan(&org, &user, &reason, &at); err != nil {
			return fmt.Errorf("sqlite: false positives: %w", err)
		}
		if err := fn(org, user, reason, fromNanos(at)); err != nil {
			return err
		}
	}
	return rows.Err()
}

// PutScore stores an indicator's score.
func (s *Store) PutScore(ctx context.Context, indicator string, score float64, computed time.Time, detail []byte) error {
	if detail == nil {
		detail = []byte{}
	}
	if _, err := s.exec(ctx, `INSERT INTO detect_scores (indicator, score, computed, detail) VALUES (?, ?, ?, ?)
		ON CONFLICT (indicator) DO UPDATE SET score = excluded.score, computed = excluded.computed, detail = excluded.detail`,
		indicator, score, nanos(computed), detail); err != nil {
		return fmt.Errorf("sqlite: put score: %w", err)
	}
	return nil
}

// Score returns a stored score.
func (s *Store) Score(ctx context.Context, indicator string) (float64, time.Time, []byte, error) {
	var score float64
	var computed int64
	var detail []byte
	err := s.rdb.QueryRowContext(ctx, `SELECT score, computed, detail FROM detect_scores WHERE indicator = ?`, indicator).Scan(&score, &computed, &detail)
	if err != nil {
		return 0, time.Time{}, nil, notFound("score", indicator, err)
	}
	return score, fromNanos(computed), detail, nil
}

// Scores calls fn for every stored score of at least min.
func (s *Store) Scores(ctx context.Context, min float64, fn func(indicator string, score float64, computed time.Time) error) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT indicator, score, computed FROM detect_scores WHERE score >= ? ORDER BY indicator`, min)
	if err != nil {
		return fmt.Errorf("sqlite: scores: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var score float64
		var computed int64
		if err := rows.Scan(&id, &score, &computed); err != nil {
			return fmt.Errorf("sqlite: scores: %w", err)
		}
		if err := fn(id, score, fromNanos(computed)); err != nil {
			return err
		}
	}
	return rows.Err()
}
