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

// Inbound outcomes counted by InboundCounter.
const (
	InboundMatched   = "matched"
	InboundUnmatched = "unmatched"
)

// inboundOwner is where an inbound message belongs.
type inboundOwner struct {
	orgID, centerID, clientID string
	// senders are the From values of outbound messages sent from the
	// address the client wrote to.
	senders    []string
	ok         bool
	candidates int
	// locale is the client's language, else the organization's; empty
	// when unmatched.
	locale string
}

// HandleInbound acts on a client's SMS or WhatsApp message, once. The
// message belongs to the organization that owns the address it was sent to
// (a centre's or organization's number or messaging service); on a shared
// sender, to the organization of the latest message sent from it to that
// phone. With several candidates and no such message it waits for the
// operator, unmatched, and touches no organization's data.
//
// In the resolved organization, a reply to its latest reminder from that
// address awaiting an answer confirms or cancels the visit; HELP gets the
// organization's help text from the address written to; anything else is a
// message for its staff (the chat). STOP and START belong to the address
// and the phone, not to an organization: carriers block every message from
// that address to that phone, so they are recorded even when unmatched.
func (d *Dispatcher) HandleInbound(ctx context.Context, id string) error {
	st := d.c.Store
	in, err := st.GetInbound(ctx, id)
	if err != nil || in.HandledAt != nil {
		return err
	}
	phone := strings.TrimPrefix(in.From, "whatsapp:")
	now := d.now()
	own, err := d.resolveInbound(ctx, in, phone)
	if err != nil {
		return err
	}
	// Words are read in the client's language (the organization's when the
	// client is unknown; every language's when the organization is).
	in.Intent = core.ParseReplyIn(in.Body, own.locale)
	in.OrgID, in.CenterID, in.ClientID = own.orgID, own.centerID, own.clientID
	if in.Intent == core.ReplyStop || in.Intent == core.ReplyStart {
		for _, addr := range in.Addresses() {
			o := core.SenderOptOut{Channel: in.Channel, Sender: addr, Phone: phone, At: now, InboundID: in.ID}
			if err := st.SetSenderOptOut(ctx, o, in.Intent == core.ReplyStop); err != nil {
				return err
			}
		}
	}
	if !own.ok {
		d.c.Log.WarnContext(ctx, "inbound message matches no single organization; it waits for the operator",
			"inbound_id", in.ID, "channel", string(in.Channel), "candidates", own.candidates)
		in.HandledAt = &now
		if err := st.FinishInbound(ctx, in); err != nil {
			return err
		}
		d.c.Inbound.IncInbound(in.Channel, InboundUnmatched)
		return nil
	}
	replyFrom := in.ServiceSID
	if replyFrom == "" {
		replyFrom = strings.TrimPrefix(in.To, "whatsapp:")
	}
	switch in.Intent {
	case core.ReplyStop:
		// A STOP while a reminder awaits an answer is often meant as "I
		// cannot come": say the client is unsubscribed and how to cancel.
		m, err := st.AwaitingReply(ctx, own.orgID, phone, own.senders, now)
		if core.ErrorCode(err) == core.CodeNotFound {
			break
		}
		if err != nil {
			return err
		}
		if a, err := st.GetAppointment(ctx, own.orgID, m.AppointmentID); err != nil {
			return err
		} else if a.ConfirmedAt != nil {
			break // answered already: nothing awaits
		}
		in.ClientID, in.AppointmentID = m.RecipientID, m.AppointmentID
		e := synthetic("stop:"+in.ID, in.OrgID, &core.Notice{EventRefs: core.EventRefs{ClientID: m.RecipientID, AppointmentID: m.AppointmentID},
			Via: string(in.Channel), ReplyFrom: replyFrom})
		n, err := d.build(ctx, nil, e, core.Intent{Kind: core.KindStopNotice, Recipient: core.Recipient{Kind: "client", ID: m.RecipientID}}, nil, "")
		if err != nil {
			return err
		}
		if _, err := d.insert(ctx, n); err != nil {
			return err
		}
	case core.ReplyConfirm, core.ReplyCancel:
		m, err := st.AwaitingReply(ctx, own.orgID, phone, own.senders, now)
		if core.ErrorCode(err) == core.CodeNotFound {
			in.Intent = core.ReplyOther // a "yes" to nothing: a chat message
			break
		}
		if err != nil {
			return err
		}
		in.ClientID, in.AppointmentID = m.RecipientID, m.AppointmentID
		if m.CenterID != "" {
			in.CenterID = m.CenterID
		}
		if in.Intent == core.ReplyConfirm {
			_, err = d.c.Actions.ConfirmByClient(ctx, m.OrgID, m.AppointmentID, string(in.Channel))
		} else {
			_, err = d.c.Actions.CancelByClient(ctx, m.OrgID, m.AppointmentID, string(in.Channel))
		}
		if err != nil && core.ErrorCode(err) != core.CodeConflict {
			return err
		}
	case core.ReplyHelp:
		if in.ClientID != "" {
			e := synthetic("help:"+in.ID, in.OrgID, &core.Notice{EventRefs: core.EventRefs{ClientID: in.ClientID},
				Via: string(in.Channel), CenterID: in.CenterID, ReplyFrom: replyFrom})
			m, err := d.build(ctx, nil, e, core.Intent{Kind: core.KindHelp, Recipient: core.Recipient{Kind: "client", ID: in.ClientID}}, nil, "")
			if err != nil {
				return err
			}
			if _, err := d.insert(ctx, m); err != nil {
				return err
			}
		}
	}
	if in.Channel == core.ChannelWhatsApp && in.Intent == core.ReplyOther && d.c.Chats != nil {
		// Not a reply word nor an opt-out: a message for the centre's
		// chat. A failure leaves the inbound unhandled, so it is retried;
		// the chat message is stored once per MessageSid.
		if err := d.c.Chats.WhatsApp(ctx, in); err != nil {
			return err
		}
	}
	in.HandledAt = &now
	if err := st.FinishInbound(ctx, in); err != nil {
		return err
	}
	d.c.Inbound.IncInbound(in.Channel, InboundMatched)
	return nil
}

// resolveInbound finds the organization, centre and client of an inbound
// message (core.MatchInbound and Resolve decide; this reads what they need).
func (d *Dispatcher) resolveInbound(ctx context.Context, in core.Inbound, phone string) (inboundOwner, error) {
	st := d.c.Store
	addrs := in.Addresses()
	owners, err := st.SenderOwners(ctx, addrs)
	if err != nil {
		return inboundOwner{}, err
	}
	clients, err := st.ClientsByPhone(ctx, phone)
	if err != nil {
		return inboundOwner{}, err
	}
	phoneOrgs := make([]string, 0, len(clients))
	for _, c := range clients {
		phoneOrgs = append(phoneOrgs, c.OrgID)
	}
	match := core.MatchInbound(addrs, owners, phoneOrgs)
	var latest *core.Message
	m, err := st.LatestOutbound(ctx, phone, match.Senders, match.Orgs)
	switch {
	case err == nil:
		latest = &m
	case core.ErrorCode(err) != core.CodeNotFound:
		return inboundOwner{}, err
	}
	own := inboundOwner{senders: match.Senders, candidates: len(match.Orgs)}
	own.orgID, own.centerID, own.ok = match.Resolve(latest)
	if !own.ok {
		return own, nil
	}
	// The client is the one the conversation was with, else the first of
	// the organization's clients with this phone (a family may share one).
	for _, c := range clients {
		if c.OrgID != own.orgID {
			continue
		}
		if latest != nil && latest.OrgID == own.orgID && latest.RecipientKind == "client" && latest.RecipientID == c.ID {
			own.clientID, own.locale = c.ID, c.Language
			break
		}
		if own.clientID == "" {
			own.clientID, own.locale = c.ID, c.Language
		}
	}
	if own.locale == "" {
		org, err := st.GetOrganization(ctx, own.orgID)
		if err != nil {
			return own, err
		}
		own.locale = org.Locale
	}
	return own, nil
}
