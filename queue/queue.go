// Package queue carries work through Asynq: queue names and weights, the
// broker connection (Redis, or an in-process miniredis for the embedded
// default), the worker, the periodic scheduler and the task handlers.
package queue

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	"github.com/alicebob/miniredis/v2"
	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"
)

// Queue names. Confirmations and reminders go on critical so that a large
// campaign on bulk never delays them.
const (
	Critical = "critical"
	Default  = "default"
	Bulk     = "bulk"
)

// Weights is the weighted priority of the queues: out of 10 picks, critical
// gets 6, default 3, bulk 1. Bulk is never starved, just slowed.
var Weights = map[string]int{Critical: 6, Default: 3, Bulk: 1}

// Broker is the connection to the queue's Redis.
type Broker struct {
	Opt       asynq.RedisConnOpt
	Redis     redis.UniversalClient
	Client    *asynq.Client
	Inspector *asynq.Inspector
	embedded  *miniredis.Miniredis
	stopAging chan struct{}
}

// Open connects to redisURL, or starts an in-process miniredis when it is
// empty. The embedded queue keeps tasks in memory only: that is safe because
// every task is derived from a database row that a sweeper re-enqueues.
func Open(ctx context.Context, redisURL string) (*Broker, error) {
	b := &Broker{}
	if redisURL == "" {
		mr := miniredis.NewMiniRedis()
		if err := mr.StartAddr("127.0.0.1:0"); err != nil {
			return nil, fmt.Errorf("queue: start embedded redis: %w", err)
		}
		b.embedded = mr
		b.Opt = asynq.RedisClientOpt{Addr: mr.Addr()}
		// miniredis only ages keys when told to; Asynq's uniqueness locks
		// rely on expiry, so the embedded Redis is aged in real time.
		b.stopAging = make(chan struct{})
		go func() {
			t := time.NewTicker(250 * time.Millisecond)
			defer t.Stop()
			for {
				select {
				case <-t.C:
					mr.FastForward(250 * time.Millisecond)
				case <-b.stopAging:
					return
				}
			}
		}()
	} else {
		opt, err := asynq.ParseRedisURI(redisURL)
		if err != nil {
			return nil, fmt.Errorf("queue: REDIS_URL: %w", err)
		}
		b.Opt = opt
	}
	rc, ok := b.Opt.MakeRedisClient().(redis.UniversalClient)
	if !ok {
		b.Close()
		return nil, errors.New("queue: unexpected redis client type")
	}
	b.Redis = rc
	b.Client = asynq.NewClient(b.Opt)
	b.Inspector = asynq.NewInspector(b.Opt)
	if err := b.Ping(ctx); err != nil {
		b.Close()
		return nil, err
	}
	return b, nil
}

// Embedded reports whether the broker is the in-process miniredis.
func (b *Broker) Embedded() bool { return b.embedded != nil }

// Ping checks that Redis answers (for /readyz).
func (b *Broker) Ping(ctx context.Context) error {
	if err := b.Redis.Ping(ctx).Err(); err != nil {
		return fmt.Errorf("queue: redis ping: %w", err)
	}
	return nil
}

// Close releases the connections and stops the embedded Redis.
func (b *Broker) Close() error {
	var err error
	if b.Client != nil {
		err = errors.Join(err, b.Client.Close())
	}
	if b.Inspector != nil {
		err = errors.Join(err, b.Inspector.Close())
	}
	if b.Redis != nil {
		err = errors.Join(err, b.Redis.Close())
	}
	if b.embedded != nil {
		close(b.stopAging)
		b.embedded.Close()
	}
	return err
}

// Worker runs the task handlers, the periodic scheduler and background
// loops (the relay).
type Worker struct {
	server     *asynq.Server
	scheduler  *asynq.Scheduler
	mux        *asynq.ServeMux
	log        *slog.Logger
	rdb        redis.UniversalClient
	background []func(ctx context.Context)
	stop       context.CancelFunc
	wg         sync.WaitGroup
}

// WorkerConfig sizes the worker.
type WorkerConfig struct {
	Concurrency     int
	ShutdownTimeout time.Duration
	// PollInterval is how often scheduled and retried tasks are moved to
	// their queue; reminders are due to the minute, so a second is ample.
	PollInterval time.Duration
	// TaskCheckInterval is how long an idle worker waits before it looks
	// at its queues again (Asynq's default: a second). It bounds how late
	// a task enqueued into empty queues starts, such as an incoming call's
	// pop-up.
	TaskCheckInterval time.Duration
}

// NewWorker builds a worker on the broker. Register handlers and periodic
// tasks before Start.
func NewWorker(b *Broker, log *slog.Logger, cfg WorkerConfig) *Worker {
	if cfg.Concurrency <= 0 {
		cfg.Concurrency = 10
	}
	if cfg.ShutdownTimeout <= 0 {
		cfg.ShutdownTimeout = 30 * time.Second
	}
	if cfg.PollInterval <= 0 {
		cfg.PollInterval = time.Second
	}
	alog := &asynqLogger{log: log.With("component", "asynq")}
	srv := asynq.NewServer(b.Opt, asynq.Config{
		Concurrency:              cfg.Concurrency,
		Queues:                   Weights,
		ShutdownTimeout:          cfg.ShutdownTimeout,
		DelayedTaskCheckInterval: cfg.PollInterval,
		TaskCheckInterval:        cfg.TaskCheckInterval,
		RetryDelayFunc:           retryDelay,
		Logger:                   alog,
		LogLevel:                 asynq.WarnLevel,
		ErrorHandler: asynq.ErrorHandlerFunc(func(ctx context.Context, t *asynq.Task, err error) {
			log.WarnContext(ctx, "task failed", "type", t.Type(), "error", err.Error())
		}),
	})
	sch := asynq.NewScheduler(b.Opt, &asynq.SchedulerOpts{Logger: alog, LogLevel: asynq.WarnLevel, Location: time.UTC})
	return &Worker{server: srv, scheduler: sch, mux: asynq.NewServeMux(), log: log, rdb: b.Redis}
}

// retryDelay is how long a failed task waits before its retry. Asynq's
// default waits 15 to 45 s before the first one: a send task that failed
// on the database or Redis under load (its message's state is in the row,
// so a retry is safe) would hold a confirmation that long. Send tasks
// retry after 1, 2, 4 … s (at most a minute, with jitter); other tasks
// keep Asynq's schedule.
func retryDelay(n int, err error, t *asynq.Task) time.Duration {
	if t.Type() != TypeSend {
		return asynq.DefaultRetryDelayFunc(n, err, t)
	}
	d := min(time.Second<<min(n, 6), time.Minute)
	return d + rand.N(d/2+1)
}

// Handle registers the handler of a task type.
func (w *Worker) Handle(taskType string, h asynq.HandlerFunc) { w.mux.HandleFunc(taskType, h) }

// Every registers a periodic task. Several worker processes each run a
// scheduler; the Unique option makes them enqueue it once per period.
func (w *Worker) Every(every time.Duration, taskType string, queue string) error {
	// Asynq refuses uniqueness windows under a second.
	_, err := w.scheduler.Register(fmt.Sprintf("@every %s", every), asynq.NewTask(taskType, nil),
		asynq.Queue(queue), asynq.Unique(max(every-every/10, time.Second)), asynq.MaxRetry(0))
	if err != nil {
		return fmt.Errorf("queue: schedule %s: %w", taskType, err)
	}
	return nil
}

// Background registers a loop that runs from Start until Shutdown, which
// cancels its context and waits for it.
func (w *Worker) Background(loop func(ctx context.Context)) {
	w.background = append(w.background, loop)
}

// Start runs the worker, the scheduler and the background loops.
func (w *Worker) Start() error {
	if err := w.server.Start(w.mux); err != nil {
		return fmt.Errorf("queue: start worker: %w", err)
	}
	if err := w.scheduler.Start(); err != nil {
		w.server.Shutdown()
		return fmt.Errorf("queue: start scheduler: %w", err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	w.stop = cancel
	for _, loop := range w.background {
		w.wg.Add(1)
		go func() {
			defer w.wg.Done()
			loop(ctx)
		}()
	}
	return nil
}

// Shutdown stops the background loops and the scheduler, stops taking
// tasks and waits for running ones (up to the shutdown timeout).
// Unfinished tasks go back to their queue.
func (w *Worker) Shutdown() {
	if w.stop != nil {
		w.stop()
		w.wg.Wait()
		w.stop = nil
	}
	w.scheduler.Shutdown()
	w.server.Shutdown()
}

// asynqLogger sends Asynq's own logs through slog as JSON.
type asynqLogger struct{ log *slog.Logger }

func (l *asynqLogger) Debug(args ...any) { l.log.Debug(fmt.Sprint(args...)) }
func (l *asynqLogger) Info(args ...any)  { l.log.Info(fmt.Sprint(args...)) }
func (l *asynqLogger) Warn(args ...any)  { l.log.Warn(fmt.Sprint(args...)) }
func (l *asynqLogger) Error(args ...any) { l.log.Error(fmt.Sprint(args...)) }
func (l *asynqLogger) Fatal(args ...any) { l.log.Error(fmt.Sprint(args...)) }
