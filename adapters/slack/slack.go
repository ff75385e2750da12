// Package slack posts messages with Block Kit buttons through Slack's Web API
// (chat.postMessage) with github.com/slack-go/slack.
//
// The client's base URL is Config.APIURL (slack.OptionAPIURL), so tests and
// local runs point it at slackfake's fake server. Send's context is passed
// to the library, which honours it.
package slack

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/slack-go/slack"
	"github.com/slack-go/slack/slackutilsx"

	"github.com/bookinggw/gateway/adapters/redact"
	"github.com/bookinggw/gateway/core"
)

// DefaultTimeout bounds one API call when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// Block Kit limits.
const (
	maxSectionText = 3000
	maxButtonText  = 75
	maxButtonValue = 2000
	maxActions     = 25
)

// Config configures a Sender. Token is required.
type Config struct {
	Token string // bot token (xoxb-…); secret
	// APIURL is the Web API base, ending in "/"; empty means slack.APIURL
	// ("https://slack.com/api/").
	APIURL string
	// HTTPClient sends the requests; nil means a client with DefaultTimeout.
	HTTPClient *http.Client
}

// Sender is a core.Sender for core.ChannelSlack. It is safe for concurrent
// use.
type Sender struct {
	token string
	api   *slack.Client
}

var _ core.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender. It makes no network call.
func New(cfg Config) (*Sender, error) {
	if cfg.Token == "" {
		return nil, errors.New("slack: Token is required")
	}
	if cfg.APIURL == "" {
		cfg.APIURL = slack.APIURL
	}
	u, err := url.Parse(cfg.APIURL)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, fmt.Errorf("slack: APIURL %q must be an absolute http(s) URL", cfg.APIURL)
	}
	if !strings.HasSuffix(cfg.APIURL, "/") {
		cfg.APIURL += "/"
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	api := slack.New(cfg.Token, slack.OptionAPIURL(cfg.APIURL), slack.OptionHTTPClient(hc))
	return &Sender{token: cfg.Token, api: api}, nil
}

// Send posts m to the channel or user id m.To with chat.postMessage: the text
// (escaped for &, <, >; mrkdwn formatting such as *bold* applies) as the
// notification fallback and as section blocks, then, when m.Buttons is set,
// an actions block of buttons (action_id "btn_<index>", value = Data, url =
// URL). Sent.ProviderID is the message ts.
func (s *Sender) Send(ctx context.Context, m core.Outbound) (core.Sent, error) {
	to := strings.TrimSpace(m.To)
	switch {
	case m.Channel != core.ChannelSlack && m.Channel != "":
		return core.Sent{}, invalid(fmt.Sprintf("slack: channel %q is not slack", m.Channel))
	case to == "":
		return core.Sent{}, invalid("slack: no recipient")
	case m.Text == "":
		return core.Sent{}, invalid("slack: empty message text")
	}
	if err := ctx.Err(); err != nil {
		return core.Sent{}, &core.SendError{Code: "context", Err: err}
	}
	_, ts, err := s.api.PostMessageContext(ctx, to,
		slack.MsgOptionText(m.Text, true),
		slack.MsgOptionBlocks(Blocks(m)...),
	)
	if err != nil {
		return core.Sent{}, s.classify(ctx, err)
	}
	if ts == "" {
		return core.Sent{}, &core.SendError{Code: "bad_response", Err: errors.New("slack: response has no ts")}
	}
	return core.Sent{ProviderID: ts, Status: "sent"}, nil
}

// Blocks returns the Block Kit blocks Send posts for m: section blocks of at
// most 3000 characters holding the escaped text, then actions blocks of at
// most 25 buttons.
func Blocks(m core.Outbound) []slack.Block {
	var blocks []slack.Block
	for _, chunk := range split(slackutilsx.EscapeMessage(m.Text), maxSectionText) {
		blocks = append(blocks, slack.NewSectionBlock(slack.NewTextBlockObject(slack.MarkdownType, chunk, false, false), nil, nil))
	}
	var elems []slack.BlockElement
	flush := func() {
		if len(elems) > 0 {
			blocks = append(blocks, slack.NewActionBlock(fmt.Sprintf("actions_%d", len(blocks)), elems...))
			elems = nil
		}
	}
	for i, b := range m.Buttons {
		btn := slack.NewButtonBlockElement("btn_"+strconv.Itoa(i), truncate(b.Data, maxButtonValue),
			slack.NewTextBlockObject(slack.PlainTextType, truncate(b.Text, maxButtonText), true, false))
		if b.URL != "" {
			btn = btn.WithURL(b.URL)
		}
		elems = append(elems, btn)
		if len(elems) == maxActions {
			flush()
		}
	}
	flush()
	return blocks
}

// split cuts s into pieces of at most n characters, preferring line breaks.
func split(s string, n int) []string {
	var out []string
	for utf8.RuneCountInString(s) > n {
		cut := len(s)
		count := 0
		for i := range s {
			if count == n {
				cut = i
				break
			}
			count++
		}
		if nl := strings.LastIndexByte(s[:cut], '\n'); nl > cut/2 {
			cut = nl + 1
		}
		// Do not cut inside an escape (&amp; &lt; &gt;).
		if amp := strings.LastIndexByte(s[:cut], '&'); amp >= 0 && amp > cut-5 && !strings.Contains(s[amp:cut], ";") {
			cut = amp
		}
		out = append(out, s[:cut])
		s = s[cut:]
	}
	return append(out, s)
}

func truncate(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return string(r[:n-1]) + "…"
}

func invalid(msg string) error {
	return &core.SendError{Permanent: true, Code: "invalid_request", Err: errors.New(msg)}
}

// permanentErrors are Slack API errors that the same message will always
// meet again: wrong or archived channel, revoked or bad credentials, missing
// scopes, bad content.
var permanentErrors = map[string]bool{
	"channel_not_found": true, "not_in_channel": true, "is_archived": true,
	"invalid_auth": true, "account_inactive": true, "token_revoked": true,
	"token_expired": true, "not_authed": true, "no_permission": true,
	"missing_scope": true, "not_allowed_token_type": true, "access_denied": true,
	"ekm_access_denied": true, "org_login_required": true, "team_access_not_granted": true,
	"two_factor_setup_required": true, "user_not_found": true, "user_not_visible": true,
	"user_disabled": true, "cannot_dm_bot": true, "msg_too_long": true, "no_text": true,
	"invalid_blocks": true, "invalid_blocks_format": true, "too_many_attachments": true,
	"restricted_action": true, "restricted_action_read_only_channel": true,
	"restricted_action_thread_only_channel": true, "restricted_action_non_threadable_channel": true,
	"invalid_arguments": true, "invalid_arg_name": true, "invalid_array_arg": true,
	"invalid_charset": true, "invalid_form_data": true, "invalid_post_type": true,
	"missing_post_type": true, "method_deprecated": true, "deprecated_endpoint": true,
	"as_user_not_supported": true, "team_not_found": true, "app_missing_action_url": true,
}

// classify turns a library error into a *core.SendError:
//
//	*slack.RateLimitedError (HTTP 429 + Retry-After)   → temporary, RetryAfter
//	slack.StatusCodeError 5xx, 408, 429                → temporary
//	slack.StatusCodeError other 4xx                    → permanent
//	{"ok":false,"error":E}, E in permanentErrors       → permanent, Code E
//	any other E (ratelimited, internal_error, fatal_error,
//	service_unavailable, request_timeout, unknown)     → temporary, Code E
//	network, context, unreadable response             → temporary
func (s *Sender) classify(ctx context.Context, err error) error {
	se := &core.SendError{Err: redact.Scrub(err, s.token)}
	var rl *slack.RateLimitedError
	var sc slack.StatusCodeError
	var er slack.SlackErrorResponse
	var ne net.Error
	switch {
	case errors.As(err, &rl):
		se.Code, se.RetryAfter = "429", rl.RetryAfter
	case errors.As(err, &sc):
		se.Code = strconv.Itoa(sc.Code)
		se.Permanent = sc.Code >= 400 && sc.Code < 500 && sc.Code != http.StatusTooManyRequests && sc.Code != http.StatusRequestTimeout
	case errors.As(err, &er):
		se.Code = er.Err
		se.Permanent = permanentErrors[er.Err]
	case ctx.Err() != nil || errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		se.Code = "context"
	case errors.As(err, &ne):
		se.Code = "network"
	default:
		se.Code = "bad_response"
	}
	return se
}

// PostThread posts text to a channel, in the thread of threadTS when it is
// set (a new top-level message otherwise), and returns the message's ts.
// Conversations mirror into the centre's channel this way.
func (s *Sender) PostThread(ctx context.Context, channel, threadTS, text string) (string, error) {
	if channel == "" || text == "" {
		return "", invalid("slack: no channel or text")
	}
	opts := []slack.MsgOption{slack.MsgOptionText(text, false)}
	if threadTS != "" {
		opts = append(opts, slack.MsgOptionTS(threadTS))
	}
	_, ts, err := s.api.PostMessageContext(ctx, channel, opts...)
	if err != nil {
		return "", s.classify(ctx, err)
	}
	return ts, nil
}

// BotUserID is the bot's own user id (auth.test), so events of the bot's
// own messages are recognised and never answered.
func (s *Sender) BotUserID(ctx context.Context) (string, error) {
	r, err := s.api.AuthTestContext(ctx)
	if err != nil {
		return "", s.classify(ctx, err)
	}
	return r.UserID, nil
}
