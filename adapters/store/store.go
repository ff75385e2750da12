// Package store implements core's Store for SQLite (the embedded default)
// and PostgreSQL with one SQL text: $N placeholders, TEXT ids, BIGINT
// millisecond instants. Only locking and error codes differ per dialect.
package store

import (
	"context"
	"database/sql"
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/jackc/pgx/v5/pgconn"
	_ "github.com/jackc/pgx/v5/stdlib" // registers the "pgx" driver
	"github.com/pressly/goose/v3"
	"modernc.org/sqlite"
	sqlite3 "modernc.org/sqlite/lib"

	"github.com/bookinggw/gateway/core"
)

//go:embed migrations/*.sql
var migrations embed.FS

// Dialect is the database kind behind a Store.
type Dialect string

const (
	SQLite   Dialect = "sqlite"
	Postgres Dialect = "postgres"
)

// Store is core.Store over database/sql.
type Store struct {
	dialect Dialect
	// w takes writes. On SQLite it holds a single connection whose
	// transactions begin IMMEDIATE, so writers queue in Go instead of
	// failing with SQLITE_BUSY; readers use r concurrently (WAL).
	w *sql.DB
	r *sql.DB
	// stmts caches SQLite's prepared statements of the hot paths.
	stmts stmtCache
	// busy caches availability's busy times (busycache.go).
	busy busyCache
	// claims and finishes combine concurrent workers' send-path writes
	// (sendbatch.go).
	claims   *combiner[claimReq, claimed]
	finishes *combiner[finishReq, claimed]
	// walStop ends the SQLite WAL watcher (walcap.go); walDone is closed
	// when it has.
	walStop, walDone chan struct{}
}

// Open connects to url (postgres://… or sqlite:path), and runs the embedded
// migrations unless migrate is false.
func Open(ctx context.Context, url string, migrate bool) (*Store, error) {
	s, err := open(url)
	if err != nil {
		return nil, err
	}
	if err := s.ping(ctx); err != nil {
		s.Close()
		return nil, err
	}
	if migrate {
		if err := s.Migrate(ctx); err != nil {
			s.Close()
			return nil, err
		}
		if err := s.warm(ctx); err != nil {
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// ParseURL tells the dialect and driver DSN of a DATABASE_URL.
func ParseURL(url string) (Dialect, string, error) {
	switch {
	case strings.HasPrefix(url, "postgres://"), strings.HasPrefix(url, "postgresql://"):
		return Postgres, url, nil
	case strings.HasPrefix(url, "sqlite:"):
		path := strings.TrimPrefix(strings.TrimPrefix(url, "sqlite:"), "//")
		if path == "" {
			return "", "", errors.New("store: sqlite URL has no path")
		}
		return SQLite, path, nil
	}
	return "", "", fmt.Errorf("store: DATABASE_URL must start with postgres:// or sqlite: (got scheme of %q)", scheme(url))
}

func scheme(url string) string {
	if i := strings.Index(url, ":"); i > 0 {
		return url[:i]
	}
	return ""
}

func open(url string) (*Store, error) {
	d, dsn, err := ParseURL(url)
	if err != nil {
		return nil, err
	}
	if d == Postgres {
		db, err := sql.Open("pgx", dsn)
		if err != nil {
			return nil, fmt.Errorf("store: open postgres: %w", err)
		}
		db.SetMaxOpenConns(32)
		db.SetMaxIdleConns(32)
		db.SetConnMaxIdleTime(5 * time.Minute)
		s := &Store{dialect: Postgres, w: db, r: db}
		s.combineJoint()
		return s, nil
	}
	if dir := filepath.Dir(dsn); dir != "." {
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return nil, fmt.Errorf("store: create %s: %w", dir, err)
		}
	}
	params := fmt.Sprintf("?_pragma=journal_mode(WAL)&_pragma=busy_timeout(%d)&_pragma=foreign_keys(1)&_pragma=synchronous(NORMAL)", sqliteBusyTimeout)
	w, err := sql.Open("sqlite", "file:"+dsn+params+"&_txlock=immediate")
	if err != nil {
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	w.SetMaxOpenConns(1)
	r, err := sql.Open("sqlite", "file:"+dsn+params+"&_pragma=query_only(1)")
	if err != nil {
		w.Close()
		return nil, fmt.Errorf("store: open sqlite: %w", err)
	}
	r.SetMaxOpenConns(8)
	s := &Store{dialect: SQLite, w: w, r: r}
	// One runner: SQLite has one writer.
	s.combine(1, s.claimTx, s.finishTx)
	if !strings.Contains(dsn, ":memory:") && !strings.Contains(dsn, "?") {
		s.watchWAL(dsn+"-wal", walCheckEvery, walLimit)
	}
	return s, nil
}

func (s *Store) ping(ctx context.Context) error {
	// The first write connection creates the file and switches it to WAL
	// before readers open it read-only.
	if err := s.w.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.dialect, err)
	}
	return nil
}

// Ping checks the database answers (for /readyz).
func (s *Store) Ping(ctx context.Context) error {
	if err := s.r.PingContext(ctx); err != nil {
		return fmt.Errorf("store: ping %s: %w", s.dialect, err)
	}
	return nil
}

// Dialect tells which database this is.
func (s *Store) Dialect() Dialect { return s.dialect }

// Migrate applies the embedded migrations.
func (s *Store) Migrate(ctx context.Context) error { return s.MigrateTo(ctx, 0) }

// MigrateTo applies the embedded migrations up to a version (0: all), so
// tests can put data in the shape an older version left it in.
func (s *Store) MigrateTo(ctx context.Context, version int64) error {
	gd := goose.DialectSQLite3
	if s.dialect == Postgres {
		gd = goose.DialectPostgres
	}
	p, err := goose.NewProvider(gd, s.w, mustSub(migrations, "migrations"), goose.WithGoMigrations(goMigrations()...))
	if err != nil {
		return fmt.Errorf("store: migrations: %w", err)
	}
	if version > 0 {
		_, err = p.UpTo(ctx, version)
	} else {
		_, err = p.Up(ctx)
	}
	if err != nil {
		return fmt.Errorf("store: migrate: %w", err)
	}
	return nil
}

// Close releases the connections.
func (s *Store) Close() error {
	if s.walStop != nil {
		close(s.walStop)
		<-s.walDone
		s.walStop = nil
	}
	if s.claims != nil {
		s.claims.close()
		s.finishes.close()
	}
	s.stmts.close()
	err := s.w.Close()
	if s.r != s.w {
		err = errors.Join(err, s.r.Close())
	}
	return err
}

// tx runs fn in a write transaction, committing when it returns nil.
func (s *Store) tx(ctx context.Context, fn func(*sql.Tx) error) error {
	tx, err := s.w.BeginTx(ctx, nil)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	if err := fn(tx); err != nil {
		_ = tx.Rollback()
		return err
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("store: commit: %w", err)
	}
	return nil
}

// idSet reads the one-column rows of ids (an INSERT's RETURNING id) into a
// set, and closes them; sized for n.
func idSet(rows *sql.Rows, n int) (map[string]bool, error) {
	defer rows.Close()
	out := make(map[string]bool, n)
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out[id] = true
	}
	if err := rows.Err(); err != nil {
		return nil, err
	}
	return out, rows.Close()
}

// isUnique reports a unique-constraint violation.
func isUnique(err error) bool {
	var pe *pgconn.PgError
	if errors.As(err, &pe) {
		return pe.Code == "23505"
	}
	var se *sqlite.Error
	if errors.As(err, &se) {
		return se.Code() == sqlite3.SQLITE_CONSTRAINT_UNIQUE || se.Code() == sqlite3.SQLITE_CONSTRAINT_PRIMARYKEY
	}
	return false
}

func ms(t time.Time) int64 { return t.UnixMilli() }

func fromMS(v int64) time.Time { return time.UnixMilli(v).UTC() }

func fromNullMS(v sql.NullInt64) *time.Time {
	if !v.Valid {
		return nil
	}
	t := fromMS(v.Int64)
	return &t
}

func nullMS(t *time.Time) sql.NullInt64 {
	if t == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: ms(*t), Valid: true}
}

// notFound maps sql.ErrNoRows to core's not-found error.
func notFound(err error, what string) error {
	if errors.Is(err, sql.ErrNoRows) {
		return core.NotFound(what)
	}
	return fmt.Errorf("store: %s: %w", what, err)
}

// pageArgs turns a core.Page into a limit and an "id > after" bound. Ids are
// UUIDv7, so id order is creation order.
func pageArgs(p core.Page) (int, string) {
	limit := p.Limit
	if limit <= 0 || limit > 1000 {
		limit = 1000
	}
	return limit, p.After
}

// checkAffected turns "no row changed" into not-found.
func checkAffected(res sql.Result, err error, what string) error {
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return fmt.Errorf("store: %s: %w", what, err)
	}
	if n == 0 {
		return core.NotFound(what)
	}
	return nil
}
