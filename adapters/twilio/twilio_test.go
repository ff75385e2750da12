package twilio_test

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/twilio"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
)

const (
	accountSID = "AC00000000000000000000000000000001"
	authToken  = "s3cr3tt0k3n0000000000000000000042"
	number     = "+15005550006"
	service    = "MG00000000000000000000000000000009"
)

func newSender(t *testing.T, baseURL string, mod ...func(*twilio.Config)) *twilio.Sender {
	t.Helper()
	cfg := twilio.Config{AccountSID: accountSID, AuthToken: authToken, BaseURL: baseURL, DefaultFrom: number}
	for _, f := range mod {
		f(&cfg)
	}
	s, err := twilio.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestSendSuccess(t *testing.T) {
	tests := []struct {
		name                     string
		out                      core.Outbound
		defaultFrom              string
		wantTo, wantFrom, wantMG string
		wantStatus               string
	}{
		{
			name:   "sms default from",
			out:    core.Outbound{ID: "o1", Channel: core.ChannelSMS, To: "+33612345678", Text: "Rappel : demain 10h", StatusCallback: "https://gw.example.com/webhooks/twilio/status"},
			wantTo: "+33612345678", wantFrom: number, wantStatus: "queued",
		},
		{
			name:   "sms explicit from",
			out:    core.Outbound{ID: "o2", Channel: core.ChannelSMS, To: "+33612345678", From: "+15005550007", Text: "hi"},
			wantTo: "+33612345678", wantFrom: "+15005550007", wantStatus: "queued",
		},
		{
			name:   "sms messaging service",
			out:    core.Outbound{ID: "o3", Channel: core.ChannelSMS, To: "+4915123456789", From: service, Text: "hi"},
			wantTo: "+4915123456789", wantMG: service, wantStatus: "accepted",
		},
		{
			name:        "sms default messaging service",
			defaultFrom: service,
			out:         core.Outbound{ID: "o3b", Channel: core.ChannelSMS, To: "+4915123456789", Text: "hi"},
			wantTo:      "+4915123456789", wantMG: service, wantStatus: "accepted",
		},
		{
			name:   "whatsapp number",
			out:    core.Outbound{ID: "o4", Channel: core.ChannelWhatsApp, To: "+48501234567", Text: "Przypomnienie", StatusCallback: "https://gw.example.com/cb"},
			wantTo: "whatsapp:+48501234567", wantFrom: "whatsapp:" + number, wantStatus: "queued",
		},
		{
			name:   "whatsapp messaging service",
			out:    core.Outbound{ID: "o5", Channel: core.ChannelWhatsApp, To: "+48501234567", From: service, Text: "hi"},
			wantTo: "whatsapp:+48501234567", wantMG: service, wantStatus: "accepted",
		},
		{
			name:   "whatsapp already prefixed",
			out:    core.Outbound{ID: "o6", Channel: core.ChannelWhatsApp, To: "whatsapp:+48501234567", From: "whatsapp:" + number, Text: "hi"},
			wantTo: "whatsapp:+48501234567", wantFrom: "whatsapp:" + number, wantStatus: "queued",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t, accountSID, authToken)
			s := newSender(t, fake.URL, func(c *twilio.Config) {
				if tt.defaultFrom != "" {
					c.DefaultFrom = tt.defaultFrom
				}
			})
			sent, err := s.Send(context.Background(), tt.out)
			if err != nil {
				t.Fatal(err)
			}
			msgs := fake.Messages()
			if len(msgs) != 1 {
				t.Fatalf("fake got %d messages", len(msgs))
			}
			m := msgs[0]
			if sent.ProviderID != m.SID || !strings.HasPrefix(sent.ProviderID, "SM") || sent.Status != tt.wantStatus {
				t.Errorf("sent = %+v, fake sid %s", sent, m.SID)
			}
			if m.AccountSID != accountSID || m.To != tt.wantTo || m.From != tt.wantFrom ||
				m.MessagingServiceSID != tt.wantMG || m.Body != tt.out.Text || m.StatusCallback != tt.out.StatusCallback {
				t.Errorf("fake received %+v", m)
			}
			// Exactly one of From / MessagingServiceSid goes on the wire.
			if _, hasFrom := m.Form["From"]; hasFrom == (tt.wantFrom == "") {
				t.Errorf("From field presence wrong: %v", m.Form)
			}
			if _, hasMG := m.Form["MessagingServiceSid"]; hasMG == (tt.wantMG == "") {
				t.Errorf("MessagingServiceSid field presence wrong: %v", m.Form)
			}
			if _, has := m.Form["StatusCallback"]; has != (tt.out.StatusCallback != "") {
				t.Errorf("StatusCallback presence wrong: %v", m.Form)
			}
		})
	}
}

func TestSendErrors(t *testing.T) {
	tests := []struct {
		name       string
		setup      func(*twiliotest.Server)
		token      string // sender's token; empty is the right one
		to         string
		permanent  bool
		code       string
		retryAfter time.Duration
	}{
		{name: "invalid to (fake validation)", to: "12345", permanent: true, code: "21211"},
		{name: "invalid to (knob)", setup: func(f *twiliotest.Server) { f.FailNext(1, 400, 21211) }, permanent: true, code: "21211"},
		{name: "unsubscribed", setup: func(f *twiliotest.Server) { f.FailTo("+33612345678", twiliotest.Failure{Status: 400, Code: 21610}) }, permanent: true, code: "21610"},
		{name: "region not enabled", setup: func(f *twiliotest.Server) { f.FailNext(1, 400, 21408) }, permanent: true, code: "21408"},
		{name: "not a mobile", setup: func(f *twiliotest.Server) { f.FailNext(1, 400, 21614) }, permanent: true, code: "21614"},
		{name: "unreachable", setup: func(f *twiliotest.Server) { f.FailNext(1, 400, 30003) }, permanent: true, code: "30003"},
		{name: "bad credentials", token: "wrongtoken0000000000000000000000", permanent: true, code: "20003"},
		{name: "429 retry-after", setup: func(f *twiliotest.Server) {
			f.FailNextWith(1, twiliotest.Failure{Status: 429, Code: 20429, RetryAfter: "7"})
		}, code: "20429", retryAfter: 7 * time.Second},
		{name: "429 default code", setup: func(f *twiliotest.Server) { f.FailNext(1, 429, 0) }, code: "20429", retryAfter: time.Second},
		{name: "500", setup: func(f *twiliotest.Server) { f.FailNext(1, 500, 0) }, code: "20500"},
		{name: "503", setup: func(f *twiliotest.Server) { f.FailNext(1, 503, 0) }, code: "20503"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			fake := twiliotest.New(t, accountSID, authToken)
			if tt.setup != nil {
				tt.setup(fake)
			}
			s := newSender(t, fake.URL, func(c *twilio.Config) {
				if tt.token != "" {
					c.AuthToken = tt.token
				}
			})
			to := tt.to
			if to == "" {
				to = "+33612345678"
			}
			_, err := s.Send(context.Background(), core.Outbound{ID: "x", Channel: core.ChannelSMS, To: to, Text: "hi"})
			se := asSendError(t, err)
			if se.Permanent != tt.permanent || se.Code != tt.code || se.RetryAfter != tt.retryAfter {
				t.Fatalf("got permanent=%v code=%q retryAfter=%v (%v), want %v %q %v",
					se.Permanent, se.Code, se.RetryAfter, err, tt.permanent, tt.code, tt.retryAfter)
			}
			assertNoSecret(t, err, authToken, tt.token)
			if n := len(fake.Messages()); n != 0 {
				t.Fatalf("fake accepted %d messages", n)
			}
		})
	}
}

func TestFailNextThenSucceeds(t *testing.T) {
	fake := twiliotest.New(t, accountSID, authToken)
	fake.FailNext(2, 503, 0)
	s := newSender(t, fake.URL)
	m := core.Outbound{ID: "x", Channel: core.ChannelSMS, To: "+33612345678", Text: "hi"}
	for i := 0; i < 2; i++ {
		if _, err := s.Send(context.Background(), m); core.IsPermanent(err) || err == nil {
			t.Fatalf("attempt %d: %v", i, err)
		}
	}
	if _, err := s.Send(context.Background(), m); err != nil {
		t.Fatal(err)
	}
	if fake.Requests() != 3 || len(fake.Messages()) != 1 {
		t.Fatalf("requests %d, messages %d", fake.Requests(), len(fake.Messages()))
	}
}

// A proxy's HTML error page is not Twilio JSON: the status still classifies.
func TestNonJSONErrorBody(t *testing.T) {
	for _, status := range []int{502, 429, 404} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if status == 429 {
					w.Header().Set("Retry-After", time.Now().Add(90*time.Second).UTC().Format(http.TimeFormat))
				}
				w.Header().Set("Content-Type", "text/html")
				w.WriteHeader(status)
				fmt.Fprint(w, "<html><body>Bad Gateway</body></html>")
			}))
			defer srv.Close()
			_, err := newSender(t, srv.URL).Send(context.Background(), core.Outbound{To: "+33612345678", Text: "hi"})
			se := asSendError(t, err)
			if se.Code != fmt.Sprint(status) || se.Permanent != (status == 404) {
				t.Fatalf("err = %+v", se)
			}
			if status == 429 && (se.RetryAfter < 80*time.Second || se.RetryAfter > 91*time.Second) {
				t.Fatalf("RetryAfter from HTTP date = %v", se.RetryAfter)
			}
		})
	}
}

func TestContextDeadlineIsTemporary(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-r.Context().Done():
		case <-release:
		}
	}))
	defer srv.Close()
	defer close(release)
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	_, err := newSender(t, srv.URL).Send(ctx, core.Outbound{To: "+33612345678", Text: "hi"})
	se := asSendError(t, err)
	if se.Permanent || se.Code != "context" || !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("err = %+v", se)
	}
	if time.Since(start) > 5*time.Second {
		t.Fatal("deadline not honoured")
	}
	assertNoSecret(t, err, authToken)
}

func TestCancelledBeforeSend(t *testing.T) {
	fake := twiliotest.New(t, accountSID, authToken)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := newSender(t, fake.URL).Send(ctx, core.Outbound{To: "+33612345678", Text: "hi"})
	if se := asSendError(t, err); se.Permanent || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
	if fake.Requests() != 0 {
		t.Fatal("request sent despite cancelled context")
	}
}

func TestNetworkErrorIsTemporary(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	url := srv.URL
	srv.Close()
	_, err := newSender(t, url).Send(context.Background(), core.Outbound{To: "+33612345678", Text: "hi"})
	se := asSendError(t, err)
	if se.Permanent || se.Code != "network" {
		t.Fatalf("err = %+v", se)
	}
	assertNoSecret(t, err, authToken)
}

func TestInvalidOutbound(t *testing.T) {
	fake := twiliotest.New(t, accountSID, authToken)
	noDefault := newSender(t, fake.URL, func(c *twilio.Config) { c.DefaultFrom = "" })
	s := newSender(t, fake.URL)
	tests := []struct {
		name string
		s    *twilio.Sender
		m    core.Outbound
	}{
		{"no sender", noDefault, core.Outbound{To: "+33612345678", Text: "hi"}},
		{"no recipient", s, core.Outbound{Text: "hi"}},
		{"no text", s, core.Outbound{To: "+33612345678"}},
		{"wrong channel", s, core.Outbound{Channel: core.ChannelEmail, To: "+33612345678", Text: "hi"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := tt.s.Send(context.Background(), tt.m)
			if se := asSendError(t, err); !se.Permanent || se.Code != "invalid_request" {
				t.Fatalf("err = %+v", se)
			}
		})
	}
	if fake.Requests() != 0 {
		t.Fatalf("%d requests reached the fake", fake.Requests())
	}
}

func TestBaseURLWithPathPrefix(t *testing.T) {
	fake := twiliotest.New(t, accountSID, authToken)
	var sawPath string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		sawPath = r.URL.Path
		r2 := r.Clone(r.Context())
		r2.URL.Path = strings.TrimPrefix(r.URL.Path, "/twilio")
		r2.URL.Scheme, r2.URL.Host, r2.RequestURI = "http", strings.TrimPrefix(fake.URL, "http://"), ""
		resp, err := http.DefaultTransport.RoundTrip(r2)
		if err != nil {
			http.Error(w, err.Error(), 502)
			return
		}
		defer resp.Body.Close()
		for k, v := range resp.Header {
			w.Header()[k] = v
		}
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	defer proxy.Close()
	if _, err := newSender(t, proxy.URL+"/twilio/").Send(context.Background(), core.Outbound{To: "+33612345678", Text: "hi"}); err != nil {
		t.Fatal(err)
	}
	if want := "/twilio/2010-04-01/Accounts/" + accountSID + "/Messages.json"; sawPath != want {
		t.Fatalf("path = %q, want %q", sawPath, want)
	}
}

func TestNewValidates(t *testing.T) {
	for _, cfg := range []twilio.Config{
		{AuthToken: authToken},
		{AccountSID: accountSID},
		{AccountSID: accountSID, AuthToken: "has space"},
		{AccountSID: accountSID, AuthToken: authToken, BaseURL: "ftp://x"},
		{AccountSID: accountSID, AuthToken: authToken, BaseURL: "/relative"},
	} {
		if _, err := twilio.New(cfg); err == nil {
			t.Errorf("New(%+v) accepted", cfg)
		} else if strings.Contains(err.Error(), authToken) {
			t.Errorf("error leaks the token: %v", err)
		}
	}
}

func TestConcurrentSends(t *testing.T) {
	fake := twiliotest.New(t, accountSID, authToken)
	s := newSender(t, fake.URL)
	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := s.Send(context.Background(), core.Outbound{ID: fmt.Sprint(i), To: "+33612345678", Text: fmt.Sprint(i)})
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if n := len(fake.Messages()); n != 20 {
		t.Fatalf("fake got %d", n)
	}
}

func asSendError(t *testing.T, err error) *core.SendError {
	t.Helper()
	var se *core.SendError
	if !errors.As(err, &se) {
		t.Fatalf("err = %v (%T), want *core.SendError", err, err)
	}
	return se
}

func assertNoSecret(t *testing.T, err error, secrets ...string) {
	t.Helper()
	for e := err; e != nil; e = errors.Unwrap(e) {
		for _, s := range secrets {
			if s != "" && strings.Contains(e.Error(), s) {
				t.Fatalf("error chain leaks a secret: %v", e)
			}
		}
	}
}
