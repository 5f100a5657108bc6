package postgres

import (
	"context"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mamori-cti/mamori/internal/store"
)

// This file holds what the TAXII server and client keep besides objects:
// status resources, remote collections and their checkpoints (migration
// 0003_taxii.sql), plus two query helpers the server uses. The method sets
// match the small interfaces package taxii declares (StateStore and the
// optional checkpoint writer, member remover and meta querier); nothing here
// depends on that package.

// PutTAXIIStatus stores (or replaces) a status resource.
func (s *Store) PutTAXIIStatus(ctx context.Context, id, apiRoot, org string, created time.Time, resource []byte) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO taxii_status (id, api_root, org, created, resource) VALUES ($1, $2, $3, $4, $5)
		ON CONFLICT (id) DO UPDATE SET api_root = excluded.api_root, org = excluded.org, created = excluded.created, resource = excluded.resource`,
		id, apiRoot, org, nanos(created), resource)
	if err != nil {
		return fmt.Errorf("postgres: store status %s: %w", id, err)
	}
	return nil
}

// TAXIIStatus returns a status resource with the API root and organisation it belongs to.
func (s *Store) TAXIIStatus(ctx context.Context, id string) (apiRoot, org string, resource []byte, err error) {
	err = s.pool.QueryRow(ctx, `SELECT api_root, org, resource FROM taxii_status WHERE id = $1`, id).Scan(&apiRoot, &org, &resource)
	if err != nil {
		return "", "", nil, notFound("status", id, err)
	}
	return apiRoot, org, resource, nil
}

// PruneTAXIIStatuses deletes status resources created before t.
func (s *Store) PruneTAXIIStatuses(ctx context.Context, before time.Time) (int64, error) {
	tag, err := s.pool.Exec(ctx, `DELETE FROM taxii_status WHERE created < $1`, before.UnixNano())
	if err != nil {
		return 0, fmt.Errorf("postgres: prune statuses: %w", err)
	}
	return tag.RowsAffected(), nil
}

// PutTAXIIRemote adds a remote (create) or replaces its configuration.
// Adding a name that exists is store.ErrConflict; replacing an absent one
// is store.ErrNotFound.
func (s *Store) PutTAXIIRemote(ctx context.Context, name string, config []byte, create bool) error {
	if create {
		_, err := s.pool.Exec(ctx, `INSERT INTO taxii_remotes (name, config, created) VALUES ($1, $2, $3)`, name, config, time.Now().UnixNano())
		if isUnique(err) {
			return fmt.Errorf("postgres: remote %q exists: %w", name, store.ErrConflict)
		}
		if err != nil {
			return fmt.Errorf("postgres: add remote %q: %w", name, err)
		}
		return nil
	}
	return s.updateRemote(ctx, name, `UPDATE taxii_remotes SET config = $1 WHERE name = $2`, config, name)
}

func (s *Store) updateRemote(ctx context.Context, name, q string, args ...any) error {
	tag, err := s.pool.Exec(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("postgres: update remote %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: remote %q: %w", name, store.ErrNotFound)
	}
	return nil
}

// TAXIIRemote returns a remote's configuration, last result and checkpoint.
func (s *Store) TAXIIRemote(ctx context.Context, name string) (config, result []byte, checkpoint string, err error) {
	err = s.pool.QueryRow(ctx, `SELECT config, result, checkpoint FROM taxii_remotes WHERE name = $1`, name).Scan(&config, &result, &checkpoint)
	if err != nil {
		return nil, nil, "", notFound("remote", name, err)
	}
	return config, result, checkpoint, nil
}

// TAXIIRemoteNames lists the remotes by name.
func (s *Store) TAXIIRemoteNames(ctx context.Context) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT name FROM taxii_remotes ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: remotes: %w", err)
	}
	names, err := pgx.AppendRows([]string(nil), rows, pgx.RowTo[string])
	if err != nil {
		return nil, fmt.Errorf("postgres: remotes: %w", err)
	}
	return names, nil
}

// DeleteTAXIIRemote removes a remote; store.ErrNotFound when absent.
func (s *Store) DeleteTAXIIRemote(ctx context.Context, name string) error {
	return s.updateRemote(ctx, name, `DELETE FROM taxii_remotes WHERE name = $1`, name)
}

// SetTAXIICheckpoint records where the next pull of a remote starts.
func (s *Store) SetTAXIICheckpoint(ctx context.Context, name, checkpoint string) error {
	return s.updateRemote(ctx, name, `UPDATE taxii_remotes SET checkpoint = $1 WHERE name = $2`, checkpoint, name)
}

// SetTAXIIResult records the outcome of a remote's last sync.
func (s *Store) SetTAXIIResult(ctx context.Context, name string, result []byte) error {
	return s.updateRemote(ctx, name, `UPDATE taxii_remotes SET result = $1 WHERE name = $2`, result, name)
}

// SetTAXIICheckpoint records a remote's checkpoint inside the write
// transaction, so that it commits together with the objects of the page it
// follows: an interrupted pull resumes exactly after the last committed page.
func (w *writer) SetTAXIICheckpoint(ctx context.Context, name, checkpoint string) error {
	if w.done {
		return fmt.Errorf("postgres: transaction already ended")
	}
	tag, err := w.tx.Exec(ctx, `UPDATE taxii_remotes SET checkpoint = $1 WHERE name = $2`, checkpoint, name)
	if err != nil {
		return fmt.Errorf("postgres: checkpoint of remote %q: %w", name, err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: remote %q: %w", name, store.ErrNotFound)
	}
	return nil
}

// RemoveFromCollection removes memberships from a collection; seqs are the
// membership sequence numbers a collection query returns as Record.Seq. The
// object versions themselves stay in the store (and in other collections).
// Membership numbers are never reused: a TAXII client that walked past a
// removed one does not miss what is added later.
func (s *Store) RemoveFromCollection(ctx context.Context, collection string, seqs []int64) (int64, error) {
	if len(seqs) == 0 {
		return 0, nil
	}
	tag, err := s.pool.Exec(ctx, `DELETE FROM collection_objects WHERE coll = $1 AND cseq = ANY($2)`, collection, seqs)
	if err != nil {
		return 0, fmt.Errorf("postgres: remove from collection %s: %w", collection, err)
	}
	return tag.RowsAffected(), nil
}

// QueryMeta runs q like Query but without reading the objects' JSON: each
// record passed to fn has every field but Raw. Listings that need only
// identifiers, versions and dates (TAXII manifests, page bounds) use it.
// The record belongs to QueryMeta and is reused for the next row.
func (s *Store) QueryMeta(ctx context.Context, q store.Query, fn func(*store.Record) error) error {
	sqlText, a := buildQuery(q, false, true)
	rows, err := s.pool.Query(ctx, sqlText, a...)
	if err != nil {
		return fmt.Errorf("postgres: query: %w", err)
	}
	defer rows.Close()
	var rec store.Record
	for rows.Next() {
		if err := scanRecord(rows.Scan, &rec); err != nil {
			return fmt.Errorf("postgres: scan: %w", err)
		}
		rec.Raw = nil
		if err := fn(&rec); err != nil {
			return err
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("postgres: query: %w", err)
	}
	return nil
}
