// Package telegram sends messages with inline keyboards through the Telegram
// Bot API with github.com/go-telegram-bot-api/telegram-bot-api/v5.
//
// The library builds URLs from Config.APIEndpoint (a format with the token
// and the method, like tgbotapi.APIEndpoint), so tests and local runs point
// it at telegramtest's fake server. It takes no context: each Send hands the
// bot an HTTP client bound to Send's context. The bot is created lazily on
// the first Send (tgbotapi.NewBotAPIWithClient calls getMe, which checks the
// token); a failed getMe is retried on the next Send.
//
// The bot token is part of every request URL; it is scrubbed from every
// error this package returns.
package telegram

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/bookinggw/gateway/adapters/redact"
	"github.com/bookinggw/gateway/adapters/retryafter"
	"github.com/bookinggw/gateway/core"
)

// DefaultTimeout bounds one API call when Config.HTTPClient is nil.
const DefaultTimeout = 30 * time.Second

// MaxCallbackData is Telegram's limit on a button's callback data, in bytes.
const MaxCallbackData = 64

// Config configures a Sender. Token is required.
type Config struct {
	Token string // the bot token from @BotFather; secret
	// APIEndpoint is a format taking the token then the method, e.g.
	// "https://api.telegram.org/bot%s/%s"; empty means tgbotapi.APIEndpoint.
	APIEndpoint string
	// HTTPClient sends the requests; nil means a client with DefaultTimeout.
	HTTPClient *http.Client
}

// Sender is a core.Sender for core.ChannelTelegram. It is safe for
// concurrent use.
type Sender struct {
	cfg Config
	hc  *http.Client

	mu  sync.Mutex
	bot *tgbotapi.BotAPI // nil until a getMe succeeded
}

var _ core.Sender = (*Sender)(nil)

// New checks cfg and returns a Sender. It makes no network call.
func New(cfg Config) (*Sender, error) {
	if cfg.Token == "" {
		return nil, errors.New("telegram: Token is required")
	}
	if cfg.APIEndpoint == "" {
		cfg.APIEndpoint = tgbotapi.APIEndpoint
	}
	if strings.Count(cfg.APIEndpoint, "%s") != 2 || strings.Count(cfg.APIEndpoint, "%") != 2 {
		return nil, errors.New(`telegram: APIEndpoint must be a format with two %s (token, method), like "https://api.telegram.org/bot%s/%s"`)
	}
	u, err := url.Parse(fmt.Sprintf(cfg.APIEndpoint, "TOKEN", "getMe"))
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return nil, errors.New("telegram: APIEndpoint must be an absolute http(s) URL format")
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = &http.Client{Timeout: DefaultTimeout}
	}
	return &Sender{cfg: cfg, hc: hc}, nil
}

// Send posts m.Text to the chat m.To (a numeric chat id, or "@channel"),
// with an inline keyboard of one button per row built from m.Buttons: a URL
// button when URL is set, else a callback button whose data is Data (or Text
// when Data is empty). The text is sent without parse mode, as plain text.
// Sent.ProviderID is the message id.
func (s *Sender) Send(ctx context.Context, m core.Outbound) (core.Sent, error) {
	mc, err := messageConfig(m)
	if err != nil {
		return core.Sent{}, err
	}
	if err := ctx.Err(); err != nil {
		return core.Sent{}, &core.SendError{Code: "context", Err: err}
	}
	ex := &exchange{}
	bot, err := s.botFor(ctx, ex)
	if err != nil {
		return core.Sent{}, s.classify(ctx, err, ex)
	}
	if len(m.Files) > 0 {
		return s.sendFiles(ctx, bot, ex, mc, m.Files)
	}
	msg, err := bot.Send(mc)
	if err != nil {
		return core.Sent{}, s.classify(ctx, err, ex)
	}
	return core.Sent{ProviderID: strconv.Itoa(msg.MessageID), Status: "sent"}, nil
}

// sendFiles uploads each file (multipart, never a URL Telegram must
// fetch), the text as the first file's caption. The provider id is the
// first message's.
func (s *Sender) sendFiles(ctx context.Context, bot *tgbotapi.BotAPI, ex *exchange, mc tgbotapi.MessageConfig, files []core.Attachment) (core.Sent, error) {
	first := ""
	for i, f := range files {
		name := f.Name
		if name == "" {
			name = f.Kind
		}
		data := tgbotapi.FileBytes{Name: name, Bytes: f.Data}
		caption := ""
		if i == 0 {
			caption = mc.Text
		}
		var c tgbotapi.Chattable
		switch f.Kind {
		case "photo":
			p := tgbotapi.NewPhoto(mc.ChatID, data)
			p.ChannelUsername, p.Caption = mc.ChannelUsername, caption
			c = p
		case "voice":
			v := tgbotapi.NewVoice(mc.ChatID, data)
			v.ChannelUsername, v.Caption = mc.ChannelUsername, caption
			c = v
		case "video":
			v := tgbotapi.NewVideo(mc.ChatID, data)
			v.ChannelUsername, v.Caption = mc.ChannelUsername, caption
			c = v
		case "audio":
			a := tgbotapi.NewAudio(mc.ChatID, data)
			a.ChannelUsername, a.Caption = mc.ChannelUsername, caption
			c = a
		default:
			d := tgbotapi.NewDocument(mc.ChatID, data)
			d.ChannelUsername, d.Caption = mc.ChannelUsername, caption
			c = d
		}
		msg, err := bot.Send(c)
		if err != nil {
			return core.Sent{}, s.classify(ctx, err, ex)
		}
		if first == "" {
			first = strconv.Itoa(msg.MessageID)
		}
	}
	return core.Sent{ProviderID: first, Status: "sent"}, nil
}

// Username is the bot's username (getMe), which names the bot's chats'
// centre (core.ChatRoute).
func (s *Sender) Username(ctx context.Context) (string, error) {
	ex := &exchange{}
	bot, err := s.botFor(ctx, ex)
	if err != nil {
		return "", s.classify(ctx, err, ex)
	}
	return bot.Self.UserName, nil
}

// Bot returns the library's client bound to ctx (getMe on first use), for
// the booking bot's interactive calls: the same token, endpoint and HTTP
// client as sends. Errors are scrubbed of the token.
func (s *Sender) Bot(ctx context.Context) (*tgbotapi.BotAPI, error) {
	bot, err := s.botFor(ctx, &exchange{})
	if err != nil {
		return nil, redact.Scrub(err, s.cfg.Token)
	}
	return bot, nil
}

// SetWebhook registers url with Telegram, with the secret Telegram sends
// back in X-Telegram-Bot-Api-Secret-Token. setWebhook answers true, so it
// goes through Request, not Send.
func (s *Sender) SetWebhook(ctx context.Context, url, secret string) error {
	ex := &exchange{}
	bot, err := s.botFor(ctx, ex)
	if err != nil {
		return s.classify(ctx, err, ex)
	}
	// v5.5.1's WebhookConfig predates secret_token and keeps its params
	// unexported, so the parameters are built here and the call made as
	// Request makes it (MakeRequest: setWebhook answers true, not a
	// Message).
	params := tgbotapi.Params{}
	params.AddNonEmpty("url", url)
	params.AddNonEmpty("secret_token", secret)
	if err := params.AddInterface("allowed_updates", []string{"message", "edited_message", "callback_query"}); err != nil {
		return fmt.Errorf("telegram: webhook: %w", err)
	}
	resp, err := bot.MakeRequest("setWebhook", params)
	if err != nil {
		return s.classify(ctx, err, ex)
	}
	if !resp.Ok {
		return s.classify(ctx, &tgbotapi.Error{Code: resp.ErrorCode, Message: resp.Description}, ex)
	}
	return nil
}

func messageConfig(m core.Outbound) (tgbotapi.MessageConfig, error) {
	var mc tgbotapi.MessageConfig
	to := strings.TrimSpace(m.To)
	switch {
	case m.Channel != core.ChannelTelegram && m.Channel != "":
		return mc, invalid(fmt.Sprintf("telegram: channel %q is not telegram", m.Channel))
	case m.Text == "" && len(m.Files) == 0:
		return mc, invalid("telegram: empty message text")
	case strings.HasPrefix(to, "@") && len(to) > 1:
		mc = tgbotapi.NewMessageToChannel(to, m.Text)
	default:
		id, err := strconv.ParseInt(to, 10, 64)
		if err != nil || id == 0 || strings.HasPrefix(to, "+") {
			return mc, invalid(fmt.Sprintf("telegram: recipient %q is not a chat id", m.To))
		}
		mc = tgbotapi.NewMessage(id, m.Text)
	}
	if contactRequest(m.Buttons) {
		// A reply keyboard whose button shares the user's phone.
		mc.ReplyMarkup = tgbotapi.NewOneTimeReplyKeyboard(tgbotapi.NewKeyboardButtonRow(tgbotapi.NewKeyboardButtonContact(m.Buttons[0].Text)))
		return mc, nil
	}
	if len(m.Buttons) > 0 {
		rows := make([][]tgbotapi.InlineKeyboardButton, 0, len(m.Buttons))
		for _, b := range m.Buttons {
			var btn tgbotapi.InlineKeyboardButton
			if b.URL != "" {
				btn = tgbotapi.NewInlineKeyboardButtonURL(b.Text, b.URL)
			} else {
				data := b.Data
				if data == "" {
					data = b.Text
				}
				if len(data) > MaxCallbackData {
					return mc, invalid(fmt.Sprintf("telegram: button %q: callback data longer than %d bytes", b.Text, MaxCallbackData))
				}
				btn = tgbotapi.NewInlineKeyboardButtonData(b.Text, data)
			}
			rows = append(rows, tgbotapi.NewInlineKeyboardRow(btn))
		}
		mc.ReplyMarkup = tgbotapi.NewInlineKeyboardMarkup(rows...)
	}
	return mc, nil
}

func contactRequest(bs []core.Button) bool { return len(bs) == 1 && bs[0].Contact }

func invalid(msg string) error {
	return &core.SendError{Permanent: true, Code: "invalid_request", Err: errors.New(msg)}
}

// botFor returns a bot whose HTTP client is bound to ctx, creating (getMe)
// the shared one on first use. The returned value is a copy: concurrent
// sends never share a client.
func (s *Sender) botFor(ctx context.Context, ex *exchange) (*tgbotapi.BotAPI, error) {
	d := &doer{hc: s.hc, ctx: ctx, ex: ex}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.bot == nil {
		bot, err := tgbotapi.NewBotAPIWithClient(s.cfg.Token, s.cfg.APIEndpoint, d)
		if err != nil {
			return nil, err
		}
		s.bot = bot
	}
	b := *s.bot
	b.Client = d
	return &b, nil
}

// exchange is what the client saw of the last response of one call.
type exchange struct {
	status     int
	retryAfter string
}

// doer is a tgbotapi.HTTPClient bound to one Send's context.
type doer struct {
	hc  *http.Client
	ctx context.Context
	ex  *exchange
}

func (d *doer) Do(req *http.Request) (*http.Response, error) {
	resp, err := d.hc.Do(req.WithContext(d.ctx))
	if err != nil {
		return nil, err
	}
	d.ex.status = resp.StatusCode
	d.ex.retryAfter = resp.Header.Get("Retry-After")
	return resp, nil
}

// classify turns a library error into a *core.SendError (the token
// scrubbed):
//
//	429 Too Many Requests         → temporary, RetryAfter = parameters.retry_after
//	5xx, network, context         → temporary
//	403 bot was blocked / user is deactivated / bot was kicked,
//	400 chat not found and every other 4xx (401 bad token included)
//	                              → permanent
func (s *Sender) classify(ctx context.Context, err error, ex *exchange) error {
	se := &core.SendError{Err: redact.Scrub(err, s.cfg.Token)}
	var te *tgbotapi.Error
	status := ex.status
	switch {
	case errors.As(err, &te) && te.Code != 0:
		status = te.Code
		se.Code = strconv.Itoa(te.Code)
		if te.Code == http.StatusTooManyRequests && te.RetryAfter > 0 {
			se.RetryAfter = time.Duration(te.RetryAfter) * time.Second
		}
	case status >= 300:
		// Not the Bot API's JSON (a proxy's error page).
		se.Code = strconv.Itoa(status)
	case ctx.Err() != nil:
		se.Code = "context"
		return se
	case status == 0:
		se.Code = "network"
		return se
	default:
		se.Code = "bad_response"
		return se
	}
	switch {
	case status == http.StatusTooManyRequests:
		if se.RetryAfter == 0 {
			se.RetryAfter = retryafter.Parse(ex.retryAfter, time.Now())
		}
	case status == http.StatusRequestTimeout:
	case status >= 400 && status < 500:
		se.Permanent = true
	}
	return se
}
