package app

import (
	"github.com/bookinggw/gateway/adapters/email"
	"github.com/bookinggw/gateway/adapters/slack"
	"github.com/bookinggw/gateway/adapters/telegram"
	"github.com/bookinggw/gateway/core"
)

// moreSenders builds the Telegram, Slack and email senders that are configured.
func (a *App) moreSenders() (map[core.Channel]core.Sender, error) {
	p := a.Config.Providers
	out := map[core.Channel]core.Sender{}
	if p.TelegramToken != "" {
		tg, err := telegram.New(telegram.Config{Token: p.TelegramToken, APIEndpoint: p.TelegramAPIURL})
		if err != nil {
			return nil, err
		}
		out[core.ChannelTelegram] = tg
	}
	if p.SlackToken != "" {
		sl, err := slack.New(slack.Config{Token: p.SlackToken, APIURL: p.SlackAPIURL})
		if err != nil {
			return nil, err
		}
		out[core.ChannelSlack] = sl
	}
	if p.SMTPHost != "" {
		mode, err := email.ParseTLSMode(p.SMTPTLS)
		if err != nil {
			return nil, err
		}
		em, err := email.New(email.Config{Host: p.SMTPHost, Port: p.SMTPPort, Username: p.SMTPUsername, Password: p.SMTPPassword,
			From: p.SMTPFrom, TLS: mode})
		if err != nil {
			return nil, err
		}
		out[core.ChannelEmail] = em
	}
	return out, nil
}
