package queue

import (
	"context"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// TestEnqueueSendsReadsTaskStates: EnqueueSends skips the messages whose
// send task waits already by reading the task's hash where Asynq keeps it
// (taskKey, Asynq's own key layout, which it does not export). Should an
// Asynq upgrade move it, every state would read as absent and each sweep
// would enqueue every message one by one again (still only one task each,
// by task id, but slowly): this test pins the layout to the Asynq in
// go.mod, on the embedded Redis and on TEST_REDIS_URL's.
func TestEnqueueSendsReadsTaskStates(t *testing.T) {
	urls := map[string]string{"embedded": ""}
	if u := queuetest.RedisURL(queuetest.DBQueue); u != "" {
		urls["redis"] = u
	}
	for name, url := range urls {
		t.Run(name, func(t *testing.T) {
			ctx := context.Background()
			b, err := Open(ctx, url)
			if err != nil {
				t.Fatal(err)
			}
			defer b.Close()
			if url != "" {
				b.Redis.FlushDB(ctx)
			}
			q := NewClient(b)
			now := time.Now().UTC().Truncate(time.Millisecond)
			msgs := []core.Message{
				{ID: core.NewID(), Kind: core.KindAccepted, Status: core.MsgQueued, DueAt: now},
				{ID: core.NewID(), Kind: core.KindCampaign, Status: core.MsgQueued, DueAt: now},
				{ID: core.NewID(), Kind: core.KindReminder, Status: core.MsgQueued, DueAt: now.Add(time.Hour)},
			}
			if err := q.EnqueueSends(ctx, msgs); err != nil {
				t.Fatal(err)
			}
			for i, want := range []string{"pending", "pending", "scheduled"} {
				m := msgs[i]
				got, err := b.Redis.HGet(ctx, taskKey(SendQueue(m), sendTaskID(m)), "state").Result()
				if err != nil || got != want {
					t.Fatalf("%s message's task at %s: state %q (%v), want %q", m.Kind, taskKey(SendQueue(m), sendTaskID(m)), got, err, want)
				}
			}
		})
	}
}
