package tests

import (
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

// TestTextsThroughThePipeline: what clients receive is written for them:
// a French SMS in August stays GSM-7 ("aout", "Francois") while the email
// keeps "août"; an American client gets American dates; the preview
// speaks the preview's language.
func TestTextsThroughThePipeline(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, fake := twilioEnv(t, freshURL(t, e0))
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Coupe et brushing", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/clients/"+f.client, map[string]any{"name": "François Lefèvre", "phone": "+33612345678", "language": "fr"}, nil)
		var mailOnly, american idOnly
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "François Lefèvre", "email": "f@example.com", "language": "fr"}, &mailOnly)
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Ann Smith", "phone": "+12025550101", "language": "en"}, &american)
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		a := e.book(f, "2026-08-04T10:00:00+02:00")
		for _, c := range []string{mailOnly.ID, american.ID} {
			g := f
			g.client = c
			e.book(g, "2026-08-04T1"+map[string]string{mailOnly.ID: "1", american.ID: "4"}[c]+":00:00+02:00")
		}
		waitFor(t, "three confirmations", 15*time.Second, func() bool {
			n := 0
			for _, m := range e.messages("status=sent") {
				n += map[bool]int{true: 1}[m.Kind == core.KindAccepted]
			}
			for _, m := range e.messages("status=delivered") {
				n += map[bool]int{true: 1}[m.Kind == core.KindAccepted]
			}
			return n == 3
		})
		sms := e.messages("appointment_id=" + a.ID)[0]
		if sms.Encoding != "GSM-7" || !strings.Contains(sms.Body, "mardi 4 aout 2026") || !strings.Contains(sms.Body, "Bonjour Francois") {
			t.Errorf("French SMS (%s): %s", sms.Encoding, sms.Body)
		}
		var dev struct {
			Items []struct{ To, Text string } `json:"items"`
		}
		e.must(200, "GET", "/api/v1/devsink/messages", nil, &dev)
		if len(dev.Items) != 1 || !strings.Contains(dev.Items[0].Text, "mardi 4 août 2026") || !strings.Contains(dev.Items[0].Text, "François") {
			t.Errorf("French email: %+v", dev.Items)
		}
		us := false
		for _, m := range fake.Messages() {
			us = us || m.To == "+12025550101" && strings.Contains(m.Body, "Tuesday, August 4, 2026 at 2:00 PM")
		}
		if !us {
			t.Errorf("no American date for a +1 client: %+v", fake.Messages())
		}
		// The preview speaks its own language.
		for loc, want := range map[string]string{"de": "Guten Tag Lena Schmidt", "pl": "Konsultacja psychologiczna", "fr": "Coupe et brushing"} {
			var p struct{ Text string }
			e.must(200, "POST", "/api/v1/templates/preview", map[string]any{"kind": "reminder", "locale": loc}, &p)
			if !strings.Contains(p.Text, want) || strings.Contains(p.Text, "Anna Smith") {
				t.Errorf("preview in %s: %s", loc, p.Text)
			}
		}
	})
}
