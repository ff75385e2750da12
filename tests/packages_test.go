package tests

import (
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

func TestPackagesAndDebts(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		price := int64(5000)
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}),
			core.ServiceInput{Name: "Swimming", DurationMin: 60, PriceMinor: &price, Currency: "EUR"})
		var pk core.Package
		e.must(201, "POST", "/api/v1/packages", map[string]any{"name": "10 lessons", "visits": 10, "validity_days": 90,
			"price_minor": 40000, "currency": "EUR", "service_ids": []string{f.service}}, &pk)
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/packages", map[string]any{"name": "x", "visits": 0, "validity_days": 90, "service_ids": []string{f.service}}, &p); code != 400 {
			t.Fatalf("bad package: %d", code)
		}
		// Sold and paid 30000 now by card, the rest later.
		var sale core.PackageSale
		e.must(201, "POST", "/api/v1/package-sales", map[string]any{"package_id": pk.ID, "client_id": f.client, "paid_minor": 30000, "method": "card"}, &sale)
		if sale.BalanceMinor != 10000 || sale.VisitsTotal != 10 || !sale.ValidUntil.Equal(sale.ValidFrom.AddDate(0, 0, 90)) {
			t.Fatalf("sale: %+v", sale)
		}
		// Attendance consumes a visit: the visit costs the client nothing more.
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		e.clock.Set(time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC))
		var st struct {
			Appointments []core.Appointment `json:"appointments"`
		}
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/status", map[string]any{"status": "completed"}, &st)
		if got := st.Appointments[0]; got.PackageSaleID != sale.ID || got.BalanceMinor != 0 {
			t.Fatalf("completed visit: %+v", got)
		}
		e.must(200, "GET", "/api/v1/package-sales/"+sale.ID, nil, &sale)
		if sale.VisitsUsed != 1 {
			t.Fatalf("visits used %d", sale.VisitsUsed)
		}
		// Marked missed by mistake and back: the visit returns to the package, then is used again.
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/status", map[string]any{"status": "missed"}, nil)
		e.must(200, "GET", "/api/v1/package-sales/"+sale.ID, nil, &sale)
		if sale.VisitsUsed != 0 {
			t.Fatalf("after missed: visits used %d", sale.VisitsUsed)
		}
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/status", map[string]any{"status": "completed"}, nil)
		// Another service is not covered: that visit is a debt.
		var other struct{ ID string }
		e.must(201, "POST", "/api/v1/services", core.ServiceInput{Name: "Private lesson", DurationMin: 60, PriceMinor: &price}, &other)
		var res core.BookingResult
		e.clock.Set(testNow)
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": other.ID,
			"client_id": f.client, "start": "2026-03-10T10:00:00+01:00"}, &res)
		e.clock.Set(time.Date(2026, 3, 10, 12, 0, 0, 0, time.UTC))
		e.must(200, "POST", "/api/v1/appointments/"+res.Appointments[0].ID+"/status", map[string]any{"status": "completed"}, nil)
		var debtors struct {
			Items []core.Debtor `json:"items"`
		}
		e.must(200, "GET", "/api/v1/debtors", nil, &debtors)
		if len(debtors.Items) != 1 || debtors.Items[0].DebtMinor != 15000 || debtors.Items[0].Visits != 1 || debtors.Items[0].Packages != 1 {
			t.Fatalf("debtors: %+v", debtors.Items)
		}
		// The client pays the rest of the package; then the unused visits
		// are refunded pro rata: 9 of 10 visits of 40000 = 36000.
		e.must(201, "POST", "/api/v1/package-sales/"+sale.ID+"/payments", map[string]any{"amount_minor": 10000, "method": "cash"}, &sale)
		if sale.PaidMinor != 40000 || sale.BalanceMinor != 0 {
			t.Fatalf("paid: %+v", sale)
		}
		if code := e.do(e.key, "POST", "/api/v1/package-sales/"+sale.ID+"/change", map[string]any{"refund_unused": true, "method": "bitcoin"}, &p); code != 400 {
			t.Fatalf("bad refund method: %d", code)
		}
		e.must(200, "POST", "/api/v1/package-sales/"+sale.ID+"/change", map[string]any{"refund_unused": true, "method": "card"}, &sale)
		if sale.Status != "refunded" || sale.PaidMinor != 4000 || sale.VisitsTotal != 1 {
			t.Fatalf("after refund: %+v", sale)
		}
		if code := e.do(e.key, "POST", "/api/v1/package-sales/"+sale.ID+"/change", map[string]any{"refund_unused": true, "method": "card"}, &p); code != 409 {
			t.Fatalf("second refund: %d", code)
		}
		// Totals never drift: the ledger sums to what the sale says.
		var sum int64
		rows, err := e.app.Store.ListSales(t.Context(), e.org, f.client, core.Page{})
		if err != nil || len(rows) != 1 {
			t.Fatalf("sales: %v %v", rows, err)
		}
		sum = rows[0].PaidMinor
		if sum != 30000+10000-36000 {
			t.Fatalf("ledger total %d", sum)
		}
		// A refunded sale is settled: recalculating it would undo the refund's basis.
		if code := e.do(e.key, "POST", "/api/v1/package-sales/"+sale.ID+"/recalculate", nil, &p); code != 409 {
			t.Fatalf("recalculating a refunded sale: %d %+v", code, p)
		}
	})
}
