package schedule

import (
	"slices"
	"testing"
	"time"
)

func loadLoc(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatalf("LoadLocation(%q): %v", name, err)
	}
	return loc
}

// ts parses an RFC 3339 instant; explicit offsets keep expectations unambiguous.
func ts(t testing.TB, s string) time.Time {
	t.Helper()
	v, err := time.Parse(time.RFC3339, s)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	return v
}

// local builds an unambiguous, existing wall time in loc ("2026-03-02 09:15").
func local(t testing.TB, loc *time.Location, s string) time.Time {
	t.Helper()
	v, err := time.ParseInLocation("2006-01-02 15:04", s, loc)
	if err != nil {
		t.Fatalf("parse %q: %v", s, err)
	}
	if v.Format("2006-01-02 15:04") != s {
		t.Fatalf("%q is not a plain wall time in %v", s, loc)
	}
	return v
}

func clk(t testing.TB, s string) Clock {
	t.Helper()
	c, err := ParseClock(s)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func date(t testing.TB, s string) Date {
	t.Helper()
	d, err := ParseDate(s)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// periods parses "09:00-12:00" style strings.
func periods(t testing.TB, specs ...string) []Period {
	t.Helper()
	var out []Period
	for _, s := range specs {
		out = append(out, Period{clk(t, s[:5]), clk(t, s[6:])})
	}
	return out
}

// everyDay gives the same periods on all seven weekdays (DST changes happen
// on Sundays, so DST tests need Sunday hours).
func everyDay(ps []Period) [7][]Period {
	var w [7][]Period
	for i := range w {
		w[i] = ps
	}
	return w
}

// weekdays gives ps on Monday..Friday only.
func weekdays(ps []Period) [7][]Period {
	var w [7][]Period
	for d := time.Monday; d <= time.Friday; d++ {
		w[d] = ps
	}
	return w
}

// localStarts renders slot starts as local "01-02 15:04".
func localStarts(slots []Slot, loc *time.Location) []string {
	var out []string
	for _, s := range slots {
		out = append(out, s.Start.In(loc).Format("01-02 15:04"))
	}
	return out
}

// utcSpans renders slots as "15:04Z-15:04Z" in UTC (date included).
func utcSpans(slots []Slot) []string {
	var out []string
	for _, s := range slots {
		out = append(out, s.Start.UTC().Format("01-02T15:04Z")+"/"+s.End.UTC().Format("15:04Z"))
	}
	return out
}

func eqStrings(t testing.TB, got, want []string) {
	t.Helper()
	if !slices.Equal(got, want) {
		t.Errorf("got  %q\nwant %q", got, want)
	}
}

func booking(start, end time.Time, seats int) Booking {
	return Booking{Interval: Interval{start, end}, Seats: seats}
}
