package store

import (
	"context"
	"database/sql"
	"sync"
)

// stmtCache keeps prepared statements of the hot paths (claim, finish,
// status reports, webhook receipts, relay reads) on SQLite, where the
// driver otherwise parses and plans each query text on every call. pgx
// caches prepared statements per connection by itself, so PostgreSQL goes
// straight to the pool.
type stmtCache struct {
	mu sync.Mutex
	m  map[stmtKey]*sql.Stmt
}

type stmtKey struct {
	db *sql.DB
	q  string
}

func (c *stmtCache) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.m[stmtKey{db, q}]; ok {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	if c.m == nil {
		c.m = map[stmtKey]*sql.Stmt{}
	}
	c.m[stmtKey{db, q}] = st
	return st, nil
}

func (c *stmtCache) close() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, st := range c.m {
		_ = st.Close()
	}
	c.m = nil
}

// prepared returns the cached statement of q on SQLite when q runs on one
// of the store's pools or transactions; nil otherwise.
func (s *Store) prepared(ctx context.Context, q querier, query string) *sql.Stmt {
	if s.dialect != SQLite {
		return nil
	}
	switch v := q.(type) {
	case *sql.DB:
		if st, err := s.stmts.get(ctx, v, query); err == nil {
			return st
		}
	case *sql.Tx:
		// Transactions run on the write pool.
		if st, err := s.stmts.get(ctx, s.w, query); err == nil {
			return v.StmtContext(ctx, st)
		}
	}
	return nil
}

// stmtRow is q.QueryRowContext through the statement cache.
func (s *Store) stmtRow(ctx context.Context, q querier, query string, args ...any) *sql.Row {
	if st := s.prepared(ctx, q, query); st != nil {
		return st.QueryRowContext(ctx, args...)
	}
	return q.QueryRowContext(ctx, query, args...)
}

// stmtExec is q.ExecContext through the statement cache.
func (s *Store) stmtExec(ctx context.Context, q querier, query string, args ...any) (sql.Result, error) {
	if st := s.prepared(ctx, q, query); st != nil {
		return st.ExecContext(ctx, args...)
	}
	return q.ExecContext(ctx, query, args...)
}

// stmtQuery is q.QueryContext through the statement cache.
func (s *Store) stmtQuery(ctx context.Context, q querier, query string, args ...any) (*sql.Rows, error) {
	if st := s.prepared(ctx, q, query); st != nil {
		return st.QueryContext(ctx, args...)
	}
	return q.QueryContext(ctx, query, args...)
}
