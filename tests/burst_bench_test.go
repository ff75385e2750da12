package tests

import (
	"context"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// burstSize is how many bookings (and so confirmations) one burst makes.
func burstSize() int {
	if testing.Short() {
		return 1_000
	}
	return 10_000
}

// burstClients is how many clients book at once.
const burstClients = 32

// BenchmarkConfirmationBurst: 10,000 bookings made by 32 concurrent
// clients, each confirmed by SMS through the whole pipeline (booking
// transaction and its event, relay woken by the event, outbox row, send
// task, claim, Twilio adapter to a local fake, outcome), SMS pacing off.
// The clock runs from the first booking to the 10,000th message reaching
// Twilio. The baseline is raw Asynq on the same Redis, in the same run,
// moving the same number of tasks: 32 goroutines enqueue them (with
// queue.Client.EnqueueSend's options) while a worker of the service's
// configuration runs an empty handler, timed from the first enqueue to the
// last task handled. Each op is one burst: run with -benchtime=1x
// (-short: 1,000).
func BenchmarkConfirmationBurst(b *testing.B) {
	redisURL := queuetest.RedisURL(queuetest.DBTests)
	def, err := app.FromEnv(func(string) string { return "" })
	if err != nil {
		b.Fatal(err)
	}
	wc := queue.WorkerConfig{Concurrency: def.WorkerConcurrency, ShutdownTimeout: def.ShutdownTimeout}
	n := burstSize()

	for _, be := range storetest.Backends(b) {
		// The baseline runs right before each backend: the shared
		// machine's load moves within a minute.
		var baseline float64
		func() {
			q := newAsynqEmpty(b, redisURL, wc)
			defer q.close()
			b.Run("asynq-empty-handler-before-"+be.Name, func(b *testing.B) { baseline = q.runBurst(b, n) })
		}()
		func() {
			e := newDispatchEnv(b, be.URL, redisURL)
			defer e.close()
			var rate float64
			b.Run("bookings-to-twilio-"+be.Name, func(b *testing.B) {
				rate = e.runBurst(b, n)
				if baseline > 0 {
					b.ReportMetric(100*rate/baseline, "%-of-asynq")
				}
			})
			if baseline > 0 && rate > 0 {
				fmt.Printf("BenchmarkConfirmationBurst: %d bookings to %d confirmations at Twilio on %s: %.0f msgs/s, raw Asynq %.0f tasks/s (%s): %.1f%% of Asynq\n",
					n, n, be.Name, rate, baseline, redisName(redisURL), 100*rate/baseline)
			}
		}()
	}
}

// runBurst has n empty tasks enqueued by burstClients goroutines and
// handled, b.N times; it returns the tasks per second of the last round.
func (q *asynqEmpty) runBurst(b *testing.B, n int) float64 {
	b.StopTimer()
	ctx := context.Background()
	var rate float64
	for range b.N {
		q.done.Store(0)
		round := core.NewID()
		var seq atomic.Int64
		var wg sync.WaitGroup
		b.StartTimer()
		start := time.Now()
		for range burstClients {
			wg.Go(func() {
				for i := seq.Add(1) - 1; i < int64(n); i = seq.Add(1) - 1 {
					id := core.NewID()
					_, err := q.br.Client.EnqueueContext(ctx, asynq.NewTask("bench:empty", []byte(`{"id":"`+id+`"}`)),
						asynq.TaskID(fmt.Sprintf("burst:%s:%d:0", round, i)), asynq.Queue(queue.Critical), asynq.ProcessAt(time.Now()),
						asynq.MaxRetry(5), asynq.Timeout(time.Minute))
					if err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		waitCount(b, "empty tasks to run", n, func() int { return int(q.done.Load()) })
		elapsed := time.Since(start)
		b.StopTimer()
		waitQueueIdle(b, q.br.Inspector, queue.Critical)
		rate = float64(n) / elapsed.Seconds()
	}
	b.ReportMetric(rate, "msgs/s")
	return rate
}

// runBurst books n visits from burstClients goroutines and waits for
// their n confirmations to reach Twilio, b.N times; it returns the
// confirmations per second of the last round.
func (e *dispatchEnv) runBurst(b *testing.B, n int) float64 {
	b.StopTimer()
	ctx := context.Background()
	p, err := e.app.Services.Tenancy.Authenticate(ctx, e.key)
	if err != nil {
		b.Fatal(err)
	}
	f := benchSetup(b, e.app, p, burstClients)
	// Visits start on the Monday at least two days ahead (a visit that has
	// started gets no confirmation), 24 half-hour slots a day per
	// specialist, Sundays skipped; each round books later days.
	first := time.Now().UTC().AddDate(0, 0, 2)
	for first.Weekday() != time.Monday {
		first = first.AddDate(0, 0, 1)
	}
	first = time.Date(first.Year(), first.Month(), first.Day(), 7, 0, 0, 0, time.UTC) // 08:00 Paris
	perSpecialist := (n + burstClients - 1) / burstClients
	days := (perSpecialist+23)/24 + 2
	var rate float64
	for round := range b.N {
		e.fake.Reset()
		base := first.AddDate(0, 0, round*(days+days/6+1))
		var seq atomic.Int64
		var wg sync.WaitGroup
		b.StartTimer()
		start := time.Now()
		for range burstClients {
			wg.Go(func() {
				for k := seq.Add(1) - 1; k < int64(n); k = seq.Add(1) - 1 {
					sp, j := int(k%burstClients), int(k/burstClients)
					day, slot := j/24, j%24
					at := base.AddDate(0, 0, day+day/6).Add(time.Duration(slot) * 30 * time.Minute)
					if _, err := e.app.Services.Booking.CreateAppointment(ctx, p, core.AppointmentInput{SpecialistID: f.specialists[sp],
						ServiceID: f.services[sp], ClientID: f.client, Start: at}); err != nil {
						b.Error(err)
						return
					}
				}
			})
		}
		wg.Wait()
		booked := time.Since(start)
		if testing.Verbose() {
			for i := 0; i < 40 && e.fake.Requests() < n; i++ {
				qi, _ := e.app.Broker.Inspector.GetQueueInfo(queue.Critical)
				fmt.Printf("DEBUG %.1fs twilio=%d pending=%d scheduled=%d active=%d\n", time.Since(start).Seconds(), e.fake.Requests(), qi.Pending, qi.Scheduled, qi.Active)
				time.Sleep(500 * time.Millisecond)
			}
		}
		waitCount(b, "confirmations to reach Twilio", n, func() int { return e.fake.Requests() })
		elapsed := time.Since(start)
		b.StopTimer()
		waitQueueIdle(b, e.app.Broker.Inspector, queue.Critical)
		rate = float64(n) / elapsed.Seconds()
		b.ReportMetric(float64(n)/booked.Seconds(), "bookings/s")
		b.ReportMetric((elapsed - booked).Seconds(), "s-drain-after-last-booking")
	}
	b.ReportMetric(rate, "msgs/s")
	return rate
}

// waitCount waits until count reaches n, failing if it stalls for 30 s.
func waitCount(b *testing.B, what string, n int, count func() int) {
	b.Helper()
	last, lastAt := -1, time.Now()
	for {
		c := count()
		if c >= n {
			return
		}
		if c != last {
			last, lastAt = c, time.Now()
		} else if time.Since(lastAt) > 30*time.Second {
			b.Fatalf("%d of %d %s, none for 30s", c, n, what)
		}
		time.Sleep(time.Millisecond)
	}
}
