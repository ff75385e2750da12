package tests

import (
	"context"
	"fmt"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/hibiken/asynq"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// BenchmarkCampaign sends an SMS campaign of CAMPAIGN_BENCH_N recipients
// (default 2,000; the figure is 100,000) to a fake Twilio with
// rate limits off, and measures the time from "schedule now" to the last
// message accepted by the fake. Baselines in the same run: raw Asynq
// enqueueing and processing as many empty tasks (on bulk, one at a time
// as a plain loop does), and the fan-out's write alone (multi-row INSERTs
// of as many outbox rows, 500 per statement).
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
				for len(e.fake.Messages()) < n {
					if fanout == 0 {
						if cur, err := e.app.Store.GetCampaignByID(ctx, c.ID); err == nil && cur.FanoutDone {
							fanout = time.Since(start)
						}
					}
					time.Sleep(10 * time.Millisecond)
				}
				campaignTime = time.Since(start)
				b.ReportMetric(campaignTime.Seconds(), "s/run")
				b.ReportMetric(float64(n)/campaignTime.Seconds(), "msgs/s")
				fmt.Printf("BenchmarkCampaign %s: %d recipients in %s (fan-out written after %s)\n", be.Name, n,
					campaignTime.Round(time.Millisecond), fanout.Round(time.Millisecond))
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
		now := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
		for i := range n {
			c := core.Client{ID: core.NewID(), OrgID: d.org, FirstName: fmt.Sprintf("C%d", i), Phone: phoneN(i), Language: "fr",
				Timezone: "Europe/Paris", CreatedAt: now}
			c.Name = c.FirstName
			if err := d.app.Store.CreateClient(ctx, c); err != nil {
				b.Fatal(err)
			}
		}
	}
	return e
}

var _ = app.FromEnv
