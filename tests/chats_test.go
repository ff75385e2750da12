package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/slack/slackfake"
	"github.com/bookinggw/gateway/adapters/telegram/telegramtest"
	"github.com/bookinggw/gateway/core"
)

const (
	tgToken      = "123456:TEST-token"
	tgSecret     = "tg-webhook-secret_1"
	slackToken   = "xoxb-test-token"
	slackSecret  = "slack-signing-secret"
	slackChannel = "C0CHATS01"
	tgUser       = int64(555000111)
)

// chatEnv is the service with fake Telegram and Slack, a centre mapped to
// the bot and a Slack channel, and a client card with a phone.
type chatEnv struct {
	*apiEnv
	tg       *telegramtest.Server
	sl       *slackfake.Server
	center   string
	client   string
	updateID int64
}

func newChatEnv(t *testing.T, dbURL string) *chatEnv {
	t.Helper()
	tg := telegramtest.New(t, tgToken)
	sl := slackfake.New(t, slackToken)
	e := newAPIEnv(t, dbURL, map[string]string{"TELEGRAM_BOT_TOKEN": tgToken, "TELEGRAM_API_URL": tg.Endpoint(),
		"TELEGRAM_WEBHOOK_SECRET": tgSecret, "SLACK_BOT_TOKEN": slackToken, "SLACK_API_URL": sl.URL, "SLACK_SIGNING_SECRET": slackSecret,
		"GATEWAY_RATE_TELEGRAM_CHAT": "off", "GATEWAY_RATE_SLACK": "off"})
	if err := e.app.StartWorker(); err != nil {
		t.Fatal(err)
	}
	ce := &chatEnv{apiEnv: e, tg: tg, sl: sl, updateID: 1000}
	var c idOnly
	e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Lyon", "timezone": "Europe/Paris"}, &c)
	ce.center = c.ID
	e.must(200, "PUT", "/api/v1/centers/"+c.ID+"/chat-routes", map[string]any{"telegram_bot": telegramtest.Bot.UserName, "slack_channel": slackChannel}, nil)
	var cl idOnly
	e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Anna Petrova", "phone": "+33612345678", "center_ids": []string{c.ID}}, &cl)
	ce.client = cl.ID
	return ce
}

// update posts a Telegram update (message fields given) with the secret.
func (ce *chatEnv) update(t *testing.T, secret string, body map[string]any) int {
	t.Helper()
	ce.updateID++
	if _, ok := body["update_id"]; !ok {
		body["update_id"] = ce.updateID
	}
	resp, err := telegramtest.PostUpdate(context.Background(), ce.srv.URL+"/webhooks/telegram", secret, body)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func tgMessage(id int, extra map[string]any) map[string]any {
	m := map[string]any{"message_id": id, "date": time.Now().Unix(),
		"from": map[string]any{"id": tgUser, "is_bot": false, "first_name": "Anna", "language_code": "en"},
		"chat": map[string]any{"id": tgUser, "type": "private", "first_name": "Anna"}}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func (ce *chatEnv) conversations(key string) []core.Conversation {
	ce.t.Helper()
	var l struct {
		Items []core.Conversation `json:"items"`
	}
	if st := ce.do(key, "GET", "/api/v1/conversations", nil, &l); st != 200 {
		ce.t.Fatalf("conversations: %d", st)
	}
	return l.Items
}

func (ce *chatEnv) history(conv string) []core.ChatMessage {
	ce.t.Helper()
	var l struct {
		Items []core.ChatMessage `json:"items"`
	}
	ce.must(200, "GET", "/api/v1/conversations/"+conv+"/messages", nil, &l)
	return l.Items
}

// slackEvent posts a signed Events API callback; retry > 0 sets
// X-Slack-Retry-Num as Slack's retries do.
func (ce *chatEnv) slackEvent(t *testing.T, secret, eventID string, event map[string]any, retry int) int {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"type": "event_callback", "event_id": eventID, "team_id": "T0000TEST", "event": event})
	return ce.slackPost(t, secret, body, retry)
}

func (ce *chatEnv) slackPost(t *testing.T, secret string, body []byte, retry int) int {
	t.Helper()
	req, _ := http.NewRequest("POST", ce.srv.URL+"/webhooks/slack/events", bytes.NewReader(body))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", slackfake.Sign(secret, ts, body))
	if retry > 0 {
		req.Header.Set("X-Slack-Retry-Num", strconv.Itoa(retry))
		req.Header.Set("X-Slack-Retry-Reason", "http_timeout")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

func (ce *chatEnv) tgTexts() []string {
	var out []string
	for _, m := range ce.tg.Messages() {
		out = append(out, m.Text)
	}
	return out
}

func countText(l []string, s string) int {
	n := 0
	for _, x := range l {
		if strings.Contains(x, s) {
			n++
		}
	}
	return n
}

// TestTelegramChat: a new client writes on Telegram, is asked for their
// phone, shares it and is linked to their card; their messages become a
// conversation mirrored in the centre's Slack thread; staff answer in the
// thread and from the API, and the client receives both on Telegram.
func TestTelegramChat(t *testing.T) {
	for _, b := range backendsFor(t) {
		t.Run(b.Name, func(t *testing.T) { testTelegramChat(t, newChatEnv(t, b.URL)) })
	}
}

func testTelegramChat(t *testing.T, ce *chatEnv) {
	ctx := context.Background()
	// A forged update (wrong or missing secret) is refused, nothing stored.
	for _, secret := range []string{"", "wrong-secret"} {
		if st := ce.update(t, secret, map[string]any{"message": tgMessage(1, map[string]any{"text": "forged"})}); st != 401 {
			t.Fatalf("forged update answered %d, want 401", st)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(ce.tg.Messages()); n != 0 {
		t.Fatalf("a forged update made %d Telegram messages", n)
	}
	// An unknown user writes: they are asked for their phone with a
	// contact-request keyboard.
	if st := ce.update(t, tgSecret, map[string]any{"message": tgMessage(2, map[string]any{"text": "hello"})}); st != 200 {
		t.Fatalf("update answered %d", st)
	}
	waitFor(t, "contact request", 15*time.Second, func() bool { return len(ce.tg.Messages()) > 0 })
	ask := ce.tg.Messages()[0]
	if ask.ChatID != strconv.FormatInt(tgUser, 10) || !strings.Contains(ask.ReplyMarkup, `"request_contact":true`) {
		t.Fatalf("contact request = %+v", ask)
	}
	if l := ce.conversations(ce.key); len(l) != 0 {
		t.Fatalf("an unknown user's message opened a conversation: %+v", l)
	}
	// Someone else's contact links nobody.
	ce.update(t, tgSecret, map[string]any{"message": tgMessage(3, map[string]any{"contact": map[string]any{"phone_number": "33612345678",
		"first_name": "Anna", "user_id": 999}})})
	// Their own contact links them to the card with that phone.
	ce.update(t, tgSecret, map[string]any{"message": tgMessage(4, map[string]any{"contact": map[string]any{"phone_number": "33612345678",
		"first_name": "Anna", "user_id": tgUser}})})
	waitFor(t, "client linked", 15*time.Second, func() bool {
		var c core.Client
		ce.must(200, "GET", "/api/v1/clients/"+ce.client, nil, &c)
		return string(c.TelegramID) == strconv.FormatInt(tgUser, 10)
	})
	var ch core.ChannelSettings
	ce.must(200, "GET", "/api/v1/clients/"+ce.client+"/channels", nil, &ch)
	if len(ch.Channels) == 0 || ch.Channels[0].Channel != core.ChannelTelegram || !ch.Channels[0].Consent {
		t.Fatalf("the card does not list Telegram: %+v", ch)
	}
	// Now their messages make a conversation; a repeated update_id is
	// stored once.
	msg := map[string]any{"update_id": 5000, "message": tgMessage(5, map[string]any{"text": "Can I book Friday?"})}
	for range 3 {
		if st := ce.update(t, tgSecret, msg); st != 200 {
			t.Fatalf("update answered %d", st)
		}
	}
	var conv core.Conversation
	waitFor(t, "conversation", 15*time.Second, func() bool {
		l := ce.conversations(ce.key)
		if len(l) == 1 {
			conv = l[0]
		}
		return len(l) == 1
	})
	if conv.ClientID != ce.client || conv.CenterID != ce.center || conv.Channel != core.ChannelTelegram || !conv.Unread || conv.Status != core.ConversationOpen {
		t.Fatalf("conversation = %+v", conv)
	}
	time.Sleep(300 * time.Millisecond)
	if h := ce.history(conv.ID); len(h) != 1 || h[0].Text != "Can I book Friday?" || h[0].Direction != core.ChatIn {
		t.Fatalf("history = %+v", h)
	}
	// Mirrored to Slack: a thread for the conversation, the message in it.
	var thread string
	waitFor(t, "slack thread", 15*time.Second, func() bool {
		for _, m := range ce.sl.Messages() {
			if m.Params.Get("thread_ts") == "" && strings.Contains(m.Text, "Anna") {
				thread = m.TS
			}
			if thread != "" && m.Params.Get("thread_ts") == thread && strings.Contains(m.Text, "Can I book Friday?") {
				return true
			}
		}
		return false
	})

	// url_verification is answered; a forged Slack request is refused.
	body, _ := json.Marshal(map[string]any{"type": "url_verification", "challenge": "abc123", "token": "x"})
	if st := ce.slackPost(t, slackSecret, body, 0); st != 200 {
		t.Fatalf("url_verification answered %d", st)
	}
	if st := ce.slackEvent(t, "forged-secret", "EvForged", map[string]any{"type": "message", "channel": slackChannel, "user": "U0STAFF",
		"text": "forged", "ts": "1.1", "thread_ts": thread}, 0); st != 401 {
		t.Fatalf("forged Slack event answered %d, want 401", st)
	}
	// A staff reply in the thread, delivered four times (Slack's retries),
	// reaches the client once; the bot's own message never triggers one.
	reply := map[string]any{"type": "message", "channel": slackChannel, "user": "U0STAFF", "text": "Yes, 10:00 works &amp; see you",
		"ts": "1700000000.000100", "thread_ts": thread}
	for i := range 4 {
		if st := ce.slackEvent(t, slackSecret, "Ev0001", reply, i); st != 200 {
			t.Fatalf("slack event answered %d", st)
		}
	}
	ce.slackEvent(t, slackSecret, "Ev0002", map[string]any{"type": "message", "subtype": "bot_message", "bot_id": "B0000BOT",
		"channel": slackChannel, "text": "Client: loop?", "ts": "1700000000.000200", "thread_ts": thread}, 0)
	ce.slackEvent(t, slackSecret, "Ev0003", map[string]any{"type": "message", "user": "U0000BOT",
		"channel": slackChannel, "text": "from our bot user", "ts": "1700000000.000300", "thread_ts": thread}, 0)
	waitFor(t, "slack reply on Telegram", 15*time.Second, func() bool { return countText(ce.tgTexts(), "Yes, 10:00 works & see you") == 1 })
	time.Sleep(time.Second)
	if n := countText(ce.tgTexts(), "10:00 works"); n != 1 {
		t.Fatalf("the Slack reply reached the client %d times, want once", n)
	}
	if n := countText(ce.tgTexts(), "loop?") + countText(ce.tgTexts(), "our bot user"); n != 0 {
		t.Fatalf("the bot's own messages were delivered: %v", ce.tgTexts())
	}

	// A staff reply from the API goes out through the outbox, shows its
	// delivery status in the history and appears in the Slack thread.
	var sent core.ChatMessage
	ce.must(201, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "See you on Friday"}, &sent)
	if sent.OutboxID == "" || sent.Direction != core.ChatOut {
		t.Fatalf("reply = %+v", sent)
	}
	waitFor(t, "API reply on Telegram and in Slack", 15*time.Second, func() bool {
		inSlack := false
		for _, m := range ce.sl.Messages() {
			inSlack = inSlack || m.Params.Get("thread_ts") == thread && strings.Contains(m.Text, "Staff (api): See you on Friday")
		}
		return inSlack && countText(ce.tgTexts(), "See you on Friday") == 1
	})
	waitFor(t, "sent status in the history", 15*time.Second, func() bool {
		for _, m := range ce.history(conv.ID) {
			if m.ID == sent.ID {
				return m.Status == core.MsgSent
			}
		}
		return false
	})
	if n := countText(func() []string {
		var l []string
		for _, m := range ce.sl.Messages() {
			l = append(l, m.Text)
		}
		return l
	}(), "Staff (slack)"); n != 0 {
		t.Errorf("the Slack reply was echoed into its own thread %d times", n)
	}

	// Photos sent together arrive as one message with several attachments;
	// an edit changes the text and keeps them.
	photo := func(id int, file string, caption string) map[string]any {
		extra := map[string]any{"media_group_id": "grp1", "photo": []map[string]any{{"file_id": file + "-small", "file_unique_id": file + "s", "width": 90, "height": 90, "file_size": 100},
			{"file_id": file, "file_unique_id": file, "width": 800, "height": 800, "file_size": 54321}}}
		if caption != "" {
			extra["caption"] = caption
		}
		return map[string]any{"message": tgMessage(id, extra)}
	}
	// The album's second part comes first: the stored message keeps the
	// album's order, and an edit of the first part still finds it.
	ce.update(t, tgSecret, photo(11, "PHOTO2", ""))
	ce.update(t, tgSecret, photo(10, "PHOTO1", "my prescription"))
	ce.update(t, tgSecret, map[string]any{"message": tgMessage(12, map[string]any{"voice": map[string]any{"file_id": "VOICE1", "file_unique_id": "v1",
		"duration": 3, "mime_type": "audio/ogg", "file_size": 2048}})})
	waitFor(t, "media group as one message", 15*time.Second, func() bool {
		for _, m := range ce.history(conv.ID) {
			if m.Text == "my prescription" && len(m.Attachments) == 2 {
				return true
			}
		}
		return false
	})
	ce.update(t, tgSecret, map[string]any{"edited_message": tgMessage(10, map[string]any{"caption": "my prescription (page 1)", "edit_date": time.Now().Unix(),
		"media_group_id": "grp1", "photo": []map[string]any{{"file_id": "PHOTO1", "file_unique_id": "PHOTO1", "width": 800, "height": 800}}})})
	waitFor(t, "edit applied", 15*time.Second, func() bool {
		for _, m := range ce.history(conv.ID) {
			if m.Text == "my prescription (page 1)" {
				if len(m.Attachments) != 2 || m.EditedAt == nil || m.Attachments[0].FileID != "PHOTO1" || m.Attachments[0].Size != 54321 {
					t.Fatalf("edited message = %+v", m)
				}
				return true
			}
		}
		return false
	})
	voice := false
	for _, m := range ce.history(conv.ID) {
		voice = voice || len(m.Attachments) == 1 && m.Attachments[0].Kind == "voice" && m.Attachments[0].FileID == "VOICE1"
	}
	if !voice {
		t.Error("the voice note is not an attachment")
	}

	// Outbound media are uploaded, not URLs.
	ce.must(201, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Your plan",
		"attachments": []map[string]any{{"kind": "document", "name": "plan.pdf", "content_type": "application/pdf", "data": []byte("%PDF-1.4 test")}}}, nil)
	waitFor(t, "document upload", 15*time.Second, func() bool {
		for _, c := range ce.tg.Calls("sendDocument") {
			if c.Params["document#name"] == "plan.pdf" && c.Params["caption"] == "Your plan" {
				return true
			}
		}
		return false
	})

	// Telegram's 429 with retry_after is honoured: the reply waits and
	// goes out once.
	ce.tg.RateLimitNext(1, 1)
	ce.must(201, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "after the rate limit"}, nil)
	waitFor(t, "reply after 429", 20*time.Second, func() bool {
		ce.clock.Set(time.Now()) // the outbox reads due times on the service's clock
		return countText(ce.tgTexts(), "after the rate limit") == 1
	})
	tries := 0
	for _, c := range ce.tg.Calls("sendMessage") {
		if c.Params["text"] == "after the rate limit" {
			tries++
		}
	}
	if tries != 2 {
		t.Errorf("the rate-limited reply was tried %d times, want 2 (429, then sent)", tries)
	}

	// Bad input: an update of a type conversations do not handle is
	// acknowledged; an oversize one is 413; a bad reply is 400.
	if st := ce.update(t, tgSecret, map[string]any{"callback_query": map[string]any{"id": "cb1", "from": map[string]any{"id": tgUser}, "data": "x"}}); st != 200 {
		t.Errorf("unhandled update type answered %d, want 200", st)
	}
	if st := ce.update(t, tgSecret, map[string]any{"message": tgMessage(99, map[string]any{"text": strings.Repeat("x", 2<<20)})}); st != 413 {
		t.Errorf("oversize update answered %d, want 413", st)
	}
	var p problem
	if st := ce.do(ce.key, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": ""}, &p); st != 400 {
		t.Errorf("empty reply answered %d", st)
	}

	// Assignment, reading, closing; a new client message reopens.
	var dirStaff struct {
		Items []core.Staff `json:"items"`
	}
	ce.must(200, "GET", "/api/v1/staff", nil, &dirStaff)
	ce.must(200, "PATCH", "/api/v1/conversations/"+conv.ID, map[string]any{"assigned_to": dirStaff.Items[0].ID, "status": "closed"}, nil)
	ce.must(200, "POST", "/api/v1/conversations/"+conv.ID+"/read", nil, nil)
	var l struct {
		Items []core.Conversation `json:"items"`
	}
	ce.must(200, "GET", "/api/v1/conversations?assigned=me&status=closed", nil, &l)
	if len(l.Items) != 1 || l.Items[0].Unread {
		t.Fatalf("assigned closed read list = %+v", l.Items)
	}
	ce.clock.Set(ce.clock.Now().Add(time.Minute))
	ce.update(t, tgSecret, map[string]any{"message": tgMessage(20, map[string]any{"text": "one more thing"})})
	waitFor(t, "reopened", 15*time.Second, func() bool {
		ce.must(200, "GET", "/api/v1/conversations?unread=true&status=open", nil, &l)
		return len(l.Items) == 1
	})

	// Another centre's administrator sees none of it; a reply is 404.
	var other idOnly
	ce.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Nice", "timezone": "Europe/Paris"}, &other)
	var st core.Staff
	ce.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Admin Nice", "role": "administrator", "center_ids": []string{other.ID}}, &st)
	var k map[string]any
	ce.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "nice", "staff_id": st.ID}, &k)
	nice := k["key"].(string)
	if l := ce.conversations(nice); len(l) != 0 {
		t.Fatalf("centre B's key sees %d conversations", len(l))
	}
	if code := ce.do(nice, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "x"}, nil); code != 404 {
		t.Fatalf("centre B's reply answered %d, want 404", code)
	}
	if code := ce.do(nice, "GET", "/api/v1/conversations/"+conv.ID+"/messages", nil, nil); code != 404 {
		t.Fatalf("centre B's history answered %d, want 404", code)
	}
	_ = ctx
}

// TestChatHistoryForNewStaff: with the organization's setting, a staff
// member added later sees only what happened since, until a director
// grants them the earlier history.
func TestChatHistoryForNewStaff(t *testing.T) {
	ce := newChatEnv(t, "sqlite:"+t.TempDir()+"/gw.db")
	ctx := context.Background()
	org := ce.org
	past := ce.clock.Now()
	if _, _, err := ce.app.Services.Conversations.Receive(ctx, core.ChatReceive{OrgID: org, CenterID: ce.center, ClientID: ce.client,
		Channel: core.ChannelTelegram, Address: "42", Text: "old message", ProviderKey: "tg:42:1", At: past}); err != nil {
		t.Fatal(err)
	}
	ce.must(200, "PUT", "/api/v1/chat-settings", map[string]any{"hide_earlier_history": true}, nil)
	ce.clock.Set(past.Add(time.Hour))
	var st core.Staff
	ce.must(201, "POST", "/api/v1/staff", map[string]any{"name": "New admin", "role": "administrator", "center_ids": []string{ce.center}}, &st)
	var k map[string]any
	ce.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "new", "staff_id": st.ID}, &k)
	newKey := k["key"].(string)
	if l := ce.conversations(newKey); len(l) != 0 {
		t.Fatalf("new staff see an earlier conversation: %+v", l)
	}
	ce.clock.Set(past.Add(2 * time.Hour))
	m, _, err := ce.app.Services.Conversations.Receive(ctx, core.ChatReceive{OrgID: org, CenterID: ce.center, ClientID: ce.client,
		Channel: core.ChannelTelegram, Address: "42", Text: "new message", ProviderKey: "tg:42:2", At: past.Add(2 * time.Hour)})
	if err != nil {
		t.Fatal(err)
	}
	var h struct {
		Items []core.ChatMessage `json:"items"`
	}
	if code := ce.do(newKey, "GET", "/api/v1/conversations/"+m.ConversationID+"/messages", nil, &h); code != 200 || len(h.Items) != 1 || h.Items[0].Text != "new message" {
		t.Fatalf("new staff history = %d %+v", code, h.Items)
	}
	if code := ce.do(newKey, "PUT", "/api/v1/staff/"+st.ID+"/chat-history", map[string]any{"granted": true}, nil); code != 403 {
		t.Fatalf("a non-director granting history answered %d", code)
	}
	ce.must(200, "PUT", "/api/v1/staff/"+st.ID+"/chat-history", map[string]any{"granted": true}, nil)
	if code := ce.do(newKey, "GET", "/api/v1/conversations/"+m.ConversationID+"/messages", nil, &h); code != 200 || len(h.Items) != 2 {
		t.Fatalf("granted history = %d %+v", code, h.Items)
	}
}

// mediaRecorder is an HTTP server that records the Authorization headers
// it receives.
type mediaRecorder struct {
	srv  *httptest.Server
	mu   sync.Mutex
	auth []string
}

func newMediaRecorder(t *testing.T) *mediaRecorder {
	r := &mediaRecorder{}
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		r.mu.Lock()
		r.auth = append(r.auth, req.Header.Get("Authorization"))
		r.mu.Unlock()
		w.Header().Set("Content-Type", "image/jpeg")
		w.Header().Set("Content-Length", "4096")
		w.WriteHeader(200)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *mediaRecorder) seen() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.auth...)
}

// TestWhatsAppChat: WhatsApp messages that are not reply words become a
// conversation of the centre owning the number; one client whatever the
// number's format; replies go out within 24 hours and are refused clearly
// after, with a content template as the way out; forged media hosts never
// receive the credentials.
func TestWhatsAppChat(t *testing.T) {
	for _, b := range backendsFor(t) {
		t.Run(b.Name, func(t *testing.T) {
			twilioMedia := newMediaRecorder(t)
			forged := newMediaRecorder(t)
			e, fake := twilioEnvWith(t, b.URL, map[string]string{"TWILIO_MEDIA_HOSTS": twilioMedia.srv.URL, "GATEWAY_RATE_WHATSAPP": "off"})
			if err := e.app.StartWorker(); err != nil {
				t.Fatal(err)
			}
			const number = "+33612000001"
			var c idOnly
			e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Buenos Aires", "timezone": "America/Argentina/Buenos_Aires", "sms_from": number}, &c)
			var cl idOnly
			e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Lucía", "phone": "+5491123456789", "center_ids": []string{c.ID}}, &cl)

			post := func(sid, body string, media ...string) {
				t.Helper()
				u := e.app.Config.PublicURL + "/webhooks/twilio/sms"
				form := map[string][]string{"MessageSid": {sid}, "From": {"whatsapp:+541123456789"}, "To": {"whatsapp:" + number},
					"Body": {body}, "AccountSid": {twSID}, "NumMedia": {strconv.Itoa(len(media))}}
				for i, m := range media {
					form["MediaUrl"+strconv.Itoa(i)] = []string{m}
					form["MediaContentType"+strconv.Itoa(i)] = []string{"image/jpeg"}
				}
				resp, err := fake.PostSigned(context.Background(), u, form)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != 200 {
					t.Fatalf("inbound %s: %d", sid, resp.StatusCode)
				}
			}
			post("SM00000000000000000000000000000001", "Hola, ¿tienen turno el lunes?",
				twilioMedia.srv.URL+"/2010-04-01/Accounts/"+twSID+"/Messages/MM1/Media/ME1", forged.srv.URL+"/steal")
			var conv core.Conversation
			waitFor(t, "whatsapp conversation", 15*time.Second, func() bool {
				var l struct {
					Items []core.Conversation `json:"items"`
				}
				e.must(200, "GET", "/api/v1/conversations", nil, &l)
				if len(l.Items) == 1 {
					conv = l.Items[0]
				}
				return len(l.Items) == 1
			})
			// One client: whatsapp:+54… matched the card's +549….
			if conv.ClientID != cl.ID || conv.Address != "+5491123456789" || conv.CenterID != c.ID || !conv.WindowOpen {
				t.Fatalf("conversation = %+v (client %s)", conv, cl.ID)
			}
			var clients struct {
				Items []core.Client `json:"items"`
			}
			e.must(200, "GET", "/api/v1/clients", nil, &clients)
			if len(clients.Items) != 1 {
				t.Fatalf("the WhatsApp client became %d cards", len(clients.Items))
			}
			// Credentials went to the Twilio media host only.
			if got := forged.seen(); len(got) != 0 {
				t.Fatalf("the forged media host was called: %q", got)
			}
			if got := twilioMedia.seen(); len(got) != 1 || !strings.HasPrefix(got[0], "Basic ") {
				t.Fatalf("the Twilio media host got %q", got)
			}
			var h struct {
				Items []core.ChatMessage `json:"items"`
			}
			e.must(200, "GET", "/api/v1/conversations/"+conv.ID+"/messages", nil, &h)
			if len(h.Items) != 1 || len(h.Items[0].Attachments) != 2 || h.Items[0].Attachments[0].Size != 4096 || !h.Items[0].Attachments[1].Untrusted {
				t.Fatalf("history = %+v", h.Items)
			}
			var ch core.ChannelSettings
			e.must(200, "GET", "/api/v1/clients/"+cl.ID+"/channels", nil, &ch)
			if len(ch.Channels) != 1 || ch.Channels[0].Channel != core.ChannelWhatsApp || !ch.Channels[0].Consent {
				t.Fatalf("the first message did not subscribe the client to WhatsApp: %+v", ch)
			}

			// A reply within the window goes out from the centre's number,
			// and the delivery status Twilio reports shows in the history.
			var r core.ChatMessage
			e.must(201, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "Sí, a las 10"}, &r)
			waitFor(t, "whatsapp reply", 15*time.Second, func() bool { return len(fake.Messages()) == 1 })
			m := fake.Messages()[0]
			if m.To != "whatsapp:+5491123456789" || m.From != "whatsapp:"+number || m.Body != "Sí, a las 10" {
				t.Fatalf("twilio got %+v", m)
			}
			waitFor(t, "sent", 15*time.Second, func() bool {
				e.must(200, "GET", "/api/v1/conversations/"+conv.ID+"/messages", nil, &h)
				return h.Items[len(h.Items)-1].Status == core.MsgSent
			})
			if err := fake.SendStatusCallback(context.Background(), m.SID, "delivered", 0); err != nil {
				t.Fatal(err)
			}
			waitFor(t, "the delivery in the history", 15*time.Second, func() bool { // applied by the status task
				e.must(200, "GET", "/api/v1/conversations/"+conv.ID+"/messages", nil, &h)
				return h.Items[len(h.Items)-1].Status == core.MsgDelivered
			})
			if last := h.Items[len(h.Items)-1]; last.ID != r.ID || last.Status != core.MsgDelivered {
				t.Fatalf("delivery not in the history: %+v", last)
			}

			// 25 hours later a free-text reply is refused clearly (409) and
			// writes nothing; a content template goes out.
			e.clock.Set(e.clock.Now().Add(25 * time.Hour))
			fake.CloseWindow("whatsapp:+5491123456789")
			var p problem
			if code := e.do(e.key, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"text": "¿Sigue ahí?"}, &p); code != 409 ||
				!p.kinds()["whatsapp_window"] || !strings.Contains(p.Detail, "24 hours") {
				t.Fatalf("late reply = %d %+v", code, p)
			}
			e.must(200, "GET", "/api/v1/conversations/"+conv.ID+"/messages", nil, &h)
			if len(h.Items) != 2 {
				t.Fatalf("a refused reply was written: %+v", h.Items)
			}
			// (The queue schedules sends by the wall clock: back to it, with
			// Twilio still refusing free text to this recipient.)
			e.clock.Set(time.Now())
			tpl := "HX" + strings.Repeat("ab", 16)
			e.must(201, "POST", "/api/v1/conversations/"+conv.ID+"/messages", map[string]any{"template_sid": tpl,
				"template_variables": map[string]string{"1": "Lucía"}}, nil)
			waitFor(t, "template sent", 15*time.Second, func() bool { return len(fake.Messages()) == 2 })
			if f := fake.Messages()[1].Form; f.Get("ContentSid") != tpl || f.Get("Body") != "" || f.Get("ContentVariables") != `{"1":"Lucía"}` {
				t.Fatalf("template message = %v", f)
			}

			// A reply word to nothing is a chat message; the existing SMS
			// reply handling is untouched (its own tests).
			post("SM00000000000000000000000000000002", "si")
			waitFor(t, "reply word as chat", 15*time.Second, func() bool {
				e.must(200, "GET", "/api/v1/conversations/"+conv.ID+"/messages", nil, &h)
				return len(h.Items) == 4 && h.Items[3].Text == "si"
			})
		})
	}
}
