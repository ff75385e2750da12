package schedule

import "time"

// Wall-clock resolution. A "naive" time is a wall-clock reading stored as a
// UTC time.Time (e.g. 02:30 local is 02:30Z); resolve maps it to the real
// instant(s) in a location.

// naive returns t's wall clock in its own location, expressed as UTC.
func naive(t time.Time) time.Time {
	_, off := t.Zone()
	return t.UTC().Add(time.Duration(off) * time.Second)
}

// resolved is the outcome of mapping a wall-clock reading to an instant.
type resolved struct {
	// t is the first instant showing the wall time when exact; otherwise the
	// wall time falls in a gap and t is the instant the gap ends (the first
	// instant whose wall clock is past the requested one).
	t     time.Time
	exact bool
	// offBefore is, for a gap, the UTC offset in seconds just before it.
	offBefore int
	// again is, for an ambiguous wall time (clocks fell back), its second
	// occurrence; zero otherwise.
	again time.Time
}

// No real zone changes offset by more than a day, so a transition further
// away than this cannot make a wall time ambiguous or nonexistent.
const transitionMargin = 48 * time.Hour

// resolve maps wall-clock reading w (naive) to an instant in loc.
//
// time.Date alone is not enough: for an ambiguous time it returns the first
// occurrence west of UTC but the second east of UTC, and for a gap it
// normalises forward or backward depending on the sign of the offset.
func resolve(loc *time.Location, w time.Time) resolved {
	y, mo, d := w.Date()
	h, mi, s := w.Clock()
	t := time.Date(y, mo, d, h, mi, s, w.Nanosecond(), loc)
	start, end := t.ZoneBounds()
	if (start.IsZero() || t.Sub(start) > transitionMargin) && (end.IsZero() || end.Sub(t) > transitionMargin) {
		return resolved{t: t, exact: true} // fast path: no transition nearby
	}
	// Near a transition: every offset in effect around t that reproduces w is
	// an occurrence of w; keep the earliest.
	_, off := t.Zone()
	var best, last time.Time
	found := false
	try := func(o int) {
		c := w.Add(-time.Duration(o) * time.Second).In(loc)
		if _, co := c.Zone(); co == o {
			if !found || c.Before(best) {
				best = c
			}
			if !found || c.After(last) {
				last = c
			}
			found = true
		}
	}
	try(off)
	if !start.IsZero() {
		_, o := start.Add(-time.Nanosecond).Zone()
		try(o)
	}
	if !end.IsZero() {
		_, o := end.Zone()
		try(o)
	}
	if found {
		r := resolved{t: best, exact: true}
		if last.After(best) {
			r.again = last
		}
		return r
	}
	// w is in a gap. time.Date put t on one side of it; the transition is the
	// bound of t's zone on the side facing w.
	if naive(t).After(w) {
		if start.IsZero() {
			return resolved{t: t}
		}
		_, o := start.Add(-time.Nanosecond).Zone()
		return resolved{t: start, offBefore: o}
	}
	if end.IsZero() {
		return resolved{t: t, offBefore: off}
	}
	return resolved{t: end, offBefore: off}
}

// boundary is the instant of wall-clock c on date d in loc, as used for
// period bounds: the first instant whose wall clock reads c or later on that
// date (first occurrence when ambiguous, end of the gap when nonexistent).
// c == 24:00 gives the first instant of the next day.
func boundary(loc *time.Location, d Date, c Clock) time.Time {
	return resolve(loc, d.naive().Add(c.wall())).t
}

// dayResolver resolves wall times on one local date. Most days are nowhere
// near a zone transition; for those the offset is fixed and a wall time maps
// to an instant by subtraction, skipping resolve's lookups (Slots resolves
// every slot start, so this is its hot path).
type dayResolver struct {
	loc      *time.Location
	midnight time.Time     // the date's midnight, naive
	off      time.Duration // valid when fixed
	fixed    bool
}

func newDayResolver(loc *time.Location, d Date) dayResolver {
	r := dayResolver{loc: loc, midnight: d.naive()}
	noon := time.Date(d.Year, d.Month, d.Day, 12, 0, 0, 0, loc)
	start, end := noon.ZoneBounds()
	// The day's wall times lie within noon ± 12h (+ offset changes, < 24h).
	if (start.IsZero() || noon.Sub(start) > transitionMargin) && (end.IsZero() || end.Sub(noon) > transitionMargin) {
		_, off := noon.Zone()
		r.off, r.fixed = time.Duration(off)*time.Second, true
	}
	return r
}

// at resolves wall-clock offset w from local midnight, like resolve.
func (r dayResolver) at(w time.Duration) resolved {
	if r.fixed {
		return resolved{t: r.midnight.Add(w - r.off).In(r.loc), exact: true}
	}
	return resolve(r.loc, r.midnight.Add(w))
}
