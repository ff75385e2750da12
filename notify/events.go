package notify

import (
	"context"

	"github.com/bookinggw/gateway/core"
)

// NudgeRelay wakes the relay for an event staff put back in its way; if
// the nudge fails the periodic relay takes it.
func (d *Dispatcher) NudgeRelay(ctx context.Context, e core.Event) {
	if err := d.c.Enqueuer.Publish(ctx, e); err != nil {
		d.c.Log.WarnContext(ctx, "relay nudge failed", "event_id", e.ID, "error", err.Error())
	}
}
