package pages

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// SelfServe is what the self-service pages need from core.
type SelfServe interface {
	Landing(ctx context.Context, code string) (core.Landing, error)
	StartToken(ctx context.Context, inv core.Invitation) (string, error)
	Specialists(ctx context.Context, l core.Landing) ([]core.Staff, error)
	Specialist(ctx context.Context, l core.Landing, id string) (core.Staff, error)
	Services(ctx context.Context, l core.Landing, specialistID string) ([]core.Offering, error)
	Service(ctx context.Context, l core.Landing, specialistID, serviceID string) (core.Offering, error)
	FreeSlots(ctx context.Context, l core.Landing, specialistID, serviceID, tz string) (core.Availability, error)
	RequestCode(ctx context.Context, in core.CodeRequest) (string, error)
	Verify(ctx context.Context, otpID, code, ip string) (core.Booked, error)
	PaymentLink(ctx context.Context, ref string) (core.StoredLink, error)
	JoinTeam(ctx context.Context, l core.Landing, in core.TeamJoin) (core.Staff, error)
}

// SelfConfig wires the self-service pages.
type SelfConfig struct {
	Service SelfServe
	// Secret keys the forms' CSRF tokens.
	Secret []byte
	Clock  core.Clock
	// BotUsername is the Telegram bot's username: the landing page offers
	// t.me/<bot>?start=<token>; empty: no Telegram button.
	BotUsername string
}

// MountSelfServe registers the invitation page (/join/:code), web
// booking (/book/:code) and the payment result (/paid/:ref).
func MountSelfServe(r gin.IRouter, c SelfConfig) {
	h := &self{c: c}
	r.GET("/join/:code", h.join)
	r.POST("/join/:code", h.joinTeam)
	r.GET("/book/:code", h.book)
	r.POST("/book/:code", h.sendCode)
	r.POST("/book/:code/verify", h.verify)
	r.GET("/paid/:ref", h.paid)
}

type self struct{ c SelfConfig }

// zones offered by the timezone select, when the browser's is not sent.
var zones = []string{"UTC", "Europe/London", "Europe/Dublin", "Europe/Lisbon", "Europe/Paris", "Europe/Brussels", "Europe/Berlin",
	"Europe/Zurich", "Europe/Vienna", "Europe/Rome", "Europe/Madrid", "Europe/Warsaw", "Europe/Prague", "Europe/Kyiv",
	"Europe/Helsinki", "Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Almaty", "Asia/Dubai",
	"America/New_York", "America/Chicago", "America/Denver", "America/Los_Angeles", "America/Montreal", "Africa/Casablanca"}

// locale is the page's language: ?lang= when it is one of ours, else the
// browser's, else English.
func locale(c *gin.Context) string {
	if l := c.Query("lang"); l != "" {
		return templates.NormalizeLocale(l)
	}
	if l := c.PostForm("lang"); l != "" {
		return templates.NormalizeLocale(l)
	}
	return browserLocale(c)
}

// regions read a phone number written without its country code.
var regions = map[string]string{"fr": "FR", "de": "DE", "pl": "PL", "ru": "RU"}

func (h *self) render(c *gin.Context, status int, p templates.SelfPage) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Header("X-Frame-Options", "DENY")
	c.Status(status)
	_ = templates.RenderSelfPage(c.Writer, p)
}

// landing reads the invitation of the URL, answering 404 (unknown) or
// 410 (expired, used, deactivated) pages itself.
func (h *self) landing(c *gin.Context, loc string, needUsable bool) (core.Landing, bool) {
	l, err := h.c.Service.Landing(c.Request.Context(), c.Param("code"))
	if err != nil {
		status, key := http.StatusNotFound, "join.invalid"
		if core.ErrorCode(err) != core.CodeNotFound {
			status, key = http.StatusInternalServerError, "page.error"
		}
		h.render(c, status, templates.SelfPage{Locale: loc, Title: templates.Phrase(loc, "book.title"), Error: templates.Phrase(loc, key)})
		return l, false
	}
	team, joinPage := l.Invitation.Target == core.TargetTeam, c.FullPath() == "/join/:code"
	if team && !joinPage || !team && joinPage && c.Request.Method == http.MethodPost {
		// A team link books nothing; a client link makes no staff.
		h.render(c, http.StatusNotFound, templates.SelfPage{Locale: loc, Title: templates.Phrase(loc, "book.title"),
			Error: templates.Phrase(loc, "join.invalid")})
		return l, false
	}
	if needUsable && l.Usable != nil {
		h.render(c, http.StatusGone, h.base(loc, l, templates.Phrase(loc, "book.title"), unusableKey(loc, l.Usable)))
		return l, false
	}
	return l, true
}

func unusableKey(loc string, err error) string {
	msg := err.Error()
	key := "join.inactive"
	switch {
	case strings.Contains(msg, "expired"):
		key = "join.expired"
	case strings.Contains(msg, "already used"), strings.Contains(msg, "no uses left"):
		key = "join.used"
	case strings.Contains(msg, "not valid yet"):
		key = "join.not_yet"
	}
	return templates.Phrase(loc, key)
}

func (h *self) base(loc string, l core.Landing, title, errText string) templates.SelfPage {
	p := templates.SelfPage{Locale: loc, Title: title, Org: l.Org.Name, Error: errText}
	if l.Specialist != nil {
		p.Specialist = l.Specialist.Name
	}
	return p
}

// join is the invitation's landing page: open in Telegram or book on the
// web, in the client's language.
func (h *self) join(c *gin.Context) {
	loc := locale(c)
	l, ok := h.landing(c, loc, true)
	if !ok {
		return
	}
	if l.Invitation.Target == core.TargetTeam {
		h.teamPage(c, loc, l, http.StatusOK, "")
		return
	}
	p := h.base(loc, l, templates.Phrase(loc, "join.title", "org", l.Org.Name), "")
	if l.Specialist != nil {
		p.Message = templates.Phrase(loc, "join.with", "name", l.Specialist.Name)
	} else {
		p.Message = templates.Phrase(loc, "join.org", "org", l.Org.Name)
	}
	if h.c.BotUsername != "" {
		tok, err := h.c.Service.StartToken(c.Request.Context(), l.Invitation)
		if err == nil {
			p.TelegramURL = TelegramLink(h.c.BotUsername, tok)
		}
	}
	p.BookURL = "/book/" + url.PathEscape(l.Invitation.Code) + "?" + url.Values{"lang": {loc}}.Encode()
	h.render(c, http.StatusOK, p)
}

// teamPage is a team invitation's page: a specialist joins the
// organization's staff in Telegram (the bot links their chat for staff
// messages) or with their name and email here.
func (h *self) teamPage(c *gin.Context, loc string, l core.Landing, status int, errText string) {
	p := h.base(loc, l, templates.Phrase(loc, "team.title", "org", l.Org.Name), errText)
	p.Message = templates.Phrase(loc, "team.intro", "org", l.Org.Name)
	if h.c.BotUsername != "" {
		if tok, err := h.c.Service.StartToken(c.Request.Context(), l.Invitation); err == nil {
			p.TelegramURL = TelegramLink(h.c.BotUsername, tok)
		}
	}
	p.Form = &templates.Form{Action: "/join/" + url.PathEscape(l.Invitation.Code),
		Hidden: []templates.Hidden{{Name: "lang", Value: loc}, {Name: "csrf", Value: h.csrf(c)}},
		Fields: []templates.Field{{Name: "name", Label: templates.Phrase(loc, "team.name"), Type: "text", Value: c.PostForm("name"), Autocomplete: "name"},
			{Name: "email", Label: templates.Phrase(loc, "team.email"), Type: "email", Value: c.PostForm("email"), Autocomplete: "email"}},
		Submit: templates.Phrase(loc, "team.join")}
	h.render(c, status, p)
}

// joinTeam makes the specialist a staff member of the organization
// through its team invitation, counted on the invitation.
func (h *self) joinTeam(c *gin.Context) {
	loc := locale(c)
	l, ok := h.landing(c, loc, true)
	if !ok {
		return
	}
	if !h.csrfOK(c) {
		h.teamPage(c, loc, l, http.StatusForbidden, templates.Phrase(loc, "book.form_expired"))
		return
	}
	st, err := h.c.Service.JoinTeam(c.Request.Context(), l, core.TeamJoin{Name: c.PostForm("name"), Email: c.PostForm("email")})
	switch {
	case err == nil:
	case core.ErrorCode(err) == core.CodeInvalid:
		h.teamPage(c, loc, l, http.StatusUnprocessableEntity, templates.Phrase(loc, "team.check_form"))
		return
	case core.ErrorCode(err) == core.CodeConflict:
		h.render(c, http.StatusGone, h.base(loc, l, templates.Phrase(loc, "team.title", "org", l.Org.Name), unusableKey(loc, err)))
		return
	default:
		h.render(c, http.StatusInternalServerError, h.base(loc, l, templates.Phrase(loc, "team.title", "org", l.Org.Name), templates.Phrase(loc, "page.error")))
		return
	}
	p := h.base(loc, l, templates.Phrase(loc, "team.title", "org", l.Org.Name), "")
	p.Message = templates.Phrase(loc, "team.joined", "org", l.Org.Name, "name", st.Name)
	h.render(c, http.StatusOK, p)
}

// TelegramLink is a bot's deep link with a start parameter.
func TelegramLink(bot, token string) string {
	return "https://t.me/" + url.PathEscape(strings.TrimPrefix(bot, "@")) + "?start=" + url.QueryEscape(token)
}

// step is where a client is in booking: what the URL has chosen so far.
type step struct {
	code, loc, tz, sp, sv, day, start string
}

func (s step) values() url.Values {
	v := url.Values{"lang": {s.loc}}
	for k, x := range map[string]string{"tz": s.tz, "sp": s.sp, "sv": s.sv, "day": s.day, "start": s.start} {
		if x != "" {
			v.Set(k, x)
		}
	}
	return v
}

func (s step) url(change func(*step)) string {
	n := s
	change(&n)
	return "/book/" + url.PathEscape(s.code) + "?" + n.values().Encode()
}

func (s step) hidden() []templates.Hidden {
	var out []templates.Hidden
	v := s.values()
	v.Del("tz")
	keys := make([]string, 0, len(v))
	for k := range v {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		out = append(out, templates.Hidden{Name: k, Value: v.Get(k)})
	}
	return out
}

// book walks the booking steps, one GET per choice: specialist (when the
// invitation offers several), service, day, time, then the details form.
// Each choice is a plain link, so no JavaScript is needed.
func (h *self) book(c *gin.Context) {
	loc := locale(c)
	l, ok := h.landing(c, loc, true)
	if !ok {
		return
	}
	st := step{code: l.Invitation.Code, loc: loc, tz: c.Query("tz"), sp: c.Query("sp"), sv: c.Query("sv"), day: c.Query("day"), start: c.Query("start")}
	h.showStep(c, l, st, http.StatusOK, "")
}

func (h *self) bad(c *gin.Context, loc string, l core.Landing) {
	h.render(c, http.StatusBadRequest, h.base(loc, l, templates.Phrase(loc, "book.title"), templates.Phrase(loc, "book.bad_request")))
}

func (h *self) showStep(c *gin.Context, l core.Landing, st step, status int, errText string) {
	ctx := c.Request.Context()
	loc := st.loc
	if st.tz == "" {
		st.tz = l.Org.Timezone
	}
	zone, err := time.LoadLocation(st.tz)
	if err != nil {
		h.bad(c, loc, l)
		return
	}
	p := h.base(loc, l, templates.Phrase(loc, "book.title"), errText)
	p.Zone, p.Zones, p.ZoneText, p.ZoneScript = st.tz, zoneList(st.tz), templates.Phrase(loc, "book.times_in", "zone", st.tz), c.Query("tz") == ""
	if st.sp == "" {
		sps, err := h.c.Service.Specialists(ctx, l)
		if err != nil {
			h.fail(c, loc, l)
			return
		}
		if len(sps) != 1 {
			p.ChoicesTitle = templates.Phrase(loc, "book.specialist")
			for _, sp := range sps {
				p.Choices = append(p.Choices, templates.Choice{Label: sp.Name, URL: st.url(func(s *step) { s.sp = sp.ID })})
			}
			p.ZoneHidden = st.hidden()
			h.render(c, status, p)
			return
		}
		st.sp = sps[0].ID
	}
	sp, err := h.c.Service.Specialist(ctx, l, st.sp)
	if err != nil {
		h.bad(c, loc, l)
		return
	}
	p.Specialist = sp.Name
	back := st
	if st.sv == "" {
		svcs, err := h.c.Service.Services(ctx, l, st.sp)
		if err != nil {
			h.fail(c, loc, l)
			return
		}
		p.ChoicesTitle = templates.Phrase(loc, "book.service")
		for _, sv := range svcs {
			sub := templates.FormatDuration(loc, sv.DurationMin)
			if sv.PriceMinor != nil {
				sub += " · " + templates.FormatMoney(loc, *sv.PriceMinor, sv.Currency)
			}
			p.Choices = append(p.Choices, templates.Choice{Label: sv.Name, Sub: sub, URL: st.url(func(s *step) { s.sv = sv.ID })})
		}
		if l.Specialist == nil {
			p.Back = back.url(func(s *step) { s.sp = "" })
		}
		p.ZoneHidden = st.hidden()
		h.render(c, status, p)
		return
	}
	sv, err := h.c.Service.Service(ctx, l, st.sp, st.sv)
	if err != nil {
		h.bad(c, loc, l)
		return
	}
	av, err := h.c.Service.FreeSlots(ctx, l, st.sp, st.sv, st.tz)
	if err != nil {
		h.fail(c, loc, l)
		return
	}
	p.Summary = []string{sv.Name + " · " + templates.FormatDuration(loc, sv.DurationMin)}
	if st.day == "" {
		p.ChoicesTitle = templates.Phrase(loc, "book.day")
		seen := map[string]bool{}
		for _, sl := range av.Slots {
			t := sl.Start.In(zone)
			d := t.Format("2006-01-02")
			if !seen[d] {
				seen[d] = true
				p.Choices = append(p.Choices, templates.Choice{Label: templates.FormatDate(loc, t), URL: st.url(func(s *step) { s.day = d })})
			}
		}
		if len(p.Choices) == 0 {
			p.Empty = templates.Phrase(loc, "book.no_days")
		}
		p.Back = back.url(func(s *step) { s.sv = "" })
		p.ZoneHidden = st.hidden()
		h.render(c, status, p)
		return
	}
	if st.start == "" {
		p.ChoicesTitle = templates.Phrase(loc, "book.slot")
		for _, sl := range av.Slots {
			t := sl.Start.In(zone)
			if t.Format("2006-01-02") != st.day {
				continue
			}
			start := sl.Start.UTC().Format(time.RFC3339)
			p.Choices = append(p.Choices, templates.Choice{Label: templates.FormatTime(loc, t), URL: st.url(func(s *step) { s.start = start })})
		}
		if len(p.Choices) == 0 {
			p.Empty = templates.Phrase(loc, "book.no_slots")
		}
		p.Summary = append(p.Summary, dayLabel(loc, st.day, zone))
		p.Back = back.url(func(s *step) { s.day = "" })
		p.ZoneHidden = st.hidden()
		h.render(c, status, p)
		return
	}
	start, err := time.Parse(time.RFC3339, st.start)
	if err != nil {
		h.bad(c, loc, l)
		return
	}
	p.Summary = append(p.Summary, when(loc, start, zone))
	p.ChoicesTitle = templates.Phrase(loc, "book.details")
	p.Form = &templates.Form{Action: "/book/" + url.PathEscape(st.code), Submit: templates.Phrase(loc, "book.send_code"),
		Hidden: append(st.hidden(), templates.Hidden{Name: "tz", Value: st.tz}, templates.Hidden{Name: "csrf", Value: h.csrf(c)}),
		Fields: []templates.Field{
			{Name: "name", Label: templates.Phrase(loc, "book.name"), Type: "text", Value: c.PostForm("name"), Autocomplete: "name"},
			{Name: "phone", Label: templates.Phrase(loc, "book.phone"), Type: "tel", Value: c.PostForm("phone"), Autocomplete: "tel"},
		}}
	p.Back = back.url(func(s *step) { s.start = "" })
	p.Zone = ""
	h.render(c, status, p)
}

func zoneList(current string) []string {
	if slices.Contains(zones, current) {
		return zones
	}
	return append([]string{current}, zones...)
}

func dayLabel(loc, day string, zone *time.Location) string {
	t, err := time.ParseInLocation("2006-01-02", day, zone)
	if err != nil {
		return day
	}
	return templates.FormatDate(loc, t)
}

// when is a start in the client's zone, naming the zone.
func when(loc string, t time.Time, zone *time.Location) string {
	t = t.In(zone)
	return templates.FormatDate(loc, t) + " " + templates.FormatTime(loc, t) + " (" + zone.String() + ")"
}

func (h *self) fail(c *gin.Context, loc string, l core.Landing) {
	h.render(c, http.StatusInternalServerError, h.base(loc, l, templates.Phrase(loc, "book.title"), templates.Phrase(loc, "page.error")))
}

// The forms carry a CSRF token: a random cookie and the form's HMAC of
// it (double submit, signed), so another site cannot post them for a
// visitor.
const csrfCookie = "bgw_csrf"

func (h *self) csrf(c *gin.Context) string {
	v, err := c.Cookie(csrfCookie)
	if err != nil || len(v) != 22 {
		b := make([]byte, 16)
		if _, err := rand.Read(b); err != nil {
			panic(err) // crypto/rand never fails on supported platforms
		}
		v = base64.RawURLEncoding.EncodeToString(b)
		http.SetCookie(c.Writer, &http.Cookie{Name: csrfCookie, Value: v, Path: "/", HttpOnly: true, SameSite: http.SameSiteLaxMode,
			Secure: c.Request.TLS != nil, MaxAge: 3600})
		c.Request.AddCookie(&http.Cookie{Name: csrfCookie, Value: v})
	}
	return h.sign(v)
}

func (h *self) sign(v string) string {
	m := hmac.New(sha256.New, h.c.Secret)
	m.Write([]byte("csrf:" + v))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))
}

func (h *self) csrfOK(c *gin.Context) bool {
	v, err := c.Cookie(csrfCookie)
	return err == nil && v != "" && hmac.Equal([]byte(h.sign(v)), []byte(c.PostForm("csrf")))
}

// sendCode checks the details and sends a one-time code to the phone.
func (h *self) sendCode(c *gin.Context) {
	loc := locale(c)
	l, ok := h.landing(c, loc, true)
	if !ok {
		return
	}
	st := step{code: l.Invitation.Code, loc: loc, tz: c.PostForm("tz"), sp: c.PostForm("sp"), sv: c.PostForm("sv"), day: c.PostForm("day"),
		start: c.PostForm("start")}
	if !h.csrfOK(c) {
		h.render(c, http.StatusForbidden, h.base(loc, l, templates.Phrase(loc, "book.title"), templates.Phrase(loc, "book.form_expired")))
		return
	}
	start, err := time.Parse(time.RFC3339, st.start)
	if err != nil || st.sp == "" || st.sv == "" {
		h.bad(c, loc, l)
		return
	}
	in := core.CodeRequest{IP: c.ClientIP(), BookingRequest: core.BookingRequest{InvitationCode: l.Invitation.Code, SpecialistID: st.sp,
		ServiceID: st.sv, Start: start.UTC(), Name: c.PostForm("name"), Phone: c.PostForm("phone"), PhoneRegion: regions[loc],
		Locale: loc, Timezone: st.tz}}
	id, err := h.c.Service.RequestCode(c.Request.Context(), in)
	if err != nil {
		h.refuse(c, l, st, err)
		return
	}
	zone, _ := time.LoadLocation(st.tz)
	p := h.base(loc, l, templates.Phrase(loc, "book.title"), "")
	p.Message = templates.Phrase(loc, "book.code_sent", "phone", maskPhone(c.PostForm("phone")))
	p.Summary = []string{when(loc, start, zone)}
	p.Form = h.codeForm(c, loc, l, id)
	h.render(c, http.StatusOK, p)
}

func (h *self) codeForm(c *gin.Context, loc string, l core.Landing, otpID string) *templates.Form {
	return &templates.Form{Action: "/book/" + url.PathEscape(l.Invitation.Code) + "/verify", Submit: templates.Phrase(loc, "book.confirm"),
		Hidden: []templates.Hidden{{Name: "otp", Value: otpID}, {Name: "lang", Value: loc}, {Name: "csrf", Value: h.csrf(c)}},
		Fields: []templates.Field{{Name: "code", Label: templates.Phrase(loc, "book.code"), Type: "text", Autocomplete: "one-time-code"}}}
}

// maskPhone shows the last digits only: the page confirms where the code
// went without repeating the whole number.
func maskPhone(p string) string {
	d := []rune(strings.TrimSpace(p))
	if len(d) <= 4 {
		return "…"
	}
	return "…" + string(d[len(d)-4:])
}

// refuse shows why a request was refused, with the status it deserves.
func (h *self) refuse(c *gin.Context, l core.Landing, st step, err error) {
	loc := st.loc
	switch core.ErrorCode(err) {
	case core.CodeRateLimited:
		h.showStep(c, l, st, http.StatusTooManyRequests, templates.Phrase(loc, "book.too_many"))
	case core.CodeConflict:
		if l.Usable != nil || strings.Contains(err.Error(), "invitation") {
			h.render(c, http.StatusGone, h.base(loc, l, templates.Phrase(loc, "book.title"), unusableKey(loc, err)))
			return
		}
		st.start = ""
		h.showStep(c, l, st, http.StatusConflict, templates.Phrase(loc, "book.slot_taken"))
	case core.CodeInvalid:
		h.showStep(c, l, st, http.StatusBadRequest, templates.Phrase(loc, "book.check_form"))
	case core.CodeNotFound:
		h.bad(c, loc, l)
	default:
		h.fail(c, loc, l)
	}
}

// verify checks the code and books.
func (h *self) verify(c *gin.Context) {
	loc := locale(c)
	l, ok := h.landing(c, loc, false)
	if !ok {
		return
	}
	if !h.csrfOK(c) {
		h.render(c, http.StatusForbidden, h.base(loc, l, templates.Phrase(loc, "book.title"), templates.Phrase(loc, "book.form_expired")))
		return
	}
	otpID := c.PostForm("otp")
	b, err := h.c.Service.Verify(c.Request.Context(), otpID, c.PostForm("code"), c.ClientIP())
	if err != nil {
		p := h.base(loc, l, templates.Phrase(loc, "book.title"), "")
		status := http.StatusBadRequest
		switch e, _ := core.AsError(err); {
		case e == nil:
			h.fail(c, loc, l)
			return
		case e.Code == core.CodeRateLimited:
			status, p.Error = http.StatusTooManyRequests, templates.Phrase(loc, "book.too_many")
		case e.Code == core.CodeConflict && strings.Contains(e.Message, "invitation"):
			status, p.Error = http.StatusGone, unusableKey(loc, err)
		case e.Code == core.CodeConflict:
			status, p.Error = http.StatusConflict, templates.Phrase(loc, "book.slot_taken")
			p.Back = "/book/" + url.PathEscape(l.Invitation.Code) + "?" + url.Values{"lang": {loc}}.Encode()
		case len(e.Fields) == 1 && e.Fields[0].Message == "wrong code":
			p.Error = templates.Phrase(loc, "book.wrong_code")
			p.Form = h.codeForm(c, loc, l, otpID)
		case len(e.Fields) == 1 && e.Fields[0].Message == "used":
			p.Error = templates.Phrase(loc, "book.code_used")
		default:
			p.Error = templates.Phrase(loc, "book.code_expired")
		}
		h.render(c, status, p)
		return
	}
	a := b.Appointment
	zone, err := time.LoadLocation(b.Client.Timezone)
	if err != nil {
		zone = time.UTC
	}
	p := h.base(loc, b.Landing, templates.Phrase(loc, "book.title"), "")
	p.Message = templates.Phrase(loc, "book.pending")
	if a.Status == core.Accepted {
		p.Message = templates.Phrase(loc, "book.accepted")
	}
	p.Summary = []string{when(loc, a.Start, zone), templates.Phrase(loc, "page.status") + " " + templates.Phrase(loc, "status."+string(a.Status))}
	h.render(c, http.StatusOK, p)
}

// paid shows what Stripe's webhook recorded for a payment link: paid,
// pending until the webhook arrives (the page refreshes itself), expired,
// or cancelled when the client came back by the cancel URL and nothing
// was recorded. It never takes the redirect's word for a payment.
func (h *self) paid(c *gin.Context) {
	loc := locale(c)
	title := templates.Phrase(loc, "paid.title")
	l, err := h.c.Service.PaymentLink(c.Request.Context(), c.Param("ref"))
	if err != nil {
		status := http.StatusNotFound
		if core.ErrorCode(err) != core.CodeNotFound {
			status = http.StatusInternalServerError
		}
		h.render(c, status, templates.SelfPage{Locale: loc, Title: title, Error: templates.Phrase(loc, "paid.unknown")})
		return
	}
	p := templates.SelfPage{Locale: loc, Title: title,
		Summary: []string{templates.Phrase(loc, "paid.amount", "amount", templates.FormatMoney(loc, l.AmountMinor, l.Currency))}}
	switch {
	case l.State == core.LinkPaid:
		p.Message = templates.Phrase(loc, "paid.paid")
	case l.State == core.LinkExpired:
		p.Message = templates.Phrase(loc, "paid.expired")
	case c.Query("cancelled") != "":
		p.Message = templates.Phrase(loc, "paid.cancelled")
	default:
		p.Message, p.Refresh = templates.Phrase(loc, "paid.pending"), 5
	}
	h.render(c, http.StatusOK, p)
}
