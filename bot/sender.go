package bot

import (
	"context"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// SenderStore is what Sender reads and writes.
type SenderStore interface {
	GetMessageByID(ctx context.Context, id string) (core.Message, error)
	GetAppointment(ctx context.Context, orgID, id string) (core.Appointment, error)
	SaveBotKeyboard(ctx context.Context, k core.BotKeyboard) error
}

// Sender wraps the Telegram sender: a new request's staff message sent to
// a staff member's Telegram chat carries Accept and Reject buttons, whose
// taps the bot handles (the same status change as the API). The message
// is the outbox row notify wrote; only its keyboard is added here, so the
// staff message is still one message.
type Sender struct {
	Inner core.Sender
	Store SenderStore
	Clock core.Clock
}

// Send implements core.Sender.
func (s Sender) Send(ctx context.Context, m core.Outbound) (core.Sent, error) {
	if m.Channel == core.ChannelTelegram && m.Kind == core.KindStaffRequest && len(m.Buttons) == 0 {
		bs, err := s.requestButtons(ctx, m)
		if err != nil {
			return core.Sent{}, &core.SendError{Code: "store", Err: err}
		}
		m.Buttons = bs
	}
	return s.Inner.Send(ctx, m)
}

func (s Sender) requestButtons(ctx context.Context, m core.Outbound) ([]core.Button, error) {
	row, err := s.Store.GetMessageByID(ctx, m.ID)
	if core.ErrorCode(err) == core.CodeNotFound || err == nil && (row.AppointmentID == "" || row.RecipientKind != "staff") {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	a, err := s.Store.GetAppointment(ctx, row.OrgID, row.AppointmentID)
	if core.ErrorCode(err) == core.CodeNotFound || err == nil && a.Status != core.Pending {
		return nil, nil // handled before the message left: no buttons to go stale
	}
	if err != nil {
		return nil, err
	}
	p := payload{Org: row.OrgID, Appt: a.ID, Once: true, Choices: []choice{{Act: actAccept}, {Act: actReject}}}
	id := keyboardID(m.To, p)
	var out []core.Button
	for i, key := range []string{"bot.accept", "bot.reject"} {
		data, err := callbackData(id, i)
		if err != nil {
			return nil, err
		}
		out = append(out, core.Button{Text: templates.Phrase(row.Locale, key), Data: data})
	}
	// The chat id of a private chat is the user's id: the tap comes from
	// the staff member the message went to.
	err = s.Store.SaveBotKeyboard(ctx, core.BotKeyboard{ID: id, TelegramID: m.To, Payload: encodePayload(p),
		CreatedAt: s.Clock.Now().UTC().Truncate(time.Millisecond)})
	return out, err
}
