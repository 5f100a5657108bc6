package sqlite

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/google/uuid"

	"github.com/mamori-cti/mamori/internal/store"
)

const recordCols = `o.seq, o.id, o.type, o.vkey, o.added, o.spec_version, o.latest, o.revoked, o.owner, o.level, o.sgroup, o.raw`

// Get returns one version of id.
func (s *Store) Get(ctx context.Context, id string, opts store.GetOptions) (*store.Record, error) {
	var row *sql.Row
	if opts.Modified.IsZero() {
		row = s.rdb.QueryRowContext(ctx, `SELECT `+recordCols+` FROM objects o WHERE o.id = ? AND o.latest = 1`, id)
	} else {
		row = s.rdb.QueryRowContext(ctx, `SELECT `+recordCols+` FROM objects o WHERE o.id = ? AND o.vkey = ?`, id, store.VersionKeyOf(opts.Modified))
	}
	r := new(store.Record)
	if err := scanRecord(row.Scan, r); err != nil {
		if errors.Is(err, sql.ErrNoRows) {
			return nil, fmt.Errorf("sqlite: %s: %w", id, store.ErrNotFound)
		}
		return nil, fmt.Errorf("sqlite: get %s: %w", id, err)
	}
	if !opts.Viewer.CanRead(r.Access) {
		// An invisible object is indistinguishable from an absent one.
		return nil, fmt.Errorf("sqlite: %s: %w", id, store.ErrNotFound)
	}
	return r, nil
}

func scanRecord(scan func(...any) error, r *store.Record) error {
	var vkey string
	var added int64
	if err := scan(&r.Seq, &r.ID, &r.Type, &vkey, &added, &r.SpecVersion, &r.Latest, &r.Revoked, &r.Access.Owner, &r.Access.Level, &r.Access.Group, &r.Raw); err != nil {
		return err
	}
	r.Modified = store.ParseVersionKey(vkey)
	r.DateAdded = time.Unix(0, added).UTC()
	return nil
}

// buildQuery turns q into SQL. count selects count(*) instead of the records.
func buildQuery(q store.Query, count bool) (string, []any) {
	var where []string
	var args []any
	add := func(cond string, a ...any) {
		where = append(where, cond)
		args = append(args, a...)
	}
	in := func(col string, vals []string) {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(vals)), ",")
		cond := col + " IN (" + ph + ")"
		if len(vals) == 1 {
			cond = col + " = ?"
		}
		for _, v := range vals {
			args = append(args, v)
		}
		where = append(where, cond)
	}
	from := "objects o"
	seqCol, addedCol := "o.seq", "o.added"
	if q.Text != "" && q.Collection == "" && ftsQuery(q.Text) != "" {
		// Drive the query from the full-text index, which yields rowids (=
		// seq) in order: a page stops after Limit matches instead of
		// collecting every match first.
		from = "objects_fts f JOIN objects o ON o.seq = f.rowid"
		seqCol = "f.rowid"
	}
	if q.Collection != "" {
		from = "collection_objects c JOIN objects o ON o.seq = c.seq"
		seqCol, addedCol = "c.cseq", "c.added"
		add("c.coll = ?", q.Collection)
	}
	switch q.Versions {
	case store.VersionsLatest:
		where = append(where, "o.latest = 1")
	case store.VersionsFirst:
		where = append(where, "NOT EXISTS (SELECT 1 FROM objects o2 WHERE o2.id = o.id AND o2.vkey < o.vkey)")
	}
	if !q.IncludeRevoked {
		where = append(where, "o.revoked = 0")
	}
	if len(q.IDs) > 0 {
		in("o.id", q.IDs)
	}
	if len(q.Types) > 0 {
		in("o.type", q.Types)
	}
	if len(q.SpecVersions) > 0 {
		in("o.spec_version", q.SpecVersions)
	}
	if q.CreatedBy != "" {
		add("o.created_by = ?", q.CreatedBy)
	}
	if q.Value != "" {
		add("o.seq IN (SELECT seq FROM obs_values WHERE value = ?)", q.Value)
	}
	if q.Ref != "" {
		add("o.seq IN (SELECT seq FROM refs WHERE target = ?)", q.Ref)
	}
	if q.Label != "" {
		add("o.seq IN (SELECT seq FROM labels WHERE label = ?)", q.Label)
	}
	if q.ExternalID != "" {
		add("o.seq IN (SELECT seq FROM external_ids WHERE ext_id = ?)", q.ExternalID)
	}
	if q.Text != "" && ftsQuery(q.Text) == "" {
		// No word to search for (only quotes and spaces): nothing matches.
		where = append(where, "0")
	} else if q.Text != "" {
		if q.Collection == "" {
			add("objects_fts MATCH ?", ftsQuery(q.Text))
		} else {
			add("o.seq IN (SELECT rowid FROM objects_fts WHERE objects_fts MATCH ?)", ftsQuery(q.Text))
		}
	}
	if len(q.Modified) > 0 {
		keys := make([]string, len(q.Modified))
		for i, t := range q.Modified {
			keys[i] = store.VersionKeyOf(t)
		}
		in("o.vkey", keys)
	}
	if v := q.Viewer; v != nil && !v.All {
		cond, vargs := viewerSQL(v)
		add(cond, vargs...)
	}
	if !q.ModifiedSince.IsZero() {
		add("o.vkey >= ?", store.VersionKeyOf(q.ModifiedSince))
	}
	if !q.AddedAfter.IsZero() {
		ns := q.AddedAfter.UnixNano()
		add(addedCol+" > ?", ns)
		// date_added grows with the sequence, so the walk can start at the
		// first sequence number added after the date (found through an
		// index) instead of scanning everything added before it.
		if q.Collection != "" {
			add("c.cseq >= coalesce((SELECT cseq FROM collection_objects WHERE coll = ? AND added > ? ORDER BY added LIMIT 1), 9223372036854775807)", q.Collection, ns)
		} else {
			add("o.seq >= coalesce((SELECT seq FROM objects WHERE added > ? ORDER BY added LIMIT 1), 9223372036854775807)", ns)
		}
	}
	if !count && q.AfterSeq > 0 {
		add(seqCol+" > ?", q.AfterSeq)
	}
	var b strings.Builder
	if count {
		b.WriteString("SELECT count(*) FROM ")
	} else {
		fmt.Fprintf(&b, "SELECT %s, o.id, o.type, o.vkey, %s, o.spec_version, o.latest, o.revoked, o.owner, o.level, o.sgroup, o.raw FROM ", seqCol, addedCol)
	}
	b.WriteString(from)
	if len(where) > 0 {
		b.WriteString(" WHERE ")
		b.WriteString(strings.Join(where, " AND "))
	}
	if !count {
		b.WriteString(" ORDER BY " + seqCol)
		if q.Limit > 0 {
			fmt.Fprintf(&b, " LIMIT %d", q.Limit)
		}
	}
	return b.String(), args
}

// viewerSQL is store.Viewer.CanRead as an SQL condition on objects o.
func viewerSQL(v *store.Viewer) (string, []any) {
	var ors []string
	var args []any
	ors = append(ors, fmt.Sprintf("o.level >= %d", max(store.LevelCommunity, v.MinLevel)))
	if v.MinLevel <= store.LevelCommunity && v.Org != "" {
		ors = append(ors, "(o.owner <> '' AND o.owner = ?)")
		args = append(args, v.Org)
	}
	var groups []any
	for _, g := range v.Groups {
		if g != "" { // as in CanRead: an empty group id names no group
			groups = append(groups, g)
		}
	}
	if v.MinLevel <= store.LevelGroup && len(groups) > 0 {
		ph := strings.TrimSuffix(strings.Repeat("?,", len(groups)), ",")
		ors = append(ors, fmt.Sprintf("(o.level = %d AND o.sgroup IN (%s))", store.LevelGroup, ph))
		args = append(args, groups...)
	}
	return "(" + strings.Join(ors, " OR ") + ")", args
}

// ftsQuery turns free text into an FTS5 query: every word must appear; the
// last word may be a prefix. Quoting keeps FTS5 syntax out of user input.
func ftsQuery(text string) string {
	words := strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '"'
	})
	for i, w := range words {
		words[i] = `"` + w + `"`
	}
	if len(words) > 0 {
		words[len(words)-1] += "*"
	}
	return strings.Join(words, " ")
}

// Query runs q and returns an iterator over the records.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Iterator, error) {
	sqlText, args := buildQuery(q, false)
	rows, err := s.rdb.QueryContext(ctx, sqlText, args...)
	if err != nil {
		return nil, fmt.Errorf("sqlite: query: %w", err)
	}
	return &rowIter{rows: rows}, nil
}

// Count returns how many records q selects, ignoring Limit and AfterSeq.
func (s *Store) Count(ctx context.Context, q store.Query) (int64, error) {
	sqlText, args := buildQuery(q, true)
	var n int64
	if err := s.rdb.QueryRowContext(ctx, sqlText, args...).Scan(&n); err != nil {
		return 0, fmt.Errorf("sqlite: count: %w", err)
	}
	return n, nil
}

type rowIter struct {
	rows *sql.Rows
	rec  store.Record
	err  error
}

func (it *rowIter) Next() bool {
	if it.err != nil || !it.rows.Next() {
		return false
	}
	if err := scanRecord(it.rows.Scan, &it.rec); err != nil {
		it.err = fmt.Errorf("sqlite: scan: %w", err)
		return false
	}
	return true
}

func (it *rowIter) At() *store.Record { return &it.rec }

func (it *rowIter) Err() error {
	if it.err != nil {
		return it.err
	}
	if err := it.rows.Err(); err != nil {
		return fmt.Errorf("sqlite: query: %w", err)
	}
	return nil
}

func (it *rowIter) Close() error { return it.rows.Close() }

// Stats counts latest versions by type.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	st := store.Stats{ByType: map[string]int64{}}
	rows, err := s.rdb.QueryContext(ctx, `SELECT type, count(*) FROM objects WHERE latest = 1 GROUP BY type`)
	if err != nil {
		return st, fmt.Errorf("sqlite: stats: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			return st, fmt.Errorf("sqlite: stats: %w", err)
		}
		st.ByType[t] = n
		st.Objects += n
	}
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("sqlite: stats: %w", err)
	}
	if err := s.rdb.QueryRowContext(ctx, `SELECT count(*) FROM objects`).Scan(&st.Versions); err != nil {
		return st, fmt.Errorf("sqlite: stats: %w", err)
	}
	return st, nil
}

// CreateCollection adds a collection, generating its id when empty.
func (s *Store) CreateCollection(ctx context.Context, c store.Collection) (store.Collection, error) {
	if c.Title == "" {
		return c, fmt.Errorf("sqlite: collection title is empty")
	}
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if u, err := uuid.Parse(c.ID); err != nil {
		return c, fmt.Errorf("sqlite: collection id %q is not a UUID", c.ID)
	} else {
		c.ID = u.String()
	}
	if c.Created.IsZero() {
		c.Created = time.Now().UTC()
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var n int
	if err := s.wdb.QueryRowContext(ctx, `SELECT count(*) FROM collections WHERE id = ? OR title = ?`, c.ID, c.Title).Scan(&n); err != nil {
		return c, fmt.Errorf("sqlite: create collection: %w", err)
	}
	if n > 0 {
		return c, fmt.Errorf("sqlite: collection %q (%s) already exists: %w", c.Title, c.ID, store.ErrConflict)
	}
	_, err := s.wdb.ExecContext(ctx, `INSERT INTO collections (id, title, description, created, level, sgroup) VALUES (?, ?, ?, ?, ?, ?)`,
		c.ID, c.Title, c.Description, c.Created.UnixNano(), c.Level, c.Group)
	if err != nil {
		return c, fmt.Errorf("sqlite: create collection: %w", err)
	}
	return c, nil
}

// Collections lists collections by title.
func (s *Store) Collections(ctx context.Context) ([]store.Collection, error) {
	rows, err := s.rdb.QueryContext(ctx, `SELECT id, title, description, created, level, sgroup FROM collections ORDER BY title`)
	if err != nil {
		return nil, fmt.Errorf("sqlite: collections: %w", err)
	}
	defer rows.Close()
	var out []store.Collection
	for rows.Next() {
		var c store.Collection
		var created int64
		if err := rows.Scan(&c.ID, &c.Title, &c.Description, &created, &c.Level, &c.Group); err != nil {
			return nil, fmt.Errorf("sqlite: collections: %w", err)
		}
		c.Created = time.Unix(0, created).UTC()
		out = append(out, c)
	}
	return out, rows.Err()
}

// Collection finds a collection by id or title.
func (s *Store) Collection(ctx context.Context, idOrTitle string) (store.Collection, error) {
	var c store.Collection
	var created int64
	err := s.rdb.QueryRowContext(ctx, `SELECT id, title, description, created, level, sgroup FROM collections WHERE id = ? OR title = ? ORDER BY id = ? DESC LIMIT 1`,
		idOrTitle, idOrTitle, idOrTitle).Scan(&c.ID, &c.Title, &c.Description, &created, &c.Level, &c.Group)
	if errors.Is(err, sql.ErrNoRows) {
		return c, fmt.Errorf("sqlite: collection %q: %w", idOrTitle, store.ErrNotFound)
	}
	if err != nil {
		return c, fmt.Errorf("sqlite: collection: %w", err)
	}
	c.Created = time.Unix(0, created).UTC()
	return c, nil
}
