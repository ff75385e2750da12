package notify

import (
	"context"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

// Messages that are not made from a stored domain event (reminders, manual
// reminders, auto-replies) carry a synthetic event id with this prefix and
// the data to rebuild it.
const syntheticPrefix = "x:"

func synthetic(id, orgID string, data *core.Notice) core.Event {
	return core.Event{ID: syntheticPrefix + id, OrgID: orgID, Data: data}
}

// eventOf finds the event a message was made from, rebuilding synthetic ones.
func (d *Dispatcher) eventOf(ctx context.Context, m core.Message) (core.Event, error) {
	if strings.HasPrefix(m.EventID, syntheticPrefix) {
		return synthetic(strings.TrimPrefix(m.EventID, syntheticPrefix), m.OrgID, &core.Notice{
			EventRefs: core.EventRefs{AppointmentID: m.AppointmentID, ClientID: m.RecipientID}}), nil
	}
	return d.c.Store.GetEvent(ctx, m.OrgID, m.EventID)
}

// QueueDueReminders turns reminders due within lookahead into outbox
// messages, each scheduled at its exact due instant. A reminder voided by a
// move or a cancellation meanwhile is not written.
func (d *Dispatcher) QueueDueReminders(ctx context.Context, lookahead time.Duration) (int, error) {
	rs := d.c.Store
	due, err := rs.DueReminders(ctx, d.now().Add(lookahead), 200)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, r := range due {
		a, err := d.c.Store.GetAppointment(ctx, r.OrgID, r.AppointmentID)
		if err != nil {
			return n, err
		}
		e := synthetic("reminder:"+r.ID, r.OrgID, &core.Notice{EventRefs: core.EventRefs{AppointmentID: a.ID, ClientID: a.ClientID}})
		m, err := d.buildReminder(ctx, e, a.ClientID, r.AskConfirm)
		if err != nil {
			return n, err
		}
		if m.DueAt.Before(r.Due) {
			m.DueAt = r.Due
		}
		ok, err := rs.QueueReminder(ctx, r, m)
		if err != nil {
			return n, err
		}
		if !ok {
			continue
		}
		d.dispatch(ctx, m)
		n++
	}
	return n, nil
}

// RemindNow sends a reminder at once for each appointment (seed: "Send
// reminder" on selected appointments); the messaging service has checked
// the caller and the appointments. It returns the messages.
func (d *Dispatcher) RemindNow(ctx context.Context, orgID string, as []core.Appointment) ([]core.Message, error) {
	var out []core.Message
	for _, a := range as {
		e := synthetic("manual:"+a.ID+":"+d.now().Format("20060102T150405.000"), orgID, &core.Notice{EventRefs: core.EventRefs{AppointmentID: a.ID, ClientID: a.ClientID}})
		// A reminder by hand asks for confirmation when the visit's policy does.
		p, err := core.ReminderPolicyOf(ctx, d.c.Store, orgID, a.CenterID, a.ServiceID)
		if err != nil {
			return nil, err
		}
		m, err := d.buildReminder(ctx, e, a.ClientID, p.AskConfirm)
		if err != nil {
			return nil, err
		}
		if m, err = d.insert(ctx, m); err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, nil
}

// buildReminder renders a reminder for a client: asking for a reply (1/YES,
// 2/NO) when ask is set and the client has SMS or WhatsApp, else a plain
// one.
func (d *Dispatcher) buildReminder(ctx context.Context, e core.Event, clientID string, ask bool) (core.Message, error) {
	to := core.Recipient{Kind: "client", ID: clientID}
	if ask {
		m, err := d.build(ctx, nil, e, core.Intent{Kind: core.KindReminderAsk, Recipient: to}, nil, "")
		if err != nil || m.Status != core.MsgSkipped {
			return m, err
		}
		// No SMS or WhatsApp: remind without asking for a reply.
	}
	return d.build(ctx, nil, e, core.Intent{Kind: core.KindReminder, Recipient: to}, nil, "")
}
