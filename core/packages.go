package core

import (
	"context"
	"strconv"
	"strings"
	"time"
)

// Package is a bundle of visits sold ahead ("subscription" in seed 004).
type Package struct {
	ID           string    `json:"id"`
	OrgID        string    `json:"-"`
	Name         string    `json:"name"`
	Visits       int       `json:"visits"`
	ValidityDays int       `json:"validity_days"`
	PriceMinor   int64     `json:"price_minor"`
	Currency     string    `json:"currency"`
	ServiceIDs   []string  `json:"service_ids" doc:"services a visit of the package covers"`
	ChargeMissed bool      `json:"charge_missed" doc:"a missed visit (no-show) uses a visit of the package, as a completed one does"`
	Active       bool      `json:"active"`
	CreatedAt    time.Time `json:"created_at"`
}

// PackageSale is a package sold to a client.
type PackageSale struct {
	ID          string    `json:"id"`
	OrgID       string    `json:"-"`
	PackageID   string    `json:"package_id"`
	ClientID    string    `json:"client_id"`
	VisitsTotal int       `json:"visits_total"`
	VisitsUsed  int       `json:"visits_used"`
	ServiceIDs  []string  `json:"service_ids"`
	ValidFrom   time.Time `json:"valid_from"`
	ValidUntil  time.Time `json:"valid_until"`
	PriceMinor  int64     `json:"price_minor"`
	Currency    string    `json:"currency"`
	PaidMinor   int64     `json:"paid_minor"`
	// DueMinor is what the client owes for the sale in all: the price
	// while it runs; once refunded, the value of the visits used.
	DueMinor int64 `json:"due_minor" doc:"the price while the sale runs; once refunded, the value of the visits used"`
	// BalanceMinor is what the client still owes: due minus paid.
	BalanceMinor int64     `json:"balance_minor"`
	ChargeMissed bool      `json:"charge_missed" doc:"missed visits use visits of this sale (the package's setting when sold)"`
	Status       string    `json:"status" doc:"active or refunded"`
	CreatedAt    time.Time `json:"created_at"`
}

// Debtor is a client who owes money: completed visits not covered and not
// paid, and unpaid package sales.
type Debtor struct {
	ClientID  string `json:"client_id"`
	Name      string `json:"name"`
	Phone     string `json:"phone"`
	DebtMinor int64  `json:"debt_minor"`
	Currency  string `json:"currency"`
	Visits    int    `json:"unpaid_visits"`
	Packages  int    `json:"unpaid_packages"`
}

// MoneyStore keeps appointment payments, packages, their sales and the
// ledger entries of sales.
type MoneyStore interface {
	Directory
	GetClient(ctx context.Context, orgID, id string) (Client, error)
	GetService(ctx context.Context, orgID, id string) (Offering, error)
	GetAppointment(ctx context.Context, orgID, id string) (Appointment, error)
	// AddPayment records a payment and updates the appointment's paid
	// amount in one transaction.
	// It reports false (and records nothing) when the provider reference
	// was recorded before.
	AddPayment(ctx context.Context, p Payment) (Appointment, bool, error)
	ListPayments(ctx context.Context, orgID, appointmentID string) ([]Payment, error)
	CreatePackage(ctx context.Context, p Package) error
	GetPackage(ctx context.Context, orgID, id string) (Package, error)
	ListPackages(ctx context.Context, orgID string, pg Page) ([]Package, error)
	CreateSale(ctx context.Context, s PackageSale, pay *Payment) error
	GetSale(ctx context.Context, orgID, id string) (PackageSale, error)
	ListSales(ctx context.Context, orgID, clientID string, pg Page) ([]PackageSale, error)
	// UpdateSale changes a sale under lock: fn sees the current sale and
	// returns the new one and an optional ledger entry (a refund).
	UpdateSale(ctx context.Context, orgID, id string, fn func(PackageSale) (PackageSale, *Payment, error)) (PackageSale, error)
	// AddSalePayment records money for a sale; false when the provider
	// reference was recorded before.
	AddSalePayment(ctx context.Context, p Payment, saleID string) (PackageSale, bool, error)
	// ReapplySale charges visits to a sale anew under its lock: pick sees
	// the sale and the client's completed and missed visits not charged
	// to another sale (oldest first), and returns those the sale pays
	// for; the others charged to it so far are released.
	ReapplySale(ctx context.Context, orgID, id string, pick func(PackageSale, []Appointment) ([]string, error)) (PackageSale, error)
	Debtors(ctx context.Context, orgID string) ([]Debtor, error)
}

// PackageInput creates a package.
type PackageInput struct {
	Name         string   `json:"name"`
	Visits       int      `json:"visits"`
	ValidityDays int      `json:"validity_days"`
	PriceMinor   int64    `json:"price_minor"`
	Currency     string   `json:"currency"`
	ServiceIDs   []string `json:"service_ids"`
	ChargeMissed bool     `json:"charge_missed" doc:"missed visits (no-shows) use visits of the package; default false"`
}

// CreatePackage adds a package to the catalogue.
func (s *MoneyService) CreatePackage(ctx context.Context, p Principal, in PackageInput) (Package, error) {
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return Package{}, err
	}
	var f Fields
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	f.Check(in.Visits < 1 || in.Visits > 1000, "visits", "must be from 1 to 1000")
	f.Check(in.ValidityDays < 1 || in.ValidityDays > 3660, "validity_days", "must be from 1 to 3660")
	f.Check(in.PriceMinor < 0, "price_minor", "must not be negative")
	f.Check(len(in.ServiceIDs) == 0, "service_ids", "name at least one service the package covers")
	if err := checkServiceIDs(ctx, s.store, p.OrgID, in.ServiceIDs, &f); err != nil {
		return Package{}, err
	}
	if err := f.Err("invalid package"); err != nil {
		return Package{}, err
	}
	if err := s.packageCurrency(ctx, p.OrgID, &in.Currency, in.ServiceIDs); err != nil {
		return Package{}, err
	}
	pk := Package{ID: NewID(), OrgID: p.OrgID, Name: in.Name, Visits: in.Visits, ValidityDays: in.ValidityDays, PriceMinor: in.PriceMinor,
		Currency: in.Currency, ServiceIDs: in.ServiceIDs, ChargeMissed: in.ChargeMissed, Active: true, CreatedAt: s.Now()}
	return pk, s.store.CreatePackage(ctx, pk)
}

// SaleInput sells a package to a client, optionally paid at once by hand.
type SaleInput struct {
	PackageID string     `json:"package_id"`
	ClientID  string     `json:"client_id"`
	ValidFrom *time.Time `json:"valid_from" doc:"default now"`
	PaidMinor int64      `json:"paid_minor" doc:"paid now by hand (cash, card); 0 if paid later or by link"`
	Method    string     `json:"method" doc:"cash, card, transfer or other, with paid_minor"`
	Currency  string     `json:"currency" doc:"optional; when given it must be the package's currency"`
}

// SellPackage sells a package; the sale covers the package's visits until
// valid_from + validity.
func (s *MoneyService) SellPackage(ctx context.Context, p Principal, in SaleInput) (PackageSale, error) {
	if err := p.Require(RoleDirector, RoleAdministrator, RoleSpecialist); err != nil {
		return PackageSale{}, err
	}
	var f Fields
	var pk Package
	var err error
	if !requiredID(&f, "package_id", "package", in.PackageID) {
		// requiredID recorded why
	} else if pk, err = s.store.GetPackage(ctx, p.OrgID, in.PackageID); ErrorCode(err) == CodeNotFound {
		f.Add("package_id", "no such package")
	} else if err != nil {
		return PackageSale{}, err
	} else if !pk.Active {
		f.Add("package_id", "package is not sold any more")
	}
	if err := checkClient(ctx, s.policy, s.store, p, in.ClientID, &f); err != nil {
		return PackageSale{}, err
	}
	f.Check(in.PaidMinor < 0, "paid_minor", "must not be negative")
	f.Check(in.PaidMinor > 0 && !paymentMethods[in.Method], "method", "must be cash, card, transfer or other")
	f.Check(in.PaidMinor > pk.PriceMinor && pk.ID != "", "paid_minor", "is more than the price")
	if pk.ID != "" {
		checkSameCurrency(&f, "currency", in.Currency, pk.Currency, "the package")
		if err := s.checkPackageServices(ctx, pk, &f); err != nil {
			return PackageSale{}, err
		}
	}
	if err := f.Err("invalid sale"); err != nil {
		return PackageSale{}, err
	}
	from := s.Now()
	if in.ValidFrom != nil {
		from = in.ValidFrom.UTC()
	}
	sale := PackageSale{ID: NewID(), OrgID: p.OrgID, PackageID: pk.ID, ClientID: in.ClientID, VisitsTotal: pk.Visits,
		ServiceIDs: pk.ServiceIDs, ValidFrom: from, ValidUntil: from.AddDate(0, 0, pk.ValidityDays), PriceMinor: pk.PriceMinor,
		DueMinor: pk.PriceMinor, Currency: pk.Currency, ChargeMissed: pk.ChargeMissed, Status: "active", CreatedAt: s.Now()}
	var pay *Payment
	if in.PaidMinor > 0 {
		pay = &Payment{ID: NewID(), OrgID: p.OrgID, AmountMinor: in.PaidMinor, Currency: pk.Currency, Method: in.Method, CreatedAt: s.Now()}
		sale.PaidMinor = in.PaidMinor
	}
	sale.BalanceMinor = sale.DueMinor - sale.PaidMinor
	return sale, s.store.CreateSale(ctx, sale, pay)
}

// SalePayment records money for a sale by hand (refunds are negative).
// The amount is checked against the sale under its lock: a payment beyond
// what is due and a refund beyond what was paid are refused.
func (s *MoneyService) SalePayment(ctx context.Context, p Principal, saleID string, in PaymentInput) (PackageSale, error) {
	if err := p.Require(RoleDirector, RoleAdministrator, RoleSpecialist); err != nil {
		return PackageSale{}, err
	}
	sale, err := s.GetSale(ctx, p, saleID)
	if err != nil {
		return sale, err
	}
	var f Fields
	in.Method = strings.ToLower(strings.TrimSpace(in.Method))
	f.Check(in.AmountMinor == 0, "amount_minor", "must not be zero")
	f.Check(!paymentMethods[in.Method], "method", "must be cash, card, transfer or other")
	checkSameCurrency(&f, "currency", in.Currency, sale.Currency, "the sale")
	f.Check(len(in.Note) > 1000, "note", "is too long")
	if err := f.Err("invalid payment"); err != nil {
		return PackageSale{}, err
	}
	pay := Payment{ID: NewID(), OrgID: p.OrgID, SaleID: saleID, AmountMinor: in.AmountMinor, Currency: sale.Currency,
		Method: in.Method, Note: in.Note, CreatedAt: s.Now()}
	return s.ledger.PaySale(ctx, pay, saleID, func(cur PackageSale) error {
		return checkAmount(in.AmountMinor, cur.PaidMinor, cur.DueMinor, cur.Currency)
	})
}

// SaleChange changes a sale: refund its unused visits, or move its end date.
type SaleChange struct {
	RefundUnused bool       `json:"refund_unused" doc:"refund the unused visits pro rata and close the sale"`
	Method       string     `json:"method" doc:"how the refund is paid back: cash, card, transfer or other"`
	Currency     string     `json:"currency" doc:"optional; when given it must be the sale's currency"`
	ValidUntil   *time.Time `json:"valid_until" doc:"a new end date"`
}

// ChangeSale refunds unused visits or changes the end date. A refund pays
// back what was paid beyond the value of the visits used (the price pro
// rata), never below zero; what the client did not pay of that value
// stays owed (see settleRefund).
func (s *MoneyService) ChangeSale(ctx context.Context, p Principal, id string, in SaleChange) (PackageSale, error) {
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return PackageSale{}, err
	}
	var f Fields
	f.Check(!in.RefundUnused && in.ValidUntil == nil, "refund_unused", "say what to change: refund_unused or valid_until")
	f.Check(in.RefundUnused && !paymentMethods[strings.ToLower(in.Method)], "method", "must be cash, card, transfer or other")
	if err := f.Err("invalid change"); err != nil {
		return PackageSale{}, err
	}
	if _, err := s.GetSale(ctx, p, id); err != nil {
		return PackageSale{}, err
	}
	now := s.Now()
	return s.store.UpdateSale(ctx, p.OrgID, id, func(sale PackageSale) (PackageSale, *Payment, error) {
		if sale.Status != "active" {
			return sale, nil, Conflict("the sale is " + sale.Status)
		}
		if in.ValidUntil != nil {
			if !in.ValidUntil.After(sale.ValidFrom) {
				return sale, nil, Invalid("invalid change", FieldError{Field: "valid_until", Message: "must be after valid_from"})
			}
			sale.ValidUntil = in.ValidUntil.UTC()
		}
		if !in.RefundUnused {
			return sale, nil, nil
		}
		if in.Currency != "" && !strings.EqualFold(in.Currency, sale.Currency) {
			return sale, nil, Invalid("invalid change", currencyMismatch("currency", in.Currency, sale.Currency, "the sale"))
		}
		unused := sale.VisitsTotal - sale.VisitsUsed
		refund, due := settleRefund(sale.PriceMinor, sale.PaidMinor, sale.VisitsTotal, sale.VisitsUsed)
		sale.Status, sale.VisitsTotal, sale.DueMinor = "refunded", sale.VisitsUsed, due
		if refund == 0 {
			return sale, nil, nil
		}
		sale.PaidMinor -= refund
		return sale, &Payment{ID: NewID(), OrgID: p.OrgID, SaleID: sale.ID, AmountMinor: -refund, Currency: sale.Currency, Method: strings.ToLower(in.Method),
			Note: strconv.Itoa(unused) + " unused visits refunded", CreatedAt: now}, nil
	})
}

// RecalculateSale charges the sale anew with every visit its rules cover:
// completed visits (and missed ones when the sale charges them) of its
// services, in its currency, inside its validity window, oldest first, up
// to its number of visits. Visits charged to another sale stay there. Run
// after the end date moves, a visit completed while the sale had lapsed is
// no longer a debt. A refunded sale is settled and cannot be recalculated.
func (s *MoneyService) RecalculateSale(ctx context.Context, p Principal, id string) (PackageSale, error) {
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return PackageSale{}, err
	}
	if _, err := s.GetSale(ctx, p, id); err != nil {
		return PackageSale{}, err
	}
	return s.store.ReapplySale(ctx, p.OrgID, id, func(sale PackageSale, visits []Appointment) ([]string, error) {
		if sale.Status != "active" {
			return nil, Conflict("the sale is " + sale.Status + "; only an active sale is recalculated")
		}
		return sale.pick(visits), nil
	})
}

// ListPackages, GetSale, ListSales and Debtors read.
func (s *MoneyService) ListPackages(ctx context.Context, p Principal, pg Page) ([]Package, error) {
	return s.store.ListPackages(ctx, p.OrgID, pg)
}

// GetSale reads a sale of a client the caller may see.
func (s *MoneyService) GetSale(ctx context.Context, p Principal, id string) (PackageSale, error) {
	sale, err := s.store.GetSale(ctx, p.OrgID, id)
	if err != nil {
		return PackageSale{}, err
	}
	if ok, err := s.clientVisible(ctx, p, sale.ClientID, nil); err != nil || !ok {
		return PackageSale{}, orNotFound(err, "package sale")
	}
	return sale, nil
}

// clientVisible asks the policy about a client by id (cached in seen when
// it is not nil). Directors see every client: no read.
func (s *MoneyService) clientVisible(ctx context.Context, p Principal, clientID string, seen map[string]bool) (bool, error) {
	if p.AllCenters() {
		return true, nil
	}
	if ok, found := seen[clientID]; found {
		return ok, nil
	}
	c, err := s.store.GetClient(ctx, p.OrgID, clientID)
	if ErrorCode(err) == CodeNotFound {
		return false, nil
	}
	if err != nil {
		return false, err
	}
	ok := s.policy.Client(p, c) == nil
	if seen != nil {
		seen[clientID] = ok
	}
	return ok, nil
}

// ListSales lists sales of clients the caller may see, of one client when
// clientID is set.
func (s *MoneyService) ListSales(ctx context.Context, p Principal, clientID string, pg Page) ([]PackageSale, error) {
	seen := map[string]bool{}
	return visiblePage(pg, func(x PackageSale) string { return x.ID },
		func(pg Page) ([]PackageSale, error) { return s.store.ListSales(ctx, p.OrgID, clientID, pg) },
		func(x PackageSale) (bool, error) { return s.clientVisible(ctx, p, x.ClientID, seen) })
}

// Debtors lists clients the caller may see who owe money.
func (s *MoneyService) Debtors(ctx context.Context, p Principal) ([]Debtor, error) {
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return nil, err
	}
	ds, err := s.store.Debtors(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	out := ds[:0]
	for _, d := range ds {
		ok, err := s.clientVisible(ctx, p, d.ClientID, nil)
		if err != nil {
			return nil, err
		}
		if ok {
			out = append(out, d)
		}
	}
	return out, nil
}
