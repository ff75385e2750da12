package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

const msgCols = `id, org_id, center_id, recipient_kind, recipient_id, channel, to_addr, from_addr, kind, locale, subject, body, html,
	buttons, status, provider_id, attempts, last_error, error_code, segments, encoding, dedupe_key, fallback, event_id, appointment_id,
	due_at, created_at, updated_at, sent_at, delivered_at, campaign_id`

func scanMsg(row interface{ Scan(...any) error }) (core.Message, error) {
	var m core.Message
	var channel, status, buttons, fallback string
	var due, created, updated int64
	var sent, delivered sql.NullInt64
	err := row.Scan(&m.ID, &m.OrgID, &m.CenterID, &m.RecipientKind, &m.RecipientID, &channel, &m.To, &m.From, &m.Kind, &m.Locale,
		&m.Subject, &m.Body, &m.HTML, &buttons, &status, &m.ProviderID, &m.Attempts, &m.LastError, &m.ErrorCode, &m.Segments,
		&m.Encoding, &m.DedupeKey, &fallback, &m.EventID, &m.AppointmentID, &due, &created, &updated, &sent, &delivered, &m.CampaignID)
	if err != nil {
		return m, err
	}
	m.Channel, m.Status = core.Channel(channel), core.MessageStatus(status)
	m.DueAt, m.CreatedAt, m.UpdatedAt = fromMS(due), fromMS(created), fromMS(updated)
	m.SentAt, m.DeliveredAt = fromNullMS(sent), fromNullMS(delivered)
	// Most messages have neither (the send path scans each row twice).
	if buttons == "[]" {
		m.Buttons = []core.Button{}
	} else if err := json.Unmarshal([]byte(buttons), &m.Buttons); err != nil {
		return m, fmt.Errorf("buttons: %w", err)
	}
	if fallback == "[]" {
		m.Fallback = []core.Channel{}
	} else if err := json.Unmarshal([]byte(fallback), &m.Fallback); err != nil {
		return m, fmt.Errorf("fallback: %w", err)
	}
	return m, nil
}

func jsonText(v any) string {
	b, err := json.Marshal(v)
	if err != nil {
		panic(err) // buttons and channel lists always marshal
	}
	return string(b)
}

const insertMsgSQL = `INSERT INTO messages (` + msgCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13,
	$14, $15, $16, $17, $18, $19, $20, $21, $22, $23, $24, $25, $26, $27, $28, $29, $30, $31) ON CONFLICT (org_id, dedupe_key) DO NOTHING`

// insertMsg writes m unless (org, dedupe key) exists; it reports whether it wrote.
func (s *Store) insertMsg(ctx context.Context, q querier, m core.Message) (bool, error) {
	if m.Buttons == nil {
		m.Buttons = []core.Button{}
	}
	if m.Fallback == nil {
		m.Fallback = []core.Channel{}
	}
	res, err := s.stmtExec(ctx, q, insertMsgSQL,
		m.ID, m.OrgID, m.CenterID, m.RecipientKind, m.RecipientID, string(m.Channel), m.To, m.From, m.Kind, m.Locale, m.Subject, m.Body,
		m.HTML, jsonText(m.Buttons), string(m.Status), m.ProviderID, m.Attempts, m.LastError, m.ErrorCode, m.Segments, m.Encoding,
		m.DedupeKey, jsonText(m.Fallback), m.EventID, m.AppointmentID, ms(m.DueAt), ms(m.CreatedAt), ms(m.UpdatedAt),
		nullMS(m.SentAt), nullMS(m.DeliveredAt), m.CampaignID)
	if err != nil {
		return false, fmt.Errorf("store: insert message: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// PendingEvents lists events not yet dispatched nor failed, oldest first.
func (s *Store) PendingEvents(ctx context.Context, limit int) ([]core.Event, error) {
	return s.PendingEventsAfter(ctx, "", limit)
}

// PendingEventsAfter lists pending events with ids after the given one
// (the relay's cursor: an event it skipped is not read again in the same
// pass). An event whose data cannot be decoded is recorded as failed and
// left out.
func (s *Store) PendingEventsAfter(ctx context.Context, after string, limit int) ([]core.Event, error) {
	rows, err := s.stmtQuery(ctx, s.r, `SELECT id, org_id, kind, occurred_at, data FROM events WHERE dispatched_at IS NULL AND failed_at IS NULL
		AND id > $1 ORDER BY id LIMIT $2`, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: pending events: %w", err)
	}
	defer rows.Close()
	out := make([]core.Event, 0, limit)
	var bad []core.Event
	for rows.Next() {
		e, err := scanEvent(rows)
		var se *json.SyntaxError
		var te *json.UnmarshalTypeError
		switch {
		case errors.As(err, &se), errors.As(err, &te):
			bad = append(bad, e)
		case err != nil:
			return nil, fmt.Errorf("store: pending events: %w", err)
		default:
			out = append(out, e)
		}
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: pending events: %w", err)
	}
	for _, e := range bad {
		if err := s.FailEvent(ctx, e.ID, "event data is not a JSON object of strings", true, time.Now()); err != nil {
			return nil, err
		}
	}
	return out, nil
}

func scanEvent(r interface{ Scan(...any) error }) (core.Event, error) {
	var e core.Event
	var kind, data string
	var at int64
	if err := r.Scan(&e.ID, &e.OrgID, &kind, &at, &data); err != nil {
		return e, err
	}
	e.Kind, e.OccurredAt = core.EventKind(kind), fromMS(at)
	var err error
	e.Data, err = core.DecodeEventData(e.Kind, []byte(data))
	return e, err
}

// CommitEvent writes an event's messages and marks it dispatched, atomically.
func (s *Store) CommitEvent(ctx context.Context, e core.Event, msgs []core.Message, at time.Time) ([]core.Message, error) {
	return s.CommitEvents(ctx, []core.PlannedEvent{{Event: e, Messages: msgs}}, at)
}

const dispatchEventSQL = `UPDATE events SET dispatched_at = $1 WHERE id = $2 AND dispatched_at IS NULL`

// CommitEvents commits a batch of events with their messages in one
// transaction (one commit for the relay's whole batch). An event another
// relay committed first is left alone; messages whose dedupe key exists are
// not written. It returns the messages written.
func (s *Store) CommitEvents(ctx context.Context, batch []core.PlannedEvent, at time.Time) ([]core.Message, error) {
	var created []core.Message
	err := s.tx(ctx, func(tx *sql.Tx) error {
		created = created[:0]
		for _, p := range batch {
			res, err := s.stmtExec(ctx, tx, dispatchEventSQL, ms(at), p.Event.ID)
			if err != nil {
				return fmt.Errorf("store: dispatch event: %w", err)
			}
			if n, _ := res.RowsAffected(); n == 0 {
				continue // another relay got there first
			}
			for _, m := range p.Messages {
				ok, err := s.insertMsg(ctx, tx, m)
				if err != nil {
					return err
				}
				if ok {
					created = append(created, m)
				}
			}
		}
		return nil
	})
	return created, err
}

// InsertMessage writes one message unless its dedupe key exists.
func (s *Store) InsertMessage(ctx context.Context, m core.Message) (core.Message, bool, error) {
	ok, err := s.insertMsg(ctx, s.w, m)
	if err != nil || ok {
		return m, ok, err
	}
	existing, err := scanMsg(s.w.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages WHERE org_id = $1 AND dedupe_key = $2`, m.OrgID, m.DedupeKey))
	if err != nil {
		return m, false, notFound(err, "message")
	}
	return existing, false, nil
}

// GetMessage reads one message of an organization.
func (s *Store) GetMessage(ctx context.Context, orgID, id string) (core.Message, error) {
	m, err := scanMsg(s.r.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return m, notFound(err, "message")
	}
	return m, nil
}

// GetMessageByID reads a message by id.
func (s *Store) GetMessageByID(ctx context.Context, id string) (core.Message, error) {
	m, err := scanMsg(s.w.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages WHERE id = $1`, id))
	if err != nil {
		return m, notFound(err, "message")
	}
	return m, nil
}

// claimSQL moves a due queued message to sending, counts the attempt and
// starts its lease (updated_at), returning the row.
const claimSQL = `UPDATE messages SET status = 'sending', attempts = attempts + 1, updated_at = $1
	WHERE id = $2 AND status = 'queued' AND due_at <= $1 RETURNING ` + msgCols

// ClaimMessage moves a due queued message to sending and counts the
// attempt, returning the row in the same statement; a conditional update,
// so two workers holding the same task cannot both send it. Concurrent
// claims share one statement (PostgreSQL) or transaction (SQLite); see
// sendbatch.go.
func (s *Store) ClaimMessage(ctx context.Context, id string, now time.Time) (core.Message, bool, error) {
	c, err := s.claims.do(ctx, claimReq{id: id, now: ms(now)})
	if err != nil || c.ok {
		return c.m, c.ok, err
	}
	m, err := s.GetMessageByID(ctx, id)
	return m, false, err
}

// FinishMessage writes the outcome of the attempt m.Attempts (see
// FinishAttempt: a stale attempt writes nothing).
func (s *Store) FinishMessage(ctx context.Context, m core.Message) error {
	_, err := s.FinishAttempt(ctx, m, m.Attempts)
	return err
}

// ProviderStatus applies a provider's report when it advances the message
// (ApplyStatus with the provider id alone).
func (s *Store) ProviderStatus(ctx context.Context, channel core.Channel, providerID string, st core.MessageStatus, code string, at time.Time) (core.Message, bool, error) {
	m, out, err := s.ApplyStatus(ctx, core.StatusReport{Channel: channel, ProviderID: providerID, Status: st, Code: code, At: at})
	if err == nil && out == core.StatusUnknown {
		err = core.NotFound("message")
	}
	return m, out == core.StatusApplied, err
}

// ListMessages lists an organization's messages, newest id last.
func (s *Store) ListMessages(ctx context.Context, orgID string, f core.MessageFilter, p core.Page) ([]core.Message, error) {
	limit, after := pageArgs(p)
	q := `SELECT ` + msgCols + ` FROM messages WHERE org_id = $1 AND id > $2
		AND ($3 = '' OR status = $3) AND ($4 = '' OR channel = $4) AND ($5 = '' OR recipient_id = $5) AND ($6 = '' OR appointment_id = $6)`
	args := []any{orgID, after, string(f.Status), string(f.Channel), f.RecipientID, f.AppointmentID}
	if f.CenterIDs != nil {
		in, more := inList(" AND center_id IN ", len(args)+1, f.CenterIDs)
		q += in
		args = append(args, more...)
	}
	args = append(args, limit)
	rows, err := s.r.QueryContext(ctx, q+fmt.Sprintf(" ORDER BY id LIMIT $%d", len(args)), args...)
	if err != nil {
		return nil, fmt.Errorf("store: list messages: %w", err)
	}
	return collect(rows, scanMsg)
}

// StrandedMessages lists queued messages due before dueBefore and sending
// ones untouched since sendingBefore.
func (s *Store) StrandedMessages(ctx context.Context, dueBefore, sendingBefore time.Time, limit int) ([]core.Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+msgCols+` FROM messages WHERE (status = 'queued' AND due_at <= $1)
		OR (status = 'sending' AND updated_at < $2) ORDER BY due_at LIMIT $3`, ms(dueBefore), ms(sendingBefore), limit)
	if err != nil {
		return nil, fmt.Errorf("store: stranded messages: %w", err)
	}
	return collect(rows, scanMsg)
}

// RequeueMessage puts a failed message back in the queue (staff, orgID
// set), or a sending one whose worker died (the sweeper, orgID "").
func (s *Store) RequeueMessage(ctx context.Context, orgID, id string, now time.Time) (core.Message, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE messages SET status = 'queued', due_at = $1, updated_at = $1, last_error = '', error_code = '',
		pending_status = '', pending_code = '', pending_at = NULL, fallback_due_at = NULL WHERE id = $2 AND ($3 = '' OR org_id = $3) AND (status = 'failed' OR ($3 = '' AND status = 'sending'))`, ms(now), id, orgID)
	if err != nil {
		return core.Message{}, fmt.Errorf("store: requeue: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		m, err := s.GetMessageByID(ctx, id)
		if err != nil || (orgID != "" && m.OrgID != orgID) {
			return core.Message{}, core.NotFound("message")
		}
		return m, core.Conflict("only failed messages can be retried; this one is " + string(m.Status))
	}
	return s.GetMessageByID(ctx, id)
}

// RecordWebhook records a provider delivery handled at once; false when
// it was seen before (ClaimWebhook and FinishWebhook split the two steps).
func (s *Store) RecordWebhook(ctx context.Context, provider, eventID string, at time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `INSERT INTO webhook_events (provider, event_id, received_at, handled_at) VALUES ($1, $2, $3, $3)
		ON CONFLICT (provider, event_id) DO NOTHING`, provider, eventID, ms(at))
	if err != nil {
		return false, fmt.Errorf("store: webhook event: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ClientChannels reads a client's channel settings in preference order.
func (s *Store) ClientChannels(ctx context.Context, orgID, clientID string) ([]core.ChannelPref, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT channel, consent, opted_out_at, position FROM client_channels
		WHERE org_id = $1 AND client_id = $2 ORDER BY position, channel`, orgID, clientID)
	if err != nil {
		return nil, fmt.Errorf("store: client channels: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.ChannelPref, error) {
		var p core.ChannelPref
		var ch string
		var out sql.NullInt64
		err := r.Scan(&ch, &p.Consent, &out, &p.Position)
		p.Channel, p.OptedOut = core.Channel(ch), fromNullMS(out)
		return p, err
	})
}

// ClientWithChannels reads a client and its channel settings (preference
// order) in one query.
func (s *Store) ClientWithChannels(ctx context.Context, orgID, id string) (core.Client, []core.ChannelPref, error) {
	rows, err := s.stmtQuery(ctx, s.r, `SELECT `+clientCols+`, cc.channel, cc.consent, cc.opted_out_at, cc.position FROM clients c
		LEFT JOIN client_channels cc ON cc.client_id = c.id WHERE c.org_id = $1 AND c.id = $2 ORDER BY cc.position, cc.channel`, orgID, id)
	if err != nil {
		return core.Client{}, nil, fmt.Errorf("store: client: %w", err)
	}
	defer rows.Close()
	var c core.Client
	prefs := []core.ChannelPref{}
	found := false
	for rows.Next() {
		var ch sql.NullString
		var consent sql.NullBool
		var out, pos sql.NullInt64
		if c, err = scanClientAnd(rows, &ch, &consent, &out, &pos); err != nil {
			return c, nil, fmt.Errorf("store: client: %w", err)
		}
		found = true
		if ch.Valid {
			prefs = append(prefs, core.ChannelPref{Channel: core.Channel(ch.String), Consent: consent.Bool, OptedOut: fromNullMS(out),
				Position: int(pos.Int64)})
		}
	}
	if err := rows.Err(); err != nil {
		return c, nil, fmt.Errorf("store: client: %w", err)
	}
	if !found {
		return c, nil, core.NotFound("client")
	}
	return c, prefs, nil
}

// SetClientChannels replaces a client's channel settings.
func (s *Store) SetClientChannels(ctx context.Context, orgID, clientID string, prefs []core.ChannelPref) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		if err := tx.QueryRowContext(ctx, `SELECT COUNT(*) FROM clients WHERE org_id = $1 AND id = $2`, orgID, clientID).Scan(&n); err != nil {
			return fmt.Errorf("store: client channels: %w", err)
		}
		if n == 0 {
			return core.NotFound("client")
		}
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_channels WHERE client_id = $1`, clientID); err != nil {
			return fmt.Errorf("store: client channels: %w", err)
		}
		for _, p := range prefs {
			if _, err := tx.ExecContext(ctx, `INSERT INTO client_channels (client_id, channel, org_id, consent, opted_out_at, position)
				VALUES ($1, $2, $3, $4, $5, $6)`, clientID, string(p.Channel), orgID, p.Consent, nullMS(p.OptedOut), p.Position); err != nil {
				return fmt.Errorf("store: client channels: %w", err)
			}
		}
		return nil
	})
}

// GetEvent reads one domain event.
func (s *Store) GetEvent(ctx context.Context, orgID, id string) (core.Event, error) {
	e, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT id, org_id, kind, occurred_at, data FROM events WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return e, notFound(err, "event")
	}
	return e, nil
}

// GetTemplateOverride reads an organization's override of one kind and locale.
func (s *Store) GetTemplateOverride(ctx context.Context, orgID, kind, locale string) (templates.Override, bool, error) {
	var o templates.Override
	err := s.r.QueryRowContext(ctx, `SELECT text, subject, html FROM template_overrides WHERE org_id = $1 AND kind = $2 AND locale = $3`,
		orgID, kind, locale).Scan(&o.Text, &o.Subject, &o.HTML)
	if errors.Is(err, sql.ErrNoRows) {
		return o, false, nil
	}
	if err != nil {
		return o, false, fmt.Errorf("store: template override: %w", err)
	}
	return o, true, nil
}

// PutTemplateOverride writes (or replaces) an override.
func (s *Store) PutTemplateOverride(ctx context.Context, orgID, kind, locale string, o templates.Override, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO template_overrides (org_id, kind, locale, text, subject, html, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (org_id, kind, locale) DO UPDATE
		SET text = excluded.text, subject = excluded.subject, html = excluded.html, updated_at = excluded.updated_at`,
		orgID, kind, locale, o.Text, o.Subject, o.HTML, ms(at))
	if err != nil {
		return fmt.Errorf("store: put template override: %w", err)
	}
	return nil
}

// DeleteTemplateOverride removes an override, restoring the default.
func (s *Store) DeleteTemplateOverride(ctx context.Context, orgID, kind, locale string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM template_overrides WHERE org_id = $1 AND kind = $2 AND locale = $3`, orgID, kind, locale)
	return checkAffected(res, err, "template override")
}
