package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

func (s *Server) campaignRoutes() {
	cs := s.d.Services.Campaigns
	if cs == nil {
		return
	}
	s.handle(Route{Method: "POST", Path: "/campaigns", Tag: "campaigns", Status: 201,
		Summary: "create a campaign (a draft): name, channel order, audience, texts per locale with variables, time or now; bad input creates nothing",
		Req:     core.CampaignInput{}, Resp: core.Campaign{}}, func(c *gin.Context) {
		var in core.CampaignInput
		if bindJSON(c, &in) {
			respond(c, http.StatusCreated)(cs.CreateCampaign(c.Request.Context(), principal(c), in))
		}
	})
	s.handle(Route{Method: "GET", Path: "/campaigns", Tag: "campaigns", Summary: "the campaigns the caller may see", Resp: core.Campaign{}, List: true},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := cs.ListCampaigns(c.Request.Context(), principal(c), pg)
				respondList(c, l, err, pg, func(x core.Campaign) string { return x.ID })
			}
		})
	s.handle(Route{Method: "GET", Path: "/campaigns/:id", Tag: "campaigns", Summary: "a campaign with its progress counters", Resp: core.Campaign{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "campaign"); ok {
				respond(c, http.StatusOK)(cs.GetCampaign(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "PATCH", Path: "/campaigns/:id", Tag: "campaigns",
		Summary: "rename a campaign or change its rate_per_minute (applies to the next message, no restart)", Req: core.CampaignPatch{}, Resp: core.Campaign{}},
		func(c *gin.Context) {
			var in core.CampaignPatch
			if id, ok := idParam(c, "id", "campaign"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(cs.UpdateCampaign(c.Request.Context(), principal(c), id, in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/campaigns/:id/preview", Tag: "campaigns",
		Summary: "recipients per channel after opt-outs and missing addresses, SMS encoding and segments per locale, estimated cost, samples",
		Resp:    core.CampaignPreview{}}, func(c *gin.Context) {
		if id, ok := idParam(c, "id", "campaign"); ok {
			respond(c, http.StatusOK)(cs.Preview(c.Request.Context(), principal(c), id))
		}
	})
	s.handle(Route{Method: "POST", Path: "/campaigns/:id/schedule", Tag: "campaigns",
		Summary: "schedule a draft at its send_at (or the one given, or now)", Req: core.CampaignScheduleInput{}, Resp: core.Campaign{}},
		func(c *gin.Context) {
			var in core.CampaignScheduleInput
			if id, ok := idParam(c, "id", "campaign"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(cs.Schedule(c.Request.Context(), principal(c), id, in))
			}
		})
	for _, a := range []struct {
		path, summary string
		fn            func(*gin.Context, string) (core.Campaign, error)
	}{
		{"/campaigns/:id/pause", "pause: messages not yet handed to the provider are held", func(c *gin.Context, id string) (core.Campaign, error) {
			return cs.Pause(c.Request.Context(), principal(c), id)
		}},
		{"/campaigns/:id/resume", "resume a paused campaign where it stopped", func(c *gin.Context, id string) (core.Campaign, error) {
			return cs.Resume(c.Request.Context(), principal(c), id)
		}},
		{"/campaigns/:id/cancel", "cancel: messages not yet handed to the provider are skipped", func(c *gin.Context, id string) (core.Campaign, error) {
			return cs.Cancel(c.Request.Context(), principal(c), id)
		}},
	} {
		s.handle(Route{Method: "POST", Path: a.path, Tag: "campaigns", Summary: a.summary, Resp: core.Campaign{}}, func(c *gin.Context) {
			if id, ok := idParam(c, "id", "campaign"); ok {
				respond(c, http.StatusOK)(a.fn(c, id))
			}
		})
	}
	s.handle(Route{Method: "GET", Path: "/campaigns/:id/recipients", Tag: "campaigns",
		Summary: "the frozen audience: each recipient's channel, state and reason", Resp: core.CampaignRecipient{}, List: true},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "campaign"); ok {
				if pg, ok := page(c); ok {
					l, err := cs.Recipients(c.Request.Context(), principal(c), id, pg)
					respondList(c, l, err, pg, func(x core.CampaignRecipient) string { return x.ID })
				}
			}
		})
	s.handle(Route{Method: "POST", Path: "/campaigns/:id/test", Tag: "campaigns",
		Summary: "send the rendered message to the calling staff member only", Req: core.TestInput{}, Resp: core.Message{}},
		func(c *gin.Context) {
			var in core.TestInput
			if id, ok := idParam(c, "id", "campaign"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(cs.SendTest(c.Request.Context(), principal(c), id, in))
			}
		})
}
