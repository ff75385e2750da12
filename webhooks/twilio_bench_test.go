package webhooks_test

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/hibiken/asynq"
	"github.com/twilio/twilio-go/client"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
	"github.com/bookinggw/gateway/queue/queuetest"
	"github.com/bookinggw/gateway/webhooks"
)

const (
	benchPublicURL = "https://gateway.example.com"
	benchToken     = "0123456789abcdef0123456789abcdef"
	benchSID       = "AC00000000000000000000000000000001"
	benchPath      = "/webhooks/twilio/status"
)

// signedCallback is a precomputed Twilio status callback: body and
// signature.
type signedCallback struct {
	body, sig string
}

// statusCallback signs one callback for the message sid, as Twilio sends it.
func statusCallback(sid, status string) signedCallback {
	form := url.Values{"AccountSid": {benchSID}, "ApiVersion": {"2010-04-01"}, "MessageSid": {sid}, "MessageStatus": {status},
		"SmsSid": {sid}, "SmsStatus": {status}, "To": {"+33612345678"}, "From": {"+15005550006"}}
	return signedCallback{body: form.Encode(), sig: twiliotest.Sign(benchToken, benchPublicURL+benchPath, form)}
}

// post serves one callback to h in-process and checks the answer is 204.
func post(b *testing.B, h http.Handler, u *url.URL, cb signedCallback) {
	req := &http.Request{Method: http.MethodPost, URL: u, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1, Host: "gateway.example.com",
		RequestURI: benchPath, RemoteAddr: "192.0.2.1:1234", ContentLength: int64(len(cb.body)),
		Header: http.Header{"Content-Type": {"application/x-www-form-urlencoded"}, "X-Twilio-Signature": {cb.sig},
			"User-Agent": {"TwilioProxy/1.1"}},
		Body: io.NopCloser(strings.NewReader(cb.body))}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNoContent {
		b.Fatalf("callback answered %d: %s", rec.Code, rec.Body)
	}
}

// callbackRun is one way of answering callbacks: h serves them; prepare
// readies n fresh ones (not timed).
type callbackRun struct {
	name    string
	h       http.Handler
	prepare func(b *testing.B, n int) []signedCallback
}

// runCallbacks measures each run on the fresh path (a callback never seen,
// for a message that is sent: Twilio's usual traffic) and on the repeat
// path (the same two callbacks again and again: Twilio's retries), and
// prints each run's figure against the first (the baseline) of the same
// round.
func runCallbacks(b *testing.B, backend string, runs []callbackRun) {
	u, _ := url.Parse(benchPath)
	for _, path := range []string{"fresh", "repeat"} {
		nsop := map[string]float64{}
		for _, r := range runs {
			b.Run(path+"/"+r.name, func(b *testing.B) {
				b.ReportAllocs()
				var cbs []signedCallback
				if path == "fresh" {
					cbs = r.prepare(b, b.N)
				} else {
					cbs = r.prepare(b, 1)
					cbs = append(cbs, statusCallback(strings.SplitN(cbs[0].body, "MessageSid=", 2)[1][:34], "sent"))
					post(b, r.h, u, cbs[0]) // the first delivery; the loop then repeats
				}
				b.ResetTimer()
				for i := 0; i < b.N; i++ {
					post(b, r.h, u, cbs[i%len(cbs)])
				}
				b.StopTimer()
				nsop[r.name] = float64(b.Elapsed().Nanoseconds()) / float64(b.N)
			})
		}
		base := nsop[runs[0].name]
		for _, r := range runs[1:] {
			if base > 0 && nsop[r.name] > 0 {
				fmt.Printf("BenchmarkStatusCallback %s %s: %s %.0f µs, %s %.0f µs: %.0f%% of the baseline's rate\n", backend, path,
					r.name, nsop[r.name]/1000, runs[0].name, base/1000, 100*base/nsop[r.name])
			}
		}
	}
}

// runInterleaved serves fresh callbacks to every run in turn, request by
// request (the first run alternating between first and last), so a load
// that changes during the benchmark weighs on each run alike; it prints
// each run's mean and median against the first's.
func runInterleaved(b *testing.B, backend string, runs []callbackRun) {
	u, _ := url.Parse(benchPath)
	var took [][]time.Duration // the last (largest) b.N's
	b.Run("fresh-interleaved", func(b *testing.B) {
		cbs := make([][]signedCallback, len(runs))
		took = make([][]time.Duration, len(runs))
		for i, r := range runs {
			cbs[i] = r.prepare(b, b.N)
			took[i] = make([]time.Duration, 0, b.N)
		}
		b.ResetTimer()
		for i := 0; i < b.N; i++ {
			for k := range runs {
				j := k
				if i%2 == 1 {
					j = len(runs) - 1 - k
				}
				t0 := time.Now()
				post(b, runs[j].h, u, cbs[j][i])
				took[j] = append(took[j], time.Since(t0))
			}
		}
	})
	if len(took) == 0 || len(took[0]) == 0 {
		return
	}
	stats := func(d []time.Duration) (mean, median float64) {
		var sum time.Duration
		for _, x := range d {
			sum += x
		}
		sorted := slices.Clone(d)
		slices.Sort(sorted)
		return float64(sum.Nanoseconds()) / float64(len(d)), float64(sorted[len(sorted)/2].Nanoseconds())
	}
	baseMean, baseMed := stats(took[0])
	for k, r := range runs[1:] {
		mean, med := stats(took[k+1])
		fmt.Printf("BenchmarkStatusCallback %s fresh, interleaved (%d each): %s %.0f µs (median %.0f), %s %.0f µs (median %.0f): %.0f%% of the baseline's rate (medians: %.0f%%)\n",
			backend, len(took[0]), r.name, mean/1000, med/1000, runs[0].name, baseMean/1000, baseMed/1000, 100*baseMean/mean, 100*baseMed/med)
	}
}

// BenchmarkStatusCallback: signed Twilio status callbacks through the gin
// engine and webhooks.Mount to a real store (SQLite, and PostgreSQL when
// TEST_DATABASE_URL is set), against a minimal durable handler in the same
// framework, store and Redis (TEST_REDIS_URL or the embedded one): the
// signature checked, the delivery recorded with one INSERT … ON CONFLICT
// into webhook_events, and, when new, one Asynq task enqueued for later
// processing. The gateway's handler does the same with its own receipt
// (the report kept on it for the status task, which applies it to the
// message later and is not measured here) and its own task. The
// fresh-interleaved run serves both fresh callbacks in turn, request by
// request, which a machine whose load moves during the run needs for a
// ratio within a few per cent.
func BenchmarkStatusCallback(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			st := storetest.Open(b, be.URL)
			br, err := queue.Open(context.Background(), queuetest.RedisURL(queuetest.DBWebhooks))
			if err != nil {
				b.Fatal(err)
			}
			defer br.Close()
			ctx := context.Background()
			org := core.NewID()
			// sentMessages writes n sent messages and signs a "delivered"
			// callback for each.
			sentMessages := func(b *testing.B, n int) []signedCallback {
				now := time.Now().UTC().Truncate(time.Millisecond)
				out := make([]signedCallback, n)
				for i := range out {
					id := core.NewID()
					sid := fmt.Sprintf("SM%032x", rand.Uint64())
					if _, _, err := st.InsertMessage(ctx, core.Message{ID: id, OrgID: org, RecipientKind: "client", RecipientID: core.NewID(),
						Channel: core.ChannelSMS, To: "+33612345678", Kind: core.KindAccepted, Locale: "fr", Body: "bench", Status: core.MsgSent,
						ProviderID: sid, Attempts: 1, DedupeKey: "bench:" + id, DueAt: now, CreatedAt: now, UpdatedAt: now, SentAt: &now}); err != nil {
						b.Fatal(err)
					}
					out[i] = statusCallback(sid, "delivered")
				}
				return out
			}
			fresh := func(b *testing.B, n int) []signedCallback {
				out := make([]signedCallback, n)
				for i := range out {
					out[i] = statusCallback(fmt.Sprintf("SM%032x", rand.Uint64()), "delivered")
				}
				return out
			}
			gw := gin.New()
			webhooks.Mount(gw, webhooks.Config{Store: st, Clock: core.SystemClock{}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
				PublicURL: benchPublicURL, TwilioAuthToken: benchToken, Queue: queue.NewClient(br)})
			runs := []callbackRun{
				{"minimal-durable", durableHandler(st, br), fresh},
				{"gateway", gw, sentMessages},
			}
			runCallbacks(b, be.Name, runs)
			runInterleaved(b, be.Name, runs)
		})
	}
}

// durableHandler is the baseline: signature, one INSERT … ON CONFLICT,
// and one enqueue when the delivery is new.
func durableHandler(st *store.Store, br *queue.Broker) http.Handler {
	v := client.NewRequestValidator(benchToken)
	r := gin.New()
	r.POST(benchPath, func(c *gin.Context) {
		if err := c.Request.ParseForm(); err != nil {
			c.Status(http.StatusBadRequest)
			return
		}
		params := map[string]string{}
		for k, vs := range c.Request.PostForm {
			params[k] = vs[0]
		}
		if !v.Validate(benchPublicURL+c.Request.URL.RequestURI(), params, c.GetHeader("X-Twilio-Signature")) {
			c.Status(http.StatusForbidden)
			return
		}
		key := params["MessageSid"] + ":" + params["MessageStatus"]
		ctx := c.Request.Context()
		first, err := st.RecordWebhook(ctx, "baseline", key, time.Now())
		if err != nil {
			c.Status(http.StatusInternalServerError)
			return
		}
		if first {
			if _, err := br.Client.EnqueueContext(ctx, asynq.NewTask("bench:status", []byte(key)), asynq.TaskID(key)); err != nil {
				c.Status(http.StatusInternalServerError)
				return
			}
		}
		c.Status(http.StatusNoContent)
	})
	return r
}

// BenchmarkBareGin: the same requests to a bare gin engine whose handler
// only parses the form and answers 204: the floor under both.
func BenchmarkBareGin(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	r := gin.New()
	r.POST(benchPath, func(c *gin.Context) {
		if err := c.Request.ParseForm(); err != nil || c.Request.PostForm.Get("MessageSid") == "" {
			c.Status(http.StatusBadRequest)
			return
		}
		c.Status(http.StatusNoContent)
	})
	u, _ := url.Parse(benchPath)
	cb := statusCallback("SM0123456789abcdef0123456789abcdef", "delivered")
	for b.Loop() {
		post(b, r, u, cb)
	}
}
