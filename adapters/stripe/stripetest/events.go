package stripetest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	stripesdk "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"
)

// Metadata keys the stripe adapter sets on sessions and payment intents.
const (
	MetaOrgID    = "org_id"
	MetaPurpose  = "purpose"
	MetaRefID    = "ref_id"
	MetaClientID = "client_id"
)

// Metadata returns the metadata the stripe adapter puts on a Checkout
// Session and its PaymentIntent.
func Metadata(orgID, purpose, refID, clientID string) map[string]string {
	return map[string]string{MetaOrgID: orgID, MetaPurpose: purpose, MetaRefID: refID, MetaClientID: clientID}
}

// Payment describes the payment an event reports. Set the ids (or call
// WithIDs once) when several events must refer to the same payment; empty
// ids are generated per event.
type Payment struct {
	SessionID         string            // cs_test_…
	PaymentIntentID   string            // pi_…
	ChargeID          string            // ch_…
	Amount            int64             // minor units
	Currency          string            // ISO 4217, any case; sent lower-case
	Metadata          map[string]string // see Metadata
	ClientReferenceID string            // checkout.session; empty means Metadata["ref_id"]
	// AmountRefunded is charge.refunded's amount_refunded; 0 means Amount
	// (a full refund).
	AmountRefunded int64
	// FailureCode and FailureMessage are payment_intent.payment_failed's
	// last_payment_error; empty means "card_declined" and "Your card was
	// declined.".
	FailureCode    string
	FailureMessage string
	// Created is the event and object creation time; zero means now.
	Created time.Time
}

// WithIDs returns p with every empty id generated.
func (p Payment) WithIDs() Payment {
	if p.SessionID == "" {
		p.SessionID = "cs_test_" + randomID(24)
	}
	if p.PaymentIntentID == "" {
		p.PaymentIntentID = "pi_" + randomID(24)
	}
	if p.ChargeID == "" {
		p.ChargeID = "ch_" + randomID(24)
	}
	return p
}

// Payment returns the payment a recorded POST /v1/checkout/sessions asked
// for: the session id answered, amount, currency, metadata and
// client_reference_id from its form, with generated payment intent and
// charge ids. Build the events that complete that session from it.
func (q Request) Payment() Payment {
	p := Payment{
		SessionID:         q.ID(),
		Currency:          q.Form.Get("line_items[0][price_data][currency]"),
		ClientReferenceID: q.Form.Get("client_reference_id"),
		Metadata:          map[string]string{},
	}
	unit, _ := strconv.ParseInt(q.Form.Get("line_items[0][price_data][unit_amount]"), 10, 64)
	qty, err := strconv.ParseInt(q.Form.Get("line_items[0][quantity]"), 10, 64)
	if err != nil || qty < 1 {
		qty = 1
	}
	p.Amount = unit * qty
	for k, vs := range q.Form {
		if strings.HasPrefix(k, "metadata[") && strings.HasSuffix(k, "]") && len(vs) > 0 {
			p.Metadata[strings.TrimSuffix(strings.TrimPrefix(k, "metadata["), "]")] = vs[0]
		}
	}
	return p.WithIDs()
}

// Event wraps object in a Stripe event envelope of the given type: id
// evt_…, object "event", api_version (stripe-go's), created, livemode
// false, pending_webhooks, request, data.object.
func Event(typ string, object map[string]any, created time.Time) map[string]any {
	if created.IsZero() {
		created = time.Now()
	}
	return map[string]any{
		"id":               "evt_" + randomID(24),
		"object":           "event",
		"api_version":      stripesdk.APIVersion,
		"created":          created.Unix(),
		"data":             map[string]any{"object": object},
		"livemode":         false,
		"pending_webhooks": 1,
		"request":          map[string]any{"id": nil, "idempotency_key": nil},
		"type":             typ,
	}
}

func (p Payment) created() time.Time {
	if p.Created.IsZero() {
		return time.Now()
	}
	return p.Created
}

func (p Payment) metadata() map[string]string {
	m := map[string]string{}
	for k, v := range p.Metadata {
		m[k] = v
	}
	return m
}

// CheckoutSessionCompleted builds a checkout.session.completed event for a
// paid session (object checkout.session: id, amount_total, currency,
// payment_intent, metadata, client_reference_id, payment_status "paid",
// status "complete", mode "payment").
func CheckoutSessionCompleted(p Payment) map[string]any {
	p = p.WithIDs()
	ref := p.ClientReferenceID
	if ref == "" {
		ref = p.Metadata[MetaRefID]
	}
	created := p.created()
	obj := map[string]any{
		"id":                  p.SessionID,
		"object":              "checkout.session",
		"amount_subtotal":     p.Amount,
		"amount_total":        p.Amount,
		"cancel_url":          nil,
		"client_reference_id": nilIfEmpty(ref),
		"created":             created.Add(-time.Minute).Unix(),
		"currency":            strings.ToLower(p.Currency),
		"customer":            nil,
		"customer_details":    map[string]any{"email": "client@example.com", "name": nil, "phone": nil},
		"expires_at":          created.Add(23 * time.Hour).Unix(),
		"livemode":            false,
		"metadata":            p.metadata(),
		"mode":                "payment",
		"payment_intent":      p.PaymentIntentID,
		"payment_method_types": []string{
			"card",
		},
		"payment_status": "paid",
		"status":         "complete",
		"success_url":    "https://example.com/success",
		"url":            nil,
	}
	return Event("checkout.session.completed", obj, created)
}

func (p Payment) paymentIntent(status string, received int64, lastErr any) map[string]any {
	created := p.created()
	var latest any
	if status == "succeeded" {
		latest = p.ChargeID
	}
	return map[string]any{
		"id":                   p.PaymentIntentID,
		"object":               "payment_intent",
		"amount":               p.Amount,
		"amount_capturable":    0,
		"amount_received":      received,
		"capture_method":       "automatic",
		"client_secret":        p.PaymentIntentID + "_secret_" + randomID(24),
		"confirmation_method":  "automatic",
		"created":              created.Add(-time.Minute).Unix(),
		"currency":             strings.ToLower(p.Currency),
		"last_payment_error":   lastErr,
		"latest_charge":        latest,
		"livemode":             false,
		"metadata":             p.metadata(),
		"payment_method_types": []string{"card"},
		"status":               status,
	}
}

// PaymentIntentSucceeded builds a payment_intent.succeeded event (object
// payment_intent: id, amount, amount_received = Amount, currency,
// metadata, latest_charge, last_payment_error null, status "succeeded").
func PaymentIntentSucceeded(p Payment) map[string]any {
	p = p.WithIDs()
	return Event("payment_intent.succeeded", p.paymentIntent("succeeded", p.Amount, nil), p.created())
}

// PaymentIntentFailed builds a payment_intent.payment_failed event (object
// payment_intent: amount_received 0, status "requires_payment_method",
// last_payment_error {type card_error, code, decline_code, message}).
func PaymentIntentFailed(p Payment) map[string]any {
	p = p.WithIDs()
	code, msg := p.FailureCode, p.FailureMessage
	if code == "" {
		code = "card_declined"
	}
	if msg == "" {
		msg = "Your card was declined."
	}
	lastErr := map[string]any{
		"type":    "card_error",
		"code":    code,
		"message": msg,
		"doc_url": "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-"),
	}
	if code == "card_declined" {
		lastErr["decline_code"] = "generic_decline"
	}
	return Event("payment_intent.payment_failed", p.paymentIntent("requires_payment_method", 0, lastErr), p.created())
}

// ChargeRefunded builds a charge.refunded event (object charge: id,
// payment_intent, amount, amount_captured, amount_refunded, refunded (true
// when fully refunded), currency, metadata, status "succeeded").
func ChargeRefunded(p Payment) map[string]any {
	p = p.WithIDs()
	refunded := p.AmountRefunded
	if refunded == 0 {
		refunded = p.Amount
	}
	created := p.created()
	obj := map[string]any{
		"id":              p.ChargeID,
		"object":          "charge",
		"amount":          p.Amount,
		"amount_captured": p.Amount,
		"amount_refunded": refunded,
		"captured":        true,
		"created":         created.Add(-time.Hour).Unix(),
		"currency":        strings.ToLower(p.Currency),
		"livemode":        false,
		"metadata":        p.metadata(),
		"paid":            true,
		"payment_intent":  p.PaymentIntentID,
		"refunded":        refunded >= p.Amount,
		"status":          "succeeded",
	}
	return Event("charge.refunded", obj, created)
}

func nilIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

// payload turns an event (a []byte, json.RawMessage or string of JSON, or
// any value to marshal, such as the builders' maps) into the body Stripe
// would POST.
func payload(event any) ([]byte, error) {
	switch v := event.(type) {
	case []byte:
		return v, nil
	case json.RawMessage:
		return v, nil
	case string:
		return []byte(v), nil
	}
	return json.MarshalIndent(event, "", "  ")
}

// SignedPayload returns the body for event and its Stripe-Signature header,
// signed now with secret (the endpoint's whsec_…) by stripe-go's
// webhook.GenerateTestSignedPayload.
func SignedPayload(t testing.TB, secret string, event any) (body []byte, header string) {
	t.Helper()
	return SignedPayloadAt(t, secret, event, time.Now())
}

// SignedPayloadAt is SignedPayload with the signature's timestamp at (to
// test the tolerance).
func SignedPayloadAt(t testing.TB, secret string, event any, at time.Time) (body []byte, header string) {
	t.Helper()
	b, err := payload(event)
	if err != nil {
		t.Fatalf("stripetest: marshal event: %v", err)
	}
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: b, Secret: secret, Timestamp: at})
	return sp.Payload, sp.Header
}

// PostEvent delivers event to a webhook endpoint as Stripe does: POST with
// the JSON body, Content-Type application/json and a Stripe-Signature
// signed now with secret. The caller closes the response body.
func PostEvent(ctx context.Context, endpoint, secret string, event any) (*http.Response, error) {
	b, err := payload(event)
	if err != nil {
		return nil, fmt.Errorf("stripetest: marshal event: %w", err)
	}
	sp := webhook.GenerateTestSignedPayload(&webhook.UnsignedPayload{Payload: b, Secret: secret, Timestamp: time.Now()})
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(sp.Payload))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json; charset=utf-8")
	req.Header.Set("User-Agent", "Stripe/1.0 (+https://stripe.com/docs/webhooks)")
	req.Header.Set("Stripe-Signature", sp.Header)
	return http.DefaultClient.Do(req)
}
