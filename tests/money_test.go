package tests

import (
	"slices"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

type debtorList struct {
	Items []core.Debtor `json:"items"`
}

// swimming sets up a specialist working 09:00-18:00 every day, a
// one-hour "Swimming" service at price EUR minor units, and a client.
func (e *apiEnv) swimming(price int64) fixture {
	e.t.Helper()
	return e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}),
		core.ServiceInput{Name: "Swimming", DurationMin: 60, PriceMinor: &price, Currency: "EUR"})
}

// complete marks a visit completed once it has started.
func (e *apiEnv) complete(id string, at time.Time) core.Appointment {
	e.t.Helper()
	e.clock.Set(at)
	var st struct {
		Appointments []core.Appointment `json:"appointments"`
	}
	e.must(200, "POST", "/api/v1/appointments/"+id+"/status", map[string]any{"status": "completed"}, &st)
	return st.Appointments[0]
}

func (e *apiEnv) debtor(clientID, currency string) (core.Debtor, bool) {
	e.t.Helper()
	var l debtorList
	e.must(200, "GET", "/api/v1/debtors", nil, &l)
	for _, d := range l.Items {
		if d.ClientID == clientID && d.Currency == currency {
			return d, true
		}
	}
	return core.Debtor{}, false
}

// TestPackageRefund: refunding the unused visits of a sale pays back what
// was paid beyond the value of the visits used, never below zero; what is
// unpaid of that value stays a debt in /debtors, named and with a phone.
func TestPackageRefund(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.swimming(2500)
		var pk core.Package
		e.must(201, "POST", "/api/v1/packages", map[string]any{"name": "4 lessons", "visits": 4, "validity_days": 90,
			"price_minor": 8000, "service_ids": []string{f.service}}, &pk)
		cases := []struct {
			name                string
			paid                int64
			refund, paidAfter   int64
			debt                int64 // left in /debtors for the sale
			wantLedgerRefundRow bool
		}{
			{"paid", 8000, 6000, 2000, 0, true},
			{"partly paid", 5000, 3000, 2000, 0, true},
			{"paid less than the visit used", 1000, 0, 1000, 1000, false},
			{"unpaid", 0, 0, 0, 2000, false},
		}
		day := 9
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				e.clock.Set(testNow)
				var cl idOnly
				e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Client " + tc.name, "phone": "+3361234567" + string(rune('0'+i))}, &cl)
				body := map[string]any{"package_id": pk.ID, "client_id": cl.ID}
				if tc.paid > 0 {
					body["paid_minor"], body["method"] = tc.paid, "cash"
				}
				var sale core.PackageSale
				e.must(201, "POST", "/api/v1/package-sales", body, &sale)
				// One visit of four is used.
				var res core.BookingResult
				start := time.Date(2026, 3, day, 10, 0, 0, 0, time.UTC)
				day++
				e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
					"client_id": cl.ID, "start": start.Format(time.RFC3339)}, &res)
				if a := e.complete(res.Appointments[0].ID, start.Add(2*time.Hour)); a.PackageSaleID != sale.ID {
					t.Fatalf("visit not charged to the sale: %+v", a)
				}
				e.must(200, "POST", "/api/v1/package-sales/"+sale.ID+"/change", map[string]any{"refund_unused": true, "method": "cash"}, &sale)
				if sale.Status != "refunded" || sale.PaidMinor != tc.paidAfter || sale.DueMinor != 2000 || sale.BalanceMinor != tc.debt {
					t.Fatalf("after refund: paid %d due %d balance %d status %s; want paid %d due 2000 balance %d",
						sale.PaidMinor, sale.DueMinor, sale.BalanceMinor, sale.Status, tc.paidAfter, tc.debt)
				}
				var ledger struct {
					Items []core.Payment `json:"items"`
				}
				e.must(200, "GET", "/api/v1/package-sales/"+sale.ID+"/payments", nil, &ledger)
				var refunded int64
				for _, p := range ledger.Items {
					if p.AmountMinor < 0 {
						refunded -= p.AmountMinor
					}
				}
				if refunded != tc.refund {
					t.Fatalf("refunded %d in the ledger %+v, want %d", refunded, ledger.Items, tc.refund)
				}
				d, found := e.debtor(cl.ID, "EUR")
				if found != (tc.debt > 0) || d.DebtMinor != tc.debt {
					t.Fatalf("debtor %+v (listed %v), want a debt of %d", d, found, tc.debt)
				}
				if found && (d.Name != "Client "+tc.name || d.Phone == "" || d.Packages != 1) {
					t.Fatalf("debtor row lacks the client's name or phone: %+v", d)
				}
			})
		}
	})
}

// TestRecalculateAfterEndDateMoves: a visit completed while the sale had
// lapsed becomes covered once the end date moves and the sale is
// recalculated; moving the end date back releases it again.
func TestRecalculateAfterEndDateMoves(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.swimming(5000)
		var pk core.Package
		e.must(201, "POST", "/api/v1/packages", map[string]any{"name": "week pass", "visits": 2, "validity_days": 7,
			"price_minor": 8000, "service_ids": []string{f.service}}, &pk)
		var sale core.PackageSale
		e.must(201, "POST", "/api/v1/package-sales", map[string]any{"package_id": pk.ID, "client_id": f.client,
			"paid_minor": 8000, "method": "card"}, &sale)
		// The sale lapses on 9 March; the visit of the 10th is a debt.
		a := e.book(f, "2026-03-10T10:00:00+01:00")
		if got := e.complete(a.ID, time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC)); got.PackageSaleID != "" || got.BalanceMinor != 5000 {
			t.Fatalf("visit after the sale lapsed: %+v", got)
		}
		if d, ok := e.debtor(f.client, "EUR"); !ok || d.DebtMinor != 5000 {
			t.Fatalf("debt before: %+v %v", d, ok)
		}
		e.must(200, "POST", "/api/v1/package-sales/"+sale.ID+"/change", map[string]any{"valid_until": "2026-03-31T00:00:00Z"}, &sale)
		e.must(200, "POST", "/api/v1/package-sales/"+sale.ID+"/recalculate", nil, &sale)
		if sale.VisitsUsed != 1 {
			t.Fatalf("recalculated sale uses %d visits, want 1", sale.VisitsUsed)
		}
		var got core.Appointment
		e.must(200, "GET", "/api/v1/appointments/"+a.ID, nil, &got)
		if got.PackageSaleID != sale.ID || got.BalanceMinor != 0 {
			t.Fatalf("visit after recalculation: %+v", got)
		}
		if d, ok := e.debtor(f.client, "EUR"); ok {
			t.Fatalf("still a debtor after recalculation: %+v", d)
		}
		// Recalculating again changes nothing.
		e.must(200, "POST", "/api/v1/package-sales/"+sale.ID+"/recalculate", nil, &sale)
		if sale.VisitsUsed != 1 {
			t.Fatalf("second recalculation: %d visits", sale.VisitsUsed)
		}
		// The end date moves back before the visit: the visit is a debt again.
		e.must(200, "POST", "/api/v1/package-sales/"+sale.ID+"/change", map[string]any{"valid_until": "2026-03-09T00:00:00Z"}, &sale)
		e.must(200, "POST", "/api/v1/package-sales/"+sale.ID+"/recalculate", nil, &sale)
		got = core.Appointment{}
		e.must(200, "GET", "/api/v1/appointments/"+a.ID, nil, &got)
		if sale.VisitsUsed != 0 || got.PackageSaleID != "" {
			t.Fatalf("after the end date moved back: sale uses %d, visit charged to %q", sale.VisitsUsed, got.PackageSaleID)
		}
		if d, ok := e.debtor(f.client, "EUR"); !ok || d.DebtMinor != 5000 {
			t.Fatalf("debt after: %+v %v", d, ok)
		}
	})
}

// TestMissedVisitsChargedToPackage: a package may charge missed visits;
// one that does not leaves them out.
func TestMissedVisitsChargedToPackage(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.swimming(5000)
		for _, chargeMissed := range []bool{true, false} {
			e.clock.Set(testNow)
			var cl, pk idOnly
			e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Missing client"}, &cl)
			e.must(201, "POST", "/api/v1/packages", map[string]any{"name": "10 lessons", "visits": 10, "validity_days": 90,
				"price_minor": 40000, "service_ids": []string{f.service}, "charge_missed": chargeMissed}, &pk)
			var sale core.PackageSale
			e.must(201, "POST", "/api/v1/package-sales", map[string]any{"package_id": pk.ID, "client_id": cl.ID}, &sale)
			if sale.ChargeMissed != chargeMissed {
				t.Fatalf("sale charge_missed = %v, want %v", sale.ChargeMissed, chargeMissed)
			}
			start := "2026-03-09T10:00:00+01:00"
			if !chargeMissed {
				start = "2026-03-09T12:00:00+01:00"
			}
			var res core.BookingResult
			e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
				"client_id": cl.ID, "start": start}, &res)
			e.clock.Set(time.Date(2026, 3, 9, 16, 0, 0, 0, time.UTC))
			var st struct {
				Appointments []core.Appointment `json:"appointments"`
			}
			e.must(200, "POST", "/api/v1/appointments/"+res.Appointments[0].ID+"/status", map[string]any{"status": "missed"}, &st)
			e.must(200, "GET", "/api/v1/package-sales/"+sale.ID, nil, &sale)
			want := map[bool]int{true: 1, false: 0}[chargeMissed]
			if sale.VisitsUsed != want || (st.Appointments[0].PackageSaleID != "") != chargeMissed {
				t.Fatalf("charge_missed %v: sale uses %d visits, visit charged to %q", chargeMissed, sale.VisitsUsed, st.Appointments[0].PackageSaleID)
			}
			// A missed visit corrected to completed stays one visit.
			e.must(200, "POST", "/api/v1/appointments/"+res.Appointments[0].ID+"/status", map[string]any{"status": "completed"}, nil)
			e.must(200, "GET", "/api/v1/package-sales/"+sale.ID, nil, &sale)
			if sale.VisitsUsed != 1 {
				t.Fatalf("charge_missed %v: after completing, %d visits used", chargeMissed, sale.VisitsUsed)
			}
		}
	})
}

// TestCurrencyMixRefused: every money operation refuses an amount in
// another currency than what it is for, with a 400 naming the field.
func TestCurrencyMixRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.swimming(5000)
		var pk core.Package
		e.must(201, "POST", "/api/v1/packages", map[string]any{"name": "10 lessons", "visits": 10, "validity_days": 90,
			"price_minor": 40000, "service_ids": []string{f.service}}, &pk)
		if pk.Currency != "EUR" {
			t.Fatalf("package currency %s, want its services' EUR", pk.Currency)
		}
		var sale core.PackageSale
		e.must(201, "POST", "/api/v1/package-sales", map[string]any{"package_id": pk.ID, "client_id": f.client}, &sale)
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		for _, tc := range []struct {
			name, path, field string
			body              map[string]any
		}{
			{"USD package of EUR services", "/api/v1/packages", "service_ids", map[string]any{"name": "dollars", "visits": 10,
				"validity_days": 90, "price_minor": 40000, "currency": "USD", "service_ids": []string{f.service}}},
			{"sale paid in USD", "/api/v1/package-sales", "currency", map[string]any{"package_id": pk.ID, "client_id": f.client,
				"paid_minor": 100, "method": "cash", "currency": "USD"}},
			{"sale payment in USD", "/api/v1/package-sales/" + sale.ID + "/payments", "currency", map[string]any{"amount_minor": 100,
				"method": "cash", "currency": "USD"}},
			{"refund in USD", "/api/v1/package-sales/" + sale.ID + "/change", "currency", map[string]any{"refund_unused": true,
				"method": "cash", "currency": "usd"}},
			{"visit payment in USD", "/api/v1/appointments/" + a.ID + "/payments", "currency", map[string]any{"amount_minor": 100,
				"method": "cash", "currency": "USD"}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				var p problem
				if code := e.do(e.key, "POST", tc.path, tc.body, &p); code != 400 || !hasField(p, tc.field) {
					t.Fatalf("%d %+v, want 400 on %s", code, p, tc.field)
				}
			})
		}
		// Nothing was recorded; the same currency is accepted.
		e.must(200, "GET", "/api/v1/package-sales/"+sale.ID, nil, &sale)
		if sale.Status != "active" || sale.PaidMinor != 0 {
			t.Fatalf("a refused operation changed the sale: %+v", sale)
		}
		e.must(201, "POST", "/api/v1/appointments/"+a.ID+"/payments", map[string]any{"amount_minor": 100, "method": "cash", "currency": "eur"}, nil)
		// A service moved to another currency: its package is no longer sold.
		e.must(200, "PATCH", "/api/v1/services/"+f.service, map[string]any{"currency": "USD"}, nil)
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/package-sales", map[string]any{"package_id": pk.ID, "client_id": f.client}, &p); code != 400 || !hasField(p, "package_id") {
			t.Fatalf("sale of a EUR package covering a USD service: %d %+v", code, p)
		}
	})
}

// TestOverpaymentRefused: a payment beyond the balance is refused (the
// decision: no silent negative balance, no implicit credit).
func TestOverpaymentRefused(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.swimming(5000)
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/appointments/"+a.ID+"/payments", map[string]any{"amount_minor": 5001, "method": "cash"}, &p); code != 400 || !hasField(p, "amount_minor") {
			t.Fatalf("overpaying a visit: %d %+v", code, p)
		}
		e.must(201, "POST", "/api/v1/appointments/"+a.ID+"/payments", map[string]any{"amount_minor": 3000, "method": "cash"}, nil)
		if code := e.do(e.key, "POST", "/api/v1/appointments/"+a.ID+"/payments", map[string]any{"amount_minor": 2001, "method": "card"}, &p); code != 400 {
			t.Fatalf("paying past the balance: %d %+v", code, p)
		}
		var pr struct {
			Appointment core.Appointment `json:"appointment"`
		}
		e.must(201, "POST", "/api/v1/appointments/"+a.ID+"/payments", map[string]any{"amount_minor": 2000, "method": "card"}, &pr)
		if pr.Appointment.BalanceMinor != 0 || pr.Appointment.PaidMinor != 5000 {
			t.Fatalf("paid in full: %+v", pr.Appointment)
		}

		var pk core.Package
		e.must(201, "POST", "/api/v1/packages", map[string]any{"name": "10 lessons", "visits": 10, "validity_days": 90,
			"price_minor": 40000, "service_ids": []string{f.service}}, &pk)
		var sale core.PackageSale
		e.must(201, "POST", "/api/v1/package-sales", map[string]any{"package_id": pk.ID, "client_id": f.client, "paid_minor": 30000, "method": "card"}, &sale)
		if code := e.do(e.key, "POST", "/api/v1/package-sales/"+sale.ID+"/payments", map[string]any{"amount_minor": 10001, "method": "cash"}, &p); code != 400 || !hasField(p, "amount_minor") {
			t.Fatalf("overpaying a sale: %d %+v", code, p)
		}
		if code := e.do(e.key, "POST", "/api/v1/package-sales/"+sale.ID+"/payments", map[string]any{"amount_minor": -30001, "method": "cash"}, &p); code != 400 {
			t.Fatalf("refunding more than paid: %d %+v", code, p)
		}
		e.must(201, "POST", "/api/v1/package-sales/"+sale.ID+"/payments", map[string]any{"amount_minor": 10000, "method": "cash", "note": "the rest"}, &sale)
		if sale.BalanceMinor != 0 {
			t.Fatalf("sale paid in full: %+v", sale)
		}
		// The ledger lists every movement of the sale, in order, page by page.
		var page1, page2, page3 struct {
			Items      []core.Payment `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		e.must(200, "GET", "/api/v1/package-sales/"+sale.ID+"/payments?limit=1", nil, &page1)
		e.must(200, "GET", "/api/v1/package-sales/"+sale.ID+"/payments?limit=1&cursor="+page1.NextCursor, nil, &page2)
		got := []int64{}
		for _, x := range append(page1.Items, page2.Items...) {
			if x.SaleID != sale.ID || x.Currency != "EUR" {
				t.Fatalf("ledger entry %+v", x)
			}
			got = append(got, x.AmountMinor)
		}
		if !slices.Equal(got, []int64{30000, 10000}) {
			t.Fatalf("ledger %v, want [30000 10000]", got)
		}
		e.must(200, "GET", "/api/v1/package-sales/"+sale.ID+"/payments?limit=1&cursor="+page2.NextCursor, nil, &page3)
		if len(page3.Items) != 0 {
			t.Fatalf("ledger has more than two entries: %+v", page3.Items)
		}
	})
}

func hasField(p problem, field string) bool {
	for _, e := range p.Errors {
		if e.Field == field {
			return true
		}
	}
	return false
}
