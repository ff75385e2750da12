package queue

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
)

// TypePurgeIdempotency forgets Idempotency-Key records older than a day.
const TypePurgeIdempotency = "maintenance:purge_idempotency"

// IdempotencyPurger deletes old idempotency records.
type IdempotencyPurger interface {
	PurgeIdempotent(ctx context.Context, before time.Time) (int64, error)
}

// PurgeIdempotency returns the handler of TypePurgeIdempotency. Keys are kept
// 24 hours: long enough for any client's retries, short enough to stay small.
func PurgeIdempotency(p IdempotencyPurger, now func() time.Time, log *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		n, err := p.PurgeIdempotent(ctx, now().Add(-24*time.Hour))
		if err != nil {
			return fmt.Errorf("purge idempotency keys: %w", err)
		}
		log.InfoContext(ctx, "purged idempotency keys", "count", n)
		return nil
	}
}
