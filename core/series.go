package core

import "time"

// Events and message kinds of a series as a whole: a series booked or
// moved is told in one message listing its dates, not one per visit.
const (
	EventSeriesBooked EventKind = "appointment.series_booked"
	EventSeriesMoved  EventKind = "appointment.series_moved"

	KindSeriesBooked       = "appointment.series"       // to the client: the visits of a series, confirmed or requested
	KindSeriesMoved        = "appointment.series_moved" // to the client: the new dates of moved visits
	KindStaffSeriesRequest = "staff.series_request"     // to staff: a client asked for a series
)

// seriesMark adds the in-series mark to an occurrence's event when the
// change concerns several visits.
func seriesMark(several bool, extra func(*AppointmentChanged)) func(*AppointmentChanged) {
	return func(d *AppointmentChanged) {
		if extra != nil {
			extra(d)
		}
		d.InSeries = several
	}
}

// seriesEvent reports a change of several visits of a series at once: the
// first visit names the appointment, "starts" lists every visit's start
// (and "previous_starts" where they were before a move), comma-separated
// RFC 3339.
func (s *BookingService) seriesEvent(p Principal, kind EventKind, as []Appointment, previous []time.Time) Event {
	starts := make([]time.Time, len(as))
	for i, a := range as {
		starts[i] = a.Start.UTC()
	}
	var prev []time.Time
	for _, t := range previous {
		prev = append(prev, t.UTC())
	}
	return s.event(p, kind, as[0], func(d *AppointmentChanged) {
		d.SeriesID, d.Starts, d.PreviousStarts = as[0].SeriesID, starts, prev
	})
}

// planSeries decides who is told of series events, and silences the
// events of their occurrences; ok is false for any other event.
func planSeries(e Event) (intents []Intent, ok bool) {
	change, _ := e.Data.(*AppointmentChanged)
	if change == nil {
		return nil, false
	}
	client := Recipient{Kind: "client", ID: change.ClientID}
	switch {
	case change.InSeries:
		return nil, true
	case e.Kind == EventSeriesBooked && change.Status == Pending:
		return []Intent{{KindSeriesBooked, client}, {KindStaffSeriesRequest, Recipient{Kind: "staff", ID: change.SpecialistID}}}, true
	case e.Kind == EventSeriesBooked:
		starts := change.Starts
		if len(starts) == 0 || !e.OccurredAt.IsZero() && starts[len(starts)-1].Before(e.OccurredAt) {
			return nil, true // every visit has started: nothing to confirm
		}
		return []Intent{{KindSeriesBooked, client}}, true
	case e.Kind == EventSeriesMoved:
		return []Intent{{KindSeriesMoved, client}}, true
	}
	return nil, false
}
