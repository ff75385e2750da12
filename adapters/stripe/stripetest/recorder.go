package stripetest

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// Request is one API request the Recorder received.
type Request struct {
	Method         string
	Path           string     // e.g. /v1/checkout/sessions
	Query          url.Values // URL query (GET parameters)
	Form           url.Values // form body (POST parameters), e.g. Form.Get("metadata[org_id]")
	IdempotencyKey string     // Idempotency-Key header
	Authorization  string     // Authorization header, e.g. "Bearer sk_test_…"
	StripeVersion  string     // Stripe-Version header
	Header         http.Header

	Status   int    // HTTP status answered
	Response []byte // body answered (Stripe's JSON)
	Replayed bool   // answered from the idempotency cache, not forwarded
	Injected bool   // answered by a FailNext failure, not forwarded
	// Refused is set when the idempotency layer answered an error without
	// forwarding (key reused with other parameters, or still in use).
	Refused bool
	At      time.Time
}

// Forwarded reports whether the request reached the upstream mock.
func (q Request) Forwarded() bool { return !q.Replayed && !q.Injected && !q.Refused }

// ID returns the "id" field of the JSON answered (e.g. the Checkout Session
// id cs_test_…), or "" when there is none.
func (q Request) ID() string {
	var v struct {
		ID string `json:"id"`
	}
	_ = json.Unmarshal(q.Response, &v)
	return v.ID
}

// Failure is an error answer injected by FailNext instead of forwarding.
type Failure struct {
	Status  int    // HTTP status: 400, 401, 402, 409, 429, 500, 503…; 0 means 500
	Type    string // error.type; empty picks one for Status (invalid_request_error, api_error…)
	Code    string // error.code, e.g. "amount_too_small", "rate_limit"; may be empty
	Message string // error.message; empty picks a default
	Param   string // error.param
	// RetryAfter is sent as the Retry-After header when not empty.
	RetryAfter string
	// ShouldRetry is sent as the Stripe-Should-Retry header when not empty
	// ("true" or "false"); stripe-go obeys it when deciding to retry.
	ShouldRetry string
	// RawBody, when not empty, is sent as is with Content-Type text/html
	// instead of Stripe's error JSON (a proxy's error page).
	RawBody string
}

// Recorder is an httptest server that forwards Stripe API requests to an
// upstream (stripe-mock), records them, and answers a repeated
// Idempotency-Key with the first answer, as Stripe does. Its methods are
// safe for concurrent use.
//
// Idempotency, as Stripe's: the first 2xx answer to a key (per
// Authorization header, i.e. per account) is saved and replayed, with the
// header Idempotent-Replayed: true, to every later request with that key and
// the same method, path and parameters; a later request with the same key
// but other parameters gets a 400 idempotency_error. Error answers are not
// saved, so a retry after a failure reaches the upstream again. Concurrent
// requests with one key are answered one after the other.
type Recorder struct {
	URL      string // base URL; use as the adapter's Config.BaseURL
	Upstream string // the mock's base URL

	srv *httptest.Server
	hc  *http.Client

	mu       sync.Mutex
	requests []Request
	failNext []Failure
	saved    map[string]*saved
}

type saved struct {
	done        chan struct{}
	fingerprint string
	ok          bool // a 2xx answer was saved
	status      int
	header      http.Header
	body        []byte
}

// Start starts stripe-mock (StartMock) and a Recorder in front of it.
func Start(t testing.TB) *Recorder {
	t.Helper()
	return NewRecorder(t, StartMock(t))
}

// NewRecorder starts a Recorder forwarding to upstream (a base URL such as
// StartMock's); it stops when the test ends.
func NewRecorder(t testing.TB, upstream string) *Recorder {
	t.Helper()
	r := &Recorder{
		Upstream: strings.TrimRight(upstream, "/"),
		hc:       &http.Client{Timeout: 30 * time.Second, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }},
		saved:    map[string]*saved{},
	}
	r.srv = httptest.NewServer(http.HandlerFunc(r.serve))
	r.URL = r.srv.URL
	t.Cleanup(r.srv.Close)
	return r
}

// Requests returns every request received, oldest first.
func (r *Recorder) Requests() []Request {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]Request, len(r.requests))
	for i, q := range r.requests {
		out[i] = cloneRequest(q)
	}
	return out
}

// CheckoutSessions returns the successful POST /v1/checkout/sessions
// requests (replays included), oldest first.
func (r *Recorder) CheckoutSessions() []Request {
	var out []Request
	for _, q := range r.Requests() {
		if q.Method == http.MethodPost && q.Path == "/v1/checkout/sessions" && q.Status/100 == 2 {
			out = append(out, q)
		}
	}
	return out
}

// Forwarded returns how many requests reached the upstream.
func (r *Recorder) Forwarded() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	n := 0
	for _, q := range r.requests {
		if q.Forwarded() {
			n++
		}
	}
	return n
}

// FailNext answers the next n requests with f instead of forwarding them
// (before any idempotent replay, like a failure at Stripe's edge).
func (r *Recorder) FailNext(n int, f Failure) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for range n {
		r.failNext = append(r.failNext, f)
	}
}

// Reset forgets requests, pending failures and saved idempotent answers.
func (r *Recorder) Reset() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.requests, r.failNext = nil, nil
	r.saved = map[string]*saved{}
}

func (r *Recorder) serve(w http.ResponseWriter, req *http.Request) {
	body, err := io.ReadAll(io.LimitReader(req.Body, 16<<20))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return
	}
	q := Request{
		Method:         req.Method,
		Path:           req.URL.Path,
		Query:          req.URL.Query(),
		Form:           url.Values{},
		IdempotencyKey: req.Header.Get("Idempotency-Key"),
		Authorization:  req.Header.Get("Authorization"),
		StripeVersion:  req.Header.Get("Stripe-Version"),
		Header:         req.Header.Clone(),
		At:             time.Now().UTC(),
	}
	if ct := req.Header.Get("Content-Type"); strings.HasPrefix(ct, "application/x-www-form-urlencoded") || (ct == "" && len(body) > 0) {
		if f, err := url.ParseQuery(string(body)); err == nil {
			q.Form = f
		}
	}

	r.mu.Lock()
	var fail *Failure
	if len(r.failNext) > 0 {
		f := r.failNext[0]
		r.failNext = r.failNext[1:]
		fail = &f
	}
	r.mu.Unlock()

	var status int
	var header http.Header
	var out []byte
	switch {
	case fail != nil:
		q.Injected = true
		status, header, out = failure(*fail)
	case q.IdempotencyKey != "":
		status, header, out, q.Replayed, q.Refused = r.idempotent(req.Context(), q, body)
	default:
		status, header, out = r.forward(req, body)
	}
	q.Status, q.Response = status, out

	r.mu.Lock()
	r.requests = append(r.requests, q)
	r.mu.Unlock()

	for k, vs := range header {
		switch http.CanonicalHeaderKey(k) {
		case "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive":
			continue
		}
		w.Header()[k] = slices.Clone(vs)
	}
	w.WriteHeader(status)
	_, _ = w.Write(out)
}

// idempotent answers a request carrying an Idempotency-Key: it replays the
// saved answer, refuses a reuse with other parameters, or forwards and
// saves a 2xx answer. Besides the answer it reports whether it was
// replayed, or refused without forwarding.
func (r *Recorder) idempotent(ctx context.Context, q Request, body []byte) (int, http.Header, []byte, bool, bool) {
	key := q.Authorization + "\x00" + q.IdempotencyKey
	fp := q.Method + " " + q.Path + "?" + q.Query.Encode() + "\x00" + q.Form.Encode()
	for {
		r.mu.Lock()
		s, ok := r.saved[key]
		if !ok {
			s = &saved{done: make(chan struct{}), fingerprint: fp}
			r.saved[key] = s
			r.mu.Unlock()
			status, header, out := r.forwardRaw(ctx, q, body)
			r.mu.Lock()
			if status/100 == 2 {
				s.ok, s.status, s.header, s.body = true, status, header.Clone(), slices.Clone(out)
			} else if r.saved[key] == s {
				delete(r.saved, key)
			}
			r.mu.Unlock()
			close(s.done)
			return status, header, out, false, false
		}
		r.mu.Unlock()
		select {
		case <-s.done:
		case <-ctx.Done():
			st, h, b := failureJSON(http.StatusConflict, "idempotency_error", "idempotency_key_in_use",
				"There is currently another in-progress request using this Stripe token (probably means you clicked twice), and the server is not sure what to do with this request. Please try again.", "")
			return st, h, b, false, true
		}
		if !s.ok {
			continue // the first attempt failed and saved nothing: go again
		}
		if s.fingerprint != fp {
			st, h, b := failureJSON(http.StatusBadRequest, "idempotency_error", "",
				fmt.Sprintf("Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '%s' if you meant to execute a different request.", q.IdempotencyKey), "")
			return st, h, b, false, true
		}
		h := s.header.Clone()
		h.Set("Idempotent-Replayed", "true")
		h.Set("Request-Id", "req_"+randomID(14))
		return s.status, h, slices.Clone(s.body), true, false
	}
}

func (r *Recorder) forward(req *http.Request, body []byte) (int, http.Header, []byte) {
	q := Request{Method: req.Method, Path: req.URL.Path, Query: req.URL.Query(), Header: req.Header}
	return r.forwardRaw(req.Context(), q, body)
}

func (r *Recorder) forwardRaw(ctx context.Context, q Request, body []byte) (int, http.Header, []byte) {
	target := r.Upstream + q.Path
	if len(q.Query) > 0 {
		target += "?" + q.Query.Encode()
	}
	up, err := http.NewRequestWithContext(ctx, q.Method, target, bytes.NewReader(body))
	if err != nil {
		return failureJSON(http.StatusBadGateway, "api_error", "", "stripetest: "+err.Error(), "")
	}
	for k, vs := range q.Header {
		switch http.CanonicalHeaderKey(k) {
		case "Host", "Content-Length", "Connection", "Transfer-Encoding", "Keep-Alive", "Accept-Encoding":
			continue
		}
		up.Header[k] = slices.Clone(vs)
	}
	resp, err := r.hc.Do(up)
	if err != nil {
		return failureJSON(http.StatusBadGateway, "api_error", "", "stripetest: upstream: "+err.Error(), "")
	}
	defer resp.Body.Close()
	out, err := io.ReadAll(resp.Body)
	if err != nil {
		return failureJSON(http.StatusBadGateway, "api_error", "", "stripetest: upstream body: "+err.Error(), "")
	}
	return resp.StatusCode, resp.Header, out
}

func failure(f Failure) (int, http.Header, []byte) {
	if f.Status == 0 {
		f.Status = http.StatusInternalServerError
	}
	var status int
	var h http.Header
	var body []byte
	if f.RawBody != "" {
		status, h, body = f.Status, http.Header{}, []byte(f.RawBody)
		h.Set("Content-Type", "text/html; charset=utf-8")
	} else {
		typ, msg := f.Type, f.Message
		if typ == "" {
			typ = defaultType(f.Status)
		}
		if msg == "" {
			msg = defaultMessage(f.Status)
		}
		status, h, body = failureJSON(f.Status, typ, f.Code, msg, f.Param)
	}
	if f.RetryAfter != "" {
		h.Set("Retry-After", f.RetryAfter)
	}
	if f.ShouldRetry != "" {
		h.Set("Stripe-Should-Retry", f.ShouldRetry)
	}
	return status, h, body
}

func defaultType(status int) string {
	switch {
	case status == http.StatusPaymentRequired:
		return "card_error"
	case status >= 500:
		return "api_error"
	default:
		return "invalid_request_error"
	}
}

func defaultMessage(status int) string {
	switch {
	case status == http.StatusUnauthorized:
		return "Invalid API Key provided: sk_test_****"
	case status == http.StatusTooManyRequests:
		return "Too many requests hit the API too quickly. We recommend an exponential backoff of your requests."
	case status == http.StatusConflict:
		return "This object cannot be accessed right now because another API request or Stripe process is currently accessing it."
	case status >= 500:
		return "An unknown error occurred"
	default:
		return "Invalid request"
	}
}

// failureJSON builds Stripe's error answer.
func failureJSON(status int, typ, code, msg, param string) (int, http.Header, []byte) {
	e := map[string]any{"type": typ, "message": msg}
	if code != "" {
		e["code"] = code
		e["doc_url"] = "https://stripe.com/docs/error-codes/" + strings.ReplaceAll(code, "_", "-")
	}
	if param != "" {
		e["param"] = param
	}
	reqID := "req_" + randomID(14)
	e["request_log_url"] = "https://dashboard.stripe.com/test/logs/" + reqID
	body, _ := json.MarshalIndent(map[string]any{"error": e}, "", "  ")
	h := http.Header{}
	h.Set("Content-Type", "application/json")
	h.Set("Request-Id", reqID)
	return status, h, append(body, '\n')
}

func cloneRequest(q Request) Request {
	q.Query = cloneValues(q.Query)
	q.Form = cloneValues(q.Form)
	q.Header = q.Header.Clone()
	q.Response = slices.Clone(q.Response)
	return q
}

func cloneValues(v url.Values) url.Values {
	if v == nil {
		return nil
	}
	out := make(url.Values, len(v))
	for k, vs := range v {
		out[k] = slices.Clone(vs)
	}
	return out
}

const idAlphabet = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// randomID returns n random alphanumeric characters, as in Stripe's ids.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	for i := range b {
		b[i] = idAlphabet[int(b[i])%len(idAlphabet)]
	}
	return string(b)
}
