package webhooks

import (
	"context"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/twilio/twilio-go/twiml"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// Calls is the telephony context the voice webhooks hand calls to.
type Calls interface {
	Answer(ctx context.Context, in core.IncomingCall) (core.IncomingAnswer, error)
	Incoming(ctx context.Context, in core.IncomingCall) (core.IncomingAnswer, error)
	Report(ctx context.Context, r core.Report) (core.Call, core.CallApplied, error)
	Line(ctx context.Context, c core.Call) (core.CallSettings, core.Organization, error)
	Connection(ctx context.Context, id string) (core.CallConnection, error)
	InitCall(ctx context.Context, in core.IncomingCall, direction string) (core.Call, error)
}

const voicePath = "/webhooks/twilio/voice"

func (h *Handlers) mountVoice(g *gin.RouterGroup) {
	if h.c.Calls == nil {
		return
	}
	g.POST("/twilio/voice", h.twilioVoice)
	g.POST("/twilio/voice/status", h.twilioVoiceStatus)
	g.POST("/twilio/voice/recording", h.twilioVoiceRecording)
	g.POST("/twilio/voice/dial", h.twilioVoiceDial)
	g.POST("/twilio/voice/screen", h.twilioVoiceScreen)
	g.POST("/twilio/voice/fallback", h.twilioVoiceFallback)
	g.POST("/calls/:connection", h.callEvent)
}

func writeTwiML(c *gin.Context, verbs []twiml.Element) {
	writeDoc(c, renderTwiML(verbs))
}

func renderTwiML(verbs []twiml.Element) []byte {
	doc, err := twiml.Voice(verbs)
	if err != nil { // only a marshalling bug: still answer something Twilio plays
		doc = fallbackTwiML
	}
	return []byte(doc)
}

func writeDoc(c *gin.Context, doc []byte) {
	c.Data(http.StatusOK, "text/xml; charset=utf-8", doc)
}

// twimlCache keeps rendered answers to incoming calls by their shape
// (core.IncomingAnswer.Shape: one load of a centre's line, open or not):
// every call to a line answers the same document until the line is
// reloaded (a change, or its TTL), which gives a new shape. Bounded: it
// starts over past twimlCacheMax documents.
type twimlCache struct {
	m sync.Map // uint64 -> []byte
	n atomic.Int64
}

const twimlCacheMax = 1024

// lookup returns the document kept for shape (none for shape 0).
func (tc *twimlCache) lookup(shape uint64) ([]byte, bool) {
	if shape == 0 {
		return nil, false
	}
	v, ok := tc.m.Load(shape)
	if !ok {
		return nil, false
	}
	return v.([]byte), true
}

// keep stores doc for shape (unless 0) and returns it.
func (tc *twimlCache) keep(shape uint64, doc []byte) []byte {
	if shape == 0 {
		return doc
	}
	if tc.n.Add(1) > twimlCacheMax {
		tc.m.Clear()
		tc.n.Store(1)
	}
	tc.m.Store(shape, doc)
	return doc
}

// twilioLanguage is the <Say> language of a locale.
func twilioLanguage(locale string) string {
	switch templates.NormalizeLocale(locale) {
	case "fr":
		return "fr-FR"
	case "de":
		return "de-DE"
	case "ru":
		return "ru-RU"
	case "pl":
		return "pl-PL"
	}
	return "en-US"
}

// voicemail is the message in the centre's language and a recording.
func (h *Handlers) voicemail(locale, center string) []twiml.Element {
	base := h.c.PublicURL + voicePath
	return []twiml.Element{
		&twiml.VoiceSay{Message: templates.Phrase(locale, "call.voicemail", "center", center), Language: twilioLanguage(locale)},
		&twiml.VoiceRecord{MaxLength: "120", PlayBeep: "true", Action: base + "/dial?step=recorded",
			RecordingStatusCallback: base + "/recording", RecordingStatusCallbackEvent: "completed"},
		&twiml.VoiceHangup{},
	}
}

// unknownNumberTwiML answers a call to a number no centre configured.
var unknownNumberTwiML = renderTwiML([]twiml.Element{&twiml.VoiceSay{Message: templates.Phrase("en", "call.unknown"), Language: "en-US"}, &twiml.VoiceHangup{}})

// fallbackTwiML is what the fallback URL answers when the voice webhook
// failed or was too slow: a fixed voicemail, with no database behind it.
var fallbackTwiML = func() string {
	doc, _ := twiml.Voice([]twiml.Element{
		&twiml.VoiceSay{Message: "Thank you for calling. Nobody can take your call right now. Please leave a message after the beep.", Language: "en-US"},
		&twiml.VoiceRecord{MaxLength: "120", PlayBeep: "true", Action: voicePath + "/dial?step=recorded",
			RecordingStatusCallback: voicePath + "/recording", RecordingStatusCallbackEvent: "completed"},
		&twiml.VoiceHangup{},
	})
	return doc
}()

// twilioVoice answers an incoming call: in the centre's hours it rings every
// staff phone of the centre at once (each leg screened so that a phone's
// own voicemail cannot take the call), else, or when nobody answers, the
// caller hears a message in the centre's language and may leave a
// voicemail. Twilio waits for this answer, so it does the least: the
// centre's line comes from a short-lived cache and the call's row is the
// one write; the staff's pop-up and channel message are queued
// (CallService.Answer). A number nobody configured gets a neutral message,
// never a 500.
func (h *Handlers) twilioVoice(c *gin.Context) {
	p, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	sid := p["CallSid"]
	if sid == "" {
		h.reject(c, "twilio", "missing_fields", http.StatusBadRequest)
		return
	}
	ctx := c.Request.Context()
	ans, err := h.c.Calls.Answer(ctx, core.IncomingCall{Provider: core.ProviderTwilio, CallID: sid, From: p["From"], To: p["To"], At: h.c.Clock.Now()})
	if err != nil {
		// The caller still gets a voicemail; Twilio would otherwise play
		// its error message.
		h.c.Log.ErrorContext(ctx, "twilio voice failed", "error", err.Error())
		c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(fallbackTwiML))
		return
	}
	if !ans.Known {
		h.c.Log.WarnContext(ctx, "call to a number no centre configured", "to", p["To"], "call_sid", sid)
		writeDoc(c, unknownNumberTwiML)
		return
	}
	if doc, ok := h.voiceDocs.lookup(ans.Shape); ok {
		writeDoc(c, doc)
		return
	}
	writeDoc(c, h.voiceDocs.keep(ans.Shape, h.renderAnswer(&ans)))
}

// renderAnswer is the TwiML of a known line's answer: ring the staff, or
// voicemail.
func (h *Handlers) renderAnswer(ans *core.IncomingAnswer) []byte {
	if !ans.Open || len(ans.Phones) == 0 {
		return renderTwiML(h.voicemail(ans.Locale, ans.Center.Name))
	}
	return renderTwiML([]twiml.Element{h.dialStaff(ans)})
}

// dialStaff rings every staff phone at once; the first leg to accept wins.
func (h *Handlers) dialStaff(ans *core.IncomingAnswer) *twiml.VoiceDial {
	base := h.c.PublicURL + voicePath
	ring := ans.Settings.RingSeconds
	if ring <= 0 {
		ring = core.DefaultRingSeconds
	}
	caller := ans.Settings.CallerID
	if caller == "" {
		caller = ans.Settings.VoiceNumber
	}
	d := &twiml.VoiceDial{Action: base + "/dial", Method: http.MethodPost, Timeout: strconv.Itoa(ring), CallerId: caller}
	q := url.Values{"l": {templates.NormalizeLocale(ans.Locale)}, "c": {ans.Center.Name}}
	for _, phone := range ans.Phones {
		n := &twiml.VoiceNumber{PhoneNumber: phone}
		if ans.Settings.Screening == core.ScreenAMD {
			q.Set("mode", core.ScreenAMD)
			n.MachineDetection = "Enable"
		} else {
			q.Set("mode", core.ScreenPress1)
		}
		n.Url, n.Method = base+"/screen?"+q.Encode(), http.MethodPost
		d.InnerElements = append(d.InnerElements, n)
	}
	return d
}

// twilioVoiceScreen runs on each staff leg when it picks up, before it is
// bridged: press1 asks for a 1 (a voicemail greeting presses nothing, so
// the leg hangs up and the others keep ringing); amd hangs up on a machine.
// An empty answer bridges the leg.
func (h *Handlers) twilioVoiceScreen(c *gin.Context) {
	p, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	locale := c.Query("l")
	if c.Query("mode") == core.ScreenAMD {
		if by := p["AnsweredBy"]; strings.HasPrefix(by, "machine") || by == "fax" {
			writeTwiML(c, []twiml.Element{&twiml.VoiceHangup{}})
			return
		}
		writeTwiML(c, nil)
		return
	}
	switch digits, pressed := p["Digits"]; {
	case pressed && digits == "1":
		writeTwiML(c, nil) // accepted: bridge
	case pressed:
		writeTwiML(c, []twiml.Element{&twiml.VoiceHangup{}})
	default:
		self := h.c.PublicURL + c.Request.URL.RequestURI()
		writeTwiML(c, []twiml.Element{
			&twiml.VoiceGather{NumDigits: "1", Timeout: "8", Action: self, Method: http.MethodPost, InnerElements: []twiml.Element{
				&twiml.VoiceSay{Message: templates.Phrase(locale, "call.screen", "center", c.Query("c")), Language: twilioLanguage(locale)},
			}},
			&twiml.VoiceHangup{},
		})
	}
}

// twilioVoiceDial is the Dial's action: the staff legs' result. A call
// nobody took (no-answer, busy, failed, canceled) is missed: it leaves a
// call-back and the caller a voicemail.
func (h *Handlers) twilioVoiceDial(c *gin.Context) {
	p, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	if c.Query("step") == "recorded" {
		writeTwiML(c, []twiml.Element{&twiml.VoiceHangup{}})
		return
	}
	sid, st := p["CallSid"], core.CallStatus(strings.ToLower(p["DialCallStatus"]))
	if sid == "" || st == "" {
		h.reject(c, "twilio", "missing_fields", http.StatusBadRequest)
		return
	}
	if st == "answered" {
		st = core.CallCompleted
	}
	ctx := c.Request.Context()
	dur, _ := strconv.Atoi(p["DialCallDuration"])
	call, res, err := h.c.Calls.Report(ctx, core.Report{Provider: core.ProviderTwilio, CallID: sid, EventKey: sid + ":dial:" + string(st),
		Update: core.CallUpdate{DialStatus: st, At: h.c.Clock.Now(), DurationSec: dur}})
	if err != nil {
		h.c.Log.ErrorContext(ctx, "twilio dial result failed", "error", err.Error())
	}
	if !core.MissedDial(st) {
		writeTwiML(c, []twiml.Element{&twiml.VoiceHangup{}})
		return
	}
	locale, center := "en", ""
	if err == nil && !res.Unknown {
		if cs, org, err := h.c.Calls.Line(ctx, call); err == nil {
			locale = cs.Language
			if locale == "" {
				locale = org.Locale
			}
			if ctr, err := h.centerName(ctx, call); err == nil {
				center = ctr
			}
		}
	}
	writeTwiML(c, h.voicemail(locale, center))
}

func (h *Handlers) centerName(ctx context.Context, call core.Call) (string, error) {
	if h.c.Centers == nil {
		return "", nil
	}
	ctr, err := h.c.Centers.GetCenter(ctx, call.OrgID, call.CenterID)
	return ctr.Name, err
}

// twilioTime reads Twilio's Timestamp (RFC 1123 with numeric zone); a
// report without one is dated now.
func (h *Handlers) twilioTime(v string) time.Time {
	for _, layout := range []string{time.RFC1123Z, time.RFC1123} {
		if t, err := time.Parse(layout, v); err == nil {
			return t.UTC()
		}
	}
	return h.c.Clock.Now()
}

// twilioVoiceStatus records call status callbacks, once per (CallSid,
// CallStatus), in any order: the call log merges them (a final state stays
// final). A call the log does not know is acknowledged and ignored.
func (h *Handlers) twilioVoiceStatus(c *gin.Context) {
	p, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	sid, st := p["CallSid"], core.CallStatus(strings.ToLower(p["CallStatus"]))
	if sid == "" || !st.Known() {
		h.reject(c, "twilio", "missing_fields", http.StatusBadRequest)
		return
	}
	dur, _ := strconv.Atoi(p["CallDuration"])
	u := core.CallUpdate{Status: st, At: h.twilioTime(p["Timestamp"]), DurationSec: dur}
	if strings.HasPrefix(p["Direction"], "outbound") && (st == core.CallInProgress || st == core.CallCompleted && dur > 0) {
		u.Answered = true // a placed call: the called party picked up
	}
	ctx := c.Request.Context()
	_, res, err := h.c.Calls.Report(ctx, core.Report{Provider: core.ProviderTwilio, CallID: sid, EventKey: sid + ":" + string(st), Update: u})
	if err != nil {
		h.fail(c, "twilio voice status", err)
		return
	}
	if res.Unknown {
		h.c.Log.InfoContext(ctx, "twilio voice status for an unknown call", "call_sid", sid)
	}
	c.Status(http.StatusNoContent)
}

// twilioVoiceRecording attaches a voicemail recording to its call.
func (h *Handlers) twilioVoiceRecording(c *gin.Context) {
	p, ok := h.verifyTwilio(c)
	if !ok {
		return
	}
	sid, rec := p["CallSid"], p["RecordingSid"]
	if sid == "" || rec == "" {
		h.reject(c, "twilio", "missing_fields", http.StatusBadRequest)
		return
	}
	if st := p["RecordingStatus"]; st != "" && st != "completed" {
		c.Status(http.StatusNoContent)
		return
	}
	ctx := c.Request.Context()
	if _, _, err := h.c.Calls.Report(ctx, core.Report{Provider: core.ProviderTwilio, CallID: sid, EventKey: sid + ":recording:" + rec,
		Update: core.CallUpdate{RecordingSID: rec, RecordingURL: p["RecordingUrl"]}}); err != nil {
		h.fail(c, "twilio voice recording", err)
		return
	}
	c.Status(http.StatusNoContent)
}

// twilioVoiceFallback is the number's fallback URL: a fixed voicemail.
func (h *Handlers) twilioVoiceFallback(c *gin.Context) {
	if _, ok := h.verifyTwilio(c); !ok {
		return
	}
	c.Data(http.StatusOK, "text/xml; charset=utf-8", []byte(fallbackTwiML))
}
