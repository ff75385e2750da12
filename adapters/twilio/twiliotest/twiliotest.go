// Package twiliotest is a fake Twilio REST API for tests: an httptest server
// answering POST /2010-04-01/Accounts/{AccountSid}/Messages.json the way
// Twilio does (HTTP basic auth, form fields, 201 JSON resource, Twilio's error
// JSON, 429 with Retry-After), recording what it accepted. Point the twilio
// adapter's Config.BaseURL at Server.URL.
//
// It also signs webhook requests as Twilio does (Sign, PostSigned,
// SendStatusCallback), so end-to-end tests can drive the gateway's Twilio
// webhooks.
package twiliotest

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// Message is one message the fake accepted.
type Message struct {
	SID                 string // SM…
	AccountSID          string
	To                  string // as received, e.g. "whatsapp:+33612345678"
	From                string // empty when sent through a messaging service
	MessagingServiceSID string
	Body                string
	StatusCallback      string
	Status              string     // status answered: "queued", or "accepted" for a messaging service
	Form                url.Values // every form field received
	At                  time.Time
}

// Failure describes an error answer.
type Failure struct {
	Status     int    // HTTP status: 400, 404, 429, 500, 503…
	Code       int    // Twilio error code; 0 picks one for Status (21211, 20429, 20500…)
	Message    string // empty picks Twilio's message for Code
	RetryAfter string // Retry-After header sent with a 429; empty means "1"
}

// Server is the fake. Its methods are safe for concurrent use.
type Server struct {
	URL        string // base URL, e.g. http://127.0.0.1:41234; use as Config.BaseURL
	AccountSID string
	AuthToken  string

	srv *httptest.Server

	mu       sync.Mutex
	messages []Message
	// countOnly: accepted messages are counted in dropped, not kept.
	countOnly bool
	dropped   int
	failNext  []Failure
	failTo    map[string]Failure
	requests  int
	calls     []Call
	// closedWindow are WhatsApp recipients whose 24-hour window closed.
	closedWindow map[string]bool
}

// Call is one call the fake's Calls API placed (or was told of by SetCall).
type Call struct {
	SID         string // CA…
	To, From    string
	Status      string
	DurationSec int
	Form        url.Values // every form field received, StatusCallbackEvent repeated
}

// Calls returns the calls placed, oldest first.
func (s *Server) Calls() []Call {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// SetCall sets what GET Calls/{sid}.json answers of a call (adding it if
// the fake did not place it).
func (s *Server) SetCall(sid, status string, durationSec int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i := range s.calls {
		if s.calls[i].SID == sid {
			s.calls[i].Status, s.calls[i].DurationSec = status, durationSec
			return
		}
	}
	s.calls = append(s.calls, Call{SID: sid, Status: status, DurationSec: durationSec})
}

func (s *Server) authorized(w http.ResponseWriter, r *http.Request) bool {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken || r.PathValue("sid") != s.AccountSID {
		writeError(w, Failure{Status: http.StatusUnauthorized, Code: 20003})
		return false
	}
	return true
}

func (s *Server) callJSON(c Call) map[string]any {
	return map[string]any{"sid": c.SID, "account_sid": s.AccountSID, "to": c.To, "from": c.From, "status": c.Status,
		"duration": strconv.Itoa(c.DurationSec), "start_time": nil, "end_time": nil, "api_version": "2010-04-01",
		"uri": "/2010-04-01/Accounts/" + s.AccountSID + "/Calls/" + c.SID + ".json"}
}

// createCall answers POST Calls.json as Twilio does: To, From and one of
// Url, Twiml or ApplicationSid are required.
func (s *Server) createCall(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, Failure{Status: http.StatusBadRequest, Code: 20001, Message: "Invalid form: " + err.Error()})
		return
	}
	f := r.PostForm
	if f.Get("To") == "" || f.Get("From") == "" || f.Get("Url") == "" && f.Get("Twiml") == "" && f.Get("ApplicationSid") == "" {
		writeError(w, Failure{Status: http.StatusBadRequest, Code: 21205, Message: "To, From and Url or Twiml are required"})
		return
	}
	c := Call{SID: "CA" + randomHex(16), To: f.Get("To"), From: f.Get("From"), Status: "queued", Form: cloneValues(f)}
	s.mu.Lock()
	s.requests++
	s.calls = append(s.calls, c)
	s.mu.Unlock()
	writeJSON(w, http.StatusCreated, s.callJSON(c))
}

// fetchCall answers GET Calls/{sid}.json.
func (s *Server) fetchCall(w http.ResponseWriter, r *http.Request) {
	if !s.authorized(w, r) {
		return
	}
	sid := strings.TrimSuffix(r.PathValue("call"), ".json")
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, c := range s.calls {
		if c.SID == sid {
			writeJSON(w, http.StatusOK, s.callJSON(c))
			return
		}
	}
	writeError(w, Failure{Status: http.StatusNotFound, Code: 20404, Message: "The requested resource " + r.URL.Path + " was not found"})
}

// New starts a fake for one account; it stops when the test ends.
func New(t testing.TB, accountSID, authToken string) *Server {
	t.Helper()
	s := &Server{AccountSID: accountSID, AuthToken: authToken, failTo: map[string]Failure{}}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Messages.json", s.createMessage)
	mux.HandleFunc("POST /2010-04-01/Accounts/{sid}/Calls.json", s.createCall)
	mux.HandleFunc("GET /2010-04-01/Accounts/{sid}/Calls/{call}", s.fetchCall)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, Failure{Status: http.StatusNotFound, Code: 20404,
			Message: "The requested resource " + r.URL.Path + " was not found"})
	})
	s.srv = httptest.NewServer(mux)
	s.URL = s.srv.URL
	t.Cleanup(s.srv.Close)
	return s
}

// Messages returns the accepted messages, oldest first.
func (s *Server) Messages() []Message {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Message, len(s.messages))
	for i, m := range s.messages {
		m.Form = cloneValues(m.Form)
		out[i] = m
	}
	return out
}

// Count returns how many messages were accepted: what polling loops need,
// without Messages' copy of every message under the lock that the
// handlers wait for (at 100,000 messages the copies slowed the sends).
func (s *Server) Count() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.messages) + s.dropped
}

// CountOnly makes the fake count the messages it accepts without keeping
// them (Messages then lists none of them): a load test of 100,000
// messages would otherwise hold every body and form in memory.
func (s *Server) CountOnly() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.countOnly = true
}

// Requests returns how many create-message requests arrived, failed ones
// included.
func (s *Server) Requests() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.requests
}

// FailNext makes the next n authenticated create-message requests fail with
// the given HTTP status and Twilio code (0: a default for the status).
func (s *Server) FailNext(n, status, code int) {
	s.FailNextWith(n, Failure{Status: status, Code: code})
}

// FailNextWith makes the next n authenticated create-message requests fail
// with f.
func (s *Server) FailNextWith(n int, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for range n {
		s.failNext = append(s.failNext, f)
	}
}

// FailTo makes every send to the recipient to (as received, e.g.
// "+15005550001" or "whatsapp:+15005550001") fail with f, e.g.
// Failure{Status: 400, Code: 21610} for an unsubscribed recipient.
func (s *Server) FailTo(to string, f Failure) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.failTo[to] = f
}

// CloseWindow makes free-form messages to a WhatsApp recipient (as
// received, "whatsapp:+…") fail with 63016, as Twilio refuses them outside
// the 24-hour customer service window; content templates (ContentSid) pass.
func (s *Server) CloseWindow(to string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closedWindow == nil {
		s.closedWindow = map[string]bool{}
	}
	s.closedWindow[to] = true
}

// Reset forgets messages, counters and failure knobs.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.messages, s.failNext, s.requests, s.dropped = nil, nil, 0, 0
	s.failTo = map[string]Failure{}
}

var e164 = regexp.MustCompile(`^\+[1-9][0-9]{6,14}$`)

func (s *Server) createMessage(w http.ResponseWriter, r *http.Request) {
	user, pass, ok := r.BasicAuth()
	if !ok || user != s.AccountSID || pass != s.AuthToken {
		w.Header().Set("WWW-Authenticate", `Basic realm="Twilio API"`)
		writeError(w, Failure{Status: http.StatusUnauthorized, Code: 20003})
		return
	}
	sid := r.PathValue("sid")
	if sid != s.AccountSID {
		writeError(w, Failure{Status: http.StatusNotFound, Code: 20404,
			Message: "The requested resource " + r.URL.Path + " was not found"})
		return
	}
	if err := r.ParseForm(); err != nil {
		writeError(w, Failure{Status: http.StatusBadRequest, Code: 20001, Message: "Invalid form: " + err.Error()})
		return
	}
	f := r.PostForm
	to, from, service := f.Get("To"), f.Get("From"), f.Get("MessagingServiceSid")

	s.mu.Lock()
	s.requests++
	fail, failing := s.failTo[to]
	if !failing && len(s.failNext) > 0 {
		fail, failing = s.failNext[0], true
		s.failNext = s.failNext[1:]
	}
	s.mu.Unlock()
	if failing {
		writeError(w, fail)
		return
	}

	toNumber := strings.TrimPrefix(to, "whatsapp:")
	s.mu.Lock()
	closed := s.closedWindow[to]
	s.mu.Unlock()
	switch {
	case closed && f.Get("ContentSid") == "":
		writeError(w, Failure{Status: 400, Code: 63016})
		return
	case to == "":
		writeError(w, Failure{Status: 400, Code: 21604})
		return
	case from == "" && service == "":
		writeError(w, Failure{Status: 400, Code: 21603})
		return
	case f.Get("Body") == "" && f.Get("MediaUrl") == "" && f.Get("ContentSid") == "":
		writeError(w, Failure{Status: 400, Code: 21602})
		return
	case !e164.MatchString(toNumber):
		writeError(w, Failure{Status: 400, Code: 21211,
			Message: fmt.Sprintf("The 'To' number %s is not a valid phone number.", to)})
		return
	case from != "" && strings.HasPrefix(to, "whatsapp:") != strings.HasPrefix(from, "whatsapp:"):
		writeError(w, Failure{Status: 400, Code: 21910})
		return
	}

	now := time.Now().UTC()
	m := Message{
		SID:                 "SM" + randomHex(16),
		AccountSID:          sid,
		To:                  to,
		From:                from,
		MessagingServiceSID: service,
		Body:                f.Get("Body"),
		StatusCallback:      f.Get("StatusCallback"),
		Status:              "queued",
		Form:                cloneValues(f),
		At:                  now,
	}
	if service != "" && from == "" {
		m.Status = "accepted"
	}
	s.mu.Lock()
	if s.countOnly {
		s.dropped++
	} else {
		s.messages = append(s.messages, m)
	}
	s.mu.Unlock()

	date := now.Format(time.RFC1123Z)
	uri := fmt.Sprintf("/2010-04-01/Accounts/%s/Messages/%s.json", sid, m.SID)
	writeJSON(w, http.StatusCreated, map[string]any{
		"account_sid":           sid,
		"api_version":           "2010-04-01",
		"body":                  m.Body,
		"date_created":          date,
		"date_sent":             nil,
		"date_updated":          date,
		"direction":             "outbound-api",
		"error_code":            nil,
		"error_message":         nil,
		"from":                  nullIfEmpty(from),
		"messaging_service_sid": nullIfEmpty(service),
		"num_media":             "0",
		"num_segments":          "1",
		"price":                 nil,
		"price_unit":            "USD",
		"sid":                   m.SID,
		"status":                m.Status,
		"subresource_uris":      map[string]string{"media": strings.TrimSuffix(uri, ".json") + "/Media.json"},
		"to":                    to,
		"uri":                   uri,
	})
}

var defaultMessages = map[int]string{
	20001: "Invalid request",
	20003: "Authenticate",
	20404: "The requested resource was not found",
	20429: "Too Many Requests",
	20500: "An internal server error has occurred",
	20503: "Service is unavailable. Please try again",
	21211: "The 'To' number is not a valid phone number.",
	21408: "Permission to send an SMS has not been enabled for the region indicated by the 'To' number.",
	21602: "Message body is required.",
	21603: "A 'From' phone number is required.",
	21604: "A 'To' phone number is required.",
	21610: "Attempt to send to unsubscribed recipient",
	21614: "'To' number is not a valid mobile number",
	21910: "Invalid From and To pair. From and To should be of the same channel",
	30003: "Unreachable destination handset",
	63016: "Failed to send freeform message because you are outside the allowed window. If you are using WhatsApp, please use a Message Template.",
}

func defaultCode(status int) int {
	switch {
	case status == http.StatusUnauthorized:
		return 20003
	case status == http.StatusNotFound:
		return 20404
	case status == http.StatusTooManyRequests:
		return 20429
	case status == http.StatusServiceUnavailable:
		return 20503
	case status >= 500:
		return 20500
	default:
		return 21211
	}
}

func writeError(w http.ResponseWriter, f Failure) {
	if f.Status == 0 {
		f.Status = http.StatusBadRequest
	}
	if f.Code == 0 {
		f.Code = defaultCode(f.Status)
	}
	if f.Message == "" {
		f.Message = defaultMessages[f.Code]
	}
	if f.Status == http.StatusTooManyRequests {
		ra := f.RetryAfter
		if ra == "" {
			ra = "1"
		}
		w.Header().Set("Retry-After", ra)
	}
	writeJSON(w, f.Status, map[string]any{
		"code":      f.Code,
		"message":   f.Message,
		"more_info": "https://www.twilio.com/docs/errors/" + strconv.Itoa(f.Code),
		"status":    f.Status,
	})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func nullIfEmpty(s string) any {
	if s == "" {
		return nil
	}
	return s
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func cloneValues(v url.Values) url.Values {
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

// Sign computes the X-Twilio-Signature Twilio sends with a webhook request
// to fullURL (exactly as configured, query string included) with the POST
// form params: base64(HMAC-SHA1(authToken, fullURL + key1 + value1 + key2 +
// value2 …)) with keys sorted. A repeated key contributes each of its
// (sorted) values, as Twilio's own libraries compute it; twilio-go's
// RequestValidator.Validate checks the same signature for single-valued
// params.
func Sign(authToken, fullURL string, params url.Values) string {
	var b strings.Builder
	b.WriteString(fullURL)
	keys := make([]string, 0, len(params))
	for k := range params {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		vs := slices.Clone(params[k])
		slices.Sort(vs)
		vs = slices.Compact(vs)
		for _, v := range vs {
			b.WriteString(k)
			b.WriteString(v)
		}
	}
	mac := hmac.New(sha1.New, []byte(authToken))
	mac.Write([]byte(b.String()))
	return base64.StdEncoding.EncodeToString(mac.Sum(nil))
}

// PostSigned POSTs params as a form to fullURL with a valid
// X-Twilio-Signature for the server's auth token, as Twilio calls a
// webhook (incoming message, status callback). The caller closes the body.
func (s *Server) PostSigned(ctx context.Context, fullURL string, params url.Values) (*http.Response, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, fullURL, strings.NewReader(params.Encode()))
	if err != nil {
		return nil, err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded; charset=utf-8")
	req.Header.Set("User-Agent", "TwilioProxy/1.1")
	req.Header.Set("X-Twilio-Signature", Sign(s.AuthToken, fullURL, params))
	return http.DefaultClient.Do(req)
}

// SendStatusCallback reports a delivery status ("sent", "delivered",
// "undelivered", "failed", "read"…) for an accepted message to its
// StatusCallback URL, signed, with Twilio's fields (MessageSid,
// MessageStatus, SmsSid, SmsStatus, AccountSid, From, To, ApiVersion,
// MessagingServiceSid, and ErrorCode when errorCode is not 0). It fails when
// the message is unknown, has no callback, or the callback does not answer
// 2xx.
func (s *Server) SendStatusCallback(ctx context.Context, sid, status string, errorCode int) error {
	var m *Message
	s.mu.Lock()
	for i := range s.messages {
		if s.messages[i].SID == sid {
			c := s.messages[i]
			m = &c
		}
	}
	s.mu.Unlock()
	switch {
	case m == nil:
		return fmt.Errorf("twiliotest: no message %s", sid)
	case m.StatusCallback == "":
		return fmt.Errorf("twiliotest: message %s has no StatusCallback", sid)
	}
	p := url.Values{
		"AccountSid":    {m.AccountSID},
		"ApiVersion":    {"2010-04-01"},
		"MessageSid":    {m.SID},
		"MessageStatus": {status},
		"SmsSid":        {m.SID},
		"SmsStatus":     {status},
		"To":            {m.To},
	}
	if m.From != "" {
		p.Set("From", m.From)
	}
	if m.MessagingServiceSID != "" {
		p.Set("MessagingServiceSid", m.MessagingServiceSID)
	}
	if errorCode != 0 {
		p.Set("ErrorCode", strconv.Itoa(errorCode))
	}
	resp, err := s.PostSigned(ctx, m.StatusCallback, p)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	if resp.StatusCode/100 != 2 {
		return fmt.Errorf("twiliotest: status callback answered %s", resp.Status)
	}
	return nil
}
