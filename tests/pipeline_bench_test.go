package tests

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"os"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// BenchmarkDispatch measures how many outbox messages per second the
// notification pipeline pushes to Twilio (a local fake; SMS pacing off):
// each message is a queued outbox row whose send task is enqueued as the
// relay does; the worker claims the row, sends it through the real Twilio
// adapter and records the outcome. The baseline is raw Asynq on the same
// Redis: a worker of the same configuration (queue.NewWorker, same
// concurrency) running an empty handler on tasks enqueued with the same
// options.
//
// The clock runs from the first message reaching Twilio (or the first empty
// task handled) to the last: the tasks are enqueued on a paused queue
// before, because an idle Asynq worker polls its queues only every 0.5–1.5
// s, a startup delay that would otherwise dominate small rounds. The
// queue's first-task latency is not what is measured here.
func BenchmarkDispatch(b *testing.B) {
	redisURL := queuetest.RedisURL(queuetest.DBTests)
	def, err := app.FromEnv(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	wc := queue.WorkerConfig{Concurrency: def.WorkerConcurrency, ShutdownTimeout: def.ShutdownTimeout}

	for _, be := range storetest.Backends(b) {
		// The baseline runs right before each backend (the machine is
		// shared: its load moves within a minute), and one backend at a
		// time: two apps' workers on one Redis would take each other's
		// tasks.
		var baseline float64
		func() {
			q := newAsynqEmpty(b, redisURL, wc)
			defer q.close()
			b.Run("asynq-empty-handler-before-"+be.Name, func(b *testing.B) { baseline = q.run(b) })
		}()
		func() {
			e := newDispatchEnv(b, be.URL, redisURL)
			defer e.close()
			var rate float64
			b.Run("pipeline-"+be.Name, func(b *testing.B) {
				rate = e.run(b)
				if baseline > 0 {
					b.ReportMetric(100*rate/baseline, "%-of-asynq")
				}
			})
			if baseline > 0 && rate > 0 {
				// The last round's figures; b.Logf of a parent benchmark is
				// not shown.
				fmt.Printf("BenchmarkDispatch: pipeline on %s %.0f msgs/s, raw Asynq %.0f tasks/s (%s): %.1f%% of Asynq, Asynq %.1f× faster\n",
					be.Name, rate, baseline, redisName(redisURL), 100*rate/baseline, baseline/rate)
			}
		}()
	}
}

func redisName(url string) string {
	if url == "" {
		return "embedded miniredis"
	}
	return "TEST_REDIS_URL's Redis"
}

// benchLog discards the service's logs, or writes its warnings and errors
// to stderr when BENCH_LOG is set (to see why a run stalls).
func benchLog() *slog.Logger {
	if os.Getenv("BENCH_LOG") != "" {
		return slog.New(slog.NewJSONHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(slog.NewJSONHandler(io.Discard, nil))
}

// dispatchEnv is the wired service with its worker running and Twilio
// pointed at a fake.
type dispatchEnv struct {
	app  *app.App
	fake *twiliotest.Server
	enq  *queue.Client
	org  string
	key  string // the organization's API key
}

func newDispatchEnv(b *testing.B, dbURL, redisURL string) *dispatchEnv {
	b.Helper()
	ctx := context.Background()
	fake := twiliotest.New(b, twSID, twToken)
	vars := map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "TWILIO_ACCOUNT_SID": twSID,
		"TWILIO_AUTH_TOKEN": twToken, "TWILIO_FROM": twFrom, "TWILIO_BASE_URL": fake.URL, "GATEWAY_RATE_SMS": "off"}
	a := newBenchApp(b, vars)
	if redisURL != "" {
		a.Broker.Redis.FlushDB(ctx)
	}
	res, err := a.Services.Tenancy.Bootstrap(ctx, core.BootstrapInput{OrgName: "Dispatch bench", Timezone: "Europe/Paris", Locale: "fr"})
	if err != nil {
		a.Close()
		b.Fatal(err)
	}
	if err := a.StartWorker(); err != nil {
		a.Close()
		b.Fatal(err)
	}
	return &dispatchEnv{app: a, fake: fake, enq: queue.NewClient(a.Broker), org: res.Organization.ID, key: res.PlainKey}
}

// newBenchApp builds the service from vars, logging only warnings.
func newBenchApp(b *testing.B, vars map[string]string) *app.App {
	b.Helper()
	cfg, err := app.FromEnv(func(k string) string { return vars[k] })
	if err != nil {
		b.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, benchLog())
	if err != nil {
		b.Fatal(err)
	}
	return a
}

func (e *dispatchEnv) close() {
	e.app.StopWorker()
	e.app.Close()
}

// run sends b.N messages and returns the messages per second.
func (e *dispatchEnv) run(b *testing.B) float64 {
	b.StopTimer()
	ctx := context.Background()
	e.fake.Reset()
	now := time.Now().UTC().Truncate(time.Millisecond)
	body := "Bonjour Anne, votre rendez-vous Massage avec Dr Martin est confirmé pour le lundi 9 mars à 10:00."
	msgs := make([]core.Message, b.N)
	for i := range msgs {
		id := core.NewID()
		m := core.Message{ID: id, OrgID: e.org, RecipientKind: "client", RecipientID: core.NewID(), Channel: core.ChannelSMS,
			To: fmt.Sprintf("+336%08d", i%100_000_000), Kind: core.KindAccepted, Locale: "fr", Body: body, Status: core.MsgQueued,
			DedupeKey: "bench:" + id, Segments: 1, Encoding: "UCS-2", DueAt: now, CreatedAt: now, UpdatedAt: now}
		created, isNew, err := e.app.Store.InsertMessage(ctx, m)
		if err != nil || !isNew {
			b.Fatalf("insert message: new=%v %v", isNew, err)
		}
		msgs[i] = created
	}
	insp := e.app.Broker.Inspector
	if err := insp.PauseQueue(queue.Critical); err != nil {
		b.Fatal(err)
	}
	for _, m := range msgs {
		if err := e.enq.EnqueueSend(ctx, m); err != nil {
			b.Fatal(err)
		}
	}
	if err := insp.UnpauseQueue(queue.Critical); err != nil {
		b.Fatal(err)
	}
	elapsed := timeBetween(b, "messages to reach Twilio", b.N, func() int { return e.fake.Requests() })
	// The last outcomes are being written; let them land before the next
	// round.
	waitQueueIdle(b, insp, queue.Critical)
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "msgs/s")
	return rate
}

// asynqEmpty is the baseline: an Asynq worker of the service's
// configuration running an empty handler.
type asynqEmpty struct {
	br   *queue.Broker
	w    *queue.Worker
	done atomic.Int64
}

func newAsynqEmpty(b *testing.B, redisURL string, wc queue.WorkerConfig) *asynqEmpty {
	b.Helper()
	ctx := context.Background()
	br, err := queue.Open(ctx, redisURL)
	if err != nil {
		b.Fatal(err)
	}
	if redisURL != "" {
		br.Redis.FlushDB(ctx)
	}
	q := &asynqEmpty{br: br, w: queue.NewWorker(br, benchLog(), wc)}
	q.w.Handle("bench:empty", func(context.Context, *asynq.Task) error {
		q.done.Add(1)
		return nil
	})
	if err := q.w.Start(); err != nil {
		br.Close()
		b.Fatal(err)
	}
	return q
}

func (q *asynqEmpty) close() {
	q.w.Shutdown()
	q.br.Close()
}

// run has b.N empty tasks handled and returns the tasks per second.
func (q *asynqEmpty) run(b *testing.B) float64 {
	b.StopTimer()
	ctx := context.Background()
	q.done.Store(0)
	round := core.NewID()
	if err := q.br.Inspector.PauseQueue(queue.Critical); err != nil {
		b.Fatal(err)
	}
	for i := range b.N {
		// The payload and options of queue.Client.EnqueueSend.
		id := core.NewID()
		_, err := q.br.Client.EnqueueContext(ctx, asynq.NewTask("bench:empty", []byte(`{"id":"`+id+`"}`)),
			asynq.TaskID(fmt.Sprintf("bench:%s:%d:0", round, i)), asynq.Queue(queue.Critical), asynq.ProcessAt(time.Now()),
			asynq.MaxRetry(5), asynq.Timeout(time.Minute))
		if err != nil {
			b.Fatal(err)
		}
	}
	if err := q.br.Inspector.UnpauseQueue(queue.Critical); err != nil {
		b.Fatal(err)
	}
	elapsed := timeBetween(b, "empty tasks to run", b.N, func() int { return int(q.done.Load()) })
	waitQueueIdle(b, q.br.Inspector, queue.Critical)
	rate := float64(b.N) / elapsed.Seconds()
	b.ReportMetric(rate, "msgs/s")
	return rate
}

// timeBetween waits for count to leave 0, starts the benchmark timer, waits
// for it to reach n and stops the timer; it returns the time in between,
// failing if progress stalls for 30 s.
func timeBetween(b *testing.B, what string, n int, count func() int) time.Duration {
	b.Helper()
	last, lastAt := 0, time.Now()
	wait := func(until int) {
		for {
			c := count()
			if c >= until {
				return
			}
			if c != last {
				last, lastAt = c, time.Now()
			} else if time.Since(lastAt) > 30*time.Second {
				b.Fatalf("%d of %d %s, none for 30s (another test's Asynq worker on the same Redis database takes tasks)", c, n, what)
			}
			time.Sleep(200 * time.Microsecond)
		}
	}
	wait(1)
	b.StartTimer()
	start := time.Now()
	wait(n)
	elapsed := time.Since(start)
	b.StopTimer()
	if elapsed <= 0 {
		elapsed = time.Microsecond
	}
	return elapsed
}

// waitQueueIdle waits (up to 30 s) until the queue has no pending or
// running task.
func waitQueueIdle(b *testing.B, insp *asynq.Inspector, qname string) {
	b.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		qi, err := insp.GetQueueInfo(qname)
		if err == nil && qi.Pending == 0 && qi.Active == 0 {
			return
		}
		if time.Now().After(deadline) {
			b.Fatalf("queue %s not idle after 30s: %+v %v", qname, qi, err)
		}
		time.Sleep(5 * time.Millisecond)
	}
}
