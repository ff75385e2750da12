package tests

import (
	"context"
	"fmt"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/stripe/stripetest"
	"github.com/bookinggw/gateway/adapters/telegram/telegramtest"
	"github.com/bookinggw/gateway/api"
	"github.com/bookinggw/gateway/core"
)

// The Telegram booking bot end to end: Telegram updates posted to the
// webhook as Telegram posts them, the bot answering through the real
// library against the fake Bot API (telegramtest), on SQLite and
// PostgreSQL.

// botEnv is the service with the fake Bot API and the bot on.
type botEnv struct {
	*apiEnv
	tg *telegramtest.Server

	mu       sync.Mutex
	updateID int64
	msgID    int
	cbID     int
}

// tgPerson is a Telegram user writing to the bot.
type tgPerson struct {
	id   int64
	name string
	lang string
}

// newBotEnv starts the service with the bot; env adds settings (Stripe).
func newBotEnv(t *testing.T, dbURL string, env ...map[string]string) *botEnv {
	t.Helper()
	tg := telegramtest.New(t, tgToken)
	env = append([]map[string]string{{"TELEGRAM_BOT_TOKEN": tgToken, "TELEGRAM_API_URL": tg.Endpoint(),
		"TELEGRAM_WEBHOOK_SECRET": tgSecret, "TELEGRAM_BOT_USERNAME": telegramtest.Bot.UserName, "GATEWAY_RATE_TELEGRAM_CHAT": "off"}}, env...)
	e := newAPIEnv(t, dbURL, env...)
	return &botEnv{apiEnv: e, tg: tg, updateID: 5000, msgID: 100}
}

func (be *botEnv) next() (int64, int) {
	be.mu.Lock()
	defer be.mu.Unlock()
	be.updateID++
	be.msgID++
	return be.updateID, be.msgID
}

func (p tgPerson) user() map[string]any {
	return map[string]any{"id": p.id, "is_bot": false, "first_name": p.name, "language_code": p.lang}
}

func (p tgPerson) chatID() string { return fmt.Sprint(p.id) }

func (be *botEnv) post(t *testing.T, update map[string]any) {
	t.Helper()
	resp, err := telegramtest.PostUpdate(context.Background(), be.srv.URL+"/webhooks/telegram", tgSecret, update)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook = %d", resp.StatusCode)
	}
}

// say sends a text message (a command when it starts with /).
func (be *botEnv) say(t *testing.T, p tgPerson, text string) {
	t.Helper()
	uid, mid := be.next()
	m := map[string]any{"message_id": mid, "date": time.Now().Unix(), "from": p.user(),
		"chat": map[string]any{"id": p.id, "type": "private", "first_name": p.name}, "text": text}
	if strings.HasPrefix(text, "/") {
		cmd, _, _ := strings.Cut(text, " ")
		m["entities"] = []map[string]any{{"type": "bot_command", "offset": 0, "length": len(cmd)}}
	}
	be.post(t, map[string]any{"update_id": uid, "message": m})
}

// tapData sends a callback query for a button's data on a message, with
// the callback query id given ("" makes a new one).
func (be *botEnv) tapData(t *testing.T, p tgPerson, msg telegramtest.Message, data, queryID string) {
	t.Helper()
	uid, _ := be.next()
	if queryID == "" {
		be.mu.Lock()
		be.cbID++
		queryID = fmt.Sprintf("cbq-%d-%d", p.id, be.cbID)
		be.mu.Unlock()
	}
	be.post(t, map[string]any{"update_id": uid, "callback_query": map[string]any{"id": queryID, "from": p.user(),
		"chat_instance": "ci-" + p.chatID(), "data": data,
		"message": map[string]any{"message_id": msg.MessageID, "date": time.Now().Unix(), "text": msg.Text,
			"chat": map[string]any{"id": p.id, "type": "private", "first_name": p.name}}}})
}

// button finds a button of a message whose text contains label.
func button(t *testing.T, msg telegramtest.Message, label string) telegramtest.Button {
	t.Helper()
	for _, row := range msg.Keyboard {
		for _, b := range row {
			if strings.Contains(b.Text, label) {
				return b
			}
		}
	}
	t.Fatalf("no button %q in message %q: %+v", label, msg.Text, msg.Keyboard)
	return telegramtest.Button{}
}

// firstButton is a message's first button.
func firstButton(t *testing.T, msg telegramtest.Message) telegramtest.Button {
	t.Helper()
	if len(msg.Keyboard) == 0 || len(msg.Keyboard[0]) == 0 {
		t.Fatalf("message %q has no buttons", msg.Text)
	}
	return msg.Keyboard[0][0]
}

// waitMsg waits for the latest message to a chat (as edited since) that
// satisfies ok.
func (be *botEnv) waitMsg(t *testing.T, chat string, what string, ok func(telegramtest.Message) bool) telegramtest.Message {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		ms := be.tg.Messages()
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].ChatID == chat {
				if ok(ms[i]) {
					return ms[i]
				}
				break
			}
		}
		if time.Now().After(deadline) {
			var texts []string
			for _, m := range ms {
				if m.ChatID == chat {
					texts = append(texts, m.Text)
				}
			}
			t.Fatalf("no %s in chat %s; messages: %q; calls: %v", what, chat, texts, be.tg.Calls())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// waitCount waits for n messages to a chat containing substr.
func (be *botEnv) waitCount(t *testing.T, chat, substr string, n int) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		got := 0
		for _, m := range be.tg.Messages() {
			if m.ChatID == chat && strings.Contains(m.Text, substr) {
				got++
			}
		}
		if got >= n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d messages with %q in chat %s, want %d", got, substr, chat, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (be *botEnv) waitText(t *testing.T, chat, substr string) telegramtest.Message {
	t.Helper()
	return be.waitMsg(t, chat, "message with "+substr, func(m telegramtest.Message) bool { return strings.Contains(m.Text, substr) })
}

// tap presses the button labelled label and waits for the message,
// edited in place, to contain want.
func (be *botEnv) tap(t *testing.T, p tgPerson, msg telegramtest.Message, label, want string) telegramtest.Message {
	t.Helper()
	be.tapData(t, p, msg, button(t, msg, label).CallbackData, "")
	return be.waitEdit(t, p, msg, want)
}

// waitEdit waits for a message to be edited into one containing want
// (notifications may arrive in the chat meanwhile).
func (be *botEnv) waitEdit(t *testing.T, p tgPerson, msg telegramtest.Message, want string) telegramtest.Message {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		m, ok := be.tg.Message(p.chatID(), msg.MessageID)
		if ok && strings.Contains(m.Text, want) {
			return m
		}
		if time.Now().After(deadline) {
			t.Fatalf("message %d is %q, want it edited to contain %q", msg.MessageID, m.Text, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// tapFirst presses a message's first button and waits as tap does.
func (be *botEnv) tapFirst(t *testing.T, p tgPerson, msg telegramtest.Message, want string) telegramtest.Message {
	t.Helper()
	be.tapData(t, p, msg, firstButton(t, msg).CallbackData, "")
	return be.waitEdit(t, p, msg, want)
}

// drained waits until every stored update was handled without error.
func (be *botEnv) drained(t *testing.T) {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		ids, err := be.app.Store.UnhandledChatInbox(context.Background(), be.clock.Now().Add(time.Hour), 10)
		if err != nil {
			t.Fatal(err)
		}
		if len(ids) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d updates still unhandled", len(ids))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// invitation creates an invitation and returns its start token.
func (be *botEnv) startToken(t *testing.T, in any) (api.InvitationView, string) {
	t.Helper()
	var inv api.InvitationView
	be.must(201, "POST", "/api/v1/invitations", in, &inv)
	u, err := url.Parse(inv.TelegramURL)
	if err != nil || u.Query().Get("start") == "" {
		t.Fatalf("invitation's telegram_url = %q", inv.TelegramURL)
	}
	return inv, u.Query().Get("start")
}

// openAndSetZone opens the invitation and answers the timezone question
// with a city; it returns the menu.
func (be *botEnv) openAndSetZone(t *testing.T, p tgPerson, token string) telegramtest.Message {
	t.Helper()
	be.say(t, p, "/start "+token)
	be.waitText(t, p.chatID(), "Paris")
	be.say(t, p, "Paris")
	return be.waitText(t, p.chatID(), "Europe/Paris")
}

// toConfirm walks from the menu to the confirmation of the first free
// slot of the first day.
func (be *botEnv) toConfirm(t *testing.T, p tgPerson, menu telegramtest.Message) telegramtest.Message {
	t.Helper()
	m := be.tap(t, p, menu, "Prendre rendez-vous", "Choisissez une prestation")
	m = be.tapFirst(t, p, m, "Choisissez un jour")
	m = be.tapFirst(t, p, m, "Choisissez un horaire")
	return be.tapFirst(t, p, m, "Vérifiez votre réservation")
}

func (be *botEnv) appointmentsOf(t *testing.T, specialist string) []core.Appointment {
	t.Helper()
	var l struct {
		Items []core.Appointment `json:"items"`
	}
	be.must(200, "GET", "/api/v1/appointments?specialist_id="+specialist, nil, &l)
	return l.Items
}

var (
	clientFR = tgPerson{id: 610000001, name: "Camille", lang: "fr"}
	staffFR  = tgPerson{id: 620000001, name: "Martin", lang: "fr"}
)

// eachBotBackend runs fn with the bot on SQLite and PostgreSQL.
func eachBotBackend(t *testing.T, fn func(t *testing.T, be *botEnv)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newBotEnv(t, b.URL)) })
	}
}

// TestBotBooksAndSpecialistAccepts: a new client opens an invitation,
// books a slot in French, the specialist accepts with a button, and the
// client gets the confirmation. Every callback query is answered with
// answerCallbackQuery (through Request: Send cannot read its "true", and
// the tap would then fail and stay unhandled).
func TestBotBooksAndSpecialistAccepts(t *testing.T) {
	eachBotBackend(t, func(t *testing.T, be *botEnv) {
		f, _ := be.selfServeFixture("Séance individuelle", core.InvitationInput{Name: "Instagram"}, false)
		be.must(200, "PATCH", "/api/v1/staff/"+f.specialist, map[string]any{"telegram_chat_id": staffFR.chatID()}, nil)
		inv, token := be.startToken(t, core.InvitationInput{Name: "Carte de visite", TargetStaffID: f.specialist})

		be.say(t, clientFR, "/start "+token)
		ask := be.waitText(t, clientFR.chatID(), "Bienvenue ! Vous êtes inscrit(e) auprès de Dr Martin.")
		if !strings.Contains(ask.Text, "fuseau horaire") {
			t.Fatalf("first answer %q does not ask the timezone", ask.Text)
		}
		be.say(t, clientFR, "Paris")
		menu := be.waitText(t, clientFR.chatID(), "Les horaires sont maintenant indiqués dans le fuseau Europe/Paris.")
		confirm := be.toConfirm(t, clientFR, menu)
		if !strings.Contains(confirm.Text, "Séance individuelle avec Dr Martin") {
			t.Fatalf("confirmation %q", confirm.Text)
		}
		done := be.tap(t, clientFR, confirm, "Confirmer la réservation", "Votre demande a été envoyée")
		if done.MessageID != menu.MessageID || done.Edits == 0 {
			t.Fatalf("the booking answered in message %d (edits %d), want the menu's message %d edited in place", done.MessageID, done.Edits, menu.MessageID)
		}
		as := be.appointmentsOf(t, f.specialist)
		if len(as) != 1 || as[0].Status != core.Pending || as[0].RequestedBy != "client" {
			t.Fatalf("appointments = %+v, want one pending client request", as)
		}
		var joined api.InvitationView
		be.must(200, "GET", "/api/v1/invitations/"+inv.ID, nil, &joined)
		if joined.Uses != 1 || joined.ClientsJoined != 1 {
			t.Fatalf("invitation uses %d, clients joined %d; want 1 and 1", joined.Uses, joined.ClientsJoined)
		}

		// The specialist's new-request message carries Accept and Reject.
		req := be.waitMsg(t, staffFR.chatID(), "request with buttons", func(m telegramtest.Message) bool { return len(m.Keyboard) > 0 })
		accepted := be.tap(t, staffFR, req, "Accepter", "Acceptée : Camille")
		if accepted.MessageID != req.MessageID {
			t.Fatalf("accept answered in a new message")
		}
		if a := be.appointmentsOf(t, f.specialist)[0]; a.Status != core.Accepted {
			t.Fatalf("status after accept = %s", a.Status)
		}
		// The client is told as when staff accept through the API.
		be.waitText(t, clientFR.chatID(), "votre rendez-vous est confirmé")

		// The accept button again (a stale message): a clear answer.
		be.tapData(t, staffFR, req, button(t, req, "Accepter").CallbackData, "")
		be.waitEdit(t, staffFR, req, "C'est déjà fait.")
		be.drained(t)
		answers := be.tg.Calls("answerCallbackQuery")
		if len(answers) < 6 {
			t.Fatalf("%d callback queries answered, want every tap's", len(answers))
		}
	})
}

// TestBotRefusesUsedAndExpiredInvitations: a single-use link admits one
// client; an expired link says so.
func TestBotRefusesUsedAndExpiredInvitations(t *testing.T) {
	eachBotBackend(t, func(t *testing.T, be *botEnv) {
		f, _ := be.selfServeFixture("Séance", core.InvitationInput{Name: "Instagram"}, false)
		_, once := be.startToken(t, core.InvitationInput{Name: "Une fois", TargetStaffID: f.specialist, SingleUse: true})
		be.say(t, clientFR, "/start "+once)
		be.waitText(t, clientFR.chatID(), "Bienvenue")
		other := tgPerson{id: 610000002, name: "Luc", lang: "fr"}
		be.say(t, other, "/start "+once)
		be.waitText(t, other.chatID(), "Cette invitation a déjà été utilisée.")
		// The client who used it opens it again: still registered.
		be.say(t, clientFR, "/start "+once)
		be.waitCount(t, clientFR.chatID(), "Bienvenue", 2)

		until := testNow.Add(time.Hour).Format(time.RFC3339)
		_, short := be.startToken(t, core.InvitationInput{Name: "Courte", TargetStaffID: f.specialist, ValidUntil: until})
		be.clock.Set(testNow.Add(2 * time.Hour))
		late := tgPerson{id: 610000003, name: "Inès", lang: "fr"}
		be.say(t, late, "/start "+short)
		be.waitText(t, late.chatID(), "Cette invitation a expiré.")
		be.say(t, late, "/start unknown-token")
		be.waitText(t, late.chatID(), "Ce lien d'invitation n'existe pas.")
		be.drained(t)
		var l struct {
			Items []core.Client `json:"items"`
		}
		be.must(200, "GET", "/api/v1/clients", nil, &l)
		tgClients := 0
		for _, c := range l.Items {
			if c.TelegramID != "" {
				tgClients++
			}
		}
		if tgClients != 1 {
			t.Fatalf("%d Telegram clients registered, want 1", tgClients)
		}
	})
}

// TestBotSlotTakenAndDoubleTaps: a slot booked between listing and
// tapping is answered clearly; two taps of one confirmation, and one
// callback query delivered twice, make one booking.
func TestBotSlotTakenAndDoubleTaps(t *testing.T) {
	eachBotBackend(t, func(t *testing.T, be *botEnv) {
		f, _ := be.selfServeFixture("Séance", core.InvitationInput{Name: "Instagram"}, false)
		_, token := be.startToken(t, core.InvitationInput{Name: "Carte", TargetStaffID: f.specialist})
		menu := be.openAndSetZone(t, clientFR, token)
		confirm := be.toConfirm(t, clientFR, menu)

		// Someone else takes the slot through the API meanwhile.
		av := be.slots(f, "2026-03-02", "2026-03-02", "Europe/Paris")
		be.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
			"client_id": f.client, "start": av[0].Start}, nil)
		taken := be.tap(t, clientFR, confirm, "Confirmer la réservation", "Ce créneau n'est plus libre ; choisissez-en un autre.")
		if len(taken.Keyboard) == 0 || strings.Contains(taken.Text, "09:00") {
			t.Fatalf("after a taken slot: %q %+v, want the day's other times", taken.Text, taken.Keyboard)
		}
		for _, row := range taken.Keyboard {
			for _, b := range row {
				if b.Text == "09:00" {
					t.Fatalf("the taken 09:00 is still offered: %+v", taken.Keyboard)
				}
			}
		}

		// Another time, confirmed by two taps at once.
		confirm = be.tapFirst(t, clientFR, taken, "Vérifiez votre réservation")
		data := button(t, confirm, "Confirmer la réservation").CallbackData
		var wg sync.WaitGroup
		for range 2 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				be.tapData(t, clientFR, confirm, data, "")
			}()
		}
		wg.Wait()
		be.drained(t)
		// And one callback query delivered twice (a new update id each).
		be.tapData(t, clientFR, confirm, data, "cbq-repeated")
		be.tapData(t, clientFR, confirm, data, "cbq-repeated")
		be.drained(t)
		mine := 0
		for _, a := range be.appointmentsOf(t, f.specialist) {
			if a.ClientID != f.client {
				mine++
			}
		}
		if mine != 1 {
			t.Fatalf("%d bookings by the bot's client, want 1", mine)
		}
		n := 0
		for _, c := range be.tg.Calls("answerCallbackQuery") {
			if c.Params["callback_query_id"] == "cbq-repeated" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("callback query cbq-repeated answered %d times, want once", n)
		}
	})
}

// TestBotKeyboards: callback_data stays within 64 bytes with long
// Cyrillic names, and an edit that changes nothing ("message is not
// modified", as the Bot API answers it) counts as success.
func TestBotKeyboards(t *testing.T) {
	eachBotBackend(t, func(t *testing.T, be *botEnv) {
		name := "Консультация семейного психолога для родителей и детей подросткового возраста"
		f, _ := be.selfServeFixture(name, core.InvitationInput{Name: "ВКонтакте"}, false)
		_, token := be.startToken(t, core.InvitationInput{Name: "Визитка", TargetStaffID: f.specialist})
		ru := tgPerson{id: 630000001, name: "Мария", lang: "ru"}
		be.say(t, ru, "/start "+token)
		be.waitText(t, ru.chatID(), "часовом поясе")
		be.say(t, ru, "UTC+3")
		menu := be.waitText(t, ru.chatID(), "Etc/GMT-3")
		svcs := be.tap(t, ru, menu, "Записаться", "Выберите услугу")
		b := button(t, svcs, name)
		if len(b.CallbackData) > 64 || len(b.Text) <= 64 {
			t.Fatalf("button %q (%d bytes) has callback_data %q (%d bytes)", b.Text, len(b.Text), b.CallbackData, len(b.CallbackData))
		}

		// My appointments twice on the same message: the second edit is
		// the same screen, which Telegram refuses as not modified.
		back := be.tap(t, ru, svcs, "Назад", "Что вы хотите сделать?")
		data := button(t, back, "Мои записи").CallbackData
		be.tapData(t, ru, back, data, "")
		shown := be.waitEdit(t, ru, back, "У вас нет предстоящих записей.")
		be.drained(t)
		edits := len(be.tg.Calls("editMessageText"))
		be.tapData(t, ru, back, data, "")
		be.drained(t) // an error would leave the update unhandled, retried
		if got := len(be.tg.Calls("editMessageText")); got != edits+1 {
			t.Fatalf("%d edits after the repeated tap, want %d", got, edits+1)
		}
		if now, _ := be.tg.Message(ru.chatID(), shown.MessageID); now.Edits != shown.Edits {
			t.Fatalf("the repeated tap changed the message: %d edits, was %d", now.Edits, shown.Edits)
		}
		for _, m := range be.tg.Messages() {
			for _, row := range m.Keyboard {
				for _, b := range row {
					if len(b.CallbackData) > 64 {
						t.Fatalf("callback_data %q is %d bytes", b.CallbackData, len(b.CallbackData))
					}
				}
			}
		}
	})
}

// TestBotTeamInvitation: a specialist invited by the organization joins
// its team through the bot, linked for staff messages; the link does not
// register clients.
func TestBotTeamInvitation(t *testing.T) {
	eachBotBackend(t, func(t *testing.T, be *botEnv) {
		if err := be.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		inv, token := be.startToken(t, map[string]any{"name": "Recrutement", "team": true, "single_use": true})
		if inv.Target != core.TargetTeam {
			t.Fatalf("target = %q", inv.Target)
		}
		be.say(t, staffFR, "/start "+token)
		be.waitText(t, staffFR.chatID(), "Bienvenue dans l'équipe de Centre Paris, Martin !")
		var l struct {
			Items []core.Staff `json:"items"`
		}
		be.must(200, "GET", "/api/v1/staff", nil, &l)
		var joined *core.Staff
		for i, st := range l.Items {
			if st.TelegramChatID == staffFR.chatID() {
				joined = &l.Items[i]
			}
		}
		if joined == nil || joined.Role != core.RoleSpecialist || !joined.Active || joined.Name != "Martin" {
			t.Fatalf("staff = %+v, want Martin as a specialist linked to Telegram", l.Items)
		}
		other := tgPerson{id: 620000002, name: "Zoé", lang: "fr"}
		be.say(t, other, "/start "+token)
		be.waitText(t, other.chatID(), "Cette invitation a déjà été utilisée.")
		be.say(t, staffFR, "/agenda")
		be.waitText(t, staffFR.chatID(), "Rien n'est réservé aujourd'hui.")
		be.drained(t)
	})
}

// TestTeamInvitationWeb: a specialist invited by the organization joins
// its team on the invitation's web page; the link books nothing, and a
// client link makes no staff.
func TestTeamInvitationWeb(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		var inv api.InvitationView
		e.must(201, "POST", "/api/v1/invitations", map[string]any{"name": "Recrutement", "team": true, "single_use": true}, &inv)
		b := newBrowser(t, e.srv.URL)
		st, page := b.get("/join/" + inv.Code + "?lang=fr")
		if st != 200 || !strings.Contains(page, "Rejoindre l&#39;équipe de Centre Paris") {
			t.Fatalf("GET /join = %d:\n%s", st, page)
		}
		if st, _ := b.get("/book/" + inv.Code); st != 404 {
			t.Fatalf("GET /book of a team link = %d, want 404", st)
		}
		action, v := form(t, page)
		v.Set("name", "")
		if st, page := b.post(action, v); st != 422 || !strings.Contains(page, "Veuillez vérifier votre nom") {
			t.Fatalf("POST without a name = %d:\n%s", st, page)
		}
		v.Set("name", "Léa Dubois")
		v.Set("email", "lea@example.org")
		st, page = b.post(action, v)
		if st != 200 || !strings.Contains(page, "Bienvenue dans l&#39;équipe de Centre Paris, Léa Dubois") {
			t.Fatalf("POST /join = %d:\n%s", st, page)
		}
		var l struct {
			Items []core.Staff `json:"items"`
		}
		e.must(200, "GET", "/api/v1/staff", nil, &l)
		n := 0
		for _, s := range l.Items {
			if s.Name == "Léa Dubois" && s.Role == core.RoleSpecialist && s.Email == "lea@example.org" {
				n++
			}
		}
		if n != 1 {
			t.Fatalf("staff = %+v, want Léa Dubois once", l.Items)
		}
		// Single use: the next specialist is told.
		v.Set("name", "Paul Morel")
		if st, page := b.post(action, v); st != 410 || !strings.Contains(page, "déjà été utilisée") {
			t.Fatalf("second POST = %d:\n%s", st, page)
		}
		// A client invitation's page takes no staff form.
		var client api.InvitationView
		e.must(201, "POST", "/api/v1/invitations", map[string]any{"name": "Instagram"}, &client)
		if st, _ := b.post("/join/"+client.Code, v); st != 404 {
			t.Fatalf("POST /join of a client link = %d, want 404", st)
		}
		// Specialists cannot make team links.
		var sp idOnly
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Spécialiste", "role": "specialist", "timezone": "Europe/Paris"}, &sp)
		var key struct {
			Key string `json:"key"`
		}
		e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "k", "staff_id": sp.ID}, &key)
		if st := e.do(key.Key, "POST", "/api/v1/invitations", map[string]any{"name": "x", "team": true}, nil); st != 403 {
			t.Fatalf("a specialist's team link = %d, want 403", st)
		}
	})
}

// TestBotPayAndCancel: a service confirmed at once, with a price and a
// static payment link: the client pays with the link's button, then
// cancels under the cancellation policy.
func TestBotPayAndCancel(t *testing.T) {
	eachBotBackend(t, func(t *testing.T, be *botEnv) {
		if err := be.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		price := int64(5000)
		f := be.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
			core.ServiceInput{Name: "Massage", DurationMin: 60, AutoAccept: true, PriceMinor: &price, PaymentLink: "https://pay.example.org/massage"})
		_, token := be.startToken(t, core.InvitationInput{Name: "Carte", TargetStaffID: f.specialist})
		menu := be.openAndSetZone(t, clientFR, token)
		confirm := be.toConfirm(t, clientFR, menu)
		booked := be.tap(t, clientFR, confirm, "Confirmer la réservation", "Votre rendez-vous est réservé.")
		list := be.tap(t, clientFR, booked, "Retour", "Que souhaitez-vous faire ?")
		pay := be.tap(t, clientFR, list, "Payer", "Choisissez le rendez-vous à payer.")
		link := be.tapFirst(t, clientFR, pay, "Utilisez le bouton ci-dessous pour payer")
		if b := button(t, link, "Payer"); b.URL != "https://pay.example.org/massage" {
			t.Fatalf("pay button %+v", b)
		}
		list = be.tap(t, clientFR, link, "Retour", "Que souhaitez-vous faire ?")
		appts := be.tap(t, clientFR, list, "Mes rendez-vous", "Vos prochains rendez-vous")
		visit := be.tapFirst(t, clientFR, appts, "Conditions d'annulation")
		if !strings.Contains(visit.Text, "tardive") {
			t.Fatalf("a visit today inside the 24-hour notice: %q, want the late warning", visit.Text)
		}
		be.tap(t, clientFR, visit, "Annuler le rendez-vous", "Votre rendez-vous est annulé.")
		be.drained(t)
		as := be.appointmentsOf(t, f.specialist)
		if len(as) != 1 || as[0].Status != core.Cancelled || !as[0].LateCancel {
			t.Fatalf("appointments = %+v, want one late cancellation", as)
		}
	})
}

// payLinkMessages lists the outbox messages of a visit that carry a
// payment link.
func (be *botEnv) payLinkMessages(apptID string) []core.Message {
	var out []core.Message
	for _, m := range be.messages("appointment_id=" + apptID) {
		if m.Kind == core.KindPaymentLink {
			out = append(out, m)
		}
	}
	return out
}

// TestBotPayShowsLinkOnce: with Stripe Checkout, the client's "Pay" in the
// bot shows the link as a URL button and queues no message carrying it
// (the client would get the same link twice); paying again reuses the
// link; staff's "send payment link" still sends it, the same Checkout
// session.
func TestBotPayShowsLinkOnce(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			rec := stripetest.Start(t)
			be := newBotEnv(t, b.URL, map[string]string{"STRIPE_SECRET_KEY": "sk_test_123", "STRIPE_WEBHOOK_SECRET": whsec,
				"STRIPE_API_URL": rec.URL})
			if err := be.app.StartWorker(); err != nil {
				t.Fatal(err)
			}
			price := int64(5000)
			f := be.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}),
				core.ServiceInput{Name: "Massage", DurationMin: 60, AutoAccept: true, PriceMinor: &price, Currency: "EUR"})
			_, token := be.startToken(t, core.InvitationInput{Name: "Carte", TargetStaffID: f.specialist})
			menu := be.openAndSetZone(t, clientFR, token)
			confirm := be.toConfirm(t, clientFR, menu)
			booked := be.tap(t, clientFR, confirm, "Confirmer la réservation", "Votre rendez-vous est réservé.")
			as := be.appointmentsOf(t, f.specialist)
			if len(as) != 1 || as[0].BalanceMinor != price {
				t.Fatalf("appointments = %+v, want one with 5000 to pay", as)
			}
			appt := as[0].ID

			list := be.tap(t, clientFR, booked, "Retour", "Que souhaitez-vous faire ?")
			pay := be.tap(t, clientFR, list, "Payer", "Choisissez le rendez-vous à payer.")
			link := be.tapFirst(t, clientFR, pay, "Utilisez le bouton ci-dessous pour payer")
			url := button(t, link, "Payer").URL
			if !strings.HasPrefix(url, "https://checkout.stripe.com/") || len(rec.CheckoutSessions()) != 1 {
				t.Fatalf("pay button URL %q, %d Checkout sessions; want one Checkout link", url, len(rec.CheckoutSessions()))
			}
			if ms := be.payLinkMessages(appt); len(ms) != 0 {
				t.Fatalf("the bot's pay queued %d payment link messages (%+v): the client gets the link twice", len(ms), ms)
			}

			// Pay again: the same link, no new session, still no message.
			list = be.tap(t, clientFR, link, "Retour", "Que souhaitez-vous faire ?")
			pay = be.tap(t, clientFR, list, "Payer", "Choisissez le rendez-vous à payer.")
			again := be.tapFirst(t, clientFR, pay, "Utilisez le bouton ci-dessous pour payer")
			if u := button(t, again, "Payer").URL; u != url || len(rec.CheckoutSessions()) != 1 {
				t.Fatalf("second pay: URL %q (was %q), %d Checkout sessions; want the same link", u, url, len(rec.CheckoutSessions()))
			}
			be.drained(t)
			if ms := be.payLinkMessages(appt); len(ms) != 0 {
				t.Fatalf("%d payment link messages after two pays, want none", len(ms))
			}

			// Staff's "send payment link" sends it, the same link.
			var sent core.LinkResult
			be.must(200, "POST", "/api/v1/appointments/"+appt+"/payment-link", nil, &sent)
			if sent.URL != url || sent.Message.Kind != core.KindPaymentLink || len(rec.CheckoutSessions()) != 1 {
				t.Fatalf("staff's send: %q (bot's %q), message %+v, %d sessions", sent.URL, url, sent.Message, len(rec.CheckoutSessions()))
			}
			be.waitCount(t, clientFR.chatID(), url, 1)
			if ms := be.payLinkMessages(appt); len(ms) != 1 || ms[0].Channel != core.ChannelTelegram {
				t.Fatalf("payment link messages after staff's send: %+v, want one on Telegram", ms)
			}
			n := 0
			for _, m := range be.tg.Messages() {
				if m.ChatID == clientFR.chatID() && strings.Contains(m.Text, url) {
					n++
				}
			}
			if n != 1 {
				t.Fatalf("%d Telegram messages carry the link, want staff's one", n)
			}
		})
	}
}

// findText waits for a message to a chat, the latest of those whose text
// contains substr (notifications may come after it).
func (be *botEnv) findText(t *testing.T, chat, substr string) telegramtest.Message {
	t.Helper()
	deadline := time.Now().Add(40 * time.Second)
	for {
		ms := be.tg.Messages()
		for i := len(ms) - 1; i >= 0; i-- {
			if ms[i].ChatID == chat && strings.Contains(ms[i].Text, substr) {
				return ms[i]
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no message with %q in chat %s", substr, chat)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestBotStaffOnTwoTeams: one Telegram user on two organizations' teams
// (a staff record in each) sees both organizations' agendas and requests,
// each section titled with its organization; accepting the second
// organization's request acts there, with that staff record, and changes
// only that request.
func TestBotStaffOnTwoTeams(t *testing.T) {
	eachBotBackend(t, func(t *testing.T, be *botEnv) {
		if err := be.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		weekly := allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"})
		f1 := be.setup("Europe/Paris", weekly, core.ServiceInput{Name: "Séance", DurationMin: 60})
		be.must(200, "PATCH", "/api/v1/staff/"+f1.specialist, map[string]any{"telegram_chat_id": staffFR.chatID()}, nil)
		lyon := *be.apiEnv
		lyon.key, lyon.org = be.bootstrap("Cabinet Lyon", "Europe/Paris")
		f2 := lyon.setup("Europe/Paris", weekly, core.ServiceInput{Name: "Bilan", DurationMin: 60})
		lyon.must(200, "PATCH", "/api/v1/staff/"+f2.specialist, map[string]any{"telegram_chat_id": staffFR.chatID()}, nil)
		lyon.must(200, "PUT", "/api/v1/clients/"+f2.client, map[string]any{"name": "Bruno Client", "phone": "+33612345679"}, nil)
		request := func(e *apiEnv, f fixture, start string) core.Appointment {
			var res core.BookingResult
			e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
				"client_id": f.client, "start": start, "requested_by": "client"}, &res)
			if a := res.Appointments[0]; a.Status != core.Pending {
				t.Fatalf("request status %s", a.Status)
			}
			return res.Appointments[0]
		}
		// Today (testNow is Monday 2 March, 07:00 in Paris), in each.
		a1 := request(be.apiEnv, f1, "2026-03-02T10:00:00+01:00")
		a2 := request(&lyon, f2, "2026-03-02T11:00:00+01:00")

		be.say(t, staffFR, "/agenda")
		agenda := be.findText(t, staffFR.chatID(), "Aujourd'hui")
		for _, want := range []string{"Centre Paris :", "10:00 Anne Client : Séance", "Cabinet Lyon :", "11:00 Bruno Client : Bilan"} {
			if !strings.Contains(agenda.Text, want) {
				t.Fatalf("agenda %q lacks %q", agenda.Text, want)
			}
		}
		if strings.Index(agenda.Text, "Centre Paris") > strings.Index(agenda.Text, "Anne Client") ||
			strings.Index(agenda.Text, "Cabinet Lyon") > strings.Index(agenda.Text, "Bruno Client") ||
			strings.Index(agenda.Text, "Anne Client") > strings.Index(agenda.Text, "Cabinet Lyon") {
			t.Fatalf("agenda %q: each visit should be under its organization", agenda.Text)
		}
		button(t, agenda, "Centre Paris · ")
		button(t, agenda, "Cabinet Lyon · ")

		reqs := be.tap(t, staffFR, agenda, "Nouvelles demandes", "Demandes en attente de votre réponse")
		if !strings.Contains(reqs.Text, "Centre Paris :") || !strings.Contains(reqs.Text, "Cabinet Lyon :") {
			t.Fatalf("requests %q: want a section per organization", reqs.Text)
		}
		if b := button(t, reqs, "Centre Paris · "); !strings.Contains(b.Text, "Anne Client") {
			t.Fatalf("Centre Paris's request button %q", b.Text)
		}
		if b := button(t, reqs, "Cabinet Lyon · "); !strings.Contains(b.Text, "Bruno Client") {
			t.Fatalf("Cabinet Lyon's request button %q", b.Text)
		}
		req := be.tap(t, staffFR, reqs, "Cabinet Lyon · ", "Nouvelle demande : Bruno Client, Bilan")
		be.tap(t, staffFR, req, "Accepter", "Acceptée : Bruno Client")
		var got core.Appointment
		lyon.must(200, "GET", "/api/v1/appointments/"+a2.ID, nil, &got)
		if got.Status != core.Accepted {
			t.Fatalf("Cabinet Lyon's request after accept: %s", got.Status)
		}
		be.must(200, "GET", "/api/v1/appointments/"+a1.ID, nil, &got)
		if got.Status != core.Pending {
			t.Fatalf("Centre Paris's request after accepting Lyon's: %s", got.Status)
		}
		// Each organization's data stays its own.
		if st := be.do(be.key, "GET", "/api/v1/appointments/"+a2.ID, nil, nil); st != 404 {
			t.Fatalf("Centre Paris reads Cabinet Lyon's visit: %d", st)
		}
		be.drained(t)
	})
}
