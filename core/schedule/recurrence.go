package schedule

import "time"

// Occurrences returns n starts of a series that repeats every `weeks` weeks at
// the same local wall-clock time as first (in loc), so a 10:00 visit stays
// 10:00 local across DST changes (its UTC instant shifts instead).
//
// The first element is first itself (expressed in loc). Later occurrences
// follow RFC 5545 (iCalendar) so they match what calendar apps show: an
// ambiguous wall time (clocks fall back) means its first occurrence, and a
// wall time that does not exist (clocks spring forward) is read with the UTC
// offset in force before the gap, i.e. shifted later by the gap's length
// (02:30 on a 02:00→03:00 night becomes 03:30).
//
// loc nil means first.Location(). It returns nil if weeks <= 0 or n <= 0.
func Occurrences(first time.Time, loc *time.Location, weeks, n int) []time.Time {
	if weeks <= 0 || n <= 0 {
		return nil
	}
	if loc == nil {
		loc = first.Location()
	}
	first = first.In(loc)
	wall := naive(first)
	out := make([]time.Time, 0, n)
	out = append(out, first)
	for i := 1; i < n; i++ {
		w := wall.AddDate(0, 0, 7*weeks*i)
		r := resolve(loc, w)
		t := r.t
		if !r.exact {
			t = w.Add(-time.Duration(r.offBefore) * time.Second).In(loc)
		}
		out = append(out, t)
	}
	return out
}
