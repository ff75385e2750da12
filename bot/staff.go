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
// sees the first one's agenda; requests of both reach them with buttons).
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
	st, ok := b.staffOf(ctx, s, p.Org)
	if !ok {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	appt := p.Appt
	if ch.Act == actRequest {
		appt = ch.Val
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

// staffList is today's agenda, or the pending requests as buttons.
func (b *Bot) staffList(ctx context.Context, s *session, act string) (screen, error) {
	st, ok := b.staffOf(ctx, s, "")
	if !ok {
		return b.menu(ctx, s, ""), nil
	}
	pr := core.StaffPrincipal(st)
	loc := b.staffZone(ctx, st)
	sc := screen{}
	if act == actAgenda {
		o, err := b.c.Store.GetOrganization(ctx, st.OrgID)
		if err != nil {
			return sc, err
		}
		orgLoc, err := time.LoadLocation(o.Timezone)
		if err != nil {
			orgLoc = time.UTC
		}
		now := b.c.Clock.Now()
		as, err := b.c.Booking.Agenda(ctx, pr, st.ID, schedule.DateOf(now.In(orgLoc)).String())
		if err != nil {
			return sc, err
		}
		lines := []string{s.phrase("bot.agenda_title", "date", templates.FormatDate(s.loc, now.In(loc)))}
		for _, a := range as {
			lines = append(lines, s.phrase("bot.agenda_line", b.requestArgs(ctx, s, st, a)...))
			if a.Status == core.Pending {
				sc.row(btn(s.phrase("bot.request_button", b.requestArgs(ctx, s, st, a)...), actRequest, a.ID))
			}
		}
		if len(as) == 0 {
			lines = append(lines, s.phrase("bot.agenda_empty"))
		}
		sc.text = strings.Join(lines, "\n")
	} else {
		as, err := b.c.Booking.ListAppointments(ctx, pr, core.AppointmentFilter{SpecialistID: st.ID, Status: core.Pending,
			From: b.c.Clock.Now()}, core.Page{Limit: maxUpcoming})
		if err != nil {
			return sc, err
		}
		sc.text = s.phrase("bot.requests")
		if len(as) == 0 {
			sc.text = s.phrase("bot.requests_empty")
		}
		for _, a := range as {
			sc.row(btn(s.phrase("bot.request_button", b.requestArgs(ctx, s, st, a)...), actRequest, a.ID))
		}
	}
	sc.row(btn(s.phrase("bot.staff_agenda"), actAgenda, ""), btn(s.phrase("bot.staff_requests"), actRequests, ""))
	return sc, nil
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
