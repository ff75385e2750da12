package tests

import (
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
)

// loadResult is one load run: latencies and the rate achieved.
type loadResult struct {
	p50, p99, max time.Duration
	rate          float64 // requests per second
	errors        int64
}

// runLoad sends n requests from conc workers to the URL and measures each.
func runLoad(t *testing.T, n, conc int, build func(i int) *http.Request) loadResult {
	t.Helper()
	tr := &http.Transport{MaxIdleConns: conc, MaxIdleConnsPerHost: conc}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 15 * time.Second}
	lat := make([]time.Duration, n)
	var next, errs atomic.Int64
	var wg sync.WaitGroup
	start := time.Now()
	for range conc {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				req := build(i)
				t0 := time.Now()
				resp, err := hc.Do(req)
				lat[i] = time.Since(t0)
				if err != nil || resp.StatusCode != 200 {
					errs.Add(1)
				}
				if resp != nil {
					resp.Body.Close()
				}
			}
		}()
	}
	wg.Wait()
	el := time.Since(start)
	slices.Sort(lat)
	return loadResult{p50: lat[n/2], p99: lat[n*99/100], max: lat[n-1], rate: float64(n) / el.Seconds(), errors: errs.Load()}
}

// TestVoiceWebhookLoad: the voice webhook's p99 with 200 concurrent calls
// on loopback (each a new call: lookup, card, log row, domain event, live
// event, TwiML), against a bare Gin handler answering the same TwiML in the
// same run. Bounded: 2,000 requests each. Twilio waits 15 s in all; the
// requirement is p99 < 2 s, the target < 100 ms and ≥ 50 % of the bare
// handler's rate (reported, not asserted: the machine is shared).
func TestVoiceWebhookLoad(t *testing.T) {
	dbURL := os.Getenv("TEST_VOICE_LOAD")
	if dbURL == "" {
		t.Skip("set TEST_VOICE_LOAD=sqlite or a postgres:// URL to run the voice load test")
	}
	if dbURL == "sqlite" {
		dbURL = backends(t)[0].url
	} else {
		dbURL = backends(t)[len(backends(t))-1].url
	}
	const n, conc = 2000, 200
	ce := newCallEnv(t, dbURL)
	twimlDoc := ce.ring(t, "CA-warm", callerPhone, voiceNumber)

	gin.SetMode(gin.ReleaseMode)
	bare := gin.New()
	bare.POST("/webhooks/twilio/voice", func(c *gin.Context) {
		_ = c.Request.ParseForm()
		c.Data(200, "text/xml; charset=utf-8", []byte(twimlDoc))
	})
	bs := httptest.NewServer(bare)
	defer bs.Close()

	u := ce.app.Config.PublicURL + "/webhooks/twilio/voice"
	forms := make([]string, n)
	sigs := make([]string, n)
	for i := range n {
		f := url.Values{"CallSid": {"CA-load-" + itoa(i)}, "From": {callerPhone}, "To": {voiceNumber}, "AccountSid": {twSID}, "CallStatus": {"ringing"}}
		forms[i], sigs[i] = f.Encode(), twiliotest.Sign(twToken, u, f)
	}
	build := func(target string) func(i int) *http.Request {
		return func(i int) *http.Request {
			req, _ := http.NewRequest("POST", target, strings.NewReader(forms[i]))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", sigs[i])
			return req
		}
	}
	base := runLoad(t, n, conc, build(bs.URL+"/webhooks/twilio/voice"))
	voice := runLoad(t, n, conc, build(u))
	t.Logf("bare Gin handler: p50 %v p99 %v max %v, %.0f req/s, %d errors", base.p50, base.p99, base.max, base.rate, base.errors)
	t.Logf("voice webhook:    p50 %v p99 %v max %v, %.0f req/s, %d errors", voice.p50, voice.p99, voice.max, voice.rate, voice.errors)
	t.Logf("voice/bare: p99 %.1fx, rate %.0f%%", float64(voice.p99)/float64(base.p99), 100*voice.rate/base.rate)
	if voice.errors > 0 {
		t.Errorf("%d voice requests failed", voice.errors)
	}
	if voice.p99 > 2*time.Second {
		t.Errorf("voice webhook p99 %v over 2 s", voice.p99)
	}
	if l := ce.calls(t, ""); len(l) == 0 {
		t.Error("no call logged")
	}
}
