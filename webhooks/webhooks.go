// Package webhooks holds the handlers providers call: each verifies its
// provider's signature, records the provider's event id so a repeat is
// acknowledged and ignored, and answers fast; slow work goes to the queue.
package webhooks

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/twilio/twilio-go/client"

	"github.com/bookinggw/gateway/core"
)

// Store is what the webhooks record.
type Store interface {
	RecordWebhook(ctx context.Context, provider, eventID string, at time.Time) (bool, error)
	ProviderStatus(ctx context.Context, channel core.Channel, providerID string, st core.MessageStatus, code string, at time.Time) (core.Message, bool, error)
	SaveInbound(ctx context.Context, in core.Inbound) (bool, error)
}

// Enqueuer hands slow work to the queue.
type Enqueuer interface {
	EnqueueInbound(ctx context.Context, id string) error
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
}

// Handlers serves the provider callbacks.
type Handlers struct {
	c        Config
	twilio   *client.RequestValidator
	rejected *prometheus.CounterVec
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
		v := client.NewRequestValidator(c.TwilioAuthToken)
		h.twilio = &v
	}
	g := r.Group("/webhooks", func(ctx *gin.Context) {
		ctx.Request.Body = http.MaxBytesReader(ctx.Writer, ctx.Request.Body, c.MaxBody)
	})
	g.POST("/twilio/status", h.twilioStatus)
	g.POST("/twilio/sms", h.twilioInbound)
	g.POST("/stripe", h.stripeEvent)
	return h
}

func (h *Handlers) reject(c *gin.Context, provider, reason string, status int) {
	h.rejected.WithLabelValues(provider, reason).Inc()
	h.c.Log.WarnContext(c.Request.Context(), "webhook rejected", "provider", provider, "reason", reason)
	c.AbortWithStatus(status)
}
