package core

import (
	"context"
	"time"
)

// ReminderView is a reminder as staff see it: when it is due and what
// became of it.
type ReminderView struct {
	ID               string    `json:"id"`
	AppointmentID    string    `json:"appointment_id"`
	AppointmentStart time.Time `json:"appointment_start"`
	ClientID         string    `json:"client_id"`
	SpecialistID     string    `json:"specialist_id"`
	CenterID         string    `json:"center_id,omitempty"`
	OffsetMin        int       `json:"offset_min" doc:"minutes before the visit the policy asks for"`
	Due              time.Time `json:"due_at" doc:"when it goes (or went, or would have gone)"`
	AskConfirm       bool      `json:"ask_confirm"`
	State            string    `json:"state" doc:"scheduled, queued, sent, failed, skipped or void"`
	Reason           string    `json:"reason,omitempty" doc:"why it was skipped, failed or voided"`
	MessageID        string    `json:"message_id,omitempty"`
	Channel          Channel   `json:"channel,omitempty"`

	// Status, MessageStatus and MessageError are what State is read from.
	Status        string        `json:"-"`
	MessageStatus MessageStatus `json:"-"`
	MessageError  string        `json:"-"`
}

// ReminderFilter selects reminders: of one appointment, or due in
// [From, To), of a specialist or a centre.
type ReminderFilter struct {
	AppointmentID string
	SpecialistID  string
	CenterID      string
	From, To      time.Time
	// Date is a day of the organization's zone (instead of From and To);
	// neither means today.
	Date string
	// CenterIDs limits the list to these centres ("" for visits of no
	// centre); nil is every centre.
	CenterIDs []string
}

// ReminderStore reads reminders with their appointments and messages.
type ReminderStore interface {
	GetOrganization(ctx context.Context, orgID string) (Organization, error)
	// ReminderViews lists reminders by filter, sorted by due time (ties by
	// id); p.After is a StartCursor of the due time.
	ReminderViews(ctx context.Context, orgID string, f ReminderFilter, p Page) ([]ReminderView, error)
}

// ReminderService lists scheduled reminders for staff: per appointment
// and per day, each with its state, so "did the client get reminded?" is
// answered without the database.
type ReminderService struct {
	base
	store   ReminderStore
	booking *BookingService
}

// AppointmentReminders lists an appointment's reminders, past and planned,
// for whoever may see the appointment.
func (s *ReminderService) AppointmentReminders(ctx context.Context, p Principal, appointmentID string) ([]ReminderView, error) {
	a, err := s.booking.GetAppointment(ctx, p, appointmentID)
	if err != nil {
		return nil, err
	}
	vs, err := s.store.ReminderViews(ctx, p.OrgID, ReminderFilter{AppointmentID: a.ID}, Page{})
	return withStates(vs), err
}

// ListReminders lists the reminders due in a day (or a range) of the
// visits the caller may see: a specialist's own, others' their centres'.
func (s *ReminderService) ListReminders(ctx context.Context, p Principal, f ReminderFilter, pg Page) ([]ReminderView, error) {
	var fe Fields
	for _, id := range []struct{ field, what, id string }{{"specialist_id", "staff", f.SpecialistID}, {"center_id", "center", f.CenterID}} {
		if id.id != "" {
			requiredID(&fe, id.field, id.what, id.id)
		}
	}
	if err := orgDay(ctx, s.store, p.OrgID, f.Date, s.Now(), &f.From, &f.To, &fe); err != nil {
		return nil, err
	}
	if err := fe.Err("bad filter"); err != nil {
		return nil, err
	}
	if err := s.policy.appointmentScope(p, &f.SpecialistID, &f.CenterIDs); err != nil {
		return nil, err
	}
	f.AppointmentID = ""
	vs, err := s.store.ReminderViews(ctx, p.OrgID, f, pg)
	return withStates(vs), err
}

func withStates(vs []ReminderView) []ReminderView {
	for i := range vs {
		vs[i].State, vs[i].Reason = ReminderState(vs[i])
	}
	return vs
}

// ReminderState is what became of a reminder: scheduled (not due yet),
// queued (its message waits to be sent), sent, failed, skipped (with why:
// no time before the visit, an opt-out, no channel) or void (the visit
// moved, was cancelled or changed).
func ReminderState(v ReminderView) (state, reason string) {
	switch v.Status {
	case "scheduled":
		return "scheduled", ""
	case "skipped":
		return "skipped", v.Reason
	case "void":
		return "void", "the visit was moved, cancelled or changed"
	}
	switch v.MessageStatus {
	case MsgSent, MsgDelivered:
		return "sent", ""
	case MsgFailed, MsgUndelivered:
		return "failed", v.MessageError
	case MsgSkipped:
		return "skipped", v.MessageError
	}
	return "queued", ""
}
