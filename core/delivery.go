package core

import (
	"encoding/json"
	"errors"
	"time"
)

// ErrStaleAttempt is returned when a send's outcome is written for an
// attempt that is no longer the message's current one: the worker's lease
// ran out, the sweeper queued the message again and a newer attempt owns
// it. The late outcome is dropped.
var ErrStaleAttempt = errors.New("outbox: the attempt is no longer current; its outcome is dropped")

// StatusReport is a provider's delivery report for a sent message.
type StatusReport struct {
	Channel    Channel
	ProviderID string // the provider's id of the message (Twilio MessageSid)
	// MessageID and Attempt name the outbox row and the attempt that sent
	// it, when the provider echoes them (they are in the status callback
	// URL): a report that arrives before the send's outcome is written waits
	// on that row instead of being lost.
	MessageID string
	Attempt   int
	Status    MessageStatus
	Code      string // provider's error code, e.g. Twilio 30003
	// Permanent: the recipient cannot be reached on this channel (unknown
	// or unreachable number, landline, blocked, opted out); the message
	// falls back to the recipient's next channel.
	Permanent bool
	At        time.Time
}

// StatusOutcome is what a status report did.
type StatusOutcome int

const (
	StatusApplied   StatusOutcome = iota // the message moved forward
	StatusUnchanged                      // a repeat or a regression: nothing moves back
	StatusParked                         // the send's outcome is not written yet; applied when it is
	StatusUnknown                        // no such message (not ours, or a stale attempt's)
)

// StatusReceipt names a recorded status callback delivery: the provider's
// name and its event id (webhooks.ProviderTwilioStatus, MessageSid:status).
type StatusReceipt struct {
	Provider, EventID string
}

// AppliedStatus is what applying a recorded status report did: the report,
// its outcome and the message as written (zero when unknown).
type AppliedStatus struct {
	Report  StatusReport
	Outcome StatusOutcome
	Message Message
}

// FailedEvent is a domain event the relay could not turn into messages.
type FailedEvent struct {
	Event
	Error    string    `json:"error" doc:"why the event could not be built into messages"`
	Attempts int       `json:"attempts"`
	FailedAt time.Time `json:"failed_at"`
}

// InboundMedia is a picture or file attached to an inbound message (MMS,
// WhatsApp): the provider's URL and content type.
type InboundMedia struct {
	URL         string `json:"url"`
	ContentType string `json:"content_type"`
}

// MaxInboundText is Twilio's longest message body; longer text is cut
// there and the message flagged.
const MaxInboundText = 1600

// UnmarshalJSON reads a failed event: the event (its payload typed by its
// kind) and why it failed. Without it, Event's own UnmarshalJSON, promoted
// through the embedding, would drop the other fields.
func (f *FailedEvent) UnmarshalJSON(b []byte) error {
	if err := json.Unmarshal(b, &f.Event); err != nil {
		return err
	}
	var why struct {
		Error    string    `json:"error"`
		Attempts int       `json:"attempts"`
		FailedAt time.Time `json:"failed_at"`
	}
	if err := json.Unmarshal(b, &why); err != nil {
		return err
	}
	f.Error, f.Attempts, f.FailedAt = why.Error, why.Attempts, why.FailedAt
	return nil
}

// PlannedEvent is an event with the messages built for it, ready to be
// committed with the event.
type PlannedEvent struct {
	Event    Event
	Messages []Message
}
