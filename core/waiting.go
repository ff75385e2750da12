package core

import (
	"context"
	"time"
)

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
func (s *BookingService) AddWaiting(ctx context.Context, p Principal, in WaitingInput) (WaitingEntry, error) {
	if p.Role == RoleMarketer {
		return WaitingEntry{}, Forbidden("marketers do not manage the waiting list")
	}
	var f Fields
	if err := checkClient(ctx, s.policy, s.store, p, in.ClientID, &f); err != nil {
		return WaitingEntry{}, err
	}
	if !requiredID(&f, "specialist_id", "staff", in.SpecialistID) {
		// requiredID recorded why
	} else if st, err := s.store.GetStaff(ctx, p.OrgID, in.SpecialistID); ErrorCode(err) == CodeNotFound || err == nil && s.policy.Staff(p, st) != nil {
		f.Add("specialist_id", "no such staff member")
	} else if err != nil {
		return WaitingEntry{}, err
	} else if p.Role == RoleSpecialist && in.SpecialistID != p.StaffID {
		return WaitingEntry{}, Forbidden("specialists keep only their own waiting list")
	}
	if in.ServiceID != "" {
		if !ValidID(in.ServiceID) {
			f.Add("service_id", "no such service")
		} else if sv, err := s.store.GetService(ctx, p.OrgID, in.ServiceID); ErrorCode(err) == CodeNotFound ||
			err == nil && serviceVisible(ctx, s.policy, s.store, p, sv) != nil {
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
func (s *BookingService) ListWaiting(ctx context.Context, p Principal, specialistID, status string, pg Page) ([]WaitingEntry, error) {
	switch status {
	case "", "waiting", "matched", "booked", "removed":
	default:
		return nil, Invalid("bad filter", FieldError{Field: "status", Message: "must be waiting, matched, booked or removed"})
	}
	if p.Role == RoleSpecialist {
		if specialistID != "" && specialistID != p.StaffID {
			return nil, Forbidden("specialists see only their own waiting list")
		}
		specialistID = p.StaffID
	}
	return s.store.ListWaiting(ctx, p.OrgID, WaitingFilter{SpecialistID: specialistID, Status: status,
		CenterIDs: s.policy.VisibleCenters(p)}, pg)
}

// SetWaitingStatus marks an entry booked or removed.
func (s *BookingService) SetWaitingStatus(ctx context.Context, p Principal, id, status string) error {
	if status != "booked" && status != "removed" && status != "waiting" {
		return Invalid("bad status", FieldError{Field: "status", Message: "must be booked, removed or waiting"})
	}
	w, err := s.store.GetWaiting(ctx, p.OrgID, id)
	if err != nil {
		return err
	}
	c, err := s.store.GetClient(ctx, p.OrgID, w.ClientID)
	if err != nil {
		return err
	}
	if s.policy.Client(p, c) != nil || p.Role == RoleSpecialist && w.SpecialistID != p.StaffID {
		return NotFound("waiting-list entry")
	}
	if p.Role == RoleMarketer {
		return Forbidden("marketers do not manage the waiting list")
	}
	return s.store.UpdateWaitingStatus(ctx, p.OrgID, id, status)
}

// ListEvents reads the domain event outbox; directors only.
func (s *BookingService) ListEvents(ctx context.Context, p Principal, pg Page) ([]Event, error) {
	if err := p.Require(RoleDirector); err != nil {
		return nil, err
	}
	return s.store.ListEvents(ctx, p.OrgID, pg)
}
