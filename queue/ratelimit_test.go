package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// tolerance for waits measured against a live clock (real Redis, or
// miniredis without SetTime): time passes between calls.
const rlTol = 50 * time.Millisecond

// rlBackend is one Redis to run the limiter tests against, with a fresh key
// prefix per test.
type rlBackend struct {
	name   string
	mr     *miniredis.Miniredis // nil for the real Redis
	opt    *redis.Options
	prefix string
}

// client opens a new connection pool (a new "process").
func (b *rlBackend) client(t testing.TB) redis.UniversalClient {
	t.Helper()
	c := redis.NewClient(b.opt)
	t.Cleanup(func() { _ = c.Close() })
	return c
}

func (b *rlBackend) limiter(t testing.TB) *Limiter { return NewLimiter(b.client(t), b.prefix) }

// keys lists the keys the test wrote.
func (b *rlBackend) keys(t testing.TB) []string {
	t.Helper()
	c := b.client(t)
	var out []string
	iter := c.Scan(context.Background(), 0, b.prefix+"*", 100).Iterator()
	for iter.Next(context.Background()) {
		out = append(out, iter.Val())
	}
	if err := iter.Err(); err != nil {
		t.Fatalf("scan: %v", err)
	}
	return out
}

func randomPrefix(t testing.TB) string {
	var b [8]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return "test:rl:" + hex.EncodeToString(b[:]) + ":"
}

// forEachBackend runs fn against miniredis and, when TEST_REDIS_URL is set,
// against that Redis.
func forEachBackend(t *testing.T, fn func(t *testing.T, b *rlBackend)) {
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		fn(t, &rlBackend{name: "miniredis", mr: mr, opt: &redis.Options{Addr: mr.Addr()}, prefix: randomPrefix(t)})
	})
	url := os.Getenv("TEST_REDIS_URL")
	if url == "" {
		return
	}
	t.Run("redis", func(t *testing.T) {
		opt, err := redis.ParseURL(url)
		if err != nil {
			t.Fatalf("TEST_REDIS_URL: %v", err)
		}
		b := &rlBackend{name: "redis", opt: opt, prefix: randomPrefix(t)}
		c := b.client(t)
		if err := c.Ping(context.Background()).Err(); err != nil {
			t.Fatalf("TEST_REDIS_URL %s: %v", url, err)
		}
		t.Cleanup(func() {
			// b.client's own cleanup may already have run: use a fresh one.
			c := redis.NewClient(opt)
			defer c.Close()
			ctx := context.Background()
			iter := c.Scan(ctx, 0, b.prefix+"*", 100).Iterator()
			for iter.Next(ctx) {
				c.Del(ctx, iter.Val())
			}
		})
		fn(t, b)
	})
}

// liveClock bounds waits read against a live clock: a wait booked for want
// (counted from start) comes back smaller by however long the calls took, so
// got must lie in [want - elapsed - rlTol, want + rlTol]. That keeps the
// tests exact in spirit yet immune to scheduler hiccups on a loaded machine.
type liveClock struct{ start time.Time }

func startLive() liveClock { return liveClock{time.Now()} }

func (c liveClock) near(t *testing.T, what string, got, want time.Duration) {
	t.Helper()
	el := time.Since(c.start)
	if got < want-el-rlTol || got > want+rlTol {
		t.Errorf("%s = %v, want %v (-%v elapsed) ±%v", what, got, want, el, rlTol)
	}
}

func TestLimitOff(t *testing.T) {
	for _, tc := range []struct {
		lim  Limit
		want bool
	}{
		{Limit{}, true},
		{Limit{Count: -1, Per: time.Second}, true},
		{Limit{Count: 0, Per: time.Second, Burst: 5}, true},
		{Limit{Count: 1, Per: time.Second}, false},
	} {
		if got := tc.lim.Off(); got != tc.want {
			t.Errorf("%+v.Off() = %v, want %v", tc.lim, got, tc.want)
		}
	}
}

func TestLimitGCRA(t *testing.T) {
	for _, tc := range []struct {
		name          string
		lim           Limit
		interval, tau int64
		wantErr       bool
	}{
		{"1/s", Limit{Count: 1, Per: time.Second}, 1_000_000, 0, false},
		{"burst 0 is 1", Limit{Count: 1, Per: time.Second, Burst: 0}, 1_000_000, 0, false},
		{"30/s rounds up", Limit{Count: 30, Per: time.Second, Burst: 1}, 33_334, 0, false},
		{"3/s burst 3", Limit{Count: 3, Per: time.Second, Burst: 3}, 333_334, 666_668, false},
		{"1/min burst 5", Limit{Count: 1, Per: time.Minute, Burst: 5}, 60_000_000, 240_000_000, false},
		{"faster than 1/µs", Limit{Count: 5_000_000, Per: time.Second}, 1, 0, false},
		{"huge count", Limit{Count: 1 << 62, Per: time.Nanosecond}, 1, 0, false},
		{"longest Per", Limit{Count: 1 << 40, Per: time.Duration(1<<63 - 1)}, 8389, 0, false},
		{"exact µs", Limit{Count: 1000, Per: time.Second, Burst: 10}, 1000, 9000, false},
		{"zero Per", Limit{Count: 1}, 0, 0, true},
		{"negative Per", Limit{Count: 1, Per: -time.Second}, 0, 0, true},
		{"absurd burst", Limit{Count: 1, Per: 24 * time.Hour, Burst: 1 << 30}, 0, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			iv, tau, err := tc.lim.gcra()
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, wantErr %v", err, tc.wantErr)
			}
			if err == nil && (iv != tc.interval || tau != tc.tau) {
				t.Errorf("gcra() = %d, %d; want %d, %d", iv, tau, tc.interval, tc.tau)
			}
		})
	}
}

func TestLimiterTooLongError(t *testing.T) {
	var err error = fmt.Errorf("send: %w", &TooLongError{Key: "chat:1", Wait: 1500 * time.Millisecond})
	if !errors.Is(err, ErrTooLong) {
		t.Errorf("errors.Is(%v, ErrTooLong) = false", err)
	}
	var tl *TooLongError
	if !errors.As(err, &tl) || tl.Wait != 1500*time.Millisecond || tl.Key != "chat:1" {
		t.Errorf("errors.As: %+v", tl)
	}
	if got := err.Error(); got != "send: ratelimit: chat:1: would wait 1.5s, more than allowed" {
		t.Errorf("Error() = %q", got)
	}
}

type step struct {
	wait time.Duration
	ok   bool
}

func TestLimiterReserve(t *testing.T) {
	sec := time.Second
	cases := []struct {
		name    string
		lim     Limit
		maxWait time.Duration
		want    []step
		keys    int // keys left in Redis
	}{
		{"off means no wait", Limit{}, 0, []step{{0, true}, {0, true}, {0, true}}, 0},
		{"1 per second", Limit{Count: 1, Per: sec}, -1, []step{{0, true}, {sec, true}, {2 * sec, true}}, 1},
		{"burst 3 at 1 per second", Limit{Count: 1, Per: sec, Burst: 3},
			-1, []step{{0, true}, {0, true}, {0, true}, {sec, true}, {2 * sec, true}}, 1},
		{"2 per second burst 2", Limit{Count: 2, Per: sec, Burst: 2},
			-1, []step{{0, true}, {0, true}, {sec / 2, true}, {sec, true}}, 1},
		{"maxWait exceeded consumes nothing", Limit{Count: 1, Per: sec},
			sec / 2, []step{{0, true}, {sec, false}, {sec, false}, {sec, false}}, 1},
		{"maxWait reached exactly is allowed", Limit{Count: 1, Per: sec},
			sec, []step{{0, true}, {sec, true}, {2 * sec, false}, {2 * sec, false}}, 1},
		{"maxWait 0 allows only immediate", Limit{Count: 1, Per: sec, Burst: 2},
			0, []step{{0, true}, {0, true}, {sec, false}}, 1},
	}
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		for i, tc := range cases {
			t.Run(tc.name, func(t *testing.T) {
				lc := startLive()
				l := b.limiter(t)
				key := fmt.Sprintf("case%d", i)
				for j, want := range tc.want {
					wait, ok, err := l.Reserve(context.Background(), key, tc.lim, tc.maxWait)
					if err != nil {
						t.Fatalf("call %d: %v", j, err)
					}
					if ok != want.ok {
						t.Errorf("call %d: ok = %v, want %v", j, ok, want.ok)
					}
					lc.near(t, fmt.Sprintf("call %d wait", j), wait, want.wait)
				}
				n := 0
				for _, k := range b.keys(t) {
					if k == b.prefix+"{"+key+"}" {
						n++
					}
				}
				if n != tc.keys {
					t.Errorf("%d keys %s{%s} in Redis, want %d", n, b.prefix, key, tc.keys)
				}
			})
		}
	})
}

func TestLimiterReserveInvalidLimit(t *testing.T) {
	mr := miniredis.RunT(t)
	l := NewLimiter(redis.NewClient(&redis.Options{Addr: mr.Addr()}), "")
	if _, _, err := l.Reserve(context.Background(), "k", Limit{Count: 1}, -1); err == nil {
		t.Error("Reserve with Per 0: no error")
	}
	if err := l.Wait(context.Background(), -1, Request{"a", Limit{Count: 1, Per: time.Second}}, Request{"b", Limit{Count: 1}}); err == nil {
		t.Error("Wait with Per 0: no error")
	}
	if keys := mr.Keys(); len(keys) != 0 {
		t.Errorf("keys written: %v", keys)
	}
}

// The script reads the server's clock, not the caller's: with miniredis
// frozen, waits are exact, and moving the server clock moves them.
func TestLimiterUsesServerClock(t *testing.T) {
	mr := miniredis.RunT(t)
	t0 := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	mr.SetTime(t0)
	l := NewLimiter(redis.NewClient(&redis.Options{Addr: mr.Addr()}), "rl:")
	ctx := context.Background()
	lim := Limit{Count: 1, Per: time.Second}
	for i, want := range []time.Duration{0, time.Second, 2 * time.Second} {
		wait, ok, err := l.Reserve(ctx, "chat", lim, -1)
		if err != nil || !ok || wait != want {
			t.Fatalf("call %d: %v %v %v, want %v", i, wait, ok, err, want)
		}
	}
	// TAT is t0+3s; at t0+1.5s the next slot is 1.5s away.
	mr.SetTime(t0.Add(1500 * time.Millisecond))
	wait, ok, err := l.Reserve(ctx, "chat", lim, -1)
	if err != nil || !ok || wait != 1500*time.Millisecond {
		t.Fatalf("after SetTime: %v %v %v, want 1.5s", wait, ok, err)
	}
	// Hash-tagged key; TTL runs to the TAT (t0+4s), i.e. 2.5s from now.
	if !mr.Exists("rl:{chat}") {
		t.Fatalf("key rl:{chat} missing: %v", mr.Keys())
	}
	if ttl := mr.TTL("rl:{chat}"); ttl != 2500*time.Millisecond {
		t.Errorf("TTL = %v, want 2.5s", ttl)
	}
	// Long after the TAT the stored value is stale: immediate again.
	mr.SetTime(t0.Add(time.Hour))
	if wait, ok, _ := l.Reserve(ctx, "chat", lim, -1); wait != 0 || !ok {
		t.Errorf("an hour later: %v %v, want 0 true", wait, ok)
	}
}

// Two Limiters on separate connections (two processes) share one budget;
// another prefix is another budget.
func TestLimiterSharedAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		lc := startLive()
		a, c := b.limiter(t), b.limiter(t)
		other := NewLimiter(b.client(t), b.prefix+"other:")
		ctx := context.Background()
		lim := Limit{Count: 1, Per: time.Second}
		for i, tc := range []struct {
			l    *Limiter
			want time.Duration
		}{{a, 0}, {c, time.Second}, {a, 2 * time.Second}, {c, 3 * time.Second}, {other, 0}} {
			wait, ok, err := tc.l.Reserve(ctx, "+15550001", lim, -1)
			if err != nil || !ok {
				t.Fatalf("call %d: %v %v", i, ok, err)
			}
			lc.near(t, fmt.Sprintf("call %d wait", i), wait, tc.want)
		}
	})
}

// 50 concurrent callers at 10/s, from two Limiters, each get their own slot,
// 100ms apart. The goroutines call reserve (what Reserve wraps) to also see
// the TAT each one stored: sorted, those must be exactly 100ms apart, which
// proves no two callers share a slot whatever the scheduling. On miniredis the
// server clock is frozen, so the waits themselves must be exactly 0, 100ms,
// 200ms, …; on a live clock each wait is relative to its own call, so the
// i-th smallest lies in [i·100ms - elapsed, i·100ms].
func TestLimiterReserveConcurrent(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		const n = 50
		const step = 100 * time.Millisecond
		if b.mr != nil {
			b.mr.SetTime(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
		}
		lim := Limit{Count: 10, Per: time.Second}
		limiters := []*Limiter{b.limiter(t), b.limiter(t)}
		waits := make([]time.Duration, n)
		tats := make([]int64, n)
		errs := make([]error, n)
		lc := startLive()
		var wg sync.WaitGroup
		for i := range n {
			wg.Go(func() {
				r, err := limiters[i%2].reserve(context.Background(), "bot", lim, 10*time.Second, 0, false)
				if err == nil && !r.reserved {
					err = fmt.Errorf("not reserved, wait %v", r.wait)
				}
				if err == nil {
					tats[i], err = strconv.ParseInt(r.booking.newTAT, 10, 64)
				}
				waits[i], errs[i] = r.wait, err
			})
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		slices.Sort(waits)
		slices.Sort(tats)
		for i := range n {
			want := time.Duration(i) * step
			if got := time.Duration(tats[i]-tats[0]) * time.Microsecond; got != want {
				t.Errorf("sorted TAT %d is %v after the first, want %v", i, got, want)
			}
			if b.mr != nil {
				if waits[i] != want {
					t.Errorf("sorted wait %d = %v, want %v", i, waits[i], want)
				}
			} else if el := time.Since(lc.start); waits[i] > want || waits[i] < want-el {
				t.Errorf("sorted wait %d = %v, want %v minus at most %v elapsed", i, waits[i], want, el)
			}
		}
		// The stored TAT is the last one booked.
		raw, err := b.client(t).Get(context.Background(), b.prefix+"{bot}").Int64()
		if err != nil {
			t.Fatal(err)
		}
		if raw != tats[n-1] {
			t.Errorf("stored TAT %d, want %d", raw, tats[n-1])
		}
	})
}

// Release undoes a reservation only while it is the latest one.
func TestLimiterReleaseIsCompareAndSet(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		lc := startLive()
		l := b.limiter(t)
		ctx := context.Background()
		lim := Limit{Count: 1, Per: time.Second}
		r, err := l.reserve(ctx, "k", lim, -1, 0, false)
		if err != nil || !r.reserved {
			t.Fatalf("reserve: %+v %v", r, err)
		}
		if err := l.release(ctx, []booking{r.booking}); err != nil {
			t.Fatal(err)
		}
		if keys := b.keys(t); len(keys) != 0 {
			t.Errorf("after release of a fresh key: %v", keys)
		}
		first, _ := l.reserve(ctx, "k", lim, -1, 0, false)
		second, _ := l.reserve(ctx, "k", lim, -1, 0, false)
		lc.near(t, "second wait", second.wait, time.Second)
		// first is no longer the latest booking: releasing it is a no-op.
		if err := l.release(ctx, []booking{first.booking}); err != nil {
			t.Fatal(err)
		}
		wait, _, _ := l.Reserve(ctx, "k", lim, -1)
		lc.near(t, "wait after stale release", wait, 2*time.Second)
		// Releasing the latest restores the previous TAT (with a TTL).
		third, _ := l.reserve(ctx, "k", lim, -1, 0, false)
		lc.near(t, "third wait", third.wait, 3*time.Second)
		if err := l.release(ctx, []booking{third.booking}); err != nil {
			t.Fatal(err)
		}
		wait, _, _ = l.Reserve(ctx, "k", lim, -1)
		lc.near(t, "wait after release", wait, 3*time.Second)
	})
}

// Wait with a bot (30/s) and a chat (2/s): the first send goes at once, the
// second waits for the chat, ~500ms.
func TestLimiterWait(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		l := b.limiter(t)
		ctx := context.Background()
		bot := Request{"telegram:bot1", Limit{Count: 30, Per: time.Second}}
		chat := Request{"telegram:bot1:chat42", Limit{Count: 2, Per: time.Second}}
		start := time.Now()
		if err := l.Wait(ctx, time.Second, bot, chat); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > 300*time.Millisecond {
			t.Errorf("first Wait took %v", el)
		}
		start = time.Now()
		if err := l.Wait(ctx, time.Second, bot, chat); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el < 400*time.Millisecond || el > 900*time.Millisecond {
			t.Errorf("second Wait took %v, want 400–900ms", el)
		}
		// Off limits and no requests don't wait.
		start = time.Now()
		if err := l.Wait(ctx, 0, Request{"x", Limit{}}); err != nil {
			t.Fatal(err)
		}
		if err := l.Wait(ctx, 0); err != nil {
			t.Fatal(err)
		}
		if el := time.Since(start); el > 300*time.Millisecond {
			t.Errorf("unlimited Wait took %v", el)
		}
	})
}

// Wait books every key at the instant the caller acts: after a Wait held
// back 200ms by its chat, the bot's next slot is 200ms+100ms away, not
// 100ms (which would let delayed sends bunch up on the bot).
func TestLimiterWaitBooksAllKeysAtSameInstant(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		lc := startLive()
		l := b.limiter(t)
		ctx := context.Background()
		bot := Request{"bot", Limit{Count: 10, Per: time.Second}}
		chat := Request{"chat", Limit{Count: 5, Per: time.Second}}
		if _, _, err := l.Reserve(ctx, chat.Key, chat.Limit, -1); err != nil {
			t.Fatal(err)
		}
		wait, booked, err := l.reserveAll(ctx, time.Second, []Request{bot, chat})
		if err != nil {
			t.Fatal(err)
		}
		lc.near(t, "reserveAll wait", wait, 200*time.Millisecond)
		if len(booked) != 2 {
			t.Errorf("%d bookings, want 2", len(booked))
		}
		w, _, _ := l.Reserve(ctx, bot.Key, bot.Limit, -1)
		lc.near(t, "next bot wait", w, 300*time.Millisecond)
		w, _, _ = l.Reserve(ctx, chat.Key, chat.Limit, -1)
		lc.near(t, "next chat wait", w, 400*time.Millisecond)
	})
}

// A competitor books the chat between Wait's peek and its booking: Wait
// releases the bot slot it booked too early and books both at the later
// instant.
func TestLimiterWaitRestartsWhenRaced(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		lc := startLive()
		l, competitor := b.limiter(t), b.limiter(t)
		ctx := context.Background()
		bot := Request{"bot", Limit{Count: 1, Per: time.Second}}
		chat := Request{"chat", Limit{Count: 5, Per: time.Second}}
		hooked := 0
		l.testHookAfterPeek = func() {
			hooked++
			if _, _, err := competitor.Reserve(ctx, chat.Key, chat.Limit, -1); err != nil {
				t.Error(err)
			}
		}
		wait, _, err := l.reserveAll(ctx, time.Second, []Request{bot, chat})
		if err != nil {
			t.Fatal(err)
		}
		if hooked != 1 {
			t.Fatalf("hook ran %d times", hooked)
		}
		// Without the release the bot's early slot would push everything to 1s.
		lc.near(t, "reserveAll wait", wait, 200*time.Millisecond)
		w, _, _ := l.Reserve(ctx, bot.Key, bot.Limit, -1)
		lc.near(t, "next bot wait", w, 1200*time.Millisecond)
		w, _, _ = l.Reserve(ctx, chat.Key, chat.Limit, -1)
		lc.near(t, "next chat wait", w, 400*time.Millisecond)
	})
}

// Wait refuses (TooLongError) without reserving anything on any key.
func TestLimiterWaitTooLong(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		lc := startLive()
		l := b.limiter(t)
		ctx := context.Background()
		bot := Request{"bot", Limit{Count: 2, Per: time.Second}}
		chat := Request{"chat", Limit{Count: 1, Per: time.Second}}
		if err := l.Wait(ctx, 500*time.Millisecond, bot, chat); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := l.Wait(ctx, 500*time.Millisecond, bot, chat)
		if el := time.Since(start); el > 300*time.Millisecond {
			t.Errorf("refused Wait took %v", el)
		}
		var tl *TooLongError
		if !errors.As(err, &tl) || !errors.Is(err, ErrTooLong) {
			t.Fatalf("err = %v, want *TooLongError", err)
		}
		lc.near(t, "TooLongError.Wait", tl.Wait, time.Second)
		if tl.Key != chat.Key {
			t.Errorf("TooLongError.Key = %q, want %q", tl.Key, chat.Key)
		}
		// Nothing was booked by the refused call.
		w, _, _ := l.Reserve(ctx, bot.Key, bot.Limit, -1)
		lc.near(t, "next bot wait", w, 500*time.Millisecond)
		w, _, _ = l.Reserve(ctx, chat.Key, chat.Limit, -1)
		lc.near(t, "next chat wait", w, time.Second)
		// Single request: refused atomically by the script.
		err = l.Wait(ctx, 500*time.Millisecond, chat)
		if !errors.As(err, &tl) {
			t.Fatalf("single: err = %v", err)
		}
		lc.near(t, "single TooLongError.Wait", tl.Wait, 2*time.Second)
	})
}

// Cancelling ctx while Wait sleeps returns ctx.Err() and gives the slot back.
func TestLimiterWaitContextCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		lc := startLive()
		l := b.limiter(t)
		chat := Request{"chat", Limit{Count: 1, Per: time.Second}}
		bot := Request{"bot", Limit{Count: 30, Per: time.Second}}
		if err := l.Wait(context.Background(), -1, bot, chat); err != nil {
			t.Fatal(err)
		}
		for _, reqs := range [][]Request{{chat}, {bot, chat}} {
			ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
			start := time.Now()
			err := l.Wait(ctx, 5*time.Second, reqs...)
			cancel()
			if !errors.Is(err, context.DeadlineExceeded) {
				t.Fatalf("%d reqs: err = %v, want DeadlineExceeded", len(reqs), err)
			}
			if el := time.Since(start); el > 500*time.Millisecond {
				t.Errorf("%d reqs: cancelled Wait took %v", len(reqs), el)
			}
		}
		// Both cancelled Waits released their chat slot: the next is 1s
		// after the first Wait, not 3s.
		w, _, _ := l.Reserve(context.Background(), chat.Key, chat.Limit, -1)
		lc.near(t, "next chat wait", w, time.Second)
		// An already-cancelled ctx fails before booking.
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if err := l.Wait(ctx, -1, chat); !errors.Is(err, context.Canceled) {
			t.Errorf("cancelled ctx: err = %v", err)
		}
	})
}

func BenchmarkReserve(b *testing.B) {
	mr := miniredis.RunT(b)
	rdb := redis.NewClient(&redis.Options{Addr: mr.Addr()})
	defer rdb.Close()
	l := NewLimiter(rdb, "bench:")
	ctx := context.Background()
	lim := Limit{Count: 1000, Per: time.Second, Burst: 10}
	keys := make([]string, 256)
	for i := range keys {
		keys[i] = fmt.Sprintf("chat:%d", i)
	}
	i := 0
	for b.Loop() {
		if _, _, err := l.Reserve(ctx, keys[i%len(keys)], lim, -1); err != nil {
			b.Fatal(err)
		}
		i++
	}
}
