// Package telegramtest is a fake Telegram Bot API for tests: an httptest
// server answering /bot<token>/<method> with the Bot API's JSON envelope
// ({"ok":true,"result":…} / {"ok":false,"error_code":…,"description":…}),
// accepting parameters as the Bot API does (query string, urlencoded or
// multipart form, or a JSON body), and recording sent messages with their
// reply_markup. Point the telegram adapter's Config.APIEndpoint at
// Server.Endpoint().
//
// Methods: getMe, sendMessage, sendPhoto, sendDocument, sendVoice,
// sendVideo, sendAudio (uploads only), answerCallbackQuery, editMessageText,
// editMessageReplyMarkup (refusing an edit that changes nothing with "message
// is not modified", as Telegram does), sendChatAction, setWebhook,
// deleteWebhook. Knobs make a chat
// blocked (403), deactivated (403), not found (400), or make the next sends
// rate limited (429 with parameters.retry_after) or fail (5xx).
package telegramtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"mime"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Bot API descriptions the knobs answer with.
const (
	DescBlocked      = "Forbidden: bot was blocked by the user"
	DescDeactivated  = "Forbidden: user is deactivated"
	DescChatNotFound = "Bad Request: chat not found"
	DescNotModified  = "Bad Request: message is not modified: specified new message content and reply markup are exactly the same as a current content and reply markup of the message"
)

// Bot is the identity getMe answers.
var Bot = struct {
	ID        int64
	FirstName string
	UserName  string
}{ID: 7000000001, FirstName: "Gateway Test Bot", UserName: "gateway_test_bot"}

// Button is one inline keyboard button as received.
type Button struct {
	Text         string `json:"text"`
	CallbackData string `json:"callback_data,omitempty"`
	URL          string `json:"url,omitempty"`
}

// Message is one message the fake accepted through sendMessage.
type Message struct {
	MessageID   int
	ChatID      string // as received: "123456789" or "@channel"
	Text        string
	ParseMode   string
	ReplyMarkup string     // the reply_markup JSON as received; empty if none
	Keyboard    [][]Button // its inline_keyboard, parsed
	Params      map[string]string
	At          time.Time
	Edits       int // editMessageText/editMessageReplyMarkup calls that changed it
}

// Call is one API call the fake received (any method, failed ones too).
type Call struct {
	Method string
	Params map[string]string
}

type failure struct {
	code       int
	desc       string
	retryAfter int
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	URL   string // base URL, e.g. http://127.0.0.1:41234
	Token string

	srv *httptest.Server

	mu       sync.Mutex
	nextID   int
	messages []Message
	calls    []Call
	chats    map[string]failure // per chat_id
	failNext []failure          // for the next sendMessage calls
}

// New starts a fake bot API for token; it stops when the test ends.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{Token: token, chats: map[string]failure{}}
	s.srv = httptest.NewServer(http.HandlerFunc(s.serve))
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Endpoint is the value for the adapter's Config.APIEndpoint:
// URL + "/bot%s/%s".
func (s *Server) Endpoint() string { return s.URL + "/bot%s/%s" }

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.Params = maps.Clone(m.Params)
		out[i] = m
	}
	return out
}

// Calls returns every call received, oldest first; with a method name, only
// the calls of that method.
func (s *Server) Calls(method ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(method) == 0 || c.Method == method[0] {
			out = append(out, Call{Method: c.Method, Params: maps.Clone(c.Params)})
		}
	}
	return out
}

// Block makes sendMessage to chatID answer 403 "Forbidden: bot was blocked
// by the user".
func (s *Server) Block(chatID string) { s.FailChat(chatID, http.StatusForbidden, DescBlocked) }

// Deactivate makes sendMessage to chatID answer 403 "Forbidden: user is
// deactivated".
func (s *Server) Deactivate(chatID string) {
	s.FailChat(chatID, http.StatusForbidden, DescDeactivated)
}

// ChatNotFound makes sendMessage to chatID answer 400 "Bad Request: chat not
// found".
func (s *Server) ChatNotFound(chatID string) {
	s.FailChat(chatID, http.StatusBadRequest, DescChatNotFound)
}

// FailChat makes every sendMessage to chatID fail with code and
// description; code 0 clears it.
func (s *Server) FailChat(chatID string, code int, description string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if code == 0 {
		delete(s.chats, chatID)
		return
	}
	s.chats[chatID] = failure{code: code, desc: description}
}

// RateLimitNext makes the next n sendMessage calls answer 429 "Too Many
// Requests: retry after <retryAfter>" with parameters.retry_after (and a
// Retry-After header).
func (s *Server) RateLimitNext(n, retryAfter int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, failure{code: http.StatusTooManyRequests,
			desc: fmt.Sprintf("Too Many Requests: retry after %d", retryAfter), retryAfter: retryAfter})
	}
}

// FailNext makes the next n sendMessage calls fail with code (e.g. 500, 502)
// and description (empty: "Internal Server Error").
func (s *Server) FailNext(n, code int, description string) {
	if description == "" {
		description = "Internal Server Error"
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, failure{code: code, desc: description})
	}
}

// Reset forgets messages, calls and knobs.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages, s.calls, s.failNext = nil, nil, nil
	s.chats = map[string]failure{}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	rest, ok := strings.CutPrefix(r.URL.Path, "/bot")
	token, method, ok2 := strings.Cut(rest, "/")
	if !ok || !ok2 || method == "" || strings.Contains(method, "/") {
		writeErr(w, failure{code: http.StatusNotFound, desc: "Not Found"})
		return
	}
	if token != s.Token {
		writeErr(w, failure{code: http.StatusUnauthorized, desc: "Unauthorized"})
		return
	}
	params, err := readParams(r)
	if err != nil {
		writeErr(w, failure{code: http.StatusBadRequest, desc: "Bad Request: " + err.Error()})
		return
	}
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Params: maps.Clone(params)})
	s.mu.Unlock()

	switch method {
	case "getMe":
		writeOK(w, map[string]any{
			"id": Bot.ID, "is_bot": true, "first_name": Bot.FirstName, "username": Bot.UserName,
			"can_join_groups": true, "can_read_all_group_messages": false, "supports_inline_queries": false,
		})
	case "sendMessage":
		s.sendMessage(w, params)
	case "editMessageText", "editMessageReplyMarkup":
		s.editMessage(w, method, params)
	case "sendPhoto", "sendDocument", "sendVoice", "sendVideo", "sendAudio":
		s.sendFile(w, method, params)
	case "answerCallbackQuery", "setWebhook", "deleteWebhook", "sendChatAction":
		writeOK(w, true)
	default:
		writeErr(w, failure{code: http.StatusNotFound, desc: "Not Found"})
	}
}

func (s *Server) sendMessage(w http.ResponseWriter, p map[string]string) {
	chatID, text := p["chat_id"], p["text"]
	switch {
	case chatID == "":
		writeErr(w, failure{code: 400, desc: "Bad Request: chat_id is empty"})
		return
	case text == "":
		writeErr(w, failure{code: 400, desc: "Bad Request: message text is empty"})
		return
	}
	keyboard, bad := parseKeyboard(p["reply_markup"])
	if bad != nil {
		writeErr(w, *bad)
		return
	}

	s.mu.Lock()
	f, failing := s.chats[chatID]
	if !failing && len(s.failNext) > 0 {
		f, failing = s.failNext[0], true
		s.failNext = s.failNext[1:]
	}
	var m Message
	if !failing {
		s.nextID++
		m = Message{MessageID: s.nextID, ChatID: chatID, Text: text, ParseMode: p["parse_mode"],
			ReplyMarkup: p["reply_markup"], Keyboard: keyboard, Params: maps.Clone(p), At: time.Now()}
		s.messages = append(s.messages, m)
	}
	s.mu.Unlock()
	if failing {
		writeErr(w, f)
		return
	}

	res := map[string]any{"message_id": m.MessageID, "from": botUser(), "chat": chat(chatID),
		"date": m.At.Unix(), "text": text}
	if m.ReplyMarkup != "" {
		res["reply_markup"] = json.RawMessage(m.ReplyMarkup)
	}
	writeOK(w, res)
}

// fileFields names the file parameter of each upload method.
var fileFields = map[string]string{"sendPhoto": "photo", "sendDocument": "document", "sendVoice": "voice", "sendVideo": "video", "sendAudio": "audio"}

// sendFile accepts an uploaded file only: the gateway must upload media,
// never hand Telegram a URL to fetch, so a file given as text (a URL or a
// file_id) is refused here. The message is recorded with Params holding
// "<field>#name" and "<field>#size" of the upload and Text its caption.
func (s *Server) sendFile(w http.ResponseWriter, method string, p map[string]string) {
	field := fileFields[method]
	chatID := p["chat_id"]
	switch {
	case chatID == "":
		writeErr(w, failure{code: 400, desc: "Bad Request: chat_id is empty"})
		return
	case p[field+"#size"] == "":
		writeErr(w, failure{code: 400, desc: "Bad Request: the test server accepts uploaded files only, not URLs or file ids"})
		return
	}
	s.mu.Lock()
	f, failing := s.chats[chatID]
	var m Message
	if !failing {
		s.nextID++
		m = Message{MessageID: s.nextID, ChatID: chatID, Text: p["caption"], Params: maps.Clone(p), At: time.Now()}
		s.messages = append(s.messages, m)
	}
	s.mu.Unlock()
	if failing {
		writeErr(w, f)
		return
	}
	writeOK(w, map[string]any{"message_id": m.MessageID, "from": botUser(), "chat": chat(chatID), "date": m.At.Unix(), "caption": m.Text})
}

// parseKeyboard reads an inline keyboard as the Bot API checks it:
// callback_data is at most 64 bytes.
func parseKeyboard(km string) ([][]Button, *failure) {
	if km == "" {
		return nil, nil
	}
	var markup struct {
		InlineKeyboard [][]Button `json:"inline_keyboard"`
	}
	if err := json.Unmarshal([]byte(km), &markup); err != nil {
		return nil, &failure{code: 400, desc: "Bad Request: can't parse reply keyboard markup JSON object"}
	}
	for _, row := range markup.InlineKeyboard {
		for _, b := range row {
			switch {
			case b.Text == "":
				return nil, &failure{code: 400, desc: "Bad Request: text buttons are unallowed in the inline keyboard"}
			case b.URL == "" && b.CallbackData == "":
				return nil, &failure{code: 400, desc: "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard"}
			case len(b.CallbackData) > 64:
				return nil, &failure{code: 400, desc: "Bad Request: BUTTON_DATA_INVALID"}
			}
		}
	}
	return markup.InlineKeyboard, nil
}

// editMessage edits a message the fake sent as the Bot API does: an edit
// that changes neither the text nor the keyboard is refused with "message
// is not modified"; a message it never sent is edited blindly (tests that
// start mid-conversation). The edit replaces the recorded text and
// keyboard, and Edits counts it.
func (s *Server) editMessage(w http.ResponseWriter, method string, p map[string]string) {
	id, _ := strconv.Atoi(p["message_id"])
	if p["chat_id"] == "" || id == 0 {
		writeErr(w, failure{code: 400, desc: "Bad Request: message to edit not found"})
		return
	}
	keyboard, bad := parseKeyboard(p["reply_markup"])
	if bad != nil {
		writeErr(w, *bad)
		return
	}
	s.mu.Lock()
	text := p["text"]
	for i := range s.messages {
		m := &s.messages[i]
		if m.MessageID != id || m.ChatID != p["chat_id"] {
			continue
		}
		if method == "editMessageReplyMarkup" {
			text = m.Text
		}
		if text == m.Text && sameMarkup(p["reply_markup"], m.ReplyMarkup) {
			s.mu.Unlock()
			writeErr(w, failure{code: 400, desc: DescNotModified})
			return
		}
		m.Text, m.ReplyMarkup, m.Keyboard = text, p["reply_markup"], keyboard
		m.Edits++
	}
	s.mu.Unlock()
	res := map[string]any{"message_id": id, "from": botUser(), "chat": chat(p["chat_id"]),
		"date": time.Now().Unix(), "edit_date": time.Now().Unix(), "text": text}
	if km := p["reply_markup"]; km != "" {
		res["reply_markup"] = json.RawMessage(km)
	}
	writeOK(w, res)
}

// sameMarkup compares two reply_markup JSON texts by value ("" and an
// empty keyboard are the same).
func sameMarkup(a, b string) bool {
	norm := func(s string) string {
		var v struct {
			InlineKeyboard [][]Button `json:"inline_keyboard"`
		}
		if s == "" || json.Unmarshal([]byte(s), &v) != nil || len(v.InlineKeyboard) == 0 {
			return ""
		}
		out, _ := json.Marshal(v.InlineKeyboard)
		return string(out)
	}
	return norm(a) == norm(b)
}

// Message returns the message of chatID with id as it is now (after
// edits); false when the fake never sent it.
func (s *Server) Message(chatID string, id int) (Message, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, m := range s.messages {
		if m.ChatID == chatID && m.MessageID == id {
			m.Params = maps.Clone(m.Params)
			return m, true
		}
	}
	return Message{}, false
}

func botUser() map[string]any {
	return map[string]any{"id": Bot.ID, "is_bot": true, "first_name": Bot.FirstName, "username": Bot.UserName}
}

func chat(id string) map[string]any {
	if n, err := strconv.ParseInt(id, 10, 64); err == nil {
		if n < 0 {
			return map[string]any{"id": n, "type": "supergroup", "title": "Test group"}
		}
		return map[string]any{"id": n, "type": "private", "first_name": "Test"}
	}
	return map[string]any{"id": -1001000000000, "type": "channel", "title": "Test channel", "username": strings.TrimPrefix(id, "@")}
}

// readParams merges the query string with an urlencoded, multipart or JSON
// body, as the Bot API accepts them. JSON values that are not strings keep
// their JSON text (chat_id 42 → "42", reply_markup {…} → "{…}").
func readParams(r *http.Request) (map[string]string, error) {
	out := map[string]string{}
	for k := range r.URL.Query() {
		out[k] = r.URL.Query().Get(k)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	switch ct {
	case "application/json":
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			return nil, err
		}
		if len(bytes.TrimSpace(body)) == 0 {
			return out, nil
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, fmt.Errorf("can't parse JSON body")
		}
		for k, raw := range obj {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				out[k] = str
			} else {
				out[k] = string(raw)
			}
		}
	case "multipart/form-data":
		if err := r.ParseMultipartForm(10 << 20); err != nil {
			return nil, err
		}
		for k, v := range r.MultipartForm.Value {
			if len(v) > 0 {
				out[k] = v[0]
			}
		}
		for k, fh := range r.MultipartForm.File {
			if len(fh) > 0 {
				out[k+"#name"] = fh[0].Filename
				out[k+"#size"] = strconv.FormatInt(fh[0].Size, 10)
			}
		}
	default:
		if err := r.ParseForm(); err != nil {
			return nil, err
		}
		for k := range r.PostForm {
			out[k] = r.PostForm.Get(k)
		}
	}
	return out, nil
}

func writeOK(w http.ResponseWriter, result any) {
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "result": result})
}

func writeErr(w http.ResponseWriter, f failure) {
	body := map[string]any{"ok": false, "error_code": f.code, "description": f.desc}
	if f.retryAfter > 0 {
		body["parameters"] = map[string]any{"retry_after": f.retryAfter}
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
	}
	writeJSON(w, f.code, body)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// PostUpdate delivers update (a tgbotapi.Update or any JSON-encodable value)
// to a webhook as Telegram does: a JSON POST carrying
// X-Telegram-Bot-Api-Secret-Token when secretToken is set. The caller closes
// the response body.
func PostUpdate(ctx context.Context, webhookURL, secretToken string, update any) (*http.Response, error) {
	body, err := json.Marshal(update)
	if err != nil {
		return nil, err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, webhookURL, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	if secretToken != "" {
		req.Header.Set("X-Telegram-Bot-Api-Secret-Token", secretToken)
	}
	return http.DefaultClient.Do(req)
}
