package schedule

import (
	"fmt"
	"strings"
	"time"
)

// ConflictKind classifies why a proposed appointment cannot be accepted as is.
// The values are stable strings so they can be sent to clients unchanged.
type ConflictKind string

// Conflict kinds reported when checking a proposed appointment.
const (
	OutsideSchedule ConflictKind = "outside_schedule" // not entirely within one working period, or on a holiday/vacation/day off
	OutOfOffice     ConflictKind = "out_of_office"    // overlaps an out-of-office block
	InPast          ConflictKind = "in_past"          // starts before now
	Overlap         ConflictKind = "overlap"          // overlaps another booking (capacity 1)
	OverCapacity    ConflictKind = "over_capacity"    // seats taken + wanted > capacity (or > 1 seat wanted at capacity 1)
	// InvalidRequest means the inputs themselves are unusable (no location,
	// Duration <= 0, negative capacity or seats), so nothing else was checked.
	// It exists so that bad input is never mistaken for "no conflicts".
	InvalidRequest ConflictKind = "invalid_request"
)

// Conflict is one reason a proposed appointment is not acceptable. With lists
// the offending intervals (blocks or bookings) where there are any, so a UI
// can highlight them.
type Conflict struct {
	Kind   ConflictKind
	Detail string
	With   []Interval
}

// Check reports every conflict of putting seats seats (0 means 1) at
// [start, start+spec.Duration); an empty result means the appointment is
// acceptable. All applicable kinds are reported together, in the order the
// constants are declared, so staff see everything wrong at once.
//
// OutsideSchedule: the interval must lie within a single working period of
// the local date of start; it need not be aligned to the slot grid (staff may
// book at any minute), so spec.Interval is ignored.
//
// Capacity 1: every overlapping booking is an Overlap (and asking for more
// than one seat is OverCapacity). Capacity > 1: bookings overlapping the
// proposed session take their seats, and OverCapacity is reported when taken
// + wanted exceeds capacity; Overlap is not reported.
//
// When rescheduling, leave the booking being moved out of booked.
func Check(s Schedule, spec Spec, start time.Time, seats int, now time.Time, booked []Booking) []Conflict {
	if spec.Capacity == 0 {
		spec.Capacity = 1
	}
	switch {
	case s.Location == nil:
		return []Conflict{{Kind: InvalidRequest, Detail: "schedule has no location"}}
	case spec.Duration <= 0 || spec.Capacity < 0:
		return []Conflict{{Kind: InvalidRequest, Detail: fmt.Sprintf("invalid service spec (duration %v, capacity %d)", spec.Duration, spec.Capacity)}}
	case seats < 0:
		return []Conflict{{Kind: InvalidRequest, Detail: fmt.Sprintf("invalid seat count %d", seats)}}
	case seats == 0:
		seats = 1
	}
	appt := Interval{start, start.Add(spec.Duration)}
	var out []Conflict

	if detail := s.outsideSchedule(appt); detail != "" {
		out = append(out, Conflict{Kind: OutsideSchedule, Detail: detail})
	}

	var blocks []Interval
	for _, b := range s.Blocks {
		if b.Overlaps(appt) {
			blocks = append(blocks, b)
		}
	}
	if len(blocks) > 0 {
		out = append(out, Conflict{Kind: OutOfOffice, Detail: fmt.Sprintf("overlaps %d out-of-office block(s)", len(blocks)), With: blocks})
	}

	if start.Before(now) {
		out = append(out, Conflict{Kind: InPast, Detail: fmt.Sprintf("starts at %v, before now (%v)", start.In(s.Location), now.In(s.Location))})
	}

	var overlapping []Interval
	taken := 0
	for _, b := range booked {
		if b.Overlaps(appt) {
			overlapping = append(overlapping, b.Interval)
			taken += b.seats()
		}
	}
	if spec.Capacity == 1 {
		if len(overlapping) > 0 {
			out = append(out, Conflict{Kind: Overlap, Detail: fmt.Sprintf("overlaps %d booking(s)", len(overlapping)), With: overlapping})
		}
		if seats > 1 {
			out = append(out, Conflict{Kind: OverCapacity, Detail: fmt.Sprintf("%d seats wanted, capacity 1", seats)})
		}
	} else if taken+seats > spec.Capacity {
		out = append(out, Conflict{
			Kind:   OverCapacity,
			Detail: fmt.Sprintf("%d seats taken + %d wanted > capacity %d", taken, seats, spec.Capacity),
			With:   overlapping,
		})
	}
	return out
}

// outsideSchedule returns why appt is not within one working period of the
// local date of its start, or "" if it is.
func (s Schedule) outsideSchedule(appt Interval) string {
	d := DateOf(appt.Start.In(s.Location))
	if why := s.dayOffReason(d); why != "" {
		return why
	}
	periods := sortedWeekly(&s.Weekly)[d.Weekday()]
	names := make([]string, 0, len(periods))
	for _, p := range periods {
		iv := s.periodInterval(d, p)
		if !appt.Start.Before(iv.Start) && !appt.End.After(iv.End) {
			return ""
		}
		names = append(names, p.String())
	}
	return fmt.Sprintf("%s–%s is not within one working period on %s %v (%s)",
		appt.Start.In(s.Location).Format("15:04"), appt.End.In(s.Location).Format("15:04"),
		d.Weekday(), d, strings.Join(names, ", "))
}
