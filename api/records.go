package api

import (
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

// recordRoutes are the partial updates of clients, staff, services and
// centres.
func (s *Server) recordRoutes() {
	svc := s.d.Services
	s.handle(Route{Method: "PATCH", Path: "/clients/:id", Tag: "clients", Summary: "change some of a client's fields" + patchNote,
		Req: core.ClientInput{}, Resp: core.Client{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "client"); ok {
				respondPatch(c)(svc.Clients.PatchClient(c.Request.Context(), principal(c), id, patchBody[core.ClientInput](c)))
			}
		})
	s.handle(Route{Method: "PATCH", Path: "/staff/:id", Tag: "tenancy", Summary: "change some of a staff member's fields (director)" + patchNote,
		Req: core.StaffInput{}, Resp: core.Staff{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "staff member"); ok {
				respondPatch(c)(svc.Tenancy.PatchStaff(c.Request.Context(), principal(c), id, patchBody[core.StaffInput](c)))
			}
		})
	s.handle(Route{Method: "PATCH", Path: "/services/:id", Tag: "services", Summary: "change some of a service's fields" + patchNote,
		Req: core.ServiceInput{}, Resp: core.Offering{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "service"); ok {
				respondPatch(c)(svc.Catalogue.PatchService(c.Request.Context(), principal(c), id, patchBody[core.ServiceInput](c)))
			}
		})
	s.handle(Route{Method: "PATCH", Path: "/centers/:id", Tag: "tenancy", Summary: "change some of a center's fields (director)" + patchNote,
		Req: core.CenterInput{}, Resp: core.Center{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "center"); ok {
				respondPatch(c)(svc.Tenancy.PatchCenter(c.Request.Context(), principal(c), id, patchBody[core.CenterInput](c)))
			}
		})
}
