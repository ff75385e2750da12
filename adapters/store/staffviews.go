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
	w := &where{q: `SELECT r.id, r.appointment_id, r.offset_min, r.due_at, r.ask_confirm, r.status, r.reason, r.message_id,
		a.start_at, a.client_id, a.specialist_id, a.center_id, m.status, m.channel, m.last_error
		FROM reminders r JOIN appointments a ON a.id = r.appointment_id AND a.org_id = r.org_id
		LEFT JOIN messages m ON m.id = r.message_id AND m.org_id = r.org_id
		WHERE r.org_id = $1`, args: []any{orgID}}
	if err := w.after("r.due_at", "r.id", after); err != nil {
		return nil, err
	}
	add := w.add
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
	w.in("a.center_id", f.CenterIDs)
	q, args := w.done(" ORDER BY r.due_at, r.id", limit)
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

// where builds a query's conditions with numbered placeholders, for lists
// whose filters are all optional.
type where struct {
	q    string
	args []any
}

// add appends " AND cond", its "?" numbered in order for vs.
func (w *where) add(cond string, vs ...any) {
	for _, v := range vs {
		w.args = append(w.args, v)
		cond = strings.Replace(cond, "?", fmt.Sprintf("$%d", len(w.args)), 1)
	}
	w.q += " AND " + cond
}

// in limits col to vals; nil adds nothing.
func (w *where) in(col string, vals []string) {
	if vals == nil {
		return
	}
	in, args := inList(" AND "+col+" IN ", len(w.args)+1, vals)
	w.q += in
	w.args = append(w.args, args...)
}

// after continues a list sorted by (timeCol, idCol) after a
// core.StartCursor ("" starts at the beginning).
func (w *where) after(timeCol, idCol, cursor string) error {
	if cursor == "" {
		return nil
	}
	cur, ok := core.ParseStartCursor(cursor)
	if !ok {
		return core.Invalid("bad cursor", core.FieldError{Field: "cursor", Message: "must be the next_cursor of a previous page"})
	}
	w.add("("+timeCol+" > ? OR ("+timeCol+" = ? AND "+idCol+" > ?))", ms(cur.Start), ms(cur.Start), cur.ID)
	return nil
}

// done appends the order and the limit and returns the query.
func (w *where) done(order string, limit int) (string, []any) {
	args := append(w.args, limit)
	return w.q + order + fmt.Sprintf(" LIMIT $%d", len(args)), args
}
