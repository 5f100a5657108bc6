package postgres

import (
	"context"
	"embed"
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgconn"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/mamori-cti/mamori/internal/store"
)

//go:embed migrations/*.sql
var migrationFS embed.FS

// Store is the PostgreSQL implementation of store.Store.
type Store struct {
	pool   *pgxpool.Pool
	schema string
	// wsem serialises this process's writers before they take a connection,
	// so that waiting writers do not hold pool connections; the writer_clock
	// row lock serialises writers across processes.
	wsem chan struct{}
}

var _ store.Store = (*Store)(nil)

// Options tune Open.
type Options struct {
	// Schema, when set, is created if absent and becomes the search_path of
	// every connection: mamori's tables live there. Empty keeps the
	// search_path of the connection string or the server (normally public).
	Schema string
	// MaxConns is the size of the connection pool; 0 keeps the connection
	// string's pool_max_conns or the default (4, or the number of CPUs if
	// larger).
	MaxConns int32
}

// Open connects to the database named by dsn (a postgres:// URL or a
// key=value connection string), applies pending migrations and returns the
// store. It refuses a database whose schema is newer than this build
// (store.ErrSchemaTooNew).
func Open(ctx context.Context, dsn string, opts Options) (*Store, error) {
	cfg, err := pgxpool.ParseConfig(dsn)
	if err != nil {
		return nil, fmt.Errorf("postgres: connection string: %w", err)
	}
	if opts.MaxConns > 0 {
		cfg.MaxConns = opts.MaxConns
	}
	if opts.Schema != "" {
		cfg.ConnConfig.RuntimeParams["search_path"] = quoteIdent(opts.Schema)
	}
	if cfg.ConnConfig.RuntimeParams["application_name"] == "" {
		cfg.ConnConfig.RuntimeParams["application_name"] = "mamori"
	}
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		return nil, fmt.Errorf("postgres: connect: %w", err)
	}
	s := &Store{pool: pool, schema: opts.Schema, wsem: make(chan struct{}, 1)}
	if opts.Schema != "" {
		if err := s.createSchema(ctx); err != nil {
			pool.Close()
			return nil, err
		}
	}
	if err := s.migrate(ctx); err != nil {
		pool.Close()
		return nil, err
	}
	return s, nil
}

// createSchema creates the schema unless it exists (a role that owns an
// existing schema needs no right to create one).
func (s *Store) createSchema(ctx context.Context) error {
	var exists bool
	if err := s.pool.QueryRow(ctx, `SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = $1)`, s.schema).Scan(&exists); err != nil {
		return fmt.Errorf("postgres: connect: %w", err)
	}
	if exists {
		return nil
	}
	// Two processes creating the schema together: the loser sees a unique
	// violation on the catalogue, and the schema exists.
	if _, err := s.pool.Exec(ctx, `CREATE SCHEMA IF NOT EXISTS `+quoteIdent(s.schema)); err != nil && !isCode(err, "42P06") && !isUnique(err) {
		return fmt.Errorf("postgres: create schema %s: %w", s.schema, err)
	}
	return nil
}

// quoteIdent quotes an SQL identifier.
func quoteIdent(s string) string { return pgx.Identifier{s}.Sanitize() }

// Pool exposes the connection pool for maintenance commands and tests;
// normal code goes through the Store methods.
func (s *Store) Pool() *pgxpool.Pool { return s.pool }

// Schema is the schema given to Open ("" when the search_path was kept).
func (s *Store) Schema() string { return s.schema }

// Close closes the pool. It waits for connections in use (an open
// iterator or writer) to be released.
func (s *Store) Close() error {
	s.pool.Close()
	return nil
}

// Ping checks that the database answers.
func (s *Store) Ping(ctx context.Context) error {
	if err := s.pool.Ping(ctx); err != nil {
		return fmt.Errorf("postgres: ping: %w", err)
	}
	return nil
}

type migration struct {
	version int
	name    string
	sql     string
}

func loadMigrations() ([]migration, error) {
	entries, err := fs.ReadDir(migrationFS, "migrations")
	if err != nil {
		return nil, err
	}
	var ms []migration
	for _, e := range entries {
		name := e.Name()
		num, _, ok := strings.Cut(name, "_")
		v, err := strconv.Atoi(num)
		if !ok || err != nil {
			return nil, fmt.Errorf("postgres: migration %s: name must start with a number", name)
		}
		b, err := migrationFS.ReadFile("migrations/" + name)
		if err != nil {
			return nil, err
		}
		ms = append(ms, migration{v, name, string(b)})
	}
	sort.Slice(ms, func(i, j int) bool { return ms[i].version < ms[j].version })
	return ms, nil
}

// SchemaVersion is the newest migration this build knows.
func SchemaVersion() int {
	ms, err := loadMigrations()
	if err != nil || len(ms) == 0 {
		return 0
	}
	return ms[len(ms)-1].version
}

// migrateLock is the first key of the advisory lock that serialises
// migrations; the second is a hash of the schema, so that stores in
// different schemas of one database migrate independently.
const migrateLock = 0x6d616d6f // "mamo"

// migrate applies pending migrations, each in its own transaction, under an
// advisory lock so that processes starting together do not race.
func (s *Store) migrate(ctx context.Context) error {
	ms, err := loadMigrations()
	if err != nil {
		return err
	}
	known := ms[len(ms)-1].version
	step := func(m *migration) (bool, error) {
		tx, err := s.pool.BeginTx(ctx, pgx.TxOptions{IsoLevel: pgx.ReadCommitted})
		if err != nil {
			return false, err
		}
		defer tx.Rollback(ctx)
		if _, err := tx.Exec(ctx, `SELECT pg_advisory_xact_lock($1, hashtext(current_schema()))`, migrateLock); err != nil {
			return false, err
		}
		if _, err := tx.Exec(ctx, `CREATE TABLE IF NOT EXISTS schema_version (version integer NOT NULL, name text NOT NULL, applied bigint NOT NULL)`); err != nil {
			return false, err
		}
		var cur int
		if err := tx.QueryRow(ctx, `SELECT coalesce(max(version), 0) FROM schema_version`).Scan(&cur); err != nil {
			return false, fmt.Errorf("read schema version: %w", err)
		}
		if cur > known {
			return false, fmt.Errorf("postgres: schema %s has version %d, this mamori knows up to %d: %w", s.schemaName(), cur, known, store.ErrSchemaTooNew)
		}
		if m == nil || m.version <= cur {
			return false, tx.Commit(ctx)
		}
		if _, err := tx.Exec(ctx, m.sql); err != nil {
			return false, err
		}
		if _, err := tx.Exec(ctx, `INSERT INTO schema_version (version, name, applied) VALUES ($1, $2, $3)`, m.version, m.name, time.Now().Unix()); err != nil {
			return false, err
		}
		return true, tx.Commit(ctx)
	}
	// The first step only checks the version, so that a newer schema is
	// refused before anything is written.
	if _, err := step(nil); err != nil {
		if errors.Is(err, store.ErrSchemaTooNew) {
			return err
		}
		return fmt.Errorf("postgres: migrate: %w", err)
	}
	for i := range ms {
		if _, err := step(&ms[i]); err != nil {
			if errors.Is(err, store.ErrSchemaTooNew) {
				return err
			}
			return fmt.Errorf("postgres: migration %s: %w", ms[i].name, err)
		}
	}
	return nil
}

func (s *Store) schemaName() string {
	if s.schema != "" {
		return s.schema
	}
	return "(search_path)"
}

// isCode reports whether err is a PostgreSQL error with SQLSTATE code.
func isCode(err error, code string) bool {
	var pe *pgconn.PgError
	return errors.As(err, &pe) && pe.Code == code
}

// isUnique reports a unique constraint violation.
func isUnique(err error) bool { return isCode(err, "23505") }

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

// notFound maps pgx.ErrNoRows to store.ErrNotFound.
func notFound(what, key string, err error) error {
	if errors.Is(err, pgx.ErrNoRows) {
		return fmt.Errorf("postgres: %s %q: %w", what, key, store.ErrNotFound)
	}
	return fmt.Errorf("postgres: %s: %w", what, err)
}
