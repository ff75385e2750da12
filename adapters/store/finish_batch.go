package store

import (
	"context"
	"database/sql"
	"errors"
	"sync"

	"github.com/bookinggw/gateway/core"
)

// finishBatchMax bounds the outcomes one transaction writes.
const finishBatchMax = 64

// FinishBatcher writes send outcomes of concurrent workers together: one
// transaction, one commit, for the outcomes that arrived while the last
// one was written (group commit). A campaign keeps every worker sending
// and finishing at once; each outcome in its own commit made the commits
// (PostgreSQL's WAL flush, SQLite's single writer) a large part of a
// message's cost. Each outcome keeps FinishAttempt's meaning, fence and
// result; if the batch fails, each is written on its own.
type FinishBatcher struct {
	s       *Store
	mu      sync.Mutex
	queue   []*finishReq
	running bool
}

type finishReq struct {
	m       core.Message
	claimed int
	out     core.Message
	err     error
	done    chan struct{}
}

// NewFinishBatcher batches FinishAttempt on s.
func NewFinishBatcher(s *Store) *FinishBatcher { return &FinishBatcher{s: s} }

// FinishAttempt is Store.FinishAttempt, written with the outcomes of the
// other workers finishing at the same time.
func (b *FinishBatcher) FinishAttempt(ctx context.Context, m core.Message, claimed int) (core.Message, error) {
	r := &finishReq{m: m, claimed: claimed, done: make(chan struct{})}
	b.mu.Lock()
	b.queue = append(b.queue, r)
	lead := !b.running
	b.running = true
	b.mu.Unlock()
	if lead {
		b.lead(context.WithoutCancel(ctx))
	}
	<-r.done
	return r.out, r.err
}

// lead writes one batch; if more arrived meanwhile, another goroutine
// writes them, so the leader's own caller is not held by later ones.
func (b *FinishBatcher) lead(ctx context.Context) {
	b.mu.Lock()
	n := min(len(b.queue), finishBatchMax)
	batch := b.queue[:n:n]
	b.queue = b.queue[n:]
	b.mu.Unlock()
	b.flush(ctx, batch)
	b.mu.Lock()
	more := len(b.queue) > 0
	b.running = more
	b.mu.Unlock()
	if more {
		go b.lead(ctx)
	}
}

func (b *FinishBatcher) flush(ctx context.Context, batch []*finishReq) {
	defer func() {
		for _, r := range batch {
			close(r.done)
		}
	}()
	if len(batch) == 1 {
		r := batch[0]
		r.out, r.err = b.s.FinishAttempt(ctx, r.m, r.claimed)
		return
	}
	err := b.s.tx(ctx, func(tx *sql.Tx) error {
		for _, r := range batch {
			m := r.m
			var due sql.NullInt64
			if m.Status == core.MsgFailed && len(m.Fallback) > 0 && m.EventID != "" {
				due = sql.NullInt64{Int64: ms(m.UpdatedAt), Valid: true}
			}
			out, err := scanMsg(b.s.stmtRow(ctx, tx, finishSQL, string(m.Status), m.ProviderID, m.LastError, m.ErrorCode, ms(m.UpdatedAt),
				nullMS(m.SentAt), ms(m.DueAt), m.Attempts, due, m.ID, r.claimed))
			switch {
			case errors.Is(err, sql.ErrNoRows):
				r.out, r.err = m, core.ErrStaleAttempt
			case err != nil:
				return err
			default:
				r.out, r.err = out, nil
			}
		}
		return nil
	})
	if err != nil {
		for _, r := range batch {
			r.out, r.err = b.s.FinishAttempt(ctx, r.m, r.claimed)
		}
	}
}
