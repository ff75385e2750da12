package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"

	"github.com/bookinggw/gateway/core"
)

// TypeCallAnnounce tells a centre's staff of ringing calls (card, staff
// channel, live pop-up) after the voice webhook answered.
const TypeCallAnnounce = "calls:announce"

// announcePayload names the calls of one task: Calls, a group commit's
// new calls; or, in tasks queued before calls were batched, the one call
// of Provider and CallID.
type announcePayload struct {
	Provider string          `json:"provider,omitempty"`
	CallID   string          `json:"call_id,omitempty"`
	Calls    []announceEntry `json:"calls,omitempty"`
}

type announceEntry struct {
	Provider string `json:"provider"`
	CallID   string `json:"call_id"`
}

// announceParallel bounds the announcements one task runs at once: a batch
// of new calls pops up together, not one call after the other.
const announceParallel = 8

// EnqueueCallAnnounces queues the announcements of a batch of new calls as
// one task on the critical queue (staff are waiting for the pop-ups while
// the phones ring): one Redis round trip per batch. Only calls whose row
// the batch created are given, so each is queued once; the task id is the
// first call's, unique to the batch.
func (q *Client) EnqueueCallAnnounces(ctx context.Context, calls []core.CallRef) error {
	if len(calls) == 0 {
		return nil
	}
	b := batchPayload(calls)
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeCallAnnounce, b), asynq.TaskID("call-announce:"+calls[0].Provider+":"+calls[0].CallID),
		asynq.Queue(Critical), asynq.MaxRetry(3))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// batchPayload is the payload of a task announcing calls.
func batchPayload(calls []core.CallRef) []byte {
	p := announcePayload{Calls: make([]announceEntry, len(calls))}
	for i, c := range calls {
		p.Calls[i] = announceEntry{Provider: c.Provider, CallID: c.CallID}
	}
	b, _ := json.Marshal(p)
	return b
}

// AnnouncedCalls reads the calls a TypeCallAnnounce task announces.
func AnnouncedCalls(payload []byte) ([]core.CallRef, error) {
	var p announcePayload
	if err := json.Unmarshal(payload, &p); err != nil {
		return nil, err
	}
	if len(p.Calls) == 0 {
		return []core.CallRef{{Provider: p.Provider, CallID: p.CallID}}, nil
	}
	out := make([]core.CallRef, len(p.Calls))
	for i, c := range p.Calls {
		out[i] = core.CallRef{Provider: c.Provider, CallID: c.CallID}
	}
	return out, nil
}

// CallAnnounce returns the handler of TypeCallAnnounce; announce is
// idempotent (a retried task tells nobody twice), so a batch that failed
// for one call is retried whole.
func CallAnnounce(announce func(ctx context.Context, provider, callID string) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		calls, err := AnnouncedCalls(t.Payload())
		if err != nil {
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		return eachParallel(calls, announceParallel, func(c core.CallRef) error {
			if err := announce(ctx, c.Provider, c.CallID); err != nil {
				return fmt.Errorf("announce call %s: %w", c.CallID, err)
			}
			return nil
		})
	}
}
