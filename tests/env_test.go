package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// fakeClock is a settable clock, so tests can stand on a DST change day.
type fakeClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *fakeClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *fakeClock) Set(t time.Time) {
	c.mu.Lock()
	c.t = t.UTC()
	c.mu.Unlock()
}

// apiEnv is the whole service in-process, served over HTTP on loopback.
type apiEnv struct {
	t     *testing.T
	app   *app.App
	srv   *httptest.Server
	clock *fakeClock
	key   string // director key of the first organization
	org   string
}

// eachBackend runs fn against the service on SQLite and, when
// TEST_DATABASE_URL is set, on PostgreSQL; the queue is TEST_REDIS_URL's
// Redis when set, else the embedded one.
func eachBackend(t *testing.T, fn func(t *testing.T, e *apiEnv)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, newAPIEnv(t, b.URL)) })
	}
}

func newAPIEnv(t *testing.T, dbURL string, env ...map[string]string) *apiEnv {
	t.Helper()
	return newAPIEnvWith(t, dbURL, nil, env...)
}

// newAPIEnvWith is newAPIEnv with a last say on the configuration (a live
// events recorder).
func newAPIEnvWith(t *testing.T, dbURL string, hook func(*app.Config), env ...map[string]string) *apiEnv {
	t.Helper()
	clock := &fakeClock{t: time.Now().UTC()}
	// The listener comes first: its address is the public URL that
	// providers sign callbacks with.
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	vars := map[string]string{"DATABASE_URL": dbURL, "REDIS_URL": queuetest.RedisURL(queuetest.DBTests), "GATEWAY_PUBLIC_URL": "http://" + ln.Addr().String()}
	for _, m := range env {
		for k, v := range m {
			vars[k] = v
		}
	}
	cfg, err := app.FromEnv(func(k string) string { return vars[k] })
	if err != nil {
		t.Fatal(err)
	}
	cfg.Clock = clock
	if hook != nil {
		hook(&cfg)
	}
	cfg.SweepEvery, cfg.SweepGrace = time.Second, time.Second
	var logOut io.Writer = io.Discard
	if os.Getenv("TEST_LOG") != "" {
		logOut = os.Stderr
	}
	log := slog.New(slog.NewJSONHandler(logOut, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	if vars["REDIS_URL"] != "" {
		// A shared test Redis: start from an empty queue.
		a.Broker.Redis.FlushDB(context.Background())
	}
	srv := httptest.NewUnstartedServer(a.Handler())
	srv.Listener.Close()
	srv.Listener = ln
	srv.Start()
	t.Cleanup(func() {
		srv.Close()
		a.StopWorker()
		a.Close()
	})
	e := &apiEnv{t: t, app: a, srv: srv, clock: clock}
	e.key, e.org = e.bootstrap("Centre Paris", "Europe/Paris")
	return e
}

func (e *apiEnv) bootstrap(name, tz string) (key, org string) {
	e.t.Helper()
	res, err := e.app.Services.Tenancy.Bootstrap(context.Background(), core.BootstrapInput{OrgName: name, Timezone: tz, Locale: "fr"})
	if err != nil {
		e.t.Fatal(err)
	}
	return res.PlainKey, res.Organization.ID
}

// do sends a JSON request and decodes the JSON answer into out (if not nil).
func (e *apiEnv) do(key, method, path string, body any, out any) int {
	e.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		if err != nil {
			e.t.Fatal(err)
		}
		rd = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, e.srv.URL+path, rd)
	if err != nil {
		e.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+key)
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		e.t.Fatal(err)
	}
	defer resp.Body.Close()
	raw, _ := io.ReadAll(resp.Body)
	if out != nil && len(raw) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode %q: %v", method, path, raw, err)
		}
	}
	return resp.StatusCode
}

// must is do that fails the test unless the status is want.
func (e *apiEnv) must(want int, method, path string, body any, out any) {
	e.t.Helper()
	var raw json.RawMessage
	got := e.do(e.key, method, path, body, &raw)
	if got != want {
		e.t.Fatalf("%s %s = %d, want %d: %s", method, path, got, want, raw)
	}
	if out != nil {
		if err := json.Unmarshal(raw, out); err != nil {
			e.t.Fatalf("%s %s: decode: %v", method, path, err)
		}
	}
}

type idOnly struct {
	ID string `json:"id"`
}

// problem is the part of a problem+json body tests look at.
type problem struct {
	Status    int                 `json:"status"`
	Detail    string              `json:"detail"`
	Errors    []core.FieldError   `json:"errors"`
	Conflicts []core.ConflictItem `json:"conflicts"`
}

func (p problem) kinds() map[string]bool {
	m := map[string]bool{}
	for _, c := range p.Conflicts {
		m[c.Kind] = true
	}
	return m
}

// jsonRoundTrip decodes a generic JSON value into each target.
func jsonRoundTrip(v any, targets ...any) ([]byte, error) {
	b, err := json.Marshal(v)
	if err != nil {
		return nil, err
	}
	for _, t := range targets {
		_ = json.Unmarshal(b, t)
	}
	return b, nil
}

// backendsFor lists fresh databases like eachBackend does.
func backendsFor(t *testing.T) []storetest.Backend { return storetest.Backends(t) }
