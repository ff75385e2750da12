package store

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
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
	if _, err := b.tx.ExecContext(ctx, `UPDATE messages SET status = 'skipped', last_error = 'the visit changed', updated_at = $1
		WHERE status = 'queued' AND id IN (SELECT message_id FROM reminders WHERE appointment_id = $2 AND status = 'queued')`,
		ms(time.Now()), appointmentID); err != nil {
		return fmt.Errorf("store: void reminder messages: %w", err)
	}
	if _, err := b.tx.ExecContext(ctx, `UPDATE reminders SET status = 'void' WHERE appointment_id = $1 AND status IN ('scheduled', 'queued', 'skipped')`,
		appointmentID); err != nil {
		return fmt.Errorf("store: void reminders: %w", err)
	}
	for _, r := range rs {
		status := r.Status
		if status == "" {
			status = "scheduled"
		}
		if _, err := b.tx.ExecContext(ctx, `INSERT INTO reminders (id, org_id, appointment_id, offset_min, due_at, ask_confirm, status, message_id, created_at, reason)
			VALUES ($1, $2, $3, $4, $5, $6, $7, '', $8, $9)`, r.ID, b.org, appointmentID, r.OffsetMin, ms(r.Due), r.AskConfirm, status, ms(time.Now()), r.Reason); err != nil {
			return fmt.Errorf("store: add reminder: %w", err)
		}
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
	res, err := s.w.ExecContext(ctx, `INSERT INTO inbound_messages (id, org_id, client_id, channel, from_addr, to_addr, body, provider_id,
		intent, appointment_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) ON CONFLICT (channel, provider_id) DO NOTHING`,
		in.ID, in.OrgID, in.ClientID, string(in.Channel), in.From, in.To, in.Body, in.ProviderID, string(in.Intent), in.AppointmentID, ms(in.CreatedAt))
	if err != nil {
		return false, fmt.Errorf("store: inbound: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

const inboundCols = `id, org_id, client_id, channel, from_addr, to_addr, body, provider_id, intent, appointment_id, handled_at, created_at`

func scanInbound(row interface{ Scan(...any) error }) (core.Inbound, error) {
	var in core.Inbound
	var channel, intent string
	var handled sql.NullInt64
	var created int64
	err := row.Scan(&in.ID, &in.OrgID, &in.ClientID, &channel, &in.From, &in.To, &in.Body, &in.ProviderID, &intent, &in.AppointmentID,
		&handled, &created)
	in.Channel, in.Intent, in.HandledAt, in.CreatedAt = core.Channel(channel), core.ReplyIntent(intent), fromNullMS(handled), fromMS(created)
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
	res, err := s.w.ExecContext(ctx, `UPDATE inbound_messages SET org_id = $1, client_id = $2, intent = $3, appointment_id = $4, handled_at = $5
		WHERE id = $6`, in.OrgID, in.ClientID, string(in.Intent), in.AppointmentID, nullMS(in.HandledAt), in.ID)
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

// AwaitingReply finds the latest reminder that asked a phone number for a
// reply, among messages sent from one of the given senders ("" matches the
// default sender), for a visit still ahead.
func (s *Store) AwaitingReply(ctx context.Context, phone string, now time.Time) (core.Message, error) {
	m, err := scanMsg(s.r.QueryRowContext(ctx, `SELECT `+prefixed("m.", msgCols)+` FROM messages m JOIN appointments a ON a.id = m.appointment_id
		WHERE m.to_addr = $1 AND m.kind = 'reminder.confirm' AND m.status IN ('sent', 'delivered') AND a.status IN ('pending', 'accepted')
		AND a.end_at > $2 ORDER BY m.sent_at DESC LIMIT 1`, phone, ms(now)))
	if errors.Is(err, sql.ErrNoRows) {
		return m, core.NotFound("reminder awaiting a reply")
	}
	if err != nil {
		return m, fmt.Errorf("store: awaiting reply: %w", err)
	}
	return m, nil
}

// ClientsByPhone lists the clients with a phone number, across organizations.
func (s *Store) ClientsByPhone(ctx context.Context, phone string) ([]core.Client, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.phone = $1 ORDER BY c.id`, phone)
	if err != nil {
		return nil, fmt.Errorf("store: clients by phone: %w", err)
	}
	return collect(rows, scanClient)
}

// SetOptOut records that a client stopped (or restarted) a channel. The
// opt-out alone blocks the channel (RouteClient); the consent the client
// gave stays recorded, so START restores exactly what STOP suspended.
func (s *Store) SetOptOut(ctx context.Context, orgID, clientID string, channel core.Channel, at *time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO client_channels (client_id, channel, org_id, consent, opted_out_at, position)
		VALUES ($1, $2, $3, $4, $5, 100) ON CONFLICT (client_id, channel) DO UPDATE SET opted_out_at = excluded.opted_out_at`,
		clientID, string(channel), orgID, false, nullMS(at))
	if err != nil {
		return fmt.Errorf("store: opt-out: %w", err)
	}
	return nil
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
