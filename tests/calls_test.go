package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/webhooks"
)

// liveRec records the live events the service publishes.
type liveRec struct {
	mu  sync.Mutex
	evs []core.LiveEvent
	at  []time.Time // when each was published (pop-up latency)
}

func (l *liveRec) Publish(_ context.Context, ev core.LiveEvent) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.evs = append(l.evs, ev)
	l.at = append(l.at, time.Now())
	return nil
}

func (l *liveRec) kind(k core.LiveKind) []core.LiveEvent {
	l.mu.Lock()
	defer l.mu.Unlock()
	var out []core.LiveEvent
	for _, e := range l.evs {
		if e.Kind == k {
			out = append(out, e)
		}
	}
	return out
}

const (
	voiceNumber  = "+33100000001"
	staffPhone   = "+33600000001"
	callerPhone  = "+33612345678"
	callerFormat = "06 12 34 56 78" // the card keeps what staff typed, stored E.164
)

type callEnv struct {
	*apiEnv
	fake   *twiliotest.Server
	live   *liveRec
	center string
	other  string // a second centre of the organization
	client string
	staff  string
}

// monday10 is Monday 9 March 2026, 10:00 in Paris: the centre is open.
var monday10 = time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)

func newCallEnv(t *testing.T, dbURL string, env ...map[string]string) *callEnv {
	t.Helper()
	live := &liveRec{}
	fake := twiliotest.New(t, twSID, twToken)
	e := newAPIEnvWith(t, dbURL, func(c *app.Config) { c.Live = live }, append([]map[string]string{{"TWILIO_ACCOUNT_SID": twSID, "TWILIO_AUTH_TOKEN": twToken,
		"TWILIO_FROM": twFrom, "TWILIO_BASE_URL": fake.URL, "GATEWAY_RATE_SMS": "off"}}, env...)...)
	e.clock.Set(monday10)
	ce := &callEnv{apiEnv: e, fake: fake, live: live}
	var c, o, st, cl idOnly
	e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Centre Bastille", "timezone": "Europe/Paris", "slack_channel": "C0CALLS"}, &c)
	e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Centre Lyon", "timezone": "Europe/Paris"}, &o)
	e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Alice", "role": "administrator", "phone": staffPhone, "center_ids": []string{c.ID}}, &st)
	e.must(201, "POST", "/api/v1/clients", map[string]any{"first_name": "Élodie", "last_name": "Martin", "phone": callerFormat, "phone_region": "FR",
		"center_ids": []string{c.ID}}, &cl)
	ce.center, ce.other, ce.staff, ce.client = c.ID, o.ID, st.ID, cl.ID
	week := core.WeeklyJSON{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday"} {
		week[d] = []core.PeriodJSON{{Start: "09:00", End: "18:00"}}
	}
	e.must(200, "PUT", "/api/v1/centers/"+c.ID+"/call-settings", map[string]any{"voice_number": voiceNumber, "hours": week}, nil)
	return ce
}

func (ce *callEnv) settings(body map[string]any) {
	ce.must(200, "PUT", "/api/v1/centers/"+ce.center+"/call-settings", body, nil)
}

// twilio posts a signed Twilio voice request; path may carry a query.
func (ce *callEnv) twilio(t *testing.T, path string, form url.Values) (int, string) {
	t.Helper()
	u := ce.app.Config.PublicURL + path
	return postForm(t, u, form, twiliotest.Sign(twToken, u, form))
}

func postForm(t *testing.T, u string, form url.Values, sig string) (int, string) {
	t.Helper()
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	if sig != "" {
		req.Header.Set("X-Twilio-Signature", sig)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

func (ce *callEnv) ring(t *testing.T, sid, from, to string) string {
	t.Helper()
	code, body := ce.twilio(t, "/webhooks/twilio/voice", url.Values{"CallSid": {sid}, "From": {from}, "To": {to}, "AccountSid": {twSID},
		"CallStatus": {"ringing"}, "Direction": {"inbound"}})
	if code != 200 {
		t.Fatalf("voice webhook: %d %s", code, body)
	}
	return body
}

func (ce *callEnv) calls(t *testing.T, query string) []core.Call {
	t.Helper()
	var l struct{ Items []core.Call }
	ce.must(200, "GET", "/api/v1/calls?limit=100"+query, nil, &l)
	return l.Items
}

func (ce *callEnv) planned(t *testing.T, query string) []core.PlannedCall {
	t.Helper()
	var l struct{ Items []core.PlannedCall }
	ce.must(200, "GET", "/api/v1/planned-calls?limit=100"+query, nil, &l)
	return l.Items
}

func (ce *callEnv) messagesOfKind(t *testing.T, kind string) []core.Message {
	t.Helper()
	var l struct{ Items []core.Message }
	ce.must(200, "GET", "/api/v1/messages?limit=200", nil, &l)
	var out []core.Message
	for _, m := range l.Items {
		if m.Kind == kind {
			out = append(out, m)
		}
	}
	return out
}

func TestVoiceKnownClientInHours(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ce := newCallEnv(t, b.url)
			if err := ce.app.StartWorker(); err != nil {
				t.Fatal(err)
			}
			// Twilio sends the caller in E.164; the card was typed in the
			// national format: the lookup is by normalized number.
			twiml := ce.ring(t, "CA0001", callerPhone, voiceNumber)
			for _, want := range []string{`<Dial`, `callerId="` + voiceNumber + `"`, `timeout="20"`, `action="` + ce.app.Config.PublicURL + `/webhooks/twilio/voice/dial"`,
				`>` + staffPhone + `</Number>`, `/webhooks/twilio/voice/screen?`, `mode=press1`} {
				if !strings.Contains(twiml, want) {
					t.Errorf("TwiML lacks %q:\n%s", want, twiml)
				}
			}
			// The pop-up is queued: it follows the answer.
			waitFor(t, "the call.incoming pop-up", 15*time.Second, func() bool { return len(ce.live.kind(core.LiveCallIncoming)) > 0 })
			evs := ce.live.kind(core.LiveCallIncoming)
			if len(evs) != 1 {
				t.Fatalf("live call.incoming events: %d", len(evs))
			}
			ev := evs[0]
			data := ev.Data.(core.CallLive)
			if ev.CenterID != ce.center || ev.OrgID != ce.org || data.Card == nil || !data.Card.Known || data.Card.Name != "Élodie Martin" ||
				data.Card.ClientID != ce.client || data.Card.Status == "" {
				t.Errorf("live event %+v card %+v", ev, data.Card)
			}
			// Twilio retries the webhook: same TwiML, nobody told twice.
			// (twiml writes attributes in map order: compare what matters.)
			if again := ce.ring(t, "CA0001", callerPhone, voiceNumber); !strings.Contains(again, ">"+staffPhone+"</Number></Dial>") {
				t.Errorf("repeat answered differently:\n%s", again)
			}
			time.Sleep(300 * time.Millisecond) // three idle checks of the worker: a second pop-up would be out
			if n := len(ce.live.kind(core.LiveCallIncoming)); n != 1 {
				t.Errorf("repeat published again: %d", n)
			}
			// The centre's staff channel gets the pop-up through the outbox.
			waitFor(t, "incoming-call Slack message", 15*time.Second, func() bool {
				ms := ce.messagesOfKind(t, core.KindStaffIncomingCall)
				return len(ms) == 1 && ms[0].Channel == core.ChannelSlack && ms[0].To == "C0CALLS" && strings.Contains(ms[0].Body, "Élodie Martin")
			})
			// A staff leg that picks up is asked to press 1; a voicemail
			// greeting presses nothing and the leg hangs up.
			screen := "/webhooks/twilio/voice/screen?c=Centre+Bastille&l=fr&mode=press1"
			if _, body := ce.twilio(t, screen, url.Values{"CallSid": {"CA0001-leg"}}); !strings.Contains(body, `<Gather`) ||
				!strings.Contains(body, "Appuyez sur 1") {
				t.Errorf("screen: %s", body)
			}
			if _, body := ce.twilio(t, screen, url.Values{"CallSid": {"CA0001-leg"}, "Digits": {"1"}}); strings.Contains(body, "Hangup") {
				t.Errorf("pressed 1 should bridge: %s", body)
			}
			if _, body := ce.twilio(t, screen, url.Values{"CallSid": {"CA0001-leg"}, "Digits": {"9"}}); !strings.Contains(body, "<Hangup") {
				t.Errorf("another key hangs up: %s", body)
			}
			amd := "/webhooks/twilio/voice/screen?c=x&l=en&mode=amd"
			if _, body := ce.twilio(t, amd, url.Values{"CallSid": {"CA0001-leg"}, "AnsweredBy": {"machine_start"}}); !strings.Contains(body, "<Hangup") {
				t.Errorf("a machine is hung up on: %s", body)
			}
			// AMD mode puts MachineDetection on each leg.
			ce.settings(map[string]any{"voice_number": voiceNumber, "screening": "amd", "ring_seconds": 15, "caller_id": "+33100000009",
				"hours": core.WeeklyJSON{"monday": {{Start: "09:00", End: "18:00"}}}})
			if body := ce.ring(t, "CA0002", callerPhone, voiceNumber); !strings.Contains(body, `machineDetection="Enable"`) ||
				!strings.Contains(body, `timeout="15"`) || !strings.Contains(body, `callerId="+33100000009"`) {
				t.Errorf("amd TwiML: %s", body)
			}
			// The dial is answered: the call is answered, no call-back.
			ce.twilio(t, "/webhooks/twilio/voice/dial", url.Values{"CallSid": {"CA0001"}, "DialCallStatus": {"completed"}, "DialCallDuration": {"42"}})
			ce.twilio(t, "/webhooks/twilio/voice/status", url.Values{"CallSid": {"CA0001"}, "CallStatus": {"completed"}, "CallDuration": {"50"}})
			calls := ce.calls(t, "&client_id="+ce.client)
			if len(calls) != 2 || calls[0].Outcome != core.OutcomeAnswered || calls[0].DurationSec != 50 || calls[0].Direction != core.CallInbound ||
				calls[0].From != callerPhone || calls[0].CenterID != ce.center {
				t.Errorf("call log: %+v", calls)
			}
			if l := ce.planned(t, "&status=all"); len(l) != 0 {
				t.Errorf("planned calls after an answered call: %+v", l)
			}
		})
	}
}

type backend struct{ name, url string }

func backends(t *testing.T) []backend {
	var out []backend
	for _, b := range storetest.Backends(t) {
		out = append(out, backend{b.Name, b.URL})
	}
	return out
}

func TestVoiceUnknownNumberAndAfterHours(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ce := newCallEnv(t, b.url)
			if err := ce.app.StartWorker(); err != nil {
				t.Fatal(err)
			}
			// A number no centre configured: a neutral message, logged, no 500.
			body := ce.ring(t, "CA0100", callerPhone, "+33199999999")
			if !strings.Contains(body, "not in service") || strings.Contains(body, "<Dial") {
				t.Errorf("unknown number: %s", body)
			}
			if l := ce.calls(t, ""); len(l) != 0 {
				t.Errorf("an unknown number logged a call: %+v", l)
			}
			// An unknown caller: the pop-up shows the number only.
			ce.ring(t, "CA0101", "+33 6 98 76 54 32", voiceNumber)
			waitFor(t, "the unknown caller's pop-up", 15*time.Second, func() bool { return len(ce.live.kind(core.LiveCallIncoming)) > 0 })
			evs := ce.live.kind(core.LiveCallIncoming)
			if len(evs) != 1 || evs[0].Data.(core.CallLive).Card.Known || evs[0].Data.(core.CallLive).Card.Phone != "+33698765432" {
				t.Errorf("unknown caller pop-up: %+v", evs)
			}
			// After hours (20:00 Paris): a message in the centre's language
			// (the organization's fr) and a voicemail.
			ce.clock.Set(monday10.Add(10 * time.Hour))
			body = ce.ring(t, "CA0102", callerPhone, voiceNumber)
			for _, want := range []string{`<Say language="fr-FR">`, "Centre Bastille", `<Record`, `recordingStatusCallback="` + ce.app.Config.PublicURL +
				`/webhooks/twilio/voice/recording"`} {
				if !strings.Contains(body, want) {
					t.Errorf("after-hours TwiML lacks %q: %s", want, body)
				}
			}
			if strings.Contains(body, "<Dial") {
				t.Errorf("after hours dials: %s", body)
			}
			// The voicemail arrives; the call ends: a voicemail, a call-back.
			ce.twilio(t, "/webhooks/twilio/voice/recording", url.Values{"CallSid": {"CA0102"}, "RecordingSid": {"RE1"},
				"RecordingUrl": {"https://api.twilio.com/RE1"}, "RecordingStatus": {"completed"}})
			ce.twilio(t, "/webhooks/twilio/voice/status", url.Values{"CallSid": {"CA0102"}, "CallStatus": {"completed"}, "CallDuration": {"30"}})
			var got core.Call
			for _, c := range ce.calls(t, "") {
				if c.ProviderCallID == "CA0102" {
					got = c
				}
			}
			if got.Outcome != core.OutcomeVoicemail || got.RecordingURL != "https://api.twilio.com/RE1" {
				t.Errorf("after-hours call: %+v", got)
			}
			if l := ce.planned(t, "&center_id="+ce.center); len(l) != 1 || l[0].CallID != got.ID || l[0].ClientID != ce.client {
				t.Errorf("call-back: %+v", l)
			}
			// The fallback URL answers a fixed voicemail.
			if code, body := ce.twilio(t, "/webhooks/twilio/voice/fallback", url.Values{"CallSid": {"CA0103"}}); code != 200 ||
				!strings.Contains(body, "<Record") {
				t.Errorf("fallback: %d %s", code, body)
			}
		})
	}
}

func TestVoiceNoAnswerCallBackAndMissedMessage(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ce := newCallEnv(t, b.url)
			ce.must(200, "PUT", "/api/v1/call-settings", map[string]any{"missed_call_message": true}, nil)
			if err := ce.app.StartWorker(); err != nil {
				t.Fatal(err)
			}
			for i, st := range []string{"no-answer", "busy", "failed", "canceled"} {
				sid := fmt.Sprintf("CA02%02d", i)
				ce.ring(t, sid, callerPhone, voiceNumber)
				form := url.Values{"CallSid": {sid}, "DialCallStatus": {st}}
				for range 2 { // Twilio retries: one entry
					code, body := ce.twilio(t, "/webhooks/twilio/voice/dial", form)
					if code != 200 || !strings.Contains(body, "<Record") || !strings.Contains(body, `fr-FR`) {
						t.Fatalf("dial %s: %d %s", st, code, body)
					}
				}
			}
			l := ce.planned(t, "&center_id="+ce.center)
			if len(l) != 4 {
				t.Fatalf("call-backs: %d %+v", len(l), l)
			}
			for _, c := range ce.calls(t, "") {
				if c.Outcome != core.OutcomeMissed || c.ClientID != ce.client {
					t.Errorf("missed call: %+v", c)
				}
			}
			// Four missed calls within the hour: the client is told once.
			waitFor(t, "we-missed-your-call message", 15*time.Second, func() bool {
				ms := ce.messagesOfKind(t, core.KindCallMissed)
				return len(ms) == 1 && ms[0].RecipientID == ce.client
			})
			// An hour later, another missed call is told again.
			ce.clock.Set(monday10.Add(61 * time.Minute))
			ce.ring(t, "CA0299", callerPhone, voiceNumber)
			ce.twilio(t, "/webhooks/twilio/voice/dial", url.Values{"CallSid": {"CA0299"}, "DialCallStatus": {"no-answer"}})
			waitFor(t, "a second message an hour later", 15*time.Second, func() bool { return len(ce.messagesOfKind(t, core.KindCallMissed)) == 2 })
			time.Sleep(200 * time.Millisecond)
			if ms := ce.messagesOfKind(t, core.KindCallMissed); len(ms) != 2 {
				t.Errorf("messages: %d", len(ms))
			}
		})
	}
}

// A status callback saying nobody answered (no Dial result before it, or
// none at all) makes the call missed and leaves one call-back, however often
// it is delivered.
func TestVoiceNoAnswerStatusCallback(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ce := newCallEnv(t, b.url)
			ce.ring(t, "CA0250", callerPhone, voiceNumber)
			for range 2 {
				if code, body := ce.twilio(t, "/webhooks/twilio/voice/status", url.Values{"CallSid": {"CA0250"}, "CallStatus": {"no-answer"}}); code != 204 {
					t.Fatalf("status: %d %s", code, body)
				}
			}
			calls := ce.calls(t, "")
			if len(calls) != 1 || calls[0].Outcome != core.OutcomeMissed || calls[0].Status != core.CallNoAnswer || calls[0].ClientID != ce.client {
				t.Fatalf("call: %+v", calls)
			}
			if l := ce.planned(t, "&center_id="+ce.center); len(l) != 1 || l[0].CallID != calls[0].ID || l[0].Phone != callerPhone {
				t.Errorf("call-backs: %+v", l)
			}
		})
	}
}

// Status callbacks out of order, repeated, shuffled and in parallel leave
// one consistent row, the same whatever the order.
func TestVoiceCallbacksOutOfOrder(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ce := newCallEnv(t, b.url)
			ts := func(s int) string { return monday10.Add(time.Duration(s) * time.Second).Format(time.RFC1123Z) }
			callbacks := func(sid string) []struct {
				path string
				form url.Values
			} {
				return []struct {
					path string
					form url.Values
				}{
					{"/webhooks/twilio/voice/status", url.Values{"CallSid": {sid}, "CallStatus": {"ringing"}, "Timestamp": {ts(0)}}},
					{"/webhooks/twilio/voice/status", url.Values{"CallSid": {sid}, "CallStatus": {"in-progress"}, "Timestamp": {ts(1)}}},
					{"/webhooks/twilio/voice/dial", url.Values{"CallSid": {sid}, "DialCallStatus": {"completed"}, "DialCallDuration": {"40"}}},
					{"/webhooks/twilio/voice/recording", url.Values{"CallSid": {sid}, "RecordingSid": {"RE" + sid}, "RecordingUrl": {"https://r/" + sid},
						"RecordingStatus": {"completed"}}},
					{"/webhooks/twilio/voice/status", url.Values{"CallSid": {sid}, "CallStatus": {"completed"}, "CallDuration": {"55"}, "Timestamp": {ts(55)}}},
				}
			}
			get := func(sid string) core.Call {
				for _, c := range ce.calls(t, "") {
					if c.ProviderCallID == sid {
						return c
					}
				}
				t.Fatalf("no call %s", sid)
				return core.Call{}
			}
			// In order.
			ce.ring(t, "CA0300", callerPhone, voiceNumber)
			for _, cb := range callbacks("CA0300") {
				ce.twilio(t, cb.path, cb.form)
			}
			want := get("CA0300")
			if want.Status != core.CallCompleted || want.Outcome != core.OutcomeAnswered || want.DurationSec != 55 || want.EndedAt == nil {
				t.Fatalf("in order: %+v", want)
			}
			same := func(a, b core.Call) bool {
				return a.Status == b.Status && a.DialStatus == b.DialStatus && a.Outcome == b.Outcome && a.DurationSec == b.DurationSec &&
					a.EndedAt.Equal(*b.EndedAt) && a.RecordingURL == strings.ReplaceAll(b.RecordingURL, "CA0300", a.ProviderCallID) &&
					(a.AnsweredAt == nil) == (b.AnsweredAt == nil)
			}
			// Shuffled, "completed" first, everything twice.
			r := rand.New(rand.NewSource(7))
			for i := range 3 {
				sid := fmt.Sprintf("CA031%d", i)
				ce.ring(t, sid, callerPhone, voiceNumber)
				l := callbacks(sid)
				l = append(l, l...)
				r.Shuffle(len(l), func(a, b int) { l[a], l[b] = l[b], l[a] })
				for _, cb := range l {
					if code, body := ce.twilio(t, cb.path, cb.form); code/100 != 2 {
						t.Fatalf("%s: %d %s", cb.path, code, body)
					}
				}
				if got := get(sid); !same(got, want) {
					t.Errorf("shuffled %d: %+v, want %+v", i, got, want)
				}
			}
			// Ten parallel callbacks for one CallSid.
			ce.ring(t, "CA0320", callerPhone, voiceNumber)
			l := callbacks("CA0320")
			l = append(l, l...)
			var wg sync.WaitGroup
			for _, cb := range l {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if code, body := ce.twilio(t, cb.path, cb.form); code/100 != 2 {
						t.Errorf("%s: %d %s", cb.path, code, body)
					}
				}()
			}
			wg.Wait()
			if got := get("CA0320"); !same(got, want) {
				t.Errorf("parallel: %+v, want %+v", got, want)
			}
			n := 0
			for _, c := range ce.calls(t, "") {
				if c.ProviderCallID == "CA0320" {
					n++
				}
			}
			if n != 1 {
				t.Errorf("rows for one CallSid: %d", n)
			}
			// No open call-back for answered calls (a "completed" that came
			// before the Dial's answer left one, cancelled by the answer).
			if l := ce.planned(t, ""); len(l) != 0 {
				t.Errorf("call-backs: %+v", l)
			}
		})
	}
}

// Every voice webhook refuses a forged request and changes nothing.
func TestVoiceForgedRequests(t *testing.T) {
	ce := newCallEnv(t, backends(t)[0].url)
	for _, path := range []string{"/webhooks/twilio/voice", "/webhooks/twilio/voice/status", "/webhooks/twilio/voice/recording",
		"/webhooks/twilio/voice/dial", "/webhooks/twilio/voice/screen?mode=press1", "/webhooks/twilio/voice/fallback"} {
		form := url.Values{"CallSid": {"CA0400"}, "From": {callerPhone}, "To": {voiceNumber}, "CallStatus": {"completed"},
			"DialCallStatus": {"no-answer"}, "RecordingSid": {"RE9"}}
		u := ce.app.Config.PublicURL + path
		for name, sig := range map[string]string{"none": "", "wrong token": twiliotest.Sign("forged", u, form),
			"other url": twiliotest.Sign(twToken, u+"x", form)} {
			if code, body := postForm(t, u, form, sig); code != 403 {
				t.Errorf("%s %s: %d %s", path, name, code, body)
			}
		}
	}
	if l := ce.calls(t, ""); len(l) != 0 {
		t.Errorf("a forged request logged a call: %+v", l)
	}
	if len(ce.live.kind(core.LiveCallIncoming)) != 0 {
		t.Error("a forged request popped up")
	}
}

func (ce *callEnv) callEvent(t *testing.T, conn, secret string, ts int64, ev map[string]any) (int, map[string]any) {
	t.Helper()
	body, _ := json.Marshal(ev)
	req, _ := http.NewRequest("POST", ce.srv.URL+"/webhooks/calls/"+conn, bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set(webhooks.CallTimestampHeader, strconv.FormatInt(ts, 10))
	req.Header.Set(webhooks.CallSignatureHeader, webhooks.SignCallEvent(secret, ts, body))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

// The provider-neutral webhook drives the same pop-ups, log and call-backs.
func TestCallEventWebhook(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ce := newCallEnv(t, b.url)
			var conn core.CallConnection
			ce.must(201, "POST", "/api/v1/call-connections", map[string]any{"name": "Mes appels", "center_id": ce.center}, &conn)
			if !strings.HasPrefix(conn.Secret, "whcall_") {
				t.Fatalf("connection: %+v", conn)
			}
			var list struct{ Items []core.CallConnection }
			ce.must(200, "GET", "/api/v1/call-connections", nil, &list)
			if len(list.Items) != 1 || list.Items[0].Secret != "" {
				t.Errorf("list shows secrets: %+v", list.Items)
			}
			now := ce.clock.Now().Unix()
			ring := map[string]any{"call_id": "pbx-1", "event": "ringing", "from": "0612345678", "to": "+33100000777"}
			// "0612345678" has no country code: the card is found by the
			// number as the provider sent it when it is E.164 only.
			ring["from"] = "+33 6 12 34 56 78"
			code, out := ce.callEvent(t, conn.ID, conn.Secret, now, ring)
			card, _ := out["card"].(map[string]any)
			if code != 200 || card["name"] != "Élodie Martin" {
				t.Fatalf("ringing: %d %v", code, out)
			}
			if evs := ce.live.kind(core.LiveCallIncoming); len(evs) != 1 || evs[0].CenterID != ce.center {
				t.Errorf("pop-up: %+v", evs)
			}
			// A replay is acknowledged as a repeat, nothing changes.
			if code, out := ce.callEvent(t, conn.ID, conn.Secret, now, ring); code != 200 || out["repeat"] != true {
				t.Errorf("replay: %d %v", code, out)
			}
			if n := len(ce.live.kind(core.LiveCallIncoming)); n != 1 {
				t.Errorf("replay popped up again: %d", n)
			}
			// Forged: wrong secret, stale timestamp, unknown connection.
			for name, f := range map[string]func() int{
				"wrong secret": func() int { c, _ := ce.callEvent(t, conn.ID, "whcall_forged", now, ring); return c },
				"stale":        func() int { c, _ := ce.callEvent(t, conn.ID, conn.Secret, now-3600, ring); return c },
				"future":       func() int { c, _ := ce.callEvent(t, conn.ID, conn.Secret, now+3600, ring); return c },
				"unknown connection": func() int {
					c, _ := ce.callEvent(t, core.NewID(), conn.Secret, now, ring)
					return c
				},
			} {
				if c := f(); c != 403 {
					t.Errorf("%s: %d", name, c)
				}
			}
			// An unknown caller: the card has the number only.
			unknown := map[string]any{"call_id": "pbx-0", "event": "ringing", "from": "+33 6 98 76 54 32", "to": "+33100000777"}
			if code, out := ce.callEvent(t, conn.ID, conn.Secret, now, unknown); code != 200 || out["card"].(map[string]any)["known"] != false ||
				out["card"].(map[string]any)["phone"] != "+33698765432" {
				t.Errorf("unknown caller: %d %v", code, out)
			}
			if evs := ce.live.kind(core.LiveCallIncoming); len(evs) != 2 || evs[1].Data.(core.CallLive).Card.Known {
				t.Errorf("unknown caller's pop-up: %+v", evs)
			}
			// Missed: a call-back, as with Twilio.
			code, out = ce.callEvent(t, conn.ID, conn.Secret, now, map[string]any{"call_id": "pbx-1", "event": "missed", "from": "+33612345678", "to": "+33100000777"})
			if code != 200 || out["outcome"] != core.OutcomeMissed {
				t.Errorf("missed: %d %v", code, out)
			}
			if l := ce.planned(t, "&center_id="+ce.center); len(l) != 1 || l[0].ClientID != ce.client {
				t.Errorf("call-back: %+v", l)
			}
			// Answered and ended on another call: answered.
			ce.callEvent(t, conn.ID, conn.Secret, now, map[string]any{"call_id": "pbx-2", "event": "ended", "from": "+33612345678", "to": "x", "duration_sec": 61})
			ce.callEvent(t, conn.ID, conn.Secret, now, map[string]any{"call_id": "pbx-2", "event": "answered", "from": "+33612345678", "to": "x"})
			for _, c := range ce.calls(t, "") {
				if c.ProviderCallID == "pbx-2" && (c.Outcome != core.OutcomeAnswered || c.DurationSec != 61 || c.ClientID != ce.client) {
					t.Errorf("pbx-2: %+v", c)
				}
			}
			// Bad bodies are 400 problems.
			if c, _ := ce.callEvent(t, conn.ID, conn.Secret, now, map[string]any{"call_id": "pbx-3", "event": "exploded", "from": "a", "to": "b"}); c != 400 {
				t.Errorf("unknown event: %d", c)
			}
			// A revoked connection is refused.
			ce.must(204, "DELETE", "/api/v1/call-connections/"+conn.ID, nil, nil)
			if c, _ := ce.callEvent(t, conn.ID, conn.Secret, now, ring); c != 403 {
				t.Errorf("revoked: %d", c)
			}
		})
	}
}

// Click-to-call goes through Twilio's Calls API with StatusCallbackEvent as
// repeated parameters, is logged, and a call whose callbacks stopped is
// reconciled with the Calls API.
func TestClickToCallAndStuckCalls(t *testing.T) {
	ce := newCallEnv(t, backends(t)[0].url)
	var me struct {
		StaffID string `json:"staff_id"`
	}
	ce.must(200, "GET", "/api/v1/me", nil, &me)
	// Without a phone on the caller's card: a clear 400.
	var p problem
	if code := ce.do(ce.key, "POST", "/api/v1/calls", map[string]any{"client_id": ce.client, "center_id": ce.center}, &p); code != 400 {
		t.Fatalf("no phone: %d %+v", code, p)
	}
	ce.must(200, "PATCH", "/api/v1/staff/"+me.StaffID, map[string]any{"phone": "+33600000002"}, nil)
	var call core.Call
	ce.must(201, "POST", "/api/v1/calls", map[string]any{"client_id": ce.client, "center_id": ce.center}, &call)
	placed := ce.fake.Calls()
	if len(placed) != 1 || placed[0].To != "+33600000002" || placed[0].From != voiceNumber || !strings.Contains(placed[0].Form.Get("Twiml"), callerPhone) {
		t.Fatalf("placed: %+v", placed)
	}
	if ev := placed[0].Form["StatusCallbackEvent"]; strings.Join(ev, ",") != "initiated,ringing,answered,completed" {
		t.Errorf("StatusCallbackEvent sent as %q, want repeated parameters", ev)
	}
	if placed[0].Form.Get("StatusCallback") != ce.app.Config.PublicURL+"/webhooks/twilio/voice/status" {
		t.Errorf("StatusCallback %q", placed[0].Form.Get("StatusCallback"))
	}
	if call.Direction != core.CallOutbound || call.ProviderCallID != placed[0].SID || call.To != callerPhone || call.StaffID != me.StaffID {
		t.Errorf("logged: %+v", call)
	}
	// Ringing, then the callbacks stop: after the bound the Calls API says
	// it completed after 30 s of talk.
	ce.twilio(t, "/webhooks/twilio/voice/status", url.Values{"CallSid": {call.ProviderCallID}, "CallStatus": {"ringing"}, "Direction": {"outbound-api"}})
	n, err := ce.app.Services.Calls.ReconcileStuck(context.Background(), 2*time.Hour, 10)
	if err != nil || n != 0 {
		t.Fatalf("fresh call reconciled: %d %v", n, err)
	}
	ce.fake.SetCall(call.ProviderCallID, "completed", 30)
	ce.clock.Set(monday10.Add(3 * time.Hour))
	if n, err := ce.app.Services.Calls.ReconcileStuck(context.Background(), 2*time.Hour, 10); err != nil || n != 1 {
		t.Fatalf("reconcile: %d %v", n, err)
	}
	var got core.Call
	ce.must(200, "GET", "/api/v1/calls/"+call.ID, nil, &got)
	if got.Status != core.CallCompleted || got.Outcome != core.OutcomeAnswered || got.DurationSec != 30 {
		t.Errorf("reconciled: %+v", got)
	}
}

// Planned calls: per centre and "my planned calls", overdue and today's
// first; a result plans the next; a planned call keeps a client from lost.
func TestPlannedCalls(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ce := newCallEnv(t, b.url)
			var me struct {
				StaffID string `json:"staff_id"`
			}
			ce.must(200, "GET", "/api/v1/me", nil, &me)
			// Thirty days on with no visit: the client is lost.
			ce.clock.Set(monday10.AddDate(0, 0, 30))
			now := ce.clock.Now()
			var cl core.Client
			ce.must(200, "GET", "/api/v1/clients/"+ce.client, nil, &cl)
			if cl.Status != core.ClientLost {
				t.Fatalf("status before: %s", cl.Status)
			}
			plan := func(due time.Time, staff string) core.PlannedCall {
				var pc core.PlannedCall
				ce.must(201, "POST", "/api/v1/planned-calls", map[string]any{"client_id": ce.client, "center_id": ce.center, "due_at": due,
					"note": "relancer", "staff_id": staff}, &pc)
				return pc
			}
			tomorrow := plan(now.Add(24*time.Hour), "")
			overdue := plan(now.Add(-48*time.Hour), "")
			today := plan(now.Add(time.Hour), "")
			plan(now.Add(2*time.Hour), ce.staff) // Alice's
			ce.must(200, "GET", "/api/v1/clients/"+ce.client, nil, &cl)
			if cl.Status != core.ClientActive {
				t.Errorf("a planned call should make the client active, got %s", cl.Status)
			}
			mine := ce.planned(t, "&mine=true")
			if len(mine) != 3 || mine[0].ID != overdue.ID || mine[1].ID != today.ID || mine[2].ID != tomorrow.ID {
				t.Errorf("my planned calls: %+v", mine)
			}
			if l := ce.planned(t, "&center_id="+ce.center); len(l) != 4 {
				t.Errorf("centre's planned calls: %d", len(l))
			}
			// Paging by due time keeps the order.
			var page struct {
				Items      []core.PlannedCall
				NextCursor string `json:"next_cursor"`
			}
			ce.must(200, "GET", "/api/v1/planned-calls?limit=2&mine=true", nil, &page)
			ce.must(200, "GET", "/api/v1/planned-calls?limit=2&mine=true&cursor="+page.NextCursor, nil, &page)
			if len(page.Items) != 1 || page.Items[0].ID != tomorrow.ID {
				t.Errorf("second page: %+v", page.Items)
			}
			var done core.PlannedCall
			next := now.Add(7 * 24 * time.Hour)
			ce.must(200, "POST", "/api/v1/planned-calls/"+overdue.ID+"/result", map[string]any{"result": "rappeler la semaine prochaine",
				"next_due_at": next}, &done)
			if done.Status != core.PlannedDone || done.NextID == "" {
				t.Errorf("result: %+v", done)
			}
			var nx core.PlannedCall
			ce.must(200, "GET", "/api/v1/planned-calls/"+done.NextID, nil, &nx)
			if nx.Status != core.PlannedOpen || !nx.DueAt.Equal(next.Truncate(time.Millisecond)) || nx.ClientID != ce.client {
				t.Errorf("next: %+v", nx)
			}
			// Twice: the call is not open any more.
			if code := ce.do(ce.key, "POST", "/api/v1/planned-calls/"+overdue.ID+"/result", map[string]any{"result": "x"}, nil); code != 409 {
				t.Errorf("second result: %d", code)
			}
			// Bad input: clear 400s.
			for name, body := range map[string]map[string]any{
				"no due":     {"client_id": ce.client, "center_id": ce.center},
				"bad client": {"client_id": "nope", "center_id": ce.center, "due_at": now},
				"other org":  {"client_id": core.NewID(), "center_id": ce.center, "due_at": now},
			} {
				if code := ce.do(ce.key, "POST", "/api/v1/planned-calls", body, nil); code != 400 {
					t.Errorf("%s: %d", name, code)
				}
			}
			if code := ce.do(ce.key, "POST", "/api/v1/planned-calls/"+today.ID+"/result", map[string]any{"result": ""}, nil); code != 400 {
				t.Errorf("empty result: %d", code)
			}
		})
	}
}

// sseLines opens GET /api/v1/events with key and sends each data line.
func (ce *callEnv) sseLines(t *testing.T, key string) <-chan string {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	req, _ := http.NewRequestWithContext(ctx, "GET", ce.srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		t.Fatalf("events: %d", resp.StatusCode)
	}
	out := make(chan string, 100)
	go func() {
		defer resp.Body.Close()
		defer close(out)
		buf := make([]byte, 0, 4096)
		tmp := make([]byte, 4096)
		for {
			n, err := resp.Body.Read(tmp)
			buf = append(buf, tmp[:n]...)
			for {
				i := bytes.IndexByte(buf, '\n')
				if i < 0 {
					break
				}
				if line := string(buf[:i]); strings.HasPrefix(line, "data:") {
					out <- strings.TrimSpace(strings.TrimPrefix(line, "data:"))
				}
				buf = buf[i+1:]
			}
			if err != nil {
				return
			}
		}
	}()
	return out
}

// An incoming call reaches the SSE stream of its centre's staff, with the
// card, and not the stream of another centre's.
func TestVoiceIncomingOnCentreStream(t *testing.T) {
	fake := twiliotest.New(t, twSID, twToken)
	e := newAPIEnv(t, backends(t)[0].url, map[string]string{"TWILIO_ACCOUNT_SID": twSID, "TWILIO_AUTH_TOKEN": twToken,
		"TWILIO_FROM": twFrom, "TWILIO_BASE_URL": fake.URL})
	e.clock.Set(monday10)
	ce := &callEnv{apiEnv: e, fake: fake}
	if err := e.app.StartWorker(); err != nil {
		t.Fatal(err)
	}
	var c, o, cl idOnly
	e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Centre Bastille", "timezone": "Europe/Paris"}, &c)
	e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Centre Lyon", "timezone": "Europe/Paris"}, &o)
	e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Élodie Martin", "phone": callerPhone, "center_ids": []string{c.ID}}, &cl)
	e.must(200, "PUT", "/api/v1/centers/"+c.ID+"/call-settings", map[string]any{"voice_number": voiceNumber, "hours": core.WeeklyJSON{}}, nil)
	keyOf := func(center string) string {
		var st idOnly
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Admin " + center[:8], "role": "administrator", "center_ids": []string{center}}, &st)
		var k map[string]any
		e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "k", "staff_id": st.ID}, &k)
		return k["key"].(string)
	}
	mine, other := ce.sseLines(t, keyOf(c.ID)), ce.sseLines(t, keyOf(o.ID))
	time.Sleep(300 * time.Millisecond) // the streams are subscribed
	ce.ring(t, "CA0900", callerPhone, voiceNumber)
	deadline := time.After(10 * time.Second)
	found := false
	for !found {
		select {
		case line := <-mine:
			if strings.Contains(line, `"call.incoming"`) {
				if !strings.Contains(line, "Élodie Martin") || !strings.Contains(line, c.ID) {
					t.Errorf("event without the card: %s", line)
				}
				found = true
			}
		case <-deadline:
			t.Fatal("no call.incoming on the centre's stream")
		}
	}
	quiet := time.After(time.Second)
	for {
		select {
		case line := <-other:
			if strings.Contains(line, "call.") {
				t.Fatalf("another centre's stream got the call: %s", line)
			}
		case <-quiet:
			return
		}
	}
}

// Marketers of an organization that hides client contacts see calls,
// planned calls and pop-ups without the client's number; other staff, and
// marketers elsewhere, see it.
func TestVoiceMarketerContacts(t *testing.T) {
	fake := twiliotest.New(t, twSID, twToken)
	e := newAPIEnv(t, backends(t)[0].url, map[string]string{"TWILIO_ACCOUNT_SID": twSID, "TWILIO_AUTH_TOKEN": twToken,
		"TWILIO_FROM": twFrom, "TWILIO_BASE_URL": fake.URL})
	e.clock.Set(monday10)
	ce := &callEnv{apiEnv: e, fake: fake}
	if err := e.app.StartWorker(); err != nil {
		t.Fatal(err)
	}
	var c, cl idOnly
	e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Centre Bastille", "timezone": "Europe/Paris"}, &c)
	e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Élodie Martin", "phone": callerPhone, "center_ids": []string{c.ID}}, &cl)
	e.must(200, "PUT", "/api/v1/centers/"+c.ID+"/call-settings", map[string]any{"voice_number": voiceNumber, "hours": core.WeeklyJSON{}}, nil)
	keyOf := func(role string) string {
		var st idOnly
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Staff " + role, "role": role, "center_ids": []string{c.ID}}, &st)
		var k map[string]any
		e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "k", "staff_id": st.ID}, &k)
		return k["key"].(string)
	}
	marketer, admin := keyOf("marketer"), keyOf("administrator")
	e.must(200, "PATCH", "/api/v1/organization", map[string]any{"hide_contacts_from_marketers": true}, nil)

	mStream, aStream := ce.sseLines(t, marketer), ce.sseLines(t, admin)
	time.Sleep(300 * time.Millisecond)             // the streams are subscribed
	ce.ring(t, "CA0950", callerPhone, voiceNumber) // after hours: voicemail
	ce.twilio(t, "/webhooks/twilio/voice/status", url.Values{"CallSid": {"CA0950"}, "CallStatus": {"completed"}})
	// Each stream gets the pop-up (with the card) and the update.
	read := func(stream <-chan string) []string {
		var got []string
		deadline := time.After(10 * time.Second)
		for len(got) < 2 {
			select {
			case line := <-stream:
				if strings.Contains(line, `"call.`) {
					got = append(got, line)
				}
			case <-deadline:
				t.Fatalf("call events: %q", got)
			}
		}
		return got
	}
	for _, line := range read(mStream) {
		if strings.Contains(line, callerPhone) || strings.Contains(line, "612345678") {
			t.Errorf("a marketer's pop-up shows the number: %s", line)
		}
		if strings.Contains(line, `"call.incoming"`) && !strings.Contains(line, "Élodie Martin") {
			t.Errorf("a marketer's pop-up lost the card: %s", line)
		}
	}
	for _, line := range read(aStream) {
		if strings.Contains(line, `"call.incoming"`) && !strings.Contains(line, callerPhone) {
			t.Errorf("an administrator's pop-up lacks the number: %s", line)
		}
	}

	type view struct {
		calls   []core.Call
		call    core.Call
		planned []core.PlannedCall
		one     core.PlannedCall
	}
	look := func(key string) view {
		var v view
		var cs struct{ Items []core.Call }
		var ps struct{ Items []core.PlannedCall }
		if code := e.do(key, "GET", "/api/v1/calls", nil, &cs); code != 200 || len(cs.Items) != 1 {
			t.Fatalf("calls: %d %+v", code, cs.Items)
		}
		if code := e.do(key, "GET", "/api/v1/planned-calls", nil, &ps); code != 200 || len(ps.Items) != 1 {
			t.Fatalf("planned calls: %d %+v", code, ps.Items)
		}
		v.calls, v.planned = cs.Items, ps.Items
		if code := e.do(key, "GET", "/api/v1/calls/"+cs.Items[0].ID, nil, &v.call); code != 200 {
			t.Fatalf("call: %d", code)
		}
		if code := e.do(key, "GET", "/api/v1/planned-calls/"+ps.Items[0].ID, nil, &v.one); code != 200 {
			t.Fatalf("planned call: %d", code)
		}
		return v
	}
	m := look(marketer)
	if m.calls[0].From != "" || m.call.From != "" || m.calls[0].To != voiceNumber || m.calls[0].ClientID != cl.ID {
		t.Errorf("a marketer's call log: %+v / %+v", m.calls[0], m.call)
	}
	if m.planned[0].Phone != "" || m.one.Phone != "" || m.planned[0].ClientID != cl.ID {
		t.Errorf("a marketer's planned calls: %+v / %+v", m.planned[0], m.one)
	}
	a := look(admin)
	if a.calls[0].From != callerPhone || a.call.From != callerPhone || a.planned[0].Phone != callerPhone || a.one.Phone != callerPhone {
		t.Errorf("an administrator's view: %+v %+v", a.call, a.one)
	}
	// The setting off: marketers see the number again.
	e.must(200, "PATCH", "/api/v1/organization", map[string]any{"hide_contacts_from_marketers": false}, nil)
	if m := look(marketer); m.call.From != callerPhone || m.one.Phone != callerPhone {
		t.Errorf("setting off, a marketer's view: %+v %+v", m.call, m.one)
	}
}
