package store

import (
	"context"
	"database/sql"
	"fmt"
	"time"

	"github.com/bookinggw/gateway/core"
)

// The self-service port (core.SelfServeStore): Telegram start tokens,
// one-time codes and the hits their limits count.

// InvitationByCode reads an invitation by its code, of any organization.
func (s *Store) InvitationByCode(ctx context.Context, code string) (core.Invitation, error) {
	inv, err := scanInvitation(s.r.QueryRowContext(ctx, `SELECT `+invCols+` FROM invitations i WHERE i.code = $1`, code))
	if err != nil {
		return inv, notFound(err, "invitation")
	}
	return inv, nil
}

// LiveStartToken reads an invitation's start token valid at now.
func (s *Store) LiveStartToken(ctx context.Context, invitationID string, now time.Time) (core.StartToken, error) {
	return scanStartToken(s.r.QueryRowContext(ctx, `SELECT token, org_id, invitation_id, expires_at, created_at FROM start_tokens
		WHERE invitation_id = $1 AND expires_at > $2 ORDER BY expires_at DESC LIMIT 1`, invitationID, ms(now)))
}

// SaveStartToken writes a new start token.
func (s *Store) SaveStartToken(ctx context.Context, t core.StartToken) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO start_tokens (token, org_id, invitation_id, expires_at, created_at) VALUES ($1, $2, $3, $4, $5)`,
		t.Token, t.OrgID, t.InvitationID, ms(t.Expires), ms(t.CreatedAt)); err != nil {
		return fmt.Errorf("store: start token: %w", err)
	}
	return nil
}

// ResolveStartToken reads what a start token stands for.
func (s *Store) ResolveStartToken(ctx context.Context, token string) (core.StartToken, error) {
	return scanStartToken(s.r.QueryRowContext(ctx, `SELECT token, org_id, invitation_id, expires_at, created_at FROM start_tokens
		WHERE token = $1`, token))
}

func scanStartToken(row *sql.Row) (core.StartToken, error) {
	var t core.StartToken
	var exp, created int64
	if err := row.Scan(&t.Token, &t.OrgID, &t.InvitationID, &exp, &created); err != nil {
		return t, notFound(err, "start token")
	}
	t.Expires, t.CreatedAt = fromMS(exp), fromMS(created)
	return t, nil
}

// CreateOTP writes a new one-time code.
func (s *Store) CreateOTP(ctx context.Context, o core.OTP) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO otp_codes (id, org_id, phone, code_hash, payload, attempts, expires_at, created_at)
		VALUES ($1, $2, $3, $4, $5, 0, $6, $7)`, o.ID, o.OrgID, o.Phone, o.CodeHash, core.MarshalRequest(o.Request), ms(o.Expires),
		ms(o.CreatedAt)); err != nil {
		return fmt.Errorf("store: create code: %w", err)
	}
	return nil
}

// CountOTPCheck counts one check of a code and reads it after, in one
// statement, so concurrent checks each count.
func (s *Store) CountOTPCheck(ctx context.Context, id string) (core.OTP, error) {
	var o core.OTP
	var payload string
	var exp, created int64
	var used sql.NullInt64
	err := s.w.QueryRowContext(ctx, `UPDATE otp_codes SET attempts = attempts + 1 WHERE id = $1
		RETURNING id, org_id, phone, code_hash, payload, attempts, expires_at, used_at, created_at`, id).
		Scan(&o.ID, &o.OrgID, &o.Phone, &o.CodeHash, &payload, &o.Attempts, &exp, &used, &created)
	if err != nil {
		return o, notFound(err, "code")
	}
	o.Expires, o.UsedAt, o.CreatedAt = fromMS(exp), fromNullMS(used), fromMS(created)
	if o.Request, err = core.UnmarshalRequest(payload); err != nil {
		return o, fmt.Errorf("store: code payload: %w", err)
	}
	return o, nil
}

// UseOTP marks a code used unless it already was.
func (s *Store) UseOTP(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE otp_codes SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, ms(at), id)
	if err != nil {
		return false, fmt.Errorf("store: use code: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// Hit records one event counted by a limit.
func (s *Store) Hit(ctx context.Context, kind, key string, at time.Time) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO selfserve_hits (id, kind, hkey, at) VALUES ($1, $2, $3, $4)`,
		core.NewID(), kind, key, ms(at)); err != nil {
		return fmt.Errorf("store: hit: %w", err)
	}
	return nil
}

// CountHits counts the events of a kind and key since an instant.
func (s *Store) CountHits(ctx context.Context, kind, key string, since time.Time) (int, error) {
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM selfserve_hits WHERE kind = $1 AND hkey = $2 AND at > $3`,
		kind, key, ms(since)).Scan(&n); err != nil {
		return 0, fmt.Errorf("store: count hits: %w", err)
	}
	return n, nil
}

// LastHit reads the latest event of a kind and key (zero when none).
func (s *Store) LastHit(ctx context.Context, kind, key string) (time.Time, error) {
	var at sql.NullInt64
	if err := s.w.QueryRowContext(ctx, `SELECT MAX(at) FROM selfserve_hits WHERE kind = $1 AND hkey = $2`, kind, key).Scan(&at); err != nil {
		return time.Time{}, fmt.Errorf("store: last hit: %w", err)
	}
	if !at.Valid {
		return time.Time{}, nil
	}
	return fromMS(at.Int64), nil
}

// PurgeSelfServe deletes hits and one-time codes older than before, and
// the bot's keyboards past their retention.
func (s *Store) PurgeSelfServe(ctx context.Context, before time.Time) (int64, error) {
	var total int64
	for _, q := range []string{`DELETE FROM selfserve_hits WHERE at < $1`, `DELETE FROM otp_codes WHERE expires_at < $1`,
		`DELETE FROM start_tokens WHERE expires_at < $1`} {
		res, err := s.w.ExecContext(ctx, q, ms(before))
		if err != nil {
			return total, fmt.Errorf("store: purge self-service: %w", err)
		}
		n, _ := res.RowsAffected()
		total += n
	}
	// The bot's keyboards live a month: a button older than that answers
	// that it is out of date.
	n, err := s.PurgeBotKeyboards(ctx, before.Add(-BotKeyboardRetention))
	return total + n, err
}

// BotKeyboardRetention is how long the bot's keyboards stay usable.
const BotKeyboardRetention = 30 * 24 * time.Hour
