package core

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestLineCache(t *testing.T) {
	now := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	lc := newLineCache(CallLineTTL, func() time.Time { return now })
	var reads atomic.Int32
	load := func(name string) func(context.Context) (callLine, error) {
		return func(context.Context) (callLine, error) {
			reads.Add(1)
			return callLine{known: true, center: Center{Name: name}}, nil
		}
	}
	get := func(name string) string {
		l, err := lc.get(context.Background(), "n:+33100000001", load(name))
		if err != nil {
			t.Fatal(err)
		}
		return l.center.Name
	}
	if got := get("a"); got != "a" || reads.Load() != 1 {
		t.Fatalf("first read: %s, %d reads", got, reads.Load())
	}
	if got := get("b"); got != "a" || reads.Load() != 1 {
		t.Errorf("within the TTL: %s, %d reads", got, reads.Load())
	}
	now = now.Add(CallLineTTL)
	if got := get("c"); got != "c" || reads.Load() != 2 {
		t.Errorf("after the TTL: %s, %d reads", got, reads.Load())
	}
	lc.reset()
	if got := get("d"); got != "d" || reads.Load() != 3 {
		t.Errorf("after a change: %s, %d reads", got, reads.Load())
	}

	// A read that started before a change is returned to its callers but
	// not kept.
	release, started, done := make(chan struct{}), make(chan struct{}), make(chan struct{})
	lc.reset()
	go func() {
		defer close(done)
		_, _ = lc.get(context.Background(), "n:+33100000002", func(context.Context) (callLine, error) {
			close(started)
			<-release
			return callLine{known: true, center: Center{Name: "stale"}}, nil
		})
	}()
	<-started
	lc.reset()
	close(release)
	<-done
	l, _ := lc.get(context.Background(), "n:+33100000002", func(context.Context) (callLine, error) {
		return callLine{known: true, center: Center{Name: "fresh"}}, nil
	})
	if l.center.Name != "fresh" {
		t.Errorf("a read from before the change was kept: %s", l.center.Name)
	}

	// Concurrent misses share one read.
	lc.reset()
	reads.Store(0)
	gate := make(chan struct{})
	var wg sync.WaitGroup
	for range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-gate
			_, _ = lc.get(context.Background(), "n:+33100000003", func(context.Context) (callLine, error) {
				reads.Add(1)
				time.Sleep(20 * time.Millisecond)
				return callLine{known: true}, nil
			})
		}()
	}
	close(gate)
	wg.Wait()
	if n := reads.Load(); n > 5 {
		t.Errorf("50 concurrent misses made %d reads", n)
	}
}
