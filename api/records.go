package api

import (
	"context"
	"errors"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// errAnswered tells a handler that the problem was written already (a
// patch body that did not decode).
var errAnswered = errors.New("api: answered")

// patchBody decodes a PATCH body over the record's current fields: fields
// the body names change, the others keep their values.
func patchBody[T any](c *gin.Context) func(*T) error {
	return func(in *T) error {
		if !bindJSON(c, in) {
			return errAnswered
		}
		return nil
	}
}

// respondPatch writes a patched record, or the problem unless it was
// written already.
func respondPatch(c *gin.Context) func(any, error) {
	return func(v any, err error) {
		if errors.Is(err, errAnswered) {
			return
		}
		respond(c, http.StatusOK)(v, err)
	}
}

// patchNote ends the summary of every PATCH route.
const patchNote = "; merge semantics: only the fields sent change (PUT replaces them all)"

// patchRoute registers PATCH on a record's path: the body is decoded over
// the record's current fields by the core service's patch.
func patchRoute[In, Out any](s *Server, path, tag, what, summary string,
	patch func(ctx context.Context, p core.Principal, id string, apply func(*In) error) (Out, error)) {
	var in In
	var out Out
	s.handle(Route{Method: "PATCH", Path: path, Tag: tag, Summary: summary + patchNote, Req: in, Resp: out},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", what); ok {
				respondPatch(c)(patch(c.Request.Context(), principal(c), id, patchBody[In](c)))
			}
		})
}

// recordRoutes are the partial updates of clients, staff, services and
// centres, client groups and family members.
func (s *Server) recordRoutes() {
	svc := s.d.Services
	patchRoute(s, "/clients/:id", "clients", "client", "change some of a client's fields", svc.Clients.PatchClient)
	patchRoute(s, "/staff/:id", "tenancy", "staff member", "change some of a staff member's fields (director)", svc.Tenancy.PatchStaff)
	patchRoute(s, "/services/:id", "services", "service", "change some of a service's fields", svc.Catalogue.PatchService)
	patchRoute(s, "/centers/:id", "tenancy", "center", "change some of a center's fields (director)", svc.Tenancy.PatchCenter)
	s.groupRoutes()
	s.handle(Route{Method: "POST", Path: "/clients/:id/family-members", Tag: "clients",
		Summary: "create a client from this card and link them in one call: the new client takes the card's phone, language, timezone and centres unless given",
		Req:     core.FamilyMemberInput{}, Resp: core.FamilyLink{}, Status: 201},
		func(c *gin.Context) {
			var in core.FamilyMemberInput
			if id, ok := idParam(c, "id", "client"); ok && bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.Clients.CreateFamilyMember(c.Request.Context(), principal(c), id, in))
			}
		})
}

// noContent answers 204, or the error's problem.
func noContent(c *gin.Context, err error) {
	if err != nil {
		Fail(c, err)
		return
	}
	c.Status(http.StatusNoContent)
}

func (s *Server) groupRoutes() {
	svc := s.d.Services
	s.handle(Route{Method: "PATCH", Path: "/client-groups/:id", Tag: "clients",
		Summary: "rename a client group (director, administrator, marketer); names are unique regardless of case",
		Req:     core.ClientGroupInput{}, Resp: core.ClientGroup{}},
		func(c *gin.Context) {
			var in core.ClientGroupInput
			if id, ok := idParam(c, "id", "client group"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.Clients.RenameClientGroup(c.Request.Context(), principal(c), id, in))
			}
		})
	s.handle(Route{Method: "DELETE", Path: "/client-groups/:id", Tag: "clients",
		Summary: "delete a client group (director, administrator, marketer); its clients stay", Status: 204},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "client group"); ok {
				noContent(c, svc.Clients.DeleteClientGroup(c.Request.Context(), principal(c), id))
			}
		})
	member := func(in bool) gin.HandlerFunc {
		return func(c *gin.Context) {
			id, ok := idParam(c, "id", "client group")
			if !ok {
				return
			}
			if client, ok := idParam(c, "client_id", "client"); ok {
				noContent(c, svc.Clients.SetGroupMember(c.Request.Context(), principal(c), id, client, in))
			}
		}
	}
	s.handle(Route{Method: "PUT", Path: "/client-groups/:id/members/:client_id", Tag: "clients",
		Summary: "add one client to a group (adding a member again changes nothing)", Status: 204}, member(true))
	s.handle(Route{Method: "DELETE", Path: "/client-groups/:id/members/:client_id", Tag: "clients",
		Summary: "take one client out of a group (taking out a non-member changes nothing)", Status: 204}, member(false))
}
