package postgres

import (
	"cmp"
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mamori-cti/mamori/internal/store"
)

// AddSources upserts provenance records in one transaction.
func (s *Store) AddSources(ctx context.Context, recs []store.SourceRecord) error {
	if len(recs) == 0 {
		return nil
	}
	// One statement per record, pipelined: a batch may name the same
	// (object, source) twice, which one multi-row upsert cannot take. The
	// upserts commute, so they run in key order, which keeps two processes
	// writing overlapping batches from deadlocking.
	recs = slices.Clone(recs)
	slices.SortStableFunc(recs, func(a, b store.SourceRecord) int {
		return cmp.Or(strings.Compare(a.ObjectID, b.ObjectID), strings.Compare(a.Source, b.Source))
	})
	b := &pgx.Batch{}
	for _, r := range recs {
		n := r.Count
		if n == 0 {
			n = 1
		}
		last := r.LastSeen
		if last.IsZero() {
			last = r.FirstSeen
		}
		b.Queue(`INSERT INTO object_sources (object_id, source, first_seen, last_seen, count) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (object_id, source) DO UPDATE SET last_seen = greatest(object_sources.last_seen, excluded.last_seen),
				count = object_sources.count + excluded.count`,
			r.ObjectID, r.Source, nanos(r.FirstSeen), nanos(last), n)
	}
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		br := tx.SendBatch(ctx, b)
		var err error
		for range b.Len() {
			if _, err = br.Exec(); err != nil {
				break
			}
		}
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
	if err != nil {
		return fmt.Errorf("postgres: add sources: %w", err)
	}
	return nil
}

// Sources lists an object's sources by first sighting.
func (s *Store) Sources(ctx context.Context, objectID string) ([]store.SourceRecord, error) {
	rows, err := s.pool.Query(ctx, `SELECT object_id, source, first_seen, last_seen, count FROM object_sources WHERE object_id = $1 ORDER BY first_seen, source`, objectID)
	if err != nil {
		return nil, fmt.Errorf("postgres: sources: %w", err)
	}
	defer rows.Close()
	var out []store.SourceRecord
	for rows.Next() {
		var r store.SourceRecord
		var first, last int64
		if err := rows.Scan(&r.ObjectID, &r.Source, &first, &last, &r.Count); err != nil {
			return nil, fmt.Errorf("postgres: sources: %w", err)
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
	_, err = s.pool.Exec(ctx, `INSERT INTO feeds (`+feedCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
		ON CONFLICT (name) DO UPDATE SET url = excluded.url, format = excluded.format, every_ns = excluded.every_ns,
			enabled = excluded.enabled, options = excluded.options, etag = excluded.etag, last_modified = excluded.last_modified,
			last_run = excluded.last_run, last_success = excluded.last_success, last_error = excluded.last_error, stats = excluded.stats`,
		f.Name, f.URL, f.Format, int64(f.Every), f.Enabled, string(opts), f.ETag, f.LastModified, nanos(f.LastRun), nanos(f.LastSuccess), f.LastError, string(stats))
	if err != nil {
		return fmt.Errorf("postgres: put feed: %w", err)
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
		return f, fmt.Errorf("postgres: feed %s options: %w", f.Name, err)
	}
	if err := json.Unmarshal([]byte(stats), &f.Stats); err != nil {
		return f, fmt.Errorf("postgres: feed %s stats: %w", f.Name, err)
	}
	return f, nil
}

// Feed finds a feed by name.
func (s *Store) Feed(ctx context.Context, name string) (store.Feed, error) {
	f, err := scanFeed(s.pool.QueryRow(ctx, `SELECT `+feedCols+` FROM feeds WHERE name = $1`, name).Scan)
	if err != nil {
		return f, notFound("feed", name, err)
	}
	return f, nil
}

// Feeds lists feeds by name.
func (s *Store) Feeds(ctx context.Context) ([]store.Feed, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+feedCols+` FROM feeds ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: feeds: %w", err)
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
	tag, err := s.pool.Exec(ctx, `DELETE FROM feeds WHERE name = $1`, name)
	if err != nil {
		return fmt.Errorf("postgres: delete feed: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: feed %q: %w", name, store.ErrNotFound)
	}
	return nil
}
