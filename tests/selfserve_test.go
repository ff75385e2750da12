package tests

import (
	"context"
	"html"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/api"
	"github.com/bookinggw/gateway/core"
)

// browser is a client with cookies, reading HTML pages.
type browser struct {
	t    *testing.T
	base string
	c    *http.Client
	ip   string
}

func newBrowser(t *testing.T, base string) *browser {
	jar, _ := cookiejar.New(nil)
	return &browser{t: t, base: base, c: &http.Client{Jar: jar}}
}

func (b *browser) get(path string, header ...string) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("GET", b.base+path, nil)
	for i := 0; i+1 < len(header); i += 2 {
		req.Header.Set(header[i], header[i+1])
	}
	return b.send(req)
}

func (b *browser) post(path string, form url.Values) (int, string) {
	b.t.Helper()
	req, _ := http.NewRequest("POST", b.base+path, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(req)
}

func (b *browser) send(req *http.Request) (int, string) {
	b.t.Helper()
	resp, err := b.c.Do(req)
	if err != nil {
		b.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(raw)
}

var (
	choiceRe = regexp.MustCompile(`<a class="choice"[^>]* href="([^"]+)"`)
	hiddenRe = regexp.MustCompile(`<input type="hidden" name="([^"]+)" value="([^"]*)">`)
	actionRe = regexp.MustCompile(`<form method="post" action="([^"]+)">`)
	codeRe   = regexp.MustCompile(`\b(\d{6})\b`)
)

// choices lists a page's choice links (unescaped).
func choices(page string) []string {
	var out []string
	for _, m := range choiceRe.FindAllStringSubmatch(page, -1) {
		out = append(out, html.UnescapeString(m[1]))
	}
	return out
}

// form reads a page's POST form: its action and hidden fields.
func form(t *testing.T, page string) (string, url.Values) {
	t.Helper()
	m := actionRe.FindStringSubmatch(page)
	if m == nil {
		t.Fatalf("no form in page:\n%s", page)
	}
	v := url.Values{}
	for _, h := range hiddenRe.FindAllStringSubmatch(page, -1) {
		v.Set(html.UnescapeString(h[1]), html.UnescapeString(h[2]))
	}
	return html.UnescapeString(m[1]), v
}

// selfServeFixture makes a specialist with hours every day, a service and
// an invitation to the specialist; it returns the invitation's code.
func (e *apiEnv) selfServeFixture(name string, in core.InvitationInput, autoAccept bool) (fixture, string) {
	e.t.Helper()
	if err := e.app.StartWorker(); err != nil {
		e.t.Fatal(err)
	}
	f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
		core.ServiceInput{Name: name, DurationMin: 60, AutoAccept: autoAccept})
	in.TargetStaffID = f.specialist
	var inv api.InvitationView
	e.must(201, "POST", "/api/v1/invitations", in, &inv)
	return f, inv.Code
}

// walkToDetails follows the first service, day and time, and returns the
// details form's page.
func walkToDetails(t *testing.T, b *browser, start string) string {
	t.Helper()
	path := start
	for i := 0; i < 3; i++ {
		st, page := b.get(path)
		if st != 200 {
			t.Fatalf("GET %s = %d:\n%s", path, st, page)
		}
		cs := choices(page)
		if len(cs) == 0 {
			t.Fatalf("no choice on %s:\n%s", path, page)
		}
		path = cs[0]
	}
	st, page := b.get(path)
	if st != 200 || !strings.Contains(page, `name="phone"`) {
		t.Fatalf("GET %s = %d, want the details form:\n%s", path, st, page)
	}
	return page
}

// codesSentTo lists the one-time code messages the devsink kept for a phone.
func (e *apiEnv) codesSentTo(phone string) []string { return e.codesSentToN(phone, 1) }

// codesSentToN waits (30 s at most) for n codes sent to a phone.
func (e *apiEnv) codesSentToN(phone string, n int) []string {
	e.t.Helper()
	var l api.ListResponse[api.DevMessage]
	deadline := time.Now().Add(30 * time.Second)
	for {
		e.must(200, "GET", "/api/v1/devsink/messages", nil, &l)
		var out []string
		for _, m := range l.Items {
			if m.To == phone {
				if c := codeRe.FindString(m.Text); c != "" {
					out = append(out, c)
				}
			}
		}
		if len(out) >= n || time.Now().After(deadline) {
			return out
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestWebBookingThroughInvitation(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f, code := e.selfServeFixture("Séance <b>individuelle</b>", core.InvitationInput{Name: "Instagram"}, false)
		b := newBrowser(t, e.srv.URL)

		// The landing page, in the browser's language, escapes what staff typed.
		st, page := b.get("/join/"+code, "Accept-Language", "de-DE,de;q=0.9")
		if st != 200 || !strings.Contains(page, "Online buchen") {
			t.Fatalf("join = %d:\n%s", st, page)
		}
		st, page = b.get("/join/" + code + "?lang=fr")
		if st != 200 || !strings.Contains(page, "Réserver en ligne") {
			t.Fatalf("join fr = %d:\n%s", st, page)
		}
		details := walkToDetails(t, b, "/book/"+code+"?lang=fr&tz=America/New_York")
		if !strings.Contains(details, "America/New_York") {
			t.Fatalf("the zone is not named:\n%s", details)
		}
		if strings.Contains(details, "<b>individuelle") {
			t.Fatal("a service name is not escaped")
		}
		action, form0 := form(t, details)

		// Without the CSRF token: refused, nothing sent.
		bad := url.Values{}
		for k, v := range form0 {
			bad[k] = v
		}
		bad.Del("csrf")
		bad.Set("name", "Zoé Client")
		bad.Set("phone", "+33611111111")
		if st, _ := b.post(action, bad); st != http.StatusForbidden {
			t.Fatalf("no csrf = %d, want 403", st)
		}
		// A phone that is no phone: a clear 400, nothing sent.
		form0.Set("name", "Zoé Client")
		form0.Set("phone", "12")
		if st, page := b.post(action, form0); st != http.StatusBadRequest || !strings.Contains(page, "numéro de téléphone") {
			t.Fatalf("bad phone = %d:\n%s", st, page)
		}
		// The phone of an existing card (Anne Client, +33612345678) links it.
		form0.Set("phone", "06 12 34 56 78")
		st, page = b.post(action, form0)
		if st != 200 || !strings.Contains(page, `name="code"`) {
			t.Fatalf("send code = %d:\n%s", st, page)
		}
		codes := e.codesSentTo("+33612345678")
		if len(codes) != 1 {
			var ms map[string]any
			e.must(200, "GET", "/api/v1/messages", nil, &ms)
			t.Fatalf("codes sent = %v; outbox %v", codes, ms)
		}
		vAction, vForm := form(t, page)
		wrong := "000000"
		if codes[0] == wrong {
			wrong = "111111"
		}
		vForm.Set("code", wrong)
		if st, page := b.post(vAction, vForm); st != http.StatusBadRequest || !strings.Contains(page, "Code erroné") {
			t.Fatalf("wrong code = %d:\n%s", st, page)
		}
		vForm.Set("code", codes[0])
		st, page = b.post(vAction, vForm)
		if st != 200 || !strings.Contains(page, "Votre demande a été envoyée") {
			t.Fatalf("verify = %d:\n%s", st, page)
		}
		// Replaying the code books nothing more.
		if st, page := b.post(vAction, vForm); st != http.StatusBadRequest || !strings.Contains(page, "déjà été utilisé") {
			t.Fatalf("replay = %d:\n%s", st, page)
		}
		var as api.ListResponse[core.Appointment]
		e.must(200, "GET", "/api/v1/appointments?client_id="+f.client, nil, &as)
		if len(as.Items) != 1 || as.Items[0].Status != core.Pending || as.Items[0].RequestedBy != "client" {
			t.Fatalf("appointments of the existing card = %+v", as.Items)
		}
		var cl api.ListResponse[core.Client]
		e.must(200, "GET", "/api/v1/clients?q=612345678", nil, &cl)
		if len(cl.Items) != 1 {
			t.Fatalf("the phone made a duplicate card: %+v", cl.Items)
		}
	})
}

func TestWebBookingLimitsAndStaleInvitations(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		_, code := e.selfServeFixture("Consultation", core.InvitationInput{Name: "Carte", SingleUse: true}, true)
		b := newBrowser(t, e.srv.URL)
		details := walkToDetails(t, b, "/book/"+code+"?lang=en&tz=Europe/Paris")
		action, f := form(t, details)
		f.Set("name", "Pump Er")
		f.Set("phone", "+447911123456")
		// Five sends in ten minutes (30 s apart, past the cooldown); the
		// sixth is a 429 and never reaches the provider.
		for i := 1; i <= 6; i++ {
			st, page := b.post(action, f)
			want := 200
			if i == 6 {
				want = http.StatusTooManyRequests
			}
			if st != want {
				t.Fatalf("send %d = %d, want %d:\n%s", i, st, want, page)
			}
			if i == 1 {
				// The cooldown: at once again is refused as well.
				if st, _ := b.post(action, f); st != http.StatusTooManyRequests {
					t.Fatalf("send within the cooldown = %d", st)
				}
			}
			if i < 6 {
				// The code reaches the provider before the clock moves on:
				// 31 s jumps while a loaded worker still holds the send
				// would outrun the 2-minute sending lease, and the sweeper
				// would rightly send it again.
				if n := len(e.codesSentToN("+447911123456", i)); n < i {
					t.Fatalf("send %d: %d codes reached the provider", i, n)
				}
			}
			e.clock.Set(e.clock.Now().Add(31 * time.Second))
		}
		time.Sleep(2 * time.Second) // a 6th code would have followed the 5th by now
		if n := len(e.codesSentToN("+447911123456", 0)); n != 5 {
			t.Fatalf("codes that reached the provider = %d, want 5", n)
		}

		// A single-use link books once; then it says it is used.
		b2 := newBrowser(t, e.srv.URL)
		e.clock.Set(e.clock.Now().Add(11 * time.Minute))
		details = walkToDetails(t, b2, "/book/"+code+"?lang=en&tz=Europe/Paris")
		action, f = form(t, details)
		f.Set("name", "Real Client")
		f.Set("phone", "+447911123999")
		st, page := b2.post(action, f)
		if st != 200 {
			t.Fatalf("send = %d:\n%s", st, page)
		}
		vAction, vForm := form(t, page)
		vForm.Set("code", e.codesSentTo("+447911123999")[0])
		if st, page := b2.post(vAction, vForm); st != 200 || !strings.Contains(page, "Your visit is booked") {
			t.Fatalf("verify = %d:\n%s", st, page)
		}
		if st, page := b2.get("/join/" + code + "?lang=en"); st != http.StatusGone || !strings.Contains(page, "already been used") {
			t.Fatalf("used link = %d:\n%s", st, page)
		}
		if st, _ := b2.get("/join/nosuchcode0000?lang=en"); st != http.StatusNotFound {
			t.Fatalf("unknown link = %d", st)
		}
		if st, _ := b2.get("/join/" + url.PathEscape("<script>") + "?lang=en"); st != http.StatusNotFound {
			t.Fatalf("bad code = %d", st)
		}
		if st, _ := b2.get("/book/" + code + "?lang=en&tz=Not/AZone"); st != http.StatusGone {
			t.Fatalf("used link, bad zone = %d", st)
		}
	})
}

func TestWebBookingConcurrentSubmissionsMakeOneBooking(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f, code := e.selfServeFixture("Bilan", core.InvitationInput{Name: "Site"}, false)
		// Two clients ask for the same slot, each gets a code; both confirm
		// at once: one booking, the other told the time is taken.
		type pending struct {
			b             *browser
			action        string
			form          url.Values
			phone, number string
		}
		var ps []pending
		for i, phone := range []string{"+33612000001", "+33612000002"} {
			b := newBrowser(t, e.srv.URL)
			details := walkToDetails(t, b, "/book/"+code+"?lang=en&tz=Europe/Paris")
			action, fm := form(t, details)
			fm.Set("name", "Client "+string(rune('A'+i)))
			fm.Set("phone", phone)
			st, page := b.post(action, fm)
			if st != 200 {
				t.Fatalf("send = %d:\n%s", st, page)
			}
			va, vf := form(t, page)
			vf.Set("code", e.codesSentTo(phone)[0])
			ps = append(ps, pending{b: b, action: va, form: vf, phone: phone})
		}
		var wg sync.WaitGroup
		status := make([]int, len(ps))
		for i, p := range ps {
			wg.Add(1)
			go func() {
				defer wg.Done()
				status[i], _ = p.b.post(p.action, p.form)
			}()
		}
		wg.Wait()
		ok, taken := 0, 0
		for _, s := range status {
			switch s {
			case 200:
				ok++
			case http.StatusConflict:
				taken++
			}
		}
		if ok != 1 || taken != 1 {
			t.Fatalf("statuses = %v, want one 200 and one 409", status)
		}
		var as api.ListResponse[core.Appointment]
		e.must(200, "GET", "/api/v1/appointments?specialist_id="+f.specialist, nil, &as)
		if len(as.Items) != 1 {
			t.Fatalf("appointments = %d, want 1", len(as.Items))
		}
	})
}

func TestPaidPageShowsRecordedState(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		ctx := context.Background()
		ref := core.PaidRef([]byte("k"), "x:appointment:y:100")
		if _, err := e.app.Store.SavePaymentLink(ctx, core.StoredLink{ID: core.NewID(), OrgID: e.org, Purpose: "appointment", RefID: core.NewID(),
			AmountMinor: 4500, Currency: "EUR", ProviderID: "cs_test_1", URL: "https://checkout.example/1", Ref: ref, CreatedAt: time.Now()}); err != nil {
			t.Fatal(err)
		}
		b := newBrowser(t, e.srv.URL)
		st, page := b.get("/paid/" + ref + "?lang=fr")
		if st != 200 || !strings.Contains(page, "en cours de confirmation") || !strings.Contains(page, `http-equiv="refresh"`) {
			t.Fatalf("pending = %d:\n%s", st, page)
		}
		if _, page := b.get("/paid/" + ref + "?lang=en&cancelled=1"); !strings.Contains(page, "cancelled; nothing was charged") {
			t.Fatalf("cancelled:\n%s", page)
		}
		if _, err := e.app.Store.SetPaymentLinkState(ctx, "cs_test_1", core.LinkPaid); err != nil {
			t.Fatal(err)
		}
		// The redirect's word does not matter: the recorded state does.
		if _, page := b.get("/paid/" + ref + "?lang=en&cancelled=1"); !strings.Contains(page, "payment was received") {
			t.Fatalf("paid:\n%s", page)
		}
		if st, _ := b.get("/paid/notaref?lang=en"); st != http.StatusNotFound {
			t.Fatalf("unknown ref = %d", st)
		}
	})
}

func TestSelfServeIsolationAndTelegramLinks(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		e = newAPIEnv(t, freshURL(t, e), map[string]string{"TELEGRAM_BOT_USERNAME": "@kalenner_bot"})
		f, code := e.selfServeFixture("Séance A", core.InvitationInput{Name: "A"}, false)

		// Another organization's specialist and service.
		keyB, _ := e.bootstrap("Cabinet B", "Europe/Berlin")
		var stB, svB idOnly
		if st := e.do(keyB, "POST", "/api/v1/staff", map[string]any{"name": "Dr Geheim", "role": "specialist", "timezone": "Europe/Berlin"}, &stB); st != 201 {
			t.Fatalf("staff B = %d", st)
		}
		if st := e.do(keyB, "POST", "/api/v1/services", core.ServiceInput{Name: "Geheimer Dienst B", DurationMin: 30}, &svB); st != 201 {
			t.Fatalf("service B = %d", st)
		}
		b := newBrowser(t, e.srv.URL)
		for _, q := range []string{"sp=" + stB.ID, "sp=" + f.specialist + "&sv=" + svB.ID, "sp=" + stB.ID + "&sv=" + svB.ID + "&day=2026-03-02"} {
			st, page := b.get("/book/" + code + "?lang=en&tz=Europe/Paris&" + q)
			if st != http.StatusBadRequest || strings.Contains(page, "Geheim") {
				t.Fatalf("%s = %d:\n%s", q, st, page)
			}
		}
		if _, page := b.get("/book/" + code + "?lang=en&tz=Europe/Paris"); strings.Contains(page, "Geheim") || !strings.Contains(page, "Séance A") {
			t.Fatalf("services of the link:\n%s", page)
		}
		// Bad input: a clear 400, never a 500.
		for _, q := range []string{"tz=Mars/Olympus", "tz=Europe/Paris&sp=" + f.specialist + "&sv=" + f.service + "&day=2026-03-02&start=yesterday"} {
			if st, _ := b.get("/book/" + code + "?lang=en&" + q); st != http.StatusBadRequest {
				t.Fatalf("%s = %d, want 400", q, st)
			}
		}

		// The invitation's Telegram deep link: a random token, not data.
		var inv api.InvitationView
		e.must(201, "POST", "/api/v1/invitations", core.InvitationInput{Name: "Telegram", TargetStaffID: f.specialist}, &inv)
		re := regexp.MustCompile(`^https://t\.me/kalenner_bot\?start=([A-Za-z0-9_-]{1,64})$`)
		m := re.FindStringSubmatch(inv.TelegramURL)
		if m == nil || strings.Contains(inv.TelegramURL, inv.Code) || strings.Contains(inv.TelegramURL, inv.ID) {
			t.Fatalf("telegram_url = %q", inv.TelegramURL)
		}
		var again api.InvitationView
		e.must(200, "GET", "/api/v1/invitations/"+inv.ID, nil, &again)
		if again.TelegramURL != inv.TelegramURL {
			t.Fatalf("the token changed: %q vs %q", again.TelegramURL, inv.TelegramURL)
		}
		l, err := e.app.Services.SelfServe.ResolveStart(context.Background(), m[1])
		if err != nil || l.Invitation.ID != inv.ID {
			t.Fatalf("ResolveStart = %+v, %v", l.Invitation, err)
		}
		req, _ := http.NewRequest("GET", e.srv.URL+"/api/v1/invitations/"+inv.ID+"/qr.png?link=telegram", nil)
		req.Header.Set("Authorization", "Bearer "+e.key)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 || resp.Header.Get("Content-Type") != "image/png" {
			t.Fatalf("telegram QR = %d %s", resp.StatusCode, resp.Header.Get("Content-Type"))
		}
		if st := e.do(e.key, "GET", "/api/v1/invitations/"+inv.ID+"/qr.png?link=fax", nil, nil); st != 400 {
			t.Fatalf("qr link=fax = %d", st)
		}
		// Another organization's key sees neither the link nor its QR.
		if st := e.do(keyB, "GET", "/api/v1/invitations/"+inv.ID+"/qr.png?link=telegram", nil, nil); st != 404 {
			t.Fatalf("qr from org B = %d", st)
		}
		if st, page := b.get("/join/" + inv.Code + "?lang=ru"); st != 200 || !strings.Contains(page, "Открыть в Telegram") ||
			!strings.Contains(page, "https://t.me/kalenner_bot?start=") {
			t.Fatalf("join page = %d:\n%s", st, page)
		}
		// A deactivated link says so.
		e.must(200, "POST", "/api/v1/invitations/"+inv.ID+"/deactivate", nil, nil)
		if st, page := b.get("/join/" + inv.Code + "?lang=pl"); st != http.StatusGone || !strings.Contains(page, "nie jest już aktywne") {
			t.Fatalf("deactivated = %d:\n%s", st, page)
		}
	})
}

func TestOneTimeCodeGoesByTelegramWhenLinked(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		_, code := e.selfServeFixture("Séance", core.InvitationInput{Name: "Site"}, false)
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Tg Client", "phone": "+33655555555", "telegram_id": 424242}, nil)
		b := newBrowser(t, e.srv.URL)
		action, f := form(t, walkToDetails(t, b, "/book/"+code+"?lang=en&tz=Europe/Paris"))
		f.Set("name", "Tg Client")
		f.Set("phone", "+33655555555")
		if st, page := b.post(action, f); st != 200 {
			t.Fatalf("send = %d:\n%s", st, page)
		}
		codes := e.codesSentTo("424242")
		if len(codes) != 1 {
			t.Fatalf("codes by Telegram = %v", codes)
		}
		var l api.ListResponse[api.DevMessage]
		e.must(200, "GET", "/api/v1/devsink/messages", nil, &l)
		for _, m := range l.Items {
			if m.To == "+33655555555" {
				t.Fatalf("the code also went by SMS: %+v", m)
			}
		}
	})
}
