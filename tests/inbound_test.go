package tests

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
)

const adminToken = "operator-secret-token"

// as is the same service seen with another organization's key.
func (e *apiEnv) as(key, org string) *apiEnv {
	c := *e
	c.key, c.org = key, org
	return &c
}

// tenant is one organization of the inbound tests: a client with the
// shared phone, a centre, and the address its clients write to.
type tenant struct {
	*apiEnv
	name    string
	f       fixture
	center  string
	to      string // the number the client texts
	service string // the messaging service that number belongs to, if any
}

func (tn *tenant) bookAt(start string) core.Appointment {
	tn.t.Helper()
	var res core.BookingResult
	tn.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": tn.f.specialist, "service_id": tn.f.service,
		"client_id": tn.f.client, "center_id": tn.center, "start": start}, &res)
	return res.Appointments[0]
}

func (tn *tenant) appointment(id string) core.Appointment {
	tn.t.Helper()
	var a core.Appointment
	tn.must(200, "GET", "/api/v1/appointments/"+id, nil, &a)
	return a
}

func (tn *tenant) inbound() []core.Inbound {
	tn.t.Helper()
	var l struct {
		Items []core.Inbound `json:"items"`
	}
	tn.must(200, "GET", "/api/v1/inbound?limit=200", nil, &l)
	return l.Items
}

// text posts a signed Twilio inbound message from phone to the tenant's
// address, as Twilio does (MessagingServiceSid when the number is in a
// service), and waits until the gateway has handled it.
func (e *apiEnv) text(t *testing.T, sid, from, to, service, body string) {
	t.Helper()
	u := e.app.Config.PublicURL + "/webhooks/twilio/sms"
	form := url.Values{"MessageSid": {sid}, "From": {from}, "To": {to}, "Body": {body}, "AccountSid": {twSID}}
	if service != "" {
		form.Set("MessagingServiceSid", service)
	}
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(twToken, u, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("inbound %s: %d", sid, resp.StatusCode)
	}
	// The webhook stored it before answering; wait until it is handled.
	waitFor(t, "inbound "+sid+" handled", 15*time.Second, func() bool {
		l, err := e.app.Store.UnhandledInbound(context.Background(), time.Now().AddDate(10, 0, 0), 200)
		if err != nil {
			t.Fatal(err)
		}
		for _, in := range l {
			if in.ProviderID == sid {
				return false
			}
		}
		return true
	})
}

// twilioEnvWith is twilioEnv with more environment variables.
func twilioEnvWith(t *testing.T, dbURL string, env map[string]string) (*apiEnv, *twiliotest.Server) {
	fake := twiliotest.New(t, twSID, twToken)
	vars := map[string]string{"TWILIO_ACCOUNT_SID": twSID, "TWILIO_AUTH_TOKEN": twToken,
		"TWILIO_FROM": twFrom, "TWILIO_BASE_URL": fake.URL, "GATEWAY_RATE_SMS": "off"}
	for k, v := range env {
		vars[k] = v
	}
	return newAPIEnv(t, dbURL, vars), fake
}

func orStr(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

func (tn *tenant) text(t *testing.T, sid, body string) {
	t.Helper()
	tn.apiEnv.text(t, sid, sharedPhone, tn.to, tn.service, body)
}

const sharedPhone = "+33612345678"

// unmatched lists the operator's unmatched inbound messages.
func (e *apiEnv) unmatched(t *testing.T) []core.Inbound {
	t.Helper()
	req, _ := http.NewRequest("GET", e.srv.URL+"/admin/inbound/unmatched", nil)
	req.SetBasicAuth("admin", adminToken)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var l struct {
		Items []core.Inbound `json:"items"`
	}
	raw, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != 200 {
		t.Fatalf("unmatched: %d %s", resp.StatusCode, raw)
	}
	if err := json.Unmarshal(raw, &l); err != nil {
		t.Fatal(err)
	}
	return l.Items
}

// TestInboundBelongsToTheAddress: two organizations share a client's
// phone. Whether they send from their own numbers, their own messaging
// services, or the one default sender, each reply, HELP, STOP/START and
// free text reaches only the organization the client wrote to.
func TestInboundBelongsToTheAddress(t *testing.T) {
	const (
		numA, numB   = "+33184800001", "+33184800002"
		mgA, mgB     = "MG0000000000000000000000000000000a", "MG0000000000000000000000000000000b"
		poolA, poolB = "+33184800011", "+33184800012"
	)
	for _, setup := range []struct {
		name string
		// configure sets the tenants' senders and the address each one's
		// clients write to.
		configure func(t *testing.T, a, b *tenant)
		shared    bool
	}{
		{name: "separate numbers", configure: func(t *testing.T, a, b *tenant) {
			a.center = a.newCenter(t, numA)
			b.center = b.newCenter(t, numB)
			a.to, b.to = numA, numB
		}},
		{name: "separate messaging services", configure: func(t *testing.T, a, b *tenant) {
			a.center = a.newCenter(t, mgA)
			// B sets its service for the whole organization.
			b.must(200, "PATCH", "/api/v1/organization", map[string]any{"sms_from": mgB}, nil)
			b.center = b.newCenter(t, "")
			a.to, a.service, b.to, b.service = poolA, mgA, poolB, mgB
		}},
		{name: "one shared sender", shared: true, configure: func(t *testing.T, a, b *tenant) {
			a.center, b.center = a.newCenter(t, ""), b.newCenter(t, "")
			a.to, b.to = twFrom, twFrom
		}},
	} {
		t.Run(setup.name, func(t *testing.T) {
			eachBackend(t, func(t *testing.T, e0 *apiEnv) {
				e, fake := twilioEnvWith(t, freshURL(t, e0), map[string]string{"GATEWAY_ADMIN_TOKEN": adminToken})
				keyB, orgB := e.bootstrap("Cabinet Beta", "Europe/Paris")
				a := &tenant{apiEnv: e, name: "Centre Paris"}
				b := &tenant{apiEnv: e.as(keyB, orgB), name: "Cabinet Beta"}
				for _, tn := range []*tenant{a, b} {
					tn.f = tn.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Visit " + tn.name, DurationMin: 60})
				}
				setup.configure(t, a, b)
				if err := e.app.StartWorker(); err != nil {
					t.Fatal(err)
				}
				inboundFlow(t, e, fake, a, b, setup.shared)
			})
		})
	}
}

func (tn *tenant) newCenter(t *testing.T, smsFrom string) string {
	t.Helper()
	var c idOnly
	tn.must(201, "POST", "/api/v1/centers", map[string]any{"name": tn.name + " centre", "phone": "+33472000000", "sms_from": smsFrom}, &c)
	return c.ID
}

func inboundFlow(t *testing.T, e *apiEnv, fake *twiliotest.Server, a, b *tenant, shared bool) {
	if shared {
		// Before either organization wrote to the phone, a message to the
		// shared sender belongs to neither: it waits for the operator.
		a.text(t, "SMhello", "Hello, is this the dentist?")
		if len(a.inbound()) != 0 || len(b.inbound()) != 0 {
			t.Fatalf("an unmatched message reached staff: %+v / %+v", a.inbound(), b.inbound())
		}
		if resp, err := http.Get(e.srv.URL + "/admin/inbound/unmatched"); err != nil || resp.StatusCode != 401 {
			t.Fatalf("unmatched list without the admin token: %v %v", resp, err)
		} else {
			resp.Body.Close()
		}
		um := e.unmatched(t)
		if len(um) != 1 || um[0].Body != "Hello, is this the dentist?" || um[0].ClientID != "" {
			t.Fatalf("unmatched: %+v", um)
		}
		if !strings.Contains(e.metrics(), `gateway_inbound_total{channel="sms",outcome="unmatched"} 1`) {
			t.Errorf("metrics do not count the unmatched message")
		}
	} else {
		// An address of its own belongs to its organization before any
		// conversation.
		a.text(t, "SMhello", "Hello, is this the dentist?")
		if in := a.inbound(); len(in) != 1 || in[0].ClientID != a.f.client || in[0].CenterID != a.center || len(b.inbound()) != 0 {
			t.Fatalf("first message to A's address: %+v / %+v", in, b.inbound())
		}
	}
	// Both organizations remind the client; B's reminder is the later one.
	va := a.remind(t, a.bookAt("2026-03-09T10:00:00+01:00"), fake)
	vb := b.remind(t, b.bookAt("2026-03-10T10:00:00+01:00"), fake)
	for _, m := range append(a.messages("appointment_id="+va.ID), b.messages("appointment_id="+vb.ID)...) {
		if m.Channel == core.ChannelSMS && m.From == "" {
			t.Errorf("message %s records no sender", m.ID)
		}
	}
	// The client confirms. On their own addresses, the one written to
	// decides (A, though B wrote last); on the shared sender the latest
	// conversation does (B).
	yes, no := a, b
	if shared {
		yes, no = b, a
	}
	yes.text(t, "SMyes", "YES")
	waitFor(t, "the confirmation", 15*time.Second, func() bool {
		return yes.appointment(map[*tenant]string{a: va.ID, b: vb.ID}[yes]).ConfirmedAt != nil
	})
	// The auto-reply is part of the conversation: let it go before the
	// other organization writes again (the fake clock jumps meanwhile).
	waitFor(t, "the confirmation's auto-reply", 15*time.Second, func() bool {
		for _, m := range yes.messages("") {
			if m.Kind == core.KindReplyConfirm && m.Status == core.MsgSent {
				return true
			}
		}
		return false
	})
	if got := no.appointment(map[*tenant]string{a: va.ID, b: vb.ID}[no]); got.ConfirmedAt != nil || got.Status != core.Accepted {
		t.Fatalf("the other organization's visit changed: %+v", got)
	}
	if in := yes.inbound(); in[len(in)-1].Intent != core.ReplyConfirm || in[len(in)-1].ClientID != yes.f.client || in[len(in)-1].CenterID != yes.center {
		t.Fatalf("inbound of the confirming organization: %+v", in)
	}
	for _, x := range no.inbound() {
		if x.Intent == core.ReplyConfirm {
			t.Fatalf("the confirmation reached the other organization: %+v", x)
		}
	}
	// A "no" to the other address (shared: after the other organization
	// writes again) cancels only that organization's visit.
	noVisit, yesVisit := map[*tenant]string{a: va.ID, b: vb.ID}[no], map[*tenant]string{a: va.ID, b: vb.ID}[yes]
	if shared {
		noVisit = no.remind(t, no.bookAt("2026-03-11T10:00:00+01:00"), fake).ID
	}
	no.text(t, "SMno", "2")
	waitFor(t, "the cancellation", 15*time.Second, func() bool { return no.appointment(noVisit).Status == core.Cancelled })
	if got := yes.appointment(yesVisit); got.Status != core.Accepted {
		t.Fatalf("a NO to the other address changed %+v", got)
	}
	if shared {
		if got := no.appointment(va.ID); got.Status != core.Accepted {
			t.Fatalf("a NO cancelled the older visit, not the one of the latest reminder: %+v", got)
		}
	}

	// HELP is answered with the organization's name, from the address
	// written to; the other organization sends nothing.
	no.text(t, "SMhelp", "help")
	var help twiliotest.Message
	waitFor(t, "the help reply", 15*time.Second, func() bool {
		for _, m := range no.messages("") {
			if m.Kind != core.KindHelp || m.Status != core.MsgSent {
				continue
			}
			for _, f := range fake.Messages() {
				if f.SID == m.ProviderID {
					help = f
					return true
				}
			}
		}
		return false
	})
	if !strings.Contains(help.Body, "Contact : "+no.name+" centre, 04 72 00 00 00") || strings.Contains(help.Body, yes.name) || help.To != sharedPhone {
		t.Errorf("help reply %+v names the wrong organization", help)
	}
	if from := orStr(help.MessagingServiceSID, help.From); from != orStr(no.service, no.to) {
		t.Errorf("help reply sent from %s, want %s", from, orStr(no.service, no.to))
	}
	for _, m := range yes.messages("") {
		if m.Kind == core.KindHelp {
			t.Errorf("the other organization answered help: %+v", m)
		}
	}

	// Free text lands only in that organization's inbound.
	no.text(t, "SMchat", "Can I bring my daughter?")
	if in := no.inbound(); in[len(in)-1].Body != "Can I bring my daughter?" || in[len(in)-1].Intent != core.ReplyOther || in[len(in)-1].ClientID != no.f.client {
		t.Fatalf("chat: %+v", in)
	}
	for _, x := range yes.inbound() {
		if x.Body == "Can I bring my daughter?" {
			t.Fatalf("the chat reached the other organization")
		}
	}

	// STOP to one address skips that address's messages: both
	// organizations' on a shared sender, only its own otherwise, and the
	// skip says why. The inbound row is one organization's.
	no.text(t, "SMstop", "STOP")
	if in := no.inbound(); in[len(in)-1].Intent != core.ReplyStop {
		t.Fatalf("stop: %+v", in[len(in)-1])
	}
	for _, x := range yes.inbound() {
		if x.Intent == core.ReplyStop {
			t.Fatalf("the STOP row reached the other organization")
		}
	}
	after := func(tn *tenant, start string) core.Message {
		ap := tn.bookAt(start)
		var got core.Message
		waitFor(t, "the booking message of "+tn.name, 15*time.Second, func() bool {
			ms := tn.messages("appointment_id=" + ap.ID)
			if len(ms) == 1 && ms[0].Status != core.MsgQueued && ms[0].Status != core.MsgSending {
				got = ms[0]
				return true
			}
			return false
		})
		return got
	}
	sender := orStr(no.service, no.to)
	m := after(no, "2026-03-12T10:00:00+01:00")
	if m.Status != core.MsgSkipped || !strings.Contains(m.LastError, "opted out on sender "+sender) {
		t.Fatalf("after STOP, %s's message: %s %q", no.name, m.Status, m.LastError)
	}
	m = after(yes, "2026-03-12T11:00:00+01:00")
	if shared {
		if m.Status != core.MsgSkipped || !strings.Contains(m.LastError, "opted out on sender "+twFrom) {
			t.Fatalf("after STOP to the shared sender, %s's message: %s %q", yes.name, m.Status, m.LastError)
		}
	} else if m.Status != core.MsgSent {
		t.Fatalf("a STOP to another address stopped %s: %s %q", yes.name, m.Status, m.LastError)
	}
	// START sends again.
	no.text(t, "SMstart", "START")
	for i, tn := range []*tenant{no, yes} {
		if m := after(tn, fmt.Sprintf("2026-03-13T1%d:00:00+01:00", i)); m.Status != core.MsgSent {
			t.Fatalf("after START, %s's message: %s %q", tn.name, m.Status, m.LastError)
		}
	}
	if um := e.unmatched(t); len(um) != map[bool]int{true: 1, false: 0}[shared] {
		t.Fatalf("unmatched after the flow: %+v", um)
	}
}
