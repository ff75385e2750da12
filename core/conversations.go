package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Conversations: clients write to a centre on Telegram or WhatsApp; staff
// answer from the API or from the centre's Slack thread. One conversation
// per client, centre and channel family holds the whole history, inbound and
// outbound. Staff replies are outbox rows like every other message, so the
// delivery status the provider reports shows in the history.

// ConversationStatus is open or closed; a client's new message reopens.
type ConversationStatus string

const (
	ConversationOpen   ConversationStatus = "open"
	ConversationClosed ConversationStatus = "closed"
)

// WhatsAppWindow is how long after the client's last message a free-text
// WhatsApp reply is allowed (WhatsApp's customer service window); after it
// only an approved content template may be sent.
const WhatsAppWindow = 24 * time.Hour

// KindChat is the outbox kind of a staff reply in a conversation, and
// KindChatContact the request to an unknown Telegram user to share their
// phone.
const (
	KindChat        = "chat.message"
	KindChatContact = "chat.contact_request"
)

// Conversation is the chat between a client and a centre on one channel.
type Conversation struct {
	ID       string  `json:"id"`
	OrgID    string  `json:"-"`
	CenterID string  `json:"center_id"`
	ClientID string  `json:"client_id"`
	Channel  Channel `json:"channel" doc:"telegram or whatsapp"`
	// Address is where the client is reached: the Telegram chat id or the
	// E.164 phone (WhatsApp).
	Address string `json:"address"`
	// Sender is the address the client wrote to (the WhatsApp number or
	// messaging service), which replies come from.
	Sender         string             `json:"sender,omitempty"`
	Status         ConversationStatus `json:"status"`
	AssignedTo     string             `json:"assigned_to,omitempty" doc:"staff member id"`
	Unread         bool               `json:"unread" doc:"the caller has not read its latest message"`
	LastActivityAt time.Time          `json:"last_activity_at"`
	LastInboundAt  *time.Time         `json:"last_inbound_at,omitempty"`
	// WindowOpen: a free-text WhatsApp reply is allowed now (24 hours after
	// the client's last message); always true on Telegram.
	WindowOpen    bool      `json:"window_open"`
	SlackChannel  string    `json:"slack_channel,omitempty"`
	SlackThreadTS string    `json:"slack_thread_ts,omitempty"`
	CreatedAt     time.Time `json:"created_at"`
	UpdatedAt     time.Time `json:"updated_at"`
}

// Attachment is a file of a chat message kept as a reference.
type Attachment struct {
	Kind        string `json:"kind" doc:"photo, document, voice, video, audio or media"`
	ContentType string `json:"content_type,omitempty"`
	Size        int64  `json:"size,omitempty" doc:"bytes, when the provider says"`
	// Part orders an album whose parts arrive in any order.
	Part   int    `json:"part,omitempty" doc:"position in a media group (the Telegram message_id of its part)"`
	FileID string `json:"file_id,omitempty" doc:"Telegram file_id"`
	URL    string `json:"url,omitempty" doc:"provider media URL (Twilio)"`
	Name   string `json:"name,omitempty"`
	// Untrusted: the URL is not on the provider's media hosts, so the
	// gateway never fetched it with the account's credentials.
	Untrusted bool `json:"untrusted,omitempty"`
	// Data is an outbound file's content (base64 in JSON), uploaded to the
	// provider; it is not returned in histories.
	Data []byte `json:"data,omitempty"`
}

// ChatDirection says who wrote a chat message.
type ChatDirection string

const (
	ChatIn  ChatDirection = "in"  // the client
	ChatOut ChatDirection = "out" // staff
)

// ChatMessage is one message of a conversation.
type ChatMessage struct {
	ID             string        `json:"id"`
	OrgID          string        `json:"-"`
	ConversationID string        `json:"conversation_id"`
	Direction      ChatDirection `json:"direction"`
	Text           string        `json:"text"`
	Attachments    []Attachment  `json:"attachments"`
	// Via is where it was written: telegram, whatsapp (the client), api or
	// slack (staff).
	Via     string `json:"via"`
	StaffID string `json:"staff_id,omitempty"`
	// ProviderKey identifies an inbound message at its provider (chat and
	// message id, media group, MessageSid): unique per organization, so a
	// repeat is stored once and an edit finds its message.
	ProviderKey string `json:"-"`
	// OutboxID is the outbox row that carries a staff reply; Status and
	// ErrorCode are that row's (delivery reported by the provider).
	OutboxID    string        `json:"outbox_id,omitempty"`
	Status      MessageStatus `json:"status,omitempty"`
	ErrorCode   string        `json:"error_code,omitempty"`
	TemplateSID string        `json:"template_sid,omitempty" doc:"the approved WhatsApp content template sent"`
	// SlackTS is the message's copy in the centre's Slack thread.
	SlackTS   string     `json:"-"`
	CreatedAt time.Time  `json:"created_at"`
	EditedAt  *time.Time `json:"edited_at,omitempty"`
}

// ConversationFilter selects conversations of a list.
type ConversationFilter struct {
	CenterIDs  []string // nil: every centre; set by the policy
	CenterID   string   // the caller's own filter
	AssignedTo string
	Status     ConversationStatus
	// UnreadFor lists only conversations this staff member has not read.
	UnreadFor string
	// ReaderID computes Unread for this staff member.
	ReaderID string
	// Since hides conversations with no activity since then (history the
	// caller may not see).
	Since time.Time
}

// ActivityCursor is the cursor of lists ordered by last activity, newest
// first: the activity instant (ms) and the id.
func ActivityCursor(c Conversation) string {
	return strconv.FormatInt(c.LastActivityAt.UnixMilli(), 10) + "_" + c.ID
}

// ParseActivityCursor reads an ActivityCursor.
func ParseActivityCursor(s string) (time.Time, string, bool) {
	t, id, ok := strings.Cut(s, "_")
	n, err := strconv.ParseInt(t, 10, 64)
	if !ok || err != nil || !ValidID(id) {
		return time.Time{}, "", false
	}
	return time.UnixMilli(n).UTC(), id, true
}

// ChatRoute maps an address of a messenger (a Telegram bot's username, a
// Slack channel id) to the centre whose clients or staff use it. Inbound
// belongs to the address it reached: the route decides the organization
// and centre. WhatsApp numbers are the centres' SMS senders (Center.SMSFrom).
type ChatRoute struct {
	Channel  Channel `json:"channel" doc:"telegram or slack"`
	Address  string  `json:"address" doc:"Telegram bot username (without @) or Slack channel id"`
	OrgID    string  `json:"-"`
	CenterID string  `json:"center_id"`
}

// ChatRoutes is a centre's messenger addresses.
type ChatRoutes struct {
	TelegramBot  string `json:"telegram_bot" doc:"the bot's username (without @) whose chats belong to this centre; empty: none"`
	SlackChannel string `json:"slack_channel" doc:"Slack channel id where this centre's conversations are mirrored as threads; empty: none"`
}

// ChatSettings is the organization's chat setting (seed 004).
type ChatSettings struct {
	// HideEarlierHistory: a staff member sees chat history from the moment
	// their account was created on, unless a director granted them the
	// earlier history (PUT /staff/{id}/chat-history).
	HideEarlierHistory bool `json:"hide_earlier_history" doc:"staff see chat history only from their account's creation on, unless granted"`
}

// HistoryGrant lets one staff member see conversations' earlier history.
type HistoryGrant struct {
	Granted bool `json:"granted"`
}

// ChatReceive is a client's message as the messenger handling resolved it.
type ChatReceive struct {
	OrgID, CenterID, ClientID string
	Channel                   Channel
	Address, Sender           string
	Text                      string
	Attachments               []Attachment
	ProviderKey               string
	// GroupKey merges messages sent together (Telegram media_group_id):
	// a message with the key of a stored one adds its attachments there.
	GroupKey string
	// At is set by Receive to the receipt instant.
	At time.Time
}

// ChatContact is a Telegram user who shared their phone.
type ChatContact struct {
	OrgID, CenterID string
	Phone           string // E.164
	// Phones are the phone's written forms a card may hold (NormalizeChatID
	// fills them).
	Phones     []string
	FirstName  string
	LastName   string
	TelegramID string
	Language   string
}

// ConversationStore keeps conversations, their messages and settings.
type ConversationStore interface {
	Directory
	GetClient(ctx context.Context, orgID, id string) (Client, error)
	GetConversation(ctx context.Context, orgID, id string) (Conversation, error)
	// ListConversations lists by last activity, newest first; p.After is
	// an ActivityCursor.
	ListConversations(ctx context.Context, orgID string, f ConversationFilter, p Page) ([]Conversation, error)
	// ReceiveChat stores a client's message in one transaction: the
	// conversation is found or created, reopened, and its activity moved.
	// A repeat (same provider key) stores nothing (added false).
	ReceiveChat(ctx context.Context, in ChatReceive, newConv Conversation, msg ChatMessage) (c Conversation, m ChatMessage, created, reopened, added bool, err error)
	// EditChat replaces the text of the client's message with a provider
	// key, keeping its attachments.
	EditChat(ctx context.Context, orgID, providerKey, groupKey, text string, at time.Time) (ChatMessage, error)
	// AddReply writes a staff message and the outbox row that carries it
	// in one transaction.
	AddReply(ctx context.Context, cm ChatMessage, m Message) (ChatMessage, error)
	// ListChatMessages lists a conversation's messages created since
	// since, oldest first, with the outbox status of replies.
	ListChatMessages(ctx context.Context, orgID, convID string, since time.Time, p Page) ([]ChatMessage, error)
	UpdateConversation(ctx context.Context, c Conversation) error
	MarkRead(ctx context.Context, orgID, convID, staffID string, at time.Time) error
	ChatSettings(ctx context.Context, orgID string) (ChatSettings, error)
	PutChatSettings(ctx context.Context, orgID string, s ChatSettings) error
	HistoryGranted(ctx context.Context, orgID, staffID string) (bool, error)
	SetHistoryGrant(ctx context.Context, orgID, staffID string, granted bool, at time.Time) error
	// PutChatRoutes replaces a centre's routes; an address another centre
	// uses is a conflict.
	PutChatRoutes(ctx context.Context, orgID, centerID string, r []ChatRoute) error
	ChatRoutesOf(ctx context.Context, orgID, centerID string) ([]ChatRoute, error)
	// ChatRouteFor finds who owns an address (not found: nobody).
	ChatRouteFor(ctx context.Context, channel Channel, address string) (ChatRoute, error)
	// LinkChatContact finds the organization's client with the phone, or
	// creates one in the centre, and records the Telegram id on the card
	// with Telegram as a consented channel, in one transaction.
	LinkChatContact(ctx context.Context, c ChatContact, newClient Client) (Client, bool, error)
	// ClientByChatID finds the organization's client of a chat identity
	// (Telegram user id, WhatsApp E.164).
	ClientByChatID(ctx context.Context, orgID string, channel Channel, id string) (Client, error)
}

// ChatQueue hands chat work to the queue after commit.
type ChatQueue interface {
	EnqueueSend(ctx context.Context, m Message) error
	// EnqueueSlackMirror copies a conversation's new messages to its
	// centre's Slack thread.
	EnqueueSlackMirror(ctx context.Context, conversationID string) error
}

// ConversationService: messenger conversations between clients and
// centres.
type ConversationService struct {
	base
	store ConversationStore
	queue ChatQueue
	live  LiveEvents
}

// NewConversationService wires conversations; live may be nil (no live
// events until the stream exists).
func NewConversationService(svc *Services, store ConversationStore, queue ChatQueue, live LiveEvents) (*ConversationService, error) {
	if svc == nil || store == nil || queue == nil {
		return nil, errors.New("core: NewConversationService needs the services, a store and a queue")
	}
	return &ConversationService{base: svc.Booking.base, store: store, queue: queue, live: live}, nil
}

// SetLive sets the live-events port once its implementation exists.
func (s *ConversationService) SetLive(l LiveEvents) { s.live = l }

// canChat: chats are for directors and administrators (seed 004:
// specialists do not see them).
func canChat(p Principal) error { return p.Require(RoleDirector, RoleAdministrator) }

// historySince is the earliest instant of history the caller may see.
func (s *ConversationService) historySince(ctx context.Context, p Principal) (time.Time, error) {
	set, err := s.store.ChatSettings(ctx, p.OrgID)
	if err != nil {
		return time.Time{}, err
	}
	if !set.HideEarlierHistory || p.StaffID == "" {
		return time.Time{}, nil
	}
	st, err := s.store.GetStaff(ctx, p.OrgID, p.StaffID)
	if err != nil {
		return time.Time{}, err
	}
	granted, err := s.store.HistoryGranted(ctx, p.OrgID, p.StaffID)
	if err != nil {
		return time.Time{}, err
	}
	return s.policy.ChatHistorySince(p, set, st, granted), nil
}

// visible reads a conversation the caller may see, and the earliest
// history instant they may see of it.
func (s *ConversationService) visible(ctx context.Context, p Principal, id string) (Conversation, time.Time, error) {
	if err := canChat(p); err != nil {
		return Conversation{}, time.Time{}, err
	}
	if !ValidID(id) {
		return Conversation{}, time.Time{}, NotFound("conversation")
	}
	c, err := s.store.GetConversation(ctx, p.OrgID, id)
	if err != nil {
		return Conversation{}, time.Time{}, err
	}
	since, err := s.historySince(ctx, p)
	if err != nil {
		return Conversation{}, time.Time{}, err
	}
	if err := s.policy.Conversation(p, c, since); err != nil {
		return Conversation{}, time.Time{}, err
	}
	return s.shown(c), since, nil
}

func (s *ConversationService) shown(c Conversation) Conversation {
	c.WindowOpen = c.Channel != ChannelWhatsApp || c.LastInboundAt != nil && s.Now().Sub(*c.LastInboundAt) < WhatsAppWindow
	return c
}

// ListConversations lists the caller's centres' conversations by last
// activity, newest first.
func (s *ConversationService) ListConversations(ctx context.Context, p Principal, f ConversationFilter, pg Page) ([]Conversation, error) {
	if err := canChat(p); err != nil {
		return nil, err
	}
	since, err := s.historySince(ctx, p)
	if err != nil {
		return nil, err
	}
	if f.CenterID != "" && (!ValidID(f.CenterID) || s.policy.Center(p, f.CenterID) != nil) {
		return []Conversation{}, nil // another centre's filter: an empty list, as for a made-up id
	}
	f.CenterIDs, f.Since, f.ReaderID = s.policy.VisibleCenters(p), since, p.StaffID
	l, err := s.store.ListConversations(ctx, p.OrgID, f, pg)
	for i := range l {
		l[i] = s.shown(l[i])
	}
	return l, err
}

// GetConversation reads one conversation.
func (s *ConversationService) GetConversation(ctx context.Context, p Principal, id string) (Conversation, error) {
	c, _, err := s.visible(ctx, p, id)
	return c, err
}

// History lists a conversation's messages the caller may see, oldest first.
func (s *ConversationService) History(ctx context.Context, p Principal, id string, pg Page) ([]ChatMessage, error) {
	c, since, err := s.visible(ctx, p, id)
	if err != nil {
		return nil, err
	}
	return s.store.ListChatMessages(ctx, p.OrgID, c.ID, since, pg)
}

// MarkRead records that the caller read the conversation up to now.
func (s *ConversationService) MarkRead(ctx context.Context, p Principal, id string) (Conversation, error) {
	c, _, err := s.visible(ctx, p, id)
	if err != nil {
		return c, err
	}
	if p.StaffID == "" {
		return c, Invalid("the key belongs to no staff member, whose reading could be recorded")
	}
	if err := s.store.MarkRead(ctx, p.OrgID, c.ID, p.StaffID, s.Now()); err != nil {
		return c, err
	}
	c.Unread = false
	return c, nil
}

// ConversationUpdate assigns, closes or reopens a conversation.
type ConversationUpdate struct {
	// AssignedTo is a staff member id; "" unassigns; absent leaves as is.
	AssignedTo *string             `json:"assigned_to,omitempty" doc:"staff member id; empty unassigns"`
	Status     *ConversationStatus `json:"status,omitempty" doc:"open or closed"`
}

// UpdateConversation assigns, closes or reopens a conversation.
func (s *ConversationService) UpdateConversation(ctx context.Context, p Principal, id string, in ConversationUpdate) (Conversation, error) {
	c, _, err := s.visible(ctx, p, id)
	if err != nil {
		return c, err
	}
	var f Fields
	if in.Status != nil {
		f.Check(*in.Status != ConversationOpen && *in.Status != ConversationClosed, "status", "must be open or closed")
	}
	if in.AssignedTo != nil && *in.AssignedTo != "" {
		st, err := s.store.GetStaff(ctx, p.OrgID, *in.AssignedTo)
		switch {
		case ErrorCode(err) == CodeNotFound || !ValidID(*in.AssignedTo):
			f.Add("assigned_to", "no such staff member")
		case err != nil:
			return c, err
		case s.policy.ChatAssignee(st, c) != nil:
			f.Add("assigned_to", "this staff member cannot see the conversation's centre")
		}
	}
	if err := f.Err("invalid conversation change"); err != nil {
		return c, err
	}
	if in.AssignedTo != nil {
		c.AssignedTo = *in.AssignedTo
	}
	if in.Status != nil {
		c.Status = *in.Status
	}
	c.UpdatedAt = s.Now()
	if err := s.store.UpdateConversation(ctx, c); err != nil {
		return c, err
	}
	s.publishLive(ctx, LiveConversationChanged, c, c)
	return c, nil
}

// ReplyInput is a staff message to a conversation: text (and files), or an
// approved WhatsApp content template once the 24-hour window has closed.
type ReplyInput struct {
	Text        string       `json:"text"`
	Attachments []Attachment `json:"attachments,omitempty" doc:"files to upload (Telegram): kind, name, content_type and base64 data"`
	// TemplateSID is an approved Twilio content template (HX…), the only
	// thing WhatsApp lets a business send after the window.
	TemplateSID       string            `json:"template_sid,omitempty" doc:"approved Twilio content template (HX…) for WhatsApp after the 24-hour window"`
	TemplateVariables map[string]string `json:"template_variables,omitempty"`
}

// MaxChatText bounds a staff reply (Telegram's limit is 4096).
const MaxChatText = 4096

// MaxReplyFiles bounds the files of one reply; each is at most
// MaxReplyFileBytes.
const (
	MaxReplyFiles     = 5
	MaxReplyFileBytes = 5 << 20
)

// Reply sends a staff message on the client's channel through the outbox.
// A free-text WhatsApp reply after the 24-hour window is a conflict that
// says to send a content template instead; nothing is written.
func (s *ConversationService) Reply(ctx context.Context, p Principal, id string, in ReplyInput) (ChatMessage, error) {
	c, _, err := s.visible(ctx, p, id)
	if err != nil {
		return ChatMessage{}, err
	}
	if err := s.checkReply(c, &in); err != nil {
		return ChatMessage{}, err
	}
	return s.reply(ctx, c, in, "api", p.StaffID, "")
}

func (s *ConversationService) checkReply(c Conversation, in *ReplyInput) error {
	in.Text = strings.TrimSpace(in.Text)
	var f Fields
	f.Check(in.Text == "" && in.TemplateSID == "" && len(in.Attachments) == 0, "text", "is required")
	f.Check(len([]rune(in.Text)) > MaxChatText, "text", fmt.Sprintf("is longer than %d characters", MaxChatText))
	f.Check(len(in.Attachments) > MaxReplyFiles, "attachments", fmt.Sprintf("at most %d files", MaxReplyFiles))
	for i, a := range in.Attachments {
		field := fmt.Sprintf("attachments[%d]", i)
		f.Check(len(a.Data) == 0, field, "data is required (base64)")
		f.Check(len(a.Data) > MaxReplyFileBytes, field, "is larger than 5 MiB")
		switch a.Kind {
		case "photo", "document", "voice", "video", "audio":
		default:
			f.Add(field, "kind must be photo, document, voice, video or audio")
		}
	}
	if in.TemplateSID != "" {
		f.Check(c.Channel != ChannelWhatsApp, "template_sid", "content templates are for WhatsApp conversations")
		f.Check(!strings.HasPrefix(in.TemplateSID, "HX") || len(in.TemplateSID) != 34, "template_sid", "must be a Twilio content SID (HX followed by 32 hex digits)")
	}
	f.Check(len(in.Attachments) > 0 && c.Channel != ChannelTelegram, "attachments", "files are sent on Telegram conversations only")
	if err := f.Err("invalid reply"); err != nil {
		return err
	}
	if c.Channel == ChannelWhatsApp && in.TemplateSID == "" && !s.shown(c).WindowOpen {
		return Conflict("WhatsApp allows free text only within 24 hours of the client's last message; send an approved content template instead",
			ConflictItem{Kind: "whatsapp_window", Detail: "the 24-hour window closed; POST the reply again with template_sid (an approved Twilio content template, HX…) and template_variables"})
	}
	return nil
}

func (s *ConversationService) reply(ctx context.Context, c Conversation, in ReplyInput, via, staffID, slackTS string) (ChatMessage, error) {
	cl, err := s.store.GetClient(ctx, c.OrgID, c.ClientID)
	if err != nil {
		return ChatMessage{}, err
	}
	now := s.Now()
	cm := ChatMessage{ID: NewID(), OrgID: c.OrgID, ConversationID: c.ID, Direction: ChatOut, Text: in.Text, Attachments: in.Attachments,
		Via: via, StaffID: staffID, TemplateSID: in.TemplateSID, SlackTS: slackTS, CreatedAt: now}
	if cm.Attachments == nil {
		cm.Attachments = []Attachment{}
	}
	body := in.Text
	if body == "" && in.TemplateSID != "" {
		body = "template " + in.TemplateSID
	}
	if body == "" {
		body = attachmentSummary(in.Attachments)
	}
	m := Message{ID: NewID(), OrgID: c.OrgID, CenterID: c.CenterID, RecipientKind: "client", RecipientID: c.ClientID,
		Channel: c.Channel, To: c.Address, From: c.Sender, Kind: KindChat, Locale: cl.Language, Body: body, Status: MsgQueued,
		DedupeKey: "chat:" + cm.ID, DueAt: now, CreatedAt: now, UpdatedAt: now}
	cm.OutboxID = m.ID
	cm.Status = MsgQueued
	if len(in.TemplateVariables) > 0 {
		cm.Attachments = append(cm.Attachments, Attachment{Kind: "template_variables", Data: encodeVars(in.TemplateVariables)})
	}
	cm, err = s.store.AddReply(ctx, cm, m)
	if err != nil {
		return ChatMessage{}, err
	}
	if err := s.queue.EnqueueSend(ctx, m); err != nil {
		// The row is written: the sweeper queues it.
		_ = err
	}
	if c.SlackChannel != "" && slackTS == "" {
		_ = s.queue.EnqueueSlackMirror(ctx, c.ID)
	}
	c.LastActivityAt = now
	s.publishLive(ctx, LiveMessageNew, c, cm)
	return stripData(cm), nil
}

func attachmentSummary(as []Attachment) string {
	names := make([]string, 0, len(as))
	for _, a := range as {
		names = append(names, "["+a.Kind+"]")
	}
	return strings.Join(names, " ")
}

// stripData removes file contents from what is returned.
func stripData(cm ChatMessage) ChatMessage {
	out := make([]Attachment, 0, len(cm.Attachments))
	for _, a := range cm.Attachments {
		if a.Kind == "template_variables" {
			continue
		}
		a.Data = nil
		out = append(out, a)
	}
	cm.Attachments = out
	return cm
}

// encodeVars keeps template variables as Twilio's ContentVariables JSON
// (encoding/json writes map keys sorted).
func encodeVars(v map[string]string) []byte {
	b, _ := json.Marshal(v)
	return b
}

// Receive records a client's message, opening or reopening the
// conversation, publishes the live events and mirrors it to Slack. The
// messenger handling has resolved the organization, centre and client from
// the address the message reached.
func (s *ConversationService) Receive(ctx context.Context, in ChatReceive) (ChatMessage, bool, error) {
	if in.OrgID == "" || in.ClientID == "" || in.Address == "" || in.ProviderKey == "" {
		return ChatMessage{}, false, Invalid("chat message without organization, client, address or provider key")
	}
	// Activity and unread state run on the receipt instant: providers'
	// dates have a second's resolution (Telegram) and another clock, and a
	// message must never look older than a reading that preceded it.
	now := s.Now()
	in.At = now
	if in.Attachments == nil {
		in.Attachments = []Attachment{}
	}
	newConv := Conversation{ID: NewID(), OrgID: in.OrgID, CenterID: in.CenterID, ClientID: in.ClientID, Channel: in.Channel,
		Address: in.Address, Sender: in.Sender, Status: ConversationOpen, LastActivityAt: in.At, LastInboundAt: &in.At, CreatedAt: now, UpdatedAt: now}
	msg := ChatMessage{ID: NewID(), OrgID: in.OrgID, Direction: ChatIn, Text: in.Text, Attachments: in.Attachments,
		Via: string(in.Channel), ProviderKey: in.ProviderKey, CreatedAt: in.At}
	c, m, created, reopened, added, err := s.store.ReceiveChat(ctx, in, newConv, msg)
	if err != nil || !added {
		return m, false, err
	}
	if created {
		s.publishLive(ctx, LiveConversationNew, c, c)
	} else if reopened {
		s.publishLive(ctx, LiveConversationChanged, c, c)
	}
	s.publishLive(ctx, LiveMessageNew, c, m)
	if c.SlackChannel != "" {
		_ = s.queue.EnqueueSlackMirror(ctx, c.ID)
	}
	return m, true, nil
}

// Edit applies a client's edit of a message (Telegram edited_message): the
// text changes, the attachments stay. groupKey is the media group the
// edited message was sent in, if any: the album is one stored message,
// keyed by whichever of its parts arrived first.
func (s *ConversationService) Edit(ctx context.Context, orgID, providerKey, groupKey, text string) (ChatMessage, error) {
	m, err := s.store.EditChat(ctx, orgID, providerKey, groupKey, text, s.Now())
	if err != nil {
		return m, err
	}
	if c, err := s.store.GetConversation(ctx, orgID, m.ConversationID); err == nil {
		s.publishLive(ctx, LiveConversationChanged, c, m)
	}
	return m, nil
}

// ReplyFromSlack delivers a staff reply written in the centre's Slack
// thread of a conversation. staffID is the staff member with that Slack
// user id, if known; slackTS marks the message as already in the thread.
func (s *ConversationService) ReplyFromSlack(ctx context.Context, orgID, convID, staffID, text, slackTS string) (ChatMessage, error) {
	c, err := s.store.GetConversation(ctx, orgID, convID)
	if err != nil {
		return ChatMessage{}, err
	}
	in := ReplyInput{Text: text}
	if err := s.checkReply(c, &in); err != nil {
		return ChatMessage{}, err
	}
	return s.reply(ctx, c, in, "slack", staffID, slackTS)
}

// LinkContact links a Telegram user who shared their phone to the
// organization's client card with that phone, or creates one in the
// centre; the card then lists Telegram as a channel.
func (s *ConversationService) LinkContact(ctx context.Context, c ChatContact) (Client, bool, error) {
	phone, err := NormalizeChatID(ChannelWhatsApp, c.Phone)
	if err != nil {
		return Client{}, false, err
	}
	c.Phone, c.Phones = phone, PhoneForms(phone)
	in := ClientInput{FirstName: c.FirstName, LastName: c.LastName, Phone: phone, TelegramID: TelegramID(c.TelegramID), Language: c.Language, Source: "telegram"}
	if c.CenterID != "" {
		in.CenterIDs = []string{c.CenterID}
	}
	nc := newClient(c.OrgID, in, s.Now())
	if nc.Name == "" {
		nc.FirstName, nc.Name = phone, phone
	}
	return s.store.LinkChatContact(ctx, c, nc)
}

// ClientByChatID finds the client of a messenger identity.
func (s *ConversationService) ClientByChatID(ctx context.Context, orgID string, channel Channel, id string) (Client, error) {
	return s.store.ClientByChatID(ctx, orgID, channel, id)
}

// Route finds the centre that owns a messenger address.
func (s *ConversationService) Route(ctx context.Context, channel Channel, address string) (ChatRoute, error) {
	return s.store.ChatRouteFor(ctx, channel, address)
}

// GetChatRoutes reads a centre's messenger addresses.
func (s *ConversationService) GetChatRoutes(ctx context.Context, p Principal, centerID string) (ChatRoutes, error) {
	if err := s.centerForRoutes(ctx, p, centerID); err != nil {
		return ChatRoutes{}, err
	}
	rs, err := s.store.ChatRoutesOf(ctx, p.OrgID, centerID)
	var out ChatRoutes
	for _, r := range rs {
		switch r.Channel {
		case ChannelTelegram:
			out.TelegramBot = r.Address
		case ChannelSlack:
			out.SlackChannel = r.Address
		}
	}
	return out, err
}

// PutChatRoutes sets a centre's messenger addresses; directors only, since
// an address decides which organization's data inbound messages reach.
func (s *ConversationService) PutChatRoutes(ctx context.Context, p Principal, centerID string, in ChatRoutes) (ChatRoutes, error) {
	if err := s.centerForRoutes(ctx, p, centerID); err != nil {
		return ChatRoutes{}, err
	}
	if err := p.Require(RoleDirector); err != nil {
		return ChatRoutes{}, err
	}
	in.TelegramBot = strings.TrimPrefix(strings.TrimSpace(in.TelegramBot), "@")
	in.SlackChannel = strings.TrimSpace(in.SlackChannel)
	var f Fields
	f.Check(in.TelegramBot != "" && !validToken(in.TelegramBot, 5, 64), "telegram_bot", "must be a bot username")
	f.Check(in.SlackChannel != "" && (!validToken(in.SlackChannel, 3, 32) || !strings.ContainsAny(in.SlackChannel[:1], "CGD")),
		"slack_channel", "must be a Slack channel id (C…, G… or D…)")
	if err := f.Err("invalid chat routes"); err != nil {
		return ChatRoutes{}, err
	}
	var rs []ChatRoute
	if in.TelegramBot != "" {
		rs = append(rs, ChatRoute{Channel: ChannelTelegram, Address: in.TelegramBot, OrgID: p.OrgID, CenterID: centerID})
	}
	if in.SlackChannel != "" {
		rs = append(rs, ChatRoute{Channel: ChannelSlack, Address: in.SlackChannel, OrgID: p.OrgID, CenterID: centerID})
	}
	return in, s.store.PutChatRoutes(ctx, p.OrgID, centerID, rs)
}

func validToken(s string, minLen, maxLen int) bool {
	if len(s) < minLen || len(s) > maxLen {
		return false
	}
	for _, r := range s {
		if !(r == '_' || r >= '0' && r <= '9' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z') {
			return false
		}
	}
	return true
}

func (s *ConversationService) centerForRoutes(ctx context.Context, p Principal, centerID string) error {
	if err := canChat(p); err != nil {
		return err
	}
	if !ValidID(centerID) || s.policy.Center(p, centerID) != nil {
		return NotFound("center")
	}
	_, err := s.store.GetCenter(ctx, p.OrgID, centerID)
	return err
}

// GetChatSettings reads the organization's chat setting.
func (s *ConversationService) GetChatSettings(ctx context.Context, p Principal) (ChatSettings, error) {
	if err := canChat(p); err != nil {
		return ChatSettings{}, err
	}
	return s.store.ChatSettings(ctx, p.OrgID)
}

// PutChatSettings changes the organization's chat setting; directors only.
func (s *ConversationService) PutChatSettings(ctx context.Context, p Principal, in ChatSettings) (ChatSettings, error) {
	if err := p.Require(RoleDirector); err != nil {
		return ChatSettings{}, err
	}
	return in, s.store.PutChatSettings(ctx, p.OrgID, in)
}

// GrantHistory lets a staff member see conversations' history from before
// their account existed (or takes it back); directors only.
func (s *ConversationService) GrantHistory(ctx context.Context, p Principal, staffID string, in HistoryGrant) (HistoryGrant, error) {
	if err := p.Require(RoleDirector); err != nil {
		return HistoryGrant{}, err
	}
	if !ValidID(staffID) {
		return HistoryGrant{}, NotFound("staff member")
	}
	if _, err := s.store.GetStaff(ctx, p.OrgID, staffID); err != nil {
		return HistoryGrant{}, err
	}
	return in, s.store.SetHistoryGrant(ctx, p.OrgID, staffID, in.Granted, s.Now())
}

// publishLive tells the staff screens after commit; a failure costs a
// refresh, never data, so it is only dropped.
func (s *ConversationService) publishLive(ctx context.Context, kind LiveKind, c Conversation, data any) {
	if s.live == nil {
		return
	}
	if cm, ok := data.(ChatMessage); ok {
		data = stripData(cm)
	}
	_ = s.live.Publish(ctx, LiveEvent{Kind: kind, OrgID: c.OrgID, CenterID: c.CenterID, At: s.Now(), Data: data})
}

// NormalizeChatID gives a messenger identity its one form: a phone (SMS,
// WhatsApp) in E.164 without the "whatsapp:" prefix, with Argentina's and
// Mexico's mobile prefixes settled (WhatsApp writes +549…/+52…, carriers
// +54…/+521…), so one client never becomes two cards; a Telegram id as is.
func NormalizeChatID(channel Channel, raw string) (string, error) {
	raw = strings.TrimSpace(raw)
	if channel == ChannelTelegram {
		if raw == "" {
			return "", Invalid("empty Telegram id")
		}
		return raw, nil
	}
	raw = strings.TrimPrefix(raw, "whatsapp:")
	if raw != "" && raw[0] != '+' && raw[0] != '0' {
		raw = "+" + raw // Telegram contacts come without the plus
	}
	switch {
	case strings.HasPrefix(raw, "+54") && !strings.HasPrefix(raw, "+549") && len(raw) == 13:
		raw = "+549" + raw[3:]
	case strings.HasPrefix(raw, "+521") && len(raw) == 14:
		raw = "+52" + raw[4:]
	}
	return NormalizePhone(raw, "")
}

// PhoneForms lists the forms one phone may be stored in: E.164 and, for
// Argentina's and Mexico's mobiles, the form without the mobile prefix.
func PhoneForms(e164 string) []string {
	out := []string{e164}
	switch {
	case strings.HasPrefix(e164, "+549") && len(e164) == 14:
		out = append(out, "+54"+e164[4:])
	case strings.HasPrefix(e164, "+52") && len(e164) == 13:
		out = append(out, "+521"+e164[3:])
	}
	return out
}

// MessengerDelivery is a Telegram update or Slack event as received: the
// webhook stores it once per provider id and the worker handles it by id.
type MessengerDelivery struct {
	ID, Provider, EventID, Address string
	Payload                        []byte
	HandledAt                      *time.Time
}
