package store

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"fmt"
	"slices"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/bookinggw/gateway/core"
)

// pgPipe runs a PostgreSQL booking transaction on one connection with its
// BEGIN, row locks and first read sent together (pgx pipeline: one round
// trip), and its last writes sent with COMMIT (one more), instead of one
// round trip per statement: a booking's transaction is two round trips.
//
// The locks and the read stay separate statements on purpose: under READ
// COMMITTED each statement reads a snapshot taken when it starts, and the
// backend starts the read only after the lock statement has finished (it
// waited for the other booking to commit), so the read sees that booking.
// One statement locking and reading (a CTE) would read the snapshot taken
// before its wait and miss it.
type pgPipe struct {
	conn  *sql.Conn
	org   string
	locks []string // sorted: two transactions never wait on each other in a cycle
	begun bool     // BEGIN and the locks are sent
}

// lockSQL locks a specialist or a room (ids are unique across both) and
// tells whether one was found.
const lockSQL = `SELECT (SELECT count(*) FROM (SELECT 1 FROM staff WHERE id = $1 AND org_id = $2 FOR UPDATE) s)
	+ (SELECT count(*) FROM (SELECT 1 FROM rooms WHERE id = $1 AND org_id = $2 FOR UPDATE) r)`

// pipeQuery is a statement of a pipeline; read, when set, consumes its rows.
type pipeQuery struct {
	sql  string
	args []any
	read func(pgx.Rows) error
}

// send runs qs in one round trip, after BEGIN and the locks when they are
// not sent yet.
func (p *pgPipe) send(ctx context.Context, qs ...pipeQuery) error {
	return p.conn.Raw(func(dc any) error {
		c := dc.(*stdlib.Conn).Conn()
		var b pgx.Batch
		locking := !p.begun
		if locking {
			b.Queue("BEGIN")
			for _, id := range p.locks {
				b.Queue(lockSQL, id, p.org)
			}
		}
		for _, q := range qs {
			b.Queue(q.sql, q.args...)
		}
		br := c.SendBatch(ctx, &b)
		err := p.results(br, locking, qs)
		if cerr := br.Close(); err == nil && cerr != nil {
			err = cerr
		}
		if locking {
			p.begun = true // whatever happened, the connection may be in a transaction: roll it back
		}
		return err
	})
}

func (p *pgPipe) results(br pgx.BatchResults, locking bool, qs []pipeQuery) error {
	if locking {
		if _, err := br.Exec(); err != nil {
			return fmt.Errorf("store: begin: %w", err)
		}
		for range p.locks {
			var n int
			if err := br.QueryRow().Scan(&n); err != nil {
				return fmt.Errorf("store: lock: %w", err)
			}
			if n == 0 {
				return core.NotFound("specialist or room")
			}
		}
	}
	return readResults(br, qs)
}

// readResults takes the results of qs from a batch in order: each
// statement's rows go to its read, or it is executed for its effect.
func readResults(br pgx.BatchResults, qs []pipeQuery) error {
	for _, q := range qs {
		if q.read == nil {
			if _, err := br.Exec(); err != nil {
				return err
			}
			continue
		}
		rows, err := br.Query()
		if err != nil {
			return err
		}
		err = q.read(rows)
		rows.Close()
		if err == nil {
			err = rows.Err()
		}
		if err != nil {
			return err
		}
	}
	return nil
}

// commit sends the batched writes with COMMIT. A transaction that ran no
// statement has nothing to commit (and took no lock).
func (p *pgPipe) commit(ctx context.Context, w *writeBatch) error {
	stmt, args, ok := w.statement()
	if !p.begun && !ok {
		return nil
	}
	var qs []pipeQuery
	if ok {
		qs = append(qs, pipeQuery{sql: stmt, args: args})
	}
	if err := p.send(ctx, append(qs, pipeQuery{sql: "COMMIT"})...); err != nil {
		return fmt.Errorf("store: write booking: %w", err)
	}
	return nil
}

// rollback ends a failed transaction; a connection whose state is not
// known is closed rather than given back to the pool.
func (p *pgPipe) rollback(ctx context.Context) {
	if !p.begun {
		return
	}
	if _, err := p.conn.ExecContext(context.WithoutCancel(ctx), "ROLLBACK"); err != nil {
		_ = p.conn.Raw(func(any) error { return driver.ErrBadConn })
	}
}

// inPipedBookingTx is InBookingTx on PostgreSQL.
func (s *Store) inPipedBookingTx(ctx context.Context, orgID string, lock []string, fn func(core.BookingTx) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return fmt.Errorf("store: begin: %w", err)
	}
	defer conn.Close()
	ids := slices.Clone(lock)
	slices.Sort(ids)
	p := &pgPipe{conn: conn, org: orgID, locks: ids}
	b := &bookingTx{tx: conn, org: orgID, batched: true, pipe: p}
	if err := fn(b); err != nil {
		p.rollback(ctx)
		return err
	}
	err = p.commit(ctx, &b.batch)
	s.busy.changed(b.owners) // also after a failed commit: dropping more is harmless
	if err != nil {
		p.rollback(ctx)
		return err
	}
	return nil
}
