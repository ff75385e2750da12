// Package tests runs the whole service over HTTP: in-process (env_test.go)
// and as the real binary, as an operator runs it (gateway_test.go).
package tests

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/bookinggw/gateway/queue/queuetest"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime/debug"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store/storetest"
)

// The gateway binary is built once, by the first test that needs it, and
// removed when the package's tests end.
var (
	buildOnce sync.Once
	binDir    string
	binPath   string
	buildErr  error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if binDir != "" {
		os.RemoveAll(binDir)
	}
	os.Exit(code)
}

// gatewayBinary returns the path of the built gateway binary.
func gatewayBinary(t testing.TB) string {
	t.Helper()
	// make test builds it once for all the shards of this package.
	if p := os.Getenv("TEST_GATEWAY_BINARY"); p != "" {
		return p
	}
	buildOnce.Do(func() {
		binDir, buildErr = os.MkdirTemp("", "gateway-bin-")
		if buildErr == nil {
			binPath, buildErr = build(binDir)
		}
	})
	if buildErr != nil {
		t.Fatalf("build gateway: %v", buildErr)
	}
	return binPath
}

// build compiles ./cmd/gateway from the module root, with the race
// detector when this test binary has it.
func build(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("go env GOMOD: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", errors.New("not inside the module")
	}
	bin := filepath.Join(dir, "gateway")
	args := []string{"build", "-o", bin}
	if raceEnabled() {
		args = append(args, "-race")
	}
	cmd := exec.Command("go", append(args, "./cmd/gateway")...)
	cmd.Dir = filepath.Dir(gomod)
	if b, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("%v\n%s", err, b)
	}
	return bin, nil
}

func raceEnabled() bool {
	bi, ok := debug.ReadBuildInfo()
	if !ok {
		return false
	}
	for _, s := range bi.Settings {
		if s.Key == "-race" {
			return s.Value == "true"
		}
	}
	return false
}

// baseEnv is the environment without any of the gateway's own variables,
// so the developer's shell cannot change what a test runs.
func baseEnv(extra ...string) []string {
	var env []string
	for _, kv := range os.Environ() {
		k, _, _ := strings.Cut(kv, "=")
		if strings.HasPrefix(k, "GATEWAY_") || k == "DATABASE_URL" || k == "REDIS_URL" {
			continue
		}
		env = append(env, kv)
	}
	return append(env, extra...)
}

func freePort(t testing.TB) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	return addr
}

// bootstrapOrg runs `gateway bootstrap` and returns the printed values.
func bootstrapOrg(t *testing.T, dir string, env []string, org string) map[string]string {
	t.Helper()
	cmd := exec.Command(gatewayBinary(t), "bootstrap", "-org", org, "-timezone", "Europe/Paris")
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("gateway bootstrap: %v\nstderr: %s", err, stderr.String())
	}
	vals := map[string]string{}
	for _, line := range strings.Split(stdout.String(), "\n") {
		if k, v, ok := strings.Cut(line, "="); ok && !strings.HasPrefix(line, "#") {
			vals[k] = v
		}
	}
	if !strings.HasPrefix(vals["api_key"], "bgw_") || vals["organization_id"] == "" || vals["staff_id"] == "" {
		t.Fatalf("bootstrap printed %q", stdout.String())
	}
	return vals
}

// syncBuffer collects a process's stderr while the test reads it.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// TestGateway runs the binary as an operator would: bootstrap an
// organization, serve, answer an authenticated request, and on SIGTERM
// finish a request still uploading, then exit 0, having logged only JSON
// lines and never the API key.
func TestGateway(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { testGateway(t, b.URL) })
	}
}

func testGateway(t *testing.T, dbURL string) {
	const shutdownTimeout = 10 * time.Second
	dir := t.TempDir()
	addr := freePort(t)
	env := baseEnv("DATABASE_URL="+dbURL, "REDIS_URL="+queuetest.RedisURL(queuetest.DBTests),
		"GATEWAY_HTTP_ADDR="+addr, "GATEWAY_LOG_LEVEL=debug", "GATEWAY_SHUTDOWN_TIMEOUT="+shutdownTimeout.String(),
		"GATEWAY_ADMIN_TOKEN=admin-secret-token")
	boot := bootstrapOrg(t, dir, env, "Binary Org")
	key := boot["api_key"]

	cmd := exec.Command(gatewayBinary(t))
	cmd.Dir = dir
	cmd.Env = env
	var stdout, stderr syncBuffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	stopped := false
	t.Cleanup(func() {
		if !stopped {
			_ = cmd.Process.Kill()
			<-exited
		}
		if t.Failed() {
			t.Logf("gateway stderr:\n%s", stderr.String())
		}
	})

	base := "http://" + addr
	waitReady(t, base, exited)

	me := call(t, "GET", base+"/api/v1/me", key, nil)
	if me.status != 200 {
		t.Fatalf("/api/v1/me: %d %s", me.status, me.body)
	}
	var who struct {
		OrganizationID string `json:"organization_id"`
		StaffID        string `json:"staff_id"`
		Role           string `json:"role"`
	}
	if err := json.Unmarshal(me.body, &who); err != nil || who.OrganizationID != boot["organization_id"] ||
		who.StaffID != boot["staff_id"] || who.Role != "director" {
		t.Fatalf("/api/v1/me = %s (%v), want the bootstrapped director of %s", me.body, err, boot["organization_id"])
	}
	if r := call(t, "GET", base+"/api/v1/me", "", nil); r.status != 401 {
		t.Fatalf("/api/v1/me without a key: %d", r.status)
	}

	// A create whose body takes about a second to arrive is in flight when
	// SIGTERM comes: it must still complete.
	body := `{"name":"Slow upload center","address":"1 Rue de la Paix","timezone":"Europe/Paris"}`
	pr, pw := io.Pipe()
	slow := make(chan result, 1)
	go func() {
		req, _ := http.NewRequest("POST", base+"/api/v1/centers", pr)
		req.Header.Set("Authorization", "Bearer "+key)
		req.Header.Set("Content-Type", "application/json")
		slow <- do(req)
	}()
	half := len(body) / 2
	if _, err := pw.Write([]byte(body[:half])); err != nil {
		t.Fatal(err)
	}
	time.Sleep(300 * time.Millisecond) // the server has the headers and half the body
	if err := cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	// The listener closes promptly: new connections are refused while the
	// slow request is still running.
	refused := false
	for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(20 * time.Millisecond) {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err != nil {
			refused = true
			break
		}
		c.Close()
	}
	if !refused {
		t.Error("the listener still accepts connections 5s after SIGTERM")
	}
	for _, part := range []string{body[half : half+10], body[half+10:]} {
		time.Sleep(350 * time.Millisecond)
		if _, err := pw.Write([]byte(part)); err != nil {
			t.Fatalf("write the rest of the body: %v", err)
		}
	}
	pw.Close()
	var r result
	select {
	case r = <-slow:
	case <-time.After(shutdownTimeout):
		t.Fatal("no response to the in-flight request")
	}
	if r.err != nil || r.status != 201 {
		t.Fatalf("in-flight create after SIGTERM: %d %s %v, want 201", r.status, r.body, r.err)
	}
	var center struct {
		ID, Name string
	}
	if err := json.Unmarshal(r.body, &center); err != nil || center.ID == "" || center.Name != "Slow upload center" {
		t.Fatalf("created center %s (%v)", r.body, err)
	}

	select {
	case err := <-exited:
		stopped = true
		if err != nil {
			t.Fatalf("gateway exited with %v after SIGTERM, want status 0", err)
		}
	case <-time.After(shutdownTimeout + 5*time.Second):
		t.Fatalf("gateway still running %s after SIGTERM", shutdownTimeout+5*time.Second)
	}

	checkLogs(t, stderr.String(), key)
	if s := stdout.String(); s != "" {
		t.Errorf("gateway wrote to stdout: %q", s)
	}
}

// checkLogs asserts every stderr line is a JSON log record, that the run
// logged its start, requests and shutdown, and that no secret leaked.
func checkLogs(t *testing.T, logs, key string) {
	t.Helper()
	_, secret, _ := strings.Cut(strings.TrimPrefix(key, "bgw_"), "_")
	if strings.Contains(logs, key) || strings.Contains(logs, secret) {
		t.Error("stderr contains the API key")
	}
	if strings.Contains(logs, "admin-secret-token") {
		t.Error("stderr contains the admin token")
	}
	msgs := map[string]int{}
	sc := bufio.NewScanner(strings.NewReader(logs))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if line == "" {
			continue
		}
		var rec struct {
			Time  string `json:"time"`
			Level string `json:"level"`
			Msg   string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(line), &rec); err != nil || rec.Time == "" || rec.Level == "" || rec.Msg == "" {
			t.Errorf("stderr line %d is not a JSON log record: %s", n, line)
			continue
		}
		msgs[rec.Msg]++
	}
	for _, m := range []string{"gateway started", "http request", "shutting down"} {
		if msgs[m] == 0 {
			t.Errorf("no %q log record", m)
		}
	}
}

type result struct {
	status int
	body   []byte
	err    error
}

func do(req *http.Request) result {
	res, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return result{err: err}
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	return result{status: res.StatusCode, body: b, err: err}
}

func call(t *testing.T, method, url, key string, body []byte) result {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	if key != "" {
		req.Header.Set("Authorization", "Bearer "+key)
	}
	r := do(req)
	if r.err != nil {
		t.Fatalf("%s %s: %v", method, url, r.err)
	}
	return r
}

// waitReady polls /readyz until it answers 200, for at most 20 seconds.
func waitReady(t testing.TB, base string, exited <-chan error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var last string
	for {
		req, _ := http.NewRequestWithContext(ctx, "GET", base+"/readyz", nil)
		res, err := http.DefaultClient.Do(req)
		if err == nil {
			b, _ := io.ReadAll(res.Body)
			res.Body.Close()
			if res.StatusCode == 200 {
				return
			}
			last = fmt.Sprintf("%d %s", res.StatusCode, b)
		} else {
			last = err.Error()
		}
		select {
		case err := <-exited:
			t.Fatalf("gateway exited before it was ready: %v", err)
		case <-ctx.Done():
			t.Fatalf("gateway not ready after 20s; last /readyz: %s", last)
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// TestGatewayCommands: migrate, openapi and a bad configuration, as the
// operator runs them.
func TestGatewayCommands(t *testing.T) {
	binary := gatewayBinary(t)
	dir := t.TempDir()
	dbURL := "sqlite:" + filepath.Join(dir, "g.db")

	t.Run("migrate", func(t *testing.T) {
		cmd := exec.Command(binary, "migrate")
		cmd.Dir, cmd.Env = dir, baseEnv("DATABASE_URL="+dbURL)
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("gateway migrate: %v\n%s", err, out)
		}
		if !strings.Contains(string(out), "migrations applied") {
			t.Fatalf("gateway migrate said %s", out)
		}
	})

	t.Run("openapi matches api/openapi.json", func(t *testing.T) {
		cmd := exec.Command(binary, "openapi")
		cmd.Dir, cmd.Env = dir, baseEnv()
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("gateway openapi: %v", err)
		}
		committed, err := os.ReadFile(filepath.Join("..", "api", "openapi.json"))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(out, committed) {
			t.Fatal("`gateway openapi` differs from api/openapi.json; run `make openapi`")
		}
	})

	for _, tt := range []struct {
		name, variable string
		env            []string
	}{
		{"split role without redis", "REDIS_URL", []string{"GATEWAY_ROLE=api"}},
		{"bad role", "GATEWAY_ROLE", []string{"GATEWAY_ROLE=both"}},
		{"bad shutdown timeout", "GATEWAY_SHUTDOWN_TIMEOUT", []string{"GATEWAY_SHUTDOWN_TIMEOUT=soon"}},
		{"bad database URL", "DATABASE_URL", []string{"DATABASE_URL=mysql://db/gateway"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			cmd := exec.Command(binary)
			cmd.Dir = dir
			cmd.Env = baseEnv(append([]string{"DATABASE_URL=" + dbURL, "GATEWAY_HTTP_ADDR=127.0.0.1:0"}, tt.env...)...)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			done := make(chan struct{})
			var out []byte
			var err error
			go func() { out, err = cmd.CombinedOutput(); close(done) }()
			select {
			case <-done:
			case <-ctx.Done():
				_ = cmd.Process.Kill()
				<-done
				t.Fatal("gateway with a bad configuration did not exit")
			}
			var ee *exec.ExitError
			if !errors.As(err, &ee) || ee.ExitCode() != 1 {
				t.Fatalf("exit %v, want status 1; output %s", err, out)
			}
			if !strings.Contains(string(out), tt.variable) {
				t.Fatalf("output does not name %s: %s", tt.variable, out)
			}
		})
	}
}
