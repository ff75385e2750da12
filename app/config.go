// Package app wires the whole service from its configuration: store, queue,
// domain, HTTP API, webhooks and worker. cmd/gateway runs it; tests/ starts it
// in-process.
package app

import (
	"fmt"
	"log/slog"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/adapters/live"
	"github.com/bookinggw/gateway/chats"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
)

// Role selects what a process runs.
type Role string

const (
	RoleAll    Role = "all"    // HTTP API, webhooks and worker in one process
	RoleAPI    Role = "api"    // HTTP API and webhooks only
	RoleWorker Role = "worker" // queue worker and scheduler; HTTP serves only health and metrics
)

// Config is read from environment variables; README.md has the table.
type Config struct {
	HTTPAddr          string
	DatabaseURL       string
	RedisURL          string
	Role              Role
	PublicURL         string
	AdminToken        string
	LogLevel          slog.Level
	MaxBodyBytes      int64
	ShutdownTimeout   time.Duration
	WorkerConcurrency int
	// SelfServe bounds one-time codes of the booking page; zero: the
	// defaults (core.DefaultLimits). Tests set it.
	SelfServe core.Limits
	// SweepEvery and SweepGrace pace the outbox sweeper: every SweepEvery
	// it re-enqueues messages due for longer than SweepGrace.
	SweepEvery, SweepGrace time.Duration
	// SendTimeout bounds one send task: rate-limit wait, provider call and
	// outcome write.
	SendTimeout time.Duration
	// SendLease is how long a message may stay "sending" before the
	// sweeper decides its worker died. It must exceed SendTimeout plus the
	// pacer's longest wait (queue.PaceMaxWait): a shorter lease would send
	// again a message whose worker is only slow.
	SendLease time.Duration
	Providers Providers
	// Rates pace sends per channel and sender, across all workers.
	Rates queue.Rates
	// LiveHeartbeat is the comment line's period on GET /api/v1/events;
	// LiveRetention and LiveMaxEvents bound what a reconnecting screen can
	// replay (Last-Event-ID).
	LiveHeartbeat, LiveRetention time.Duration
	LiveMaxEvents                int64
	// LiveReauth is how often an open stream checks its key again (0: a
	// minute); not an environment variable, tests shorten it.
	LiveReauth time.Duration
	// Clock is the service's clock; nil is the system clock. Tests set it.
	Clock core.Clock
	// CampaignPrices estimate campaign costs: per SMS segment and per
	// message of other channels, in micro-units of the currency.
	CampaignPrices core.CampaignPrices
	// CampaignTick is how often due campaigns start and done ones finish.
	CampaignTick time.Duration
	// CampaignBatch is how many clients one fan-out step reads.
	CampaignBatch int
	// CampaignPauseAfter pauses a campaign after this many permanent
	// provider errors in a row.
	CampaignPauseAfter int
	// Live, when set, receives the calls' live events instead of the
	// stream (tests record pop-ups with it); nil: the stream.
	Live  core.LiveEvents
	Chats ChatConfig
	// Bots is a Telegram bot's own update handling, asked before
	// conversations (issue 17); nil: every update goes to conversations.
	Bots chats.BotUpdates
}

// parsePrices reads "sms=0.0079,whatsapp=0.005" into micro-units.
func parsePrices(s string) (map[core.Channel]int64, error) {
	out := map[core.Channel]int64{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ch, v, ok := strings.Cut(part, "=")
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		switch core.Channel(strings.TrimSpace(ch)) {
		case core.ChannelSMS, core.ChannelWhatsApp, core.ChannelTelegram, core.ChannelEmail:
		default:
			ok = false
		}
		if !ok || err != nil || f < 0 {
			return nil, fmt.Errorf("price %q: want channel=amount", part)
		}
		out[core.Channel(strings.TrimSpace(ch))] = int64(f*1e6 + 0.5)
	}
	return out, nil
}

// FromEnv reads the configuration, applying defaults and refusing bad values.
func FromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		HTTPAddr:        or(getenv("GATEWAY_HTTP_ADDR"), ":8080"),
		DatabaseURL:     or(getenv("DATABASE_URL"), "sqlite:data/gateway.db"),
		RedisURL:        getenv("REDIS_URL"),
		Role:            Role(or(getenv("GATEWAY_ROLE"), string(RoleAll))),
		PublicURL:       strings.TrimRight(or(getenv("GATEWAY_PUBLIC_URL"), localURL(or(getenv("GATEWAY_HTTP_ADDR"), ":8080"))), "/"),
		AdminToken:      getenv("GATEWAY_ADMIN_TOKEN"),
		MaxBodyBytes:    1 << 20,
		ShutdownTimeout: 30 * time.Second,
		// A send mostly waits on the provider (real ones: 100–500 ms), so
		// slots, not CPU, bound a worker: 10 capped it at 20–100 msgs/s,
		// and with 50 a burst on PostgreSQL left the CPU 20 % idle while
		// every slot waited on a combined store write (sendbatch.go).
		WorkerConcurrency:  150,
		SweepEvery:         30 * time.Second,
		SweepGrace:         30 * time.Second,
		SendTimeout:        queue.SendTimeout,
		SendLease:          2 * time.Minute,
		Rates:              queue.DefaultRates(),
		LiveHeartbeat:      15 * time.Second,
		LiveRetention:      live.DefaultRetention,
		LiveMaxEvents:      live.DefaultMaxEvents,
		CampaignTick:       5 * time.Second,
		CampaignBatch:      500,
		CampaignPauseAfter: 20,
		CampaignPrices:     core.CampaignPrices{Currency: or(getenv("GATEWAY_CAMPAIGN_CURRENCY"), "USD")},
	}
	var errs []string
	switch c.Role {
	case RoleAll, RoleAPI, RoleWorker:
	default:
		errs = append(errs, "GATEWAY_ROLE must be all, api or worker")
	}
	if c.RedisURL == "" && c.Role != RoleAll {
		errs = append(errs, "GATEWAY_ROLE="+string(c.Role)+" needs REDIS_URL: the embedded queue lives inside one process")
	}
	if u, err := url.Parse(c.PublicURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		errs = append(errs, "GATEWAY_PUBLIC_URL must be an http(s) URL such as https://gateway.example.com")
	}
	if err := c.LogLevel.UnmarshalText([]byte(or(getenv("GATEWAY_LOG_LEVEL"), "info"))); err != nil {
		errs = append(errs, "GATEWAY_LOG_LEVEL must be debug, info, warn or error")
	}
	if s := getenv("GATEWAY_MAX_BODY_BYTES"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 1024 {
			errs = append(errs, "GATEWAY_MAX_BODY_BYTES must be an integer of at least 1024")
		}
		c.MaxBodyBytes = n
	}
	if s := getenv("GATEWAY_SHUTDOWN_TIMEOUT"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d <= 0 {
			errs = append(errs, "GATEWAY_SHUTDOWN_TIMEOUT must be a duration such as 30s")
		}
		c.ShutdownTimeout = d
	}
	for _, v := range []struct {
		name string
		dst  *time.Duration
	}{{"GATEWAY_SWEEP_EVERY", &c.SweepEvery}, {"GATEWAY_SWEEP_GRACE", &c.SweepGrace}, {"GATEWAY_SEND_LEASE", &c.SendLease},
		{"GATEWAY_SEND_TIMEOUT", &c.SendTimeout}, {"GATEWAY_LIVE_HEARTBEAT", &c.LiveHeartbeat}, {"GATEWAY_LIVE_RETENTION", &c.LiveRetention}} {
		if s := getenv(v.name); s != "" {
			d, err := time.ParseDuration(s)
			if err != nil || d < time.Second {
				errs = append(errs, v.name+" must be a duration of at least 1s")
			}
			*v.dst = d
		}
	}
	for _, v := range []struct {
		name string
		dst  *queue.Limit
	}{{"GATEWAY_RATE_SMS", &c.Rates.SMS}, {"GATEWAY_RATE_WHATSAPP", &c.Rates.WhatsApp}, {"GATEWAY_RATE_TELEGRAM_BOT", &c.Rates.TelegramBot},
		{"GATEWAY_RATE_TELEGRAM_CHAT", &c.Rates.TelegramChat}, {"GATEWAY_RATE_SLACK", &c.Rates.Slack}, {"GATEWAY_RATE_EMAIL", &c.Rates.Email}} {
		if s := getenv(v.name); s != "" {
			l, err := queue.ParseLimit(s)
			if err != nil {
				errs = append(errs, v.name+" must be N/s, N/m, N/h or off")
			}
			*v.dst = l
		}
	}
	if min := c.SendTimeout + queue.PaceMaxWait; c.SendLease <= min {
		errs = append(errs, fmt.Sprintf("GATEWAY_SEND_LEASE (%s) must be longer than GATEWAY_SEND_TIMEOUT (%s) plus the pacer's longest wait (%s), "+
			"i.e. more than %s: a shorter lease sends again messages whose worker is only slow", c.SendLease, c.SendTimeout, queue.PaceMaxWait, min))
	}
	if s := getenv("GATEWAY_LIVE_MAX_EVENTS"); s != "" {
		n, err := strconv.ParseInt(s, 10, 64)
		if err != nil || n < 100 || n > 1000000 {
			errs = append(errs, "GATEWAY_LIVE_MAX_EVENTS must be an integer from 100 to 1000000")
		}
		c.LiveMaxEvents = n
	}
	if s := getenv("GATEWAY_WORKER_CONCURRENCY"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > 1000 {
			errs = append(errs, "GATEWAY_WORKER_CONCURRENCY must be an integer from 1 to 1000")
		}
		c.WorkerConcurrency = n
	}
	prices, err := parsePrices(or(getenv("GATEWAY_CAMPAIGN_PRICES"), "sms=0.0079,whatsapp=0.005,telegram=0,email=0"))
	if err != nil {
		errs = append(errs, "GATEWAY_CAMPAIGN_PRICES must be channel=amount pairs, e.g. sms=0.0079,whatsapp=0.005")
	}
	c.CampaignPrices.Micros = prices
	if s := getenv("GATEWAY_CAMPAIGN_TICK"); s != "" {
		d, err := time.ParseDuration(s)
		if err != nil || d < time.Second {
			errs = append(errs, "GATEWAY_CAMPAIGN_TICK must be a duration of at least 1s")
		}
		c.CampaignTick = d
	}
	for _, v := range []struct {
		name string
		dst  *int
		lo   int
	}{{"GATEWAY_CAMPAIGN_BATCH", &c.CampaignBatch, 1}, {"GATEWAY_CAMPAIGN_PAUSE_AFTER", &c.CampaignPauseAfter, 1}} {
		if s := getenv(v.name); s != "" {
			n, err := strconv.Atoi(s)
			if err != nil || n < v.lo || n > 1000 {
				errs = append(errs, v.name+" must be an integer from 1 to 1000")
			}
			*v.dst = n
		}
	}
	var perrs []string
	c.Providers, perrs = providersFromEnv(getenv)
	errs = append(errs, perrs...)
	c.Chats, perrs = chatsFromEnv(getenv)
	errs = append(errs, perrs...)
	if len(errs) > 0 {
		return c, fmt.Errorf("configuration: %s", strings.Join(errs, "; "))
	}
	return c, nil
}

// OSEnv is os.Getenv, for FromEnv.
var OSEnv = os.Getenv

func or(v, def string) string {
	if v == "" {
		return def
	}
	return v
}

// localURL is the default public URL: this machine at the listen address's
// port, so that links in messages reach a gateway run on another port
// without GATEWAY_PUBLIC_URL. An address that is not host:port keeps 8080.
func localURL(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil || port == "" {
		return "http://localhost:8080"
	}
	if host == "" || host == "0.0.0.0" || host == "::" {
		host = "localhost"
	}
	return "http://" + net.JoinHostPort(host, port)
}
