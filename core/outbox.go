package core

import (
	"context"
	"sort"
	"time"
)

// MessageStatus is where an outbox message is in its life.
type MessageStatus string

const (
	MsgQueued      MessageStatus = "queued"      // written, waiting for a worker
	MsgSending     MessageStatus = "sending"     // a worker is handing it to the provider
	MsgSent        MessageStatus = "sent"        // the provider accepted it
	MsgDelivered   MessageStatus = "delivered"   // the provider reports delivery
	MsgFailed      MessageStatus = "failed"      // could not be sent (or the provider reports failure)
	MsgUndelivered MessageStatus = "undelivered" // sent, but the carrier could not deliver
	MsgSkipped     MessageStatus = "skipped"     // no usable channel: opted out, no address, no consent
)

// statusRank orders statuses so that a late or repeated provider callback
// never moves a message backwards (delivered never returns to sent).
var statusRank = map[MessageStatus]int{MsgQueued: 0, MsgSending: 1, MsgSent: 2, MsgDelivered: 3, MsgUndelivered: 3, MsgFailed: 3, MsgSkipped: 3}

// Advances reports whether moving from one status to another is progress.
func (s MessageStatus) Advances(to MessageStatus) bool { return statusRank[to] > statusRank[s] }

// Message is an outbox row: written before any task is enqueued; a task
// carries only its id.
type Message struct {
	ID            string        `json:"id"`
	OrgID         string        `json:"-"`
	CenterID      string        `json:"center_id,omitempty"`
	RecipientKind string        `json:"recipient_kind" doc:"client or staff"`
	RecipientID   string        `json:"recipient_id"`
	Channel       Channel       `json:"channel"`
	To            string        `json:"to"`
	From          string        `json:"from,omitempty"`
	Kind          string        `json:"kind" doc:"template kind, e.g. appointment.accepted"`
	Locale        string        `json:"locale"`
	Subject       string        `json:"subject,omitempty"`
	Body          string        `json:"body"`
	HTML          string        `json:"-"`
	Buttons       []Button      `json:"buttons,omitempty"`
	Status        MessageStatus `json:"status"`
	ProviderID    string        `json:"provider_id,omitempty"`
	Attempts      int           `json:"attempts"`
	LastError     string        `json:"last_error,omitempty"`
	ErrorCode     string        `json:"error_code,omitempty"`
	Segments      int           `json:"segments,omitempty" doc:"SMS segments"`
	Encoding      string        `json:"encoding,omitempty" doc:"GSM-7 or UCS-2 for SMS"`
	DedupeKey     string        `json:"dedupe_key"`
	// Fallback lists the channels still to try, in order, when this one
	// fails permanently.
	Fallback      []Channel `json:"fallback,omitempty"`
	EventID       string    `json:"event_id,omitempty"`
	AppointmentID string    `json:"appointment_id,omitempty"`
	// CampaignID names the campaign a message belongs to (bulk queue,
	// checked against the campaign right before it is sent).
	CampaignID  string     `json:"campaign_id,omitempty"`
	DueAt       time.Time  `json:"due_at"`
	CreatedAt   time.Time  `json:"created_at"`
	UpdatedAt   time.Time  `json:"updated_at"`
	SentAt      *time.Time `json:"sent_at,omitempty"`
	DeliveredAt *time.Time `json:"delivered_at,omitempty"`
}

// MessageFilter selects outbox messages.
type MessageFilter struct {
	Status        MessageStatus
	Channel       Channel
	RecipientID   string
	AppointmentID string
	// CenterIDs limits the list to messages of these centres ("" stands
	// for messages of no centre); nil is every message.
	CenterIDs []string
}

// MessageStore keeps the outbox and the event relay's progress.
type MessageStore interface {
	// PendingEvents lists events not yet turned into messages, oldest first.
	PendingEvents(ctx context.Context, limit int) ([]Event, error)
	// CommitEvent writes an event's messages and marks it dispatched in one
	// transaction. A message whose (org, dedupe key) exists is left as is
	// and not returned, so replaying an event creates nothing twice.
	CommitEvent(ctx context.Context, e Event, msgs []Message, at time.Time) ([]Message, error)
	// InsertMessage writes one message unless its dedupe key exists
	// (created false then, and the existing row is returned).
	InsertMessage(ctx context.Context, m Message) (Message, bool, error)
	GetMessage(ctx context.Context, orgID, id string) (Message, error)
	// GetMessageByID reads a message by id alone (queue handlers know only the id).
	GetMessageByID(ctx context.Context, id string) (Message, error)
	// ClaimMessage moves a due message from queued to sending and counts the
	// attempt; false when it is not queued (already sent, skipped, …).
	ClaimMessage(ctx context.Context, id string, now time.Time) (Message, bool, error)
	// FinishMessage records the outcome of an attempt.
	FinishMessage(ctx context.Context, m Message) error
	// ProviderStatus applies a provider's status report if it advances the
	// message; it returns the message and whether anything changed.
	ProviderStatus(ctx context.Context, channel Channel, providerID string, st MessageStatus, code string, at time.Time) (Message, bool, error)
	ListMessages(ctx context.Context, orgID string, f MessageFilter, p Page) ([]Message, error)
	// StrandedMessages lists messages that should be in the queue but may
	// not be: queued and due before a cutoff, or sending for too long.
	StrandedMessages(ctx context.Context, dueBefore, sendingBefore time.Time, limit int) ([]Message, error)
	// RequeueMessage puts a failed message back to queued (manual retry).
	RequeueMessage(ctx context.Context, orgID, id string, now time.Time) (Message, error)
	// RecordWebhook remembers a provider event id; false if it was seen.
	RecordWebhook(ctx context.Context, provider, eventID string, at time.Time) (bool, error)
	ClientChannels(ctx context.Context, orgID, clientID string) ([]ChannelPref, error)
	// SetClientChannels replaces a client's channel settings.
	SetClientChannels(ctx context.Context, orgID, clientID string, prefs []ChannelPref) error
}

// Recipient names who a message is for.
type Recipient struct {
	Kind string // "client" or "staff"
	ID   string
}

// Intent is what core decides to say to whom; the router and templates
// turn it into a message.
type Intent struct {
	Kind      string // template kind
	Recipient Recipient
}

// Template kinds the booking events produce.
const (
	KindRequested     = "appointment.requested"
	KindAccepted      = "appointment.accepted"
	KindRejected      = "appointment.rejected"
	KindCancelled     = "appointment.cancelled"
	KindMoved         = "appointment.moved"
	KindCompleted     = "appointment.completed"
	KindStaffRequest  = "staff.new_request"
	KindStaffCancel   = "staff.cancelled"
	KindWaitlistMatch = "waitlist.match"
	KindReminder      = "reminder"
	KindReminderAsk   = "reminder.confirm"
	KindReplyConfirm  = "reply.confirmed"
	KindReplyCancel   = "reply.cancelled"
	KindHelp          = "help"
	KindPaymentLink   = "payment.link"
	KindReceipt       = "payment.receipt"
	KindStaffPayment  = "staff.payment"
	// KindStaffPaymentCurrency: a payment in another currency than the
	// price was recorded but not counted; staff are told.
	KindStaffPaymentCurrency = "staff.payment_currency"
	// KindStopNotice answers a STOP sent while a reminder awaited a reply:
	// the client is unsubscribed, the visit still booked, and how to cancel.
	KindStopNotice = "stop.notice"
)

// PlanEvent decides who is told what about an event: the client of every
// status change; the specialist of new requests and of cancellations the
// client made; the specialist of a waiting-list match, and the waiting
// client of the time it offers. A series booked or moved is told once.
func PlanEvent(e Event) []Intent {
	if intents, ok := planSeries(e); ok {
		return intents
	}
	refs := e.Refs()
	client := Recipient{Kind: "client", ID: refs.ClientID}
	specialist := Recipient{Kind: "staff", ID: refs.SpecialistID}
	change, _ := e.Data.(*AppointmentChanged)
	if change == nil {
		change = &AppointmentChanged{}
	}
	switch e.Kind {
	case EventRequested:
		return []Intent{{KindRequested, client}, {KindStaffRequest, specialist}}
	case EventBooked, EventAccepted:
		if change.Undo {
			return nil // a completion or no-show undone: nothing new for the client
		}
		if visitStarted(e) {
			return nil // a visit booked or accepted late, by override: nothing to confirm
		}
		return []Intent{{KindAccepted, client}}
	case EventRejected:
		return []Intent{{KindRejected, client}}
	case EventCancelled:
		switch {
		case change.Via == "sms" || change.Via == "whatsapp":
			// The client's own reply: the auto-reply is their confirmation.
			return []Intent{{KindReplyCancel, client}, {KindStaffCancel, specialist}}
		case change.ByClient:
			return []Intent{{KindCancelled, client}, {KindStaffCancel, specialist}}
		}
		return []Intent{{KindCancelled, client}}
	case EventConfirmed:
		if change.Via == "sms" || change.Via == "whatsapp" {
			return []Intent{{KindReplyConfirm, client}}
		}
		return nil
	case EventMoved:
		return []Intent{{KindMoved, client}}
	case EventCompleted:
		return []Intent{{KindCompleted, client}}
	case EventPaymentAdded:
		pay, _ := e.Data.(*PaymentRecorded)
		if pay == nil {
			return nil
		}
		if pay.CurrencyMismatch {
			// Not counted in the balance: no receipt; staff sort it out.
			if pay.StaffID == "" {
				return nil
			}
			return []Intent{{KindStaffPaymentCurrency, Recipient{Kind: "staff", ID: pay.StaffID}}}
		}
		if pay.AmountMinor < 0 {
			return nil // refunds are told by the provider's own receipt
		}
		intents := []Intent{{KindReceipt, client}}
		if pay.Method == "stripe" && refs.SpecialistID != "" {
			// Staff recorded cash themselves; online payments they learn of here.
			intents = append(intents, Intent{KindStaffPayment, specialist})
		}
		return intents
	case EventWaitlistMatch:
		return append([]Intent{{KindWaitlistMatch, specialist}}, offerIntents(e, client)...)
	}
	return nil
}

// ChannelPref is a client's setting for one channel.
type ChannelPref struct {
	Channel  Channel    `json:"channel"`
	Consent  bool       `json:"consent" doc:"the client agreed to messages on this channel (required for WhatsApp)"`
	OptedOut *time.Time `json:"opted_out_at,omitempty" doc:"the client asked to stop (STOP); nothing is sent on this channel"`
	Position int        `json:"position" doc:"preference order, lowest first"`
}

// Target is a channel and the address to use on it.
type Target struct {
	Channel Channel
	To      string
}

// DefaultChannelOrder is used when neither client nor organization sets one.
var DefaultChannelOrder = []Channel{ChannelTelegram, ChannelWhatsApp, ChannelSMS, ChannelEmail}

// RouteClient orders the channels a client can be reached on: the client's
// preference order first, then the organization's (a channel in neither is
// not used); a channel needs an
// address, must not be opted out, and WhatsApp needs consent (its rules
// require an opt-in).
func RouteClient(addr map[Channel]string, prefs []ChannelPref, orgOrder []Channel) []Target {
	if len(orgOrder) == 0 {
		orgOrder = DefaultChannelOrder
	}
	pref := map[Channel]ChannelPref{}
	for _, p := range prefs {
		pref[p.Channel] = p
	}
	order := make([]Channel, 0, len(orgOrder))
	sorted := append([]ChannelPref(nil), prefs...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Position < sorted[j].Position })
	seen := map[Channel]bool{}
	for _, p := range sorted {
		if !seen[p.Channel] {
			order, seen[p.Channel] = append(order, p.Channel), true
		}
	}
	for _, c := range orgOrder {
		if !seen[c] {
			order, seen[c] = append(order, c), true
		}
	}
	var out []Target
	for _, c := range order {
		p, has := pref[c]
		switch {
		case addr[c] == "":
		case has && p.OptedOut != nil:
		case c == ChannelWhatsApp && !(has && p.Consent):
		default:
			out = append(out, Target{Channel: c, To: addr[c]})
		}
	}
	return out
}
