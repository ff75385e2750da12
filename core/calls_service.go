package core

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/bookinggw/gateway/core/groupcommit"
)

// CallService: the call log, incoming-call pop-ups, missed calls, planned
// calls and telephony settings. Inbound provider reports reach it without
// a principal (the webhook verified the provider); every staff use case
// asks the policy.
type CallService struct {
	base
	store   CallStore
	clients *ClientService
	live    LiveEvents
	voice   Voice
	log     *slog.Logger
	// announcer queues incoming calls' announcements (nil: made inline).
	announcer CallAnnouncer
	lines     *lineCache
	// callers keeps callers' numbers as normalized.
	callers callerNumbers
	// incomingOnce builds incomingLog, the group commit of new calls.
	incomingOnce sync.Once
	incomingLog  *groupcommit.Batcher[incomingItem, incomingResult]
	// StatusCallback is the URL the provider reports a placed call's
	// states to.
	statusCallback string
}

// CallConfig wires a CallService. Live and Voice may be nil: no live
// events, no click-to-call.
type CallConfig struct {
	Store CallStore
	Live  LiveEvents
	Voice Voice
	Log   *slog.Logger
	// Announcer queues the announcement of incoming calls (card, staff
	// channel, pop-up); nil: Answer makes it before returning.
	Announcer      CallAnnouncer
	StatusCallback string
}

// NewCallService builds the telephony context and makes planned calls count
// for the clients' activity status.
func NewCallService(svc *Services, c CallConfig) (*CallService, error) {
	if svc == nil || svc.Clients == nil || c.Store == nil {
		return nil, errors.New("core: NewCallService needs the services and a store")
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	s := &CallService{base: svc.Clients.base, store: c.Store, clients: svc.Clients, live: c.Live, voice: c.Voice, log: c.Log,
		statusCallback: c.StatusCallback, announcer: c.Announcer, lines: newLineCache(CallLineTTL, time.Now)}
	svc.Clients.CountPlanned(c.Store)
	if svc.Tenancy != nil {
		svc.Tenancy.OnChange(s.LinesChanged)
	}
	svc.Calls = s
	return s, nil
}

// publishLive hands a live event to the stream; a lost one costs a screen
// refresh, so failures are logged only.
func (s *CallService) publishLive(ctx context.Context, kind LiveKind, c Call, card *CallCard) {
	if s.live == nil {
		return
	}
	ev := LiveEvent{Kind: kind, OrgID: c.OrgID, CenterID: c.CenterID, At: s.Now(), Data: CallLive{Call: c, Card: card}}
	if err := s.live.Publish(ctx, ev); err != nil {
		s.log.WarnContext(ctx, "live event not published", "kind", string(kind), "call_id", c.ID, "error", err.Error())
	}
}

// IncomingCall is a call reaching a centre's number.
type IncomingCall struct {
	Provider string
	CallID   string
	From, To string
	At       time.Time
	// CenterOrg names the centre directly (a provider-neutral connection
	// belongs to one); empty: found by the called number.
	OrgID, CenterID string
}

// IncomingAnswer is what to do with an incoming call.
type IncomingAnswer struct {
	Known    bool // the called number belongs to a centre
	Call     Call
	Card     CallCard // filled by Incoming only (Answer leaves it to the announcement)
	Settings CallSettings
	Center   Center
	Locale   string
	Open     bool     // in the centre's hours
	Phones   []string // staff phones to ring at once (shared: read only)
	// Shape is the same for every answer made from the same load of the
	// centre's line and hours state with the same phones: what is said to
	// the caller can be kept by it. 0: an answer of its own (a staff phone
	// calling its centre).
	Shape uint64
	// Repeat: the call was already logged (a retried webhook).
	Repeat bool
}

// CallRef names a call by its provider's id.
type CallRef struct {
	Provider, CallID string
}

// CallAnnouncer runs calls' announcements (card, staff channel, live
// pop-up) after the answer has gone back to the provider. It takes the new
// calls of one group commit at once (one queue round trip).
type CallAnnouncer interface {
	EnqueueCallAnnounces(ctx context.Context, calls []CallRef) error
}

// Answer is the synchronous part of an incoming call, kept to what the
// provider waits for: the centre's line (cached), its hours and staff
// phones, and one durable write, the call's row (its client found by the
// caller's number in the same statement), committed with the rows of
// concurrent calls (calls_incoming.go) before Answer returns. The card,
// the staff channel's message and the live pop-up follow in Announce,
// queued; when the queue cannot take it, it runs here. A retried webhook
// is answered the same way and announces nothing twice.
func (s *CallService) Answer(ctx context.Context, in IncomingCall) (ans IncomingAnswer, err error) {
	queued, err := s.answer(ctx, in, s.announcer != nil, &ans)
	if err != nil || !ans.Known || ans.Repeat || queued {
		return ans, err
	}
	s.announceNow(ctx, ans.Call)
	return ans, nil
}

// announceNow announces a call whose announcement could not be queued.
// Apart from Answer, whose stack it would otherwise enlarge on every call.
func (s *CallService) announceNow(ctx context.Context, c Call) {
	if _, err := s.Announce(ctx, c.Provider, c.ProviderCallID); err != nil {
		// The call is logged and answered; only the pop-up is lost.
		s.log.ErrorContext(ctx, "call not announced", "call_sid", c.ProviderCallID, "error", err.Error())
	}
}

// Incoming is Answer with the announcement made before it returns, for
// providers that show the card in their own answer (the provider-neutral
// webhook) rather than wait on a timeout.
func (s *CallService) Incoming(ctx context.Context, in IncomingCall) (ans IncomingAnswer, err error) {
	_, err = s.answer(ctx, in, false, &ans)
	if err != nil || !ans.Known {
		return ans, err
	}
	ans.Card, err = s.Announce(ctx, ans.Call.Provider, ans.Call.ProviderCallID)
	return ans, err
}

// answer fills ans: it finds the line, logs the call through the group
// commit and, with queue, has the commit queue its announcement (queued:
// it did). ans is filled in place: it is large, and copies of it grew the
// webhook's stack on every call.
func (s *CallService) answer(ctx context.Context, in IncomingCall, queue bool, ans *IncomingAnswer) (queued bool, err error) {
	from := s.callers.normalize(in.From)
	var to string
	var line *callLine
	if in.OrgID == "" {
		// Keyed by the number as the provider sent it: its normalization
		// is done once per TTL, not per call.
		line, err = s.lines.get(ctx, "n:"+in.To, func(ctx context.Context) (callLine, error) {
			to, _ := NormalizePhone(in.To, "")
			if to == "" {
				return callLine{}, nil
			}
			cs, err := s.store.CallLine(ctx, to)
			if ErrorCode(err) == CodeNotFound {
				return callLine{}, nil
			}
			if err != nil {
				return callLine{}, err
			}
			return s.loadLine(ctx, cs)
		})
		to = line.settings.VoiceNumber
	} else {
		to, _ = NormalizePhone(in.To, "")
		line, err = s.lines.get(ctx, "c:"+in.OrgID+"/"+in.CenterID, func(ctx context.Context) (callLine, error) {
			cs, err := s.store.GetCallSettings(ctx, in.OrgID, in.CenterID)
			if err != nil {
				return callLine{}, err
			}
			return s.loadLine(ctx, cs)
		})
	}
	if err != nil || !line.known {
		return false, err
	}
	ans.Known, ans.Settings, ans.Center, ans.Locale = true, line.settings, line.center, line.locale
	at := in.At
	if at.IsZero() {
		at = s.Now()
	}
	ans.Open = ans.Settings.OpenAt(at, line.loc)
	ans.Shape = line.seq << 1
	if ans.Open {
		ans.Shape |= 1
		ans.Phones = line.phones
		if slices.Contains(line.phones, from) {
			// A staff phone calling its own centre is not rung: an
			// answer of its own, not the line's.
			ans.Phones, ans.Shape = slices.DeleteFunc(slices.Clone(line.phones), func(ph string) bool { return ph == from }), 0
		}
	}
	c := Call{ID: NewID(), OrgID: line.settings.OrgID, CenterID: line.settings.CenterID, Provider: in.Provider, ProviderCallID: in.CallID,
		Direction: CallInbound, From: from, To: firstNonEmpty(to, in.To), Status: CallRinging, StartedAt: at.UTC().Truncate(time.Millisecond),
		UpdatedAt: s.Now()}
	if len(ans.Phones) > 0 {
		c.DialStatus = DialPending
	}
	res, err := s.incoming().Do(ctx, incomingItem{call: c, queue: queue})
	if err != nil {
		return false, err
	}
	ans.Call, ans.Repeat = c, !res.created
	return res.queued, nil
}

// loadLine reads what answering calls to a centre needs.
func (s *CallService) loadLine(ctx context.Context, cs CallSettings) (callLine, error) {
	l := callLine{known: true, settings: cs}
	org, err := s.store.GetOrganization(ctx, cs.OrgID)
	if err != nil {
		return l, err
	}
	if l.center, err = s.store.GetCenter(ctx, cs.OrgID, cs.CenterID); err != nil {
		return l, err
	}
	l.locale = firstNonEmpty(cs.Language, org.Locale, "en")
	if l.loc, err = time.LoadLocation(firstNonEmpty(l.center.Timezone, org.Timezone, "UTC")); err != nil {
		l.loc = time.UTC
	}
	staff, err := s.store.CenterStaff(ctx, cs.OrgID, cs.CenterID)
	if err != nil {
		return l, err
	}
	for _, st := range staff {
		if st.Phone != "" {
			l.phones = append(l.phones, st.Phone)
		}
	}
	return l, nil
}

// LinesChanged forgets the cached lines: a centre, its staff or the
// organization changed (wired to the tenancy context's changes).
func (s *CallService) LinesChanged(string) { s.lines.reset() }

// Announce tells a ringing call's centre: it builds the caller's card,
// writes the staff channel's message (the outbox) once per call, and
// publishes the live pop-up with the card. A repeat (a retried task)
// returns the card and tells nobody again.
func (s *CallService) Announce(ctx context.Context, provider, callID string) (CallCard, error) {
	c, err := s.store.CallByProvider(ctx, provider, callID)
	if err != nil {
		return CallCard{}, err
	}
	org, err := s.store.GetOrganization(ctx, c.OrgID)
	if err != nil {
		return CallCard{}, err
	}
	card, err := s.card(ctx, org, c)
	if err != nil {
		return card, err
	}
	e := Event{ID: NewID(), OrgID: c.OrgID, Kind: EventCallIncoming, OccurredAt: s.Now(),
		Data: &CallNotice{EventRefs: EventRefs{ClientID: c.ClientID}, CenterID: c.CenterID, CallID: c.ID, From: c.From}}
	repeat, err := s.store.RecordCallNotice(ctx, provider, callID+":incoming", s.Now(), []Event{e})
	if err != nil || repeat {
		return card, err
	}
	s.publish(ctx, []Event{e})
	s.publishLive(ctx, LiveCallIncoming, c, &card)
	return card, nil
}

// InitCall is the record of a call first seen through a later report
// (a provider-neutral "answered" or "missed" without "ringing"): its centre
// and the client of the caller's number. in must name the organization and
// centre.
func (s *CallService) InitCall(ctx context.Context, in IncomingCall, direction string) (Call, error) {
	from, err := NormalizePhone(in.From, "")
	if err != nil {
		from = in.From
	}
	to, err := NormalizePhone(in.To, "")
	if err != nil {
		to = in.To
	}
	c := Call{ID: NewID(), OrgID: in.OrgID, CenterID: in.CenterID, Provider: in.Provider, ProviderCallID: in.CallID, Direction: direction,
		From: from, To: to, Status: CallRinging, StartedAt: in.At}
	cs, err := s.store.ClientsWithPhone(ctx, in.OrgID, from)
	if err != nil {
		return c, err
	}
	if len(cs) > 0 {
		c.ClientID = cs[0].ID
	}
	if direction == CallOutbound {
		c.From, c.To = c.To, c.From
	}
	return c, nil
}

// card builds the caller's card from the client the call's row names (found
// by the caller's number when it was logged); an unknown number is a card
// with only it.
func (s *CallService) card(ctx context.Context, org Organization, call Call) (CallCard, error) {
	card := CallCard{Phone: call.From}
	if call.ClientID == "" {
		return card, nil
	}
	c, err := s.store.GetClient(ctx, org.ID, call.ClientID)
	if err != nil {
		return card, err
	}
	withAct, err := s.clients.withActivity(ctx, org, c)
	if err != nil {
		return card, err
	}
	data, err := s.store.CardData(ctx, org.ID, c.ID, s.Now())
	if err != nil {
		return card, err
	}
	data.ClientID, data.Name, data.Phone, data.Known, data.Status = c.ID, c.Name, call.From, true, withAct.Status
	return data, nil
}

// Report is one provider report about a call (status callback, Dial
// result, recording, provider-neutral event).
type Report struct {
	Provider string
	CallID   string
	// EventKey de-duplicates the delivery ("" none).
	EventKey string
	Update   CallUpdate
	// Init records a call first seen through this report (a status
	// callback whose voice webhook is not logged, a provider-neutral
	// event); nil: an unknown call is acknowledged and ignored.
	Init *Call
}

// Report merges a provider report into the call log: a missed inbound
// call leaves a call-back (and, if the organization wants it, "we missed
// your call" to the client at most once an hour); a call that turns out
// answered drops the call-back it had left.
func (s *CallService) Report(ctx context.Context, r Report) (Call, CallApplied, error) {
	a := CallApply{Provider: r.Provider, ProviderCallID: r.CallID, EventKey: r.EventKey, Update: r.Update, At: s.Now()}
	if r.Init != nil {
		a.Init = *r.Init
	}
	var events []Event
	c, res, err := s.store.ApplyCall(ctx, a, func(before, after Call) CallEffects {
		var eff CallEffects
		switch {
		case after.Missed() && !before.Missed() && before.Outcome != OutcomeAnswered:
			eff.CallBack = &PlannedCall{ID: NewID(), OrgID: after.OrgID, CenterID: after.CenterID, ClientID: after.ClientID, Phone: after.From,
				DueAt: s.Now(), Note: "call-back: missed call", Status: PlannedOpen, CallID: after.ID, CreatedAt: s.Now()}
			if after.ClientID != "" && s.wantsMissedMessage(ctx, after.OrgID) {
				e := Event{ID: NewID(), OrgID: after.OrgID, Kind: EventCallMissed, OccurredAt: s.Now(),
					Data: &CallNotice{EventRefs: EventRefs{ClientID: after.ClientID}, CenterID: after.CenterID, CallID: after.ID, From: after.From}}
				eff.Notice, eff.NoticeSince = &e, s.Now().Add(-time.Hour)
			}
		case after.Outcome == OutcomeAnswered && before.Outcome != OutcomeAnswered && before.Outcome != "":
			eff.CancelCallBack = true
		}
		if eff.Notice != nil {
			events = append(events, *eff.Notice)
		}
		return eff
	})
	if err != nil || res.Repeat || res.Unknown {
		return c, res, err
	}
	if len(events) > 0 {
		s.publish(ctx, events) // a throttled notice is not stored: the relay finds nothing
	}
	if res.Changed || res.Created {
		s.publishLive(ctx, LiveCallUpdated, c, nil)
	}
	return c, res, nil
}

func (s *CallService) wantsMissedMessage(ctx context.Context, orgID string) bool {
	st, err := s.store.GetCallOrgSettings(ctx, orgID)
	return err == nil && st.MissedCallMessage
}

// Line returns the centre settings of a call already logged, for the
// webhooks that answer TwiML after the first request (Dial action,
// screening).
func (s *CallService) Line(ctx context.Context, c Call) (CallSettings, Organization, error) {
	cs, err := s.store.GetCallSettings(ctx, c.OrgID, c.CenterID)
	if err != nil {
		return cs, Organization{}, err
	}
	org, err := s.store.GetOrganization(ctx, c.OrgID)
	return cs, org, err
}

// ReconcileStuck asks the provider about calls left ringing or in progress
// for longer than olderThan (a status callback lost on the way) and merges
// its answer. It returns how many calls it asked about.
func (s *CallService) ReconcileStuck(ctx context.Context, olderThan time.Duration, limit int) (int, error) {
	if s.voice == nil {
		return 0, nil
	}
	calls, err := s.store.StuckCalls(ctx, s.Now().Add(-olderThan), limit)
	if err != nil {
		return 0, err
	}
	n := 0
	for _, c := range calls {
		if c.Provider != ProviderTwilio {
			continue
		}
		n++
		st, err := s.voice.FetchCall(ctx, c.ProviderCallID)
		if err != nil {
			s.log.WarnContext(ctx, "stuck call not reconciled", "call_id", c.ID, "error", err.Error())
			continue
		}
		u := CallUpdate{Status: st.Status, DurationSec: st.DurationSec, At: s.Now()}
		if st.EndedAt != nil {
			u.At = *st.EndedAt
		}
		if c.Direction == CallOutbound && (st.Status == CallInProgress || st.Status == CallCompleted && st.DurationSec > 0) {
			u.Answered = true
			if st.StartedAt != nil {
				u.At = *st.StartedAt
			}
		}
		if _, _, err := s.Report(ctx, Report{Provider: c.Provider, CallID: c.ProviderCallID, Update: u}); err != nil {
			return n, err
		}
	}
	return n, nil
}

// ProviderTwilio names Twilio in the call log.
const ProviderTwilio = "twilio"

// ConnectionProvider names a provider-neutral connection in the call log.
func ConnectionProvider(id string) string { return "calls:" + id }

// Connection reads a provider-neutral connection for its webhook (no
// principal: the signature decides).
func (s *CallService) Connection(ctx context.Context, id string) (CallConnection, error) {
	if !ValidID(id) {
		return CallConnection{}, NotFound("call connection")
	}
	c, err := s.store.GetCallConnection(ctx, id)
	if err != nil {
		return c, err
	}
	if c.RevokedAt != nil {
		return CallConnection{}, NotFound("call connection")
	}
	return c, nil
}

// ---- staff use cases ----

// callCenter checks a caller may see a centre's telephony.
func (s *CallService) callCenter(p Principal, centerID string) error {
	return s.policy.Center(p, centerID)
}

// changeCalls: marketers read calls but do not plan or place them.
func changeCalls(p Principal) error {
	return p.Require(RoleDirector, RoleAdministrator, RoleSpecialist)
}

// GetCall returns one call of a centre the caller sees.
func (s *CallService) GetCall(ctx context.Context, p Principal, id string) (Call, error) {
	c, err := s.store.GetCall(ctx, p.OrgID, id)
	if err != nil {
		return c, err
	}
	if err := s.callCenter(p, c.CenterID); err != nil {
		return Call{}, NotFound("call")
	}
	return shownOne(s.shownCalls(ctx, p))(c, nil)
}

// ListCalls lists the call log of the centres the caller sees, newest last.
func (s *CallService) ListCalls(ctx context.Context, p Principal, f CallFilter, pg Page) ([]Call, error) {
	var fe Fields
	if f.CenterID != "" && requiredID(&fe, "center_id", "center", f.CenterID) && s.callCenter(p, f.CenterID) != nil {
		fe.Add("center_id", "no such center")
	}
	if f.ClientID != "" && !ValidID(f.ClientID) {
		fe.Add("client_id", "is not a client id")
	}
	if err := fe.Err("invalid filter"); err != nil {
		return nil, err
	}
	f.CenterIDs = s.policy.VisibleCenters(p)
	return s.shownCalls(ctx, p)(s.store.ListCalls(ctx, p.OrgID, f, pg))
}

// ClickToCallInput places a call from a staff member's phone to a client.
type ClickToCallInput struct {
	ClientID string `json:"client_id"`
	CenterID string `json:"center_id" doc:"the centre whose number the client sees; default the caller's only centre"`
}

// ClickToCall rings the caller's own phone, then bridges the client, and
// logs the call like any other.
func (s *CallService) ClickToCall(ctx context.Context, p Principal, in ClickToCallInput) (Call, error) {
	if err := changeCalls(p); err != nil {
		return Call{}, err
	}
	var fe Fields
	requiredID(&fe, "client_id", "client", in.ClientID)
	if in.CenterID == "" && len(p.CenterIDs) == 1 {
		in.CenterID = p.CenterIDs[0]
	}
	requiredID(&fe, "center_id", "center", in.CenterID)
	if err := fe.Err("invalid call"); err != nil {
		return Call{}, err
	}
	if err := s.callCenter(p, in.CenterID); err != nil {
		return Call{}, Invalid("invalid call", FieldError{Field: "center_id", Message: "no such center"})
	}
	client, err := s.clients.getVisibleClient(ctx, p, in.ClientID)
	if err != nil {
		return Call{}, Invalid("invalid call", FieldError{Field: "client_id", Message: "no such client"})
	}
	me, err := s.store.GetStaff(ctx, p.OrgID, p.StaffID)
	if err != nil {
		return Call{}, err
	}
	cs, err := s.store.GetCallSettings(ctx, p.OrgID, in.CenterID)
	if err != nil {
		return Call{}, err
	}
	switch {
	case client.Phone == "":
		fe.Add("client_id", "the client has no phone number")
	case me.Phone == "":
		fe.Add("staff", "your staff card has no phone number to ring")
	case cs.VoiceNumber == "":
		fe.Add("center_id", "the center has no voice number (PUT /centers/{id}/call-settings)")
	}
	if err := fe.Err("cannot place the call"); err != nil {
		return Call{}, err
	}
	if s.voice == nil {
		return Call{}, Conflict("no telephony provider is configured (TWILIO_ACCOUNT_SID)")
	}
	sid, err := s.voice.PlaceCall(ctx, VoiceCall{To: me.Phone, From: cs.VoiceNumber, Bridge: client.Phone,
		CallerID: firstNonEmpty(cs.CallerID, cs.VoiceNumber), StatusCallback: s.statusCallback})
	if err != nil {
		return Call{}, err
	}
	now := s.Now()
	init := Call{ID: NewID(), OrgID: p.OrgID, CenterID: in.CenterID, ClientID: client.ID, StaffID: p.StaffID, Provider: ProviderTwilio,
		ProviderCallID: sid, Direction: CallOutbound, From: cs.VoiceNumber, To: client.Phone, Status: CallQueued, StartedAt: now}
	c, _, err := s.store.ApplyCall(ctx, CallApply{Provider: ProviderTwilio, ProviderCallID: sid, Init: init,
		Update: CallUpdate{Status: CallQueued, At: now}, At: now}, func(Call, Call) CallEffects { return CallEffects{} })
	if err != nil {
		return Call{}, err
	}
	s.publishLive(ctx, LiveCallUpdated, c, nil)
	return c, nil
}

// PlannedCallInput plans a call.
type PlannedCallInput struct {
	ClientID string    `json:"client_id"`
	CenterID string    `json:"center_id" doc:"default the caller's only centre, else the client's only centre"`
	StaffID  string    `json:"staff_id" doc:"who is to call (default: the caller)"`
	DueAt    time.Time `json:"due_at" doc:"when to call (RFC 3339)"`
	Note     string    `json:"note"`
}

// PlanCall plans a call to a client the caller sees, in a centre they see.
func (s *CallService) PlanCall(ctx context.Context, p Principal, in PlannedCallInput) (PlannedCall, error) {
	if err := changeCalls(p); err != nil {
		return PlannedCall{}, err
	}
	var fe Fields
	if requiredID(&fe, "client_id", "client", in.ClientID) {
		if _, err := s.clients.getVisibleClient(ctx, p, in.ClientID); err != nil {
			if ErrorCode(err) != CodeNotFound {
				return PlannedCall{}, err
			}
			fe.Add("client_id", "no such client")
		}
	}
	pc, err := s.newPlanned(ctx, p, &fe, in)
	if err != nil {
		return pc, err
	}
	if err := s.store.CreatePlannedCall(ctx, pc); err != nil {
		return PlannedCall{}, err
	}
	return pc, nil
}

func (s *CallService) newPlanned(ctx context.Context, p Principal, fe *Fields, in PlannedCallInput) (PlannedCall, error) {
	if in.CenterID == "" && len(p.CenterIDs) == 1 {
		in.CenterID = p.CenterIDs[0]
	}
	if in.CenterID == "" && in.ClientID != "" {
		if c, err := s.store.GetClient(ctx, p.OrgID, in.ClientID); err == nil && len(c.CenterIDs) == 1 {
			in.CenterID = c.CenterIDs[0]
		}
	}
	if requiredID(fe, "center_id", "center", in.CenterID) && s.callCenter(p, in.CenterID) != nil {
		fe.Add("center_id", "no such center")
	}
	if in.StaffID == "" {
		in.StaffID = p.StaffID
	} else if requiredID(fe, "staff_id", "staff", in.StaffID) {
		st, err := s.store.GetStaff(ctx, p.OrgID, in.StaffID)
		if err != nil || s.policy.Staff(p, st) != nil {
			fe.Add("staff_id", "no such staff member")
		}
	}
	fe.Check(in.DueAt.IsZero(), "due_at", "is required (RFC 3339)")
	fe.Check(len(in.Note) > 2000, "note", "is longer than 2000 characters")
	if err := fe.Err("invalid planned call"); err != nil {
		return PlannedCall{}, err
	}
	now := s.Now()
	return PlannedCall{ID: NewID(), OrgID: p.OrgID, CenterID: in.CenterID, ClientID: in.ClientID, StaffID: in.StaffID,
		DueAt: in.DueAt.UTC().Truncate(time.Millisecond), Note: strings.TrimSpace(in.Note), Status: PlannedOpen, CreatedBy: p.StaffID, CreatedAt: now}, nil
}

// GetPlannedCall returns a planned call of a centre the caller sees.
func (s *CallService) GetPlannedCall(ctx context.Context, p Principal, id string) (PlannedCall, error) {
	pc, err := s.store.GetPlannedCall(ctx, p.OrgID, id)
	if err != nil {
		return pc, err
	}
	if s.callCenter(p, pc.CenterID) != nil {
		return PlannedCall{}, NotFound("planned call")
	}
	return shownOne(s.shownPlanned(ctx, p))(pc, nil)
}

// PlannedQuery is what a caller asks of the planned calls.
type PlannedQuery struct {
	CenterID string
	Mine     bool
	ClientID string
	Status   string
}

// ListPlannedCalls lists planned calls by due time, so overdue and today's
// come first: per centre, or the caller's own ("my planned calls": those
// assigned to them).
func (s *CallService) ListPlannedCalls(ctx context.Context, p Principal, q PlannedQuery, pg Page) ([]PlannedCall, error) {
	var fe Fields
	if q.CenterID != "" && requiredID(&fe, "center_id", "center", q.CenterID) && s.callCenter(p, q.CenterID) != nil {
		fe.Add("center_id", "no such center")
	}
	if q.ClientID != "" && !ValidID(q.ClientID) {
		fe.Add("client_id", "is not a client id")
	}
	if q.Status == "" {
		q.Status = PlannedOpen
	}
	fe.Check(q.Status != PlannedOpen && q.Status != PlannedDone && q.Status != PlannedCancelled && q.Status != "all", "status",
		"must be open, done, cancelled or all")
	if err := fe.Err("invalid filter"); err != nil {
		return nil, err
	}
	f := PlannedFilter{CenterID: q.CenterID, ClientID: q.ClientID, Status: q.Status, CenterIDs: s.policy.VisibleCenters(p)}
	if f.Status == "all" {
		f.Status = ""
	}
	if q.Mine {
		f.StaffID = p.StaffID
	}
	return s.shownPlanned(ctx, p)(s.store.ListPlannedCalls(ctx, p.OrgID, f, pg))
}

// PlannedResultInput records how a planned call went.
type PlannedResultInput struct {
	Result    string     `json:"result" doc:"what came of the call"`
	NextDueAt *time.Time `json:"next_due_at,omitempty" doc:"plan the next call at this time (RFC 3339)"`
	NextNote  string     `json:"next_note"`
}

// RecordPlannedResult closes an open planned call with its result and,
// with next_due_at, plans the next one for the same client and centre.
func (s *CallService) RecordPlannedResult(ctx context.Context, p Principal, id string, in PlannedResultInput) (PlannedCall, error) {
	pc, err := s.GetPlannedCall(ctx, p, id)
	if err != nil {
		return pc, err
	}
	if err := changeCalls(p); err != nil {
		return PlannedCall{}, err
	}
	var fe Fields
	fe.Check(strings.TrimSpace(in.Result) == "", "result", "is required")
	fe.Check(len(in.Result) > 2000, "result", "is longer than 2000 characters")
	var next *PlannedCall
	if in.NextDueAt != nil {
		n, err := s.newPlanned(ctx, p, &fe, PlannedCallInput{ClientID: pc.ClientID, CenterID: pc.CenterID, DueAt: *in.NextDueAt, Note: in.NextNote})
		if err != nil {
			return PlannedCall{}, err
		}
		n.Phone = pc.Phone
		next = &n
	}
	if err := fe.Err("invalid result"); err != nil {
		return PlannedCall{}, err
	}
	now := s.Now()
	pc.Status, pc.Result, pc.DoneAt = PlannedDone, strings.TrimSpace(in.Result), &now
	if next != nil {
		pc.NextID = next.ID
	}
	return s.store.FinishPlannedCall(ctx, pc, next)
}

// GetCallSettings returns a centre's call settings.
func (s *CallService) GetCallSettings(ctx context.Context, p Principal, centerID string) (CallSettings, error) {
	if err := s.callCenter(p, centerID); err != nil {
		return CallSettings{}, err
	}
	if _, err := s.store.GetCenter(ctx, p.OrgID, centerID); err != nil {
		return CallSettings{}, err
	}
	return s.store.GetCallSettings(ctx, p.OrgID, centerID)
}

// PutCallSettings replaces a centre's call settings (directors and the
// centre's administrators).
func (s *CallService) PutCallSettings(ctx context.Context, p Principal, centerID string, in CallSettings) (CallSettings, error) {
	if _, err := s.GetCallSettings(ctx, p, centerID); err != nil {
		return CallSettings{}, err
	}
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return CallSettings{}, err
	}
	var fe Fields
	for _, ph := range []struct {
		field string
		v     *string
	}{{"voice_number", &in.VoiceNumber}, {"caller_id", &in.CallerID}} {
		if *ph.v == "" {
			continue
		}
		if e, err := NormalizePhone(*ph.v, ""); err != nil {
			fe.Add(ph.field, "must be a phone number in E.164")
		} else {
			*ph.v = e
		}
	}
	if in.RingSeconds == 0 {
		in.RingSeconds = DefaultRingSeconds
	}
	fe.Check(in.RingSeconds < 5 || in.RingSeconds > 60, "ring_seconds", "must be between 5 and 60")
	if in.Screening == "" {
		in.Screening = ScreenPress1
	}
	fe.Check(in.Screening != ScreenPress1 && in.Screening != ScreenAMD, "screening", "must be press1 or amd")
	fe.Check(in.Language != "" && !slices.Contains([]string{"en", "fr", "de", "ru", "pl"}, in.Language), "language", "must be en, fr, de, ru or pl")
	if in.Hours == nil {
		in.Hours = WeeklyJSON{}
	}
	for day, ps := range in.Hours {
		if !slices.Contains([]string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"}, day) {
			fe.Add("hours."+day, "is not a weekday name")
			continue
		}
		for _, pr := range ps {
			if !validClock(pr.Start) || !validClock(pr.End) || pr.Start >= pr.End {
				fe.Add("hours."+day, "periods are {\"start\":\"HH:MM\",\"end\":\"HH:MM\"} with start before end")
			}
		}
	}
	if err := fe.Err("invalid call settings"); err != nil {
		return CallSettings{}, err
	}
	in.OrgID, in.CenterID, in.UpdatedAt = p.OrgID, centerID, s.Now()
	if err := s.store.PutCallSettings(ctx, in); err != nil {
		return CallSettings{}, err
	}
	s.lines.reset()
	return in, nil
}

func validClock(s string) bool {
	if len(s) != 5 || s[2] != ':' {
		return false
	}
	h, m := (int(s[0])-'0')*10+int(s[1]-'0'), (int(s[3])-'0')*10+int(s[4]-'0')
	return s[0] >= '0' && s[0] <= '2' && s[1] >= '0' && s[1] <= '9' && s[3] >= '0' && s[3] <= '5' && s[4] >= '0' && s[4] <= '9' &&
		(h < 24 || h == 24 && m == 0)
}

// GetCallOrgSettings returns the organization's telephony options.
func (s *CallService) GetCallOrgSettings(ctx context.Context, p Principal) (CallOrgSettings, error) {
	return s.store.GetCallOrgSettings(ctx, p.OrgID)
}

// PutCallOrgSettings sets the organization's telephony options (directors).
func (s *CallService) PutCallOrgSettings(ctx context.Context, p Principal, in CallOrgSettings) (CallOrgSettings, error) {
	if err := p.Require(RoleDirector); err != nil {
		return CallOrgSettings{}, err
	}
	in.OrgID, in.UpdatedAt = p.OrgID, s.Now()
	return in, s.store.PutCallOrgSettings(ctx, in)
}

// CallConnectionInput creates a provider-neutral connection.
type CallConnectionInput struct {
	Name     string `json:"name"`
	CenterID string `json:"center_id" doc:"the centre its calls belong to"`
}

// CreateCallConnection makes a connection and its secret, shown once
// (directors).
func (s *CallService) CreateCallConnection(ctx context.Context, p Principal, in CallConnectionInput) (CallConnection, error) {
	if err := p.Require(RoleDirector); err != nil {
		return CallConnection{}, err
	}
	var fe Fields
	fe.Check(strings.TrimSpace(in.Name) == "", "name", "is required")
	if requiredID(&fe, "center_id", "center", in.CenterID) {
		if _, err := s.store.GetCenter(ctx, p.OrgID, in.CenterID); err != nil {
			fe.Add("center_id", "no such center")
		}
	}
	if err := fe.Err("invalid connection"); err != nil {
		return CallConnection{}, err
	}
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return CallConnection{}, err
	}
	c := CallConnection{ID: NewID(), OrgID: p.OrgID, CenterID: in.CenterID, Name: strings.TrimSpace(in.Name),
		Secret: "whcall_" + hex.EncodeToString(b), CreatedAt: s.Now()}
	if err := s.store.CreateCallConnection(ctx, c); err != nil {
		return CallConnection{}, err
	}
	return c, nil
}

// ListCallConnections lists the organization's connections, without secrets
// (directors).
func (s *CallService) ListCallConnections(ctx context.Context, p Principal, pg Page) ([]CallConnection, error) {
	if err := p.Require(RoleDirector); err != nil {
		return nil, err
	}
	l, err := s.store.ListCallConnections(ctx, p.OrgID, pg)
	for i := range l {
		l[i].Secret = ""
	}
	return l, err
}

// RevokeCallConnection stops accepting a connection's events (directors).
func (s *CallService) RevokeCallConnection(ctx context.Context, p Principal, id string) error {
	if err := p.Require(RoleDirector); err != nil {
		return err
	}
	return s.store.RevokeCallConnection(ctx, p.OrgID, id, s.Now())
}

func firstNonEmpty(vs ...string) string {
	for _, v := range vs {
		if v != "" {
			return v
		}
	}
	return ""
}
