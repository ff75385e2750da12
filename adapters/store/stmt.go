package store

import (
	"context"
	"database/sql"
	"fmt"
	"sync"

	"github.com/bookinggw/gateway/core"
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

func (c *stmtCache) lookup(db *sql.DB, q string) *sql.Stmt {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.m[stmtKey{db, q}]
}

// get returns the cached statement, preparing it on a miss. The lock is
// not held while preparing: SQLite's write pool has one connection, which
// a transaction may hold until it too looks a statement up.
func (c *stmtCache) get(ctx context.Context, db *sql.DB, q string) (*sql.Stmt, error) {
	if st := c.lookup(db, q); st != nil {
		return st, nil
	}
	st, err := db.PrepareContext(ctx, q)
	if err != nil {
		return nil, err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if old, ok := c.m[stmtKey{db, q}]; ok {
		_ = st.Close()
		return old, nil
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
		// Transactions run on the write pool, whose one connection the
		// transaction holds: preparing now would wait for it forever, so
		// only statements prepared before (warm) are used.
		if st := s.stmts.lookup(s.w, query); st != nil {
			return v.StmtContext(ctx, st)
		}
	}
	return nil
}

// warm prepares, on SQLite, the statements that hot paths run inside
// transactions.
func (s *Store) warm(ctx context.Context) error {
	if s.dialect != SQLite {
		return nil
	}
	// The relay's commit of a batch: each event marked dispatched and its
	// messages inserted.
	qs := []string{receiptHandledSQL, statusLookupSQL, dispatchEventSQL, insertMsgSQL, claimSQL, finishSQL}
	for _, st := range []core.MessageStatus{core.MsgSent, core.MsgDelivered, core.MsgUndelivered, core.MsgFailed} {
		qs = append(qs, statusApplySQL(st, true), statusApplySQL(st, false), statusParkSQL(st))
	}
	for _, q := range qs {
		if _, err := s.stmts.get(ctx, s.w, q); err != nil {
			return fmt.Errorf("store: prepare: %w", err)
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
