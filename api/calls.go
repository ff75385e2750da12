package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// callRoutes are telephony: the call log, click-to-call, planned calls,
// call settings and provider-neutral connections. Without a CallService
// (not wired) they are left out.
func (s *Server) callRoutes() {
	svc := s.d.Services.Calls
	if svc == nil {
		return
	}
	// The provider-neutral call-event webhook (served by webhooks/).
	s.spec.add(Route{Method: "POST", Path: "/webhooks/calls/:connection", Tag: "webhooks", Public: true, Webhook: true, Req: core.CallEvent{},
		Resp:    map[string]any{},
		Summary: "a call event from a PBX or call-tracking app: ringing pops up the caller's card, missed leaves a call-back",
		Description: "Sign the exact body: X-Calls-Signature = \"sha256=\" + hex(HMAC-SHA256(connection secret, X-Calls-Timestamp + \".\" + body)), " +
			"X-Calls-Timestamp = Unix seconds, within 5 minutes of the gateway's clock. A bad signature, a stale timestamp or an unknown or " +
			"revoked connection is a 403 and changes nothing; a repeat of (call_id, event) answers 200 with repeat=true. Example: " +
			"ts=$(date +%s); body='{\"call_id\":\"c1\",\"event\":\"ringing\",\"from\":\"+33612345678\",\"to\":\"+33140000000\"}'; " +
			"sig=$(printf '%s.%s' \"$ts\" \"$body\" | openssl dgst -sha256 -hmac \"$SECRET\" -hex | sed 's/.* //'); " +
			"curl -H \"X-Calls-Timestamp: $ts\" -H \"X-Calls-Signature: sha256=$sig\" -d \"$body\" $GATEWAY_PUBLIC_URL/webhooks/calls/$CONNECTION_ID",
		Headers: []Param{{Name: "X-Calls-Timestamp", Type: "string", Required: true, Description: "Unix seconds"},
			{Name: "X-Calls-Signature", Type: "string", Required: true, Description: "sha256=<hex HMAC-SHA256 of timestamp.body>"}}})
	s.handle(Route{Method: "GET", Path: "/calls", Tag: "calls", Resp: core.Call{}, List: true,
		Summary: "the call log of the centres the caller sees (Twilio and provider-neutral connections), oldest first",
		Query:   []Param{{Name: "center_id", Type: "string"}, {Name: "client_id", Type: "string"}}},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.ListCalls(c.Request.Context(), principal(c), core.CallFilter{CenterID: c.Query("center_id"), ClientID: c.Query("client_id")}, pg)
				respondList(c, l, err, pg, func(x core.Call) string { return x.ID })
			}
		})
	s.handle(Route{Method: "GET", Path: "/calls/:id", Tag: "calls", Summary: "one call of the log", Resp: core.Call{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "call"); ok {
				respond(c, http.StatusOK)(svc.GetCall(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "POST", Path: "/calls", Tag: "calls", Status: 201, Req: core.ClickToCallInput{}, Resp: core.Call{},
		Summary: "click-to-call: Twilio rings the caller's own phone (their staff card's phone), then dials the client from the centre's number; logged like any call"},
		func(c *gin.Context) {
			var in core.ClickToCallInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.ClickToCall(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "POST", Path: "/planned-calls", Tag: "calls", Status: 201, Req: core.PlannedCallInput{}, Resp: core.PlannedCall{},
		Summary: "plan a call to a client (\"date of the next call\"): it keeps the client active"},
		func(c *gin.Context) {
			var in core.PlannedCallInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.PlanCall(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/planned-calls", Tag: "calls", Resp: core.PlannedCall{}, List: true,
		Summary: "planned calls by due time, overdue and today's first; mine=true: \"my planned calls\"",
		Query: []Param{{Name: "center_id", Type: "string"}, {Name: "client_id", Type: "string"},
			{Name: "mine", Type: "boolean", Description: "only calls assigned to the caller"},
			{Name: "status", Type: "string", Description: "open (default), done, cancelled or all"}}},
		func(c *gin.Context) {
			pg, ok := startPage(c)
			if !ok {
				return
			}
			q := core.PlannedQuery{CenterID: c.Query("center_id"), ClientID: c.Query("client_id"), Status: c.Query("status"), Mine: c.Query("mine") == "true"}
			l, err := svc.ListPlannedCalls(c.Request.Context(), principal(c), q, pg)
			respondList(c, l, err, pg, func(x core.PlannedCall) string { return core.StartCursor{Start: x.DueAt, ID: x.ID}.String() })
		})
	s.handle(Route{Method: "GET", Path: "/planned-calls/:id", Tag: "calls", Summary: "one planned call", Resp: core.PlannedCall{}},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "planned call"); ok {
				respond(c, http.StatusOK)(svc.GetPlannedCall(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "POST", Path: "/planned-calls/:id/result", Tag: "calls", Req: core.PlannedResultInput{}, Resp: core.PlannedCall{},
		Summary: "record how a planned call went and, with next_due_at, plan the next one"},
		func(c *gin.Context) {
			var in core.PlannedResultInput
			if id, ok := idParam(c, "id", "planned call"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.RecordPlannedResult(c.Request.Context(), principal(c), id, in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/centers/:id/call-settings", Tag: "calls", Resp: core.CallSettings{},
		Summary: "how a centre answers calls: its voice number, hours, caller id, ring timeout, screening, language"},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "center"); ok {
				respond(c, http.StatusOK)(svc.GetCallSettings(c.Request.Context(), principal(c), id))
			}
		})
	s.handle(Route{Method: "PUT", Path: "/centers/:id/call-settings", Tag: "calls", Req: core.CallSettings{}, Resp: core.CallSettings{},
		Summary: "set how a centre answers calls (director, administrator); a voice number another centre has is a 409"},
		func(c *gin.Context) {
			var in core.CallSettings
			if id, ok := idParam(c, "id", "center"); ok && bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.PutCallSettings(c.Request.Context(), principal(c), id, in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/call-settings", Tag: "calls", Resp: core.CallOrgSettings{}, Summary: "the organization's telephony options"},
		func(c *gin.Context) {
			respond(c, http.StatusOK)(svc.GetCallOrgSettings(c.Request.Context(), principal(c)))
		})
	s.handle(Route{Method: "PUT", Path: "/call-settings", Tag: "calls", Req: core.CallOrgSettings{}, Resp: core.CallOrgSettings{},
		Summary: "set the organization's telephony options (director)"},
		func(c *gin.Context) {
			var in core.CallOrgSettings
			if bindJSON(c, &in) {
				respond(c, http.StatusOK)(svc.PutCallOrgSettings(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "POST", Path: "/call-connections", Tag: "calls", Status: 201, Req: core.CallConnectionInput{}, Resp: core.CallConnection{},
		Summary: "connect a PBX or call-tracking app (director): its events go to POST /webhooks/calls/{id}, signed with the secret shown once here"},
		func(c *gin.Context) {
			var in core.CallConnectionInput
			if bindJSON(c, &in) {
				respond(c, http.StatusCreated)(svc.CreateCallConnection(c.Request.Context(), principal(c), in))
			}
		})
	s.handle(Route{Method: "GET", Path: "/call-connections", Tag: "calls", Resp: core.CallConnection{}, List: true,
		Summary: "the organization's telephony connections, without secrets (director)"},
		func(c *gin.Context) {
			if pg, ok := page(c); ok {
				l, err := svc.ListCallConnections(c.Request.Context(), principal(c), pg)
				respondList(c, l, err, pg, func(x core.CallConnection) string { return x.ID })
			}
		})
	s.handle(Route{Method: "DELETE", Path: "/call-connections/:id", Tag: "calls", Status: 204,
		Summary: "revoke a connection (director): its events are refused from now on"},
		func(c *gin.Context) {
			if id, ok := idParam(c, "id", "call connection"); ok {
				noContent(c, svc.RevokeCallConnection(c.Request.Context(), principal(c), id))
			}
		})
}
