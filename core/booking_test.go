package core

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"
)

// The booking rules run here against bookingFake and a fixed clock: Monday
// 10 March 2025, 10:00 in Paris. Specialists work Monday to Friday, 09:00
// to 18:00 Paris time; clocks go forward on 30 March.
var (
	bookNow = time.Date(2025, 3, 10, 9, 0, 0, 0, time.UTC)
	paris   = func() *time.Location {
		l, err := time.LoadLocation("Europe/Paris")
		if err != nil {
			panic(err)
		}
		return l
	}()
)

// at is a Paris wall-clock time of 2025, as the UTC instant the store keeps.
func at(month time.Month, day, hour, min int) time.Time {
	return time.Date(2025, month, day, hour, min, 0, 0, paris).UTC()
}

type bookingWorld struct {
	svc   *BookingService
	store *bookingFake
	sink  *recordingSink
	org   string

	centerA, centerB          string
	s1, s2, s3                string // specialists: s1 and s2 work in centre A, s3 in centre B
	clientA, clientB, clientN string // clients of centre A, of centre B, of no centre
	consult                   string // 60 minutes, one person, 50.00 EUR
	group                     string // 60 minutes, three people
	ownS2                     string // s2's own service
	inactive                  string
	room                      string // centre A's room, hosting consult and group

	principals map[string]Principal // director, adminA, specS1, specS2, marketer
}

func newBookingWorld(t *testing.T) *bookingWorld {
	t.Helper()
	org := Organization{ID: NewID(), Name: "Clinic", Timezone: "Europe/Paris", Locale: "fr", Currency: "EUR", CancelNoticeHours: 24}
	f := newBookingFake(org)
	w := &bookingWorld{store: f, sink: &recordingSink{}, org: org.ID,
		centerA: NewID(), centerB: NewID(), s1: NewID(), s2: NewID(), s3: NewID(),
		clientA: NewID(), clientB: NewID(), clientN: NewID(),
		consult: NewID(), group: NewID(), ownS2: NewID(), inactive: NewID(), room: NewID()}
	w.svc = &BookingService{base: base{clock: fixedClock{bookNow}, events: w.sink}, store: f}
	f.centers[w.centerA] = Center{ID: w.centerA, OrgID: org.ID, Name: "A", Timezone: "Europe/Paris"}
	f.centers[w.centerB] = Center{ID: w.centerB, OrgID: org.ID, Name: "B", Timezone: "Europe/Paris"}
	director, adminA, marketer := NewID(), NewID(), NewID()
	for _, st := range []struct {
		id, center string
		role       Role
	}{{w.s1, w.centerA, RoleSpecialist}, {w.s2, w.centerA, RoleSpecialist}, {w.s3, w.centerB, RoleSpecialist},
		{adminA, w.centerA, RoleAdministrator}, {marketer, w.centerA, RoleMarketer}, {director, "", RoleDirector}} {
		f.staff[st.id] = Staff{ID: st.id, OrgID: org.ID, Role: st.role, Timezone: "Europe/Paris", Active: true}
		if st.center != "" {
			f.staff[st.id] = Staff{ID: st.id, OrgID: org.ID, Role: st.role, Timezone: "Europe/Paris", CenterIDs: []string{st.center}, Active: true}
		}
	}
	weekly := WeeklyJSON{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		weekly[d] = []PeriodJSON{{Start: "09:00", End: "18:00"}}
	}
	for _, s := range []string{w.s1, w.s2, w.s3} {
		f.schedules[s] = Schedule{OwnerID: s, OwnerKind: OwnerStaff, OrgID: org.ID, Timezone: "Europe/Paris", Weekly: weekly}
	}
	f.clients[w.clientA] = Client{ID: w.clientA, OrgID: org.ID, FirstName: "Anna", CenterIDs: []string{w.centerA}}
	f.clients[w.clientB] = Client{ID: w.clientB, OrgID: org.ID, FirstName: "Boris", CenterIDs: []string{w.centerB}}
	f.clients[w.clientN] = Client{ID: w.clientN, OrgID: org.ID, FirstName: "Nina"}
	price := int64(5000)
	f.services[w.consult] = Offering{ID: w.consult, OrgID: org.ID, Name: "Consultation", DurationMin: 60, IntervalMin: 60, Capacity: 1,
		PriceMinor: &price, Currency: "EUR", Active: true}
	f.services[w.group] = Offering{ID: w.group, OrgID: org.ID, Name: "Group", DurationMin: 60, IntervalMin: 60, Capacity: 3, Currency: "EUR", Active: true}
	f.services[w.ownS2] = Offering{ID: w.ownS2, OrgID: org.ID, OwnerID: w.s2, Name: "S2's method", DurationMin: 60, Capacity: 1, Currency: "EUR", Active: true}
	f.services[w.inactive] = Offering{ID: w.inactive, OrgID: org.ID, Name: "Old", DurationMin: 60, Capacity: 1, Currency: "EUR"}
	f.rooms[w.room] = Room{ID: w.room, OrgID: org.ID, CenterID: w.centerA, Name: "Room 1", ServiceIDs: []string{w.consult, w.group}}
	w.principals = map[string]Principal{
		"director": {OrgID: org.ID, StaffID: director, Role: RoleDirector},
		"adminA":   {OrgID: org.ID, StaffID: adminA, Role: RoleAdministrator, CenterIDs: []string{w.centerA}},
		"specS1":   {OrgID: org.ID, StaffID: w.s1, Role: RoleSpecialist, CenterIDs: []string{w.centerA}},
		"specS2":   {OrgID: org.ID, StaffID: w.s2, Role: RoleSpecialist, CenterIDs: []string{w.centerA}},
		"marketer": {OrgID: org.ID, StaffID: marketer, Role: RoleMarketer, CenterIDs: []string{w.centerA}},
	}
	return w
}

func (w *bookingWorld) as(name string) Principal {
	p, ok := w.principals[name]
	if !ok {
		panic("no principal " + name)
	}
	return p
}

// seed stores an appointment as if booked earlier: s1's accepted
// consultation with clientA in centre A unless a says otherwise.
func (w *bookingWorld) seed(a Appointment) Appointment {
	if a.ID == "" {
		a.ID = NewID()
	}
	a.OrgID = w.org
	if a.SpecialistID == "" {
		a.SpecialistID = w.s1
	}
	if a.ServiceID == "" {
		a.ServiceID = w.consult
	}
	if a.ClientID == "" {
		a.ClientID = w.clientA
	}
	if a.CenterID == "" {
		a.CenterID = w.centerA
	}
	if a.End.IsZero() {
		a.End = a.Start.Add(time.Hour)
	}
	if a.Seats == 0 {
		a.Seats = 1
	}
	if a.Status == "" {
		a.Status = Accepted
	}
	if a.RequestedBy == "" {
		a.RequestedBy = "staff"
	}
	if a.PriceMinor == 0 && a.ServiceID == w.consult {
		a.PriceMinor = 5000
	}
	a.Currency = "EUR"
	a.BalanceMinor = a.PriceMinor - a.PaidMinor
	a.CreatedAt, a.UpdatedAt = bookNow.Add(-48*time.Hour), bookNow.Add(-48*time.Hour)
	w.store.state.appts[a.ID] = a
	return a
}

// seedSeries stores a weekly series of s1 at the given starts, numbered from 1.
func (w *bookingWorld) seedSeries(starts ...time.Time) []Appointment {
	id := NewID()
	var out []Appointment
	for i, st := range starts {
		out = append(out, w.seed(Appointment{Start: st, SeriesID: id, SeriesIndex: i + 1}))
	}
	return out
}

func (w *bookingWorld) appt(id string) Appointment { return w.store.state.appts[id] }

// wantErr fails unless err is an *Error of the code (code "" wants no error).
func wantErr(t *testing.T, err error, code Code) *Error {
	t.Helper()
	if code == "" {
		if err != nil {
			t.Fatalf("err = %v, want none", err)
		}
		return nil
	}
	e, ok := AsError(err)
	if !ok || e.Code != code {
		t.Fatalf("err = %v, want %s", err, code)
	}
	return e
}

// changedData is an appointment event's payload.
func changedData(t *testing.T, e Event) *AppointmentChanged {
	t.Helper()
	d, ok := e.Data.(*AppointmentChanged)
	if !ok {
		t.Fatalf("%s carries %T", e.Kind, e.Data)
	}
	return d
}

func fieldList(e *Error) []string {
	var out []string
	for _, f := range e.Fields {
		out = append(out, f.Field+": "+f.Message)
	}
	return out
}

func conflictKinds(e *Error) []string {
	var out []string
	for _, c := range e.Conflicts {
		out = append(out, c.Kind)
	}
	return out
}

// refused checks a refusal's field errors ("field: message") and conflict
// kinds, and that it changed and published nothing.
func (w *bookingWorld) refused(t *testing.T, e *Error, fields, conflicts []string, before bookingState) {
	t.Helper()
	if got := fieldList(e); !slices.Equal(got, fields) {
		t.Errorf("fields = %q, want %q", got, fields)
	}
	if got := conflictKinds(e); !slices.Equal(got, conflicts) {
		t.Errorf("conflicts = %v, want %v", got, conflicts)
	}
	w.store.unchanged(t, before, w.sink)
}

// wantEvents checks that exactly these kinds were written after the state
// snapshot before and published, in the same order.
func (w *bookingWorld) wantEvents(t *testing.T, before bookingState, want ...EventKind) {
	t.Helper()
	written := kinds(w.store.state.events[len(before.events):])
	if !slices.Equal(written, want) {
		t.Errorf("events written = %v, want %v", written, want)
	}
	if got := kinds(w.sink.events); !slices.Equal(got, want) {
		t.Errorf("events published = %v, want %v", got, want)
	}
}

// TestTransitionTable pins the allowed status changes: the table the API
// documents and the seeds describe.
func TestTransitionTable(t *testing.T) {
	all := []Status{Pending, Accepted, Rejected, Cancelled, Completed, Missed}
	allowed := map[[2]Status]bool{
		{Pending, Accepted}: true, {Pending, Rejected}: true, {Pending, Cancelled}: true,
		{Accepted, Cancelled}: true, {Accepted, Completed}: true, {Accepted, Missed}: true,
		{Completed, Missed}: true, {Missed, Completed}: true, {Completed, Accepted}: true, {Missed, Accepted}: true,
	}
	for _, from := range all {
		for _, to := range all {
			if got := CanMove(from, to); got != allowed[[2]Status{from, to}] {
				t.Errorf("CanMove(%s, %s) = %v", from, to, got)
			}
		}
	}
	holds := map[Status]bool{Pending: true, Accepted: true, Completed: true, Missed: true}
	for _, s := range all {
		if s.Holds() != holds[s] || !s.Valid() {
			t.Errorf("%s: Holds = %v, Valid = %v", s, s.Holds(), s.Valid())
		}
	}
	if Status("done").Valid() {
		t.Error("an unknown status is valid")
	}
}

func TestCreateAppointment(t *testing.T) {
	wed10 := at(time.March, 12, 10, 0)
	cases := []struct {
		name      string
		as        string
		seed      func(w *bookingWorld)
		in        func(w *bookingWorld, in *AppointmentInput)
		code      Code
		fields    []string
		conflicts []string
		detail    string // the last conflict's detail, when it matters
		status    Status
		event     EventKind
		reminders int
	}{
		{name: "staff booking inside the schedule is accepted", as: "director",
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "administrator of the centre", as: "adminA",
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "specialist books their own visit", as: "specS1",
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "client request starts pending", as: "director",
			in:     func(w *bookingWorld, in *AppointmentInput) { in.RequestedBy = "client" },
			status: Pending, event: EventRequested},
		{name: "outside working hours", as: "director",
			in:        func(w *bookingWorld, in *AppointmentInput) { in.Start = at(time.March, 12, 17, 30) },
			code:      CodeConflict,
			conflicts: []string{"outside_schedule"}},
		{name: "on a day off", as: "director",
			in:        func(w *bookingWorld, in *AppointmentInput) { in.Start = at(time.March, 15, 10, 0) },
			code:      CodeConflict,
			conflicts: []string{"outside_schedule"}},
		{name: "in the past", as: "director",
			in:        func(w *bookingWorld, in *AppointmentInput) { in.Start = at(time.March, 10, 9, 0) },
			code:      CodeConflict,
			conflicts: []string{"in_past"}},
		{name: "overlapping the specialist's visit", as: "director",
			seed:      func(w *bookingWorld) { w.seed(Appointment{Start: at(time.March, 12, 10, 30), ClientID: w.clientN}) },
			code:      CodeConflict,
			conflicts: []string{"overlap"}},
		{name: "a cancelled visit holds no time", as: "director",
			seed:   func(w *bookingWorld) { w.seed(Appointment{Start: wed10, Status: Cancelled}) },
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "another specialist's visit at the same time", as: "director",
			seed:   func(w *bookingWorld) { w.seed(Appointment{Start: wed10, SpecialistID: w.s2}) },
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "group session with seats left", as: "director",
			seed: func(w *bookingWorld) { w.seed(Appointment{Start: wed10, ServiceID: w.group, Seats: 2}) },
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.ServiceID, in.ClientID = w.group, w.clientN
			},
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "group session over capacity", as: "director",
			seed: func(w *bookingWorld) { w.seed(Appointment{Start: wed10, ServiceID: w.group, Seats: 2}) },
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.ServiceID, in.ClientID, in.Seats = w.group, w.clientN, 2
			},
			code:      CodeConflict,
			conflicts: []string{"over_capacity"}},
		{name: "two seats of a one-person service", as: "director",
			in:        func(w *bookingWorld, in *AppointmentInput) { in.Seats = 2 },
			code:      CodeConflict,
			conflicts: []string{"over_capacity"}},
		{name: "group session over another service's visit", as: "director",
			seed:      func(w *bookingWorld) { w.seed(Appointment{Start: at(time.March, 12, 10, 30)}) },
			in:        func(w *bookingWorld, in *AppointmentInput) { in.ServiceID = w.group },
			code:      CodeConflict,
			conflicts: []string{"overlap"}, detail: "overlaps another appointment of the specialist"},
		{name: "the room is taken by another specialist", as: "director",
			seed: func(w *bookingWorld) { w.seed(Appointment{Start: wed10, SpecialistID: w.s2, RoomID: w.room}) },
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.RoomID, in.CenterID = w.room, ""
			},
			code:      CodeConflict,
			conflicts: []string{"overlap"}, detail: "the room is taken"},
		{name: "another specialist's group session in the room", as: "director",
			seed: func(w *bookingWorld) {
				w.seed(Appointment{Start: wed10, SpecialistID: w.s2, ServiceID: w.group, RoomID: w.room, ClientID: w.clientN})
			},
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.ServiceID, in.RoomID = w.group, w.room
			},
			code:      CodeConflict,
			conflicts: []string{"overlap"}, detail: "the room is taken"},
		{name: "a seat of the specialist's own group session in the room", as: "director",
			seed: func(w *bookingWorld) {
				w.seed(Appointment{Start: wed10, ServiceID: w.group, RoomID: w.room, ClientID: w.clientN})
			},
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.ServiceID, in.RoomID = w.group, w.room
			},
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "staff override books despite conflicts", as: "director",
			seed:   func(w *bookingWorld) { w.seed(Appointment{Start: wed10, ClientID: w.clientN}) },
			in:     func(w *bookingWorld, in *AppointmentInput) { in.Override = true },
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "a client request never overrides", as: "director",
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.RequestedBy, in.Override = "client", true
			},
			code:   CodeInvalid,
			fields: []string{"override: a client request cannot override conflicts"}},
		{name: "a conflicting client request is refused", as: "director",
			seed:      func(w *bookingWorld) { w.seed(Appointment{Start: wed10, ClientID: w.clientN}) },
			in:        func(w *bookingWorld, in *AppointmentInput) { in.RequestedBy = "client" },
			code:      CodeConflict,
			conflicts: []string{"overlap"}},
		{name: "a specialist books for another specialist", as: "specS1",
			in:   func(w *bookingWorld, in *AppointmentInput) { in.SpecialistID = w.s2 },
			code: CodeForbidden},
		{name: "marketers do not book", as: "marketer",
			code: CodeForbidden},
		{name: "another specialist's own service", as: "director",
			in:     func(w *bookingWorld, in *AppointmentInput) { in.ServiceID = w.ownS2 },
			code:   CodeInvalid,
			fields: []string{"service_id: is another specialist's own service"}},
		{name: "another specialist's own service, client request", as: "director",
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.ServiceID, in.RequestedBy = w.ownS2, "client"
			},
			code:   CodeInvalid,
			fields: []string{"service_id: is another specialist's own service"}},
		{name: "an own service with its owner", as: "director",
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.ServiceID, in.SpecialistID = w.ownS2, w.s2
			},
			status: Accepted, event: EventBooked, reminders: 1},
		{name: "an inactive service", as: "director",
			in:     func(w *bookingWorld, in *AppointmentInput) { in.ServiceID = w.inactive },
			code:   CodeInvalid,
			fields: []string{"service_id: service is not active"}},
		{name: "administrator of centre A, client of centre B", as: "adminA",
			in:     func(w *bookingWorld, in *AppointmentInput) { in.ClientID = w.clientB },
			code:   CodeInvalid,
			fields: []string{"client_id: no such client"}},
		{name: "administrator of centre A, made-up client", as: "adminA",
			in:     func(w *bookingWorld, in *AppointmentInput) { in.ClientID = NewID() },
			code:   CodeInvalid,
			fields: []string{"client_id: no such client"}},
		{name: "administrator of centre A, specialist of centre B", as: "adminA",
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.SpecialistID, in.CenterID = w.s3, ""
			},
			code:   CodeInvalid,
			fields: []string{"specialist_id: no such staff member"}},
		{name: "administrator of centre A, centre B", as: "adminA",
			in:     func(w *bookingWorld, in *AppointmentInput) { in.CenterID = w.centerB },
			code:   CodeInvalid,
			fields: []string{"center_id: no such center"}},
		{name: "bad input is listed at once", as: "director",
			in: func(w *bookingWorld, in *AppointmentInput) {
				in.RequestedBy, in.Start, in.Seats, in.Repeat = "robot", time.Time{}, -1, &Repeat{EveryWeeks: 0, Count: 200}
			},
			code: CodeInvalid,
			fields: []string{"requested_by: must be staff or client", "start: is required", "seats: must be at least 1",
				"repeat.every_weeks: must be from 1 to 52", "repeat.count: must be from 1 to 104"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			if tc.seed != nil {
				tc.seed(w)
			}
			in := AppointmentInput{SpecialistID: w.s1, ServiceID: w.consult, ClientID: w.clientA, CenterID: w.centerA, Start: wed10}
			if tc.in != nil {
				tc.in(w, &in)
			}
			before := w.store.state.clone()
			res, err := w.svc.CreateAppointment(context.Background(), w.as(tc.as), in)
			if e := wantErr(t, err, tc.code); e != nil {
				w.refused(t, e, tc.fields, tc.conflicts, before)
				if tc.detail != "" && e.Conflicts[len(e.Conflicts)-1].Detail != tc.detail {
					t.Errorf("conflict detail = %q, want %q", e.Conflicts[len(e.Conflicts)-1].Detail, tc.detail)
				}
				return
			}
			if len(res.Appointments) != 1 || len(res.Skipped) != 0 || res.SeriesID != "" {
				t.Fatalf("result = %+v", res)
			}
			a := res.Appointments[0]
			if a.Status != tc.status || !a.Start.Equal(in.Start) || !a.End.Equal(in.Start.Add(time.Hour)) || a.SpecialistID != in.SpecialistID {
				t.Errorf("appointment = %s %v–%v with %s, want %s at %v", a.Status, a.Start, a.End, a.SpecialistID, tc.status, in.Start)
			}
			if stored := w.appt(a.ID); !reflect.DeepEqual(stored, a) {
				t.Errorf("stored %+v\nreturned %+v", stored, a)
			}
			w.wantEvents(t, before, tc.event)
			d := changedData(t, w.store.state.events[len(before.events)])
			if d.EventRefs != (EventRefs{AppointmentID: a.ID, ClientID: in.ClientID, SpecialistID: in.SpecialistID}) ||
				!d.Start.Equal(a.Start) || d.Status != tc.status || d.ByStaffID != w.as(tc.as).StaffID || d.ByClient || d.Via != "" {
				t.Errorf("event data = %+v", d)
			}
			if got := len(w.store.state.reminders[a.ID]); got != tc.reminders {
				t.Errorf("%d reminders, want %d", got, tc.reminders)
			}
			if lock := w.store.locks[len(w.store.locks)-1]; lock[0] != in.SpecialistID || (in.RoomID != "") != slices.Contains(lock, w.room) {
				t.Errorf("locked %v", lock)
			}
		})
	}
}

// Booking fills in the price, currency, balance and the reminder the
// organization's default policy asks for.
func TestCreateAppointmentDefaults(t *testing.T) {
	w := newBookingWorld(t)
	res, err := w.svc.CreateAppointment(context.Background(), w.as("director"), AppointmentInput{SpecialistID: w.s1, ServiceID: w.consult,
		ClientID: w.clientA, RoomID: w.room, Start: at(time.March, 12, 10, 0).Add(20 * time.Second)})
	wantErr(t, err, "")
	a := res.Appointments[0]
	want := Appointment{ID: a.ID, OrgID: w.org, CenterID: w.centerA, SpecialistID: w.s1, ServiceID: w.consult, RoomID: w.room,
		ClientID: w.clientA, Start: at(time.March, 12, 10, 0), End: at(time.March, 12, 11, 0), Seats: 1, Status: Accepted,
		RequestedBy: "staff", Location: Location{Kind: "room", Details: "Room 1"}, PriceMinor: 5000, Currency: "EUR",
		BalanceMinor: 5000, CreatedAt: bookNow, UpdatedAt: bookNow}
	if !reflect.DeepEqual(a, want) {
		t.Fatalf("appointment\n got %+v\nwant %+v", a, want)
	}
	rs := w.store.state.reminders[a.ID]
	if len(rs) != 1 || rs[0].OffsetMin != 1440 || !rs[0].Due.Equal(at(time.March, 11, 10, 0)) || !rs[0].AskConfirm || rs[0].Status != "scheduled" {
		t.Fatalf("reminders = %+v", rs)
	}
}

// An administrator who may not see a client gets the answer a made-up id
// gets, so the key never learns that the client exists.
func TestCreateAppointmentHiddenClientLooksMadeUp(t *testing.T) {
	w := newBookingWorld(t)
	book := func(clientID string) error {
		_, err := w.svc.CreateAppointment(context.Background(), w.as("adminA"), AppointmentInput{SpecialistID: w.s1,
			ServiceID: w.consult, ClientID: clientID, Start: at(time.March, 12, 10, 0)})
		return err
	}
	hidden, madeUp := book(w.clientB), book(NewID())
	if hidden == nil || !reflect.DeepEqual(hidden, madeUp) {
		t.Fatalf("centre-B client: %v\nmade-up client: %v", hidden, madeUp)
	}
	if len(w.store.state.appts) != 0 {
		t.Fatal("a refused booking was stored")
	}
}

// Every reason a time is wrong is reported together, each with the
// periods it collides with.
func TestCreateAppointmentListsAllConflicts(t *testing.T) {
	w := newBookingWorld(t)
	// Monday 07:00 Paris: before working hours, before now, during an
	// out-of-office block and over a visit booked there by override.
	start := at(time.March, 10, 7, 0)
	ooo := Exception{ID: NewID(), OrgID: w.org, OwnerID: w.s1, Kind: OutOfOffice, StartAt: ptime(at(time.March, 10, 6, 30)), EndAt: ptime(at(time.March, 10, 7, 30))}
	w.store.exceptions[w.s1] = []Exception{ooo}
	other := w.seed(Appointment{Start: at(time.March, 10, 7, 30), ClientID: w.clientN})
	before := w.store.state.clone()
	_, err := w.svc.CreateAppointment(context.Background(), w.as("director"), AppointmentInput{SpecialistID: w.s1, ServiceID: w.consult,
		ClientID: w.clientA, Start: start})
	e := wantErr(t, err, CodeConflict)
	if got := conflictKinds(e); !slices.Equal(got, []string{"outside_schedule", "out_of_office", "in_past", "overlap"}) {
		t.Fatalf("conflicts = %v", got)
	}
	period := func(a, b time.Time) []Period {
		return []Period{{Start: a.Format(time.RFC3339), End: b.Format(time.RFC3339)}}
	}
	if got := e.Conflicts[1].With; !reflect.DeepEqual(got, period(*ooo.StartAt, *ooo.EndAt)) {
		t.Errorf("out of office with %v", got)
	}
	if got := e.Conflicts[3].With; !reflect.DeepEqual(got, period(other.Start, other.End)) {
		t.Errorf("overlap with %v", got)
	}
	w.store.unchanged(t, before, w.sink)
}

func TestCreateSeries(t *testing.T) {
	tue := at(time.March, 11, 10, 0)
	cases := []struct {
		name     string
		repeat   Repeat
		holiday  string
		start    time.Time
		starts   []time.Time // booked, in Paris wall-clock
		indexes  []int
		skipped  []time.Time
		conflict bool
	}{
		{name: "weekly, across the change to summer time", repeat: Repeat{EveryWeeks: 1, Count: 4}, start: tue,
			starts:  []time.Time{tue, at(time.March, 18, 10, 0), at(time.March, 25, 10, 0), at(time.April, 1, 10, 0)},
			indexes: []int{1, 2, 3, 4}},
		{name: "a holiday is skipped and reported", repeat: Repeat{EveryWeeks: 1, Count: 4}, holiday: "2025-03-18", start: tue,
			starts:  []time.Time{tue, at(time.March, 25, 10, 0), at(time.April, 1, 10, 0)},
			indexes: []int{1, 3, 4},
			skipped: []time.Time{at(time.March, 18, 10, 0)}},
		{name: "every two weeks", repeat: Repeat{EveryWeeks: 2, Count: 3}, start: tue,
			starts:  []time.Time{tue, at(time.March, 25, 10, 0), at(time.April, 8, 10, 0)},
			indexes: []int{1, 2, 3}},
		{name: "every occurrence on a day off", repeat: Repeat{EveryWeeks: 1, Count: 3}, start: at(time.March, 15, 10, 0),
			conflict: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			if tc.holiday != "" {
				w.store.exceptions[w.s1] = []Exception{{ID: NewID(), OrgID: w.org, OwnerID: w.s1, Kind: Holiday, FromDate: tc.holiday}}
			}
			before := w.store.state.clone()
			res, err := w.svc.CreateAppointment(context.Background(), w.as("director"), AppointmentInput{SpecialistID: w.s1,
				ServiceID: w.consult, ClientID: w.clientA, Start: tc.start, Repeat: &tc.repeat})
			if tc.conflict {
				e := wantErr(t, err, CodeConflict)
				if got := conflictKinds(e); !slices.Equal(got, []string{"outside_schedule"}) {
					t.Errorf("conflicts = %v", got)
				}
				w.store.unchanged(t, before, w.sink)
				return
			}
			wantErr(t, err, "")
			if !ValidID(res.SeriesID) || len(res.Appointments) != len(tc.starts) {
				t.Fatalf("series %q of %d", res.SeriesID, len(res.Appointments))
			}
			var booked []EventKind
			for i, a := range res.Appointments {
				if !a.Start.Equal(tc.starts[i]) || a.SeriesID != res.SeriesID || a.SeriesIndex != tc.indexes[i] || a.Status != Accepted {
					t.Errorf("occurrence %d: %v #%d %s, want %v #%d", i, a.Start.In(paris), a.SeriesIndex, a.Status, tc.starts[i].In(paris), tc.indexes[i])
				}
				booked = append(booked, EventBooked)
			}
			if len(res.Skipped) != len(tc.skipped) {
				t.Fatalf("skipped = %+v", res.Skipped)
			}
			for i, s := range res.Skipped {
				if !s.Start.Equal(tc.skipped[i]) || len(s.Conflicts) != 1 || s.Conflicts[0].Kind != "outside_schedule" {
					t.Errorf("skipped %+v", s)
				}
			}
			if len(booked) > 1 {
				// Several visits: their news is one series event.
				booked = append(booked, EventSeriesBooked)
			}
			w.wantEvents(t, before, booked...)
		})
	}
}

func TestMoveAppointment(t *testing.T) {
	wed10, wed14 := at(time.March, 12, 10, 0), at(time.March, 12, 14, 0)
	cases := []struct {
		name      string
		as        string
		target    func(w *bookingWorld, a *Appointment)
		to        time.Time
		override  bool
		scope     Scope
		code      Code
		fields    []string
		conflicts []string
	}{
		{name: "to a free time", as: "director", to: at(time.March, 13, 11, 0)},
		{name: "half an hour later, over its own old time", as: "director", to: at(time.March, 12, 10, 30)},
		{name: "a pending request moves too", as: "director", to: at(time.March, 13, 11, 0),
			target: func(w *bookingWorld, a *Appointment) { a.Status, a.RequestedBy = Pending, "client" }},
		{name: "the specialist moves their own visit", as: "specS1", to: at(time.March, 13, 11, 0)},
		{name: "to a conflicting time", as: "director", to: at(time.March, 12, 14, 30),
			code: CodeConflict, conflicts: []string{"overlap"}},
		{name: "outside working hours", as: "director", to: at(time.March, 12, 18, 0),
			code: CodeConflict, conflicts: []string{"outside_schedule"}},
		{name: "into the past", as: "director", to: at(time.March, 10, 9, 0),
			code: CodeConflict, conflicts: []string{"in_past"}},
		{name: "override moves despite conflicts", as: "director", to: at(time.March, 12, 14, 30), override: true},
		{name: "a cancelled visit cannot move", as: "director", to: at(time.March, 13, 11, 0),
			target: func(w *bookingWorld, a *Appointment) { a.Status = Cancelled },
			code:   CodeConflict, conflicts: []string{"transition"}},
		{name: "a completed visit cannot move", as: "director", to: at(time.March, 13, 11, 0),
			target: func(w *bookingWorld, a *Appointment) { a.Status = Completed },
			code:   CodeConflict, conflicts: []string{"transition"}},
		{name: "a specialist moving a colleague's visit", as: "specS2", to: at(time.March, 13, 11, 0),
			code: CodeNotFound},
		{name: "an administrator of centre A moving a centre-B visit", as: "adminA", to: at(time.March, 13, 11, 0),
			target: func(w *bookingWorld, a *Appointment) {
				a.CenterID, a.SpecialistID, a.ClientID = w.centerB, w.s3, w.clientB
			},
			code: CodeNotFound},
		{name: "marketers see but do not move", as: "marketer", to: at(time.March, 13, 11, 0),
			code: CodeForbidden},
		{name: "bad scope and no time", as: "director", scope: "next",
			code: CodeInvalid, fields: []string{"start: is required", "scope: must be this, following or all"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			a := Appointment{Start: wed10, ConfirmedAt: ptime(bookNow.Add(-time.Hour))}
			if tc.target != nil {
				tc.target(w, &a)
			}
			a = w.seed(a)
			w.seed(Appointment{Start: wed14, ClientID: w.clientN})
			before := w.store.state.clone()
			res, err := w.svc.MoveAppointment(context.Background(), w.as(tc.as), a.ID, MoveInput{Start: tc.to, Override: tc.override, Scope: tc.scope})
			if e := wantErr(t, err, tc.code); e != nil {
				w.refused(t, e, tc.fields, tc.conflicts, before)
				return
			}
			if len(res.Appointments) != 1 || len(res.Skipped) != 0 {
				t.Fatalf("result = %+v", res)
			}
			m := res.Appointments[0]
			if m.ID != a.ID || !m.Start.Equal(tc.to) || !m.End.Equal(tc.to.Add(time.Hour)) || m.Status != a.Status ||
				m.ConfirmedAt != nil || !m.UpdatedAt.Equal(bookNow) {
				t.Errorf("moved = %+v", m)
			}
			if stored := w.appt(a.ID); !reflect.DeepEqual(stored, m) {
				t.Errorf("stored %+v\nreturned %+v", stored, m)
			}
			w.wantEvents(t, before, EventMoved)
			if d := changedData(t, w.store.state.events[len(before.events)]); d.PreviousStart == nil || !d.PreviousStart.Equal(wed10) || !d.Start.Equal(tc.to) {
				t.Errorf("event data = %+v", d)
			}
			// Reminders follow the visit: a day before its new time.
			rs := w.store.state.reminders[a.ID]
			if a.Status == Accepted && (len(rs) != 1 || !rs[0].Due.Equal(tc.to.Add(-24*time.Hour))) {
				t.Errorf("reminders = %+v", rs)
			}
			if a.Status == Pending && len(rs) != 0 {
				t.Errorf("a pending request got reminders %+v", rs)
			}
		})
	}
}

// A series of s1 on Tuesdays at 10:00 Paris: #1 is past, #2 to #5 ahead,
// #5 after the change to summer time. The change starts from #3.
func seriesTuesdays(w *bookingWorld) []Appointment {
	return w.seedSeries(at(time.March, 4, 10, 0), at(time.March, 11, 10, 0), at(time.March, 18, 10, 0),
		at(time.March, 25, 10, 0), at(time.April, 1, 10, 0))
}

func TestMoveSeries(t *testing.T) {
	cases := []struct {
		name     string
		scope    Scope
		to       time.Time
		prepare  func(w *bookingWorld, s []Appointment)
		moved    map[int]time.Time // series index → new start
		skipped  []time.Time
		conflict bool
	}{
		{name: "this occurrence", scope: ScopeThis, to: at(time.March, 18, 11, 0),
			moved: map[int]time.Time{3: at(time.March, 18, 11, 0)}},
		{name: "no scope is this occurrence", to: at(time.March, 18, 11, 0),
			moved: map[int]time.Time{3: at(time.March, 18, 11, 0)}},
		{name: "this and the following, same wall-clock time across summer time", scope: ScopeFollowing, to: at(time.March, 18, 11, 0),
			moved: map[int]time.Time{3: at(time.March, 18, 11, 0), 4: at(time.March, 25, 11, 0), 5: at(time.April, 1, 11, 0)}},
		{name: "all ahead; the past one stays", scope: ScopeAll, to: at(time.March, 18, 11, 0),
			moved: map[int]time.Time{2: at(time.March, 11, 11, 0), 3: at(time.March, 18, 11, 0), 4: at(time.March, 25, 11, 0), 5: at(time.April, 1, 11, 0)}},
		{name: "following, a day later", scope: ScopeFollowing, to: at(time.March, 19, 10, 0),
			moved: map[int]time.Time{3: at(time.March, 19, 10, 0), 4: at(time.March, 26, 10, 0), 5: at(time.April, 2, 10, 0)}},
		{name: "following, a conflicting occurrence stays and is reported", scope: ScopeFollowing, to: at(time.March, 18, 11, 0),
			prepare: func(w *bookingWorld, s []Appointment) {
				w.seed(Appointment{Start: at(time.March, 25, 11, 30), ClientID: w.clientN})
			},
			moved:   map[int]time.Time{3: at(time.March, 18, 11, 0), 5: at(time.April, 1, 11, 0)},
			skipped: []time.Time{at(time.March, 25, 11, 0)}},
		{name: "following, a cancelled occurrence is left alone", scope: ScopeFollowing, to: at(time.March, 18, 11, 0),
			prepare: func(w *bookingWorld, s []Appointment) {
				a := s[3]
				a.Status = Cancelled
				w.store.state.appts[a.ID] = a
			},
			moved: map[int]time.Time{3: at(time.March, 18, 11, 0), 5: at(time.April, 1, 11, 0)}},
		{name: "following, the chosen occurrence conflicts", scope: ScopeFollowing, to: at(time.March, 18, 11, 0),
			prepare: func(w *bookingWorld, s []Appointment) {
				w.seed(Appointment{Start: at(time.March, 18, 11, 0), ClientID: w.clientN})
			},
			moved:   map[int]time.Time{4: at(time.March, 25, 11, 0), 5: at(time.April, 1, 11, 0)},
			skipped: []time.Time{at(time.March, 18, 11, 0)}},
		{name: "every occurrence conflicts", scope: ScopeFollowing, to: at(time.March, 18, 18, 0),
			conflict: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			s := seriesTuesdays(w)
			if tc.prepare != nil {
				tc.prepare(w, s)
			}
			before := w.store.state.clone()
			res, err := w.svc.MoveAppointment(context.Background(), w.as("director"), s[2].ID, MoveInput{Start: tc.to, Scope: tc.scope})
			if tc.conflict {
				e := wantErr(t, err, CodeConflict)
				if got := conflictKinds(e); !slices.Equal(got, []string{"outside_schedule"}) {
					t.Errorf("conflicts = %v", got)
				}
				w.store.unchanged(t, before, w.sink)
				return
			}
			wantErr(t, err, "")
			var want []EventKind
			for _, a := range res.Appointments {
				if !a.Start.Equal(tc.moved[a.SeriesIndex]) {
					t.Errorf("#%d moved to %v, want %v", a.SeriesIndex, a.Start.In(paris), tc.moved[a.SeriesIndex].In(paris))
				}
				want = append(want, EventMoved)
			}
			if len(res.Appointments) != len(tc.moved) {
				t.Errorf("moved %d, want %d", len(res.Appointments), len(tc.moved))
			}
			for _, a := range s {
				wantStart := a.Start
				if m, ok := tc.moved[a.SeriesIndex]; ok {
					wantStart = m
				}
				if got := w.appt(a.ID).Start; !got.Equal(wantStart) {
					t.Errorf("#%d is at %v, want %v", a.SeriesIndex, got.In(paris), wantStart.In(paris))
				}
			}
			if len(res.Skipped) != len(tc.skipped) {
				t.Fatalf("skipped = %+v, want %v", res.Skipped, tc.skipped)
			}
			for i, sk := range res.Skipped {
				if !sk.Start.Equal(tc.skipped[i]) || len(sk.Conflicts) != 1 || sk.Conflicts[0].Kind != "overlap" {
					t.Errorf("skipped %+v", sk)
				}
			}
			if len(want) > 1 {
				// Several visits moved: their news is one series event.
				want = append(want, EventSeriesMoved)
			}
			w.wantEvents(t, before, want...)
		})
	}
}

// A visit cancelled by another transaction between the read and the lock
// no longer moves: the rule is checked again under the lock.
func TestMoveAfterConcurrentCancel(t *testing.T) {
	for _, scope := range []Scope{ScopeThis, ScopeFollowing} {
		t.Run(string(scope), func(t *testing.T) {
			w := newBookingWorld(t)
			s := w.seedSeries(at(time.March, 12, 10, 0))
			w.store.beforeTx = func(st *bookingState) {
				a := st.appts[s[0].ID]
				a.Status = Cancelled
				st.appts[a.ID] = a
			}
			res, err := w.svc.MoveAppointment(context.Background(), w.as("director"), s[0].ID, MoveInput{Start: at(time.March, 13, 10, 0), Scope: scope})
			e := wantErr(t, err, CodeConflict)
			if got := conflictKinds(e); !slices.Equal(got, []string{"transition"}) {
				t.Errorf("conflicts = %v (result %+v)", got, res)
			}
			if a := w.appt(s[0].ID); !a.Start.Equal(s[0].Start) || len(w.store.state.events) != 0 || len(w.sink.events) != 0 {
				t.Errorf("a cancelled visit moved: %+v, events %v", a, kinds(w.store.state.events))
			}
		})
	}
}

// Every status change through the service: the allowed ones are applied
// with their event and reminders, the others answer a transition conflict
// and change nothing.
func TestChangeStatusTransitions(t *testing.T) {
	event := map[Status]EventKind{Accepted: "appointment.accepted", Rejected: "appointment.rejected",
		Cancelled: "appointment.cancelled", Completed: "appointment.completed", Missed: "appointment.missed"}
	for _, from := range []Status{Pending, Accepted, Rejected, Cancelled, Completed, Missed} {
		for _, to := range []Status{Pending, Accepted, Rejected, Cancelled, Completed, Missed} {
			t.Run(string(from)+"→"+string(to), func(t *testing.T) {
				w := newBookingWorld(t)
				a := w.seed(Appointment{Start: at(time.March, 12, 10, 0), Status: from})
				before := w.store.state.clone()
				out, err := w.svc.ChangeStatus(context.Background(), w.as("director"), a.ID, StatusChange{Status: to, Reason: "why", Override: to == Completed})
				switch {
				case to == Pending:
					e := wantErr(t, err, CodeInvalid)
					if got := fieldList(e); !slices.Equal(got, []string{"status: must be accepted, rejected, cancelled, completed or missed"}) {
						t.Errorf("fields = %q", got)
					}
					w.store.unchanged(t, before, w.sink)
				case !CanMove(from, to):
					e := wantErr(t, err, CodeConflict)
					if len(e.Conflicts) != 1 || e.Conflicts[0].Kind != "transition" || e.Conflicts[0].Extra != a.ID ||
						e.Conflicts[0].Detail != string(from)+" → "+string(to)+" is not allowed" {
						t.Errorf("conflicts = %+v", e.Conflicts)
					}
					w.store.unchanged(t, before, w.sink)
				default:
					wantErr(t, err, "")
					if len(out) != 1 || out[0].Status != to || !out[0].UpdatedAt.Equal(bookNow) || !reflect.DeepEqual(w.appt(a.ID), out[0]) {
						t.Fatalf("out = %+v", out)
					}
					w.wantEvents(t, before, event[to])
					if d := changedData(t, w.store.state.events[len(before.events)]); d.Status != to || d.Reason != "why" || d.AppointmentID != a.ID || d.Late || d.ByClient {
						t.Errorf("event data = %+v", d)
					}
					wantReason := ""
					if to == Cancelled || to == Rejected {
						wantReason = "why"
					}
					if out[0].CancelReason != wantReason || out[0].LateCancel {
						t.Errorf("reason %q, late %v", out[0].CancelReason, out[0].LateCancel)
					}
					// Only an accepted visit ahead is reminded.
					if n := len(w.store.state.reminders[a.ID]); n != map[bool]int{true: 1, false: 0}[to == Accepted] {
						t.Errorf("%d reminders", n)
					}
				}
			})
		}
	}
}

func TestChangeStatusSeriesScopes(t *testing.T) {
	cases := []struct {
		name    string
		from    int // series index the change starts from
		to      Status
		scope   Scope
		changed []int
		code    Code
	}{
		{name: "cancel this", from: 3, to: Cancelled, scope: ScopeThis, changed: []int{3}},
		{name: "cancel with no scope", from: 3, to: Cancelled, changed: []int{3}},
		{name: "cancel this and the following; the cancelled one is left", from: 3, to: Cancelled, scope: ScopeFollowing, changed: []int{3, 5}},
		{name: "cancel all; the past one is kept", from: 3, to: Cancelled, scope: ScopeAll, changed: []int{2, 3, 5}},
		{name: "mark all missed, past ones too", from: 3, to: Missed, scope: ScopeAll, changed: []int{1, 2, 3, 5}},
		{name: "complete the following", from: 3, to: Completed, scope: ScopeFollowing, changed: []int{3, 5}},
		{name: "from an occurrence that cannot change", from: 4, to: Cancelled, scope: ScopeFollowing, code: CodeConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			s := seriesTuesdays(w)
			s[3].Status = Cancelled
			w.store.state.appts[s[3].ID] = s[3]
			before := w.store.state.clone()
			out, err := w.svc.ChangeStatus(context.Background(), w.as("director"), s[tc.from-1].ID, StatusChange{Status: tc.to, Scope: tc.scope, Override: tc.to == Completed})
			if tc.code != "" {
				e := wantErr(t, err, tc.code)
				if got := conflictKinds(e); !slices.Equal(got, []string{"transition"}) {
					t.Errorf("conflicts = %v", got)
				}
				w.store.unchanged(t, before, w.sink)
				return
			}
			wantErr(t, err, "")
			var got []int
			var want []EventKind
			for _, a := range out {
				got = append(got, a.SeriesIndex)
				want = append(want, statusEvents[tc.to])
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.changed) {
				t.Errorf("changed %v, want %v", got, tc.changed)
			}
			for _, a := range s {
				wantStatus := a.Status
				if slices.Contains(tc.changed, a.SeriesIndex) {
					wantStatus = tc.to
				}
				if st := w.appt(a.ID).Status; st != wantStatus {
					t.Errorf("#%d is %s, want %s", a.SeriesIndex, st, wantStatus)
				}
			}
			w.wantEvents(t, before, want...)
		})
	}
}

// Who may change a visit: what a caller cannot see is not found, what
// they see but may not change is forbidden.
func TestChangeStatusAccess(t *testing.T) {
	cases := []struct {
		name   string
		as     string
		target func(w *bookingWorld, a *Appointment)
		code   Code
	}{
		{name: "director", as: "director"},
		{name: "administrator of the centre", as: "adminA"},
		{name: "administrator, visit of no centre", as: "adminA",
			target: func(w *bookingWorld, a *Appointment) { a.CenterID = "" }},
		{name: "the specialist's own visit", as: "specS1"},
		{name: "marketers are refused", as: "marketer", code: CodeForbidden},
		{name: "a colleague's visit is not found", as: "specS2", code: CodeNotFound},
		{name: "a centre-B visit is not found", as: "adminA", code: CodeNotFound,
			target: func(w *bookingWorld, a *Appointment) {
				a.CenterID, a.SpecialistID, a.ClientID = w.centerB, w.s3, w.clientB
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			a := Appointment{Start: at(time.March, 12, 10, 0), Status: Pending}
			if tc.target != nil {
				tc.target(w, &a)
			}
			a = w.seed(a)
			before := w.store.state.clone()
			_, err := w.svc.ChangeStatus(context.Background(), w.as(tc.as), a.ID, StatusChange{Status: Accepted})
			wantErr(t, err, tc.code)
			if tc.code != "" {
				w.store.unchanged(t, before, w.sink)
				return
			}
			if w.appt(a.ID).Status != Accepted {
				t.Fatal("not accepted")
			}
			w.wantEvents(t, before, EventAccepted)
		})
	}
}

func TestBulkStatus(t *testing.T) {
	type ids struct{ p1, p2, a3, b4 string }
	cases := []struct {
		name      string
		as        string
		ids       func(x ids) []string
		from      Status
		in        StatusChange
		code      Code
		fields    []string
		conflicts []string
		events    []EventKind
		locked    int // specialists locked
	}{
		{name: "accept two pending visits of two specialists", as: "director", from: Pending, in: StatusChange{Status: Accepted},
			ids:    func(x ids) []string { return []string{x.p1, x.p2} },
			events: []EventKind{EventAccepted, EventAccepted}, locked: 2},
		{name: "the specialist's own visit", as: "specS1", from: Pending, in: StatusChange{Status: Rejected},
			ids:    func(x ids) []string { return []string{x.p1} },
			events: []EventKind{EventRejected}, locked: 1},
		{name: "not all in the named status", as: "director", from: Pending, in: StatusChange{Status: Accepted},
			ids:  func(x ids) []string { return []string{x.p1, x.a3} },
			code: CodeConflict, conflicts: []string{"status"}},
		{name: "a forbidden transition", as: "director", from: Accepted, in: StatusChange{Status: Rejected},
			ids:  func(x ids) []string { return []string{x.a3} },
			code: CodeConflict, conflicts: []string{"transition"}},
		{name: "a colleague's visit among them", as: "specS1", from: Pending, in: StatusChange{Status: Accepted},
			ids:  func(x ids) []string { return []string{x.p1, x.p2} },
			code: CodeNotFound},
		{name: "a centre-B visit among them", as: "adminA", from: Pending, in: StatusChange{Status: Accepted},
			ids:  func(x ids) []string { return []string{x.p1, x.b4} },
			code: CodeNotFound},
		{name: "a made-up id among them", as: "director", from: Pending, in: StatusChange{Status: Accepted},
			ids:  func(x ids) []string { return []string{x.p1, NewID()} },
			code: CodeNotFound},
		{name: "marketers are refused", as: "marketer", from: Pending, in: StatusChange{Status: Accepted},
			ids:  func(x ids) []string { return []string{x.p1, x.p2} },
			code: CodeForbidden},
		{name: "bad input", as: "director", in: StatusChange{Status: Pending, Scope: ScopeAll},
			ids:  func(x ids) []string { return []string{"x"} },
			code: CodeInvalid,
			fields: []string{"from_status: is required", "status: must be accepted, rejected, cancelled, completed or missed",
				"scope: bulk changes apply to the selected appointments only", "ids: x is not an appointment id"}},
		{name: "nothing selected", as: "director", from: Pending, in: StatusChange{Status: Accepted},
			ids:  func(x ids) []string { return nil },
			code: CodeInvalid, fields: []string{"ids: must list 1 to 500 appointments"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			wed := at(time.March, 12, 10, 0)
			x := ids{
				p1: w.seed(Appointment{Start: wed, Status: Pending}).ID,
				p2: w.seed(Appointment{Start: wed, Status: Pending, SpecialistID: w.s2}).ID,
				a3: w.seed(Appointment{Start: wed.Add(2 * time.Hour)}).ID,
				b4: w.seed(Appointment{Start: wed, Status: Pending, SpecialistID: w.s3, CenterID: w.centerB, ClientID: w.clientB}).ID,
			}
			before := w.store.state.clone()
			sel := tc.ids(x)
			out, err := w.svc.BulkStatus(context.Background(), w.as(tc.as), sel, tc.from, tc.in)
			if e := wantErr(t, err, tc.code); e != nil {
				w.refused(t, e, tc.fields, tc.conflicts, before)
				return
			}
			if len(out) != len(sel) {
				t.Fatalf("changed %d of %d", len(out), len(sel))
			}
			for _, id := range sel {
				if w.appt(id).Status != tc.in.Status {
					t.Errorf("%s is %s", id, w.appt(id).Status)
				}
			}
			w.wantEvents(t, before, tc.events...)
			if lock := w.store.locks[len(w.store.locks)-1]; len(lock) != tc.locked {
				t.Errorf("locked %v", lock)
			}
		})
	}
}

func TestConfirmByClient(t *testing.T) {
	cases := []struct {
		name      string
		target    Appointment
		confirmed bool // already confirmed
		org       string
		code      Code
	}{
		{name: "an accepted visit ahead", target: Appointment{Start: at(time.March, 12, 10, 0)}},
		{name: "a pending request", target: Appointment{Start: at(time.March, 12, 10, 0), Status: Pending}},
		{name: "a visit under way", target: Appointment{Start: at(time.March, 10, 9, 30)}},
		{name: "confirming twice writes nothing", target: Appointment{Start: at(time.March, 12, 10, 0)}, confirmed: true},
		{name: "a cancelled visit", target: Appointment{Start: at(time.March, 12, 10, 0), Status: Cancelled}, code: CodeConflict},
		{name: "a visit that is over", target: Appointment{Start: at(time.March, 10, 9, 0)}, code: CodeConflict},
		{name: "another organization", target: Appointment{Start: at(time.March, 12, 10, 0)}, org: NewID(), code: CodeNotFound},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			if tc.confirmed {
				tc.target.ConfirmedAt = ptime(bookNow.Add(-time.Hour))
			}
			a := w.seed(tc.target)
			org := w.org
			if tc.org != "" {
				org = tc.org
			}
			before := w.store.state.clone()
			got, err := w.svc.ConfirmByClient(context.Background(), org, a.ID, "sms")
			if e := wantErr(t, err, tc.code); e != nil {
				if tc.code == CodeConflict && (len(e.Conflicts) != 1 || e.Conflicts[0].Kind != "transition") {
					t.Errorf("conflicts = %+v", e.Conflicts)
				}
				w.store.unchanged(t, before, w.sink)
				return
			}
			if tc.confirmed {
				if !reflect.DeepEqual(got, a) {
					t.Errorf("got %+v", got)
				}
				w.store.unchanged(t, before, w.sink)
				return
			}
			if got.ConfirmedAt == nil || !got.ConfirmedAt.Equal(bookNow) || got.Status != a.Status || !reflect.DeepEqual(w.appt(a.ID), got) {
				t.Errorf("got %+v", got)
			}
			w.wantEvents(t, before, EventConfirmed)
			if d := changedData(t, w.store.state.events[0]); d.Via != "sms" || d.AppointmentID != a.ID || d.ByStaffID != "" || d.ByClient {
				t.Errorf("event data = %+v", d)
			}
		})
	}
}

// A client cancelling closer to the visit than the organization's notice
// (24 hours here) cancels late.
func TestCancelByClient(t *testing.T) {
	cases := []struct {
		name   string
		start  time.Time
		status Status
		late   bool
		code   Code
	}{
		{name: "two hours before", start: bookNow.Add(2 * time.Hour), late: true},
		{name: "a minute inside the notice", start: bookNow.Add(24*time.Hour - time.Minute), late: true},
		{name: "exactly the notice", start: bookNow.Add(24 * time.Hour)},
		{name: "three days before", start: bookNow.Add(72 * time.Hour)},
		{name: "a pending request", start: bookNow.Add(2 * time.Hour), status: Pending, late: true},
		{name: "already cancelled", start: bookNow.Add(72 * time.Hour), status: Cancelled, code: CodeConflict},
		{name: "already completed", start: bookNow.Add(-72 * time.Hour), status: Completed, code: CodeConflict},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			a := w.seed(Appointment{Start: tc.start, Status: tc.status})
			before := w.store.state.clone()
			got, err := w.svc.CancelByClient(context.Background(), w.org, a.ID, "link")
			if e := wantErr(t, err, tc.code); e != nil {
				if got := conflictKinds(e); !slices.Equal(got, []string{"transition"}) {
					t.Errorf("conflicts = %v", got)
				}
				w.store.unchanged(t, before, w.sink)
				return
			}
			if got.Status != Cancelled || got.LateCancel != tc.late || got.CancelReason != "cancelled by the client" || !reflect.DeepEqual(w.appt(a.ID), got) {
				t.Errorf("got %+v", got)
			}
			w.wantEvents(t, before, EventCancelled)
			if d := changedData(t, w.store.state.events[0]); d.Late != tc.late || !d.ByClient || d.Via != "link" || d.Reason != "cancelled by the client" ||
				d.Status != Cancelled || d.ByStaffID != "" {
				t.Errorf("event data = %+v", d)
			}
			if rs := w.store.state.reminders[a.ID]; len(rs) != 0 {
				t.Errorf("a cancelled visit keeps reminders %+v", rs)
			}
		})
	}
}

// Time freed ahead (a cancellation or a move) matches the waiting list of
// that specialist: urgent entries first, then the longest waiting.
// Entries are made in order, each a minute after the one before.
func TestFreedTimeMatchesWaitingList(t *testing.T) {
	cases := []struct {
		name   string
		start  time.Time
		change func(w *bookingWorld, id string) error
		first  EventKind
		match  bool
	}{
		{name: "cancelled", start: at(time.March, 12, 10, 0), first: EventCancelled, match: true,
			change: func(w *bookingWorld, id string) error {
				_, err := w.svc.ChangeStatus(context.Background(), w.as("director"), id, StatusChange{Status: Cancelled})
				return err
			}},
		{name: "moved away", start: at(time.March, 12, 10, 0), first: EventMoved, match: true,
			change: func(w *bookingWorld, id string) error {
				_, err := w.svc.MoveAppointment(context.Background(), w.as("director"), id, MoveInput{Start: at(time.March, 14, 10, 0)})
				return err
			}},
		{name: "cancelled by the client", start: at(time.March, 12, 10, 0), first: EventCancelled, match: true,
			change: func(w *bookingWorld, id string) error {
				_, err := w.svc.CancelByClient(context.Background(), w.org, id, "sms")
				return err
			}},
		{name: "a past visit cancelled frees nothing", start: at(time.March, 10, 8, 0), first: EventCancelled,
			change: func(w *bookingWorld, id string) error {
				_, err := w.svc.ChangeStatus(context.Background(), w.as("director"), id, StatusChange{Status: Cancelled})
				return err
			}},
		{name: "a visit completed frees nothing", start: at(time.March, 12, 10, 0), first: EventCompleted,
			change: func(w *bookingWorld, id string) error {
				_, err := w.svc.ChangeStatus(context.Background(), w.as("director"), id, StatusChange{Status: Completed, Override: true})
				return err
			}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			w := newBookingWorld(t)
			a := w.seed(Appointment{Start: tc.start})
			day := func(d int) (time.Time, time.Time) { return at(time.March, d, 0, 0), at(time.March, d+1, 0, 0) }
			entry := func(spec string, from, to time.Time, urgent bool, status string) WaitingEntry {
				e := WaitingEntry{ID: NewID(), OrgID: w.org, ClientID: w.clientN, SpecialistID: spec, From: from, To: to,
					Urgent: urgent, Status: status, CreatedAt: bookNow.Add(-time.Hour + time.Duration(len(w.store.state.waiting))*time.Minute)}
				w.store.state.waiting[e.ID] = e
				return e
			}
			f, u := day(a.Start.In(paris).Day())
			older := entry(w.s1, f, u, false, "waiting")
			urgent := entry(w.s1, f, u, true, "waiting")
			newer := entry(w.s1, f, u, false, "waiting")
			entry(w.s2, f, u, true, "waiting")                                     // another specialist
			entry(w.s1, f.Add(48*time.Hour), u.Add(48*time.Hour), true, "waiting") // another day
			entry(w.s1, f, u, true, "matched")                                     // matched before
			before := w.store.state.clone()
			if err := tc.change(w, a.ID); err != nil {
				t.Fatal(err)
			}
			want := []EventKind{tc.first}
			if tc.match {
				want = append(want, EventWaitlistMatch, EventWaitlistMatch, EventWaitlistMatch)
			}
			w.wantEvents(t, before, want...)
			if !tc.match {
				return
			}
			evs := w.store.state.events[len(before.events):]
			for i, e := range []WaitingEntry{urgent, older, newer} {
				d, ok := evs[i+1].Data.(*WaitlistMatched)
				if !ok || d.WaitingID != e.ID || d.Urgent != e.Urgent || d.ClientID != e.ClientID || d.SpecialistID != w.s1 ||
					!d.FreeStart.Equal(a.Start) || !d.FreeEnd.Equal(a.End) {
					t.Errorf("match %d = %+v, want entry %s", i, evs[i+1].Data, e.ID)
				}
			}
			for _, e := range []WaitingEntry{older, urgent, newer} {
				if got := w.store.state.waiting[e.ID]; got.Status != "matched" || got.MatchedAt == nil || !got.MatchedAt.Equal(bookNow) {
					t.Errorf("entry %+v", got)
				}
			}
		})
	}
}

// A completed visit is charged to the client's package; marking it missed
// afterwards gives the visit back, and the client owes the visit again.
func TestCompletedVisitUsesPackage(t *testing.T) {
	w := newBookingWorld(t)
	sale := NewID()
	w.store.packageSale = sale
	a := w.seed(Appointment{Start: at(time.March, 10, 8, 0), PaidMinor: 1000})
	out, err := w.svc.ChangeStatus(context.Background(), w.as("director"), a.ID, StatusChange{Status: Completed, Override: true})
	wantErr(t, err, "")
	if c := out[0]; c.PackageSaleID != sale || c.BalanceMinor != 0 || !slices.Equal(w.store.state.consumed, []string{a.ID}) {
		t.Fatalf("completed: sale %q, balance %d, consumed %v", c.PackageSaleID, c.BalanceMinor, w.store.state.consumed)
	}
	w.store.packageSale = ""
	out, err = w.svc.ChangeStatus(context.Background(), w.as("director"), a.ID, StatusChange{Status: Missed})
	wantErr(t, err, "")
	if m := out[0]; m.PackageSaleID != "" || m.BalanceMinor != 4000 || !slices.Equal(w.store.state.released, []string{a.ID}) {
		t.Fatalf("missed: sale %q, balance %d, released %v", m.PackageSaleID, m.BalanceMinor, w.store.state.released)
	}
	if !reflect.DeepEqual(w.appt(a.ID), out[0]) {
		t.Fatalf("stored %+v", w.appt(a.ID))
	}
}
