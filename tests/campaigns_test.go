package tests

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// campaignEnv is the service with a fake Twilio and the campaign tick and
// sweeper at one second, so tests see campaigns start and finish quickly.
// Its worker runs 16 sends at once: more make SQLite's single writer the
// bottleneck (32 made the 2,000-recipient tests several times slower).
func campaignEnv(t *testing.T, dbURL string, env map[string]string) (*apiEnv, *twiliotest.Server) {
	vars := map[string]string{"GATEWAY_CAMPAIGN_TICK": "1s", "GATEWAY_CAMPAIGN_BATCH": "250", "GATEWAY_WORKER_CONCURRENCY": "16"}
	for k, v := range env {
		vars[k] = v
	}
	e, fake := twilioEnvWith(t, dbURL, vars)
	// Rate-limited sends are rescheduled on the service's clock: let it
	// follow real time.
	stop := make(chan struct{})
	go func() {
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				e.clock.Set(time.Now())
			}
		}
	}()
	t.Cleanup(func() { close(stop) })
	if err := e.app.StartWorker(); err != nil {
		t.Fatal(err)
	}
	return e, fake
}

// seedClients writes n French clients with distinct phones straight into
// the store (2,000 API calls would only slow the test down).
func seedClients(t *testing.T, e *apiEnv, n int, phone func(i int) string) []string {
	t.Helper()
	ids := make([]string, n)
	cs := make([]core.Client, n)
	now := e.clock.Now().UTC().Truncate(time.Millisecond)
	for i := range n {
		c := core.Client{ID: core.NewID(), OrgID: e.org, FirstName: fmt.Sprintf("Client%d", i), LastName: "Test", Phone: phone(i),
			Language: "fr", Timezone: "Europe/Paris", CreatedAt: now}
		c.Name = core.FullName(c.FirstName, c.LastName)
		cs[i], ids[i] = c, c.ID
	}
	if err := e.app.Store.ImportClients(context.Background(), cs); err != nil {
		t.Fatal(err)
	}
	return ids
}

func phoneN(i int) string { return fmt.Sprintf("+336%08d", 10000000+i) }

// startCampaign creates an SMS campaign to everyone and schedules it now.
func startCampaign(t *testing.T, e *apiEnv, extra string) string {
	t.Helper()
	var c idOnly
	e.must(201, "POST", "/api/v1/campaigns", rawJSON(`{"name":"Promo","channels":["sms"],"audience":{"all":true},
		"texts":{"fr":"Bonjour {{first_name}}, -10% chez {{center}}"},"send_now":true`+extra+`}`), &c)
	e.must(200, "POST", "/api/v1/campaigns/"+c.ID+"/schedule", rawJSON(`{}`), nil)
	return c.ID
}

type rawJSON string

func (r rawJSON) MarshalJSON() ([]byte, error) { return []byte(r), nil }

func (e *apiEnv) campaign(id string) core.Campaign {
	e.t.Helper()
	var c core.Campaign
	e.must(200, "GET", "/api/v1/campaigns/"+id, nil, &c)
	return c
}

// campaignDeadline bounds the waits of the exactly-once tests (thousands
// of messages): they check that everyone is reached once, not speed, and
// CI runs them under -race on a loaded machine, where a send costs tens of
// milliseconds. The benchmark measures speed.
const campaignDeadline = 4 * time.Minute

// waitStatus polls the campaign's row (the API's GET also counts the
// progress, a join over thousands of rows: polled every 50 ms it took a
// large share of the CPU the campaign under test needs), then reads the
// campaign with its progress once.
func waitStatus(t *testing.T, e *apiEnv, id string, st core.CampaignStatus, d time.Duration) core.Campaign {
	t.Helper()
	waitFor(t, "campaign "+string(st), d, func() bool {
		c, err := e.app.Store.GetCampaignByID(context.Background(), id)
		return err == nil && c.Status == st
	})
	return e.campaign(id)
}

// perPhone counts what the fake Twilio accepted per recipient.
func perPhone(fake *twiliotest.Server) map[string]int {
	out := map[string]int{}
	for _, m := range fake.Messages() {
		out[m.To]++
	}
	return out
}

func checkOnce(t *testing.T, fake *twiliotest.Server, want int) {
	t.Helper()
	got := perPhone(fake)
	dups := 0
	for to, n := range got {
		if n > 1 {
			dups++
			if dups < 5 {
				t.Errorf("%s got %d messages", to, n)
			}
		}
	}
	if len(got) != want || dups > 0 {
		t.Fatalf("provider reached %d phones (want %d), %d of them more than once; %d requests", len(got), want, dups, fake.Count())
	}
}

// Redis is flushed mid-campaign: the sweeper re-enqueues the campaign's
// rows (task ids from row ids, in pipelined batches) and every recipient gets exactly one
// message, counted at the provider. Two clients sharing a phone get one
// message; an opted-out client none; a client created after the freeze
// none; the campaign finishes only when nothing is pending.
func TestCampaignRedisFlushExactlyOnce(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	for _, b := range backendsFor(t) {
		t.Run(b.Name, func(t *testing.T) {
			// 32 sends at once: verified green on SQLite and PostgreSQL under -race.
			e, fake := campaignEnv(t, b.URL, map[string]string{"GATEWAY_WORKER_CONCURRENCY": "32"})
			const n = 2000
			ids := seedClients(t, e, n, phoneN)
			// A sibling sharing client 0's phone, and client 1 opted out of SMS.
			seedClients(t, e, 1, func(int) string { return phoneN(0) })
			e.must(200, "PUT", "/api/v1/clients/"+ids[1]+"/channels", rawJSON(`{"channels":[{"channel":"sms","opted_out_at":"2026-01-01T00:00:00Z"}]}`), nil)
			id := startCampaign(t, e, "")
			// Flushed early, so most of the campaign runs on what the sweeper
			// re-enqueued from the rows.
			waitFor(t, "a tenth of the campaign at the provider", campaignDeadline, func() bool { return fake.Count() >= n/10 })
			if err := e.app.Broker.Redis.FlushDB(context.Background()).Err(); err != nil {
				t.Fatal(err)
			}
			flushed := time.Now()
			// A client created after the freeze.
			late := seedClients(t, e, 1, func(int) string { return "+33799999999" })
			c := waitStatus(t, e, id, core.CampaignFinished, campaignDeadline)
			t.Logf("finished %s after the flush", time.Since(flushed).Round(time.Second))
			checkOnce(t, fake, n-1)
			if perPhone(fake)["+33799999999"] != 0 || late == nil {
				t.Error("a client created after the freeze got the campaign")
			}
			p := c.Progress
			if p.Pending != 0 || p.Sent+p.Delivered != n-1 || p.Skipped != 2 {
				t.Errorf("progress %+v: want %d sent, 2 skipped (duplicate address, opted out), 0 pending", *p, n-1)
			}
			// The per-recipient list pages through everyone with a cursor.
			seen, cursor := 0, ""
			for {
				var page struct {
					Items      []core.CampaignRecipient `json:"items"`
					NextCursor string                   `json:"next_cursor"`
				}
				e.must(200, "GET", "/api/v1/campaigns/"+id+"/recipients?limit=200&cursor="+cursor, nil, &page)
				seen += len(page.Items)
				if page.NextCursor == "" {
					break
				}
				cursor = page.NextCursor
			}
			if seen != n+1 {
				t.Errorf("recipient list has %d rows, want %d", seen, n+1)
			}
		})
	}
}

// The fan-out writes every recipient once across its batch boundaries
// (audiences one short of a batch, exactly one, one over, two, two and
// one), with its reader, writer and enqueuer overlapping: each campaign
// reaches every client seeded so far, once, and finishes.
func TestCampaignFanoutBatches(t *testing.T) {
	for _, b := range backendsFor(t) {
		t.Run(b.Name, func(t *testing.T) {
			e, fake := campaignEnv(t, b.URL, map[string]string{"GATEWAY_CAMPAIGN_BATCH": "50"})
			seeded := 0
			for _, n := range []int{1, 49, 50, 51, 100, 101} {
				seedClients(t, e, n-seeded, func(i int) string { return phoneN(seeded + i) })
				seeded = n
				fake.Reset()
				start := time.Now()
				id := startCampaign(t, e, "")
				c := waitStatus(t, e, id, core.CampaignFinished, campaignDeadline)
				t.Logf("audience of %d: finished after %s", n, time.Since(start).Round(time.Millisecond))
				if p := c.Progress; p.Total != n || p.Sent+p.Delivered != n {
					t.Errorf("audience of %d: progress %+v", n, *p)
				}
				checkOnce(t, fake, n)
			}
		})
	}
}

// Two worker processes (two apps on one database and Redis) run the same
// campaign: zero duplicates at the provider.
func TestCampaignTwoWorkers(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	for _, b := range backendsFor(t) {
		t.Run(b.Name, func(t *testing.T) {
			e, fake := campaignEnv(t, b.URL, nil)
			vars := map[string]string{"DATABASE_URL": b.URL, "REDIS_URL": queuetest.RedisURL(queuetest.DBTests), "GATEWAY_ROLE": "worker",
				"TWILIO_ACCOUNT_SID": twSID, "TWILIO_AUTH_TOKEN": twToken, "TWILIO_FROM": twFrom, "TWILIO_BASE_URL": fake.URL,
				"GATEWAY_RATE_SMS": "off", "GATEWAY_CAMPAIGN_TICK": "1s", "GATEWAY_CAMPAIGN_BATCH": "250", "GATEWAY_WORKER_CONCURRENCY": "16"}
			cfg, err := app.FromEnv(func(k string) string { return vars[k] })
			if err != nil {
				t.Fatal(err)
			}
			cfg.SweepEvery, cfg.SweepGrace = time.Second, time.Second
			second, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
			if err != nil {
				t.Fatal(err)
			}
			if err := second.StartWorker(); err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { second.StopWorker(); second.Close() })
			const n = 2000
			seedClients(t, e, n, phoneN)
			id := startCampaign(t, e, "")
			waitStatus(t, e, id, core.CampaignFinished, campaignDeadline)
			checkOnce(t, fake, n)
		})
	}
}

// Each bad input is a 400 naming the problem, and creates nothing.
func TestCampaignBadInput(t *testing.T) {
	e := newAPIEnv(t, backendsFor(t)[0].URL)
	seedClients(t, e, 3, phoneN)
	past := time.Now().Add(-time.Hour).Format(time.RFC3339)
	for _, tc := range []struct{ name, body, field string }{
		{"text does not parse", `{"name":"x","channels":["sms"],"audience":{"all":true},"texts":{"fr":"Bonjour {{first_name"},"send_now":true}`, "texts.fr"},
		{"unknown variable", `{"name":"x","channels":["sms"],"audience":{"all":true},"texts":{"fr":"Bonjour {{prenom}}"},"send_now":true}`, "texts.fr"},
		{"empty audience", `{"name":"x","channels":["sms"],"audience":{"languages":["pl"]},"texts":{"fr":"Bonjour"},"send_now":true}`, "audience"},
		{"no audience", `{"name":"x","channels":["sms"],"audience":{},"texts":{"fr":"Bonjour"},"send_now":true}`, "audience"},
		{"time in the past", `{"name":"x","channels":["sms"],"audience":{"all":true},"texts":{"fr":"Bonjour"},"send_at":"` + past + `"}`, "send_at"},
		{"unknown group", `{"name":"x","channels":["sms"],"audience":{"group_ids":["` + core.NewID() + `"]},"texts":{"fr":"Bonjour"},"send_now":true}`, "audience.group_ids[0]"},
		{"unknown centre", `{"name":"x","channels":["sms"],"audience":{"center_ids":["` + core.NewID() + `"]},"texts":{"fr":"Bonjour"},"send_now":true}`, "audience.center_ids[0]"},
		{"whatsapp without template", `{"name":"x","channels":["whatsapp"],"audience":{"all":true},"texts":{"fr":"Bonjour"},"send_now":true}`, "whatsapp_template"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var p problem
			if st := e.do(e.key, "POST", "/api/v1/campaigns", rawJSON(tc.body), &p); st != http.StatusBadRequest {
				t.Fatalf("status %d, want 400: %+v", st, p)
			}
			found := false
			for _, f := range p.Errors {
				found = found || f.Field == tc.field
			}
			if !found {
				t.Errorf("errors %+v do not name %s", p.Errors, tc.field)
			}
		})
	}
	var l struct {
		Items []core.Campaign `json:"items"`
	}
	e.must(200, "GET", "/api/v1/campaigns", nil, &l)
	if len(l.Items) != 0 {
		t.Errorf("bad input created %d campaigns", len(l.Items))
	}
}

// The preview counts segments on each recipient's final text: a name
// outside GSM-7 turns that recipient's text into UCS-2, and the cost
// follows the configured price per segment.
func TestCampaignPreview(t *testing.T) {
	e := newAPIEnv(t, backendsFor(t)[0].URL, map[string]string{"GATEWAY_CAMPAIGN_PRICES": "sms=0.01", "GATEWAY_CAMPAIGN_CURRENCY": "EUR"})
	ids := seedClients(t, e, 3, phoneN)
	// Client 2 has no phone: skipped for a missing address.
	e.must(200, "PATCH", "/api/v1/clients/"+ids[2], rawJSON(`{"phone":"","email":""}`), nil)
	cl := core.Client{ID: core.NewID(), OrgID: e.org, FirstName: "Łucja", LastName: "Nowak", Phone: "+48500100200", Language: "pl",
		Timezone: "Europe/Warsaw", CreatedAt: time.Now().UTC()}
	if err := e.app.Store.CreateClient(context.Background(), cl); err != nil {
		t.Fatal(err)
	}
	var c idOnly
	text := strings.Repeat("a", 150) + " {{first_name}}"
	e.must(201, "POST", "/api/v1/campaigns", rawJSON(`{"name":"Seg","channels":["sms"],"audience":{"all":true},"texts":{"fr":"`+text+`"},"send_now":true}`), &c)
	var p core.CampaignPreview
	e.must(200, "GET", "/api/v1/campaigns/"+c.ID+"/preview", nil, &p)
	if p.Recipients != 3 || p.ByChannel[core.ChannelSMS] != 3 || p.Skipped != 1 {
		t.Fatalf("preview %+v: want 3 SMS recipients and 1 skipped (no phone)", p)
	}
	fr := p.Locales[0]
	// "a"×150 + " Client0" = 158 GSM-7 (1 segment); "Łucja" is not GSM-7:
	// 156 UCS-2 units, 3 segments.
	if fr.Segments != 1+1+3 || fr.UCS2 != 1 || fr.Encoding != "UCS-2" {
		t.Errorf("locale preview %+v: want 5 segments, one UCS-2 recipient", fr)
	}
	if p.TotalCost.Amount != "0.05" || p.TotalCost.Currency != "EUR" {
		t.Errorf("cost %+v, want 0.05 EUR", p.TotalCost)
	}
	if !strings.Contains(fr.Sample, "Client0") {
		t.Errorf("sample %q is not rendered", fr.Sample)
	}
}

// Pause stops sending within seconds (messages not handed to the provider
// are held), resume finishes the campaign, and a rate change applies at
// run time; cancel skips what is left.
func TestCampaignPauseResumeCancel(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	e, fake := campaignEnv(t, backendsFor(t)[0].URL, nil)
	seedClients(t, e, 300, phoneN)
	id := startCampaign(t, e, `,"rate_per_minute":1200`)
	waitFor(t, "sending", 30*time.Second, func() bool { return fake.Count() >= 20 })
	e.must(200, "POST", "/api/v1/campaigns/"+id+"/pause", nil, nil)
	time.Sleep(2 * time.Second) // in-flight sends (claimed before the pause) finish
	held := fake.Count()
	time.Sleep(2 * time.Second)
	if got := fake.Count(); got != held {
		t.Fatalf("paused campaign still sending: %d then %d", held, got)
	}
	if c := e.campaign(id); c.Status != core.CampaignPaused || c.Progress.Queued == 0 {
		t.Fatalf("after pause: %s %+v", c.Status, c.Progress)
	}
	// Faster at run time, no restart.
	e.must(200, "PATCH", "/api/v1/campaigns/"+id, rawJSON(`{"rate_per_minute":6000}`), nil)
	e.must(200, "POST", "/api/v1/campaigns/"+id+"/resume", nil, nil)
	waitStatus(t, e, id, core.CampaignFinished, campaignDeadline)
	checkOnce(t, fake, 300)

	// Cancel: what is not handed over is skipped, the campaign is not
	// finished but cancelled, and nothing more is sent.
	fake.Reset()
	id2 := startCampaign(t, e, `,"rate_per_minute":600`)
	waitFor(t, "second campaign sending", 30*time.Second, func() bool { return fake.Count() >= 5 })
	e.must(200, "POST", "/api/v1/campaigns/"+id2+"/cancel", nil, nil)
	time.Sleep(2 * time.Second)
	sent := fake.Count()
	time.Sleep(2 * time.Second)
	c := e.campaign(id2)
	if fake.Count() != sent || c.Status != core.CampaignCancelled || c.Progress.Reasons["campaign cancelled"] == 0 || c.Progress.Pending != 0 {
		t.Fatalf("after cancel: %d then %d sent, %s %+v", sent, fake.Count(), c.Status, c.Progress)
	}
}

// A burst of permanent provider errors pauses the campaign instead of
// finishing it, saying why.
func TestCampaignPermanentErrorsPause(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	e, fake := campaignEnv(t, backendsFor(t)[0].URL, map[string]string{"GATEWAY_CAMPAIGN_PAUSE_AFTER": "10", "GATEWAY_WORKER_CONCURRENCY": "2"})
	seedClients(t, e, 100, phoneN)
	fake.FailNext(1000, 400, 21610) // unsubscribed recipient: permanent
	id := startCampaign(t, e, "")
	c := waitStatus(t, e, id, core.CampaignPaused, 30*time.Second)
	if !strings.Contains(c.StatusReason, "permanent provider errors") || c.Progress.Queued == 0 {
		t.Fatalf("paused with %q, progress %+v", c.StatusReason, c.Progress)
	}
}

// Opt-outs are checked again at send time: a client who opts out after
// the freeze, before their turn, is skipped.
func TestCampaignOptOutAtSendTime(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	e, fake := campaignEnv(t, backendsFor(t)[0].URL, nil)
	ids := seedClients(t, e, 40, phoneN)
	id := startCampaign(t, e, `,"rate_per_minute":300`) // 5/s: the last one goes after ~8 s
	waitFor(t, "fan-out", 20*time.Second, func() bool { return e.campaign(id).FanoutDone })
	e.must(200, "PUT", "/api/v1/clients/"+ids[39]+"/channels", rawJSON(`{"channels":[{"channel":"sms","opted_out_at":"2026-01-01T00:00:00Z"}]}`), nil)
	c := waitStatus(t, e, id, core.CampaignFinished, 60*time.Second)
	if perPhone(fake)[phoneN(39)] != 0 || c.Progress.Skipped != 1 {
		t.Fatalf("opted out after the freeze: got %d messages; progress %+v", perPhone(fake)[phoneN(39)], c.Progress)
	}
}

// With a rate limit on, a confirmation from the sender a campaign keeps
// busy takes the next free slot: it does not wait behind the campaign's
// backlog.
func TestCampaignConfirmationFirst(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	e, fake := campaignEnv(t, backendsFor(t)[0].URL, map[string]string{"GATEWAY_RATE_SMS": "4/s"})
	f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Massage", DurationMin: 60})
	seedClients(t, e, 80, phoneN) // 20 s of backlog at 4/s
	id := startCampaign(t, e, "")
	waitFor(t, "campaign under way", 30*time.Second, func() bool { return fake.Count() >= 8 })
	day := time.Now().In(time.FixedZone("CET", 3600)).AddDate(0, 0, 2).Format("2006-01-02")
	booked := time.Now()
	e.book(f, day+"T10:00:00+01:00")
	var took time.Duration
	waitFor(t, "the confirmation at the provider", 15*time.Second, func() bool {
		for _, m := range fake.Messages() {
			if strings.Contains(m.Body, "Massage") {
				took = m.At.Sub(booked)
				return true
			}
		}
		return false
	})
	c := e.campaign(id)
	t.Logf("confirmation reached the provider %s after booking; campaign pending %d", took, c.Progress.Pending)
	if took > 3*time.Second || c.Progress.Pending < 20 {
		t.Fatalf("confirmation took %s with %d campaign messages pending: it waited behind the campaign", took, c.Progress.Pending)
	}
	e.must(200, "POST", "/api/v1/campaigns/"+id+"/cancel", nil, nil)
}

// Provider status callbacks flow into the campaign's counters.
func TestCampaignDeliveryCounters(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	e, fake := campaignEnv(t, backendsFor(t)[0].URL, nil)
	seedClients(t, e, 10, phoneN)
	id := startCampaign(t, e, "")
	waitStatus(t, e, id, core.CampaignFinished, 30*time.Second)
	msgs := fake.Messages()
	for i, m := range msgs[:4] {
		st := "delivered"
		if i == 3 {
			st = "undelivered"
		}
		if code := e.statusCallback(fake, m.SID, st, true); code != 204 {
			t.Fatalf("callback: %d", code)
		}
	}
	// The status task applies each report a moment after its answer.
	waitFor(t, "the reports in the counters", 15*time.Second, func() bool {
		p := e.campaign(id).Progress
		return p.Delivered == 3 && p.Failed == 1
	})
	c := e.campaign(id)
	if c.Progress.Delivered != 3 || c.Progress.Failed != 1 || c.Progress.Sent != 6 {
		t.Fatalf("progress after callbacks %+v", c.Progress)
	}
}

// The audience filters: groups (a client in two selected groups once),
// activity status, language, explicit ids; archived clients left out.
func TestCampaignAudience(t *testing.T) {
	e := newAPIEnv(t, backendsFor(t)[0].URL)
	ids := seedClients(t, e, 6, phoneN)
	var g1, g2 idOnly
	e.must(201, "POST", "/api/v1/client-groups", map[string]any{"name": "VIP"}, &g1)
	e.must(201, "POST", "/api/v1/client-groups", map[string]any{"name": "Yoga"}, &g2)
	for _, m := range []struct{ g, c string }{{g1.ID, ids[0]}, {g2.ID, ids[0]}, {g2.ID, ids[1]}, {g1.ID, ids[2]}} {
		if st := e.do(e.key, "PUT", "/api/v1/client-groups/"+m.g+"/members/"+m.c, nil, nil); st != 204 {
			t.Fatalf("member: %d", st)
		}
	}
	e.must(200, "POST", "/api/v1/clients/"+ids[2]+"/archive", nil, nil)
	e.must(200, "PATCH", "/api/v1/clients/"+ids[3], map[string]any{"language": "de"}, nil)
	preview := func(audience string) core.CampaignPreview {
		t.Helper()
		var c idOnly
		e.must(201, "POST", "/api/v1/campaigns", rawJSON(`{"name":"A","channels":["sms"],"audience":`+audience+
			`,"texts":{"fr":"Bonjour","de":"Hallo"},"fallback_locale":"fr","send_now":true}`), &c)
		var p core.CampaignPreview
		e.must(200, "GET", "/api/v1/campaigns/"+c.ID+"/preview", nil, &p)
		return p
	}
	for _, tc := range []struct {
		name, audience string
		want           int
	}{
		{"all but the archived", `{"all":true}`, 5},
		{"two groups sharing a client, archived left out", `{"group_ids":["` + g1.ID + `","` + g2.ID + `"]}`, 2},
		{"language", `{"languages":["de"]}`, 1},
		{"explicit ids", `{"client_ids":["` + ids[4] + `","` + ids[5] + `"]}`, 2},
		{"new clients are inactive, none lost", `{"statuses":["inactive"]}`, 5},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if p := preview(tc.audience); p.Recipients != tc.want {
				t.Errorf("recipients %d, want %d (%+v)", p.Recipients, tc.want, p)
			}
		})
	}
	var p problem
	if st := e.do(e.key, "POST", "/api/v1/campaigns", rawJSON(`{"name":"A","channels":["sms"],"audience":{"statuses":["lost"]},
		"texts":{"fr":"Bonjour"},"send_now":true}`), &p); st != 400 {
		t.Errorf("an audience of lost clients when none is lost: %d, want 400", st)
	}
}

// "Send a test to me" reaches the calling staff member only; a WhatsApp
// campaign goes out as a content template (ContentSid + variables).
func TestCampaignTestAndWhatsApp(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	e, fake := campaignEnv(t, backendsFor(t)[0].URL, nil)
	ids := seedClients(t, e, 3, phoneN)
	var mk idOnly
	e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Marie Marketing", "role": "marketer", "phone": "+33655555555"}, &mk)
	var k map[string]any
	e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "mk", "staff_id": mk.ID}, &k)
	key := k["key"].(string)
	var c idOnly
	if st := e.do(key, "POST", "/api/v1/campaigns", rawJSON(`{"name":"T","channels":["sms"],"audience":{"all":true},
		"texts":{"fr":"Bonjour {{first_name}}"},"send_now":true}`), &c); st != 201 {
		t.Fatalf("marketer creates: %d", st)
	}
	var m core.Message
	if st := e.do(key, "POST", "/api/v1/campaigns/"+c.ID+"/test", rawJSON(`{}`), &m); st != 200 {
		t.Fatalf("test send: %d", st)
	}
	waitFor(t, "the test at the provider", 15*time.Second, func() bool { return fake.Count() == 1 })
	time.Sleep(500 * time.Millisecond)
	if got := fake.Messages(); len(got) != 1 || got[0].To != "+33655555555" || got[0].Body != "Bonjour Marie" {
		t.Fatalf("test send reached %+v", got)
	}
	// WhatsApp: client 0 consents, the others have no consent.
	e.must(200, "PUT", "/api/v1/clients/"+ids[0]+"/channels", rawJSON(`{"channels":[{"channel":"whatsapp","consent":true}]}`), nil)
	fake.Reset()
	var w idOnly
	e.must(201, "POST", "/api/v1/campaigns", rawJSON(`{"name":"W","channels":["whatsapp"],"audience":{"all":true},
		"whatsapp_template":{"content_sid":"HX0123456789abcdef0123456789abcdef","variables":{"1":"{{first_name}}"}},"send_now":true}`), &w)
	e.must(200, "POST", "/api/v1/campaigns/"+w.ID+"/schedule", rawJSON(`{}`), nil)
	got := waitStatus(t, e, w.ID, core.CampaignFinished, 30*time.Second)
	msgs := fake.Messages()
	if len(msgs) != 1 || msgs[0].Form.Get("ContentSid") != "HX0123456789abcdef0123456789abcdef" ||
		msgs[0].Form.Get("ContentVariables") != `{"1":"Client0"}` || msgs[0].To != "whatsapp:"+phoneN(0) {
		t.Fatalf("WhatsApp campaign sent %+v", msgs)
	}
	if got.Progress.Skipped != 2 || got.Progress.Reasons["no WhatsApp consent"] != 2 {
		t.Errorf("progress %+v", got.Progress)
	}
}
