package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"

	"github.com/bookinggw/gateway/core"
)

// ReminderViews lists reminders by filter with their appointment and
// message, sorted by due time (ties by id); p.After is a core.StartCursor.
func (s *Store) ReminderViews(ctx context.Context, orgID string, f core.ReminderFilter, p core.Page) ([]core.ReminderView, error) {
	limit, after := pageArgs(p)
	q := `SELECT r.id, r.appointment_id, r.offset_min, r.due_at, r.ask_confirm, r.status, r.reason, r.message_id,
		a.start_at, a.client_id, a.specialist_id, a.center_id, m.status, m.channel, m.last_error
		FROM reminders r JOIN appointments a ON a.id = r.appointment_id AND a.org_id = r.org_id
		LEFT JOIN messages m ON m.id = r.message_id AND m.org_id = r.org_id
		WHERE r.org_id = $1`
	args := []any{orgID}
	add := func(cond string, vs ...any) {
		for _, v := range vs {
			args = append(args, v)
			cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(args)), 1)
		}
		q += " AND " + cond
	}
	if after != "" {
		cur, ok := core.ParseStartCursor(after)
		if !ok {
			return nil, core.Invalid("bad cursor", core.FieldError{Field: "cursor", Message: "must be the next_cursor of a previous page"})
		}
		add("(r.due_at > ? OR (r.due_at = ? AND r.id > ?))", ms(cur.Start), ms(cur.Start), cur.ID)
	}
	if f.AppointmentID != "" {
		add("r.appointment_id = ?", f.AppointmentID)
	}
	if f.SpecialistID != "" {
		add("a.specialist_id = ?", f.SpecialistID)
	}
	if f.CenterID != "" {
		add("a.center_id = ?", f.CenterID)
	}
	if !f.From.IsZero() {
		add("r.due_at >= ?", ms(f.From))
	}
	if !f.To.IsZero() {
		add("r.due_at < ?", ms(f.To))
	}
	if f.CenterIDs != nil {
		in, inArgs := inList(" AND a.center_id IN ", len(args)+1, f.CenterIDs)
		q += in
		args = append(args, inArgs...)
	}
	args = append(args, limit)
	q += fmt.Sprintf(" ORDER BY r.due_at, r.id LIMIT $%d", len(args))
	rows, err := s.r.QueryContext(ctx, q, args...)
	if err != nil {
		return nil, fmt.Errorf("store: reminders: %w", err)
	}
	return collect(rows, func(row interface{ Scan(...any) error }) (core.ReminderView, error) {
		var v core.ReminderView
		var due, start int64
		var msgStatus, channel, msgErr sql.NullString
		err := row.Scan(&v.ID, &v.AppointmentID, &v.OffsetMin, &due, &v.AskConfirm, &v.Status, &v.Reason, &v.MessageID,
			&start, &v.ClientID, &v.SpecialistID, &v.CenterID, &msgStatus, &channel, &msgErr)
		v.Due, v.AppointmentStart = fromMS(due), fromMS(start)
		v.MessageStatus, v.Channel, v.MessageError = core.MessageStatus(msgStatus.String), core.Channel(channel.String), msgErr.String
		return v, err
	})
}

// EventByID reads a domain event by id alone: for signed offer links,
// whose signature names the event.
func (s *Store) EventByID(ctx context.Context, id string) (core.Event, error) {
	e, err := scanEvent(s.r.QueryRowContext(ctx, `SELECT id, org_id, kind, occurred_at, data FROM events WHERE id = $1`, id))
	if err != nil {
		return e, notFound(err, "event")
	}
	return e, nil
}
