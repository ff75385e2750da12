// Package chats is the worker side of messenger conversations: it handles
// the Telegram updates and Slack events the webhooks stored, turns
// WhatsApp messages that are not reply words into chat messages, mirrors
// conversations into their centre's Slack thread, and fills chat replies'
// files and content templates at send time. The domain rules live in
// core.ConversationService; this package reads provider payloads.
//
// Plugging in a bot (issue 17): Config.Bots is consulted first for every
// Telegram update. A BotUpdates implementation answers /start deep links,
// commands and callback queries and reports handled=true; everything it
// leaves (free text, media, shared contacts, edits) goes to conversations.
package chats

import (
	"context"
	"encoding/json"
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

// Providers as stored in the messenger inbox.
const (
	ProviderTelegram = "telegram" // event id: update_id
	ProviderSlack    = "slack"    // event id: event_id
)

// BotUpdates is a Telegram bot's own handling (the booking bot of issue
// 17). HandleUpdate is asked first for every update; handled=true means
// the bot answered it and conversations must not see it. An error retries
// the whole update later (the inbox row stays unhandled), so a handler
// must be idempotent per update_id.
type BotUpdates interface {
	HandleUpdate(ctx context.Context, u tgbotapi.Update) (handled bool, err error)
}

// Store is what the handling reads and writes beside the conversation
// service.
type Store interface {
	GetChatInbox(ctx context.Context, id string) (core.MessengerDelivery, error)
	FinishChatInbox(ctx context.Context, id string, at time.Time) error
	GetConversationByID(ctx context.Context, id string) (core.Conversation, error)
	ConversationBySlackThread(ctx context.Context, channel, threadTS string) (core.Conversation, error)
	ClaimSlackThread(ctx context.Context, convID, channel, ts string) (bool, error)
	UnmirroredChat(ctx context.Context, convID string, limit int) ([]core.ChatMessage, error)
	SetChatSlackTS(ctx context.Context, id, ts string) error
	ChatMessageByOutbox(ctx context.Context, outboxID string) (core.ChatMessage, error)
	GetClient(ctx context.Context, orgID, id string) (core.Client, error)
	GetOrganization(ctx context.Context, orgID string) (core.Organization, error)
	CreateClient(ctx context.Context, c core.Client) error
	InsertMessage(ctx context.Context, m core.Message) (core.Message, bool, error)
}

// Queue sends outbox rows.
type Queue interface {
	EnqueueSend(ctx context.Context, m core.Message) error
}

// Telegram tells the bot's username: the chat route of its chats.
type Telegram interface {
	Username(ctx context.Context) (string, error)
}

// Slack posts to threads and names the bot's own user.
type Slack interface {
	PostThread(ctx context.Context, channel, threadTS, text string) (string, error)
	BotUserID(ctx context.Context) (string, error)
}

// Media reads the type and size of an inbound media URL, fetching only
// from the provider's own hosts (twilio.MediaInspector).
type Media interface {
	Inspect(ctx context.Context, url string) (contentType string, size int64, trusted bool, err error)
}

// Config wires a Handler. Telegram, Slack, Media and Bots may be nil.
type Config struct {
	Store         Store
	Conversations *core.ConversationService
	Queue         Queue
	Telegram      Telegram
	Slack         Slack
	Media         Media
	Bots          BotUpdates
	Clock         core.Clock
	Log           *slog.Logger
}

// Handler handles stored messenger deliveries.
type Handler struct{ c Config }

// New checks the configuration.
func New(c Config) (*Handler, error) {
	if c.Store == nil || c.Conversations == nil || c.Queue == nil || c.Clock == nil || c.Log == nil {
		return nil, errors.New("chats: New needs a store, the conversation service, a queue, a clock and a logger")
	}
	return &Handler{c: c}, nil
}

func (h *Handler) now() time.Time { return h.c.Clock.Now().UTC().Truncate(time.Millisecond) }

// HandleInbox handles one stored delivery, once: a handled row is skipped;
// an error leaves it for the queue's retry and the sweeper.
func (h *Handler) HandleInbox(ctx context.Context, id string) error {
	d, err := h.c.Store.GetChatInbox(ctx, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil
	}
	if err != nil || d.HandledAt != nil {
		return err
	}
	switch d.Provider {
	case ProviderTelegram:
		err = h.telegramUpdate(ctx, d)
	case ProviderSlack:
		err = h.slackEvent(ctx, d)
	default:
		h.c.Log.WarnContext(ctx, "messenger delivery of an unknown provider", "provider", d.Provider)
	}
	if err != nil {
		return err
	}
	return h.c.Store.FinishChatInbox(ctx, d.ID, h.now())
}

// telegramUpdate: the bot first, then conversations.
func (h *Handler) telegramUpdate(ctx context.Context, d core.MessengerDelivery) error {
	var u tgbotapi.Update
	if err := json.Unmarshal(d.Payload, &u); err != nil {
		h.c.Log.WarnContext(ctx, "telegram update does not decode; dropped", "update_id", d.EventID)
		return nil
	}
	if h.c.Bots != nil {
		handled, err := h.c.Bots.HandleUpdate(ctx, u)
		if err != nil || handled {
			return err
		}
	}
	msg, edited := u.Message, false
	if msg == nil && u.EditedMessage != nil {
		msg, edited = u.EditedMessage, true
	}
	if msg == nil || msg.Chat == nil || msg.From == nil {
		h.c.Log.InfoContext(ctx, "telegram update of a type conversations do not handle; acknowledged", "update_id", d.EventID)
		return nil
	}
	if msg.Chat.Type != "private" {
		h.c.Log.InfoContext(ctx, "telegram group message ignored: conversations are one to one", "update_id", d.EventID)
		return nil
	}
	route, err := h.telegramRoute(ctx, d)
	if core.ErrorCode(err) == core.CodeNotFound {
		h.c.Log.WarnContext(ctx, "telegram bot is mapped to no centre; update waits for the operator", "bot", d.Address, "update_id", d.EventID)
		return nil
	}
	if err != nil {
		return err
	}
	chatID := strconv.FormatInt(msg.Chat.ID, 10)
	key := "tg:" + chatID + ":" + strconv.Itoa(msg.MessageID)
	if edited {
		_, err := h.c.Conversations.Edit(ctx, route.OrgID, key, telegramGroupKey(chatID, msg), messageText(msg))
		if core.ErrorCode(err) == core.CodeNotFound {
			return nil // an edit of a message we never stored (before linking)
		}
		return err
	}
	if msg.Contact != nil {
		return h.telegramContact(ctx, route, msg, chatID)
	}
	cl, err := h.c.Conversations.ClientByChatID(ctx, route.OrgID, core.ChannelTelegram, strconv.FormatInt(msg.From.ID, 10))
	if core.ErrorCode(err) == core.CodeNotFound {
		return h.askContact(ctx, route, msg, chatID)
	}
	if err != nil {
		return err
	}
	in := core.ChatReceive{OrgID: route.OrgID, CenterID: route.CenterID, ClientID: cl.ID, Channel: core.ChannelTelegram, Address: chatID,
		Text: messageText(msg), Attachments: telegramAttachments(msg), ProviderKey: key, At: time.Unix(int64(msg.Date), 0)}
	in.GroupKey = telegramGroupKey(chatID, msg)
	if in.Text == "" && len(in.Attachments) == 0 {
		h.c.Log.InfoContext(ctx, "telegram message with nothing conversations keep (sticker, location…); acknowledged", "update_id", d.EventID)
		return nil
	}
	_, _, err = h.c.Conversations.Receive(ctx, in)
	return err
}

// telegramRoute finds the centre of the bot that received the update.
func (h *Handler) telegramRoute(ctx context.Context, d core.MessengerDelivery) (core.ChatRoute, error) {
	bot := d.Address
	if bot == "" && h.c.Telegram != nil {
		name, err := h.c.Telegram.Username(ctx)
		if err != nil {
			return core.ChatRoute{}, err
		}
		bot = name
	}
	return h.c.Conversations.Route(ctx, core.ChannelTelegram, bot)
}

func messageText(m *tgbotapi.Message) string {
	if m.Text != "" {
		return m.Text
	}
	return m.Caption
}

// telegramAttachments keeps photos (the largest size), documents, voice
// notes, videos and audio as references (file_id, type, size).
// telegramGroupKey is the key of the media group a message belongs to, or "".
func telegramGroupKey(chatID string, m *tgbotapi.Message) string {
	if m.MediaGroupID == "" {
		return ""
	}
	return "tg-group:" + chatID + ":" + m.MediaGroupID
}

func telegramAttachments(m *tgbotapi.Message) []core.Attachment {
	out := telegramFiles(m)
	if m.MediaGroupID != "" {
		for i := range out {
			out[i].Part = m.MessageID
		}
	}
	return out
}

func telegramFiles(m *tgbotapi.Message) []core.Attachment {
	var out []core.Attachment
	if n := len(m.Photo); n > 0 {
		p := m.Photo[n-1]
		out = append(out, core.Attachment{Kind: "photo", ContentType: "image/jpeg", Size: int64(p.FileSize), FileID: p.FileID})
	}
	if d := m.Document; d != nil {
		out = append(out, core.Attachment{Kind: "document", ContentType: d.MimeType, Size: int64(d.FileSize), FileID: d.FileID, Name: d.FileName})
	}
	if v := m.Voice; v != nil {
		out = append(out, core.Attachment{Kind: "voice", ContentType: v.MimeType, Size: int64(v.FileSize), FileID: v.FileID})
	}
	if v := m.Video; v != nil {
		out = append(out, core.Attachment{Kind: "video", ContentType: v.MimeType, Size: int64(v.FileSize), FileID: v.FileID, Name: v.FileName})
	}
	if a := m.Audio; a != nil {
		out = append(out, core.Attachment{Kind: "audio", ContentType: a.MimeType, Size: int64(a.FileSize), FileID: a.FileID, Name: a.FileName})
	}
	return out
}

// telegramContact links the user who shared their own phone. A contact of
// someone else (a forwarded card) links nobody: only the phone's owner
// may attach their chat to a client card.
func (h *Handler) telegramContact(ctx context.Context, route core.ChatRoute, msg *tgbotapi.Message, chatID string) error {
	c := msg.Contact
	if c.UserID != msg.From.ID {
		h.c.Log.InfoContext(ctx, "telegram contact of another user ignored", "chat_id", chatID)
		return h.askContact(ctx, route, msg, chatID)
	}
	cl, created, err := h.c.Conversations.LinkContact(ctx, core.ChatContact{OrgID: route.OrgID, CenterID: route.CenterID, Phone: c.PhoneNumber,
		FirstName: c.FirstName, LastName: c.LastName, TelegramID: strconv.FormatInt(c.UserID, 10), Language: shortLocale(msg.From.LanguageCode)})
	if core.ErrorCode(err) == core.CodeInvalid {
		h.c.Log.InfoContext(ctx, "telegram contact with an unusable phone", "chat_id", chatID)
		return nil
	}
	if err != nil {
		return err
	}
	h.c.Log.InfoContext(ctx, "telegram user linked to a client card", "client_id", cl.ID, "created", created)
	locale := h.locale(ctx, route.OrgID, msg.From.LanguageCode)
	return h.telegramNotice(ctx, route, chatID, "chat.linked:"+chatID+":"+strconv.Itoa(msg.MessageID), cl.ID, locale,
		templates.Phrase(locale, "chat.linked"), nil)
}

// askContact asks an unknown user to share their phone with a
// contact-request keyboard, at most once an hour per chat.
func (h *Handler) askContact(ctx context.Context, route core.ChatRoute, msg *tgbotapi.Message, chatID string) error {
	locale := h.locale(ctx, route.OrgID, msg.From.LanguageCode)
	hour := h.now().Unix() / 3600
	return h.telegramNotice(ctx, route, chatID, fmt.Sprintf("chat.contact:%s:%d", chatID, hour), "", locale,
		templates.Phrase(locale, "chat.share_contact"), []core.Button{{Text: templates.Phrase(locale, "chat.share_button"), Contact: true}})
}

// telegramNotice writes a bot message to a chat as an outbox row and
// queues it.
func (h *Handler) telegramNotice(ctx context.Context, route core.ChatRoute, chatID, dedupe, clientID, locale, text string, buttons []core.Button) error {
	now := h.now()
	kind, rk, rid := core.KindChatContact, "telegram", chatID
	if clientID != "" {
		kind, rk, rid = core.KindChat, "client", clientID
	}
	m := core.Message{ID: core.NewID(), OrgID: route.OrgID, CenterID: route.CenterID, RecipientKind: rk, RecipientID: rid,
		Channel: core.ChannelTelegram, To: chatID, Kind: kind, Locale: locale, Body: text, Buttons: buttons, Status: core.MsgQueued,
		DedupeKey: dedupe, DueAt: now, CreatedAt: now, UpdatedAt: now}
	m, created, err := h.c.Store.InsertMessage(ctx, m)
	if err != nil || !created {
		return err
	}
	return h.c.Queue.EnqueueSend(ctx, m)
}

func (h *Handler) locale(ctx context.Context, orgID, lang string) string {
	if l := shortLocale(lang); l != "" && templates.NormalizeLocale(l) == l {
		return l
	}
	if org, err := h.c.Store.GetOrganization(ctx, orgID); err == nil {
		return org.Locale
	}
	return templates.DefaultLocale
}

func shortLocale(lang string) string {
	l, _, _ := strings.Cut(strings.ToLower(lang), "-")
	return l
}

// WhatsApp turns a client's WhatsApp message that is no reply word and no
// opt-out into a chat message of the organization and centre that own the
// number it reached (notify resolved them). An unknown number gets a new
// client card: seed 004's clients subscribe by writing first.
func (h *Handler) WhatsApp(ctx context.Context, in core.Inbound) error {
	phone, err := core.NormalizeChatID(core.ChannelWhatsApp, in.From)
	if err != nil {
		h.c.Log.InfoContext(ctx, "whatsapp sender is not a phone number; not a chat", "inbound_id", in.ID)
		return nil
	}
	clientID := in.ClientID
	if clientID == "" {
		cl, err := h.c.Conversations.ClientByChatID(ctx, in.OrgID, core.ChannelWhatsApp, phone)
		switch {
		case err == nil:
			clientID = cl.ID
		case core.ErrorCode(err) == core.CodeNotFound:
			now := h.now()
			nc := core.Client{ID: core.NewID(), OrgID: in.OrgID, FirstName: phone, Name: phone, Phone: phone, Source: "whatsapp", CreatedAt: now,
				GroupIDs: []string{}, CenterIDs: []string{}}
			if in.CenterID != "" {
				nc.CenterIDs = []string{in.CenterID}
			}
			if err := h.c.Store.CreateClient(ctx, nc); err != nil {
				return err
			}
			clientID = nc.ID
		default:
			return err
		}
	}
	rc := core.ChatReceive{OrgID: in.OrgID, CenterID: in.CenterID, ClientID: clientID, Channel: core.ChannelWhatsApp, Address: phone,
		Sender: sender(in), Text: in.Body, ProviderKey: "twilio:" + in.ProviderID, At: in.CreatedAt}
	for _, m := range in.Media {
		a := core.Attachment{Kind: "media", ContentType: m.ContentType, URL: m.URL, Untrusted: true}
		if h.c.Media != nil {
			ct, size, trusted, err := h.c.Media.Inspect(ctx, m.URL)
			a.Untrusted = !trusted
			if err != nil {
				h.c.Log.InfoContext(ctx, "whatsapp media not inspected", "inbound_id", in.ID, "error", err.Error())
			} else if trusted {
				a.Size = size
				if ct != "" {
					a.ContentType = ct
				}
			}
		}
		rc.Attachments = append(rc.Attachments, a)
	}
	_, _, err = h.c.Conversations.Receive(ctx, rc)
	return err
}

// sender is the address a WhatsApp client wrote to: replies come from it.
func sender(in core.Inbound) string {
	if in.ServiceSID != "" {
		return in.ServiceSID
	}
	return strings.TrimPrefix(in.To, "whatsapp:")
}

// slackEvent delivers a staff reply written in a conversation's thread.
// Messages of bots (ours included), edits and top-level messages are not
// replies and are ignored.
func (h *Handler) slackEvent(ctx context.Context, d core.MessengerDelivery) error {
	var env struct {
		Event struct {
			Type     string `json:"type"`
			Subtype  string `json:"subtype"`
			User     string `json:"user"`
			BotID    string `json:"bot_id"`
			Text     string `json:"text"`
			Channel  string `json:"channel"`
			TS       string `json:"ts"`
			ThreadTS string `json:"thread_ts"`
		} `json:"event"`
	}
	if err := json.Unmarshal(d.Payload, &env); err != nil {
		h.c.Log.WarnContext(ctx, "slack event does not decode; dropped", "event_id", d.EventID)
		return nil
	}
	ev := env.Event
	if ev.Type != "message" || ev.Subtype != "" || ev.BotID != "" || ev.ThreadTS == "" || ev.ThreadTS == ev.TS || strings.TrimSpace(ev.Text) == "" {
		return nil
	}
	if h.c.Slack != nil {
		if self, err := h.c.Slack.BotUserID(ctx); err == nil && self == ev.User {
			return nil // our own message: never answered
		}
	}
	route, err := h.c.Conversations.Route(ctx, core.ChannelSlack, ev.Channel)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	conv, err := h.c.Store.ConversationBySlackThread(ctx, ev.Channel, ev.ThreadTS)
	if core.ErrorCode(err) == core.CodeNotFound || err == nil && conv.OrgID != route.OrgID {
		return nil // a thread that is no conversation of the channel's centre
	}
	if err != nil {
		return err
	}
	_, err = h.c.Conversations.ReplyFromSlack(ctx, conv.OrgID, conv.ID, "", slackText(ev.Text), ev.TS)
	if code := core.ErrorCode(err); code == core.CodeInvalid || code == core.CodeConflict {
		// A closed WhatsApp window or an empty reply: say so in the thread.
		if h.c.Slack != nil {
			_, _ = h.c.Slack.PostThread(ctx, ev.Channel, ev.ThreadTS, "Not delivered: "+err.Error())
		}
		return nil
	}
	return err
}

// slackText undoes Slack's escaping of &, < and >.
func slackText(s string) string {
	return strings.NewReplacer("&lt;", "<", "&gt;", ">", "&amp;", "&").Replace(strings.TrimSpace(s))
}

// MirrorSlack copies a conversation's messages not yet in Slack to its
// centre's channel: a thread per conversation, opened by its first
// mirror. A message is marked mirrored once posted; a crash between the
// two posts it again (at least once).
func (h *Handler) MirrorSlack(ctx context.Context, convID string) error {
	if h.c.Slack == nil {
		return nil
	}
	c, err := h.c.Store.GetConversationByID(ctx, convID)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil
	}
	if err != nil || c.SlackChannel == "" {
		return err
	}
	if c.SlackThreadTS == "" {
		cl, err := h.c.Store.GetClient(ctx, c.OrgID, c.ClientID)
		if err != nil {
			return err
		}
		ts, err := h.c.Slack.PostThread(ctx, c.SlackChannel, "", fmt.Sprintf("New %s conversation with %s", c.Channel, clientName(cl)))
		if err != nil {
			return err
		}
		ok, err := h.c.Store.ClaimSlackThread(ctx, c.ID, c.SlackChannel, ts)
		if err != nil {
			return err
		}
		if !ok {
			return fmt.Errorf("chats: another worker opened the thread of %s; retrying", c.ID)
		}
		c.SlackThreadTS = ts
	}
	for {
		ms, err := h.c.Store.UnmirroredChat(ctx, c.ID, 50)
		if err != nil || len(ms) == 0 {
			return err
		}
		for _, m := range ms {
			ts, err := h.c.Slack.PostThread(ctx, c.SlackChannel, c.SlackThreadTS, mirrorText(m))
			if err != nil {
				return err
			}
			if err := h.c.Store.SetChatSlackTS(ctx, m.ID, ts); err != nil {
				return err
			}
		}
	}
}

func clientName(c core.Client) string {
	if c.Name != "" {
		return c.Name
	}
	return c.Phone
}

func mirrorText(m core.ChatMessage) string {
	who := "Client"
	if m.Direction == core.ChatOut {
		who = "Staff (" + m.Via + ")"
	}
	text := m.Text
	for _, a := range m.Attachments {
		if a.Kind != "template_variables" {
			text += " [" + a.Kind + "]"
		}
	}
	if m.TemplateSID != "" {
		text += " [template " + m.TemplateSID + "]"
	}
	return who + ": " + strings.TrimSpace(text)
}

// Sender wraps a channel's sender: a chat reply's files and content
// template, kept beside the outbox row, are filled in at send time.
type Sender struct {
	Inner core.Sender
	Store Store
}

// Send implements core.Sender.
func (s Sender) Send(ctx context.Context, m core.Outbound) (core.Sent, error) {
	if m.Kind == core.KindChat {
		cm, err := s.Store.ChatMessageByOutbox(ctx, m.ID)
		if err != nil && core.ErrorCode(err) != core.CodeNotFound {
			return core.Sent{}, &core.SendError{Code: "store", Err: err}
		}
		for _, a := range cm.Attachments {
			if a.Kind == "template_variables" {
				m.ContentVariables = string(a.Data)
			} else if len(a.Data) > 0 {
				m.Files = append(m.Files, a)
			}
		}
		m.ContentSID = cm.TemplateSID
		if len(m.Files) > 0 && cm.Text == "" {
			m.Text = ""
		}
	}
	return s.Inner.Send(ctx, m)
}
