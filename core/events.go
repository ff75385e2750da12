package core

import (
	"context"
	"encoding/json"
	"fmt"
	"time"
)

// EventKind names a domain event. The notification pipeline turns events
// into messages; later channels (chats, bot, telephony) subscribe to the same
// stream.
type EventKind string

// Event is something that happened in the domain that someone may need to be
// told about. Data is the kind's typed payload: the ids a consumer needs to
// load the rest, and what the change itself said.
type Event struct {
	ID         string    `json:"id"`
	OrgID      string    `json:"org_id"`
	Kind       EventKind `json:"kind"`
	OccurredAt time.Time `json:"occurred_at"`
	Data       EventData `json:"data"`
}

// UnmarshalJSON reads an event with its payload typed by its kind.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var raw struct {
		plain
		Data json.RawMessage `json:"data"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*e = Event(raw.plain)
	if len(raw.Data) == 0 || string(raw.Data) == "null" {
		return nil
	}
	d, err := DecodeEventData(e.Kind, raw.Data)
	e.Data = d
	return err
}

// EventData is an event's typed payload, one struct per kind:
// *AppointmentChanged for the appointment kinds, *PaymentRecorded,
// *WaitlistMatched, and *Notice for messages made without a stored event.
type EventData interface {
	// Refs names who and what the event is about.
	Refs() EventRefs
}

// EventRefs are the ids every payload carries.
type EventRefs struct {
	AppointmentID string `json:"appointment_id,omitempty"`
	ClientID      string `json:"client_id,omitempty"`
	SpecialistID  string `json:"specialist_id,omitempty"`
}

// Refs returns the ids themselves.
func (r EventRefs) Refs() EventRefs { return r }

// Refs are the event's ids (none when it has no payload).
func (e Event) Refs() EventRefs {
	if e.Data == nil {
		return EventRefs{}
	}
	return e.Data.Refs()
}

// AppointmentChanged is the payload of every appointment kind but
// payments: requested, booked, accepted, rejected, cancelled, moved,
// completed, missed, confirmed.
type AppointmentChanged struct {
	EventRefs
	Start     time.Time `json:"start"`
	Status    Status    `json:"status"`
	ByStaffID string    `json:"by_staff_id,omitempty"`
	Reason    string    `json:"reason,omitempty"`
	// Late: a client's cancellation inside the notice period.
	Late     bool `json:"late,omitempty,string"`
	ByClient bool `json:"by_client,omitempty,string"`
	// Via is how the client acted: sms, whatsapp, link.
	Via           string     `json:"via,omitempty"`
	PreviousStart *time.Time `json:"previous_start,omitempty"`
	// Undo: a completion or a no-show taken back (the visit is accepted
	// again); nobody is told.
	Undo bool `json:"undo,omitempty,string"`
	// InSeries marks an occurrence whose news a series event carries:
	// consumers that tell people skip it; others see every visit.
	InSeries bool `json:"in_series,omitempty,string"`
	// A series event (appointment.series_booked, .series_moved) lists every
	// visit's start, and where they were before a move.
	SeriesID       string      `json:"series_id,omitempty"`
	Starts         []time.Time `json:"starts,omitempty"`
	PreviousStarts []time.Time `json:"previous_starts,omitempty"`
	// WaitingID: the waiting-list entry whose offer booked the visit.
	WaitingID string `json:"waiting_id,omitempty"`
}

// PaymentRecorded is the payload of appointment.payment_recorded: money
// for an appointment or a package sale (negative: a refund).
type PaymentRecorded struct {
	EventRefs
	SaleID      string `json:"sale_id,omitempty"`
	PaymentID   string `json:"payment_id"`
	AmountMinor int64  `json:"amount_minor,string"`
	Currency    string `json:"currency"`
	Method      string `json:"method"`
	// The totals of what it paid for as of this payment (nil in events
	// written before they were kept), so a receipt built later states them.
	PriceMinor     *int64 `json:"price_minor,omitempty,string"`
	PaidMinor      *int64 `json:"paid_minor,omitempty,string"`
	BalanceMinor   *int64 `json:"balance_minor,omitempty,string"`
	TotalsCurrency string `json:"totals_currency,omitempty"`
	// CurrencyMismatch: the payment is in another currency than what it
	// pays for; it is recorded but not counted, and StaffID is told.
	CurrencyMismatch bool   `json:"currency_mismatch,omitempty,string"`
	StaffID          string `json:"staff_id,omitempty"`
}

// WaitlistMatched is the payload of waiting_list.matched: time freed that
// a waiting client wished for.
type WaitlistMatched struct {
	EventRefs
	WaitingID string    `json:"waiting_id"`
	ServiceID string    `json:"service_id,omitempty"`
	FreeStart time.Time `json:"free_start"`
	FreeEnd   time.Time `json:"free_end"`
	Urgent    bool      `json:"urgent,string"`
	// The offer to the waiting client, when the freed time lies in the
	// wished window: its start and service, and the freed visit's centre.
	CenterID       string     `json:"center_id,omitempty"`
	OfferStart     *time.Time `json:"offer_start,omitempty"`
	OfferServiceID string     `json:"offer_service_id,omitempty"`
}

// Notice is the payload of the events the pipeline makes for messages that
// no stored event carries: reminders, manual reminders, replies to a
// client's message, payment links.
type Notice struct {
	EventRefs
	Via string `json:"via,omitempty"`
	// CenterID and ReplyFrom answer a client's message from the centre and
	// the address it was written to.
	CenterID   string `json:"center_id,omitempty"`
	ReplyFrom  string `json:"reply_from,omitempty"`
	PaymentURL string `json:"payment_url,omitempty"`
	SaleID     string `json:"sale_id,omitempty"`
}

// DecodeEventData reads a stored payload of a kind. The field names are
// those of the flat string maps events were stored as before, so rows
// written by an earlier version read the same.
func DecodeEventData(kind EventKind, raw []byte) (EventData, error) {
	var d EventData
	switch kind {
	case EventPaymentAdded:
		d = &PaymentRecorded{}
	case EventWaitlistMatch:
		d = &WaitlistMatched{}
	case EventCallIncoming, EventCallMissed:
		d = &CallNotice{}
	case EventRequested, EventBooked, EventAccepted, EventRejected, EventCancelled, EventMoved, EventCompleted, EventMissed, EventConfirmed,
		EventSeriesBooked, EventSeriesMoved:
		d = &AppointmentChanged{}
	default:
		d = &Notice{}
	}
	if len(raw) == 0 {
		return d, nil
	}
	if err := json.Unmarshal(raw, d); err != nil {
		return nil, fmt.Errorf("event %s: %w", kind, err)
	}
	return d, nil
}

// EventSink receives domain events. Implementations must be durable or fast:
// core calls it after the change it reports has been committed.
type EventSink interface {
	Publish(ctx context.Context, e Event) error
}
