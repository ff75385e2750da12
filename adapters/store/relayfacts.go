package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

// The relay builds a batch of events' messages from what these read in one
// query each (appointments, clients with their channels, opt-outs of their
// phones) and writes the batch's link tokens in one statement, instead of
// five round trips per message, two of them on SQLite's single writer.
// Ids are unique across organizations; callers check each row's
// organization against the event's.

// AppointmentsByID reads the appointments of the given ids that exist.
func (s *Store) AppointmentsByID(ctx context.Context, ids []string) ([]core.Appointment, error) {
	if len(ids) == 0 {
		return nil, nil
	}
	in, args := inList(" WHERE id IN ", 1, ids)
	rows, err := s.r.QueryContext(ctx, `SELECT `+apptCols+` FROM appointments`+in, args...)
	if err != nil {
		return nil, fmt.Errorf("store: appointments: %w", err)
	}
	return collect(rows, scanAppt)
}

// ClientsWithChannelsByID reads the clients of the given ids that exist,
// each with its channel settings in preference order (ClientWithChannels
// for many clients).
func (s *Store) ClientsWithChannelsByID(ctx context.Context, ids []string) ([]core.Client, map[string][]core.ChannelPref, error) {
	if len(ids) == 0 {
		return nil, nil, nil
	}
	in, args := inList(" WHERE c.id IN ", 1, ids)
	rows, err := s.r.QueryContext(ctx, `SELECT `+clientCols+`, cc.channel, cc.consent, cc.opted_out_at, cc.position FROM clients c
		LEFT JOIN client_channels cc ON cc.client_id = c.id`+in+` ORDER BY c.id, cc.position, cc.channel`, args...)
	if err != nil {
		return nil, nil, fmt.Errorf("store: clients: %w", err)
	}
	defer rows.Close()
	var clients []core.Client
	prefs := map[string][]core.ChannelPref{}
	for rows.Next() {
		var ch sql.NullString
		var consent sql.NullBool
		var out, pos sql.NullInt64
		c, err := scanClientAnd(rows, &ch, &consent, &out, &pos)
		if err != nil {
			return nil, nil, fmt.Errorf("store: clients: %w", err)
		}
		if len(clients) == 0 || clients[len(clients)-1].ID != c.ID {
			clients = append(clients, c)
			prefs[c.ID] = []core.ChannelPref{}
		}
		if ch.Valid {
			prefs[c.ID] = append(prefs[c.ID], core.ChannelPref{Channel: core.Channel(ch.String), Consent: consent.Bool,
				OptedOut: fromNullMS(out), Position: int(pos.Int64)})
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, fmt.Errorf("store: clients: %w", err)
	}
	return clients, prefs, nil
}

// SenderOptOutsOfPhones lists the opt-outs of the given phones, of every
// sender and channel (SenderOptOuts for many phones).
func (s *Store) SenderOptOutsOfPhones(ctx context.Context, phones []string) ([]core.SenderOptOut, error) {
	if len(phones) == 0 {
		return nil, nil
	}
	in, args := inList(" WHERE phone IN ", 1, phones)
	rows, err := s.r.QueryContext(ctx, `SELECT channel, sender, phone, opted_out_at, inbound_id FROM sender_optouts`+in+
		` ORDER BY phone, sender, channel`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: sender opt-outs: %w", err)
	}
	return collect(rows, scanSenderOptOut)
}

// LinkTokens is LinkToken for many appointments in one statement: each
// appointment's link for its action is created with its Token the first
// time, its expiry moved to Expires; it returns the tokens by appointment
// id. Each appointment and action appears once in ts.
func (s *Store) LinkTokens(ctx context.Context, ts []core.LinkToken) (map[string]string, error) {
	out := make(map[string]string, len(ts))
	if len(ts) == 0 {
		return out, nil
	}
	var b strings.Builder
	b.WriteString(`INSERT INTO link_tokens (token, org_id, appointment_id, action, expires_at, created_at) VALUES `)
	args := make([]any, 0, 6*len(ts))
	now := ms(time.Now())
	for i, t := range ts {
		if i > 0 {
			b.WriteString(", ")
		}
		n := len(args)
		fmt.Fprintf(&b, "($%d, $%d, $%d, $%d, $%d, $%d)", n+1, n+2, n+3, n+4, n+5, n+6)
		args = append(args, t.Token, t.OrgID, t.AppointmentID, string(t.Action), ms(t.Expires), now)
	}
	b.WriteString(` ON CONFLICT (appointment_id, action) DO UPDATE SET expires_at = excluded.expires_at RETURNING appointment_id, token`)
	rows, err := s.w.QueryContext(ctx, b.String(), args...)
	if err != nil {
		return nil, fmt.Errorf("store: link tokens: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var appt, tok string
		if err := rows.Scan(&appt, &tok); err != nil {
			return nil, fmt.Errorf("store: link tokens: %w", err)
		}
		out[appt] = tok
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: link tokens: %w", err)
	}
	return out, nil
}
