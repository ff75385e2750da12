package webhooks

import (
	"net/http"
	"strconv"
	"strings"
	"unicode/utf8"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/adapters/twilio"
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
		if tooLarge(err) {
			h.reject(c, "twilio", "too_large", http.StatusRequestEntityTooLarge)
			return nil, false
		}
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
	if sig == "" || !h.twilio.valid(url, params, sig) {
		h.reject(c, "twilio", "bad_signature", http.StatusForbidden)
		return nil, false
	}
	return params, true
}

// twilioStatus records delivery reports, once per (MessageSid, status):
// the answer waits only for the report's durable receipt (one INSERT … ON
// CONFLICT DO NOTHING, whose "nothing inserted" is a repeat) and one
// enqueue. The status task applies it to the message a few milliseconds
// later (notify.Dispatcher.ApplyStatus: forward only, a report that
// overtakes the send's outcome waits on the row, a permanent failure falls
// back to the recipient's next channel); the sweeper applies a receipt
// whose task was lost. Unknown SIDs are acknowledged so Twilio stops
// retrying. The normal path logs nothing: the access log is the one line.
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
	st, tracked := twilioStatuses[status]
	if !tracked {
		c.Status(http.StatusNoContent) // accepted, queued, sending: nothing we track
		return
	}
	ctx := c.Request.Context()
	rep := core.StatusReport{Channel: core.ChannelSMS, ProviderID: sid, Status: st, Code: p["ErrorCode"], At: h.c.Clock.Now()}
	if id := c.Query("m"); core.ValidID(id) {
		rep.MessageID = id
		rep.Attempt, _ = strconv.Atoi(c.Query("a"))
	}
	rep.Permanent = (st == core.MsgUndelivered || st == core.MsgFailed) && twilio.PermanentDeliveryError(rep.Code)
	key := sid + ":" + status
	first, err := h.c.Store.RecordStatus(ctx, ProviderTwilioStatus, key, rep)
	if err != nil {
		h.fail(c, "twilio status", err) // nothing recorded: Twilio's retry records it
		return
	}
	if first {
		if err := h.c.Queue.EnqueueStatus(ctx, ProviderTwilioStatus, key); err != nil {
			// The receipt is durable: the sweeper applies it.
			h.c.Log.WarnContext(ctx, "twilio status: enqueue", "error", err.Error())
		}
	}
	c.Status(http.StatusNoContent)
}

// fail answers 500 (the provider retries) and logs why.
func (h *Handlers) fail(c *gin.Context, what string, err error) {
	h.c.Log.ErrorContext(c.Request.Context(), what+" failed", "error", err.Error())
	c.AbortWithStatus(http.StatusInternalServerError)
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
	now := h.c.Clock.Now()
	first, err := h.c.Store.ClaimWebhook(ctx, ProviderTwilioSMS, sid, now)
	if err != nil {
		h.fail(c, "twilio inbound", err)
		return
	}
	if !first {
		c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(emptyTwiML))
		return
	}
	// To and MessagingServiceSid say which organization's address the
	// client wrote to; handling resolves it.
	body, truncated := capText(p["Body"], core.MaxInboundText)
	in := core.Inbound{ID: core.NewID(), Channel: channel, From: from, To: strings.TrimPrefix(p["To"], "whatsapp:"), Body: body,
		ServiceSID: p["MessagingServiceSid"], ProviderID: sid, Intent: core.ReplyOther, CreatedAt: now, Media: inboundMedia(p), Truncated: truncated}
	created, err := h.c.Store.SaveInbound(ctx, in)
	if err != nil {
		h.fail(c, "twilio inbound: save", err)
		return
	}
	if created {
		if err := h.c.Queue.EnqueueInbound(ctx, in.ID); err != nil {
			// Stored already: the sweeper queues it later.
			h.c.Log.WarnContext(ctx, "twilio inbound: enqueue", "error", err.Error())
		}
	}
	if err := h.c.Store.FinishWebhook(ctx, ProviderTwilioSMS, sid, now); err != nil {
		h.c.Log.WarnContext(ctx, "twilio inbound: record", "error", err.Error())
	}
	c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(emptyTwiML))
}

// maxMedia is Twilio's most attachments on one message.
const maxMedia = 10

// inboundMedia reads NumMedia, MediaUrlN and MediaContentTypeN.
func inboundMedia(p map[string]string) []core.InboundMedia {
	n, _ := strconv.Atoi(p["NumMedia"])
	var out []core.InboundMedia
	for i := 0; i < min(n, maxMedia); i++ {
		u := p["MediaUrl"+strconv.Itoa(i)]
		if u == "" {
			continue
		}
		out = append(out, core.InboundMedia{URL: u, ContentType: p["MediaContentType"+strconv.Itoa(i)]})
	}
	return out
}

// capText cuts s to at most n characters (runes) and tells whether it did.
func capText(s string, n int) (string, bool) {
	if utf8.RuneCountInString(s) <= n {
		return s, false
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos], true
		}
		i++
	}
	return s, false
}
