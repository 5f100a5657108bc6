package postgres

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/mamori-cti/mamori/internal/store"
)

// CreateOrg adds an organisation.
func (s *Store) CreateOrg(ctx context.Context, o store.Org) error {
	_, err := s.pool.Exec(ctx, `INSERT INTO orgs (id, name, identity, created) VALUES ($1, $2, $3, $4)`, o.ID, o.Name, o.Identity, nanos(o.Created))
	if isUnique(err) {
		return fmt.Errorf("postgres: organisation %q exists: %w", o.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create organisation: %w", err)
	}
	return nil
}

// Org finds an organisation by id or name (the id first).
func (s *Store) Org(ctx context.Context, key string) (store.Org, error) {
	var o store.Org
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT id, name, identity, created FROM orgs WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1`, key).
		Scan(&o.ID, &o.Name, &o.Identity, &created)
	if err != nil {
		return o, notFound("organisation", key, err)
	}
	o.Created = fromNanos(created)
	return o, nil
}

// Orgs lists organisations by name.
func (s *Store) Orgs(ctx context.Context) ([]store.Org, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, identity, created FROM orgs ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: organisations: %w", err)
	}
	defer rows.Close()
	var out []store.Org
	for rows.Next() {
		var o store.Org
		var created int64
		if err := rows.Scan(&o.ID, &o.Name, &o.Identity, &created); err != nil {
			return nil, fmt.Errorf("postgres: organisations: %w", err)
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
	_, err := s.pool.Exec(ctx, `INSERT INTO users (`+userCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		u.ID, u.Name, u.OrgID, u.Role, u.PasswordHash, u.Disabled, nanos(u.Created), nanos(u.Changed))
	if isUnique(err) {
		return fmt.Errorf("postgres: user %q exists: %w", u.Name, store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create user: %w", err)
	}
	return nil
}

// User finds a user by id or name (the id first).
func (s *Store) User(ctx context.Context, key string) (store.User, error) {
	u, err := scanUser(s.pool.QueryRow(ctx, `SELECT `+userCols+` FROM users WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1`, key).Scan)
	if err != nil {
		return u, notFound("user", key, err)
	}
	return u, nil
}

// Users lists users by name.
func (s *Store) Users(ctx context.Context) ([]store.User, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+userCols+` FROM users ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: users: %w", err)
	}
	defer rows.Close()
	var out []store.User
	for rows.Next() {
		u, err := scanUser(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("postgres: users: %w", err)
		}
		out = append(out, u)
	}
	return out, rows.Err()
}

// UpdateUser stores a user's password hash, role, disabled flag and Changed.
func (s *Store) UpdateUser(ctx context.Context, u store.User) error {
	tag, err := s.pool.Exec(ctx, `UPDATE users SET password_hash = $1, role = $2, disabled = $3, changed = $4 WHERE id = $5`,
		u.PasswordHash, u.Role, u.Disabled, nanos(u.Changed), u.ID)
	if err != nil {
		return fmt.Errorf("postgres: update user: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: user %q: %w", u.ID, store.ErrNotFound)
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
	_, err := s.pool.Exec(ctx, `INSERT INTO tokens (`+tokenCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
		t.ID, t.UserID, t.Hash, t.Name, nanos(t.Created), nanos(t.Expires), t.Revoked, nanos(t.LastUsed))
	if isUnique(err) {
		return fmt.Errorf("postgres: token exists: %w", store.ErrConflict)
	}
	if err != nil {
		return fmt.Errorf("postgres: create token: %w", err)
	}
	return nil
}

// TokenByHash finds a token by the hash of its secret.
func (s *Store) TokenByHash(ctx context.Context, hash []byte) (store.Token, error) {
	t, err := scanToken(s.pool.QueryRow(ctx, `SELECT `+tokenCols+` FROM tokens WHERE hash = $1`, hash).Scan)
	if err != nil {
		return t, notFound("token", "(by hash)", err)
	}
	return t, nil
}

// Tokens lists a user's tokens ("" for every user's), newest first.
func (s *Store) Tokens(ctx context.Context, userID string) ([]store.Token, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+tokenCols+` FROM tokens WHERE $1::text = '' OR user_id = $1::text ORDER BY created DESC`, userID)
	if err != nil {
		return nil, fmt.Errorf("postgres: tokens: %w", err)
	}
	defer rows.Close()
	var out []store.Token
	for rows.Next() {
		t, err := scanToken(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("postgres: tokens: %w", err)
		}
		out = append(out, t)
	}
	return out, rows.Err()
}

// RevokeToken marks a token revoked.
func (s *Store) RevokeToken(ctx context.Context, id string) error {
	tag, err := s.pool.Exec(ctx, `UPDATE tokens SET revoked = true WHERE id = $1`, id)
	if err != nil {
		return fmt.Errorf("postgres: revoke token: %w", err)
	}
	if tag.RowsAffected() == 0 {
		return fmt.Errorf("postgres: token %q: %w", id, store.ErrNotFound)
	}
	return nil
}

// TouchToken records a token's last use.
func (s *Store) TouchToken(ctx context.Context, id string, at time.Time) error {
	if _, err := s.pool.Exec(ctx, `UPDATE tokens SET last_used = $1 WHERE id = $2`, nanos(at), id); err != nil {
		return fmt.Errorf("postgres: touch token: %w", err)
	}
	return nil
}

// CreateGroup adds a sharing group and its member organisations.
func (s *Store) CreateGroup(ctx context.Context, g store.Group) error {
	err := pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `INSERT INTO sharing_groups (id, name, created) VALUES ($1, $2, $3)`, g.ID, g.Name, nanos(g.Created)); err != nil {
			if isUnique(err) {
				return fmt.Errorf("postgres: sharing group %q exists: %w", g.Name, store.ErrConflict)
			}
			return fmt.Errorf("postgres: create sharing group: %w", err)
		}
		if len(g.OrgIDs) > 0 {
			if _, err := tx.Exec(ctx, `INSERT INTO sharing_group_orgs (grp, org) SELECT $1, unnest($2::text[]) ON CONFLICT DO NOTHING`, g.ID, g.OrgIDs); err != nil {
				return fmt.Errorf("postgres: sharing group members: %w", err)
			}
		}
		return nil
	})
	return err
}

func (s *Store) groupMembers(ctx context.Context, g *store.Group) error {
	rows, err := s.pool.Query(ctx, `SELECT org FROM sharing_group_orgs WHERE grp = $1 ORDER BY org`, g.ID)
	if err != nil {
		return fmt.Errorf("postgres: sharing group members: %w", err)
	}
	g.OrgIDs, err = pgx.AppendRows([]string(nil), rows, pgx.RowTo[string])
	return err
}

// Group finds a sharing group by id or name (the id first), with its members.
func (s *Store) Group(ctx context.Context, key string) (store.Group, error) {
	var g store.Group
	var created int64
	err := s.pool.QueryRow(ctx, `SELECT id, name, created FROM sharing_groups WHERE id = $1 OR name = $1 ORDER BY id = $1 DESC LIMIT 1`, key).Scan(&g.ID, &g.Name, &created)
	if err != nil {
		return g, notFound("sharing group", key, err)
	}
	g.Created = fromNanos(created)
	return g, s.groupMembers(ctx, &g)
}

// Groups lists sharing groups by name, with their members.
func (s *Store) Groups(ctx context.Context) ([]store.Group, error) {
	rows, err := s.pool.Query(ctx, `SELECT id, name, created FROM sharing_groups ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("postgres: sharing groups: %w", err)
	}
	var out []store.Group
	for rows.Next() {
		var g store.Group
		var created int64
		if err := rows.Scan(&g.ID, &g.Name, &created); err != nil {
			rows.Close()
			return nil, fmt.Errorf("postgres: sharing groups: %w", err)
		}
		g.Created = fromNanos(created)
		out = append(out, g)
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("postgres: sharing groups: %w", err)
	}
	for i := range out {
		if err := s.groupMembers(ctx, &out[i]); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// OrgGroups lists the sharing groups of an organisation.
func (s *Store) OrgGroups(ctx context.Context, orgID string) ([]string, error) {
	rows, err := s.pool.Query(ctx, `SELECT grp FROM sharing_group_orgs WHERE org = $1 ORDER BY grp`, orgID)
	if err != nil {
		return nil, fmt.Errorf("postgres: organisation groups: %w", err)
	}
	return pgx.AppendRows([]string(nil), rows, pgx.RowTo[string])
}

// Setting reads an instance setting.
func (s *Store) Setting(ctx context.Context, key string) ([]byte, error) {
	var v []byte
	if err := s.pool.QueryRow(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v); err != nil {
		return nil, notFound("setting", key, err)
	}
	return v, nil
}

// SetSettingIfAbsent stores a setting unless it exists, and returns the
// stored value. Two processes racing store one value and both return it.
func (s *Store) SetSettingIfAbsent(ctx context.Context, key string, value []byte) ([]byte, error) {
	if _, err := s.pool.Exec(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, value); err != nil {
		return nil, fmt.Errorf("postgres: setting %q: %w", key, err)
	}
	// A new statement, hence a new snapshot: it sees the row whichever
	// process inserted it.
	return s.Setting(ctx, key)
}

const auditCols = `seq, time, actor, org, action, target, detail, prev, hash`

func scanAudit(scan func(...any) error) (store.AuditRecord, error) {
	var r store.AuditRecord
	var t int64
	err := scan(&r.Seq, &t, &r.Actor, &r.Org, &r.Action, &r.Target, &r.Detail, &r.Prev, &r.Hash)
	r.Time = fromNanos(t)
	return r, err
}

// AppendAudit stores an audit record after checking it extends the chain.
// The table lock (which plain reads do not wait for) serialises appends
// across processes.
func (s *Store) AppendAudit(ctx context.Context, rec *store.AuditRecord) error {
	return pgx.BeginFunc(ctx, s.pool, func(tx pgx.Tx) error {
		if _, err := tx.Exec(ctx, `LOCK TABLE audit IN EXCLUSIVE MODE`); err != nil {
			return fmt.Errorf("postgres: lock audit log: %w", err)
		}
		var last []byte
		err := tx.QueryRow(ctx, `SELECT hash FROM audit ORDER BY seq DESC LIMIT 1`).Scan(&last)
		if errors.Is(err, pgx.ErrNoRows) {
			last = make([]byte, 32)
		} else if err != nil {
			return fmt.Errorf("postgres: audit log: %w", err)
		}
		if !bytes.Equal(last, rec.Prev) {
			return fmt.Errorf("postgres: audit record does not extend the chain: %w", store.ErrConflict)
		}
		if _, err := tx.Exec(ctx, `INSERT INTO audit (`+auditCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`,
			rec.Seq, nanos(rec.Time), rec.Actor, rec.Org, rec.Action, rec.Target, rec.Detail, rec.Prev, rec.Hash); err != nil {
			if isUnique(err) {
				return fmt.Errorf("postgres: audit record %d exists: %w", rec.Seq, store.ErrConflict)
			}
			return fmt.Errorf("postgres: append audit record: %w", err)
		}
		return nil
	})
}

// LastAudit returns the newest audit record.
func (s *Store) LastAudit(ctx context.Context) (store.AuditRecord, error) {
	r, err := scanAudit(s.pool.QueryRow(ctx, `SELECT `+auditCols+` FROM audit ORDER BY seq DESC LIMIT 1`).Scan)
	if err != nil {
		return r, notFound("audit record", "last", err)
	}
	return r, nil
}

// AuditRecords calls fn for each record after seq, in order.
func (s *Store) AuditRecords(ctx context.Context, after int64, fn func(store.AuditRecord) error) error {
	rows, err := s.pool.Query(ctx, `SELECT `+auditCols+` FROM audit WHERE seq > $1 ORDER BY seq`, after)
	if err != nil {
		return fmt.Errorf("postgres: audit records: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		r, err := scanAudit(rows.Scan)
		if err != nil {
			return fmt.Errorf("postgres: audit records: %w", err)
		}
		if err := fn(r); err != nil {
			return err
		}
	}
	return rows.Err()
}
