package groupcommit

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"
)

// The store's tests run the batcher against the real databases
// (adapters/store calls_batch_test.go); these pin what is the batcher's own.

// A flush that breaks its contract fails its batch, never the batcher:
// every caller of the batch gets an error and the next batch runs.
func TestFlushFailures(t *testing.T) {
	for _, tc := range []struct {
		name  string
		flush Flush[int, int]
	}{
		{"error", func(context.Context, []int) ([]int, error) { return nil, errors.New("disk full") }},
		{"panic", func(context.Context, []int) ([]int, error) { panic("bug") }},
		{"short results", func(_ context.Context, items []int) ([]int, error) { return items[1:], nil }},
	} {
		t.Run(tc.name, func(t *testing.T) {
			broken := true
			var mu sync.Mutex
			b, err := New(8, time.Second, func(ctx context.Context, items []int) ([]int, error) {
				mu.Lock()
				defer mu.Unlock()
				if broken {
					broken = false
					return tc.flush(ctx, items)
				}
				return items, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			if _, err := b.Do(context.Background(), 1); err == nil {
				t.Error("the broken flush's caller got no error")
			}
			if r, err := b.Do(context.Background(), 2); err != nil || r != 2 {
				t.Errorf("the next flush: %d %v", r, err)
			}
		})
	}
}

// A flush takes at most max items; each caller gets its own result.
func TestBatchBound(t *testing.T) {
	var mu sync.Mutex
	var sizes []int
	gate := make(chan struct{})
	first := true
	b, err := New(4, time.Second, func(_ context.Context, items []int) ([]int, error) {
		mu.Lock()
		wait := first
		first = false
		sizes = append(sizes, len(items))
		mu.Unlock()
		if wait {
			<-gate
		}
		out := make([]int, len(items))
		for i, v := range items {
			out[i] = v * 10
		}
		return out, nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	waitFor := func(cond func() bool) {
		for deadline := time.Now().Add(5 * time.Second); !cond(); time.Sleep(time.Millisecond) {
			if time.Now().After(deadline) {
				t.Fatal("timed out")
			}
		}
	}
	for i := range 11 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if r, err := b.Do(context.Background(), i); err != nil || r != i*10 {
				t.Errorf("item %d: %d %v", i, r, err)
			}
		}()
		if i == 0 { // the first flush takes item 0 alone, and waits
			waitFor(func() bool { mu.Lock(); defer mu.Unlock(); return len(sizes) == 1 })
		}
	}
	waitFor(func() bool { return b.Pending() == 10 })
	close(gate)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	total := 0
	for _, n := range sizes {
		if n > 4 {
			t.Errorf("a flush of %d items, bound 4", n)
		}
		total += n
	}
	if total != 11 || sizes[0] != 1 || len(sizes) != 4 {
		t.Errorf("flush sizes %v, want [1 4 4 2]", sizes)
	}
}

func TestNewRefuses(t *testing.T) {
	ok := func(_ context.Context, items []int) ([]int, error) { return items, nil }
	for _, tc := range []struct {
		name    string
		flush   Flush[int, int]
		max     int
		timeout time.Duration
	}{
		{"no flush", nil, 1, time.Second},
		{"no bound", ok, 0, time.Second},
		{"no timeout", ok, 1, 0},
	} {
		if _, err := New(tc.max, tc.timeout, tc.flush); err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}
