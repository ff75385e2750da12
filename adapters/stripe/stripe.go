// Package stripe creates payment links as Stripe Checkout Sessions with the
// official SDK (github.com/stripe/stripe-go/v76) and verifies Stripe's
// webhook signatures.
//
// Each Links owns its SDK client (client.New with its own backend): the
// package never touches stripe-go's global key or backends, so two Links
// with different keys (or base URLs) can be used side by side. Tests and
// local runs point Config.BaseURL at stripe-mock, usually through
// stripetest's Recorder.
package stripe

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	stripesdk "github.com/stripe/stripe-go/v76"
	"github.com/stripe/stripe-go/v76/client"
	"github.com/stripe/stripe-go/v76/webhook"

	"github.com/bookinggw/gateway/adapters/redact"
	"github.com/bookinggw/gateway/adapters/retryafter"
	"github.com/bookinggw/gateway/core"
)

// DefaultBaseURL is Stripe's API.
const DefaultBaseURL = "https://api.stripe.com"

// DefaultTimeout bounds one HTTP attempt when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// Metadata keys set on every Checkout Session and on its PaymentIntent, so
// checkout.session.*, payment_intent.* and charge.* events can be matched
// back to the booking (see core.PaymentLinks).
const (
	MetaOrgID    = "org_id"
	MetaPurpose  = "purpose"
	MetaRefID    = "ref_id"
	MetaClientID = "client_id"
)

// Config configures Links. SecretKey is required.
type Config struct {
	SecretKey string // sk_… or rk_…; secret: never logged nor put in errors
	// BaseURL is the scheme and host (optionally a path prefix) API requests
	// go to; empty means DefaultBaseURL.
	BaseURL string
	// HTTPClient's Transport, Timeout, Jar and CheckRedirect are used (the
	// client itself is not modified); nil means a client with DefaultTimeout
	// over http.DefaultTransport.
	HTTPClient *http.Client
	// MaxNetworkRetries is how many times stripe-go retries, within one
	// CreateLink and with the same Idempotency-Key, a request that failed on
	// the network or got 409, 503, 429 lock_timeout or Stripe-Should-Retry:
	// true (not a POST's 500: Stripe's idempotency layer saved it). 0 means
	// stripe-go's default (2); a negative value disables retries (the queue
	// retries instead).
	MaxNetworkRetries int
}

// Links is a core.PaymentLinks backed by Stripe Checkout. It is safe for
// concurrent use.
type Links struct {
	api *client.API
	key string
}

var _ core.PaymentLinks = (*Links)(nil)

// New checks cfg and returns Links. It makes no network call.
func New(cfg Config) (*Links, error) {
	key := cfg.SecretKey
	if key == "" {
		return nil, errors.New("stripe: SecretKey is required")
	}
	if strings.TrimSpace(key) != key || strings.ContainsAny(key, " \t\r\n") {
		return nil, errors.New("stripe: SecretKey must not contain white space")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" ||
		base.RawQuery != "" || base.Fragment != "" {
		return nil, fmt.Errorf("stripe: BaseURL %q must be an absolute http(s) URL without query", cfg.BaseURL)
	}
	hc := &http.Client{Timeout: DefaultTimeout}
	var rt http.RoundTripper = http.DefaultTransport
	if cfg.HTTPClient != nil {
		hc.Timeout = cfg.HTTPClient.Timeout
		hc.Jar = cfg.HTTPClient.Jar
		hc.CheckRedirect = cfg.HTTPClient.CheckRedirect
		if cfg.HTTPClient.Transport != nil {
			rt = cfg.HTTPClient.Transport
		}
	}
	hc.Transport = &transport{base: rt}
	retries := int64(stripesdk.DefaultMaxNetworkRetries)
	switch {
	case cfg.MaxNetworkRetries < 0:
		retries = 0
	case cfg.MaxNetworkRetries > 0:
		retries = int64(cfg.MaxNetworkRetries)
	}
	backend := stripesdk.GetBackendWithConfig(stripesdk.APIBackend, &stripesdk.BackendConfig{
		URL:               stripesdk.String(strings.TrimRight(base.String(), "/")),
		HTTPClient:        hc,
		MaxNetworkRetries: stripesdk.Int64(retries),
		// Errors are returned, not logged: the caller's logs decide, and
		// stripe-go's logger would print error messages that may echo the key.
		LeveledLogger: &stripesdk.LeveledLogger{Level: stripesdk.LevelNull},
	})
	// Only the API backend is used (Checkout Sessions); Connect and Uploads
	// stay nil rather than falling back to the package globals.
	api := client.New(key, &stripesdk.Backends{API: backend})
	return &Links{api: api, key: key}, nil
}

// Metadata returns the metadata CreateLink puts on the Checkout Session and
// its PaymentIntent for r.
func Metadata(r core.LinkRequest) map[string]string {
	return map[string]string{
		MetaOrgID:    r.OrgID,
		MetaPurpose:  r.Purpose,
		MetaRefID:    r.RefID,
		MetaClientID: r.ClientID,
	}
}

// CreateLink creates a Checkout Session in payment mode with one line item
// (price_data: r.Currency lower-cased, unit_amount r.AmountMinor,
// product_data.name r.Description; quantity 1), r.SuccessURL and
// r.CancelURL, client_reference_id r.RefID, and Metadata(r) on both the
// session and payment_intent_data. r.IdempotencyKey is sent as the
// Idempotency-Key header, so a retried call returns the first session.
//
// Errors are *core.SendError: Permanent for a request Stripe (or this
// package, before any call) refuses (4xx other than 408, 409 and 429);
// temporary for 408, 409, 429, 5xx, network errors and cancelled contexts.
// Code is Stripe's error code, else its error type, else the HTTP status.
// The secret key never appears in an error.
func (l *Links) CreateLink(ctx context.Context, r core.LinkRequest) (core.PaymentLink, error) {
	if err := validate(r); err != nil {
		return core.PaymentLink{}, err
	}
	if ctx == nil {
		ctx = context.Background()
	}
	if err := ctx.Err(); err != nil {
		return core.PaymentLink{}, &core.SendError{Code: "context", Err: err}
	}
	ex := &exchange{}
	params := l.params(r)
	params.Context = context.WithValue(ctx, exchangeKey{}, ex)
	s, err := l.api.CheckoutSessions.New(params)
	if err != nil {
		return core.PaymentLink{}, l.classify(ctx, err, ex)
	}
	if s == nil || s.ID == "" || s.URL == "" {
		return core.PaymentLink{}, &core.SendError{Code: "bad_response",
			Err: errors.New("stripe: create checkout session: response has no id or url")}
	}
	link := core.PaymentLink{ProviderID: s.ID, URL: s.URL}
	if s.ExpiresAt != 0 {
		link.ExpiresAt = time.Unix(s.ExpiresAt, 0).UTC()
	}
	return link, nil
}

func (l *Links) params(r core.LinkRequest) *stripesdk.CheckoutSessionParams {
	p := &stripesdk.CheckoutSessionParams{
		Mode:       stripesdk.String(string(stripesdk.CheckoutSessionModePayment)),
		SuccessURL: stripesdk.String(r.SuccessURL),
		LineItems: []*stripesdk.CheckoutSessionLineItemParams{{
			PriceData: &stripesdk.CheckoutSessionLineItemPriceDataParams{
				Currency:   stripesdk.String(strings.ToLower(r.Currency)),
				UnitAmount: stripesdk.Int64(r.AmountMinor),
				ProductData: &stripesdk.CheckoutSessionLineItemPriceDataProductDataParams{
					Name: stripesdk.String(r.Description),
				},
			},
			Quantity: stripesdk.Int64(1),
		}},
		ClientReferenceID: stripesdk.String(r.RefID),
		PaymentIntentData: &stripesdk.CheckoutSessionPaymentIntentDataParams{
			Metadata: Metadata(r),
		},
	}
	if r.CancelURL != "" {
		p.CancelURL = stripesdk.String(r.CancelURL)
	}
	for k, v := range Metadata(r) {
		p.AddMetadata(k, v)
	}
	if r.IdempotencyKey != "" {
		p.SetIdempotencyKey(r.IdempotencyKey)
	}
	return p
}

// validate refuses, before any call, what Stripe would refuse anyway or
// what would make the link unusable or unmatchable.
func validate(r core.LinkRequest) error {
	var bad []string
	check := func(cond bool, msg string) {
		if cond {
			bad = append(bad, msg)
		}
	}
	check(r.AmountMinor <= 0, "amount must be positive")
	check(!isCurrency(r.Currency), fmt.Sprintf("currency %q is not a 3-letter ISO 4217 code", r.Currency))
	check(strings.TrimSpace(r.Description) == "", "description is required")
	check(!absURL(r.SuccessURL), "success URL must be an absolute http(s) URL")
	check(r.CancelURL != "" && !absURL(r.CancelURL), "cancel URL must be an absolute http(s) URL")
	check(r.OrgID == "" || r.RefID == "" || r.Purpose == "", "org, purpose and ref ids are required")
	check(len(r.RefID) > 200, "ref id longer than 200 characters")
	check(len(strings.TrimSpace(r.IdempotencyKey)) > 255, "idempotency key longer than 255 characters")
	for k, v := range Metadata(r) {
		check(len(v) > 500, "metadata "+k+" longer than 500 characters")
	}
	if len(bad) == 0 {
		return nil
	}
	return &core.SendError{Permanent: true, Code: "invalid_request",
		Err: errors.New("stripe: invalid link request: " + strings.Join(bad, "; "))}
}

func isCurrency(c string) bool {
	if len(c) != 3 {
		return false
	}
	for _, r := range c {
		if (r < 'a' || r > 'z') && (r < 'A' || r > 'Z') {
			return false
		}
	}
	return true
}

func absURL(s string) bool {
	u, err := url.Parse(s)
	return err == nil && (u.Scheme == "http" || u.Scheme == "https") && u.Host != ""
}

// exchange is what the transport saw of the last HTTP response of one
// CreateLink call (stripe-go keeps the status of non-JSON error bodies to
// itself). It travels in the request's context.
type exchange struct {
	status     int
	retryAfter string
	attempts   int
}

type exchangeKey struct{}

// transport records each response's status and Retry-After in the
// request's exchange. stripe-go's retries run sequentially on the calling
// goroutine, so the exchange needs no lock.
type transport struct{ base http.RoundTripper }

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if ex, ok := req.Context().Value(exchangeKey{}).(*exchange); ok {
		ex.attempts++
		ex.status, ex.retryAfter = 0, ""
		if err == nil {
			ex.status = resp.StatusCode
			ex.retryAfter = resp.Header.Get("Retry-After")
		}
	}
	return resp, err
}

// classify turns an SDK error into a *core.SendError:
//
//	429, 409, 408, 5xx, network, context → temporary (429: RetryAfter from the header)
//	other 4xx (invalid_request_error, authentication, idempotency_error …) → permanent
func (l *Links) classify(ctx context.Context, err error, ex *exchange) error {
	se := &core.SendError{}
	status := ex.status
	var serr *stripesdk.Error
	switch {
	case errors.As(err, &serr):
		if serr.HTTPStatusCode != 0 {
			status = serr.HTTPStatusCode
		}
		se.Code = string(serr.Code)
		if se.Code == "" {
			se.Code = string(serr.Type)
		}
		if se.Code == "" {
			se.Code = strconv.Itoa(status)
		}
		se.Err = &apiError{status: status, err: l.redactStripe(serr)}
	case ctx.Err() != nil:
		se.Code = "context"
		se.Err = l.scrub(fmt.Errorf("stripe: create checkout session: %w", err))
		return se
	case status >= 300:
		// An error body that is not Stripe's JSON (a proxy's HTML page).
		se.Code = strconv.Itoa(status)
		se.Err = l.scrub(fmt.Errorf("stripe: create checkout session: HTTP %d: %w", status, err))
	case status == 0:
		se.Code = "network"
		se.Err = l.scrub(fmt.Errorf("stripe: create checkout session: %w", err))
		return se
	default:
		// 2xx with an unreadable body: the session may exist; a retry with
		// the same idempotency key returns it.
		se.Code = "bad_response"
		se.Err = l.scrub(fmt.Errorf("stripe: create checkout session: HTTP %d: %w", status, err))
		return se
	}
	switch {
	case status == http.StatusTooManyRequests:
		se.RetryAfter = retryafter.Parse(ex.retryAfter, time.Now())
	case status == http.StatusRequestTimeout, status == http.StatusConflict:
	case status >= 400 && status < 500:
		se.Permanent = true
	}
	return se
}

// apiError is a Stripe API error with a readable message; it unwraps to the
// *stripe.Error (errors.As works).
type apiError struct {
	status int
	err    *stripesdk.Error
}

func (e *apiError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "stripe: create checkout session: HTTP %d", e.status)
	if e.err.Type != "" {
		fmt.Fprintf(&b, " type=%s", e.err.Type)
	}
	if e.err.Code != "" {
		fmt.Fprintf(&b, " code=%s", e.err.Code)
	}
	if e.err.Param != "" {
		fmt.Fprintf(&b, " param=%s", e.err.Param)
	}
	if e.err.RequestID != "" {
		fmt.Fprintf(&b, " request=%s", e.err.RequestID)
	}
	if e.err.Msg != "" {
		fmt.Fprintf(&b, ": %s", e.err.Msg)
	}
	return b.String()
}

func (e *apiError) Unwrap() error { return e.err }

// redactStripe returns serr, or a copy without the key when its text
// carries it (stripe-mock echoes a malformed Authorization header). The
// copy drops the raw response and the typed sub-error, which hold it too.
func (l *Links) redactStripe(serr *stripesdk.Error) *stripesdk.Error {
	if !l.hasKey(serr.Error()) && (serr.LastResponse == nil || !l.hasKey(string(serr.LastResponse.RawJSON))) {
		return serr
	}
	c := *serr
	c.Msg = l.clean(c.Msg)
	c.DocURL = l.clean(c.DocURL)
	c.Param = l.clean(c.Param)
	c.Err = nil
	c.LastResponse = nil
	if l.hasKey(c.Error()) {
		return &stripesdk.Error{Type: serr.Type, Code: serr.Code, HTTPStatusCode: serr.HTTPStatusCode,
			RequestID: serr.RequestID, Msg: "(message redacted)"}
	}
	return &c
}

func (l *Links) keyForms() []string {
	return []string{l.key, url.PathEscape(l.key), url.QueryEscape(l.key)}
}

func (l *Links) hasKey(s string) bool {
	for _, f := range l.keyForms() {
		if strings.Contains(s, f) {
			return true
		}
	}
	return false
}

func (l *Links) clean(s string) string {
	for _, f := range l.keyForms() {
		s = strings.ReplaceAll(s, f, "REDACTED")
	}
	return s
}

// scrub returns err, or a redacted copy of its text when it carries the
// key, keeping only context cancellation as a cause.
func (l *Links) scrub(err error) error {
	if !l.hasKey(err.Error()) {
		return err
	}
	return redact.Text(err, l.clean(err.Error()))
}

// VerifyEvent checks payload against the Stripe-Signature header with the
// endpoint's signing secret (whsec_…) and returns the event. A signature
// older than tolerance is refused (tolerance 0 means stripe-go's default,
// 5 minutes). The event's API version may differ from stripe-go's: the
// handler reads the fields it needs from event.Data.
//
// Errors wrap webhook.ErrNotSigned, ErrInvalidHeader, ErrNoValidSignature
// or ErrTooOld, or report an unparsable body.
func VerifyEvent(payload []byte, header, secret string, tolerance time.Duration) (stripesdk.Event, error) {
	if secret == "" {
		return stripesdk.Event{}, errors.New("stripe: webhook signing secret is empty")
	}
	ev, err := webhook.ConstructEventWithOptions(payload, header, secret, webhook.ConstructEventOptions{
		Tolerance:                tolerance,
		IgnoreAPIVersionMismatch: true,
	})
	if err != nil {
		return stripesdk.Event{}, fmt.Errorf("stripe: webhook: %w", err)
	}
	return ev, nil
}
