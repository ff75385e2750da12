package stripetest_test

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/stripe"
	"github.com/bookinggw/gateway/adapters/stripe/stripetest"
	"github.com/bookinggw/gateway/core"
)

const key = "sk_test_123"

func post(t *testing.T, base, auth, idem string, form url.Values) (int, http.Header, string) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, base+"/v1/checkout/sessions", strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Authorization", "Bearer "+auth)
	if idem != "" {
		req.Header.Set("Idempotency-Key", idem)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Header, string(b)
}

func id(t *testing.T, body string) string {
	t.Helper()
	var v struct{ ID string }
	if err := json.Unmarshal([]byte(body), &v); err != nil {
		t.Fatalf("body %q: %v", body, err)
	}
	return v.ID
}

func TestStartMockFromEnv(t *testing.T) {
	t.Setenv(stripetest.MockURLEnv, "http://127.0.0.1:12111/")
	if got := stripetest.StartMock(t); got != "http://127.0.0.1:12111" {
		t.Fatalf("StartMock = %q", got)
	}
}

func TestStartMockAnswers(t *testing.T) {
	t.Parallel()
	base := stripetest.StartMock(t)
	form := url.Values{"mode": {"payment"}}
	st, _, b1 := post(t, base, key, "", form)
	_, _, b2 := post(t, base, key, "", form)
	if st != 200 || !strings.HasPrefix(id(t, b1), "cs_test_") {
		t.Fatalf("stripe-mock answered %d %s", st, b1)
	}
	// Stateless: a fresh id per create, even for the same request.
	if id(t, b1) == id(t, b2) {
		t.Fatalf("stripe-mock returned the same id twice: %s", id(t, b1))
	}
	if st, _, b := post(t, base, key, "", url.Values{"mode": {"bogus"}}); st != 400 || !strings.Contains(b, "invalid_request_error") {
		t.Fatalf("bad enum: %d %s", st, b)
	}
}

func TestRecorderIdempotency(t *testing.T) {
	t.Parallel()
	rec := stripetest.Start(t)
	form := url.Values{"mode": {"payment"}, "client_reference_id": {"apt_1"}}

	st, h, first := post(t, rec.URL, key, "k1", form)
	if st != 200 || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("first: %d %v", st, h)
	}
	st, h, again := post(t, rec.URL, key, "k1", form)
	if st != 200 || h.Get("Idempotent-Replayed") != "true" || again != first {
		t.Fatalf("repeat: %d replayed=%q same=%v", st, h.Get("Idempotent-Replayed"), again == first)
	}
	// Another account may use the same key.
	if _, _, other := post(t, rec.URL, "sk_test_456", "k1", form); id(t, other) == id(t, first) {
		t.Fatal("key shared across accounts")
	}
	// Same key, other parameters.
	changed := url.Values{"mode": {"payment"}, "client_reference_id": {"apt_2"}}
	if st, _, b := post(t, rec.URL, key, "k1", changed); st != 400 || !strings.Contains(b, "idempotency_error") {
		t.Fatalf("reuse with other params: %d %s", st, b)
	}
	if n := rec.Forwarded(); n != 2 {
		t.Fatalf("Forwarded = %d, want 2", n)
	}

	// Failures are not saved: a retry with the key reaches the mock.
	rec.FailNext(1, stripetest.Failure{Status: 503, ShouldRetry: "true"})
	st, h, b := post(t, rec.URL, key, "k2", form)
	if st != 503 || h.Get("Stripe-Should-Retry") != "true" || !strings.Contains(b, `"api_error"`) || h.Get("Request-Id") == "" {
		t.Fatalf("injected: %d %v %s", st, h, b)
	}
	if st, h, _ := post(t, rec.URL, key, "k2", form); st != 200 || h.Get("Idempotent-Replayed") != "" {
		t.Fatalf("retry after failure: %d replayed=%q", st, h.Get("Idempotent-Replayed"))
	}

	reqs := rec.Requests()
	if len(reqs) != 6 {
		t.Fatalf("recorded %d requests, want 6", len(reqs))
	}
	if !reqs[1].Replayed || reqs[1].Forwarded() || !reqs[4].Injected || !reqs[5].Forwarded() {
		t.Fatalf("flags: %+v", reqs)
	}
	if reqs[0].Form.Get("client_reference_id") != "apt_1" || reqs[0].Authorization != "Bearer "+key || reqs[0].IdempotencyKey != "k1" {
		t.Fatalf("recorded %+v", reqs[0])
	}
	if got := len(rec.CheckoutSessions()); got != 4 {
		t.Fatalf("CheckoutSessions = %d, want 4", got)
	}

	rec.Reset()
	if len(rec.Requests()) != 0 || rec.Forwarded() != 0 {
		t.Fatal("Reset kept requests")
	}
	if _, h, _ := post(t, rec.URL, key, "k1", form); h.Get("Idempotent-Replayed") != "" {
		t.Fatal("Reset kept saved answers")
	}
}

func TestRecorderRawFailure(t *testing.T) {
	t.Parallel()
	rec := stripetest.NewRecorder(t, "http://127.0.0.1:1") // never reached
	rec.FailNext(1, stripetest.Failure{Status: 502, RawBody: "<html>Bad Gateway</html>"})
	st, h, b := post(t, rec.URL, key, "", nil)
	if st != 502 || b != "<html>Bad Gateway</html>" || !strings.HasPrefix(h.Get("Content-Type"), "text/html") {
		t.Fatalf("raw failure: %d %v %q", st, h, b)
	}
	// An unreachable upstream answers a Stripe-shaped 502.
	if st, _, b := post(t, rec.URL, key, "", nil); st != 502 || !strings.Contains(b, "api_error") {
		t.Fatalf("unreachable upstream: %d %s", st, b)
	}
}

// From the request the adapter sent to the events that complete it: what
// an end-to-end test does after the gateway created a payment link.
func TestRequestPaymentAndPostEvent(t *testing.T) {
	t.Parallel()
	rec := stripetest.Start(t)
	links, err := stripe.New(stripe.Config{SecretKey: key, BaseURL: rec.URL})
	if err != nil {
		t.Fatal(err)
	}
	r := core.LinkRequest{OrgID: "org_1", ClientID: "cli_1", Purpose: "appointment", RefID: "apt_1",
		AmountMinor: 2500, Currency: "CHF", Description: "Consultation", IdempotencyKey: "idem-1",
		SuccessURL: "https://gw.example.com/ok"}
	link, err := links.CreateLink(context.Background(), r)
	if err != nil {
		t.Fatal(err)
	}
	sessions := rec.CheckoutSessions()
	if len(sessions) != 1 {
		t.Fatalf("CheckoutSessions = %d", len(sessions))
	}
	p := sessions[0].Payment()
	want := stripe.Metadata(r)
	if p.SessionID != link.ProviderID || p.Amount != 2500 || p.Currency != "chf" || p.ClientReferenceID != "apt_1" ||
		len(p.Metadata) != len(want) || !strings.HasPrefix(p.PaymentIntentID, "pi_") || !strings.HasPrefix(p.ChargeID, "ch_") {
		t.Fatalf("Payment = %+v", p)
	}
	for k, v := range want {
		if p.Metadata[k] != v {
			t.Fatalf("Payment.Metadata[%s] = %q, want %q", k, p.Metadata[k], v)
		}
	}

	const secret = "whsec_e2e"
	got := make(chan string, 1)
	hook := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		ev, err := stripe.VerifyEvent(body, req.Header.Get("Stripe-Signature"), secret, time.Minute)
		if err != nil || req.Header.Get("Content-Type") != "application/json; charset=utf-8" {
			http.Error(w, "bad signature", http.StatusBadRequest)
			return
		}
		var obj struct {
			ID       string            `json:"id"`
			Metadata map[string]string `json:"metadata"`
		}
		_ = json.Unmarshal(ev.Data.Raw, &obj)
		got <- string(ev.Type) + " " + obj.ID + " " + obj.Metadata["ref_id"]
	}))
	t.Cleanup(hook.Close)

	resp, err := stripetest.PostEvent(context.Background(), hook.URL, secret, stripetest.CheckoutSessionCompleted(p))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("webhook answered %d", resp.StatusCode)
	}
	if g := <-got; g != "checkout.session.completed "+link.ProviderID+" apt_1" {
		t.Fatalf("webhook saw %q", g)
	}
	resp, err = stripetest.PostEvent(context.Background(), hook.URL, "whsec_other", stripetest.ChargeRefunded(p))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 400 {
		t.Fatalf("wrongly signed event answered %d", resp.StatusCode)
	}
}

func TestEventIDsUnique(t *testing.T) {
	p := stripetest.Payment{Amount: 100, Currency: "usd"}.WithIDs()
	a, b := stripetest.PaymentIntentSucceeded(p), stripetest.PaymentIntentSucceeded(p)
	if a["id"] == b["id"] {
		t.Fatal("two events share an id")
	}
	oa := a["data"].(map[string]any)["object"].(map[string]any)
	ob := b["data"].(map[string]any)["object"].(map[string]any)
	if oa["id"] != p.PaymentIntentID || ob["id"] != p.PaymentIntentID {
		t.Fatal("payment intent id not kept")
	}
}
