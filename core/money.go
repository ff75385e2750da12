package core

import (
	"context"
	"strings"
	"time"
)

// PaymentInput records money received (or refunded, negative) for an appointment.
type PaymentInput struct {
	AmountMinor int64  `json:"amount_minor" doc:"positive: payment; negative: refund"`
	Method      string `json:"method" doc:"cash, card, transfer or other"`
	Note        string `json:"note"`
}

var paymentMethods = map[string]bool{"cash": true, "card": true, "transfer": true, "other": true, "stripe": true}

// AddPayment records a partial or full payment; the balance is price minus
// everything paid. Refunds cannot take the paid amount below zero.
func (s *Service) AddPayment(ctx context.Context, p Principal, appointmentID string, in PaymentInput) (Appointment, Payment, error) {
	if err := p.Require(RoleDirector, RoleAdministrator, RoleSpecialist); err != nil {
		return Appointment{}, Payment{}, err
	}
	a, err := s.GetAppointment(ctx, p, appointmentID)
	if err != nil {
		return Appointment{}, Payment{}, err
	}
	if err := canActOn(p, a); err != nil {
		return Appointment{}, Payment{}, err
	}
	var f Fields
	in.Method = strings.ToLower(strings.TrimSpace(in.Method))
	f.Check(in.AmountMinor == 0, "amount_minor", "must not be zero")
	f.Check(!paymentMethods[in.Method], "method", "must be cash, card, transfer or other")
	f.Check(a.PaidMinor+in.AmountMinor < 0, "amount_minor", "a refund cannot exceed what was paid")
	f.Check(len(in.Note) > 1000, "note", "is too long")
	if err := f.Err("invalid payment"); err != nil {
		return Appointment{}, Payment{}, err
	}
	pay := Payment{ID: NewID(), OrgID: p.OrgID, AppointmentID: a.ID, AmountMinor: in.AmountMinor, Currency: a.Currency,
		Method: in.Method, Note: in.Note, CreatedAt: s.Now()}
	a, _, err = s.store.AddPayment(ctx, pay)
	return a, pay, err
}

// ListPayments lists an appointment's payments.
func (s *Service) ListPayments(ctx context.Context, p Principal, appointmentID string) ([]Payment, error) {
	if _, err := s.GetAppointment(ctx, p, appointmentID); err != nil {
		return nil, err
	}
	return s.store.ListPayments(ctx, p.OrgID, appointmentID)
}

// WaitingInput puts a client on the waiting list.
type WaitingInput struct {
	ClientID     string    `json:"client_id"`
	SpecialistID string    `json:"specialist_id"`
	ServiceID    string    `json:"service_id"`
	From         time.Time `json:"from" doc:"start of the wished window"`
	To           time.Time `json:"to" doc:"end of the wished window"`
	Urgent       bool      `json:"urgent"`
	Note         string    `json:"note"`
}

// AddWaiting adds a waiting-list entry. When matching time frees up, staff
// get a waiting_list.matched event.
func (s *Service) AddWaiting(ctx context.Context, p Principal, in WaitingInput) (WaitingEntry, error) {
	if p.Role == RoleMarketer {
		return WaitingEntry{}, Forbidden("marketers do not manage the waiting list")
	}
	var f Fields
	if err := s.checkClient(ctx, p.OrgID, in.ClientID, &f); err != nil {
		return WaitingEntry{}, err
	}
	if !ValidID(in.SpecialistID) {
		f.Add("specialist_id", "is required")
	} else if _, err := s.store.GetStaff(ctx, p.OrgID, in.SpecialistID); ErrorCode(err) == CodeNotFound {
		f.Add("specialist_id", "no such staff member")
	} else if err != nil {
		return WaitingEntry{}, err
	}
	if in.ServiceID != "" {
		if !ValidID(in.ServiceID) {
			f.Add("service_id", "no such service")
		} else if _, err := s.store.GetService(ctx, p.OrgID, in.ServiceID); ErrorCode(err) == CodeNotFound {
			f.Add("service_id", "no such service")
		} else if err != nil {
			return WaitingEntry{}, err
		}
	}
	f.Check(in.From.IsZero(), "from", "is required")
	f.Check(in.To.IsZero(), "to", "is required")
	f.Check(!in.From.IsZero() && !in.To.After(in.From), "to", "must be after from")
	f.Check(!in.To.IsZero() && !in.To.After(s.Now()), "to", "must be in the future")
	if err := f.Err("invalid waiting-list entry"); err != nil {
		return WaitingEntry{}, err
	}
	w := WaitingEntry{ID: NewID(), OrgID: p.OrgID, ClientID: in.ClientID, SpecialistID: in.SpecialistID, ServiceID: in.ServiceID,
		From: in.From.UTC(), To: in.To.UTC(), Urgent: in.Urgent, Note: in.Note, Status: "waiting", CreatedAt: s.Now()}
	return w, s.store.AddWaiting(ctx, w)
}

// ListWaiting lists waiting-list entries, urgent first.
func (s *Service) ListWaiting(ctx context.Context, p Principal, specialistID, status string, pg Page) ([]WaitingEntry, error) {
	switch status {
	case "", "waiting", "matched", "booked", "removed":
	default:
		return nil, Invalid("bad filter", FieldError{Field: "status", Message: "must be waiting, matched, booked or removed"})
	}
	return s.store.ListWaiting(ctx, p.OrgID, specialistID, status, pg)
}

// SetWaitingStatus marks an entry booked or removed.
func (s *Service) SetWaitingStatus(ctx context.Context, p Principal, id, status string) error {
	if status != "booked" && status != "removed" && status != "waiting" {
		return Invalid("bad status", FieldError{Field: "status", Message: "must be booked, removed or waiting"})
	}
	return s.store.UpdateWaitingStatus(ctx, p.OrgID, id, status)
}

// ListEvents reads the domain event outbox; directors only.
func (s *Service) ListEvents(ctx context.Context, p Principal, pg Page) ([]Event, error) {
	if err := p.Require(RoleDirector); err != nil {
		return nil, err
	}
	return s.store.ListEvents(ctx, p.OrgID, pg)
}
