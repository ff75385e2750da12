package tests

import (
	"context"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// TestCampaignWorkerKilled runs a 2,000-recipient SMS campaign on the real
// binary and SIGKILLs it twice, counting at the fake Twilio.
//
// First mid-fan-out, while Twilio refuses every send (503): nothing is
// handed over before the kill, so the count must be exactly one per
// recipient whatever the fan-out did. The next process resumes the
// fan-out from its cursor in the database within seconds (the dead
// run's task would stay "active" in Asynq until its lease ran out), and
// each batch is written once.
//
// Then mid-sending: a recipient gets a second message only if their
// message was in flight ("sending") at that kill (Twilio may have accepted
// it before the process could write so: the design re-sends rather than
// loses, as for every outbox message). The campaign ends "finished" with
// nothing pending.
func TestCampaignWorkerKilled(t *testing.T) {
	redisURL := queuetest.RedisURL(queuetest.DBTests)
	if redisURL == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { testCampaignWorkerKilled(t, b.URL, redisURL) })
	}
}

func testCampaignWorkerKilled(t *testing.T, dbURL, redisURL string) {
	flushRedis(t, redisURL)
	fake := twiliotest.New(t, twSID, twToken)
	dir := t.TempDir()
	addr := freePort(t)
	common := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "GATEWAY_LOG_LEVEL=warn", "GATEWAY_SHUTDOWN_TIMEOUT=2s",
		"TWILIO_ACCOUNT_SID=" + twSID, "TWILIO_AUTH_TOKEN=" + twToken, "TWILIO_FROM=" + twFrom, "TWILIO_BASE_URL=" + fake.URL,
		"GATEWAY_RATE_SMS=off", "GATEWAY_CAMPAIGN_TICK=1s", "GATEWAY_CAMPAIGN_BATCH=50", "GATEWAY_WORKER_CONCURRENCY=16",
		"GATEWAY_SWEEP_EVERY=1s", "GATEWAY_SWEEP_GRACE=1s", "GATEWAY_SEND_TIMEOUT=30s", "GATEWAY_SEND_LEASE=40s"}
	env := baseEnv(append(common, "GATEWAY_HTTP_ADDR="+addr, "GATEWAY_PUBLIC_URL=http://"+addr)...)
	boot := bootstrapOrg(t, dir, env, "Campaign Crash")
	orgID := boot["organization_id"]
	const n = 2000
	func() {
		st, err := store.Open(context.Background(), dbURL, false)
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		if err := importClients(context.Background(), st, orgID, n); err != nil {
			t.Fatal(err)
		}
	}()
	st, err := store.Open(context.Background(), dbURL, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	fake.FailNextWith(3*n, twiliotest.Failure{Status: 503}) // Twilio is down: nothing is accepted before the first kill
	first := startGateway(t, "first", dir, env)
	c := &gatewayClient{t: t, base: "http://" + addr, key: boot["api_key"]}
	var cp idOnly
	c.must(201, "POST", "/api/v1/campaigns", rawJSON(`{"name":"Crash","channels":["sms"],"audience":{"all":true},
		"texts":{"fr":"Bonjour {{first_name}}"},"send_now":true}`), &cp)
	c.must(200, "POST", "/api/v1/campaigns/"+cp.ID+"/schedule", rawJSON(`{}`), nil)
	// Kill once the fan-out has written a batch and before its last.
	deadline := time.Now().Add(60 * time.Second)
	for {
		cur, err := st.GetCampaignByID(context.Background(), cp.ID)
		if err != nil {
			t.Fatal(err)
		}
		if cur.FanoutDone {
			t.Fatalf("the fan-out finished before the kill could catch it\n%s", first.logTail())
		}
		if cur.FanoutAfter != "" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no fan-out batch in 60s\n%s", first.logTail())
		}
		time.Sleep(5 * time.Millisecond)
	}
	first.kill(t)
	killed := time.Now()
	atKill, err := st.GetCampaignByID(context.Background(), cp.ID)
	if err != nil {
		t.Fatal(err)
	}
	ob := outboxByStatus(t, dbURL, orgID)
	written := len(ob[core.MsgQueued]) + len(ob[core.MsgSending])
	if atKill.FanoutDone || fake.Count() != 0 {
		t.Fatalf("not killed mid-fan-out: done %v, %d at Twilio", atKill.FanoutDone, fake.Count())
	}
	t.Logf("first kill mid-fan-out: %d of %d messages written", written, n)
	fake.Reset() // Twilio is back

	addr2 := freePort(t)
	env2 := baseEnv(append(common, "GATEWAY_HTTP_ADDR="+addr2, "GATEWAY_PUBLIC_URL=http://"+addr2)...)
	second := startGateway(t, "second", dir, env2)
	deadline = time.Now().Add(campaignDeadline)
	for fake.Count() < n/3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages reached Twilio in %s after the restart\n%s", fake.Count(), campaignDeadline, second.logTail())
		}
		// Not faster: the fake Twilio runs in this process, and copying
		// its growing list every few milliseconds took CPU from it.
		time.Sleep(50 * time.Millisecond)
	}
	if resumed, err := st.GetCampaignByID(context.Background(), cp.ID); err == nil && !resumed.FanoutDone {
		t.Logf("fan-out still running when a third of the audience was reached")
	}
	strict := perPhone(fake) // before the second kill: exactly once each
	for to, k := range strict {
		if k > 1 {
			t.Errorf("%s got %d messages after a kill during the fan-out", to, k)
		}
	}
	second.kill(t)
	t.Logf("fan-out killed %s before the second process reached a third of the audience", time.Since(killed).Round(time.Second))
	atKill2 := outboxByStatus(t, dbURL, orgID)
	sending := map[string]bool{}
	for _, m := range atKill2[core.MsgSending] {
		sending[m.To] = true
	}
	t.Logf("at the second kill: Twilio had %d; outbox %d sent, %d sending, %d queued", fake.Count(), len(atKill2[core.MsgSent]),
		len(atKill2[core.MsgSending]), len(atKill2[core.MsgQueued]))

	addr3 := freePort(t)
	env3 := baseEnv(append(common, "GATEWAY_HTTP_ADDR="+addr3, "GATEWAY_PUBLIC_URL=http://"+addr3)...)
	third := startGateway(t, "third", dir, env3)
	c2 := &gatewayClient{t: t, base: "http://" + addr3, key: boot["api_key"]}
	var got core.Campaign
	deadline = time.Now().Add(campaignDeadline)
	for got.Status != core.CampaignFinished {
		if time.Now().After(deadline) {
			c2.must(200, "GET", "/api/v1/campaigns/"+cp.ID, nil, &got)
			t.Fatalf("campaign %s after the restart: %+v\n%s", got.Status, got.Progress, third.logTail())
		}
		time.Sleep(200 * time.Millisecond)
		if got, err = st.GetCampaignByID(context.Background(), cp.ID); err != nil {
			t.Fatal(err)
		}
	}
	c2.must(200, "GET", "/api/v1/campaigns/"+cp.ID, nil, &got)
	counts := perPhone(fake)
	dups := 0
	for i := range n {
		switch k := counts[phoneN(i)]; {
		case k == 0:
			t.Errorf("%s never reached", phoneN(i))
		case k > 1 && !sending[phoneN(i)]:
			t.Errorf("%s got %d messages though it was not in flight at the second kill", phoneN(i), k)
		case k > 1:
			dups++
		}
	}
	t.Logf("reached %d of %d; %d repeats, all of messages in flight at the kill (%d were); progress %+v", len(counts), n, dups,
		len(sending), *got.Progress)
	if got.Progress.Pending != 0 || got.Progress.Sent != n {
		t.Errorf("progress %+v", *got.Progress)
	}
	third.stop(t)
}
