package tests

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// BenchmarkCampaign sends an SMS campaign of CAMPAIGN_BENCH_N recipients
// (default 2,000; the figure is 100,000) to a fake Twilio with
// rate limits off, and measures the time from "schedule now" to the last
// message accepted by the fake, the worker's peak RSS and Redis's peak
// used_memory (sampled every 50 ms, less what it used before). The worker
// is the gateway binary run as its own process (GATEWAY_ROLE=worker,
// TEST_GATEWAY_BINARY or built once), started after the seeding: its
// VmHWM is the worker's own peak, without this process's fake Twilio (which
// only counts the messages) and API. CAMPAIGN_BENCH_INPROCESS=1 runs the
// worker in this process instead, for -test.cpuprofile. Baselines in the
// same run: raw Asynq enqueueing and processing as many empty tasks (on
// bulk, one at a time as a plain loop does; its RSS is this process's),
// and the fan-out's write alone (multi-row INSERTs of as many outbox rows,
// 500 per statement).
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
				redisMB := m.stop()
				rss := peakRSS(b, "self")
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
			e := newCampaignBench(b, be.URL, redisURL, 0)
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
				e := newCampaignBench(b, be.URL, redisURL, n)
				e.startWorker(b, redisURL)
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
				redisMB := m.stop()
				rss := e.workerRSS(b)
				b.ReportMetric(campaignTime.Seconds(), "s/run")
				b.ReportMetric(float64(n)/campaignTime.Seconds(), "msgs/s")
				b.ReportMetric(rss, "peakRSS-MB")
				b.ReportMetric(redisMB, "redis-MB")
				fmt.Printf("BenchmarkCampaign %s: %d recipients in %s (fan-out written after %s), worker peak RSS %.0f MB, Redis peak +%.1f MB\n",
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
	app    *app.App
	fake   *twiliotest.Server
	org    string
	p      core.Principal
	dbURL  string
	worker *gatewayProcess // nil: the worker runs in this process
}

// newCampaignBench opens a fresh database with an organization and n
// clients, through an API-only app (no worker yet) and a fake Twilio that
// counts what it accepts.
func newCampaignBench(b *testing.B, dbURL, redisURL string, n int) *campaignBench {
	b.Helper()
	// Each run on a fresh database: the campaign reaches everyone.
	for _, x := range storetest.Backends(b) {
		if (x.URL[:6] == "sqlite") == (dbURL[:6] == "sqlite") {
			dbURL = x.URL
		}
	}
	ctx := context.Background()
	fake := twiliotest.New(b, twSID, twToken)
	fake.CountOnly()
	vars := map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": redisURL, "GATEWAY_ROLE": "api", "TWILIO_ACCOUNT_SID": twSID,
		"TWILIO_AUTH_TOKEN": twToken, "TWILIO_FROM": twFrom, "TWILIO_BASE_URL": fake.URL, "GATEWAY_RATE_SMS": "off"}
	if os.Getenv("CAMPAIGN_BENCH_INPROCESS") != "" {
		vars["GATEWAY_ROLE"] = "all"
	}
	a := newBenchApp(b, vars)
	a.Broker.Redis.FlushDB(ctx)
	e := &campaignBench{app: a, fake: fake, dbURL: dbURL}
	res, err := a.Services.Tenancy.Bootstrap(ctx, core.BootstrapInput{OrgName: "Campaign bench", Timezone: "Europe/Paris", Locale: "fr"})
	if err != nil {
		e.close()
		b.Fatal(err)
	}
	e.org = res.Organization.ID
	st, err := a.Store.ListStaff(ctx, e.org, core.Page{Limit: 1})
	if err != nil || len(st) == 0 {
		e.close()
		b.Fatal("no director", err)
	}
	e.p = core.Principal{OrgID: e.org, StaffID: st[0].ID, Role: core.RoleDirector}
	if err := importClients(ctx, a.Store, e.org, n); err != nil {
		e.close()
		b.Fatal(err)
	}
	return e
}

// importClients writes n clients named C<i> with distinct phones, 10,000
// per transaction: one CreateClient each took over 6 minutes for 100,000.
func importClients(ctx context.Context, st *store.Store, orgID string, n int) error {
	now := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
	for i := 0; i < n; i += 10_000 {
		cs := make([]core.Client, 0, 10_000)
		for j := i; j < min(i+10_000, n); j++ {
			c := core.Client{ID: core.NewID(), OrgID: orgID, FirstName: fmt.Sprintf("C%d", j), Phone: phoneN(j), Language: "fr",
				Timezone: "Europe/Paris", CreatedAt: now}
			c.Name = c.FirstName
			cs = append(cs, c)
		}
		if err := st.ImportClients(ctx, cs); err != nil {
			return err
		}
	}
	return nil
}

// startWorker starts the worker: the gateway binary with
// GATEWAY_ROLE=worker and the gateway's defaults, or this process's own
// worker under CAMPAIGN_BENCH_INPROCESS.
func (e *campaignBench) startWorker(b *testing.B, redisURL string) {
	b.Helper()
	if os.Getenv("CAMPAIGN_BENCH_INPROCESS") != "" {
		if err := e.app.StartWorker(); err != nil {
			b.Fatal(err)
		}
		return
	}
	env := baseEnv("DATABASE_URL="+e.dbURL, "REDIS_URL="+redisURL, "GATEWAY_ROLE=worker", "GATEWAY_HTTP_ADDR="+freePort(b),
		"GATEWAY_LOG_LEVEL=warn", "TWILIO_ACCOUNT_SID="+twSID, "TWILIO_AUTH_TOKEN="+twToken, "TWILIO_FROM="+twFrom,
		"TWILIO_BASE_URL="+e.fake.URL, "GATEWAY_RATE_SMS=off")
	e.worker = startGateway(b, "worker", b.TempDir(), env)
}

// workerRSS is the worker's peak RSS in MB: the worker process's, or this
// process's since the seeding when the worker runs in it.
func (e *campaignBench) workerRSS(b *testing.B) float64 {
	if e.worker == nil {
		return peakRSS(b, "self")
	}
	return peakRSS(b, strconv.Itoa(e.worker.cmd.Process.Pid))
}

func (e *campaignBench) close() {
	if e.worker != nil && e.worker.wait(0) == nil {
		_ = e.worker.cmd.Process.Signal(syscall.SIGTERM)
		e.worker.wait(15 * time.Second)
	}
	e.app.StopWorker()
	e.app.Close()
}

// memWatch samples Redis's used_memory while a run goes.
type memWatch struct {
	base, peak int64
	stopc      chan struct{}
	done       chan struct{}
}

func startMemWatch(b *testing.B, rdb redis.UniversalClient) *memWatch {
	b.Helper()
	// Resets this process's VmHWM (peak RSS) to its current RSS: the
	// seeding before the run does not count.
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

// stop returns Redis's peak growth (MB).
func (m *memWatch) stop() float64 {
	close(m.stopc)
	<-m.done
	return float64(m.peak-m.base) / (1 << 20)
}

// peakRSS reads a process's VmHWM (MB) from /proc/<pid>/status.
func peakRSS(b *testing.B, pid string) float64 {
	raw, err := os.ReadFile("/proc/" + pid + "/status")
	if err != nil {
		b.Logf("peak RSS of %s: %v", pid, err)
		return 0
	}
	for _, l := range strings.Split(string(raw), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, _ := strconv.Atoi(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")))
			return float64(kb) / 1024
		}
	}
	return 0
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
