package notify

import (
	"context"
	"strings"

	"github.com/bookinggw/gateway/core"
)

// ClientActions are the domain changes a client's reply can make.
type ClientActions interface {
	ConfirmByClient(ctx context.Context, orgID, id, via string) (core.Appointment, error)
	CancelByClient(ctx context.Context, orgID, id, via string) (core.Appointment, error)
}

// HandleInbound acts on a client's SMS or WhatsApp message, once: a reply
// to the latest reminder awaiting an answer confirms or cancels that visit;
// STOP and START record the opt-out or opt-in; HELP gets the help text;
// anything else stays as a message for staff (the chat).
func (d *Dispatcher) HandleInbound(ctx context.Context, id string) error {
	act := d.c.Actions
	in, err := d.c.Store.GetInbound(ctx, id)
	if err != nil || in.HandledAt != nil {
		return err
	}
	phone := strings.TrimPrefix(in.From, "whatsapp:")
	channel := in.Channel
	in.Intent = core.ParseReply(in.Body)
	now := d.now()
	switch in.Intent {
	case core.ReplyConfirm, core.ReplyCancel:
		m, err := d.c.Store.AwaitingReply(ctx, phone, now)
		if core.ErrorCode(err) == core.CodeNotFound {
			in.Intent = core.ReplyOther // a "yes" to nothing: a chat message
			break
		}
		if err != nil {
			return err
		}
		in.OrgID, in.ClientID, in.AppointmentID = m.OrgID, m.RecipientID, m.AppointmentID
		if in.Intent == core.ReplyConfirm {
			_, err = act.ConfirmByClient(ctx, m.OrgID, m.AppointmentID, string(channel))
		} else {
			_, err = act.CancelByClient(ctx, m.OrgID, m.AppointmentID, string(channel))
		}
		if err != nil && core.ErrorCode(err) != core.CodeConflict {
			return err
		}
	case core.ReplyStop, core.ReplyStart:
		clients, err := d.c.Store.ClientsByPhone(ctx, phone)
		if err != nil {
			return err
		}
		var at = &now
		if in.Intent == core.ReplyStart {
			at = nil
		}
		for _, c := range clients {
			if err := d.c.Store.SetOptOut(ctx, c.OrgID, c.ID, channel, at); err != nil {
				return err
			}
			in.OrgID, in.ClientID = c.OrgID, c.ID
		}
	case core.ReplyHelp:
		clients, err := d.c.Store.ClientsByPhone(ctx, phone)
		if err != nil {
			return err
		}
		if len(clients) > 0 {
			c := clients[0]
			in.OrgID, in.ClientID = c.OrgID, c.ID
			e := synthetic("help:"+in.ID, c.OrgID, &core.Notice{EventRefs: core.EventRefs{ClientID: c.ID}, Via: string(channel)})
			m, err := d.build(ctx, e, core.Intent{Kind: core.KindHelp, Recipient: core.Recipient{Kind: "client", ID: c.ID}}, nil, "")
			if err != nil {
				return err
			}
			if _, err := d.insert(ctx, m); err != nil {
				return err
			}
		}
	}
	if in.Intent == core.ReplyOther && in.OrgID == "" {
		// Keep it for staff: attach it to the client with this number.
		if clients, err := d.c.Store.ClientsByPhone(ctx, phone); err == nil && len(clients) > 0 {
			in.OrgID, in.ClientID = clients[0].OrgID, clients[0].ID
		}
	}
	in.HandledAt = &now
	return d.c.Store.FinishInbound(ctx, in)
}
