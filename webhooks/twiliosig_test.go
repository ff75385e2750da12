package webhooks

import (
	"net/url"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
)

// The signer accepts exactly what twilio-go's RequestValidator accepts;
// the URL as served is checked without it.
func TestTwilioSigner(t *testing.T) {
	const token, served = "tok", "https://gw.example/webhooks/twilio/voice"
	form := url.Values{"CallSid": {"CA1"}, "From": {"+33698765432"}, "To": {"+33100000001"}, "CallStatus": {"ringing"}}
	params := map[string]string{}
	for k, v := range form {
		params[k] = v[0]
	}
	tampered := map[string]string{}
	for k, v := range params {
		tampered[k] = v
	}
	tampered["From"] = "+33600000000"
	for _, tc := range []struct {
		name         string
		params       map[string]string
		sig          string
		valid, exact bool
	}{
		{"signed as served", params, twiliotest.Sign(token, served, form), true, true},
		{"signed with the port", params, twiliotest.Sign(token, "https://gw.example:443/webhooks/twilio/voice", form), true, false},
		{"another token", params, twiliotest.Sign("other", served, form), false, false},
		{"a parameter changed", tampered, twiliotest.Sign(token, served, form), false, false},
		{"another URL", params, twiliotest.Sign(token, "https://gw.example/webhooks/twilio/voice/status", form), false, false},
		{"garbage", params, "not a signature", false, false},
	} {
		s, rv := newTwilioSigner(token), client.NewRequestValidator(token)
		for range 2 { // a pooled MAC state is reset
			if got := s.valid(served, tc.params, tc.sig); got != tc.valid || got != rv.Validate(served, tc.params, tc.sig) {
				t.Errorf("%s: valid %v, want %v (twilio-go %v)", tc.name, got, tc.valid, rv.Validate(served, tc.params, tc.sig))
			}
			if got := s.exact(served, tc.params, tc.sig); got != tc.exact {
				t.Errorf("%s: exact %v, want %v", tc.name, got, tc.exact)
			}
		}
	}
}
