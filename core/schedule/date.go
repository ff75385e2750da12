package schedule

import (
	"fmt"
	"time"
)

// Date is a local calendar date. Holidays and vacations are dates rather than
// instants because "25 December" is a whole local day wherever the
// specialist is, whatever its length in hours.
type Date struct {
	Year  int
	Month time.Month
	Day   int
}

// ParseDate parses a strict ISO date "YYYY-MM-DD" and rejects impossible
// dates such as 2026-02-30 (time.Date would silently normalise them).
func ParseDate(s string) (Date, error) {
	bad := func(why string) (Date, error) {
		return Date{}, fmt.Errorf("schedule: invalid date %q: %s", s, why)
	}
	if len(s) != 10 || s[4] != '-' || s[7] != '-' {
		return bad("want YYYY-MM-DD")
	}
	y1, ok1 := twoDigits(s[0:2])
	y2, ok2 := twoDigits(s[2:4])
	m, ok3 := twoDigits(s[5:7])
	d, ok4 := twoDigits(s[8:10])
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return bad("want YYYY-MM-DD")
	}
	date := Date{Year: y1*100 + y2, Month: time.Month(m), Day: d}
	if !date.valid() {
		return bad("no such day")
	}
	return date, nil
}

// valid reports whether d names a real day (year 1..9999).
func (d Date) valid() bool {
	if d.Year < 1 || d.Year > 9999 || d.Month < time.January || d.Month > time.December || d.Day < 1 {
		return false
	}
	return d.Day <= time.Date(d.Year, d.Month+1, 0, 0, 0, 0, 0, time.UTC).Day()
}

// String formats d as "YYYY-MM-DD".
func (d Date) String() string { return fmt.Sprintf("%04d-%02d-%02d", d.Year, int(d.Month), d.Day) }

// DateOf returns the calendar date of t in t's own location; convert first
// (t.In(loc)) to get the date as seen in another zone.
func DateOf(t time.Time) Date {
	y, m, d := t.Date()
	return Date{y, m, d}
}

// In returns the first instant of d in loc: local midnight, or, where
// midnight does not exist because clocks spring forward at 00:00, the instant
// the day actually begins. It panics if loc is nil, like time.Date.
func (d Date) In(loc *time.Location) time.Time {
	return boundary(loc, d, 0)
}

// AddDays returns the date n calendar days after d (n may be negative).
func (d Date) AddDays(n int) Date {
	return DateOf(time.Date(d.Year, d.Month, d.Day+n, 0, 0, 0, 0, time.UTC))
}

// Weekday returns the day of the week of d, to index Schedule.Weekly.
func (d Date) Weekday() time.Weekday { return d.naive().Weekday() }

// Before reports whether d is an earlier date than o.
func (d Date) Before(o Date) bool {
	if d.Year != o.Year {
		return d.Year < o.Year
	}
	if d.Month != o.Month {
		return d.Month < o.Month
	}
	return d.Day < o.Day
}

// naive is d's midnight read as UTC: the base of wall-clock arithmetic.
func (d Date) naive() time.Time { return time.Date(d.Year, d.Month, d.Day, 0, 0, 0, 0, time.UTC) }

// DateRange is an inclusive range of local dates, e.g. a vacation from the
// first to the last day off, as people state them.
type DateRange struct{ From, To Date }

// contains reports whether d lies in r (both ends included).
func (r DateRange) contains(d Date) bool { return !d.Before(r.From) && !r.To.Before(d) }
