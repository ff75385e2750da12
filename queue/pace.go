package queue

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/notify"
)

// Rates are the per-channel send rates, shared by every worker through
// Redis. A zero Limit is off.
type Rates struct {
	SMS          Limit // per sender number or messaging service (Twilio: 1/s per long code)
	WhatsApp     Limit // per sender
	TelegramBot  Limit // per bot (Telegram: 30/s)
	TelegramChat Limit // per chat (Telegram: 1/s)
	Slack        Limit // per channel
	Email        Limit // per sending account
}

// DefaultRates follow the providers' published limits.
func DefaultRates() Rates {
	return Rates{
		SMS:          Limit{Count: 1, Per: time.Second, Burst: 1},
		WhatsApp:     Limit{Count: 20, Per: time.Second, Burst: 1},
		TelegramBot:  Limit{Count: 30, Per: time.Second, Burst: 1},
		TelegramChat: Limit{Count: 1, Per: time.Second, Burst: 1},
		Slack:        Limit{Count: 1, Per: time.Second, Burst: 1},
		Email:        Limit{Count: 10, Per: time.Second, Burst: 1},
	}
}

// ParseLimit reads "N/s", "N/m", "N/h" or "off".
func ParseLimit(s string) (Limit, error) {
	if s == "off" || s == "0" {
		return Limit{}, nil
	}
	n, per, ok := strings.Cut(s, "/")
	count, err := strconv.Atoi(n)
	if !ok || err != nil || count < 1 {
		return Limit{}, fmt.Errorf("rate %q: want N/s, N/m, N/h or off", s)
	}
	d := map[string]time.Duration{"s": time.Second, "m": time.Minute, "h": time.Hour}[per]
	if d == 0 {
		return Limit{}, fmt.Errorf("rate %q: want N/s, N/m, N/h or off", s)
	}
	return Limit{Count: count, Per: d, Burst: 1}, nil
}

// PaceMaxWait is the longest a send waits in its worker for the rate
// limit; a longer wait defers the message instead of holding the slot.
const PaceMaxWait = 5 * time.Second

// BulkMaxHold is the longest a campaign send holds its worker waiting for
// a sending slot. A campaign at its full rate has a backlog far larger
// than its slots: if each of its sends slept up to PaceMaxWait, every
// worker would be asleep on the bulk queue and a confirmation would wait
// for a worker, not for a slot. Held this briefly, a worker frees up
// within BulkMaxHold, and the campaign send that could not get a slot is
// handed back to the queue (rescheduled at its retry-after) instead.
const BulkMaxHold = 300 * time.Millisecond

// bulkJitter spreads the retries of deferred campaign sends: they were
// refused together and would otherwise all come back at the same instant,
// each costing a claim and a write for one slot among them.
const bulkJitter = time.Second

// Pacer holds a message until its channel's limits allow it. A wait longer
// than MaxWait is not slept in a worker slot: the message is deferred.
type Pacer struct {
	lim         *Limiter
	rdb         redis.UniversalClient
	rates       Rates
	maxWait     time.Duration
	bulkWait    time.Duration
	defaultFrom string
}

// NewPacer paces sends with the broker's Redis; defaultFrom is the SMS
// sender used when a message names none.
func NewPacer(b *Broker, rates Rates, maxWait time.Duration, defaultFrom string) *Pacer {
	return &Pacer{lim: NewLimiter(b.Redis, "rate:"), rdb: b.Redis, rates: rates, maxWait: maxWait,
		bulkWait: min(maxWait, BulkMaxHold), defaultFrom: defaultFrom}
}

// Pace implements notify.Pacer. Campaign messages (the bulk queue) yield
// to confirmations and reminders: while a non-campaign message waits for a
// sender, it is marked waiting in Redis (PrioKey), and campaign messages
// take no slot of that sender until it is served, so it gets the next free
// slot instead of queueing behind the campaign's backlog. perMinute > 0 is
// the campaign's own pace, read at every send (a change applies at once).
// A campaign send holds its worker at most BulkMaxHold; then it is
// deferred (DeferError) so that workers stay free for critical messages.
func (p *Pacer) Pace(ctx context.Context, m core.Message, perMinute int) error {
	reqs := p.requests(m)
	bulk := m.Kind == core.KindCampaign
	if bulk && perMinute > 0 && m.CampaignID != "" {
		reqs = append(reqs, Request{Key: "campaign:" + m.CampaignID, Limit: Limit{Count: perMinute, Per: time.Minute, Burst: 1}})
	}
	var err error
	if bulk {
		err = p.lim.WaitYielding(ctx, p.bulkWait, p.prioritized(reqs), reqs...)
	} else {
		release := p.announce(ctx, reqs)
		err = p.lim.Wait(ctx, p.maxWait, reqs...)
		release()
	}
	var tl *TooLongError
	if errors.As(err, &tl) {
		wait := tl.Wait
		if bulk {
			wait += rand.N(bulkJitter)
		}
		return &notify.DeferError{Wait: wait}
	}
	return err
}

// PrioKey is the Redis counter of priority messages waiting for a sender key.
func (p *Pacer) PrioKey(key string) string { return "rate:prio:{" + key + "}" }

// announce marks priority messages waiting on the keys that have a limit;
// the marks expire on their own if the process dies.
func (p *Pacer) announce(ctx context.Context, reqs []Request) func() {
	var keys []string
	for _, r := range reqs {
		if !r.Limit.Off() {
			keys = append(keys, p.PrioKey(r.Key))
		}
	}
	if len(keys) == 0 {
		return func() {}
	}
	pipe := p.rdb.Pipeline()
	for _, k := range keys {
		pipe.Incr(ctx, k)
		pipe.PExpire(ctx, k, p.maxWait+time.Second)
	}
	_, _ = pipe.Exec(ctx)
	return func() {
		pipe := p.rdb.Pipeline()
		for _, k := range keys {
			pipe.Decr(context.WithoutCancel(ctx), k)
		}
		_, _ = pipe.Exec(context.WithoutCancel(ctx))
	}
}

// prioritized tells a bulk send whether a priority message waits on any of
// its keys.
func (p *Pacer) prioritized(reqs []Request) func(ctx context.Context) bool {
	var keys []string
	for _, r := range reqs {
		if !r.Limit.Off() && !strings.HasPrefix(r.Key, "campaign:") {
			keys = append(keys, p.PrioKey(r.Key))
		}
	}
	return func(ctx context.Context) bool {
		if len(keys) == 0 {
			return false
		}
		vals, err := p.rdb.MGet(ctx, keys...).Result()
		if err != nil {
			return false
		}
		for _, v := range vals {
			if s, ok := v.(string); ok && s != "0" && s != "" && !strings.HasPrefix(s, "-") {
				return true
			}
		}
		return false
	}
}

func (p *Pacer) requests(m core.Message) []Request {
	var reqs []Request
	from := m.From
	if from == "" {
		from = p.defaultFrom
	}
	switch m.Channel {
	case core.ChannelSMS:
		reqs = append(reqs, Request{Key: "sms:" + from, Limit: p.rates.SMS})
	case core.ChannelWhatsApp:
		reqs = append(reqs, Request{Key: "whatsapp:" + from, Limit: p.rates.WhatsApp})
	case core.ChannelTelegram:
		reqs = append(reqs, Request{Key: "telegram:bot", Limit: p.rates.TelegramBot},
			Request{Key: "telegram:chat:" + m.To, Limit: p.rates.TelegramChat})
	case core.ChannelSlack:
		reqs = append(reqs, Request{Key: "slack:" + m.To, Limit: p.rates.Slack})
	case core.ChannelEmail:
		reqs = append(reqs, Request{Key: "email", Limit: p.rates.Email})
	}
	return reqs
}
