package core

import (
	"context"
	"slices"
	"strconv"
	"strings"
)

// LedgerStore records money entered by hand under the lock of what it
// pays for, so that two payments at once cannot both pass the balance
// check, and lists a sale's ledger.
type LedgerStore interface {
	// PayAppointment records p for its appointment once check accepts the
	// appointment as it is under the lock (check's error aborts it).
	PayAppointment(ctx context.Context, p Payment, check func(Appointment) error) (Appointment, error)
	// PaySale records p for a sale once check accepts the sale as it is
	// under the lock.
	PaySale(ctx context.Context, p Payment, saleID string, check func(PackageSale) error) (PackageSale, error)
	// ListSalePayments lists a sale's ledger entries in order.
	ListSalePayments(ctx context.Context, orgID, saleID string, pg Page) ([]Payment, error)
}

// settleRefund closes a sale whose unused visits are refunded. The client
// keeps the value of the visits used: the price less the unused visits'
// share of it (rounded down, so a refund never exceeds its share). They
// get back what they paid beyond that value, never less than nothing, and
// still owe what they did not pay of it.
func settleRefund(price, paid int64, total, used int) (refund, due int64) {
	if total <= 0 {
		return 0, price
	}
	unused := int64(max(total-used, 0))
	due = price - price*unused/int64(total)
	return max(paid-due, 0), due
}

// Covers reports whether a visit uses a visit of the sale: a completed
// visit, or a missed one when the sale charges missed visits, of a service
// the sale covers, in the sale's currency, starting inside its validity
// window. (Visits left and the sale's status are the caller's concern.)
func (sale PackageSale) Covers(a Appointment) bool {
	switch {
	case a.Status == Missed && !sale.ChargeMissed, a.Status != Completed && a.Status != Missed:
		return false
	case a.ClientID != sale.ClientID || a.Currency != sale.Currency:
		return false
	case a.Start.Before(sale.ValidFrom) || !a.Start.Before(sale.ValidUntil):
		return false
	}
	return slices.Contains(sale.ServiceIDs, a.ServiceID)
}

// pick chooses the visits the sale pays for, oldest first, up to its
// number of visits.
func (sale PackageSale) pick(visits []Appointment) []string {
	out := []string{}
	for _, a := range visits {
		if len(out) == sale.VisitsTotal {
			break
		}
		if sale.Covers(a) {
			out = append(out, a.ID)
		}
	}
	return out
}

// checkAmount refuses a payment that would take the balance (due minus
// paid) below zero and a refund that would take the paid amount below
// zero. Overpayment is refused rather than kept as a credit: a centre
// records what a client pays for something, and a client who pays ahead
// buys a package.
func checkAmount(amount, paid, due int64, currency string) error {
	switch {
	case amount < 0 && paid+amount < 0:
		return Invalid("invalid payment", FieldError{Field: "amount_minor",
			Message: "a refund cannot exceed what was paid (" + formatMinor(paid, currency) + ")"})
	case amount > 0 && paid+amount > due:
		return Invalid("invalid payment", FieldError{Field: "amount_minor",
			Message: "would take the balance below zero: at most " + formatMinor(max(due-paid, 0), currency) + " is due"})
	}
	return nil
}

// formatMinor shows an amount with its currency, in minor units.
func formatMinor(v int64, currency string) string {
	return strconv.FormatInt(v, 10) + " " + currency + " minor units"
}

// currencyMismatch is the field error of an amount in another currency
// than what it is for.
func currencyMismatch(field, given, want, what string) FieldError {
	return FieldError{Field: field, Message: "is " + strings.ToUpper(given) + " but " + what + " is in " + want +
		"; currencies are never mixed"}
}

// checkSameCurrency records a mismatch when a currency is given and is
// not want.
func checkSameCurrency(f *Fields, field, given, want, what string) {
	if given != "" && !strings.EqualFold(given, want) {
		*f = append(*f, currencyMismatch(field, given, want, what))
	}
}

// packageCurrency settles a new package's currency: the one given, else
// the one its services share, else the organization's; every service the
// package covers must be priced in it.
func (s *MoneyService) packageCurrency(ctx context.Context, orgID string, currency *string, serviceIDs []string) error {
	var f Fields
	svcs := make([]Offering, 0, len(serviceIDs))
	for _, id := range serviceIDs {
		sv, err := s.store.GetService(ctx, orgID, id)
		if err != nil {
			return err
		}
		svcs = append(svcs, sv)
	}
	if *currency == "" && len(svcs) > 0 {
		*currency = svcs[0].Currency
	}
	if *currency == "" {
		o, err := s.store.GetOrganization(ctx, orgID)
		if err != nil {
			return err
		}
		*currency = o.Currency
	}
	*currency = strings.ToUpper(*currency)
	checkCurrency(&f, "currency", *currency)
	for _, sv := range svcs {
		if sv.Currency != *currency {
			f.Add("service_ids", "service "+sv.ID+" ("+sv.Name+") is priced in "+sv.Currency+"; a package in "+*currency+" cannot cover it")
		}
	}
	return f.Err("invalid package")
}

// checkPackageServices refuses to sell a package whose services are now
// priced in another currency than the package.
func (s *MoneyService) checkPackageServices(ctx context.Context, pk Package, f *Fields) error {
	for _, id := range pk.ServiceIDs {
		sv, err := s.store.GetService(ctx, pk.OrgID, id)
		if ErrorCode(err) == CodeNotFound {
			continue
		}
		if err != nil {
			return err
		}
		if sv.Currency != pk.Currency {
			f.Add("package_id", "the package is in "+pk.Currency+" but its service "+sv.Name+" is priced in "+sv.Currency+
				"; currencies are never mixed")
		}
	}
	return nil
}

// ListSalePayments lists a sale's ledger: payments, refunds (negative),
// by hand or from the payment provider, oldest first.
func (s *MoneyService) ListSalePayments(ctx context.Context, p Principal, saleID string, pg Page) ([]Payment, error) {
	if _, err := s.GetSale(ctx, p, saleID); err != nil {
		return nil, err
	}
	return s.ledger.ListSalePayments(ctx, p.OrgID, saleID, pg)
}
