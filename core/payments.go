package core

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"strings"
	"time"
)

// LinkRequest asks a payment provider for a link the client pays through.
type LinkRequest struct {
	OrgID       string
	ClientID    string
	Purpose     string // "appointment" or "package_sale"
	RefID       string // the appointment or package sale id
	AmountMinor int64
	Currency    string // ISO 4217, upper case
	Description string // shown on the payment page
	// IdempotencyKey makes a retried request return the first link instead
	// of creating a second one.
	IdempotencyKey string
	SuccessURL     string
	CancelURL      string
}

// PaymentLink is a link created by the provider.
type PaymentLink struct {
	ProviderID string    `json:"provider_id"` // e.g. Stripe Checkout Session id cs_…
	URL        string    `json:"url"`
	ExpiresAt  time.Time `json:"expires_at"`
}

// PaymentLinks creates payment links (Stripe in production). Metadata of the
// link must carry OrgID, Purpose, RefID and ClientID so the provider's
// webhook can be matched back.
type PaymentLinks interface {
	CreateLink(ctx context.Context, r LinkRequest) (PaymentLink, error)
}

// StoredLink is a payment link handed out, kept so that asking again for
// the same object and amount returns the same link.
type StoredLink struct {
	ID          string `json:"id"`
	OrgID       string `json:"-"`
	Purpose     string `json:"purpose"`
	RefID       string `json:"ref_id"`
	AmountMinor int64  `json:"amount_minor"`
	Currency    string `json:"currency"`
	ProviderID  string `json:"provider_id"`
	URL         string `json:"url"`
	// Ref is the unguessable reference of the payment result page
	// (/paid/<ref>), the Checkout success and cancel URLs.
	Ref string `json:"-"`
	// State is what Stripe's webhook recorded: open, paid or expired.
	State     string    `json:"-"`
	CreatedAt time.Time `json:"created_at"`
}

// Payment link states, as recorded by the provider's webhook.
const (
	LinkOpen    = "open"
	LinkPaid    = "paid"
	LinkExpired = "expired"
)

// PaidRef is the payment result page's reference for a payment link's
// idempotency key: keyed with the link secret, so it cannot be guessed,
// and the same on a retried request (which Stripe answers with the first
// session, whose URLs carry the first reference).
func PaidRef(secret []byte, key string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte("paid:" + key))
	return base64.RawURLEncoding.EncodeToString(m.Sum(nil))[:22]
}

// LinkStore keeps payment links and provider payments.
type LinkStore interface {
	FindPaymentLink(ctx context.Context, orgID, purpose, refID string, amount int64) (StoredLink, error)
	// SavePaymentLink writes a link unless one exists for the same object
	// and amount; it returns the stored one.
	SavePaymentLink(ctx context.Context, l StoredLink) (StoredLink, error)
	// RefundedSoFar sums the refunds recorded for a provider charge.
	RefundedSoFar(ctx context.Context, chargeRef string) (int64, error)
}

// RecordProviderPayment records money a provider reports for an
// appointment or a package sale (a negative amount is a refund). The
// provider reference is unique: a replayed event records nothing and
// returns false. Unknown objects are NotFound.
func (s *MoneyService) RecordProviderPayment(ctx context.Context, orgID, purpose, refID string, amount int64, currency, providerRef, note string) (bool, error) {
	p := Payment{ID: NewID(), OrgID: orgID, AmountMinor: amount, Currency: strings.ToUpper(currency), Method: "stripe", Note: note,
		ProviderRef: providerRef, CreatedAt: s.Now()}
	switch purpose {
	case "appointment":
		p.AppointmentID = refID
		_, added, err := s.store.AddPayment(ctx, p)
		return added, err
	case "package_sale":
		_, added, err := s.store.AddSalePayment(ctx, p, refID)
		return added, err
	}
	return false, NotFound("payment purpose " + purpose)
}
