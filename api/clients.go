package api

import (
	"context"
	"net/http"
	"strconv"

	"github.com/gin-gonic/gin"
	"github.com/skip2/go-qrcode"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/pages"
)

// FamilyList is a client's family links (not paginated: families are small).
type FamilyList struct {
	Items []core.FamilyLink `json:"items"`
}

// InvitationView is an invitation with the link clients open.
type InvitationView struct {
	core.Invitation
	URL string `json:"url" doc:"<public URL>/join/<code>; the QR code encodes it"`
	// TelegramURL carries a random, expiring start token mapped to the
	// invitation on the server, never the invitation's data.
	TelegramURL string `json:"telegram_url,omitempty" doc:"t.me/<bot>?start=<token> (when TELEGRAM_BOT_USERNAME is set); GET qr.png?link=telegram encodes it"`
}

func (s *Server) clientRoutes() {
	svc := s.d.Services
	s.handle(Route{Method: "POST", Path: "/clients", Tag: "clients", Summary: "add a client",
		Req: core.ClientInput{}, Resp: core.Client{}, Status: 201},
		func(c *gin.Context) {
			var in core.ClientInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Clients.CreateClient(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/clients", Tag: "clients", Resp: core.Client{}, List: true,
		Summary: "list the clients the caller may see (directors: all; others: their centers' clients and clients of no center)",
		Query: []Param{
			{Name: "q", Type: "string", Description: "name or email substring, regardless of case and accents (\"elodie\" finds \"Élodie\"), or phone digits when only digits, spaces and + - ( ) . (\"612 34\")"},
			{Name: "group_id", Type: "string", Description: "clients of this group (a group of no organization of yours is a 400)"},
			{Name: "center_id", Type: "string", Description: "clients of this center"},
			{Name: "status", Type: "string", Description: "active, inactive or lost (computed from appointments)"},
			{Name: "archived", Type: "string", Description: "false (default): not archived; true: only archived; all"},
		}},
		func(c *gin.Context) {
			pg, ok := page(c)
			if !ok {
				return
			}
			f := core.ClientFilter{Query: c.Query("q"), GroupID: c.Query("group_id"), CenterID: c.Query("center_id"),
				Status: c.Query("status"), Archived: c.Query("archived")}
			l, err := svc.Clients.ListClients(c.Request.Context(), principal(c), f, pg)
			respondList(c, l, err, pg, func(x core.Client) string { return x.ID })
		})
	s.handle(Route{Method: "GET", Path: "/clients/:id", Tag: "clients", Summary: "one client with their activity status", Resp: core.Client{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "client"); ok {
				respond(c, http.StatusOK)(svc.Clients.GetClient(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "PUT", Path: "/clients/:id", Tag: "clients", Summary: "replace all of a client's fields: absent fields are emptied (use PATCH to change some)",
		Req: core.ClientInput{}, Resp: core.Client{}},
		func(c *gin.Context) {
			var in core.ClientInput
			if id, ok := idParam(c, "id", "client"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Clients.UpdateClient(c.Request.Context(), principal(c), id, in))
			}
		})
	s.handle(Route{Method: "POST", Path: "/clients/:id/archive", Tag: "clients", Summary: "archive a client (clients are never deleted)", Resp: core.Client{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "client"); ok {
				respond(c, http.StatusOK)(svc.Clients.ArchiveClient(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "POST", Path: "/clients/:id/unarchive", Tag: "clients", Summary: "bring an archived client back", Resp: core.Client{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "client"); ok {
				respond(c, http.StatusOK)(svc.Clients.UnarchiveClient(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "POST", Path: "/clients/:id/family", Tag: "clients",
		Summary: "link a family member: client_id is <relation> of this client (the inverse is recorded for the other)",
		Req:     core.FamilyLinkInput{}, Resp: core.FamilyLink{}, Status: 201},
		func(c *gin.Context) {
			var in core.FamilyLinkInput
			if id, ok := idParam(c, "id", "client"); ok && bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Clients.LinkFamily(c.Request.Context(), principal(c), id, in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/clients/:id/family", Tag: "clients", Summary: "a client's family links", Resp: FamilyList{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "client"); ok {
				l, err := svc.Clients.ListFamily(c.Request.Context(), principal(c), id)
				respond(c, http.StatusOK)(FamilyList{Items: l}, err)
			}
		})
	s.handle(Route{Method: "DELETE", Path: "/clients/:id/family/:client_id", Tag: "clients", Summary: "unlink two clients", Status: 204},
		func(c *gin.Context) {
			id, ok := idParam(c, "id", "client")
			if !ok {
				return
			}
			other, ok := idParam(c, "client_id", "family link")
			if !ok {
				return
			}
			if err := svc.Clients.UnlinkFamily(c.Request.Context(), principal(c), id, other); err != nil {
				Fail(c, err)
				return
			}
			c.Status(http.StatusNoContent)
		})

	s.handle(Route{Method: "POST", Path: "/client-groups", Tag: "clients", Summary: "create a client group (names are unique regardless of case)",
		Req: core.ClientGroupInput{}, Resp: core.ClientGroup{}, Status: 201},
		func(c *gin.Context) {
			var in core.ClientGroupInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Clients.CreateClientGroup(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/client-groups", Tag: "clients", Summary: "list client groups", Resp: core.ClientGroup{}, List: true},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.Clients.ListClientGroups(c.Request.Context(), principal(c), pg)
				respondList(c, l, err, pg, func(x core.ClientGroup) string { return x.ID })
			}
		})

	view := func(c *gin.Context) func(core.Invitation, error) (InvitationView, error) {
		return func(inv core.Invitation, err error) (InvitationView, error) {
			if err != nil {
				return InvitationView{}, err
			}
			tg, err := s.telegramURL(c.Request.Context(), inv)
			return InvitationView{Invitation: inv, URL: s.joinURL(inv.Code), TelegramURL: tg}, err
		}
	}
	s.handle(Route{Method: "POST", Path: "/invitations", Tag: "invitations",
		Summary: "create an invitation link (specialists: only to themselves)",
		Req:     core.InvitationInput{}, Resp: InvitationView{}, Status: 201},
		func(c *gin.Context) {
			var in core.InvitationInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(view(c)(svc.Invitations.CreateInvitation(c.Request.Context(), principal(c), in)))
			}
		})
	s.handle(Route{Method: "GET", Path: "/invitations", Tag: "invitations", Summary: "list invitation links with their counters",
		Resp: InvitationView{}, List: true},
		func(c *gin.Context) {
			pg, ok := page(c)
			if !ok {
				return
			}
			l, err := svc.Invitations.ListInvitations(c.Request.Context(), principal(c), pg)
			vs := make([]InvitationView, len(l))
			for i, inv := range l {
				vs[i] = InvitationView{Invitation: inv, URL: s.joinURL(inv.Code)}
			}
			respondList(c, vs, err, pg, func(x InvitationView) string { return x.ID })
		})
	s.handle(Route{Method: "GET", Path: "/invitations/:id", Tag: "invitations", Summary: "one invitation link with its counters", Resp: InvitationView{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "invitation"); ok {
				respond(c, http.StatusOK)(view(c)(svc.Invitations.GetInvitation(c.Request.Context(), principal(c), id)))
			}
		})
	s.handle(Route{Method: "PUT", Path: "/invitations/:id", Tag: "invitations", Summary: "replace an invitation's fields (the code and counters stay)",
		Req: core.InvitationInput{}, Resp: InvitationView{}},
		func(c *gin.Context) {
			var in core.InvitationInput
			if id, ok := idParam(c, "id", "invitation"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(view(c)(svc.Invitations.UpdateInvitation(c.Request.Context(), principal(c), id, in)))
			}
		})
	s.handle(Route{Method: "POST", Path: "/invitations/:id/deactivate", Tag: "invitations", Summary: "deactivate an invitation link", Resp: InvitationView{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "invitation"); ok {
				respond(c, http.StatusOK)(view(c)(svc.Invitations.DeactivateInvitation(c.Request.Context(), principal(c), id)))
			}
		})
	s.handle(Route{Method: "GET", Path: "/invitations/:id/qr.png", Tag: "invitations",
		Summary: "the link as a QR code (image/png)",
		Query: []Param{{Name: "size", Type: "integer", Description: "width and height in pixels, 64 to 1024 (default 256)"},
			{Name: "link", Type: "string", Description: "web (default): the /join/<code> page; telegram: the bot's deep link (404 when no bot is configured)"}}},
		func(c *gin.Context) {
			id, ok := idParam(c, "id", "invitation")
			if !ok {
				return
			}
			size := 256
			if v := c.Query("size"); v != "" {
				n, err := strconv.Atoi(v)
				if err != nil || n < 64 || n > 1024 {
					invalid(c, "bad size", "size", "must be an integer from 64 to 1024")
					return
				}
				size = n
			}
			inv, err := svc.Invitations.GetInvitation(c.Request.Context(), principal(c), id)
			if err != nil {
				Fail(c, err)
				return
			}
			link := s.joinURL(inv.Code)
			switch c.Query("link") {
			case "", "web":
			case "telegram":
				if link, err = s.telegramURL(c.Request.Context(), inv); err == nil && link == "" {
					err = core.NotFound("telegram bot")
				}
				if err != nil {
					Fail(c, err)
					return
				}
			default:
				invalid(c, "bad link", "link", "must be web or telegram")
				return
			}
			png, err := qrcode.Encode(link, qrcode.Medium, size)
			if err != nil {
				Fail(c, err)
				return
			}
			c.Header("Cache-Control", "private, max-age=300")
			c.Data(http.StatusOK, "image/png", png)
		})
	s.handle(Route{Method: "POST", Path: "/invitations/:id/join", Tag: "invitations",
		Summary: "create a client through the link, counting a use (409 when expired, inactive or used up); a phone already on a card links that card instead, and joining twice counts one use",
		Req:     core.ClientInput{}, Resp: core.Client{}, Status: 201},
		func(c *gin.Context) {
			var in core.ClientInput
			if id, ok := idParam(c, "id", "invitation"); ok && bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Invitations.JoinInvitationByID(c.Request.Context(), principal(c), id, in))
			}
		})
}

// telegramURL is an invitation's bot deep link, or "" with no bot.
func (s *Server) telegramURL(ctx context.Context, inv core.Invitation) (string, error) {
	if s.d.TelegramBot == "" || s.d.Services.SelfServe == nil {
		return "", nil
	}
	tok, err := s.d.Services.SelfServe.StartToken(ctx, inv)
	if err != nil {
		return "", err
	}
	return pages.TelegramLink(s.d.TelegramBot, tok), nil
}

// joinURL is the link a client opens for an invitation.
func (s *Server) joinURL(code string) string {
	return s.publicURL() + "/join/" + code
}

// publicURL is the configured public base URL (GATEWAY_PUBLIC_URL); the
// request's Host is never trusted for links handed to clients.
func (s *Server) publicURL() string { return s.d.PublicURL }
