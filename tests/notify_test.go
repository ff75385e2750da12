package tests

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/notify"
)

const (
	twSID   = "AC00000000000000000000000000000001"
	twToken = "0123456789abcdef0123456789abcdef"
	twFrom  = "+15005550006"
)

// twilioEnv is the service with Twilio pointed at a local fake; SMS pacing
// is off unless rate says otherwise.
func twilioEnv(t *testing.T, dbURL string, rate ...string) (*apiEnv, *twiliotest.Server) {
	env := map[string]string{}
	if len(rate) > 0 {
		env["GATEWAY_RATE_SMS"] = rate[0]
	}
	return twilioEnvWith(t, dbURL, env)
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, what string, d time.Duration, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func (e *apiEnv) messages(query string) []core.Message {
	e.t.Helper()
	var l struct {
		Items []core.Message `json:"items"`
	}
	e.must(200, "GET", "/api/v1/messages?limit=200&"+query, nil, &l)
	return l.Items
}

func (e *apiEnv) book(f fixture, start string) core.Appointment {
	e.t.Helper()
	var res core.BookingResult
	e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
		"client_id": f.client, "start": start}, &res)
	return res.Appointments[0]
}

func (e *apiEnv) statusCallback(fake *twiliotest.Server, sid, status string, sign bool) int {
	e.t.Helper()
	u := e.app.Config.PublicURL + "/webhooks/twilio/status"
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "AccountSid": {twSID}, "To": {"+33612345678"}, "From": {twFrom}}
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	sig := twiliotest.Sign(twToken, u, form)
	if !sign {
		sig = twiliotest.Sign("wrong-token", u, form)
	}
	req.Header.Set("X-Twilio-Signature", sig)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// bookSent books a visit and waits for its one confirmation to be sent.
func (e *apiEnv) bookSent(f fixture, start string) (core.Appointment, core.Message) {
	e.t.Helper()
	a := e.book(f, start)
	var msg core.Message
	waitFor(e.t, "the confirmation to be sent", 15*time.Second, func() bool {
		ms := e.messages("appointment_id=" + a.ID)
		if len(ms) == 1 && ms[0].Status == core.MsgSent {
			msg = ms[0]
			return true
		}
		return false
	})
	return a, msg
}

// TestBookingToDelivery follows a booking through the whole pipeline:
// event → outbox → queue → Twilio (fake) → status callback.
func TestBookingToDelivery(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, fake := twilioEnv(t, freshURL(t, e0))
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Massage", DurationMin: 60})
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		a, msg := e.bookSent(f, "2026-03-09T10:00:00+01:00")
		got := fake.Messages()
		if len(got) != 1 {
			t.Fatalf("fake got %d messages", len(got))
		}
		m := got[0]
		if m.To != "+33612345678" || m.From != twFrom || !strings.Contains(m.Body, "Massage") ||
			m.StatusCallback != notify.StatusCallbackURL(e.app.Config.PublicURL, msg.ID, 1) || m.SID != msg.ProviderID {
			t.Fatalf("fake received %+v; outbox %+v", m, msg)
		}
		// Client language is French (the organization's): the date is French.
		if !strings.Contains(m.Body, "mars") || msg.Kind != core.KindAccepted || msg.Channel != core.ChannelSMS || msg.Segments < 1 {
			t.Errorf("message %q, outbox %+v", m.Body, msg)
		}
		// A bad signature is 403 and changes nothing (the status task and
		// the sweeper, every second here, would apply a recorded report).
		if code := e.statusCallback(fake, m.SID, "delivered", false); code != 403 {
			t.Fatalf("bad signature: %d", code)
		}
		time.Sleep(1500 * time.Millisecond)
		if ms := e.messages("appointment_id=" + a.ID); ms[0].Status != core.MsgSent {
			t.Fatalf("bad signature changed status to %s", ms[0].Status)
		}
		// Delivered, applied by the status task a moment after the answer;
		// a repeat and a late "sent" change nothing.
		for _, st := range []string{"delivered", "delivered", "sent"} {
			if code := e.statusCallback(fake, m.SID, st, true); code != 204 {
				t.Fatalf("callback %s: %d", st, code)
			}
		}
		waitFor(t, "the report to apply", 15*time.Second, func() bool {
			ms := e.messages("appointment_id=" + a.ID)
			return ms[0].Status == core.MsgDelivered && ms[0].DeliveredAt != nil
		})
		time.Sleep(500 * time.Millisecond) // the late "sent" is applied by now
		if ms := e.messages("appointment_id=" + a.ID); ms[0].Status != core.MsgDelivered {
			t.Fatalf("after the late sent: %+v", ms[0])
		}
		// The staff side: a client request tells the specialist, who has no
		// channel configured here: the outbox says skipped.
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-10T10:00:00+01:00", "requested_by": "client"}, &res)
		waitFor(t, "request messages", 15*time.Second, func() bool {
			ms := e.messages("appointment_id=" + res.Appointments[0].ID)
			kinds := map[string]core.MessageStatus{}
			for _, m := range ms {
				kinds[m.Kind] = m.Status
			}
			return kinds[core.KindRequested] == core.MsgSent && kinds[core.KindStaffRequest] == core.MsgSkipped
		})
	})
}

// TestLostStatusTaskSwept: a status callback whose task is lost (here: it
// went to a queue no worker reads, as after a Redis flush) is applied by
// the sweeper from its durable receipt; until the sweeper's grace has
// passed it is not, so the task is what applies it normally.
func TestLostStatusTaskSwept(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		dbURL := freshURL(t, e0)
		e, fake := twilioEnv(t, dbURL)
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Massage", DurationMin: 60})
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		a, msg := e.bookSent(f, "2026-03-09T10:00:00+01:00")
		// Another process on the same database answers the callback; its
		// queue is its own embedded one, which no worker reads.
		other, _ := twilioEnvWith(t, dbURL, map[string]string{"REDIS_URL": ""})
		other.clock.Set(e.clock.Now())
		if code := other.statusCallback(fake, msg.ProviderID, "delivered", true); code != 204 {
			t.Fatalf("callback: %d", code)
		}
		time.Sleep(1500 * time.Millisecond) // two sweeps, within the grace
		if ms := e.messages("appointment_id=" + a.ID); ms[0].Status != core.MsgSent {
			t.Fatalf("applied before the sweeper's grace: %s", ms[0].Status)
		}
		e.clock.Set(e.clock.Now().Add(2 * time.Second))
		waitFor(t, "the sweeper to apply the report", 15*time.Second, func() bool {
			ms := e.messages("appointment_id=" + a.ID)
			return ms[0].Status == core.MsgDelivered && ms[0].DeliveredAt != nil
		})
	})
}

// freshURL gives another database of the same backend as e0 (the twilio
// env needs its own service instance).
func freshURL(t *testing.T, e0 *apiEnv) string {
	for _, b := range backendsFor(t) {
		if b.Name == string(e0.app.Store.Dialect()) {
			return b.URL
		}
	}
	t.Fatal("no backend")
	return ""
}

func TestFallbackAndRetry(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, fake := twilioEnv(t, freshURL(t, e0))
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Lesson", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/clients/"+f.client, map[string]any{"name": "Anne Client", "phone": "+33612345678", "email": "anne@example.com", "language": "en"}, nil)
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		// The number is invalid for Twilio: a permanent error; the client
		// also has email, which is the devsink here.
		fake.FailTo("+33612345678", twiliotest.Failure{Status: 400, Code: 21211})
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		waitFor(t, "fallback to email", 15*time.Second, func() bool {
			for _, m := range e.messages("appointment_id=" + a.ID) {
				if m.Channel == core.ChannelEmail && m.Status == core.MsgDelivered {
					return true
				}
			}
			return false
		})
		ms := e.messages("appointment_id=" + a.ID)
		if len(ms) != 2 || ms[0].Channel != core.ChannelSMS || ms[0].Status != core.MsgFailed || ms[0].ErrorCode != "21211" {
			t.Fatalf("outbox after fallback: %+v", ms)
		}
		var dev struct {
			Items []struct {
				To, Subject, Text string
			} `json:"items"`
		}
		e.must(200, "GET", "/api/v1/devsink/messages", nil, &dev)
		if len(dev.Items) != 1 || dev.Items[0].To != "anne@example.com" || dev.Items[0].Subject == "" || !strings.Contains(dev.Items[0].Text, "Lesson") {
			t.Fatalf("devsink: %+v", dev.Items)
		}
		// A temporary error (503) is retried; a manual retry resends a failed one.
		fake.Reset()
		fake.FailNext(1, 503, 0)
		b := e.book(f, "2026-03-09T11:00:00+01:00")
		waitFor(t, "retry after 503", 20*time.Second, func() bool {
			// The fake clock moves on, past the back-off.
			e.clock.Set(e.clock.Now().Add(time.Second))
			ms := e.messages("appointment_id=" + b.ID)
			return len(ms) == 1 && ms[0].Status == core.MsgSent && ms[0].Attempts == 2
		})
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/messages/"+ms[1].ID+"/retry", nil, &p); code != 409 {
			t.Fatalf("retry of a delivered message: %d", code)
		}
		e.must(200, "POST", "/api/v1/messages/"+ms[0].ID+"/retry", nil, nil)
		waitFor(t, "manual retry", 15*time.Second, func() bool {
			m := e.messages("appointment_id=" + a.ID)[0]
			return m.Status == core.MsgSent
		})
	})
}

// TestRedisFlushLosesNothing: messages written while no worker runs, then
// Redis is flushed; a worker that starts later sends each exactly once.
func TestRedisFlushLosesNothing(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, fake := twilioEnv(t, freshURL(t, e0))
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "08:00", End: "18:00"}), core.ServiceInput{Name: "Visit", DurationMin: 30})
		const n = 10
		for i := 0; i < n; i++ {
			e.book(f, time.Date(2026, 3, 9, 8+i/2, 30*(i%2), 0, 0, paris(t)).Format(time.RFC3339))
		}
		// Relay the events into the outbox as a worker would, then lose
		// the queue.
		if _, err := e.app.Notify.RelayEvents(context.Background()); err != nil {
			t.Fatal(err)
		}
		if got := len(e.messages("status=queued")); got != n {
			t.Fatalf("%d queued messages, want %d", got, n)
		}
		if err := e.app.Broker.Redis.FlushDB(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		// Time passes beyond the sweeper's grace; a worker starts.
		e.clock.Set(testNow.Add(time.Minute))
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "all messages sent", 30*time.Second, func() bool { return len(e.messages("status=sent")) == n })
		// The sweeper keeps running; nothing is sent twice.
		time.Sleep(2500 * time.Millisecond)
		seen := map[string]int{}
		for _, m := range fake.Messages() {
			seen[m.Body]++
		}
		if len(fake.Messages()) != n || len(seen) != n {
			t.Fatalf("fake got %d messages (%d distinct), want %d", len(fake.Messages()), len(seen), n)
		}
	})
}

// TestSMSPacing: at 2 messages a second per sender, shared through Redis,
// the fake sees the messages about 500 ms apart (at least 350 ms).
func TestSMSPacing(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, fake := twilioEnv(t, freshURL(t, e0), "2/s")
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "08:00", End: "18:00"}), core.ServiceInput{Name: "Visit", DurationMin: 30})
		const n = 5
		for i := 0; i < n; i++ {
			e.book(f, time.Date(2026, 3, 9, 8+i/2, 30*(i%2), 0, 0, paris(t)).Format(time.RFC3339))
		}
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "all messages sent", 30*time.Second, func() bool { return len(fake.Messages()) == n })
		ms := fake.Messages()
		for i := 1; i < len(ms); i++ {
			// 500 ms apart when let through; the fake sees them after
			// each one's own trip through the worker and HTTP, which a
			// loaded machine can stretch by a good 100 ms.
			if gap := ms[i].At.Sub(ms[i-1].At); gap < 350*time.Millisecond {
				t.Errorf("messages %d and %d only %v apart", i-1, i, gap)
			}
		}
	})
}
