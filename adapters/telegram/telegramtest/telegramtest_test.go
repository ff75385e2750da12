package telegramtest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/bookinggw/gateway/adapters/telegram/telegramtest"
)

const token = "1:tok"

func post(t *testing.T, url, ct, body string) map[string]any {
	t.Helper()
	resp, err := http.Post(url, ct, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	var out map[string]any
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		t.Fatal(err)
	}
	return out
}

// The Bot API accepts JSON bodies as well as forms.
func TestJSONBody(t *testing.T) {
	f := telegramtest.New(t, token)
	out := post(t, f.URL+"/bot"+token+"/sendMessage", "application/json",
		`{"chat_id":42,"text":"hi","reply_markup":{"inline_keyboard":[[{"text":"A","callback_data":"a"}]]}}`)
	if out["ok"] != true {
		t.Fatalf("answer %v", out)
	}
	m := f.Messages()[0]
	if m.ChatID != "42" || m.Text != "hi" || len(m.Keyboard) != 1 || m.Keyboard[0][0].CallbackData != "a" {
		t.Fatalf("recorded %+v", m)
	}
}

func TestEnvelopeErrors(t *testing.T) {
	f := telegramtest.New(t, token)
	f.RateLimitNext(1, 3)
	out := post(t, f.URL+"/bot"+token+"/sendMessage", "application/x-www-form-urlencoded", "chat_id=1&text=x")
	if out["ok"] != false || out["error_code"] != float64(429) || out["parameters"].(map[string]any)["retry_after"] != float64(3) {
		t.Fatalf("429 answer %v", out)
	}
	out = post(t, f.URL+"/botWRONG/getMe", "application/x-www-form-urlencoded", "")
	if out["error_code"] != float64(401) || out["description"] != "Unauthorized" {
		t.Fatalf("401 answer %v", out)
	}
	out = post(t, f.URL+"/bot"+token+"/noSuchMethod", "application/x-www-form-urlencoded", "")
	if out["error_code"] != float64(404) {
		t.Fatalf("404 answer %v", out)
	}
	out = post(t, f.URL+"/bot"+token+"/sendMessage", "application/x-www-form-urlencoded", "chat_id=1")
	if out["error_code"] != float64(400) || out["description"] != "Bad Request: message text is empty" {
		t.Fatalf("400 answer %v", out)
	}
}

// The real library can answer callback queries against the fake.
func TestLibraryCallbackAnswer(t *testing.T) {
	f := telegramtest.New(t, token)
	bot, err := tgbotapi.NewBotAPIWithClient(token, f.Endpoint(), http.DefaultClient)
	if err != nil {
		t.Fatal(err)
	}
	if bot.Self.UserName != telegramtest.Bot.UserName {
		t.Fatalf("getMe = %+v", bot.Self)
	}
	if _, err := bot.Request(tgbotapi.NewCallback("cbq-1", "Confirmed")); err != nil {
		t.Fatal(err)
	}
	calls := f.Calls("answerCallbackQuery")
	if len(calls) != 1 || calls[0].Params["callback_query_id"] != "cbq-1" || calls[0].Params["text"] != "Confirmed" {
		t.Fatalf("calls = %+v", calls)
	}
}

func TestPostUpdate(t *testing.T) {
	var gotSecret string
	var got tgbotapi.Update
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		gotSecret = r.Header.Get("X-Telegram-Bot-Api-Secret-Token")
		body, _ := io.ReadAll(r.Body)
		_ = json.Unmarshal(body, &got)
	}))
	defer hook.Close()
	upd := tgbotapi.Update{UpdateID: 7, CallbackQuery: &tgbotapi.CallbackQuery{ID: "cbq", Data: "confirm:1",
		From: &tgbotapi.User{ID: 42}, Message: &tgbotapi.Message{MessageID: 3, Chat: &tgbotapi.Chat{ID: 42}}}}
	resp, err := telegramtest.PostUpdate(context.Background(), hook.URL, "s3cret", upd)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if gotSecret != "s3cret" || got.UpdateID != 7 || got.CallbackQuery.Data != "confirm:1" {
		t.Fatalf("hook got secret %q update %+v", gotSecret, got)
	}
}
