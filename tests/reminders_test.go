package tests

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
)

func (e *apiEnv) reminders(apptID string) []core.Reminder {
	e.t.Helper()
	rs, err := e.app.Store.ListReminders(context.Background(), e.org, apptID)
	if err != nil {
		e.t.Fatal(err)
	}
	return rs
}

func scheduled(rs []core.Reminder) []core.Reminder {
	var out []core.Reminder
	for _, r := range rs {
		if r.Status != "void" {
			out = append(out, r)
		}
	}
	return out
}

func TestReminderScheduling(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Visit", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/reminder-policy", core.ReminderPolicy{OffsetsMin: []int{2880, 120}, AskConfirm: true,
			WindowStart: "09:00", WindowEnd: "20:00"}, nil)
		var p problem
		if code := e.do(e.key, "PUT", "/api/v1/reminder-policy", core.ReminderPolicy{OffsetsMin: []int{1}, WindowStart: "20:00", WindowEnd: "09:00"}, &p); code != 400 {
			t.Fatalf("bad policy: %d", code)
		}
		// Monday 9 March 10:00 Paris: 2 days before is Saturday 10:00; 2
		// hours before is 08:00, outside the window: moved to Sunday 19:59.
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		rs := scheduled(e.reminders(a.ID))
		if len(rs) != 2 {
			t.Fatalf("reminders: %+v", rs)
		}
		want := []time.Time{time.Date(2026, 3, 7, 9, 0, 0, 0, time.UTC), time.Date(2026, 3, 8, 18, 59, 0, 0, time.UTC)}
		for i, r := range rs {
			if !r.Due.Equal(want[i]) || !r.AskConfirm {
				t.Errorf("reminder %d due %s, want %s", i, r.Due, want[i])
			}
		}
		// Moving the visit moves its reminders; cancelling voids them.
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/move", map[string]any{"start": "2026-03-10T11:00:00+01:00"}, nil)
		rs = scheduled(e.reminders(a.ID))
		if len(rs) != 2 || !rs[0].Due.Equal(time.Date(2026, 3, 8, 10, 0, 0, 0, time.UTC)) || !rs[1].Due.Equal(time.Date(2026, 3, 10, 8, 0, 0, 0, time.UTC)) {
			t.Fatalf("after move: %+v", rs)
		}
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/status", map[string]any{"status": "cancelled"}, nil)
		if rs := scheduled(e.reminders(a.ID)); len(rs) != 0 {
			t.Fatalf("after cancel: %+v", rs)
		}
		// DST: a 24-hour reminder before Sunday 29 March 10:00 (CEST) fires
		// 24 real hours before: 08:00Z on the 28th (09:00 CET).
		e.must(200, "PUT", "/api/v1/reminder-policy", core.ReminderPolicy{OffsetsMin: []int{1440}, WindowStart: "08:00", WindowEnd: "21:00"}, nil)
		b := e.book(f, "2026-03-29T10:00:00+02:00")
		rs = scheduled(e.reminders(b.ID))
		if len(rs) != 1 || !rs[0].Due.Equal(b.Start.Add(-24*time.Hour)) || !rs[0].Due.Equal(time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC)) {
			t.Fatalf("DST reminder: %+v (visit %s)", rs, b.Start)
		}
		// A client request gets reminders only once accepted.
		var res core.BookingResult
		e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": "2026-03-11T10:00:00+01:00", "requested_by": "client"}, &res)
		if rs := scheduled(e.reminders(res.Appointments[0].ID)); len(rs) != 0 {
			t.Fatalf("pending request has reminders: %+v", rs)
		}
		e.must(200, "POST", "/api/v1/appointments/"+res.Appointments[0].ID+"/status", map[string]any{"status": "accepted"}, nil)
		if rs := scheduled(e.reminders(res.Appointments[0].ID)); len(rs) != 1 {
			t.Fatalf("accepted request: %+v", rs)
		}
	})
}

// inboundSMS posts a signed Twilio inbound message.
func (e *apiEnv) inboundSMS(sid, from, body string, sign bool) (int, string) {
	e.t.Helper()
	u := e.app.Config.PublicURL + "/webhooks/twilio/sms"
	form := url.Values{"MessageSid": {sid}, "From": {from}, "To": {twFrom}, "Body": {body}, "AccountSid": {twSID}}
	token := twToken
	if !sign {
		token = "not-the-token"
	}
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(token, u, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// remindNow books a visit, sends its confirmation-asking reminder
// through the worker and returns the appointment.
func (e *apiEnv) remindNow(t *testing.T, f fixture, start string, fake *twiliotest.Server) core.Appointment {
	return e.remind(t, e.book(f, start), fake)
}

// remind sends a booked visit's confirmation-asking reminder through the
// worker, with the clock at its due time, and sets the clock back.
func (e *apiEnv) remind(t *testing.T, a core.Appointment, fake *twiliotest.Server) core.Appointment {
	before := len(fake.Messages())
	// Time reaches the reminder.
	e.clock.Set(scheduled(e.reminders(a.ID))[0].Due)
	if _, err := e.app.Notify.QueueDueReminders(context.Background(), time.Minute); err != nil {
		t.Fatal(err)
	}
	waitFor(t, "the reminder", 15*time.Second, func() bool {
		for _, m := range fake.Messages()[before:] {
			if strings.Contains(m.Body, "2") {
				return true
			}
		}
		return false
	})
	waitFor(t, "the reminder recorded as sent", 15*time.Second, func() bool {
		for _, m := range e.messages("appointment_id=" + a.ID) {
			if m.Kind == core.KindReminderAsk && m.Status == core.MsgSent {
				return true
			}
		}
		return false
	})
	e.clock.Set(testNow)
	return a
}

func TestSMSReplies(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, fake := twilioEnv(t, freshURL(t, e0))
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Séance", DurationMin: 60})
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		phone := "+33612345678"
		// A bad signature: 403, nothing recorded.
		if code, _ := e.inboundSMS("SMbad", phone, "OUI", false); code != 403 {
			t.Fatalf("bad signature: %d", code)
		}
		a := e.remindNow(t, f, "2026-03-09T10:00:00+01:00", fake)
		// Twilio retries the same message: one inbound, one confirmation.
		for i := 0; i < 2; i++ {
			code, body := e.inboundSMS("SMconfirm1", phone, " oui ! ", true)
			if code != 200 || !strings.Contains(body, "<Response>") {
				t.Fatalf("inbound: %d %q", code, body)
			}
		}
		waitFor(t, "confirmation", 15*time.Second, func() bool {
			var got core.Appointment
			e.must(200, "GET", "/api/v1/appointments/"+a.ID, nil, &got)
			return got.ConfirmedAt != nil
		})
		waitFor(t, "the auto-reply", 15*time.Second, func() bool {
			for _, m := range e.messages("appointment_id=" + a.ID) {
				if m.Kind == core.KindReplyConfirm && m.Status == core.MsgSent {
					return true
				}
			}
			return false
		})
		var in struct {
			Items []core.Inbound `json:"items"`
		}
		e.must(200, "GET", "/api/v1/inbound", nil, &in)
		if len(in.Items) != 1 || in.Items[0].Intent != core.ReplyConfirm {
			t.Fatalf("inbound after a repeated MessageSid: %+v", in.Items)
		}
		// Cancelling replies in five languages, each from a client of that
		// language to its own reminder.
		setLanguage := func(lang string) {
			e.must(200, "PUT", "/api/v1/clients/"+f.client, map[string]any{"name": "Anne Client", "phone": phone, "language": lang}, nil)
		}
		for i, w := range []struct{ word, lang string }{{"NO", "en"}, {"non", "fr"}, {"Nein", "de"}, {"Нет.", "ru"}, {"nie", "pl"}} {
			setLanguage(w.lang)
			b := e.remindNow(t, f, time.Date(2026, 3, 10+i, 11, 0, 0, 0, paris(t)).Format(time.RFC3339), fake)
			e.inboundSMS("SMcancel"+w.word, phone, w.word, true)
			waitFor(t, "cancel by "+w.word, 15*time.Second, func() bool {
				var got core.Appointment
				e.must(200, "GET", "/api/v1/appointments/"+b.ID, nil, &got)
				return got.Status == core.Cancelled
			})
		}
		// A Polish "no" is "yeah": it cancels nothing and is kept for staff.
		d := e.remindNow(t, f, "2026-03-15T11:00:00+01:00", fake)
		e.text(t, "SMplno", phone, twFrom, "", "No")
		var dv core.Appointment
		e.must(200, "GET", "/api/v1/appointments/"+d.ID, nil, &dv)
		if dv.Status != core.Accepted {
			t.Fatalf("a Polish \"no\" changed the visit: %s", dv.Status)
		}
		// STOP while that reminder awaits an answer: unsubscribed, told so
		// in Polish with the way to cancel instead (the one message the
		// STOP gets, from the number written to).
		e.text(t, "SMstopwait", phone, twFrom, "", "STOP")
		waitFor(t, "the stop notice", 15*time.Second, func() bool {
			for _, m := range e.messages("appointment_id=" + d.ID) {
				if m.Kind == core.KindStopNotice && m.Status == core.MsgSent && m.Locale == "pl" &&
					strings.Contains(m.Body, "/a/") && strings.Contains(m.Body, "Wiadomości SMS nie będą już wysyłane") {
					return true
				}
			}
			return false
		})
		e.text(t, "SMstartagain", phone, twFrom, "", "START")
		setLanguage("fr")
		// STOP: the phone is opted out of the sender; the next message
		// to them from it is skipped, and says why.
		e.text(t, "SMstop", phone, twFrom, "", "Stop")
		c := e.book(f, "2026-03-16T10:00:00+01:00")
		waitFor(t, "a skipped message", 15*time.Second, func() bool {
			ms := e.messages("appointment_id=" + c.ID)
			return len(ms) == 1 && ms[0].Status == core.MsgSkipped && strings.Contains(ms[0].LastError, "opted out on sender "+twFrom)
		})
		// Anything else is kept for staff.
		e.inboundSMS("SMchat", phone, "Can I bring my daughter?", true)
		waitFor(t, "the chat message", 15*time.Second, func() bool {
			e.must(200, "GET", "/api/v1/inbound", nil, &in)
			for _, x := range in.Items {
				if x.Body == "Can I bring my daughter?" && x.HandledAt != nil && x.Intent == core.ReplyOther && x.ClientID == f.client {
					return true
				}
			}
			return false
		})
	})
}

func TestSignedLinks(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Coaching", DurationMin: 60})
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		b := e.book(f, "2026-03-10T10:00:00+01:00")
		secret, err := e.app.Store.Secret(context.Background(), "link-signing")
		if err != nil {
			t.Fatal(err)
		}
		get := func(token string) (int, string) {
			resp, err := http.Get(e.srv.URL + "/a/" + token)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			body, _ := io.ReadAll(resp.Body)
			return resp.StatusCode, string(body)
		}
		tok := core.SignLink(secret, a.ID, core.LinkManage, a.End)
		if code, body := get(tok); code != 200 || !strings.Contains(body, "Coaching") || !strings.Contains(body, "24 heures") { // the client reads French
			t.Fatalf("page: %d %s", code, body)
		}
		// A token cannot be turned into another appointment's, nor signed elsewhere.
		forged := core.SignLink([]byte("another secret"), b.ID, core.LinkManage, b.End)
		if code, _ := get(forged); code != 404 {
			t.Fatalf("forged link: %d", code)
		}
		tampered := tok[:len(tok)-3] + "AAA"
		if code, _ := get(tampered); code != 404 {
			t.Fatalf("tampered link: %d", code)
		}
		// Cancel from the page, without JavaScript: a form POST.
		resp, err := http.PostForm(e.srv.URL+"/a/"+tok, url.Values{"action": {"cancel"}})
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		var got core.Appointment
		e.must(200, "GET", "/api/v1/appointments/"+a.ID, nil, &got)
		if resp.StatusCode != 200 || got.Status != core.Cancelled || got.CancelReason == "" {
			t.Fatalf("cancel by link: %d %+v", resp.StatusCode, got)
		}
		// Messages carry a short stored token (under 40 characters, one
		// per visit, kept when the visit moves); a guessed one is 404.
		e.app.Notify.RelayEvents(context.Background())
		var short string
		for _, m := range e.messages("appointment_id=" + b.ID) {
			if i := strings.Index(m.Body, "/a/"); i >= 0 {
				short = strings.Fields(m.Body[i+3:])[0]
			}
		}
		if len(short) >= 40 || len(short) < 16 {
			t.Fatalf("short token %q", short)
		}
		if code, body := get(short); code != 200 || !strings.Contains(body, "Coaching") {
			t.Fatalf("short link: %d %s", code, body)
		}
		if code, _ := get(short[:15] + map[bool]string{true: "B", false: "A"}[short[15] == 'A']); code != 404 {
			t.Fatalf("altered short link: %d", code)
		}
		e.must(200, "POST", "/api/v1/appointments/"+b.ID+"/move", map[string]any{"start": "2026-03-11T10:00:00+01:00"}, nil)
		e.app.Notify.RelayEvents(context.Background())
		for _, m := range e.messages("appointment_id=" + b.ID) {
			if strings.Contains(m.Body, "/a/") && !strings.Contains(m.Body, "/a/"+short) {
				t.Fatalf("the moved visit got another link: %s", m.Body)
			}
		}
		// After the visit the links have expired.
		e.clock.Set(a.End.Add(time.Minute))
		if code, body := get(tok); code != 404 || !strings.Contains(body, "expired") {
			t.Fatalf("expired link: %d %s", code, body)
		}
		e.clock.Set(time.Date(2026, 3, 11, 12, 0, 0, 0, time.UTC))
		if code, body := get(short); code != 404 || !strings.Contains(body, "expired") {
			t.Fatalf("expired short link: %d %s", code, body)
		}
	})
}

func TestManualReminder(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Tutoring", DurationMin: 60})
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		b := e.book(f, "2026-03-10T10:00:00+01:00")
		var res struct {
			Messages []core.Message `json:"messages"`
		}
		e.must(200, "POST", "/api/v1/appointments/remind", map[string]any{"ids": []string{a.ID, b.ID}}, &res)
		// The default policy asks for confirmation; so does the reminder by hand.
		if len(res.Messages) != 2 || res.Messages[0].Kind != core.KindReminderAsk || !strings.Contains(res.Messages[0].Body, "Tutoring") {
			t.Fatalf("manual reminders: %+v", res.Messages)
		}
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/appointments/remind", map[string]any{"ids": []string{"nope"}}, &p); code != 400 {
			t.Fatalf("bad id: %d", code)
		}
		other, _ := e.bootstrap("Other", "UTC")
		if code := e.do(other, "POST", "/api/v1/appointments/remind", map[string]any{"ids": []string{a.ID}}, &p); code != 404 {
			t.Fatalf("other organization: %d", code)
		}
		e.must(200, "POST", "/api/v1/appointments/"+b.ID+"/status", map[string]any{"status": "cancelled"}, nil)
		if code := e.do(e.key, "POST", "/api/v1/appointments/remind", map[string]any{"ids": []string{a.ID, b.ID}}, &p); code != 409 {
			t.Fatalf("cancelled visit: %d", code)
		}
		reminders := 0
		for _, m := range e.messages("appointment_id=" + a.ID) {
			if m.Kind == core.KindReminderAsk {
				reminders++
			}
		}
		if reminders != 1 {
			t.Fatalf("a refused request wrote reminders: %d", reminders)
		}
	})
}

// TestReminderSurvivesRestart: a reminder queued, then the queue lost
// (Redis flushed, no worker running), is still sent once, and a voided one
// never.
func TestReminderSurvivesRestart(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, fake := twilioEnv(t, freshURL(t, e0))
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Physio", DurationMin: 60})
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		b := e.book(f, "2026-03-09T14:00:00+01:00")
		due := scheduled(e.reminders(a.ID))[0].Due
		e.clock.Set(due)
		for i := 0; i < 2; i++ { // two scheduler ticks, one message each
			if _, err := e.app.Notify.QueueDueReminders(context.Background(), 6*time.Hour); err != nil {
				t.Fatal(err)
			}
		}
		// b is cancelled after its reminder was queued: its message is voided.
		e.must(200, "POST", "/api/v1/appointments/"+b.ID+"/status", map[string]any{"status": "cancelled"}, nil)
		if err := e.app.Broker.Redis.FlushDB(context.Background()).Err(); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(due.Add(5 * time.Hour))
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the reminder of a", 30*time.Second, func() bool {
			for _, m := range e.messages("appointment_id=" + a.ID) {
				if m.Kind == core.KindReminderAsk && m.Status == core.MsgSent {
					return true
				}
			}
			return false
		})
		time.Sleep(2500 * time.Millisecond) // sweeps keep running: nothing more
		reminders := map[string]int{}
		for _, m := range fake.Messages() {
			if strings.Contains(m.Body, "Physio") && (strings.Contains(m.Body, "1") && strings.Contains(m.Body, "2")) {
				reminders[m.Body]++
			}
		}
		var bmsgs []core.Message
		for _, m := range e.messages("appointment_id=" + b.ID) {
			if m.Kind == core.KindReminderAsk {
				bmsgs = append(bmsgs, m)
			}
		}
		if len(bmsgs) != 1 || bmsgs[0].Status != core.MsgSkipped {
			t.Fatalf("voided reminder of b: %+v", bmsgs)
		}
		sent := 0
		for _, m := range e.messages("") {
			if m.Kind == core.KindReminderAsk && m.Status == core.MsgSent {
				sent++
			}
		}
		if sent != 1 {
			t.Fatalf("%d reminders sent, want 1 (fake saw %v)", sent, reminders)
		}
	})
}
