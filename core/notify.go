package core

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Channel is a way to reach a person.
type Channel string

const (
	ChannelSMS      Channel = "sms"
	ChannelWhatsApp Channel = "whatsapp"
	ChannelTelegram Channel = "telegram"
	ChannelEmail    Channel = "email"
	ChannelSlack    Channel = "slack"
)

// Valid reports whether c is a known channel.
func (c Channel) Valid() bool {
	switch c {
	case ChannelSMS, ChannelWhatsApp, ChannelTelegram, ChannelEmail, ChannelSlack:
		return true
	}
	return false
}

// Button is an action offered with a message (Telegram inline keyboard,
// Slack button). Data is what comes back when it is pressed; URL opens a link.
type Button struct {
	Text string `json:"text"`
	Data string `json:"data,omitempty"`
	URL  string `json:"url,omitempty"`
	// Contact asks for the user's phone (Telegram's contact-request
	// keyboard button).
	Contact bool `json:"contact,omitempty"`
}

// Outbound is one message handed to a channel adapter. It is built from an
// outbox row; the adapter knows nothing of the domain.
type Outbound struct {
	ID      string // outbox row id; adapters use it as an idempotency hint where the provider has one
	OrgID   string
	Channel Channel
	To      string // E.164 phone, chat id, email address, Slack channel or user id
	// From is the sender chosen for the center: a Twilio number or
	// messaging service SID (MG…), an email From address; empty means the
	// adapter's default.
	From    string
	Subject string // email only
	Text    string
	HTML    string // email only; empty sends text only
	Buttons []Button
	// StatusCallback is where the provider reports delivery (Twilio).
	StatusCallback string
	// Kind is the outbox row's template kind (chat replies carry files and
	// content templates kept beside the row).
	Kind string
	// Files are uploaded with the message (Telegram), never sent as URLs
	// the provider must fetch.
	Files []Attachment
	// ContentSID is an approved content template sent instead of Text
	// (WhatsApp outside the 24-hour window), with its variables as JSON.
	ContentSID       string
	ContentVariables string
}

// Sent is what a provider answered to an accepted message.
type Sent struct {
	ProviderID string // Twilio SID, Telegram message id, Slack ts, SMTP message id
	Status     string // provider's initial status, e.g. "queued"
}

// SendError is a failed send, classified so the queue knows whether to retry
// and the router whether to fall back to the next channel.
type SendError struct {
	Permanent  bool          // the same message will never succeed here (blocked bot, invalid number)
	RetryAfter time.Duration // provider asked to wait (HTTP 429 Retry-After); 0 means use back-off
	Code       string        // provider's error code, e.g. Twilio 21211, Telegram 403
	Err        error
}

func (e *SendError) Error() string {
	kind := "temporary"
	if e.Permanent {
		kind = "permanent"
	}
	return fmt.Sprintf("send failed (%s, code %s): %v", kind, e.Code, e.Err)
}

func (e *SendError) Unwrap() error { return e.Err }

// IsPermanent reports whether err is a permanent send failure.
func IsPermanent(err error) bool {
	var se *SendError
	return errors.As(err, &se) && se.Permanent
}

// Sender delivers messages on one channel. Each adapter (twilio, telegram,
// slack, email, devsink) implements it.
type Sender interface {
	Send(ctx context.Context, m Outbound) (Sent, error)
}
