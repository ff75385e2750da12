package tests

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

// kindMessage returns the appointment's message of kind, if any.
func (e *apiEnv) kindMessage(apptID, kind string) (core.Message, bool) {
	e.t.Helper()
	for _, m := range e.messages("appointment_id=" + apptID) {
		if m.Kind == kind {
			return m, true
		}
	}
	return core.Message{}, false
}

// TestStaffMessagesNameTheClient: staff notifications carry the client's
// name and phone; reasons the gateway writes are in the reader's language
// while typed ones stay as typed; a visit booked in the past by override
// gets no "your visit is confirmed".
func TestStaffMessagesNameTheClient(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Séance", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/staff/"+f.specialist, map[string]any{"name": "Dr Martin", "role": "specialist", "email": "martin@example.com"}, nil)

		// A client's request: the specialist learns who and how to call.
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-09T10:00:00+01:00", "requested_by": "client"}, &res)
		req := res.Appointments[0]
		e.must(200, "POST", "/api/v1/appointments/"+req.ID+"/status", map[string]any{"status": "accepted"}, nil)
		// The client cancels through their link: the gateway's reason.
		secret, err := e.app.Store.Secret(context.Background(), "link-signing")
		if err != nil {
			t.Fatal(err)
		}
		resp, err := http.PostForm(e.srv.URL+"/a/"+core.SignLink(secret, req.ID, core.LinkManage, req.End), url.Values{"action": {"cancel"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		// Another visit, cancelled by staff with a typed reason.
		typed := e.book(f, "2026-03-10T10:00:00+01:00")
		e.must(200, "POST", "/api/v1/appointments/"+typed.ID+"/status", map[string]any{"status": "cancelled", "by_client": true,
			"reason": "grippe, rappeler lundi"}, nil)
		e.relay()

		m, ok := e.kindMessage(req.ID, core.KindStaffRequest)
		if !ok || !strings.Contains(m.Body, "Anne Client") || !strings.Contains(m.Body, "+33612345678") || strings.Contains(m.Body, "de  :") {
			t.Errorf("staff request: %q", m.Body)
		}
		m, ok = e.kindMessage(req.ID, core.KindStaffCancel)
		if !ok || !strings.Contains(m.Body, "Rendez-vous annulé : Anne Client") || !strings.Contains(m.Body, "+33612345678") ||
			!strings.Contains(m.Body, "Motif : annulé par le client") {
			t.Errorf("staff cancellation: %q", m.Body)
		}
		if m, _ := e.kindMessage(req.ID, core.KindCancelled); !strings.Contains(m.Body, "Motif : annulé par le client") || strings.Contains(m.Body, "cancelled by") {
			t.Errorf("client cancellation: %q", m.Body)
		}
		if m, _ := e.kindMessage(typed.ID, core.KindStaffCancel); !strings.Contains(m.Body, "Motif : grippe, rappeler lundi") {
			t.Errorf("typed reason: %q", m.Body)
		}

		// Booked in the past by override: no confirmation; ahead: one.
		e.clock.Set(time.Date(2026, 3, 11, 15, 0, 0, 0, time.UTC))
		var past, ahead core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-11T10:00:00+01:00", "override": true}, &past)
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-12T10:00:00+01:00"}, &ahead)
		e.relay()
		if ms := e.messages("appointment_id=" + past.Appointments[0].ID); len(ms) != 0 {
			t.Errorf("a visit booked in the past got %d messages: %+v", len(ms), ms)
		}
		if _, ok := e.kindMessage(ahead.Appointments[0].ID, core.KindAccepted); !ok {
			t.Errorf("a visit ahead got no confirmation")
		}
	})
}

// TestStartRestoresConsent: STOP suspends a channel (for the sender it was
// sent to) and a message skipped for it says the client opted out; START
// restores the channel with the consent the client had given, which STOP
// never touched.
func TestStartRestoresConsent(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, _ := twilioEnv(t, freshURL(t, e0))
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Séance", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/clients/"+f.client+"/channels", map[string]any{"channels": []map[string]any{
			{"channel": "whatsapp", "consent": true}, {"channel": "sms"}}}, nil)
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		phone := "+33612345678"
		channels := func() map[core.Channel]core.ChannelPref {
			var ch core.ChannelSettings
			e.must(200, "GET", "/api/v1/clients/"+f.client+"/channels", nil, &ch)
			out := map[core.Channel]core.ChannelPref{}
			for _, p := range ch.Channels {
				out[p.Channel] = p
			}
			return out
		}
		e.inboundSMS("SMstopwa", "whatsapp:"+phone, "STOP", true)
		e.inboundSMS("SMstopsms", phone, "STOP", true)
		handled := func(intent core.ReplyIntent) int {
			var l struct {
				Items []core.Inbound `json:"items"`
			}
			e.must(200, "GET", "/api/v1/inbound", nil, &l)
			n := 0
			for _, in := range l.Items {
				if in.Intent == intent && in.HandledAt != nil {
					n++
				}
			}
			return n
		}
		waitFor(t, "both opt-outs", 15*time.Second, func() bool { return handled(core.ReplyStop) == 2 })
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		waitFor(t, "the skipped confirmation", 15*time.Second, func() bool {
			m, ok := e.kindMessage(a.ID, core.KindAccepted)
			return ok && m.Status == core.MsgSkipped
		})
		if m, _ := e.kindMessage(a.ID, core.KindAccepted); !strings.Contains(m.LastError, "opted out") || !strings.Contains(m.LastError, "STOP") {
			t.Errorf("skipped message says %q", m.LastError)
		}
		e.inboundSMS("SMstartwa", "whatsapp:"+phone, "START", true)
		waitFor(t, "the opt-in", 15*time.Second, func() bool { return handled(core.ReplyStart) == 1 })
		if !channels()[core.ChannelWhatsApp].Consent {
			t.Errorf("START left WhatsApp without the consent STOP suspended: %+v", channels())
		}
		b := e.book(f, "2026-03-10T10:00:00+01:00")
		waitFor(t, "the confirmation on WhatsApp", 15*time.Second, func() bool {
			m, ok := e.kindMessage(b.ID, core.KindAccepted)
			return ok && m.Channel == core.ChannelWhatsApp && m.Status == core.MsgSent
		})
	})
}
