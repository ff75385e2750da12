package telegram_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/bookinggw/gateway/adapters/telegram"
	"github.com/bookinggw/gateway/adapters/telegram/telegramtest"
	"github.com/bookinggw/gateway/core"
)

const token = "123456789:AAF-s3cr3t_T0ken-abcdefghijklmnopqrs"

func newSender(t *testing.T, endpoint string) *telegram.Sender {
	t.Helper()
	s, err := telegram.New(telegram.Config{Token: token, APIEndpoint: endpoint})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendSuccess(t *testing.T) {
	tests := []struct {
		name         string
		out          core.Outbound
		wantChat     string
		wantMarkup   string
		wantKeyboard [][]telegramtest.Button
	}{
		{
			name:     "plain text",
			out:      core.Outbound{ID: "o1", Channel: core.ChannelTelegram, To: "987654321", Text: "Напоминание: завтра в 10:00"},
			wantChat: "987654321",
		},
		{
			name: "inline keyboard",
			out: core.Outbound{ID: "o2", Channel: core.ChannelTelegram, To: "987654321", Text: "Confirm your visit?",
				Buttons: []core.Button{
					{Text: "✅ Confirm", Data: "confirm:apt_42"},
					{Text: "Cancel", Data: "cancel:apt_42"},
					{Text: "Reschedule", URL: "https://gw.example.com/r/apt_42"},
					{Text: "ok"},
				}},
			wantChat:   "987654321",
			wantMarkup: `{"inline_keyboard":[[{"text":"✅ Confirm","callback_data":"confirm:apt_42"}],[{"text":"Cancel","callback_data":"cancel:apt_42"}],[{"text":"Reschedule","url":"https://gw.example.com/r/apt_42"}],[{"text":"ok","callback_data":"ok"}]]}`,
			wantKeyboard: [][]telegramtest.Button{
				{{Text: "✅ Confirm", CallbackData: "confirm:apt_42"}},
				{{Text: "Cancel", CallbackData: "cancel:apt_42"}},
				{{Text: "Reschedule", URL: "https://gw.example.com/r/apt_42"}},
				{{Text: "ok", CallbackData: "ok"}},
			},
		},
		{
			name:     "channel username, empty channel field",
			out:      core.Outbound{ID: "o3", To: "@gateway_news", Text: "hello"},
			wantChat: "@gateway_news",
		},
		{
			name:     "group chat id",
			out:      core.Outbound{ID: "o4", Channel: core.ChannelTelegram, To: "-1001234567890", Text: "hello"},
			wantChat: "-1001234567890",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := telegramtest.New(t, token)
			s := newSender(t, fake.Endpoint())
			sent, err := s.Send(context.Background(), tt.out)
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("fake got %d messages", len(msgs))
			}
			m := msgs[0]
			if sent.ProviderID != fmt.Sprint(m.MessageID) || sent.Status != "sent" {
				t.Errorf("sent = %+v, fake message id %d", sent, m.MessageID)
			}
			if m.ChatID != tt.wantChat || m.Text != tt.out.Text || m.ParseMode != "" {
				t.Errorf("fake received %+v", m)
			}
			if m.ReplyMarkup != tt.wantMarkup {
				t.Errorf("reply_markup =\n%s\nwant\n%s", m.ReplyMarkup, tt.wantMarkup)
			}
			if fmt.Sprint(m.Keyboard) != fmt.Sprint(tt.wantKeyboard) {
				t.Errorf("keyboard = %v, want %v", m.Keyboard, tt.wantKeyboard)
			}
		})
	}
}

func TestGetMeOnceThenCached(t *testing.T) {
	fake := telegramtest.New(t, token)
	s := newSender(t, fake.Endpoint())
	if len(fake.Calls()) != 0 {
		t.Fatal("New made a network call")
	}
	for i := range 3 {
		sent, err := s.Send(context.Background(), core.Outbound{To: "42", Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		if sent.ProviderID != fmt.Sprint(i+1) {
			t.Fatalf("ProviderID = %s", sent.ProviderID)
		}
	}
	if n := len(fake.Calls("getMe")); n != 1 {
		t.Fatalf("getMe called %d times", n)
	}
	if n := len(fake.Calls("sendMessage")); n != 3 {
		t.Fatalf("sendMessage called %d times", n)
	}
}

// A getMe that fails is retried on the next Send.
func TestGetMeFailureIsRetried(t *testing.T) {
	fake := telegramtest.New(t, token)
	target, _ := url.Parse(fake.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	var down atomic.Bool
	down.Store(true)
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			http.Error(w, "<html>502 Bad Gateway</html>", http.StatusBadGateway)
			return
		}
		proxy.ServeHTTP(w, r)
	}))
	defer front.Close()
	s := newSender(t, front.URL+"/bot%s/%s")
	_, err := s.Send(context.Background(), core.Outbound{To: "42", Text: "hi"})
	if se := asSendError(t, err); se.Permanent || se.Code != "502" {
		t.Fatalf("err = %+v", se)
	}
	assertNoSecret(t, err)
	down.Store(false)
	if _, err := s.Send(context.Background(), core.Outbound{To: "42", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if n := len(fake.Calls("getMe")); n != 1 {
		t.Fatalf("getMe reached the fake %d times", n)
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*telegramtest.Server)
		token      string
		permanent  bool
		code       string
		desc       string
		retryAfter time.Duration
	}{
		{name: "blocked", setup: func(f *telegramtest.Server) { f.Block("42") }, permanent: true, code: "403", desc: telegramtest.DescBlocked},
		{name: "deactivated", setup: func(f *telegramtest.Server) { f.Deactivate("42") }, permanent: true, code: "403", desc: telegramtest.DescDeactivated},
		{name: "chat not found", setup: func(f *telegramtest.Server) { f.ChatNotFound("42") }, permanent: true, code: "400", desc: telegramtest.DescChatNotFound},
		{name: "rate limited", setup: func(f *telegramtest.Server) { f.RateLimitNext(1, 17) }, code: "429", desc: "retry after 17", retryAfter: 17 * time.Second},
		{name: "500", setup: func(f *telegramtest.Server) { f.FailNext(1, 500, "") }, code: "500", desc: "Internal Server Error"},
		{name: "502", setup: func(f *telegramtest.Server) { f.FailNext(1, 502, "Bad Gateway") }, code: "502", desc: "Bad Gateway"},
		{name: "wrong token", token: "999:wrong-token-value", permanent: true, code: "401", desc: "Unauthorized"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := telegramtest.New(t, token)
			if tt.setup != nil {
				tt.setup(fake)
			}
			tok := token
			if tt.token != "" {
				tok = tt.token
			}
			s, err := telegram.New(telegram.Config{Token: tok, APIEndpoint: fake.Endpoint()})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), core.Outbound{To: "42", Text: "hi"})
			se := asSendError(t, err)
			if se.Permanent != tt.permanent || se.Code != tt.code || se.RetryAfter != tt.retryAfter || !strings.Contains(err.Error(), tt.desc) {
				t.Fatalf("got %+v (%v), want permanent=%v code=%s retryAfter=%v desc %q",
					se, err, tt.permanent, tt.code, tt.retryAfter, tt.desc)
			}
			assertNoSecret(t, err, tok)
			if len(fake.Messages()) != 0 {
				t.Fatal("fake accepted the message")
			}
		})
	}
}

func TestInvalidOutbound(t *testing.T) {
	fake := telegramtest.New(t, token)
	s := newSender(t, fake.Endpoint())
	for name, m := range map[string]core.Outbound{
		"not a chat id":     {To: "+33612345678", Text: "hi"},
		"empty recipient":   {Text: "hi"},
		"empty text":        {To: "42"},
		"wrong channel":     {Channel: core.ChannelSMS, To: "42", Text: "hi"},
		"callback too long": {To: "42", Text: "hi", Buttons: []core.Button{{Text: "x", Data: strings.Repeat("d", 65)}}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := s.Send(context.Background(), m)
			if se := asSendError(t, err); !se.Permanent || se.Code != "invalid_request" {
				t.Fatalf("err = %+v", se)
			}
		})
	}
	if n := len(fake.Calls()); n != 0 {
		t.Fatalf("%d calls reached the fake", n)
	}
}

func TestContextDeadlineIsTemporaryAndScrubbed(t *testing.T) {
	fake := telegramtest.New(t, token)
	target, _ := url.Parse(fake.URL)
	proxy := httputil.NewSingleHostReverseProxy(target)
	proxy.ErrorLog = log.New(io.Discard, "", 0)
	release := make(chan struct{})
	slow := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, "/sendMessage") {
			select {
			case <-r.Context().Done():
				return
			case <-release:
			}
		}
		proxy.ServeHTTP(w, r)
	}))
	defer slow.Close()
	defer close(release)
	s := newSender(t, slow.URL+"/bot%s/%s")
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	_, err := s.Send(ctx, core.Outbound{To: "42", Text: "hi"})
	se := asSendError(t, err)
	if se.Permanent || se.Code != "context" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %+v (%v)", se, err)
	}
	assertNoSecret(t, err)
	if !strings.Contains(err.Error(), "REDACTED") {
		t.Fatalf("expected the URL with a redacted token in %q", err)
	}
}

// The library puts the token in every URL, so its raw transport errors
// carry it; the adapter's errors must not.
func TestTokenScrubbedFromErrors(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	endpoint := srv.URL + "/bot%s/%s"
	srv.Close()

	_, rawErr := tgbotapi.NewBotAPIWithClient(token, endpoint, &http.Client{})
	if rawErr == nil || !strings.Contains(rawErr.Error(), token) {
		t.Fatalf("precondition: the library's own error should contain the token, got %v", rawErr)
	}

	_, err := newSender(t, endpoint).Send(context.Background(), core.Outbound{To: "42", Text: "hi"})
	se := asSendError(t, err)
	if se.Permanent || se.Code != "network" {
		t.Fatalf("err = %+v", se)
	}
	assertNoSecret(t, err)
	if dump := fmt.Sprintf("%+v %#v", err, se.Err); strings.Contains(dump, token) {
		t.Fatalf("formatted error leaks the token: %s", dump)
	}
	var ue *url.Error
	if !errors.As(err, &ue) || !strings.Contains(ue.URL, "/botREDACTED/getMe") {
		t.Fatalf("want a *url.Error with the redacted URL, got %v", err)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []telegram.Config{
		{},
		{Token: token, APIEndpoint: "http://127.0.0.1/bot/%s"},
		{Token: token, APIEndpoint: "http://127.0.0.1/bot%s/%s/%d"},
		{Token: token, APIEndpoint: "/bot%s/%s"},
	} {
		if _, err := telegram.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg.APIEndpoint)
		} else if strings.Contains(err.Error(), token) {
			t.Errorf("error leaks the token: %v", err)
		}
	}
	if _, err := telegram.New(telegram.Config{Token: token}); err != nil {
		t.Errorf("default endpoint refused: %v", err)
	}
}

func TestConcurrentSends(t *testing.T) {
	fake := telegramtest.New(t, token)
	s := newSender(t, fake.Endpoint())
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Send(context.Background(), core.Outbound{To: fmt.Sprint(100 + i), Text: "hi"})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(fake.Messages()) != 20 || len(fake.Calls("getMe")) != 1 {
		t.Fatalf("messages %d, getMe %d", len(fake.Messages()), len(fake.Calls("getMe")))
	}
}

func asSendError(t *testing.T, err error) *core.SendError {
	t.Helper()
	var se *core.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want *core.SendError", err, err)
	}
	return se
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	secrets = append(secrets, token)
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range secrets {
			for _, form := range []string{s, url.PathEscape(s), url.QueryEscape(s), strings.SplitN(s, ":", 2)[len(strings.SplitN(s, ":", 2))-1]} {
				if strings.Contains(e.Error(), form) {
					t.Fatalf("error chain leaks the token: %v", e)
				}
			}
		}
	}
}
