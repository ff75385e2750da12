package app

import (
	"context"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/bookinggw/gateway/adapters/telegram"
	"github.com/bookinggw/gateway/bot"
	"github.com/bookinggw/gateway/chats"
	"github.com/bookinggw/gateway/core"
)

// lateBots lets the chats handler, built before the services the booking
// bot needs (self-service needs notify, which needs the chats handler),
// ask the bot once it exists. It is set during wiring, before the worker
// starts.
type lateBots struct{ b chats.BotUpdates }

func (l *lateBots) HandleUpdate(ctx context.Context, u tgbotapi.Update) (bool, error) {
	if l.b == nil {
		return false, nil
	}
	return l.b.HandleUpdate(ctx, u)
}

// botSender gives new requests' staff messages on Telegram Accept and
// Reject buttons, when the booking bot runs (wireBot).
func (a *App) botSender(tg *telegram.Sender, senders map[core.Channel]core.Sender) {
	if a.Config.Bots != nil || tg == nil {
		return
	}
	senders[core.ChannelTelegram] = bot.Sender{Inner: senders[core.ChannelTelegram], Store: a.Store, Clock: a.clock}
}

// wireBot builds the Telegram booking bot when a bot token is configured
// and no other bot was given (Config.Bots); the chats handler asks it
// first.
func (a *App) wireBot(svc *core.Services, tg *telegram.Sender) error {
	if a.Config.Bots != nil || tg == nil {
		return nil
	}
	b, err := bot.New(bot.Config{Telegram: tg, Store: a.Store, SelfServe: svc.SelfServe, Booking: svc.Booking,
		Messaging: svc.Messaging, Invitations: svc.Invitations, Clock: a.clock, Log: a.Log})
	if err != nil {
		return err
	}
	a.bots.b = b
	return nil
}
