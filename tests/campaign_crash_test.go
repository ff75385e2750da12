package tests

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// TestCampaignWorkerKilled runs a 2,000-recipient SMS campaign on the real
// binary, SIGKILLs it mid-campaign, starts it again on the same database
// and Redis, and counts at the fake Twilio: every recipient is reached,
// and a recipient gets a second message only if their message was in
// flight ("sending") at the kill (Twilio may have accepted it before the
// process could write so: the design re-sends rather than loses, as for
// every outbox message). The campaign ends "finished" with nothing
// pending.
func TestCampaignWorkerKilled(t *testing.T) {
	redisURL := queuetest.RedisURL(queuetest.DBTests)
	if redisURL == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	dbURL := storetest.Backends(t)[0].URL
	flushRedis(t, redisURL)
	fake := twiliotest.New(t, twSID, twToken)
	dir := t.TempDir()
	addr := freePort(t)
	common := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "GATEWAY_LOG_LEVEL=warn", "GATEWAY_SHUTDOWN_TIMEOUT=2s",
		"TWILIO_ACCOUNT_SID=" + twSID, "TWILIO_AUTH_TOKEN=" + twToken, "TWILIO_FROM=" + twFrom, "TWILIO_BASE_URL=" + fake.URL,
		"GATEWAY_RATE_SMS=off", "GATEWAY_CAMPAIGN_TICK=1s", "GATEWAY_CAMPAIGN_BATCH=250", "GATEWAY_WORKER_CONCURRENCY=16"}
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
		now := time.Now().UTC().Add(-time.Minute).Truncate(time.Millisecond)
		for i := range n {
			c := core.Client{ID: core.NewID(), OrgID: orgID, FirstName: fmt.Sprintf("C%d", i), Phone: phoneN(i), Language: "fr",
				Timezone: "Europe/Paris", CreatedAt: now}
			c.Name = c.FirstName
			if err := st.CreateClient(context.Background(), c); err != nil {
				t.Fatal(err)
			}
		}
	}()
	first := startGateway(t, "first", dir, env)
	c := &gatewayClient{t: t, base: "http://" + addr, key: boot["api_key"]}
	var cp idOnly
	c.must(201, "POST", "/api/v1/campaigns", rawJSON(`{"name":"Crash","channels":["sms"],"audience":{"all":true},
		"texts":{"fr":"Bonjour {{first_name}}"},"send_now":true}`), &cp)
	c.must(200, "POST", "/api/v1/campaigns/"+cp.ID+"/schedule", rawJSON(`{}`), nil)
	deadline := time.Now().Add(60 * time.Second)
	for len(fake.Messages()) < n/3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages reached Twilio in 60s\n%s", len(fake.Messages()), first.logTail())
		}
		time.Sleep(5 * time.Millisecond)
	}
	first.kill(t)
	atKill := outboxByStatus(t, dbURL, orgID)
	sending := map[string]bool{}
	for _, m := range atKill[core.MsgSending] {
		sending[m.To] = true
	}
	t.Logf("at the kill: Twilio had %d; outbox %d sent, %d sending, %d queued", len(fake.Messages()), len(atKill[core.MsgSent]),
		len(atKill[core.MsgSending]), len(atKill[core.MsgQueued]))

	addr2 := freePort(t)
	env2 := baseEnv(append(common, "GATEWAY_HTTP_ADDR="+addr2, "GATEWAY_PUBLIC_URL=http://"+addr2,
		"GATEWAY_SWEEP_EVERY=1s", "GATEWAY_SWEEP_GRACE=1s", "GATEWAY_SEND_TIMEOUT=2s", "GATEWAY_SEND_LEASE=8s")...)
	second := startGateway(t, "second", dir, env2)
	c2 := &gatewayClient{t: t, base: "http://" + addr2, key: boot["api_key"]}
	var got core.Campaign
	deadline = time.Now().Add(150 * time.Second)
	for got.Status != core.CampaignFinished {
		if time.Now().After(deadline) {
			t.Fatalf("campaign %s after the restart: %+v\n%s", got.Status, got.Progress, second.logTail())
		}
		time.Sleep(200 * time.Millisecond)
		c2.must(200, "GET", "/api/v1/campaigns/"+cp.ID, nil, &got)
	}
	counts := perPhone(fake)
	dups := 0
	for i := range n {
		switch k := counts[phoneN(i)]; {
		case k == 0:
			t.Errorf("%s never reached", phoneN(i))
		case k > 1 && !sending[phoneN(i)]:
			t.Errorf("%s got %d messages though it was not in flight at the kill", phoneN(i), k)
		case k > 1:
			dups++
		}
	}
	t.Logf("reached %d of %d; %d repeats, all of messages in flight at the kill (%d were); progress %+v", len(counts), n, dups,
		len(sending), *got.Progress)
	if got.Progress.Pending != 0 || got.Progress.Sent != n {
		t.Errorf("progress %+v", *got.Progress)
	}
	second.stop(t)
}
