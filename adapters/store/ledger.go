package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bookinggw/gateway/core"
)

// PayAppointment records a payment entered by hand once check accepts the
// appointment under its lock (addApptPayment: the paid amount re-summed
// from the ledger, the event in the same transaction).
func (s *Store) PayAppointment(ctx context.Context, p core.Payment, check func(core.Appointment) error) (core.Appointment, error) {
	var out core.Appointment
	err := s.tx(ctx, func(tx *sql.Tx) error {
		a, err := s.lockAppt(ctx, tx, p.OrgID, p.AppointmentID)
		if err != nil {
			return err
		}
		if err := check(a); err != nil {
			return err
		}
		out, _, err = s.addApptPayment(ctx, tx, a, p)
		return err
	})
	return out, err
}

// PaySale records a payment for a sale entered by hand once check accepts
// the sale under its lock.
func (s *Store) PaySale(ctx context.Context, p core.Payment, saleID string, check func(core.PackageSale) error) (core.PackageSale, error) {
	var out core.PackageSale
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sale, err := s.lockSale(ctx, tx, p.OrgID, saleID)
		if err != nil {
			return err
		}
		if err := check(sale); err != nil {
			return err
		}
		out, _, err = s.addSalePayment(ctx, tx, sale, p)
		return err
	})
	return out, err
}

// ListSalePayments lists a sale's ledger entries in creation order.
func (s *Store) ListSalePayments(ctx context.Context, orgID, saleID string, pg core.Page) ([]core.Payment, error) {
	limit, after := pageArgs(pg)
	rows, err := s.r.QueryContext(ctx, `SELECT id, org_id, appointment_id, sale_id, amount_minor, currency, method, note, provider_ref, created_at
		FROM ledger WHERE org_id = $1 AND sale_id = $2 AND id > $3 ORDER BY id LIMIT $4`, orgID, saleID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sale payments: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.Payment, error) {
		var p core.Payment
		var created int64
		err := r.Scan(&p.ID, &p.OrgID, &p.AppointmentID, &p.SaleID, &p.AmountMinor, &p.Currency, &p.Method, &p.Note, &p.ProviderRef, &created)
		p.CreatedAt = fromMS(created)
		return p, err
	})
}
