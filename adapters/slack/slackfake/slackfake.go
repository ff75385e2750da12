// Package slackfake is a fake Slack Web API for tests: an httptest server
// answering chat.postMessage (plus auth.test and chat.update) the way Slack
// does — HTTP 200 with {"ok":true,"channel":…,"ts":…,"message":…} or
// {"ok":false,"error":"channel_not_found"}, HTTP 429 with Retry-After, 5xx
// with an HTML body — checking the token (form field "token" or
// "Authorization: Bearer") and recording what was posted, blocks included.
// Point the slack adapter's Config.APIURL at Server.URL.
//
// slack-go's own slacktest server was not used: it records posted messages
// only through its RTM websocket hub, checks no token and cannot answer
// errors or rate limits.
//
// Sign and PostSigned sign requests as Slack signs interaction and event
// callbacks (X-Slack-Signature), for end-to-end tests of the gateway's Slack
// webhooks.
package slackfake

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/slack-go/slack"
)

// Message is one message the fake accepted through chat.postMessage.
type Message struct {
	Channel string // as received: "C…", "U…"
	// PostedChannel is the channel answered: the same, or a "D…" direct
	// message channel for a user id.
	PostedChannel string
	TS            string
	Text          string
	Blocks        string       // the blocks JSON as received; empty if none
	ParsedBlocks  slack.Blocks // Blocks decoded with slack-go
	Params        url.Values   // every field received (token removed)
	At            time.Time
}

// Call is one Web API call received (any method, failed ones too).
type Call struct {
	Method string
	Params url.Values // token removed
}

type failure struct {
	status     int    // HTTP status; 200 with slackErr for API errors
	slackErr   string // "error" of {"ok":false}
	retryAfter int
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	URL   string // Web API base URL, ending in "/api/"; use as Config.APIURL
	Token string

	srv *httptest.Server

	mu       sync.Mutex
	seq      int
	messages []Message
	calls    []Call
	channels map[string]string // channel → Slack error
	failNext []failure
}

// New starts a fake Web API accepting token; it stops when the test ends.
func New(t testing.TB, token string) *Server {
	t.Helper()
	s := &Server{Token: token, channels: map[string]string{}}
	mux := http.NewServeMux()
	mux.HandleFunc("/api/{method}", s.serve)
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL + "/api/"
	t.Cleanup(s.srv.Close)
	return s
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.Params = cloneValues(m.Params)
		out[i] = m
	}
	return out
}

// Calls returns every call received, oldest first; with a method name
// ("chat.postMessage"), only the calls of that method.
func (s *Server) Calls(method ...string) []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Call
	for _, c := range s.calls {
		if len(method) == 0 || c.Method == method[0] {
			out = append(out, Call{Method: c.Method, Params: cloneValues(c.Params)})
		}
	}
	return out
}

// FailChannel makes every chat.postMessage to channel answer
// {"ok":false,"error":slackErr}, e.g. "channel_not_found", "not_in_channel",
// "is_archived"; an empty slackErr clears it.
func (s *Server) FailChannel(channel, slackErr string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if slackErr == "" {
		delete(s.channels, channel)
		return
	}
	s.channels[channel] = slackErr
}

// FailNextWith makes the next n chat.postMessage calls answer
// {"ok":false,"error":slackErr} (HTTP 200, as Slack does).
func (s *Server) FailNextWith(n int, slackErr string) {
	s.queue(n, failure{status: http.StatusOK, slackErr: slackErr})
}

// RateLimitNext makes the next n chat.postMessage calls answer HTTP 429 with
// Retry-After: retryAfter and {"ok":false,"error":"ratelimited"}.
func (s *Server) RateLimitNext(n, retryAfter int) {
	s.queue(n, failure{status: http.StatusTooManyRequests, slackErr: "ratelimited", retryAfter: retryAfter})
}

// FailNext makes the next n chat.postMessage calls answer HTTP status (e.g.
// 500, 503) with an HTML body, as Slack's edge does.
func (s *Server) FailNext(n, status int) {
	s.queue(n, failure{status: status})
}

func (s *Server) queue(n int, f failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, f)
	}
}

// Reset forgets messages, calls and knobs.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages, s.calls, s.failNext = nil, nil, nil
	s.channels = map[string]string{}
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	method := r.PathValue("method")
	params, err := readParams(r)
	if err != nil {
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_form_data"})
		return
	}
	token := params.Get("token")
	if bearer, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer "); ok {
		token = bearer
	}
	params.Del("token")
	s.mu.Lock()
	s.calls = append(s.calls, Call{Method: method, Params: cloneValues(params)})
	s.mu.Unlock()

	switch {
	case token == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "not_authed"})
		return
	case token != s.Token:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_auth"})
		return
	}
	switch method {
	case "auth.test":
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "url": "https://gateway-test.slack.com/",
			"team": "Gateway Test", "user": "gateway", "team_id": "T0000TEST", "user_id": "U0000BOT", "bot_id": "B0000BOT"})
	case "chat.postMessage":
		s.postMessage(w, params)
	case "chat.update":
		if params.Get("channel") == "" || params.Get("ts") == "" {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "message_not_found"})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": params.Get("channel"),
			"ts": params.Get("ts"), "text": params.Get("text")})
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "unknown_method"})
	}
}

func (s *Server) postMessage(w http.ResponseWriter, p url.Values) {
	channel, text, rawBlocks := p.Get("channel"), p.Get("text"), p.Get("blocks")
	var blocks slack.Blocks
	switch {
	case channel == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "channel_not_found"})
		return
	case text == "" && rawBlocks == "" && p.Get("attachments") == "":
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "no_text"})
		return
	case rawBlocks != "":
		if err := json.Unmarshal([]byte(rawBlocks), &blocks); err != nil {
			writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": "invalid_blocks_format"})
			return
		}
	}

	s.mu.Lock()
	slackErr, failing := s.channels[channel]
	var f failure
	if failing {
		f = failure{status: http.StatusOK, slackErr: slackErr}
	} else if len(s.failNext) > 0 {
		f, failing = s.failNext[0], true
		s.failNext = s.failNext[1:]
	}
	var m Message
	if !failing {
		s.seq++
		now := time.Now()
		posted := channel
		if strings.HasPrefix(channel, "U") || strings.HasPrefix(channel, "W") {
			posted = "D" + channel[1:]
		}
		m = Message{Channel: channel, PostedChannel: posted,
			TS:   fmt.Sprintf("%d.%06d", now.Unix(), s.seq),
			Text: text, Blocks: rawBlocks, ParsedBlocks: blocks, Params: cloneValues(p), At: now}
		s.messages = append(s.messages, m)
	}
	s.mu.Unlock()

	if failing {
		writeFailure(w, f)
		return
	}
	msg := map[string]any{"type": "message", "subtype": "bot_message", "text": text, "ts": m.TS,
		"bot_id": "B0000BOT", "user": "U0000BOT", "team": "T0000TEST"}
	if rawBlocks != "" {
		msg["blocks"] = json.RawMessage(rawBlocks)
	}
	writeJSON(w, http.StatusOK, map[string]any{"ok": true, "channel": m.PostedChannel, "ts": m.TS, "message": msg})
}

func writeFailure(w http.ResponseWriter, f failure) {
	switch {
	case f.status == http.StatusTooManyRequests:
		w.Header().Set("Retry-After", strconv.Itoa(f.retryAfter))
		writeJSON(w, f.status, map[string]any{"ok": false, "error": f.slackErr})
	case f.status != http.StatusOK:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(f.status)
		fmt.Fprintf(w, "<html><body><h1>%d %s</h1></body></html>", f.status, http.StatusText(f.status))
	default:
		writeJSON(w, http.StatusOK, map[string]any{"ok": false, "error": f.slackErr})
	}
}

// readParams merges the query string with an urlencoded or JSON body, as
// the Web API accepts them. Non-string JSON values keep their JSON text.
func readParams(r *http.Request) (url.Values, error) {
	out := url.Values{}
	for k, v := range r.URL.Query() {
		out[k] = slices.Clone(v)
	}
	ct, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if ct == "application/json" {
		body, err := io.ReadAll(io.LimitReader(r.Body, 10<<20))
		if err != nil {
			return nil, err
		}
		var obj map[string]json.RawMessage
		if err := json.Unmarshal(body, &obj); err != nil {
			return nil, err
		}
		for k, raw := range obj {
			var str string
			if json.Unmarshal(raw, &str) == nil {
				out.Set(k, str)
			} else {
				out.Set(k, string(raw))
			}
		}
		return out, nil
	}
	if err := r.ParseForm(); err != nil {
		return nil, err
	}
	for k, v := range r.PostForm {
		out[k] = slices.Clone(v)
	}
	return out, nil
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// Sign computes X-Slack-Signature for a request body sent at timestamp
// (Unix seconds, the X-Slack-Request-Timestamp header):
// "v0=" + hex(HMAC-SHA256(signingSecret, "v0:" + timestamp + ":" + body)).
func Sign(signingSecret, timestamp string, body []byte) string {
	mac := hmac.New(sha256.New, []byte(signingSecret))
	mac.Write([]byte("v0:" + timestamp + ":"))
	mac.Write(body)
	return "v0=" + hex.EncodeToString(mac.Sum(nil))
}

// PostSigned POSTs body to url as Slack calls an app (interactivity:
// contentType "application/x-www-form-urlencoded" with a payload field;
// events: "application/json"), with X-Slack-Request-Timestamp (now) and a
// valid X-Slack-Signature. The caller closes the response body.
func PostSigned(ctx context.Context, url, signingSecret, contentType string, body []byte) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Slack-Request-Timestamp", ts)
	req.Header.Set("X-Slack-Signature", Sign(signingSecret, ts, body))
	return http.DefaultClient.Do(req)
}
