package queue

// Distributed rate limiter shared by every worker process through Redis.
//
// Algorithm: GCRA (the generic cell rate algorithm, "virtual scheduling").
// For a limit of Count events per Per with bursts of up to Burst, the emission
// interval is T = Per/Count and the burst tolerance is τ = T·(Burst-1). Each
// key stores one number, its theoretical arrival time (TAT): the instant at
// which the key would be back to an empty budget. A reservation at time now:
//
//	tat      = max(stored_tat, now)
//	allow_at = tat - τ
//	wait     = max(0, allow_at - now)
//	if wait > maxWait: reserve nothing, return wait
//	else:              store tat + T, return wait
//
// The whole step runs in one Lua script, so concurrent callers in any number
// of processes each get their own slot: no two callers share an instant.
//
// Clock: the script reads the Redis server's TIME, never the caller's clock,
// so every process agrees on "now" whatever its own clock drift. Waits come
// back relative to that server instant and the caller sleeps them on its own
// monotonic clock; the only error is the one-way latency of the reply (well
// under a millisecond on a LAN), which is irrelevant for per-second limits.
// The script calls redis.replicate_commands() when it exists: Redis 3.2–4.x
// need it before writing after a non-deterministic command such as TIME;
// Redis ≥ 5 replicate effects by default and Redis 7 keeps it as a no-op.
// Redis < 3.2 cannot run this script (Asynq itself needs Redis ≥ 4).
// miniredis (the embedded broker) runs TIME inside Lua and honours
// Miniredis.SetTime, which the tests use to check the clock source.
//
// Units: the script works in integer microseconds (µs since the epoch fit
// exactly in a Lua double, which is exact up to 2^53). T is rounded up to a
// whole microsecond, so the limiter is never looser than asked; a rate above
// 1,000,000/s is paced at one event per microsecond.
//
// Storage: a plain string per key, prefix + "{" + key + "}". The braces are a
// Redis Cluster hash tag: each script touches one key, so a cluster routes it
// to the key's slot. The key expires at its TAT, the instant after which the
// stored value no longer changes any result (max(stored_tat, now) = now), so
// idle keys cost no memory. (A TTL of TAT-now+τ would also work; τ adds
// nothing because the tolerance is applied to now, not to the stored value.)

import (
	"context"
	"errors"
	"fmt"
	"time"

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

// maxSpanMicros bounds T and τ so that every value in the script stays an
// exact integer in a Lua double (2^50 µs is about 35 years).
const maxSpanMicros = int64(1) << 50

// gcra returns the emission interval and the burst tolerance in microseconds.
func (l Limit) gcra() (interval, tolerance int64, err error) {
	if l.Per <= 0 {
		return 0, 0, fmt.Errorf("limit %d per %s: Per must be positive", l.Count, l.Per)
	}
	// T = ceil(Per / Count) in µs, at least 1 µs (written to avoid
	// overflowing Count*1000).
	n, c := int64(l.Per), int64(l.Count)
	interval = 1
	if c <= (n-1)/1000 { // c*1000 < n: no overflow, and T > 1µs
		d := c * 1000
		interval = n / d
		if n%d != 0 {
			interval++
		}
	}
	burst := int64(max(l.Burst, 1))
	if interval > maxSpanMicros || (burst > 1 && interval > maxSpanMicros/(burst-1)) {
		return 0, 0, fmt.Errorf("limit %s out of range", l)
	}
	return interval, interval * (burst - 1), nil
}

// Request is one (key, limit) pair for Wait.
type Request struct {
	Key   string
	Limit Limit
}

// ErrTooLong is matched (errors.Is) by every *TooLongError.
var ErrTooLong = errors.New("ratelimit: wait exceeds maxWait")

// TooLongError reports that acting would have meant waiting longer than the
// caller allowed. Nothing is reserved. Wait is how long the caller would have
// had to wait (a good retry-after); Key is the key that imposed it.
type TooLongError struct {
	Key  string
	Wait time.Duration
}

func (e *TooLongError) Error() string {
	if e.Key == "" {
		return fmt.Sprintf("ratelimit: would wait %s, more than allowed", e.Wait)
	}
	return fmt.Sprintf("ratelimit: %s: would wait %s, more than allowed", e.Key, e.Wait)
}

// Is makes errors.Is(err, ErrTooLong) true.
func (e *TooLongError) Is(target error) bool { return target == ErrTooLong }

// Limiter books send slots in Redis. It is safe for concurrent use, and any
// number of Limiters (in any number of processes) on the same Redis and
// prefix share the same budgets.
type Limiter struct {
	rdb    redis.UniversalClient
	prefix string

	// testHookAfterPeek runs in Wait between the peek and the booking phase,
	// for tests that need a competitor to slip in.
	testHookAfterPeek func()
}

// DefaultLimiterPrefix is used when NewLimiter gets an empty prefix.
const DefaultLimiterPrefix = "ratelimit:"

// NewLimiter returns a limiter storing its keys under prefix (keep it free of
// '{' so that each key's own hash tag decides its cluster slot).
func NewLimiter(rdb redis.UniversalClient, prefix string) *Limiter {
	if prefix == "" {
		prefix = DefaultLimiterPrefix
	}
	return &Limiter{rdb: rdb, prefix: prefix}
}

func (l *Limiter) redisKey(key string) string { return l.prefix + "{" + key + "}" }

// reserveScript is the GCRA step.
//
//	KEYS[1] the key
//	ARGV[1] T, emission interval, µs
//	ARGV[2] τ, burst tolerance, µs
//	ARGV[3] maxWait, µs; negative = unbounded
//	ARGV[4] minWait, µs: book as if arriving this long after now (Wait uses
//	        it to book every key at the same instant)
//	ARGV[5] "1" = peek: compute the wait, write nothing
//
// Returns {reserved 0|1, wait µs, new TAT (string), previous raw value or ""}.
var reserveScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
local interval = tonumber(ARGV[1])
local tolerance = tonumber(ARGV[2])
local maxwait = tonumber(ARGV[3])
local minwait = tonumber(ARGV[4])
local peek = ARGV[5] == '1'

local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])

local raw = redis.call('GET', key)
local tat = now
if raw then
  local v = tonumber(raw)
  if v and v > tat then tat = v end
end

local wait = tat - tolerance - now
if wait < minwait then wait = minwait end
if wait < 0 then wait = 0 end
if peek or (maxwait >= 0 and wait > maxwait) then
  return {0, wait, '', ''}
end

local arrival = now + wait
local newtat = tat
if arrival > newtat then newtat = arrival end
newtat = newtat + interval
local newraw = string.format('%.0f', newtat)
local ttl = math.ceil((newtat - now) / 1000)
if ttl < 1 then ttl = 1 end
redis.call('SET', key, newraw, 'PX', string.format('%.0f', ttl))
return {1, wait, newraw, raw or ''}
`)

// releaseScript undoes a reservation if nobody has booked the key since:
// compare-and-set from the TAT we stored back to the value before it. When
// someone has booked after us the slot stays consumed (conservative: the key
// is paced a little slower, never faster).
//
//	KEYS[1] the key
//	ARGV[1] the TAT our reservation stored
//	ARGV[2] the raw value before it, "" if the key did not exist
var releaseScript = redis.NewScript(`
if redis.replicate_commands then pcall(redis.replicate_commands) end
local key = KEYS[1]
if redis.call('GET', key) ~= ARGV[1] then return 0 end
local prev = tonumber(ARGV[2])
if not prev then
  redis.call('DEL', key)
  return 1
end
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000000 + tonumber(t[2])
if prev <= now then
  redis.call('DEL', key)
  return 1
end
redis.call('SET', key, ARGV[2], 'PX', string.format('%.0f', math.ceil((prev - now) / 1000)))
return 1
`)

// booking is one reservation, kept so that it can be released.
type booking struct {
	key    string // Redis key
	newTAT string
	prev   string
}

type reservation struct {
	wait     time.Duration
	reserved bool
	booking  booking
}

func micros(d time.Duration) int64 {
	if d <= 0 {
		return 0
	}
	return int64((d + time.Microsecond - 1) / time.Microsecond)
}

// reserve runs the GCRA script. maxWait < 0 is unbounded.
func (l *Limiter) reserve(ctx context.Context, key string, lim Limit, maxWait, minWait time.Duration, peek bool) (reservation, error) {
	interval, tolerance, err := lim.gcra()
	if err != nil {
		return reservation{}, fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	mw := int64(-1)
	if maxWait >= 0 {
		mw = int64(maxWait / time.Microsecond) // round down: never wait longer than allowed
	}
	peekArg := "0"
	if peek {
		peekArg = "1"
	}
	rk := l.redisKey(key)
	res, err := reserveScript.Run(ctx, l.rdb, []string{rk},
		interval, tolerance, mw, micros(minWait), peekArg).Slice()
	if err != nil {
		return reservation{}, fmt.Errorf("ratelimit: %s: %w", key, err)
	}
	if len(res) != 4 {
		return reservation{}, fmt.Errorf("ratelimit: %s: unexpected script reply %v", key, res)
	}
	flag, ok1 := res[0].(int64)
	waitUS, ok2 := res[1].(int64)
	newTAT, ok3 := res[2].(string)
	prev, ok4 := res[3].(string)
	if !ok1 || !ok2 || !ok3 || !ok4 {
		return reservation{}, fmt.Errorf("ratelimit: %s: unexpected script reply %v", key, res)
	}
	return reservation{
		wait:     time.Duration(waitUS) * time.Microsecond,
		reserved: flag == 1,
		booking:  booking{key: rk, newTAT: newTAT, prev: prev},
	}, nil
}

// release undoes bookings, newest first (so that two bookings of the same key
// unwind in order). It reports whether all of them were undone.
func (l *Limiter) release(ctx context.Context, bs []booking) error {
	var errs error
	for i := len(bs) - 1; i >= 0; i-- {
		b := bs[i]
		if err := releaseScript.Run(ctx, l.rdb, []string{b.key}, b.newTAT, b.prev).Err(); err != nil {
			errs = errors.Join(errs, fmt.Errorf("ratelimit: release %s: %w", b.key, err))
		}
	}
	return errs
}

// Reserve books the next free instant for key under lim and returns how long
// to wait before acting (0 = now). If the wait would exceed maxWait it
// reserves nothing and returns (wait, false, nil), so the caller can retry
// later (wait is a good retry-after) without holding a slot. A negative
// maxWait means no bound. An Off limit always returns (0, true, nil) without
// touching Redis.
//
// The caller must act no earlier than wait after Reserve returns; acting
// later is fine for this key (it only under-uses the budget).
func (l *Limiter) Reserve(ctx context.Context, key string, lim Limit, maxWait time.Duration) (wait time.Duration, ok bool, err error) {
	if lim.Off() {
		return 0, true, nil
	}
	r, err := l.reserve(ctx, key, lim, maxWait, 0, false)
	if err != nil {
		return 0, false, err
	}
	return r.wait, r.reserved, nil
}

// waitAttempts bounds how often Wait restarts its booking phase when
// competitors keep moving a later key between its peek and its booking.
const waitAttempts = 4

// Wait books a slot on every request's key and sleeps (until ctx is done)
// until all of them allow acting; Off limits are skipped. If acting would
// mean waiting longer than maxWait (negative = no bound) it reserves nothing
// and returns a *TooLongError carrying the wait (errors.Is(err, ErrTooLong)).
// If ctx ends while sleeping it releases the slots it booked (unless someone
// booked after them) and returns ctx.Err().
//
// Design: all keys are booked at the same instant, the one at which the
// caller will actually act. Reserving each key independently is wrong for
// mixed limits: with a bot at 30/s and a chat at 1/s, a send that must wait
// 900ms for its chat would book a bot slot for now but use the bot at
// +900ms, so delayed sends bunch up and exceed 30/s on the bot. A single
// multi-key script would be atomic but a Redis Cluster rejects it when the
// keys are in different slots (CROSSSLOT), so Wait works key by key:
//
//  1. peek every key (no writes): W = the largest wait. If W > maxWait,
//     return TooLongError: nothing was written.
//  2. book every key, in order, as if arriving at now+W (each script gets the
//     part of W not yet elapsed). The script checks maxWait atomically.
//  3. if a competitor booked a key between 1 and 2, that key's wait comes
//     back larger than W: the keys booked before it were booked too early,
//     so release them (compare-and-set: only if still the latest booking)
//     and restart step 2 with the larger W. After waitAttempts restarts it
//     keeps the bookings and acts at the largest wait (those earlier keys
//     are then paced slightly early, only under heavy contention). If a key
//     would exceed maxWait in step 2 everything booked is released.
//
// Listing the same key twice books two slots on it.
func (l *Limiter) Wait(ctx context.Context, maxWait time.Duration, reqs ...Request) error {
	wait, booked, err := l.reserveAll(ctx, maxWait, reqs)
	if err != nil {
		return err
	}
	if wait <= 0 {
		return nil
	}
	timer := time.NewTimer(wait)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
		defer cancel()
		_ = l.release(rctx, booked) // best effort: an unreleased slot only slows the key
		return ctx.Err()
	}
}

// reserveAll is steps 1–3 of Wait: it returns how long to wait from now and
// the bookings made.
func (l *Limiter) reserveAll(ctx context.Context, maxWait time.Duration, reqs []Request) (time.Duration, []booking, error) {
	active := make([]Request, 0, len(reqs))
	for _, r := range reqs {
		if !r.Limit.Off() {
			if _, _, err := r.Limit.gcra(); err != nil {
				return 0, nil, fmt.Errorf("ratelimit: %s: %w", r.Key, err)
			}
			active = append(active, r)
		}
	}
	if len(active) == 0 {
		return 0, nil, nil
	}
	if len(active) == 1 { // one key: the script alone is atomic
		r := active[0]
		res, err := l.reserve(ctx, r.Key, r.Limit, maxWait, 0, false)
		if err != nil {
			return 0, nil, err
		}
		if !res.reserved {
			return 0, nil, &TooLongError{Key: r.Key, Wait: res.wait}
		}
		return res.wait, []booking{res.booking}, nil
	}

	// 1. peek.
	start := time.Now()
	var target time.Duration // W, measured from start
	for _, r := range active {
		el := time.Since(start)
		res, err := l.reserve(ctx, r.Key, r.Limit, -1, 0, true)
		if err != nil {
			return 0, nil, err
		}
		if w := el + res.wait; w > target {
			target = w
		}
		if maxWait >= 0 && target > maxWait {
			return 0, nil, &TooLongError{Key: r.Key, Wait: target}
		}
	}
	if l.testHookAfterPeek != nil {
		l.testHookAfterPeek()
	}

	// 2–3. book at start+target.
	for attempt := 1; ; attempt++ {
		booked := make([]booking, 0, len(active))
		restart := false
		for i, r := range active {
			el := time.Since(start)
			// whole µs, as the script sees it, so that "raised" is exact
			minWait := time.Duration(micros(target-el)) * time.Microsecond
			mw := time.Duration(-1)
			if maxWait >= 0 {
				mw = max(maxWait-el, 0)
			}
			res, err := l.reserve(ctx, r.Key, r.Limit, mw, minWait, false)
			if err != nil {
				return 0, nil, errors.Join(err, l.release(context.WithoutCancel(ctx), booked))
			}
			if !res.reserved {
				rerr := l.release(context.WithoutCancel(ctx), booked)
				return 0, nil, errors.Join(&TooLongError{Key: r.Key, Wait: el + res.wait}, rerr)
			}
			booked = append(booked, res.booking)
			if res.wait > minWait { // a competitor moved this key
				target = el + res.wait
				if i > 0 && attempt < waitAttempts {
					restart = true
					break
				}
			}
		}
		if !restart {
			return max(target-time.Since(start), 0), booked, nil
		}
		if err := l.release(context.WithoutCancel(ctx), booked); err != nil {
			return 0, nil, err
		}
	}
}
