package store

import (
	"context"
	"database/sql"
	"fmt"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

// CreateOrganization writes a new organization with its first director and key.
func (s *Store) CreateOrganization(ctx context.Context, o core.Organization, d core.Staff, k core.APIKey) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `INSERT INTO organizations (id, name, timezone, locale, currency, lost_after_days, cancel_notice_hours, created_at, channel_order, sms_from)
			VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
			o.ID, o.Name, o.Timezone, o.Locale, o.Currency, o.LostAfterDays, o.CancelNoticeHours, ms(o.CreatedAt), joinChannels(o.ChannelOrder), o.SMSFrom); err != nil {
			return fmt.Errorf("store: create organization: %w", err)
		}
		if err := insertStaff(ctx, tx, d); err != nil {
			return err
		}
		return insertKey(ctx, tx, k)
	})
}

const orgCols = `id, name, timezone, locale, currency, lost_after_days, cancel_notice_hours, created_at, channel_order, sms_from,
	hide_contacts_from_marketers`

// GetOrganization reads one organization.
func (s *Store) GetOrganization(ctx context.Context, orgID string) (core.Organization, error) {
	var o core.Organization
	var created int64
	var order string
	err := s.r.QueryRowContext(ctx, `SELECT `+orgCols+` FROM organizations WHERE id = $1`, orgID).
		Scan(&o.ID, &o.Name, &o.Timezone, &o.Locale, &o.Currency, &o.LostAfterDays, &o.CancelNoticeHours, &created, &order, &o.SMSFrom,
			&o.HideContactsFromMarketers)
	if err != nil {
		return o, notFound(err, "organization")
	}
	o.CreatedAt = fromMS(created)
	o.ChannelOrder = splitChannels(order)
	return o, nil
}

// UpdateOrganization writes an organization's settings.
func (s *Store) UpdateOrganization(ctx context.Context, o core.Organization) error {
	res, err := s.w.ExecContext(ctx, `UPDATE organizations SET name = $1, timezone = $2, locale = $3, currency = $4,
		lost_after_days = $5, cancel_notice_hours = $6, channel_order = $7, sms_from = $8, hide_contacts_from_marketers = $9 WHERE id = $10`,
		o.Name, o.Timezone, o.Locale, o.Currency, o.LostAfterDays, o.CancelNoticeHours, joinChannels(o.ChannelOrder), o.SMSFrom,
		o.HideContactsFromMarketers, o.ID)
	return checkAffected(res, err, "organization")
}

// CreateCenter writes a new center.
func (s *Store) CreateCenter(ctx context.Context, c core.Center) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO centers (id, org_id, name, address, phone, timezone, created_at, sms_from, slack_channel)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)`, c.ID, c.OrgID, c.Name, c.Address, c.Phone, c.Timezone, ms(c.CreatedAt), c.SMSFrom, c.SlackChannel)
	if err != nil {
		return fmt.Errorf("store: create center: %w", err)
	}
	return nil
}

const centerCols = `id, org_id, name, address, phone, timezone, created_at, sms_from, slack_channel`

func scanCenter(row interface{ Scan(...any) error }) (core.Center, error) {
	var c core.Center
	var created int64
	err := row.Scan(&c.ID, &c.OrgID, &c.Name, &c.Address, &c.Phone, &c.Timezone, &created, &c.SMSFrom, &c.SlackChannel)
	c.CreatedAt = fromMS(created)
	return c, err
}

// GetCenter reads one center of an organization.
func (s *Store) GetCenter(ctx context.Context, orgID, id string) (core.Center, error) {
	c, err := scanCenter(s.r.QueryRowContext(ctx, `SELECT `+centerCols+` FROM centers WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return c, notFound(err, "center")
	}
	return c, nil
}

// ListCenters lists an organization's centers in creation order.
func (s *Store) ListCenters(ctx context.Context, orgID string, p core.Page) ([]core.Center, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+centerCols+` FROM centers WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list centers: %w", err)
	}
	return collect(rows, scanCenter)
}

// UpdateCenter writes a center's fields.
func (s *Store) UpdateCenter(ctx context.Context, c core.Center) error {
	res, err := s.w.ExecContext(ctx, `UPDATE centers SET name = $1, address = $2, phone = $3, timezone = $4, sms_from = $5, slack_channel = $6
		WHERE org_id = $7 AND id = $8`, c.Name, c.Address, c.Phone, c.Timezone, c.SMSFrom, c.SlackChannel, c.OrgID, c.ID)
	return checkAffected(res, err, "center")
}

func insertStaff(ctx context.Context, tx *sql.Tx, st core.Staff) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO staff (id, org_id, name, email, phone, role, timezone, active, created_at, slack_user_id, telegram_chat_id)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)`,
		st.ID, st.OrgID, st.Name, st.Email, st.Phone, string(st.Role), st.Timezone, st.Active, ms(st.CreatedAt), st.SlackUserID, st.TelegramChatID); err != nil {
		return fmt.Errorf("store: create staff: %w", err)
	}
	return setStaffCenters(ctx, tx, st)
}

func setStaffCenters(ctx context.Context, tx *sql.Tx, st core.Staff) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM staff_centers WHERE staff_id = $1`, st.ID); err != nil {
		return fmt.Errorf("store: staff centers: %w", err)
	}
	for _, c := range st.CenterIDs {
		// The center must belong to the staff member's organization.
		res, err := tx.ExecContext(ctx, `INSERT INTO staff_centers (staff_id, center_id)
			SELECT $1, id FROM centers WHERE id = $2 AND org_id = $3`, st.ID, c, st.OrgID)
		if err := checkAffected(res, err, "center"); err != nil {
			return err
		}
	}
	return nil
}

// CreateStaff writes a new staff member and their centers.
func (s *Store) CreateStaff(ctx context.Context, st core.Staff) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertStaff(ctx, tx, st) })
}

const staffCols = `id, org_id, name, email, phone, role, timezone, active, created_at, slack_user_id, telegram_chat_id`

func scanStaff(row interface{ Scan(...any) error }) (core.Staff, error) {
	var st core.Staff
	var created int64
	var role string
	err := row.Scan(&st.ID, &st.OrgID, &st.Name, &st.Email, &st.Phone, &role, &st.Timezone, &st.Active, &created, &st.SlackUserID, &st.TelegramChatID)
	st.Role = core.Role(role)
	st.CreatedAt = fromMS(created)
	return st, err
}

func (s *Store) staffCenters(ctx context.Context, ids ...string) (map[string][]string, error) {
	out := make(map[string][]string, len(ids))
	for _, id := range ids {
		out[id] = []string{}
	}
	if len(ids) == 0 {
		return out, nil
	}
	q, args := inList(`SELECT staff_id, center_id FROM staff_centers WHERE staff_id IN `, 1, ids)
	rows, err := s.r.QueryContext(ctx, q+` ORDER BY center_id`, args...)
	if err != nil {
		return nil, fmt.Errorf("store: staff centers: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var sid, cid string
		if err := rows.Scan(&sid, &cid); err != nil {
			return nil, fmt.Errorf("store: staff centers: %w", err)
		}
		out[sid] = append(out[sid], cid)
	}
	return out, rows.Err()
}

// GetStaff reads one staff member of an organization.
func (s *Store) GetStaff(ctx context.Context, orgID, id string) (core.Staff, error) {
	st, err := scanStaff(s.r.QueryRowContext(ctx, `SELECT `+staffCols+` FROM staff WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return st, notFound(err, "staff member")
	}
	cs, err := s.staffCenters(ctx, st.ID)
	st.CenterIDs = cs[st.ID]
	return st, err
}

// ListStaff lists an organization's staff in creation order.
func (s *Store) ListStaff(ctx context.Context, orgID string, p core.Page) ([]core.Staff, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+staffCols+` FROM staff WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list staff: %w", err)
	}
	list, err := collect(rows, scanStaff)
	if err != nil {
		return nil, err
	}
	return s.withCenters(ctx, list)
}

// withCenters fills in the staff members' centres with one query.
func (s *Store) withCenters(ctx context.Context, list []core.Staff) ([]core.Staff, error) {
	ids := make([]string, len(list))
	for i, st := range list {
		ids[i] = st.ID
	}
	cs, err := s.staffCenters(ctx, ids...)
	for i := range list {
		list[i].CenterIDs = cs[list[i].ID]
	}
	return list, err
}

// UpdateStaff writes a staff member's fields and centers.
func (s *Store) UpdateStaff(ctx context.Context, st core.Staff) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE staff SET name = $1, email = $2, phone = $3, role = $4, timezone = $5, active = $6,
			slack_user_id = $7, telegram_chat_id = $8 WHERE org_id = $9 AND id = $10`,
			st.Name, st.Email, st.Phone, string(st.Role), st.Timezone, st.Active, st.SlackUserID, st.TelegramChatID, st.OrgID, st.ID)
		if err := checkAffected(res, err, "staff member"); err != nil {
			return err
		}
		return setStaffCenters(ctx, tx, st)
	})
}

func insertKey(ctx context.Context, tx *sql.Tx, k core.APIKey) error {
	// The staff member must belong to the key's organization.
	res, err := tx.ExecContext(ctx, `INSERT INTO api_keys (id, org_id, staff_id, name, hash, created_at)
		SELECT $1, org_id, id, $2, $3, $4 FROM staff WHERE id = $5 AND org_id = $6`,
		k.ID, k.Name, k.Hash, ms(k.CreatedAt), k.StaffID, k.OrgID)
	return checkAffected(res, err, "staff member")
}

// CreateAPIKey writes a new key (its hash only).
func (s *Store) CreateAPIKey(ctx context.Context, k core.APIKey) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertKey(ctx, tx, k) })
}

const keyCols = `id, org_id, staff_id, name, hash, created_at, revoked_at`

func scanKey(row interface{ Scan(...any) error }) (core.APIKey, error) {
	var k core.APIKey
	var created int64
	var revoked sql.NullInt64
	err := row.Scan(&k.ID, &k.OrgID, &k.StaffID, &k.Name, &k.Hash, &created, &revoked)
	k.CreatedAt = fromMS(created)
	k.RevokedAt = fromNullMS(revoked)
	return k, err
}

// FindAPIKey reads a key and its staff member by key id.
func (s *Store) FindAPIKey(ctx context.Context, id string) (core.APIKey, core.Staff, error) {
	k, err := scanKey(s.r.QueryRowContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE id = $1`, id))
	if err != nil {
		return k, core.Staff{}, notFound(err, "API key")
	}
	st, err := s.GetStaff(ctx, k.OrgID, k.StaffID)
	return k, st, err
}

// ListAPIKeys lists an organization's keys in creation order.
func (s *Store) ListAPIKeys(ctx context.Context, orgID string, p core.Page) ([]core.APIKey, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+keyCols+` FROM api_keys WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list API keys: %w", err)
	}
	return collect(rows, scanKey)
}

// RevokeAPIKey marks a key revoked; revoking twice keeps the first instant.
func (s *Store) RevokeAPIKey(ctx context.Context, orgID, id string, at time.Time) error {
	res, err := s.w.ExecContext(ctx, `UPDATE api_keys SET revoked_at = COALESCE(revoked_at, $1) WHERE org_id = $2 AND id = $3`, ms(at), orgID, id)
	return checkAffected(res, err, "API key")
}

// collect scans every row with scan and closes rows.
func collect[T any](rows *sql.Rows, scan func(interface{ Scan(...any) error }) (T, error)) ([]T, error) {
	defer rows.Close()
	out := []T{}
	for rows.Next() {
		v, err := scan(rows)
		if err != nil {
			return nil, fmt.Errorf("store: scan: %w", err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("store: rows: %w", err)
	}
	return out, nil
}

// inList appends "($n, $n+1, …)" for vals to q, numbering from first.
func inList(q string, first int, vals []string) (string, []any) {
	args := make([]any, len(vals))
	b := []byte(q + "(")
	for i, v := range vals {
		if i > 0 {
			b = append(b, ", "...)
		}
		b = fmt.Appendf(b, "$%d", first+i)
		args[i] = v
	}
	return string(append(b, ')')), args
}

// clientCenters is the condition "the client in column col belongs to no
// centre or to one of centerIDs", numbering its placeholders from first:
// the policy's centre filter for rows that belong to a client.
func clientCenters(col string, first int, centerIDs []string) (string, []any) {
	in, args := inList("cc.center_id IN ", first, centerIDs)
	return ` AND (NOT EXISTS (SELECT 1 FROM client_centers cc WHERE cc.client_id = ` + col + `)
		OR EXISTS (SELECT 1 FROM client_centers cc WHERE cc.client_id = ` + col + ` AND ` + in + `))`, args
}

func joinChannels(cs []core.Channel) string {
	parts := make([]string, len(cs))
	for i, c := range cs {
		parts[i] = string(c)
	}
	return strings.Join(parts, ",")
}

func splitChannels(s string) []core.Channel {
	out := []core.Channel{}
	for _, p := range strings.Split(s, ",") {
		if p != "" {
			out = append(out, core.Channel(p))
		}
	}
	return out
}
