package bot

import (
	"context"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/core/schedule"
	"github.com/bookinggw/gateway/templates"
)

// staffOf finds the staff member linked to the user's Telegram chat: of
// orgID when given, else the first (a person on two organizations' teams
// has a staff record in each: the menu greets them by the first one's
// name; the agenda and the requests cover all of them, see staffList).
func (b *Bot) staffOf(ctx context.Context, s *session, orgID string) (core.Staff, bool) {
	list, err := b.c.Store.StaffByTelegram(ctx, s.user.TelegramID)
	if err != nil {
		b.c.Log.WarnContext(ctx, "bot: staff by telegram", "error", err.Error())
		return core.Staff{}, false
	}
	for _, st := range list {
		if orgID == "" || st.OrgID == orgID {
			return st, true
		}
	}
	return core.Staff{}, false
}

func (b *Bot) staffScreen(ctx context.Context, s *session, act string) screen {
	sc, err := b.staffList(ctx, s, act)
	if err != nil {
		b.c.Log.WarnContext(ctx, "bot: staff screen", "error", err.Error())
		return screen{text: s.phrase("page.error")}
	}
	return sc
}

// staffTap runs a staff member's button: the agenda, the requests, one
// request, accept or reject.
func (b *Bot) staffTap(ctx context.Context, s *session, p payload, ch choice) error {
	switch ch.Act {
	case actAgenda, actRequests:
		sc, err := b.staffList(ctx, s, ch.Act)
		if err != nil {
			return err
		}
		return b.show(ctx, s, sc)
	}
	org, appt := p.Org, p.Appt
	if ch.Act == actRequest {
		appt = ch.Val
		if ch.Org != "" {
			// A list of several organizations' requests: the button's own,
			// handled with that organization's staff record.
			org = ch.Org
		}
	}
	st, ok := b.staffOf(ctx, s, org)
	if !ok {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	pr := core.StaffPrincipal(st)
	a, err := b.c.Booking.GetAppointment(ctx, pr, appt)
	if code := core.ErrorCode(err); code == core.CodeNotFound || code == core.CodeForbidden {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	if err != nil {
		return err
	}
	if ch.Act == actRequest {
		return b.show(ctx, s, b.request(ctx, s, st, a))
	}
	status := core.Accepted
	if ch.Act == actReject {
		status = core.Rejected
	}
	if a.Status != core.Pending {
		return b.show(ctx, s, b.handled(ctx, s, st, a))
	}
	out, err := b.c.Booking.ChangeStatus(ctx, pr, a.ID, core.StatusChange{Status: status})
	switch code := core.ErrorCode(err); {
	case err == nil:
		a = out[0]
	case code == core.CodeConflict:
		// Handled meanwhile (the API, another tap): say what it is now.
		if a, err = b.c.Booking.GetAppointment(ctx, pr, a.ID); err != nil {
			return err
		}
		return b.show(ctx, s, b.handled(ctx, s, st, a))
	case code == core.CodeForbidden || code == core.CodeNotFound:
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	default:
		return err
	}
	key := "bot.accepted"
	if a.Status == core.Rejected {
		key = "bot.rejected"
	}
	sc := screen{text: s.phrase(key, b.requestArgs(ctx, s, st, a)...)}
	sc.row(btn(s.phrase("bot.staff_requests"), actRequests, ""), btn(s.phrase("bot.staff_agenda"), actAgenda, ""))
	return b.show(ctx, s, sc)
}

// staffZone is where a staff member reads times: their zone, else the
// organization's.
func (b *Bot) staffZone(ctx context.Context, st core.Staff) *time.Location {
	tz := st.Timezone
	if tz == "" {
		if o, err := b.c.Store.GetOrganization(ctx, st.OrgID); err == nil {
			tz = o.Timezone
		}
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC
	}
	return loc
}

func (b *Bot) requestArgs(ctx context.Context, s *session, st core.Staff, a core.Appointment) []string {
	client := a.ClientName
	if client == "" {
		if c, err := b.c.Store.GetClient(ctx, a.OrgID, a.ClientID); err == nil {
			client = c.Name
		}
	}
	service := ""
	if sv, err := b.c.Store.GetService(ctx, a.OrgID, a.ServiceID); err == nil {
		service = sv.Name
	}
	t := a.Start.In(b.staffZone(ctx, st))
	return []string{"client", client, "service", service, "date", templates.FormatDate(s.loc, t), "time", templates.FormatTime(s.loc, t),
		"status", s.phrase("status." + string(a.Status))}
}

// request shows a pending request with Accept and Reject (used once).
func (b *Bot) request(ctx context.Context, s *session, st core.Staff, a core.Appointment) screen {
	if a.Status != core.Pending {
		return b.handled(ctx, s, st, a)
	}
	sc := screen{text: s.phrase("bot.request", b.requestArgs(ctx, s, st, a)...), once: true,
		state: payload{Org: a.OrgID, Appt: a.ID}}
	sc.row(btn(s.phrase("bot.accept"), actAccept, ""), btn(s.phrase("bot.reject"), actReject, ""))
	return sc
}

// handled answers a stale request button: what the request is now.
func (b *Bot) handled(ctx context.Context, s *session, st core.Staff, a core.Appointment) screen {
	sc := screen{text: s.phrase("bot.request_handled", b.requestArgs(ctx, s, st, a)...)}
	sc.row(btn(s.phrase("bot.staff_requests"), actRequests, ""), btn(s.phrase("bot.staff_agenda"), actAgenda, ""))
	return sc
}

// staffList is today's agenda, or the pending requests as buttons, of
// every organization whose team the user is on: with several, a section
// each, titled with the organization's name, and each request button
// named after its organization. Each organization is read with its own
// staff record's principal (its role and centres), and each request
// button carries its organization, so opening it acts there.
func (b *Bot) staffList(ctx context.Context, s *session, act string) (screen, error) {
	list, err := b.c.Store.StaffByTelegram(ctx, s.user.TelegramID)
	if err != nil {
		return screen{}, err
	}
	if len(list) == 0 {
		return b.menu(ctx, s, ""), nil
	}
	secs := make([]staffSection, 0, len(list))
	for _, st := range list {
		o, err := b.c.Store.GetOrganization(ctx, st.OrgID)
		if err != nil {
			return screen{}, err
		}
		sec := staffSection{org: o, st: st}
		if act == actAgenda {
			err = b.agenda(ctx, s, &sec)
		} else {
			err = b.requests(ctx, s, &sec)
		}
		if err != nil {
			return screen{}, err
		}
		secs = append(secs, sec)
	}
	sc := screen{text: staffText(s, act, secs)}
	for _, sec := range secs {
		label := ""
		if len(secs) > 1 {
			label = sec.org.Name + " · "
		}
		for _, a := range sec.pending {
			sc.row(button{text: label + s.phrase("bot.request_button", b.requestArgs(ctx, s, sec.st, a)...),
				ch: choice{Act: actRequest, Val: a.ID, Org: a.OrgID}})
		}
	}
	sc.row(btn(s.phrase("bot.staff_agenda"), actAgenda, ""), btn(s.phrase("bot.staff_requests"), actRequests, ""))
	return sc, nil
}

// staffSection is one organization's part of the agenda or the requests.
type staffSection struct {
	org core.Organization
	st  core.Staff
	// head is the agenda's date line (in the staff record's zone), or the
	// requests' title; lines list the visits (the agenda's, or requests
	// to show in the text when several organizations share the screen).
	head    string
	lines   []string
	pending []core.Appointment
}

// staffText lays the sections out: one organization's as before (its
// head, its lines); several under a common head (the agenda's date when
// every section has the same one), each titled with its organization.
func staffText(s *session, act string, secs []staffSection) string {
	if len(secs) == 1 {
		if act == actRequests {
			return secs[0].head
		}
		return strings.Join(append([]string{secs[0].head}, secs[0].lines...), "\n")
	}
	common := ""
	if act == actAgenda {
		// The date once when every staff record reads the same day.
		common = secs[0].head
		for _, sec := range secs[1:] {
			if sec.head != common {
				common = ""
			}
		}
	} else {
		for _, sec := range secs {
			if len(sec.pending) > 0 {
				common = s.phrase("bot.requests")
			}
		}
		if common == "" {
			// Nothing anywhere: one line says so.
			return s.phrase("bot.requests_empty")
		}
	}
	parts := make([]string, 0, len(secs)+1)
	if common != "" {
		parts = append(parts, common)
	}
	for _, sec := range secs {
		lines := []string{s.phrase("bot.staff_org", "org", sec.org.Name)}
		if common == "" {
			lines = append(lines, sec.head)
		}
		lines = append(lines, sec.lines...)
		if act == actRequests && len(sec.pending) == 0 {
			lines = append(lines, s.phrase("bot.requests_empty"))
		}
		parts = append(parts, strings.Join(lines, "\n"))
	}
	return strings.Join(parts, "\n\n")
}

// agenda fills a section with the staff member's visits today (the
// organization's day), those still pending as requests.
func (b *Bot) agenda(ctx context.Context, s *session, sec *staffSection) error {
	orgLoc, err := time.LoadLocation(sec.org.Timezone)
	if err != nil {
		orgLoc = time.UTC
	}
	now := b.c.Clock.Now()
	as, err := b.c.Booking.Agenda(ctx, core.StaffPrincipal(sec.st), sec.st.ID, schedule.DateOf(now.In(orgLoc)).String())
	if err != nil {
		return err
	}
	sec.head = s.phrase("bot.agenda_title", "date", templates.FormatDate(s.loc, now.In(b.staffZone(ctx, sec.st))))
	for _, a := range as {
		sec.lines = append(sec.lines, s.phrase("bot.agenda_line", b.requestArgs(ctx, s, sec.st, a)...))
		if a.Status == core.Pending {
			sec.pending = append(sec.pending, a)
		}
	}
	if len(as) == 0 {
		sec.lines = append(sec.lines, s.phrase("bot.agenda_empty"))
	}
	return nil
}

// requests fills a section with the upcoming requests waiting for the
// staff member. One organization's screen names them on its buttons only;
// with several, the text lists them under their organization too.
func (b *Bot) requests(ctx context.Context, s *session, sec *staffSection) error {
	as, err := b.c.Booking.ListAppointments(ctx, core.StaffPrincipal(sec.st), core.AppointmentFilter{SpecialistID: sec.st.ID,
		Status: core.Pending, From: b.c.Clock.Now()}, core.Page{Limit: maxUpcoming})
	if err != nil {
		return err
	}
	sec.pending = as
	for _, a := range as {
		sec.lines = append(sec.lines, s.phrase("bot.request_button", b.requestArgs(ctx, s, sec.st, a)...))
	}
	sec.head = s.phrase("bot.requests")
	if len(as) == 0 {
		sec.head = s.phrase("bot.requests_empty")
	}
	return nil
}

// joinTeam makes the user a specialist of the organization that invited
// them, their Telegram linked for staff messages.
func (b *Bot) joinTeam(ctx context.Context, s *session, l core.Landing) error {
	name := strings.TrimSpace(s.from.FirstName + " " + s.from.LastName)
	if name == "" {
		name = s.from.UserName
	}
	st, err := b.c.Invitations.JoinTeam(ctx, l.Org.ID, l.Invitation.Code, core.TeamJoin{Name: name, TelegramChatID: s.user.TelegramID,
		Timezone: s.user.Timezone})
	if core.ErrorCode(err) == core.CodeConflict {
		return b.show(ctx, s, screen{text: s.phrase("join." + core.UnusableReason(err))})
	}
	if err != nil {
		return err
	}
	if err := b.saveUser(ctx, s); err != nil {
		return err
	}
	return b.show(ctx, s, b.menu(ctx, s, "", s.phrase("bot.team_joined", "org", l.Org.Name, "name", st.Name)))
}
