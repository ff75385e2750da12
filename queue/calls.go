package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/hibiken/asynq"
)

// TypeCallAnnounce tells a centre's staff of a ringing call (card, staff
// channel, live pop-up) after the voice webhook answered.
const TypeCallAnnounce = "calls:announce"

type announcePayload struct {
	Provider string `json:"provider"`
	CallID   string `json:"call_id"`
}

// EnqueueCallAnnounce queues a call's announcement on the critical queue
// (staff are waiting for the pop-up while the phone rings); the call is the
// task id, so a retried webhook makes one task.
func (q *Client) EnqueueCallAnnounce(ctx context.Context, provider, callID string) error {
	p, _ := json.Marshal(announcePayload{Provider: provider, CallID: callID})
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeCallAnnounce, p), asynq.TaskID("call-announce:"+provider+":"+callID),
		asynq.Queue(Critical), asynq.MaxRetry(3))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// CallAnnounce returns the handler of TypeCallAnnounce; announce is
// idempotent (a retried task tells nobody twice).
func CallAnnounce(announce func(ctx context.Context, provider, callID string) error) asynq.HandlerFunc {
	return func(ctx context.Context, t *asynq.Task) error {
		var p announcePayload
		if err := json.Unmarshal(t.Payload(), &p); err != nil {
			return fmt.Errorf("%w: %v", asynq.SkipRetry, err)
		}
		if err := announce(ctx, p.Provider, p.CallID); err != nil {
			return fmt.Errorf("announce call: %w", err)
		}
		return nil
	}
}
