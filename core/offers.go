package core

import (
	"context"
	"time"
)

// A waiting-list offer: when a visit frees time a waiting client wished
// for, the match event offers them that time, with a signed link that books
// it. Every matched client gets the offer; the first to take it gets the
// time, later takers are told it is gone. The offer is the match event
// itself (stored, immutable): the link signs its id.

// LinkWaitlistOffer is the action of a link that books an offered time.
const LinkWaitlistOffer LinkAction = "w"

// KindWaitlistOffer is the message offering a freed time to a waiting
// client, with the link that books it.
const KindWaitlistOffer = "waitlist.offer"

// offerData adds to a match event what is offered: the freed start, with
// the entry's service (else the freed visit's), when it lies in the wished
// window, and the centre of the freed visit.
func offerData(w WaitingEntry, freed Appointment, from time.Time, data *WaitlistMatched) {
	data.CenterID = freed.CenterID
	if from.Before(w.From) || !from.Before(w.To) {
		return // the time freed starts outside what the client wished for
	}
	service := w.ServiceID
	if service == "" {
		service = freed.ServiceID
	}
	start := from.UTC()
	data.OfferStart, data.OfferServiceID = &start, service
}

// offerIntents tells the waiting client of an offer, if the match has one.
func offerIntents(e Event, client Recipient) []Intent {
	if m, _ := e.Data.(*WaitlistMatched); m == nil || m.OfferStart == nil {
		return nil
	}
	return []Intent{{KindWaitlistOffer, client}}
}

// WaitlistOffer is a time offered to a waiting client.
type WaitlistOffer struct {
	ID           string // the match event's id
	OrgID        string
	WaitingID    string
	ClientID     string
	SpecialistID string
	ServiceID    string
	CenterID     string
	Start        time.Time
}

// OfferOf reads the offer of a match event; NotFound when the event is not
// a match with an offer.
func OfferOf(e Event) (WaitlistOffer, error) {
	m, _ := e.Data.(*WaitlistMatched)
	if e.Kind != EventWaitlistMatch || m == nil || m.OfferStart == nil {
		return WaitlistOffer{}, NotFound("offer")
	}
	return WaitlistOffer{ID: e.ID, OrgID: e.OrgID, WaitingID: m.WaitingID, ClientID: m.ClientID,
		SpecialistID: m.SpecialistID, ServiceID: m.OfferServiceID, CenterID: m.CenterID, Start: *m.OfferStart}, nil
}

// OfferStore reads the event an offer link names.
type OfferStore interface {
	// EventByID reads a domain event by id alone: the link's signature
	// names it, as a signed appointment link names its appointment.
	EventByID(ctx context.Context, id string) (Event, error)
}

// OfferService shows and books waiting-list offers for the client who
// holds the link (no staff principal: the signature is the authority).
type OfferService struct {
	base
	store   OfferStore
	booking *BookingService
}

// Offer reads an offer.
func (s *OfferService) Offer(ctx context.Context, id string) (WaitlistOffer, error) {
	e, err := s.store.EventByID(ctx, id)
	if err != nil {
		return WaitlistOffer{}, err
	}
	return OfferOf(e)
}

// TakeOffer books the offered time for the waiting client: accepted at
// once (the centre offered it), unless it is taken, no longer free, past,
// or the client's entry was booked or removed meanwhile; then a Conflict
// says it is gone. Concurrent takers are serialized by the specialist's
// lock, so exactly one gets the time.
func (s *OfferService) TakeOffer(ctx context.Context, id string) (Appointment, error) {
	o, err := s.Offer(ctx, id)
	if err != nil {
		return Appointment{}, err
	}
	b := s.booking
	gone := func(detail string, items ...ConflictItem) error {
		return Conflict("this time is no longer available: "+detail, items...)
	}
	if !o.Start.After(b.Now()) {
		return Appointment{}, gone("it has passed")
	}
	w, err := b.store.GetWaiting(ctx, o.OrgID, o.WaitingID)
	if err != nil {
		return Appointment{}, err
	}
	if w.Status == "booked" || w.Status == "removed" {
		return Appointment{}, gone("the waiting-list entry is " + w.Status)
	}
	p := system(o.OrgID)
	bc, err := b.loadBookingContext(ctx, p, o.SpecialistID, o.ServiceID, "", o.ClientID)
	if err != nil {
		return Appointment{}, err
	}
	// The centre where the time was freed; else the specialist's only one.
	center := o.CenterID
	if center == "" {
		if c, err := visitCenter("", false, bc.specialist.CenterIDs); err == nil {
			center = c
		}
	}
	price := int64(0)
	if bc.svc.PriceMinor != nil {
		price = *bc.svc.PriceMinor
	}
	now := b.Now()
	reminders := b.reminderPlanner()
	var a Appointment
	var events []Event
	err = b.store.InBookingTx(ctx, o.OrgID, bc.lockIDs(), func(tx BookingTx) error {
		events = events[:0]
		cs, err := b.conflicts(ctx, tx, bc, o.Start, 1, "")
		if err != nil {
			return err
		}
		if len(cs) > 0 {
			return gone("someone else took it, or it left the schedule", cs...)
		}
		a = Appointment{ID: NewID(), OrgID: o.OrgID, CenterID: center, SpecialistID: bc.specialist.ID, ServiceID: bc.svc.ID,
			ClientID: o.ClientID, Start: o.Start, End: o.Start.Add(bc.svc.Spec().Duration), Seats: 1, Status: Accepted,
			RequestedBy: "client", Location: Location{Kind: "address"}, PriceMinor: price, Currency: bc.svc.Currency,
			BalanceMinor: price, CreatedAt: now, UpdatedAt: now}
		if err := tx.InsertAppointment(ctx, a); err != nil {
			return err
		}
		if err := reminders.schedule(ctx, tx, a); err != nil {
			return err
		}
		e := b.event(p, EventBooked, a, func(d *AppointmentChanged) { d.Via, d.WaitingID = "waitlist_offer", w.ID })
		events = append(events, e)
		return tx.AddEvent(ctx, e)
	})
	if err != nil {
		return Appointment{}, err
	}
	b.publish(ctx, events)
	// The visit is booked; the entry follows (a failure here leaves it
	// matched, and a second take finds the time taken).
	if err := b.store.UpdateWaitingStatus(ctx, o.OrgID, w.ID, "booked"); err != nil {
		return a, err
	}
	return a, nil
}
