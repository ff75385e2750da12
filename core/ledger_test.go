package core

import (
	"testing"
	"time"
)

// TestSettleRefund: the refund of unused visits is what was paid minus the
// value of the visits used, never below zero; the value of the visits used
// is what stays due.
func TestSettleRefund(t *testing.T) {
	cases := []struct {
		name              string
		price, paid       int64
		total, used       int
		refund, due, owed int64
	}{
		{"paid, 1 of 4 used", 8000, 8000, 4, 1, 6000, 2000, 0},
		{"partly paid, 1 of 4 used (the reported case)", 8000, 5000, 4, 1, 3000, 2000, 0},
		{"partly paid below the value used", 8000, 1000, 4, 1, 0, 2000, 1000},
		{"unpaid, 1 of 4 used", 8000, 0, 4, 1, 0, 2000, 2000},
		{"paid, nothing used", 8000, 8000, 4, 0, 8000, 0, 0},
		{"unpaid, nothing used", 8000, 0, 4, 0, 0, 0, 0},
		{"paid, all used", 8000, 8000, 4, 4, 0, 8000, 0},
		{"uneven share rounds the refund down", 10000, 10000, 3, 1, 6666, 3334, 0},
		{"9 of 10 unused, paid in full", 40000, 40000, 10, 1, 36000, 4000, 0},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			refund, due := settleRefund(tc.price, tc.paid, tc.total, tc.used)
			if refund != tc.refund || due != tc.due {
				t.Fatalf("settleRefund = refund %d, due %d; want %d, %d", refund, due, tc.refund, tc.due)
			}
			if owed := due - (tc.paid - refund); owed != tc.owed {
				t.Fatalf("owed after the refund %d, want %d", owed, tc.owed)
			}
		})
	}
}

func TestCheckAmount(t *testing.T) {
	cases := []struct {
		name              string
		amount, paid, due int64
		ok                bool
	}{
		{"part of the balance", 2000, 0, 5000, true},
		{"the whole balance", 5000, 0, 5000, true},
		{"one more than the balance", 5001, 0, 5000, false},
		{"anything once paid", 1, 5000, 5000, false},
		{"anything for a visit a package pays", 1, 0, 0, false},
		{"refund of what was paid", -5000, 5000, 5000, true},
		{"refund beyond what was paid", -5001, 5000, 5000, false},
		{"refund of a legacy overpayment", -1000, 6000, 5000, true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := checkAmount(tc.amount, tc.paid, tc.due, "EUR")
			if (err == nil) != tc.ok {
				t.Fatalf("checkAmount(%d, paid %d, due %d) = %v, want ok %v", tc.amount, tc.paid, tc.due, err, tc.ok)
			}
			if err != nil && ErrorCode(err) != CodeInvalid {
				t.Fatalf("error %v is not a validation error", err)
			}
		})
	}
}

func TestSaleCovers(t *testing.T) {
	from := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	sale := PackageSale{ClientID: "c", ServiceIDs: []string{"swim"}, Currency: "EUR", ValidFrom: from, ValidUntil: from.AddDate(0, 0, 30)}
	visit := Appointment{ClientID: "c", ServiceID: "swim", Currency: "EUR", Status: Completed, Start: from.Add(48 * time.Hour)}
	with := func(f func(*Appointment)) Appointment { a := visit; f(&a); return a }
	missedSale := sale
	missedSale.ChargeMissed = true
	cases := []struct {
		name string
		sale PackageSale
		a    Appointment
		want bool
	}{
		{"completed visit of a covered service", sale, visit, true},
		{"another service", sale, with(func(a *Appointment) { a.ServiceID = "yoga" }), false},
		{"another client", sale, with(func(a *Appointment) { a.ClientID = "d" }), false},
		{"another currency", sale, with(func(a *Appointment) { a.Currency = "USD" }), false},
		{"before the sale", sale, with(func(a *Appointment) { a.Start = from.Add(-time.Minute) }), false},
		{"at the start", sale, with(func(a *Appointment) { a.Start = from }), true},
		{"at the end", sale, with(func(a *Appointment) { a.Start = sale.ValidUntil }), false},
		{"missed, not charged", sale, with(func(a *Appointment) { a.Status = Missed }), false},
		{"missed, charged", missedSale, with(func(a *Appointment) { a.Status = Missed }), true},
		{"accepted", missedSale, with(func(a *Appointment) { a.Status = Accepted }), false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.sale.Covers(tc.a); got != tc.want {
				t.Fatalf("Covers = %v, want %v", got, tc.want)
			}
		})
	}
	// pick takes the oldest covered visits up to the sale's visits.
	sale.VisitsTotal = 2
	vs := []Appointment{with(func(a *Appointment) { a.ID = "1"; a.ServiceID = "yoga" }), with(func(a *Appointment) { a.ID = "2" }),
		with(func(a *Appointment) { a.ID = "3" }), with(func(a *Appointment) { a.ID = "4" })}
	if got := sale.pick(vs); len(got) != 2 || got[0] != "2" || got[1] != "3" {
		t.Fatalf("pick = %v, want [2 3]", got)
	}
}
