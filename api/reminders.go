package api

import (
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

func (s *Server) reminderRoutes() {
	svc := s.d.Services.Reminders
	s.handle(Route{Method: "GET", Path: "/appointments/:id/reminders", Tag: "reminders",
		Summary: "an appointment's reminders with their due time and state (scheduled, queued, sent, failed, skipped and why, void)",
		Resp:    ListResponse[core.ReminderView]{}}, func(c *gin.Context) {
		if id, ok := idParam(c, "id", "appointment"); ok {
			l, err := svc.AppointmentReminders(c.Request.Context(), principal(c), id)
			respond(c, http.StatusOK)(ListResponse[core.ReminderView]{Items: l}, err)
		}
	})
	s.handle(Route{Method: "GET", Path: "/reminders", Tag: "reminders",
		Summary: "reminders due in a day (default today), sorted by due time, with their state; of the visits the caller may see",
		Resp:    core.ReminderView{}, List: true, Query: []Param{
			{Name: "date", Type: "string", Description: "YYYY-MM-DD: reminders due that day in the organization's timezone (default today)"},
			{Name: "from", Type: "string", Description: "RFC 3339 with offset: due at or after (instead of date)"},
			{Name: "to", Type: "string", Description: "RFC 3339 with offset: due before (instead of date)"},
			{Name: "center_id", Type: "string"}, {Name: "specialist_id", Type: "string"},
		}}, func(c *gin.Context) {
		pg, ok := startPage(c)
		if !ok {
			return
		}
		f := core.ReminderFilter{Date: c.Query("date"), CenterID: c.Query("center_id"), SpecialistID: c.Query("specialist_id")}
		if !rangeParams(c, &f.From, &f.To) {
			return
		}
		l, err := svc.ListReminders(c.Request.Context(), principal(c), f, pg)
		respondList(c, l, err, pg, func(x core.ReminderView) string { return core.StartCursor{Start: x.Due, ID: x.ID}.String() })
	})
}
