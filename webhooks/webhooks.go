// Package webhooks holds the handlers providers call: each verifies its
// provider's signature, records the provider's event id so a repeat is
// acknowledged and ignored, and answers fast; slow work goes to the queue.
package webhooks

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bookinggw/gateway/core"
)

// Store is what the webhooks record.
type Store interface {
	// ClaimWebhook records a delivery (provider, event id) and tells
	// whether to handle it: the first time, or again if an earlier
	// delivery was not handled; FinishWebhook marks it handled.
	ClaimWebhook(ctx context.Context, provider, eventID string, at time.Time) (bool, error)
	FinishWebhook(ctx context.Context, provider, eventID string, at time.Time) error
	// RecordStatus records a status callback delivery with its report, to
	// be applied by the status task; first is false for a repeat, which
	// writes nothing.
	RecordStatus(ctx context.Context, provider, eventID string, r core.StatusReport) (bool, error)
	SaveInbound(ctx context.Context, in core.Inbound) (bool, error)
}

// Providers as named in webhook_events, the one record of deliveries: the
// event id is the provider's id of the delivery.
const (
	ProviderTwilioSMS    = "twilio.sms"    // MessageSid of an inbound SMS or WhatsApp message
	ProviderTwilioStatus = "twilio.status" // MessageSid:MessageStatus of a status callback
	ProviderStripe       = "stripe"        // Stripe event id (evt_…)
	// Telegram updates (update_id) and Slack events (event_id) are kept in
	// the messenger inbox (ChatInbox) under the same rule; "twilio.voice"
	// (CallSid:CallStatus) will be recorded here.
)

// Enqueuer hands slow work to the queue.
type Enqueuer interface {
	EnqueueInbound(ctx context.Context, id string) error
	// EnqueueStatus queues the application of a recorded status report.
	EnqueueStatus(ctx context.Context, provider, eventID string) error
}

// Config wires the webhook handlers.
type Config struct {
	Store Store
	Clock core.Clock
	Log   *slog.Logger
	// PublicURL is the base URL providers call; Twilio signs the full URL,
	// so it must be exactly what was configured in Twilio's console.
	PublicURL       string
	TwilioAuthToken string
	Registry        prometheus.Registerer
	MaxBody         int64
	Queue           Enqueuer
	// StripeSecret is the webhook endpoint's signing secret (whsec_…).
	StripeSecret string
	Payments     Payments
	Refunds      RefundLedger
	// LinkStates records what Stripe reports of a Checkout session, which
	// the payment result page (/paid/<ref>) shows; nil: not recorded.
	LinkStates LinkStates
	// Calls takes voice calls and call events; nil leaves the voice and
	// call-event webhooks out.
	Calls Calls
	// Centers names centres in voicemail messages.
	Centers interface {
		GetCenter(ctx context.Context, orgID, id string) (core.Center, error)
	}
	// TelegramSecret is the secret_token registered with setWebhook;
	// empty: the Telegram webhook is off (404).
	TelegramSecret string
	// TelegramBot is the bot's username, the address its updates reached;
	// empty: the worker asks getMe.
	TelegramBot string
	// SlackSigningSecret verifies X-Slack-Signature; empty: off (404).
	SlackSigningSecret string
	ChatInbox          ChatInbox
	ChatQueue          ChatQueue
}

// Handlers serves the provider callbacks.
type Handlers struct {
	c        Config
	twilio   *twilioSigner
	rejected *prometheus.CounterVec
	// voiceDocs keeps the TwiML answered to incoming calls by answer shape.
	voiceDocs twimlCache
}

// Mount registers the webhook routes on r.
func Mount(r gin.IRouter, c Config) *Handlers {
	if c.MaxBody <= 0 {
		c.MaxBody = 1 << 20
	}
	h := &Handlers{c: c, rejected: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_webhook_rejections_total",
		Help: "Webhook calls refused, by provider and reason."}, []string{"provider", "reason"})}
	if c.Registry != nil {
		c.Registry.MustRegister(h.rejected)
	}
	if c.TwilioAuthToken != "" {
		h.twilio = newTwilioSigner(c.TwilioAuthToken)
	}
	g := r.Group("/webhooks", func(ctx *gin.Context) {
		ctx.Request.Body = http.MaxBytesReader(ctx.Writer, ctx.Request.Body, c.MaxBody)
	})
	g.POST("/twilio/status", h.twilioStatus)
	g.POST("/twilio/sms", h.twilioInbound)
	g.POST("/stripe", h.stripeEvent)
	h.mountVoice(g)
	g.POST("/telegram", h.telegramUpdate)
	g.POST("/slack/events", h.slackEvents)
	return h
}

func (h *Handlers) reject(c *gin.Context, provider, reason string, status int) {
	h.rejected.WithLabelValues(provider, reason).Inc()
	h.c.Log.WarnContext(c.Request.Context(), "webhook rejected", "provider", provider, "reason", reason)
	c.AbortWithStatus(status)
}

// tooLarge reports a body over the limit (http.MaxBytesReader's error).
func tooLarge(err error) bool {
	var mb *http.MaxBytesError
	return errors.As(err, &mb)
}
