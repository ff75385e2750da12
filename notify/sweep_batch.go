package notify

import (
	"context"
	"errors"

	"github.com/bookinggw/gateway/core"
)

// BatchEnqueuer enqueues many send tasks in one pipelined pass (the queue
// client's EnqueueSends); the sweeper uses it when the enqueuer has it.
type BatchEnqueuer interface {
	EnqueueSends(ctx context.Context, msgs []core.Message) error
}

// enqueueAll queues the sweeper's messages: in one batch when the
// enqueuer can (a campaign leaves thousands of rows due at once, and one
// round trip each made a sweep pass take seconds), else one by one. It
// returns how many were handed over.
func (d *Dispatcher) enqueueAll(ctx context.Context, ms []core.Message) (int, error) {
	if b, ok := d.c.Enqueuer.(BatchEnqueuer); ok {
		if err := b.EnqueueSends(ctx, ms); err != nil {
			return 0, err
		}
		return len(ms), nil
	}
	var errs []error
	n := 0
	for _, m := range ms {
		if err := d.c.Enqueuer.EnqueueSend(ctx, m); err != nil {
			errs = append(errs, err)
			continue
		}
		n++
	}
	return n, errors.Join(errs...)
}
