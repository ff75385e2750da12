package bot

import (
	"context"
	"strconv"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/core/schedule"
	"github.com/bookinggw/gateway/templates"
)

// Bounds of what one keyboard lists.
const (
	maxDays     = 14
	maxSlots    = 48
	maxUpcoming = 10
)

// start opens an invitation (a deep link's token): the client is
// registered with the specialist or organization, counted on the
// invitation; a team invitation makes a specialist a staff member.
func (b *Bot) start(ctx context.Context, s *session, token string) error {
	if token == "" {
		return b.show(ctx, s, b.menu(ctx, s, ""))
	}
	l, err := b.c.SelfServe.ResolveStart(ctx, token)
	switch codeOf(err) {
	case "":
	case core.CodeNotFound:
		return b.show(ctx, s, screen{text: s.phrase("join.invalid")})
	case core.CodeInvalid:
		return b.show(ctx, s, screen{text: s.phrase("join.expired")})
	default:
		return err
	}
	if l.Invitation.Target == core.TargetTeam {
		return b.joinTeam(ctx, s, l)
	}
	tgID := s.user.TelegramID
	cl, err := b.c.Store.ClientByChatID(ctx, l.Org.ID, core.ChannelTelegram, tgID)
	switch {
	case err == nil:
		// Registered already (this link or another of the organization):
		// opening a link again books with the same card and uses nothing.
	case core.ErrorCode(err) != core.CodeNotFound:
		return err
	case l.Usable != nil:
		return b.show(ctx, s, screen{text: s.phrase("join." + core.UnusableReason(l.Usable))})
	default:
		in := core.ClientInput{FirstName: s.from.FirstName, LastName: s.from.LastName, TelegramID: core.TelegramID(tgID),
			Language: s.loc, Timezone: s.user.Timezone, Source: "telegram"}
		if in.FirstName == "" && in.LastName == "" {
			in.FirstName = s.from.UserName
		}
		if in.FirstName == "" && in.LastName == "" {
			in.FirstName = tgID
		}
		cl, err = b.c.SelfServe.JoinClient(ctx, l, in)
		if core.ErrorCode(err) == core.CodeConflict {
			return b.show(ctx, s, screen{text: s.phrase("join." + core.UnusableReason(err))})
		}
		if err != nil {
			return err
		}
	}
	s.user.OrgID, s.user.InvitationID, s.user.ClientID = l.Org.ID, l.Invitation.ID, cl.ID
	who := l.Org.Name
	if l.Specialist != nil {
		who = l.Specialist.Name
	}
	if s.user.Timezone == "" {
		return b.askTimezoneWith(ctx, s, s.phrase("bot.welcome", "name", who)+"\n\n")
	}
	if err := b.saveUser(ctx, s); err != nil {
		return err
	}
	return b.show(ctx, s, b.menu(ctx, s, "", s.phrase("bot.welcome", "name", who)))
}

// menu is the main menu, with a notice (a phrase key) above it: the
// client's choices when the user came through an invitation, the staff
// member's when their Telegram is linked to a staff record.
func (b *Bot) menu(ctx context.Context, s *session, notice string, lead ...string) screen {
	var sc screen
	text := ""
	for _, l := range lead {
		text += l + "\n\n"
	}
	if notice != "" {
		text += s.phrase(notice) + "\n\n"
	}
	st, isStaff := b.staffOf(ctx, s, "")
	switch {
	case s.user.ClientID != "":
		text += s.phrase("bot.menu")
		sc.row(btn(s.phrase("bot.menu_book"), actBook, ""))
		sc.row(btn(s.phrase("bot.menu_appointments"), actAppts, ""), btn(s.phrase("bot.menu_pay"), actPay, ""))
		sc.row(btn(s.phrase("bot.menu_chat"), actChat, ""))
	case isStaff:
		text += s.phrase("bot.staff_menu", "name", st.Name)
	default:
		text += s.phrase("bot.no_invitation")
	}
	if isStaff {
		sc.row(btn(s.phrase("bot.staff_agenda"), actAgenda, ""), btn(s.phrase("bot.staff_requests"), actRequests, ""))
	}
	sc.row(btn(s.phrase("bot.menu_language"), actLangs, ""), btn(s.phrase("bot.menu_timezone"), actTZ, ""))
	sc.text = text
	return sc
}

// languages offers the five languages, each named in itself.
func (b *Bot) languages(s *session) screen {
	sc := screen{text: s.phrase("bot.language")}
	var row []button
	for _, l := range core.Locales {
		row = append(row, btn(templates.Phrase(l, "bot.language_name"), actLang, l))
	}
	sc.row(row...)
	sc.row(btn(s.phrase("book.back"), actMenu, ""))
	return sc
}

func (b *Bot) askTimezone(ctx context.Context, s *session) error {
	return b.askTimezoneWith(ctx, s, "")
}

// askTimezoneWith asks for a city or an offset (the next text answers),
// offering the organization's zone as a button.
func (b *Bot) askTimezoneWith(ctx context.Context, s *session, lead string) error {
	s.user.Awaiting = awaitTimezone
	if err := b.saveUser(ctx, s); err != nil {
		return err
	}
	sc := screen{text: lead + s.phrase("bot.tz_ask")}
	zone := ""
	if s.user.OrgID != "" {
		if o, err := b.c.Store.GetOrganization(ctx, s.user.OrgID); err == nil {
			zone = o.Timezone
		}
	}
	if zone == "" {
		if st, ok := b.staffOf(ctx, s, ""); ok {
			zone = st.Timezone
		}
	}
	if zone != "" {
		sc.row(btn(s.phrase("bot.tz_use", "zone", zone), actTZUse, zone))
	}
	return b.show(ctx, s, sc)
}

const awaitTimezone = "tz"

// setTimezone reads a city, an IANA name or a UTC offset; an unknown one
// asks again.
func (b *Bot) setTimezone(ctx context.Context, s *session, text string) error {
	zone, ok := ParseZone(text)
	if !ok {
		return b.show(ctx, s, screen{text: s.phrase("bot.tz_unknown")})
	}
	s.user.Timezone, s.user.Awaiting = zone, ""
	if err := b.saveUser(ctx, s); err != nil {
		return err
	}
	return b.show(ctx, s, b.menu(ctx, s, "", s.phrase("bot.tz_set", "zone", zone)))
}

// landing reads the invitation a client came through (the keyboard's,
// else the user's).
func (b *Bot) landing(ctx context.Context, s *session, p payload) (core.Landing, error) {
	org, inv := p.Org, p.Inv
	if org == "" {
		org, inv = s.user.OrgID, s.user.InvitationID
	}
	i, err := b.c.Store.GetInvitation(ctx, org, inv)
	if err != nil {
		return core.Landing{}, err
	}
	return b.c.SelfServe.Landing(ctx, i.Code)
}

func (s *session) zone(org core.Organization) (*time.Location, string) {
	tz := s.user.Timezone
	if tz == "" {
		tz = org.Timezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		return time.UTC, "UTC"
	}
	return loc, tz
}

// clientTap runs a client's button.
func (b *Bot) clientTap(ctx context.Context, s *session, p payload, ch choice) error {
	if s.user.ClientID == "" {
		return b.show(ctx, s, b.menu(ctx, s, ""))
	}
	if p.Org == "" {
		p.Org, p.Inv = s.user.OrgID, s.user.InvitationID
	}
	if p.Org != s.user.OrgID {
		// A keyboard of an organization the user has left for another
		// invitation: its client card is another one.
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	switch ch.Act {
	case actChat:
		sc := screen{text: s.phrase("bot.chat")}
		sc.row(btn(s.phrase("book.back"), actMenu, ""))
		return b.show(ctx, s, sc)
	case actAppts:
		return b.appointments(ctx, s, p, "")
	case actAppt:
		return b.appointment(ctx, s, p, ch.Val)
	case actCancel:
		return b.cancel(ctx, s, p)
	case actPay:
		return b.pay(ctx, s, p, ch.Val)
	}
	l, err := b.landing(ctx, s, p)
	if core.ErrorCode(err) == core.CodeNotFound {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	if err != nil {
		return err
	}
	switch ch.Act {
	case actBook:
		sps, err := b.c.SelfServe.Specialists(ctx, l)
		if err != nil {
			return err
		}
		if len(sps) == 1 {
			p.Spec = sps[0].ID
			return b.services(ctx, s, l, p, actMenu)
		}
		sc := screen{text: s.phrase("book.specialist"), state: p}
		for _, sp := range sps {
			sc.row(btn(sp.Name, actSpec, sp.ID))
		}
		sc.row(btn(s.phrase("book.back"), actMenu, ""))
		return b.show(ctx, s, sc)
	case actSpec:
		p.Spec = ch.Val
		back := actBook
		if sps, err := b.c.SelfServe.Specialists(ctx, l); err == nil && len(sps) == 1 {
			back = actMenu
		}
		return b.services(ctx, s, l, p, back)
	case actService:
		p.Svc = ch.Val
		return b.days(ctx, s, l, p, "")
	case actDay:
		p.Day = ch.Val
		return b.slots(ctx, s, l, p, "")
	case actSlot:
		n, _ := strconv.ParseInt(ch.Val, 10, 64)
		p.Start = n
		return b.confirm(ctx, s, l, p)
	case actConfirm:
		return b.book(ctx, s, l, p)
	}
	return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
}

// services offers the specialist's services; back is where "Back" goes
// (the menu when the invitation has one specialist).
func (b *Bot) services(ctx context.Context, s *session, l core.Landing, p payload, back string) error {
	svcs, err := b.c.SelfServe.Services(ctx, l, p.Spec)
	if core.ErrorCode(err) == core.CodeNotFound {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	if err != nil {
		return err
	}
	sc := screen{text: s.phrase("book.service"), state: p}
	for _, o := range svcs {
		label := o.Name + " · " + templates.FormatDuration(s.loc, o.DurationMin)
		if o.PriceMinor != nil {
			label += " · " + templates.FormatMoney(s.loc, *o.PriceMinor, o.Currency)
		}
		sc.row(btn(label, actService, o.ID))
	}
	sc.row(btn(s.phrase("book.back"), back, ""))
	return b.show(ctx, s, sc)
}

// free lists the free slots of the chosen service, in the user's zone.
func (b *Bot) free(ctx context.Context, s *session, l core.Landing, p payload) ([]core.Slot, *time.Location, string, error) {
	loc, tz := s.zone(l.Org)
	av, err := b.c.SelfServe.FreeSlots(ctx, l, p.Spec, p.Svc, tz)
	return av.Slots, loc, tz, err
}

// days offers the days that have free slots.
func (b *Bot) days(ctx context.Context, s *session, l core.Landing, p payload, notice string) error {
	slots, loc, tz, err := b.free(ctx, s, l, p)
	if core.ErrorCode(err) == core.CodeNotFound {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	if err != nil {
		return err
	}
	sc := screen{state: p}
	if notice != "" {
		sc.text = s.phrase(notice) + "\n\n"
	}
	seen := map[string]bool{}
	var row []button
	for _, sl := range slots {
		t := sl.Start.In(loc)
		d := schedule.DateOf(t).String()
		if seen[d] || len(seen) >= maxDays {
			continue
		}
		seen[d] = true
		row = append(row, btn(templates.FormatDate(s.loc, t), actDay, d))
		if len(row) == 2 {
			sc.row(row...)
			row = nil
		}
	}
	if len(row) > 0 {
		sc.row(row...)
	}
	if len(seen) == 0 {
		sc.text += s.phrase("book.no_days")
	} else {
		sc.text += s.phrase("book.day") + "\n" + s.phrase("book.times_in", "zone", tz)
	}
	sc.row(btn(s.phrase("book.back"), actSpec, p.Spec))
	return b.show(ctx, s, sc)
}

// slots offers the free times of the chosen day.
func (b *Bot) slots(ctx context.Context, s *session, l core.Landing, p payload, notice string) error {
	slots, loc, tz, err := b.free(ctx, s, l, p)
	if core.ErrorCode(err) == core.CodeNotFound {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	if err != nil {
		return err
	}
	sc := screen{state: p}
	if notice != "" {
		sc.text = s.phrase(notice) + "\n\n"
	}
	var row []button
	n := 0
	for _, sl := range slots {
		t := sl.Start.In(loc)
		if schedule.DateOf(t).String() != p.Day || n >= maxSlots {
			continue
		}
		n++
		row = append(row, btn(templates.FormatTime(s.loc, t), actSlot, strconv.FormatInt(sl.Start.Unix(), 10)))
		if len(row) == 4 {
			sc.row(row...)
			row = nil
		}
	}
	if len(row) > 0 {
		sc.row(row...)
	}
	if n == 0 {
		sc.text += s.phrase("book.no_slots")
	} else {
		sc.text += s.phrase("book.slot") + "\n" + s.phrase("book.times_in", "zone", tz)
	}
	sc.row(btn(s.phrase("book.back"), actService, p.Svc))
	return b.show(ctx, s, sc)
}

// confirm asks to confirm the chosen slot; its keyboard is used once.
func (b *Bot) confirm(ctx context.Context, s *session, l core.Landing, p payload) error {
	sv, err := b.c.SelfServe.Service(ctx, l, p.Spec, p.Svc)
	if core.ErrorCode(err) == core.CodeNotFound {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	if err != nil {
		return err
	}
	sp, err := b.c.SelfServe.Specialist(ctx, l, p.Spec)
	if err != nil {
		return err
	}
	loc, _ := s.zone(l.Org)
	t := time.Unix(p.Start, 0).In(loc)
	sc := screen{state: p, once: true, text: s.phrase("bot.confirm_q", "service", sv.Name, "name", sp.Name,
		"date", templates.FormatDate(s.loc, t), "time", templates.FormatTime(s.loc, t))}
	sc.row(btn(s.phrase("book.confirm"), actConfirm, ""))
	sc.row(btn(s.phrase("book.back"), actDay, p.Day))
	return b.show(ctx, s, sc)
}

// book makes the booking: pending or accepted as the service says; a slot
// taken meanwhile lists the day's times again with a clear notice.
func (b *Bot) book(ctx context.Context, s *session, l core.Landing, p payload) error {
	_, tz := s.zone(l.Org)
	a, err := b.c.SelfServe.BookClient(ctx, l, s.user.ClientID, p.Spec, p.Svc, tz, time.Unix(p.Start, 0).UTC())
	switch codeOf(err) {
	case "":
	case core.CodeConflict:
		p.Start = 0
		return b.slots(ctx, s, l, p, "book.slot_taken")
	case core.CodeNotFound, core.CodeInvalid:
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	default:
		return err
	}
	key := "book.pending"
	if a.Status == core.Accepted {
		key = "book.accepted"
	}
	sc := screen{text: s.phrase(key) + "\n" + b.describe(ctx, s, l.Org, a)}
	sc.row(btn(s.phrase("bot.menu_appointments"), actAppts, ""), btn(s.phrase("book.back"), actMenu, ""))
	return b.show(ctx, s, sc)
}

// describe is one line about a visit: service, date, time and status.
func (b *Bot) describe(ctx context.Context, s *session, org core.Organization, a core.Appointment) string {
	name := ""
	if sv, err := b.c.Store.GetService(ctx, a.OrgID, a.ServiceID); err == nil {
		name = sv.Name
	}
	loc, _ := s.zone(org)
	t := a.Start.In(loc)
	return s.phrase("bot.appointment", "service", name, "date", templates.FormatDate(s.loc, t), "time", templates.FormatTime(s.loc, t),
		"status", s.phrase("status."+string(a.Status)))
}

// appointments lists the client's upcoming visits as buttons.
func (b *Bot) appointments(ctx context.Context, s *session, p payload, notice string) error {
	org, err := b.c.Store.GetOrganization(ctx, p.Org)
	if err != nil {
		return err
	}
	as, err := b.c.SelfServe.Upcoming(ctx, p.Org, s.user.ClientID, maxUpcoming)
	if err != nil {
		return err
	}
	sc := screen{state: payload{Org: p.Org, Inv: p.Inv}}
	if notice != "" {
		sc.text = notice + "\n\n"
	}
	if len(as) == 0 {
		sc.text += s.phrase("bot.no_appointments")
	} else {
		sc.text += s.phrase("bot.appointments")
	}
	for _, a := range as {
		sc.row(btn(b.describe(ctx, s, org, a), actAppt, a.ID))
	}
	sc.row(btn(s.phrase("book.back"), actMenu, ""))
	return b.show(ctx, s, sc)
}

// appointment shows one visit with cancel (under the cancellation
// policy) and pay.
func (b *Bot) appointment(ctx context.Context, s *session, p payload, id string) error {
	a, err := b.c.SelfServe.ClientAppointment(ctx, p.Org, s.user.ClientID, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return b.appointments(ctx, s, p, s.phrase("page.no_visit"))
	}
	if err != nil {
		return err
	}
	org, err := b.c.Store.GetOrganization(ctx, p.Org)
	if err != nil {
		return err
	}
	late, hours, err := b.c.SelfServe.CancelsLate(ctx, a)
	if err != nil {
		return err
	}
	text := b.describe(ctx, s, org, a)
	open := a.Status == core.Pending || a.Status == core.Accepted
	if open {
		text += "\n\n" + s.phrase("page.policy", "hours", strconv.Itoa(hours))
		if late {
			text += "\n" + s.phrase("page.late")
		}
	}
	sc := screen{text: text, state: payload{Org: p.Org, Inv: p.Inv, Appt: a.ID}, once: open}
	if open {
		sc.row(btn(s.phrase("page.cancel"), actCancel, ""))
	}
	if a.BalanceMinor > 0 {
		sc.row(btn(s.phrase("bot.pay", "amount", templates.FormatMoney(s.loc, a.BalanceMinor, a.Currency)), actPay, a.ID))
	}
	sc.row(btn(s.phrase("book.back"), actAppts, ""))
	return b.show(ctx, s, sc)
}

func (b *Bot) cancel(ctx context.Context, s *session, p payload) error {
	_, err := b.c.SelfServe.CancelForClient(ctx, p.Org, s.user.ClientID, p.Appt, "telegram")
	switch codeOf(err) {
	case "":
		return b.appointments(ctx, s, p, s.phrase("page.cancelled_msg"))
	case core.CodeConflict, core.CodeNotFound:
		return b.appointments(ctx, s, p, s.phrase("page.cannot_change"))
	}
	return err
}

// pay shows the payment link of a visit; without one named, the visits
// with something to pay.
func (b *Bot) pay(ctx context.Context, s *session, p payload, id string) error {
	if id == "" {
		org, err := b.c.Store.GetOrganization(ctx, p.Org)
		if err != nil {
			return err
		}
		as, err := b.c.SelfServe.Upcoming(ctx, p.Org, s.user.ClientID, 0)
		if err != nil {
			return err
		}
		sc := screen{state: payload{Org: p.Org, Inv: p.Inv}}
		for _, a := range as {
			if a.BalanceMinor > 0 {
				sc.row(btn(b.describe(ctx, s, org, a), actPay, a.ID))
			}
		}
		sc.text = s.phrase("bot.pay_choose")
		if len(sc.rows) == 0 {
			sc.text = s.phrase("bot.nothing_to_pay")
		}
		sc.row(btn(s.phrase("book.back"), actMenu, ""))
		return b.show(ctx, s, sc)
	}
	a, err := b.c.SelfServe.ClientAppointment(ctx, p.Org, s.user.ClientID, id)
	if codeOf(err) == core.CodeNotFound || err == nil && a.BalanceMinor <= 0 {
		sc := screen{text: s.phrase("bot.nothing_to_pay")}
		sc.row(btn(s.phrase("book.back"), actMenu, ""))
		return b.show(ctx, s, sc)
	}
	if err != nil {
		return err
	}
	res, err := b.c.Messaging.ClientPaymentLink(ctx, b.c.SelfServe, p.Org, s.user.ClientID, id)
	switch codeOf(err) {
	case "":
	case core.CodeConflict, core.CodeInvalid, core.CodeNotFound:
		// No online payment here (no Stripe and no static link).
		sc := screen{text: s.phrase("bot.pay_unavailable")}
		sc.row(btn(s.phrase("book.back"), actMenu, ""))
		return b.show(ctx, s, sc)
	default:
		return err
	}
	amount := templates.FormatMoney(s.loc, a.BalanceMinor, a.Currency)
	sc := screen{text: s.phrase("bot.pay_here", "amount", amount)}
	sc.row(button{text: s.phrase("bot.pay", "amount", amount), url: res.URL})
	sc.row(btn(s.phrase("book.back"), actMenu, ""))
	return b.show(ctx, s, sc)
}
