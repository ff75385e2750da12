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
	var verdict core.SendVerdict
	if m.Kind == core.KindCampaign && m.CampaignID != "" && d.campaigns != nil {
		if verdict, err = d.campaigns.CheckSend(ctx, m); err != nil {
			return d.reschedule(ctx, m, time.Second, err.Error(), "", false)
		}
		if done, err := d.applyVerdict(ctx, m, verdict); done {
			return err
		}
	}
	if d.c.Pacer != nil {
		if err := d.c.Pacer.Pace(ctx, m, verdict.PerMinute); err != nil {
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
		Text: m.Body, HTML: m.HTML, Buttons: m.Buttons, Kind: m.Kind, ContentSID: verdict.ContentSID}
	if verdict.ContentSID != "" {
		// A campaign's WhatsApp template: the row's body is its variables.
		out.ContentVariables = m.Body
	}
	if m.Kind == core.KindCampaign && m.CampaignID != "" && d.campaigns != nil {
		// The pacer may have waited: a pause or cancel meanwhile still
		// holds the message, as it is not handed over yet.
		st, err := d.campaigns.CampaignStatus(ctx, m.CampaignID)
		if err != nil {
			return d.reschedule(ctx, m, time.Second, err.Error(), "", false)
		}
		v := core.SendVerdict{Hold: st == core.CampaignPaused}
		if st == core.CampaignCancelled {
			v.Skip = "campaign cancelled"
		}
		if done, err := d.applyVerdict(ctx, m, v); done {
			return err
		}
	}
	if (m.Channel == core.ChannelSMS || m.Channel == core.ChannelWhatsApp) && d.c.PublicURL != "" {
		// The message and attempt ride in the callback URL (Twilio signs
		// it), so a report that overtakes our write of the SID still finds
		// its row.
		out.StatusCallback = StatusCallbackURL(d.c.PublicURL, m.ID, m.Attempts)
	}
	sent, err := sender.Send(ctx, out)
	if err != nil {
		ferr := d.fail(ctx, m, err)
		var se *core.SendError
		if m.CampaignID != "" && m.Kind == core.KindCampaign && d.campaigns != nil && errors.As(err, &se) && se.Permanent {
			m.ErrorCode, m.LastError = se.Code, se.Error()
			if gerr := d.campaigns.Failed(ctx, m); gerr != nil {
				d.c.Log.WarnContext(ctx, "campaign failure check", "campaign_id", m.CampaignID, "error", gerr.Error())
			}
		}
		return ferr
	}
	now := d.now()
	m.Status, m.ProviderID, m.SentAt, m.UpdatedAt, m.LastError, m.ErrorCode = core.MsgSent, sent.ProviderID, &now, now, "", ""
	if sent.Status == "delivered" {
		m.Status = core.MsgDelivered
	}
	done, err := d.finish(ctx, m, m.Attempts)
	if err != nil || done.Status == m.Status {
		return err
	}
	// A report parked while we were sending was applied with the outcome.
	d.c.Counter.Inc(done.Channel, done.Status)
	return d.runFallback(ctx, done)
}

// applyVerdict holds (paused), skips (cancelled, opted out) or defers
// (outside the sending window) a claimed campaign message; done reports
// that the send stops here.
func (d *Dispatcher) applyVerdict(ctx context.Context, m core.Message, v core.SendVerdict) (bool, error) {
	claimed := m.Attempts
	now := d.now()
	switch {
	case v.Hold:
		m.Status, m.UpdatedAt, m.LastError = core.MsgPaused, now, "campaign paused"
		m.Attempts-- // a held message has not been tried
	case v.Skip != "":
		m.Status, m.UpdatedAt, m.LastError = core.MsgSkipped, now, v.Skip
		m.Attempts--
	case v.Wait > 0:
		return true, d.reschedule(ctx, m, v.Wait, "outside the recipient's sending window", "", false)
	default:
		return false, nil
	}
	_, err := d.finish(ctx, m, claimed)
	return true, ignoreStale(err)
}

// StatusCallbackURL is the Twilio status callback of one attempt of a message.
func StatusCallbackURL(publicURL, id string, attempt int) string {
	return fmt.Sprintf("%s/webhooks/twilio/status?m=%s&a=%d", publicURL, id, attempt)
}

// finish writes an attempt's outcome fenced on the attempt claimed. A stale
// attempt (the lease ran out and a newer one owns the message) is dropped
// and reported as done: its task must not be retried.
func (d *Dispatcher) finish(ctx context.Context, m core.Message, claimed int) (core.Message, error) {
	done, err := d.c.Store.FinishAttempt(ctx, m, claimed)
	if errors.Is(err, core.ErrStaleAttempt) {
		d.c.Log.WarnContext(ctx, "late outcome of a stale attempt dropped", "message_id", m.ID, "attempt", claimed)
		d.c.Problems.Inc(ProblemStaleAttempt)
		return done, err
	}
	if err != nil {
		return done, err
	}
	if m.Status != core.MsgQueued {
		d.c.Counter.Inc(m.Channel, m.Status)
	}
	return done, nil
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
	done, err := d.finish(ctx, m, m.Attempts)
	if err != nil {
		return ignoreStale(err)
	}
	d.c.Log.WarnContext(ctx, "message failed", "message_id", m.ID, "channel", string(m.Channel), "code", se.Code, "permanent", se.Permanent)
	return d.runFallback(ctx, done)
}

// reschedule puts the message back to queued, due after wait.
func (d *Dispatcher) reschedule(ctx context.Context, m core.Message, wait time.Duration, why, code string, attempt bool) error {
	claimed := m.Attempts
	now := d.now()
	m.Status, m.DueAt, m.UpdatedAt, m.LastError, m.ErrorCode = core.MsgQueued, now.Add(wait), now, why, code
	if !attempt {
		m.Attempts-- // waiting for the rate limit is not a failed attempt
	}
	if _, err := d.finish(ctx, m, claimed); err != nil {
		return ignoreStale(err)
	}
	return d.c.Enqueuer.EnqueueSend(ctx, m)
}

func ignoreStale(err error) error {
	if errors.Is(err, core.ErrStaleAttempt) {
		return nil
	}
	return err
}

// runFallback writes the next channel's message of a message that failed
// for good (synchronously, or by a provider's report) and clears the debt.
// The debt is on the row, so a failure here is retried by the sweeper.
func (d *Dispatcher) runFallback(ctx context.Context, m core.Message) error {
	if m.Status != core.MsgFailed && m.Status != core.MsgUndelivered {
		return nil
	}
	if err := d.fallback(ctx, m); err != nil {
		d.c.Problems.Inc(ProblemFallback)
		return err
	}
	return d.c.Store.ClearFallback(ctx, m.ID)
}

// Fallback writes the fallback a message owes, if it still owes one (the
// task queued by a provider's permanent failure report).
func (d *Dispatcher) Fallback(ctx context.Context, id string) error {
	m, due, err := d.c.Store.GetFallbackDue(ctx, id)
	if err != nil || !due {
		return err
	}
	return d.runFallback(ctx, m)
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
	next, err := d.build(ctx, nil, e, core.Intent{Kind: m.Kind, Recipient: core.Recipient{Kind: m.RecipientKind, ID: m.RecipientID}},
		m.Fallback, "/"+string(m.Fallback[0]))
	if err != nil {
		return err
	}
	next.Fallback = m.Fallback[1:]
	_, err = d.insert(ctx, next)
	return err
}

// Sweep re-enqueues messages that should be in the queue but may not be (a
// Redis flush, a worker killed mid-send), applies provider status reports
// whose task was lost, writes fallbacks still owed and relays stranded
// events. Each step runs whatever the others do: an error
// is logged and counted, and the next item or step goes on.
func (d *Dispatcher) Sweep(ctx context.Context, grace, sendingLease time.Duration) (int, error) {
	var errs []error
	note := func(problem, what string, err error, attrs ...any) {
		d.c.Problems.Inc(problem)
		d.c.Log.ErrorContext(ctx, "sweep: "+what, append(attrs, "error", err.Error())...)
		errs = append(errs, err)
	}
	if _, err := d.RelayEvents(ctx); err != nil {
		note(ProblemRelay, "relay failed", err)
	}
	now := d.now()
	ins, err := d.c.Store.UnhandledInbound(ctx, now.Add(-grace), 200)
	if err != nil {
		note(ProblemSweep, "unhandled inbound", err)
	}
	for _, in := range ins {
		if err := d.c.Enqueuer.EnqueueInbound(ctx, in.ID); err != nil {
			note(ProblemEnqueue, "enqueue inbound", err, "inbound_id", in.ID)
		}
	}
	// Status reports before fallbacks: a permanent failure applied here
	// owes its fallback, written at once.
	d.sweepStatuses(ctx, now.Add(-grace), note)
	owed, err := d.c.Store.DueFallbacks(ctx, now.Add(-grace), 200)
	if err != nil {
		note(ProblemSweep, "due fallbacks", err)
	}
	for _, m := range owed {
		if err := d.runFallback(ctx, m); err != nil {
			note(ProblemFallback, "fallback", err, "message_id", m.ID)
		}
	}
	ms, err := d.c.Store.StrandedMessages(ctx, now.Add(-grace), now.Add(-sendingLease), 500)
	if err != nil {
		note(ProblemSweep, "stranded messages", err)
	}
	var due []core.Message
	for _, m := range ms {
		if m.Status == core.MsgSending {
			// The worker died between claiming and recording the outcome;
			// the provider may or may not have the message. Sending again
			// risks a duplicate; not sending risks a loss. Losing a
			// reminder is worse, so it is sent again. (The lease is longer
			// than a send can take, so a live worker's late outcome is
			// fenced out rather than racing this one.)
			rq, err := d.c.Store.RequeueMessage(ctx, "", m.ID, now)
			if err != nil {
				if core.ErrorCode(err) != core.CodeConflict { // a conflict: it moved on meanwhile
					note(ProblemRequeue, "requeue", err, "message_id", m.ID)
				}
				continue
			}
			m = rq
		}
		due = append(due, m)
	}
	n, err := d.enqueueAll(ctx, due)
	if err != nil {
		note(ProblemEnqueue, "enqueue sends", err)
	}
	return n, errors.Join(errs...)
}
