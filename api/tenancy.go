package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// Me describes the caller.
type Me struct {
	OrganizationID string    `json:"organization_id"`
	StaffID        string    `json:"staff_id"`
	KeyID          string    `json:"key_id"`
	Role           core.Role `json:"role"`
	CenterIDs      []string  `json:"center_ids"`
}

// APIKeyCreate asks for a new key.
type APIKeyCreate struct {
	Name    string `json:"name"`
	StaffID string `json:"staff_id" doc:"whose key; default the caller (directors may name anyone)"`
}

// APIKeyCreated carries the plain key, shown only in this response.
type APIKeyCreated struct {
	core.APIKey
	Key string `json:"key" doc:"the plain key; it is not stored and cannot be shown again"`
}

func (s *Server) tenancyRoutes() {
	svc := s.d.Services
	s.handle(Route{Method: "GET", Path: "/me", Tag: "tenancy", Summary: "who the API key belongs to", Resp: Me{}},
		func(c *gin.Context) {
			p := principal(c)
			ids := p.CenterIDs
			if ids == nil {
				ids = []string{}
			}
			c.JSON(http.StatusOK, Me{OrganizationID: p.OrgID, StaffID: p.StaffID, KeyID: p.KeyID, Role: p.Role, CenterIDs: ids})
		})
	s.handle(Route{Method: "GET", Path: "/organization", Tag: "tenancy", Summary: "the caller's organization", Resp: core.Organization{}},
		func(c *gin.Context) {
			respond(c, http.StatusOK)(svc.Tenancy.Organization(c.Request.Context(), principal(c)))
		})
	s.handle(Route{Method: "PATCH", Path: "/organization", Tag: "tenancy", Summary: "change organization settings (director)",
		Req: core.OrganizationPatch{}, Resp: core.Organization{}},
		func(c *gin.Context) {
			var in core.OrganizationPatch
			if bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Tenancy.UpdateOrganization(c.Request.Context(), principal(c), in))
			}
		})

	s.handle(Route{Method: "POST", Path: "/centers", Tag: "tenancy", Summary: "create a center (director)",
		Req: core.CenterInput{}, Resp: core.Center{}, Status: 201},
		func(c *gin.Context) {
			var in core.CenterInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Tenancy.CreateCenter(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/centers", Tag: "tenancy", Summary: "list the centers the caller may see", Resp: core.Center{}, List: true},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.Tenancy.ListCenters(c.Request.Context(), principal(c), pg)
				respondList(c, l, err, pg, func(x core.Center) string { return x.ID })
			}
		})
	s.handle(Route{Method: "GET", Path: "/centers/:id", Tag: "tenancy", Summary: "one center", Resp: core.Center{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "center"); ok {
				respond(c, http.StatusOK)(svc.Tenancy.GetCenter(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "PUT", Path: "/centers/:id", Tag: "tenancy", Summary: "replace all of a center's fields (director): absent fields are emptied (use PATCH to change some)",
		Req: core.CenterInput{}, Resp: core.Center{}},
		func(c *gin.Context) {
			var in core.CenterInput
			if id, ok := idParam(c, "id", "center"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Tenancy.UpdateCenter(c.Request.Context(), principal(c), id, in))
			}
		})

	s.handle(Route{Method: "POST", Path: "/staff", Tag: "tenancy", Summary: "add a staff member (director)",
		Req: core.StaffInput{}, Resp: core.Staff{}, Status: 201},
		func(c *gin.Context) {
			var in core.StaffInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Tenancy.CreateStaff(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/staff", Tag: "tenancy", Summary: "list staff", Resp: core.Staff{}, List: true},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.Tenancy.ListStaff(c.Request.Context(), principal(c), pg)
				respondList(c, l, err, pg, func(x core.Staff) string { return x.ID })
			}
		})
	s.handle(Route{Method: "GET", Path: "/staff/:id", Tag: "tenancy", Summary: "one staff member", Resp: core.Staff{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "staff member"); ok {
				respond(c, http.StatusOK)(svc.Tenancy.GetStaff(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "PUT", Path: "/staff/:id", Tag: "tenancy", Summary: "replace all of a staff member's fields (director): absent fields are emptied (use PATCH to change some)",
		Req: core.StaffInput{}, Resp: core.Staff{}},
		func(c *gin.Context) {
			var in core.StaffInput
			if id, ok := idParam(c, "id", "staff member"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Tenancy.UpdateStaff(c.Request.Context(), principal(c), id, in))
			}
		})

	s.handle(Route{Method: "POST", Path: "/api-keys", Tag: "tenancy", Summary: "issue an API key; the plain key is shown once",
		Req: APIKeyCreate{}, Resp: APIKeyCreated{}, Status: 201},
		func(c *gin.Context) {
			var in APIKeyCreate
			if !bindJSON(c, &in) {
				return
			}
			k, plain, err := svc.Tenancy.CreateAPIKey(c.Request.Context(), principal(c), in.StaffID, in.Name)
			respond(c, http.StatusCreated)(APIKeyCreated{APIKey: k, Key: plain}, err)
		})
	s.handle(Route{Method: "GET", Path: "/api-keys", Tag: "tenancy", Summary: "list API keys (director; never the secrets)", Resp: core.APIKey{}, List: true},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.Tenancy.ListAPIKeys(c.Request.Context(), principal(c), pg)
				respondList(c, l, err, pg, func(x core.APIKey) string { return x.ID })
			}
		})
	s.handle(Route{Method: "DELETE", Path: "/api-keys/:id", Tag: "tenancy", Summary: "revoke an API key (director)", Status: 204},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "API key"); ok {
				if err := svc.Tenancy.RevokeAPIKey(c.Request.Context(), principal(c), id); err != nil {
					Fail(c, err)
					return
				}
				c.Status(http.StatusNoContent)
			}
		})
}

// respond writes v with status, or the error's problem.
func respond(c *gin.Context, status int) func(any, error) {
	return func(v any, err error) {
		if err != nil {
			Fail(c, err)
			return
		}
		c.JSON(status, v)
	}
}

func respondList[T any](c *gin.Context, items []T, err error, pg core.Page, id func(T) string) {
	if err != nil {
		Fail(c, err)
		return
	}
	c.JSON(http.StatusOK, listOf(items, pg, id))
}
