package notify

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/bookinggw/gateway/core"
)

// Send sends one outbox message. It does nothing unless the message is
// queued and due, so a repeated task (a sweeper re-enqueue, a redelivery)
// never sends twice. Temporary failures are rescheduled from the database
// with back-off (or the provider's Retry-After); permanent ones fall back to
// the recipient's next channel.
func (d *Dispatcher) Send(ctx context.Context, id string) error {
	m, claimed, err := d.c.Store.ClaimMessage(ctx, id, d.now())
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil // the row is gone; nothing to send
	}
	if err != nil {
		return err
	}
	if !claimed {
		if m.Status == core.MsgQueued {
			return d.c.Enqueuer.EnqueueSend(ctx, m) // not due yet
		}
		return nil
	}
	if d.c.Pacer != nil {
		if err := d.c.Pacer.Pace(ctx, m); err != nil {
			var wait *DeferError
			if errors.As(err, &wait) {
				return d.reschedule(ctx, m, wait.Wait, "rate limited", "", false)
			}
			return d.reschedule(ctx, m, time.Second, err.Error(), "", false)
		}
	}
	sender := d.c.Senders[m.Channel]
	if sender == nil {
		return d.fail(ctx, m, &core.SendError{Permanent: true, Code: "no_adapter", Err: fmt.Errorf("no adapter for channel %s", m.Channel)})
	}
	out := core.Outbound{ID: m.ID, OrgID: m.OrgID, Channel: m.Channel, To: m.To, From: m.From, Subject: m.Subject,
		Text: m.Body, HTML: m.HTML, Buttons: m.Buttons}
	if (m.Channel == core.ChannelSMS || m.Channel == core.ChannelWhatsApp) && d.c.PublicURL != "" {
		out.StatusCallback = d.c.PublicURL + "/webhooks/twilio/status"
	}
	sent, err := sender.Send(ctx, out)
	if err != nil {
		return d.fail(ctx, m, err)
	}
	now := d.now()
	m.Status, m.ProviderID, m.SentAt, m.UpdatedAt, m.LastError, m.ErrorCode = core.MsgSent, sent.ProviderID, &now, now, "", ""
	if sent.Status == "delivered" {
		m.Status = core.MsgDelivered
	}
	d.c.Counter.Inc(m.Channel, m.Status)
	return d.c.Store.FinishMessage(ctx, m)
}

// DeferError asks for the message to be tried again after Wait.
type DeferError struct{ Wait time.Duration }

func (e *DeferError) Error() string { return fmt.Sprintf("deferred for %s", e.Wait) }

func (d *Dispatcher) fail(ctx context.Context, m core.Message, err error) error {
	var se *core.SendError
	if !errors.As(err, &se) {
		se = &core.SendError{Err: err}
	}
	if !se.Permanent && m.Attempts < d.c.MaxAttempts {
		wait := se.RetryAfter
		if wait <= 0 {
			wait = backoff(m.Attempts)
		}
		return d.reschedule(ctx, m, wait, se.Error(), se.Code, true)
	}
	now := d.now()
	m.Status, m.LastError, m.ErrorCode, m.UpdatedAt = core.MsgFailed, se.Error(), se.Code, now
	d.c.Counter.Inc(m.Channel, m.Status)
	if err := d.c.Store.FinishMessage(ctx, m); err != nil {
		return err
	}
	d.c.Log.WarnContext(ctx, "message failed", "message_id", m.ID, "channel", string(m.Channel), "code", se.Code, "permanent", se.Permanent)
	return d.fallback(ctx, m)
}

// reschedule puts the message back to queued, due after wait.
func (d *Dispatcher) reschedule(ctx context.Context, m core.Message, wait time.Duration, why, code string, attempt bool) error {
	now := d.now()
	m.Status, m.DueAt, m.UpdatedAt, m.LastError, m.ErrorCode = core.MsgQueued, now.Add(wait), now, why, code
	if !attempt {
		m.Attempts-- // waiting for the rate limit is not a failed attempt
	}
	if err := d.c.Store.FinishMessage(ctx, m); err != nil {
		return err
	}
	return d.c.Enqueuer.EnqueueSend(ctx, m)
}

// backoff grows 5 s, 10 s, 20 s … up to 10 minutes.
func backoff(attempts int) time.Duration {
	d := 5 * time.Second << min(max(attempts-1, 0), 7)
	return min(d, 10*time.Minute)
}

// fallback writes a new message for the recipient's next channel.
func (d *Dispatcher) fallback(ctx context.Context, m core.Message) error {
	if len(m.Fallback) == 0 || m.EventID == "" {
		return nil
	}
	e, err := d.eventOf(ctx, m)
	if err != nil {
		return err
	}
	next, err := d.build(ctx, e, core.Intent{Kind: m.Kind, Recipient: core.Recipient{Kind: m.RecipientKind, ID: m.RecipientID}},
		m.Fallback, "/"+string(m.Fallback[0]))
	if err != nil {
		return err
	}
	next.Fallback = m.Fallback[1:]
	_, err = d.insert(ctx, next)
	return err
}

// Sweep re-enqueues messages that should be in the queue but may not be (a
// Redis flush, a worker killed mid-send) and relays stranded events.
func (d *Dispatcher) Sweep(ctx context.Context, grace, sendingLease time.Duration) (int, error) {
	if _, err := d.RelayEvents(ctx); err != nil {
		return 0, err
	}
	now := d.now()
	ins, err := d.c.Store.UnhandledInbound(ctx, now.Add(-grace), 200)
	if err != nil {
		return 0, err
	}
	for _, in := range ins {
		if err := d.c.Enqueuer.EnqueueInbound(ctx, in.ID); err != nil {
			return 0, err
		}
	}
	ms, err := d.c.Store.StrandedMessages(ctx, now.Add(-grace), now.Add(-sendingLease), 500)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, m := range ms {
		if m.Status == core.MsgSending {
			// The worker died between claiming and recording the outcome;
			// the provider may or may not have the message. Sending again
			// risks a duplicate; not sending risks a loss. Losing a
			// reminder is worse, so it is sent again.
			if m, err = d.c.Store.RequeueMessage(ctx, "", m.ID, now); err != nil {
				continue
			}
		}
		if err := d.c.Enqueuer.EnqueueSend(ctx, m); err != nil {
			return n, err
		}
		n++
	}
	return n, nil
}
