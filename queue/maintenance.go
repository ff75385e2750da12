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

// TypePurgeWebhooks forgets provider deliveries older than WebhookRetention.
const TypePurgeWebhooks = "maintenance:purge_webhooks"

// WebhookRetention is how long a provider delivery is remembered. Stripe
// retries an event for up to three days and Twilio within minutes; a
// month also covers a manual resend from Stripe's dashboard. Effects stay
// idempotent past it (ledger references, inbound ids, status ranks).
const WebhookRetention = 30 * 24 * time.Hour

// WebhookPurger deletes old webhook delivery records.
type WebhookPurger interface {
	PurgeWebhooks(ctx context.Context, before time.Time) (int64, error)
}

// PurgeWebhooks returns the handler of TypePurgeWebhooks.
func PurgeWebhooks(p WebhookPurger, now func() time.Time, log *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		n, err := p.PurgeWebhooks(ctx, now().Add(-WebhookRetention))
		if err != nil {
			return fmt.Errorf("purge webhook events: %w", err)
		}
		log.InfoContext(ctx, "purged webhook events", "count", n)
		return nil
	}
}

// TypeReconcileCalls asks the telephony provider about calls whose status
// callbacks stopped (left ringing or in progress past StuckCallAfter).
const TypeReconcileCalls = "maintenance:reconcile_calls"

// StuckCallAfter is how long a call may stay ringing or in progress
// without a report before it is reconciled with the provider's Calls API.
// Calls to a centre rarely last this long; a longer call is asked about
// and stays as it is while the provider says it is in progress.
const StuckCallAfter = 2 * time.Hour

// CallReconciler reconciles stuck calls.
type CallReconciler interface {
	ReconcileStuck(ctx context.Context, olderThan time.Duration, limit int) (int, error)
}

// ReconcileCalls returns the handler of TypeReconcileCalls.
func ReconcileCalls(r CallReconciler, log *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		n, err := r.ReconcileStuck(ctx, StuckCallAfter, 100)
		if err != nil {
			return fmt.Errorf("reconcile calls: %w", err)
		}
		if n > 0 {
			log.InfoContext(ctx, "reconciled stuck calls", "count", n)
		}
		return nil
	}
}

// TypePurgeSelfServe forgets the self-service limits' hits, one-time codes
// and start tokens once no limit window or expiry needs them.
const TypePurgeSelfServe = "maintenance:purge_selfserve"

// SelfServeRetention is how long hits are kept: past the longest limit
// window (an hour).
const SelfServeRetention = 2 * time.Hour

// SelfServePurger deletes old self-service records.
type SelfServePurger interface {
	PurgeSelfServe(ctx context.Context, before time.Time) (int64, error)
}

// PurgeSelfServe returns the handler of TypePurgeSelfServe.
func PurgeSelfServe(p SelfServePurger, now func() time.Time, log *slog.Logger) asynq.HandlerFunc {
	return func(ctx context.Context, _ *asynq.Task) error {
		n, err := p.PurgeSelfServe(ctx, now().Add(-SelfServeRetention))
		if err != nil {
			return fmt.Errorf("purge self-service records: %w", err)
		}
		log.InfoContext(ctx, "purged self-service records", "count", n)
		return nil
	}
}
