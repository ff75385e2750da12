package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bookinggw/gateway/core"
)

// lockAppt reads an appointment for update: PostgreSQL locks the row;
// SQLite's write transaction already holds the database's write lock.
func (s *Store) lockAppt(ctx context.Context, tx *sql.Tx, orgID, id string) (core.Appointment, error) {
	q := `SELECT ` + apptCols + ` FROM appointments WHERE org_id = $1 AND id = $2`
	if s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	a, err := scanAppt(tx.QueryRowContext(ctx, q, orgID, id))
	if err != nil {
		return a, notFound(err, "appointment")
	}
	return a, nil
}

// PayAppointment records a payment entered by hand once check accepts the
// appointment under its lock; the paid amount is re-summed from the ledger
// and the payment raises its event in the same transaction.
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
		if _, err := addLedger(ctx, tx, p, a.ClientID, ""); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE appointments SET paid_minor = (SELECT COALESCE(SUM(amount_minor), 0) FROM ledger
			WHERE appointment_id = $1), updated_at = $2 WHERE org_id = $3 AND id = $1`, a.ID, ms(p.CreatedAt), p.OrgID); err != nil {
			return fmt.Errorf("store: pay appointment: %w", err)
		}
		if out, err = getAppt(ctx, tx, p.OrgID, a.ID); err != nil {
			return err
		}
		return addEvent(ctx, tx, core.Event{ID: core.NewID(), OrgID: p.OrgID, Kind: core.EventPaymentAdded, OccurredAt: p.CreatedAt,
			Data: paymentData(p, map[string]string{"appointment_id": a.ID, "client_id": a.ClientID, "specialist_id": a.SpecialistID})})
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
		if _, err := addLedger(ctx, tx, p, sale.ClientID, sale.ID); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `UPDATE package_sales SET paid_minor = (SELECT COALESCE(SUM(amount_minor), 0) FROM ledger
			WHERE sale_id = $1) WHERE org_id = $2 AND id = $1`, sale.ID, p.OrgID); err != nil {
			return fmt.Errorf("store: pay sale: %w", err)
		}
		if err := addEvent(ctx, tx, core.Event{ID: core.NewID(), OrgID: p.OrgID, Kind: core.EventPaymentAdded, OccurredAt: p.CreatedAt,
			Data: paymentData(p, map[string]string{"sale_id": sale.ID, "client_id": sale.ClientID})}); err != nil {
			return err
		}
		out, err = getSale(ctx, tx, p.OrgID, sale.ID)
		return err
	})
	return out, err
}

// paymentData is the data of a payment's event: the ids of what was paid
// for and the payment itself.
func paymentData(p core.Payment, ref map[string]string) map[string]string {
	ref["payment_id"], ref["amount_minor"], ref["currency"], ref["method"] = p.ID, fmt.Sprint(p.AmountMinor), p.Currency, p.Method
	return ref
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
