package core

import (
	"context"
	"strings"
)

// PaymentInput records money received (or refunded, negative) for an appointment.
type PaymentInput struct {
	AmountMinor int64  `json:"amount_minor" doc:"positive: payment; negative: refund"`
	Method      string `json:"method" doc:"cash, card, transfer or other"`
	Note        string `json:"note"`
	Currency    string `json:"currency" doc:"optional; when given it must be the currency of what is paid for"`
}

var paymentMethods = map[string]bool{"cash": true, "card": true, "transfer": true, "other": true, "stripe": true}

// AddPayment records a partial or full payment; the balance is price minus
// everything paid (nothing is due for a visit a package pays for). The
// amount is checked under the appointment's lock: a payment beyond the
// balance and a refund beyond what was paid are refused.
func (s *MoneyService) AddPayment(ctx context.Context, p Principal, appointmentID string, in PaymentInput) (Appointment, Payment, error) {
	if err := p.Require(RoleDirector, RoleAdministrator, RoleSpecialist); err != nil {
		return Appointment{}, Payment{}, err
	}
	a, err := getAppointment(ctx, s.policy, s.store, p, appointmentID)
	if err != nil {
		return Appointment{}, Payment{}, err
	}
	if err := s.policy.ChangeAppointment(p, a); err != nil {
		return Appointment{}, Payment{}, err
	}
	var f Fields
	in.Method = strings.ToLower(strings.TrimSpace(in.Method))
	f.Check(in.AmountMinor == 0, "amount_minor", "must not be zero")
	f.Check(!paymentMethods[in.Method], "method", "must be cash, card, transfer or other")
	checkSameCurrency(&f, "currency", in.Currency, a.Currency, "the appointment")
	f.Check(len(in.Note) > 1000, "note", "is too long")
	if err := f.Err("invalid payment"); err != nil {
		return Appointment{}, Payment{}, err
	}
	pay := Payment{ID: NewID(), OrgID: p.OrgID, AppointmentID: a.ID, AmountMinor: in.AmountMinor, Currency: a.Currency,
		Method: in.Method, Note: in.Note, CreatedAt: s.Now()}
	a, err = s.ledger.PayAppointment(ctx, pay, func(cur Appointment) error {
		due := cur.PriceMinor
		if cur.PackageSaleID != "" {
			due = 0 // the package pays for the visit
		}
		return checkAmount(in.AmountMinor, cur.PaidMinor, due, cur.Currency)
	})
	return a, pay, err
}

// ListPayments lists an appointment's payments.
func (s *MoneyService) ListPayments(ctx context.Context, p Principal, appointmentID string) ([]Payment, error) {
	if _, err := getAppointment(ctx, s.policy, s.store, p, appointmentID); err != nil {
		return nil, err
	}
	return s.store.ListPayments(ctx, p.OrgID, appointmentID)
}
