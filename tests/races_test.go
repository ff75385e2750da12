package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/stripe/stripetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
)

// hookTwilio sits between the gateway and the fake Twilio: it forwards
// each create-message request and calls before (with the request's number,
// from 1) ahead of forwarding and after (with the SID the fake gave) ahead
// of answering the gateway.
type hookTwilio struct {
	URL    string
	target string
	mu     sync.Mutex
	n      int
	before func(n int)
	after  func(n int, sid string)
}

func newHookTwilio(t *testing.T, target string, before func(int), after func(int, string)) *hookTwilio {
	h := &hookTwilio{target: target, before: before, after: after}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	h.URL = srv.URL
	return h
}

func (h *hookTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, _ := io.ReadAll(r.Body)
	h.mu.Lock()
	h.n++
	n := h.n
	h.mu.Unlock()
	if h.before != nil {
		h.before(n)
	}
	req, _ := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, h.target+r.URL.RequestURI(), bytes.NewReader(body))
	req.Header = r.Header.Clone()
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	var created struct {
		SID string `json:"sid"`
	}
	if resp.StatusCode == http.StatusCreated && json.Unmarshal(answer, &created) == nil && h.after != nil {
		h.after(n, created.SID)
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// hookedEnv is the service whose Twilio goes through a hookTwilio.
func hookedEnv(t *testing.T, dbURL string, before func(int), after func(*twiliotest.Server, int, string)) (*apiEnv, *twiliotest.Server) {
	fake := twiliotest.New(t, twSID, twToken)
	hook := newHookTwilio(t, fake.URL, before, func(n int, sid string) {
		if after != nil {
			after(fake, n, sid)
		}
	})
	e := newAPIEnv(t, dbURL, map[string]string{"TWILIO_ACCOUNT_SID": twSID, "TWILIO_AUTH_TOKEN": twToken,
		"TWILIO_FROM": twFrom, "TWILIO_BASE_URL": hook.URL, "GATEWAY_RATE_SMS": "off"})
	return e, fake
}

// TestStaleWorkerResultDropped: a send outlives its lease (its worker
// stalls); the sweeper queues the message again and a second attempt sends
// it; the first worker's late result does not overwrite the second's.
func TestStaleWorkerResultDropped(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		release := make(chan struct{})
		e, fake := hookedEnv(t, freshURL(t, e0), func(n int) {
			if n == 1 {
				<-release // the first attempt stalls
			}
		}, nil)
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Massage", DurationMin: 60})
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		waitFor(t, "the first attempt to be sending", 15*time.Second, func() bool {
			ms := e.messages("appointment_id=" + a.ID)
			return len(ms) == 1 && ms[0].Status == core.MsgSending
		})
		// The lease (2 minutes) runs out on the service's clock: the
		// sweeper requeues it and a second attempt sends it.
		e.clock.Set(e.clock.Now().Add(3 * time.Minute))
		var second core.Message
		waitFor(t, "the second attempt to be sent", 15*time.Second, func() bool {
			ms := e.messages("appointment_id=" + a.ID)
			if len(ms) != 1 || ms[0].Status != core.MsgSent || ms[0].Attempts != 2 {
				return false
			}
			second = ms[0]
			return true
		})
		close(release)
		waitFor(t, "the first attempt to reach Twilio", 15*time.Second, func() bool { return len(fake.Messages()) == 2 })
		time.Sleep(500 * time.Millisecond) // its outcome is written (or dropped) by now
		got := e.messages("appointment_id=" + a.ID)[0]
		if got.Status != core.MsgSent || got.ProviderID != second.ProviderID || got.Attempts != 2 {
			t.Fatalf("after the stale result: %s %q attempts %d; the second attempt wrote %q", got.Status, got.ProviderID, got.Attempts,
				second.ProviderID)
		}
		if fake.Messages()[1].SID == second.ProviderID {
			t.Fatal("the stale attempt's SID is the one kept")
		}
	})
}

// TestCallbackBeforeSendRecorded: Twilio reports "delivered" before the
// worker has written the SID it got; the report is kept and applied.
func TestCallbackBeforeSendRecorded(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, _ := hookedEnv(t, freshURL(t, e0), nil, func(fake *twiliotest.Server, _ int, sid string) {
			if err := fake.SendStatusCallback(context.Background(), sid, "delivered", 0); err != nil {
				t.Error(err)
			}
		})
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Massage", DurationMin: 60})
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		waitFor(t, "the early report to apply", 15*time.Second, func() bool {
			ms := e.messages("appointment_id=" + a.ID)
			return len(ms) == 1 && ms[0].Status == core.MsgDelivered && ms[0].DeliveredAt != nil && ms[0].ProviderID != ""
		})
	})
}

// TestUndeliveredFallsBack: an undelivered report with a permanent code
// moves the message to the client's next channel (email, the devsink
// here); a temporary code does not.
func TestUndeliveredFallsBack(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, fake := twilioEnv(t, freshURL(t, e0))
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Lesson", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/clients/"+f.client, map[string]any{"name": "Anne Client", "phone": "+33612345678",
			"email": "anne@example.com", "language": "en"}, nil)
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		for _, tt := range []struct {
			start    string
			code     int
			fallback bool
		}{{"2026-03-09T10:00:00+01:00", 30005, true}, {"2026-03-09T11:00:00+01:00", 30008, false}} {
			a := e.book(f, tt.start)
			var sms core.Message
			waitFor(t, "the SMS to be sent", 15*time.Second, func() bool {
				ms := e.messages("appointment_id=" + a.ID)
				if len(ms) != 1 || ms[0].Status != core.MsgSent {
					return false
				}
				sms = ms[0]
				return true
			})
			for i := 0; i < 2; i++ { // Twilio repeats it: one effect
				if err := fake.SendStatusCallback(context.Background(), sms.ProviderID, "undelivered", tt.code); err != nil {
					t.Fatal(err)
				}
			}
			if !tt.fallback {
				time.Sleep(2 * time.Second) // the sweeper runs every second here
				ms := e.messages("appointment_id=" + a.ID)
				if len(ms) != 1 || ms[0].Status != core.MsgUndelivered || ms[0].ErrorCode != "30008" {
					t.Fatalf("temporary code %d: %+v", tt.code, ms)
				}
				continue
			}
			waitFor(t, "the email fallback", 15*time.Second, func() bool {
				ms := e.messages("appointment_id=" + a.ID)
				return len(ms) == 2 && ms[1].Channel == core.ChannelEmail && ms[1].Status == core.MsgDelivered
			})
			ms := e.messages("appointment_id=" + a.ID)
			if ms[0].Status != core.MsgUndelivered || ms[0].ErrorCode != "30005" {
				t.Fatalf("the SMS after the report: %+v", ms[0])
			}
		}
		metrics := e.metrics()
		for _, want := range []string{`gateway_messages_total{channel="sms",status="undelivered"} 2`,
			`gateway_messages_total{channel="email",status="delivered"} 1`} {
			if !strings.Contains(metrics, want) {
				t.Errorf("metrics lack %s", want)
			}
		}
	})
}

func (e *apiEnv) metrics() string {
	e.t.Helper()
	resp, err := http.Get(e.srv.URL + "/metrics")
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}

// TestPoisonedEventLeavesOthersFlowing: an event that cannot be built is
// failed, listed and retryable; the events after it are sent, and the
// sweeper keeps running.
func TestPoisonedEventLeavesOthersFlowing(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		url := freshURL(t, e0)
		e, fake := twilioEnv(t, url)
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "08:00", End: "18:00"}), core.ServiceInput{Name: "Visit", DurationMin: 30})
		bad := storetest.PoisonedEvent(e.org)
		storetest.InsertEvent(t, url, bad)
		const n = 3
		for i := 0; i < n; i++ {
			e.book(f, time.Date(2026, 3, 9, 8+i, 0, 0, 0, paris(t)).Format(time.RFC3339))
		}
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the good events' messages", 15*time.Second, func() bool { return len(fake.Messages()) == n })
		var failed struct {
			Items []core.FailedEvent `json:"items"`
		}
		e.must(200, "GET", "/api/v1/failed-events", nil, &failed)
		if len(failed.Items) != 1 || failed.Items[0].ID != bad.ID || !strings.Contains(failed.Items[0].Error, "not found") {
			t.Fatalf("failed events: %+v", failed.Items)
		}
		if !strings.Contains(e.metrics(), `gateway_pipeline_problems_total{problem="event_failed"}`) {
			t.Error("the failed event is not counted")
		}
		// Retried, it fails again (its appointment still does not exist).
		e.must(200, "POST", "/api/v1/failed-events/"+bad.ID+"/retry", nil, nil)
		// The list is empty from the retry on, until the relay fails it again.
		waitFor(t, "the retried event to fail again", 15*time.Second, func() bool {
			e.must(200, "GET", "/api/v1/failed-events", nil, &failed)
			return len(failed.Items) == 1
		})
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/failed-events/"+core.NewID()+"/retry", nil, &p); code != 404 {
			t.Fatalf("retry of an unknown event: %d", code)
		}
		// The stranded-message sweep still works: a message queued while
		// no task exists is sent.
		fake.Reset()
		if err := e.app.Broker.Redis.FlushDB(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		e.book(f, time.Date(2026, 3, 10, 9, 0, 0, 0, paris(t)).Format(time.RFC3339))
		waitFor(t, "a message after the failure", 20*time.Second, func() bool { return len(fake.Messages()) == 1 })
	})
}

// TestReplayedWebhooks: every provider's webhook delivered twice has one
// effect: a Twilio inbound SMS is stored and answered once; a status
// report counts once; a Stripe payment is recorded once.
func TestReplayedWebhooks(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		rec := stripetest.Start(t)
		fake := twiliotest.New(t, twSID, twToken)
		e := newAPIEnv(t, freshURL(t, e0), map[string]string{"TWILIO_ACCOUNT_SID": twSID, "TWILIO_AUTH_TOKEN": twToken,
			"TWILIO_FROM": twFrom, "TWILIO_BASE_URL": fake.URL, "GATEWAY_RATE_SMS": "off", "STRIPE_SECRET_KEY": "sk_test_123",
			"STRIPE_WEBHOOK_SECRET": whsec, "STRIPE_API_URL": rec.URL})
		price := int64(5000)
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Consultation", DurationMin: 60, PriceMinor: &price, Currency: "EUR"})
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		var sms core.Message
		waitFor(t, "the confirmation", 15*time.Second, func() bool {
			ms := e.messages("appointment_id=" + a.ID)
			if len(ms) != 1 || ms[0].Status != core.MsgSent {
				return false
			}
			sms = ms[0]
			return true
		})
		// Twilio status, twice.
		for i := 0; i < 2; i++ {
			if err := fake.SendStatusCallback(context.Background(), sms.ProviderID, "delivered", 0); err != nil {
				t.Fatal(err)
			}
		}
		delivered := `gateway_messages_total{channel="sms",status="delivered"} 1` + "\n"
		waitFor(t, "the status report to count", 15*time.Second, func() bool { return strings.Contains(e.metrics(), delivered) })
		// Twilio inbound SMS (HELP gets one answer), twice.
		for i := 0; i < 2; i++ {
			if code, _ := e.inboundSMS("SMreplay0000000000000000000000001", "+33612345678", "HELP", true); code != 200 {
				t.Fatalf("inbound: %d", code)
			}
		}
		var inbound struct {
			Items []core.Inbound `json:"items"`
		}
		waitFor(t, "the HELP answer", 15*time.Second, func() bool {
			return len(e.messages("recipient_id="+f.client+"&channel=sms")) == 2
		})
		time.Sleep(time.Second)
		e.must(200, "GET", "/api/v1/inbound", nil, &inbound)
		help := 0
		for _, m := range e.messages("recipient_id=" + f.client) {
			if m.Kind == core.KindHelp {
				help++
			}
		}
		if len(inbound.Items) != 1 || help != 1 {
			t.Fatalf("replayed inbound SMS: %d stored, %d answers", len(inbound.Items), help)
		}
		if !strings.Contains(e.metrics(), delivered) {
			t.Error("a repeated status report counted twice")
		}
		// Stripe, twice; then two refunds of the charge race (cumulative 100
		// and 300): 300 is refunded in all, once.
		var link struct {
			URL string `json:"url"`
		}
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/payment-link", nil, &link)
		pay := rec.CheckoutSessions()[0].Payment()
		post := func(event any) {
			resp, err := stripetest.PostEvent(context.Background(), e.srv.URL+"/webhooks/stripe", whsec, event)
			if err != nil {
				t.Error(err)
				return
			}
			resp.Body.Close()
			if resp.StatusCode != 200 {
				t.Errorf("stripe event answered %d", resp.StatusCode)
			}
		}
		ev := stripetest.CheckoutSessionCompleted(pay)
		post(ev)
		post(ev)
		var got core.Appointment
		e.must(200, "GET", "/api/v1/appointments/"+a.ID, nil, &got)
		if got.PaidMinor != 5000 {
			t.Fatalf("paid %d after a replayed payment, want 5000", got.PaidMinor)
		}
		var wg sync.WaitGroup
		for _, cum := range []int64{100, 300} {
			r := pay
			r.AmountRefunded = cum
			wg.Add(1)
			go func() { defer wg.Done(); post(stripetest.ChargeRefunded(r)) }()
		}
		wg.Wait()
		e.must(200, "GET", "/api/v1/appointments/"+a.ID, nil, &got)
		if got.PaidMinor != 4700 {
			t.Fatalf("paid %d after refunds of 300 in all, want 4700", got.PaidMinor)
		}
	})
}
