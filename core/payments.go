package core

import (
	"context"
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
