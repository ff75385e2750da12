// Package twilio sends SMS and WhatsApp messages through Twilio's Messages
// API with the official SDK (github.com/twilio/twilio-go).
//
// The SDK always talks to https://api.twilio.com and takes no context, so
// each Send gives it an *http.Client whose transport (1) rewrites the scheme
// and host of every request to Config.BaseURL, (2) attaches Send's context so
// cancellation and deadlines reach the wire, and (3) remembers the HTTP
// status and Retry-After header of the response, which the SDK hides. Tests
// and local runs point BaseURL at twiliotest's fake server.
package twilio

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	twiliosdk "github.com/twilio/twilio-go"
	"github.com/twilio/twilio-go/client"
	openapi "github.com/twilio/twilio-go/rest/api/v2010"

	"github.com/bookinggw/gateway/adapters/redact"
	"github.com/bookinggw/gateway/adapters/retryafter"
	"github.com/bookinggw/gateway/core"
)

// DefaultBaseURL is Twilio's REST API.
const DefaultBaseURL = "https://api.twilio.com"

// DefaultTimeout bounds one API call when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// Config configures a Sender. AccountSID and AuthToken are required.
type Config struct {
	AccountSID string // AC…
	AuthToken  string // secret: never logged nor put in errors
	// BaseURL is the scheme and host (optionally a path prefix) requests go
	// to; empty means DefaultBaseURL.
	BaseURL string
	// DefaultFrom is the sender used when Outbound.From is empty: a phone
	// number in E.164 or a messaging service SID (MG…).
	DefaultFrom string
	// HTTPClient's Transport, Timeout and Jar are used; nil means a client
	// with DefaultTimeout over a transport of its own (see newTransport).
	// Redirects are never followed.
	HTTPClient *http.Client
}

// Sender is a core.Sender for core.ChannelSMS and core.ChannelWhatsApp. It is
// safe for concurrent use.
type Sender struct {
	cfg  Config
	base *url.URL
	rt   http.RoundTripper
	hc   *http.Client
}

var _ core.Sender = (*Sender)(nil)

var alnum = regexp.MustCompile(`^[a-zA-Z0-9]+$`)

// New checks cfg and returns a Sender. It makes no network call.
func New(cfg Config) (*Sender, error) {
	if cfg.AccountSID == "" || cfg.AuthToken == "" {
		return nil, errors.New("twilio: AccountSID and AuthToken are required")
	}
	// twilio-go refuses other characters at send time; say so at start.
	if !alnum.MatchString(cfg.AccountSID) || !alnum.MatchString(cfg.AuthToken) {
		return nil, errors.New("twilio: AccountSID and AuthToken must be alphanumeric")
	}
	if cfg.BaseURL == "" {
		cfg.BaseURL = DefaultBaseURL
	}
	base, err := url.Parse(cfg.BaseURL)
	if err != nil || (base.Scheme != "http" && base.Scheme != "https") || base.Host == "" {
		return nil, fmt.Errorf("twilio: BaseURL %q must be an absolute http(s) URL", cfg.BaseURL)
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	rt := hc.Transport
	if rt == nil {
		rt = newTransport()
	}
	return &Sender{cfg: cfg, base: base, rt: rt, hc: hc}, nil
}

// idleConns is how many idle connections to Twilio a Sender keeps: more
// than the worker's concurrent sends.
const idleConns = 64

// newTransport is http.DefaultTransport keeping idleConns idle connections
// to the one host: the default keeps two, so all the worker's other
// concurrent sends opened (and closed) a connection each.
func newTransport() http.RoundTripper {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConns, t.MaxIdleConnsPerHost = idleConns, idleConns
	return t
}

// Send creates a Twilio Message. SMS goes to m.To as is; WhatsApp prefixes
// To and From with "whatsapp:". A sender starting with "MG" is sent as
// MessagingServiceSid, any other as From. Errors are *core.SendError.
func (s *Sender) Send(ctx context.Context, m core.Outbound) (core.Sent, error) {
	params, err := s.params(m)
	if err != nil {
		return core.Sent{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.Sent{}, &core.SendError{Code: "context", Err: err}
	}
	ex := &exchange{}
	msg, err := s.restClient(ctx, ex).Api.CreateMessage(params)
	if err != nil {
		return core.Sent{}, s.classify(ctx, err, ex)
	}
	if msg == nil || msg.Sid == nil || *msg.Sid == "" {
		return core.Sent{}, &core.SendError{Code: "bad_response", Err: errors.New("twilio: response has no message sid")}
	}
	sent := core.Sent{ProviderID: *msg.Sid}
	if msg.Status != nil {
		sent.Status = *msg.Status
	}
	return sent, nil
}

func (s *Sender) params(m core.Outbound) (*openapi.CreateMessageParams, error) {
	to := strings.TrimSpace(m.To)
	from := strings.TrimSpace(m.From)
	if from == "" {
		from = s.cfg.DefaultFrom
	}
	switch {
	case to == "":
		return nil, invalid("twilio: no recipient")
	case from == "":
		return nil, invalid("twilio: no sender: set Outbound.From or Config.DefaultFrom")
	case m.Text == "" && m.ContentSID == "":
		return nil, invalid("twilio: empty message text")
	}
	service := strings.HasPrefix(from, "MG")
	switch m.Channel {
	case core.ChannelSMS, "":
	case core.ChannelWhatsApp:
		to = whatsapp(to)
		if !service {
			from = whatsapp(from)
		}
	default:
		return nil, invalid(fmt.Sprintf("twilio: channel %q is not sms or whatsapp", m.Channel))
	}
	p := &openapi.CreateMessageParams{}
	p.SetTo(to)
	if service {
		p.SetMessagingServiceSid(from)
	} else {
		p.SetFrom(from)
	}
	if m.ContentSID != "" {
		// An approved content template: the only message WhatsApp lets a
		// business send outside the 24-hour window.
		p.SetContentSid(m.ContentSID)
		if m.ContentVariables != "" {
			p.SetContentVariables(m.ContentVariables)
		}
	} else {
		p.SetBody(m.Text)
	}
	if m.StatusCallback != "" {
		p.SetStatusCallback(m.StatusCallback)
	}
	return p, nil
}

func whatsapp(addr string) string {
	if strings.HasPrefix(addr, "whatsapp:") {
		return addr
	}
	return "whatsapp:" + addr
}

func invalid(msg string) error {
	return &core.SendError{Permanent: true, Code: "invalid_request", Err: errors.New(msg)}
}

// restClient builds an SDK client for one call. Building it is cheap (a few
// small structs); doing it per call is what lets the context and the
// response's status reach this package without shared mutable state.
func (s *Sender) restClient(ctx context.Context, ex *exchange) *twiliosdk.RestClient {
	hc := &http.Client{
		Transport: &transport{base: s.rt, target: s.base, ctx: ctx, ex: ex},
		Timeout:   s.hc.Timeout,
		Jar:       s.hc.Jar,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	c := &client.Client{
		Credentials: client.NewCredentials(s.cfg.AccountSID, s.cfg.AuthToken),
		HTTPClient:  hc,
	}
	c.SetAccountSid(s.cfg.AccountSID)
	rc := twiliosdk.NewRestClientWithParams(twiliosdk.ClientParams{Client: c})
	// The SDK reads TWILIO_EDGE and TWILIO_REGION from the environment; the
	// host is ours to choose (BaseURL), so ignore them.
	rc.RequestHandler.Edge, rc.RequestHandler.Region = "", ""
	return rc
}

// exchange is what the transport saw of the last response of one call.
type exchange struct {
	status     int
	retryAfter string
}

// transport redirects the SDK's requests to the configured base URL, under
// Send's context, and records the response's status and Retry-After.
type transport struct {
	base   http.RoundTripper
	target *url.URL
	ctx    context.Context
	ex     *exchange
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	r := req.Clone(t.ctx)
	r.URL.Scheme = t.target.Scheme
	r.URL.Host = t.target.Host
	if p := strings.TrimRight(t.target.Path, "/"); p != "" {
		r.URL.Path = p + req.URL.Path
		r.URL.RawPath = ""
	}
	r.Host = ""
	resp, err := t.base.RoundTrip(r)
	if err != nil {
		return nil, err
	}
	t.ex.status = resp.StatusCode
	t.ex.retryAfter = resp.Header.Get("Retry-After")
	if resp.StatusCode >= 400 {
		// The SDK decodes error bodies without closing them; buffer the body
		// (bounded) and release the connection here.
		body, rerr := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
		resp.Body.Close()
		if rerr != nil {
			return nil, rerr
		}
		resp.Body = io.NopCloser(bytes.NewReader(body))
	}
	return resp, nil
}

// classify turns an SDK error into a *core.SendError:
//
//	429, 408, 5xx, network, context → temporary (429: RetryAfter from the header)
//	other 4xx (21211 invalid To, 21610 unsubscribed, 21408 region not
//	enabled, 21614 not a mobile number, 20003 bad credentials, …) → permanent
func (s *Sender) classify(ctx context.Context, err error, ex *exchange) error {
	se := &core.SendError{Err: redact.Scrub(err, s.cfg.AuthToken)}
	status := ex.status
	var rest *client.TwilioRestError
	var v1 *client.RestErrorV1
	switch {
	case errors.As(err, &rest):
		if rest.Status != 0 {
			status = rest.Status
		}
		se.Code = codeOr(rest.Code, status)
	case errors.As(err, &v1):
		if v1.HttpStatusCode != 0 {
			status = v1.HttpStatusCode
		}
		se.Code = codeOr(v1.Code, status)
	case status >= 300:
		// An error body that is not Twilio's JSON (a proxy's HTML page).
		se.Code = strconv.Itoa(status)
	case ctx.Err() != nil:
		se.Code = "context"
		return se
	case status == 0:
		se.Code = "network"
		return se
	default:
		// 2xx with an unreadable body: the message may have been accepted.
		se.Code = "bad_response"
		return se
	}
	switch {
	case status == http.StatusTooManyRequests:
		se.RetryAfter = retryafter.Parse(ex.retryAfter, time.Now())
	case status == http.StatusRequestTimeout:
	case status >= 400 && status < 500:
		se.Permanent = true
	}
	return se
}

func codeOr(code, status int) string {
	if code != 0 {
		return strconv.Itoa(code)
	}
	return strconv.Itoa(status)
}
