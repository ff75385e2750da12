package app

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/bookinggw/gateway/adapters/devsink"
	"github.com/bookinggw/gateway/adapters/twilio"
	"github.com/bookinggw/gateway/api"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/templates"
)

// Providers holds the channel providers' settings; a provider with no
// credentials is replaced by the devsink channel.
type Providers struct {
	TwilioAccountSID string
	TwilioAuthToken  string
	TwilioFrom       string
	TwilioBaseURL    string
	TelegramToken    string
	TelegramAPIURL   string
	// TelegramBotUsername names the bot in invitations' deep links
	// (t.me/<bot>?start=…); empty: links and pages offer no Telegram.
	TelegramBotUsername string
	SlackToken          string
	SlackAPIURL         string
	SMTPHost            string
	SMTPPort            int
	SMTPUsername        string
	SMTPPassword        string
	SMTPFrom            string
	SMTPTLS             string
	StripeSecretKey     string
	StripeWebhookKey    string
	StripeAPIURL        string
}

func providersFromEnv(getenv func(string) string) (Providers, []string) {
	p := Providers{
		TwilioAccountSID:    getenv("TWILIO_ACCOUNT_SID"),
		TwilioAuthToken:     getenv("TWILIO_AUTH_TOKEN"),
		TwilioFrom:          getenv("TWILIO_FROM"),
		TelegramBotUsername: strings.TrimPrefix(getenv("TELEGRAM_BOT_USERNAME"), "@"),
		TwilioBaseURL:       getenv("TWILIO_BASE_URL"),
		TelegramToken:       getenv("TELEGRAM_BOT_TOKEN"),
		TelegramAPIURL:      getenv("TELEGRAM_API_URL"),
		SlackToken:          getenv("SLACK_BOT_TOKEN"),
		SlackAPIURL:         getenv("SLACK_API_URL"),
		SMTPHost:            getenv("SMTP_HOST"),
		SMTPUsername:        getenv("SMTP_USERNAME"),
		SMTPPassword:        getenv("SMTP_PASSWORD"),
		SMTPFrom:            getenv("SMTP_FROM"),
		SMTPTLS:             or(getenv("SMTP_TLS"), "starttls"),
		StripeSecretKey:     getenv("STRIPE_SECRET_KEY"),
		StripeWebhookKey:    getenv("STRIPE_WEBHOOK_SECRET"),
		StripeAPIURL:        getenv("STRIPE_API_URL"),
		SMTPPort:            0, // 0: the usual port of the TLS mode (587, 465 or 25)
	}
	var errs []string
	if (p.TwilioAccountSID == "") != (p.TwilioAuthToken == "") {
		errs = append(errs, "TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN go together")
	}
	if p.TwilioAccountSID != "" && p.TwilioFrom == "" {
		errs = append(errs, "TWILIO_FROM (a number or a messaging service SID MG…) is required with Twilio")
	}
	if s := getenv("SMTP_PORT"); s != "" {
		if _, err := fmt.Sscanf(s, "%d", &p.SMTPPort); err != nil || p.SMTPPort < 1 || p.SMTPPort > 65535 {
			errs = append(errs, "SMTP_PORT must be a port number")
		}
	}
	switch p.SMTPTLS {
	case "none", "starttls", "tls":
	default:
		errs = append(errs, "SMTP_TLS must be none, starttls or tls")
	}
	if p.SMTPHost != "" && p.SMTPFrom == "" {
		errs = append(errs, "SMTP_FROM is required with SMTP_HOST")
	}
	return p, errs
}

// senders builds one core.Sender per channel. Channels without credentials
// go to the devsink, which keeps what would have been sent.
func (a *App) senders(log *slog.Logger) (map[core.Channel]core.Sender, *devsink.Sink, error) {
	p := a.Config.Providers
	sink := devsink.New(0)
	out := map[core.Channel]core.Sender{}
	for _, c := range []core.Channel{core.ChannelSMS, core.ChannelWhatsApp, core.ChannelTelegram, core.ChannelSlack, core.ChannelEmail} {
		out[c] = sink
	}
	used := false
	if p.TwilioAccountSID != "" {
		tw, err := twilio.New(twilio.Config{AccountSID: p.TwilioAccountSID, AuthToken: p.TwilioAuthToken, BaseURL: p.TwilioBaseURL, DefaultFrom: p.TwilioFrom})
		if err != nil {
			return nil, nil, err
		}
		out[core.ChannelSMS], out[core.ChannelWhatsApp] = tw, tw
	}
	extra, err := a.moreSenders()
	if err != nil {
		return nil, nil, err
	}
	for c, s := range extra {
		out[c] = s
	}
	for c, s := range out {
		if s == core.Sender(sink) {
			used = true
			log.Info("channel uses the devsink (no provider configured)", "channel", string(c))
		}
	}
	if !used {
		sink = nil
	}
	return out, sink, nil
}

// devOutbox shows the devsink's records through the API, per organization.
type devOutbox struct{ sink *devsink.Sink }

func (d devOutbox) Recent(orgID string) []api.DevMessage {
	var out []api.DevMessage
	for _, r := range d.sink.List() {
		if r.Outbound.OrgID != orgID {
			continue
		}
		out = append(out, api.DevMessage{At: r.At, Channel: r.Outbound.Channel, To: r.Outbound.To, From: r.Outbound.From,
			Subject: r.Outbound.Subject, Text: r.Outbound.Text, Buttons: r.Outbound.Buttons, Status: r.Status, Error: r.Error})
	}
	return out
}

// messageCounter counts messages by channel and status, and inbound
// messages by channel and outcome, for /metrics.
type messageCounter struct{ v, in *prometheus.CounterVec }

func newMessageCounter(reg prometheus.Registerer) messageCounter {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_messages_total",
		Help: "Outbox messages by channel and status reached."}, []string{"channel", "status"})
	in := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_inbound_total",
		Help: "Inbound messages handled, by channel and outcome: matched to an organization, or unmatched (waiting for the operator at /admin/inbound/unmatched)."},
		[]string{"channel", "outcome"})
	reg.MustRegister(v, in)
	return messageCounter{v: v, in: in}
}

func (m messageCounter) IncInbound(c core.Channel, outcome string) {
	m.in.WithLabelValues(string(c), outcome).Inc()
}

func (m messageCounter) Inc(c core.Channel, s core.MessageStatus) {
	m.v.WithLabelValues(string(c), string(s)).Inc()
}

// problemCounter counts the pipeline's problems for /metrics.
type problemCounter struct{ v *prometheus.CounterVec }

func newProblemCounter(reg prometheus.Registerer) problemCounter {
	v := prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_pipeline_problems_total",
		Help: "Notification pipeline problems: events that could not be built, requeue, enqueue and fallback errors, stale attempts."},
		[]string{"problem"})
	reg.MustRegister(v)
	return problemCounter{v: v}
}

func (p problemCounter) Inc(problem string) { p.v.WithLabelValues(problem).Inc() }

// eventSink nudges the relay when the queue is there.
type eventSink struct {
	pub interface {
		Publish(ctx context.Context, e core.Event) error
	}
	log *slog.Logger
}

func (e eventSink) Publish(ctx context.Context, ev core.Event) error {
	if err := e.pub.Publish(ctx, ev); err != nil {
		e.log.WarnContext(ctx, "relay nudge failed; the periodic relay will pick the event up", "error", err.Error())
	}
	return nil
}

// campaignFormat formats campaign variables with the templates' locale rules.
type campaignFormat struct{}

func (campaignFormat) Money(locale string, minor int64, currency string) string {
	return templates.FormatMoney(locale, minor, currency)
}

func (campaignFormat) DateTime(locale string, t time.Time) string {
	return templates.FormatDate(locale, t) + " " + templates.FormatTime(locale, t)
}
