package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"sync"
	"testing"

	"github.com/hibiken/asynq"

	"github.com/bookinggw/gateway/core"
)

// A task announces every call of its batch once, several at a time; a
// call that fails fails the task (retried whole: announcing is idempotent)
// without keeping the others from being announced. Tasks queued before
// batching (one call) still run.
func TestCallAnnounceBatch(t *testing.T) {
	batch := make([]core.CallRef, 20)
	for i := range batch {
		batch[i] = core.CallRef{Provider: core.ProviderTwilio, CallID: fmt.Sprintf("CA%02d", i)}
	}
	single, _ := json.Marshal(announcePayload{Provider: core.ProviderTwilio, CallID: "CA-old"})
	for _, tc := range []struct {
		name    string
		payload []byte
		failing string
		want    []string
	}{
		{"batch", batchPayload(batch), "", callIDs(batch)},
		{"one call fails", batchPayload(batch), "CA07", callIDs(batch)},
		{"task of one call", single, "", []string{"CA-old"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var mu sync.Mutex
			var got []string
			h := CallAnnounce(func(_ context.Context, provider, callID string) error {
				mu.Lock()
				defer mu.Unlock()
				got = append(got, callID)
				if provider != core.ProviderTwilio || callID == tc.failing {
					return errors.New("store down")
				}
				return nil
			})
			err := h.ProcessTask(context.Background(), asynq.NewTask(TypeCallAnnounce, tc.payload))
			if (err != nil) != (tc.failing != "") {
				t.Errorf("error %v, failing %q", err, tc.failing)
			}
			slices.Sort(got)
			if !slices.Equal(got, tc.want) {
				t.Errorf("announced %v, want %v", got, tc.want)
			}
			refs, err := AnnouncedCalls(tc.payload)
			if err != nil || !slices.Equal(callIDs(refs), tc.want) {
				t.Errorf("AnnouncedCalls: %v %v", refs, err)
			}
		})
	}
}

func callIDs(calls []core.CallRef) []string {
	out := make([]string, len(calls))
	for i, c := range calls {
		out[i] = c.CallID
	}
	return out
}
