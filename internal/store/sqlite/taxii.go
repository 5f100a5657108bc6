package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
)

// This file holds what the TAXII server and client keep besides objects:
// status resources, remote collections and their checkpoints (migration
// 0003_taxii.sql), plus two query helpers the server uses. The method sets
// match the small interfaces package taxii declares; nothing here depends on
// that package.

// PutTAXIIStatus stores (or replaces) a status resource.
func (s *Store) PutTAXIIStatus(ctx context.Context, id, apiRoot, org string, created time.Time, resource []byte) error {
	_, err := s.exec(ctx, `INSERT OR REPLACE INTO taxii_status (id, api_root, org, created, resource) VALUES (?, ?, ?, ?, ?)`,
		id, apiRoot, org, nanos(created), resource)
	if err != nil {
		return fmt.Errorf("sqlite: store status %s: %w", id, err)
	}
	return nil
}

// TAXIIStatus returns a status resource with the API root and organisation it belongs to.
func (s *Store) TAXIIStatus(ctx context.Context, id string) (apiRoot, org string, resource []byte, err error) {
	err = s.rdb.QueryRowContext(ctx, `SELECT api_root, org, resource FROM taxii_status WHERE id = ?`, id).Scan(&apiRoot, &org, &resource)
	if err != nil {
		return "", "", nil, notFound("status", id, err)
	}
	return apiRoot, org, resource, nil
}

// PruneTAXIIStatuses deletes status resources created before t.
func (s *Store) PruneTAXIIStatuses(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.exec(ctx, `DELETE FROM taxii_status WHERE created < ?`, before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("sqlite: prune statuses: %w", err)
	}
	return res.RowsAffected()
}

// PutTAXIIRemote adds a remote (create) or replaces its configuration.
// Adding a name that exists is store.ErrConflict; replacing an absent one
// is store.ErrNotFound.
func (s *Store) PutTAXIIRemote(ctx context.Context, name string, config []byte, create bool) error {
	if create {
		_, err := s.exec(ctx, `INSERT INTO taxii_remotes (name, config, created) VALUES (?, ?, ?)`, name, config, time.Now().UnixNano())
		if isUnique(err) {
			return fmt.Errorf("sqlite: remote %q exists: %w", name, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("sqlite: add remote %q: %w", name, err)
		}
		return nil
	}
	return s.updateRemote(ctx, name, `UPDATE taxii_remotes SET config = ? WHERE name = ?`, config, name)
}

func (s *Store) updateRemote(ctx context.Context, name, q string, args ...any) error {
	res, err := s.exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: update remote %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: remote %q: %w", name, store.ErrNotFound)
	}
	return nil
}

// TAXIIRemote returns a remote's configuration, last result and checkpoint.
func (s *Store) TAXIIRemote(ctx context.Context, name string) (config, result []byte, checkpoint string, err error) {
	err = s.rdb.QueryRowContext(ctx, `SELECT config, result, checkpoint FROM taxii_remotes WHERE name = ?`, name).Scan(&config, &result, &checkpoint)
	if err != nil {
		return nil, nil, "", notFound("remote", name, err)
	}
	return config, result, checkpoint, nil
}

// TAXIIRemoteNames lists the remotes by name.
func (s *Store) TAXIIRemoteNames(ctx context.Context) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT name FROM taxii_remotes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: remotes: %w", err)
	}
	defer rows.Close()
	var names []string
	for rows.Next() {
		var n string
		if err := rows.Scan(&n); err != nil {
			return nil, fmt.Errorf("sqlite: remotes: %w", err)
		}
		names = append(names, n)
	}
	return names, rows.Err()
}

// DeleteTAXIIRemote removes a remote; store.ErrNotFound when absent.
func (s *Store) DeleteTAXIIRemote(ctx context.Context, name string) error {
	return s.updateRemote(ctx, name, `DELETE FROM taxii_remotes WHERE name = ?`, name)
}

// SetTAXIICheckpoint records where the next pull of a remote starts.
func (s *Store) SetTAXIICheckpoint(ctx context.Context, name, checkpoint string) error {
	return s.updateRemote(ctx, name, `UPDATE taxii_remotes SET checkpoint = ? WHERE name = ?`, checkpoint, name)
}

// SetTAXIIResult records the outcome of a remote's last sync.
func (s *Store) SetTAXIIResult(ctx context.Context, name string, result []byte) error {
	return s.updateRemote(ctx, name, `UPDATE taxii_remotes SET result = ? WHERE name = ?`, result, name)
}

// SetTAXIICheckpoint records a remote's checkpoint inside the write
// transaction, so that it commits together with the objects of the page it
// follows: an interrupted pull resumes exactly after the last committed page.
func (w *writer) SetTAXIICheckpoint(ctx context.Context, name, checkpoint string) error {
	if w.done {
		return fmt.Errorf("sqlite: transaction already ended")
	}
	res, err := w.tx.ExecContext(ctx, `UPDATE taxii_remotes SET checkpoint = ? WHERE name = ?`, checkpoint, name)
	if err != nil {
		return fmt.Errorf("sqlite: checkpoint of remote %q: %w", name, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: remote %q: %w", name, store.ErrNotFound)
	}
	return nil
}

// RemoveFromCollection removes memberships from a collection; seqs are the
// membership sequence numbers a collection query returns as Record.Seq. The
// object versions themselves stay in the store (and in other collections).
func (s *Store) RemoveFromCollection(ctx context.Context, collection string, seqs []int64) (int64, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	var total int64
	for start := 0; start < len(seqs); start += 500 {
		part := seqs[start:min(start+500, len(seqs))]
		args := make([]any, 0, len(part)+1)
		args = append(args, collection)
		for _, q := range part {
			args = append(args, q)
		}
		ph := strings.TrimSuffix(strings.Repeat("?,", len(part)), ",")
		res, err := s.exec(ctx, `DELETE FROM collection_objects WHERE coll = ? AND cseq IN (`+ph+`)`, args...)
		if err != nil {
			return total, fmt.Errorf("sqlite: remove from collection %s: %w", collection, err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	return total, nil
}

// QueryMeta runs q like Query but without reading the objects' JSON: each
// record passed to fn has every field but Raw. Listings that need only
// identifiers, versions and dates (TAXII manifests, page bounds) use it.
// The record belongs to QueryMeta and is reused for the next row.
func (s *Store) QueryMeta(ctx context.Context, q store.Query, fn func(*store.Record) error) error {
	sqlText, args := buildQuery(q, false)
	sqlText = strings.Replace(sqlText, ", o.raw FROM ", ", NULL FROM ", 1)
	rows, err := s.rdb.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return fmt.Errorf("sqlite: query: %w", err)
	}
	defer rows.Close()
	var rec store.Record
	for rows.Next() {
		if err := scanRecord(rows.Scan, &rec); err != nil {
			return fmt.Errorf("sqlite: scan: %w", err)
		}
		rec.Raw = nil
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil && !errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: query: %w", err)
	}
	return nil
}
