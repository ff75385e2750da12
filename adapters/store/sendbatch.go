package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/stdlib"

	"github.com/bookinggw/gateway/core"
)

// The send path's two writes (the claim and the outcome) of concurrent
// workers are combined: whoever is waiting when the runner is free goes
// into one group, one commit instead of one each. On PostgreSQL the runner
// takes the claims and the outcomes waiting together: each kind is one
// UPDATE … FROM unnest(…) RETURNING, and both go in one pgx batch, one
// round trip and one commit (jointMany). On SQLite a group is the single
// statements run in one transaction (its commit writes the pages they
// share once: the table's and each index's). Each worker waits for its
// own row to come back from the committed group, so a claim is durable
// before the send and an outcome before the task ends; the fences
// (status, attempt) are the same per row as in the single statements. An
// idle runner takes a lone request at once, so a quiet worker waits for
// nothing; under load the requests that arrive while the runner is busy
// form the next group.
//
// One runner on PostgreSQL: BenchmarkDispatch measured 57–80 % of raw
// Asynq with one joint runner, 38–55 % with two runners per kind (each
// statement its own commit), and no better with two joint runners. With
// four per kind, groups averaged two rows. One runner also keeps this
// process's claims and outcomes from ever waiting on each other's locks.
const (
	// combineMax bounds a group (the statement's arrays).
	combineMax = 128
	// combineTimeout bounds a group's statement: it runs for several
	// callers, so none of their contexts is its own.
	combineTimeout = 30 * time.Second
)

// errStoreClosed answers requests made after Close.
var errStoreClosed = errors.New("store: closed")

// combiner groups concurrent requests of one kind into batches run by
// its runner goroutines. run answers every request of a batch.
type combiner[Req, Res any] struct {
	reqs chan *combined[Req, Res]
	stop chan struct{}
	once sync.Once
	wg   sync.WaitGroup
	key  func(Req) string // the message id
	run  func(ctx context.Context, batch []*combined[Req, Res])
}

// combined is one request waiting for its batch.
type combined[Req, Res any] struct {
	in   Req
	out  Res
	err  error
	done chan struct{}
}

func newCombiner[Req, Res any](runners int, key func(Req) string, run func(ctx context.Context, batch []*combined[Req, Res])) *combiner[Req, Res] {
	c := &combiner[Req, Res]{reqs: make(chan *combined[Req, Res]), stop: make(chan struct{}), key: key, run: run}
	for range runners {
		c.wg.Add(1)
		go c.loop()
	}
	return c
}

func (c *combiner[Req, Res]) loop() {
	defer c.wg.Done()
	batch := make([]*combined[Req, Res], 0, combineMax)
	for {
		batch = batch[:0]
		select {
		case <-c.stop:
			return
		case r := <-c.reqs:
			batch = append(batch, r)
		}
	more:
		for len(batch) < combineMax {
			select {
			case r := <-c.reqs:
				batch = append(batch, r)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), combineTimeout)
		c.runDistinct(ctx, batch)
		cancel()
		release(batch)
	}
}

// runDistinct runs batch in groups of distinct messages: a message twice
// in one group (a redelivered task beside its original) goes in a later
// statement, so each statement's rows answer one request each.
func (c *combiner[Req, Res]) runDistinct(ctx context.Context, batch []*combined[Req, Res]) {
	for rest := batch; len(rest) > 0; {
		var group []*combined[Req, Res]
		group, rest = c.distinct(rest)
		c.run(ctx, group)
	}
}

// release wakes the callers of a batch that has been answered.
func release[Req, Res any](batch []*combined[Req, Res]) {
	for _, r := range batch {
		close(r.done)
	}
}

// distinct splits batch into its first request of each key and the rest.
func (c *combiner[Req, Res]) distinct(batch []*combined[Req, Res]) (first, rest []*combined[Req, Res]) {
	seen := make(map[string]bool, len(batch))
	for _, r := range batch {
		if k := c.key(r.in); !seen[k] {
			seen[k] = true
			first = append(first, r)
		} else {
			rest = append(rest, r)
		}
	}
	return first, rest
}

// do hands in one request and waits for its batch. Once handed in, the
// request is waited for even if ctx ends: its statement may commit, and
// the caller must know whether it did.
func (c *combiner[Req, Res]) do(ctx context.Context, in Req) (Res, error) {
	r := &combined[Req, Res]{in: in, done: make(chan struct{})}
	select {
	case c.reqs <- r:
	case <-ctx.Done():
		return r.out, ctx.Err()
	case <-c.stop:
		return r.out, errStoreClosed
	}
	<-r.done
	return r.out, r.err
}

// close stops the runners after their current batches.
func (c *combiner[Req, Res]) close() {
	c.once.Do(func() { close(c.stop) })
	c.wg.Wait()
}

// pgxConn runs fn on a pooled connection's pgx connection: through pgx
// directly, with no database/sql per-row conversions.
func (s *Store) pgxConn(ctx context.Context, fn func(*pgx.Conn) error) error {
	conn, err := s.w.Conn(ctx)
	if err != nil {
		return err
	}
	defer conn.Close()
	return conn.Raw(func(dc any) error { return fn(dc.(*stdlib.Conn).Conn()) })
}

// pgxBatch runs qs in one pgx batch: one round trip, and one implicit
// transaction (one commit) for them all.
func (s *Store) pgxBatch(ctx context.Context, qs ...pipeQuery) error {
	return s.pgxConn(ctx, func(c *pgx.Conn) error {
		var b pgx.Batch
		for _, q := range qs {
			b.Queue(q.sql, q.args...)
		}
		br := c.SendBatch(ctx, &b)
		err := readResults(br, qs)
		if cerr := br.Close(); err == nil {
			err = cerr
		}
		return err
	})
}

// pgxQuery runs one statement through pgx, handing its rows to read.
func (s *Store) pgxQuery(ctx context.Context, read func(pgx.Rows) error, query string, args ...any) error {
	return s.pgxConn(ctx, func(c *pgx.Conn) error {
		rows, err := c.Query(ctx, query, args...)
		if err != nil {
			return err
		}
		defer rows.Close()
		if err := read(rows); err != nil {
			return err
		}
		rows.Close()
		return rows.Err()
	})
}

// failAll answers every request of a batch with err.
func failAll[Req, Res any](batch []*combined[Req, Res], err error) {
	for _, r := range batch {
		r.out, r.err = *new(Res), err
	}
}

// combine starts the send path's combiners: runners groups in flight at
// once, each run by claim and finish.
func (s *Store) combine(runners int, claim func(context.Context, []*combined[claimReq, claimed]),
	finish func(context.Context, []*combined[finishReq, claimed])) {
	s.claims = newCombiner(runners, func(r claimReq) string { return r.id }, claim)
	s.finishes = newCombiner(runners, func(r finishReq) string { return r.m.ID }, finish)
}

// claimReq is one ClaimMessage of a combined claim.
type claimReq struct {
	id  string
	now int64
}

// claimManySQL is claimSQL for a group: each id with its own now.
//
// The status tests are written "(…) IS TRUE", which no index can answer,
// so the planner reaches the group's rows by id. Given a plain
// "m.status = 'queued'" and no statistics (a server with autovacuum off,
// or statistics older than the burst), it guessed that few messages were
// queued and read every queued one through messages_status_due for each
// group: a claim's cost grew with the backlog. TestCombinedSendPlans
// holds this.
var claimManySQL = `UPDATE messages m SET status = 'sending', attempts = m.attempts + 1, updated_at = v.now
	FROM unnest($1::text[], $2::bigint[]) AS v(id, now)
	WHERE m.id = v.id AND (m.status = 'queued') IS TRUE AND m.due_at <= v.now RETURNING ` + prefixed("m.", msgCols)

// claimMany claims a group of distinct messages in one statement. A
// request whose row did not come back was not claimed (not due, not
// queued, gone): ok stays false and ClaimMessage reads the row as the
// single claim does.
func (s *Store) claimMany(ctx context.Context, batch []*combined[claimReq, claimed]) {
	q, args, byID := claimArgs(batch)
	if err := s.pgxQuery(ctx, answerRows(byID), q, args...); err != nil {
		failAll(batch, fmt.Errorf("store: claim message: %w", err))
	}
}

// claimArgs is claimManySQL's statement and arguments for a group, and
// its requests by message id.
func claimArgs(batch []*combined[claimReq, claimed]) (string, []any, map[string]*combined[claimReq, claimed]) {
	// Rows are locked in id order, so two groups sharing messages (a
	// redelivered task) cannot wait on each other in a cycle.
	slices.SortFunc(batch, func(a, b *combined[claimReq, claimed]) int { return strings.Compare(a.in.id, b.in.id) })
	ids, nows := make([]string, len(batch)), make([]int64, len(batch))
	byID := make(map[string]*combined[claimReq, claimed], len(batch))
	for i, r := range batch {
		ids[i], nows[i] = r.in.id, r.in.now
		byID[r.in.id] = r
	}
	return claimManySQL, []any{ids, nows}, byID
}

// answerRows hands each row a group's statement returned to the request
// of its message.
func answerRows[Req any](byID map[string]*combined[Req, claimed]) func(pgx.Rows) error {
	return func(rows pgx.Rows) error {
		for rows.Next() {
			m, err := scanMsg(rows)
			if err != nil {
				return err
			}
			if r := byID[m.ID]; r != nil {
				r.out = claimed{m: m, ok: true}
			}
		}
		return nil
	}
}

// answerRow answers a request from its single statement's row: no row
// leaves it unanswered (not claimed, or stale); another error ends the
// group's transaction.
func answerRow[Req any](r *combined[Req, claimed], row *sql.Row) error {
	m, err := scanMsg(row)
	switch {
	case err == nil:
		r.out = claimed{m: m, ok: true}
	case !errors.Is(err, sql.ErrNoRows):
		return err
	}
	return nil
}

// claimed is a combined claim's answer.
type claimed struct {
	m  core.Message
	ok bool
}

// finishReq is one FinishAttempt of a combined outcome write.
type finishReq struct {
	m       core.Message
	due     *int64 // fallback_due_at
	claimed int
}

// finishManySQL is finishSQL for a group: each row's values from the
// arrays, fenced on its own attempt (its status test is written as in
// claimManySQL, for the same reason).
var finishManySQL = `UPDATE messages m SET
	status = CASE WHEN v.status = 'sent' AND m.pending_status <> '' THEN m.pending_status ELSE v.status END,
	provider_id = v.provider_id, last_error = v.last_error,
	error_code = CASE WHEN v.status = 'sent' AND m.pending_code <> '' THEN m.pending_code ELSE v.error_code END,
	updated_at = v.updated_at, sent_at = v.sent_at, due_at = v.due_at, attempts = v.attempts,
	delivered_at = CASE WHEN v.status = 'sent' AND m.pending_status = 'delivered' THEN m.pending_at
		WHEN v.status = 'delivered' THEN v.updated_at ELSE NULL END,
	fallback_due_at = CASE WHEN v.status = 'sent' AND m.pending_status <> '' THEN m.fallback_due_at ELSE v.fallback_due END,
	pending_status = '', pending_code = '', pending_at = NULL
	FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[],
		$9::int[], $10::bigint[], $11::int[])
		AS v(id, status, provider_id, last_error, error_code, updated_at, sent_at, due_at, attempts, fallback_due, claimed)
	WHERE m.id = v.id AND (m.status = 'sending') IS TRUE AND m.attempts = v.claimed
	RETURNING ` + prefixed("m.", msgCols)

// finishMany writes the outcomes of a group of distinct messages in one
// statement. A request whose row did not come back was stale (ok stays
// false).
func (s *Store) finishMany(ctx context.Context, batch []*combined[finishReq, claimed]) {
	q, args, byID := finishArgs(batch)
	if err := s.pgxQuery(ctx, answerRows(byID), q, args...); err != nil {
		failAll(batch, fmt.Errorf("store: finish message: %w", err))
	}
}

// finishArgs is finishManySQL's statement and arguments for a group, and
// its requests by message id.
func finishArgs(batch []*combined[finishReq, claimed]) (string, []any, map[string]*combined[finishReq, claimed]) {
	slices.SortFunc(batch, func(a, b *combined[finishReq, claimed]) int { return strings.Compare(a.in.m.ID, b.in.m.ID) })
	n := len(batch)
	ids, sts, pids, errs, codes := make([]string, n), make([]string, n), make([]string, n), make([]string, n), make([]string, n)
	upd, sent, due, fdue := make([]int64, n), make([]*int64, n), make([]int64, n), make([]*int64, n)
	att, cl := make([]int32, n), make([]int32, n)
	byID := make(map[string]*combined[finishReq, claimed], n)
	for i, r := range batch {
		m := r.in.m
		ids[i], sts[i], pids[i], errs[i], codes[i] = m.ID, string(m.Status), m.ProviderID, m.LastError, m.ErrorCode
		upd[i], due[i], fdue[i] = ms(m.UpdatedAt), ms(m.DueAt), r.in.due
		if m.SentAt != nil {
			v := ms(*m.SentAt)
			sent[i] = &v
		}
		att[i], cl[i] = int32(m.Attempts), int32(r.in.claimed)
		byID[m.ID] = r
	}
	return finishManySQL, []any{ids, sts, pids, errs, codes, upd, sent, due, att, fdue, cl}, byID
}

// claimTx claims a group on SQLite: claimSQL for each request, in one
// transaction (one commit, one write of the pages they share).
func (s *Store) claimTx(ctx context.Context, batch []*combined[claimReq, claimed]) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range batch {
			if err := answerRow(r, s.stmtRow(ctx, tx, claimSQL, r.in.now, r.in.id)); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		failAll(batch, fmt.Errorf("store: claim message: %w", err))
	}
}

// finishTx writes a group's outcomes on SQLite: finishSQL for each
// request, in one transaction.
func (s *Store) finishTx(ctx context.Context, batch []*combined[finishReq, claimed]) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range batch {
			m := r.in.m
			due := sql.NullInt64{Valid: r.in.due != nil}
			if due.Valid {
				due.Int64 = *r.in.due
			}
			row := s.stmtRow(ctx, tx, finishSQL, string(m.Status), m.ProviderID, m.LastError, m.ErrorCode,
				ms(m.UpdatedAt), nullMS(m.SentAt), ms(m.DueAt), m.Attempts, due, m.ID, r.in.claimed)
			if err := answerRow(r, row); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		failAll(batch, fmt.Errorf("store: finish message: %w", err))
	}
}

// combineJoint starts the send path's combiners on PostgreSQL: one joint
// runner takes the claims and the outcomes waiting and writes both groups
// at once (jointMany).
func (s *Store) combineJoint() {
	s.claims = newCombiner(0, func(r claimReq) string { return r.id }, s.claimMany)
	s.finishes = newCombiner(0, func(r finishReq) string { return r.m.ID }, s.finishMany)
	// The runner counts as the claims combiner's, so closing that stops
	// it; the outcomes combiner has none of its own.
	s.claims.wg.Add(1)
	go s.jointLoop()
}

// jointLoop is the joint runner: it gathers what waits of both kinds (up
// to combineMax of each), writes the distinct ones together, and any
// repeat of a message (a redelivered task beside its original) after.
func (s *Store) jointLoop() {
	c, f := s.claims, s.finishes
	defer c.wg.Done()
	cb := make([]*combined[claimReq, claimed], 0, combineMax)
	fb := make([]*combined[finishReq, claimed], 0, combineMax)
	for {
		cb, fb = cb[:0], fb[:0]
		select {
		case <-c.stop:
			return
		case r := <-c.reqs:
			cb = append(cb, r)
		case r := <-f.reqs:
			fb = append(fb, r)
		}
	more:
		for len(cb) < combineMax && len(fb) < combineMax {
			select {
			case r := <-c.reqs:
				cb = append(cb, r)
			case r := <-f.reqs:
				fb = append(fb, r)
			default:
				break more
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), combineTimeout)
		cFirst, cRest := c.distinct(cb)
		fFirst, fRest := f.distinct(fb)
		s.jointMany(ctx, cFirst, fFirst)
		c.runDistinct(ctx, cRest) // run: claimMany
		f.runDistinct(ctx, fRest) // run: finishMany
		cancel()
		release(cb)
		release(fb)
	}
}

// jointMany writes a group of claims and a group of outcomes in one pgx
// batch: one round trip, and one implicit transaction, so one commit for
// both. The claims run first; a message cannot be in both groups but as a
// stale outcome of an earlier attempt, which its attempt fence drops as it
// would after the claim in its own statement.
func (s *Store) jointMany(ctx context.Context, cb []*combined[claimReq, claimed], fb []*combined[finishReq, claimed]) {
	switch {
	case len(cb) == 0:
		s.finishMany(ctx, fb)
		return
	case len(fb) == 0:
		s.claimMany(ctx, cb)
		return
	}
	cq, cArgs, cByID := claimArgs(cb)
	fq, fArgs, fByID := finishArgs(fb)
	err := s.pgxBatch(ctx, pipeQuery{sql: cq, args: cArgs, read: answerRows(cByID)},
		pipeQuery{sql: fq, args: fArgs, read: answerRows(fByID)})
	if err != nil {
		// One transaction: neither group was written (whatever rows came
		// back before the failure). Each group is tried again on its own,
		// so one kind's failure (a claim chosen as a deadlock's victim
		// beside a campaign's pause) does not fail the other: a lost
		// outcome would leave its sent message to be sent again once its
		// lease runs out.
		for _, r := range cb {
			r.out, r.err = claimed{}, nil
		}
		for _, r := range fb {
			r.out, r.err = claimed{}, nil
		}
		s.claimMany(ctx, cb)
		s.finishMany(ctx, fb)
	}
}
