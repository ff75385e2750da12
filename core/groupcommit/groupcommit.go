// Package groupcommit lets concurrent callers share one durable write: each
// submits its item and waits; one flusher writes every item queued so far
// in one go (one statement, one commit) and wakes each caller with its own
// result. There is no timer: while a flush is in flight new items
// accumulate, and the next flush takes them all (up to a bound). Under load
// a commit is paid once per batch instead of once per caller; alone, a
// caller pays what it would have paid without the batcher.
package groupcommit

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"
)

// Flush writes a batch and returns one result per item, in order. An error
// fails the whole batch: every caller in it gets the error, and Flush must
// then have written nothing (one transaction).
type Flush[T, R any] func(ctx context.Context, items []T) ([]R, error)

// Batcher groups the items of concurrent Do calls into Flush calls.
type Batcher[T, R any] struct {
	flush   Flush[T, R]
	max     int
	timeout time.Duration

	mu       sync.Mutex
	pending  []*waiter[T, R]
	flushing bool
}

type waiter[T, R any] struct {
	item T
	// taken and cancelled are guarded by the batcher's mutex: a caller
	// that gives up before its item is taken withdraws it.
	taken, cancelled bool
	done             chan outcome[R]
}

type outcome[R any] struct {
	r   R
	err error
}

// New returns a batcher whose flushes take at most max items and run with
// at most timeout (a flush serves many callers, so it runs under none of
// their contexts).
func New[T, R any](max int, timeout time.Duration, flush Flush[T, R]) (*Batcher[T, R], error) {
	if flush == nil || max < 1 || timeout <= 0 {
		return nil, errors.New("groupcommit: New needs a flush, a batch bound and a timeout")
	}
	return &Batcher[T, R]{flush: flush, max: max, timeout: timeout}, nil
}

// Do submits item and waits for the flush that writes it. When ctx ends
// first, Do returns ctx's error: if no flush had taken the item yet it is
// withdrawn and never written; otherwise the flush goes on for the batch
// (and may commit the item) without this caller.
func (b *Batcher[T, R]) Do(ctx context.Context, item T) (R, error) {
	w := &waiter[T, R]{item: item, done: make(chan outcome[R], 1)}
	b.mu.Lock()
	b.pending = append(b.pending, w)
	if !b.flushing {
		b.flushing = true
		go b.run()
	}
	b.mu.Unlock()
	select {
	case o := <-w.done:
		return o.r, o.err
	case <-ctx.Done():
		b.mu.Lock()
		if !w.taken {
			w.cancelled = true
		}
		b.mu.Unlock()
		var zero R
		return zero, ctx.Err()
	}
}

// Pending is how many items wait for a flush to take them (withdrawn ones
// included until a flush skips them): a gauge for metrics and tests.
func (b *Batcher[T, R]) Pending() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.pending)
}

// run flushes until nothing is pending.
func (b *Batcher[T, R]) run() {
	for {
		batch := b.take()
		if batch == nil {
			return
		}
		b.flushBatch(batch)
	}
}

// take removes up to max pending items that are not withdrawn; nil (and
// the flusher stops) when there are none.
func (b *Batcher[T, R]) take() []*waiter[T, R] {
	b.mu.Lock()
	defer b.mu.Unlock()
	var batch []*waiter[T, R]
	i := 0
	for ; i < len(b.pending) && len(batch) < b.max; i++ {
		w := b.pending[i]
		b.pending[i] = nil
		if w.cancelled {
			continue
		}
		w.taken = true
		batch = append(batch, w)
	}
	b.pending = b.pending[i:]
	if len(b.pending) == 0 {
		b.pending = nil // let the backing array go
	}
	if batch == nil {
		b.flushing = false
	}
	return batch
}

func (b *Batcher[T, R]) flushBatch(batch []*waiter[T, R]) {
	items := make([]T, len(batch))
	for i, w := range batch {
		items[i] = w.item
	}
	ctx, cancel := context.WithTimeout(context.Background(), b.timeout)
	rs, err := b.safeFlush(ctx, items)
	cancel()
	if err == nil && len(rs) != len(items) {
		err = fmt.Errorf("groupcommit: flush returned %d results for %d items", len(rs), len(items))
	}
	for i, w := range batch {
		if err != nil {
			w.done <- outcome[R]{err: err}
			continue
		}
		w.done <- outcome[R]{r: rs[i]}
	}
}

// safeFlush turns a panicking flush into an error for its callers, who
// would otherwise wait forever on a dead flusher.
func (b *Batcher[T, R]) safeFlush(ctx context.Context, items []T) (rs []R, err error) {
	defer func() {
		if p := recover(); p != nil {
			rs, err = nil, fmt.Errorf("groupcommit: flush panicked: %v", p)
		}
	}()
	return b.flush(ctx, items)
}
