package queue

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
)

// TestSendRetryIsPrompt: a send task that fails (the database or Redis
// erred under load) runs again within seconds, not after Asynq's default
// 15–45 s, during which its confirmation would stay unsent.
func TestSendRetryIsPrompt(t *testing.T) {
	ctx := context.Background()
	b, err := Open(ctx, "")
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	w := NewWorker(b, slog.New(slog.NewTextHandler(io.Discard, nil)), WorkerConfig{Concurrency: 2})
	var mu sync.Mutex
	var calls []time.Time
	done := make(chan struct{})
	w.Handle(TypeSend, func(context.Context, *asynq.Task) error {
		mu.Lock()
		defer mu.Unlock()
		calls = append(calls, time.Now())
		if len(calls) == 1 {
			return errors.New("database is locked")
		}
		close(done)
		return nil
	})
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	defer w.Shutdown()
	if _, err := b.Client.EnqueueContext(ctx, asynq.NewTask(TypeSend, []byte(`{"id":"m1"}`)), asynq.Queue(Critical), asynq.MaxRetry(5)); err != nil {
		t.Fatal(err)
	}
	select {
	case <-done:
	case <-time.After(14 * time.Second): // Asynq's default waits 15 s at least
		t.Fatal("the failed send task was not retried within 14 s")
	}
	mu.Lock()
	defer mu.Unlock()
	if gap := calls[1].Sub(calls[0]); gap > 10*time.Second {
		t.Fatalf("retried after %s", gap)
	}
}

func TestRetryDelay(t *testing.T) {
	other := asynq.NewTask(TypeSweep, nil)
	send := asynq.NewTask(TypeSend, nil)
	for _, tc := range []struct {
		n        int
		task     *asynq.Task
		min, max time.Duration
	}{
		{0, send, time.Second, 1500 * time.Millisecond},
		{3, send, 8 * time.Second, 12 * time.Second},
		{20, send, time.Minute, 90 * time.Second},
		{0, other, 15 * time.Second, 45 * time.Second},
	} {
		if d := retryDelay(tc.n, errors.New("x"), tc.task); d < tc.min || d > tc.max {
			t.Errorf("retry %d of %s: %s, want %s to %s", tc.n, tc.task.Type(), d, tc.min, tc.max)
		}
	}
}
