package schedule

import (
	"slices"
	"time"
)

// Spec describes the service being booked.
type Spec struct {
	Duration time.Duration // service length (real time), > 0
	Interval time.Duration // slot step on the wall clock, > 0; 0 means Duration
	Capacity int           // seats per session (group classes); 0 means 1
}

// normalized applies the documented defaults and reports whether spec is usable.
func (sp Spec) normalized() (Spec, bool) {
	if sp.Interval == 0 {
		sp.Interval = sp.Duration
	}
	if sp.Capacity == 0 {
		sp.Capacity = 1
	}
	return sp, sp.Duration > 0 && sp.Interval > 0 && sp.Capacity > 0
}

// Booking is an existing appointment. Seats <= 0 counts as 1, so a booking
// stored without a seat count still blocks its time.
type Booking struct {
	Interval
	Seats int
}

func (b Booking) seats() int { return max(b.Seats, 1) }

// Slot is a bookable session. SeatsLeft is capacity minus the seats of all
// bookings overlapping the slot; it is always >= 1 for offered slots.
type Slot struct {
	Start, End time.Time
	SeatsLeft  int
}

// Slots lists bookable slots with start in [from, to), sorted by start.
//
// Slot starts are laid on the wall clock: period start, then every
// spec.Interval, separately for each period; a slot is offered only if its
// start wall time exists that day, its real end (start + Duration) is not
// after the period end, it is not on a day off, it overlaps no out-of-office
// block, it does not start before now, and the seats of bookings overlapping
// it are fewer than the capacity. Slot times are in s.Location.
//
// It returns nil if s.Location is nil or spec is invalid (Duration <= 0,
// Interval < 0, Capacity < 0). booked may be in any order; it is not modified.
// Cost is O(slots + b log slots) for b bookings; booked needs no sorting.
func Slots(s Schedule, spec Spec, from, to, now time.Time, booked []Booking) []Slot {
	spec, ok := spec.normalized()
	if !ok || s.Location == nil {
		return nil
	}
	lower := from
	if now.After(lower) {
		lower = now
	}
	if !lower.Before(to) {
		return nil
	}
	slots := candidates(s, spec, lower, to)
	if len(slots) == 0 {
		return nil
	}
	if len(s.Blocks) == 0 && len(booked) == 0 {
		return slices.Clip(slots)
	}
	blocked := newOverlapCounter(slots)
	for _, b := range s.Blocks {
		blocked.add(b, 1)
	}
	taken := newOverlapCounter(slots)
	for _, b := range booked {
		taken.add(b.Interval, b.seats())
	}
	blockedN, takenN := blocked.totals(), taken.totals()

	out := slots[:0]
	for i, sl := range slots {
		if blockedN[i] > 0 {
			continue
		}
		sl.SeatsLeft -= takenN[i]
		if sl.SeatsLeft > 0 {
			out = append(out, sl)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return slices.Clip(out)
}

// candidates lays the slot grid over the working days covering [lower, to),
// before blocks and bookings are taken into account. The result is sorted by
// start (and, since Duration is fixed, by end), which overlapCounter relies on.
func candidates(s Schedule, spec Spec, lower, to time.Time) []Slot {
	loc := s.Location
	weekly := sortedWeekly(&s.Weekly)
	out := make([]Slot, 0, gridSize(s, weekly, spec, DateOf(lower.In(loc)), DateOf(to.In(loc))))
	// A slot's start lies on the local date whose grid produced it (its wall
	// time is before 24:00 and exists), so the local dates of the range's
	// ends bound the dates to visit.
	last := DateOf(to.In(loc))
	for d := DateOf(lower.In(loc)); !last.Before(d); d = d.AddDays(1) {
		if s.DayOff(d) {
			continue
		}
		day := newDayResolver(loc, d)
		for _, p := range weekly[d.Weekday()] {
			periodEnd := day.at(p.End.wall()).t
			for w := p.Start.wall(); w < p.End.wall(); w += spec.Interval {
				r := day.at(w)
				if !r.exact {
					continue // wall time skipped by a spring-forward change
				}
				end := r.t.Add(spec.Duration)
				if end.After(periodEnd) {
					break // starts only move later within a period
				}
				if r.t.Before(lower) {
					continue
				}
				if !r.t.Before(to) {
					break
				}
				out = append(out, Slot{Start: r.t, End: end, SeatsLeft: spec.Capacity})
				// The repeated hour of a fall-back night is working time
				// twice: its second occurrence is offered too, as booking
				// accepts it (Check looks at real time).
				if again := r.again; !again.IsZero() && !again.Add(spec.Duration).After(periodEnd) && again.Before(to) {
					out = append(out, Slot{Start: again, End: again.Add(spec.Duration), SeatsLeft: spec.Capacity})
				}
			}
		}
	}
	// Valid schedules yield sorted output; malformed overlapping periods may not.
	if !slices.IsSortedFunc(out, cmpSlot) {
		slices.SortStableFunc(out, cmpSlot)
	}
	return out
}

// gridSize bounds the number of grid points on working days in [first, last],
// to allocate the candidate slice once.
func gridSize(s Schedule, weekly [7][]Period, spec Spec, first, last Date) int {
	var perDay [7]int
	for wd, ps := range weekly {
		for _, p := range ps {
			perDay[wd] += int((p.End.wall() - p.Start.wall() + spec.Interval - 1) / spec.Interval)
		}
	}
	n := 0
	for d := first; !last.Before(d) && n < 1<<16; d = d.AddDays(1) {
		if !s.DayOff(d) {
			n += perDay[d.Weekday()]
		}
	}
	return min(n, 1<<16) // a hint only; append grows past it if needed
}

func cmpSlot(a, b Slot) int { return a.Start.Compare(b.Start) }

// stamp is an instant as plain integers (Unix seconds, nanoseconds), so the
// binary searches compare machine words instead of time.Time values, without
// the year 1678..2262 limit of UnixNano.
type stamp struct{ sec, nsec int64 }

func stampOf(t time.Time) stamp { return stamp{t.Unix(), int64(t.Nanosecond())} }

func (a stamp) less(b stamp) bool { return a.sec < b.sec || (a.sec == b.sec && a.nsec < b.nsec) }

// overlapCounter totals, per slot, the weight of the spans overlapping it.
//
// Slots are sorted by start and, all lasting spec.Duration, by end too, so
// the slots overlapping a span [bs, be) — those with start < be and end > bs
// — form one contiguous run [i0, i1) found by two binary searches. Each span
// adds its weight to that run through a difference array, so n spans cost
// O(n log slots + slots) with no sorting of the input.
type overlapCounter struct {
	starts, ends []stamp
	diff         []int // len(slots)+1; prefix sums give per-slot totals
}

func newOverlapCounter(slots []Slot) *overlapCounter {
	c := &overlapCounter{
		starts: make([]stamp, len(slots)),
		ends:   make([]stamp, len(slots)),
		diff:   make([]int, len(slots)+1),
	}
	for i, sl := range slots {
		c.starts[i], c.ends[i] = stampOf(sl.Start), stampOf(sl.End)
	}
	return c
}

// add counts weight against every slot overlapping iv; empty iv counts nowhere.
func (c *overlapCounter) add(iv Interval, weight int) {
	if !iv.Start.Before(iv.End) {
		return
	}
	bs, be := stampOf(iv.Start), stampOf(iv.End)
	i0 := firstIndex(c.ends, func(e stamp) bool { return bs.less(e) })    // end > bs
	i1 := firstIndex(c.starts, func(s stamp) bool { return !s.less(be) }) // start >= be
	if i0 < i1 {
		c.diff[i0] += weight
		c.diff[i1] -= weight
	}
}

// totals returns the per-slot sums (reusing diff's storage).
func (c *overlapCounter) totals() []int {
	run := 0
	for i := range c.diff {
		run += c.diff[i]
		c.diff[i] = run
	}
	return c.diff[:len(c.diff)-1]
}

// firstIndex returns the smallest i with ok(xs[i]), for ok monotone
// (false...false true...true), or len(xs).
func firstIndex(xs []stamp, ok func(stamp) bool) int {
	lo, hi := 0, len(xs)
	for lo < hi {
		mid := int(uint(lo+hi) >> 1)
		if ok(xs[mid]) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return lo
}
