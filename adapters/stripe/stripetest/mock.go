// Package stripetest runs Stripe's API fake for tests and builds signed
// webhook events.
//
//   - StartMock starts stripe-mock (github.com/stripe/stripe-mock, Stripe's
//     own fake answering every API route from its OpenAPI spec and fixtures)
//     and returns its base URL.
//   - Recorder is a proxy in front of it that records every request (method,
//     path, form, Idempotency-Key, Authorization) and, like Stripe and unlike
//     the stateless stripe-mock, replays the first answer to a repeated
//     Idempotency-Key. It can also inject Stripe error answers (FailNext).
//     Point the stripe adapter's Config.BaseURL at Recorder.URL.
//   - SignedPayload, PostEvent and the event builders (CheckoutSessionCompleted,
//     PaymentIntentSucceeded, PaymentIntentFailed, ChargeRefunded) produce
//     webhook deliveries as Stripe signs them (Stripe-Signature).
//
// stripe-mock validates requests against Stripe's OpenAPI schema (types,
// enums, required fields, authentication) but not business rules: it accepts
// amount 0 and any 3-letter currency. It keeps no state: every create
// answers a fixture with a fresh id (cs_test_…), a fixed url
// (https://checkout.stripe.com/pay/c/cs_test_a1…) and expires_at 1234567890,
// echoing some fields (client_reference_id, mode) but not metadata.
package stripetest

import (
	"bufio"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// MockURLEnv names the environment variable that points tests at an already
// running stripe-mock (e.g. http://127.0.0.1:12111) instead of starting one.
const MockURLEnv = "STRIPE_MOCK_URL"

// mockStartTimeout bounds stripe-mock's start: the first `go tool` run
// compiles it (tens of seconds on two cores); later runs load its spec in
// about 1.5 s.
const mockStartTimeout = 3 * time.Minute

// StartMock returns the base URL of a running stripe-mock, without a
// trailing slash:
//
//  1. $STRIPE_MOCK_URL when set (the caller runs it);
//  2. else `go tool stripe-mock`: the version pinned in go.mod's tool
//     directive, listening on loopback ports the system picks
//     (-http-addr 127.0.0.1: -https-addr 127.0.0.1:), stopped by t.Cleanup.
//
// When it cannot be started the test is skipped, except with CI=true, where
// a test that needs it fails: CI must not pass without the payment tests.
func StartMock(t testing.TB) string {
	t.Helper()
	if u := strings.TrimSpace(os.Getenv(MockURLEnv)); u != "" {
		return strings.TrimRight(u, "/")
	}
	u, err := startMock(t)
	if err != nil {
		if os.Getenv("CI") == "true" {
			t.Fatalf("stripetest: stripe-mock (go tool stripe-mock) did not start: %v", err)
		}
		t.Skipf("stripetest: stripe-mock (go tool stripe-mock) did not start: %v", err)
	}
	return u
}

var listenRE = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// startMock runs `go tool stripe-mock` on system-chosen loopback ports in
// a process group of its own (go tool runs the built binary as a child, so
// stopping it means stopping the group), reads the HTTP address it prints,
// and waits until it answers an authenticated request.
func startMock(t testing.TB) (string, error) {
	cmd := exec.Command("go", "tool", "stripe-mock", "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start go tool stripe-mock: %v", err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.CloseWithError(io.EOF)
		exited <- err
	}()
	stop := func() {
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		<-exited
	}

	// stripe-mock logs every request on stdout: keep draining it, keeping
	// the last lines for diagnostics.
	addr := make(chan string, 1)
	var (
		logMu sync.Mutex
		tail  []string
	)
	go func() {
		sc := bufio.NewScanner(pr)
		sc.Buffer(make([]byte, 64<<10), 1<<20)
		sent := false
		for sc.Scan() {
			line := sc.Text()
			logMu.Lock()
			tail = append(tail, line)
			if len(tail) > 20 {
				tail = tail[1:]
			}
			logMu.Unlock()
			if m := listenRE.FindStringSubmatch(line); m != nil && !sent {
				addr <- m[1]
				sent = true
			}
		}
		_, _ = io.Copy(io.Discard, pr)
	}()
	lastLines := func() string {
		logMu.Lock()
		defer logMu.Unlock()
		return strings.Join(tail, "\n")
	}

	deadline := time.NewTimer(mockStartTimeout)
	defer deadline.Stop()
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case err := <-exited:
		exited <- err
		stop()
		return "", fmt.Errorf("stripe-mock exited at start (%v):\n%s", err, lastLines())
	case <-deadline.C:
		stop()
		return "", fmt.Errorf("stripe-mock printed no HTTP address within %v:\n%s", mockStartTimeout, lastLines())
	}
	t.Cleanup(stop)

	hc := &http.Client{Timeout: 2 * time.Second}
	for {
		req, _ := http.NewRequest(http.MethodGet, base+"/v1/balance", nil)
		req.Header.Set("Authorization", "Bearer sk_test_123")
		resp, err := hc.Do(req)
		if err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return base, nil
			}
		}
		select {
		case <-deadline.C:
			return "", fmt.Errorf("stripe-mock at %s did not answer within %v (last: %v):\n%s", base, mockStartTimeout, err, lastLines())
		case <-time.After(50 * time.Millisecond):
		}
	}
}
