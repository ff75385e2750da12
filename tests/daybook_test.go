package tests

import (
	"context"
	"database/sql"
	"encoding/json"
	"net/url"
	"os"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/pressly/goose/v3"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/core"
)

// appointmentPage is one page of GET /appointments.
type appointmentPage struct {
	Items      []core.Appointment `json:"items"`
	NextCursor string             `json:"next_cursor"`
}

// allAppointments walks every page of a filtered list.
func (e *apiEnv) allAppointments(t *testing.T, query string, limit int) []core.Appointment {
	t.Helper()
	var out []core.Appointment
	path := "/api/v1/appointments?limit=" + itoa(limit) + "&" + query
	for i := 0; ; i++ {
		if i > 50 {
			t.Fatal("more than 50 pages")
		}
		var pg appointmentPage
		e.must(200, "GET", path, nil, &pg)
		out = append(out, pg.Items...)
		if pg.NextCursor == "" {
			return out
		}
		path = "/api/v1/appointments?limit=" + itoa(limit) + "&" + query + "&cursor=" + url.QueryEscape(pg.NextCursor)
	}
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func apptIDs(as []core.Appointment) []string {
	out := make([]string, len(as))
	for i, a := range as {
		out[i] = a.ID
	}
	return out
}

// TestCentreDayView: a visit takes its specialist's only centre (a
// specialist of several centres must name one), so the centre's day view
// lists it; lists filter by centre, specialist, client, status and a local
// date or a range, come sorted by start across pages, and carry the
// client's name and phone.
func TestCentreDayView(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "00:00", End: "24:00"}), core.ServiceInput{Name: "Visit", DurationMin: 30})
		var c1, c2, c3, s1, s2, other idOnly
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Nord"}, &c1)
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Sud"}, &c2)
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Est"}, &c3)
		week := core.ScheduleInput{Timezone: "Europe/Paris", Weekly: allWeek(core.PeriodJSON{Start: "00:00", End: "24:00"})}
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Dr Nord", "role": "specialist", "center_ids": []string{c1.ID}}, &s1)
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Dr Both", "role": "specialist", "center_ids": []string{c1.ID, c2.ID}}, &s2)
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Bruno Petit", "phone": "+33611111111"}, &other)
		for _, s := range []string{s1.ID, s2.ID} {
			e.must(200, "PUT", "/api/v1/staff/"+s+"/schedule", week, nil)
		}
		book := func(specialist, client, start string, extra map[string]any) (core.Appointment, problem, int) {
			body := map[string]any{"specialist_id": specialist, "service_id": f.service, "client_id": client, "start": start}
			for k, v := range extra {
				body[k] = v
			}
			var raw json.RawMessage
			code := e.do(e.key, "POST", "/api/v1/appointments", body, &raw)
			var res core.BookingResult
			var p problem
			if code == 201 {
				_ = json.Unmarshal(raw, &res)
				return res.Appointments[0], p, code
			}
			_ = json.Unmarshal(raw, &p)
			return core.Appointment{}, p, code
		}

		// The only centre of the specialist.
		a1, _, code := book(s1.ID, f.client, "2026-03-09T10:00:00+01:00", nil)
		if code != 201 || a1.CenterID != c1.ID {
			t.Fatalf("specialist of one centre: %d, center %q, want %s", code, a1.CenterID, c1.ID)
		}
		// Several centres: one must be named, and one of theirs.
		if _, p, code := book(s2.ID, f.client, "2026-03-09T11:00:00+01:00", nil); code != 400 || len(p.Errors) != 1 ||
			p.Errors[0].Field != "center_id" || !strings.Contains(p.Errors[0].Message, "several centers") {
			t.Fatalf("specialist of two centres without a centre: %d %+v", code, p)
		}
		if _, p, code := book(s2.ID, f.client, "2026-03-09T11:00:00+01:00", map[string]any{"center_id": c3.ID}); code != 400 ||
			p.Errors[0].Field != "center_id" || !strings.Contains(p.Errors[0].Message, "does not work") {
			t.Fatalf("a centre the specialist does not work in: %d %+v", code, p)
		}
		a2, _, code := book(s2.ID, other.ID, "2026-03-09T09:00:00+01:00", map[string]any{"center_id": c2.ID})
		if code != 201 || a2.CenterID != c2.ID {
			t.Fatalf("named centre: %d %+v", code, a2)
		}
		// A specialist of no centre books visits of no centre.
		a0 := e.book(f, "2026-03-09T08:00:00+01:00")
		if a0.CenterID != "" {
			t.Fatalf("specialist of no centre: center %q", a0.CenterID)
		}
		// Late evening in Paris is still the 9th; 00:30 on the 10th is not,
		// though it is the 9th in UTC.
		late, _, _ := book(s1.ID, other.ID, "2026-03-09T23:30:00+01:00", nil)
		next, _, _ := book(s1.ID, f.client, "2026-03-10T00:30:00+01:00", nil)
		cancelled, _, _ := book(s1.ID, f.client, "2026-03-09T12:00:00+01:00", nil)
		e.must(200, "POST", "/api/v1/appointments/"+cancelled.ID+"/status", map[string]any{"status": "cancelled"}, nil)

		day := e.allAppointments(t, "center_id="+c1.ID+"&date=2026-03-09", 50)
		if got, want := apptIDs(day), []string{a1.ID, cancelled.ID, late.ID}; !slices.Equal(got, want) {
			t.Fatalf("Nord's day view %v, want %v (by start)", got, want)
		}
		if day[0].ClientName != "Anne Client" || day[0].ClientPhone != "+33612345678" || day[2].ClientName != "Bruno Petit" || day[2].ClientPhone != "+33611111111" {
			t.Fatalf("items lack the client's name and phone: %+v", day)
		}
		if got := apptIDs(e.allAppointments(t, "center_id="+c1.ID+"&date=2026-03-10", 50)); !slices.Equal(got, []string{next.ID}) {
			t.Fatalf("Nord on the 10th: %v", got)
		}
		for _, tc := range []struct {
			query string
			want  []string
		}{
			{"center_id=" + c1.ID + "&date=2026-03-09&status=accepted", []string{a1.ID, late.ID}},
			{"specialist_id=" + s2.ID, []string{a2.ID}},
			{"client_id=" + other.ID, []string{a2.ID, late.ID}},
			{"date=2026-03-09", []string{a0.ID, a2.ID, a1.ID, cancelled.ID, late.ID}},
			{"from=2026-03-09T09:00:00%2B01:00&to=2026-03-09T12:00:00%2B01:00", []string{a2.ID, a1.ID}},
		} {
			if got := apptIDs(e.allAppointments(t, tc.query, 50)); !slices.Equal(got, tc.want) {
				t.Errorf("?%s = %v, want %v", tc.query, got, tc.want)
			}
		}
		for _, q := range []struct{ query, field string }{
			{"date=9/3/2026", "date"},
			{"date=2026-03-09&from=2026-03-09T00:00:00Z", "date"},
			{"status=accept", "status"},
			{"center_id=nord", "center_id"},
			{"cursor=" + itoa(42), "cursor"},
		} {
			var p problem
			if code := e.do(e.key, "GET", "/api/v1/appointments?"+q.query, nil, &p); code != 400 || len(p.Errors) == 0 || p.Errors[0].Field != q.field {
				t.Errorf("?%s = %d %+v, want a 400 naming %s", q.query, code, p, q.field)
			}
		}

		// Pages follow start order (booked out of order, with ties), each
		// visit exactly once.
		for i, start := range []string{"2026-03-12T15:00:00+01:00", "2026-03-11T09:00:00+01:00", "2026-03-12T15:00:00+01:00", "2026-03-11T08:00:00+01:00"} {
			who := s1.ID
			if i == 2 {
				who = s2.ID
			}
			extra := map[string]any(nil)
			if who == s2.ID {
				extra = map[string]any{"center_id": c1.ID}
			}
			if _, p, code := book(who, f.client, start, extra); code != 201 {
				t.Fatalf("book %s: %d %+v", start, code, p)
			}
		}
		all := e.allAppointments(t, "", 200)
		paged := e.allAppointments(t, "", 2)
		if !slices.Equal(apptIDs(paged), apptIDs(all)) || len(all) != 10 {
			t.Fatalf("pages of 2 %v, one page %v", apptIDs(paged), apptIDs(all))
		}
		if !sort.SliceIsSorted(all, func(i, j int) bool {
			return all[i].Start.Before(all[j].Start) || all[i].Start.Equal(all[j].Start) && all[i].ID < all[j].ID
		}) {
			t.Fatalf("not sorted by start: %+v", all)
		}
	})
}

// TestDayViewBackfill: visits booked before a visit took its specialist's
// centre join that centre when the migration runs; a specialist of several
// centres keeps theirs unassigned.
func TestDayViewBackfill(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Visit", DurationMin: 60})
		var c1, c2 idOnly
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Nord"}, &c1)
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Sud"}, &c2)
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		b := e.book(f, "2026-03-09T11:00:00+01:00")
		e.relay()
		e.must(200, "PUT", "/api/v1/staff/"+f.specialist, map[string]any{"name": "Dr Martin", "role": "specialist", "center_ids": []string{c1.ID}}, nil)

		d, dsn, err := store.ParseURL(e.app.Config.DatabaseURL)
		if err != nil {
			t.Fatal(err)
		}
		driver, gd := "sqlite", goose.DialectSQLite3
		if d == store.Postgres {
			driver, gd = "pgx", goose.DialectPostgres
		}
		db, err := sql.Open(driver, dsn)
		if err != nil {
			t.Fatal(err)
		}
		defer db.Close()
		p, err := goose.NewProvider(gd, db, os.DirFS("../adapters/store/migrations"))
		if err != nil {
			t.Fatal(err)
		}
		ctx := context.Background()
		if _, err := p.DownTo(ctx, 499); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		day := e.allAppointments(t, "center_id="+c1.ID+"&date=2026-03-09", 50)
		if got := apptIDs(day); !slices.Equal(got, []string{a.ID, b.ID}) {
			t.Fatalf("Nord's day after the backfill: %v, want %v", got, []string{a.ID, b.ID})
		}
		for _, m := range e.messages("appointment_id=" + a.ID) {
			if m.CenterID != c1.ID {
				t.Errorf("message %s of the visit keeps center %q", m.Kind, m.CenterID)
			}
		}
		// A specialist of two centres: nothing to infer.
		g := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Visit", DurationMin: 60})
		c := e.book(g, "2026-03-10T10:00:00+01:00")
		e.must(200, "PUT", "/api/v1/staff/"+g.specialist, map[string]any{"name": "Dr Two", "role": "specialist", "center_ids": []string{c1.ID, c2.ID}}, nil)
		if _, err := p.DownTo(ctx, 499); err != nil {
			t.Fatal(err)
		}
		if _, err := p.Up(ctx); err != nil {
			t.Fatal(err)
		}
		var got core.Appointment
		e.must(200, "GET", "/api/v1/appointments/"+c.ID, nil, &got)
		if got.CenterID != "" {
			t.Fatalf("a visit of a two-centre specialist was given %q", got.CenterID)
		}
	})
}

// relay turns pending domain events into outbox messages, as the worker's
// scheduler does.
func (e *apiEnv) relay() {
	e.t.Helper()
	if _, err := e.app.Notify.RelayEvents(context.Background()); err != nil {
		e.t.Fatal(err)
	}
}
