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
	"context"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"
)

// MockURLEnv names the environment variable that points tests at an already
// running stripe-mock (e.g. http://127.0.0.1:12111) instead of starting one.
const MockURLEnv = "STRIPE_MOCK_URL"

// MockModule is what StartMock installs with `go install` when stripe-mock
// is not found.
const MockModule = "github.com/stripe/stripe-mock@latest"

// mockStartTimeout bounds stripe-mock's start (it loads its spec: ~1.5 s).
const mockStartTimeout = 60 * time.Second

var (
	installOnce sync.Once
	installErr  error
)

// StartMock returns the base URL of a running stripe-mock, without a
// trailing slash:
//
//  1. $STRIPE_MOCK_URL when set (the caller runs it);
//  2. else a stripe-mock started for this test from PATH, $GOBIN or
//     $(go env GOPATH)/bin, listening on loopback ports the system picks
//     (-http-addr 127.0.0.1: -https-addr 127.0.0.1:), stopped by t.Cleanup;
//  3. when the binary is absent, `go install MockModule` is tried once per
//     test binary, then 2.
//
// The test is skipped only when stripe-mock can be neither found nor
// installed; it fails when an existing binary does not start.
func StartMock(t testing.TB) string {
	t.Helper()
	if u := strings.TrimSpace(os.Getenv(MockURLEnv)); u != "" {
		return strings.TrimRight(u, "/")
	}
	bin, err := findMock()
	if err != nil {
		installOnce.Do(func() { installErr = installMock() })
		if installErr != nil {
			t.Skipf("stripetest: stripe-mock not found (%v) and `go install %s` failed: %v", err, MockModule, installErr)
		}
		if bin, err = findMock(); err != nil {
			t.Skipf("stripetest: stripe-mock not found after `go install %s`: %v", MockModule, err)
		}
	}
	u, err := startMock(t, bin)
	if err != nil {
		t.Fatalf("stripetest: %v", err)
	}
	return u
}

// findMock looks for the stripe-mock binary in PATH, then in $GOBIN and
// $(go env GOPATH)/bin.
func findMock() (string, error) {
	if p, err := exec.LookPath("stripe-mock"); err == nil {
		return p, nil
	}
	var dirs []string
	if gobin := goEnv("GOBIN"); gobin != "" {
		dirs = append(dirs, gobin)
	}
	for _, gp := range filepath.SplitList(goEnv("GOPATH")) {
		if gp != "" {
			dirs = append(dirs, filepath.Join(gp, "bin"))
		}
	}
	if home, err := os.UserHomeDir(); err == nil {
		dirs = append(dirs, filepath.Join(home, "go", "bin"))
	}
	for _, d := range dirs {
		p := filepath.Join(d, "stripe-mock")
		if fi, err := os.Stat(p); err == nil && !fi.IsDir() && fi.Mode()&0o111 != 0 {
			return p, nil
		}
	}
	return "", fmt.Errorf("stripe-mock is not in PATH nor in %s", strings.Join(dirs, ", "))
}

func goEnv(name string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	out, err := exec.Command("go", "env", name).Output()
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(out))
}

func installMock() error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "install", MockModule)
	// Not the module under test's settings: a plain module-mode install.
	cmd.Env = append(os.Environ(), "GOFLAGS=", "GOWORK=off")
	cmd.Dir = os.TempDir()
	out, err := cmd.CombinedOutput()
	if err != nil {
		return fmt.Errorf("%v: %s", err, strings.TrimSpace(string(out)))
	}
	return nil
}

var listenRE = regexp.MustCompile(`Listening for HTTP at address: (\S+)`)

// startMock runs bin on system-chosen loopback ports, reads the HTTP
// address it prints, and waits until it answers an authenticated request.
func startMock(t testing.TB, bin string) (string, error) {
	cmd := exec.Command(bin, "-http-addr", "127.0.0.1:", "-https-addr", "127.0.0.1:")
	pr, pw := io.Pipe()
	cmd.Stdout, cmd.Stderr = pw, pw
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start %s: %v", bin, err)
	}
	exited := make(chan error, 1)
	go func() {
		err := cmd.Wait()
		pw.CloseWithError(io.EOF)
		exited <- err
	}()
	stop := func() {
		_ = cmd.Process.Kill()
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
