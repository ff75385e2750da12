package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

const campaignCols = `id, org_id, name, channels, audience, texts, fallback_locale, template, send_at, send_window, rate_per_minute,
	status, status_reason, center_ids, created_by, frozen_at, finished_at, fanout_after, fanout_done, created_at, updated_at`

func scanCampaign(r interface{ Scan(...any) error }) (core.Campaign, error) {
	var c core.Campaign
	var channels, audience, texts, tpl, window, centers, status string
	var sendAt, frozen, finished sql.NullInt64
	var created, updated int64
	if err := r.Scan(&c.ID, &c.OrgID, &c.Name, &channels, &audience, &texts, &c.FallbackLocale, &tpl, &sendAt, &window,
		&c.RatePerMinute, &status, &c.StatusReason, &centers, &c.CreatedBy, &frozen, &finished, &c.FanoutAfter, &c.FanoutDone,
		&created, &updated); err != nil {
		return c, err
	}
	c.Status = core.CampaignStatus(status)
	c.SendAt, c.FrozenAt, c.FinishedAt = fromNullMS(sendAt), fromNullMS(frozen), fromNullMS(finished)
	c.CreatedAt, c.UpdatedAt = fromMS(created), fromMS(updated)
	for _, x := range []struct {
		s string
		v any
	}{{channels, &c.Channels}, {audience, &c.Audience}, {texts, &c.Texts}, {tpl, &c.Template}, {window, &c.Window}, {centers, &c.CenterIDs}} {
		if err := json.Unmarshal([]byte(x.s), x.v); err != nil {
			return c, fmt.Errorf("campaign %s: %w", c.ID, err)
		}
	}
	if c.CenterIDs == nil {
		c.CenterIDs = []string{}
	}
	return c, nil
}

// CreateCampaign stores a new campaign.
func (s *Store) CreateCampaign(ctx context.Context, c core.Campaign) error {
	if c.CenterIDs == nil {
		c.CenterIDs = []string{}
	}
	_, err := s.w.ExecContext(ctx, `INSERT INTO campaigns (`+campaignCols+`) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,
		$12, $13, $14, $15, $16, $17, $18, $19, $20, $21)`, c.ID, c.OrgID, c.Name, jsonText(c.Channels), jsonText(c.Audience),
		jsonText(c.Texts), c.FallbackLocale, jsonText(c.Template), nullMS(c.SendAt), jsonText(c.Window), c.RatePerMinute,
		string(c.Status), c.StatusReason, jsonText(c.CenterIDs), c.CreatedBy, nullMS(c.FrozenAt), nullMS(c.FinishedAt), c.FanoutAfter,
		c.FanoutDone, ms(c.CreatedAt), ms(c.UpdatedAt))
	if err != nil {
		return fmt.Errorf("store: create campaign: %w", err)
	}
	return nil
}

// GetCampaign reads an organization's campaign.
func (s *Store) GetCampaign(ctx context.Context, orgID, id string) (core.Campaign, error) {
	c, err := scanCampaign(s.r.QueryRowContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return c, notFound(err, "campaign")
	}
	return c, nil
}

// GetCampaignByID reads a campaign by id alone.
func (s *Store) GetCampaignByID(ctx context.Context, id string) (core.Campaign, error) {
	c, err := scanCampaign(s.stmtRow(ctx, s.w, `SELECT `+campaignCols+` FROM campaigns WHERE id = $1`, id))
	if err != nil {
		return c, notFound(err, "campaign")
	}
	return c, nil
}

// ListCampaigns lists an organization's campaigns in creation order.
func (s *Store) ListCampaigns(ctx context.Context, orgID string, p core.Page) ([]core.Campaign, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`,
		orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list campaigns: %w", err)
	}
	return collect(rows, scanCampaign)
}

// UpdateCampaign writes the editable fields (name, send time, rate).
func (s *Store) UpdateCampaign(ctx context.Context, c core.Campaign) error {
	res, err := s.w.ExecContext(ctx, `UPDATE campaigns SET name = $1, send_at = $2, rate_per_minute = $3, updated_at = $4
		WHERE org_id = $5 AND id = $6`, c.Name, nullMS(c.SendAt), c.RatePerMinute, ms(c.UpdatedAt), c.OrgID, c.ID)
	return checkAffected(res, err, "campaign")
}

// SetCampaignStatus moves a campaign between statuses, conditionally.
// Starting to send freezes the audience (frozen_at); finishing records
// finished_at.
func (s *Store) SetCampaignStatus(ctx context.Context, orgID, id string, from []core.CampaignStatus, to core.CampaignStatus, reason string,
	at time.Time) (bool, error) {
	vals := make([]string, len(from))
	for i, f := range from {
		vals[i] = string(f)
	}
	res, err := s.w.ExecContext(ctx, `UPDATE campaigns SET status = $1, status_reason = $2, updated_at = $3,
		frozen_at = CASE WHEN $1 = 'sending' AND frozen_at IS NULL THEN $3 ELSE frozen_at END,
		finished_at = CASE WHEN $1 IN ('finished', 'cancelled') THEN $3 ELSE finished_at END
		WHERE org_id = $4 AND id = $5 AND status IN `+sqlList(vals), string(to), reason, ms(at), orgID, id)
	if err != nil {
		return false, fmt.Errorf("store: campaign status: %w", err)
	}
	n, err := res.RowsAffected()
	return n == 1, err
}

// HoldCampaignMessages moves the campaign's queued messages (and paused
// ones, when cancelling) to status to.
func (s *Store) HoldCampaignMessages(ctx context.Context, id string, to core.MessageStatus, reason string, at time.Time) (int, error) {
	from := "('queued')"
	if to == core.MsgSkipped {
		from = "('queued', 'paused')"
	}
	res, err := s.w.ExecContext(ctx, `UPDATE messages SET status = $1, last_error = $2, updated_at = $3
		WHERE campaign_id = $4 AND status IN `+from, string(to), reason, ms(at), id)
	if err != nil {
		return 0, fmt.Errorf("store: hold campaign messages: %w", err)
	}
	n, err := res.RowsAffected()
	return int(n), err
}

// ReleaseCampaignMessages queues up to limit paused messages again, due now.
func (s *Store) ReleaseCampaignMessages(ctx context.Context, id string, at time.Time, limit int) ([]core.Message, error) {
	rows, err := s.w.QueryContext(ctx, `UPDATE messages SET status = 'queued', last_error = '', updated_at = $1, due_at = $1
		WHERE id IN (SELECT id FROM messages WHERE campaign_id = $2 AND status = 'paused' LIMIT $3) AND status = 'paused'
		RETURNING `+msgCols, ms(at), id, limit)
	if err != nil {
		return nil, fmt.Errorf("store: release campaign messages: %w", err)
	}
	return collect(rows, scanMsg)
}

const recipientCols = `campaign_id, id, client_id, channel, address, address_key, locale, message_id, reason`

// AppendCampaignBatch writes one fan-out batch in one transaction: moves
// the cursor (only from where the caller read it), inserts the recipients
// in one multi-row statement (an address already taken makes the row
// skipped as a duplicate, without message), then their messages in
// another.
func (s *Store) AppendCampaignBatch(ctx context.Context, orgID string, b core.CampaignBatch, at time.Time) ([]core.Message, bool, error) {
	var created []core.Message
	moved := false
	err := s.tx(ctx, func(tx *sql.Tx) error {
		created, moved = created[:0], false
		res, err := tx.ExecContext(ctx, `UPDATE campaigns SET fanout_after = $1, fanout_done = $2, updated_at = $3
			WHERE id = $4 AND fanout_after = $5 AND fanout_done = FALSE AND status = 'sending'`, b.Next, b.Done, ms(at), b.CampaignID, b.After)
		if err != nil {
			return fmt.Errorf("store: campaign cursor: %w", err)
		}
		if n, _ := res.RowsAffected(); n == 0 {
			return nil
		}
		moved = true
		if len(b.Recipients) == 0 {
			return nil
		}
		inserted, err := insertRecipients(ctx, tx, s.dialect == SQLite, b.CampaignID, b.Recipients)
		if err != nil {
			return err
		}
		var dups []core.CampaignRecipient
		var msgs []core.Message
		byID := map[string]core.Message{}
		for _, m := range b.Messages {
			byID[m.ID] = m
		}
		for _, r := range b.Recipients {
			if inserted[r.ID] {
				if m, ok := byID[r.MessageID]; ok {
					msgs = append(msgs, m)
				}
				continue
			}
			if r.MessageID != "" { // the address was taken by an earlier recipient
				dups = append(dups, core.CampaignRecipient{ID: r.ID, ClientID: r.ClientID, Channel: r.Channel, Locale: r.Locale,
					Reason: "duplicate address: another recipient of this campaign has it"})
			}
		}
		if len(dups) > 0 {
			if _, err := insertRecipients(ctx, tx, s.dialect == SQLite, b.CampaignID, dups); err != nil {
				return err
			}
		}
		if created, err = insertMessages(ctx, tx, s.dialect == SQLite, msgs); err != nil {
			return err
		}
		return nil
	})
	return created, moved, err
}

func addressKey(r core.CampaignRecipient) string {
	if r.MessageID == "" {
		return "client:" + r.ClientID // skipped: one row per client
	}
	return string(r.Channel) + ":" + r.Address
}

// rowArgs builds the placeholders of a multi-row INSERT. SQLite gets
// plain "?": its driver looks "$N" parameters up by name, one scan of
// every name per parameter, which made a 500-row INSERT of messages
// (15,500 parameters) take seconds.
type rowArgs struct {
	args   []any
	sqlite bool
}

func (a *rowArgs) add(v any) string {
	a.args = append(a.args, v)
	if a.sqlite {
		return "?"
	}
	return "$" + strconv.Itoa(len(a.args))
}

// insertRecipients writes rows in one statement and reports which ids
// were written (the others' address key exists).
func insertRecipients(ctx context.Context, tx *sql.Tx, sqlite bool, campaignID string, rs []core.CampaignRecipient) (map[string]bool, error) {
	a := &rowArgs{sqlite: sqlite}
	vals := make([]string, len(rs))
	for i, r := range rs {
		vals[i] = "(" + strings.Join([]string{a.add(campaignID), a.add(r.ID), a.add(r.ClientID), a.add(string(r.Channel)), a.add(r.Address),
			a.add(addressKey(r)), a.add(r.Locale), a.add(r.MessageID), a.add(r.Reason)}, ", ") + ")"
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO campaign_recipients (`+recipientCols+`) VALUES `+strings.Join(vals, ", ")+
		` ON CONFLICT (campaign_id, address_key) DO NOTHING RETURNING id`, a.args...)
	if err != nil {
		return nil, fmt.Errorf("store: insert campaign recipients: %w", err)
	}
	out, err := idSet(rows, len(rs))
	if err != nil {
		return nil, fmt.Errorf("store: insert campaign recipients: %w", err)
	}
	return out, nil
}

// insertMessages writes outbox rows in one statement (the relay's
// per-row insert is for events; a campaign writes hundreds at a time).
func insertMessages(ctx context.Context, tx *sql.Tx, sqlite bool, ms_ []core.Message) ([]core.Message, error) {
	if len(ms_) == 0 {
		return nil, nil
	}
	a := &rowArgs{sqlite: sqlite}
	vals := make([]string, len(ms_))
	for i, m := range ms_ {
		if m.Buttons == nil {
			m.Buttons = []core.Button{}
		}
		if m.Fallback == nil {
			m.Fallback = []core.Channel{}
		}
		ph := []string{a.add(m.ID), a.add(m.OrgID), a.add(m.CenterID), a.add(m.RecipientKind), a.add(m.RecipientID), a.add(string(m.Channel)),
			a.add(m.To), a.add(m.From), a.add(m.Kind), a.add(m.Locale), a.add(m.Subject), a.add(m.Body), a.add(m.HTML), a.add(jsonText(m.Buttons)),
			a.add(string(m.Status)), a.add(m.ProviderID), a.add(m.Attempts), a.add(m.LastError), a.add(m.ErrorCode), a.add(m.Segments),
			a.add(m.Encoding), a.add(m.DedupeKey), a.add(jsonText(m.Fallback)), a.add(m.EventID), a.add(m.AppointmentID), a.add(ms(m.DueAt)),
			a.add(ms(m.CreatedAt)), a.add(ms(m.UpdatedAt)), a.add(nullMS(m.SentAt)), a.add(nullMS(m.DeliveredAt)), a.add(m.CampaignID)}
		vals[i] = "(" + strings.Join(ph, ", ") + ")"
	}
	rows, err := tx.QueryContext(ctx, `INSERT INTO messages (`+msgCols+`) VALUES `+strings.Join(vals, ", ")+
		` ON CONFLICT (org_id, dedupe_key) DO NOTHING RETURNING id`, a.args...)
	if err != nil {
		return nil, fmt.Errorf("store: insert campaign messages: %w", err)
	}
	defer rows.Close()
	written := map[string]bool{}
	for rows.Next() {
		var id string
		if err := rows.Scan(&id); err != nil {
			return nil, fmt.Errorf("store: insert campaign messages: %w", err)
		}
		written[id] = true
	}
	out := make([]core.Message, 0, len(written))
	for _, m := range ms_ {
		if written[m.ID] {
			out = append(out, m)
		}
	}
	return out, rows.Err()
}

// InsertMessages writes outbox rows with one multi-row statement (the
// fan-out benchmark's baseline).
func (s *Store) InsertMessages(ctx context.Context, msgs []core.Message) ([]core.Message, error) {
	var out []core.Message
	err := s.tx(ctx, func(tx *sql.Tx) error {
		var err error
		out, err = insertMessages(ctx, tx, s.dialect == SQLite, msgs)
		return err
	})
	return out, err
}

// CampaignCounts counts a campaign's recipients by state.
func (s *Store) CampaignCounts(ctx context.Context, id string) (core.CampaignCounts, error) {
	n := core.CampaignCounts{Reasons: map[string]int{}}
	rows, err := s.r.QueryContext(ctx, `SELECT COALESCE(m.status, 'skipped'),
		CASE WHEN m.status IS NULL THEN r.reason WHEN m.status = 'skipped' THEN m.last_error ELSE '' END, COUNT(*)
		FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id AND r.message_id <> ''
		WHERE r.campaign_id = $1 GROUP BY 1, 2`, id)
	if err != nil {
		return n, fmt.Errorf("store: campaign counts: %w", err)
	}
	defer rows.Close()
	for rows.Next() {
		var st, reason string
		var k int
		if err := rows.Scan(&st, &reason, &k); err != nil {
			return n, fmt.Errorf("store: campaign counts: %w", err)
		}
		n.Total += k
		switch core.MessageStatus(st) {
		case core.MsgQueued, core.MsgSending, core.MsgPaused:
			n.Queued += k
			n.Pending += k
		case core.MsgSent:
			n.Sent += k
		case core.MsgDelivered:
			n.Delivered += k
		case core.MsgFailed, core.MsgUndelivered:
			n.Failed += k
		default:
			n.Skipped += k
			n.Reasons[reason] += k
		}
	}
	return n, rows.Err()
}

// CampaignPending reports whether any of the campaign's messages is
// queued, sending or paused: a probe of messages_campaign, where
// CampaignCounts joins every recipient.
func (s *Store) CampaignPending(ctx context.Context, id string) (bool, error) {
	var one int
	err := s.r.QueryRowContext(ctx, `SELECT 1 FROM messages WHERE campaign_id = $1 AND status IN ('queued', 'sending', 'paused')
		AND kind = 'campaign' LIMIT 1`, id).Scan(&one)
	if errors.Is(err, sql.ErrNoRows) {
		return false, nil
	}
	if err != nil {
		return false, fmt.Errorf("store: campaign pending: %w", err)
	}
	return true, nil
}

// ListCampaignRecipients lists recipients with their messages' states.
func (s *Store) ListCampaignRecipients(ctx context.Context, id string, p core.Page) ([]core.CampaignRecipient, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT r.id, r.client_id, r.channel, r.address, r.locale, r.message_id,
		COALESCE(m.status, 'skipped'), CASE WHEN m.status IS NULL THEN r.reason ELSE m.last_error END, COALESCE(m.error_code, '')
		FROM campaign_recipients r LEFT JOIN messages m ON m.id = r.message_id AND r.message_id <> ''
		WHERE r.campaign_id = $1 AND r.id > $2 ORDER BY r.id LIMIT $3`, id, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: campaign recipients: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.CampaignRecipient, error) {
		var x core.CampaignRecipient
		var ch, st string
		err := r.Scan(&x.ID, &x.ClientID, &ch, &x.Address, &x.Locale, &x.MessageID, &st, &x.Reason, &x.ErrorCode)
		x.Channel, x.State = core.Channel(ch), core.MessageStatus(st)
		return x, err
	})
}

// ActiveCampaigns lists due scheduled campaigns and sending ones.
func (s *Store) ActiveCampaigns(ctx context.Context, now time.Time, limit int) ([]core.Campaign, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+campaignCols+` FROM campaigns WHERE status IN ('scheduled', 'sending')
		AND (status = 'sending' OR send_at IS NULL OR send_at <= $1) ORDER BY id LIMIT $2`, ms(now), limit)
	if err != nil {
		return nil, fmt.Errorf("store: active campaigns: %w", err)
	}
	return collect(rows, scanCampaign)
}

// RecentCampaignFailures counts failures among the campaign's last n
// finished messages: failed at the send, or reported undelivered or failed
// by the provider afterwards (the report's time is the row's updated_at).
func (s *Store) RecentCampaignFailures(ctx context.Context, id string, n int) (int, int, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT status FROM messages WHERE campaign_id = $1
		AND status IN ('sent', 'delivered', 'failed', 'undelivered') ORDER BY updated_at DESC LIMIT $2`, id, n)
	if err != nil {
		return 0, 0, fmt.Errorf("store: campaign failures: %w", err)
	}
	sts, err := collect(rows, func(r interface{ Scan(...any) error }) (string, error) {
		var st string
		return st, r.Scan(&st)
	})
	failed := 0
	for _, st := range sts {
		if st == string(core.MsgFailed) || st == string(core.MsgUndelivered) {
			failed++
		}
	}
	return failed, len(sts), err
}

// CampaignFacts reads, for a batch of clients, their channel settings,
// opt-outs of the sender, what they owe and their first centre's name.
func (s *Store) CampaignFacts(ctx context.Context, orgID string, ids []string, sender string) (map[string]core.CampaignFacts, error) {
	out := make(map[string]core.CampaignFacts, len(ids))
	if len(ids) == 0 {
		return out, nil
	}
	in, a := inList(" AND client_id IN ", 2, ids)
	rows, err := s.r.QueryContext(ctx, `SELECT client_id, channel, consent, opted_out_at, position FROM client_channels
		WHERE org_id = $1`+in+` ORDER BY client_id, position`, append([]any{orgID}, a...)...)
	if err != nil {
		return nil, fmt.Errorf("store: campaign facts: %w", err)
	}
	err = each(rows, func(r *sql.Rows) error {
		var id, ch string
		var p core.ChannelPref
		var opted sql.NullInt64
		if err := r.Scan(&id, &ch, &p.Consent, &opted, &p.Position); err != nil {
			return err
		}
		p.Channel, p.OptedOut = core.Channel(ch), fromNullMS(opted)
		f := out[id]
		f.Prefs = append(f.Prefs, p)
		out[id] = f
		return nil
	})
	if err != nil {
		return nil, err
	}
	if sender != "" {
		in, a := inList(" AND c.id IN ", 3, ids)
		rows, err := s.r.QueryContext(ctx, `SELECT c.id, o.channel FROM clients c JOIN sender_optouts o ON o.phone = c.phone AND o.sender = $2
			WHERE c.org_id = $1`+in, append([]any{orgID, sender}, a...)...)
		if err != nil {
			return nil, fmt.Errorf("store: campaign facts: %w", err)
		}
		if err := each(rows, func(r *sql.Rows) error {
			var id, ch string
			if err := r.Scan(&id, &ch); err != nil {
				return err
			}
			f := out[id]
			f.OptedOut = append(f.OptedOut, core.Channel(ch))
			out[id] = f
			return nil
		}); err != nil {
			return nil, err
		}
	}
	in, a = inList(" AND client_id IN ", 2, ids)
	rows, err = s.r.QueryContext(ctx, `SELECT client_id, currency, SUM(debt) FROM (
			SELECT client_id, currency, price_minor - paid_minor AS debt FROM appointments
			WHERE org_id = $1 AND status = 'completed' AND package_sale_id = '' AND price_minor > paid_minor`+in+`
			UNION ALL
			SELECT client_id, currency, due_minor - paid_minor FROM package_sales WHERE org_id = $1 AND due_minor > paid_minor`+in+`
		) d GROUP BY client_id, currency ORDER BY client_id, currency`, append([]any{orgID}, a...)...)
	if err != nil {
		return nil, fmt.Errorf("store: campaign facts: %w", err)
	}
	if err := each(rows, func(r *sql.Rows) error {
		var id, cur string
		var debt int64
		if err := r.Scan(&id, &cur, &debt); err != nil {
			return err
		}
		if f := out[id]; f.Currency == "" {
			f.DebtMinor, f.Currency = debt, cur
			out[id] = f
		}
		return nil
	}); err != nil {
		return nil, err
	}
	in, a = inList(" AND cc.client_id IN ", 2, ids)
	rows, err = s.r.QueryContext(ctx, `SELECT cc.client_id, ce.name FROM client_centers cc JOIN centers ce ON ce.id = cc.center_id
		WHERE ce.org_id = $1`+in+` ORDER BY cc.client_id, ce.name`, append([]any{orgID}, a...)...)
	if err != nil {
		return nil, fmt.Errorf("store: campaign facts: %w", err)
	}
	return out, each(rows, func(r *sql.Rows) error {
		var id, name string
		if err := r.Scan(&id, &name); err != nil {
			return err
		}
		if f := out[id]; f.CenterName == "" {
			f.CenterName = name
			out[id] = f
		}
		return nil
	})
}

// ClientOptOuts reads one client's channel opt-outs and the channels its
// phone opted out of sender on (STOP), in one query: the send-time check
// of a campaign message.
func (s *Store) ClientOptOuts(ctx context.Context, orgID, clientID, sender string) ([]core.Channel, error) {
	rows, err := s.stmtQuery(ctx, s.r, `SELECT channel FROM client_channels WHERE org_id = $1 AND client_id = $2 AND opted_out_at IS NOT NULL
		UNION SELECT o.channel FROM clients c JOIN sender_optouts o ON o.phone = c.phone AND o.sender = $3 WHERE c.org_id = $1 AND c.id = $2`,
		orgID, clientID, sender)
	if err != nil {
		return nil, fmt.Errorf("store: client opt-outs: %w", err)
	}
	return collect(rows, func(r interface{ Scan(...any) error }) (core.Channel, error) {
		var ch string
		err := r.Scan(&ch)
		return core.Channel(ch), err
	})
}

// OptedOutClients reads an organization's opted-out clients at once: their
// own channel opt-outs, and the SMS and WhatsApp opt-outs of their phone
// from sender (STOP). complete is false when there are more than limit
// rows (the map then holds limit of them). The sender's opt-outs drive the
// join (CROSS JOIN keeps SQLite's planner to that order; PostgreSQL
// plans it as any inner join): driven from the organization's clients,
// SQLite read all 100,000 of a campaign's audience at each refresh,
// several times a second.
func (s *Store) OptedOutClients(ctx context.Context, orgID, sender string, limit int) (map[string][]core.Channel, bool, error) {
	rows, err := s.stmtQuery(ctx, s.r, `SELECT client_id, channel FROM client_channels WHERE org_id = $1 AND opted_out_at IS NOT NULL
		UNION SELECT c.id, o.channel FROM sender_optouts o CROSS JOIN clients c
		WHERE c.org_id = $1 AND c.phone = o.phone AND o.channel IN ('sms', 'whatsapp') AND o.sender = $2 LIMIT $3`, orgID, sender, limit+1)
	if err != nil {
		return nil, false, fmt.Errorf("store: opted-out clients: %w", err)
	}
	out, n := map[string][]core.Channel{}, 0
	err = each(rows, func(r *sql.Rows) error {
		var id, ch string
		if err := r.Scan(&id, &ch); err != nil {
			return err
		}
		if n++; n <= limit {
			out[id] = append(out[id], core.Channel(ch))
		}
		return nil
	})
	return out, n <= limit, err
}

// each scans every row with fn and closes the rows.
func each(rows *sql.Rows, fn func(*sql.Rows) error) error {
	defer rows.Close()
	for rows.Next() {
		if err := fn(rows); err != nil {
			return fmt.Errorf("store: scan: %w", err)
		}
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("store: rows: %w", err)
	}
	return nil
}

var _ core.CampaignStore = (*Store)(nil)
