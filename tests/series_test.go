package tests

import (
	"strings"
	"testing"

	"github.com/bookinggw/gateway/core"
)

// TestSeriesMessages: booking a series sends the client one message
// listing its dates (and staff one for a client's request), moving it
// sends one message, and a move to the same time sends nothing.
func TestSeriesMessages(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Thérapie", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/staff/"+f.specialist, map[string]any{"name": "Dr Martin", "role": "specialist", "email": "martin@example.com"}, nil)
		clientMessages := func() []core.Message { return e.messages("recipient_id=" + f.client) }
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-16T10:00:00+01:00", "repeat": map[string]any{"every_weeks": 1, "count": 3}}, &res)
		e.relay()
		ms := clientMessages()
		if len(ms) != 1 || ms[0].Kind != core.KindSeriesBooked {
			t.Fatalf("booking a series of 3 sent %d client messages: %+v", len(ms), ms)
		}
		for _, d := range []string{"lundi 16 mars 2026, 10:00", "lundi 23 mars 2026, 10:00", "lundi 30 mars 2026, 10:00"} {
			if !strings.Contains(ms[0].Body, d) {
				t.Errorf("the series message lacks %q:\n%s", d, ms[0].Body)
			}
		}
		if !strings.Contains(ms[0].Body, "confirmés") {
			t.Errorf("the series message does not confirm: %s", ms[0].Body)
		}

		// Move all of it an hour later: one message with the new times.
		var mv core.MoveResult
		e.must(200, "POST", "/api/v1/appointments/"+res.Appointments[0].ID+"/move", map[string]any{"start": "2026-03-16T11:00:00+01:00", "scope": "all"}, &mv)
		if len(mv.Appointments) != 3 {
			t.Fatalf("moved %d", len(mv.Appointments))
		}
		e.relay()
		ms = clientMessages()
		if len(ms) != 2 || ms[1].Kind != core.KindSeriesMoved || !strings.Contains(ms[1].Body, "lundi 30 mars 2026, 11:00") {
			t.Fatalf("moving a series: %+v", ms)
		}
		// The same time again: nothing changes, nobody is told.
		e.must(200, "POST", "/api/v1/appointments/"+res.Appointments[0].ID+"/move", map[string]any{"start": "2026-03-16T11:00:00+01:00", "scope": "all"}, &mv)
		single := mv.Appointments[0]
		e.must(200, "POST", "/api/v1/appointments/"+single.ID+"/move", map[string]any{"start": "2026-03-16T10:00:00Z"}, &mv)
		e.relay()
		if ms := clientMessages(); len(ms) != 2 {
			t.Fatalf("a move to the same time told the client: %+v", ms[2:])
		}
		// One visit of the series moved alone is told alone.
		e.must(200, "POST", "/api/v1/appointments/"+single.ID+"/move", map[string]any{"start": "2026-03-16T12:00:00+01:00"}, nil)
		e.relay()
		if ms := clientMessages(); len(ms) != 3 || ms[2].Kind != core.KindMoved {
			t.Fatalf("moving one visit: %+v", ms)
		}

		// A client's request for a series: one message each side.
		g := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Cours", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/staff/"+g.specialist, map[string]any{"name": "Dr Durand", "role": "specialist", "email": "durand@example.com"}, nil)
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": g.specialist, "service_id": g.service,
			"client_id": g.client, "start": "2026-03-17T10:00:00+01:00", "requested_by": "client", "repeat": map[string]any{"every_weeks": 2, "count": 2}}, &res)
		e.relay()
		var kinds []string
		for _, m := range e.messages("") {
			if m.AppointmentID == res.Appointments[0].ID || m.AppointmentID == res.Appointments[1].ID {
				kinds = append(kinds, m.Kind)
				if m.Kind == core.KindStaffSeriesRequest && (!strings.Contains(m.Body, "mardi 31 mars 2026, 10:00") || !strings.Contains(m.Body, "+33612345678")) {
					t.Errorf("staff series request: %s", m.Body)
				}
				if m.Kind == core.KindSeriesBooked && !strings.Contains(m.Body, "demande") {
					t.Errorf("client series request: %s", m.Body)
				}
			}
		}
		if strings.Join(kinds, ",") != core.KindSeriesBooked+","+core.KindStaffSeriesRequest {
			t.Fatalf("a requested series sent %v", kinds)
		}
	})
}
