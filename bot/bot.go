// Package bot is the Telegram booking bot (issue 17). It plugs into the
// chats worker as its chats.BotUpdates: every stored Telegram update is
// offered to HandleUpdate first. The bot answers /start deep links, its
// commands and its buttons' callback queries, and the free text it asked
// for (a city or UTC offset); everything else (a client's message to the
// specialist, media, shared contacts) it leaves to conversations.
//
// Clients book through the invitation they opened (core.SelfServeService),
// so they see that organization's or specialist's services only. Staff
// whose staff record names their Telegram chat (telegram_chat_id, set with
// PATCH /api/v1/staff/{id} or by joining through a team invitation) get
// today's agenda and the pending requests, accepted or rejected with the
// booking core's status change, which notifies the client as the API does.
//
// Telegram rules the bot keeps: a callback query is answered first (with
// Request: answerCallbackQuery returns true, which Send cannot decode),
// then the work is done and the message edited in place; an edit that
// changes nothing ("message is not modified") is a success; callback_data
// is "<keyboard id>:<n>", the choices kept in the store, and its byte
// length is checked when a keyboard is built.
package bot

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	tgbotapi "github.com/go-telegram-bot-api/telegram-bot-api/v5"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// Store is what the bot reads and writes besides the core services.
type Store interface {
	GetBotUser(ctx context.Context, tgID string) (core.BotUser, error)
	SaveBotUser(ctx context.Context, u core.BotUser) error
	SaveBotKeyboard(ctx context.Context, k core.BotKeyboard) error
	GetBotKeyboard(ctx context.Context, id string) (core.BotKeyboard, error)
	UseBotKeyboard(ctx context.Context, id string, at time.Time) (bool, error)
	ReleaseBotKeyboard(ctx context.Context, id string) error
	StaffByTelegram(ctx context.Context, chatID string) ([]core.Staff, error)
	ClientByChatID(ctx context.Context, orgID string, channel core.Channel, id string) (core.Client, error)
	GetClient(ctx context.Context, orgID, id string) (core.Client, error)
	GetOrganization(ctx context.Context, orgID string) (core.Organization, error)
	GetStaff(ctx context.Context, orgID, id string) (core.Staff, error)
	GetService(ctx context.Context, orgID, id string) (core.Offering, error)
	GetAppointment(ctx context.Context, orgID, id string) (core.Appointment, error)
	GetInvitation(ctx context.Context, orgID, id string) (core.Invitation, error)
	BeginIdempotent(ctx context.Context, orgID, key, fingerprint string, now time.Time) (*core.IdempotentRecord, error)
	ReleaseIdempotent(ctx context.Context, orgID, key string) error
}

// Telegram gives the library's client bound to a context
// (adapters/telegram.Sender.Bot).
type Telegram interface {
	Bot(ctx context.Context) (*tgbotapi.BotAPI, error)
}

// Config wires a Bot.
type Config struct {
	Telegram    Telegram
	Store       Store
	SelfServe   *core.SelfServeService
	Booking     *core.BookingService
	Messaging   *core.MessagingService
	Invitations *core.InvitationService
	Clock       core.Clock
	Log         *slog.Logger
}

// Bot is the booking bot.
type Bot struct{ c Config }

// New checks the configuration.
func New(c Config) (*Bot, error) {
	if c.Telegram == nil || c.Store == nil || c.SelfServe == nil || c.Booking == nil || c.Messaging == nil ||
		c.Invitations == nil || c.Clock == nil || c.Log == nil {
		return nil, errors.New("bot: New needs Telegram, a store, the self-service, booking, messaging and invitation services, a clock and a logger")
	}
	return &Bot{c: c}, nil
}

// idemOrg scopes the bot's idempotency keys apart from any organization's.
const idemOrg = "telegram-bot"

func (b *Bot) now() time.Time { return b.c.Clock.Now().UTC().Truncate(time.Millisecond) }

// HandleUpdate implements chats.BotUpdates.
func (b *Bot) HandleUpdate(ctx context.Context, u tgbotapi.Update) (bool, error) {
	switch {
	case u.CallbackQuery != nil:
		return true, b.callback(ctx, u.CallbackQuery)
	case u.Message != nil && u.Message.Chat != nil && u.Message.From != nil && u.Message.Chat.Type == "private":
		return b.message(ctx, u.UpdateID, u.Message)
	}
	return false, nil
}

// session is one update's context: who writes, in which language, and
// the Telegram client.
type session struct {
	api    *tgbotapi.BotAPI
	user   core.BotUser
	from   *tgbotapi.User
	chatID int64
	loc    string
	// msgID is the message to edit (a callback's); 0 sends a new one.
	msgID int
}

func (b *Bot) session(ctx context.Context, from *tgbotapi.User, chatID int64, msgID int) (*session, error) {
	api, err := b.c.Telegram.Bot(ctx)
	if err != nil {
		return nil, fmt.Errorf("bot: telegram: %w", err)
	}
	id := strconv.FormatInt(from.ID, 10)
	u, err := b.c.Store.GetBotUser(ctx, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		u, err = core.BotUser{TelegramID: id}, nil
	}
	if err != nil {
		return nil, err
	}
	s := &session{api: api, user: u, from: from, chatID: chatID, msgID: msgID, loc: u.Locale}
	if s.loc == "" {
		s.loc = core.TelegramLocale(from.LanguageCode)
	}
	return s, nil
}

func (b *Bot) saveUser(ctx context.Context, s *session) error {
	s.user.UpdatedAt = b.now()
	return b.c.Store.SaveBotUser(ctx, s.user)
}

// message handles commands and awaited answers; other text is the chat's.
func (b *Bot) message(ctx context.Context, updateID int, m *tgbotapi.Message) (bool, error) {
	cmd := m.Command()
	if cmd == "" {
		u, err := b.c.Store.GetBotUser(ctx, strconv.FormatInt(m.From.ID, 10))
		if core.ErrorCode(err) == core.CodeNotFound || err == nil && u.Awaiting == "" {
			return false, nil
		}
		if err != nil {
			return false, err
		}
	}
	key := "update:" + strconv.Itoa(updateID)
	done, err := b.claim(ctx, key)
	if err != nil || done {
		return true, err
	}
	s, err := b.session(ctx, m.From, m.Chat.ID, 0)
	if err == nil {
		err = b.command(ctx, s, cmd, strings.TrimSpace(m.CommandArguments()), m.Text)
	}
	if err != nil {
		b.release(ctx, key)
	}
	return true, err
}

func (b *Bot) command(ctx context.Context, s *session, cmd, args, text string) error {
	switch cmd {
	case "start":
		return b.start(ctx, s, args)
	case "menu", "help":
		return b.show(ctx, s, b.menu(ctx, s, ""))
	case "language":
		return b.show(ctx, s, b.languages(s))
	case "timezone":
		return b.askTimezone(ctx, s)
	case "agenda":
		return b.show(ctx, s, b.staffScreen(ctx, s, actAgenda))
	case "":
		// An awaited answer: the only one is a city or offset.
		return b.setTimezone(ctx, s, text)
	}
	return b.show(ctx, s, b.menu(ctx, s, ""))
}

// claim records a key of the update being handled; done is true when an
// earlier delivery handled it already.
func (b *Bot) claim(ctx context.Context, key string) (bool, error) {
	rec, err := b.c.Store.BeginIdempotent(ctx, idemOrg, key, "", b.now())
	return rec != nil, err
}

func (b *Bot) release(ctx context.Context, key string) {
	if err := b.c.Store.ReleaseIdempotent(ctx, idemOrg, key); err != nil {
		b.c.Log.WarnContext(ctx, "bot: release idempotency key", "error", err.Error())
	}
}

// callback answers a button tap: the answer first, then the work, once
// per callback query id.
func (b *Bot) callback(ctx context.Context, q *tgbotapi.CallbackQuery) error {
	key := "callback:" + q.ID
	done, err := b.claim(ctx, key)
	if err != nil || done {
		return err
	}
	if q.From == nil || q.Message == nil || q.Message.Chat == nil {
		return nil
	}
	s, err := b.session(ctx, q.From, q.Message.Chat.ID, q.Message.MessageID)
	if err != nil {
		b.release(ctx, key)
		return err
	}
	// Telegram shows a spinner on the button until the query is answered;
	// answerCallbackQuery returns true, so it goes through Request.
	if _, err := s.api.Request(tgbotapi.NewCallback(q.ID, "")); err != nil {
		var te *tgbotapi.Error
		if !errors.As(err, &te) {
			// No answer from the Bot API (network) or one we cannot read:
			// the whole tap is tried again.
			b.release(ctx, key)
			return fmt.Errorf("bot: answer callback query: %w", err)
		}
		// Telegram refused (a query too old after a retry): the work is
		// still worth doing.
		b.c.Log.InfoContext(ctx, "bot: answer callback query refused", "error", err.Error())
	}
	if err := b.tap(ctx, s, q.Data); err != nil {
		b.release(ctx, key)
		return err
	}
	return nil
}

// tap runs the choice behind a button.
func (b *Bot) tap(ctx context.Context, s *session, data string) error {
	kbID, n, ok := parseData(data)
	if !ok {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	k, err := b.c.Store.GetBotKeyboard(ctx, kbID)
	if core.ErrorCode(err) == core.CodeNotFound {
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	if err != nil {
		return err
	}
	p, err := decodePayload(k.Payload)
	if err != nil || k.TelegramID != s.user.TelegramID || n >= len(p.Choices) {
		// Someone else's keyboard (a forwarded message) or a damaged one.
		return b.show(ctx, s, b.menu(ctx, s, "bot.stale"))
	}
	ch := p.Choices[n]
	if p.Once {
		first, err := b.c.Store.UseBotKeyboard(ctx, k.ID, b.now())
		if err != nil {
			return err
		}
		if !first {
			return b.show(ctx, s, b.menu(ctx, s, "bot.already_done"))
		}
		if err := b.run(ctx, s, p, ch); err != nil {
			if rerr := b.c.Store.ReleaseBotKeyboard(ctx, k.ID); rerr != nil {
				b.c.Log.WarnContext(ctx, "bot: release keyboard", "error", rerr.Error())
			}
			return err
		}
		return nil
	}
	return b.run(ctx, s, p, ch)
}

// Actions behind buttons.
const (
	actMenu     = "menu"
	actBook     = "book"
	actSpec     = "spec"
	actService  = "svc"
	actDay      = "day"
	actSlot     = "slot"
	actConfirm  = "ok"
	actAppts    = "appts"
	actAppt     = "appt"
	actCancel   = "cancel"
	actPay      = "pay"
	actChat     = "chat"
	actLangs    = "langs"
	actLang     = "lang"
	actTZ       = "tz"
	actTZUse    = "tzuse"
	actAgenda   = "agenda"
	actRequests = "reqs"
	actRequest  = "req"
	actAccept   = "accept"
	actReject   = "reject"
)

func (b *Bot) run(ctx context.Context, s *session, p payload, ch choice) error {
	switch ch.Act {
	case actLangs:
		return b.show(ctx, s, b.languages(s))
	case actLang:
		if core.ValidLocale(ch.Val) {
			s.user.Locale, s.loc = ch.Val, ch.Val
			if err := b.saveUser(ctx, s); err != nil {
				return err
			}
		}
		return b.show(ctx, s, b.menu(ctx, s, ""))
	case actTZ:
		return b.askTimezone(ctx, s)
	case actTZUse:
		return b.setTimezone(ctx, s, ch.Val)
	case actAgenda, actRequests, actRequest, actAccept, actReject:
		return b.staffTap(ctx, s, p, ch)
	case actMenu:
		return b.show(ctx, s, b.menu(ctx, s, ""))
	}
	return b.clientTap(ctx, s, p, ch)
}

// screen is a message with its inline keyboard.
type screen struct {
	text string
	rows [][]button
	// once makes the keyboard single-use (a confirmation).
	once bool
	// state rides with the keyboard: the choices made so far.
	state payload
}

type button struct {
	text string
	ch   choice
	url  string
}

func (sc *screen) row(bs ...button) { sc.rows = append(sc.rows, bs) }

func btn(text, act, val string) button { return button{text: text, ch: choice{Act: act, Val: val}} }

// show sends a screen, or edits the tapped message into it.
func (b *Bot) show(ctx context.Context, s *session, sc screen) error {
	markup, err := b.keyboard(ctx, s, sc)
	if err != nil {
		return err
	}
	var c tgbotapi.Chattable
	if s.msgID != 0 {
		e := tgbotapi.NewEditMessageText(s.chatID, s.msgID, sc.text)
		e.ReplyMarkup = markup
		c = e
	} else {
		m := tgbotapi.NewMessage(s.chatID, sc.text)
		if markup != nil {
			m.ReplyMarkup = *markup
		}
		c = m
	}
	if _, err := s.api.Send(c); err != nil && !NotModified(err) {
		return fmt.Errorf("bot: send: %w", err)
	}
	return nil
}

// NotModified tells whether Telegram refused an edit because it changes
// nothing: the message already shows what we meant, so it is a success.
func NotModified(err error) bool {
	var te *tgbotapi.Error
	if errors.As(err, &te) {
		return strings.Contains(te.Message, "message is not modified")
	}
	return err != nil && strings.Contains(err.Error(), "message is not modified")
}

func (b *Bot) keyboard(ctx context.Context, s *session, sc screen) (*tgbotapi.InlineKeyboardMarkup, error) {
	if len(sc.rows) == 0 {
		return nil, nil
	}
	p := sc.state
	p.Once = sc.once
	p.Choices = nil
	for _, r := range sc.rows {
		for _, bt := range r {
			if bt.url == "" {
				p.Choices = append(p.Choices, bt.ch)
			}
		}
	}
	id := keyboardID(s.user.TelegramID, p)
	rows := make([][]tgbotapi.InlineKeyboardButton, 0, len(sc.rows))
	n := 0
	for _, r := range sc.rows {
		row := make([]tgbotapi.InlineKeyboardButton, 0, len(r))
		for _, bt := range r {
			if bt.url != "" {
				row = append(row, tgbotapi.NewInlineKeyboardButtonURL(bt.text, bt.url))
				continue
			}
			data, err := callbackData(id, n)
			if err != nil {
				return nil, err
			}
			n++
			row = append(row, tgbotapi.NewInlineKeyboardButtonData(bt.text, data))
		}
		rows = append(rows, row)
	}
	if len(p.Choices) > 0 {
		if err := b.c.Store.SaveBotKeyboard(ctx, core.BotKeyboard{ID: id, TelegramID: s.user.TelegramID, Payload: encodePayload(p),
			CreatedAt: b.now()}); err != nil {
			return nil, err
		}
	}
	m := tgbotapi.NewInlineKeyboardMarkup(rows...)
	return &m, nil
}

// phrase is a text of the session's language.
func (s *session) phrase(key string, args ...string) string {
	return templates.Phrase(s.loc, key, args...)
}
