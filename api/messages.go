package api

import (
	"net/http"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// Notifier is the outbox as staff see it.
// RemindRequest selects appointments to remind now.
type RemindRequest struct {
	IDs []string `json:"ids"`
}

// MessagesResponse lists messages written.
type MessagesResponse struct {
	Messages []core.Message `json:"messages"`
}

// DevMessage is a message the embedded devsink channel kept instead of sending.
type DevMessage struct {
	At      time.Time     `json:"at"`
	Channel core.Channel  `json:"channel"`
	To      string        `json:"to"`
	From    string        `json:"from,omitempty"`
	Subject string        `json:"subject,omitempty"`
	Text    string        `json:"text"`
	Buttons []core.Button `json:"buttons,omitempty"`
	Status  string        `json:"status"`
	Error   string        `json:"error,omitempty"`
}

// DevOutbox lists what the devsink kept for an organization, newest first.
type DevOutbox interface {
	Recent(orgID string) []DevMessage
}

// TemplateInfo lists the template kinds and locales.
type TemplateInfo struct {
	Kinds   []string `json:"kinds"`
	Locales []string `json:"locales"`
}

func (s *Server) messageRoutes() {
	n := s.d.Services.Messaging
	s.handle(Route{Method: "GET", Path: "/messages", Tag: "messages", Summary: "the outbox: every message with its status", Resp: core.Message{}, List: true,
		Query: []Param{{Name: "status", Type: "string", Description: "queued, sending, sent, delivered, failed, undelivered or skipped"},
			{Name: "channel", Type: "string"}, {Name: "recipient_id", Type: "string"}, {Name: "appointment_id", Type: "string"}}},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				f := core.MessageFilter{Status: core.MessageStatus(c.Query("status")), Channel: core.Channel(c.Query("channel")),
					RecipientID: c.Query("recipient_id"), AppointmentID: c.Query("appointment_id")}
				l, err := n.ListMessages(c.Request.Context(), principal(c), f, pg)
				respondList(c, l, err, pg, func(x core.Message) string { return x.ID })
			}
		})
	s.handle(Route{Method: "GET", Path: "/messages/:id", Tag: "messages", Summary: "one message", Resp: core.Message{}}, func(c *gin.Context) {
		if id, ok := idParam(c, "id", "message"); ok {
			respond(c, http.StatusOK)(n.GetMessage(c.Request.Context(), principal(c), id))
		}
	})
	s.handle(Route{Method: "POST", Path: "/messages/:id/retry", Tag: "messages", Summary: "send a failed message again", Resp: core.Message{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "message"); ok {
				respond(c, http.StatusOK)(n.RetryMessage(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "GET", Path: "/clients/:id/channels", Tag: "messages", Summary: "a client's channels: consent, opt-out, preference",
		Resp: core.ChannelSettings{}}, func(c *gin.Context) {
		if id, ok := idParam(c, "id", "client"); ok {
			respond(c, http.StatusOK)(n.ClientChannels(c.Request.Context(), principal(c), id))
		}
	})
	s.handle(Route{Method: "PUT", Path: "/clients/:id/channels", Tag: "messages", Summary: "replace a client's channel settings (list order is preference)",
		Req: core.ChannelSettings{}, Resp: core.ChannelSettings{}}, func(c *gin.Context) {
		var in core.ChannelSettings
		if id, ok := idParam(c, "id", "client"); ok && bindJSON(c, &in) {
			respond(c, http.StatusOK)(n.SetClientChannels(c.Request.Context(), principal(c), id, in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/templates", Tag: "templates", Summary: "message kinds and locales", Resp: TemplateInfo{}},
		func(c *gin.Context) {
			c.JSON(http.StatusOK, TemplateInfo{Kinds: templates.Kinds(), Locales: templates.Locales()})
		})
	s.handle(Route{Method: "POST", Path: "/templates/preview", Tag: "templates",
		Summary: "render a kind with sample data (and an unsaved override); shows SMS encoding and segments", Req: core.TemplatePreviewInput{}, Resp: core.TemplatePreview{}},
		func(c *gin.Context) {
			var in core.TemplatePreviewInput
			if bindJSON(c, &in) {
				respond(c, http.StatusOK)(n.PreviewTemplate(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "PUT", Path: "/templates/:kind/:locale", Tag: "templates",
		Summary: "override a template for the organization; a template that does not parse is a 400", Req: core.TemplateOverride{}, Status: 204},
		func(c *gin.Context) {
			var in core.TemplateOverride
			if bindJSON(c, &in) {
				if err := n.PutTemplate(c.Request.Context(), principal(c), c.Param("kind"), c.Param("locale"), in); err != nil {
					Fail(c, err)
					return
				}
				c.Status(http.StatusNoContent)
			}
		})
	s.handle(Route{Method: "DELETE", Path: "/templates/:kind/:locale", Tag: "templates", Summary: "restore the default template", Status: 204},
		func(c *gin.Context) {
			if err := n.DeleteTemplate(c.Request.Context(), principal(c), c.Param("kind"), c.Param("locale")); err != nil {
				Fail(c, err)
				return
			}
			c.Status(http.StatusNoContent)
		})
	s.handle(Route{Method: "POST", Path: "/appointments/remind", Tag: "reminders",
		Summary: "send a reminder now for the selected upcoming appointments", Req: RemindRequest{}, Resp: MessagesResponse{}},
		func(c *gin.Context) {
			var in RemindRequest
			if bindJSON(c, &in) {
				l, err := n.RemindNow(c.Request.Context(), principal(c), in.IDs)
				respond(c, http.StatusOK)(MessagesResponse{Messages: l}, err)
			}
		})
	for _, pl := range []struct {
		purpose    core.PaymentPurpose
		path, what string
	}{{core.PayAppointment, "/appointments/:id/payment-link", "appointment"},
		{core.PayPackageSale, "/package-sales/:id/payment-link", "package sale"}} {
		pl := pl
		s.handle(Route{Method: "POST", Path: pl.path, Tag: "payments",
			Summary: "send the client a link to pay the " + pl.what + "'s balance (Stripe Checkout, or the service's static link); asking again sends the same link",
			Resp:    core.LinkResult{}}, func(c *gin.Context) {
			if id, ok := idParam(c, "id", pl.what); ok {
				respond(c, http.StatusOK)(n.SendPaymentLink(c.Request.Context(), principal(c), pl.purpose, id))
			}
		})
	}
	s.handle(Route{Method: "GET", Path: "/failed-events", Tag: "events",
		Summary: "domain events the relay could not turn into messages, with the error (director)", Resp: core.FailedEvent{}, List: true},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := n.FailedEvents(c.Request.Context(), principal(c), pg)
				respondList(c, l, err, pg, func(x core.FailedEvent) string { return x.ID })
			}
		})
	s.handle(Route{Method: "POST", Path: "/failed-events/:id/retry", Tag: "events",
		Summary: "relay a failed event again (after fixing what it needed); 409 if it is not failed", Resp: core.Event{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "event"); ok {
				respond(c, http.StatusOK)(n.RetryEvent(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "GET", Path: "/inbound", Tag: "messages", Summary: "messages clients sent (SMS and WhatsApp replies, chat)",
		Resp: core.Inbound{}, List: true}, func(c *gin.Context) {
		if pg, ok := page(c); ok {
			l, err := n.ListInbound(c.Request.Context(), principal(c), pg)
			respondList(c, l, err, pg, func(x core.Inbound) string { return x.ID })
		}
	})
	for _, sc := range []struct {
		scope core.PolicyScope
		path  string
	}{{core.ScopeOrganization, "/reminder-policy"}, {core.ScopeCenter, "/centers/:id/reminder-policy"}, {core.ScopeService, "/services/:id/reminder-policy"}} {
		sc := sc
		s.handle(Route{Method: "GET", Path: sc.path, Tag: "reminders", Summary: "the reminder policy (" + string(sc.scope) + ")", Resp: core.ReminderPolicy{}},
			func(c *gin.Context) {
				respond(c, http.StatusOK)(s.d.Services.Messaging.GetReminderPolicy(c.Request.Context(), principal(c), sc.scope, c.Param("id")))
			})
		s.handle(Route{Method: "PUT", Path: sc.path, Tag: "reminders",
			Summary: "set the reminder policy (" + string(sc.scope) + "): offsets, confirmation, sending window", Req: core.ReminderPolicy{}, Resp: core.ReminderPolicy{}},
			func(c *gin.Context) {
				var in core.ReminderPolicy
				if bindJSON(c, &in) {
					respond(c, http.StatusOK)(s.d.Services.Messaging.PutReminderPolicy(c.Request.Context(), principal(c), sc.scope, c.Param("id"), in))
				}
			})
		if sc.scope != core.ScopeOrganization {
			s.handle(Route{Method: "DELETE", Path: sc.path, Tag: "reminders", Summary: "remove the override; the organization's applies", Status: 204},
				func(c *gin.Context) {
					if err := s.d.Services.Messaging.DeleteReminderPolicy(c.Request.Context(), principal(c), sc.scope, c.Param("id")); err != nil {
						Fail(c, err)
						return
					}
					c.Status(http.StatusNoContent)
				})
		}
	}
	if s.d.DevOutbox != nil {
		s.handle(Route{Method: "GET", Path: "/devsink/messages", Tag: "messages",
			Summary: "messages the embedded devsink channel kept instead of sending (no provider configured; director)", Resp: ListResponse[DevMessage]{}},
			func(c *gin.Context) {
				// The devsink keeps no centre: only directors see every centre.
				if err := principal(c).Require(core.RoleDirector); err != nil {
					Fail(c, err)
					return
				}
				items := s.d.DevOutbox.Recent(principal(c).OrgID)
				if items == nil {
					items = []DevMessage{}
				}
				c.JSON(http.StatusOK, ListResponse[DevMessage]{Items: items})
			})
	}
}
