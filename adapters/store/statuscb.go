package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

// statusOnceSQL is ApplyStatusOnce on PostgreSQL as one statement (data-
// modifying CTEs), so a new status callback costs one statement and one
// commit after the read of its receipt, instead of BEGIN, the receipt, the
// update(s) and COMMIT.
// It keeps the transaction's rules:
//   - a delivery already handled changes nothing (handled: the caller
//     reads that first, and the statement checks it again);
//   - app moves the message forward (statusApplySQL's update); park keeps
//     the report on a row its attempt is still sending (statusParkSQL's),
//     only when app moved nothing;
//   - look reads the message for the answer when neither wrote;
//   - the receipt (rec) is written in the same statement, so the report and
//     its receipt commit together or not at all.
//
// All parts read one snapshot. When the send's outcome commits between
// that snapshot and park's lock, park finds the row no longer sending and
// writes nothing, while the snapshot says it should have (lost). The
// transaction applied the report with a second update then; here the
// statement writes no receipt either, and the caller runs it again on a
// fresh snapshot, which applies the report.
//
// Each kind of report (by provider id alone; by message id; by message id
// and attempt) has its own text, with no condition on a parameter's value
// alone: such a condition makes each call's custom plan (the branch folded
// away) look cheaper than the generic plan, which PostgreSQL would then
// never choose. Whether it now reuses the generic plan was not measured:
// the statement still costs about 0.7 ms more than a bare insert under
// load, most of it the message's update written in the same commit.
func statusOnceSQL(st core.MessageStatus, kind string) string {
	const handled = `NOT EXISTS (SELECT 1 FROM webhook_events WHERE provider = $1 AND event_id = $2 AND handled_at IS NOT NULL)`
	match, parkable := `channel IN ('sms', 'whatsapp')`, `false` // "sid": nothing to park on
	if kind != "sid" {
		match = `id = $8`
	}
	if kind == "attempt" {
		parkable = `id = $8 AND attempts = $9 AND status = 'sending' AND pending_status IN ` + sqlList(append([]string{""}, below(st)...))
	}
	return `WITH app AS (UPDATE messages SET status = $3, updated_at = $4,
		delivered_at = CASE WHEN $3 = 'delivered' THEN $4 ELSE delivered_at END,
		error_code = CASE WHEN $5 <> '' THEN $5 ELSE error_code END,
		fallback_due_at = CASE WHEN $6 AND fallback <> '[]' AND event_id <> '' THEN $4 ELSE fallback_due_at END
		WHERE provider_id = $7 AND ` + match + ` AND status IN ` + sqlList(below(st)) + ` AND ` + handled + `
		RETURNING ` + msgCols + `),
	park AS (UPDATE messages SET pending_status = $3, pending_code = $5, pending_at = $4,
		fallback_due_at = CASE WHEN $6 AND fallback <> '[]' AND event_id <> '' THEN $4 ELSE fallback_due_at END
		WHERE ` + parkable + ` AND ` + handled + ` AND NOT EXISTS (SELECT 1 FROM app)
		RETURNING ` + msgCols + `),
	lost AS (SELECT 1 FROM messages WHERE ` + parkable + ` AND ` + handled + `
		AND NOT EXISTS (SELECT 1 FROM app) AND NOT EXISTS (SELECT 1 FROM park)),
	look AS (SELECT ` + msgCols + ` FROM messages WHERE provider_id = $7 AND channel IN ('sms', 'whatsapp')
		AND NOT EXISTS (SELECT 1 FROM app) AND NOT EXISTS (SELECT 1 FROM park) LIMIT 1),
	rec AS (INSERT INTO webhook_events (provider, event_id, received_at, handled_at, attempts)
		SELECT $1, $2, $4, $4, 1 WHERE ` + handled + ` AND NOT EXISTS (SELECT 1 FROM lost)
		ON CONFLICT (provider, event_id) DO UPDATE SET attempts = webhook_events.attempts + 1, handled_at = excluded.handled_at
		WHERE webhook_events.handled_at IS NULL RETURNING 1)
	SELECT x.*, EXISTS (SELECT 1 FROM rec), EXISTS (SELECT 1 FROM lost) FROM (
		SELECT 'applied' AS outcome, app.* FROM app
		UNION ALL SELECT 'parked', park.* FROM park
		UNION ALL SELECT 'unchanged', look.* FROM look
		UNION ALL SELECT 'unknown', ` + zeroMsgCols() + `
			WHERE NOT EXISTS (SELECT 1 FROM app) AND NOT EXISTS (SELECT 1 FROM park) AND NOT EXISTS (SELECT 1 FROM look)) x`
}

// zeroMsgCols is a literal row of msgCols' types (empty texts, zeros, '[]'
// for the JSON lists, NULL instants), for the answer without a message.
func zeroMsgCols() string {
	var out []string
	for _, c := range strings.Split(msgCols, ",") {
		switch strings.TrimSpace(c) {
		case "attempts", "segments", "due_at", "created_at", "updated_at":
			out = append(out, "0")
		case "sent_at", "delivered_at":
			out = append(out, "NULL::bigint")
		case "buttons", "fallback":
			out = append(out, "'[]'")
		default:
			out = append(out, "''")
		}
	}
	return strings.Join(out, ", ")
}

// statusOnceSQLs holds the statement per status and report kind, built
// once (below and sqlList run per call otherwise).
var statusOnceSQLs = func() map[[2]string]string {
	m := map[[2]string]string{}
	for _, st := range []core.MessageStatus{core.MsgSent, core.MsgDelivered, core.MsgUndelivered, core.MsgFailed} {
		for _, kind := range []string{"sid", "id", "attempt"} {
			m[[2]string{string(st), kind}] = statusOnceSQL(st, kind)
		}
	}
	return m
}()

// maxLostRetries bounds the re-runs after losing the race with a send's
// outcome: each loss means the row moved on, which happens once per attempt.
const maxLostRetries = 5

// applyStatusOncePG is applyStatusOnce on PostgreSQL: one statement per
// report (statusOnceSQL).
func (s *Store) applyStatusOncePG(ctx context.Context, provider, eventID string, r core.StatusReport) (bool, core.Message, core.StatusOutcome, error) {
	kind := "sid"
	switch {
	case r.MessageID != "" && r.Attempt > 0:
		kind = "attempt"
	case r.MessageID != "":
		kind = "id"
	}
	q, ok := statusOnceSQLs[[2]string{string(r.Status), kind}]
	if !ok || (r.Channel != core.ChannelSMS && r.Channel != core.ChannelWhatsApp) {
		// Nothing this report could change: mark the receipt handled only
		// (inserted, or a recorded one applied: RecordStatus).
		var n int
		err := s.w.QueryRowContext(ctx, receiptHandledSQL, provider, eventID, ms(r.At)).Scan(&n)
		if errors.Is(err, sql.ErrNoRows) {
			return false, core.Message{}, core.StatusUnchanged, nil
		}
		if err != nil {
			return false, core.Message{}, core.StatusUnchanged, fmt.Errorf("store: webhook event: %w", err)
		}
		return true, core.Message{}, core.StatusUnchanged, nil
	}
	args := []any{provider, eventID, string(r.Status), ms(r.At), r.Code, r.Permanent, r.ProviderID, r.MessageID, r.Attempt}
	args = args[:map[string]int{"sid": 7, "id": 8, "attempt": 9}[kind]] // the parameters its text uses
	for range maxLostRetries {
		var outcome string
		var first, lost bool
		var m core.Message
		var err error
		row := s.w.QueryRowContext(ctx, q, args...)
		m, err = scanMsg(scanFirst{row, []any{&outcome}, []any{&first, &lost}})
		if err != nil && !errors.Is(err, sql.ErrNoRows) {
			return false, core.Message{}, core.StatusUnknown, fmt.Errorf("store: provider status: %w", err)
		}
		if lost {
			continue
		}
		if !first { // a repeat: the outcome is not read, as in the transaction
			return false, core.Message{}, 0, nil
		}
		switch outcome {
		case "applied":
			return true, m, core.StatusApplied, nil
		case "parked":
			return true, m, core.StatusParked, nil
		case "unchanged":
			return true, m, core.StatusUnchanged, nil
		}
		return true, core.Message{}, core.StatusUnknown, nil
	}
	return false, core.Message{}, core.StatusUnknown, fmt.Errorf("store: provider status: the send's outcome kept moving under report %s", eventID)
}

// scanFirst scans a row whose columns are before, then what the caller's
// scanner asks for, then after.
type scanFirst struct {
	row           interface{ Scan(...any) error }
	before, after []any
}

func (s scanFirst) Scan(dest ...any) error {
	all := make([]any, 0, len(s.before)+len(dest)+len(s.after))
	all = append(append(append(all, s.before...), dest...), s.after...)
	return s.row.Scan(all...)
}

// recordStatusSQL writes a status callback's receipt with its report, not
// yet applied (handled_at NULL). A repeat inserts nothing: a conflict that
// does nothing takes no row lock and writes nothing, so the one statement
// answers it as cheaply as a read would.
const recordStatusSQL = `INSERT INTO webhook_events (provider, event_id, received_at, attempts, report) VALUES ($1, $2, $3, 1, $4)
	ON CONFLICT (provider, event_id) DO NOTHING`

// storedReport is a core.StatusReport as the receipt keeps it (JSON).
type storedReport struct {
	Channel    core.Channel       `json:"ch"`
	ProviderID string             `json:"pid"`
	MessageID  string             `json:"mid,omitempty"`
	Attempt    int                `json:"att,omitempty"`
	Status     core.MessageStatus `json:"st"`
	Code       string             `json:"code,omitempty"`
	Permanent  bool               `json:"perm,omitempty"`
	At         int64              `json:"at"` // ms
}

// RecordStatus records a status callback delivery (provider, eventID) with
// its report, to be applied later (ApplyStatusReceipt): one INSERT … ON
// CONFLICT DO NOTHING. first is false for a repeat, which writes nothing,
// whether or not the first delivery's report is applied yet (its task or
// the sweeper applies it).
func (s *Store) RecordStatus(ctx context.Context, provider, eventID string, r core.StatusReport) (bool, error) {
	rep, err := json.Marshal(storedReport{Channel: r.Channel, ProviderID: r.ProviderID, MessageID: r.MessageID, Attempt: r.Attempt,
		Status: r.Status, Code: r.Code, Permanent: r.Permanent, At: ms(r.At)})
	if err != nil {
		return false, fmt.Errorf("store: status receipt: %w", err)
	}
	res, err := s.stmtExec(ctx, s.w, recordStatusSQL, provider, eventID, ms(r.At), string(rep))
	if err != nil {
		return false, fmt.Errorf("store: status receipt: %w", err)
	}
	n, err := res.RowsAffected()
	if err != nil {
		return false, fmt.Errorf("store: status receipt: %w", err)
	}
	return n == 1, nil
}

// ApplyStatusReceipt applies the report of a receipt RecordStatus wrote,
// once: the receipt is marked handled in the commit of the report's effect
// (the fenced update, the park, or nothing for a regression), as
// ApplyStatusOnce does. applied is false when there is nothing to apply: no
// such receipt, or applied already (by its task, a repeat of the task, or
// the sweeper).
func (s *Store) ApplyStatusReceipt(ctx context.Context, provider, eventID string) (core.AppliedStatus, bool, error) {
	var raw sql.NullString
	err := s.stmtRow(ctx, s.r, `SELECT report FROM webhook_events WHERE provider = $1 AND event_id = $2 AND handled_at IS NULL`,
		provider, eventID).Scan(&raw)
	if errors.Is(err, sql.ErrNoRows) || (err == nil && !raw.Valid) {
		// Applied, never recorded, or a delivery claimed but not handled
		// (ClaimWebhook), not a status receipt: its provider's retry
		// handles that one.
		return core.AppliedStatus{}, false, nil
	}
	if err != nil {
		return core.AppliedStatus{}, false, fmt.Errorf("store: status receipt: %w", err)
	}
	var sr storedReport
	if err := json.Unmarshal([]byte(raw.String), &sr); err != nil {
		return core.AppliedStatus{}, false, fmt.Errorf("store: status receipt %s: %w", eventID, err)
	}
	a := core.AppliedStatus{Report: core.StatusReport{Channel: sr.Channel, ProviderID: sr.ProviderID, MessageID: sr.MessageID,
		Attempt: sr.Attempt, Status: sr.Status, Code: sr.Code, Permanent: sr.Permanent, At: fromMS(sr.At)}}
	first, m, out, err := s.applyStatusOnce(ctx, provider, eventID, a.Report)
	a.Message, a.Outcome = m, out
	return a, first, err
}

// UnappliedStatuses lists status receipts received before the cutoff whose
// report is not applied yet (their task was lost: a Redis flush, a failed
// enqueue), oldest first, through the partial index of unapplied receipts.
func (s *Store) UnappliedStatuses(ctx context.Context, before time.Time, limit int) ([]core.StatusReceipt, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT provider, event_id FROM webhook_events
		WHERE report IS NOT NULL AND handled_at IS NULL AND received_at < $1 ORDER BY received_at LIMIT $2`, ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: unapplied statuses: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.StatusReceipt, error) {
		var rc core.StatusReceipt
		err := r.Scan(&rc.Provider, &rc.EventID)
		return rc, err
	})
}
