package schedule

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestValidate(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	at := func(s string) time.Time { return local(t, paris, s) }
	valid := Schedule{
		Location:  paris,
		Weekly:    weekdays(periods(t, "09:00-12:00", "12:00-13:00", "13:30-24:00")),
		Holidays:  []Date{date(t, "2026-05-01")},
		Vacations: []DateRange{{date(t, "2026-08-01"), date(t, "2026-08-01")}},
		Blocks:    []Interval{{at("2026-03-02 10:00"), at("2026-03-02 10:01")}},
	}
	if err := valid.Validate(); err != nil {
		t.Fatalf("valid schedule: %v", err)
	}
	var w [7][]Period
	w[time.Monday] = []Period{{600, 540}, {0, 1441}}
	w[time.Tuesday] = periods(t, "09:00-17:00", "10:00-11:00", "12:00-13:00")
	bad := Schedule{
		Weekly:    w,
		Holidays:  []Date{{2026, 2, 30}},
		Vacations: []DateRange{{date(t, "2026-08-10"), date(t, "2026-08-01")}},
		Blocks:    []Interval{{at("2026-03-02 10:00"), at("2026-03-02 10:00")}},
	}
	err := bad.Validate()
	var ve *ValidationError
	if !errors.As(err, &ve) {
		t.Fatalf("want *ValidationError, got %v", err)
	}
	want := []string{
		"Location: missing",
		"Weekly[Monday][0]: start 10:00 not before end 09:00",
		"Weekly[Monday][1]: 00:00–Clock(1441) outside 00:00..24:00",
		"Weekly[Tuesday]: periods 09:00–17:00 and 10:00–11:00 overlap",
		"Weekly[Tuesday]: periods 09:00–17:00 and 12:00–13:00 overlap",
		"Holidays[0]: invalid date 2026-02-30",
		"Vacations[0]: From 2026-08-10 after To 2026-08-01",
		"Blocks[0]: start",
	}
	if msg := err.Error(); !strings.HasPrefix(msg, "schedule: invalid: Location: missing; ") {
		t.Errorf("Error() = %q", msg)
	}
	if len(ve.Problems) != len(want) {
		t.Fatalf("problems:\n%s", strings.Join(ve.Problems, "\n"))
	}
	for i, p := range ve.Problems {
		if !strings.HasPrefix(p, want[i]) {
			t.Errorf("problem %d = %q; want prefix %q", i, p, want[i])
		}
	}
}

func TestDayOff(t *testing.T) {
	s := Schedule{
		Location:  time.UTC,
		Weekly:    weekdays(periods(t, "09:00-12:00")),
		Holidays:  []Date{date(t, "2026-03-03")},
		Vacations: []DateRange{{date(t, "2026-03-10"), date(t, "2026-03-12")}},
	}
	cases := []struct {
		day string
		off bool
	}{
		{"2026-03-02", false}, {"2026-03-03", true}, {"2026-03-07", true}, {"2026-03-08", true},
		{"2026-03-09", false}, {"2026-03-10", true}, {"2026-03-12", true}, {"2026-03-13", false},
	}
	for _, tc := range cases {
		if got := s.DayOff(date(t, tc.day)); got != tc.off {
			t.Errorf("DayOff(%s) = %v; want %v", tc.day, got, tc.off)
		}
	}
}

func TestWorkingIntervals(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	at := func(s string) time.Time { return local(t, paris, s) }
	s := Schedule{
		Location: paris,
		Weekly:   weekdays(periods(t, "13:30-17:00", "09:00-12:00")), // unsorted on purpose
		Holidays: []Date{date(t, "2026-03-03")},
		Blocks:   []Interval{{at("2026-03-02 10:00"), at("2026-03-02 11:00")}}, // not subtracted
	}
	spans := func(ivs []Interval) []string {
		var out []string
		for _, iv := range ivs {
			out = append(out, iv.Start.UTC().Format("01-02T15:04Z")+"/"+iv.End.UTC().Format("15:04Z"))
		}
		return out
	}
	eqStrings(t, spans(s.WorkingIntervals(at("2026-03-02 10:00"), at("2026-03-04 09:30"))),
		[]string{"03-02T08:00Z/11:00Z", "03-02T12:30Z/16:00Z", "03-04T08:00Z/11:00Z"})
	// Touching the end of a period is not intersecting.
	eqStrings(t, spans(s.WorkingIntervals(at("2026-03-02 12:00"), at("2026-03-02 13:30"))), nil)

	// DST: a period across the spring-forward gap lasts two real hours, and
	// one across the repeated hour lasts four.
	night := Schedule{Location: paris, Weekly: everyDay(periods(t, "01:00-04:00", "09:00-12:00"))}
	spring := date(t, "2026-03-29")
	eqStrings(t, spans(night.WorkingIntervals(spring.In(paris), spring.AddDays(1).In(paris))),
		[]string{"03-29T00:00Z/02:00Z", "03-29T07:00Z/10:00Z"})
	fall := date(t, "2026-10-25")
	eqStrings(t, spans(night.WorkingIntervals(fall.In(paris), fall.AddDays(1).In(paris))),
		[]string{"10-24T23:00Z/03:00Z", "10-25T08:00Z/11:00Z"})
	// A period whose end falls in the gap ends when the gap ends.
	gapEnd := Schedule{Location: paris, Weekly: everyDay(periods(t, "00:30-02:30"))}
	eqStrings(t, spans(gapEnd.WorkingIntervals(spring.In(paris), spring.AddDays(1).In(paris))),
		[]string{"03-28T23:30Z/01:00Z"})
	if got := (Schedule{}).WorkingIntervals(at("2026-03-02 00:00"), at("2026-03-03 00:00")); got != nil {
		t.Errorf("nil location: %v", got)
	}
}

func TestIntervalOverlaps(t *testing.T) {
	base := time.Date(2026, 3, 2, 10, 0, 0, 0, time.UTC)
	iv := func(a, b int) Interval {
		return Interval{base.Add(time.Duration(a) * time.Minute), base.Add(time.Duration(b) * time.Minute)}
	}
	cases := []struct {
		a, b Interval
		want bool
	}{
		{iv(0, 60), iv(30, 90), true},
		{iv(0, 60), iv(60, 120), false}, // touching
		{iv(0, 60), iv(-60, 0), false},
		{iv(0, 60), iv(10, 20), true},
		{iv(0, 60), iv(30, 30), false}, // empty
		{iv(30, 30), iv(30, 30), false},
		{iv(60, 0), iv(0, 60), false}, // inverted
	}
	for i, tc := range cases {
		if got := tc.a.Overlaps(tc.b); got != tc.want {
			t.Errorf("case %d: %v", i, got)
		}
		if got := tc.b.Overlaps(tc.a); got != tc.want {
			t.Errorf("case %d (swapped): %v", i, got)
		}
	}
}
