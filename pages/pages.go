// Package pages serves the few pages clients open from a message: the
// signed link that shows a visit with the cancellation policy and lets the
// client confirm or cancel it. Server-rendered HTML; works without
// JavaScript.
package pages

import (
	"context"
	"html/template"
	"net/http"
	"strconv"
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

// Config wires the pages.
type Config struct {
	Store   Store
	Actions Actions
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

type view struct {
	Title, Message                          string
	Org, Service, Specialist, When, Address string
	Status                                  string
	Policy                                  string
	Late                                    bool
	Open                                    bool
	Confirmed                               bool
}

var page = template.Must(template.New("page").Parse(`<!DOCTYPE html>
<html><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1">
<title>{{.Title}}</title>
<style>body{font-family:system-ui,sans-serif;max-width:32rem;margin:2rem auto;padding:0 1rem;line-height:1.5}
button{font-size:1rem;padding:.6rem 1.2rem;margin:.3rem .3rem 0 0}.note{color:#555}</style></head>
<body><h1>{{.Title}}</h1>
{{if .Message}}<p><strong>{{.Message}}</strong></p>{{end}}
{{if .Service}}<p>{{.Org}}<br>{{.Service}}{{if .Specialist}} — {{.Specialist}}{{end}}<br>{{.When}}{{if .Address}}<br>{{.Address}}{{end}}</p>
<p>Status: {{.Status}}{{if .Confirmed}} (confirmed){{end}}</p>{{end}}
{{if .Open}}<p class="note">{{.Policy}}{{if .Late}} This cancellation would now be recorded as late.{{end}}</p>
<form method="post">{{if not .Confirmed}}<button name="action" value="confirm">Confirm</button>{{end}}
<button name="action" value="cancel">Cancel the visit</button></form>{{end}}
</body></html>`))

// appointmentOf reads the appointment a token stands for: a short stored
// token, or a signed one from messages sent before short links (they keep
// working until they expire).
func (h *handler) appointmentOf(ctx context.Context, token string) (string, error) {
	if !core.IsShortToken(token) {
		id, _, err := core.VerifyLink(h.c.Secret, token, h.c.Clock.Now())
		return id, err
	}
	t, err := h.c.Store.ResolveLinkToken(ctx, token)
	if err != nil {
		return "", err
	}
	return t.AppointmentID, core.CheckLinkToken(t, h.c.Clock.Now())
}

func (h *handler) load(c *gin.Context) (core.Appointment, bool) {
	id, err := h.appointmentOf(c.Request.Context(), c.Param("token"))
	if err != nil {
		msg := "This link is not valid."
		if core.ErrorCode(err) == core.CodeInvalid {
			msg = "This link has expired."
		}
		h.render(c, http.StatusNotFound, view{Title: "Your visit", Message: msg})
		return core.Appointment{}, false
	}
	a, err := h.c.Store.GetAppointmentAnyOrg(c.Request.Context(), id)
	if err != nil {
		h.render(c, http.StatusNotFound, view{Title: "Your visit", Message: "This visit no longer exists."})
		return a, false
	}
	return a, true
}

func (h *handler) view(ctx context.Context, a core.Appointment, msg string) view {
	v := view{Title: "Your visit", Message: msg, Status: string(a.Status), Confirmed: a.ConfirmedAt != nil}
	o, _ := h.c.Store.GetOrganization(ctx, a.OrgID)
	sv, _ := h.c.Store.GetService(ctx, a.OrgID, a.ServiceID)
	sp, _ := h.c.Store.GetStaff(ctx, a.OrgID, a.SpecialistID)
	cl, _ := h.c.Store.GetClient(ctx, a.OrgID, a.ClientID)
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
	start := a.Start.In(loc)
	v.Org, v.Service, v.Specialist, v.Address = o.Name, sv.Name, sp.Name, a.Location.Details
	v.When = templates.FormatDate(locale, start) + " " + templates.FormatTime(locale, start)
	v.Open = (a.Status == core.Pending || a.Status == core.Accepted) && a.Start.After(h.c.Clock.Now())
	if o.CancelNoticeHours > 0 {
		v.Policy = "Cancellation policy: please cancel at least " + strconv.Itoa(o.CancelNoticeHours) + " hours before the visit."
		v.Late = a.Start.Sub(h.c.Clock.Now()) < time.Duration(o.CancelNoticeHours)*time.Hour
	}
	return v
}

func (h *handler) show(c *gin.Context) {
	if a, ok := h.load(c); ok {
		h.render(c, http.StatusOK, h.view(c.Request.Context(), a, ""))
	}
}

func (h *handler) act(c *gin.Context) {
	a, ok := h.load(c)
	if !ok {
		return
	}
	ctx := c.Request.Context()
	var err error
	msg := ""
	switch c.PostForm("action") {
	case "confirm":
		a, err = h.c.Actions.ConfirmByClient(ctx, a.OrgID, a.ID, "link")
		msg = "Thank you, your visit is confirmed."
	case "cancel":
		a, err = h.c.Actions.CancelByClient(ctx, a.OrgID, a.ID, "link")
		msg = "Your visit is cancelled."
	default:
		h.render(c, http.StatusBadRequest, view{Title: "Your visit", Message: "Choose confirm or cancel."})
		return
	}
	if err != nil {
		msg = "This visit can no longer be changed here."
		if ce, ok := core.AsError(err); !ok || ce.Code != core.CodeConflict {
			h.render(c, http.StatusInternalServerError, view{Title: "Your visit", Message: "Something went wrong; please try again."})
			return
		}
		a, _ = h.c.Store.GetAppointment(ctx, a.OrgID, a.ID)
		h.render(c, http.StatusConflict, h.view(ctx, a, msg))
		return
	}
	h.render(c, http.StatusOK, h.view(ctx, a, msg))
}

func (h *handler) render(c *gin.Context, status int, v view) {
	c.Header("Content-Type", "text/html; charset=utf-8")
	c.Header("Cache-Control", "no-store")
	c.Header("Referrer-Policy", "no-referrer")
	c.Status(status)
	_ = page.Execute(c.Writer, v)
}
