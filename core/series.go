package core

import (
	"strings"
	"time"
)

// Events and message kinds of a series as a whole: a series booked or
// moved is told in one message listing its dates, not one per visit.
const (
	EventSeriesBooked EventKind = "appointment.series_booked"
	EventSeriesMoved  EventKind = "appointment.series_moved"

	KindSeriesBooked       = "appointment.series"       // to the client: the visits of a series, confirmed or requested
	KindSeriesMoved        = "appointment.series_moved" // to the client: the new dates of moved visits
	KindStaffSeriesRequest = "staff.series_request"     // to staff: a client asked for a series
)

// dataInSeries marks an occurrence's event whose news a series event
// carries: consumers that tell people skip it; others (audit, chats) see
// every visit.
const dataInSeries = "in_series"

// seriesMark adds the in-series mark to an occurrence's event data when
// the change concerns several visits.
func seriesMark(several bool, data map[string]string) map[string]string {
	if !several {
		return data
	}
	if data == nil {
		data = map[string]string{}
	}
	data[dataInSeries] = "true"
	return data
}

// seriesEvent reports a change of several visits of a series at once: the
// first visit names the appointment, "starts" lists every visit's start
// (and "previous_starts" where they were before a move), comma-separated
// RFC 3339.
func (s *BookingService) seriesEvent(p Principal, kind EventKind, as []Appointment, previous []time.Time) Event {
	starts := make([]string, len(as))
	for i, a := range as {
		starts[i] = a.Start.UTC().Format(time.RFC3339)
	}
	extra := map[string]string{"series_id": as[0].SeriesID, "starts": strings.Join(starts, ",")}
	if len(previous) > 0 {
		prev := make([]string, len(previous))
		for i, t := range previous {
			prev[i] = t.UTC().Format(time.RFC3339)
		}
		extra["previous_starts"] = strings.Join(prev, ",")
	}
	return s.event(p, kind, as[0], extra)
}

// ParseStarts reads the "starts" or "previous_starts" list of a series
// event.
func ParseStarts(list string) []time.Time {
	var out []time.Time
	for _, s := range strings.Split(list, ",") {
		if t, err := time.Parse(time.RFC3339, s); err == nil {
			out = append(out, t)
		}
	}
	return out
}

// planSeries decides who is told of series events, and silences the
// events of their occurrences; ok is false for any other event.
func planSeries(e Event) (intents []Intent, ok bool) {
	client := Recipient{Kind: "client", ID: e.Data["client_id"]}
	switch {
	case e.Data[dataInSeries] == "true":
		return nil, true
	case e.Kind == EventSeriesBooked && e.Data["status"] == string(Pending):
		return []Intent{{KindSeriesBooked, client}, {KindStaffSeriesRequest, Recipient{Kind: "staff", ID: e.Data["specialist_id"]}}}, true
	case e.Kind == EventSeriesBooked:
		starts := ParseStarts(e.Data["starts"])
		if len(starts) == 0 || !e.OccurredAt.IsZero() && starts[len(starts)-1].Before(e.OccurredAt) {
			return nil, true // every visit has started: nothing to confirm
		}
		return []Intent{{KindSeriesBooked, client}}, true
	case e.Kind == EventSeriesMoved:
		return []Intent{{KindSeriesMoved, client}}, true
	}
	return nil, false
}
