package webhooks

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	stripesdk "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/bookinggw/gateway/core"
)

// Payments records what Stripe reports.
type Payments interface {
	RecordProviderPayment(ctx context.Context, orgID, purpose, refID string, amount int64, currency, providerRef, note string) (bool, error)
}

// RefundLedger records refunds of a provider charge.
type RefundLedger interface {
	// AddProviderRefund records what is new in a charge's cumulative
	// refunded amount, reading what was recorded and writing the rest in
	// one transaction serialized per appointment or sale, so concurrent
	// events (cumulative 100 and 300) record 300 in all, once.
	AddProviderRefund(ctx context.Context, p core.Payment, purpose, refID, chargeRef string, cumulative int64) (bool, error)
}

// LinkStates records the state of a payment link by its Checkout session.
type LinkStates interface {
	SetPaymentLinkState(ctx context.Context, providerID, state string) (bool, error)
}

// stripeTolerance is how old a signed event may be (Stripe's default).
const stripeTolerance = 5 * time.Minute

// stripeObject is the part of the event objects we read.
type stripeObject struct {
	ID             string            `json:"id"`
	Object         string            `json:"object"`
	Metadata       map[string]string `json:"metadata"`
	AmountTotal    int64             `json:"amount_total"`
	AmountReceived int64             `json:"amount_received"`
	AmountRefunded int64             `json:"amount_refunded"`
	Currency       string            `json:"currency"`
	PaymentStatus  string            `json:"payment_status"`
	PaymentIntent  json.RawMessage   `json:"payment_intent"`
}

func (o stripeObject) paymentIntentID() string {
	var s string
	if json.Unmarshal(o.PaymentIntent, &s) == nil {
		return s
	}
	var obj struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(o.PaymentIntent, &obj)
	return obj.ID
}

// stripeEvent verifies Stripe-Signature, de-duplicates by event id and
// records payments and refunds on the appointment or package sale named in
// the metadata. Events for unknown objects are acknowledged and logged: a
// retry would not make them known.
func (h *Handlers) stripeEvent(c *gin.Context) {
	if h.c.StripeSecret == "" {
		h.reject(c, "stripe", "not_configured", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		if tooLarge(err) {
			h.reject(c, "stripe", "too_large", http.StatusRequestEntityTooLarge)
			return
		}
		h.reject(c, "stripe", "body", http.StatusBadRequest)
		return
	}
	ev, err := webhook.ConstructEventWithOptions(body, c.GetHeader("Stripe-Signature"), h.c.StripeSecret,
		webhook.ConstructEventOptions{Tolerance: stripeTolerance, IgnoreAPIVersionMismatch: true})
	if err != nil {
		h.reject(c, "stripe", "bad_signature", http.StatusBadRequest)
		return
	}
	ctx := c.Request.Context()
	now := h.c.Clock.Now()
	first, err := h.c.Store.ClaimWebhook(ctx, ProviderStripe, ev.ID, now)
	if err != nil {
		h.fail(c, "stripe event", err)
		return
	}
	if first {
		if err := h.handleStripe(ctx, ev); err != nil {
			// Not marked handled: Stripe's retry handles it again.
			h.c.Log.ErrorContext(ctx, "stripe event failed", "event_id", ev.ID, "type", string(ev.Type), "error", err.Error())
			c.Status(http.StatusInternalServerError)
			return
		}
		if err := h.c.Store.FinishWebhook(ctx, ProviderStripe, ev.ID, now); err != nil {
			h.c.Log.WarnContext(ctx, "stripe event: record", "error", err.Error())
		}
	}
	c.JSON(http.StatusOK, gin.H{"received": true})
}

// linkState records a Checkout session's state for the result page.
func (h *Handlers) linkState(ctx context.Context, sessionID, state string) error {
	if h.c.LinkStates == nil || sessionID == "" {
		return nil
	}
	_, err := h.c.LinkStates.SetPaymentLinkState(ctx, sessionID, state)
	return err
}

func (h *Handlers) handleStripe(ctx context.Context, ev stripesdk.Event) (err error) {
	var o stripeObject
	if ev.Data == nil || json.Unmarshal(ev.Data.Raw, &o) != nil {
		h.c.Log.WarnContext(ctx, "stripe event without a readable object", "event_id", ev.ID)
		return nil
	}
	org, purpose, ref := o.Metadata["org_id"], o.Metadata["purpose"], o.Metadata["ref_id"]
	if org == "" || ref == "" {
		h.c.Log.InfoContext(ctx, "stripe event for an object we did not create", "event_id", ev.ID, "type", string(ev.Type))
		return nil
	}
	var amount int64
	var providerRef, note string
	switch ev.Type {
	case "checkout.session.expired":
		return h.linkState(ctx, o.ID, core.LinkExpired)
	case "checkout.session.completed":
		if o.PaymentStatus != "paid" {
			return nil
		}
		// The result page shows paid once the money is recorded below; a
		// failure there leaves the event to Stripe's retry, which sets it.
		defer func() {
			if err == nil {
				err = h.linkState(ctx, o.ID, core.LinkPaid)
			}
		}()
		amount, note = o.AmountTotal, "Stripe Checkout"
		// The payment intent names the money; payment_intent.succeeded for
		// the same payment then records nothing.
		providerRef = o.paymentIntentID()
		if providerRef == "" {
			providerRef = o.ID
		}
	case "payment_intent.succeeded":
		amount, providerRef, note = o.AmountReceived, o.ID, "Stripe payment"
	case "payment_intent.payment_failed":
		h.c.Log.InfoContext(ctx, "stripe payment failed", "event_id", ev.ID, "org_id", org)
		return nil
	case "charge.refunded":
		// amount_refunded is cumulative: the ledger records what is new
		// since the refunds of this charge already recorded.
		p := core.Payment{ID: core.NewID(), OrgID: org, Currency: strings.ToUpper(o.Currency), Method: "stripe", Note: "Stripe refund",
			CreatedAt: h.c.Clock.Now().UTC().Truncate(time.Millisecond)}
		_, err := h.c.Refunds.AddProviderRefund(ctx, p, purpose, ref, o.ID, o.AmountRefunded)
		if core.ErrorCode(err) == core.CodeNotFound {
			h.c.Log.WarnContext(ctx, "stripe refund for an unknown object", "event_id", ev.ID, "purpose", purpose)
			return nil
		}
		return err
	default:
		return nil
	}
	_, err = h.c.Payments.RecordProviderPayment(ctx, org, purpose, ref, amount, o.Currency, providerRef, note)
	if core.ErrorCode(err) == core.CodeNotFound {
		h.c.Log.WarnContext(ctx, "stripe event for an unknown object", "event_id", ev.ID, "purpose", purpose)
		return nil
	}
	return err
}
