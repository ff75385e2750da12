package notify

import (
	"context"
	"strconv"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// SendCode writes a one-time code's message to the outbox and queues it
// (core.CodeSender). It goes by Telegram when a client card of the
// organization with this phone is linked to a Telegram chat and a
// Telegram adapter exists, else by SMS from the organization's sender. The
// recipient is the phone itself ("phone"): the person has no card yet, or
// has not proven it is theirs. The text is the locale's "otp.sms" phrase.
func (d *Dispatcher) SendCode(ctx context.Context, orgID, phone, locale, code, dedupeKey string) (core.Message, error) {
	org, err := d.ref.organization(ctx, orgID)
	if err != nil {
		return core.Message{}, err
	}
	locale = templates.NormalizeLocale(locale)
	now := d.now()
	m := core.Message{ID: core.NewID(), OrgID: orgID, RecipientKind: "phone", RecipientID: phone, Channel: core.ChannelSMS,
		To: phone, Kind: "otp.code", Locale: locale, Status: core.MsgQueued, DedupeKey: dedupeKey, DueAt: now, CreatedAt: now, UpdatedAt: now,
		Body: templates.Phrase(locale, "otp.sms", "code", code, "org", org.Name)}
	if d.c.Senders[core.ChannelTelegram] != nil {
		if chat := d.telegramChatOf(ctx, orgID, phone); chat != "" {
			m.Channel, m.To = core.ChannelTelegram, chat
		}
	}
	d.decorate(&m, d.smsSender(org, core.Center{}))
	return d.insert(ctx, m)
}

// telegramChatOf is the Telegram chat of the organization's client with
// this phone, when one card has a numeric Telegram id.
func (d *Dispatcher) telegramChatOf(ctx context.Context, orgID, phone string) string {
	cs, err := d.c.Store.ClientsByPhone(ctx, phone)
	if err != nil {
		return ""
	}
	for _, c := range cs {
		if c.OrgID != orgID || c.TelegramID == "" {
			continue
		}
		if _, err := strconv.ParseInt(string(c.TelegramID), 10, 64); err == nil {
			return string(c.TelegramID)
		}
	}
	return ""
}
