package tests

import (
	"context"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

var linkPattern = regexp.MustCompile(`/a/([A-Za-z0-9_-]+)`)

// page GETs or POSTs a client page in a browser that asks for English.
func (e *apiEnv) page(method, token string, form url.Values) (int, string) {
	e.t.Helper()
	var body io.Reader
	if form != nil {
		body = strings.NewReader(form.Encode())
	}
	req, _ := http.NewRequest(method, e.srv.URL+"/a/"+token, body)
	req.Header.Set("Accept-Language", "en-GB,en;q=0.8")
	if form != nil {
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

// TestWaitlistOffer: when a visit is cancelled, each waiting client gets a
// message with a signed link that books the freed time, in their language;
// of two clients taking it at once exactly one gets it and the other is
// told it is gone; staff are told of the match as before.
func TestWaitlistOffer(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Massage", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/staff/"+f.specialist, map[string]any{"name": "Dr Martin", "role": "specialist", "email": "martin@example.com"}, nil)
		var w1, w2 idOnly
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Lena Schmidt", "phone": "+491701234567", "language": "de"}, &w1)
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Paul Petit", "phone": "+33611112222"}, &w2)
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		for _, w := range []string{w1.ID, w2.ID} {
			e.must(201, "POST", "/api/v1/waiting-list", map[string]any{"client_id": w, "specialist_id": f.specialist, "service_id": f.service,
				"from": "2026-03-09T09:00:00+01:00", "to": "2026-03-09T12:00:00+01:00"}, nil)
		}
		e.must(200, "POST", "/api/v1/appointments/"+a.ID+"/status", map[string]any{"status": "cancelled"}, nil)
		e.relay()

		offers := map[string]string{} // client id → token
		staffTold := 0
		for _, m := range e.messages("") {
			switch m.Kind {
			case core.KindWaitlistOffer:
				tok := linkPattern.FindStringSubmatch(m.Body)
				if tok == nil {
					t.Fatalf("offer without a link: %s", m.Body)
				}
				offers[m.RecipientID] = tok[1]
				if m.RecipientID == w1.ID && (m.Locale != "de" || !strings.Contains(m.Body, "Montag, 9. März 2026 um 10:00")) {
					t.Errorf("offer to the German client: %s %s", m.Locale, m.Body)
				}
			case core.KindWaitlistMatch:
				staffTold++
			}
		}
		if len(offers) != 2 || staffTold != 2 {
			t.Fatalf("offers %v, staff told %d times", offers, staffTold)
		}
		code, body := e.page("GET", offers[w1.ID], nil)
		if code != 200 || !strings.Contains(body, "Massage") || !strings.Contains(body, "Termin buchen") || !strings.Contains(body, `lang="de"`) {
			t.Fatalf("offer page: %d %s", code, body)
		}
		// Forged: the same event signed with another secret.
		if code, _ := e.page("GET", core.SignLink([]byte("not the secret"), "x", core.LinkWaitlistOffer, time.Now().Add(time.Hour)), nil); code != 404 {
			t.Fatalf("forged offer link: %d", code)
		}

		// Both take it at once: one wins.
		type answer struct {
			code int
			body string
		}
		answers := map[string]answer{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for client, tok := range offers {
			wg.Add(1)
			go func() {
				defer wg.Done()
				code, body := e.page("POST", tok, url.Values{"action": {"book"}})
				mu.Lock()
				answers[client] = answer{code, body}
				mu.Unlock()
			}()
		}
		wg.Wait()
		winner, loser := w1.ID, w2.ID
		if answers[w1.ID].code != 200 {
			winner, loser = w2.ID, w1.ID
		}
		if answers[winner].code != 200 || answers[loser].code != 409 {
			t.Fatalf("takers answered %d and %d", answers[winner].code, answers[loser].code)
		}
		gone := map[string]string{w1.ID: "nicht mehr frei", w2.ID: "plus disponible"}[loser]
		if !strings.Contains(answers[loser].body, gone) {
			t.Errorf("the later taker is not told it is gone: %s", answers[loser].body)
		}
		var booked appointmentPage
		e.must(200, "GET", "/api/v1/appointments?date=2026-03-09&status=accepted", nil, &booked)
		if len(booked.Items) != 1 || booked.Items[0].ClientID != winner || !booked.Items[0].Start.Equal(a.Start) {
			t.Fatalf("booked: %+v", booked.Items)
		}
		var entries struct {
			Items []core.WaitingEntry `json:"items"`
		}
		e.must(200, "GET", "/api/v1/waiting-list?status=booked", nil, &entries)
		if len(entries.Items) != 1 || entries.Items[0].ClientID != winner {
			t.Fatalf("booked entries: %+v", entries.Items)
		}
		// The winner taking again is told it is gone too.
		if code, _ := e.page("POST", offers[winner], url.Values{"action": {"book"}}); code != 409 {
			t.Fatalf("a second take: %d", code)
		}
		// The winner's visit is confirmed to them like any booking.
		e.relay()
		if _, ok := e.kindMessage(booked.Items[0].ID, core.KindAccepted); !ok {
			t.Errorf("no confirmation of the booked offer")
		}
	})
}

// TestClientPageLanguage: the page of a visit's link is in the client's
// language; a link that names nobody is in the browser's.
func TestClientPageLanguage(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Konsultacja", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/clients/"+f.client, map[string]any{"name": "Anna Kowalska", "phone": "+48601234567", "language": "pl",
			"timezone": "Europe/Warsaw"}, nil)
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		secret, err := e.app.Store.Secret(context.Background(), "link-signing")
		if err != nil {
			t.Fatal(err)
		}
		tok := core.SignLink(secret, a.ID, core.LinkManage, a.End)
		code, body := e.page("GET", tok, nil)
		for _, want := range []string{`lang="pl"`, "Twoja wizyta", "poniedziałek, 9 marca 2026 r. 10:00", "potwierdzona", "Odwołaj wizytę", "24 godz."} {
			if code != 200 || !strings.Contains(body, want) {
				t.Errorf("the Polish client's page lacks %q: %d %s", want, code, body)
			}
		}
		code, body = e.page("POST", tok, url.Values{"action": {"confirm"}})
		if code != 200 || !strings.Contains(body, "Dziękujemy, wizyta jest potwierdzona.") {
			t.Errorf("confirmed: %d %s", code, body)
		}
		if code, body := e.page("GET", tok[:len(tok)-2]+"xx", nil); code != 404 || !strings.Contains(body, "This link is not valid.") {
			t.Errorf("a bad link: %d %s", code, body)
		}
	})
}
