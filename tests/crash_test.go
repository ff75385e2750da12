package tests

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os/exec"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/hibiken/asynq"
	"github.com/redis/go-redis/v9"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// TestWorkerKilledMidRun books 40 appointments (one SMS each) on the real
// binary, lets the worker send through a slow Twilio, SIGKILLs the process
// when about a third of the messages reached Twilio, starts it again on the
// same database and Redis, and checks that every client got its message:
// nothing is lost, and a message is sent twice only when it was in flight
// ("sending") at the kill: the worker died between Twilio's accept and the
// database write, so it cannot know, and the design re-sends rather than
// loses.
//
// The restarted process recovers through the sweeper; the test runs it with
// a fast sweeper (GATEWAY_SWEEP_EVERY, GATEWAY_SWEEP_GRACE) and a short
// lease on messages left "sending" (GATEWAY_SEND_LEASE, above a short
// GATEWAY_SEND_TIMEOUT plus the pacer's wait, as the configuration
// demands), else recovery takes the production defaults (30 s, and minutes
// for "sending"). The lease must stay above the longest legitimate send:
// a shorter one re-sends messages that are merely slow, so SMS pacing is
// off here and the proxy's 100 ms is the only delay.
func TestWorkerKilledMidRun(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { testWorkerKilledMidRun(t, b.URL) })
	}
}

const (
	crashMessages = 40
	// crashDelay is Twilio's latency per request: half before the request
	// reaches the fake (a kill then means Twilio never saw it), half after
	// the fake accepted it (a kill then means Twilio has it but the gateway
	// never learns its SID).
	crashDelay = 100 * time.Millisecond
	// crashSweeperRecovery is what the fast sweeper should need; past it
	// the stragglers are logged. crashRecovery bounds the wait: a message
	// whose send task Asynq still holds "active" for the dead worker is
	// left to Asynq's recoverer (task lease 30 s, expired for 30 s, checked
	// every minute, then a retry delay of 15–45 s), because the sweeper's
	// re-enqueue collides with that task's id; that path takes up to about
	// two minutes.
	crashSweeperRecovery = 30 * time.Second
	crashRecovery        = 60 * time.Second
)

func testWorkerKilledMidRun(t *testing.T, dbURL string) {
	redisURL := queuetest.RedisURL(queuetest.DBTests)
	if redisURL != "" {
		flushRedis(t, redisURL)
	}
	fake := twiliotest.New(t, twSID, twToken)
	slow := newSlowTwilio(t, fake.URL, crashDelay)

	dir := t.TempDir()
	addr := freePort(t)
	common := []string{"DATABASE_URL=" + dbURL, "REDIS_URL=" + redisURL, "GATEWAY_LOG_LEVEL=info",
		"GATEWAY_SHUTDOWN_TIMEOUT=2s", "TWILIO_ACCOUNT_SID=" + twSID, "TWILIO_AUTH_TOKEN=" + twToken,
		"TWILIO_FROM=" + twFrom, "TWILIO_BASE_URL=" + slow.URL,
		// Twilio's own pace is the slow proxy's; the SMS rate limit (1/s per
		// number by default) would hold messages "sending" in the pacer.
		"GATEWAY_RATE_SMS=off"}
	env := baseEnv(append(common, "GATEWAY_HTTP_ADDR="+addr, "GATEWAY_PUBLIC_URL=http://"+addr)...)
	boot := bootstrapOrg(t, dir, env, "Crash Org")
	orgID := boot["organization_id"]

	// First run: production sweeper settings, so that nothing but the
	// worker sends before the kill.
	first := startGateway(t, "first", dir, env)
	c := &gatewayClient{t: t, base: "http://" + addr, key: boot["api_key"]}

	// A specialist working every day 08:00–20:00, a 30-minute service,
	// and 40 clients with distinct French mobiles, each booked once. Twilio
	// is held closed meanwhile: the first sends wait at its door, taking
	// every worker slot, so the relay of the later bookings' events waits
	// too and the kill may also find events not yet turned into messages.
	var st, sv idOnly
	c.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Dr Crash", "role": "specialist", "timezone": "Europe/Paris"}, &st)
	c.must(200, "PUT", "/api/v1/staff/"+st.ID+"/schedule",
		core.ScheduleInput{Timezone: "Europe/Paris", Weekly: allWeek(core.PeriodJSON{Start: "08:00", End: "20:00"})}, nil)
	c.must(201, "POST", "/api/v1/services", core.ServiceInput{Name: "Checkup", DurationMin: 30, IntervalMin: 30}, &sv)
	loc := paris(t)
	day := time.Now().In(loc).AddDate(0, 0, 3)
	phones := map[string]bool{}
	for i := range crashMessages {
		phone := fmt.Sprintf("+336123400%02d", i)
		phones[phone] = true
		var cl idOnly
		c.must(201, "POST", "/api/v1/clients", map[string]any{"name": fmt.Sprintf("Client %02d", i), "phone": phone}, &cl)
		d := day.AddDate(0, 0, i/20)
		start := time.Date(d.Year(), d.Month(), d.Day(), 8, 30*(i%20), 0, 0, loc)
		c.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": st.ID, "service_id": sv.ID,
			"client_id": cl.ID, "start": start.Format(time.RFC3339)}, nil)
	}
	// Open Twilio; kill the worker when a third of the messages got there.
	slow.open()
	deadline := time.Now().Add(20 * time.Second)
	for fake.Requests() < (crashMessages+2)/3 {
		if time.Now().After(deadline) {
			t.Fatalf("only %d messages reached Twilio in 20s\n%s", fake.Requests(), first.logTail())
		}
		time.Sleep(2 * time.Millisecond)
	}
	first.kill(t)
	atKillFake := fake.Requests()

	// What the database says the killed worker left behind.
	atKill := outboxByStatus(t, dbURL, orgID)
	sending := map[string]bool{}
	for _, m := range atKill[core.MsgSending] {
		sending[m.To] = true
	}
	inOutbox := 0
	for _, ms := range atKill {
		inOutbox += len(ms)
	}
	t.Logf("at the kill: Twilio had %d requests; outbox: %d sent, %d sending, %d queued; %d bookings not yet relayed",
		atKillFake, len(atKill[core.MsgSent]), len(atKill[core.MsgSending]), len(atKill[core.MsgQueued]), crashMessages-inOutbox)
	if n := len(atKill[core.MsgSent]); n == crashMessages {
		t.Fatal("every message was already sent at the kill: the worker was not mid-run")
	}

	// Second run on the same database and Redis, with a fast sweeper.
	addr2 := freePort(t)
	env2 := baseEnv(append(common, "GATEWAY_HTTP_ADDR="+addr2, "GATEWAY_PUBLIC_URL=http://"+addr2,
		"GATEWAY_SWEEP_EVERY=1s", "GATEWAY_SWEEP_GRACE=1s", "GATEWAY_SEND_TIMEOUT=2s", "GATEWAY_SEND_LEASE=8s")...)
	restarted := time.Now()
	second := startGateway(t, "second", dir, env2)
	c2 := &gatewayClient{t: t, base: "http://" + addr2, key: boot["api_key"]}
	var sent []core.Message
	unsent := func() []core.Message {
		var left []core.Message
		for _, m := range c2.messages("channel=sms") {
			if m.Status != core.MsgSent {
				left = append(left, m)
			}
		}
		return left
	}
	slowLogged := false
	for {
		sent = c2.messages("status=sent")
		if len(sent) >= crashMessages {
			break
		}
		switch waited := time.Since(restarted); {
		case waited > crashRecovery:
			left := unsent()
			t.Fatalf("%d of %d messages sent %s after the restart; the others:\n%s%s\n%s",
				len(sent), crashMessages, crashRecovery, describe(left), sendTasks(redisURL, left), second.logTail())
		case waited > crashSweeperRecovery && !slowLogged:
			slowLogged = true
			left := unsent()
			t.Logf("SLOW RECOVERY: %d messages still unsent %s after the restart, beyond the sweeper's reach:\n%s%s",
				len(left), crashSweeperRecovery, describe(left), sendTasks(redisURL, left))
		}
		time.Sleep(100 * time.Millisecond)
	}
	recovery := time.Since(restarted)
	// Let a few more sweeps run: a sent message must never go out again.
	time.Sleep(3 * time.Second)
	if n := len(c2.messages("status=sent")); n != crashMessages {
		t.Fatalf("%d sent messages after more sweeps, want %d", n, crashMessages)
	}

	got := map[string]int{}
	for _, m := range fake.Messages() {
		if !strings.Contains(m.Body, "Checkup") {
			t.Errorf("Twilio received %q for %s, not the booking confirmation", m.Body, m.To)
		}
		got[m.To]++
	}
	dups := 0
	var dupTo []string
	for phone := range phones {
		switch n := got[phone]; {
		case n == 0:
			t.Errorf("%s never received its message", phone)
		case n > 1:
			dups += n - 1
			dupTo = append(dupTo, fmt.Sprintf("%s×%d", phone, n))
			if !sending[phone] || n > 2 {
				t.Errorf("%s received %d messages; only one in flight at the kill may be sent twice", phone, n)
			}
		}
	}
	for to := range got {
		if !phones[to] {
			t.Errorf("Twilio received a message for %s, not one of the clients", to)
		}
	}
	sort.Strings(dupTo)
	t.Logf("after the restart: all %d sent in %s; Twilio received %d requests: %d duplicates (%v), bound %d (sending at the kill)",
		crashMessages, recovery.Round(10*time.Millisecond), fake.Requests(), dups, dupTo, len(atKill[core.MsgSending]))
	if dups > len(atKill[core.MsgSending]) {
		t.Errorf("%d duplicates, more than the %d messages in flight at the kill", dups, len(atKill[core.MsgSending]))
	}
	// The sent rows carry the SID Twilio gave for the last send.
	sids := map[string]bool{}
	for _, m := range fake.Messages() {
		sids[m.SID] = true
	}
	for _, m := range sent {
		if !sids[m.ProviderID] {
			t.Errorf("message to %s has provider id %q, which Twilio never gave", m.To, m.ProviderID)
		}
	}
	second.stop(t)
}

// flushRedis empties the shared test Redis database.
func flushRedis(t *testing.T, redisURL string) {
	t.Helper()
	opt, err := redis.ParseURL(redisURL)
	if err != nil {
		t.Fatalf("TEST_REDIS_URL: %v", err)
	}
	rc := redis.NewClient(opt)
	defer rc.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := rc.FlushDB(ctx).Err(); err != nil {
		t.Fatalf("flush test redis: %v", err)
	}
}

// outboxByStatus reads an organization's outbox straight from the database
// (the gateway is dead), by status.
func outboxByStatus(t *testing.T, dbURL, orgID string) map[core.MessageStatus][]core.Message {
	t.Helper()
	ctx := context.Background()
	st, err := store.Open(ctx, dbURL, false)
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	out := map[core.MessageStatus][]core.Message{}
	for after := ""; ; {
		ms, err := st.ListMessages(ctx, orgID, core.MessageFilter{Channel: core.ChannelSMS}, core.Page{Limit: 100, After: after})
		if err != nil {
			t.Fatal(err)
		}
		if len(ms) == 0 {
			return out
		}
		for _, m := range ms {
			out[m.Status] = append(out[m.Status], m)
		}
		after = ms[len(ms)-1].ID
	}
}

// slowTwilio stands between the gateway and the fake Twilio: it holds
// requests until opened, then takes delay per request, half before passing
// it to the fake and half before answering.
type slowTwilio struct {
	URL    string
	target string
	delay  time.Duration
	gate   chan struct{}
	once   sync.Once
	hc     *http.Client
}

func newSlowTwilio(t *testing.T, target string, delay time.Duration) *slowTwilio {
	s := &slowTwilio{target: target, delay: delay, gate: make(chan struct{}), hc: &http.Client{Timeout: 10 * time.Second}}
	srv := httptest.NewServer(s)
	s.URL = srv.URL
	// Cleanups run last-in first-out: open the gate, then close the server.
	t.Cleanup(srv.Close)
	t.Cleanup(s.open)
	return s
}

func (s *slowTwilio) open() { s.once.Do(func() { close(s.gate) }) }

func (s *slowTwilio) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	select {
	case <-s.gate:
	case <-r.Context().Done():
		return
	}
	select {
	case <-time.After(s.delay / 2):
	case <-r.Context().Done():
		return // the caller died before the request reached Twilio
	}
	// From here Twilio has the request, whatever happens to the caller.
	req, err := http.NewRequestWithContext(context.WithoutCancel(r.Context()), r.Method, s.target+r.URL.RequestURI(), bytes.NewReader(body))
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	req.Header = r.Header.Clone()
	resp, err := s.hc.Do(req)
	if err != nil {
		http.Error(w, err.Error(), http.StatusBadGateway)
		return
	}
	answer, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	select {
	case <-time.After(s.delay / 2):
	case <-r.Context().Done():
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = w.Write(answer)
}

// gatewayProcess is a running gateway binary.
type gatewayProcess struct {
	name   string
	cmd    *exec.Cmd
	exited chan error
	stderr *syncBuffer
	mu     sync.Mutex
	done   bool
	err    error
}

// startGateway starts the binary and waits until it is ready. The process
// is killed when the test ends if it still runs.
func startGateway(t testing.TB, name, dir string, env []string) *gatewayProcess {
	t.Helper()
	g := &gatewayProcess{name: name, cmd: exec.Command(gatewayBinary(t)), exited: make(chan error, 1), stderr: &syncBuffer{}}
	g.cmd.Dir, g.cmd.Env = dir, env
	g.cmd.Stderr = g.stderr
	if err := g.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { g.exited <- g.cmd.Wait() }()
	t.Cleanup(func() {
		if g.wait(0) == nil && g.cmd.Process.Kill() == nil {
			g.wait(10 * time.Second)
		}
		if t.Failed() {
			t.Logf("%s gateway stderr (tail):\n%s", name, g.logTail())
		}
	})
	var addr string
	for _, kv := range env {
		if v, ok := strings.CutPrefix(kv, "GATEWAY_HTTP_ADDR="); ok {
			addr = v
		}
	}
	waitReady(t, "http://"+addr, g.exited)
	return g
}

// wait waits up to d for the process to exit and returns a pointer to its
// exit error, or nil while it still runs.
func (g *gatewayProcess) wait(d time.Duration) *error {
	g.mu.Lock()
	defer g.mu.Unlock()
	if !g.done {
		timer := time.NewTimer(d)
		defer timer.Stop()
		select {
		case g.err = <-g.exited:
			g.done = true
		case <-timer.C:
			return nil
		}
	}
	err := g.err
	return &err
}

// kill sends SIGKILL and waits for the process to be gone.
func (g *gatewayProcess) kill(t *testing.T) {
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGKILL); err != nil {
		t.Fatalf("kill %s gateway: %v", g.name, err)
	}
	if g.wait(10*time.Second) == nil {
		t.Fatalf("%s gateway still running 10s after SIGKILL", g.name)
	}
}

// stop sends SIGTERM and expects a clean exit within the shutdown timeout.
func (g *gatewayProcess) stop(t *testing.T) {
	t.Helper()
	if err := g.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		t.Fatalf("stop %s gateway: %v", g.name, err)
	}
	res := g.wait(15 * time.Second)
	switch {
	case res == nil:
		t.Errorf("%s gateway still running 15s after SIGTERM", g.name)
	case *res != nil:
		t.Errorf("%s gateway exited with %v after SIGTERM, want status 0", g.name, *res)
	}
}

// logTail is the end of the process's stderr, without the request log.
func (g *gatewayProcess) logTail() string {
	var keep []string
	for _, l := range strings.Split(g.stderr.String(), "\n") {
		if !strings.Contains(l, `"msg":"http request"`) {
			keep = append(keep, l)
		}
	}
	s := strings.Join(keep, "\n")
	if len(s) > 8000 {
		s = "…" + s[len(s)-8000:]
	}
	return s
}

// gatewayClient calls the binary's API with an API key.
type gatewayClient struct {
	t    *testing.T
	base string
	key  string
}

func (c *gatewayClient) must(want int, method, path string, in, out any) {
	c.t.Helper()
	var body io.Reader
	if in != nil {
		b, err := json.Marshal(in)
		if err != nil {
			c.t.Fatal(err)
		}
		body = bytes.NewReader(b)
	}
	req, err := http.NewRequest(method, c.base+path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+c.key)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	r := do(req)
	if r.err != nil {
		c.t.Fatalf("%s %s: %v", method, path, r.err)
	}
	if r.status != want {
		c.t.Fatalf("%s %s = %d, want %d: %s", method, path, r.status, want, r.body)
	}
	if out != nil {
		if err := json.Unmarshal(r.body, out); err != nil {
			c.t.Fatalf("%s %s: decode %q: %v", method, path, r.body, err)
		}
	}
}

// messages lists the outbox matching query, following next_cursor.
func (c *gatewayClient) messages(query string) []core.Message {
	c.t.Helper()
	var all []core.Message
	for cursor := ""; ; {
		var page struct {
			Items      []core.Message `json:"items"`
			NextCursor string         `json:"next_cursor"`
		}
		path := "/api/v1/messages?limit=25&" + query
		if cursor != "" {
			path += "&cursor=" + url.QueryEscape(cursor)
		}
		c.must(200, "GET", path, nil, &page)
		all = append(all, page.Items...)
		if page.NextCursor == "" || len(page.Items) == 0 {
			return all
		}
		cursor = page.NextCursor
	}
}

// sendTasks reports, for failure reports, the state of each message's
// current send task in the shared Redis (the embedded one died with the
// process), and the Asynq servers registered there: a test elsewhere using
// the same Redis database runs workers that take this test's tasks.
func sendTasks(redisURL string, ms []core.Message) string {
	if redisURL == "" {
		return ""
	}
	opt, err := asynq.ParseRedisURI(redisURL)
	if err != nil {
		return err.Error()
	}
	in := asynq.NewInspector(opt)
	defer in.Close()
	var b strings.Builder
	for _, m := range ms {
		// The task id of queue.Client.EnqueueSend, before and after the
		// claim counted an attempt.
		for _, attempts := range []int{m.Attempts, m.Attempts - 1} {
			id := fmt.Sprintf("send:%s:%d:%d", m.ID, attempts, m.DueAt.UnixMilli())
			if ti, err := in.GetTaskInfo(queue.Critical, id); err == nil {
				fmt.Fprintf(&b, "task %s: %s retried=%d next=%s last error %q\n", id, ti.State, ti.Retried,
					ti.NextProcessAt.Format(time.RFC3339), ti.LastErr)
			} else if attempts == m.Attempts {
				fmt.Fprintf(&b, "task %s: %v\n", id, err)
			}
		}
	}
	if servers, err := in.Servers(); err == nil {
		for _, s := range servers {
			fmt.Fprintf(&b, "asynq server %s pid %d started %s\n", s.Host, s.PID, s.Started.Format(time.RFC3339))
		}
	}
	return b.String()
}

// describe lists messages one a line, for failure reports.
func describe(ms []core.Message) string {
	var b strings.Builder
	for _, m := range ms {
		fmt.Fprintf(&b, "%s %s %s→%s %s attempts=%d due=%s updated=%s error=%q\n", m.ID, m.Kind, m.Channel, m.To, m.Status,
			m.Attempts, m.DueAt.Format(time.RFC3339Nano), m.UpdatedAt.Format(time.RFC3339Nano), m.LastError)
	}
	return b.String()
}
