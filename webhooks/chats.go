package webhooks

import (
	"context"
	"crypto/subtle"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/slack-go/slack"

	"github.com/bookinggw/gateway/core"
)

// ChatInbox stores messenger deliveries once per provider id (Telegram
// update_id, Slack event_id): a repeat is acknowledged and ignored.
type ChatInbox interface {
	SaveChatInbox(ctx context.Context, id, provider, eventID, address string, payload []byte, at time.Time) (bool, error)
}

// ChatQueue queues a stored delivery's handling.
type ChatQueue interface {
	EnqueueChatInbox(ctx context.Context, id string) error
}

// Providers of messenger deliveries, as chats names them.
const (
	ProviderTelegram = "telegram"
	ProviderSlack    = "slack"
)

// telegramUpdate receives the bot's updates. go-telegram-bot-api does not
// check the webhook secret, so this handler compares
// X-Telegram-Bot-Api-Secret-Token with the configured one in constant
// time; a forged update is refused before anything is read or stored. The
// update is stored once per update_id and queued; Telegram gets its 200 at
// once (it retries slow answers, and stops the bot's updates after
// repeated failures).
func (h *Handlers) telegramUpdate(c *gin.Context) {
	if h.c.TelegramSecret == "" || h.c.ChatInbox == nil {
		h.reject(c, "telegram", "not_configured", http.StatusNotFound)
		return
	}
	got := c.GetHeader("X-Telegram-Bot-Api-Secret-Token")
	if subtle.ConstantTimeCompare([]byte(got), []byte(h.c.TelegramSecret)) != 1 {
		h.reject(c, "telegram", "bad_secret", http.StatusUnauthorized)
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		if tooLarge(err) {
			h.reject(c, "telegram", "too_large", http.StatusRequestEntityTooLarge)
			return
		}
		h.reject(c, "telegram", "bad_body", http.StatusBadRequest)
		return
	}
	var u struct {
		UpdateID *int64 `json:"update_id"`
	}
	if err := json.Unmarshal(body, &u); err != nil || u.UpdateID == nil {
		h.reject(c, "telegram", "bad_update", http.StatusBadRequest)
		return
	}
	h.storeDelivery(c, ProviderTelegram, strconv.FormatInt(*u.UpdateID, 10), h.c.TelegramBot, body)
}

// storeDelivery records a delivery once and queues it; it answers 200.
func (h *Handlers) storeDelivery(c *gin.Context, provider, eventID, address string, body []byte) {
	ctx := c.Request.Context()
	id := core.NewID()
	created, err := h.c.ChatInbox.SaveChatInbox(ctx, id, provider, eventID, address, body, h.c.Clock.Now())
	if err != nil {
		h.fail(c, provider+" delivery", err) // nothing stored: the provider's retry brings it again
		return
	}
	if created {
		if err := h.c.ChatQueue.EnqueueChatInbox(ctx, id); err != nil {
			// Stored already: the sweeper queues it later.
			h.c.Log.WarnContext(ctx, provider+" delivery: enqueue", "error", err.Error())
		}
	}
	c.Status(http.StatusOK)
}

// slackEvents receives the Events API. The signature (X-Slack-Signature
// over the timestamp and body, with slack-go's verifier, which refuses a
// timestamp more than five minutes off) is checked first; then the
// url_verification challenge is answered; Slack's retries
// (X-Slack-Retry-Num) are acknowledged and ignored, since the first
// delivery was stored before its answer; an event is stored once per
// event_id and handled by the worker, so the answer comes well within
// Slack's three seconds.
func (h *Handlers) slackEvents(c *gin.Context) {
	if h.c.SlackSigningSecret == "" || h.c.ChatInbox == nil {
		h.reject(c, "slack", "not_configured", http.StatusNotFound)
		return
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		if tooLarge(err) {
			h.reject(c, "slack", "too_large", http.StatusRequestEntityTooLarge)
			return
		}
		h.reject(c, "slack", "bad_body", http.StatusBadRequest)
		return
	}
	sv, err := slack.NewSecretsVerifier(c.Request.Header, h.c.SlackSigningSecret)
	if err != nil {
		h.reject(c, "slack", "bad_signature", http.StatusUnauthorized)
		return
	}
	if _, err := sv.Write(body); err != nil || sv.Ensure() != nil {
		h.reject(c, "slack", "bad_signature", http.StatusUnauthorized)
		return
	}
	var env struct {
		Type      string `json:"type"`
		Challenge string `json:"challenge"`
		EventID   string `json:"event_id"`
		Event     struct {
			Channel string `json:"channel"`
		} `json:"event"`
	}
	if err := json.Unmarshal(body, &env); err != nil {
		h.reject(c, "slack", "bad_event", http.StatusBadRequest)
		return
	}
	switch {
	case env.Type == "url_verification":
		c.JSON(http.StatusOK, gin.H{"challenge": env.Challenge})
		return
	case c.GetHeader("X-Slack-Retry-Num") != "":
		c.Status(http.StatusOK) // the first delivery was stored before it was answered
		return
	case env.Type != "event_callback" || env.EventID == "":
		h.c.Log.InfoContext(c.Request.Context(), "slack request of a type we do not handle; acknowledged", "type", env.Type)
		c.Status(http.StatusOK)
		return
	}
	h.storeDelivery(c, ProviderSlack, env.EventID, env.Event.Channel, body)
}
