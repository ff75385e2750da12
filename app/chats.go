package app

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/bookinggw/gateway/adapters/slack"
	"github.com/bookinggw/gateway/adapters/telegram"
	"github.com/bookinggw/gateway/adapters/twilio"
	"github.com/bookinggw/gateway/chats"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
)

// ChatConfig configures messenger conversations (README: configuration).
type ChatConfig struct {
	// TelegramWebhookSecret is registered with setWebhook and checked on
	// every update; empty turns POST /webhooks/telegram off.
	TelegramWebhookSecret string
	// TelegramBotUsername names the bot's chats' centre (chat routes);
	// empty asks getMe.
	TelegramBotUsername string
	// SlackSigningSecret verifies the Events API; empty turns
	// POST /webhooks/slack/events off.
	SlackSigningSecret string
	// TwilioMediaHosts are the only hosts that receive the Twilio
	// credentials when inbound media is inspected (nil: Twilio's).
	TwilioMediaHosts []string
}

func chatsFromEnv(getenv func(string) string) (ChatConfig, []string) {
	c := ChatConfig{TelegramWebhookSecret: getenv("TELEGRAM_WEBHOOK_SECRET"), TelegramBotUsername: strings.TrimPrefix(getenv("TELEGRAM_BOT_USERNAME"), "@"),
		SlackSigningSecret: getenv("SLACK_SIGNING_SECRET")}
	if v := getenv("TWILIO_MEDIA_HOSTS"); v != "" {
		c.TwilioMediaHosts = strings.Split(v, ",")
	}
	var errs []string
	if s := c.TelegramWebhookSecret; s != "" && (len(s) > 256 || strings.Trim(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-") != "") {
		errs = append(errs, "TELEGRAM_WEBHOOK_SECRET must be 1-256 characters of A-Z, a-z, 0-9, _ and - (Telegram's rule)")
	}
	return c, errs
}

// wireChats builds the conversation service and its worker-side handler,
// and wraps the Telegram and Twilio senders so chat replies carry their
// files and content templates.
func (a *App) wireChats(svc *core.Services, qc *queue.Client, senders map[core.Channel]core.Sender) (*chats.Handler, error) {
	conv, err := core.NewConversationService(svc, a.Store, qc, a.Live)
	if err != nil {
		return nil, err
	}
	svc.Conversations = conv
	var bots chats.BotUpdates = &a.bots
	if a.Config.Bots != nil {
		bots = a.Config.Bots
	}
	cfg := chats.Config{Store: a.Store, Conversations: conv, Queue: qc, Clock: a.clock, Log: a.Log, Bots: bots}
	if tg, ok := senders[core.ChannelTelegram].(*telegram.Sender); ok {
		cfg.Telegram = tg
	}
	if sl, ok := senders[core.ChannelSlack].(*slack.Sender); ok {
		cfg.Slack = sl
	}
	p := a.Config.Providers
	if p.TwilioAccountSID != "" {
		mi, err := twilio.NewMediaInspector(p.TwilioAccountSID, p.TwilioAuthToken, a.Config.Chats.TwilioMediaHosts, nil)
		if err != nil {
			return nil, err
		}
		cfg.Media = mi
	}
	for _, ch := range []core.Channel{core.ChannelTelegram, core.ChannelWhatsApp} {
		senders[ch] = chats.Sender{Inner: senders[ch], Store: a.Store}
	}
	return chats.New(cfg)
}

// SetTelegramWebhook registers GATEWAY_PUBLIC_URL/webhooks/telegram and
// TELEGRAM_WEBHOOK_SECRET with Telegram (gateway telegram set-webhook).
func SetTelegramWebhook(ctx context.Context, cfg Config, out io.Writer) error {
	p := cfg.Providers
	if p.TelegramToken == "" || cfg.Chats.TelegramWebhookSecret == "" {
		return errors.New("telegram set-webhook needs TELEGRAM_BOT_TOKEN and TELEGRAM_WEBHOOK_SECRET")
	}
	tg, err := telegram.New(telegram.Config{Token: p.TelegramToken, APIEndpoint: p.TelegramAPIURL})
	if err != nil {
		return err
	}
	url := cfg.PublicURL + "/webhooks/telegram"
	if err := tg.SetWebhook(ctx, url, cfg.Chats.TelegramWebhookSecret); err != nil {
		return fmt.Errorf("telegram set-webhook: %w", err)
	}
	_, err = fmt.Fprintf(out, "Telegram webhook set to %s\n", url)
	return err
}
