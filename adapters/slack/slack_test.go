package slack_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	slackgo "github.com/slack-go/slack"

	"github.com/bookinggw/gateway/adapters/slack"
	"github.com/bookinggw/gateway/adapters/slack/slackfake"
	"github.com/bookinggw/gateway/core"
)

const token = "xoxb-1111-2222-s3cr3tT0k3n"

func newSender(t *testing.T, apiURL string) *slack.Sender {
	t.Helper()
	s, err := slack.New(slack.Config{Token: token, APIURL: apiURL})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func jsonEqual(t *testing.T, got, want string) {
	t.Helper()
	var g, w any
	if err := json.Unmarshal([]byte(got), &g); err != nil {
		t.Fatalf("bad JSON %q: %v", got, err)
	}
	if err := json.Unmarshal([]byte(want), &w); err != nil {
		t.Fatalf("bad expected JSON: %v", err)
	}
	if !reflect.DeepEqual(g, w) {
		t.Errorf("JSON =\n%s\nwant\n%s", got, want)
	}
}

func TestSendSuccess(t *testing.T) {
	tests := []struct {
		name        string
		out         core.Outbound
		wantChannel string
		wantText    string
		wantBlocks  string
	}{
		{
			name:        "text only",
			out:         core.Outbound{ID: "o1", Channel: core.ChannelSlack, To: "C0123456", Text: "*New booking*: Anna, 10:00"},
			wantChannel: "C0123456",
			wantText:    "*New booking*: Anna, 10:00",
			wantBlocks:  `[{"type":"section","text":{"type":"mrkdwn","text":"*New booking*: Anna, 10:00"}}]`,
		},
		{
			name: "buttons to a user",
			out: core.Outbound{ID: "o2", To: "U0777", Text: "Approve <b>leave</b> & swap?",
				Buttons: []core.Button{
					{Text: "Approve", Data: "approve:42"},
					{Text: "Open", URL: "https://gw.example.com/a/42", Data: "open:42"},
				}},
			wantChannel: "D0777",
			wantText:    "Approve &lt;b&gt;leave&lt;/b&gt; &amp; swap?",
			wantBlocks: `[
				{"type":"section","text":{"type":"mrkdwn","text":"Approve &lt;b&gt;leave&lt;/b&gt; &amp; swap?"}},
				{"type":"actions","block_id":"actions_1","elements":[
					{"type":"button","action_id":"btn_0","value":"approve:42","text":{"type":"plain_text","text":"Approve","emoji":true}},
					{"type":"button","action_id":"btn_1","value":"open:42","url":"https://gw.example.com/a/42","text":{"type":"plain_text","text":"Open","emoji":true}}
				]}]`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slackfake.New(t, token)
			sent, err := newSender(t, fake.URL).Send(context.Background(), tt.out)
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("fake got %d messages", len(msgs))
			}
			m := msgs[0]
			if sent.ProviderID != m.TS || sent.Status != "sent" {
				t.Errorf("sent = %+v, fake ts %s", sent, m.TS)
			}
			if m.Channel != tt.out.To || m.PostedChannel != tt.wantChannel || m.Text != tt.wantText {
				t.Errorf("fake received channel %q (posted %q) text %q", m.Channel, m.PostedChannel, m.Text)
			}
			jsonEqual(t, m.Blocks, tt.wantBlocks)
			if len(m.ParsedBlocks.BlockSet) == 0 {
				t.Error("slack-go could not parse the blocks")
			}
		})
	}
}

func TestLongTextAndManyButtons(t *testing.T) {
	fake := slackfake.New(t, token)
	text := strings.Repeat("é", 2500) + "\n" + strings.Repeat("<>", 400)
	var buttons []core.Button
	for i := range 30 {
		buttons = append(buttons, core.Button{Text: strings.Repeat("x", 80), Data: fmt.Sprint(i)})
	}
	if _, err := newSender(t, fake.URL).Send(context.Background(), core.Outbound{To: "C1", Text: text, Buttons: buttons}); err != nil {
		t.Fatal(err)
	}
	var blocks []map[string]any
	if err := json.Unmarshal([]byte(fake.Messages()[0].Blocks), &blocks); err != nil {
		t.Fatal(err)
	}
	var sections, actions []map[string]any
	var joined string
	for _, b := range blocks {
		switch b["type"] {
		case "section":
			s := b["text"].(map[string]any)["text"].(string)
			if n := len([]rune(s)); n > 3000 {
				t.Errorf("section of %d characters", n)
			}
			joined += s
			sections = append(sections, b)
		case "actions":
			actions = append(actions, b)
			for _, e := range b["elements"].([]any) {
				if n := len([]rune(e.(map[string]any)["text"].(map[string]any)["text"].(string))); n > 75 {
					t.Errorf("button text of %d characters", n)
				}
			}
		}
	}
	if want := strings.ReplaceAll(strings.ReplaceAll(text, "<", "&lt;"), ">", "&gt;"); joined != want {
		t.Errorf("sections do not join back to the escaped text")
	}
	if len(sections) < 2 || len(actions) != 2 ||
		len(actions[0]["elements"].([]any)) != 25 || len(actions[1]["elements"].([]any)) != 5 {
		t.Errorf("got %d sections, %d actions blocks", len(sections), len(actions))
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*slackfake.Server)
		token      string
		permanent  bool
		code       string
		retryAfter time.Duration
	}{
		{name: "channel_not_found", setup: func(f *slackfake.Server) { f.FailChannel("C1", "channel_not_found") }, permanent: true, code: "channel_not_found"},
		{name: "not_in_channel", setup: func(f *slackfake.Server) { f.FailChannel("C1", "not_in_channel") }, permanent: true, code: "not_in_channel"},
		{name: "is_archived", setup: func(f *slackfake.Server) { f.FailNextWith(1, "is_archived") }, permanent: true, code: "is_archived"},
		{name: "account_inactive", setup: func(f *slackfake.Server) { f.FailNextWith(1, "account_inactive") }, permanent: true, code: "account_inactive"},
		{name: "invalid_auth", token: "xoxb-wrong", permanent: true, code: "invalid_auth"},
		{name: "429", setup: func(f *slackfake.Server) { f.RateLimitNext(1, 9) }, code: "429", retryAfter: 9 * time.Second},
		{name: "ratelimited in body", setup: func(f *slackfake.Server) { f.FailNextWith(1, "ratelimited") }, code: "ratelimited"},
		{name: "internal_error", setup: func(f *slackfake.Server) { f.FailNextWith(1, "internal_error") }, code: "internal_error"},
		{name: "unknown error is temporary", setup: func(f *slackfake.Server) { f.FailNextWith(1, "something_new") }, code: "something_new"},
		{name: "500", setup: func(f *slackfake.Server) { f.FailNext(1, 500) }, code: "500"},
		{name: "503", setup: func(f *slackfake.Server) { f.FailNext(1, 503) }, code: "503"},
		{name: "400", setup: func(f *slackfake.Server) { f.FailNext(1, 400) }, permanent: true, code: "400"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := slackfake.New(t, token)
			if tt.setup != nil {
				tt.setup(fake)
			}
			tok := token
			if tt.token != "" {
				tok = tt.token
			}
			s, err := slack.New(slack.Config{Token: tok, APIURL: fake.URL})
			if err != nil {
				t.Fatal(err)
			}
			_, err = s.Send(context.Background(), core.Outbound{To: "C1", Text: "hi"})
			se := asSendError(t, err)
			if se.Permanent != tt.permanent || se.Code != tt.code || se.RetryAfter != tt.retryAfter {
				t.Fatalf("got %+v (%v), want permanent=%v code=%s retryAfter=%v", se, err, tt.permanent, tt.code, tt.retryAfter)
			}
			assertNoSecret(t, err, tok)
			if len(fake.Messages()) != 0 {
				t.Fatal("fake accepted the message")
			}
		})
	}
}

func TestContextDeadlineIsTemporary(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	_, err := newSender(t, srv.URL+"/api/").Send(ctx, core.Outbound{To: "C1", Text: "hi"})
	se := asSendError(t, err)
	if se.Permanent || se.Code != "context" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %+v (%v)", se, err)
	}
	assertNoSecret(t, err)
}

func TestNetworkErrorIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	u := srv.URL + "/api/"
	srv.Close()
	_, err := newSender(t, u).Send(context.Background(), core.Outbound{To: "C1", Text: "hi"})
	if se := asSendError(t, err); se.Permanent || se.Code != "network" {
		t.Fatalf("err = %+v (%v)", se, err)
	}
	assertNoSecret(t, err)
}

func TestInvalidOutbound(t *testing.T) {
	fake := slackfake.New(t, token)
	s := newSender(t, fake.URL)
	for name, m := range map[string]core.Outbound{
		"no recipient":  {Text: "hi"},
		"empty text":    {To: "C1"},
		"wrong channel": {Channel: core.ChannelEmail, To: "C1", Text: "hi"},
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

func TestAPIURLWithoutTrailingSlash(t *testing.T) {
	fake := slackfake.New(t, token)
	if _, err := newSender(t, strings.TrimSuffix(fake.URL, "/")).Send(context.Background(), core.Outbound{To: "C1", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if len(fake.Calls("chat.postMessage")) != 1 {
		t.Fatal("chat.postMessage not reached")
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []slack.Config{{}, {Token: token, APIURL: "slack.com/api"}, {Token: token, APIURL: "ftp://x/"}} {
		if _, err := slack.New(cfg); err == nil {
			t.Errorf("New(%q) accepted", cfg.APIURL)
		}
	}
}

func TestConcurrentSends(t *testing.T) {
	fake := slackfake.New(t, token)
	s := newSender(t, fake.URL)
	var wg sync.WaitGroup
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.Send(context.Background(), core.Outbound{To: fmt.Sprintf("C%d", i), Text: "hi"}); err != nil {
				t.Error(err)
			}
		}()
	}
	wg.Wait()
	seen := map[string]bool{}
	for _, m := range fake.Messages() {
		seen[m.TS] = true
	}
	if len(seen) != 20 {
		t.Fatalf("%d distinct ts", len(seen))
	}
}

// slackfake signs callbacks the way slack-go's verifier checks them.
func TestPostSignedVerifies(t *testing.T) {
	const secret = "8f742231b10e8888abcd99yyyzzz85a5"
	var verr error
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		v, err := slackgo.NewSecretsVerifier(r.Header, secret)
		if err != nil {
			verr = err
			return
		}
		body, _ := io.ReadAll(r.Body)
		_, _ = v.Write(body)
		verr = v.Ensure()
	}))
	defer hook.Close()
	resp, err := slackfake.PostSigned(context.Background(), hook.URL, secret, "application/x-www-form-urlencoded", []byte(`payload=%7B%22type%22%3A%22block_actions%22%7D`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if verr != nil {
		t.Fatalf("verifier: %v", verr)
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
			if strings.Contains(fmt.Sprintf("%v %#v", e, e), s) {
				t.Fatalf("error chain leaks the token: %v", e)
			}
		}
	}
}
