package app

import "github.com/bookinggw/gateway/core"

// moreSenders builds the Telegram, Slack and email senders when configured.
func (a *App) moreSenders() (map[core.Channel]core.Sender, error) {
	return map[core.Channel]core.Sender{}, nil
}
