package store

import (
	"context"
	"fmt"
	"strconv"
	"strings"
)

// writeBatch holds a booking transaction's inserts on PostgreSQL until the
// transaction next reads or commits, then sends them as one statement
// (data-modifying CTEs: WITH w0 AS (INSERT …), w1 AS (INSERT …) INSERT …).
// A new visit's appointment, reminders and event then cost one round trip
// while the specialist's row lock is held, instead of one each. Foreign
// keys between them hold: PostgreSQL checks them at the end of the
// statement, when every part is inserted. SQLite, in process, writes at
// once (no batch).
type writeBatch struct {
	parts []string
	args  []any
}

// add queues an INSERT written with its own $1…$n placeholders.
func (w *writeBatch) add(stmt string, args ...any) {
	w.parts = append(w.parts, renumber(stmt, len(w.args)))
	w.args = append(w.args, args...)
}

// statement renders the queued inserts as one statement and empties the
// batch; ok is false when nothing is queued.
func (w *writeBatch) statement() (stmt string, args []any, ok bool) {
	if len(w.parts) == 0 {
		return "", nil, false
	}
	var sb strings.Builder
	last := len(w.parts) - 1
	if last > 0 {
		sb.WriteString("WITH ")
		for i, p := range w.parts[:last] {
			if i > 0 {
				sb.WriteString(", ")
			}
			sb.WriteString("w" + strconv.Itoa(i) + " AS (" + p + ")")
		}
		sb.WriteByte(' ')
	}
	sb.WriteString(w.parts[last])
	args = w.args
	w.parts, w.args = w.parts[:0], nil
	return sb.String(), args, true
}

// flush sends the queued inserts, if any, as one statement.
func (w *writeBatch) flush(ctx context.Context, q querier) error {
	stmt, args, ok := w.statement()
	if !ok {
		return nil
	}
	if _, err := q.ExecContext(ctx, stmt, args...); err != nil {
		return fmt.Errorf("store: write booking: %w", err)
	}
	return nil
}

// renumber shifts the $n placeholders of stmt by offset.
func renumber(stmt string, offset int) string {
	if offset == 0 {
		return stmt
	}
	var sb strings.Builder
	sb.Grow(len(stmt) + 16)
	for i := 0; i < len(stmt); i++ {
		c := stmt[i]
		if c != '$' || i+1 >= len(stmt) || stmt[i+1] < '0' || stmt[i+1] > '9' {
			sb.WriteByte(c)
			continue
		}
		j := i + 1
		for j < len(stmt) && stmt[j] >= '0' && stmt[j] <= '9' {
			j++
		}
		n, _ := strconv.Atoi(stmt[i+1 : j])
		sb.WriteString("$" + strconv.Itoa(n+offset))
		i = j - 1
	}
	return sb.String()
}
