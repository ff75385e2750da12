package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bookinggw/gateway/core"
)

// The Telegram booking bot's state: its users and its keyboards' choices.

// GetBotUser reads what the bot keeps of a Telegram user.
func (s *Store) GetBotUser(ctx context.Context, tgID string) (core.BotUser, error) {
	var u core.BotUser
	var at int64
	err := s.r.QueryRowContext(ctx, `SELECT tg_user_id, locale, timezone, org_id, invitation_id, client_id, awaiting, updated_at
		FROM bot_users WHERE tg_user_id = $1`, tgID).Scan(&u.TelegramID, &u.Locale, &u.Timezone, &u.OrgID, &u.InvitationID, &u.ClientID, &u.Awaiting, &at)
	if err != nil {
		return u, notFound(err, "bot user")
	}
	u.UpdatedAt = fromMS(at)
	return u, nil
}

// SaveBotUser writes a Telegram user's state, creating it when new.
func (s *Store) SaveBotUser(ctx context.Context, u core.BotUser) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO bot_users (tg_user_id, locale, timezone, org_id, invitation_id, client_id, awaiting, updated_at)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
		ON CONFLICT (tg_user_id) DO UPDATE SET locale = EXCLUDED.locale, timezone = EXCLUDED.timezone, org_id = EXCLUDED.org_id,
			invitation_id = EXCLUDED.invitation_id, client_id = EXCLUDED.client_id, awaiting = EXCLUDED.awaiting, updated_at = EXCLUDED.updated_at`,
		u.TelegramID, u.Locale, u.Timezone, u.OrgID, u.InvitationID, u.ClientID, u.Awaiting, ms(u.UpdatedAt)); err != nil {
		return fmt.Errorf("store: save bot user: %w", err)
	}
	return nil
}

// SaveBotKeyboard writes the choices of an inline keyboard; one shown
// again (the same id) lives on from now.
func (s *Store) SaveBotKeyboard(ctx context.Context, k core.BotKeyboard) error {
	if _, err := s.w.ExecContext(ctx, `INSERT INTO bot_keyboards (id, tg_user_id, payload, created_at) VALUES ($1, $2, $3, $4)
		ON CONFLICT (id) DO UPDATE SET created_at = EXCLUDED.created_at`,
		k.ID, k.TelegramID, k.Payload, ms(k.CreatedAt)); err != nil {
		return fmt.Errorf("store: save bot keyboard: %w", err)
	}
	return nil
}

// GetBotKeyboard reads a keyboard's choices.
func (s *Store) GetBotKeyboard(ctx context.Context, id string) (core.BotKeyboard, error) {
	var k core.BotKeyboard
	var used sql.NullInt64
	var created int64
	err := s.r.QueryRowContext(ctx, `SELECT id, tg_user_id, payload, used_at, created_at FROM bot_keyboards WHERE id = $1`, id).
		Scan(&k.ID, &k.TelegramID, &k.Payload, &used, &created)
	if err != nil {
		return k, notFound(err, "keyboard")
	}
	k.UsedAt, k.CreatedAt = fromNullMS(used), fromMS(created)
	return k, nil
}

// UseBotKeyboard marks a keyboard used; false when it already was (a
// second tap).
func (s *Store) UseBotKeyboard(ctx context.Context, id string, at time.Time) (bool, error) {
	res, err := s.w.ExecContext(ctx, `UPDATE bot_keyboards SET used_at = $1 WHERE id = $2 AND used_at IS NULL`, ms(at), id)
	if err != nil {
		return false, fmt.Errorf("store: use bot keyboard: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// ReleaseBotKeyboard makes a used keyboard usable again (the work its tap
// started failed on our side, so Telegram's retry runs it again).
func (s *Store) ReleaseBotKeyboard(ctx context.Context, id string) error {
	if _, err := s.w.ExecContext(ctx, `UPDATE bot_keyboards SET used_at = NULL WHERE id = $1`, id); err != nil {
		return fmt.Errorf("store: release bot keyboard: %w", err)
	}
	return nil
}

// PurgeBotKeyboards forgets keyboards made before an instant; a button of
// one then answers that it is out of date.
func (s *Store) PurgeBotKeyboards(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM bot_keyboards WHERE created_at < $1`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge bot keyboards: %w", err)
	}
	return res.RowsAffected()
}

// StaffByTelegram lists the active staff members, of any organization,
// whose staff notifications go to a Telegram chat.
func (s *Store) StaffByTelegram(ctx context.Context, chatID string) ([]core.Staff, error) {
	if chatID == "" {
		return nil, errors.New("store: staff by telegram: empty chat id")
	}
	rows, err := s.r.QueryContext(ctx, `SELECT `+staffCols+` FROM staff WHERE telegram_chat_id = $1 AND active ORDER BY id`, chatID)
	if err != nil {
		return nil, fmt.Errorf("store: staff by telegram: %w", err)
	}
	list, err := collect(rows, scanStaff)
	if err != nil {
		return nil, err
	}
	return s.withCenters(ctx, list)
}

// JoinTeam runs a specialist's join through a team invitation in one
// transaction, as JoinInvitation does for clients: the invitation is
// locked, check decides, the use is counted and the staff member
// inserted. A Telegram chat already on a staff record of the organization
// joins again without counting a use.
func (s *Store) JoinTeam(ctx context.Context, orgID, code string, st core.Staff, check func(core.Invitation) error) (core.Staff, bool, error) {
	existing := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		inv, err := s.lockInvitation(ctx, tx, orgID, code)
		if err != nil {
			return err
		}
		if st.TelegramChatID != "" {
			old, err := scanStaff(tx.QueryRowContext(ctx, `SELECT `+staffCols+` FROM staff WHERE org_id = $1 AND telegram_chat_id = $2
				ORDER BY id LIMIT 1`, orgID, st.TelegramChatID))
			if err == nil {
				st, existing = old, true
				return nil
			}
			if !errors.Is(err, sql.ErrNoRows) {
				return fmt.Errorf("store: join team: %w", err)
			}
		}
		if err := check(inv); err != nil {
			return err
		}
		res, err := tx.ExecContext(ctx, `UPDATE invitations SET uses = uses + 1 WHERE id = $1 AND uses = $2`, inv.ID, inv.Uses)
		if err := checkAffected(res, err, "invitation"); err != nil {
			if core.ErrorCode(err) == core.CodeNotFound {
				return core.Conflict("invitation already used")
			}
			return err
		}
		return insertStaff(ctx, tx, st)
	})
	return st, existing, err
}
