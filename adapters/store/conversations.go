package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"sort"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

// convCols reads a conversation; the centre's Slack route is joined in
// (SlackChannel), the thread is the one started in that channel.
const convCols = `c.id, c.org_id, c.center_id, c.client_id, c.channel, c.address, c.sender, c.status, c.assigned_to,
	c.last_activity_at, c.last_inbound_at, c.slack_channel, c.slack_thread_ts, c.created_at, c.updated_at,
	COALESCE((SELECT r.address FROM chat_routes r WHERE r.channel = 'slack' AND r.org_id = c.org_id AND r.center_id = c.center_id), '')`

func scanConv(row interface{ Scan(...any) error }, extra ...any) (core.Conversation, error) {
	var c core.Conversation
	var act, created, updated int64
	var inbound sql.NullInt64
	var threadChannel, route string
	err := row.Scan(append([]any{&c.ID, &c.OrgID, &c.CenterID, &c.ClientID, &c.Channel, &c.Address, &c.Sender, &c.Status, &c.AssignedTo,
		&act, &inbound, &threadChannel, &c.SlackThreadTS, &created, &updated, &route}, extra...)...)
	c.LastActivityAt, c.LastInboundAt, c.CreatedAt, c.UpdatedAt = fromMS(act), fromNullMS(inbound), fromMS(created), fromMS(updated)
	c.SlackChannel = route
	if threadChannel != route {
		c.SlackThreadTS = "" // the centre moved to another channel: a new thread there
	}
	return c, err
}

// GetConversation reads one conversation of an organization.
func (s *Store) GetConversation(ctx context.Context, orgID, id string) (core.Conversation, error) {
	c, err := scanConv(s.r.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations c WHERE c.org_id = $1 AND c.id = $2`, orgID, id))
	if err != nil {
		return c, notFound(err, "conversation")
	}
	return c, nil
}

// ListConversations lists by last activity, newest first.
func (s *Store) ListConversations(ctx context.Context, orgID string, f core.ConversationFilter, p core.Page) ([]core.Conversation, error) {
	limit, after := pageArgs(p)
	args := []any{orgID, ms(f.Since), f.CenterID, f.AssignedTo, string(f.Status), f.ReaderID}
	q := `SELECT ` + convCols + `, COALESCE((SELECT rd.read_at FROM conversation_reads rd WHERE rd.conversation_id = c.id AND rd.staff_id = $6), 0)
		FROM conversations c WHERE c.org_id = $1 AND c.last_activity_at >= $2 AND ($3 = '' OR c.center_id = $3)
		AND ($4 = '' OR c.assigned_to = $4) AND ($5 = '' OR c.status = $5)`
	if f.UnreadFor != "" {
		args = append(args, f.UnreadFor)
		q += fmt.Sprintf(` AND COALESCE((SELECT rd.read_at FROM conversation_reads rd WHERE rd.conversation_id = c.id AND rd.staff_id = $%d), 0) < c.last_activity_at`, len(args))
	}
	if f.CenterIDs != nil {
		ph := make([]string, len(f.CenterIDs))
		for i, id := range f.CenterIDs {
			args = append(args, id)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		q += ` AND c.center_id IN (` + strings.Join(ph, ", ") + `)`
	}
	if after != "" {
		at, id, ok := core.ParseActivityCursor(after)
		if !ok {
			return nil, core.Invalid("bad cursor")
		}
		args = append(args, ms(at), id)
		q += fmt.Sprintf(` AND (c.last_activity_at < $%d OR c.last_activity_at = $%d AND c.id < $%d)`, len(args)-1, len(args)-1, len(args))
	}
	args = append(args, limit)
	q += fmt.Sprintf(` ORDER BY c.last_activity_at DESC, c.id DESC LIMIT $%d`, len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: list conversations: %w", err)
	}
	defer rows.Close()
	out := []core.Conversation{}
	for rows.Next() {
		var read int64
		c, err := scanConv(rows, &read)
		if err != nil {
			return nil, fmt.Errorf("store: list conversations: %w", err)
		}
		c.Unread = f.ReaderID != "" && read < ms(c.LastActivityAt)
		out = append(out, c)
	}
	return out, rows.Err()
}

const chatCols = `m.id, m.org_id, m.conversation_id, m.direction, m.body, m.attachments, m.via, m.staff_id, COALESCE(m.provider_key, ''),
	m.outbox_id, m.template_sid, m.slack_ts, m.created_at, m.edited_at,
	COALESCE((SELECT o.status FROM messages o WHERE o.id = m.outbox_id), ''), COALESCE((SELECT o.error_code FROM messages o WHERE o.id = m.outbox_id), '')`

func scanChat(row interface{ Scan(...any) error }) (core.ChatMessage, error) {
	var m core.ChatMessage
	var att string
	var created int64
	var edited sql.NullInt64
	err := row.Scan(&m.ID, &m.OrgID, &m.ConversationID, &m.Direction, &m.Text, &att, &m.Via, &m.StaffID, &m.ProviderKey,
		&m.OutboxID, &m.TemplateSID, &m.SlackTS, &created, &edited, &m.Status, &m.ErrorCode)
	if err != nil {
		return m, err
	}
	m.CreatedAt, m.EditedAt = fromMS(created), fromNullMS(edited)
	if err := json.Unmarshal([]byte(att), &m.Attachments); err != nil {
		return m, fmt.Errorf("store: chat attachments: %w", err)
	}
	if m.Attachments == nil {
		m.Attachments = []core.Attachment{}
	}
	return m, nil
}

// GetChatMessage reads one chat message by id (queue handlers know the id).
func (s *Store) GetChatMessage(ctx context.Context, id string) (core.ChatMessage, error) {
	m, err := scanChat(s.w.QueryRowContext(ctx, `SELECT `+chatCols+` FROM chat_messages m WHERE m.id = $1`, id))
	if err != nil {
		return m, notFound(err, "chat message")
	}
	return m, nil
}

// ChatMessageByOutbox reads the chat message an outbox row carries.
func (s *Store) ChatMessageByOutbox(ctx context.Context, outboxID string) (core.ChatMessage, error) {
	m, err := scanChat(s.w.QueryRowContext(ctx, `SELECT `+chatCols+` FROM chat_messages m WHERE m.outbox_id = $1`, outboxID))
	if err != nil {
		return m, notFound(err, "chat message")
	}
	return m, nil
}

func (s *Store) lockSuffix() string {
	if s.dialect == Postgres {
		return ` FOR UPDATE`
	}
	return "" // SQLite transactions begin IMMEDIATE: writers are serialized
}

// ReceiveChat stores a client's message (see core.ConversationStore).
func (s *Store) ReceiveChat(ctx context.Context, in core.ChatReceive, nc core.Conversation, msg core.ChatMessage) (c core.Conversation, m core.ChatMessage, created, reopened, added bool, err error) {
	err = s.tx(ctx, func(tx *sql.Tx) error {
		sel := `SELECT ` + convCols + ` FROM conversations c WHERE c.org_id = $1 AND c.center_id = $2 AND c.client_id = $3 AND c.channel = $4`
		c, err = scanConv(tx.QueryRowContext(ctx, sel+s.lockSuffix(), in.OrgID, in.CenterID, in.ClientID, string(in.Channel)))
		if errors.Is(err, sql.ErrNoRows) {
			res, ierr := tx.ExecContext(ctx, `INSERT INTO conversations (id, org_id, center_id, client_id, channel, address, sender, status, assigned_to,
				last_activity_at, last_inbound_at, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, '', $9, $9, $10, $10)
				ON CONFLICT (org_id, center_id, client_id, channel) DO NOTHING`,
				nc.ID, nc.OrgID, nc.CenterID, nc.ClientID, string(nc.Channel), nc.Address, nc.Sender, string(core.ConversationOpen), ms(in.At), ms(nc.CreatedAt))
			if ierr != nil {
				return fmt.Errorf("store: create conversation: %w", ierr)
			}
			n, _ := res.RowsAffected()
			created = n == 1
			c, err = scanConv(tx.QueryRowContext(ctx, sel+s.lockSuffix(), in.OrgID, in.CenterID, in.ClientID, string(in.Channel)))
		}
		if err != nil {
			return fmt.Errorf("store: conversation: %w", err)
		}
		msg.ConversationID = c.ID
		m, added, err = s.insertInboundChat(ctx, tx, in, msg)
		if err != nil || !added {
			return err
		}
		reopened = c.Status == core.ConversationClosed
		if in.At.After(c.LastActivityAt) {
			c.LastActivityAt = in.At
		}
		if c.LastInboundAt == nil || in.At.After(*c.LastInboundAt) {
			c.LastInboundAt = &in.At
		}
		c.Status, c.Address, c.UpdatedAt = core.ConversationOpen, in.Address, nc.UpdatedAt
		if in.Sender != "" {
			c.Sender = in.Sender
		}
		if _, err := tx.ExecContext(ctx, `UPDATE conversations SET status = $1, address = $2, sender = $3, last_activity_at = $4,
			last_inbound_at = $5, updated_at = $6 WHERE id = $7`, string(c.Status), c.Address, c.Sender, ms(c.LastActivityAt),
			nullMS(c.LastInboundAt), ms(c.UpdatedAt), c.ID); err != nil {
			return fmt.Errorf("store: conversation activity: %w", err)
		}
		if in.Channel == core.ChannelWhatsApp {
			// A client's first message subscribes them to WhatsApp (seed 004).
			if _, err := tx.ExecContext(ctx, `INSERT INTO client_channels (client_id, channel, org_id, consent, opted_out_at, position)
				VALUES ($1, 'whatsapp', $2, TRUE, NULL, (SELECT COUNT(*) FROM client_channels WHERE client_id = $1))
				ON CONFLICT (client_id, channel) DO UPDATE SET consent = TRUE`, in.ClientID, in.OrgID); err != nil {
				return fmt.Errorf("store: whatsapp consent: %w", err)
			}
		}
		_, err = tx.ExecContext(ctx, `INSERT INTO chat_identities (org_id, channel, external_id, client_id, created_at) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (org_id, channel, external_id) DO NOTHING`, in.OrgID, string(in.Channel), in.Address, in.ClientID, ms(nc.CreatedAt))
		if err != nil {
			return fmt.Errorf("store: chat identity: %w", err)
		}
		return nil
	})
	return c, m, created, reopened, added, err
}

// insertInboundChat writes a client's message once per provider key; a
// message of a media group already stored adds its attachments there.
func (s *Store) insertInboundChat(ctx context.Context, tx *sql.Tx, in core.ChatReceive, msg core.ChatMessage) (core.ChatMessage, bool, error) {
	var dup int
	if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM chat_messages WHERE org_id = $1 AND provider_key = $2`, in.OrgID, in.ProviderKey).Scan(&dup); err != nil {
		return msg, false, fmt.Errorf("store: chat message: %w", err)
	}
	if dup > 0 {
		return msg, false, nil
	}
	if in.GroupKey != "" {
		g, err := scanChat(tx.QueryRowContext(ctx, `SELECT `+chatCols+` FROM chat_messages m WHERE m.org_id = $1 AND m.group_key = $2`+s.lockSuffix(),
			in.OrgID, in.GroupKey))
		if err == nil {
			g.Attachments = append(g.Attachments, msg.Attachments...)
			sort.SliceStable(g.Attachments, func(i, j int) bool { return g.Attachments[i].Part < g.Attachments[j].Part })
			if g.Text == "" {
				g.Text = msg.Text
			}
			if _, err := tx.ExecContext(ctx, `UPDATE chat_messages SET attachments = $1, body = $2 WHERE id = $3`,
				jsonText(g.Attachments), g.Text, g.ID); err != nil {
				return msg, false, fmt.Errorf("store: chat media group: %w", err)
			}
			return g, true, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return msg, false, fmt.Errorf("store: chat media group: %w", err)
		}
	}
	_, err := tx.ExecContext(ctx, `INSERT INTO chat_messages (id, org_id, conversation_id, direction, body, attachments, via, staff_id,
		provider_key, group_key, outbox_id, template_sid, slack_ts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $9, '', '', '', $10)`,
		msg.ID, msg.OrgID, msg.ConversationID, string(msg.Direction), msg.Text, jsonText(msg.Attachments), msg.Via, msg.ProviderKey,
		nullString(in.GroupKey), ms(msg.CreatedAt))
	if err != nil {
		return msg, false, fmt.Errorf("store: chat message: %w", err)
	}
	return msg, true, nil
}

// EditChat replaces the text of a client's message, keeping attachments.
// A part of a media group is found by the group's key: the group is one row,
// keyed by the part that arrived first.
func (s *Store) EditChat(ctx context.Context, orgID, providerKey, groupKey, text string, at time.Time) (core.ChatMessage, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE chat_messages SET body = $1, edited_at = $2
		WHERE org_id = $3 AND (provider_key = $4 OR ($5 <> '' AND group_key = $5))`,
		text, ms(at), orgID, providerKey, groupKey)
	if err := checkAffected(res, err, "chat message"); err != nil {
		return core.ChatMessage{}, err
	}
	m, err := scanChat(s.w.QueryRowContext(ctx, `SELECT `+chatCols+` FROM chat_messages m
		WHERE m.org_id = $1 AND (m.provider_key = $2 OR ($3 <> '' AND m.group_key = $3))`, orgID, providerKey, groupKey))
	return m, notFoundOrNil(err, "chat message")
}

func notFoundOrNil(err error, what string) error {
	if err == nil {
		return nil
	}
	return notFound(err, what)
}

// AddReply writes a staff message and its outbox row in one transaction.
func (s *Store) AddReply(ctx context.Context, cm core.ChatMessage, m core.Message) (core.ChatMessage, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := s.insertMsg(ctx, tx, m); err != nil {
			return err
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_messages (id, org_id, conversation_id, direction, body, attachments, via, staff_id,
			provider_key, group_key, outbox_id, template_sid, slack_ts, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, NULL, NULL, $9, $10, $11, $12)`,
			cm.ID, cm.OrgID, cm.ConversationID, string(cm.Direction), cm.Text, jsonText(cm.Attachments), cm.Via, cm.StaffID,
			cm.OutboxID, cm.TemplateSID, cm.SlackTS, ms(cm.CreatedAt)); err != nil {
			return fmt.Errorf("store: chat reply: %w", err)
		}
		_, err := tx.ExecContext(ctx, `UPDATE conversations SET last_activity_at = $1, updated_at = $1 WHERE id = $2 AND last_activity_at < $1`,
			ms(cm.CreatedAt), cm.ConversationID)
		if err != nil {
			return fmt.Errorf("store: chat reply: %w", err)
		}
		return nil
	})
	return cm, err
}

// ListChatMessages lists a conversation's messages since an instant, oldest
// first; the page cursor is a message id (ids grow with time).
func (s *Store) ListChatMessages(ctx context.Context, orgID, convID string, since time.Time, p core.Page) ([]core.ChatMessage, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+chatCols+` FROM chat_messages m WHERE m.org_id = $1 AND m.conversation_id = $2
		AND m.created_at >= $3 AND m.id > $4 ORDER BY m.id LIMIT $5`, orgID, convID, ms(since), after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: chat messages: %w", err)
	}
	defer rows.Close()
	out := []core.ChatMessage{}
	for rows.Next() {
		m, err := scanChat(rows)
		if err != nil {
			return nil, fmt.Errorf("store: chat messages: %w", err)
		}
		for i := range m.Attachments {
			m.Attachments[i].Data = nil
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// UpdateConversation writes assignment and status.
func (s *Store) UpdateConversation(ctx context.Context, c core.Conversation) error {
	res, err := s.w.ExecContext(ctx, `UPDATE conversations SET assigned_to = $1, status = $2, updated_at = $3 WHERE org_id = $4 AND id = $5`,
		c.AssignedTo, string(c.Status), ms(c.UpdatedAt), c.OrgID, c.ID)
	return checkAffected(res, err, "conversation")
}

// MarkRead records a staff member's reading.
func (s *Store) MarkRead(ctx context.Context, orgID, convID, staffID string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO conversation_reads (conversation_id, staff_id, read_at) VALUES ($1, $2, $3)
		ON CONFLICT (conversation_id, staff_id) DO UPDATE SET read_at = excluded.read_at`, convID, staffID, ms(at))
	if err != nil {
		return fmt.Errorf("store: mark read: %w", err)
	}
	return nil
}

// ChatSettings reads the organization's chat setting (the default when
// never set).
func (s *Store) ChatSettings(ctx context.Context, orgID string) (core.ChatSettings, error) {
	var set core.ChatSettings
	err := s.r.QueryRowContext(ctx, `SELECT hide_earlier_history FROM chat_settings WHERE org_id = $1`, orgID).Scan(&set.HideEarlierHistory)
	if errors.Is(err, sql.ErrNoRows) {
		return set, nil
	}
	if err != nil {
		return set, fmt.Errorf("store: chat settings: %w", err)
	}
	return set, nil
}

// PutChatSettings writes the organization's chat setting.
func (s *Store) PutChatSettings(ctx context.Context, orgID string, set core.ChatSettings) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO chat_settings (org_id, hide_earlier_history) VALUES ($1, $2)
		ON CONFLICT (org_id) DO UPDATE SET hide_earlier_history = excluded.hide_earlier_history`, orgID, set.HideEarlierHistory)
	if err != nil {
		return fmt.Errorf("store: chat settings: %w", err)
	}
	return nil
}

// HistoryGranted reports a staff member's grant of earlier history.
func (s *Store) HistoryGranted(ctx context.Context, orgID, staffID string) (bool, error) {
	var n int
	if err := s.r.QueryRowContext(ctx, `SELECT COUNT(*) FROM chat_history_grants WHERE org_id = $1 AND staff_id = $2`, orgID, staffID).Scan(&n); err != nil {
		return false, fmt.Errorf("store: history grant: %w", err)
	}
	return n > 0, nil
}

// SetHistoryGrant grants or takes back a staff member's earlier history.
func (s *Store) SetHistoryGrant(ctx context.Context, orgID, staffID string, granted bool, at time.Time) error {
	var err error
	if granted {
		_, err = s.w.ExecContext(ctx, `INSERT INTO chat_history_grants (org_id, staff_id, granted_at) VALUES ($1, $2, $3)
			ON CONFLICT (org_id, staff_id) DO NOTHING`, orgID, staffID, ms(at))
	} else {
		_, err = s.w.ExecContext(ctx, `DELETE FROM chat_history_grants WHERE org_id = $1 AND staff_id = $2`, orgID, staffID)
	}
	if err != nil {
		return fmt.Errorf("store: history grant: %w", err)
	}
	return nil
}

// PutChatRoutes replaces a centre's routes; an address another centre
// owns is a conflict and nothing changes.
func (s *Store) PutChatRoutes(ctx context.Context, orgID, centerID string, rs []core.ChatRoute) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM chat_routes WHERE org_id = $1 AND center_id = $2`, orgID, centerID); err != nil {
			return fmt.Errorf("store: chat routes: %w", err)
		}
		for _, r := range rs {
			res, err := tx.ExecContext(ctx, `INSERT INTO chat_routes (channel, address, org_id, center_id) VALUES ($1, $2, $3, $4)
				ON CONFLICT (channel, address) DO NOTHING`, string(r.Channel), r.Address, orgID, centerID)
			if err != nil {
				return fmt.Errorf("store: chat routes: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				return core.Conflict("this address already belongs to another centre",
					core.ConflictItem{Kind: "chat_route_taken", Detail: string(r.Channel) + " " + r.Address})
			}
		}
		return nil
	})
}

// ChatRoutesOf lists a centre's routes.
func (s *Store) ChatRoutesOf(ctx context.Context, orgID, centerID string) ([]core.ChatRoute, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT channel, address, org_id, center_id FROM chat_routes WHERE org_id = $1 AND center_id = $2
		ORDER BY channel`, orgID, centerID)
	if err != nil {
		return nil, fmt.Errorf("store: chat routes: %w", err)
	}
	defer rows.Close()
	var out []core.ChatRoute
	for rows.Next() {
		var r core.ChatRoute
		if err := rows.Scan(&r.Channel, &r.Address, &r.OrgID, &r.CenterID); err != nil {
			return nil, fmt.Errorf("store: chat routes: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// ChatRouteFor finds the owner of an address.
func (s *Store) ChatRouteFor(ctx context.Context, channel core.Channel, address string) (core.ChatRoute, error) {
	var r core.ChatRoute
	err := s.r.QueryRowContext(ctx, `SELECT channel, address, org_id, center_id FROM chat_routes WHERE channel = $1 AND address = $2`,
		string(channel), address).Scan(&r.Channel, &r.Address, &r.OrgID, &r.CenterID)
	return r, notFoundOrNil(err, "chat route")
}

// LinkChatContact links a Telegram user to the card with their phone (or a
// new card) in one transaction.
func (s *Store) LinkChatContact(ctx context.Context, ct core.ChatContact, nc core.Client) (core.Client, bool, error) {
	var out core.Client
	var created bool
	err := s.tx(ctx, func(tx *sql.Tx) error {
		ph := make([]string, len(ct.Phones))
		args := []any{ct.OrgID}
		for i, p := range ct.Phones {
			args = append(args, p)
			ph[i] = fmt.Sprintf("$%d", len(args))
		}
		c, err := scanClient(tx.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.org_id = $1 AND c.archived_at IS NULL
			AND c.phone IN (`+strings.Join(ph, ", ")+`) ORDER BY c.id LIMIT 1`, args...))
		switch {
		case errors.Is(err, sql.ErrNoRows):
			if err := insertClient(ctx, tx, nc); err != nil {
				return err
			}
			c, created = nc, true
		case err != nil:
			return fmt.Errorf("store: link contact: %w", err)
		default:
			if _, err := tx.ExecContext(ctx, `UPDATE clients SET telegram_id = $1 WHERE id = $2`, ct.TelegramID, c.ID); err != nil {
				return fmt.Errorf("store: link contact: %w", err)
			}
			c.TelegramID = core.TelegramID(ct.TelegramID)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO client_channels (client_id, channel, org_id, consent, opted_out_at, position)
			VALUES ($1, 'telegram', $2, TRUE, NULL, (SELECT COUNT(*) FROM client_channels WHERE client_id = $1))
			ON CONFLICT (client_id, channel) DO UPDATE SET consent = TRUE, opted_out_at = NULL`, c.ID, ct.OrgID); err != nil {
			return fmt.Errorf("store: link contact: %w", err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO chat_identities (org_id, channel, external_id, client_id, created_at) VALUES ($1, 'telegram', $2, $3, $4)
			ON CONFLICT (org_id, channel, external_id) DO UPDATE SET client_id = excluded.client_id`, ct.OrgID, ct.TelegramID, c.ID, ms(nc.CreatedAt)); err != nil {
			return fmt.Errorf("store: link contact: %w", err)
		}
		out = c
		return nil
	})
	return out, created, err
}

// ClientByChatID finds the client of a messenger identity: the identity
// recorded, else (Telegram) the card with that Telegram id, else
// (WhatsApp) the card with that phone in any of its forms.
func (s *Store) ClientByChatID(ctx context.Context, orgID string, channel core.Channel, id string) (core.Client, error) {
	c, err := scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientCols+` FROM chat_identities i JOIN clients c ON c.id = i.client_id
		WHERE i.org_id = $1 AND i.channel = $2 AND i.external_id = $3`, orgID, string(channel), id))
	if !errors.Is(err, sql.ErrNoRows) {
		return c, notFoundOrNil(err, "client")
	}
	switch channel {
	case core.ChannelTelegram:
		c, err = scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.org_id = $1 AND c.telegram_id = $2
			AND c.archived_at IS NULL ORDER BY c.id LIMIT 1`, orgID, id))
	default:
		forms := core.PhoneForms(id)
		alt := forms[len(forms)-1]
		c, err = scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.org_id = $1 AND c.phone IN ($2, $3)
			AND c.archived_at IS NULL ORDER BY c.id LIMIT 1`, orgID, id, alt))
	}
	return c, notFoundOrNil(err, "client")
}

// SaveChatInbox records a messenger delivery once per provider id; false
// when it was seen.
func (s *Store) SaveChatInbox(ctx context.Context, id, provider, eventID, address string, payload []byte, at time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO chat_inbox (id, provider, event_id, address, payload, received_at) VALUES ($1, $2, $3, $4, $5, $6)
		ON CONFLICT (provider, event_id) DO NOTHING`, id, provider, eventID, address, string(payload), ms(at))
	if err != nil {
		return false, fmt.Errorf("store: chat inbox: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// GetChatInbox reads a delivery by id.
func (s *Store) GetChatInbox(ctx context.Context, id string) (core.MessengerDelivery, error) {
	var it core.MessengerDelivery
	var payload string
	var handled sql.NullInt64
	err := s.w.QueryRowContext(ctx, `SELECT id, provider, event_id, address, payload, handled_at FROM chat_inbox WHERE id = $1`, id).
		Scan(&it.ID, &it.Provider, &it.EventID, &it.Address, &payload, &handled)
	it.Payload, it.HandledAt = []byte(payload), fromNullMS(handled)
	return it, notFoundOrNil(err, "chat inbox item")
}

// FinishChatInbox marks a delivery handled.
func (s *Store) FinishChatInbox(ctx context.Context, id string, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE chat_inbox SET handled_at = $1 WHERE id = $2`, ms(at), id)
	if err != nil {
		return fmt.Errorf("store: chat inbox: %w", err)
	}
	return nil
}

// UnhandledChatInbox lists deliveries received before a cutoff and not
// handled (the sweeper queues them again).
func (s *Store) UnhandledChatInbox(ctx context.Context, before time.Time, limit int) ([]string, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT id FROM chat_inbox WHERE handled_at IS NULL AND received_at < $1 ORDER BY received_at LIMIT $2`,
		ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: chat inbox: %w", err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, err
		}
		out = append(out, id)
	}
	return out, rows.Err()
}

// GetConversationByID reads a conversation by id alone (queue handlers
// know only the id).
func (s *Store) GetConversationByID(ctx context.Context, id string) (core.Conversation, error) {
	c, err := scanConv(s.w.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations c WHERE c.id = $1`, id))
	return c, notFoundOrNil(err, "conversation")
}

// ConversationBySlackThread finds the conversation mirrored in a thread.
func (s *Store) ConversationBySlackThread(ctx context.Context, channel, threadTS string) (core.Conversation, error) {
	c, err := scanConv(s.r.QueryRowContext(ctx, `SELECT `+convCols+` FROM conversations c WHERE c.slack_channel = $1 AND c.slack_thread_ts = $2`,
		channel, threadTS))
	return c, notFoundOrNil(err, "conversation")
}

// ClaimSlackThread records the thread of a conversation unless one exists
// in that channel; false when another worker's is there.
func (s *Store) ClaimSlackThread(ctx context.Context, convID, channel, ts string) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE conversations SET slack_channel = $1, slack_thread_ts = $2 WHERE id = $3
		AND (slack_channel <> $1 OR slack_thread_ts = '')`, channel, ts, convID)
	if err != nil {
		return false, fmt.Errorf("store: slack thread: %w", err)
	}
	n, _ := res.RowsAffected()
	return n == 1, nil
}

// UnmirroredChat lists a conversation's messages not yet in Slack, oldest
// first.
func (s *Store) UnmirroredChat(ctx context.Context, convID string, limit int) ([]core.ChatMessage, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+chatCols+` FROM chat_messages m WHERE m.conversation_id = $1 AND m.slack_ts = ''
		ORDER BY m.id LIMIT $2`, convID, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unmirrored chat: %w", err)
	}
	defer rows.Close()
	var out []core.ChatMessage
	for rows.Next() {
		m, err := scanChat(rows)
		if err != nil {
			return nil, err
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// SetChatSlackTS records a message's copy in Slack.
func (s *Store) SetChatSlackTS(ctx context.Context, id, ts string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE chat_messages SET slack_ts = $1 WHERE id = $2`, ts, id)
	if err != nil {
		return fmt.Errorf("store: chat slack ts: %w", err)
	}
	return nil
}
