package notify

import (
	"context"
	"time"

	"github.com/bookinggw/gateway/core"
)

// StatusStore applies the provider status reports that the webhooks
// recorded (adapters/store: RecordStatus writes the receipt).
type StatusStore interface {
	// ApplyStatusReceipt applies a receipt's report once, marking the
	// receipt handled in the same commit; applied is false when it was
	// applied before (or is not a status receipt).
	ApplyStatusReceipt(ctx context.Context, provider, eventID string) (a core.AppliedStatus, applied bool, err error)
	// UnappliedStatuses lists receipts received before the cutoff whose
	// report is still to be applied.
	UnappliedStatuses(ctx context.Context, before time.Time, limit int) ([]core.StatusReceipt, error)
}

// ApplyStatus applies a provider's status report that the webhook recorded
// (the status task, and the sweeper for a task that was lost). The report
// moves the message forward only, waits on a row its attempt is still
// sending, and is applied once whoever runs it. A permanent failure writes
// the next channel's message (its debt is on the row: if that fails, the
// sweeper writes it) and counts toward its campaign's pause.
func (d *Dispatcher) ApplyStatus(ctx context.Context, provider, eventID string) error {
	a, applied, err := d.c.Store.ApplyStatusReceipt(ctx, provider, eventID)
	if err != nil || !applied {
		return err
	}
	m := a.Message
	switch a.Outcome {
	case core.StatusApplied:
		d.c.Counter.Inc(m.Channel, m.Status)
		if a.Report.Permanent && len(m.Fallback) > 0 && m.EventID != "" {
			if err := d.runFallback(ctx, m); err != nil {
				// The debt is on the row: the sweeper writes it.
				d.c.Log.WarnContext(ctx, "status: fallback", "message_id", m.ID, "error", err.Error())
			}
		}
		if a.Report.Permanent && m.Kind == core.KindCampaign && m.CampaignID != "" && d.campaigns != nil {
			// A permanent error known only from the report (a carrier's
			// refusal after Twilio accepted the message) counts toward
			// the campaign's pause like one the send returned. Best
			// effort: the report is applied either way.
			if err := d.campaigns.Failed(ctx, m); err != nil {
				d.c.Log.WarnContext(ctx, "status: campaign failure check", "campaign_id", m.CampaignID, "error", err.Error())
			}
		}
	case core.StatusUnknown:
		d.c.Log.InfoContext(ctx, "status report for an unknown message", "provider_id", a.Report.ProviderID)
	}
	return nil
}

// sweepStatuses applies the status receipts whose task was lost (a Redis
// flush, an enqueue that failed after the receipt was written).
func (d *Dispatcher) sweepStatuses(ctx context.Context, before time.Time, note func(problem, what string, err error, attrs ...any)) {
	rcs, err := d.c.Store.UnappliedStatuses(ctx, before, 500)
	if err != nil {
		note(ProblemSweep, "unapplied statuses", err)
		return
	}
	for _, rc := range rcs {
		if err := d.ApplyStatus(ctx, rc.Provider, rc.EventID); err != nil {
			note(ProblemStatus, "apply status", err, "provider", rc.Provider, "event_id", rc.EventID)
		}
	}
}
