package stripe_test

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	stripesdk "github.com/stripe/stripe-go/v76"

	"github.com/bookinggw/gateway/adapters/stripe"
	"github.com/bookinggw/gateway/adapters/stripe/stripetest"
	"github.com/bookinggw/gateway/core"
)

const secretKey = "sk_test_51Gateway0000S3cr3tK3y0000000000000000000000001"

func newLinks(t *testing.T, baseURL string, mod ...func(*stripe.Config)) *stripe.Links {
	t.Helper()
	cfg := stripe.Config{SecretKey: secretKey, BaseURL: baseURL}
	for _, f := range mod {
		f(&cfg)
	}
	l, err := stripe.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func noRetries(c *stripe.Config) { c.MaxNetworkRetries = -1 }

func linkRequest(mod ...func(*core.LinkRequest)) core.LinkRequest {
	r := core.LinkRequest{
		OrgID:          "org_1",
		ClientID:       "cli_7",
		Purpose:        "appointment",
		RefID:          "apt_42",
		AmountMinor:    4500,
		Currency:       "EUR",
		Description:    "Haircut with Anna, 12 May 10:00",
		IdempotencyKey: "link-apt_42-1",
		SuccessURL:     "https://gw.example.com/pay/done?apt=apt_42",
		CancelURL:      "https://gw.example.com/pay/cancel?apt=apt_42",
	}
	for _, f := range mod {
		f(&r)
	}
	return r
}

// noSecret fails when the secret key (or a part of it long enough to
// matter) shows in err's text.
func noSecret(t *testing.T, err error, key string) {
	t.Helper()
	for _, s := range []string{err.Error(), fmt.Sprintf("%+v", err), fmt.Sprintf("%#v", err)} {
		if strings.Contains(s, key) || strings.Contains(s, key[len(key)-16:]) {
			t.Fatalf("error carries the secret key: %s", s)
		}
	}
	var se *stripesdk.Error
	if errors.As(err, &se) {
		if strings.Contains(se.Error(), key) {
			t.Fatalf("wrapped *stripe.Error carries the secret key: %s", se.Error())
		}
		if se.LastResponse != nil && strings.Contains(string(se.LastResponse.RawJSON), key) {
			t.Fatal("wrapped *stripe.Error's raw response carries the secret key")
		}
	}
}

func TestNew(t *testing.T) {
	tests := []struct {
		name string
		cfg  stripe.Config
		ok   bool
	}{
		{"defaults", stripe.Config{SecretKey: secretKey}, true},
		{"base url with path", stripe.Config{SecretKey: secretKey, BaseURL: "http://127.0.0.1:1/stripe/"}, true},
		{"no key", stripe.Config{}, false},
		{"key with space", stripe.Config{SecretKey: "sk_test_1 2"}, false},
		{"relative base url", stripe.Config{SecretKey: secretKey, BaseURL: "/v1"}, false},
		{"ftp base url", stripe.Config{SecretKey: secretKey, BaseURL: "ftp://example.com"}, false},
		{"base url with query", stripe.Config{SecretKey: secretKey, BaseURL: "http://example.com/?a=1"}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			l, err := stripe.New(tt.cfg)
			if (err == nil) != tt.ok {
				t.Fatalf("New() err = %v, want ok=%v", err, tt.ok)
			}
			if err != nil && strings.Contains(err.Error(), secretKey) {
				t.Fatalf("error carries the key: %v", err)
			}
			if tt.ok && l == nil {
				t.Fatal("nil Links")
			}
		})
	}
	if stripesdk.Key != "" {
		t.Fatalf("global stripe.Key was set to %q", stripesdk.Key)
	}
}

func TestCreateLinkSuccess(t *testing.T) {
	t.Parallel()
	rec := stripetest.Start(t)
	links := newLinks(t, rec.URL)

	tests := []struct {
		name         string
		req          core.LinkRequest
		wantCurrency string
		wantCancel   string
	}{
		{name: "appointment in EUR", req: linkRequest(), wantCurrency: "eur",
			wantCancel: "https://gw.example.com/pay/cancel?apt=apt_42"},
		{name: "package sale in zero-decimal JPY, no cancel url", req: linkRequest(func(r *core.LinkRequest) {
			r.Purpose, r.RefID, r.AmountMinor, r.Currency = "package_sale", "pks_9", 12000, "JPY"
			r.IdempotencyKey, r.CancelURL, r.Description = "link-pks_9-1", "", "10 sessions — Massage (Übung)"
		}), wantCurrency: "jpy"},
		{name: "lower-case currency kept", req: linkRequest(func(r *core.LinkRequest) {
			r.Currency, r.IdempotencyKey, r.RefID = "pln", "link-apt_43-1", "apt_43"
		}), wantCurrency: "pln", wantCancel: "https://gw.example.com/pay/cancel?apt=apt_42"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			link, err := links.CreateLink(context.Background(), tt.req)
			if err != nil {
				t.Fatalf("CreateLink: %v", err)
			}
			reqs := rec.Requests()
			if len(reqs) != 1 {
				t.Fatalf("mock got %d requests, want 1", len(reqs))
			}
			q := reqs[0]
			if q.Method != http.MethodPost || q.Path != "/v1/checkout/sessions" {
				t.Fatalf("request = %s %s", q.Method, q.Path)
			}
			if q.Status != http.StatusOK {
				t.Fatalf("mock answered %d: %s", q.Status, q.Response)
			}
			if q.IdempotencyKey != tt.req.IdempotencyKey {
				t.Errorf("Idempotency-Key = %q, want %q", q.IdempotencyKey, tt.req.IdempotencyKey)
			}
			if q.Authorization != "Bearer "+secretKey {
				t.Errorf("Authorization = %q", q.Authorization)
			}
			if q.StripeVersion != stripesdk.APIVersion {
				t.Errorf("Stripe-Version = %q, want %q", q.StripeVersion, stripesdk.APIVersion)
			}
			want := map[string]string{
				"mode":                                   "payment",
				"success_url":                            tt.req.SuccessURL,
				"cancel_url":                             tt.wantCancel,
				"client_reference_id":                    tt.req.RefID,
				"line_items[0][quantity]":                "1",
				"line_items[0][price_data][currency]":    tt.wantCurrency,
				"line_items[0][price_data][unit_amount]": fmt.Sprint(tt.req.AmountMinor),
				"line_items[0][price_data][product_data][name]": tt.req.Description,
				"metadata[org_id]":                         tt.req.OrgID,
				"metadata[purpose]":                        tt.req.Purpose,
				"metadata[ref_id]":                         tt.req.RefID,
				"metadata[client_id]":                      tt.req.ClientID,
				"payment_intent_data[metadata][org_id]":    tt.req.OrgID,
				"payment_intent_data[metadata][purpose]":   tt.req.Purpose,
				"payment_intent_data[metadata][ref_id]":    tt.req.RefID,
				"payment_intent_data[metadata][client_id]": tt.req.ClientID,
			}
			for k, v := range want {
				if got := q.Form.Get(k); got != v {
					t.Errorf("form %s = %q, want %q", k, got, v)
				}
			}
			if _, ok := q.Form["cancel_url"]; !ok && tt.wantCancel != "" {
				t.Error("cancel_url not sent")
			}
			if _, ok := q.Form["cancel_url"]; ok && tt.wantCancel == "" {
				t.Error("empty cancel_url sent")
			}
			if len(q.Form) != len(want)-boolInt(tt.wantCancel == "") {
				t.Errorf("form has %d fields, want %d: %v", len(q.Form), len(want), q.Form)
			}

			if link.ProviderID != q.ID() || !strings.HasPrefix(link.ProviderID, "cs_test_") {
				t.Errorf("ProviderID = %q, mock answered %q", link.ProviderID, q.ID())
			}
			if !strings.HasPrefix(link.URL, "https://checkout.stripe.com/") {
				t.Errorf("URL = %q", link.URL)
			}
			// stripe-mock's fixture expires_at.
			if !link.ExpiresAt.Equal(time.Unix(1234567890, 0)) {
				t.Errorf("ExpiresAt = %v", link.ExpiresAt)
			}
		})
	}
}

func boolInt(b bool) int {
	if b {
		return 1
	}
	return 0
}

func TestCreateLinkIdempotent(t *testing.T) {
	t.Parallel()
	rec := stripetest.Start(t)
	links := newLinks(t, rec.URL)
	ctx := context.Background()

	first, err := links.CreateLink(ctx, linkRequest())
	if err != nil {
		t.Fatal(err)
	}
	again, err := links.CreateLink(ctx, linkRequest())
	if err != nil {
		t.Fatal(err)
	}
	if again != first {
		t.Fatalf("repeat with the same idempotency key = %+v, want the first %+v", again, first)
	}
	if n := rec.Forwarded(); n != 1 {
		t.Fatalf("mock saw %d requests, want 1", n)
	}
	reqs := rec.Requests()
	if len(reqs) != 2 || reqs[0].Replayed || !reqs[1].Replayed {
		t.Fatalf("requests = %+v, want the second replayed", reqs)
	}

	// stripe-mock is stateless: a new key gets a new session id.
	other, err := links.CreateLink(ctx, linkRequest(func(r *core.LinkRequest) { r.IdempotencyKey = "link-apt_42-2" }))
	if err != nil {
		t.Fatal(err)
	}
	if other.ProviderID == first.ProviderID {
		t.Fatalf("another key returned the same session %s", other.ProviderID)
	}
	if n := rec.Forwarded(); n != 2 {
		t.Fatalf("mock saw %d requests, want 2", n)
	}

	// The same key with other parameters is refused, as by Stripe.
	_, err = links.CreateLink(ctx, linkRequest(func(r *core.LinkRequest) { r.AmountMinor = 9900 }))
	var se *core.SendError
	if !errors.As(err, &se) || !se.Permanent || se.Code != "idempotency_error" {
		t.Fatalf("reused key with other params: err = %v, want permanent idempotency_error", err)
	}

	// Concurrent repeats (a double click) all get the one session.
	rec.Reset()
	var wg sync.WaitGroup
	got := make([]core.PaymentLink, 8)
	errs := make([]error, 8)
	for i := range got {
		wg.Add(1)
		go func() {
			defer wg.Done()
			got[i], errs[i] = links.CreateLink(ctx, linkRequest(func(r *core.LinkRequest) { r.IdempotencyKey = "link-apt_42-3" }))
		}()
	}
	wg.Wait()
	for i := range got {
		if errs[i] != nil || got[i] != got[0] {
			t.Fatalf("concurrent repeat %d = %+v, %v; want %+v", i, got[i], errs[i], got[0])
		}
	}
	if n := rec.Forwarded(); n != 1 {
		t.Fatalf("mock saw %d requests for concurrent repeats, want 1", n)
	}
}

func TestCreateLinkRetriesWithSameKey(t *testing.T) {
	t.Parallel()
	rec := stripetest.Start(t)
	links := newLinks(t, rec.URL) // stripe-go's default: 2 retries
	rec.FailNext(1, stripetest.Failure{Status: http.StatusServiceUnavailable})

	link, err := links.CreateLink(context.Background(), linkRequest())
	if err != nil {
		t.Fatalf("CreateLink after one 503: %v", err)
	}
	reqs := rec.Requests()
	if len(reqs) != 2 || !reqs[0].Injected || reqs[1].Status != http.StatusOK {
		t.Fatalf("requests = %+v, want an injected 503 then a 200", reqs)
	}
	for _, q := range reqs {
		if q.IdempotencyKey != "link-apt_42-1" {
			t.Fatalf("attempt sent Idempotency-Key %q", q.IdempotencyKey)
		}
	}
	if link.ProviderID != reqs[1].ID() {
		t.Fatalf("ProviderID = %q, want %q", link.ProviderID, reqs[1].ID())
	}
}

func TestCreateLinkInvalid(t *testing.T) {
	t.Parallel()
	rec := stripetest.Start(t)
	links := newLinks(t, rec.URL, noRetries)

	// Refused before any call.
	local := []struct {
		name string
		mod  func(*core.LinkRequest)
	}{
		{"amount 0", func(r *core.LinkRequest) { r.AmountMinor = 0 }},
		{"negative amount", func(r *core.LinkRequest) { r.AmountMinor = -100 }},
		{"4-letter currency", func(r *core.LinkRequest) { r.Currency = "EURO" }},
		{"empty currency", func(r *core.LinkRequest) { r.Currency = "" }},
		{"digits in currency", func(r *core.LinkRequest) { r.Currency = "E1R" }},
		{"no description", func(r *core.LinkRequest) { r.Description = "  " }},
		{"no success url", func(r *core.LinkRequest) { r.SuccessURL = "" }},
		{"relative success url", func(r *core.LinkRequest) { r.SuccessURL = "/pay/done" }},
		{"bad cancel url", func(r *core.LinkRequest) { r.CancelURL = "javascript:alert(1)" }},
		{"no ref id", func(r *core.LinkRequest) { r.RefID = "" }},
		{"no org id", func(r *core.LinkRequest) { r.OrgID = "" }},
		{"idempotency key too long", func(r *core.LinkRequest) { r.IdempotencyKey = strings.Repeat("k", 256) }},
		{"metadata value too long", func(r *core.LinkRequest) { r.ClientID = strings.Repeat("c", 501) }},
	}
	for _, tt := range local {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			_, err := links.CreateLink(context.Background(), linkRequest(tt.mod))
			var se *core.SendError
			if !errors.As(err, &se) || !se.Permanent || se.Code != "invalid_request" {
				t.Fatalf("err = %v, want a permanent invalid_request *core.SendError", err)
			}
			if n := len(rec.Requests()); n != 0 {
				t.Fatalf("%d requests reached Stripe", n)
			}
		})
	}

	// Refused by Stripe (stripe-mock, or Stripe's answers injected by the
	// Recorder for rules stripe-mock does not check).
	remote := []struct {
		name     string
		key      string
		fail     *stripetest.Failure
		wantCode string
	}{
		{name: "stripe-mock refuses a live-looking key (and echoes it)", key: "sk_live_NotForTests0000S3cr3tK3y0000000000000002",
			wantCode: "invalid_request_error"},
		{name: "amount too small", fail: &stripetest.Failure{Status: 400, Code: "amount_too_small",
			Message: "The Checkout Session's total amount due must add up to at least €0.50 eur", Param: "line_items[0][price_data][unit_amount]"},
			wantCode: "amount_too_small"},
		{name: "invalid currency", fail: &stripetest.Failure{Status: 400, Code: "parameter_invalid_string",
			Message: "Invalid currency: xxx.", Param: "line_items[0][price_data][currency]"}, wantCode: "parameter_invalid_string"},
		{name: "revoked key", fail: &stripetest.Failure{Status: 401, Code: "api_key_expired"}, wantCode: "api_key_expired"},
		{name: "not found without code", fail: &stripetest.Failure{Status: 404}, wantCode: "invalid_request_error"},
	}
	for _, tt := range remote {
		t.Run(tt.name, func(t *testing.T) {
			rec.Reset()
			l, key := links, secretKey
			if tt.key != "" {
				l, key = newLinks(t, rec.URL, noRetries, func(c *stripe.Config) { c.SecretKey = tt.key }), tt.key
			}
			if tt.fail != nil {
				rec.FailNext(1, *tt.fail)
			}
			_, err := l.CreateLink(context.Background(), linkRequest())
			var se *core.SendError
			if !errors.As(err, &se) || !se.Permanent || se.Code != tt.wantCode {
				t.Fatalf("err = %v, want permanent code %s", err, tt.wantCode)
			}
			var serr *stripesdk.Error
			if !errors.As(err, &serr) || serr.HTTPStatusCode/100 != 4 {
				t.Fatalf("err = %v does not unwrap to a 4xx *stripe.Error", err)
			}
			q := rec.Requests()
			if len(q) != 1 || q[0].Status/100 != 4 {
				t.Fatalf("requests = %+v, want one 4xx", q)
			}
			if tt.key != "" && !strings.Contains(string(q[0].Response), tt.key) {
				t.Fatalf("stripe-mock no longer echoes the key (the redaction is untested): %s", q[0].Response)
			}
			noSecret(t, err, key)
			t.Logf("error: %v", err)
		})
	}
}

// fakeStripe is a tiny Stripe stand-in answering every request with one
// canned answer.
func fakeStripe(t *testing.T, status int, header map[string]string, body string) (*httptest.Server, *atomic.Int32) {
	t.Helper()
	var n atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n.Add(1)
		for k, v := range header {
			w.Header().Set(k, v)
		}
		w.WriteHeader(status)
		fmt.Fprint(w, body)
	}))
	t.Cleanup(srv.Close)
	return srv, &n
}

func TestCreateLinkTemporary(t *testing.T) {
	t.Parallel()
	// Echoing the key as a careless proxy might: it must be scrubbed.
	echo := `{"error":{"type":"api_error","message":"upstream failed for Bearer ` + secretKey + `"}}`
	tests := []struct {
		name           string
		status         int
		header         map[string]string
		body           string
		wantCode       string
		wantRetryAfter time.Duration
	}{
		{name: "500 api_error", status: 500, header: map[string]string{"Content-Type": "application/json"},
			body: `{"error":{"type":"api_error","message":"An unknown error occurred"}}`, wantCode: "api_error"},
		{name: "500 echoing the key", status: 500, body: echo, wantCode: "api_error"},
		{name: "502 html page", status: 502, header: map[string]string{"Content-Type": "text/html"},
			body: "<html><body>Bad Gateway</body></html>", wantCode: "502"},
		{name: "503 html page echoing the key", status: 503, body: "<p>no route for " + secretKey + "</p>", wantCode: "503"},
		{name: "429 rate limit", status: 429, header: map[string]string{"Retry-After": "7"},
			body:     `{"error":{"type":"invalid_request_error","code":"rate_limit","message":"Too many requests hit the API too quickly."}}`,
			wantCode: "rate_limit", wantRetryAfter: 7 * time.Second},
		{name: "409 lock timeout", status: 409,
			body: `{"error":{"type":"invalid_request_error","code":"lock_timeout","message":"This object cannot be accessed right now."}}`, wantCode: "lock_timeout"},
		{name: "408 timeout", status: 408, body: `{"error":{"type":"api_error","message":"timeout"}}`, wantCode: "api_error"},
		{name: "200 unreadable", status: 200, body: "<html>", wantCode: "bad_response"},
		{name: "200 without id", status: 200, body: `{"object":"checkout.session"}`, wantCode: "bad_response"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			srv, n := fakeStripe(t, tt.status, tt.header, tt.body)
			links := newLinks(t, srv.URL, noRetries)
			_, err := links.CreateLink(context.Background(), linkRequest())
			var se *core.SendError
			if !errors.As(err, &se) || se.Permanent || se.Code != tt.wantCode {
				t.Fatalf("err = %#v (%v), want temporary code %s", se, err, tt.wantCode)
			}
			if se.RetryAfter != tt.wantRetryAfter {
				t.Errorf("RetryAfter = %v, want %v", se.RetryAfter, tt.wantRetryAfter)
			}
			if got := n.Load(); got != 1 {
				t.Errorf("fake got %d requests, want 1 (retries disabled)", got)
			}
			noSecret(t, err, secretKey)
		})
	}

	t.Run("503 retried by stripe-go", func(t *testing.T) {
		t.Parallel()
		srv, n := fakeStripe(t, 503, nil, `{"error":{"type":"api_error","message":"unavailable"}}`)
		links := newLinks(t, srv.URL, func(c *stripe.Config) { c.MaxNetworkRetries = 1 })
		_, err := links.CreateLink(context.Background(), linkRequest())
		if core.IsPermanent(err) || err == nil {
			t.Fatalf("err = %v, want temporary", err)
		}
		if got := n.Load(); got != 2 {
			t.Fatalf("fake got %d requests, want 2", got)
		}
	})

	t.Run("network error", func(t *testing.T) {
		t.Parallel()
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := ln.Addr().String()
		ln.Close()
		links := newLinks(t, "http://"+addr, noRetries)
		_, err = links.CreateLink(context.Background(), linkRequest())
		var se *core.SendError
		if !errors.As(err, &se) || se.Permanent || se.Code != "network" {
			t.Fatalf("err = %v, want temporary network", err)
		}
		noSecret(t, err, secretKey)
	})

	t.Run("context deadline", func(t *testing.T) {
		t.Parallel()
		release := make(chan struct{})
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			select {
			case <-release:
			case <-r.Context().Done():
			}
		}))
		t.Cleanup(srv.Close)
		t.Cleanup(func() { close(release) })
		links := newLinks(t, srv.URL) // default retries: none after the context ends
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		_, err := links.CreateLink(ctx, linkRequest())
		var se *core.SendError
		if !errors.As(err, &se) || se.Permanent || se.Code != "context" || !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want temporary context deadline", err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("took %v", d)
		}
	})

	t.Run("context already cancelled", func(t *testing.T) {
		t.Parallel()
		srv, n := fakeStripe(t, 200, nil, `{}`)
		links := newLinks(t, srv.URL)
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		_, err := links.CreateLink(ctx, linkRequest())
		if !errors.Is(err, context.Canceled) || core.IsPermanent(err) {
			t.Fatalf("err = %v, want temporary context.Canceled", err)
		}
		if n.Load() != 0 {
			t.Fatal("a request was sent")
		}
	})
}

func TestLinksDoNotShareKeys(t *testing.T) {
	t.Parallel()
	rec := stripetest.Start(t)
	keys := []string{
		"sk_test_51TenantA000000000000000000000000000000000000000A",
		"sk_test_51TenantB000000000000000000000000000000000000000B",
	}
	links := make([]*stripe.Links, len(keys))
	for i, k := range keys {
		links[i] = newLinks(t, rec.URL, func(c *stripe.Config) { c.SecretKey = k })
	}
	var wg sync.WaitGroup
	const perLink = 10
	errs := make(chan error, perLink*len(keys))
	for i := range links {
		for j := range perLink {
			wg.Add(1)
			go func() {
				defer wg.Done()
				_, err := links[i].CreateLink(context.Background(), linkRequest(func(r *core.LinkRequest) {
					r.ClientID = fmt.Sprintf("link%d", i)
					r.IdempotencyKey = fmt.Sprintf("link%d-%d", i, j)
				}))
				errs <- err
			}()
		}
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	reqs := rec.Requests()
	if len(reqs) != perLink*len(keys) {
		t.Fatalf("mock got %d requests, want %d", len(reqs), perLink*len(keys))
	}
	for _, q := range reqs {
		var i int
		if _, err := fmt.Sscanf(q.Form.Get("metadata[client_id]"), "link%d", &i); err != nil {
			t.Fatalf("client_id %q", q.Form.Get("metadata[client_id]"))
		}
		if q.Authorization != "Bearer "+keys[i] {
			t.Errorf("request of link %d sent Authorization %q", i, q.Authorization)
		}
	}
	if stripesdk.Key != "" {
		t.Fatalf("global stripe.Key was set to %q", stripesdk.Key)
	}
}

func TestCustomHTTPClient(t *testing.T) {
	t.Parallel()
	rec := stripetest.Start(t)
	var calls atomic.Int32
	hc := &http.Client{Timeout: 5 * time.Second, Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		calls.Add(1)
		return http.DefaultTransport.RoundTrip(r)
	})}
	orig := hc.Transport
	links := newLinks(t, rec.URL+"/", func(c *stripe.Config) { c.HTTPClient = hc })
	if _, err := links.CreateLink(context.Background(), linkRequest()); err != nil {
		t.Fatal(err)
	}
	if calls.Load() != 1 {
		t.Fatalf("custom transport used %d times, want 1", calls.Load())
	}
	if fmt.Sprintf("%p", hc.Transport) != fmt.Sprintf("%p", orig) {
		t.Fatal("Config.HTTPClient was modified")
	}
	if q := rec.Requests(); len(q) != 1 || q[0].Path != "/v1/checkout/sessions" {
		t.Fatalf("requests = %+v", q)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestMetadataMatchesStripetest(t *testing.T) {
	r := linkRequest()
	got := stripe.Metadata(r)
	want := stripetest.Metadata(r.OrgID, r.Purpose, r.RefID, r.ClientID)
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("stripe.Metadata = %v, stripetest.Metadata = %v", got, want)
	}
}
