package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/bookinggw/gateway/core"
)

// Task types of the notification pipeline.
const (
	TypeSend      = "message:send"     // send one outbox message
	TypeRelay     = "events:relay"     // turn pending domain events into messages
	TypeSweep     = "messages:sweep"   // re-enqueue stranded messages
	TypeInbound   = "inbound:handle"   // act on a client's SMS or WhatsApp message
	TypeReminders = "reminders:queue"  // turn due reminders into messages
	TypeFallback  = "message:fallback" // write the next channel's message of one that failed for good
	TypeStatus    = "message:status"   // apply a recorded provider status report to its message
)

// SendTimeout bounds one send task (rate-limit wait, provider call and
// outcome write). GATEWAY_SEND_LEASE must be longer than SendTimeout plus
// the pacer's longest wait, or the sweeper could take a live send for a
// dead one.
const SendTimeout = time.Minute

// EnqueueFallback schedules the fallback of a message a provider reported
// failed for good; the message id is the task id, so repeats make one task.
// The debt is on the row: if this fails, the sweeper writes the fallback.
func (q *Client) EnqueueFallback(ctx context.Context, id string) error {
	p, _ := json.Marshal(sendPayload{ID: id})
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeFallback, p), asynq.TaskID("fallback:"+id), asynq.Queue(Critical), asynq.MaxRetry(5))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// EnqueueInbound schedules the handling of an inbound message; its id is
// the task id, so a webhook retry and the sweeper make one task.
func (q *Client) EnqueueInbound(ctx context.Context, id string) error {
	p, _ := json.Marshal(sendPayload{ID: id})
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeInbound, p), asynq.TaskID("inbound:"+id), asynq.Queue(Critical), asynq.MaxRetry(10))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

type sendPayload struct {
	ID string `json:"id"`
}

// statusPayload names a status receipt (webhook_events' key).
type statusPayload struct {
	Provider string `json:"p"`
	EventID  string `json:"e"`
}

// EnqueueStatus schedules the application of a recorded status report
// (provider, eventID); the receipt's key is the task id, so repeats make one
// task. The receipt is durable already: if this fails, the sweeper applies
// it.
func (q *Client) EnqueueStatus(ctx context.Context, provider, eventID string) error {
	p, _ := json.Marshal(statusPayload{Provider: provider, EventID: eventID})
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeStatus, p), asynq.TaskID("status:"+provider+":"+eventID), asynq.Queue(Default),
		asynq.MaxRetry(10))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// Client enqueues the pipeline's tasks.
type Client struct {
	c           *asynq.Client
	insp        *asynq.Inspector
	rdb         redis.UniversalClient
	sendTimeout time.Duration
}

// NewClient wraps the broker's client; send tasks time out after
// SendTimeout.
func NewClient(b *Broker) *Client {
	return &Client{c: b.Client, insp: b.Inspector, rdb: b.Redis, sendTimeout: SendTimeout}
}

// WithSendTimeout sets the send tasks' timeout (GATEWAY_SEND_TIMEOUT).
func (q *Client) WithSendTimeout(d time.Duration) *Client {
	if d > 0 {
		q.sendTimeout = d
	}
	return q
}

// EnqueueSend schedules a message's send at its due time. The task id is
// made of the message id, its attempt count and due instant: the same
// message state always gives the same id, so enqueuing it twice (relay and
// sweeper) makes one task.
func (q *Client) EnqueueSend(ctx context.Context, m core.Message) error {
	p, _ := json.Marshal(sendPayload{ID: m.ID})
	id := sendTaskID(m)
	queue := SendQueue(m)
	opts := []asynq.Option{asynq.Queue(queue), asynq.ProcessAt(m.DueAt), asynq.MaxRetry(5), asynq.Timeout(q.sendTimeout)}
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeSend, p), append(opts, asynq.TaskID(id))...)
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		// A task of that id that is still waiting will do. One held by a
		// dead worker (active until Asynq's lease expires) or archived
		// would never run: add another; only one can claim the message.
		ti, ierr := q.insp.GetTaskInfo(queue, id)
		if ierr != nil || (ti.State != asynq.TaskStateActive && ti.State != asynq.TaskStateArchived) {
			return nil
		}
		_, err = q.c.EnqueueContext(ctx, asynq.NewTask(TypeSend, p),
			append(opts, asynq.TaskID(fmt.Sprintf("%s:again:%d", id, time.Now().UnixMilli())))...)
		if errors.Is(err, asynq.ErrTaskIDConflict) {
			return nil
		}
	}
	if err != nil {
		return fmt.Errorf("queue: enqueue send %s: %w", m.ID, err)
	}
	return nil
}

// SendQueue is the queue of a message's send: campaign messages go on
// bulk, everything else (confirmations, reminders, replies) on critical.
func SendQueue(m core.Message) string {
	if m.Kind == core.KindCampaign {
		return Bulk
	}
	return Critical
}

// enqueueParallel is how many enqueues of a batch are in flight at once.
const enqueueParallel = 16

// EnqueueSends enqueues a batch of messages. One pipelined round trip
// first reads the state of every task the batch would create (Asynq keeps
// a task as a hash, asynq:{queue}:t:<id>, with its state): a task that
// waits already (a sweeper pass over messages still in the queue) costs
// nothing more. The others are enqueued with enqueueParallel in flight
// (Asynq has no batch call: each enqueue is one Lua script). Task ids are
// EnqueueSend's, so a repeat makes no second task. A failed enqueue is
// tried again (enqueueTries in all) before it is left to the sweeper, whose
// grace would hold the message for half a minute or more.
func (q *Client) EnqueueSends(ctx context.Context, msgs []core.Message) error {
	var todo []core.Message
	for _, m := range msgs {
		if m.Status == core.MsgQueued {
			todo = append(todo, m)
		}
	}
	if len(todo) == 0 {
		return nil
	}
	if q.rdb != nil {
		pipe := q.rdb.Pipeline()
		states := make([]*redis.StringCmd, len(todo))
		for i, m := range todo {
			states[i] = pipe.HGet(ctx, taskKey(SendQueue(m), sendTaskID(m)), "state")
		}
		if _, err := pipe.Exec(ctx); err != nil && !errors.Is(err, redis.Nil) {
			return fmt.Errorf("queue: task states: %w", err)
		}
		missing := todo[:0:0]
		for i, m := range todo {
			if st := states[i].Val(); st == "" || st == "active" || st == "archived" || st == "completed" {
				missing = append(missing, m) // absent, or one that may never run: EnqueueSend decides
			}
		}
		todo = missing
	}
	return eachParallel(todo, enqueueParallel, func(m core.Message) error { return q.enqueueRetrying(ctx, m) })
}

// sendTaskID is the id of a message's send task in its current state.
func sendTaskID(m core.Message) string {
	return fmt.Sprintf("send:%s:%d:%d", m.ID, m.Attempts, m.DueAt.UnixMilli())
}

// taskKey is where Asynq keeps a task (its base.TaskKey, unexported;
// TestEnqueueSendsReadsTaskStates pins it to the Asynq in go.mod).
func taskKey(queue, id string) string { return "asynq:{" + queue + "}:t:" + id }

// enqueueTries is how many times EnqueueSends tries one enqueue, waiting
// enqueueRetryWait, then twice that, in between.
const (
	enqueueTries     = 3
	enqueueRetryWait = 50 * time.Millisecond
)

func (q *Client) enqueueRetrying(ctx context.Context, m core.Message) error {
	wait := enqueueRetryWait
	for try := 1; ; try++ {
		err := q.EnqueueSend(ctx, m)
		if err == nil || try == enqueueTries {
			return err
		}
		select {
		case <-ctx.Done():
			return err
		case <-time.After(wait):
		}
		wait *= 2
	}
}

// Campaign task types.
const (
	TypeCampaignFanout = "campaign:fanout" // write a frozen audience's messages
	TypeCampaignTick   = "campaigns:tick"  // start due campaigns, finish done ones
)

// EnqueueFanout queues a campaign's fan-out; one task per campaign at a
// time (its id), and the fan-out itself refuses a second writer.
func (q *Client) EnqueueFanout(ctx context.Context, campaignID string) error {
	p, _ := json.Marshal(sendPayload{ID: campaignID})
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeCampaignFanout, p), asynq.TaskID("fanout:"+campaignID), asynq.Queue(Default),
		asynq.MaxRetry(10), asynq.Timeout(30*time.Minute))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// RestartFanout queues another fan-out run when the one holding the
// campaign's task died (Asynq keeps a killed worker's task active until
// its lease runs out): its id names the stall point, so each tick that
// sees the same stall adds nothing.
func (q *Client) RestartFanout(ctx context.Context, campaignID string, since time.Time) error {
	p, _ := json.Marshal(sendPayload{ID: campaignID})
	_, err := q.c.EnqueueContext(ctx, asynq.NewTask(TypeCampaignFanout, p),
		asynq.TaskID(fmt.Sprintf("fanout:%s:%d", campaignID, since.UnixMilli())), asynq.Queue(Default), asynq.MaxRetry(10),
		asynq.Timeout(30*time.Minute))
	if errors.Is(err, asynq.ErrTaskIDConflict) {
		return nil
	}
	return err
}

// Campaigns is what the campaign tasks call (core.CampaignService).
type Campaigns interface {
	FanOut(ctx context.Context, id string) error
	Tick(ctx context.Context) error
}

// RegisterCampaigns adds the fan-out handler and the periodic tick.
func RegisterCampaigns(w *Worker, c Campaigns, every time.Duration) error {
	w.Handle(TypeCampaignFanout, func(ctx context.Context, t *asynq.Task) error {
		var pl sendPayload
		if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.ID == "" {
			return fmt.Errorf("bad payload: %w", asynq.SkipRetry)
		}
		return c.FanOut(ctx, pl.ID)
	})
	w.Handle(TypeCampaignTick, func(ctx context.Context, _ *asynq.Task) error { return c.Tick(ctx) })
	return w.Every(every, TypeCampaignTick, Default)
}

// RelayChannel is the Redis pub/sub channel that wakes the relay: every
// worker process listens, any process (API or worker) publishes after it
// commits a domain event.
const RelayChannel = "gateway:relay"

// relayBackstop is how often a worker relays without being woken: a wake
// published while its subscription was reconnecting is caught up here.
const relayBackstop = 5 * time.Second

// Publish wakes the relay after a domain event is committed. The event is
// already stored, so a failure here only delays it to the backstop.
func (q *Client) Publish(ctx context.Context, _ core.Event) error {
	return q.rdb.Publish(ctx, RelayChannel, "").Err()
}

// relayLoop drains the relay (batch after batch until no event is left)
// whenever it is woken through RelayChannel, and every relayBackstop. A
// wake that arrives while it drains makes it drain again, so no event waits
// for a tick.
func relayLoop(ctx context.Context, rdb redis.UniversalClient, p Pipeline, log *slog.Logger) {
	sub := rdb.Subscribe(ctx, RelayChannel)
	defer sub.Close()
	wake := make(chan struct{}, 1)
	msgs := sub.Channel()
	go func() {
		for range msgs {
			select {
			case wake <- struct{}{}:
			default: // a drain is due already
			}
		}
	}()
	tick := time.NewTicker(relayBackstop)
	defer tick.Stop()
	for {
		if _, err := p.RelayEvents(ctx); err != nil && ctx.Err() == nil {
			log.WarnContext(ctx, "relay failed; it runs again on the next event or tick", "error", err.Error())
		}
		select {
		case <-ctx.Done():
			return
		case <-wake:
		case <-tick.C:
		}
	}
}

// Pipeline is what the notification handlers call.
type Pipeline interface {
	Send(ctx context.Context, id string) error
	RelayEvents(ctx context.Context) (int, error)
	Sweep(ctx context.Context, grace, sendingLease time.Duration) (int, error)
	HandleInbound(ctx context.Context, id string) error
	QueueDueReminders(ctx context.Context, lookahead time.Duration) (int, error)
	Fallback(ctx context.Context, id string) error
	// ApplyStatus applies a recorded provider status report, once.
	ApplyStatus(ctx context.Context, provider, eventID string) error
}

// RegisterNotify adds the pipeline's handlers, the relay loop (woken by
// each committed event) and the periodic tasks: reminders, and the sweeper
// every sweepEvery, re-enqueuing messages due for longer than grace.
func RegisterNotify(w *Worker, p Pipeline, log *slog.Logger, sweepEvery, grace, sendLease time.Duration) error {
	w.Handle(TypeSend, func(ctx context.Context, t *asynq.Task) error {
		var pl sendPayload
		if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.ID == "" {
			return fmt.Errorf("bad payload: %w", asynq.SkipRetry)
		}
		return p.Send(ctx, pl.ID)
	})
	w.Handle(TypeRelay, func(ctx context.Context, _ *asynq.Task) error {
		_, err := p.RelayEvents(ctx)
		return err
	})
	w.Handle(TypeSweep, func(ctx context.Context, _ *asynq.Task) error {
		n, err := p.Sweep(ctx, grace, sendLease)
		if n > 0 {
			log.InfoContext(ctx, "sweeper re-enqueued messages", "count", n)
		}
		return err
	})
	w.Handle(TypeFallback, func(ctx context.Context, t *asynq.Task) error {
		var pl sendPayload
		if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.ID == "" {
			return fmt.Errorf("bad payload: %w", asynq.SkipRetry)
		}
		return p.Fallback(ctx, pl.ID)
	})
	w.Handle(TypeStatus, func(ctx context.Context, t *asynq.Task) error {
		var pl statusPayload
		if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.Provider == "" || pl.EventID == "" {
			return fmt.Errorf("bad payload: %w", asynq.SkipRetry)
		}
		return p.ApplyStatus(ctx, pl.Provider, pl.EventID)
	})
	w.Handle(TypeInbound, func(ctx context.Context, t *asynq.Task) error {
		var pl sendPayload
		if err := json.Unmarshal(t.Payload(), &pl); err != nil || pl.ID == "" {
			return fmt.Errorf("bad payload: %w", asynq.SkipRetry)
		}
		return p.HandleInbound(ctx, pl.ID)
	})
	// Reminders due within the next minute become messages scheduled at
	// their exact instant; the scan runs every 15 seconds.
	w.Handle(TypeReminders, func(ctx context.Context, _ *asynq.Task) error {
		_, err := p.QueueDueReminders(ctx, time.Minute)
		return err
	})
	if err := w.Every(15*time.Second, TypeReminders, Critical); err != nil {
		return err
	}
	w.Background(func(ctx context.Context) { relayLoop(ctx, w.rdb, p, log) })
	return w.Every(sweepEvery, TypeSweep, Default)
}
