package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

func joinInts(v []int) string {
	s := make([]string, len(v))
	for i, n := range v {
		s[i] = strconv.Itoa(n)
	}
	return strings.Join(s, ",")
}

func splitInts(s string) []int {
	out := []int{}
	for _, p := range strings.Split(s, ",") {
		if n, err := strconv.Atoi(p); err == nil {
			out = append(out, n)
		}
	}
	return out
}

func scanPolicy(row interface{ Scan(...any) error }) (core.ReminderPolicy, string, error) {
	var p core.ReminderPolicy
	var offsets, scope string
	err := row.Scan(&scope, &offsets, &p.AskConfirm, &p.WindowStart, &p.WindowEnd)
	p.OffsetsMin = splitInts(offsets)
	return p, scope, err
}

// ReminderPolicyFor resolves a visit's policy: service, center, organization.
func (s *Store) ReminderPolicyFor(ctx context.Context, orgID, centerID, serviceID string) (core.ReminderPolicy, bool, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT scope, offsets, ask_confirm, window_start, window_end FROM reminder_policies
		WHERE org_id = $1 AND ((scope = 'service' AND scope_id = $2) OR (scope = 'center' AND scope_id = $3) OR scope = 'org')`,
		orgID, serviceID, centerID)
	if err != nil {
		return core.ReminderPolicy{}, false, fmt.Errorf("store: reminder policy: %w", err)
	}
	defer rows.Close()
	best, bestRank, found := core.ReminderPolicy{}, 0, false
	rank := map[string]int{"org": 1, "center": 2, "service": 3}
	for rows.Next() {
		p, scope, err := scanPolicy(rows)
		if err != nil {
			return best, false, fmt.Errorf("store: reminder policy: %w", err)
		}
		if rank[scope] > bestRank {
			best, bestRank, found = p, rank[scope], true
		}
	}
	return best, found, rows.Err()
}

// GetReminderPolicy reads one policy.
func (s *Store) GetReminderPolicy(ctx context.Context, orgID, scope, scopeID string) (core.ReminderPolicy, error) {
	p, _, err := scanPolicy(s.r.QueryRowContext(ctx, `SELECT scope, offsets, ask_confirm, window_start, window_end FROM reminder_policies
		WHERE org_id = $1 AND scope = $2 AND scope_id = $3`, orgID, scope, scopeID))
	if err != nil {
		return p, notFound(err, "reminder policy")
	}
	return p, nil
}

// PutReminderPolicy writes a policy.
func (s *Store) PutReminderPolicy(ctx context.Context, orgID, scope, scopeID string, p core.ReminderPolicy) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO reminder_policies (org_id, scope, scope_id, offsets, ask_confirm, window_start, window_end)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, scope, scope_id) DO UPDATE SET offsets = excluded.offsets,
		ask_confirm = excluded.ask_confirm, window_start = excluded.window_start, window_end = excluded.window_end`,
		orgID, scope, scopeID, joinInts(p.OffsetsMin), p.AskConfirm, p.WindowStart, p.WindowEnd)
	if err != nil {
		return fmt.Errorf("store: put reminder policy: %w", err)
	}
	return nil
}

// DeleteReminderPolicy removes a policy.
func (s *Store) DeleteReminderPolicy(ctx context.Context, orgID, scope, scopeID string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM reminder_policies WHERE org_id = $1 AND scope = $2 AND scope_id = $3`, orgID, scope, scopeID)
	return checkAffected(res, err, "reminder policy")
}

// ClientTimezone reads a client's timezone.
func (s *Store) ClientTimezone(ctx context.Context, orgID, clientID string) (string, error) {
	var tz string
	err := s.r.QueryRowContext(ctx, `SELECT timezone FROM clients WHERE org_id = $1 AND id = $2`, orgID, clientID).Scan(&tz)
	if err != nil {
		return "", notFound(err, "client")
	}
	return tz, nil
}

// SetReminders voids an appointment's pending reminders, skips the outbox
// messages already made of them, and writes rs.
func (b *bookingTx) SetReminders(ctx context.Context, appointmentID string, rs []core.Reminder) error {
	if set, fresh := b.fresh[appointmentID]; !fresh || set {
		// An appointment of this transaction whose reminders are not set
		// yet has nothing to void.
		if err := b.flush(ctx); err != nil {
			return err
		}
		if _, err := b.tx.ExecContext(ctx, `UPDATE messages SET status = 'skipped', last_error = 'the visit changed', updated_at = $1
			WHERE status = 'queued' AND id IN (SELECT message_id FROM reminders WHERE appointment_id = $2 AND status = 'queued')`,
			ms(time.Now()), appointmentID); err != nil {
			return fmt.Errorf("store: void reminder messages: %w", err)
		}
		if _, err := b.tx.ExecContext(ctx, `UPDATE reminders SET status = 'void' WHERE appointment_id = $1 AND status IN ('scheduled', 'queued', 'skipped')`,
			appointmentID); err != nil {
			return fmt.Errorf("store: void reminders: %w", err)
		}
	}
	if _, ok := b.fresh[appointmentID]; ok {
		b.fresh[appointmentID] = true
	}
	if len(rs) == 0 {
		return nil
	}
	// One multi-row INSERT for all of them.
	var sb strings.Builder
	sb.WriteString(`INSERT INTO reminders (id, org_id, appointment_id, offset_min, due_at, ask_confirm, status, message_id, created_at, reason) VALUES `)
	args := make([]any, 0, 9*len(rs))
	now := ms(time.Now())
	for i, r := range rs {
		status := r.Status
		if status == "" {
			status = "scheduled"
		}
		if i > 0 {
			sb.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&sb, "($%d, $%d, $%d, $%d, $%d, $%d, $%d, '', $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6, n+7, n+8, n+9)
		args = append(args, r.ID, b.org, appointmentID, r.OffsetMin, ms(r.Due), r.AskConfirm, status, now, r.Reason)
	}
	if err := b.insert(ctx, sb.String(), args...); err != nil {
		return fmt.Errorf("store: add reminder: %w", err)
	}
	return nil
}

const reminderCols = `id, org_id, appointment_id, offset_min, due_at, ask_confirm, status, message_id, reason`

func scanReminder(row interface{ Scan(...any) error }) (core.Reminder, error) {
	var r core.Reminder
	var due int64
	err := row.Scan(&r.ID, &r.OrgID, &r.AppointmentID, &r.OffsetMin, &due, &r.AskConfirm, &r.Status, &r.MessageID, &r.Reason)
	r.Due = fromMS(due)
	return r, err
}

// DueReminders lists scheduled reminders due before a moment.
func (s *Store) DueReminders(ctx context.Context, before time.Time, limit int) ([]core.Reminder, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+reminderCols+` FROM reminders WHERE status = 'scheduled' AND due_at <= $1 ORDER BY due_at LIMIT $2`,
		ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due reminders: %w", err)
	}
	return collect(rows, scanReminder)
}

// ListReminders lists an appointment's reminders.
func (s *Store) ListReminders(ctx context.Context, orgID, appointmentID string) ([]core.Reminder, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+reminderCols+` FROM reminders WHERE org_id = $1 AND appointment_id = $2 ORDER BY due_at`,
		orgID, appointmentID)
	if err != nil {
		return nil, fmt.Errorf("store: reminders: %w", err)
	}
	return collect(rows, scanReminder)
}

// QueueReminder writes a reminder's outbox message and marks it queued, in
// one transaction, only while the reminder is still scheduled (a visit moved
// meanwhile voided it). It reports whether the message was written.
func (s *Store) QueueReminder(ctx context.Context, r core.Reminder, m core.Message) (bool, error) {
	done := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE reminders SET status = 'queued', message_id = $1 WHERE id = $2 AND status = 'scheduled'`, m.ID, r.ID)
		if err != nil {
			return fmt.Errorf("store: queue reminder: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		done, err = s.insertMsg(ctx, tx, m)
		return err
	})
	return done, err
}

// Secret returns a service-wide secret, creating it on first use.
func (s *Store) Secret(ctx context.Context, key string) ([]byte, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	if _, err := s.w.ExecContext(ctx, `INSERT INTO settings (key, value) VALUES ($1, $2) ON CONFLICT (key) DO NOTHING`, key, hex.EncodeToString(b)); err != nil {
		return nil, fmt.Errorf("store: secret: %w", err)
	}
	var v string
	if err := s.w.QueryRowContext(ctx, `SELECT value FROM settings WHERE key = $1`, key).Scan(&v); err != nil {
		return nil, fmt.Errorf("store: secret: %w", err)
	}
	return hex.DecodeString(v)
}

// SaveInbound records an inbound message once per provider id; false when
// it was seen before.
func (s *Store) SaveInbound(ctx context.Context, in core.Inbound) (bool, error) {
	media := in.Media
	if media == nil {
		media = []core.InboundMedia{}
	}
	res, err := s.w.ExecContext(ctx, `INSERT INTO inbound_messages (id, org_id, client_id, channel, from_addr, to_addr, body, provider_id,
		intent, appointment_id, created_at, center_id, service_sid, media, truncated) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)
		ON CONFLICT (channel, provider_id) DO NOTHING`,
		in.ID, in.OrgID, in.ClientID, string(in.Channel), in.From, in.To, in.Body, in.ProviderID, string(in.Intent), in.AppointmentID, ms(in.CreatedAt),
		in.CenterID, in.ServiceSID, jsonText(media), in.Truncated)
	if err != nil {
		return false, fmt.Errorf("store: inbound: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

const inboundCols = `id, org_id, client_id, channel, from_addr, to_addr, body, provider_id, intent, appointment_id, handled_at, created_at,
	center_id, service_sid, media, truncated`

func scanInbound(row interface{ Scan(...any) error }) (core.Inbound, error) {
	var in core.Inbound
	var channel, intent string
	var handled sql.NullInt64
	var created int64
	var media string
	err := row.Scan(&in.ID, &in.OrgID, &in.ClientID, &channel, &in.From, &in.To, &in.Body, &in.ProviderID, &intent, &in.AppointmentID,
		&handled, &created, &in.CenterID, &in.ServiceSID, &media, &in.Truncated)
	in.Channel, in.Intent, in.HandledAt, in.CreatedAt = core.Channel(channel), core.ReplyIntent(intent), fromNullMS(handled), fromMS(created)
	if err == nil && media != "[]" {
		err = json.Unmarshal([]byte(media), &in.Media)
	}
	return in, err
}

// GetInbound reads an inbound message by id.
func (s *Store) GetInbound(ctx context.Context, id string) (core.Inbound, error) {
	in, err := scanInbound(s.w.QueryRowContext(ctx, `SELECT `+inboundCols+` FROM inbound_messages WHERE id = $1`, id))
	if err != nil {
		return in, notFound(err, "inbound message")
	}
	return in, nil
}

// FinishInbound records what an inbound message was matched to.
func (s *Store) FinishInbound(ctx context.Context, in core.Inbound) error {
	res, err := s.w.ExecContext(ctx, `UPDATE inbound_messages SET org_id = $1, client_id = $2, intent = $3, appointment_id = $4, handled_at = $5,
		center_id = $6 WHERE id = $7`, in.OrgID, in.ClientID, string(in.Intent), in.AppointmentID, nullMS(in.HandledAt), in.CenterID, in.ID)
	return checkAffected(res, err, "inbound message")
}

// ListInbound lists an organization's inbound messages (the chat side).
func (s *Store) ListInbound(ctx context.Context, orgID string, f core.InboundFilter, p core.Page) ([]core.Inbound, error) {
	limit, after := pageArgs(p)
	q := `SELECT ` + inboundCols + ` FROM inbound_messages WHERE org_id = $1 AND id > $2`
	args := []any{orgID, after}
	if f.CenterIDs != nil {
		cond, more := clientCenters("inbound_messages.client_id", len(args)+1, f.CenterIDs)
		q += cond
		args = append(args, more...)
	}
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q+fmt.Sprintf(" ORDER BY id LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: inbound: %w", err)
	}
	return collect(rows, scanInbound)
}

// AwaitingReply finds an organization's latest reminder that asked a phone
// number for a reply, among messages sent from one of the given senders
// ("" is the default sender when it was not known), for a visit still ahead.
func (s *Store) AwaitingReply(ctx context.Context, orgID, phone string, senders []string, now time.Time) (core.Message, error) {
	q, args := inList(`SELECT `+prefixed("m.", msgCols)+` FROM messages m JOIN appointments a ON a.id = m.appointment_id
		WHERE m.org_id = $1 AND m.to_addr = $2 AND m.kind = 'reminder.confirm' AND m.status IN ('sent', 'delivered') AND a.status IN ('pending', 'accepted')
		AND a.end_at > $3 AND m.from_addr IN `, 4, senders)
	m, err := scanMsg(s.r.QueryRowContext(ctx, q+` ORDER BY m.sent_at DESC LIMIT 1`, append([]any{orgID, phone, ms(now)}, args...)...))
	if errors.Is(err, sql.ErrNoRows) {
		return m, core.NotFound("reminder awaiting a reply")
	}
	if err != nil {
		return m, fmt.Errorf("store: awaiting reply: %w", err)
	}
	return m, nil
}

// LatestOutbound finds the latest message sent from one of the senders to a
// phone by one of the organizations: the conversation that decides where a
// reply to a shared sender belongs.
func (s *Store) LatestOutbound(ctx context.Context, phone string, senders, orgIDs []string) (core.Message, error) {
	if len(senders) == 0 || len(orgIDs) == 0 {
		return core.Message{}, core.NotFound("outbound message")
	}
	q, sargs := inList(`SELECT `+msgCols+` FROM messages WHERE to_addr = $1 AND channel IN ('sms', 'whatsapp') AND sent_at IS NOT NULL
		AND from_addr IN `, 2, senders)
	q, oargs := inList(q+` AND org_id IN `, 2+len(senders), orgIDs)
	args := append(append([]any{phone}, sargs...), oargs...)
	m, err := scanMsg(s.r.QueryRowContext(ctx, q+` ORDER BY sent_at DESC, id DESC LIMIT 1`, args...))
	if errors.Is(err, sql.ErrNoRows) {
		return m, core.NotFound("outbound message")
	}
	if err != nil {
		return m, fmt.Errorf("store: latest outbound: %w", err)
	}
	return m, nil
}

// SenderOwners lists the centres and organizations that configured one of
// the addresses as their sender.
func (s *Store) SenderOwners(ctx context.Context, addrs []string) ([]core.SenderOwner, error) {
	if len(addrs) == 0 {
		return nil, nil
	}
	q, args := inList(`SELECT org_id, id, sms_from FROM centers WHERE sms_from IN `, 1, addrs)
	q, args2 := inList(q+` UNION ALL SELECT id, '', sms_from FROM organizations WHERE sms_from IN `, 1+len(addrs), addrs)
	rows, err := s.r.QueryContext(ctx, q, append(args, args2...)...)
	if err != nil {
		return nil, fmt.Errorf("store: sender owners: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.SenderOwner, error) {
		var o core.SenderOwner
		err := r.Scan(&o.OrgID, &o.CenterID, &o.Address)
		return o, err
	})
}

// SetSenderOptOut records a STOP (at set) or a START (at nil) of a phone to
// a sender on a channel.
func (s *Store) SetSenderOptOut(ctx context.Context, o core.SenderOptOut, stop bool) error {
	var err error
	if stop {
		_, err = s.w.ExecContext(ctx, `INSERT INTO sender_optouts (channel, sender, phone, opted_out_at, inbound_id) VALUES ($1, $2, $3, $4, $5)
			ON CONFLICT (channel, sender, phone) DO NOTHING`, string(o.Channel), o.Sender, o.Phone, ms(o.At), o.InboundID)
	} else {
		_, err = s.w.ExecContext(ctx, `DELETE FROM sender_optouts WHERE channel = $1 AND sender = $2 AND phone = $3`,
			string(o.Channel), o.Sender, o.Phone)
	}
	if err != nil {
		return fmt.Errorf("store: sender opt-out: %w", err)
	}
	return nil
}

// scanSenderOptOut reads one row of channel, sender, phone, opted_out_at, inbound_id.
func scanSenderOptOut(r interface{ Scan(...any) error }) (core.SenderOptOut, error) {
	var o core.SenderOptOut
	var channel string
	var at int64
	err := r.Scan(&channel, &o.Sender, &o.Phone, &at, &o.InboundID)
	o.Channel, o.At = core.Channel(channel), fromMS(at)
	return o, err
}

// SenderOptOuts lists a phone's opt-outs of one sender, on every channel.
func (s *Store) SenderOptOuts(ctx context.Context, sender, phone string) ([]core.SenderOptOut, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT channel, sender, phone, opted_out_at, inbound_id FROM sender_optouts
		WHERE sender = $1 AND phone = $2 ORDER BY channel`, sender, phone)
	if err != nil {
		return nil, fmt.Errorf("store: sender opt-outs: %w", err)
	}
	return collect(rows, scanSenderOptOut)
}

// UnmatchedInbound lists handled inbound messages that belong to no
// organization: they wait for the operator.
func (s *Store) UnmatchedInbound(ctx context.Context, p core.Page) ([]core.Inbound, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+inboundCols+` FROM inbound_messages WHERE org_id = '' AND handled_at IS NOT NULL AND id > $1
		ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: unmatched inbound: %w", err)
	}
	return collect(rows, scanInbound)
}

// ClientsByPhone lists the clients with a phone number, across organizations.
func (s *Store) ClientsByPhone(ctx context.Context, phone string) ([]core.Client, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.phone = $1 ORDER BY c.id`, phone)
	if err != nil {
		return nil, fmt.Errorf("store: clients by phone: %w", err)
	}
	return collect(rows, scanClient)
}

func prefixed(p, cols string) string {
	parts := strings.Split(cols, ",")
	for i, c := range parts {
		parts[i] = p + strings.TrimSpace(c)
	}
	return strings.Join(parts, ", ")
}

// UnhandledInbound lists inbound messages not handled since before.
func (s *Store) UnhandledInbound(ctx context.Context, before time.Time, limit int) ([]core.Inbound, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+inboundCols+` FROM inbound_messages WHERE handled_at IS NULL AND created_at < $1 ORDER BY id LIMIT $2`,
		ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: unhandled inbound: %w", err)
	}
	return collect(rows, scanInbound)
}

// LinkToken returns the token of an appointment's link for an action,
// creating it with t.Token the first time, and moves its expiry to
// t.Expires (a moved visit keeps its link).
func (s *Store) LinkToken(ctx context.Context, t core.LinkToken) (string, error) {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO link_tokens (token, org_id, appointment_id, action, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (appointment_id, action) DO UPDATE SET expires_at = excluded.expires_at`,
		t.Token, t.OrgID, t.AppointmentID, string(t.Action), ms(t.Expires), ms(time.Now())); err != nil {
		return "", fmt.Errorf("store: link token: %w", err)
	}
	var tok string
	if err := s.w.QueryRowContext(ctx, `SELECT token FROM link_tokens WHERE appointment_id = $1 AND action = $2`,
		t.AppointmentID, string(t.Action)).Scan(&tok); err != nil {
		return "", fmt.Errorf("store: link token: %w", err)
	}
	return tok, nil
}

// ResolveLinkToken reads what a token stands for.
func (s *Store) ResolveLinkToken(ctx context.Context, token string) (core.LinkToken, error) {
	var t core.LinkToken
	var action string
	var exp int64
	err := s.r.QueryRowContext(ctx, `SELECT token, org_id, appointment_id, action, expires_at FROM link_tokens WHERE token = $1`, token).
		Scan(&t.Token, &t.OrgID, &t.AppointmentID, &action, &exp)
	if err != nil {
		return t, notFound(err, "link")
	}
	t.Action, t.Expires = core.LinkAction(action), fromMS(exp)
	return t, nil
}
