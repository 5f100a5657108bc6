package sqlite

import (
	"context"
	"encoding/json"
	"fmt"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// AddSources upserts provenance records in one transaction.
func (s *Store) AddSources(ctx context.Context, recs []store.SourceRecord) error {
	if len(recs) == 0 {
		return nil
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	return withRetry(ctx, func() error {
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		st, err := tx.PrepareContext(ctx, `INSERT INTO object_sources (object_id, source, first_seen, last_seen, count) VALUES (?, ?, ?, ?, ?)
			ON CONFLICT (object_id, source) DO UPDATE SET last_seen = max(last_seen, excluded.last_seen), count = count + excluded.count`)
		if err != nil {
			return err
		}
		for _, r := range recs {
			n := r.Count
			if n == 0 {
				n = 1
			}
			last := r.LastSeen
			if last.IsZero() {
				last = r.FirstSeen
			}
			if _, err := st.ExecContext(ctx, r.ObjectID, r.Source, nanos(r.FirstSeen), nanos(last), n); err != nil {
				return fmt.Errorf("sqlite: add source: %w", err)
			}
		}
		return tx.Commit()
	})
}

// Sources lists an object's sources.
func (s *Store) Sources(ctx context.Context, objectID string) ([]store.SourceRecord, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT object_id, source, first_seen, last_seen, count FROM object_sources WHERE object_id = ? ORDER BY first_seen, source`, objectID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: sources: %w", err)
	}
	defer rows.Close()
	var out []store.SourceRecord
	for rows.Next() {
		var r store.SourceRecord
		var first, last int64
		if err := rows.Scan(&r.ObjectID, &r.Source, &first, &last, &r.Count); err != nil {
			return nil, err
		}
		r.FirstSeen, r.LastSeen = fromNanos(first), fromNanos(last)
		out = append(out, r)
	}
	return out, rows.Err()
}

const feedCols = `name, url, format, every_ns, enabled, options, etag, last_modified, last_run, last_success, last_error, stats`

// PutFeed creates or replaces a feed.
func (s *Store) PutFeed(ctx context.Context, f store.Feed) error {
	opts, err := json.Marshal(f.Options)
	if err != nil {
		return err
	}
	stats, err := json.Marshal(f.Stats)
	if err != nil {
		return err
	}
	if f.Options == nil {
		opts = []byte("{}")
	}
	if f.Stats == nil {
		stats = []byte("{}")
	}
	_, err = s.exec(ctx, `INSERT OR REPLACE INTO feeds (`+feedCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		f.Name, f.URL, f.Format, int64(f.Every), f.Enabled, string(opts), f.ETag, f.LastModified, nanos(f.LastRun), nanos(f.LastSuccess), f.LastError, string(stats))
	if err != nil {
		return fmt.Errorf("sqlite: put feed: %w", err)
	}
	return nil
}

func scanFeed(scan func(...any) error) (store.Feed, error) {
	var f store.Feed
	var every, run, success int64
	var opts, stats string
	if err := scan(&f.Name, &f.URL, &f.Format, &every, &f.Enabled, &opts, &f.ETag, &f.LastModified, &run, &success, &f.LastError, &stats); err != nil {
		return f, err
	}
	f.Every = time.Duration(every)
	f.LastRun, f.LastSuccess = fromNanos(run), fromNanos(success)
	if err := json.Unmarshal([]byte(opts), &f.Options); err != nil {
		return f, fmt.Errorf("sqlite: feed %s options: %w", f.Name, err)
	}
	if err := json.Unmarshal([]byte(stats), &f.Stats); err != nil {
		return f, fmt.Errorf("sqlite: feed %s stats: %w", f.Name, err)
	}
	return f, nil
}

// Feed finds a feed by name.
func (s *Store) Feed(ctx context.Context, name string) (store.Feed, error) {
	f, err := scanFeed(s.rdb.QueryRowContext(ctx, `SELECT `+feedCols+` FROM feeds WHERE name = ?`, name).Scan)
	if err != nil {
		return f, notFound("feed", name, err)
	}
	return f, nil
}

// Feeds lists feeds by name.
func (s *Store) Feeds(ctx context.Context) ([]store.Feed, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+feedCols+` FROM feeds ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: feeds: %w", err)
	}
	defer rows.Close()
	var out []store.Feed
	for rows.Next() {
		f, err := scanFeed(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, f)
	}
	return out, rows.Err()
}

// DeleteFeed removes a feed.
func (s *Store) DeleteFeed(ctx context.Context, name string) error {
	res, err := s.exec(ctx, `DELETE FROM feeds WHERE name = ?`, name)
	if err != nil {
		return err
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: feed %q: %w", name, store.ErrNotFound)
	}
	return nil
}
