package stripe_test

import (
	"bytes"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	stripesdk "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/bookinggw/gateway/adapters/stripe"
	"github.com/bookinggw/gateway/adapters/stripe/stripetest"
)

const whsec = "whsec_test_0123456789abcdefghijklmnopqrstuv"

func TestVerifyEvent(t *testing.T) {
	t.Parallel()
	pay := stripetest.Payment{
		Amount:   4500,
		Currency: "EUR",
		Metadata: stripetest.Metadata("org_1", "appointment", "apt_42", "cli_7"),
	}.WithIDs()
	event := stripetest.CheckoutSessionCompleted(pay)
	body, header := stripetest.SignedPayload(t, whsec, event)

	t.Run("valid", func(t *testing.T) {
		ev, err := stripe.VerifyEvent(body, header, whsec, 5*time.Minute)
		if err != nil {
			t.Fatalf("VerifyEvent: %v", err)
		}
		if ev.ID != event["id"] || ev.Type != "checkout.session.completed" || !strings.HasPrefix(ev.ID, "evt_") {
			t.Fatalf("event = %s %s", ev.ID, ev.Type)
		}
		var cs stripesdk.CheckoutSession
		if err := json.Unmarshal(ev.Data.Raw, &cs); err != nil {
			t.Fatal(err)
		}
		if cs.ID != pay.SessionID || cs.AmountTotal != 4500 || cs.Currency != "eur" ||
			cs.PaymentStatus != stripesdk.CheckoutSessionPaymentStatusPaid ||
			cs.PaymentIntent == nil || cs.PaymentIntent.ID != pay.PaymentIntentID ||
			cs.ClientReferenceID != "apt_42" || cs.Metadata["org_id"] != "org_1" {
			t.Fatalf("session = %+v", cs)
		}
	})

	t.Run("other api version accepted", func(t *testing.T) {
		ev := stripetest.PaymentIntentSucceeded(pay)
		ev["api_version"] = "2020-08-27"
		b, h := stripetest.SignedPayload(t, whsec, ev)
		if _, err := stripe.VerifyEvent(b, h, whsec, time.Minute); err != nil {
			t.Fatalf("VerifyEvent: %v", err)
		}
	})

	t.Run("default tolerance is five minutes", func(t *testing.T) {
		b, h := stripetest.SignedPayloadAt(t, whsec, event, time.Now().Add(-4*time.Minute))
		if _, err := stripe.VerifyEvent(b, h, whsec, 0); err != nil {
			t.Fatalf("4 min old with tolerance 0: %v", err)
		}
		b, h = stripetest.SignedPayloadAt(t, whsec, event, time.Now().Add(-6*time.Minute))
		if _, err := stripe.VerifyEvent(b, h, whsec, 0); !errors.Is(err, webhook.ErrTooOld) {
			t.Fatalf("6 min old with tolerance 0: err = %v, want ErrTooOld", err)
		}
	})

	tampered := bytes.Replace(body, []byte(`"amount_total": 4500`), []byte(`"amount_total": 1`), 1)
	if bytes.Equal(tampered, body) {
		t.Fatal("tampering did not change the body")
	}
	oldBody, oldHeader := stripetest.SignedPayloadAt(t, whsec, event, time.Now().Add(-10*time.Minute))
	bad := []struct {
		name    string
		body    []byte
		header  string
		secret  string
		wantErr error
	}{
		{"tampered body", tampered, header, whsec, webhook.ErrNoValidSignature},
		{"wrong secret", body, header, "whsec_someone_else", webhook.ErrNoValidSignature},
		{"signature of another body", body, headerFor(t, []byte(`{"id":"evt_other"}`)), whsec, webhook.ErrNoValidSignature},
		{"outside tolerance", oldBody, oldHeader, whsec, webhook.ErrTooOld},
		{"no header", body, "", whsec, webhook.ErrNotSigned},
		{"garbage header", body, "t=abc,v1=00", whsec, webhook.ErrInvalidHeader},
		{"no v1 signature", body, "t=1700000000,v0=abcdef", whsec, webhook.ErrNoValidSignature},
		{"empty secret", body, header, "", nil},
	}
	for _, tt := range bad {
		t.Run(tt.name, func(t *testing.T) {
			_, err := stripe.VerifyEvent(tt.body, tt.header, tt.secret, 5*time.Minute)
			if err == nil {
				t.Fatal("accepted")
			}
			if tt.wantErr != nil && !errors.Is(err, tt.wantErr) {
				t.Fatalf("err = %v, want %v", err, tt.wantErr)
			}
		})
	}

	t.Run("signed non-json body", func(t *testing.T) {
		b, h := stripetest.SignedPayload(t, whsec, []byte("not json"))
		if _, err := stripe.VerifyEvent(b, h, whsec, time.Minute); err == nil {
			t.Fatal("accepted")
		}
	})
}

func headerFor(t *testing.T, other []byte) string {
	t.Helper()
	_, h := stripetest.SignedPayload(t, whsec, other)
	return h
}

// The builders' events verify and decode into stripe-go's types with the
// fields the webhook handler reads.
func TestEventBuildersDecode(t *testing.T) {
	t.Parallel()
	pay := stripetest.Payment{
		Amount:   12000,
		Currency: "JPY",
		Metadata: stripetest.Metadata("org_2", "package_sale", "pks_9", "cli_3"),
	}.WithIDs()

	verify := func(t *testing.T, ev map[string]any) stripesdk.Event {
		t.Helper()
		b, h := stripetest.SignedPayload(t, whsec, ev)
		got, err := stripe.VerifyEvent(b, h, whsec, time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		if got.Type != stripesdk.EventType(ev["type"].(string)) || got.ID != ev["id"] || got.Created == 0 || got.APIVersion != stripesdk.APIVersion {
			t.Fatalf("event = %+v", got)
		}
		return got
	}

	t.Run("payment_intent.succeeded", func(t *testing.T) {
		ev := verify(t, stripetest.PaymentIntentSucceeded(pay))
		var pi stripesdk.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
			t.Fatal(err)
		}
		if pi.ID != pay.PaymentIntentID || pi.AmountReceived != 12000 || pi.Currency != "jpy" ||
			pi.Status != stripesdk.PaymentIntentStatusSucceeded || pi.LastPaymentError != nil ||
			pi.Metadata["ref_id"] != "pks_9" || pi.Metadata["purpose"] != "package_sale" {
			t.Fatalf("payment intent = %+v", pi)
		}
	})
	t.Run("payment_intent.payment_failed", func(t *testing.T) {
		p := pay
		p.FailureCode, p.FailureMessage = "expired_card", "Your card has expired."
		ev := verify(t, stripetest.PaymentIntentFailed(p))
		var pi stripesdk.PaymentIntent
		if err := json.Unmarshal(ev.Data.Raw, &pi); err != nil {
			t.Fatal(err)
		}
		if pi.AmountReceived != 0 || pi.LastPaymentError == nil || pi.LastPaymentError.Code != "expired_card" ||
			pi.LastPaymentError.Msg != "Your card has expired." || pi.Metadata["org_id"] != "org_2" {
			t.Fatalf("payment intent = %+v, last error %+v", pi, pi.LastPaymentError)
		}
	})
	t.Run("charge.refunded", func(t *testing.T) {
		p := pay
		p.AmountRefunded = 5000
		ev := verify(t, stripetest.ChargeRefunded(p))
		var ch stripesdk.Charge
		if err := json.Unmarshal(ev.Data.Raw, &ch); err != nil {
			t.Fatal(err)
		}
		if ch.ID != pay.ChargeID || ch.PaymentIntent == nil || ch.PaymentIntent.ID != pay.PaymentIntentID ||
			ch.AmountRefunded != 5000 || ch.Refunded || ch.Currency != "jpy" || ch.Metadata["client_id"] != "cli_3" {
			t.Fatalf("charge = %+v", ch)
		}
		full := verify(t, stripetest.ChargeRefunded(pay))
		if err := json.Unmarshal(full.Data.Raw, &ch); err != nil {
			t.Fatal(err)
		}
		if !ch.Refunded || ch.AmountRefunded != 12000 {
			t.Fatalf("full refund = %+v", ch)
		}
	})
}
