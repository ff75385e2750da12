package core

import (
	"context"
	"slices"
	"time"
)

// CallStatus is a call's state as providers report it (Twilio's CallStatus
// names; the provider-neutral webhook maps its events onto them).
type CallStatus string

const (
	CallQueued     CallStatus = "queued"
	CallInitiated  CallStatus = "initiated"
	CallRinging    CallStatus = "ringing"
	CallInProgress CallStatus = "in-progress"
	CallCompleted  CallStatus = "completed"
	CallBusy       CallStatus = "busy"
	CallNoAnswer   CallStatus = "no-answer"
	CallFailed     CallStatus = "failed"
	CallCanceled   CallStatus = "canceled"
)

// callFinals are the final states in the order one wins over another when
// two arrive for one call, so that the record does not depend on the order
// callbacks came in.
var callFinals = []CallStatus{CallCompleted, CallBusy, CallNoAnswer, CallCanceled, CallFailed}

func callRank(s CallStatus) int {
	switch s {
	case CallQueued, CallInitiated:
		return 1
	case CallRinging:
		return 2
	case CallInProgress:
		return 3
	}
	if slices.Contains(callFinals, s) {
		return 4
	}
	return 0
}

// Final reports whether a call in this state is over.
func (s CallStatus) Final() bool { return callRank(s) == 4 }

// Known reports whether s is a state the call log tracks.
func (s CallStatus) Known() bool { return callRank(s) > 0 }

// MissedDial reports whether a Dial's (or a call's) final state means
// nobody answered: no-answer, busy, failed or canceled.
func MissedDial(s CallStatus) bool {
	return s == CallNoAnswer || s == CallBusy || s == CallFailed || s == CallCanceled
}

// Call outcomes.
const (
	OutcomeAnswered  = "answered"
	OutcomeMissed    = "missed"
	OutcomeVoicemail = "voicemail"
)

// Call directions.
const (
	CallInbound  = "inbound"
	CallOutbound = "outbound"
)

// DialPending marks an inbound call whose staff phones are being dialled:
// its outcome waits for the Dial's result.
const DialPending CallStatus = "dialing"

// Call is one call of the call log.
type Call struct {
	ID             string     `json:"id"`
	OrgID          string     `json:"-"`
	CenterID       string     `json:"center_id"`
	ClientID       string     `json:"client_id" doc:"empty: the number is on no client card"`
	StaffID        string     `json:"staff_id" doc:"the staff member who placed a click-to-call"`
	Provider       string     `json:"provider" doc:"twilio, or calls:<connection id>"`
	ProviderCallID string     `json:"provider_call_id"`
	Direction      string     `json:"direction" doc:"inbound or outbound"`
	From           string     `json:"from"`
	To             string     `json:"to"`
	Status         CallStatus `json:"status"`
	DialStatus     CallStatus `json:"dial_status" doc:"the staff legs' result: completed (answered), no-answer, busy, failed, canceled"`
	Outcome        string     `json:"outcome" doc:"answered, missed or voicemail; empty while the call is live"`
	StartedAt      time.Time  `json:"started_at"`
	AnsweredAt     *time.Time `json:"answered_at,omitempty"`
	EndedAt        *time.Time `json:"ended_at,omitempty"`
	DurationSec    int        `json:"duration_sec"`
	RecordingSID   string     `json:"recording_sid"`
	RecordingURL   string     `json:"recording_url"`
	UpdatedAt      time.Time  `json:"updated_at"`
}

// CallUpdate is one report about a call: a status callback, a Dial's
// result, a recording, a provider-neutral event. Any field may be empty.
type CallUpdate struct {
	Status     CallStatus
	DialStatus CallStatus
	// Answered: a person took the call (a staff leg, the called client, or
	// the provider says so).
	Answered     bool
	At           time.Time
	DurationSec  int
	RecordingSID string
	RecordingURL string
}

// ApplyCallUpdate merges a report into a call. The merge is commutative and
// idempotent: the same reports in any order, any number of times, give the
// same call. A final state stays final; between two final states the one
// first in callFinals wins; instants keep the earliest report.
func ApplyCallUpdate(c Call, u CallUpdate) Call {
	if u.Status.Known() {
		c.Status = mergeCallStatus(c.Status, u.Status)
		if u.Status.Final() && !u.At.IsZero() {
			c.EndedAt = earliest(c.EndedAt, u.At)
		}
	}
	if u.DialStatus != "" {
		c.DialStatus = mergeDialStatus(c.DialStatus, u.DialStatus)
		if u.DialStatus == CallCompleted || u.DialStatus == CallInProgress {
			u.Answered = true
		}
	}
	if u.Answered && !u.At.IsZero() {
		c.AnsweredAt = earliest(c.AnsweredAt, u.At)
	}
	if !u.At.IsZero() && (c.StartedAt.IsZero() || u.At.Before(c.StartedAt)) {
		c.StartedAt = u.At
	}
	c.DurationSec = max(c.DurationSec, u.DurationSec)
	if u.RecordingSID != "" && (c.RecordingSID == "" || u.RecordingSID < c.RecordingSID) {
		c.RecordingSID, c.RecordingURL = u.RecordingSID, u.RecordingURL
	}
	c.Outcome = callOutcome(c)
	return c
}

func earliest(t *time.Time, at time.Time) *time.Time {
	if t == nil || at.Before(*t) {
		at := at.UTC()
		return &at
	}
	return t
}

func mergeCallStatus(a, b CallStatus) CallStatus {
	ra, rb := callRank(a), callRank(b)
	switch {
	case rb > ra:
		return b
	case rb < ra:
		return a
	case ra == 4 && slices.Index(callFinals, b) < slices.Index(callFinals, a):
		return b
	}
	return a
}

// mergeDialStatus: an answer wins over every miss; DialPending over nothing.
func mergeDialStatus(a, b CallStatus) CallStatus {
	if a == "" || a == DialPending {
		return b
	}
	if b == "" || b == DialPending {
		return a
	}
	ia, ib := slices.Index(callFinals, a), slices.Index(callFinals, b)
	if ib >= 0 && (ia < 0 || ib < ia) {
		return b
	}
	return a
}

// callOutcome: answered once a person took it; otherwise missed (or
// voicemail, with a recording) once the Dial of staff phones failed or the
// call is over; empty while it is live.
func callOutcome(c Call) string {
	switch {
	case c.AnsweredAt != nil:
		return OutcomeAnswered
	case MissedDial(c.DialStatus) || c.Status.Final():
		if c.RecordingSID != "" {
			return OutcomeVoicemail
		}
		return OutcomeMissed
	}
	return ""
}

// Missed reports whether an inbound call is one nobody took.
func (c Call) Missed() bool {
	return c.Direction == CallInbound && (c.Outcome == OutcomeMissed || c.Outcome == OutcomeVoicemail)
}

// CallSettings is how a centre answers calls.
type CallSettings struct {
	OrgID       string     `json:"-"`
	CenterID    string     `json:"center_id"`
	VoiceNumber string     `json:"voice_number" doc:"the Twilio number (E.164) clients call: calls to it belong to this centre"`
	CallerID    string     `json:"caller_id" doc:"number shown on staff phones when a call is forwarded (E.164; default voice_number)"`
	RingSeconds int        `json:"ring_seconds" doc:"how long staff phones ring before voicemail (5-60, default 20)"`
	Screening   string     `json:"screening" doc:"press1 (each staff leg must press 1 to accept, so a phone's voicemail cannot take the call) or amd (answering-machine detection)"`
	Language    string     `json:"language" doc:"voicemail language (en, fr, de, ru, pl); default the organization's"`
	Hours       WeeklyJSON `json:"hours" doc:"opening hours in the centre's timezone: {\"monday\": [{\"start\":\"09:00\",\"end\":\"18:00\"}], …}; outside them calls go to voicemail"`
	UpdatedAt   time.Time  `json:"updated_at"`
}

// Screening modes.
const (
	ScreenPress1 = "press1"
	ScreenAMD    = "amd"
)

// DefaultRingSeconds is how long staff phones ring unless a centre says.
const DefaultRingSeconds = 20

// OpenAt reports whether the centre takes calls at t (its hours in loc).
func (cs CallSettings) OpenAt(t time.Time, loc *time.Location) bool {
	local := t.In(loc)
	day := []string{"sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"}[local.Weekday()]
	clock := local.Format("15:04")
	for _, p := range cs.Hours[day] {
		if p.Start <= clock && clock < p.End {
			return true
		}
	}
	return false
}

// CallOrgSettings are an organization's telephony options.
type CallOrgSettings struct {
	OrgID string `json:"-"`
	// MissedCallMessage: a client whose call nobody took is sent "we
	// missed your call" on their channel, at most once an hour.
	MissedCallMessage bool      `json:"missed_call_message" doc:"send the client \"we missed your call\" on their channel, at most once per client per hour"`
	UpdatedAt         time.Time `json:"updated_at"`
}

// CallConnection is a provider-neutral telephony source (a PBX, a
// call-tracking app) that signs its events with its own secret.
type CallConnection struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"-"`
	CenterID  string     `json:"center_id"`
	Name      string     `json:"name"`
	Secret    string     `json:"secret,omitempty" doc:"shown once, when the connection is created: the HMAC-SHA256 key of its events"`
	CreatedAt time.Time  `json:"created_at"`
	RevokedAt *time.Time `json:"revoked_at,omitempty"`
}

// PlannedCall is a call staff mean to make: planned by hand ("date of the
// next call") or a missed call's call-back.
type PlannedCall struct {
	ID        string     `json:"id"`
	OrgID     string     `json:"-"`
	CenterID  string     `json:"center_id"`
	ClientID  string     `json:"client_id" doc:"empty for a call-back to a number on no card"`
	Phone     string     `json:"phone"`
	StaffID   string     `json:"staff_id" doc:"who is to call; empty: anyone of the centre"`
	DueAt     time.Time  `json:"due_at"`
	Note      string     `json:"note"`
	Status    string     `json:"status" doc:"open, done or cancelled (a call-back whose call turned out answered)"`
	Result    string     `json:"result"`
	CallID    string     `json:"call_id" doc:"the missed call this call-back answers"`
	NextID    string     `json:"next_id" doc:"the call planned when this one's result was recorded"`
	CreatedBy string     `json:"created_by"`
	CreatedAt time.Time  `json:"created_at"`
	DoneAt    *time.Time `json:"done_at,omitempty"`
}

// Planned call states.
const (
	PlannedOpen      = "open"
	PlannedDone      = "done"
	PlannedCancelled = "cancelled"
)

// CallCard is what staff see of a caller when the phone rings.
type CallCard struct {
	ClientID     string        `json:"client_id,omitempty"`
	Name         string        `json:"name,omitempty"`
	Phone        string        `json:"phone"`
	Known        bool          `json:"known"`
	Status       string        `json:"activity_status,omitempty"`
	NextVisitAt  *time.Time    `json:"next_appointment_at,omitempty"`
	Debts        []CardDebt    `json:"debts,omitempty" doc:"what the client owes, per currency"`
	PlannedCalls []PlannedCall `json:"planned_calls,omitempty" doc:"open planned calls"`
}

// CardDebt is a client's debt in one currency.
type CardDebt struct {
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
}

// CallLive is the payload of the call.incoming and call.updated live events.
type CallLive struct {
	Call Call      `json:"call"`
	Card *CallCard `json:"card,omitempty"`
}

// Event kinds of telephony.
const (
	// EventCallIncoming tells the centre's staff channel that a client calls.
	EventCallIncoming EventKind = "call.incoming"
	// EventCallMissed tells the client "we missed your call".
	EventCallMissed EventKind = "call.missed"
)

// Template kinds of telephony.
const (
	KindStaffIncomingCall = "staff.incoming_call"
	KindCallMissed        = "call.missed"
)

// CallNotice is the payload of the call events.
type CallNotice struct {
	EventRefs
	CenterID string `json:"center_id"`
	CallID   string `json:"call_id"`
	From     string `json:"from"`
}

// CallEffects are what a change of a call leaves behind, written in the
// same transaction as the call.
type CallEffects struct {
	// CallBack is a missed call's call-back (one per call).
	CallBack *PlannedCall
	// CancelCallBack: the call turned out answered; its open call-back goes.
	CancelCallBack bool
	// Notice is written only when the client was not told within
	// NoticeSince (the store records when they were told).
	Notice      *Event
	NoticeSince time.Time
	Events      []Event
}

// CallApply is one report to merge into the call of a provider call id.
type CallApply struct {
	Provider       string
	ProviderCallID string
	// EventKey de-duplicates deliveries (webhook_events); empty: none.
	EventKey string
	// Init is the call recorded when none exists yet; without OrgID a
	// report for an unknown call changes nothing.
	Init   Call
	Update CallUpdate
	At     time.Time
}

// CallApplied tells what ApplyCall did.
type CallApplied struct {
	Repeat  bool // the delivery was seen before: nothing changed
	Unknown bool // no such call and no Init
	Created bool
	Changed bool
}

// CallStore keeps the call log, planned calls and telephony settings.
type CallStore interface {
	Directory
	GetClient(ctx context.Context, orgID, id string) (Client, error)
	GetCallSettings(ctx context.Context, orgID, centerID string) (CallSettings, error)
	// PutCallSettings reports a voice number another centre has as a conflict.
	PutCallSettings(ctx context.Context, cs CallSettings) error
	// CallLine finds the centre whose voice number is number.
	CallLine(ctx context.Context, number string) (CallSettings, error)
	GetCallOrgSettings(ctx context.Context, orgID string) (CallOrgSettings, error)
	PutCallOrgSettings(ctx context.Context, s CallOrgSettings) error
	// CenterStaff lists the active staff of a centre.
	CenterStaff(ctx context.Context, orgID, centerID string) ([]Staff, error)
	// ClientsWithPhone lists an organization's clients of a phone (E.164).
	ClientsWithPhone(ctx context.Context, orgID, phone string) ([]Client, error)
	// CardData fills a known caller's next visit, debts and open planned calls.
	CardData(ctx context.Context, orgID, clientID string, now time.Time) (CallCard, error)
	// ApplyCall records a delivery and merges its report into the call in
	// one transaction that locks the call row, then writes what effects
	// (given the call before and after) asks.
	ApplyCall(ctx context.Context, a CallApply, effects func(before, after Call) CallEffects) (Call, CallApplied, error)
	// RecordIncomingCalls inserts ringing calls in one transaction (all or,
	// on an error, none), each unless its provider call id is logged
	// already, by an earlier call of the batch too (then created[i] is
	// false). A call's client is the organization's client with the
	// caller's number (From, E.164), found in the same statement.
	RecordIncomingCalls(ctx context.Context, calls []Call) (created []bool, err error)
	// CallByProvider reads a call by its provider's id.
	CallByProvider(ctx context.Context, provider, callID string) (Call, error)
	// RecordCallNotice stores events once per delivery key (webhook_events
	// of "voice:"+provider), in one transaction; a key seen before is a
	// repeat and stores nothing.
	RecordCallNotice(ctx context.Context, provider, key string, at time.Time, events []Event) (bool, error)
	GetCall(ctx context.Context, orgID, id string) (Call, error)
	ListCalls(ctx context.Context, orgID string, f CallFilter, p Page) ([]Call, error)
	// StuckCalls lists calls not final and not updated since before.
	StuckCalls(ctx context.Context, before time.Time, limit int) ([]Call, error)
	CreatePlannedCall(ctx context.Context, pc PlannedCall) error
	GetPlannedCall(ctx context.Context, orgID, id string) (PlannedCall, error)
	ListPlannedCalls(ctx context.Context, orgID string, f PlannedFilter, p Page) ([]PlannedCall, error)
	// FinishPlannedCall records an open planned call's result and inserts
	// the next one, if any, in one transaction; a call not open is a conflict.
	FinishPlannedCall(ctx context.Context, done PlannedCall, next *PlannedCall) (PlannedCall, error)
	PlannedActions
	CreateCallConnection(ctx context.Context, c CallConnection) error
	// GetCallConnection reads a connection by id alone (webhooks).
	GetCallConnection(ctx context.Context, id string) (CallConnection, error)
	ListCallConnections(ctx context.Context, orgID string, p Page) ([]CallConnection, error)
	RevokeCallConnection(ctx context.Context, orgID, id string, at time.Time) error
}

// CallFilter filters the call log.
type CallFilter struct {
	CenterID  string
	ClientID  string
	CenterIDs []string // nil: all
}

// PlannedFilter filters planned calls.
type PlannedFilter struct {
	CenterID  string
	StaffID   string
	ClientID  string
	Status    string
	CenterIDs []string // nil: all
}

// VoiceCall is a call the gateway places (click-to-call).
type VoiceCall struct {
	// To is rung first (the staff member's phone); when they answer, Bridge
	// (the client) is dialled with CallerID shown.
	To, From, Bridge, CallerID string
	StatusCallback             string
}

// VoiceState is what the provider says of a call now.
type VoiceState struct {
	Status      CallStatus
	DurationSec int
	StartedAt   *time.Time
	EndedAt     *time.Time
}

// Voice places and reads calls at the telephony provider (Twilio's Calls API).
type Voice interface {
	PlaceCall(ctx context.Context, c VoiceCall) (string, error)
	FetchCall(ctx context.Context, sid string) (VoiceState, error)
}

// CallEvent is a provider-neutral call event (POST /webhooks/calls/{connection}).
type CallEvent struct {
	CallID       string    `json:"call_id" doc:"the provider's id of the call (at most 200 characters); events of one call share it"`
	Event        string    `json:"event" doc:"ringing, answered, ended or missed"`
	From         string    `json:"from" doc:"the calling number, E.164 (+33612345678)"`
	To           string    `json:"to" doc:"the called number"`
	Direction    string    `json:"direction" doc:"inbound (default) or outbound"`
	At           time.Time `json:"at" doc:"when it happened (RFC 3339); default: when received"`
	DurationSec  int       `json:"duration_sec" doc:"talk time, on ended"`
	RecordingURL string    `json:"recording_url" doc:"a recording of the call or voicemail"`
}
