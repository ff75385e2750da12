package schedule

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// Interval is a half-open span of real time [Start, End). Half-open so that
// back-to-back appointments (10:00–11:00, 11:00–12:00) do not collide.
type Interval struct{ Start, End time.Time }

// Overlaps reports whether a and b share at least one instant. Empty
// intervals (End <= Start) overlap nothing.
func (a Interval) Overlaps(b Interval) bool {
	return a.Start.Before(a.End) && b.Start.Before(b.End) &&
		a.Start.Before(b.End) && b.Start.Before(a.End)
}

// Schedule is a specialist's working calendar. Weekly hours, holidays and
// vacations are wall-clock/local-date rules interpreted in Location; Blocks
// are absolute instants because an out-of-office entry ("dentist 14:10–15:00")
// is recorded as real time.
type Schedule struct {
	Location  *time.Location
	Weekly    [7][]Period // indexed by time.Weekday; empty means day off
	Holidays  []Date
	Vacations []DateRange // inclusive
	Blocks    []Interval  // out-of-office
}

// ValidationError lists every problem found by Schedule.Validate, so an
// editor UI can show them all at once instead of one per round trip.
type ValidationError struct {
	Problems []string // one "field: message" entry per problem
}

func (e *ValidationError) Error() string {
	return "schedule: invalid: " + strings.Join(e.Problems, "; ")
}

// Validate checks the schedule's invariants. Slots, Check and
// WorkingIntervals assume a valid schedule (they skip malformed periods but do
// not report them), so call Validate when a schedule is saved. The error, if
// any, is a *ValidationError.
func (s Schedule) Validate() error {
	var probs []string
	add := func(format string, args ...any) { probs = append(probs, fmt.Sprintf(format, args...)) }
	if s.Location == nil {
		add("Location: missing")
	}
	for wd, periods := range s.Weekly {
		day := time.Weekday(wd)
		for i, p := range periods {
			switch {
			case p.Start < 0 || p.Start > endOfDay || p.End < 0 || p.End > endOfDay:
				add("Weekly[%s][%d]: %s outside 00:00..24:00", day, i, p)
			case p.Start >= p.End:
				add("Weekly[%s][%d]: start %s not before end %s", day, i, p.Start, p.End)
			}
		}
		// Overlap check on well-formed periods; touching (12:00 end, 12:00
		// start) is fine. Compare with the furthest-reaching earlier period so
		// that 09:00–17:00 vs 12:00–13:00 is caught behind 10:00–11:00.
		sorted := sortedWeekly(&[7][]Period{periods})[0]
		for i := 1; i < len(sorted); i++ {
			reach := sorted[0]
			for _, p := range sorted[:i] {
				if p.End > reach.End {
					reach = p
				}
			}
			if sorted[i].Start < reach.End {
				add("Weekly[%s]: periods %s and %s overlap", day, reach, sorted[i])
			}
		}
	}
	for i, h := range s.Holidays {
		if !h.valid() {
			add("Holidays[%d]: invalid date %v", i, h)
		}
	}
	for i, v := range s.Vacations {
		switch {
		case !v.From.valid() || !v.To.valid():
			add("Vacations[%d]: invalid date in %v..%v", i, v.From, v.To)
		case v.To.Before(v.From):
			add("Vacations[%d]: From %v after To %v", i, v.From, v.To)
		}
	}
	for i, b := range s.Blocks {
		if !b.Start.Before(b.End) {
			add("Blocks[%d]: start %v not before end %v", i, b.Start, b.End)
		}
	}
	if len(probs) > 0 {
		return &ValidationError{Problems: probs}
	}
	return nil
}

// DayOff reports whether the specialist does not work at all on local date d:
// a holiday, a vacation day, or a weekday without periods.
func (s Schedule) DayOff(d Date) bool {
	why, _ := s.offBecause(d)
	return why != working
}

type offReason int

const (
	working offReason = iota
	weeklyOff
	holiday
	vacation
)

// offBecause says why d is off (or working); for vacation it also returns
// the index of the vacation.
func (s Schedule) offBecause(d Date) (offReason, int) {
	if len(s.Weekly[d.Weekday()]) == 0 {
		return weeklyOff, 0
	}
	for i, h := range s.Holidays {
		if h == d {
			return holiday, i
		}
	}
	for i, v := range s.Vacations {
		if v.contains(d) {
			return vacation, i
		}
	}
	return working, 0
}

// dayOffReason explains why d is off, or returns "" for a working day.
func (s Schedule) dayOffReason(d Date) string {
	switch why, i := s.offBecause(d); why {
	case weeklyOff:
		return fmt.Sprintf("%s %v is a day off", d.Weekday(), d)
	case holiday:
		return fmt.Sprintf("%v is a holiday", d)
	case vacation:
		v := s.Vacations[i]
		return fmt.Sprintf("%v is in vacation %v..%v", d, v.From, v.To)
	}
	return ""
}

// WorkingIntervals returns the real-time working intervals (weekly periods on
// days that are not off; out-of-office blocks are NOT subtracted, so a
// calendar can draw them separately) that intersect [from, to), in order.
// Intervals are returned whole, not clipped to [from, to). On DST days an
// interval's length differs from its wall-clock length (09:00–12:00 spanning
// a spring-forward gap lasts two hours).
func (s Schedule) WorkingIntervals(from, to time.Time) []Interval {
	if s.Location == nil || !from.Before(to) {
		return nil
	}
	q := Interval{from, to}
	weekly := sortedWeekly(&s.Weekly)
	var out []Interval
	last := DateOf(to.In(s.Location))
	for d := DateOf(from.In(s.Location)); !last.Before(d); d = d.AddDays(1) {
		if s.DayOff(d) {
			continue
		}
		for _, p := range weekly[d.Weekday()] {
			iv := s.periodInterval(d, p)
			if iv.Overlaps(q) {
				out = append(out, iv)
			}
		}
	}
	return out
}

// periodInterval is period p on date d as real time.
func (s Schedule) periodInterval(d Date, p Period) Interval {
	return Interval{boundary(s.Location, d, p.Start), boundary(s.Location, d, p.End)}
}

// sortedWeekly returns copies of the weekly periods sorted by start, without
// malformed periods, so generated slots come out in time order.
func sortedWeekly(w *[7][]Period) [7][]Period {
	var out [7][]Period
	for i, ps := range w {
		for _, p := range ps {
			if p.valid() {
				out[i] = append(out[i], p)
			}
		}
		slices.SortFunc(out[i], func(a, b Period) int { return int(a.Start - b.Start) })
	}
	return out
}
