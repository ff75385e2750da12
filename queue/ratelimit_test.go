package queue

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/redis/go-redis/v9"
)

// rlBackend is one Redis to run the limiter tests against, with a fresh key
// prefix per test.
type rlBackend struct {
	name   string
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
		fn(t, &rlBackend{name: "miniredis", opt: &redis.Options{Addr: mr.Addr()}, prefix: randomPrefix(t)})
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

// TestOffLimitsSkipRedis: off limits never reach Redis (a dead one here).
func TestOffLimitsSkipRedis(t *testing.T) {
	l := NewLimiter(redis.NewClient(&redis.Options{Addr: "127.0.0.1:1", MaxRetries: -1}), "")
	if err := l.Wait(context.Background(), time.Second, Request{Key: "k", Limit: Limit{}}); err != nil {
		t.Fatalf("off limit: %v", err)
	}
	if err := l.Wait(context.Background(), time.Second, Request{Key: "k", Limit: Limit{Count: 1, Per: time.Second}}); err == nil {
		t.Fatal("a live limit on a dead Redis did not fail")
	}
}

func TestParseLimit(t *testing.T) {
	for in, want := range map[string]Limit{"off": {}, "0": {}, "1/s": {Count: 1, Per: time.Second, Burst: 1},
		"20/m": {Count: 20, Per: time.Minute, Burst: 1}, "300/h": {Count: 300, Per: time.Hour, Burst: 1}} {
		if got, err := ParseLimit(in); err != nil || got != want {
			t.Errorf("ParseLimit(%q) = %+v, %v; want %+v", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "1", "1/d", "x/s", "-1/s", "0/s"} {
		if _, err := ParseLimit(bad); err == nil {
			t.Errorf("ParseLimit(%q) accepted", bad)
		}
	}
}

// grants runs n Waits on the limiters (round robin: several processes)
// from n goroutines and returns when each was let through, sorted.
func grants(t *testing.T, ls []*Limiter, n int, maxWait time.Duration, reqs ...Request) []time.Duration {
	t.Helper()
	start := time.Now()
	var mu sync.Mutex
	var out []time.Duration
	var wg sync.WaitGroup
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func(l *Limiter) {
			defer wg.Done()
			if err := l.Wait(context.Background(), maxWait, reqs...); err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			out = append(out, time.Since(start))
			mu.Unlock()
		}(ls[i%len(ls)])
	}
	wg.Wait()
	slices.Sort(out)
	return out
}

// atMost checks that no window of the given length holds more than max
// grants. They are measured on our side, when the goroutine that was
// granted runs again, so a loaded machine (CI shares two cores) delays
// some observations: the slack covers that, while a limiter that let a
// burst through would still show grants microseconds apart.
func atMost(t *testing.T, what string, got []time.Duration, window time.Duration, max int) {
	t.Helper()
	slack := 30 * time.Millisecond
	for i := range got {
		j := i
		for j < len(got) && got[j]-got[i] < window-slack {
			j++
		}
		if j-i > max {
			t.Fatalf("%s: %d grants within %v from %v (grants %v)", what, j-i, window-slack, got[i], got)
		}
	}
}

// TestLimiterSharedAcrossInstances: two limiters (two processes) on one
// Redis share a key's budget: 8 concurrent events at 20/s spread over at
// least 7 intervals.
func TestLimiterSharedAcrossInstances(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		ls := []*Limiter{b.limiter(t), b.limiter(t)}
		lim := Limit{Count: 20, Per: time.Second, Burst: 1}
		got := grants(t, ls, 8, 5*time.Second, Request{Key: "sms:+15005550006", Limit: lim})
		if len(got) != 8 {
			t.Fatalf("%d of 8 let through", len(got))
		}
		atMost(t, "20/s", got, 50*time.Millisecond, 1)
		if span := got[7] - got[0]; span < 7*50*time.Millisecond-30*time.Millisecond {
			t.Fatalf("8 events at 20/s within %v", span)
		}
		// Another key is not slowed by this one.
		other := grants(t, ls, 1, time.Second, Request{Key: "sms:+15005550007", Limit: lim})
		if other[0] > 40*time.Millisecond {
			t.Fatalf("another sender waited %v", other[0])
		}
	})
}

// TestLimiterBurst: a burst of 3 lets 3 through at once, then paces (4/s:
// intervals long enough to tell apart on a loaded machine).
func TestLimiterBurst(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		lim := Limit{Count: 4, Per: time.Second, Burst: 3}
		got := grants(t, []*Limiter{b.limiter(t)}, 5, 5*time.Second, Request{Key: "email", Limit: lim})
		if got[2]-got[0] > 200*time.Millisecond || got[3]-got[0] < 200*time.Millisecond || got[4]-got[0] < 450*time.Millisecond {
			t.Fatalf("burst 3 at 4/s: grants %v", got)
		}
	})
}

// TestLimiterMultiKey: a Telegram send needs the bot (30/s) and its chat
// (4/s here): sends to one chat are paced by the chat, sends to other chats
// only by the bot.
func TestLimiterMultiKey(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		l := b.limiter(t)
		bot := Request{Key: "telegram:bot", Limit: Limit{Count: 30, Per: time.Second, Burst: 1}}
		chat := func(id string) Request {
			return Request{Key: "telegram:chat:" + id, Limit: Limit{Count: 4, Per: time.Second, Burst: 1}}
		}
		same := grants(t, []*Limiter{l}, 3, 5*time.Second, bot, chat("1"))
		atMost(t, "one chat at 4/s", same, 250*time.Millisecond, 1)
		start := time.Now()
		for i := 0; i < 4; i++ {
			if err := l.Wait(context.Background(), time.Second, bot, chat(fmt.Sprint(100+i))); err != nil {
				t.Fatal(err)
			}
		}
		if el := time.Since(start); el < 3*33*time.Millisecond-20*time.Millisecond || el > 600*time.Millisecond {
			t.Fatalf("4 chats through a 30/s bot took %v", el)
		}
	})
}

// TestLimiterTooLong: a wait beyond maxWait is refused at once with the
// wait (a retry-after for the deferred message).
func TestLimiterTooLong(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		l := b.limiter(t)
		slow := Request{Key: "sms:slow", Limit: Limit{Count: 1, Per: time.Minute, Burst: 1}}
		if err := l.Wait(context.Background(), time.Second, slow); err != nil {
			t.Fatal(err)
		}
		start := time.Now()
		err := l.Wait(context.Background(), time.Second, slow)
		var tl *TooLongError
		if !errors.As(err, &tl) || !errors.Is(err, ErrTooLong) || tl.Key != "sms:slow" {
			t.Fatalf("err = %v, want a TooLongError on sms:slow", err)
		}
		if tl.Wait < 55*time.Second || tl.Wait > time.Minute {
			t.Fatalf("wait %v, want about a minute", tl.Wait)
		}
		if time.Since(start) > 200*time.Millisecond {
			t.Fatal("a refused wait slept")
		}
	})
}

// TestLimiterWaitContextCancel: a caller whose context ends stops waiting.
func TestLimiterWaitContextCancel(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b *rlBackend) {
		l := b.limiter(t)
		r := Request{Key: "slack:C1", Limit: Limit{Count: 1, Per: 10 * time.Second, Burst: 1}}
		if err := l.Wait(context.Background(), time.Minute, r); err != nil {
			t.Fatal(err)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
		defer cancel()
		start := time.Now()
		if err := l.Wait(ctx, time.Minute, r); !errors.Is(err, context.DeadlineExceeded) {
			t.Fatalf("err = %v, want the context's", err)
		}
		if el := time.Since(start); el > time.Second {
			t.Fatalf("returned after %v", el)
		}
	})
}

func BenchmarkWait(b *testing.B) {
	mr := miniredis.RunT(b)
	l := NewLimiter(redis.NewClient(&redis.Options{Addr: mr.Addr()}), "bench:")
	lim := Limit{Count: 1_000_000, Per: time.Second, Burst: 1_000_000}
	ctx := context.Background()
	for b.Loop() {
		if err := l.Wait(ctx, time.Second, Request{Key: "k", Limit: lim}); err != nil {
			b.Fatal(err)
		}
	}
}
