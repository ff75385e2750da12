package core

import (
	"context"
	"slices"
	"strings"
	"time"
)

// The Telegram booking bot's use cases (issue 17). The bot knows who
// writes (a Telegram user) and which invitation they came through; these
// read and book through the invitation as the web page does, so a client
// of one organization never reaches another's services, times or visits.

// JoinClient registers a client who proved no phone but came through the
// invitation (the bot: the Telegram user is the identity). It counts a use
// of the link as the web page's join does; a single-use link admits one.
func (s *SelfServeService) JoinClient(ctx context.Context, l Landing, in ClientInput) (Client, error) {
	if l.Usable != nil {
		return Client{}, l.Usable
	}
	if l.Specialist != nil && len(l.Specialist.CenterIDs) == 1 && len(in.CenterIDs) == 0 {
		in.CenterIDs = []string{l.Specialist.CenterIDs[0]}
	}
	return s.invites.JoinInvitation(ctx, l.Org.ID, l.Invitation.Code, in)
}

// BookClient books a free slot for a client who already joined: pending
// until staff accept, or accepted at once when the service says so. A
// time that is no longer free is a Conflict, and nothing is booked; the
// booking core's own checks (the specialist's time held by one visit)
// keep two concurrent bookings of one slot to one.
func (s *SelfServeService) BookClient(ctx context.Context, l Landing, clientID, specialistID, serviceID, tz string, start time.Time) (Appointment, error) {
	sv, err := s.Service(ctx, l, specialistID, serviceID)
	if err != nil {
		return Appointment{}, err
	}
	r := BookingRequest{SpecialistID: specialistID, ServiceID: serviceID, Start: start, Timezone: tz}
	if err := s.slotFree(ctx, l, r); err != nil {
		return Appointment{}, err
	}
	by := "client"
	if sv.AutoAccept {
		by = "staff"
	}
	res, err := s.booking.CreateAppointment(ctx, system(l.Org.ID), AppointmentInput{SpecialistID: specialistID,
		ServiceID: serviceID, ClientID: clientID, Start: start, RequestedBy: by})
	if ErrorCode(err) == CodeConflict {
		return Appointment{}, Conflict("this time is no longer free")
	}
	if err != nil {
		return Appointment{}, err
	}
	return res.Appointments[0], nil
}

// Upcoming lists a client's visits that have not ended and still hold
// their time (pending or accepted), soonest first.
func (s *SelfServeService) Upcoming(ctx context.Context, orgID, clientID string, limit int) ([]Appointment, error) {
	now := s.Now()
	var out []Appointment
	err := eachPage(func(pg Page) ([]Appointment, error) {
		return s.booking.ListAppointments(ctx, system(orgID), AppointmentFilter{ClientID: clientID, From: now.Add(-24 * time.Hour)}, pg)
	}, func(a Appointment) string { return a.ID }, func(a Appointment) {
		if (a.Status == Pending || a.Status == Accepted) && a.End.After(now) {
			out = append(out, a)
		}
	})
	slices.SortFunc(out, func(a, b Appointment) int { return a.Start.Compare(b.Start) })
	if limit > 0 && len(out) > limit {
		out = out[:limit]
	}
	return out, err
}

// ClientAppointment reads one visit of the client; another client's is
// NotFound.
func (s *SelfServeService) ClientAppointment(ctx context.Context, orgID, clientID, id string) (Appointment, error) {
	if !ValidID(id) {
		return Appointment{}, NotFound("appointment")
	}
	a, err := s.booking.store.GetAppointment(ctx, orgID, id)
	if err != nil {
		return Appointment{}, err
	}
	if a.ClientID != clientID {
		return Appointment{}, NotFound("appointment")
	}
	return a, nil
}

// CancelForClient cancels one of the client's visits at their request,
// under the organization's cancellation policy (inside the notice period
// it is recorded as late). A visit already cancelled or over is a
// Conflict.
func (s *SelfServeService) CancelForClient(ctx context.Context, orgID, clientID, id, via string) (Appointment, error) {
	a, err := s.ClientAppointment(ctx, orgID, clientID, id)
	if err != nil {
		return Appointment{}, err
	}
	if a.Status != Pending && a.Status != Accepted || !a.End.After(s.Now()) {
		return a, Conflict("this visit can no longer be cancelled")
	}
	return s.booking.CancelByClient(ctx, orgID, id, via)
}

// CancelsLate tells whether cancelling a visit now would be recorded as
// late, and the notice the organization asks for.
func (s *SelfServeService) CancelsLate(ctx context.Context, a Appointment) (late bool, noticeHours int, err error) {
	o, err := s.store.GetOrganization(ctx, a.OrgID)
	if err != nil {
		return false, 0, err
	}
	return a.Start.Sub(s.Now()) < time.Duration(o.CancelNoticeHours)*time.Hour, o.CancelNoticeHours, nil
}

// ClientPaymentLink makes (or finds) the payment link of one of the
// client's visits, the same link staff's "send payment link" sends, but
// queues no message: the bot shows its URL as a button, and a message
// too would give the client the link twice. Its Message is empty.
func (s *MessagingService) ClientPaymentLink(ctx context.Context, self *SelfServeService, orgID, clientID, id string) (LinkResult, error) {
	a, err := self.ClientAppointment(ctx, orgID, clientID, id)
	if err != nil {
		return LinkResult{}, err
	}
	if a.BalanceMinor <= 0 {
		return LinkResult{}, Conflict("nothing to pay")
	}
	return s.pipeline.PaymentLink(ctx, orgID, PayAppointment, a.ID)
}

// StaffPrincipal is the principal of a staff member acting through a
// linked messenger (the bot): the same rights as their API key gives.
func StaffPrincipal(st Staff) Principal {
	return Principal{OrgID: st.OrgID, StaffID: st.ID, Role: st.Role, CenterIDs: st.CenterIDs}
}

// Agenda lists a specialist's visits of a day of the organization's zone
// that hold time (pending, accepted, completed, missed), by start.
func (s *BookingService) Agenda(ctx context.Context, p Principal, specialistID string, day string) ([]Appointment, error) {
	var out []Appointment
	err := eachPage(func(pg Page) ([]Appointment, error) {
		return s.ListAppointments(ctx, p, AppointmentFilter{SpecialistID: specialistID, Date: day}, pg)
	}, func(a Appointment) string { return a.ID }, func(a Appointment) {
		if a.Status.Holds() {
			out = append(out, a)
		}
	})
	slices.SortFunc(out, func(a, b Appointment) int { return a.Start.Compare(b.Start) })
	return out, err
}

// TelegramLocale is the bot's language for a Telegram language_code: the
// code's language when it is one of ours, else English.
func TelegramLocale(code string) string {
	l, _, _ := strings.Cut(strings.ToLower(code), "-")
	if ValidLocale(l) {
		return l
	}
	return "en"
}

// BotUser is what the Telegram bot keeps of a Telegram user.
type BotUser struct {
	TelegramID string
	// Locale is the language the user chose; empty: their Telegram
	// language_code decides.
	Locale string
	// Timezone is the IANA zone times are shown in; empty: not asked yet.
	Timezone string
	// The invitation the user came through and the card it made (a client
	// card, or empty for staff).
	OrgID, InvitationID, ClientID string
	// Awaiting names the free text the bot waits for ("tz": a city or an
	// offset); empty: free text is a chat message for staff.
	Awaiting  string
	UpdatedAt time.Time
}

// BotKeyboard holds the choices behind an inline keyboard's buttons, so a
// button's callback_data is a short id and an index, whatever the names
// shown. Payload is the bot's own (JSON).
type BotKeyboard struct {
	ID         string
	TelegramID string
	Payload    string
	UsedAt     *time.Time
	CreatedAt  time.Time
}

// UnusableReason names why an invitation refuses clients (the error
// Invitation.CheckUsable or a join gave): expired, used, not_yet or
// inactive; the pages and the bot show the matching text.
func UnusableReason(err error) string {
	msg := err.Error()
	switch {
	case strings.Contains(msg, "expired"):
		return "expired"
	case strings.Contains(msg, "already used"), strings.Contains(msg, "no uses left"):
		return "used"
	case strings.Contains(msg, "not valid yet"):
		return "not_yet"
	}
	return "inactive"
}
