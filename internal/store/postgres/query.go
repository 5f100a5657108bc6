package postgres

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/google/uuid"
	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgtype"
	"golang.org/x/text/unicode/norm"

	"github.com/mamori-cti/mamori/internal/store"
)

const recordCols = `o.seq, o.id, o.type, o.vkey, o.added, o.spec_version, o.latest, o.revoked, o.owner, o.level, o.sgroup, o.raw`

// Get returns one version of id.
func (s *Store) Get(ctx context.Context, id string, opts store.GetOptions) (*store.Record, error) {
	var row pgx.Row
	if opts.Modified.IsZero() {
		row = s.pool.QueryRow(ctx, `SELECT `+recordCols+` FROM objects o WHERE o.id = $1 AND o.latest`, txt(id))
	} else {
		row = s.pool.QueryRow(ctx, `SELECT `+recordCols+` FROM objects o WHERE o.id = $1 AND o.vkey = $2`, txt(id), store.VersionKeyOf(opts.Modified))
	}
	r := new(store.Record)
	if err := scanRecord(row.Scan, r); err != nil {
		if errors.Is(err, pgx.ErrNoRows) {
			return nil, fmt.Errorf("postgres: %s: %w", id, store.ErrNotFound)
		}
		return nil, fmt.Errorf("postgres: get %s: %w", id, err)
	}
	if !opts.Viewer.CanRead(r.Access) {
		// An invisible object is indistinguishable from an absent one.
		return nil, fmt.Errorf("postgres: %s: %w", id, store.ErrNotFound)
	}
	return r, nil
}

func scanRecord(scan func(...any) error, r *store.Record) error {
	var vkey string
	var added int64
	var level int16
	if err := scan(&r.Seq, &r.ID, &r.Type, &vkey, &added, &r.SpecVersion, &r.Latest, &r.Revoked, &r.Access.Owner, &level, &r.Access.Group, &r.Raw); err != nil {
		return err
	}
	r.Access.Level = store.Level(level)
	r.Modified = store.ParseVersionKey(vkey)
	r.DateAdded = time.Unix(0, added).UTC()
	return nil
}

// args numbers query parameters.
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// buildQuery turns q into SQL. count selects count(*) instead of the
// records; meta leaves the JSON out (NULL in its place).
func buildQuery(q store.Query, count, meta bool) (string, []any) {
	var where []string
	var a args
	in := func(col string, vals []string) {
		if len(vals) == 1 {
			where = append(where, col+" = "+a.add(txt(vals[0])))
			return
		}
		clean := make([]string, len(vals))
		for i, v := range vals {
			clean[i] = txt(v)
		}
		where = append(where, col+" = ANY("+a.add(clean)+")")
	}
	from := "objects o"
	seqCol, addedCol := "o.seq", "o.added"
	if q.Collection != "" {
		from = "collection_objects c JOIN objects o ON o.seq = c.seq"
		seqCol, addedCol = "c.cseq", "c.added"
		where = append(where, "c.coll = "+a.add(txt(q.Collection)))
	}
	switch q.Versions {
	case store.VersionsLatest:
		where = append(where, "o.latest")
	case store.VersionsFirst:
		where = append(where, "NOT EXISTS (SELECT 1 FROM objects o2 WHERE o2.id = o.id AND o2.vkey < o.vkey)")
	}
	if !q.IncludeRevoked {
		where = append(where, "NOT o.revoked")
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
		where = append(where, "o.created_by = "+a.add(txt(q.CreatedBy)))
	}
	if q.Value != "" {
		where = append(where, "o.seq IN (SELECT seq FROM obs_values WHERE value = "+a.add(txt(q.Value))+")")
	}
	if q.Ref != "" {
		where = append(where, "o.seq IN (SELECT seq FROM refs WHERE target = "+a.add(txt(q.Ref))+")")
	}
	if q.Label != "" {
		where = append(where, "o.seq IN (SELECT seq FROM labels WHERE label = "+a.add(txt(q.Label))+")")
	}
	if q.ExternalID != "" {
		where = append(where, "o.seq IN (SELECT seq FROM external_ids WHERE ext_id = "+a.add(txt(strings.ToLower(q.ExternalID)))+")")
	}
	if q.Text != "" {
		if tq := textQuery(q.Text); tq != "" {
			where = append(where, "o.seq IN (SELECT seq FROM objects_fts WHERE doc @@ "+a.add(tq)+"::tsquery)")
		} else {
			where = append(where, "false")
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
		where = append(where, viewerSQL(v, &a))
	}
	if !q.ModifiedSince.IsZero() {
		where = append(where, "o.vkey >= "+a.add(store.VersionKeyOf(q.ModifiedSince)))
	}
	if !q.AddedAfter.IsZero() {
		where = append(where, addedCol+" > "+a.add(q.AddedAfter.UnixNano()))
	}
	if !count && q.AfterSeq > 0 {
		where = append(where, seqCol+" > "+a.add(q.AfterSeq))
	}
	var b strings.Builder
	switch {
	case count:
		b.WriteString("SELECT count(*) FROM ")
	default:
		raw := "o.raw"
		if meta {
			raw = "NULL::bytea"
		}
		fmt.Fprintf(&b, "SELECT %s, o.id, o.type, o.vkey, %s, o.spec_version, o.latest, o.revoked, o.owner, o.level, o.sgroup, %s FROM ", seqCol, addedCol, raw)
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
	return b.String(), a
}

// viewerSQL is store.Viewer.CanRead as an SQL condition on objects o.
func viewerSQL(v *store.Viewer, a *args) string {
	ors := []string{fmt.Sprintf("o.level >= %d", max(store.LevelCommunity, v.MinLevel))}
	if v.MinLevel <= store.LevelCommunity && v.Org != "" {
		ors = append(ors, "(o.owner <> '' AND o.owner = "+a.add(txt(v.Org))+")")
	}
	if v.MinLevel <= store.LevelGroup && len(v.Groups) > 0 {
		// CanRead never matches the empty group.
		var groups []string
		for _, g := range v.Groups {
			if g != "" {
				groups = append(groups, txt(g))
			}
		}
		if len(groups) > 0 {
			ors = append(ors, fmt.Sprintf("(o.level = %d AND o.sgroup = ANY(%s))", store.LevelGroup, a.add(groups)))
		}
	}
	return "(" + strings.Join(ors, " OR ") + ")"
}

// Full-text search. Text is cut into words the way SQLite's unicode61
// tokenizer does: runs of Unicode letters and digits, lower-cased, with
// diacritics removed. Stored documents carry each word's position; name,
// description and aliases are separated by a gap so that a phrase does not
// run from one into the next.

const (
	maxWordBytes  = 1000  // longer words are cut (PostgreSQL's limit is 2047 bytes)
	maxPosition   = 16383 // PostgreSQL's largest lexeme position
	maxPositions  = 256   // PostgreSQL keeps at most this many positions per lexeme
	maxLexemeSize = 512 << 10
)

func isWordRune(r rune) bool {
	if r < utf8.RuneSelf {
		return 'a' <= r && r <= 'z' || 'A' <= r && r <= 'Z' || '0' <= r && r <= '9'
	}
	return unicode.IsLetter(r) || unicode.IsNumber(r) || unicode.Is(unicode.Mn, r) || unicode.Is(unicode.Co, r)
}

// forEachWord calls fn with each normalised word of s.
func forEachWord(s string, fn func(string)) {
	start := -1
	for i, r := range s {
		if isWordRune(r) {
			if start < 0 {
				start = i
			}
			continue
		}
		if start >= 0 {
			if w := normWord(s[start:i]); w != "" {
				fn(w)
			}
			start = -1
		}
	}
	if start >= 0 {
		if w := normWord(s[start:]); w != "" {
			fn(w)
		}
	}
}

// normWord lower-cases w and removes its diacritics.
func normWord(w string) string {
	ascii := true
	for i := 0; i < len(w); i++ {
		if w[i] >= utf8.RuneSelf {
			ascii = false
			break
		}
	}
	if ascii {
		w = strings.ToLower(w)
	} else {
		var b strings.Builder
		for _, r := range norm.NFD.String(w) {
			if !unicode.Is(unicode.Mn, r) {
				b.WriteRune(unicode.ToLower(r))
			}
		}
		w = b.String()
	}
	if len(w) > maxWordBytes {
		cut := maxWordBytes
		for cut > 0 && !utf8.RuneStart(w[cut]) {
			cut--
		}
		w = w[:cut]
	}
	return w
}

// textVector builds the full-text document of an object; false when the
// object has no words to index.
func textVector(ix *store.IndexKeys) (pgtype.TSVector, bool) {
	if ix.Name == "" && ix.Description == "" && len(ix.Aliases) == 0 {
		return pgtype.TSVector{}, false
	}
	idx := map[string]int{}
	var lex []pgtype.TSVectorLexeme
	size := 0
	pos := 0
	add := func(w string) {
		pos++
		p := uint16(min(pos, maxPosition))
		i, ok := idx[w]
		if !ok {
			if size+len(w) > maxLexemeSize {
				return
			}
			size += len(w)
			i = len(lex)
			idx[w] = i
			lex = append(lex, pgtype.TSVectorLexeme{Word: w})
		}
		ps := lex[i].Positions
		if len(ps) >= maxPositions || (len(ps) > 0 && ps[len(ps)-1].Position >= p) {
			return
		}
		lex[i].Positions = append(ps, pgtype.TSVectorPosition{Position: p})
	}
	forEachWord(ix.Name, add)
	pos++
	forEachWord(ix.Description, add)
	pos++
	for _, a := range ix.Aliases {
		forEachWord(a, add)
	}
	if len(lex) == 0 {
		return pgtype.TSVector{}, false
	}
	return pgtype.TSVector{Lexemes: lex, Valid: true}, true
}

// lexemeQuoter escapes a word for a quoted tsquery operand.
var lexemeQuoter = strings.NewReplacer(`'`, `''`, `\`, `\\`)

// textQuery turns free text into a tsquery: every whitespace-separated
// term must appear (a term of several words, such as "command-and-control",
// as a phrase), and the last word may be a prefix. Words are quoted, so no
// tsquery syntax can come from user input. "" when the text has no words.
func textQuery(text string) string {
	terms := strings.FieldsFunc(text, func(r rune) bool {
		return r == ' ' || r == '\t' || r == '\n' || r == '"'
	})
	var parts [][]string
	for _, t := range terms {
		var words []string
		forEachWord(t, func(w string) { words = append(words, w) })
		if len(words) > 0 {
			parts = append(parts, words)
		}
	}
	if len(parts) == 0 {
		return ""
	}
	var b strings.Builder
	for i, words := range parts {
		if i > 0 {
			b.WriteString(" & ")
		}
		b.WriteByte('(')
		for j, w := range words {
			if j > 0 {
				b.WriteString(" <-> ")
			}
			b.WriteByte('\'')
			b.WriteString(lexemeQuoter.Replace(w))
			b.WriteByte('\'')
			if i == len(parts)-1 && j == len(words)-1 {
				b.WriteString(":*")
			}
		}
		b.WriteByte(')')
	}
	return b.String()
}

// Query runs q and returns an iterator over the records.
func (s *Store) Query(ctx context.Context, q store.Query) (store.Iterator, error) {
	sqlText, a := buildQuery(q, false, false)
	rows, err := s.pool.Query(ctx, sqlText, a...)
	if err != nil {
		return nil, fmt.Errorf("postgres: query: %w", err)
	}
	return &rowIter{rows: rows}, nil
}

// Count returns how many records q selects, ignoring Limit and AfterSeq.
func (s *Store) Count(ctx context.Context, q store.Query) (int64, error) {
	sqlText, a := buildQuery(q, true, false)
	var n int64
	if err := s.pool.QueryRow(ctx, sqlText, a...).Scan(&n); err != nil {
		return 0, fmt.Errorf("postgres: count: %w", err)
	}
	return n, nil
}

type rowIter struct {
	rows pgx.Rows
	rec  store.Record
	err  error
}

func (it *rowIter) Next() bool {
	if it.err != nil || !it.rows.Next() {
		return false
	}
	if err := scanRecord(it.rows.Scan, &it.rec); err != nil {
		it.err = fmt.Errorf("postgres: scan: %w", err)
		it.rows.Close()
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
		return fmt.Errorf("postgres: query: %w", err)
	}
	return nil
}

func (it *rowIter) Close() error {
	it.rows.Close()
	return nil
}

// Stats counts latest versions by type.
func (s *Store) Stats(ctx context.Context) (store.Stats, error) {
	st := store.Stats{ByType: map[string]int64{}}
	rows, err := s.pool.Query(ctx, `SELECT type, count(*) FROM objects WHERE latest GROUP BY type`)
	if err != nil {
		return st, fmt.Errorf("postgres: stats: %w", err)
	}
	for rows.Next() {
		var t string
		var n int64
		if err := rows.Scan(&t, &n); err != nil {
			rows.Close()
			return st, fmt.Errorf("postgres: stats: %w", err)
		}
		st.ByType[t] = n
		st.Objects += n
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return st, fmt.Errorf("postgres: stats: %w", err)
	}
	if err := s.pool.QueryRow(ctx, `SELECT count(*) FROM objects`).Scan(&st.Versions); err != nil {
		return st, fmt.Errorf("postgres: stats: %w", err)
	}
	return st, nil
}

// CreateCollection adds a collection, generating its id when empty.
func (s *Store) CreateCollection(ctx context.Context, c store.Collection) (store.Collection, error) {
	if c.Title == "" {
		return c, fmt.Errorf("postgres: collection title is empty")
	}
	if c.ID == "" {
		c.ID = uuid.NewString()
	} else if u, err := uuid.Parse(c.ID); err != nil {
		return c, fmt.Errorf("postgres: collection id %q is not a UUID", c.ID)
	} else {
		c.ID = u.String()
	}
	if c.Created.IsZero() {
		c.Created = time.Now().UTC()
	}
	_, err := s.pool.Exec(ctx, `INSERT INTO collections (id, title, description, created, level, sgroup) VALUES ($1, $2, $3, $4, $5, $6)`,
		c.ID, c.Title, c.Description, c.Created.UnixNano(), int16(c.Level), c.Group)
	if isUnique(err) {
		return c, fmt.Errorf("postgres: collection %q (%s) already exists: %w", c.Title, c.ID, store.ErrConflict)
	}
	if err != nil {
		return c, fmt.Errorf("postgres: create collection: %w", err)
	}
	return c, nil
}

const collectionCols = `id, title, description, created, level, sgroup`

func scanCollection(scan func(...any) error) (store.Collection, error) {
	var c store.Collection
	var created int64
	var level int16
	err := scan(&c.ID, &c.Title, &c.Description, &created, &level, &c.Group)
	c.Created = time.Unix(0, created).UTC()
	c.Level = store.Level(level)
	return c, err
}

// Collections lists collections by title.
func (s *Store) Collections(ctx context.Context) ([]store.Collection, error) {
	rows, err := s.pool.Query(ctx, `SELECT `+collectionCols+` FROM collections ORDER BY title`)
	if err != nil {
		return nil, fmt.Errorf("postgres: collections: %w", err)
	}
	defer rows.Close()
	var out []store.Collection
	for rows.Next() {
		c, err := scanCollection(rows.Scan)
		if err != nil {
			return nil, fmt.Errorf("postgres: collections: %w", err)
		}
		out = append(out, c)
	}
	return out, rows.Err()
}

// Collection finds a collection by id or title (the id first).
func (s *Store) Collection(ctx context.Context, idOrTitle string) (store.Collection, error) {
	c, err := scanCollection(s.pool.QueryRow(ctx, `SELECT `+collectionCols+` FROM collections WHERE id = $1 OR title = $1 ORDER BY id = $1 DESC LIMIT 1`, idOrTitle).Scan)
	if err != nil {
		return c, notFound("collection", idOrTitle, err)
	}
	return c, nil
}
