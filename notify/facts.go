package notify

import (
	"context"

	"github.com/bookinggw/gateway/core"
)

// facts is what a relay batch's messages are built from, read for the
// whole batch at once (prefetch): the appointments and clients they are
// about, the opt-outs of those clients' phones and the appointments' link
// tokens. Reference data (organization, services, staff, centres, template
// overrides) comes from refs. A nil *facts, or a record it lacks, reads
// from the store as before, so a message built alone (fallback, reminder,
// reply) and one whose record the batch read missed build the same way.
type facts struct {
	appts   map[string]core.Appointment
	clients map[string]clientFacts
	optOuts map[string][]core.SenderOptOut // by phone, every phone of clients
	tokens  map[string]string              // link token by appointment id
}

type clientFacts struct {
	c     core.Client
	prefs []core.ChannelPref
}

// prefetch reads the facts of a batch of events: one query for their
// appointments, one for the clients their intents address (with channels),
// one for those clients' opt-outs, and one statement writing the link
// tokens of the appointments whose messages carry one.
func (d *Dispatcher) prefetch(ctx context.Context, events []core.Event) (*facts, error) {
	f := &facts{appts: map[string]core.Appointment{}, clients: map[string]clientFacts{}, optOuts: map[string][]core.SenderOptOut{},
		tokens: map[string]string{}}
	var apptIDs, clientIDs []string
	seen := map[string]bool{}
	add := func(ids []string, id string) []string {
		if id == "" || seen[id] {
			return ids
		}
		seen[id] = true
		return append(ids, id)
	}
	for _, e := range events {
		intents := core.PlanEvent(e)
		if len(intents) == 0 {
			continue
		}
		apptIDs = add(apptIDs, e.Refs().AppointmentID)
		for _, in := range intents {
			if in.Recipient.Kind == "client" {
				clientIDs = add(clientIDs, in.Recipient.ID)
			}
		}
	}
	appts, err := d.c.Store.AppointmentsByID(ctx, apptIDs)
	if err != nil {
		return nil, err
	}
	var links []core.LinkToken
	for _, a := range appts {
		f.appts[a.ID] = a
		if len(d.c.LinkSecret) > 0 && (a.Status == core.Accepted || a.Status == core.Pending) {
			links = append(links, linkOf(a))
		}
	}
	clients, prefs, err := d.c.Store.ClientsWithChannelsByID(ctx, clientIDs)
	if err != nil {
		return nil, err
	}
	var phones []string
	for _, c := range clients {
		f.clients[c.ID] = clientFacts{c: c, prefs: prefs[c.ID]}
		if c.Phone != "" {
			if _, ok := f.optOuts[c.Phone]; !ok {
				f.optOuts[c.Phone] = nil
				phones = append(phones, c.Phone)
			}
		}
	}
	outs, err := d.c.Store.SenderOptOutsOfPhones(ctx, phones)
	if err != nil {
		return nil, err
	}
	for _, o := range outs {
		f.optOuts[o.Phone] = append(f.optOuts[o.Phone], o)
	}
	if f.tokens, err = d.c.Store.LinkTokens(ctx, links); err != nil {
		return nil, err
	}
	return f, nil
}

// linkOf is the manage link of an appointment, with a new token in case it
// has none yet. A short random token (stored) instead of a signed one: the
// link costs 40 characters of an SMS, not 110.
func linkOf(a core.Appointment) core.LinkToken {
	return core.LinkToken{Token: core.NewLinkToken(), OrgID: a.OrgID, AppointmentID: a.ID, Action: core.LinkManage, Expires: a.End}
}

func (d *Dispatcher) appointment(ctx context.Context, f *facts, orgID, id string) (core.Appointment, error) {
	if a, ok := f.appt(orgID, id); ok {
		return a, nil
	}
	return d.c.Store.GetAppointment(ctx, orgID, id)
}

func (f *facts) appt(orgID, id string) (core.Appointment, bool) {
	if f == nil {
		return core.Appointment{}, false
	}
	a, ok := f.appts[id]
	return a, ok && a.OrgID == orgID
}

func (d *Dispatcher) clientWithChannels(ctx context.Context, f *facts, orgID, id string) (core.Client, []core.ChannelPref, error) {
	if f != nil {
		if c, ok := f.clients[id]; ok && c.c.OrgID == orgID {
			return c.c, c.prefs, nil
		}
	}
	return d.c.Store.ClientWithChannels(ctx, orgID, id)
}

func (d *Dispatcher) senderOptOuts(ctx context.Context, f *facts, sender, phone string) ([]core.SenderOptOut, error) {
	if f != nil {
		if all, ok := f.optOuts[phone]; ok {
			var outs []core.SenderOptOut
			for _, o := range all {
				if o.Sender == sender {
					outs = append(outs, o)
				}
			}
			return outs, nil
		}
	}
	return d.c.Store.SenderOptOuts(ctx, sender, phone)
}

func (d *Dispatcher) linkToken(ctx context.Context, f *facts, a core.Appointment) (string, error) {
	if f != nil {
		if tok, ok := f.tokens[a.ID]; ok {
			return tok, nil
		}
	}
	return d.c.Store.LinkToken(ctx, linkOf(a))
}
