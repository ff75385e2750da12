package webhooks

import (
	"net/http"
	"strings"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// twilioStatuses maps Twilio's MessageStatus to the outbox's; the
// intermediate ones (accepted, queued, sending) change nothing we track.
var twilioStatuses = map[string]core.MessageStatus{
	"sent": core.MsgSent, "delivered": core.MsgDelivered, "read": core.MsgDelivered,
	"undelivered": core.MsgUndelivered, "failed": core.MsgFailed,
}

// verifyTwilio checks X-Twilio-Signature over the public URL and the form
// parameters, as twilio-go's RequestValidator does.
func (h *Handlers) verifyTwilio(c *gin.Context) (map[string]string, bool) {
	if h.twilio == nil {
		h.reject(c, "twilio", "not_configured", http.StatusNotFound)
		return nil, false
	}
	if err := c.Request.ParseForm(); err != nil {
		h.reject(c, "twilio", "bad_form", http.StatusBadRequest)
		return nil, false
	}
	params := make(map[string]string, len(c.Request.PostForm))
	for k, v := range c.Request.PostForm {
		if len(v) > 0 {
			params[k] = v[0]
		}
	}
	url := h.c.PublicURL + c.Request.URL.RequestURI()
	sig := c.GetHeader("X-Twilio-Signature")
	if sig == "" || !h.twilio.Validate(url, params, sig) {
		h.reject(c, "twilio", "bad_signature", http.StatusForbidden)
		return nil, false
	}
	return params, true
}

// twilioStatus records delivery reports. Repeats and regressions (a late
// "sent" after "delivered") change nothing; unknown message SIDs are
// acknowledged so Twilio stops retrying.
func (h *Handlers) twilioStatus(c *gin.Context) {
	p, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	sid, status := p["MessageSid"], strings.ToLower(p["MessageStatus"])
	if sid == "" || status == "" {
		h.reject(c, "twilio", "missing_fields", http.StatusBadRequest)
		return
	}
	ctx := c.Request.Context()
	now := h.c.Clock.Now()
	// The status update is idempotent by itself (a status never moves
	// back), so it runs before the repeat is recorded: a failure in
	// between is retried by Twilio and changes nothing twice.
	if st, tracked := twilioStatuses[status]; tracked {
		_, _, err := h.c.Store.ProviderStatus(ctx, core.ChannelSMS, sid, st, p["ErrorCode"], now)
		if core.ErrorCode(err) == core.CodeNotFound {
			h.c.Log.InfoContext(ctx, "twilio status for an unknown message", "sid", sid)
		} else if err != nil {
			h.c.Log.ErrorContext(ctx, "twilio status: update", "error", err.Error())
			c.Status(http.StatusInternalServerError) // Twilio retries
			return
		}
	}
	if _, err := h.c.Store.RecordWebhook(ctx, "twilio-status", sid+":"+status, now); err != nil {
		h.c.Log.ErrorContext(ctx, "twilio status: record", "error", err.Error())
	}
	c.Status(http.StatusNoContent)
}

// emptyTwiML answers Twilio without sending anything back: replies go
// through the outbox like every other message.
const emptyTwiML = `<?xml version="1.0" encoding="UTF-8"?><Response></Response>`

// twilioInbound receives SMS and WhatsApp messages. It records the message
// once per MessageSid (a Twilio retry is acknowledged and ignored), queues
// its handling and answers empty TwiML at once.
func (h *Handlers) twilioInbound(c *gin.Context) {
	p, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	sid, from := p["MessageSid"], p["From"]
	if sid == "" || from == "" {
		h.reject(c, "twilio", "missing_fields", http.StatusBadRequest)
		return
	}
	channel := core.ChannelSMS
	if strings.HasPrefix(from, "whatsapp:") {
		channel = core.ChannelWhatsApp
	}
	ctx := c.Request.Context()
	// To and MessagingServiceSid say which organization's address the
	// client wrote to; handling resolves it.
	in := core.Inbound{ID: core.NewID(), Channel: channel, From: from, To: strings.TrimPrefix(p["To"], "whatsapp:"), Body: p["Body"],
		ServiceSID: p["MessagingServiceSid"], ProviderID: sid, Intent: core.ReplyOther, CreatedAt: h.c.Clock.Now()}
	created, err := h.c.Store.SaveInbound(ctx, in)
	if err != nil {
		h.c.Log.ErrorContext(ctx, "twilio inbound: save", "error", err.Error())
		c.Status(http.StatusInternalServerError)
		return
	}
	if created {
		if err := h.c.Queue.EnqueueInbound(ctx, in.ID); err != nil {
			// Stored already: the sweeper queues it later.
			h.c.Log.WarnContext(ctx, "twilio inbound: enqueue", "error", err.Error())
		}
	}
	c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(emptyTwiML))
}
