package tests

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

// TestRepeatedHour: on the night clocks fall back, availability offers the
// repeated hour's second occurrence and booking accepts it, a client's
// request included; once booked it is no longer offered; and the messages
// about a visit in that hour say which occurrence it is.
func TestRepeatedHour(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "01:00", End: "04:00"}),
			core.ServiceInput{Name: "Nuit", DurationMin: 60, IntervalMin: 30})
		starts := func() []string {
			var out []string
			for _, s := range e.slots(f, "2026-10-25", "2026-10-25", "Europe/Paris") {
				out = append(out, s.Start.UTC().Format("15:04"))
			}
			return out
		}
		// 02:00 and 02:30 CEST are 00:00Z and 00:30Z; 02:00 and 02:30 CET
		// are 01:00Z and 01:30Z.
		want := []string{"23:00", "23:30", "00:00", "00:30", "01:00", "01:30", "02:00"}
		if got := starts(); !slices.Equal(got, want) {
			t.Fatalf("slots of the fall-back night %v, want %v", got, want)
		}
		second := e.book(f, "2026-10-25T02:00:00+01:00")
		if !second.Start.Equal(time.Date(2026, 10, 25, 1, 0, 0, 0, time.UTC)) {
			t.Fatalf("booked %s", second.Start)
		}
		if got := starts(); !slices.Equal(got, []string{"23:00", "23:30", "00:00", "02:00"}) {
			t.Fatalf("after booking 02:00 CET: %v", got)
		}
		// A client's request for an offered slot is accepted as a request.
		g := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "01:00", End: "04:00"}),
			core.ServiceInput{Name: "Nuit", DurationMin: 60, IntervalMin: 30})
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": g.specialist, "service_id": g.service,
			"client_id": g.client, "start": "2026-10-25T01:30:00Z", "requested_by": "client"}, &res)
		first := e.book(g, "2026-10-25T02:00:00+02:00")

		e.relay()
		body := func(a core.Appointment, kind string) string {
			for _, m := range e.messages("appointment_id=" + a.ID) {
				if m.Kind == kind {
					return m.Body
				}
			}
			t.Fatalf("no %s message for %s", kind, a.ID)
			return ""
		}
		if b := body(second, core.KindAccepted); !strings.Contains(b, "02:00 CET") {
			t.Errorf("confirmation of the second 02:00 does not say CET: %s", b)
		}
		if b := body(first, core.KindAccepted); !strings.Contains(b, "02:00 CEST") {
			t.Errorf("confirmation of the first 02:00 does not say CEST: %s", b)
		}
		if b := body(res.Appointments[0], core.KindRequested); !strings.Contains(b, "02:30 CET") {
			t.Errorf("request of the second 02:30 does not say CET: %s", b)
		}
	})
}
