package tests

import (
	"context"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

// TestOneSeatPerClient: a client holds one seat of a group lesson; booking
// them again is a conflict (even with override) unless the request gives
// seats explicitly.
func TestOneSeatPerClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}),
			core.ServiceInput{Name: "Aquagym", DurationMin: 60, Capacity: 5})
		body := func(extra map[string]any) map[string]any {
			b := map[string]any{"specialist_id": f.specialist, "service_id": f.service, "client_id": f.client, "start": "2026-03-09T10:00:00+01:00"}
			for k, v := range extra {
				b[k] = v
			}
			return b
		}
		var first core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", body(nil), &first)
		for _, extra := range []map[string]any{nil, {"override": true}, {"requested_by": "client"}} {
			var p problem
			if code := e.do(e.key, "POST", "/api/v1/appointments", body(extra), &p); code != 409 || !p.kinds()["already_booked"] {
				t.Fatalf("the same client again %v: %d %+v", extra, code, p)
			}
		}
		// Asking for more seats explicitly books them.
		var more core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", body(map[string]any{"seats": 2}), &more)
		if more.Appointments[0].Seats != 2 {
			t.Fatalf("explicit seats: %+v", more.Appointments[0])
		}
		// Another client takes a seat; three are taken, two are left.
		var other idOnly
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Other Client"}, &other)
		e.must(201, "POST", "/api/v1/appointments", body(map[string]any{"client_id": other.ID}), nil)
		for _, sl := range e.slots(f, "2026-03-09", "2026-03-09", "Europe/Paris") {
			if sl.Start.Format("15:04") == "10:00" && sl.SeatsLeft != 1 {
				t.Fatalf("10:00 has %d seats left, want 1", sl.SeatsLeft)
			}
		}
		// A weekly series skips the lesson the client is in already.
		var series core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", body(map[string]any{"start": "2026-03-02T10:00:00+01:00", "repeat": map[string]any{"every_weeks": 1, "count": 3}}), &series)
		if len(series.Appointments) != 2 || len(series.Skipped) != 1 || series.Skipped[0].Conflicts[0].Kind != "already_booked" {
			t.Fatalf("series: %d booked, skipped %+v", len(series.Appointments), series.Skipped)
		}
		// Moving another booking of the client into that lesson is refused.
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/appointments/"+series.Appointments[1].ID+"/move", map[string]any{"start": "2026-03-09T10:00:00+01:00"}, &p); code != 409 || !p.kinds()["already_booked"] {
			t.Fatalf("moving into the lesson: %d %+v", code, p)
		}
	})
}

// TestCompletion: a visit that has not started cannot be completed unless
// staff override; undoing a completion returns it to accepted (the package
// visit back); the client is thanked once however often it is redone.
func TestCompletion(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.swimming(5000)
		var pk core.Package
		e.must(201, "POST", "/api/v1/packages", map[string]any{"name": "10 lessons", "visits": 10, "validity_days": 90,
			"price_minor": 40000, "service_ids": []string{f.service}}, &pk)
		var sale core.PackageSale
		e.must(201, "POST", "/api/v1/package-sales", map[string]any{"package_id": pk.ID, "client_id": f.client}, &sale)
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		status := func(body map[string]any) (int, problem, core.Appointment) {
			var raw map[string]any
			var p problem
			var st struct {
				Appointments []core.Appointment `json:"appointments"`
			}
			code := e.do(e.key, "POST", "/api/v1/appointments/"+a.ID+"/status", body, &raw)
			_, _ = jsonRoundTrip(raw, &p, &st)
			if len(st.Appointments) == 0 {
				return code, p, core.Appointment{}
			}
			return code, p, st.Appointments[0]
		}
		// 08:30 Paris: the visit starts at 10:00.
		e.clock.Set(time.Date(2026, 3, 9, 7, 30, 0, 0, time.UTC))
		if code, p, _ := status(map[string]any{"status": "completed"}); code != 409 || !p.kinds()["not_started"] {
			t.Fatalf("completing before the start: %d %+v", code, p)
		}
		if code, p, got := status(map[string]any{"status": "completed", "override": true}); code != 200 || got.Status != core.Completed {
			t.Fatalf("completing with override: %d %+v", code, p)
		}
		relay := func() {
			if _, err := e.app.Notify.RelayEvents(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		relay()
		e.clock.Set(time.Date(2026, 3, 9, 11, 0, 0, 0, time.UTC))
		code, p, got := status(map[string]any{"status": "accepted"})
		if code != 200 || got.Status != core.Accepted || got.PackageSaleID != "" {
			t.Fatalf("undoing the completion: %d %+v %+v", code, p, got)
		}
		e.must(200, "GET", "/api/v1/package-sales/"+sale.ID, nil, &sale)
		if sale.VisitsUsed != 0 {
			t.Fatalf("undone completion still uses %d visits", sale.VisitsUsed)
		}
		relay()
		if code, p, got := status(map[string]any{"status": "completed"}); code != 200 || got.PackageSaleID != sale.ID {
			t.Fatalf("completing again: %d %+v %+v", code, p, got)
		}
		relay()
		kinds := map[string]int{}
		for _, m := range e.messages("appointment_id=" + a.ID) {
			kinds[m.Kind]++
		}
		if kinds[core.KindCompleted] != 1 || kinds[core.KindAccepted] != 1 {
			t.Fatalf("messages by kind %v: want one thank-you and the one confirmation of the booking", kinds)
		}
		// A no-show undone returns to accepted too.
		if code, p, _ := status(map[string]any{"status": "missed"}); code != 200 {
			t.Fatalf("missed: %d %+v", code, p)
		}
		if code, p, got := status(map[string]any{"status": "accepted"}); code != 200 || got.Status != core.Accepted {
			t.Fatalf("undoing the no-show: %d %+v", code, p)
		}
	})
}

// TestSeriesAcceptKeepsCompleted: accepting a whole series of requests
// leaves an occurrence already completed as it is; undoing a completion
// is for the visit named only.
func TestSeriesAcceptKeepsCompleted(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.swimming(5000)
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-09T10:00:00+01:00", "requested_by": "client",
			"repeat": map[string]any{"every_weeks": 1, "count": 3}}, &res)
		first := res.Appointments[0]
		e.must(200, "POST", "/api/v1/appointments/"+first.ID+"/status", map[string]any{"status": "accepted"}, nil)
		e.complete(first.ID, time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC))
		var st struct {
			Appointments []core.Appointment `json:"appointments"`
		}
		e.must(200, "POST", "/api/v1/appointments/"+res.Appointments[2].ID+"/status", map[string]any{"status": "accepted", "scope": "all"}, &st)
		if len(st.Appointments) != 2 {
			t.Fatalf("accepted %d occurrences, want the two requests", len(st.Appointments))
		}
		var got core.Appointment
		e.must(200, "GET", "/api/v1/appointments/"+first.ID, nil, &got)
		if got.Status != core.Completed {
			t.Fatalf("accepting the series turned the completed visit %s", got.Status)
		}
	})
}
