package queue

// Distributed rate limiting shared by every worker process through Redis,
// with github.com/go-redis/redis_rate: GCRA in one Lua script per key,
// reading the Redis server's clock, so all processes agree on "now". It
// runs the same on Redis and on the embedded miniredis (its scripts use
// only GET, SET … EX and TIME, which miniredis's Lua supports).
//
// redis_rate answers "allowed now, or retry after d"; it does not book a
// future slot. Wait therefore polls: it asks every key in turn and sleeps
// the first refusal's retry-after, then asks again. A send that needs two
// keys (a Telegram bot and one chat) asks the looser key first: when the
// stricter one refuses, the slot taken on the looser one is lost, which
// paces that key a little slower, never faster.

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/go-redis/redis_rate/v10"
	"github.com/redis/go-redis/v9"
)

// Limit is a rate: Count events per Per, with bursts of up to Burst (>=1).
// Count <= 0 means unlimited; Burst < 1 is taken as 1 (strict pacing).
type Limit struct {
	Count int
	Per   time.Duration
	Burst int
}

// Off reports whether the limit is unlimited (Count <= 0).
func (l Limit) Off() bool { return l.Count <= 0 }

// String is for logs: "30/1s burst 1".
func (l Limit) String() string {
	if l.Off() {
		return "unlimited"
	}
	return fmt.Sprintf("%d/%s burst %d", l.Count, l.Per, max(l.Burst, 1))
}

func (l Limit) rate() redis_rate.Limit {
	return redis_rate.Limit{Rate: l.Count, Period: l.Per, Burst: max(l.Burst, 1)}
}

// interval is the time between two events at the limit's pace.
func (l Limit) interval() time.Duration { return l.Per / time.Duration(l.Count) }

// Request is one (key, limit) pair for Wait.
type Request struct {
	Key   string
	Limit Limit
}

// ErrTooLong is matched (errors.Is) by every *TooLongError.
var ErrTooLong = errors.New("ratelimit: wait exceeds maxWait")

// TooLongError reports that acting would have meant waiting longer than the
// caller allowed. Wait is how long the caller would have had to wait (a good
// retry-after); Key is the key that imposed it.
type TooLongError struct {
	Key  string
	Wait time.Duration
}

func (e *TooLongError) Error() string {
	return fmt.Sprintf("ratelimit: %s: would wait %s, more than allowed", e.Key, e.Wait)
}

// Is makes errors.Is(err, ErrTooLong) true.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

// Limiter paces events per key in Redis. Any number of Limiters (in any
// number of processes) on the same Redis and prefix share the budgets.
type Limiter struct {
	rl     *redis_rate.Limiter
	prefix string
}

// DefaultLimiterPrefix is used when NewLimiter gets an empty prefix.
const DefaultLimiterPrefix = "ratelimit:"

// NewLimiter returns a limiter storing its keys under prefix.
func NewLimiter(rdb redis.UniversalClient, prefix string) *Limiter {
	if prefix == "" {
		prefix = DefaultLimiterPrefix
	}
	return &Limiter{rl: redis_rate.NewLimiter(rdb), prefix: prefix}
}

// Wait returns once every request's key allows one more event, sleeping
// meanwhile (until ctx is done); Off limits are skipped. If the wait would
// exceed maxWait (counted from the call) it returns a *TooLongError with the
// wait, having taken no slot on the key that refused.
func (l *Limiter) Wait(ctx context.Context, maxWait time.Duration, reqs ...Request) error {
	active, err := activeRequests(reqs)
	if err != nil {
		return err
	}
	start := time.Now()
	for {
		refused, wait, err := l.allowAll(ctx, active)
		if err != nil || refused == "" {
			return err
		}
		if time.Since(start)+wait > maxWait {
			return &TooLongError{Key: refused, Wait: wait}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// WaitYielding is Wait for low-priority events: while yield reports that a
// higher-priority event waits for the same keys, it takes no slot and
// checks again after the strictest key's interval.
func (l *Limiter) WaitYielding(ctx context.Context, maxWait time.Duration, yield func(context.Context) bool, reqs ...Request) error {
	active, err := activeRequests(reqs)
	if err != nil || len(active) == 0 {
		return err
	}
	// Sorted by interval: the last is the strictest key.
	step := min(max(active[len(active)-1].Limit.interval()/4, 5*time.Millisecond), 250*time.Millisecond)
	start := time.Now()
	for {
		wait, key, retry := step, "priority", step
		if !yield(ctx) {
			refused, w, err := l.allowAll(ctx, active)
			if err != nil || refused == "" {
				return err
			}
			// Sleep in short steps, so a priority message that starts
			// waiting meanwhile is seen before the next slot is taken.
			wait, key, retry = min(w, step), refused, w
		}
		if time.Since(start)+wait > maxWait {
			// The retry-after, not the step: the caller comes back when
			// the key may have a slot.
			return &TooLongError{Key: key, Wait: retry}
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		}
	}
}

// activeRequests drops Off limits, refuses a limit without a period, and
// orders the rest from the shortest interval to the longest.
func activeRequests(reqs []Request) ([]Request, error) {
	active := make([]Request, 0, len(reqs))
	for _, r := range reqs {
		if r.Limit.Off() {
			continue
		}
		if r.Limit.Per <= 0 {
			return nil, fmt.Errorf("ratelimit: %s: limit %s: Per must be positive", r.Key, r.Limit)
		}
		active = append(active, r)
	}
	slices.SortStableFunc(active, func(a, b Request) int { return int(a.Limit.interval() - b.Limit.interval()) })
	return active, nil
}

// allowAll takes a slot on each key in turn; at the first refusal it
// returns that key and its retry-after.
func (l *Limiter) allowAll(ctx context.Context, reqs []Request) (string, time.Duration, error) {
	for _, r := range reqs {
		res, err := l.rl.Allow(ctx, l.prefix+"{"+r.Key+"}", r.Limit.rate())
		if err != nil {
			return "", 0, fmt.Errorf("ratelimit: %s: %w", r.Key, err)
		}
		if res.Allowed == 0 {
			return r.Key, max(res.RetryAfter, time.Millisecond), nil
		}
	}
	return "", 0, nil
}
