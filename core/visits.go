package core

import (
	"context"
	"time"
)

// seatedAlready is the conflict of a client booked again into a group
// lesson (same specialist, service and start) they already hold a seat
// in: a client holds one seat per lesson unless the request asks for more
// seats explicitly. Staff override does not lift it; an explicit seats
// count does. ignore is the appointment being moved.
func (s *BookingService) seatedAlready(ctx context.Context, tx BookingTx, bc bookingContext, start time.Time, clientID, ignore string, explicit bool) ([]ConflictItem, error) {
	if explicit || bc.svc.Capacity <= 1 {
		return nil, nil // one seat per session: a second booking is an overlap already
	}
	held, err := tx.Holding(ctx, OwnerStaff, bc.specialist.ID, start, start.Add(bc.svc.Spec().Duration))
	if err != nil {
		return nil, err
	}
	for _, a := range held {
		if a.ID != ignore && a.ClientID == clientID && a.ServiceID == bc.svc.ID && a.Start.Equal(start) {
			return []ConflictItem{{Kind: "already_booked", Extra: a.ID,
				Detail: "the client already holds a seat in this lesson; give seats explicitly to book more"}}, nil
		}
	}
	return nil, nil
}

// checkCompletion refuses to complete a visit that has not started yet,
// unless staff pass an explicit override.
func checkCompletion(a Appointment, in StatusChange, now time.Time) error {
	if in.Status != Completed || !a.Start.After(now) || in.Override {
		return nil
	}
	return Conflict("the visit has not started yet; pass override to complete it anyway",
		ConflictItem{Kind: "not_started", Detail: "the visit starts at " + a.Start.UTC().Format(time.RFC3339), Extra: a.ID})
}

// isUndo reports whether a status change undoes a completion or a no-show
// (back to accepted). It applies to the visit it names only, never to the
// rest of a series.
func isUndo(from, to Status) bool { return to == Accepted && (from == Completed || from == Missed) }

// MessageKey is the dedupe key of the message an intent makes of an
// event: one per event, kind and recipient, except the thank-you of a
// completed visit, said once per visit, so undoing and redoing a
// completion sends no second one.
func MessageKey(e Event, in Intent) string {
	if id := e.Refs().AppointmentID; in.Kind == KindCompleted && id != "" {
		return "visit:" + id + ":" + in.Kind + ":" + in.Recipient.ID
	}
	return e.ID + ":" + in.Kind + ":" + in.Recipient.ID
}
