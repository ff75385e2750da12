package tests

import (
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
)

// TestInboundLimits: an inbound message keeps its media and at most 1,600
// characters of text (flagged when cut); a body over the limit is a 413
// and stores nothing.
func TestInboundLimits(t *testing.T) {
	eachBackend(t, func(t *testing.T, e0 *apiEnv) {
		e, _ := twilioEnv(t, freshURL(t, e0))
		post := func(form url.Values) int {
			u := e.app.Config.PublicURL + "/webhooks/twilio/sms"
			req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Twilio-Signature", twiliotest.Sign(twToken, u, form))
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			return resp.StatusCode
		}
		long := strings.Repeat("é", 2000)
		if code := post(url.Values{"MessageSid": {"SMlimits00000000000000000000000001"}, "From": {"+33612345678"}, "To": {twFrom},
			"Body": {long}, "AccountSid": {twSID}, "NumMedia": {"2"}, "MediaUrl0": {"https://api.twilio.com/m/0"},
			"MediaContentType0": {"image/jpeg"}, "MediaUrl1": {"https://api.twilio.com/m/1"}, "MediaContentType1": {"application/pdf"}}); code != 200 {
			t.Fatalf("inbound: %d", code)
		}
		if code := post(url.Values{"MessageSid": {"SMlimits00000000000000000000000002"}, "From": {"+33612345678"}, "To": {twFrom},
			"Body": {strings.Repeat("x", 2<<20)}, "AccountSid": {twSID}}); code != http.StatusRequestEntityTooLarge {
			t.Fatalf("oversize body: %d, want 413", code)
		}
		var got []core.Inbound
		// No worker runs: the message waits unhandled in the store.
		waitFor(t, "the inbound message", 10*time.Second, func() bool {
			in, err := e.app.Store.UnhandledInbound(t.Context(), e.clock.Now().Add(time.Hour), 10)
			if err != nil {
				t.Fatal(err)
			}
			got = in
			return len(in) >= 1
		})
		if len(got) != 1 {
			t.Fatalf("%d inbound messages stored, want 1 (the oversize one refused)", len(got))
		}
		in := got[0]
		if utf8.RuneCountInString(in.Body) != core.MaxInboundText || !in.Truncated || len(in.Media) != 2 ||
			in.Media[1] != (core.InboundMedia{URL: "https://api.twilio.com/m/1", ContentType: "application/pdf"}) {
			t.Fatalf("stored: %d characters, truncated %v, media %+v", utf8.RuneCountInString(in.Body), in.Truncated, in.Media)
		}
	})
}
