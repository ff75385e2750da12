package store

import (
	"context"
	"database/sql"
)

// combineMax bounds how many writes share one transaction.
const combineMax = 64

// combined is one single-row write waiting for the combiner: its statement
// and what reads its returned row.
type combined struct {
	ctx   context.Context
	query string
	args  []any
	scan  func(*sql.Row) error
	done  chan error
}

// combiner runs the send path's single-row writes (claims and outcomes) of
// concurrent workers on SQLite's one write connection: whatever waits when
// it is free runs in one transaction, one commit, instead of one commit
// and one hand-over of the connection each. Each statement is the same
// conditional update as alone, so each caller gets the row (or no row) it
// would have got; a failed commit fails them all (nothing was written).
type combiner struct {
	reqs chan *combined
	stop chan struct{}
	done chan struct{}
}

func (s *Store) startCombiner() {
	c := &combiner{reqs: make(chan *combined), stop: make(chan struct{}), done: make(chan struct{})}
	s.comb = c
	go func() {
		defer close(c.done)
		for {
			var first *combined
			select {
			case first = <-c.reqs:
			case <-c.stop:
				return
			}
			batch := []*combined{first}
		more:
			for len(batch) < combineMax {
				select {
				case r := <-c.reqs:
					batch = append(batch, r)
				default:
					break more
				}
			}
			s.runCombined(batch)
		}
	}()
}

func (c *combiner) close() {
	close(c.stop)
	<-c.done
}

// combinedRow runs a single-row write and scans its row: through the
// combiner on SQLite, straight on the write pool on PostgreSQL (whose
// concurrent commits share their WAL flushes by themselves).
func (s *Store) combinedRow(ctx context.Context, query string, scan func(*sql.Row) error, args ...any) error {
	if s.comb == nil {
		return scan(s.stmtRow(ctx, s.w, query, args...))
	}
	r := &combined{ctx: ctx, query: query, args: args, scan: scan, done: make(chan error, 1)}
	select {
	case s.comb.reqs <- r:
	case <-ctx.Done():
		return ctx.Err()
	case <-s.comb.stop:
		return scan(s.stmtRow(ctx, s.w, query, args...))
	}
	// Once handed over the write may run: wait for its outcome.
	return <-r.done
}

func (s *Store) runCombined(batch []*combined) {
	live := batch[:0:0]
	for _, r := range batch {
		if err := r.ctx.Err(); err != nil {
			r.done <- err // gave up before its turn: not run
			continue
		}
		live = append(live, r)
	}
	switch len(live) {
	case 0:
		return
	case 1:
		r := live[0]
		r.done <- r.scan(s.stmtRow(r.ctx, s.w, r.query, r.args...))
		return
	}
	// One caller's cancellation must not interrupt the others' statements
	// on the shared connection.
	ctx := context.WithoutCancel(live[0].ctx)
	errs := make([]error, len(live))
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for i, r := range live {
			errs[i] = r.scan(s.stmtRow(ctx, tx, r.query, r.args...))
		}
		return nil
	})
	for i, r := range live {
		if err != nil {
			errs[i] = err
		}
		r.done <- errs[i]
	}
}
