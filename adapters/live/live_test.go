package live

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/google/uuid"
	"github.com/redis/go-redis/v9"

	"github.com/bookinggw/gateway/core"
)

// backend is one Redis the tests run on.
type backend struct {
	name string
	opt  *redis.Options
}

func (b backend) client(t *testing.T) *redis.Client {
	t.Helper()
	c := redis.NewClient(b.opt)
	t.Cleanup(func() { c.Close() })
	return c
}

// stream builds a Stream whose subscriptions and reader end with the test.
func (b backend) stream(t *testing.T, cfg Config) *Stream {
	t.Helper()
	s := New(b.client(t), cfg)
	t.Cleanup(func() { s.Close() })
	return s
}

// forEachBackend runs fn on miniredis (what the app embeds without
// REDIS_URL) and, when TEST_REDIS_URL is set, on that Redis.
func forEachBackend(t *testing.T, fn func(t *testing.T, b backend)) {
	t.Run("miniredis", func(t *testing.T) {
		mr := miniredis.RunT(t)
		fn(t, backend{name: "miniredis", opt: &redis.Options{Addr: mr.Addr()}})
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
		if err := redis.NewClient(opt).Ping(context.Background()).Err(); err != nil {
			t.Fatalf("TEST_REDIS_URL %s: %v", url, err)
		}
		fn(t, backend{name: "redis", opt: opt})
	})
}

// newOrg is an organization id of its own, whose keys are deleted after
// the test (the real Redis is shared).
func newOrg(t *testing.T, b backend) string {
	org := uuid.NewString()
	t.Cleanup(func() {
		c := redis.NewClient(b.opt)
		defer c.Close()
		c.Del(context.Background(), streamKey(org), lastKey(org))
	})
	return org
}

func event(org, center string, n int) core.LiveEvent {
	return core.LiveEvent{Kind: core.LiveMessageNew, OrgID: org, CenterID: center, Data: map[string]int{"n": n}}
}

func publish(t *testing.T, s *Stream, evs ...core.LiveEvent) {
	t.Helper()
	for _, ev := range evs {
		if err := s.Publish(context.Background(), ev); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

func subscribe(t *testing.T, s *Stream, org, after string) core.LiveSubscription {
	t.Helper()
	sub, err := s.Subscribe(context.Background(), org, after)
	if err != nil {
		t.Fatalf("subscribe after %q: %v", after, err)
	}
	t.Cleanup(sub.Close)
	return sub
}

// next reads one event, failing after a few seconds.
func next(t *testing.T, sub core.LiveSubscription) core.LiveEvent {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ev, err := sub.Next(ctx)
	if err != nil {
		t.Fatalf("next: %v", err)
	}
	return ev
}

// nothing checks that no event comes for a while.
func nothing(t *testing.T, sub core.LiveSubscription) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if ev, err := sub.Next(ctx); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("want no event, got %+v, %v", ev, err)
	}
}

// seq reads the "n" of an event's data.
func seq(t *testing.T, ev core.LiveEvent) int {
	t.Helper()
	raw, ok := ev.Data.(json.RawMessage)
	if !ok {
		t.Fatalf("data is %T, want raw JSON", ev.Data)
	}
	var d struct{ N int }
	if err := json.Unmarshal(raw, &d); err != nil {
		t.Fatal(err)
	}
	return d.N
}

func wantSeqs(t *testing.T, sub core.LiveSubscription, want ...int) []core.LiveEvent {
	t.Helper()
	var got []core.LiveEvent
	for _, w := range want {
		ev := next(t, sub)
		if n := seq(t, ev); n != w {
			t.Fatalf("event n=%d, want %d", n, w)
		}
		got = append(got, ev)
	}
	return got
}

func TestPublishRefusesIncompleteEvents(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.stream(t, Config{})
		org := newOrg(t, b)
		for _, tc := range []struct {
			name string
			ev   core.LiveEvent
		}{
			{"no kind", core.LiveEvent{OrgID: org, CenterID: "c"}},
			{"no org", core.LiveEvent{Kind: core.LiveCallIncoming, CenterID: "c"}},
			{"no centre", core.LiveEvent{Kind: core.LiveCallIncoming, OrgID: org}},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if err := s.Publish(context.Background(), tc.ev); core.ErrorCode(err) != core.CodeInvalid {
					t.Fatalf("want invalid, got %v", err)
				}
			})
		}
		if n, _ := b.client(t).Exists(context.Background(), streamKey(org)).Result(); n != 0 {
			t.Fatal("an incomplete event was stored")
		}
	})
}

func TestPublishAndFollow(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		at := time.Date(2026, 3, 1, 10, 0, 0, 0, time.UTC)
		s := b.stream(t, Config{Now: func() time.Time { return at }})
		org, other := newOrg(t, b), newOrg(t, b)
		publish(t, s, event(org, "c1", 0)) // before the subscription: not delivered
		sub1, sub2 := subscribe(t, s, org, ""), subscribe(t, s, org, "")
		subOther := subscribe(t, s, other, "")

		given := time.Date(2026, 2, 1, 9, 0, 0, 0, time.UTC)
		e2 := event(org, "c2", 2)
		e2.At, e2.StaffID = given, "staff-1"
		publish(t, s, event(org, "c1", 1), e2, event(org, "c1", 3))
		for _, sub := range []core.LiveSubscription{sub1, sub2} {
			got := wantSeqs(t, sub, 1, 2, 3)
			if got[0].ID == "" || got[0].ID == got[1].ID {
				t.Fatalf("ids %q %q", got[0].ID, got[1].ID)
			}
			if !got[0].At.Equal(at) || !got[1].At.Equal(given) {
				t.Fatalf("at %v %v: publish stamps only a zero At", got[0].At, got[1].At)
			}
			if got[1].OrgID != org || got[1].CenterID != "c2" || got[1].StaffID != "staff-1" || got[1].Kind != core.LiveMessageNew {
				t.Fatalf("event %+v", got[1])
			}
		}
		nothing(t, subOther)
	})
}

// Two Streams on one Redis are two API processes: what one publishes, the
// other's subscribers receive.
func TestAcrossProcesses(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		p1, p2 := b.stream(t, Config{}), b.stream(t, Config{})
		org := newOrg(t, b)
		sub := subscribe(t, p2, org, "")
		publish(t, p1, event(org, "c", 1))
		wantSeqs(t, sub, 1)
	})
}

func TestResume(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.stream(t, Config{})
		org := newOrg(t, b)
		live := subscribe(t, s, org, "")
		publish(t, s, event(org, "c", 1), event(org, "c", 2), event(org, "c", 3))
		evs := wantSeqs(t, live, 1, 2, 3)

		t.Run("after an id replays the rest, then follows", func(t *testing.T) {
			sub := subscribe(t, s, org, evs[0].ID)
			wantSeqs(t, sub, 2, 3)
			publish(t, s, event(org, "c", 4))
			wantSeqs(t, sub, 4)
			wantSeqs(t, live, 4)
		})
		t.Run("after the newest replays nothing", func(t *testing.T) {
			last := evs[2]
			ids := []string{}
			sub := subscribe(t, s, org, last.ID)
			for _, ev := range wantSeqs(t, sub, 4) {
				ids = append(ids, ev.ID)
			}
			nothing(t, sub)
			// A quiet organization's stream expires; its newest id is
			// kept, so a screen that saw it still resumes without a reset.
			b.client(t).Del(context.Background(), streamKey(org))
			sub = subscribe(t, s, org, ids[0])
			nothing(t, sub)
		})
		for _, bad := range []string{"nonsense", "99999999999999-0", "1-0"} {
			t.Run("gap after "+bad, func(t *testing.T) {
				if _, err := s.Subscribe(context.Background(), org, bad); !errors.Is(err, core.ErrLiveGap) {
					t.Fatalf("want ErrLiveGap, got %v", err)
				}
			})
		}
		t.Run("an id of a Redis that was reset", func(t *testing.T) {
			fresh := newOrg(t, b)
			if _, err := s.Subscribe(context.Background(), fresh, evs[0].ID); !errors.Is(err, core.ErrLiveGap) {
				t.Fatalf("want ErrLiveGap, got %v", err)
			}
		})
	})
}

func TestRetention(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		t.Run("max events", func(t *testing.T) {
			s := b.stream(t, Config{MaxEvents: 3})
			org := newOrg(t, b)
			live := subscribe(t, s, org, "")
			// Each event is read before the next is published: a reader
			// that falls behind the trim gets a gap, which is not what
			// this test is about.
			var evs []core.LiveEvent
			for i := 1; i <= 5; i++ {
				publish(t, s, event(org, "c", i))
				evs = append(evs, wantSeqs(t, live, i)...)
			}
			if n := b.client(t).XLen(context.Background(), streamKey(org)).Val(); n != 3 {
				t.Fatalf("stream keeps %d events, want 3", n)
			}
			if _, err := s.Subscribe(context.Background(), org, evs[0].ID); !errors.Is(err, core.ErrLiveGap) {
				t.Fatalf("event 2 was trimmed: want ErrLiveGap, got %v", err)
			}
			// Event 3 is the oldest kept: a screen at 2 missed nothing.
			wantSeqs(t, subscribe(t, s, org, evs[1].ID), 3, 4, 5)
		})
		t.Run("window", func(t *testing.T) {
			s := b.stream(t, Config{Retention: time.Second})
			org := newOrg(t, b)
			live := subscribe(t, s, org, "")
			publish(t, s, event(org, "c", 1), event(org, "c", 2))
			time.Sleep(1100 * time.Millisecond)
			publish(t, s, event(org, "c", 3))
			evs := wantSeqs(t, live, 1, 2, 3)
			if n := b.client(t).XLen(context.Background(), streamKey(org)).Val(); n != 1 {
				t.Fatalf("stream keeps %d events, want 1", n)
			}
			if ttl := b.client(t).PTTL(context.Background(), streamKey(org)).Val(); ttl <= 0 || ttl > time.Second {
				t.Fatalf("stream ttl %v, want the retention", ttl)
			}
			if _, err := s.Subscribe(context.Background(), org, evs[0].ID); !errors.Is(err, core.ErrLiveGap) {
				t.Fatalf("want ErrLiveGap, got %v", err)
			}
			wantSeqs(t, subscribe(t, s, org, evs[1].ID), 3)
		})
	})
}

// A subscriber that reads slower than events come falls behind its buffer
// and catches up from Redis, in order and without duplicates.
func TestSlowSubscriberCatchesUp(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.stream(t, Config{Buffer: 2})
		org := newOrg(t, b)
		slow, fast := subscribe(t, s, org, ""), subscribe(t, s, org, "")
		var want []int
		for i := 1; i <= 20; i++ {
			publish(t, s, event(org, "c", i))
			want = append(want, i)
			if i <= 10 {
				wantSeqs(t, fast, i)
			}
		}
		wantSeqs(t, fast, want[10:]...)
		wantSeqs(t, slow, want...)
		nothing(t, slow)
	})
}

func TestCloseEndsSubscriptions(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := New(b.client(t), Config{Block: time.Minute})
		org := newOrg(t, b)
		sub := subscribe(t, s, org, "")
		errc := make(chan error, 1)
		go func() {
			_, err := sub.Next(context.Background())
			errc <- err
		}()
		start := time.Now()
		if err := s.Close(); err != nil {
			t.Fatal(err)
		}
		if d := time.Since(start); d > 5*time.Second {
			t.Fatalf("close took %v: the blocked read was not woken", d)
		}
		select {
		case err := <-errc:
			if !errors.Is(err, ErrClosed) {
				t.Fatalf("next after close: %v", err)
			}
		case <-time.After(5 * time.Second):
			t.Fatal("next did not return after close")
		}
		if _, err := s.Subscribe(context.Background(), org, ""); !errors.Is(err, ErrClosed) {
			t.Fatalf("subscribe after close: %v", err)
		}
	})
}

// The reader stops when the last subscriber leaves, and starts again.
func TestReaderStopsWhenIdle(t *testing.T) {
	forEachBackend(t, func(t *testing.T, b backend) {
		s := b.stream(t, Config{Block: 200 * time.Millisecond})
		org := newOrg(t, b)
		sub := subscribe(t, s, org, "")
		s.mu.Lock()
		done := s.done
		s.mu.Unlock()
		sub.Close()
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			t.Fatal("reader still running without subscribers")
		}
		sub = subscribe(t, s, org, "")
		publish(t, s, event(org, "c", 7))
		wantSeqs(t, sub, 7)
	})
}

func ExampleStream_Publish() {
	mr, _ := miniredis.Run()
	defer mr.Close()
	s := New(redis.NewClient(&redis.Options{Addr: mr.Addr()}), Config{})
	defer s.Close()
	ctx := context.Background()
	sub, _ := s.Subscribe(ctx, "org-1", "")
	defer sub.Close()
	_ = s.Publish(ctx, core.LiveEvent{Kind: core.LiveConversationNew, OrgID: "org-1", CenterID: "centre-1",
		Data: map[string]string{"conversation_id": "c-42"}})
	ev, _ := sub.Next(ctx)
	fmt.Println(ev.Kind, string(ev.Data.(json.RawMessage)))
	// Output: conversation.new {"conversation_id":"c-42"}
}
