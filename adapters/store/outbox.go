package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

// finishSQL writes a send attempt's outcome, fenced on the attempt the
// worker claimed: a worker whose lease ran out (the sweeper queued the
// message again and a newer attempt claimed it) changes nothing. A status
// report parked on the row while it was sending is applied when the
// outcome is "sent": it is later news from the provider.
const finishSQL = `UPDATE messages SET
	status = CASE WHEN $1 = 'sent' AND pending_status <> '' THEN pending_status ELSE $1 END,
	provider_id = $2, last_error = $3,
	error_code = CASE WHEN $1 = 'sent' AND pending_code <> '' THEN pending_code ELSE $4 END,
	updated_at = $5, sent_at = $6, due_at = $7, attempts = $8,
	delivered_at = CASE WHEN $1 = 'sent' AND pending_status = 'delivered' THEN pending_at WHEN $1 = 'delivered' THEN $5 ELSE NULL END,
	fallback_due_at = CASE WHEN $1 = 'sent' AND pending_status <> '' THEN fallback_due_at ELSE $9 END,
	pending_status = '', pending_code = '', pending_at = NULL
	WHERE id = $10 AND status = 'sending' AND attempts = $11
	RETURNING ` + msgCols

// FinishAttempt records the outcome of the attempt numbered claimed (the
// attempts count ClaimMessage returned) and returns the row as written. A
// failed message with channels left is marked as owing its fallback. When
// the row is no longer sending that attempt it writes nothing and returns
// core.ErrStaleAttempt.
func (s *Store) FinishAttempt(ctx context.Context, m core.Message, claimed int) (core.Message, error) {
	req := finishReq{m: m, claimed: claimed}
	if m.Status == core.MsgFailed && len(m.Fallback) > 0 && m.EventID != "" {
		due := ms(m.UpdatedAt)
		req.due = &due
	}
	// Concurrent outcomes share one statement (PostgreSQL) or transaction
	// (SQLite); see sendbatch.go.
	c, err := s.finishes.do(ctx, req)
	if err == nil && !c.ok {
		err = core.ErrStaleAttempt
	}
	if err != nil {
		return m, err
	}
	return c.m, nil
}

// below lists the statuses that st advances from, for SQL IN lists.
func below(st core.MessageStatus) []string {
	var out []string
	for _, s := range []core.MessageStatus{core.MsgQueued, core.MsgSending, core.MsgSent, core.MsgDelivered, core.MsgUndelivered,
		core.MsgFailed, core.MsgSkipped} {
		if s.Advances(st) {
			out = append(out, string(s))
		}
	}
	return out
}

// ApplyStatus applies a provider's delivery report. It moves a message
// forward only (delivered never returns to sent); a report for a message
// still being sent by the attempt it names waits on the row (parked) and is
// applied when the send's outcome is written; a permanent failure marks
// the message as owing its fallback. Each path is one statement, without
// a transaction: the fenced conditional updates decide.
func (s *Store) ApplyStatus(ctx context.Context, r core.StatusReport) (core.Message, core.StatusOutcome, error) {
	return s.applyStatus(ctx, s.w, r)
}

// receiptHandledSQL records a delivery as handled in the transaction of
// its effects; no row comes back when it was handled before.
const receiptHandledSQL = `INSERT INTO webhook_events (provider, event_id, received_at, handled_at, attempts) VALUES ($1, $2, $3, $3, 1)
	ON CONFLICT (provider, event_id) DO UPDATE SET attempts = webhook_events.attempts + 1, handled_at = excluded.handled_at
	WHERE webhook_events.handled_at IS NULL RETURNING attempts`

// ApplyStatusOnce records a status callback delivery (provider, eventID)
// and applies its report in one transaction: first is false for a repeat,
// which changes nothing. Either both are written or neither, so a failure
// leaves the provider's retry to apply it.
func (s *Store) ApplyStatusOnce(ctx context.Context, provider, eventID string, r core.StatusReport) (bool, core.Message, core.StatusOutcome, error) {
	// A repeat (Twilio's retries) is answered by a plain read of its
	// receipt: the statement or transaction below costs several times that
	// read even when it writes nothing.
	if done, err := s.handled(ctx, provider, eventID); err != nil || done {
		return false, core.Message{}, 0, err
	}
	return s.applyStatusOnce(ctx, provider, eventID, r)
}

// applyStatusOnce is ApplyStatusOnce after the read of the receipt: the
// receipt is marked handled (inserted if absent) in the commit of the
// report's effect, and first is false when another delivery did it first.
func (s *Store) applyStatusOnce(ctx context.Context, provider, eventID string, r core.StatusReport) (bool, core.Message, core.StatusOutcome, error) {
	var first bool
	var m core.Message
	var out core.StatusOutcome
	if s.dialect == Postgres {
		return s.applyStatusOncePG(ctx, provider, eventID, r) // one statement (statuscb.go)
	}
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var n int
		err := s.stmtRow(ctx, tx, receiptHandledSQL, provider, eventID, ms(r.At)).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: webhook event: %w", err)
		}
		first = true
		m, out, err = s.applyStatus(ctx, tx, r)
		return err
	})
	return first, m, out, err
}

// sqlList renders statuses as a SQL list of literals (they are our own
// constants), so each status gives one fixed statement text to prepare.
func sqlList(vals []string) string {
	return "('" + strings.Join(vals, "', '") + "')"
}

// statusApplySQL moves a message (by provider id and message id, or by
// provider id and Twilio's channels) to st if st advances it.
func statusApplySQL(st core.MessageStatus, byID bool) string {
	q := `UPDATE messages SET status = $1, updated_at = $2,
		delivered_at = CASE WHEN $1 = 'delivered' THEN $2 ELSE delivered_at END,
		error_code = CASE WHEN $3 <> '' THEN $3 ELSE error_code END,
		fallback_due_at = CASE WHEN $4 AND fallback <> '[]' AND event_id <> '' THEN $2 ELSE fallback_due_at END
		WHERE provider_id = $5 AND `
	if byID {
		q += `id = $6`
	} else {
		q += `channel IN ('sms', 'whatsapp') AND $6 = ''`
	}
	return q + ` AND status IN ` + sqlList(below(st)) + ` RETURNING ` + msgCols
}

// statusParkSQL keeps a report on a row its attempt is still sending.
func statusParkSQL(st core.MessageStatus) string {
	return `UPDATE messages SET pending_status = $1, pending_code = $2, pending_at = $3,
		fallback_due_at = CASE WHEN $4 AND fallback <> '[]' AND event_id <> '' THEN $3 ELSE fallback_due_at END
		WHERE id = $5 AND attempts = $6 AND status = 'sending' AND pending_status IN ` + sqlList(append([]string{""}, below(st)...)) +
		` RETURNING ` + msgCols
}

const statusLookupSQL = `SELECT ` + msgCols + ` FROM messages WHERE provider_id = $1 AND channel IN ('sms', 'whatsapp')`

func (s *Store) applyStatus(ctx context.Context, q querier, r core.StatusReport) (core.Message, core.StatusOutcome, error) {
	if len(below(r.Status)) == 0 || (r.Channel != core.ChannelSMS && r.Channel != core.ChannelWhatsApp) {
		return core.Message{}, core.StatusUnchanged, nil
	}
	apply := func() (core.Message, bool, error) {
		m, err := scanMsg(s.stmtRow(ctx, q, statusApplySQL(r.Status, r.MessageID != ""), string(r.Status), ms(r.At), r.Code, r.Permanent,
			r.ProviderID, r.MessageID))
		if errors.Is(err, sql.ErrNoRows) {
			return m, false, nil
		}
		if err != nil {
			return m, false, fmt.Errorf("store: provider status: %w", err)
		}
		return m, true, nil
	}
	m, ok, err := apply()
	if err != nil || ok {
		return m, core.StatusApplied, err
	}
	if r.MessageID != "" && r.Attempt > 0 {
		m, err = scanMsg(s.stmtRow(ctx, q, statusParkSQL(r.Status), string(r.Status), r.Code, ms(r.At), r.Permanent, r.MessageID, r.Attempt))
		if err == nil {
			return m, core.StatusParked, nil
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return m, core.StatusUnknown, fmt.Errorf("store: park status: %w", err)
		}
		// The outcome was written between the two statements: apply now.
		if m, ok, err = apply(); err != nil || ok {
			return m, core.StatusApplied, err
		}
	}
	m, err = scanMsg(s.stmtRow(ctx, q, statusLookupSQL, r.ProviderID))
	if errors.Is(err, sql.ErrNoRows) {
		return m, core.StatusUnknown, nil
	}
	if err != nil {
		return m, core.StatusUnknown, fmt.Errorf("store: provider status: %w", err)
	}
	return m, core.StatusUnchanged, nil
}

// DueFallbacks lists failed messages whose fallback has been owed since
// before the cutoff (the sweeper writes them).
func (s *Store) DueFallbacks(ctx context.Context, before time.Time, limit int) ([]core.Message, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+msgCols+` FROM messages WHERE fallback_due_at IS NOT NULL AND fallback_due_at < $1
		AND status IN ('failed', 'undelivered') ORDER BY fallback_due_at LIMIT $2`, ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: due fallbacks: %w", err)
	}
	return collect(rows, scanMsg)
}

// GetFallbackDue reads a message if it owes its fallback.
func (s *Store) GetFallbackDue(ctx context.Context, id string) (core.Message, bool, error) {
	m, err := scanMsg(s.w.QueryRowContext(ctx, `SELECT `+msgCols+` FROM messages WHERE id = $1 AND fallback_due_at IS NOT NULL
		AND status IN ('failed', 'undelivered')`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return m, false, nil
	}
	if err != nil {
		return m, false, fmt.Errorf("store: fallback due: %w", err)
	}
	return m, true, nil
}

// ClearFallback records that a message's fallback is written.
func (s *Store) ClearFallback(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE messages SET fallback_due_at = NULL WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: clear fallback: %w", err)
	}
	return nil
}

// ClaimWebhook records a provider delivery (provider, event id) and tells
// whether to handle it: true the first time, and again while an earlier
// delivery of it was received but not handled (a crash, an error: the
// provider's retry handles it); false once it is handled. Two deliveries at
// the same instant may both be handled: their effects are idempotent by
// their own keys (ledger references, status ranks, inbound ids).
func (s *Store) ClaimWebhook(ctx context.Context, provider, eventID string, at time.Time) (bool, error) {
	if done, err := s.handled(ctx, provider, eventID); err != nil || done {
		return false, err
	}
	var n int
	err := s.stmtRow(ctx, s.w, `INSERT INTO webhook_events (provider, event_id, received_at, attempts) VALUES ($1, $2, $3, 1)
		ON CONFLICT (provider, event_id) DO UPDATE SET attempts = webhook_events.attempts + 1 WHERE webhook_events.handled_at IS NULL
		RETURNING attempts`, provider, eventID, ms(at)).Scan(&n)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: webhook event: %w", err)
	}
	return true, nil
}

// handled reports whether a delivery is recorded as handled: a plain read,
// so a repeat (Twilio's and Stripe's retries) costs no write and no commit
// (an upsert that finds the row still locks it, which PostgreSQL logs and
// flushes at commit).
func (s *Store) handled(ctx context.Context, provider, eventID string) (bool, error) {
	var done bool
	err := s.stmtRow(ctx, s.r, `SELECT handled_at IS NOT NULL FROM webhook_events WHERE provider = $1 AND event_id = $2`,
		provider, eventID).Scan(&done)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: webhook event: %w", err)
	}
	return done, nil
}

// FinishWebhook marks a delivery handled: later repeats are ignored.
func (s *Store) FinishWebhook(ctx context.Context, provider, eventID string, at time.Time) error {
	if _, err := s.stmtExec(ctx, s.w, `UPDATE webhook_events SET handled_at = $1 WHERE provider = $2 AND event_id = $3`,
		ms(at), provider, eventID); err != nil {
		return fmt.Errorf("store: webhook event: %w", err)
	}
	return nil
}

// PurgeWebhooks forgets deliveries received before the cutoff. A status
// receipt not applied yet is kept whatever its age: it is the only copy of
// its report until the sweeper applies it.
func (s *Store) PurgeWebhooks(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM webhook_events WHERE received_at < $1 AND (report IS NULL OR handled_at IS NOT NULL)`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge webhook events: %w", err)
	}
	return res.RowsAffected()
}

// FailEvent records that an event could not be built into messages. A
// permanent failure (or the third one) marks it failed: the relay skips it
// until staff retry it; otherwise it stays pending for the next pass.
func (s *Store) FailEvent(ctx context.Context, id, why string, permanent bool, at time.Time) error {
	_, err := s.w.ExecContext(ctx, `UPDATE events SET attempts = attempts + 1, last_error = $1,
		failed_at = CASE WHEN $2 OR attempts + 1 >= 3 THEN CAST($3 AS BIGINT) ELSE NULL END WHERE id = $4 AND dispatched_at IS NULL`,
		why, permanent, ms(at), id)
	if err != nil {
		return fmt.Errorf("store: fail event: %w", err)
	}
	return nil
}

const failedCols = `id, org_id, kind, occurred_at, data, last_error, attempts, failed_at`

func scanFailed(r interface{ Scan(...any) error }) (core.FailedEvent, error) {
	var f core.FailedEvent
	var kind, data string
	var at, failed int64
	if err := r.Scan(&f.ID, &f.OrgID, &kind, &at, &data, &f.Error, &f.Attempts, &failed); err != nil {
		return f, err
	}
	f.Kind, f.OccurredAt, f.FailedAt = core.EventKind(kind), fromMS(at), fromMS(failed)
	d, err := core.DecodeEventData(f.Kind, []byte(data))
	if err != nil {
		// A payload that does not decode may be why the event failed:
		// list the event anyway, with what could be read.
		d, _ = core.DecodeEventData(f.Kind, nil)
	}
	f.Data = d
	return f, nil
}

// FailedEvents lists an organization's failed events, oldest first.
func (s *Store) FailedEvents(ctx context.Context, orgID string, p core.Page) ([]core.FailedEvent, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+failedCols+` FROM events WHERE org_id = $1 AND failed_at IS NOT NULL AND id > $2
		ORDER BY id LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: failed events: %w", err)
	}
	return collect(rows, scanFailed)
}

// RetryEvent puts a failed event back to pending; its attempts restart.
func (s *Store) RetryEvent(ctx context.Context, orgID, id string) (core.Event, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE events SET failed_at = NULL, attempts = 0 WHERE org_id = $1 AND id = $2 AND failed_at IS NOT NULL`,
		orgID, id)
	if err != nil {
		return core.Event{}, fmt.Errorf("store: retry event: %w", err)
	}
	e, gerr := scanEvent(s.w.QueryRowContext(ctx, `SELECT id, org_id, kind, occurred_at, data FROM events WHERE org_id = $1 AND id = $2`, orgID, id))
	if gerr != nil {
		return e, notFound(gerr, "event")
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return e, core.Conflict("only failed events can be retried; this one is not failed")
	}
	return e, nil
}
