package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/bookinggw/gateway/core"
)

func ids(v []string) string {
	if v == nil {
		v = []string{}
	}
	return jsonText(v)
}

// CreatePackage writes a package.
func (s *Store) CreatePackage(ctx context.Context, p core.Package) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO packages (`+pkgCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		p.ID, p.OrgID, p.Name, p.Visits, p.ValidityDays, p.PriceMinor, p.Currency, ids(p.ServiceIDs), p.Active, ms(p.CreatedAt), p.ChargeMissed)
	if err != nil {
		return fmt.Errorf("store: create package: %w", err)
	}
	return nil
}

const pkgCols = `id, org_id, name, visits, validity_days, price_minor, currency, service_ids, active, created_at, charge_missed`

func scanPkg(row interface{ Scan(...any) error }) (core.Package, error) {
	var p core.Package
	var svc string
	var created int64
	if err := row.Scan(&p.ID, &p.OrgID, &p.Name, &p.Visits, &p.ValidityDays, &p.PriceMinor, &p.Currency, &svc, &p.Active, &created,
		&p.ChargeMissed); err != nil {
		return p, err
	}
	p.CreatedAt = fromMS(created)
	return p, json.Unmarshal([]byte(svc), &p.ServiceIDs)
}

// GetPackage reads a package.
func (s *Store) GetPackage(ctx context.Context, orgID, id string) (core.Package, error) {
	p, err := scanPkg(s.r.QueryRowContext(ctx, `SELECT `+pkgCols+` FROM packages WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return p, notFound(err, "package")
	}
	return p, nil
}

// ListPackages lists packages.
func (s *Store) ListPackages(ctx context.Context, orgID string, pg core.Page) ([]core.Package, error) {
	limit, after := pageArgs(pg)
	rows, err := s.r.QueryContext(ctx, `SELECT `+pkgCols+` FROM packages WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: packages: %w", err)
	}
	return collect(rows, scanPkg)
}

const saleCols = `id, org_id, package_id, client_id, visits_total, visits_used, service_ids, valid_from, valid_until, price_minor, currency,
	paid_minor, status, created_at, due_minor, charge_missed`

func scanSale(row interface{ Scan(...any) error }) (core.PackageSale, error) {
	var s core.PackageSale
	var svc string
	var from, until, created int64
	if err := row.Scan(&s.ID, &s.OrgID, &s.PackageID, &s.ClientID, &s.VisitsTotal, &s.VisitsUsed, &svc, &from, &until, &s.PriceMinor,
		&s.Currency, &s.PaidMinor, &s.Status, &created, &s.DueMinor, &s.ChargeMissed); err != nil {
		return s, err
	}
	s.ValidFrom, s.ValidUntil, s.CreatedAt = fromMS(from), fromMS(until), fromMS(created)
	s.BalanceMinor = s.DueMinor - s.PaidMinor
	return s, json.Unmarshal([]byte(svc), &s.ServiceIDs)
}

func addLedger(ctx context.Context, q querier, p core.Payment, clientID, saleID string) (bool, error) {
	res, err := q.ExecContext(ctx, `INSERT INTO ledger (id, org_id, client_id, appointment_id, sale_id, amount_minor, currency, method, note, provider_ref, created_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`, p.ID, p.OrgID, clientID, p.AppointmentID, saleID,
		p.AmountMinor, p.Currency, p.Method, p.Note, p.ProviderRef, ms(p.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("store: ledger: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// CreateSale writes a sale and the payment made with it.
func (s *Store) CreateSale(ctx context.Context, sale core.PackageSale, pay *core.Payment) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO package_sales (`+saleCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
			$14, $15, $16)`,
			sale.ID, sale.OrgID, sale.PackageID, sale.ClientID, sale.VisitsTotal, sale.VisitsUsed, ids(sale.ServiceIDs), ms(sale.ValidFrom),
			ms(sale.ValidUntil), sale.PriceMinor, sale.Currency, sale.PaidMinor, sale.Status, ms(sale.CreatedAt), sale.DueMinor, sale.ChargeMissed); err != nil {
			return fmt.Errorf("store: create sale: %w", err)
		}
		if pay != nil {
			_, err := addLedger(ctx, tx, *pay, sale.ClientID, sale.ID)
			return err
		}
		return nil
	})
}

func getSale(ctx context.Context, q querier, orgID, id string) (core.PackageSale, error) {
	sale, err := scanSale(q.QueryRowContext(ctx, `SELECT `+saleCols+` FROM package_sales WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return sale, notFound(err, "package sale")
	}
	return sale, nil
}

// GetSale reads a sale.
func (s *Store) GetSale(ctx context.Context, orgID, id string) (core.PackageSale, error) {
	return getSale(ctx, s.r, orgID, id)
}

// ListSales lists sales, of one client when clientID is set.
func (s *Store) ListSales(ctx context.Context, orgID, clientID string, pg core.Page) ([]core.PackageSale, error) {
	limit, after := pageArgs(pg)
	rows, err := s.r.QueryContext(ctx, `SELECT `+saleCols+` FROM package_sales WHERE org_id = $1 AND ($2 = '' OR client_id = $2) AND id > $3
		ORDER BY id LIMIT $4`, orgID, clientID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: sales: %w", err)
	}
	return collect(rows, scanSale)
}

func (s *Store) lockSale(ctx context.Context, tx *sql.Tx, orgID, id string) (core.PackageSale, error) {
	q := `SELECT ` + saleCols + ` FROM package_sales WHERE org_id = $1 AND id = $2`
	if s.dialect == Postgres {
		q += ` FOR UPDATE`
	}
	sale, err := scanSale(tx.QueryRowContext(ctx, q, orgID, id))
	if err != nil {
		return sale, notFound(err, "package sale")
	}
	return sale, nil
}

func writeSale(ctx context.Context, tx *sql.Tx, sale core.PackageSale) error {
	_, err := tx.ExecContext(ctx, `UPDATE package_sales SET visits_total = $1, visits_used = $2, valid_until = $3, paid_minor = $4, status = $5,
		due_minor = $6 WHERE org_id = $7 AND id = $8`, sale.VisitsTotal, sale.VisitsUsed, ms(sale.ValidUntil), sale.PaidMinor, sale.Status,
		sale.DueMinor, sale.OrgID, sale.ID)
	if err != nil {
		return fmt.Errorf("store: update sale: %w", err)
	}
	return nil
}

// UpdateSale changes a sale under lock.
func (s *Store) UpdateSale(ctx context.Context, orgID, id string, fn func(core.PackageSale) (core.PackageSale, *core.Payment, error)) (core.PackageSale, error) {
	var out core.PackageSale
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sale, err := s.lockSale(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		next, pay, err := fn(sale)
		if err != nil {
			return err
		}
		if err := writeSale(ctx, tx, next); err != nil {
			return err
		}
		if pay != nil {
			if _, err := addLedger(ctx, tx, *pay, sale.ClientID, sale.ID); err != nil {
				return err
			}
		}
		out, err = getSale(ctx, tx, orgID, id)
		return err
	})
	return out, err
}

// AddSalePayment records money for a sale; the paid amount is re-summed
// from the ledger.
func (s *Store) AddSalePayment(ctx context.Context, p core.Payment, saleID string) (core.PackageSale, bool, error) {
	var out core.PackageSale
	added := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sale, err := s.lockSale(ctx, tx, p.OrgID, saleID)
		if err != nil {
			return err
		}
		out, added, err = s.addSalePayment(ctx, tx, sale, p)
		return err
	})
	return out, added, err
}

// addSalePayment writes a payment of a locked sale (see addApptPayment:
// another currency is recorded, not counted, and staff are told, here the
// organization's first director).
func (s *Store) addSalePayment(ctx context.Context, tx *sql.Tx, sale core.PackageSale, p core.Payment) (core.PackageSale, bool, error) {
	added, err := addLedger(ctx, tx, p, sale.ClientID, sale.ID)
	if err != nil {
		return sale, false, err
	}
	if !added {
		return sale, false, nil
	}
	if _, err := tx.ExecContext(ctx, `UPDATE package_sales SET paid_minor = (SELECT COALESCE(SUM(amount_minor), 0) FROM ledger
		WHERE sale_id = $1 AND currency = $2) WHERE id = $1`, sale.ID, sale.Currency); err != nil {
		return sale, false, fmt.Errorf("store: sale payment: %w", err)
	}
	if sale, err = getSale(ctx, tx, p.OrgID, sale.ID); err != nil {
		return sale, false, err
	}
	data := paymentData(p, sale.Currency, sale.PriceMinor, sale.PaidMinor, sale.BalanceMinor)
	data.SaleID, data.ClientID = sale.ID, sale.ClientID
	if data.CurrencyMismatch {
		var director string
		err := tx.QueryRowContext(ctx, `SELECT id FROM staff WHERE org_id = $1 AND role = 'director' ORDER BY id LIMIT 1`, p.OrgID).Scan(&director)
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return sale, false, fmt.Errorf("store: sale payment: %w", err)
		}
		data.StaffID = director
	}
	return sale, true, addEvent(ctx, tx, core.Event{ID: core.NewID(), OrgID: p.OrgID, Kind: core.EventPaymentAdded, OccurredAt: p.CreatedAt, Data: data})
}

// ReapplySale charges visits to a sale anew under its lock: the visits
// pick returns are charged to it, the others it held are released, and
// visits_used is their number.
func (s *Store) ReapplySale(ctx context.Context, orgID, id string, pick func(core.PackageSale, []core.Appointment) ([]string, error)) (core.PackageSale, error) {
	var out core.PackageSale
	err := s.tx(ctx, func(tx *sql.Tx) error {
		sale, err := s.lockSale(ctx, tx, orgID, id)
		if err != nil {
			return err
		}
		rows, err := tx.QueryContext(ctx, `SELECT `+apptCols+` FROM appointments WHERE org_id = $1 AND client_id = $2
			AND status IN ('completed', 'missed') AND (package_sale_id = '' OR package_sale_id = $3) ORDER BY start_at, id`, orgID, sale.ClientID, id)
		if err != nil {
			return fmt.Errorf("store: reapply sale: %w", err)
		}
		visits, err := collect(rows, scanAppt)
		if err != nil {
			return err
		}
		charge, err := pick(sale, visits)
		if err != nil {
			return err
		}
		for _, a := range visits {
			want := slices.Contains(charge, a.ID)
			if want == (a.PackageSaleID == id) {
				continue
			}
			to := ""
			if want {
				to = id
			}
			if _, err := tx.ExecContext(ctx, `UPDATE appointments SET package_sale_id = $1 WHERE org_id = $2 AND id = $3`, to, orgID, a.ID); err != nil {
				return fmt.Errorf("store: reapply sale: %w", err)
			}
		}
		if _, err := tx.ExecContext(ctx, `UPDATE package_sales SET visits_used = $1 WHERE org_id = $2 AND id = $3`, len(charge), orgID, id); err != nil {
			return fmt.Errorf("store: reapply sale: %w", err)
		}
		out, err = getSale(ctx, tx, orgID, id)
		return err
	})
	return out, err
}

// ConsumeVisit charges a visit to the client's active sale that covers it
// (core.PackageSale.Covers) and has visits left, the one ending first.
func (b *bookingTx) ConsumeVisit(ctx context.Context, a core.Appointment) (string, error) {
	if err := b.flush(ctx); err != nil {
		return "", err
	}
	rows, err := b.tx.QueryContext(ctx, `SELECT `+saleCols+` FROM package_sales WHERE org_id = $1 AND client_id = $2 AND status = 'active'
		AND visits_used < visits_total AND valid_from <= $3 AND valid_until > $3 ORDER BY valid_until, id`, b.org, a.ClientID, ms(a.Start))
	if err != nil {
		return "", fmt.Errorf("store: consume visit: %w", err)
	}
	sales, err := collect(rows, scanSale)
	if err != nil {
		return "", err
	}
	for _, sale := range sales {
		if !sale.Covers(a) {
			continue
		}
		res, err := b.tx.ExecContext(ctx, `UPDATE package_sales SET visits_used = visits_used + 1 WHERE id = $1 AND visits_used < visits_total`, sale.ID)
		if err != nil {
			return "", fmt.Errorf("store: consume visit: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 1 {
			return sale.ID, nil
		}
	}
	return "", nil
}

// ReleaseVisit gives a visit back to its sale.
func (b *bookingTx) ReleaseVisit(ctx context.Context, a core.Appointment) error {
	if err := b.flush(ctx); err != nil {
		return err
	}
	_, err := b.tx.ExecContext(ctx, `UPDATE package_sales SET visits_used = visits_used - 1 WHERE id = $1 AND org_id = $2 AND visits_used > 0`,
		a.PackageSaleID, b.org)
	if err != nil {
		return fmt.Errorf("store: release visit: %w", err)
	}
	return nil
}

// Debtors sums, per client and currency, completed visits not charged to a
// package and not fully paid, plus what is due and unpaid of package sales
// (active ones, and refunded ones whose used visits were not paid for),
// with the client's name and phone.
func (s *Store) Debtors(ctx context.Context, orgID string) ([]core.Debtor, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT d.client_id, c.first_name, c.last_name, c.phone, d.currency, SUM(d.debt), SUM(d.visits), SUM(d.packages) FROM (
			SELECT client_id, currency, price_minor - paid_minor AS debt, 1 AS visits, 0 AS packages FROM appointments
			WHERE org_id = $1 AND status = 'completed' AND package_sale_id = '' AND price_minor > paid_minor
			UNION ALL
			SELECT client_id, currency, due_minor - paid_minor, 0, 1 FROM package_sales
			WHERE org_id = $1 AND due_minor > paid_minor
		) d JOIN clients c ON c.id = d.client_id AND c.org_id = $1
		GROUP BY d.client_id, c.first_name, c.last_name, c.phone, d.currency ORDER BY SUM(d.debt) DESC, d.client_id`, orgID)
	if err != nil {
		return nil, fmt.Errorf("store: debtors: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.Debtor, error) {
		var d core.Debtor
		var first, last string
		err := r.Scan(&d.ClientID, &first, &last, &d.Phone, &d.Currency, &d.DebtMinor, &d.Visits, &d.Packages)
		d.Name = core.FullName(first, last)
		return d, err
	})
}

// FindPaymentLink reads the link handed out for an object and amount.
func (s *Store) FindPaymentLink(ctx context.Context, orgID, purpose, refID string, amount int64) (core.StoredLink, error) {
	var l core.StoredLink
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, org_id, purpose, ref_id, amount_minor, currency, provider_id, url, created_at FROM payment_links
		WHERE org_id = $1 AND purpose = $2 AND ref_id = $3 AND amount_minor = $4`, orgID, purpose, refID, amount).
		Scan(&l.ID, &l.OrgID, &l.Purpose, &l.RefID, &l.AmountMinor, &l.Currency, &l.ProviderID, &l.URL, &created)
	if err != nil {
		return l, notFound(err, "payment link")
	}
	l.CreatedAt = fromMS(created)
	return l, nil
}

// SavePaymentLink writes a link unless one exists for the object and amount.
func (s *Store) SavePaymentLink(ctx context.Context, l core.StoredLink) (core.StoredLink, error) {
	if l.State == "" {
		l.State = core.LinkOpen
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO payment_links (id, org_id, purpose, ref_id, amount_minor, currency, provider_id, url, created_at, ref, state)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT DO NOTHING`, l.ID, l.OrgID, l.Purpose, l.RefID, l.AmountMinor, l.Currency,
		l.ProviderID, l.URL, ms(l.CreatedAt), l.Ref, l.State); err != nil {
		return l, fmt.Errorf("store: payment link: %w", err)
	}
	var created int64
	err := s.w.QueryRowContext(ctx, `SELECT id, provider_id, url, created_at FROM payment_links WHERE org_id = $1 AND purpose = $2 AND ref_id = $3
		AND amount_minor = $4`, l.OrgID, l.Purpose, l.RefID, l.AmountMinor).Scan(&l.ID, &l.ProviderID, &l.URL, &created)
	l.CreatedAt = fromMS(created)
	return l, err
}

// PaymentLinkByRef reads the link behind a payment result page.
func (s *Store) PaymentLinkByRef(ctx context.Context, ref string) (core.StoredLink, error) {
	var l core.StoredLink
	var created int64
	if ref == "" {
		return l, core.NotFound("payment link")
	}
	err := s.r.QueryRowContext(ctx, `SELECT id, org_id, purpose, ref_id, amount_minor, currency, provider_id, url, created_at, ref, state
		FROM payment_links WHERE ref = $1`, ref).
		Scan(&l.ID, &l.OrgID, &l.Purpose, &l.RefID, &l.AmountMinor, &l.Currency, &l.ProviderID, &l.URL, &created, &l.Ref, &l.State)
	if err != nil {
		return l, notFound(err, "payment link")
	}
	l.CreatedAt = fromMS(created)
	return l, nil
}

// SetPaymentLinkState records what the provider reports of a link (its
// Checkout session id). A paid link stays paid; an unknown one is left
// alone (false).
func (s *Store) SetPaymentLinkState(ctx context.Context, providerID, state string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE payment_links SET state = $1 WHERE provider_id = $2 AND state <> 'paid'`, state, providerID)
	if err != nil {
		return false, fmt.Errorf("store: payment link state: %w", err)
	}
	n, err := res.RowsAffected()
	return n > 0, err
}

// RefundedSoFar sums the refunds recorded for a provider charge (their
// references start with the charge id).
func (s *Store) RefundedSoFar(ctx context.Context, chargeRef string) (int64, error) {
	var sum int64
	err := s.w.QueryRowContext(ctx, `SELECT COALESCE(-SUM(amount_minor), 0) FROM ledger WHERE provider_ref LIKE $1`, chargeRef+":refund:%").Scan(&sum)
	if err != nil {
		return 0, fmt.Errorf("store: refunds: %w", err)
	}
	return sum, nil
}
