package webhooks

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// CallEventTolerance is how far a provider-neutral call event's timestamp
// may be from our clock: older deliveries are refused as replays.
const CallEventTolerance = 5 * time.Minute

// Headers of the provider-neutral call-event webhook.
const (
	CallTimestampHeader = "X-Calls-Timestamp" // Unix seconds
	CallSignatureHeader = "X-Calls-Signature" // "sha256=" + hex(HMAC-SHA256(secret, timestamp + "." + body))
)

// CallEvent is the body of POST /webhooks/calls/{connection}.
type CallEvent = core.CallEvent

// SignCallEvent computes the X-Calls-Signature of a body sent at ts.
func SignCallEvent(secret string, ts int64, body []byte) string {
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(strconv.FormatInt(ts, 10) + "."))
	mac.Write(body)
	return "sha256=" + hex.EncodeToString(mac.Sum(nil))
}

// callEvent receives a provider-neutral call event (a PBX, a call-tracking
// app): verified with the connection's secret and a timestamp tolerance,
// de-duplicated by (call_id, event), and fed to the same pop-ups, call
// log and missed-call handling as Twilio's calls. An unknown or revoked
// connection answers exactly as a bad signature does.
func (h *Handlers) callEvent(c *gin.Context) {
	ctx := c.Request.Context()
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		if tooLarge(err) {
			h.reject(c, "calls", "too_large", http.StatusRequestEntityTooLarge)
			return
		}
		h.reject(c, "calls", "bad_body", http.StatusBadRequest)
		return
	}
	ts, err := strconv.ParseInt(c.GetHeader(CallTimestampHeader), 10, 64)
	if err != nil {
		h.reject(c, "calls", "bad_signature", http.StatusForbidden)
		return
	}
	if d := h.c.Clock.Now().Sub(time.Unix(ts, 0)); d > CallEventTolerance || d < -CallEventTolerance {
		h.reject(c, "calls", "stale", http.StatusForbidden)
		return
	}
	conn, err := h.c.Calls.Connection(ctx, c.Param("connection"))
	if err != nil && core.ErrorCode(err) != core.CodeNotFound {
		h.fail(c, "call event", err)
		return
	}
	sig := c.GetHeader(CallSignatureHeader)
	if err != nil || sig == "" || !hmac.Equal([]byte(sig), []byte(SignCallEvent(conn.Secret, ts, body))) {
		h.reject(c, "calls", "bad_signature", http.StatusForbidden)
		return
	}
	var ev CallEvent
	if err := json.Unmarshal(body, &ev); err != nil {
		problem(c, "the body is not a call event: "+err.Error())
		return
	}
	ev.Event, ev.Direction = strings.ToLower(ev.Event), strings.ToLower(ev.Direction)
	if ev.Direction == "" {
		ev.Direction = core.CallInbound
	}
	var u core.CallUpdate
	switch ev.Event {
	case "ringing":
		u.Status = core.CallRinging
	case "answered":
		u.Status, u.Answered = core.CallInProgress, true
	case "ended":
		u.Status = core.CallCompleted
	case "missed":
		u.Status, u.DialStatus = core.CallNoAnswer, core.CallNoAnswer
	}
	switch {
	case ev.CallID == "" || len(ev.CallID) > 200:
		problem(c, "call_id is required (at most 200 characters)")
		return
	case u.Status == "":
		problem(c, "event must be ringing, answered, ended or missed")
		return
	case ev.Direction != core.CallInbound && ev.Direction != core.CallOutbound:
		problem(c, "direction must be inbound or outbound")
		return
	case ev.From == "" || ev.To == "":
		problem(c, "from and to are required")
		return
	}
	if ev.At.IsZero() {
		ev.At = h.c.Clock.Now()
	}
	u.At, u.DurationSec = ev.At, ev.DurationSec
	if ev.RecordingURL != "" {
		u.RecordingSID, u.RecordingURL = "rec:"+ev.CallID, ev.RecordingURL
	}
	provider := core.ConnectionProvider(conn.ID)
	in := core.IncomingCall{Provider: provider, CallID: ev.CallID, From: ev.From, To: ev.To, At: ev.At, OrgID: conn.OrgID, CenterID: conn.CenterID}
	if ev.Direction == core.CallOutbound {
		in.From, in.To = ev.To, ev.From // the client is the called party
	}
	out := gin.H{"call_id": ev.CallID}
	if ev.Event == "ringing" && ev.Direction == core.CallInbound {
		ans, err := h.c.Calls.Incoming(ctx, in)
		if err != nil {
			h.fail(c, "call event", err)
			return
		}
		out["card"] = ans.Card
	}
	init, err := h.c.Calls.InitCall(ctx, in, ev.Direction)
	if err != nil {
		h.fail(c, "call event", err)
		return
	}
	call, res, err := h.c.Calls.Report(ctx, core.Report{Provider: provider, CallID: ev.CallID, EventKey: ev.CallID + ":" + ev.Event, Update: u, Init: &init})
	if err != nil {
		h.fail(c, "call event", err)
		return
	}
	out["repeat"], out["id"], out["outcome"] = res.Repeat, call.ID, call.Outcome
	c.JSON(http.StatusOK, out)
}

// problem answers a 400 problem+json.
func problem(c *gin.Context, detail string) {
	b, _ := json.Marshal(gin.H{"type": "about:blank", "title": "Bad Request", "status": http.StatusBadRequest, "detail": detail})
	c.Data(http.StatusBadRequest, "application/problem+json", b)
	c.Abort()
}
