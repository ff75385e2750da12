package tests

import (
	"fmt"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

// Monday 2 March 2026, 06:00 UTC: before the Paris (29 March) and New York
// (8 March) DST changes, so slots on those days are in the future.
var testNow = time.Date(2026, 3, 2, 6, 0, 0, 0, time.UTC)

type fixture struct {
	specialist, service, client string
}

func allWeek(periods ...core.PeriodJSON) core.WeeklyJSON {
	w := core.WeeklyJSON{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"} {
		w[d] = periods
	}
	return w
}

// setup makes a specialist with a schedule, a service and a client.
func (e *apiEnv) setup(tz string, weekly core.WeeklyJSON, svc core.ServiceInput) fixture {
	e.t.Helper()
	e.clock.Set(testNow)
	var f fixture
	var st, sv, cl idOnly
	e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Dr Martin", "role": "specialist", "timezone": tz}, &st)
	e.must(200, "PUT", "/api/v1/staff/"+st.ID+"/schedule", core.ScheduleInput{Timezone: tz, Weekly: weekly}, nil)
	e.must(201, "POST", "/api/v1/services", svc, &sv)
	e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Anne Client", "phone": "+33612345678"}, &cl)
	f.specialist, f.service, f.client = st.ID, sv.ID, cl.ID
	return f
}

func (e *apiEnv) slots(f fixture, from, to, tz string) []core.Slot {
	e.t.Helper()
	var av core.Availability
	q := fmt.Sprintf("/api/v1/availability?specialist_id=%s&service_id=%s&from=%s&to=%s&timezone=%s", f.specialist, f.service, from, to, tz)
	e.must(200, "GET", q, nil, &av)
	return av.Slots
}

func clockTimes(ss []core.Slot) []string {
	out := []string{}
	for _, s := range ss {
		out = append(out, s.Start.Format("15:04"))
	}
	return out
}

func equal(a, b []string) bool { return fmt.Sprint(a) == fmt.Sprint(b) }

func TestAvailabilitySeedExamples(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		// Seed 000: work starts Monday 09:15 with a 30-minute interval.
		f := e.setup("Europe/Paris", core.WeeklyJSON{"monday": {{Start: "09:15", End: "12:00"}}},
			core.ServiceInput{Name: "Consultation", DurationMin: 30, IntervalMin: 30})
		got := clockTimes(e.slots(f, "2026-03-09", "2026-03-09", "Europe/Paris"))
		if want := []string{"09:15", "09:45", "10:15", "10:45", "11:15"}; !equal(got, want) {
			t.Errorf("09:15 start: slots %v, want %v", got, want)
		}
		// Seed 003: 09:00–12:00, 30-minute interval, 1-hour service: the last slot is 11:00.
		g := e.setup("Europe/Paris", core.WeeklyJSON{"monday": {{Start: "09:00", End: "12:00"}}},
			core.ServiceInput{Name: "Session", DurationMin: 60, IntervalMin: 30})
		got = clockTimes(e.slots(g, "2026-03-09", "2026-03-09", "Europe/Paris"))
		if want := []string{"09:00", "09:30", "10:00", "10:30", "11:00"}; !equal(got, want) {
			t.Errorf("1-hour service: slots %v, want %v", got, want)
		}
		// Tuesday has no periods: a day off.
		if got := e.slots(g, "2026-03-10", "2026-03-10", "Europe/Paris"); len(got) != 0 {
			t.Errorf("day off has slots %v", clockTimes(got))
		}
	})
}

func TestAvailabilityAcrossDST(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		svc := core.ServiceInput{Name: "Visit", DurationMin: 60, IntervalMin: 60}
		hours := allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"})
		for _, tc := range []struct {
			tz, before, day   string
			beforeUTC, dayUTC string // first slot of each day in UTC
		}{
			{"Europe/Paris", "2026-03-28", "2026-03-29", "08:00", "07:00"},
			{"Europe/Paris", "2026-10-24", "2026-10-25", "07:00", "08:00"},
			{"America/New_York", "2026-03-07", "2026-03-08", "14:00", "13:00"},
			{"America/New_York", "2026-10-31", "2026-11-01", "13:00", "14:00"},
		} {
			f := e.setup(tc.tz, hours, svc)
			for _, d := range []struct{ date, utc string }{{tc.before, tc.beforeUTC}, {tc.day, tc.dayUTC}} {
				ss := e.slots(f, d.date, d.date, tc.tz)
				if got := clockTimes(ss); !equal(got, []string{"09:00", "10:00", "11:00"}) {
					t.Errorf("%s %s: local slots %v", tc.tz, d.date, got)
				}
				if len(ss) > 0 {
					if got := ss[0].Start.UTC().Format("15:04"); got != d.utc {
						t.Errorf("%s %s: first slot at %sZ, want %sZ", tc.tz, d.date, got, d.utc)
					}
					if dur := ss[0].End.Sub(ss[0].Start); dur != time.Hour {
						t.Errorf("%s %s: slot lasts %v", tc.tz, d.date, dur)
					}
				}
			}
			// A client in Tokyo asking for the same instants sees them in
			// their zone: the Paris 09:00 slot on 29 March is 16:00 in Tokyo.
			if tc.day == "2026-03-29" {
				ss := e.slots(f, "2026-03-29", "2026-03-29", "Asia/Tokyo")
				found := false
				for _, s := range ss {
					if s.Start.Equal(time.Date(2026, 3, 29, 7, 0, 0, 0, time.UTC)) {
						found = true
						if s.Start.Format("15:04 -07:00") != "16:00 +09:00" {
							t.Errorf("Tokyo shows %s", s.Start.Format(time.RFC3339))
						}
					}
				}
				if !found {
					t.Errorf("Tokyo client does not see the 07:00Z slot: %v", ss)
				}
			}
		}
	})
}

func TestTimeOffAndBookingsRemoveSlots(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Visit", DurationMin: 60, IntervalMin: 60})
		base := "/api/v1/staff/" + f.specialist + "/time-off"
		e.must(201, "POST", base, map[string]any{"kind": "holiday", "from_date": "2026-03-10"}, nil)
		e.must(201, "POST", base, map[string]any{"kind": "vacation", "from_date": "2026-03-16", "to_date": "2026-03-17"}, nil)
		e.must(201, "POST", base, map[string]any{"kind": "out_of_office", "start_at": "2026-03-11T09:00:00+01:00", "end_at": "2026-03-11T10:00:00+01:00"}, nil)
		for _, tc := range []struct {
			date string
			want []string
		}{
			{"2026-03-09", []string{"09:00", "10:00", "11:00"}},
			{"2026-03-10", []string{}},
			{"2026-03-11", []string{"10:00", "11:00"}},
			{"2026-03-16", []string{}},
			{"2026-03-17", []string{}},
			{"2026-03-18", []string{"09:00", "10:00", "11:00"}},
		} {
			if got := clockTimes(e.slots(f, tc.date, tc.date, "Europe/Paris")); !equal(got, tc.want) {
				t.Errorf("%s: slots %v, want %v", tc.date, got, tc.want)
			}
		}
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-09T10:00:00+01:00"}, nil)
		if got := clockTimes(e.slots(f, "2026-03-09", "2026-03-09", "Europe/Paris")); !equal(got, []string{"09:00", "11:00"}) {
			t.Errorf("after booking 10:00: slots %v", got)
		}
		// Bad queries are 400s.
		var p problem
		if c := e.do(e.key, "GET", "/api/v1/availability?specialist_id="+f.specialist+"&service_id="+f.service+"&from=2026-03-09&to=2026-01-01", nil, &p); c != 400 {
			t.Errorf("to before from: %d", c)
		}
		if c := e.do(e.key, "GET", "/api/v1/availability?specialist_id="+f.specialist+"&service_id="+f.service+"&from=2026-03-09&to=2026-03-09&timezone=Mars/Base", nil, &p); c != 400 {
			t.Errorf("bad timezone: %d", c)
		}
	})
}

func TestConflictsAndOverride(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Visit", DurationMin: 60, IntervalMin: 30})
		book := func(start string, extra map[string]any) (int, problem, core.BookingResult) {
			body := map[string]any{"specialist_id": f.specialist, "service_id": f.service, "client_id": f.client, "start": start}
			for k, v := range extra {
				body[k] = v
			}
			var res core.BookingResult
			var p problem
			var raw map[string]any
			code := e.do(e.key, "POST", "/api/v1/appointments", body, &raw)
			_, _ = jsonRoundTrip(raw, &res, &p)
			return code, p, res
		}
		if code, p, _ := book("2026-03-09T09:00:00+01:00", nil); code != 201 {
			t.Fatalf("first booking: %d %+v", code, p)
		}
		code, p, _ := book("2026-03-09T09:30:00+01:00", nil)
		if code != 409 || !p.kinds()["overlap"] {
			t.Fatalf("overlapping booking: %d %+v", code, p)
		}
		// In the past, outside the schedule and overlapping, all reported at once.
		code, p, _ = book("2026-03-02T06:30:00+01:00", nil)
		if code != 409 || !p.kinds()["in_past"] || !p.kinds()["outside_schedule"] {
			t.Fatalf("past and outside: %d %+v", code, p)
		}
		e.clock.Set(time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC))
		code, p, _ = book("2026-03-09T09:30:00+01:00", nil)
		if code != 409 || !p.kinds()["in_past"] || !p.kinds()["overlap"] {
			t.Fatalf("past and overlapping: %d %+v", code, p)
		}
		e.clock.Set(testNow)
		code, p, _ = book("2026-03-09T12:30:00+01:00", nil)
		if code != 409 || !p.kinds()["outside_schedule"] {
			t.Fatalf("outside schedule: %d %+v", code, p)
		}
		// A client request never overrides; staff may.
		if code, p, _ := book("2026-03-09T12:30:00+01:00", map[string]any{"requested_by": "client", "override": true}); code != 400 {
			t.Fatalf("client override: %d %+v", code, p)
		}
		code, p, res := book("2026-03-09T12:30:00+01:00", map[string]any{"override": true})
		if code != 201 || len(res.Appointments) != 1 || res.Appointments[0].Status != core.Accepted {
			t.Fatalf("staff override: %d %+v %+v", code, p, res)
		}
		// A client request starts pending; staff accept it.
		code, _, res = book("2026-03-10T10:00:00+01:00", map[string]any{"requested_by": "client"})
		if code != 201 || res.Appointments[0].Status != core.Pending {
			t.Fatalf("client request: %d %+v", code, res)
		}
		id := res.Appointments[0].ID
		e.must(200, "POST", "/api/v1/appointments/"+id+"/status", map[string]any{"status": "accepted"}, nil)
		e.must(200, "POST", "/api/v1/appointments/"+id+"/status", map[string]any{"status": "completed", "override": true}, nil)
		var tp problem
		if code := e.do(e.key, "POST", "/api/v1/appointments/"+id+"/status", map[string]any{"status": "cancelled"}, &tp); code != 409 {
			t.Fatalf("completed → cancelled: %d %+v", code, tp)
		}
		// Bad input changes nothing.
		before := e.count("/api/v1/appointments")
		for _, body := range []map[string]any{
			{"specialist_id": f.specialist, "service_id": f.service, "client_id": f.client},                                // no start
			{"specialist_id": f.specialist, "service_id": f.service, "client_id": "nope", "start": "2026-03-11T09:00:00Z"}, // bad client
			{"specialist_id": f.specialist, "service_id": f.service, "client_id": f.client, "start": "2026-03-11T09:00:00Z", "seats": -1},
			{"specialist_id": f.specialist, "service_id": f.service, "client_id": f.client, "start": "2026-03-11T09:00:00Z", "repeat": map[string]any{"every_weeks": 0, "count": 3}},
		} {
			if code := e.do(e.key, "POST", "/api/v1/appointments", body, &tp); code != 400 {
				t.Errorf("bad booking %v: %d", body, code)
			}
		}
		if after := e.count("/api/v1/appointments"); after != before {
			t.Errorf("bad bookings changed the count %d → %d", before, after)
		}
	})
}

func (e *apiEnv) count(path string) int {
	e.t.Helper()
	var l struct {
		Items []map[string]any `json:"items"`
	}
	e.must(200, "GET", path+"?limit=200", nil, &l)
	return len(l.Items)
}

func TestLastSeatConcurrency(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Group yoga", DurationMin: 60, IntervalMin: 60, Capacity: 3})
		start := "2026-03-09T10:00:00+01:00"
		// A client holds one seat of a lesson: every booking is another client's.
		const n = 50
		clients := make([]string, n+2)
		for i := range clients {
			var cl idOnly
			e.must(201, "POST", "/api/v1/clients", map[string]any{"name": fmt.Sprintf("Yogi %d", i)}, &cl)
			clients[i] = cl.ID
		}
		body := func(i int) map[string]any {
			return map[string]any{"specialist_id": f.specialist, "service_id": f.service, "client_id": clients[i], "start": start}
		}
		e.must(201, "POST", "/api/v1/appointments", body(n), nil)
		e.must(201, "POST", "/api/v1/appointments", body(n+1), nil)
		ss := e.slots(f, "2026-03-09", "2026-03-09", "Europe/Paris")
		for _, s := range ss {
			if s.Start.Format("15:04") == "10:00" && s.SeatsLeft != 1 {
				t.Fatalf("seats left %d, want 1", s.SeatsLeft)
			}
		}
		var wg sync.WaitGroup
		codes := make(chan int, n)
		for i := 0; i < n; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				var out map[string]any
				codes <- e.do(e.key, "POST", "/api/v1/appointments", body(i), &out)
			}()
		}
		wg.Wait()
		close(codes)
		got := map[int]int{}
		for c := range codes {
			got[c]++
		}
		if got[201] != 1 || got[409] != n-1 {
			t.Fatalf("50 requests for the last seat: %v, want one 201 and 49 409", got)
		}
		for _, s := range e.slots(f, "2026-03-09", "2026-03-09", "Europe/Paris") {
			if s.Start.Format("15:04") == "10:00" {
				t.Fatalf("full session still offered: %+v", s)
			}
		}
	})
}

func TestRecurringSeries(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Therapy", DurationMin: 60, IntervalMin: 60})
		// The third Monday is taken already.
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-30T10:00:00+02:00"}, nil)
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-16T10:00:00+01:00", "repeat": map[string]any{"every_weeks": 1, "count": 4}}, &res)
		if len(res.Appointments) != 3 || len(res.Skipped) != 1 || res.SeriesID == "" {
			t.Fatalf("series: %d booked, %d skipped: %+v", len(res.Appointments), len(res.Skipped), res)
		}
		if !res.Skipped[0].Start.Equal(time.Date(2026, 3, 30, 8, 0, 0, 0, time.UTC)) || res.Skipped[0].Conflicts[0].Kind != "overlap" {
			t.Fatalf("skipped: %+v", res.Skipped)
		}
		// 10:00 local on both sides of the 29 March DST change.
		for _, a := range res.Appointments {
			if l := a.Start.In(paris(t)); l.Hour() != 10 || l.Minute() != 0 {
				t.Errorf("occurrence %d at %s local", a.SeriesIndex, l)
			}
		}
		// Move this and the following occurrences (2nd, 4th) one hour later.
		second := res.Appointments[1]
		var mv core.MoveResult
		e.must(200, "POST", "/api/v1/appointments/"+second.ID+"/move", map[string]any{"start": "2026-03-23T11:00:00+01:00", "scope": "following"}, &mv)
		if len(mv.Appointments) != 2 {
			t.Fatalf("move following: %+v", mv)
		}
		for _, a := range mv.Appointments {
			if l := a.Start.In(paris(t)); l.Hour() != 11 {
				t.Errorf("moved occurrence %d at %s", a.SeriesIndex, l)
			}
		}
		// Cancel all: every remaining occurrence is cancelled.
		var st struct {
			Appointments []core.Appointment `json:"appointments"`
		}
		e.must(200, "POST", "/api/v1/appointments/"+second.ID+"/status", map[string]any{"status": "cancelled", "scope": "all"}, &st)
		if len(st.Appointments) != 3 {
			t.Fatalf("cancel all: %d", len(st.Appointments))
		}
		var list struct {
			Items []core.Appointment `json:"items"`
		}
		e.must(200, "GET", "/api/v1/appointments?series_id="+res.SeriesID, nil, &list)
		for _, a := range list.Items {
			if a.Status != core.Cancelled {
				t.Errorf("occurrence %d is %s", a.SeriesIndex, a.Status)
			}
		}
	})
}

func paris(t *testing.T) *time.Location {
	l, err := time.LoadLocation("Europe/Paris")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWaitingListPaymentsBulk(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		price := int64(5000)
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Visit", DurationMin: 60, IntervalMin: 60, PriceMinor: &price, Currency: "EUR"})
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-09T10:00:00+01:00"}, &res)
		a := res.Appointments[0]
		if a.PriceMinor != 5000 || a.BalanceMinor != 5000 {
			t.Fatalf("price %d balance %d", a.PriceMinor, a.BalanceMinor)
		}
		// Partial payments add up to the balance.
		var pr struct {
			Appointment core.Appointment `json:"appointment"`
		}
		e.must(201, "POST", "/api/v1/appointments/"+a.ID+"/payments", map[string]any{"amount_minor": 2000, "method": "cash"}, &pr)
		if pr.Appointment.PaidMinor != 2000 || pr.Appointment.BalanceMinor != 3000 {
			t.Fatalf("after 2000: %+v", pr.Appointment)
		}
		e.must(201, "POST", "/api/v1/appointments/"+a.ID+"/payments", map[string]any{"amount_minor": 3000, "method": "card"}, &pr)
		if pr.Appointment.BalanceMinor != 0 {
			t.Fatalf("after 3000: %+v", pr.Appointment)
		}
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/appointments/"+a.ID+"/payments", map[string]any{"amount_minor": -6000, "method": "cash"}, &p); code != 400 {
			t.Fatalf("over-refund: %d", code)
		}

		// A waiting client is matched when the slot frees up.
		var w core.WaitingEntry
		e.must(201, "POST", "/api/v1/waiting-list", map[string]any{"client_id": f.client, "specialist_id": f.specialist,
			"from": "2026-03-09T08:00:00Z", "to": "2026-03-09T12:00:00Z", "urgent": true}, &w)
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/status", map[string]any{"status": "cancelled", "by_client": true, "reason": "ill"}, nil)
		var wl struct {
			Items []core.WaitingEntry `json:"items"`
		}
		e.must(200, "GET", "/api/v1/waiting-list?status=matched", nil, &wl)
		if len(wl.Items) != 1 || wl.Items[0].ID != w.ID {
			t.Fatalf("waiting list after cancel: %+v", wl.Items)
		}
		var ev struct {
			Items []core.Event `json:"items"`
		}
		e.must(200, "GET", "/api/v1/domain-events?limit=200", nil, &ev)
		kinds := map[core.EventKind]int{}
		for _, x := range ev.Items {
			kinds[x.Kind]++
		}
		if kinds[core.EventBooked] != 1 || kinds[core.EventCancelled] != 1 || kinds[core.EventWaitlistMatch] != 1 || kinds[core.EventPaymentAdded] != 2 {
			t.Fatalf("events: %v", kinds)
		}

		// Bulk: two pending requests accepted together; a mixed selection changes nothing.
		var ids []string
		for _, h := range []string{"09:00", "11:00"} {
			e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
				"client_id": f.client, "start": "2026-03-12T" + h + ":00+01:00", "requested_by": "client"}, &res)
			ids = append(ids, res.Appointments[0].ID)
		}
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-12T10:00:00+01:00"}, &res)
		mixed := append([]string{res.Appointments[0].ID}, ids...)
		if code := e.do(e.key, "POST", "/api/v1/appointments/bulk-status", map[string]any{"ids": mixed, "from_status": "pending", "status": "accepted"}, &p); code != 409 {
			t.Fatalf("mixed bulk: %d %+v", code, p)
		}
		var one core.Appointment
		e.must(200, "GET", "/api/v1/appointments/"+ids[0], nil, &one)
		if one.Status != core.Pending {
			t.Fatalf("failed bulk changed %s to %s", ids[0], one.Status)
		}
		var bulk struct {
			Appointments []core.Appointment `json:"appointments"`
		}
		e.must(200, "POST", "/api/v1/appointments/bulk-status", map[string]any{"ids": ids, "from_status": "pending", "status": "accepted"}, &bulk)
		if len(bulk.Appointments) != 2 || bulk.Appointments[0].Status != core.Accepted {
			t.Fatalf("bulk: %+v", bulk)
		}
	})
}

func TestBookingTenancy(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Visit", DurationMin: 60})
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-09T10:00:00+01:00"}, &res)
		other, _ := e.bootstrap("Other", "UTC")
		var p problem
		for _, path := range []string{"/api/v1/appointments/" + res.Appointments[0].ID, "/api/v1/services/" + f.service,
			"/api/v1/staff/" + f.specialist + "/schedule"} {
			if code := e.do(other, "GET", path, nil, &p); code != http.StatusNotFound {
				t.Errorf("other org GET %s = %d", path, code)
			}
		}
		// Another organization cannot book with this one's specialist and client.
		if code := e.do(other, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-09T11:00:00+01:00"}, &p); code != 400 {
			t.Errorf("cross-org booking = %d", code)
		}
		var l struct {
			Items []core.Appointment `json:"items"`
		}
		if code := e.do(other, "GET", "/api/v1/appointments", nil, &l); code != 200 || len(l.Items) != 0 {
			t.Errorf("other org lists %d appointments", len(l.Items))
		}
	})
}
