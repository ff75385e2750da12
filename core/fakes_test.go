package core

import (
	"context"
	"maps"
	"reflect"
	"slices"
	"sort"
	"testing"
	"time"
)

// bookingFake is an in-memory BookingStore for the booking rules. The
// catalogue and directory are plain maps; appointments, the waiting list,
// reminders, package visits and events are the state a booking
// transaction changes: InBookingTx runs on a copy of it and keeps the copy
// only when fn succeeds, so a failed call leaves it exactly as it was.
// Methods the booking rules do not reach are left to the nil embedded
// interface and panic if called.
type bookingFake struct {
	BookingStore

	org        Organization
	centers    map[string]Center
	staff      map[string]Staff
	clients    map[string]Client
	services   map[string]Offering
	rooms      map[string]Room
	schedules  map[string]Schedule
	exceptions map[string][]Exception

	state bookingState
	// packageSale is the sale ConsumeVisit charges a completed visit to
	// ("" when the client has none).
	packageSale string
	// locks records the ids each booking transaction locked.
	locks [][]string
	// beforeTx runs when a booking transaction begins, before fn: it plays
	// another transaction that committed between a read and the lock.
	beforeTx func(st *bookingState)
}

// bookingState is what a booking transaction changes.
type bookingState struct {
	appts     map[string]Appointment
	waiting   map[string]WaitingEntry
	reminders map[string][]Reminder
	events    []Event
	consumed  []string // appointment ids charged to a package
	released  []string // appointment ids given back to their package
}

func (st bookingState) clone() bookingState {
	return bookingState{appts: maps.Clone(st.appts), waiting: maps.Clone(st.waiting), reminders: maps.Clone(st.reminders),
		events: slices.Clone(st.events), consumed: slices.Clone(st.consumed), released: slices.Clone(st.released)}
}

func newBookingFake(org Organization) *bookingFake {
	return &bookingFake{org: org, centers: map[string]Center{}, staff: map[string]Staff{}, clients: map[string]Client{},
		services: map[string]Offering{}, rooms: map[string]Room{}, schedules: map[string]Schedule{}, exceptions: map[string][]Exception{},
		state: bookingState{appts: map[string]Appointment{}, waiting: map[string]WaitingEntry{}, reminders: map[string][]Reminder{}}}
}

func (f *bookingFake) GetOrganization(_ context.Context, orgID string) (Organization, error) {
	if orgID != f.org.ID {
		return Organization{}, NotFound("organization")
	}
	return f.org, nil
}

// get reads a record of the fake's organization from one of its maps.
func fakeGet[T any](f *bookingFake, m map[string]T, orgID, id, what string) (T, error) {
	v, ok := m[id]
	if !ok || orgID != f.org.ID {
		var zero T
		return zero, NotFound(what)
	}
	return v, nil
}

func (f *bookingFake) GetCenter(_ context.Context, orgID, id string) (Center, error) {
	return fakeGet(f, f.centers, orgID, id, "center")
}

func (f *bookingFake) GetStaff(_ context.Context, orgID, id string) (Staff, error) {
	return fakeGet(f, f.staff, orgID, id, "staff member")
}

func (f *bookingFake) GetClient(_ context.Context, orgID, id string) (Client, error) {
	return fakeGet(f, f.clients, orgID, id, "client")
}

func (f *bookingFake) GetService(_ context.Context, orgID, id string) (Offering, error) {
	return fakeGet(f, f.services, orgID, id, "service")
}

func (f *bookingFake) GetRoom(_ context.Context, orgID, id string) (Room, error) {
	return fakeGet(f, f.rooms, orgID, id, "room")
}

func (f *bookingFake) GetSchedule(_ context.Context, orgID, ownerID string) (Schedule, error) {
	return fakeGet(f, f.schedules, orgID, ownerID, "schedule")
}

func (f *bookingFake) ListExceptions(_ context.Context, orgID, ownerID string) ([]Exception, error) {
	if orgID != f.org.ID {
		return nil, nil
	}
	return slices.Clone(f.exceptions[ownerID]), nil
}

func (f *bookingFake) SpecialistRefs(ctx context.Context, orgID, specialistID, _, clientID string) (SpecialistRefs, error) {
	st, err := f.GetStaff(ctx, orgID, specialistID)
	if err != nil {
		return SpecialistRefs{}, err
	}
	r := SpecialistRefs{Timezone: st.Timezone}
	if clientID != "" {
		_, err := f.GetClient(ctx, orgID, clientID)
		r.ClientFound = err == nil
	}
	if sc, ok := f.schedules[specialistID]; ok {
		r.Schedule = &sc
	}
	return r, nil
}

func (f *bookingFake) GetAppointment(ctx context.Context, orgID, id string) (Appointment, error) {
	return fakeGet(f, f.state.appts, orgID, id, "appointment")
}

func (f *bookingFake) ReminderPolicyFor(context.Context, string, string, string) (ReminderPolicy, bool, error) {
	return ReminderPolicy{}, false, nil
}

func (f *bookingFake) ClientTimezone(ctx context.Context, orgID, clientID string) (string, error) {
	c, err := f.GetClient(ctx, orgID, clientID)
	return c.Timezone, err
}

func (f *bookingFake) InBookingTx(_ context.Context, orgID string, lock []string, fn func(tx BookingTx) error) error {
	if orgID != f.org.ID {
		return NotFound("organization")
	}
	f.locks = append(f.locks, slices.Clone(lock))
	if f.beforeTx != nil {
		f.beforeTx(&f.state)
	}
	tx := &bookingTxFake{f: f, st: f.state.clone()}
	if err := fn(tx); err != nil {
		return err
	}
	f.state = tx.st
	return nil
}

// bookingTxFake is a BookingTx on a copy of the fake's state.
type bookingTxFake struct {
	f  *bookingFake
	st bookingState
}

func (t *bookingTxFake) Holding(_ context.Context, kind OwnerKind, ownerID string, from, to time.Time) ([]Appointment, error) {
	var out []Appointment
	for _, a := range t.st.appts {
		owner := a.SpecialistID
		if kind == OwnerRoom {
			owner = a.RoomID
		}
		if owner == ownerID && a.Status.Holds() && a.Start.Before(to) && a.End.After(from) {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Start.Before(out[j].Start) })
	return out, nil
}

func (t *bookingTxFake) GetAppointment(_ context.Context, id string) (Appointment, error) {
	a, ok := t.st.appts[id]
	if !ok {
		return Appointment{}, NotFound("appointment")
	}
	return a, nil
}

func (t *bookingTxFake) SeriesAppointments(_ context.Context, seriesID string) ([]Appointment, error) {
	var out []Appointment
	for _, a := range t.st.appts {
		if a.SeriesID == seriesID {
			out = append(out, a)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].SeriesIndex < out[j].SeriesIndex })
	return out, nil
}

func (t *bookingTxFake) InsertAppointment(_ context.Context, a Appointment) error {
	if _, ok := t.st.appts[a.ID]; ok || a.OrgID != t.f.org.ID {
		return Conflict("appointment " + a.ID + " exists")
	}
	t.st.appts[a.ID] = a
	return nil
}

func (t *bookingTxFake) UpdateAppointment(_ context.Context, a Appointment) error {
	if _, ok := t.st.appts[a.ID]; !ok {
		return NotFound("appointment")
	}
	t.st.appts[a.ID] = a
	return nil
}

func (t *bookingTxFake) WaitingOverlapping(_ context.Context, specialistID string, from, to time.Time) ([]WaitingEntry, error) {
	var out []WaitingEntry
	for _, w := range t.st.waiting {
		if w.SpecialistID == specialistID && w.Status == "waiting" && w.From.Before(to) && w.To.After(from) {
			out = append(out, w)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out, nil
}

func (t *bookingTxFake) MarkWaitingMatched(_ context.Context, id string, at time.Time) error {
	w, ok := t.st.waiting[id]
	if !ok {
		return NotFound("waiting-list entry")
	}
	w.Status, w.MatchedAt = "matched", &at
	t.st.waiting[id] = w
	return nil
}

func (t *bookingTxFake) SetReminders(_ context.Context, appointmentID string, rs []Reminder) error {
	t.st.reminders[appointmentID] = slices.Clone(rs)
	return nil
}

func (t *bookingTxFake) ConsumeVisit(_ context.Context, a Appointment) (string, error) {
	if t.f.packageSale == "" {
		return "", nil
	}
	t.st.consumed = append(t.st.consumed, a.ID)
	return t.f.packageSale, nil
}

func (t *bookingTxFake) ReleaseVisit(_ context.Context, a Appointment) error {
	t.st.released = append(t.st.released, a.ID)
	return nil
}

func (t *bookingTxFake) AddEvent(_ context.Context, e Event) error {
	t.st.events = append(t.st.events, e)
	return nil
}

// fixedClock always tells the same time.
type fixedClock struct{ t time.Time }

func (c fixedClock) Now() time.Time { return c.t }

// recordingSink keeps what the service published after committing.
type recordingSink struct{ events []Event }

func (s *recordingSink) Publish(_ context.Context, e Event) error {
	s.events = append(s.events, e)
	return nil
}

// kinds lists the kinds of events, in order.
func kinds(es []Event) []EventKind {
	out := []EventKind{}
	for _, e := range es {
		out = append(out, e.Kind)
	}
	return out
}

// unchanged fails the test unless the fake's state is the snapshot and
// nothing was published.
func (f *bookingFake) unchanged(t *testing.T, before bookingState, sink *recordingSink) {
	t.Helper()
	if !reflect.DeepEqual(f.state, before) {
		t.Errorf("a failed call changed the store: %d events, %d appointments (before: %d, %d)",
			len(f.state.events), len(f.state.appts), len(before.events), len(before.appts))
	}
	if len(sink.events) != 0 {
		t.Errorf("a failed call published %v", kinds(sink.events))
	}
}
