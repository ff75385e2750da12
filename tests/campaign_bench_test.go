package tests

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// BenchmarkCampaign sends an SMS campaign of CAMPAIGN_BENCH_N recipients
// (default 2,000; the figure is 100,000) to a fake Twilio with
// rate limits off, and measures the time from "schedule now" to the last
// message accepted by the fake, the process's peak RSS over that time
// (the worker runs in it; /proc/self/clear_refs resets the mark after the
// seeding) and Redis's peak used_memory (sampled every 50 ms, less what
// it used before). Baselines in the same run: raw Asynq enqueueing and
// processing as many empty tasks (on bulk, one at a time as a plain loop
// does), with the same memory figures, and the fan-out's write alone
// (multi-row INSERTs of as many outbox rows, 500 per statement).
func BenchmarkCampaign(b *testing.B) {
	redisURL := queuetest.RedisURL(queuetest.DBTests)
	n := 2000
	if s := os.Getenv("CAMPAIGN_BENCH_N"); s != "" {
		n, _ = strconv.Atoi(s)
	}
	var asynqTime time.Duration
	func() {
		q := newAsynqEmpty(b, redisURL, queue.WorkerConfig{Concurrency: 16})
		defer q.close()
		b.Run("asynq-empty", func(b *testing.B) {
			for range b.N {
				q.done.Store(0)
				ctx := context.Background()
				m := startMemWatch(b, q.br.Redis)
				start, round := time.Now(), core.NewID()
				for i := range n {
					if _, err := q.br.Client.EnqueueContext(ctx, asynq.NewTask("bench:empty", []byte(`{"id":"x"}`)),
						asynq.TaskID(fmt.Sprintf("bench:%s:%d", round, i)), asynq.Queue(queue.Bulk), asynq.MaxRetry(5)); err != nil {
						b.Fatal(err)
					}
				}
				for q.done.Load() < int64(n) {
					time.Sleep(2 * time.Millisecond)
				}
				asynqTime = time.Since(start)
				b.ReportMetric(asynqTime.Seconds(), "s/run")
				rss, redisMB := m.stop()
				b.ReportMetric(rss, "peakRSS-MB")
				b.ReportMetric(redisMB, "redis-MB")
				fmt.Printf("BenchmarkCampaign raw Asynq: %d empty tasks in %s, peak RSS %.0f MB, Redis peak +%.1f MB\n", n,
					asynqTime.Round(time.Millisecond), rss, redisMB)
			}
		})
	}()
	for _, be := range storetest.Backends(b) {
		var insertTime, campaignTime time.Duration
		b.Run("insert-"+be.Name, func(b *testing.B) {
			e := newCampaignBench(b, be.URL, redisURL, n, false)
			defer e.close()
			for range b.N {
				now := time.Now().UTC()
				start := time.Now()
				for i := 0; i < n; i += 500 {
					batch := make([]core.Message, 0, 500)
					for j := i; j < min(i+500, n); j++ {
						batch = append(batch, core.Message{ID: core.NewID(), OrgID: e.org, RecipientKind: "client", RecipientID: core.NewID(),
							Channel: core.ChannelSMS, To: phoneN(j), Kind: core.KindCampaign, Locale: "fr", Body: "Bonjour", Status: core.MsgSkipped,
							DedupeKey: core.NewID(), DueAt: now, CreatedAt: now, UpdatedAt: now})
					}
					if _, err := e.app.Store.InsertMessages(context.Background(), batch); err != nil {
						b.Fatal(err)
					}
				}
				insertTime = time.Since(start)
				b.ReportMetric(insertTime.Seconds(), "s/run")
			}
		})
		b.Run("campaign-"+be.Name, func(b *testing.B) {
			for range b.N {
				e := newCampaignBench(b, be.URL, redisURL, n, true)
				ctx := context.Background()
				m := startMemWatch(b, e.app.Broker.Redis)
				start := time.Now()
				c, err := e.app.Services.Campaigns.CreateCampaign(ctx, e.p, core.CampaignInput{Name: "Bench", Channels: []core.Channel{core.ChannelSMS},
					Audience: core.Audience{All: true}, Texts: map[string]string{"fr": "Bonjour {{first_name}}, -10% cette semaine"}, SendNow: true})
				if err != nil {
					b.Fatal(err)
				}
				if _, err := e.app.Services.Campaigns.Schedule(ctx, e.p, c.ID, core.CampaignScheduleInput{SendNow: true}); err != nil {
					b.Fatal(err)
				}
				var fanout time.Duration
				for e.fake.Count() < n {
					if fanout == 0 {
						if cur, err := e.app.Store.GetCampaignByID(ctx, c.ID); err == nil && cur.FanoutDone {
							fanout = time.Since(start)
						}
					}
					time.Sleep(10 * time.Millisecond)
				}
				campaignTime = time.Since(start)
				rss, redisMB := m.stop()
				b.ReportMetric(campaignTime.Seconds(), "s/run")
				b.ReportMetric(float64(n)/campaignTime.Seconds(), "msgs/s")
				b.ReportMetric(rss, "peakRSS-MB")
				b.ReportMetric(redisMB, "redis-MB")
				fmt.Printf("BenchmarkCampaign %s: %d recipients in %s (fan-out written after %s), peak RSS %.0f MB, Redis peak +%.1f MB\n",
					be.Name, n, campaignTime.Round(time.Millisecond), fanout.Round(time.Millisecond), rss, redisMB)
				e.close()
			}
		})
		if asynqTime > 0 && campaignTime > 0 {
			fmt.Printf("BenchmarkCampaign %s: campaign %s, raw Asynq %s (%.1fx), multi-row insert alone %s\n", be.Name,
				campaignTime.Round(time.Millisecond), asynqTime.Round(time.Millisecond), campaignTime.Seconds()/asynqTime.Seconds(),
				insertTime.Round(time.Millisecond))
		}
	}
}

type campaignBench struct {
	*dispatchEnv
	p core.Principal
}

func newCampaignBench(b *testing.B, dbURL, redisURL string, n int, seed bool) *campaignBench {
	b.Helper()
	// Each run on a fresh database: the campaign reaches everyone.
	be := storetest.Backends(b)
	for _, x := range be {
		if (x.URL[:6] == "sqlite") == (dbURL[:6] == "sqlite") {
			dbURL = x.URL
		}
	}
	d := newDispatchEnv(b, dbURL, redisURL)
	ctx := context.Background()
	st, err := d.app.Store.ListStaff(ctx, d.org, core.Page{Limit: 1})
	if err != nil || len(st) == 0 {
		b.Fatal("no director", err)
	}
	e := &campaignBench{dispatchEnv: d, p: core.Principal{OrgID: d.org, StaffID: st[0].ID, Role: core.RoleDirector}}
	if seed {
		// Eight writers: PostgreSQL takes them at once (100,000 clients
		// one by one took minutes); SQLite serializes them.
		now := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
		var wg sync.WaitGroup
		errs := make(chan error, 8)
		for w := range 8 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				for i := w; i < n; i += 8 {
					c := core.Client{ID: core.NewID(), OrgID: d.org, FirstName: fmt.Sprintf("C%d", i), Phone: phoneN(i), Language: "fr",
						Timezone: "Europe/Paris", CreatedAt: now}
					c.Name = c.FirstName
					if err := d.app.Store.CreateClient(ctx, c); err != nil {
						errs <- err
						return
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		if err := <-errs; err != nil {
			b.Fatal(err)
		}
	}
	return e
}

// memWatch samples Redis's used_memory while a run goes, and reads the
// process's peak RSS since it started.
type memWatch struct {
	base, peak int64
	stopc      chan struct{}
	done       chan struct{}
}

func startMemWatch(b *testing.B, rdb redis.UniversalClient) *memWatch {
	b.Helper()
	// Resets VmHWM (peak RSS) to the current RSS: the seeding before the
	// run does not count.
	if err := os.WriteFile("/proc/self/clear_refs", []byte("5"), 0); err != nil {
		b.Logf("peak RSS not reset: %v", err)
	}
	m := &memWatch{stopc: make(chan struct{}), done: make(chan struct{})}
	m.base = redisUsedMemory(rdb)
	m.peak = m.base
	go func() {
		defer close(m.done)
		t := time.NewTicker(50 * time.Millisecond)
		defer t.Stop()
		for {
			select {
			case <-m.stopc:
				return
			case <-t.C:
				m.peak = max(m.peak, redisUsedMemory(rdb))
			}
		}
	}()
	return m
}

// stop returns the peak RSS (MB) and Redis's peak growth (MB).
func (m *memWatch) stop() (float64, float64) {
	close(m.stopc)
	<-m.done
	rss := 0.0
	if raw, err := os.ReadFile("/proc/self/status"); err == nil {
		for _, l := range strings.Split(string(raw), "\n") {
			if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
				kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
				rss = float64(kb) / 1024
			}
		}
	}
	return rss, float64(m.peak-m.base) / (1 << 20)
}

func redisUsedMemory(rdb redis.UniversalClient) int64 {
	info, err := rdb.Info(context.Background(), "memory").Result()
	if err != nil {
		return 0
	}
	for _, l := range strings.Split(info, "\r\n") {
		if v, ok := strings.CutPrefix(l, "used_memory:"); ok {
			n, _ := strconv.ParseInt(v, 10, 64)
			return n
		}
	}
	return 0
}

var _ = app.FromEnv
