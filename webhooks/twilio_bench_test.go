package webhooks_test

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
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

// statusCallbacks signs a "sent" and a "delivered" callback for the
// message sid, as Twilio sends them.
func statusCallbacks(sid string) []signedCallback {
	var out []signedCallback
	for _, status := range []string{"sent", "delivered"} {
		form := url.Values{"AccountSid": {benchSID}, "ApiVersion": {"2010-04-01"}, "MessageSid": {sid}, "MessageStatus": {status},
			"SmsSid": {sid}, "SmsStatus": {status}, "To": {"+33612345678"}, "From": {"+15005550006"}}
		out = append(out, signedCallback{body: form.Encode(), sig: twiliotest.Sign(benchToken, benchPublicURL+benchPath, form)})
	}
	return out
}

// serveCallbacks POSTs the callbacks in turn to h, in-process, b.N times,
// and checks each answer is 204.
func serveCallbacks(b *testing.B, h http.Handler, cbs []signedCallback) {
	b.Helper()
	u, _ := url.Parse(benchPath)
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		cb := cbs[i%len(cbs)]
		i++
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
}

// BenchmarkStatusCallback: a signed Twilio status callback through the gin
// engine and webhooks.Mount to a real store (SQLite, and PostgreSQL when
// TEST_DATABASE_URL is set), alternating "sent" and "delivered" for one
// message. After the first pair every call is a repeat: the signature is
// checked, the message read in a transaction and left alone (a status
// never moves back) and the repeat recorded against the unique webhook
// event key, which is the steady path of Twilio's retries.
func BenchmarkStatusCallback(b *testing.B) {
	gin.SetMode(gin.ReleaseMode)
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			st := storetest.Open(b, be.URL)
			ctx := context.Background()
			now := time.Now().UTC().Truncate(time.Millisecond)
			sid := "SM0123456789abcdef0123456789abcdef"
			id := core.NewID()
			if _, _, err := st.InsertMessage(ctx, core.Message{ID: id, OrgID: core.NewID(), RecipientKind: "client", RecipientID: core.NewID(),
				Channel: core.ChannelSMS, To: "+33612345678", Kind: core.KindAccepted, Locale: "fr", Body: "bench",
				Status: core.MsgSent, ProviderID: sid, Attempts: 1, DedupeKey: "bench:" + id, DueAt: now, CreatedAt: now,
				UpdatedAt: now, SentAt: &now}); err != nil {
				b.Fatal(err)
			}
			r := gin.New()
			webhooks.Mount(r, webhooks.Config{Store: st, Clock: core.SystemClock{}, Log: slog.New(slog.NewJSONHandler(io.Discard, nil)),
				PublicURL: benchPublicURL, TwilioAuthToken: benchToken})
			serveCallbacks(b, r, statusCallbacks(sid))
			m, err := st.GetMessageByID(ctx, id)
			if err != nil || m.Status != core.MsgDelivered {
				b.Fatalf("after the callbacks the message is %s (%v), want delivered", m.Status, err)
			}
		})
	}
}

// BenchmarkBareGin: the same requests to a bare gin engine whose handler
// only parses the form and answers 204: the floor under
// BenchmarkStatusCallback.
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
	serveCallbacks(b, r, statusCallbacks("SM0123456789abcdef0123456789abcdef"))
}
