package core

import (
	"context"
	"time"

	"github.com/bookinggw/gateway/core/schedule"
)

// AvailabilityQuery asks for free slots of a specialist's service between
// two local dates of the caller's timezone (From inclusive, To inclusive).
type AvailabilityQuery struct {
	SpecialistID string
	ServiceID    string
	RoomID       string
	From, To     string // YYYY-MM-DD
	Timezone     string // the caller's (client's) zone; default the specialist's
}

// Slot is a bookable start, shown in the caller's timezone.
type Slot struct {
	Start     time.Time `json:"start"`
	End       time.Time `json:"end"`
	SeatsLeft int       `json:"seats_left"`
}

// Availability is the answer to an AvailabilityQuery.
type Availability struct {
	Timezone string `json:"timezone"`
	Slots    []Slot `json:"slots"`
}

// maxAvailabilityDays bounds one query, keeping its cost predictable.
const maxAvailabilityDays = 62

// Availability lists free slots: the specialist's working periods on the
// service's slot grid, minus holidays, vacations, out-of-office and booked
// time (or booked seats, for group services), and minus the room's bookings
// when a room is named.
func (s *BookingService) Availability(ctx context.Context, p Principal, q AvailabilityQuery) (Availability, error) {
	var f Fields
	from, err1 := schedule.ParseDate(q.From)
	to, err2 := schedule.ParseDate(q.To)
	f.Check(err1 != nil, "from", "must be a date YYYY-MM-DD")
	f.Check(err2 != nil, "to", "must be a date YYYY-MM-DD")
	if err1 == nil && err2 == nil {
		f.Check(to.Before(from), "to", "must not be before from")
		f.Check(daysBetween(from, to) >= maxAvailabilityDays, "to", "a query spans at most 62 days")
	}
	if q.Timezone != "" {
		checkTimezone(&f, "timezone", q.Timezone)
	}
	if err := f.Err("invalid availability query"); err != nil {
		return Availability{}, err
	}
	bc, err := s.loadBookingContext(ctx, p, q.SpecialistID, q.ServiceID, q.RoomID, "")
	if err != nil {
		return Availability{}, err
	}
	if q.Timezone == "" {
		q.Timezone = bc.sched.Location.String()
	}
	loc, _ := time.LoadLocation(q.Timezone)
	out := Availability{Timezone: q.Timezone, Slots: []Slot{}}
	if !bc.hasSched {
		return out, nil
	}
	start, end := from.In(loc), to.AddDays(1).In(loc)
	held, err := s.store.Busy(ctx, p.OrgID, OwnerStaff, bc.specialist.ID, start, end.Add(24*time.Hour))
	if err != nil {
		return Availability{}, err
	}
	slots := schedule.Slots(bc.sched, bc.svc.Spec(), start, end, s.Now(), asBookings(held, bc.svc))
	if bc.room != nil {
		slots, err = s.roomFilter(ctx, p.OrgID, bc, slots, start, end)
		if err != nil {
			return Availability{}, err
		}
	}
	for _, sl := range slots {
		out.Slots = append(out.Slots, Slot{Start: sl.Start.In(loc), End: sl.End.In(loc), SeatsLeft: sl.SeatsLeft})
	}
	return out, nil
}

// roomFilter drops slots the room cannot take: outside its own hours (if it
// has any) or taken by another session.
func (s *BookingService) roomFilter(ctx context.Context, orgID string, bc bookingContext, slots []schedule.Slot, from, to time.Time) ([]schedule.Slot, error) {
	held, err := s.store.Busy(ctx, orgID, OwnerRoom, bc.room.ID, from, to.Add(24*time.Hour))
	if err != nil {
		return nil, err
	}
	booked := asBookings(held, bc.svc)
	rs := bc.roomSched
	if !bc.roomHas {
		rs = bc.sched
	}
	spec := bc.svc.Spec()
	out := slots[:0]
	for _, sl := range slots {
		if cs := schedule.Check(rs, spec, sl.Start, 1, time.Time{}, booked); len(cs) == 0 {
			out = append(out, sl)
		}
	}
	return out, nil
}

// asBookings turns busy times into the slot arithmetic's bookings for a
// service: bookings of another service block a session entirely (more
// seats than it has); same-service ones take their seats only.
func asBookings(held []Busy, svc Offering) []schedule.Booking {
	out := make([]schedule.Booking, 0, len(held))
	for _, a := range held {
		seats := a.Seats
		if a.ServiceID != svc.ID {
			seats = max(svc.Capacity, 1) + 1
		}
		out = append(out, schedule.Booking{Interval: schedule.Interval{Start: a.Start, End: a.End}, Seats: seats})
	}
	return out
}
