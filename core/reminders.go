package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"strconv"
	"time"

	"github.com/bookinggw/gateway/core/schedule"
)

// ReminderPolicy says when and how clients are reminded of visits. An
// organization has one; a center or a service may override it.
type ReminderPolicy struct {
	// OffsetsMin are minutes before the visit, e.g. 2880 and 120 (2 days and 2 hours).
	OffsetsMin []int `json:"offsets_min" doc:"minutes before the visit, e.g. [2880, 120]"`
	// AskConfirm makes the reminder ask for a reply (1/YES to confirm, 2/NO to cancel).
	AskConfirm bool `json:"ask_confirm"`
	// WindowStart and WindowEnd bound sending in the recipient's local time;
	// a reminder due outside moves to the window's end before it, never
	// after the visit; when that is already past, to the next window start
	// before the visit, else it is skipped with its reason.
	WindowStart string `json:"window_start" doc:"HH:MM local time of the recipient"`
	WindowEnd   string `json:"window_end" doc:"HH:MM local time of the recipient"`
}

// DefaultReminderPolicy: one reminder a day before, asking for confirmation,
// sent between 09:00 and 20:00.
func DefaultReminderPolicy() ReminderPolicy {
	return ReminderPolicy{OffsetsMin: []int{1440}, AskConfirm: true, WindowStart: "09:00", WindowEnd: "20:00"}
}

// Validate checks a policy.
func (p ReminderPolicy) Validate() error {
	var f Fields
	f.Check(len(p.OffsetsMin) > 5, "offsets_min", "at most 5 reminders")
	seen := map[int]bool{}
	for _, o := range p.OffsetsMin {
		f.Check(o < 5 || o > 30*24*60, "offsets_min", "each offset is from 5 minutes to 30 days")
		f.Check(seen[o], "offsets_min", "offsets must differ")
		seen[o] = true
	}
	a, err1 := schedule.ParseClock(p.WindowStart)
	b, err2 := schedule.ParseClock(p.WindowEnd)
	f.Check(err1 != nil, "window_start", "must be HH:MM")
	f.Check(err2 != nil, "window_end", "must be HH:MM")
	f.Check(err1 == nil && err2 == nil && b <= a, "window_end", "must be after window_start")
	return f.Err("invalid reminder policy")
}

// ReminderTime is one reminder of a visit: when it is due, or why none
// is sent for its offset.
type ReminderTime struct {
	OffsetMin int
	Due       time.Time
	// Skip says why this offset sends nothing ("" when Due is when it
	// goes); Due is then when it would have gone.
	Skip string
}

// ReminderTimes computes when reminders of a visit starting at start are
// due, for a recipient in loc, one per offset: none is silently dropped.
// Offsets are real durations (a 24-hour reminder before a visit on a DST
// change day fires 24 real hours before). A due time outside the sending
// window moves to the end of the window before it; when that is already
// past (a visit booked in the evening for the next evening), to the next
// window start that is still before the visit; so does one whose time had
// passed when the visit was booked. A reminder that cannot go is returned
// skipped, with its reason: no window time is left before the visit, or
// another offset goes at the same moment.
func ReminderTimes(start, now time.Time, p ReminderPolicy, loc *time.Location) []ReminderTime {
	ws, err1 := schedule.ParseClock(p.WindowStart)
	we, err2 := schedule.ParseClock(p.WindowEnd)
	window := err1 == nil && err2 == nil && loc != nil
	var out []ReminderTime
	taken := map[time.Time]int{}
	for _, off := range p.OffsetsMin {
		ideal := start.Add(-time.Duration(off) * time.Minute)
		rt := ReminderTime{OffsetMin: off, Due: ideal.UTC()}
		due := ideal
		if window {
			due = intoWindow(ideal, ws, we, loc)
		}
		switch {
		case due.After(now):
			rt.Due = due.UTC()
		case !window:
			rt.Skip = "its time had passed when the visit was booked"
		default:
			// Past already (a visit booked late, or the window pushed it
			// back): the next morning of the window, if before the visit.
			if next := nextWindowStart(now, ws, loc); next.Before(start) {
				rt.Due = next.UTC()
			} else {
				rt.Skip = "no time inside the sending window (" + p.WindowStart + "–" + p.WindowEnd + ") is left before the visit"
			}
		}
		if other, dup := taken[rt.Due]; rt.Skip == "" && dup {
			rt.Skip = "the " + strconv.Itoa(other) + "-minute reminder goes at the same time"
		} else if rt.Skip == "" {
			taken[rt.Due] = off
		}
		out = append(out, rt)
	}
	return out
}

// nextWindowStart is the first start of the sending window at or after t.
func nextWindowStart(t time.Time, ws schedule.Clock, loc *time.Location) time.Time {
	d := schedule.DateOf(t.In(loc))
	at := time.Date(d.Year, d.Month, d.Day, 0, int(ws), 0, 0, loc)
	if at.Before(t) {
		d = d.AddDays(1)
		at = time.Date(d.Year, d.Month, d.Day, 0, int(ws), 0, 0, loc)
	}
	return at
}

// intoWindow moves t to the latest instant at or before t that lies within
// [ws, we) local time.
func intoWindow(t time.Time, ws, we schedule.Clock, loc *time.Location) time.Time {
	l := t.In(loc)
	d := schedule.DateOf(l)
	m := schedule.Clock(l.Hour()*60 + l.Minute())
	switch {
	case m >= ws && m < we:
		return t
	case m >= we: // evening: the end of today's window
		return time.Date(d.Year, d.Month, d.Day, 0, int(we), 0, 0, loc).Add(-time.Minute)
	default: // early morning: the end of yesterday's window
		y := d.AddDays(-1)
		return time.Date(y.Year, y.Month, y.Day, 0, int(we), 0, 0, loc).Add(-time.Minute)
	}
}

// Reminder is a scheduled reminder of an appointment.
type Reminder struct {
	ID            string    `json:"id"`
	OrgID         string    `json:"-"`
	AppointmentID string    `json:"appointment_id"`
	OffsetMin     int       `json:"offset_min"`
	Due           time.Time `json:"due_at"`
	AskConfirm    bool      `json:"ask_confirm"`
	Status        string    `json:"status" doc:"scheduled, queued, skipped or void"`
	MessageID     string    `json:"message_id,omitempty"`

	// Reason says why a skipped reminder is not sent.
	Reason string `json:"reason,omitempty"`
}

// ReplyIntent is what a client's SMS reply means.
type ReplyIntent string

const (
	ReplyConfirm ReplyIntent = "confirm"
	ReplyCancel  ReplyIntent = "cancel"
	ReplyStop    ReplyIntent = "stop"
	ReplyStart   ReplyIntent = "start"
	ReplyHelp    ReplyIntent = "help"
	ReplyOther   ReplyIntent = "other"
)

// ParseReply reads a client's reply in any of the five languages: case,
// spaces and punctuation are ignored, so " oui! " confirms and "Нет."
// cancels. ParseReplyIn reads it in the client's own language.
func ParseReply(body string) ReplyIntent { return ParseReplyIn(body, "") }

// LinkAction is what a signed client link lets its holder do.
type LinkAction string

const (
	LinkManage LinkAction = "m" // see the visit, confirm or cancel it
)

// SignLink makes a token for an appointment that expires at exp (the end of
// the visit). It cannot be altered to name another appointment.
func SignLink(secret []byte, appointmentID string, action LinkAction, exp time.Time) string {
	payload := make([]byte, 8, 8+len(appointmentID)+1)
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	payload = append(payload, action[0])
	payload = append(payload, appointmentID...)
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	sig := mac.Sum(nil)[:16]
	return base64.RawURLEncoding.EncodeToString(append(payload, sig...))
}

// VerifyLink checks a token and returns its appointment id.
func VerifyLink(secret []byte, token string, now time.Time) (string, LinkAction, error) {
	raw, err := base64.RawURLEncoding.DecodeString(token)
	if err != nil || len(raw) < 8+1+16+1 {
		return "", "", NotFound("link")
	}
	payload, sig := raw[:len(raw)-16], raw[len(raw)-16:]
	mac := hmac.New(sha256.New, secret)
	mac.Write(payload)
	if !hmac.Equal(sig, mac.Sum(nil)[:16]) {
		return "", "", NotFound("link")
	}
	exp := time.Unix(int64(binary.BigEndian.Uint64(payload[:8])), 0)
	if now.After(exp) {
		return "", "", &Error{Code: CodeInvalid, Message: "this link has expired"}
	}
	return string(payload[9:]), LinkAction(payload[8:9]), nil
}

// reminderPlanner computes the reminders appointments should have. It
// reads each (center, service, client)'s policy and client zone once, so a
// series or a bulk change inside the booking transaction costs one lookup,
// and CreateAppointment can read it before taking the lock.
type reminderPlanner struct {
	s    *BookingService
	seen map[[3]string]reminderSettings
	// zones are reminder zones already read with the booking's references
	// (SpecialistRefs.ReminderZone), by client: no second read.
	zones map[string]string
	// policies were read with the booking's references (nil: read each).
	policies *ReminderPolicies
}

// knowZone records a client's reminder zone read already ("" is unknown).
func (r *reminderPlanner) knowZone(clientID, zone string) {
	if zone == "" {
		return
	}
	if r.zones == nil {
		r.zones = map[string]string{}
	}
	r.zones[clientID] = zone
}

type reminderSettings struct {
	policy ReminderPolicy
	loc    *time.Location
}

func (s *BookingService) reminderPlanner() *reminderPlanner {
	return &reminderPlanner{s: s, seen: map[[3]string]reminderSettings{}}
}

func (r *reminderPlanner) settings(ctx context.Context, a Appointment) (reminderSettings, error) {
	key := [3]string{a.CenterID, a.ServiceID, a.ClientID}
	if st, ok := r.seen[key]; ok {
		return st, nil
	}
	p, known := r.policies.For(a.CenterID, a.ServiceID)
	if !known {
		var err error
		if p, err = ReminderPolicyOf(ctx, r.s.store, a.OrgID, a.CenterID, a.ServiceID); err != nil {
			return reminderSettings{}, err
		}
	}
	var err error
	tz, known := r.zones[a.ClientID]
	if !known {
		if tz, err = r.s.store.ClientTimezone(ctx, a.OrgID, a.ClientID); err != nil {
			return reminderSettings{}, err
		}
	}
	if tz == "" {
		o, err := r.s.store.GetOrganization(ctx, a.OrgID)
		if err != nil {
			return reminderSettings{}, err
		}
		tz = o.Timezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	st := reminderSettings{policy: p, loc: loc}
	r.seen[key] = st
	return st, nil
}

// plan computes the reminders an appointment should have now: none unless
// it is accepted and ahead.
func (r *reminderPlanner) plan(ctx context.Context, a Appointment) ([]Reminder, error) {
	s := r.s
	if a.Status != Accepted || !a.Start.After(s.Now()) {
		return nil, nil
	}
	st, err := r.settings(ctx, a)
	if err != nil {
		return nil, err
	}
	p, loc := st.policy, st.loc
	var out []Reminder
	for _, rt := range ReminderTimes(a.Start, s.Now(), p, loc) {
		r := Reminder{ID: NewID(), OrgID: a.OrgID, AppointmentID: a.ID, OffsetMin: rt.OffsetMin, Due: rt.Due,
			AskConfirm: p.AskConfirm, Status: "scheduled"}
		if rt.Skip != "" {
			r.Status, r.Reason = "skipped", rt.Skip
		}
		out = append(out, r)
	}
	return out, nil
}

// Inbound is a message a client sent (an SMS or WhatsApp reply).
type Inbound struct {
	ID            string      `json:"id"`
	OrgID         string      `json:"-"`
	ClientID      string      `json:"client_id,omitempty"`
	CenterID      string      `json:"center_id,omitempty"`
	Channel       Channel     `json:"channel"`
	From          string      `json:"from"`
	To            string      `json:"to"`
	ServiceSID    string      `json:"messaging_service_sid,omitempty" doc:"the Twilio messaging service that received it"`
	Body          string      `json:"body"`
	ProviderID    string      `json:"provider_id"`
	Intent        ReplyIntent `json:"intent"`
	AppointmentID string      `json:"appointment_id,omitempty"`
	HandledAt     *time.Time  `json:"handled_at,omitempty"`
	CreatedAt     time.Time   `json:"created_at"`
	// Media are the attachments (MediaUrlN, MediaContentTypeN).
	Media []InboundMedia `json:"media,omitempty"`
	// Truncated: the text was longer than MaxInboundText and was cut.
	Truncated bool `json:"truncated,omitempty"`
}

// ReminderPolicyReader resolves the stored policy of a visit.
type ReminderPolicyReader interface {
	ReminderPolicyFor(ctx context.Context, orgID, centerID, serviceID string) (ReminderPolicy, bool, error)
}

// ReminderPolicyOf is the policy a visit's reminders follow: the
// service's, else the centre's, else the organization's, else the default.
// Scheduled and manual reminders both ask it.
func ReminderPolicyOf(ctx context.Context, r ReminderPolicyReader, orgID, centerID, serviceID string) (ReminderPolicy, error) {
	p, found, err := r.ReminderPolicyFor(ctx, orgID, centerID, serviceID)
	if err != nil {
		return ReminderPolicy{}, err
	}
	if !found {
		p = DefaultReminderPolicy()
	}
	return p, nil
}
