package tests

import (
	"context"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// zoneAtHour is a fixed-offset zone whose local hour is now hour.
func zoneAtHour(now time.Time, hour int) string {
	o := ((hour-now.UTC().Hour())%24 + 24) % 24
	if o > 14 {
		o -= 24
	}
	switch {
	case o > 0:
		return fmt.Sprintf("Etc/GMT-%d", o) // POSIX signs: Etc/GMT-2 is UTC+2
	case o < 0:
		return fmt.Sprintf("Etc/GMT+%d", -o)
	}
	return "Etc/GMT"
}

// windowCampaign seeds k clients whose local time is inside a 10:00–14:00
// window now (about noon) and k outside it (about 20:00), and starts an
// SMS campaign to everyone with that window. It returns the campaign, the
// inside phones and the outside zone.
func windowCampaign(t *testing.T, e *apiEnv, k int) (string, map[string]bool, *time.Location) {
	t.Helper()
	now := time.Now()
	in, out := zoneAtHour(now, 12), zoneAtHour(now, 20)
	inside := map[string]bool{}
	created := e.clock.Now().UTC().Truncate(time.Millisecond)
	for i := range 2 * k {
		tz := in
		if i >= k {
			tz = out
		}
		c := core.Client{ID: core.NewID(), OrgID: e.org, FirstName: fmt.Sprintf("W%d", i), Phone: phoneN(i), Language: "fr",
			Timezone: tz, CreatedAt: created}
		c.Name = c.FirstName
		if err := e.app.Store.CreateClient(context.Background(), c); err != nil {
			t.Fatal(err)
		}
		if i < k {
			inside[c.Phone] = true
		}
	}
	id := startCampaign(t, e, `,"window":{"start":"10:00","end":"14:00"}`)
	loc, err := time.LoadLocation(out)
	if err != nil {
		t.Fatal(err)
	}
	return id, inside, loc
}

// Each recipient's local sending window is kept end to end (API,
// fan-out, send gate, provider): recipients inside it now are reached;
// the others wait, queued for the window's next start in their own zone,
// and the campaign goes on sending (not finished) until they are sent.
func TestCampaignSendingWindow(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	for _, b := range backendsFor(t) {
		t.Run(b.Name, func(t *testing.T) { testCampaignSendingWindow(t, b.URL) })
	}
}

func testCampaignSendingWindow(t *testing.T, dbURL string) {
	e, fake := campaignEnv(t, dbURL, nil)
	const k = 6
	id, inside, outLoc := windowCampaign(t, e, k)
	waitFor(t, "the recipients inside their window at the provider", 30*time.Second, func() bool { return fake.Count() >= k })
	time.Sleep(2 * time.Second) // two more ticks and sweeps: nobody else is sent to
	for to, n := range perPhone(fake) {
		if !inside[to] || n != 1 {
			t.Errorf("%s got %d messages (inside the window: %v)", to, n, inside[to])
		}
	}
	c := e.campaign(id)
	if c.Status != core.CampaignSending || c.Progress.Sent != k || c.Progress.Pending != k {
		t.Fatalf("campaign %s %+v: want sending, %d sent, %d pending", c.Status, c.Progress, k, k)
	}
	l := time.Now().In(outLoc)
	opens := time.Date(l.Year(), l.Month(), l.Day()+1, 10, 0, 0, 0, outLoc)
	queued, err := e.app.Store.ListMessages(context.Background(), e.org, core.MessageFilter{Status: core.MsgQueued}, core.Page{Limit: 100})
	if err != nil {
		t.Fatal(err)
	}
	if len(queued) != k {
		t.Fatalf("%d messages queued, want %d", len(queued), k)
	}
	for _, m := range queued {
		if inside[m.To] || !m.DueAt.Equal(opens) {
			t.Errorf("%s queued for %s, want the window's start in its zone, %s", m.To, m.DueAt, opens)
		}
	}
}

// statusReport posts a Twilio status callback with an error code, signed
// with token.
func (e *apiEnv) statusReport(sid, status, code, token string) int {
	e.t.Helper()
	u := e.app.Config.PublicURL + "/webhooks/twilio/status"
	form := url.Values{"MessageSid": {sid}, "MessageStatus": {status}, "ErrorCode": {code}, "AccountSid": {twSID}, "From": {twFrom}}
	req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Twilio-Signature", twiliotest.Sign(token, u, form))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	resp.Body.Close()
	return resp.StatusCode
}

// Permanent errors that Twilio reports only later, through the signed
// status callback (the carrier filtered the messages: 30007), count
// toward the campaign's pause like errors of the send itself. A forged
// report counts for nothing. The campaign is kept sending by recipients
// outside their window, so no send interleaves with the reports.
func TestCampaignCallbackErrorsPause(t *testing.T) {
	if queuetest.RedisURL(queuetest.DBTests) == "" {
		t.Skip("needs TEST_REDIS_URL")
	}
	e, fake := campaignEnv(t, backendsFor(t)[0].URL, map[string]string{"GATEWAY_CAMPAIGN_PAUSE_AFTER": "5"})
	const k = 6
	id, _, _ := windowCampaign(t, e, k)
	waitFor(t, "the recipients inside their window at the provider", 30*time.Second, func() bool {
		return e.campaign(id).Progress.Sent == k
	})
	// The service's clock follows real time in steps (campaignEnv); the
	// reports must come after the sends on it, as they do at Twilio.
	sentBy := e.clock.Now()
	waitFor(t, "the service clock past the sends", 10*time.Second, func() bool { return e.clock.Now().After(sentBy.Add(5 * time.Millisecond)) })
	msgs := fake.Messages()
	if code := e.statusReport(msgs[0].SID, "undelivered", "30007", "wrong-token"); code != http.StatusForbidden {
		t.Fatalf("forged report: %d, want 403", code)
	}
	for i, m := range msgs[:5] {
		if c := e.campaign(id); c.Status != core.CampaignSending {
			t.Fatalf("campaign %s (%q) after %d failure reports, want sending until 5", c.Status, c.StatusReason, i)
		}
		if code := e.statusReport(m.SID, "undelivered", "30007", twToken); code != http.StatusNoContent {
			t.Fatalf("report: %d", code)
		}
	}
	// The reports are applied by the status task, a moment after each
	// answer.
	waitFor(t, "the campaign to pause", 15*time.Second, func() bool { return e.campaign(id).Status == core.CampaignPaused })
	c := e.campaign(id)
	if c.Status != core.CampaignPaused || !strings.Contains(c.StatusReason, "permanent provider errors") || !strings.Contains(c.StatusReason, "30007") {
		t.Fatalf("after 5 permanent failure reports: %s %q", c.Status, c.StatusReason)
	}
	if p := c.Progress; p.Failed != 5 || p.Sent != 1 || p.Pending != k {
		t.Errorf("progress %+v: want 5 failed, 1 sent, %d held", *p, k)
	}
}
