package schedule

import (
	"slices"
	"strings"
	"testing"
	"time"
)

func TestCheck(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	at := func(s string) time.Time { return local(t, paris, s) }
	s := Schedule{
		Location:  paris,
		Weekly:    weekdays(periods(t, "09:00-13:00", "14:00-19:00")),
		Holidays:  []Date{date(t, "2026-03-04")},
		Vacations: []DateRange{{date(t, "2026-03-10"), date(t, "2026-03-11")}},
		Blocks:    []Interval{{at("2026-03-02 16:00"), at("2026-03-02 17:00")}},
	}
	one := Spec{Duration: time.Hour, Interval: 30 * time.Minute}
	group := Spec{Duration: time.Hour, Capacity: 3}
	now := at("2026-03-02 08:00")
	busy := []Booking{
		booking(at("2026-03-02 10:00"), at("2026-03-02 11:00"), 1),
		booking(at("2026-03-02 11:00"), at("2026-03-02 12:00"), 1),
	}
	class := []Booking{
		booking(at("2026-03-03 10:00"), at("2026-03-03 11:00"), 2),
	}
	cases := []struct {
		name   string
		spec   Spec
		start  string
		seats  int
		now    time.Time
		booked []Booking
		want   []ConflictKind
		with   int // len(With) of the last conflict, when > 0
		detail string
	}{
		{name: "on grid, free", spec: one, start: "2026-03-02 09:00", booked: busy},
		{name: "staff books off-grid minute inside the period", spec: one, start: "2026-03-02 14:07", booked: busy},
		{name: "ends exactly at period end", spec: one, start: "2026-03-02 18:00"},
		{name: "back-to-back with a booking", spec: one, start: "2026-03-02 09:00", booked: busy},
		{name: "runs past period end", spec: one, start: "2026-03-02 12:30", want: []ConflictKind{OutsideSchedule}, detail: "12:30–13:30 is not within one working period"},
		{name: "spans lunch break", spec: Spec{Duration: 3 * time.Hour}, start: "2026-03-02 12:00", want: []ConflictKind{OutsideSchedule}},
		{name: "before opening", spec: one, start: "2026-03-02 08:30", want: []ConflictKind{OutsideSchedule}},
		{name: "holiday", spec: one, start: "2026-03-04 10:00", want: []ConflictKind{OutsideSchedule}, detail: "holiday"},
		{name: "vacation", spec: one, start: "2026-03-11 10:00", want: []ConflictKind{OutsideSchedule}, detail: "vacation"},
		{name: "weekend", spec: one, start: "2026-03-07 10:00", want: []ConflictKind{OutsideSchedule}, detail: "Saturday"},
		{name: "out of office", spec: one, start: "2026-03-02 16:30", want: []ConflictKind{OutOfOffice}, with: 1},
		{name: "in past", spec: one, start: "2026-03-02 09:00", now: at("2026-03-02 09:01"), want: []ConflictKind{InPast}},
		{name: "starting exactly now is fine", spec: one, start: "2026-03-02 09:00", now: at("2026-03-02 09:00")},
		{name: "overlap with two bookings", spec: one, start: "2026-03-02 10:30", booked: busy, want: []ConflictKind{Overlap}, with: 2},
		{name: "capacity 1, two seats", spec: one, start: "2026-03-03 10:00", seats: 2, want: []ConflictKind{OverCapacity}},
		{name: "class: 2 taken + 1 wanted fits", spec: group, start: "2026-03-03 10:00", seats: 1, booked: class},
		{name: "class: overlapping but fits, no Overlap", spec: group, start: "2026-03-03 10:30", booked: class},
		{name: "class: 2 taken + 2 wanted", spec: group, start: "2026-03-03 10:00", seats: 2, booked: class, want: []ConflictKind{OverCapacity}, with: 1, detail: "2 seats taken + 2 wanted > capacity 3"},
		{
			name: "in the past AND overlapping AND outside schedule", spec: one, start: "2026-03-02 12:30",
			now: at("2026-03-02 15:00"), booked: append([]Booking{booking(at("2026-03-02 12:00"), at("2026-03-02 12:45"), 1)}, busy...),
			want: []ConflictKind{OutsideSchedule, InPast, Overlap}, with: 1,
		},
		{
			name: "everything at once in a class", spec: Spec{Duration: 4 * time.Hour, Capacity: 2}, start: "2026-03-02 15:30", seats: 2,
			now: at("2026-03-03 00:00"), booked: []Booking{booking(at("2026-03-02 17:00"), at("2026-03-02 18:00"), 1)},
			want: []ConflictKind{OutsideSchedule, OutOfOffice, InPast, OverCapacity},
		},
		{name: "invalid duration", spec: Spec{}, start: "2026-03-02 09:00", want: []ConflictKind{InvalidRequest}},
		{name: "invalid seats", spec: one, start: "2026-03-02 09:00", seats: -1, want: []ConflictKind{InvalidRequest}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := now
			if !tc.now.IsZero() {
				n = tc.now
			}
			got := Check(s, tc.spec, at(tc.start), tc.seats, n, tc.booked)
			var kinds []ConflictKind
			for _, c := range got {
				kinds = append(kinds, c.Kind)
			}
			if !slices.Equal(kinds, tc.want) {
				t.Fatalf("kinds = %v; want %v (%+v)", kinds, tc.want, got)
			}
			if tc.with > 0 && len(got[len(got)-1].With) != tc.with {
				t.Errorf("With = %v; want %d intervals", got[len(got)-1].With, tc.with)
			}
			if tc.detail != "" && !strings.Contains(got[0].Detail, tc.detail) {
				t.Errorf("Detail = %q; want it to mention %q", got[0].Detail, tc.detail)
			}
		})
	}
	if got := Check(Schedule{}, one, now, 1, now, nil); len(got) != 1 || got[0].Kind != InvalidRequest {
		t.Errorf("nil location: %+v", got)
	}
}

// On DST days Check uses the same real-time period bounds as Slots.
func TestCheckDST(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	s := Schedule{Location: paris, Weekly: everyDay(periods(t, "01:00-04:00"))}
	spec := Spec{Duration: time.Hour}
	cases := []struct {
		start string
		ok    bool
	}{
		{"2026-03-29T00:00:00Z", true},  // 01:00 CET .. 03:00 CEST
		{"2026-03-29T01:00:00Z", true},  // 03:00 .. 04:00 CEST
		{"2026-03-29T01:01:00Z", false}, // ends 04:01 CEST
		{"2026-10-25T02:00:00Z", true},  // 03:00 .. 04:00 CET
		{"2026-10-24T23:00:00Z", true},  // 01:00 CEST
		{"2026-10-25T02:30:00Z", false}, // ends 04:30 CET
	}
	for _, tc := range cases {
		got := Check(s, spec, ts(t, tc.start), 1, time.Time{}, nil)
		if (len(got) == 0) != tc.ok {
			t.Errorf("%s: %+v", tc.start, got)
		}
	}
}
