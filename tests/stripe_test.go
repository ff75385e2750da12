package tests

import (
	"context"
	"io"
	"strings"
	"testing"

	"github.com/bookinggw/gateway/adapters/stripe/stripetest"
	"github.com/bookinggw/gateway/core"
)

const whsec = "whsec_test_secret"

func TestStripePayments(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		rec := stripetest.Start(t)
		e := newAPIEnv(t, freshURL(t, e0), map[string]string{"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": whsec,
			"STRIPE_API_URL": rec.URL})
		price := int64(5000)
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Consultation", DurationMin: 60, PriceMinor: &price, Currency: "EUR"})
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		var link struct {
			URL     string       `json:"url"`
			Message core.Message `json:"message"`
		}
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/payment-link", nil, &link)
		first := link.URL
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/payment-link", nil, &link)
		if link.URL != first || first == "" || len(rec.CheckoutSessions()) != 1 || link.Message.Kind != core.KindPaymentLink {
			t.Fatalf("second request: %q vs %q, %d sessions, %+v", link.URL, first, len(rec.CheckoutSessions()), link.Message)
		}
		sess := rec.CheckoutSessions()[0]
		if sess.Form.Get("metadata[ref_id]") != a.ID || sess.Form.Get("line_items[0][price_data][unit_amount]") != "5000" || sess.IdempotencyKey == "" {
			t.Fatalf("session request: %v", sess.Form)
		}
		post := func(event any, secret string) int {
			resp, err := stripetest.PostEvent(context.Background(), e.srv.URL+"/webhooks/stripe", secret, event)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			return resp.StatusCode
		}
		appt := func() core.Appointment {
			var got core.Appointment
			e.must(200, "GET", "/api/v1/appointments/"+a.ID, nil, &got)
			return got
		}
		// A partial payment of 2000 through the link.
		pay := sess.Payment()
		pay.Amount = 2000
		ev := stripetest.CheckoutSessionCompleted(pay)
		if code := post(ev, "whsec_wrong"); code != 400 {
			t.Fatalf("bad signature: %d", code)
		}
		if got := appt(); got.PaidMinor != 0 {
			t.Fatalf("bad signature changed paid to %d", got.PaidMinor)
		}
		// The result page (Checkout's success URL, an unguessable
		// reference) says pending until the webhook records the payment.
		success := sess.Form.Get("success_url")
		if !strings.HasPrefix(success, e.srv.URL+"/paid/") || sess.Form.Get("cancel_url") != success+"?cancelled=1" {
			t.Fatalf("success and cancel URLs: %q %q", success, sess.Form.Get("cancel_url"))
		}
		b := newBrowser(t, e.srv.URL)
		if st, page := b.get(strings.TrimPrefix(success, e.srv.URL) + "?lang=en"); st != 200 || !strings.Contains(page, "being confirmed") {
			t.Fatalf("/paid before the webhook = %d:\n%s", st, page)
		}
		if code := post(ev, whsec); code != 200 {
			t.Fatalf("checkout.session.completed: %d", code)
		}
		if _, page := b.get(strings.TrimPrefix(success, e.srv.URL) + "?lang=en"); !strings.Contains(page, "payment was received") {
			t.Fatalf("/paid after the webhook:\n%s", page)
		}
		// The same event again, and payment_intent.succeeded for the same payment: nothing more.
		post(ev, whsec)
		post(stripetest.PaymentIntentSucceeded(pay), whsec)
		if got := appt(); got.PaidMinor != 2000 || got.BalanceMinor != 3000 {
			t.Fatalf("after the partial payment: paid %d balance %d", got.PaidMinor, got.BalanceMinor)
		}
		// The rest: a new link for the balance (3000), paid.
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/payment-link", nil, &link)
		if link.URL == "" || len(rec.CheckoutSessions()) != 2 {
			t.Fatalf("link for the balance: %d sessions", len(rec.CheckoutSessions()))
		}
		rest := rec.CheckoutSessions()[1].Payment()
		if rest.Amount != 3000 {
			t.Fatalf("balance link amount %d", rest.Amount)
		}
		if code := post(stripetest.PaymentIntentSucceeded(rest), whsec); code != 200 {
			t.Fatalf("payment_intent.succeeded: %d", code)
		}
		if got := appt(); got.PaidMinor != 5000 || got.BalanceMinor != 0 {
			t.Fatalf("after paying the rest: %+v", got)
		}
		// A refund of 1000 on the first payment; Stripe repeats it.
		refund := pay
		refund.AmountRefunded = 1000
		for i := 0; i < 2; i++ {
			if code := post(stripetest.ChargeRefunded(refund), whsec); code != 200 {
				t.Fatalf("charge.refunded: %d", code)
			}
		}
		if got := appt(); got.PaidMinor != 4000 || got.BalanceMinor != 1000 {
			t.Fatalf("after the refund: %+v", got)
		}
		// A second refund on the same charge brings it to 2000 refunded in all.
		refund.AmountRefunded = 2000
		post(stripetest.ChargeRefunded(refund), whsec)
		var payments struct {
			Items []core.Payment `json:"items"`
		}
		e.must(200, "GET", "/api/v1/appointments/"+a.ID+"/payments", nil, &payments)
		var sum int64
		for _, p := range payments.Items {
			sum += p.AmountMinor
		}
		if got := appt(); got.PaidMinor != 3000 || sum != 3000 || len(payments.Items) != 4 {
			t.Fatalf("ledger: %d entries summing %d; appointment paid %d", len(payments.Items), sum, got.PaidMinor)
		}
		// Events for objects we do not know are acknowledged.
		stray := stripetest.Payment{Amount: 100, Currency: "eur", Metadata: stripetest.Metadata(e.org, "appointment", core.NewID(), "")}.WithIDs()
		if code := post(stripetest.PaymentIntentSucceeded(stray), whsec); code != 200 {
			t.Fatalf("unknown object: %d", code)
		}
		// The client gets receipts.
		if _, err := e.app.Notify.RelayEvents(context.Background()); err != nil {
			t.Fatal(err)
		}
		receipts, staff := 0, 0
		for _, m := range e.messages("appointment_id=" + a.ID) {
			switch m.Kind {
			case core.KindReceipt:
				receipts++
			case core.KindStaffPayment:
				staff++ // the specialist has no channel here: recorded as skipped
			}
		}
		if receipts != 2 || staff != 2 {
			t.Fatalf("%d receipts and %d staff notices, want 2 and 2", receipts, staff)
		}
	})
}
