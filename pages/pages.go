// Package pages serves the few pages clients open from a message: the
// signed link that shows a visit with the cancellation policy and lets the
// client confirm or cancel it, and the link that books a time offered from
// the waiting list. Server-rendered HTML in the client's language (the
// texts are in templates/); works without JavaScript.
package pages

import (
	"context"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// Store reads what a page shows.
type Store interface {
	GetAppointment(ctx context.Context, orgID, id string) (core.Appointment, error)
	GetAppointmentAnyOrg(ctx context.Context, id string) (core.Appointment, error)
	GetOrganization(ctx context.Context, orgID string) (core.Organization, error)
	GetService(ctx context.Context, orgID, id string) (core.Offering, error)
	GetStaff(ctx context.Context, orgID, id string) (core.Staff, error)
	GetClient(ctx context.Context, orgID, id string) (core.Client, error)
	ResolveLinkToken(ctx context.Context, token string) (core.LinkToken, error)
}

// Actions are what a client may do from the page.
type Actions interface {
	ConfirmByClient(ctx context.Context, orgID, id, via string) (core.Appointment, error)
	CancelByClient(ctx context.Context, orgID, id, via string) (core.Appointment, error)
}

// Offers are the waiting-list offers a client may take from the page.
type Offers interface {
	Offer(ctx context.Context, id string) (core.WaitlistOffer, error)
	TakeOffer(ctx context.Context, id string) (core.Appointment, error)
}

// Config wires the pages.
type Config struct {
	Store   Store
	Actions Actions
	Offers  Offers
	Secret  []byte
	Clock   core.Clock
}

// Mount registers GET and POST /a/:token.
func Mount(r gin.IRouter, c Config) {
	h := &handler{c: c}
	r.GET("/a/:token", h.show)
	r.POST("/a/:token", h.act)
}

type handler struct{ c Config }

// verify reads the link: what it names and what it lets its holder do. A
// bad or expired link is answered here, in the browser's language (the
// client is not known).
func (h *handler) verify(c *gin.Context) (string, core.LinkAction, bool) {
	id, action, err := h.resolve(c.Request.Context(), c.Param("token"))
	if err != nil {
		key := "page.invalid"
		if core.ErrorCode(err) == core.CodeInvalid {
			key = "page.expired"
		}
		h.render(c, http.StatusNotFound, h.notice(browserLocale(c), "page.title", key))
		return "", "", false
	}
	return id, action, true
}

// resolve reads what a token stands for: a short stored token (the link
// of a visit's messages), or a signed one (waiting-list offers, and visit
// links sent before short links, which keep working until they expire).
func (h *handler) resolve(ctx context.Context, token string) (string, core.LinkAction, error) {
	if !core.IsShortToken(token) {
		return core.VerifyLink(h.c.Secret, token, h.c.Clock.Now())
	}
	t, err := h.c.Store.ResolveLinkToken(ctx, token)
	if err != nil {
		return "", "", err
	}
	return t.AppointmentID, t.Action, core.CheckLinkToken(t, h.c.Clock.Now())
}

func (h *handler) load(c *gin.Context, id string) (core.Appointment, bool) {
	a, err := h.c.Store.GetAppointmentAnyOrg(c.Request.Context(), id)
	if err != nil {
		h.render(c, http.StatusNotFound, h.notice(browserLocale(c), "page.title", "page.no_visit"))
		return a, false
	}
	return a, true
}

// notice is a page with a title and a message only (msg "" for none).
func (h *handler) notice(locale, title, msg string) templates.Page {
	return templates.Page{Locale: locale, Title: templates.Phrase(locale, title), Message: templates.Phrase(locale, msg)}
}

// reader is who reads a page about a client's visit: their language and
// zone (the organization's where the client has none).
type reader struct {
	org    core.Organization
	locale string
	loc    *time.Location
}

func (h *handler) reader(ctx context.Context, orgID, clientID string) reader {
	o, _ := h.c.Store.GetOrganization(ctx, orgID)
	cl, _ := h.c.Store.GetClient(ctx, orgID, clientID)
	locale, tz := o.Locale, o.Timezone
	if cl.Language != "" {
		locale = cl.Language
	}
	if cl.Timezone != "" {
		tz = cl.Timezone
	}
	loc, err := time.LoadLocation(tz)
	if err != nil {
		loc = time.UTC
	}
	return reader{org: o, locale: templates.NormalizeLocale(locale), loc: loc}
}

func (r reader) when(t time.Time) string {
	t = t.In(r.loc)
	return templates.FormatDate(r.locale, t) + " " + templates.FormatTime(r.locale, t)
}

func (h *handler) view(ctx context.Context, a core.Appointment, msg string) templates.Page {
	r := h.reader(ctx, a.OrgID, a.ClientID)
	sv, _ := h.c.Store.GetService(ctx, a.OrgID, a.ServiceID)
	sp, _ := h.c.Store.GetStaff(ctx, a.OrgID, a.SpecialistID)
	v := h.notice(r.locale, "page.title", msg)
	v.Status = templates.Phrase(r.locale, "status."+string(a.Status))
	v.Confirmed = a.ConfirmedAt != nil
	v.Org, v.Service, v.Specialist, v.Address, v.When = r.org.Name, sv.Name, sp.Name, a.Location.Details, r.when(a.Start)
	v.Open = (a.Status == core.Pending || a.Status == core.Accepted) && a.Start.After(h.c.Clock.Now())
	if n := r.org.CancelNoticeHours; n > 0 {
		v.Policy = templates.Phrase(r.locale, "page.policy", "hours", strconv.Itoa(n))
		v.Late = a.Start.Sub(h.c.Clock.Now()) < time.Duration(n)*time.Hour
	}
	return v
}

// offerView shows a time offered to a waiting client.
func (h *handler) offerView(ctx context.Context, o core.WaitlistOffer, msg string, bookable bool) templates.Page {
	r := h.reader(ctx, o.OrgID, o.ClientID)
	sv, _ := h.c.Store.GetService(ctx, o.OrgID, o.ServiceID)
	sp, _ := h.c.Store.GetStaff(ctx, o.OrgID, o.SpecialistID)
	v := h.notice(r.locale, "page.offer_title", msg)
	v.Org, v.Service, v.Specialist, v.When = r.org.Name, sv.Name, sp.Name, r.when(o.Start)
	v.Bookable = bookable && o.Start.After(h.c.Clock.Now())
	return v
}

func (h *handler) show(c *gin.Context) {
	id, action, ok := h.verify(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	if action == core.LinkWaitlistOffer {
		o, err := h.c.Offers.Offer(ctx, id)
		if err != nil {
			h.render(c, http.StatusNotFound, h.notice(browserLocale(c), "page.offer_title", "page.invalid"))
			return
		}
		h.render(c, http.StatusOK, h.offerView(ctx, o, "", true))
		return
	}
	if a, ok := h.load(c, id); ok {
		h.render(c, http.StatusOK, h.view(ctx, a, ""))
	}
}

func (h *handler) act(c *gin.Context) {
	id, action, ok := h.verify(c)
	if !ok {
		return
	}
	if action == core.LinkWaitlistOffer {
		h.take(c, id)
		return
	}
	a, ok := h.load(c, id)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	var err error
	msg := ""
	switch c.PostForm("action") {
	case "confirm":
		a, err = h.c.Actions.ConfirmByClient(ctx, a.OrgID, a.ID, "link")
		msg = "page.confirmed_msg"
	case "cancel":
		a, err = h.c.Actions.CancelByClient(ctx, a.OrgID, a.ID, "link")
		msg = "page.cancelled_msg"
	default:
		h.render(c, http.StatusBadRequest, h.view(ctx, a, "page.choose"))
		return
	}
	if err != nil {
		if ce, ok := core.AsError(err); !ok || ce.Code != core.CodeConflict {
			h.render(c, http.StatusInternalServerError, h.notice(browserLocale(c), "page.title", "page.error"))
			return
		}
		a, _ = h.c.Store.GetAppointment(ctx, a.OrgID, a.ID)
		h.render(c, http.StatusConflict, h.view(ctx, a, "page.cannot_change"))
		return
	}
	h.render(c, http.StatusOK, h.view(ctx, a, msg))
}

// take books an offered time: the first taker gets it; a later one is
// told it is gone.
func (h *handler) take(c *gin.Context, id string) {
	ctx := c.Request.Context()
	o, err := h.c.Offers.Offer(ctx, id)
	if err != nil {
		h.render(c, http.StatusNotFound, h.notice(browserLocale(c), "page.offer_title", "page.invalid"))
		return
	}
	if c.PostForm("action") != "book" {
		h.render(c, http.StatusBadRequest, h.offerView(ctx, o, "", true))
		return
	}
	a, err := h.c.Offers.TakeOffer(ctx, id)
	if err == nil {
		h.render(c, http.StatusOK, h.view(ctx, a, "page.booked"))
		return
	}
	if core.ErrorCode(err) == core.CodeConflict {
		h.render(c, http.StatusConflict, h.offerView(ctx, o, "page.offer_gone", false))
		return
	}
	h.render(c, http.StatusInternalServerError, h.notice(browserLocale(c), "page.offer_title", "page.error"))
}

// browserLocale is the first language the browser asks for: pages about
// no known client (a bad link) are shown in it.
func browserLocale(c *gin.Context) string {
	tag, _, _ := strings.Cut(c.GetHeader("Accept-Language"), ",")
	tag, _, _ = strings.Cut(tag, ";")
	return templates.NormalizeLocale(tag)
}

func (h *handler) render(c *gin.Context, status int, p templates.Page) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Status(status)
	_ = templates.RenderPage(c.Writer, p)
}
