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

func nanos(t time.Time) int64 {
	if t.IsZero() {
		return 0
	}
	return t.UnixNano()
}

func fromNanos(n int64) time.Time {
	if n == 0 {
		return time.Time{}
	}
	return time.Unix(0, n).UTC()
}

func isUnique(err error) bool {
	return err != nil && strings.Contains(err.Error(), "UNIQUE constraint failed")
}

// exec runs a write on the writer connection, serialised with Put.
func (s *Store) exec(ctx context.Context, q string, args ...any) (sql.Result, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	var res sql.Result
	err := withRetry(ctx, func() error {
		var err error
		res, err = s.wdb.ExecContext(ctx, q, args...)
		return err
	})
	return res, err
}

func notFound(what, key string, err error) error {
	if errors.Is(err, sql.ErrNoRows) {
		return fmt.Errorf("sqlite: %s %q: %w", what, key, store.ErrNotFound)
	}
	return fmt.Errorf("sqlite: %s: %w", what, err)
}

// CreateOrg adds an organisation.
func (s *Store) CreateOrg(ctx context.Context, o store.Org) error {
	_, err := s.exec(ctx, `INSERT INTO orgs (id, name, identity, created) VALUES (?, ?, ?, ?)`, o.ID, o.Name, o.Identity, nanos(o.Created))
	if isUnique(err) {
		return fmt.Errorf("sqlite: organisation %q exists: %w", o.Name, store.ErrConflict)
	}
	return err
}

// Org finds an organisation by id or name.
func (s *Store) Org(ctx context.Context, key string) (store.Org, error) {
	var o store.Org
	var created int64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, name, identity, created FROM orgs WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1`, key, key, key).
		Scan(&o.ID, &o.Name, &o.Identity, &created)
	if err != nil {
		return o, notFound("organisation", key, err)
	}
	o.Created = fromNanos(created)
	return o, nil
}

// Orgs lists organisations by name.
func (s *Store) Orgs(ctx context.Context) ([]store.Org, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, name, identity, created FROM orgs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: organisations: %w", err)
	}
	defer rows.Close()
	var out []store.Org
	for rows.Next() {
		var o store.Org
		var created int64
		if err := rows.Scan(&o.ID, &o.Name, &o.Identity, &created); err != nil {
			return nil, err
		}
		o.Created = fromNanos(created)
		out = append(out, o)
	}
	return out, rows.Err()
}

const userCols = `id, name, org, role, password_hash, disabled, created, changed`

func scanUser(scan func(...any) error) (store.User, error) {
	var u store.User
	var created, changed int64
	err := scan(&u.ID, &u.Name, &u.OrgID, &u.Role, &u.PasswordHash, &u.Disabled, &created, &changed)
	u.Created, u.Changed = fromNanos(created), fromNanos(changed)
	return u, err
}

// CreateUser adds a user.
func (s *Store) CreateUser(ctx context.Context, u store.User) error {
	_, err := s.exec(ctx, `INSERT INTO users (`+userCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		u.ID, u.Name, u.OrgID, u.Role, u.PasswordHash, u.Disabled, nanos(u.Created), nanos(u.Changed))
	if isUnique(err) {
		return fmt.Errorf("sqlite: user %q exists: %w", u.Name, store.ErrConflict)
	}
	return err
}

// User finds a user by id or name.
func (s *Store) User(ctx context.Context, key string) (store.User, error) {
	u, err := scanUser(s.rdb.QueryRowContext(ctx, `SELECT `+userCols+` FROM users WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1`, key, key, key).Scan)
	if err != nil {
		return u, notFound("user", key, err)
	}
	return u, nil
}

// Users lists users by name.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser stores a user's password hash, role, disabled flag and Changed.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	res, err := s.exec(ctx, `UPDATE users SET password_hash = ?, role = ?, disabled = ?, changed = ? WHERE id = ?`,
		u.PasswordHash, u.Role, u.Disabled, nanos(u.Changed), u.ID)
	if err != nil {
		return fmt.Errorf("sqlite: update user: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: user %q: %w", u.ID, store.ErrNotFound)
	}
	return nil
}

const tokenCols = `id, user_id, hash, name, created, expires, revoked, last_used`

func scanToken(scan func(...any) error) (store.Token, error) {
	var t store.Token
	var created, expires, used int64
	err := scan(&t.ID, &t.UserID, &t.Hash, &t.Name, &created, &expires, &t.Revoked, &used)
	t.Created, t.Expires, t.LastUsed = fromNanos(created), fromNanos(expires), fromNanos(used)
	return t, err
}

// CreateToken stores a token.
func (s *Store) CreateToken(ctx context.Context, t store.Token) error {
	_, err := s.exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		t.ID, t.UserID, t.Hash, t.Name, nanos(t.Created), nanos(t.Expires), t.Revoked, nanos(t.LastUsed))
	if isUnique(err) {
		return fmt.Errorf("sqlite: token exists: %w", store.ErrConflict)
	}
	return err
}

// TokenByHash finds a token by the hash of its secret.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.rdb.QueryRowContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = ?`, hash).Scan)
	if err != nil {
		return t, notFound("token", "(by hash)", err)
	}
	return t, nil
}

// Tokens lists a user's tokens ("" for every user's), newest first.
func (s *Store) Tokens(ctx context.Context, userID string) ([]store.Token, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT `+tokenCols+` FROM tokens WHERE ? = '' OR user_id = ? ORDER BY created DESC`, userID, userID)
	if err != nil {
		return nil, fmt.Errorf("sqlite: tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows.Scan)
		if err != nil {
			return nil, err
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks a token revoked.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	res, err := s.exec(ctx, `UPDATE tokens SET revoked = 1 WHERE id = ?`, id)
	if err != nil {
		return fmt.Errorf("sqlite: revoke token: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return fmt.Errorf("sqlite: token %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// TouchToken records a token's last use.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	_, err := s.exec(ctx, `UPDATE tokens SET last_used = ? WHERE id = ?`, nanos(at), id)
	return err
}

// CreateGroup adds a sharing group and its member organisations.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	tx, err := s.wdb.BeginTx(ctx, nil)
	if err != nil {
		return err
	}
	defer tx.Rollback()
	if _, err := tx.ExecContext(ctx, `INSERT INTO sharing_groups (id, name, created) VALUES (?, ?, ?)`, g.ID, g.Name, nanos(g.Created)); err != nil {
		if isUnique(err) {
			return fmt.Errorf("sqlite: sharing group %q exists: %w", g.Name, store.ErrConflict)
		}
		return err
	}
	for _, o := range g.OrgIDs {
		if _, err := tx.ExecContext(ctx, `INSERT OR IGNORE INTO sharing_group_orgs (grp, org) VALUES (?, ?)`, g.ID, o); err != nil {
			return fmt.Errorf("sqlite: sharing group member %s: %w", o, err)
		}
	}
	return tx.Commit()
}

func (s *Store) groupMembers(ctx context.Context, g *store.Group) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT org FROM sharing_group_orgs WHERE grp = ? ORDER BY org`, g.ID)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var o string
		if err := rows.Scan(&o); err != nil {
			return err
		}
		g.OrgIDs = append(g.OrgIDs, o)
	}
	return rows.Err()
}

// Group finds a sharing group by id or name, with its members.
func (s *Store) Group(ctx context.Context, key string) (store.Group, error) {
	var g store.Group
	var created int64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, name, created FROM sharing_groups WHERE id = ? OR name = ? ORDER BY id = ? DESC LIMIT 1`, key, key, key).Scan(&g.ID, &g.Name, &created)
	if err != nil {
		return g, notFound("sharing group", key, err)
	}
	g.Created = fromNanos(created)
	return g, s.groupMembers(ctx, &g)
}

// Groups lists sharing groups by name, with their members.
func (s *Store) Groups(ctx context.Context) ([]store.Group, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, name, created FROM sharing_groups ORDER BY name`)
	if err != nil {
		return nil, err
	}
	var out []store.Group
	for rows.Next() {
		var g store.Group
		var created int64
		if err := rows.Scan(&g.ID, &g.Name, &created); err != nil {
			rows.Close()
			return nil, err
		}
		g.Created = fromNanos(created)
		out = append(out, g)
	}
	rows.Close()
	for i := range out {
		if err := s.groupMembers(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OrgGroups lists the sharing groups of an organisation.
func (s *Store) OrgGroups(ctx context.Context, orgID string) ([]string, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT grp FROM sharing_group_orgs WHERE org = ? ORDER BY grp`, orgID)
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var g string
		if err := rows.Scan(&g); err != nil {
			return nil, err
		}
		out = append(out, g)
	}
	return out, rows.Err()
}

// Setting reads an instance setting.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	if err := s.rdb.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v); err != nil {
		return nil, notFound("setting", key, err)
	}
	return v, nil
}

// SetSettingIfAbsent stores a setting unless it exists, and returns the stored value.
func (s *Store) SetSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error) {
	if _, err := s.exec(ctx, `INSERT OR IGNORE INTO settings (key, value) VALUES (?, ?)`, key, value); err != nil {
		return nil, err
	}
	var v []byte
	err := s.wdb.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = ?`, key).Scan(&v)
	return v, err
}

// AppendAudit stores an audit record after checking it extends the chain.
func (s *Store) AppendAudit(ctx context.Context, rec *store.AuditRecord) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	return withRetry(ctx, func() error {
		tx, err := s.wdb.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		defer tx.Rollback()
		var last []byte
		err = tx.QueryRowContext(ctx, `SELECT hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last)
		if errors.Is(err, sql.ErrNoRows) {
			last = make([]byte, 32)
		} else if err != nil {
			return err
		}
		if string(last) != string(rec.Prev) {
			return fmt.Errorf("sqlite: audit record does not extend the chain: %w", store.ErrConflict)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO audit (seq, time, actor, org, action, target, detail, prev, hash) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
			rec.Seq, nanos(rec.Time), rec.Actor, rec.Org, rec.Action, rec.Target, rec.Detail, rec.Prev, rec.Hash); err != nil {
			if isUnique(err) {
				return fmt.Errorf("sqlite: audit record %d exists: %w", rec.Seq, store.ErrConflict)
			}
			return err
		}
		return tx.Commit()
	})
}

// LastAudit returns the newest audit record.
func (s *Store) LastAudit(ctx context.Context) (store.AuditRecord, error) {
	var r store.AuditRecord
	var t int64
	err := s.wdb.QueryRowContext(ctx, `SELECT seq, time, actor, org, action, target, detail, prev, hash FROM audit ORDER BY seq DESC LIMIT 1`).
		Scan(&r.Seq, &t, &r.Actor, &r.Org, &r.Action, &r.Target, &r.Detail, &r.Prev, &r.Hash)
	if err != nil {
		return r, notFound("audit record", "last", err)
	}
	r.Time = fromNanos(t)
	return r, nil
}

// AuditRecords calls fn for each record after seq, in order.
func (s *Store) AuditRecords(ctx context.Context, after int64, fn func(store.AuditRecord) error) error {
	rows, err := s.rdb.QueryContext(ctx, `SELECT seq, time, actor, org, action, target, detail, prev, hash FROM audit WHERE seq > ? ORDER BY seq`, after)
	if err != nil {
		return err
	}
	defer rows.Close()
	for rows.Next() {
		var r store.AuditRecord
		var t int64
		if err := rows.Scan(&r.Seq, &t, &r.Actor, &r.Org, &r.Action, &r.Target, &r.Detail, &r.Prev, &r.Hash); err != nil {
			return err
		}
		r.Time = fromNanos(t)
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
