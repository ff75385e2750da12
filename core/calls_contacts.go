package core

import (
	"context"
	"encoding/json"
)

// Marketers of an organization that hides clients' contacts from them
// (SeesContacts) see calls without the client's number: the call log,
// planned calls and the live pop-ups alike.

// withoutContact blanks the client's side of a call: the caller of an
// inbound call, the called party of an outbound one. The centre's own
// number stays.
func (c *Call) withoutContact() {
	if c.Direction == CallOutbound {
		c.To = ""
	} else {
		c.From = ""
	}
}

// withoutContacts blanks the caller's number on a card and its planned calls.
func (c *CallCard) withoutContacts() {
	c.Phone = ""
	pcs := make([]PlannedCall, len(c.PlannedCalls))
	for i, pc := range c.PlannedCalls {
		pc.Phone = ""
		pcs[i] = pc
	}
	if c.PlannedCalls != nil {
		c.PlannedCalls = pcs
	}
}

// shownCalls blanks the clients' numbers of calls for whom contacts are
// hidden.
func (s *CallService) shownCalls(ctx context.Context, p Principal) func([]Call, error) ([]Call, error) {
	return shownTo(ctx, s.policy, s.store, p, (*Call).withoutContact)
}

// shownPlanned blanks the clients' numbers of planned calls for whom
// contacts are hidden.
func (s *CallService) shownPlanned(ctx context.Context, p Principal) func([]PlannedCall, error) ([]PlannedCall, error) {
	return shownTo(ctx, s.policy, s.store, p, func(pc *PlannedCall) { pc.Phone = "" })
}

// shownOne adapts a list filter to one item.
func shownOne[T any](f func([]T, error) ([]T, error)) func(T, error) (T, error) {
	return func(x T, err error) (T, error) {
		if err != nil {
			return x, err
		}
		l, err := f([]T{x}, nil)
		if err != nil {
			var zero T
			return zero, err
		}
		return l[0], nil
	}
}

// ShownLive returns ev as p's screens may see it: without clients' numbers
// when the organization o hides contacts from p. A payload that cannot be
// read is dropped rather than shown.
func (pol Policy) ShownLive(p Principal, o Organization, ev LiveEvent) LiveEvent {
	if pol.SeesContacts(p, o) {
		return ev
	}
	switch ev.Kind {
	case LiveCallIncoming, LiveCallUpdated:
		var cl CallLive
		switch d := ev.Data.(type) {
		case CallLive:
			cl = d
		case *CallLive:
			cl = *d
		case json.RawMessage:
			if json.Unmarshal(d, &cl) != nil {
				ev.Data = nil
				return ev
			}
		default:
			ev.Data = nil
			return ev
		}
		cl.Call.withoutContact()
		if cl.Card != nil {
			card := *cl.Card
			card.withoutContacts()
			cl.Card = &card
		}
		ev.Data = cl
	}
	return ev
}
