package notify

import (
	"context"

	"github.com/bookinggw/gateway/core"
)

func canManageEvents(p core.Principal) error {
	return p.Require(core.RoleDirector, core.RoleAdministrator)
}

// FailedEvents lists the organization's events that could not be built into
// messages, with their errors.
func (d *Dispatcher) FailedEvents(ctx context.Context, p core.Principal, pg core.Page) ([]core.FailedEvent, error) {
	if err := canManageEvents(p); err != nil {
		return nil, err
	}
	return d.c.Store.FailedEvents(ctx, p.OrgID, pg)
}

// RetryEvent puts a failed event back in the relay's way (after staff fixed
// what it needed) and nudges the relay.
func (d *Dispatcher) RetryEvent(ctx context.Context, p core.Principal, id string) (core.Event, error) {
	if err := canManageEvents(p); err != nil {
		return core.Event{}, err
	}
	e, err := d.c.Store.RetryEvent(ctx, p.OrgID, id)
	if err != nil {
		return e, err
	}
	if err := d.c.Enqueuer.Publish(ctx, e); err != nil {
		// The event is pending again: the periodic relay takes it.
		d.c.Log.WarnContext(ctx, "relay nudge failed", "event_id", e.ID, "error", err.Error())
	}
	return e, nil
}
