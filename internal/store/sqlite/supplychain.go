package sqlite

import (
	"cmp"
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/mamori-cti/mamori/internal/store"
	"github.com/mamori-cti/mamori/internal/supplychain/inventory"
)

// This file stores the supply-chain inventory (migration 0006_supplychain.sql):
// SBOMs, components, findings, VEX statements and alerts, behind the
// inventory.Store contract that package supplychain declares.

var _ inventory.Store = (*Store)(nil)

// scTx runs fn in a write transaction, serialised with Put.
func (s *Store) scTx(ctx context.Context, fn func(tx *sql.Tx) error) error {
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

// scBatch is how many rows one INSERT statement writes.
const scBatch = 200

// placeholders returns "(?, ?), (?, ?)" for n rows of k columns.
func placeholders(n, k int) string {
	row := "(" + strings.TrimSuffix(strings.Repeat("?, ", k), ", ") + ")"
	var b strings.Builder
	b.Grow(n * (len(row) + 2))
	for i := range n {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(row)
	}
	return b.String()
}

// jsonList passes a list as one parameter, read with json_each.
func jsonList[T any](l []T) string {
	b, _ := json.Marshal(l)
	return string(b)
}

// compDoc is what a component's doc column holds: the component without
// its ID, asset and SBOM (columns), with its keys.
type compDoc struct {
	inventory.Component
	Keys []string `json:"keys,omitempty"`
}

func deleteComponents(ctx context.Context, tx *sql.Tx, where string, args ...any) error {
	sub := `SELECT id FROM sc_components WHERE ` + where
	for _, q := range []string{
		`DELETE FROM sc_finding_ids WHERE component_id IN (` + sub + `)`,
		`DELETE FROM sc_findings WHERE component_id IN (` + sub + `)`,
		`DELETE FROM sc_component_keys WHERE component_id IN (` + sub + `)`,
		`DELETE FROM sc_components WHERE ` + where,
	} {
		if _, err := tx.ExecContext(ctx, q, args...); err != nil {
			return err
		}
	}
	return nil
}

// ReplaceSBOM implements inventory.Store.
func (s *Store) ReplaceSBOM(ctx context.Context, sb inventory.SBOM, comps []inventory.Component) ([]inventory.Component, error) {
	if sb.AssetID == "" || sb.Name == "" {
		return nil, fmt.Errorf("%w: an SBOM needs an asset and a name", inventory.ErrInvalid)
	}
	out := make([]inventory.Component, len(comps))
	err := s.scTx(ctx, func(tx *sql.Tx) error {
		if err := deleteComponents(ctx, tx, `asset_id = ? AND sbom = ?`, sb.AssetID, sb.Name); err != nil {
			return err
		}
		sb.Components = len(comps)
		if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO sc_sboms (asset_id, name, format, digest, imported, components, warnings) VALUES (?, ?, ?, ?, ?, ?, ?)`,
			sb.AssetID, sb.Name, sb.Format, sb.Digest, nanos(sb.Imported), sb.Components, sb.Warnings); err != nil {
			return err
		}
		ins, err := tx.PrepareContext(ctx, `INSERT INTO sc_components (asset_id, sbom, doc) VALUES (?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		key, err := tx.PrepareContext(ctx, `INSERT OR IGNORE INTO sc_component_keys (key, component_id) VALUES (?, ?)`)
		if err != nil {
			return err
		}
		defer key.Close()
		for i, c := range comps {
			c.AssetID, c.SBOM, c.ID = sb.AssetID, sb.Name, 0
			doc, err := json.Marshal(compDoc{Component: c, Keys: c.Keys})
			if err != nil {
				return err
			}
			res, err := ins.ExecContext(ctx, sb.AssetID, sb.Name, doc)
			if err != nil {
				return err
			}
			if c.ID, err = res.LastInsertId(); err != nil {
				return err
			}
			for _, k := range c.Keys {
				if _, err := key.ExecContext(ctx, k, c.ID); err != nil {
					return err
				}
			}
			out[i] = c
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: store SBOM %q: %w", sb.Name, err)
	}
	return out, nil
}

// SBOMs implements inventory.Store.
func (s *Store) SBOMs(ctx context.Context, assetID string) ([]inventory.SBOM, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT asset_id, name, format, digest, imported, components, warnings FROM sc_sboms
		WHERE ? = '' OR asset_id = ? ORDER BY asset_id, name`, assetID, assetID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: SBOMs: %w", err)
	}
	defer rows.Close()
	var out []inventory.SBOM
	for rows.Next() {
		var sb inventory.SBOM
		var imported int64
		if err := rows.Scan(&sb.AssetID, &sb.Name, &sb.Format, &sb.Digest, &imported, &sb.Components, &sb.Warnings); err != nil {
			return nil, err
		}
		sb.Imported = fromNanos(imported)
		out = append(out, sb)
	}
	return out, rows.Err()
}

// DeleteAssetInventory implements inventory.Store.
func (s *Store) DeleteAssetInventory(ctx context.Context, assetID string) error {
	err := s.scTx(ctx, func(tx *sql.Tx) error {
		if err := deleteComponents(ctx, tx, `asset_id = ?`, assetID); err != nil {
			return err
		}
		for _, q := range []string{`DELETE FROM sc_sboms WHERE asset_id = ?`, `DELETE FROM sc_vex WHERE asset_id = ?`} {
			if _, err := tx.ExecContext(ctx, q, assetID); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: delete inventory of %s: %w", assetID, err)
	}
	return nil
}

func (s *Store) scanComponents(ctx context.Context, fn func(inventory.Component) error, q string, args ...any) error {
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return fmt.Errorf("sqlite: components: %w", err)
	}
	defer rows.Close()
	// Read everything first: fn may write, and the read connection must
	// not be held meanwhile.
	var out []inventory.Component
	for rows.Next() {
		var id int64
		var asset, sbom string
		var doc []byte
		if err := rows.Scan(&id, &asset, &sbom, &doc); err != nil {
			return err
		}
		var cd compDoc
		if err := json.Unmarshal(doc, &cd); err != nil {
			return fmt.Errorf("sqlite: component %d: %w", id, err)
		}
		c := cd.Component
		c.ID, c.AssetID, c.SBOM, c.Keys = id, asset, sbom, cd.Keys
		out = append(out, c)
	}
	if err := rows.Err(); err != nil {
		return err
	}
	rows.Close()
	for _, c := range out {
		if err := fn(c); err != nil {
			return err
		}
	}
	return nil
}

// SBOMComponents implements inventory.Store.
func (s *Store) SBOMComponents(ctx context.Context, assetID string, fn func(inventory.Component) error) error {
	if assetID == "" {
		return s.scanComponents(ctx, fn, `SELECT id, asset_id, sbom, doc FROM sc_components ORDER BY id`)
	}
	return s.scanComponents(ctx, fn, `SELECT id, asset_id, sbom, doc FROM sc_components WHERE asset_id = ? ORDER BY id`, assetID)
}

// SBOMComponentsByKey implements inventory.Store.
func (s *Store) SBOMComponentsByKey(ctx context.Context, keys []string, fn func(inventory.Component) error) error {
	if len(keys) == 0 {
		return nil
	}
	if len(keys) == 1 {
		return s.scanComponents(ctx, fn, `SELECT c.id, c.asset_id, c.sbom, c.doc FROM sc_component_keys k JOIN sc_components c ON c.id = k.component_id
			WHERE k.key = ? ORDER BY c.id`, keys[0])
	}
	return s.scanComponents(ctx, fn, `SELECT id, asset_id, sbom, doc FROM sc_components WHERE id IN
		(SELECT component_id FROM sc_component_keys WHERE key IN (SELECT value FROM json_each(?))) ORDER BY id`, jsonList(keys))
}

// ReplaceFindings implements inventory.Store.
func (s *Store) ReplaceFindings(ctx context.Context, componentIDs []int64, fs []inventory.Finding) error {
	if len(componentIDs) == 0 {
		return nil
	}
	replaced := make(map[int64]bool, len(componentIDs))
	for _, id := range componentIDs {
		replaced[id] = true
	}
	for _, f := range fs {
		if !replaced[f.ComponentID] {
			return fmt.Errorf("%w: finding for component %d not in the replaced set", inventory.ErrInvalid, f.ComponentID)
		}
	}
	now := time.Now().UTC()
	ids := jsonList(componentIDs)
	err := s.scTx(ctx, func(tx *sql.Tx) error {
		first := map[string]int64{}
		rows, err := tx.QueryContext(ctx, `SELECT component_id, vuln_id, first_seen FROM sc_findings WHERE component_id IN (SELECT value FROM json_each(?))`, ids)
		if err != nil {
			return err
		}
		for rows.Next() {
			var cid, fsn int64
			var vid string
			if err := rows.Scan(&cid, &vid, &fsn); err != nil {
				rows.Close()
				return err
			}
			first[fmt.Sprintf("%d\x00%s", cid, vid)] = fsn
		}
		rows.Close()
		if err := rows.Err(); err != nil {
			return err
		}
		// Only components that still exist (one may have been replaced
		// by a newer SBOM meanwhile).
		live := map[int64]bool{}
		lrows, err := tx.QueryContext(ctx, `SELECT id FROM sc_components WHERE id IN (SELECT value FROM json_each(?))`, ids)
		if err != nil {
			return err
		}
		for lrows.Next() {
			var id int64
			lrows.Scan(&id)
			live[id] = true
		}
		lrows.Close()
		for _, q := range []string{
			`DELETE FROM sc_finding_ids WHERE component_id IN (SELECT value FROM json_each(?))`,
			`DELETE FROM sc_findings WHERE component_id IN (SELECT value FROM json_each(?))`,
		} {
			if _, err := tx.ExecContext(ctx, q, ids); err != nil {
				return err
			}
		}
		var frows, irows []any
		flush := func(force bool) error {
			if n := len(frows) / 5; n > 0 && (force || n >= scBatch) {
				if _, err := tx.ExecContext(ctx, `INSERT OR REPLACE INTO sc_findings (component_id, vuln_id, asset_id, first_seen, doc) VALUES `+placeholders(n, 5), frows...); err != nil {
					return err
				}
				frows = frows[:0]
			}
			if n := len(irows) / 3; n > 0 && (force || n >= scBatch) {
				if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sc_finding_ids (id, component_id, vuln_id) VALUES `+placeholders(n, 3), irows...); err != nil {
					return err
				}
				irows = irows[:0]
			}
			return nil
		}
		for _, f := range fs {
			if !live[f.ComponentID] {
				continue
			}
			if fsn, ok := first[fmt.Sprintf("%d\x00%s", f.ComponentID, f.VulnID)]; ok && fsn != 0 {
				f.First = fromNanos(fsn)
			}
			if f.First.IsZero() {
				f.First = now
			}
			if f.Updated.IsZero() {
				f.Updated = now
			}
			doc, err := json.Marshal(f)
			if err != nil {
				return err
			}
			frows = append(frows, f.ComponentID, f.VulnID, f.AssetID, nanos(f.First), doc)
			for _, id := range f.IDs() {
				irows = append(irows, strings.ToUpper(id), f.ComponentID, f.VulnID)
			}
			if err := flush(false); err != nil {
				return err
			}
		}
		return flush(true)
	})
	if err != nil {
		return fmt.Errorf("sqlite: store findings: %w", err)
	}
	return nil
}

// ExposureFindings implements inventory.Store.
func (s *Store) ExposureFindings(ctx context.Context, f inventory.FindingFilter) ([]inventory.Finding, error) {
	var where []string
	var args []any
	if len(f.AssetIDs) > 0 {
		where = append(where, `f.asset_id IN (SELECT value FROM json_each(?))`)
		args = append(args, jsonList(f.AssetIDs))
	}
	if len(f.ComponentIDs) > 0 {
		where = append(where, `f.component_id IN (SELECT value FROM json_each(?))`)
		args = append(args, jsonList(f.ComponentIDs))
	}
	if len(f.VulnIDs) > 0 {
		up := make([]string, len(f.VulnIDs))
		for i, v := range f.VulnIDs {
			up[i] = strings.ToUpper(strings.TrimSpace(v))
		}
		where = append(where, `(f.component_id, f.vuln_id) IN (SELECT component_id, vuln_id FROM sc_finding_ids WHERE id IN (SELECT value FROM json_each(?)))`)
		args = append(args, jsonList(up))
	}
	q := `SELECT f.doc FROM sc_findings f`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	q += ` ORDER BY f.component_id, f.vuln_id`
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: findings: %w", err)
	}
	defer rows.Close()
	var out []inventory.Finding
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var fd inventory.Finding
		if err := json.Unmarshal(doc, &fd); err != nil {
			return nil, fmt.Errorf("sqlite: finding: %w", err)
		}
		out = append(out, fd)
	}
	return out, rows.Err()
}

// PutVEX implements inventory.Store.
func (s *Store) PutVEX(ctx context.Context, sts []inventory.VEXStatement) error {
	if len(sts) == 0 {
		return nil
	}
	err := s.scTx(ctx, func(tx *sql.Tx) error {
		ins, err := tx.PrepareContext(ctx, `INSERT OR REPLACE INTO sc_vex (asset_id, vuln, product, source, doc) VALUES (?, ?, ?, ?, ?)`)
		if err != nil {
			return err
		}
		defer ins.Close()
		for _, st := range sts {
			doc, err := json.Marshal(st)
			if err != nil {
				return err
			}
			if _, err := ins.ExecContext(ctx, st.AssetID, st.Vuln, st.Product, st.Source, doc); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		return fmt.Errorf("sqlite: store VEX statements: %w", err)
	}
	return nil
}

// VEXStatements implements inventory.Store.
func (s *Store) VEXStatements(ctx context.Context, assetIDs []string) ([]inventory.VEXStatement, error) {
	q := `SELECT doc FROM sc_vex`
	var args []any
	if assetIDs != nil {
		q += ` WHERE asset_id = '' OR asset_id IN (SELECT value FROM json_each(?))`
		args = append(args, jsonList(assetIDs))
	}
	q += ` ORDER BY asset_id, vuln, product, source`
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: VEX statements: %w", err)
	}
	defer rows.Close()
	var out []inventory.VEXStatement
	for rows.Next() {
		var doc []byte
		if err := rows.Scan(&doc); err != nil {
			return nil, err
		}
		var st inventory.VEXStatement
		if err := json.Unmarshal(doc, &st); err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, rows.Err()
}

// alertDoc is what an alert's doc column holds.
type alertDoc struct {
	inventory.Alert
	TriggerAccess []store.Access `json:"trigger_access,omitempty"`
}

// AddExposureAlerts implements inventory.Store.
func (s *Store) AddExposureAlerts(ctx context.Context, as []inventory.Alert) ([]inventory.Alert, error) {
	if len(as) == 0 {
		return nil, nil
	}
	var added []inventory.Alert
	err := s.scTx(ctx, func(tx *sql.Tx) error {
		added = added[:0]
		// Rows go in batches, one statement each; RETURNING names those
		// that were new (a known key is ignored). The id is the row's; the
		// document is stored without it.
		for start := 0; start < len(as); start += scBatch {
			batch := as[start:min(start+scBatch, len(as))]
			byKey := make(map[string]inventory.Alert, len(batch))
			args := make([]any, 0, 4*len(batch))
			for _, a := range batch {
				if a.Key == "" {
					return fmt.Errorf("%w: an alert needs a key", inventory.ErrInvalid)
				}
				if _, dup := byKey[a.Key]; dup {
					continue
				}
				if a.Created.IsZero() {
					a.Created = time.Now().UTC()
				}
				a.ID = 0
				doc, err := json.Marshal(alertDoc{Alert: a, TriggerAccess: a.TriggerAccess})
				if err != nil {
					return err
				}
				byKey[a.Key] = a
				args = append(args, a.Key, nanos(a.Created), a.AssetID, doc)
			}
			q := `INSERT OR IGNORE INTO sc_alerts (key, created, asset_id, doc) VALUES ` + placeholders(len(args)/4, 4) + ` RETURNING id, key`
			rows, err := tx.QueryContext(ctx, q, args...)
			if err != nil {
				return err
			}
			var got []inventory.Alert
			for rows.Next() {
				var id int64
				var key string
				if err := rows.Scan(&id, &key); err != nil {
					rows.Close()
					return err
				}
				a := byKey[key]
				a.ID = id
				got = append(got, a)
			}
			rows.Close()
			if err := rows.Err(); err != nil {
				return err
			}
			slices.SortFunc(got, func(x, y inventory.Alert) int { return cmp.Compare(x.ID, y.ID) })
			added = append(added, got...)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("sqlite: store alerts: %w", err)
	}
	return added, nil
}

// ExposureAlerts implements inventory.Store.
func (s *Store) ExposureAlerts(ctx context.Context, f inventory.AlertFilter) ([]inventory.Alert, error) {
	var where []string
	var args []any
	if f.AssetIDs != nil {
		where = append(where, `asset_id IN (SELECT value FROM json_each(?))`)
		args = append(args, jsonList(f.AssetIDs))
	}
	if f.AfterID > 0 {
		where = append(where, `id > ?`)
		args = append(args, f.AfterID)
	}
	if !f.Since.IsZero() {
		where = append(where, `created >= ?`)
		args = append(args, f.Since.UnixNano())
	}
	q := `SELECT id, doc FROM sc_alerts`
	if len(where) > 0 {
		q += ` WHERE ` + strings.Join(where, ` AND `)
	}
	if f.AfterID > 0 {
		q += ` ORDER BY id`
	} else {
		q += ` ORDER BY id DESC`
	}
	if f.Limit > 0 {
		q += fmt.Sprintf(` LIMIT %d`, f.Limit)
	}
	rows, err := s.rdb.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: alerts: %w", err)
	}
	defer rows.Close()
	var out []inventory.Alert
	for rows.Next() {
		var id int64
		var doc []byte
		if err := rows.Scan(&id, &doc); err != nil {
			return nil, err
		}
		var ad alertDoc
		if err := json.Unmarshal(doc, &ad); err != nil {
			return nil, fmt.Errorf("sqlite: alert %d: %w", id, err)
		}
		a := ad.Alert
		a.ID, a.TriggerAccess = id, ad.TriggerAccess
		out = append(out, a)
	}
	return out, rows.Err()
}
