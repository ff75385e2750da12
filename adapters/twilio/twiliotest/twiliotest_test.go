package twiliotest_test

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/twilio/twilio-go/client"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
)

const token = "12345abcdef12345abcdef12345abcde"

func first(v url.Values) map[string]string {
	m := map[string]string{}
	for k := range v {
		m[k] = v.Get(k)
	}
	return m
}

func TestSignIsAcceptedByTwilioValidator(t *testing.T) {
	params := url.Values{
		"CallSid": {"CA1234567890ABCDE"},
		"Caller":  {"+12349013030"},
		"Digits":  {"1234"},
		"From":    {"+12349013030"},
		"To":      {"+18005551212"},
		"Body":    {"Oui, je confirme ✅ — да"},
	}
	for _, u := range []string{
		"https://mycompany.com/myapp.php?foo=1&bar=2",
		"https://gw.example.com/webhooks/twilio/sms",
		"http://127.0.0.1:8080/webhooks/twilio/status",
	} {
		sig := twiliotest.Sign(token, u, params)
		v := client.NewRequestValidator(token)
		if !v.Validate(u, first(params), sig) {
			t.Errorf("Validate rejected Sign for %s", u)
		}
		if !v.ValidateBody(u, []byte(params.Encode()), sig) {
			t.Errorf("ValidateBody rejected Sign for %s", u)
		}
		if v.Validate(u, first(params), twiliotest.Sign("othertoken", u, params)) {
			t.Errorf("Validate accepted a signature made with another token")
		}
		tampered := url.Values{"Body": {"tampered"}}
		if v.Validate(u, first(tampered), sig) {
			t.Errorf("Validate accepted tampered params")
		}
	}
}

// The vector from twilio-go's own request_validator_test.go.
func TestSignKnownVector(t *testing.T) {
	params := url.Values{
		"Digits":                {"1234"},
		"CallSid":               {"CA1234567890ABCDE"},
		"To":                    {"+18005551212"},
		"Caller":                {"+14158675309"},
		"From":                  {"+14158675309"},
		"ReasonConferenceEnded": {"test"},
		"Reason":                {"Participant"},
	}
	got := twiliotest.Sign("12345", "https://mycompany.com/myapp.php?foo=1&bar=2", params)
	if want := "vOEb5UThFn24KEfnOFLQY2AE5FY="; got != want {
		t.Fatalf("Sign = %s, want %s", got, want)
	}
}

func TestSendStatusCallbackIsSigned(t *testing.T) {
	fake := twiliotest.New(t, "AC1", token)
	var got url.Values
	var valid bool
	var hook *httptest.Server
	hook = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		v := client.NewRequestValidator(token)
		valid = v.ValidateBody(hook.URL+r.URL.RequestURI(), body, r.Header.Get("X-Twilio-Signature"))
		got, _ = url.ParseQuery(string(body))
	}))
	defer hook.Close()

	form := url.Values{"To": {"+33612345678"}, "From": {"+15005550006"}, "Body": {"hi"}, "StatusCallback": {hook.URL + "/status?o=1"}}
	req, _ := http.NewRequest(http.MethodPost, fake.URL+"/2010-04-01/Accounts/AC1/Messages.json", nil)
	req.SetBasicAuth("AC1", token)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Body = io.NopCloser(strings.NewReader(form.Encode()))
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 201 {
		t.Fatalf("create: %s", resp.Status)
	}
	sid := fake.Messages()[0].SID
	if err := fake.SendStatusCallback(context.Background(), sid, "undelivered", 30003); err != nil {
		t.Fatal(err)
	}
	if !valid {
		t.Fatal("status callback signature did not validate")
	}
	if got.Get("MessageSid") != sid || got.Get("MessageStatus") != "undelivered" || got.Get("ErrorCode") != "30003" || got.Get("To") != "+33612345678" {
		t.Fatalf("callback form = %v", got)
	}
	if err := fake.SendStatusCallback(context.Background(), "SMnope", "sent", 0); err == nil {
		t.Fatal("unknown sid accepted")
	}
}

func TestCountOnlyCountsWithoutKeeping(t *testing.T) {
	s := twiliotest.New(t, "AC123", token)
	post := func() {
		t.Helper()
		form := url.Values{"To": {"+33612345678"}, "From": {"+15005550006"}, "Body": {"Bonjour"}}
		req, _ := http.NewRequest(http.MethodPost, s.URL+"/2010-04-01/Accounts/AC123/Messages.json", strings.NewReader(form.Encode()))
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.SetBasicAuth("AC123", token)
		res, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		_, _ = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != http.StatusCreated {
			t.Fatalf("status %d", res.StatusCode)
		}
	}
	post()
	s.CountOnly()
	post()
	post()
	if n, kept := s.Count(), len(s.Messages()); n != 3 || kept != 1 {
		t.Fatalf("Count %d, kept %d: want 3 counted, only the one before CountOnly kept", n, kept)
	}
	s.Reset()
	if n := s.Count(); n != 0 {
		t.Fatalf("Count after Reset %d", n)
	}
}
