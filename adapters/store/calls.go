package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/bookinggw/gateway/core"
)

// Telephony: call settings, the call log, planned calls and connections.

const callSettingsCols = `org_id, center_id, voice_number, caller_id, ring_seconds, screening, language, hours, updated_at`

func scanCallSettings(r interface{ Scan(...any) error }) (core.CallSettings, error) {
	var cs core.CallSettings
	var hours string
	var upd int64
	err := r.Scan(&cs.OrgID, &cs.CenterID, &cs.VoiceNumber, &cs.CallerID, &cs.RingSeconds, &cs.Screening, &cs.Language, &hours, &upd)
	if err != nil {
		return cs, err
	}
	cs.UpdatedAt = fromMS(upd)
	cs.Hours = core.WeeklyJSON{}
	if err := json.Unmarshal([]byte(hours), &cs.Hours); err != nil {
		return cs, fmt.Errorf("call settings hours: %w", err)
	}
	return cs, nil
}

// GetCallSettings reads a centre's call settings; a centre that set none
// gets the defaults (no number, no hours: every call goes to voicemail).
func (s *Store) GetCallSettings(ctx context.Context, orgID, centerID string) (core.CallSettings, error) {
	cs, err := scanCallSettings(s.r.QueryRowContext(ctx, `SELECT `+callSettingsCols+` FROM call_settings WHERE org_id = $1 AND center_id = $2`,
		orgID, centerID))
	if errors.Is(err, sql.ErrNoRows) {
		return core.CallSettings{OrgID: orgID, CenterID: centerID, RingSeconds: core.DefaultRingSeconds, Screening: core.ScreenPress1,
			Hours: core.WeeklyJSON{}}, nil
	}
	if err != nil {
		return cs, fmt.Errorf("store: call settings: %w", err)
	}
	return cs, nil
}

// PutCallSettings writes a centre's call settings.
func (s *Store) PutCallSettings(ctx context.Context, cs core.CallSettings) error {
	hours, err := json.Marshal(cs.Hours)
	if err != nil {
		return fmt.Errorf("store: call settings: %w", err)
	}
	_, err = s.w.ExecContext(ctx, `INSERT INTO call_settings (`+callSettingsCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
		ON CONFLICT (org_id, center_id) DO UPDATE SET voice_number = excluded.voice_number, caller_id = excluded.caller_id,
		ring_seconds = excluded.ring_seconds, screening = excluded.screening, language = excluded.language, hours = excluded.hours,
		updated_at = excluded.updated_at`,
		cs.OrgID, cs.CenterID, cs.VoiceNumber, cs.CallerID, cs.RingSeconds, cs.Screening, cs.Language, string(hours), ms(cs.UpdatedAt))
	if isUnique(err) {
		return core.Conflict("another centre has this voice number", core.ConflictItem{Kind: "voice_number"})
	}
	if err != nil {
		return fmt.Errorf("store: call settings: %w", err)
	}
	return nil
}

// CallLine finds the centre whose voice number was called.
func (s *Store) CallLine(ctx context.Context, number string) (core.CallSettings, error) {
	cs, err := scanCallSettings(s.stmtRow(ctx, s.r, `SELECT `+callSettingsCols+` FROM call_settings WHERE voice_number = $1`, number))
	if err != nil {
		return cs, notFound(err, "voice number")
	}
	return cs, nil
}

// GetCallOrgSettings reads an organization's telephony options.
func (s *Store) GetCallOrgSettings(ctx context.Context, orgID string) (core.CallOrgSettings, error) {
	st := core.CallOrgSettings{OrgID: orgID}
	var upd int64
	err := s.r.QueryRowContext(ctx, `SELECT missed_call_message, updated_at FROM call_org_settings WHERE org_id = $1`, orgID).
		Scan(&st.MissedCallMessage, &upd)
	if errors.Is(err, sql.ErrNoRows) {
		return st, nil
	}
	if err != nil {
		return st, fmt.Errorf("store: call org settings: %w", err)
	}
	st.UpdatedAt = fromMS(upd)
	return st, nil
}

// PutCallOrgSettings writes an organization's telephony options.
func (s *Store) PutCallOrgSettings(ctx context.Context, st core.CallOrgSettings) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO call_org_settings (org_id, missed_call_message, updated_at) VALUES ($1, $2, $3)
		ON CONFLICT (org_id) DO UPDATE SET missed_call_message = excluded.missed_call_message, updated_at = excluded.updated_at`,
		st.OrgID, st.MissedCallMessage, ms(st.UpdatedAt)); err != nil {
		return fmt.Errorf("store: call org settings: %w", err)
	}
	return nil
}

// CenterStaff lists the active staff of a centre, oldest first.
func (s *Store) CenterStaff(ctx context.Context, orgID, centerID string) ([]core.Staff, error) {
	rows, err := s.stmtQuery(ctx, s.r, `SELECT `+prefixed("s.", staffCols)+` FROM staff s JOIN staff_centers sc ON sc.staff_id = s.id
		WHERE s.org_id = $1 AND sc.center_id = $2 AND s.active ORDER BY s.id`, orgID, centerID)
	if err != nil {
		return nil, fmt.Errorf("store: centre staff: %w", err)
	}
	return collect(rows, scanStaff)
}

// ClientsWithPhone lists an organization's clients of a phone, not
// archived first, oldest first.
func (s *Store) ClientsWithPhone(ctx context.Context, orgID, phone string) ([]core.Client, error) {
	rows, err := s.stmtQuery(ctx, s.r, `SELECT id FROM clients WHERE org_id = $1 AND phone = $2
		ORDER BY CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END, id LIMIT 10`, orgID, phone)
	if err != nil {
		return nil, fmt.Errorf("store: clients with phone: %w", err)
	}
	ids, err := collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var id string
		return id, r.Scan(&id)
	})
	if err != nil {
		return nil, err
	}
	out := make([]core.Client, 0, len(ids))
	for _, id := range ids {
		c, err := s.GetClient(ctx, orgID, id)
		if err != nil {
			return nil, err
		}
		out = append(out, c)
	}
	return out, nil
}

// CardData reads a caller's next visit, debts per currency (as Debtors
// counts them) and open planned calls.
func (s *Store) CardData(ctx context.Context, orgID, clientID string, now time.Time) (core.CallCard, error) {
	var card core.CallCard
	var next sql.NullInt64
	if err := s.r.QueryRowContext(ctx, `SELECT MIN(start_at) FROM appointments WHERE org_id = $1 AND client_id = $2
		AND status IN ('pending', 'accepted') AND start_at >= $3`, orgID, clientID, ms(now)).Scan(&next); err != nil {
		return card, fmt.Errorf("store: card: %w", err)
	}
	card.NextVisitAt = fromNullMS(next)
	rows, err := s.r.QueryContext(ctx, `SELECT currency, SUM(debt) FROM (
			SELECT currency, price_minor - paid_minor AS debt FROM appointments
			WHERE org_id = $1 AND client_id = $2 AND status = 'completed' AND package_sale_id = '' AND price_minor > paid_minor
			UNION ALL
			SELECT currency, due_minor - paid_minor FROM package_sales WHERE org_id = $1 AND client_id = $2 AND due_minor > paid_minor
		) d GROUP BY currency ORDER BY currency`, orgID, clientID)
	if err != nil {
		return card, fmt.Errorf("store: card debts: %w", err)
	}
	if card.Debts, err = collect(rows, func(r interface{ Scan(...any) error }) (core.CardDebt, error) {
		var d core.CardDebt
		return d, r.Scan(&d.Currency, &d.AmountMinor)
	}); err != nil {
		return card, err
	}
	card.PlannedCalls, err = s.ListPlannedCalls(ctx, orgID, core.PlannedFilter{ClientID: clientID, Status: core.PlannedOpen}, core.Page{Limit: 10})
	return card, err
}

const callCols = `id, org_id, center_id, client_id, staff_id, provider, provider_call_id, direction, from_number, to_number, status,
	dial_status, outcome, started_at, answered_at, ended_at, duration_sec, recording_sid, recording_url, updated_at`

func scanCall(r interface{ Scan(...any) error }) (core.Call, error) {
	var c core.Call
	var started, upd int64
	var answered, ended sql.NullInt64
	var status, dial string
	err := r.Scan(&c.ID, &c.OrgID, &c.CenterID, &c.ClientID, &c.StaffID, &c.Provider, &c.ProviderCallID, &c.Direction, &c.From, &c.To,
		&status, &dial, &c.Outcome, &started, &answered, &ended, &c.DurationSec, &c.RecordingSID, &c.RecordingURL, &upd)
	c.Status, c.DialStatus = core.CallStatus(status), core.CallStatus(dial)
	c.StartedAt, c.AnsweredAt, c.EndedAt, c.UpdatedAt = fromMS(started), fromNullMS(answered), fromNullMS(ended), fromMS(upd)
	return c, err
}

// ApplyCall records the delivery (webhook_events) and merges its report
// into the call row in one transaction. The row is locked (PostgreSQL FOR
// UPDATE; SQLite's single writer), so parallel callbacks for one call are
// applied one after another and none is lost.
func (s *Store) ApplyCall(ctx context.Context, a core.CallApply, effects func(before, after core.Call) core.CallEffects) (core.Call, core.CallApplied, error) {
	var out core.Call
	var res core.CallApplied
	var notice *core.Event
	err := s.tx(ctx, func(tx *sql.Tx) error {
		res, notice = core.CallApplied{}, nil
		if a.EventKey != "" {
			r, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (provider, event_id, received_at, attempts, handled_at)
				VALUES ($1, $2, $3, 1, $3) ON CONFLICT (provider, event_id) DO NOTHING`, "voice:"+a.Provider, a.EventKey, ms(a.At))
			if err != nil {
				return fmt.Errorf("store: call delivery: %w", err)
			}
			if n, _ := r.RowsAffected(); n == 0 {
				res.Repeat = true
			}
		}
		if a.Init.OrgID != "" {
			i := a.Init
			r, err := tx.ExecContext(ctx, `INSERT INTO calls (`+callCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20)
				ON CONFLICT (provider, provider_call_id) DO NOTHING`,
				i.ID, i.OrgID, i.CenterID, i.ClientID, i.StaffID, a.Provider, a.ProviderCallID, i.Direction, i.From, i.To, string(i.Status),
				string(i.DialStatus), i.Outcome, ms(i.StartedAt), nullMS(i.AnsweredAt), nullMS(i.EndedAt), i.DurationSec, i.RecordingSID,
				i.RecordingURL, ms(a.At))
			if err != nil {
				return fmt.Errorf("store: insert call: %w", err)
			}
			n, _ := r.RowsAffected()
			res.Created = n == 1
		}
		q := `SELECT ` + callCols + ` FROM calls WHERE provider = $1 AND provider_call_id = $2`
		if s.dialect == Postgres {
			q += ` FOR UPDATE`
		}
		before, err := scanCall(tx.QueryRowContext(ctx, q, a.Provider, a.ProviderCallID))
		if errors.Is(err, sql.ErrNoRows) {
			res.Unknown = true
			return nil
		}
		if err != nil {
			return fmt.Errorf("store: call: %w", err)
		}
		out = before
		if res.Repeat {
			return nil
		}
		after := core.ApplyCallUpdate(before, a.Update)
		after.UpdatedAt = a.At
		if !res.Created && sameCall(before, after) {
			return nil
		}
		res.Changed = true
		if _, err := tx.ExecContext(ctx, `UPDATE calls SET status = $1, dial_status = $2, outcome = $3, started_at = $4, answered_at = $5,
			ended_at = $6, duration_sec = $7, recording_sid = $8, recording_url = $9, updated_at = $10 WHERE id = $11`,
			string(after.Status), string(after.DialStatus), after.Outcome, ms(after.StartedAt), nullMS(after.AnsweredAt), nullMS(after.EndedAt),
			after.DurationSec, after.RecordingSID, after.RecordingURL, ms(after.UpdatedAt), after.ID); err != nil {
			return fmt.Errorf("store: update call: %w", err)
		}
		out = after
		if res.Created {
			before = core.Call{}
		}
		eff := effects(before, after)
		if eff.CallBack != nil {
			if err := insertPlanned(ctx, tx, *eff.CallBack, true); err != nil {
				return err
			}
		}
		if eff.CancelCallBack {
			if _, err := tx.ExecContext(ctx, `UPDATE planned_calls SET status = $1 WHERE call_id = $2 AND status = $3`,
				core.PlannedCancelled, after.ID, core.PlannedOpen); err != nil {
				return fmt.Errorf("store: cancel call-back: %w", err)
			}
		}
		if eff.Notice != nil {
			ref := eff.Notice.Refs()
			var told int64
			err := tx.QueryRowContext(ctx, `INSERT INTO call_notices (org_id, client_id, last_at) VALUES ($1, $2, $3)
				ON CONFLICT (org_id, client_id) DO UPDATE SET last_at = excluded.last_at WHERE call_notices.last_at <= $4
				RETURNING last_at`, eff.Notice.OrgID, ref.ClientID, ms(eff.Notice.OccurredAt), ms(eff.NoticeSince)).Scan(&told)
			switch {
			case errors.Is(err, sql.ErrNoRows): // told within the hour
			case err != nil:
				return fmt.Errorf("store: call notice: %w", err)
			default:
				if err := addEvent(ctx, tx, *eff.Notice); err != nil {
					return err
				}
				notice = eff.Notice
			}
		}
		for _, e := range eff.Events {
			if err := addEvent(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	_ = notice
	return out, res, err
}

// incomingRow is one call of RecordIncomingCalls' JSON batch.
type incomingRow struct {
	ID             string `json:"id"`
	OrgID          string `json:"org"`
	CenterID       string `json:"center"`
	StaffID        string `json:"staff"`
	Provider       string `json:"provider"`
	ProviderCallID string `json:"call"`
	Direction      string `json:"dir"`
	From           string `json:"from"`
	To             string `json:"to"`
	Status         string `json:"status"`
	DialStatus     string `json:"dial"`
	StartedAt      int64  `json:"started"`
	UpdatedAt      int64  `json:"updated"`
}

// incomingCallsSQL inserts a batch of ringing calls given as one JSON array
// (one statement text whatever the batch's size, so both databases keep it
// prepared), each with the client of its caller's number (not archived
// first, then the oldest, as ClientsWithPhone orders them), skipping calls
// already logged; it returns the ids it inserted. "WHERE true" lets SQLite
// tell the upsert clause from a join.
func incomingCallsSQL(d Dialect) string {
	rows := `json_each($1)`
	if d == Postgres {
		rows = `jsonb_array_elements(CAST($1 AS jsonb)) AS e(value)`
	}
	return `INSERT INTO calls (` + callCols + `) SELECT v.id, v.org, v.center,
		COALESCE((SELECT id FROM clients WHERE org_id = v.org AND phone = v.from_number ORDER BY CASE WHEN archived_at IS NULL THEN 0 ELSE 1 END, id LIMIT 1), ''),
		v.staff, v.provider, v.cid, v.dir, v.from_number, v.to_number, v.status, v.dial, '', v.started, NULL, NULL, 0, '', '', v.updated
		FROM (SELECT value ->> 'id' AS id, value ->> 'org' AS org, value ->> 'center' AS center, value ->> 'staff' AS staff,
			value ->> 'provider' AS provider, value ->> 'call' AS cid, value ->> 'dir' AS dir, value ->> 'from' AS from_number,
			value ->> 'to' AS to_number, value ->> 'status' AS status, value ->> 'dial' AS dial,
			CAST(value ->> 'started' AS BIGINT) AS started, CAST(value ->> 'updated' AS BIGINT) AS updated FROM ` + rows + `) AS v WHERE true
		ON CONFLICT (provider, provider_call_id) DO NOTHING RETURNING id`
}

var incomingCallsSQLite, incomingCallsPostgres = incomingCallsSQL(SQLite), incomingCallsSQL(Postgres)

// RecordIncomingCalls inserts ringing calls in one statement, so in one
// transaction: all of them or, on an error, none. created[i] is false for
// a call whose provider call id was logged already (also by an earlier
// call of the same batch). The voice webhook's only write; concurrent
// webhooks share it (core's group commit).
func (s *Store) RecordIncomingCalls(ctx context.Context, calls []core.Call) ([]bool, error) {
	rows := make([]incomingRow, len(calls))
	for i, c := range calls {
		rows[i] = incomingRow{ID: c.ID, OrgID: c.OrgID, CenterID: c.CenterID, StaffID: c.StaffID, Provider: c.Provider, ProviderCallID: c.ProviderCallID,
			Direction: c.Direction, From: c.From, To: c.To, Status: string(c.Status), DialStatus: string(c.DialStatus),
			StartedAt: ms(c.StartedAt), UpdatedAt: ms(c.UpdatedAt)}
	}
	batch, err := json.Marshal(rows)
	if err != nil {
		return nil, fmt.Errorf("store: incoming calls: %w", err)
	}
	q := incomingCallsSQLite
	if s.dialect == Postgres {
		q = incomingCallsPostgres
	}
	rs, err := s.stmtQuery(ctx, s.w, q, string(batch))
	if err != nil {
		return nil, fmt.Errorf("store: incoming calls: %w", err)
	}
	inserted, err := idSet(rs, len(calls))
	if err != nil {
		return nil, fmt.Errorf("store: incoming calls: %w", err)
	}
	created := make([]bool, len(calls))
	for i, c := range calls {
		created[i] = inserted[c.ID]
	}
	return created, nil
}

// CallByProvider reads a call by its provider's id.
func (s *Store) CallByProvider(ctx context.Context, provider, callID string) (core.Call, error) {
	c, err := scanCall(s.stmtRow(ctx, s.r, `SELECT `+callCols+` FROM calls WHERE provider = $1 AND provider_call_id = $2`, provider, callID))
	if err != nil {
		return c, notFound(err, "call")
	}
	return c, nil
}

// RecordCallNotice writes events once per delivery key.
func (s *Store) RecordCallNotice(ctx context.Context, provider, key string, at time.Time, events []core.Event) (bool, error) {
	repeat := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `INSERT INTO webhook_events (provider, event_id, received_at, attempts, handled_at)
			VALUES ($1, $2, $3, 1, $3) ON CONFLICT (provider, event_id) DO NOTHING`, "voice:"+provider, key, ms(at))
		if err != nil {
			return fmt.Errorf("store: call notice: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			repeat = true
			return nil
		}
		for _, e := range events {
			if err := addEvent(ctx, tx, e); err != nil {
				return err
			}
		}
		return nil
	})
	return repeat, err
}

// sameCall compares the merged fields (UpdatedAt aside).
func sameCall(a, b core.Call) bool {
	a.UpdatedAt, b.UpdatedAt = time.Time{}, time.Time{}
	eq := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	ok := eq(a.AnsweredAt, b.AnsweredAt) && eq(a.EndedAt, b.EndedAt) && a.StartedAt.Equal(b.StartedAt)
	a.AnsweredAt, b.AnsweredAt, a.EndedAt, b.EndedAt, a.StartedAt, b.StartedAt = nil, nil, nil, nil, time.Time{}, time.Time{}
	return ok && a == b
}

// GetCall reads one call of an organization.
func (s *Store) GetCall(ctx context.Context, orgID, id string) (core.Call, error) {
	c, err := scanCall(s.r.QueryRowContext(ctx, `SELECT `+callCols+` FROM calls WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return c, notFound(err, "call")
	}
	return c, nil
}

// ListCalls lists an organization's calls in id (creation) order.
func (s *Store) ListCalls(ctx context.Context, orgID string, f core.CallFilter, p core.Page) ([]core.Call, error) {
	limit, after := pageArgs(p)
	w := &where{q: `SELECT ` + callCols + ` FROM calls WHERE org_id = $1`, args: []any{orgID}}
	w.add("id > ?", after)
	if f.CenterID != "" {
		w.add("center_id = ?", f.CenterID)
	}
	if f.ClientID != "" {
		w.add("client_id = ?", f.ClientID)
	}
	w.in("center_id", f.CenterIDs)
	q, args := w.done(" ORDER BY id", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: calls: %w", err)
	}
	return collect(rows, scanCall)
}

// StuckCalls lists calls not final that no report touched since before.
func (s *Store) StuckCalls(ctx context.Context, before time.Time, limit int) ([]core.Call, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+callCols+` FROM calls WHERE status IN ('queued', 'initiated', 'ringing', 'in-progress')
		AND updated_at < $1 ORDER BY updated_at LIMIT $2`, ms(before), limit)
	if err != nil {
		return nil, fmt.Errorf("store: stuck calls: %w", err)
	}
	return collect(rows, scanCall)
}

const plannedCols = `id, org_id, center_id, client_id, phone, staff_id, due_at, note, status, result, call_id, next_id, created_by, created_at, done_at`

func scanPlanned(r interface{ Scan(...any) error }) (core.PlannedCall, error) {
	var pc core.PlannedCall
	var due, created int64
	var done sql.NullInt64
	err := r.Scan(&pc.ID, &pc.OrgID, &pc.CenterID, &pc.ClientID, &pc.Phone, &pc.StaffID, &due, &pc.Note, &pc.Status, &pc.Result,
		&pc.CallID, &pc.NextID, &pc.CreatedBy, &created, &done)
	pc.DueAt, pc.CreatedAt, pc.DoneAt = fromMS(due), fromMS(created), fromNullMS(done)
	return pc, err
}

func insertPlanned(ctx context.Context, q querier, pc core.PlannedCall, once bool) error {
	stmt := `INSERT INTO planned_calls (` + plannedCols + `) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15)`
	if once {
		stmt += ` ON CONFLICT (call_id) WHERE call_id <> '' DO NOTHING`
	}
	if _, err := q.ExecContext(ctx, stmt, pc.ID, pc.OrgID, pc.CenterID, pc.ClientID, pc.Phone, pc.StaffID, ms(pc.DueAt), pc.Note, pc.Status,
		pc.Result, pc.CallID, pc.NextID, pc.CreatedBy, ms(pc.CreatedAt), nullMS(pc.DoneAt)); err != nil {
		return fmt.Errorf("store: planned call: %w", err)
	}
	return nil
}

// CreatePlannedCall inserts a planned call.
func (s *Store) CreatePlannedCall(ctx context.Context, pc core.PlannedCall) error {
	return insertPlanned(ctx, s.w, pc, false)
}

// GetPlannedCall reads one planned call.
func (s *Store) GetPlannedCall(ctx context.Context, orgID, id string) (core.PlannedCall, error) {
	pc, err := scanPlanned(s.r.QueryRowContext(ctx, `SELECT `+plannedCols+` FROM planned_calls WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return pc, notFound(err, "planned call")
	}
	return pc, nil
}

// ListPlannedCalls lists planned calls by due time (overdue first), ties
// by id; p.After is a core.StartCursor.
func (s *Store) ListPlannedCalls(ctx context.Context, orgID string, f core.PlannedFilter, p core.Page) ([]core.PlannedCall, error) {
	limit, after := pageArgs(p)
	w := &where{q: `SELECT ` + plannedCols + ` FROM planned_calls WHERE org_id = $1`, args: []any{orgID}}
	if err := w.after("due_at", "id", after); err != nil {
		return nil, err
	}
	for _, c := range []struct{ col, v string }{{"center_id", f.CenterID}, {"staff_id", f.StaffID}, {"client_id", f.ClientID}, {"status", f.Status}} {
		if c.v != "" {
			w.add(c.col+" = ?", c.v)
		}
	}
	w.in("center_id", f.CenterIDs)
	q, args := w.done(" ORDER BY due_at, id", limit)
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: planned calls: %w", err)
	}
	return collect(rows, scanPlanned)
}

// FinishPlannedCall records a result and plans the next call in one
// transaction; a call no longer open is a conflict.
func (s *Store) FinishPlannedCall(ctx context.Context, done core.PlannedCall, next *core.PlannedCall) (core.PlannedCall, error) {
	err := s.tx(ctx, func(tx *sql.Tx) error {
		r, err := tx.ExecContext(ctx, `UPDATE planned_calls SET status = $1, result = $2, done_at = $3, next_id = $4
			WHERE org_id = $5 AND id = $6 AND status = $7`, done.Status, done.Result, nullMS(done.DoneAt), done.NextID, done.OrgID, done.ID,
			core.PlannedOpen)
		if err != nil {
			return fmt.Errorf("store: finish planned call: %w", err)
		}
		if n, _ := r.RowsAffected(); n == 0 {
			return core.Conflict("this planned call is not open any more")
		}
		if next != nil {
			return insertPlanned(ctx, tx, *next, false)
		}
		return nil
	})
	return done, err
}

// NextPlanned is core.PlannedActions: each client's earliest open planned
// call due at or after now.
func (s *Store) NextPlanned(ctx context.Context, orgID string, clientIDs []string, now time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	if len(clientIDs) == 0 {
		return out, nil
	}
	in, args := inList(` AND client_id IN `, 4, clientIDs)
	rows, err := s.r.QueryContext(ctx, `SELECT client_id, MIN(due_at) FROM planned_calls WHERE org_id = $1 AND status = $2 AND due_at >= $3`+in+
		` GROUP BY client_id`, append([]any{orgID, core.PlannedOpen, ms(now)}, args...)...)
	if err != nil {
		return nil, fmt.Errorf("store: next planned: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var id string
		var due int64
		if err := rows.Scan(&id, &due); err != nil {
			return nil, fmt.Errorf("store: next planned: %w", err)
		}
		out[id] = fromMS(due)
	}
	return out, rows.Err()
}

const connCols = `id, org_id, center_id, name, secret, created_at, revoked_at`

func scanConn(r interface{ Scan(...any) error }) (core.CallConnection, error) {
	var c core.CallConnection
	var created int64
	var revoked sql.NullInt64
	err := r.Scan(&c.ID, &c.OrgID, &c.CenterID, &c.Name, &c.Secret, &created, &revoked)
	c.CreatedAt, c.RevokedAt = fromMS(created), fromNullMS(revoked)
	return c, err
}

// CreateCallConnection inserts a connection.
func (s *Store) CreateCallConnection(ctx context.Context, c core.CallConnection) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO call_connections (`+connCols+`) VALUES ($1, $2, $3, $4, $5, $6, NULL)`,
		c.ID, c.OrgID, c.CenterID, c.Name, c.Secret, ms(c.CreatedAt)); err != nil {
		return fmt.Errorf("store: call connection: %w", err)
	}
	return nil
}

// GetCallConnection reads a connection by id alone.
func (s *Store) GetCallConnection(ctx context.Context, id string) (core.CallConnection, error) {
	c, err := scanConn(s.r.QueryRowContext(ctx, `SELECT `+connCols+` FROM call_connections WHERE id = $1`, id))
	if err != nil {
		return c, notFound(err, "call connection")
	}
	return c, nil
}

// ListCallConnections lists an organization's connections.
func (s *Store) ListCallConnections(ctx context.Context, orgID string, p core.Page) ([]core.CallConnection, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+connCols+` FROM call_connections WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: call connections: %w", err)
	}
	return collect(rows, scanConn)
}

// RevokeCallConnection marks a connection revoked.
func (s *Store) RevokeCallConnection(ctx context.Context, orgID, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE call_connections SET revoked_at = $1 WHERE org_id = $2 AND id = $3 AND revoked_at IS NULL`,
		ms(at), orgID, id)
	return checkAffected(res, err, "call connection")
}
