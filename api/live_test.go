package api_test

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/alicebob/miniredis/v2"

	"github.com/bookinggw/gateway/adapters/live"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// sseMsg is one message of an event stream; a comment line is Event ":"
// with the comment as Data.
type sseMsg struct {
	ID, Event, Data string
}

// sseStream reads GET /api/v1/events over real HTTP.
type sseStream struct {
	t      *testing.T
	res    *http.Response
	msgs   chan sseMsg
	cancel context.CancelFunc
}

// openStream opens the event stream with c's key; header adds headers.
func openStream(t *testing.T, c client, query string, header map[string]string) *sseStream {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	hr, err := http.NewRequestWithContext(ctx, "GET", c.base+"/api/v1/events"+query, nil)
	if err != nil {
		t.Fatal(err)
	}
	hr.Header.Set("Authorization", "Bearer "+c.key)
	hr.Header.Set("Accept", "text/event-stream")
	for k, v := range header {
		hr.Header.Set(k, v)
	}
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != 200 {
		b, _ := io.ReadAll(res.Body)
		res.Body.Close()
		cancel()
		t.Fatalf("GET /api/v1/events: %d %s", res.StatusCode, b)
	}
	if ct := res.Header.Get("Content-Type"); ct != "text/event-stream" {
		t.Fatalf("content type %q", ct)
	}
	s := &sseStream{t: t, res: res, msgs: make(chan sseMsg, 100), cancel: cancel}
	go func() {
		defer close(s.msgs)
		sc := bufio.NewScanner(res.Body)
		var m sseMsg
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if m != (sseMsg{}) {
					s.msgs <- m
				}
				m = sseMsg{}
			case strings.HasPrefix(line, ":"):
				s.msgs <- sseMsg{Event: ":", Data: strings.TrimSpace(line[1:])}
			default:
				k, v, _ := strings.Cut(line, ": ")
				switch k {
				case "id":
					m.ID = v
				case "event":
					m.Event = v
				case "data":
					m.Data += v
				case "retry":
				default:
					t.Errorf("unexpected stream line %q", line)
				}
			}
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *sseStream) close() {
	s.cancel()
	s.res.Body.Close()
}

// next returns the next event, skipping heartbeats unless pings is set.
func (s *sseStream) next(pings bool) sseMsg {
	s.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case m, ok := <-s.msgs:
			if !ok {
				s.t.Fatal("the stream ended")
			}
			if m.Event == ":" && !pings {
				continue
			}
			return m
		case <-timeout:
			s.t.Fatal("no event within 5s")
		}
	}
}

// event decodes the next event's data.
func (s *sseStream) event() (sseMsg, core.LiveEvent) {
	s.t.Helper()
	m := s.next(false)
	var ev core.LiveEvent
	if err := json.Unmarshal([]byte(m.Data), &ev); err != nil {
		s.t.Fatalf("event data %q: %v", m.Data, err)
	}
	return m, ev
}

// ended waits for the server to end the stream.
func (s *sseStream) ended() {
	s.t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-s.msgs:
			if !ok {
				return
			}
		case <-timeout:
			s.t.Fatal("the stream is still open")
		}
	}
}

func livePublish(t *testing.T, a *app.App, evs ...core.LiveEvent) {
	t.Helper()
	for _, ev := range evs {
		if err := a.Live.Publish(context.Background(), ev); err != nil {
			t.Fatalf("publish: %v", err)
		}
	}
}

// subscribers is how many streams the app's process follows.
func subscribers(a *app.App) int { return a.Live.(*live.Stream).Subscribers() }

func waitSubscribers(t *testing.T, a *app.App, n int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for subscribers(a) != n {
		if time.Now().After(deadline) {
			t.Fatalf("%d subscribers, want %d", subscribers(a), n)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// marker is an event every caller of the test may see, published after the
// hidden ones: when it arrives, a hidden event would have arrived before.
func marker(org, center string, n int) core.LiveEvent {
	return core.LiveEvent{Kind: core.LiveCallUpdated, OrgID: org, CenterID: center, Data: map[string]int{"marker": n}}
}

// liveSeesOnly opens caller's stream, publishes hidden then visible
// events, and checks the stream carries exactly the visible ones.
func liveSeesOnly(t *testing.T, a *app.App, caller client, hidden, visible []core.LiveEvent) {
	t.Helper()
	s := openStream(t, caller, "", nil)
	livePublish(t, a, hidden...)
	livePublish(t, a, visible...)
	for _, want := range visible {
		_, got := s.event()
		wb, _ := json.Marshal(want.Data)
		if got.Kind != want.Kind || got.CenterID != want.CenterID || got.StaffID != want.StaffID || string(mustJSON(t, got.Data)) != string(wb) {
			t.Fatalf("got %+v, want %+v (a hidden event came through?)", got, want)
		}
	}
	s.close()
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func TestLiveEvents(t *testing.T) {
	a, srv := newApp(t, "sqlite:"+t.TempDir()+"/live.db", func(c *app.Config) {
		c.LiveHeartbeat = 150 * time.Millisecond
	})
	boot := bootstrap(t, a, "Live org")
	org := boot.Organization.ID
	dir := client{t, srv.URL, boot.PlainKey}
	centerA := must[core.Center](t, dir.post("/api/v1/centers", `{"name":"A","timezone":"UTC"}`), 201)
	centerB := must[core.Center](t, dir.post("/api/v1/centers", `{"name":"B","timezone":"UTC"}`), 201)
	keyOf := func(name, role string) (client, string) {
		st := must[core.Staff](t, dir.post("/api/v1/staff", `{"name":"`+name+`","role":"`+role+`","timezone":"UTC","center_ids":["`+centerA.ID+`"]}`), 201)
		k := must[map[string]any](t, dir.post("/api/v1/api-keys", `{"name":"`+name+`","staff_id":"`+st.ID+`"}`), 201)
		return client{t, srv.URL, k["key"].(string)}, st.ID
	}
	admin, adminID := keyOf("Admin A", "administrator")

	t.Run("delivery", func(t *testing.T) {
		s := openStream(t, dir, "", nil)
		at := time.Date(2026, 5, 1, 9, 30, 0, 0, time.UTC)
		livePublish(t, a, core.LiveEvent{Kind: core.LiveMessageNew, OrgID: org, CenterID: centerA.ID, At: at,
			Data: map[string]string{"conversation_id": "c1", "text": "line one\nline two"}})
		m, ev := s.event()
		if m.Event != "message.new" || m.ID == "" || ev.ID != m.ID || ev.OrgID != org || ev.CenterID != centerA.ID || !ev.At.Equal(at) {
			t.Fatalf("message %+v, event %+v", m, ev)
		}
		if d := ev.Data.(map[string]any); d["text"] != "line one\nline two" {
			t.Fatalf("data %v", d)
		}
	})
	t.Run("centre and staff filtering", func(t *testing.T) {
		// The director sees every centre, and no other member's events.
		liveSeesOnly(t, a, dir,
			[]core.LiveEvent{{Kind: core.LiveCallIncoming, OrgID: org, CenterID: centerA.ID, StaffID: adminID}},
			[]core.LiveEvent{marker(org, centerB.ID, 1), marker(org, centerA.ID, 2),
				{Kind: core.LiveCallIncoming, OrgID: org, CenterID: centerA.ID, StaffID: boot.Director.ID}})
		// The administrator of A sees A's events and their own.
		liveSeesOnly(t, a, admin,
			[]core.LiveEvent{marker(org, centerB.ID, 3), {Kind: core.LiveCallIncoming, OrgID: org, CenterID: centerB.ID, StaffID: adminID},
				{Kind: core.LiveCallIncoming, OrgID: org, CenterID: centerA.ID, StaffID: boot.Director.ID}},
			[]core.LiveEvent{{Kind: core.LiveCallIncoming, OrgID: org, CenterID: centerA.ID, StaffID: adminID}, marker(org, centerA.ID, 4)})
	})
	t.Run("Last-Event-ID replays what was missed", func(t *testing.T) {
		s := openStream(t, admin, "", nil)
		livePublish(t, a, marker(org, centerA.ID, 10))
		first, _ := s.event()
		s.close()
		livePublish(t, a, marker(org, centerB.ID, 11), marker(org, centerA.ID, 12), marker(org, centerA.ID, 13))
		for _, open := range []func() *sseStream{
			func() *sseStream { return openStream(t, admin, "", map[string]string{"Last-Event-ID": first.ID}) },
			func() *sseStream { return openStream(t, admin, "?last_event_id="+first.ID, nil) },
		} {
			s := open()
			for _, want := range []float64{12, 13} {
				if _, ev := s.event(); ev.Data.(map[string]any)["marker"] != want {
					t.Fatalf("replayed %+v, want marker %v", ev, want)
				}
			}
			livePublish(t, a, marker(org, centerA.ID, 14))
			if _, ev := s.event(); ev.Data.(map[string]any)["marker"] != float64(14) {
				t.Fatalf("after the replay: %+v", ev)
			}
			s.close()
		}
	})
	t.Run("an id outside the window resets the screen", func(t *testing.T) {
		for _, id := range []string{"1-0", "garbage", "99999999999999-0"} {
			s := openStream(t, admin, "", map[string]string{"Last-Event-ID": id})
			m := s.next(false)
			if m.Event != "reset" || !strings.Contains(m.Data, "reload") {
				t.Fatalf("after %q: %+v, want a reset", id, m)
			}
			livePublish(t, a, marker(org, centerA.ID, 20))
			if _, ev := s.event(); ev.Data.(map[string]any)["marker"] != float64(20) {
				t.Fatalf("after the reset: %+v", ev)
			}
			s.close()
		}
	})
	t.Run("heartbeat", func(t *testing.T) {
		s := openStream(t, admin, "", nil)
		for i := 0; i < 2; i++ {
			if m := s.next(true); m.Event != ":" || m.Data != "ping" {
				t.Fatalf("want a ping, got %+v", m)
			}
		}
	})
	t.Run("disconnect ends the subscription", func(t *testing.T) {
		waitSubscribers(t, a, 0)
		s1, s2 := openStream(t, admin, "", nil), openStream(t, dir, "", nil)
		waitSubscribers(t, a, 2)
		s1.close()
		waitSubscribers(t, a, 1)
		s2.close()
		waitSubscribers(t, a, 0)
	})
	t.Run("a revoked key's stream ends", func(t *testing.T) {
		a2, srv2 := newApp(t, "sqlite:"+t.TempDir()+"/revoke.db", func(c *app.Config) { c.LiveReauth = 100 * time.Millisecond })
		b := bootstrap(t, a2, "Revoking org")
		d := client{t, srv2.URL, b.PlainKey}
		k := must[map[string]any](t, d.post("/api/v1/api-keys", `{"name":"screen","staff_id":"`+b.Director.ID+`"}`), 201)
		s := openStream(t, client{t, srv2.URL, k["key"].(string)}, "", nil)
		if r := d.do(req{Method: "DELETE", Path: "/api/v1/api-keys/" + k["id"].(string)}); r.Status != 204 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}
		s.ended()
	})
	t.Run("unauthenticated", func(t *testing.T) {
		r := client{t, srv.URL, ""}.get("/api/v1/events")
		if r.Status != 401 || r.Header.Get("Content-Type") != "application/problem+json" {
			t.Fatalf("%d %s %s", r.Status, r.Header.Get("Content-Type"), r.Body)
		}
		r = client{t, srv.URL, "bgw_nope"}.get("/api/v1/events")
		if r.Status != 401 {
			t.Fatalf("%d %s", r.Status, r.Body)
		}
	})
}

// TestLiveEventsAcrossProcesses: two API processes on one Redis and one
// database; an event published by one reaches a screen connected to the
// other.
func TestLiveEventsAcrossProcesses(t *testing.T) {
	redisURL := queuetest.RedisURL(queuetest.DBAPI)
	if redisURL == "" {
		mr := miniredis.RunT(t)
		redisURL = "redis://" + mr.Addr()
	}
	dbURL := "sqlite:" + t.TempDir() + "/two.db"
	shared := func(c *app.Config) { c.RedisURL, c.Role = redisURL, app.RoleAPI }
	a1, _ := newApp(t, dbURL, shared)
	a2, srv2 := newApp(t, dbURL, shared)
	boot := bootstrap(t, a1, "Two processes")
	dir := client{t, srv2.URL, boot.PlainKey}
	center := must[core.Center](t, dir.post("/api/v1/centers", `{"name":"A","timezone":"UTC"}`), 201)
	s := openStream(t, dir, "", nil)
	livePublish(t, a1, marker(boot.Organization.ID, center.ID, 1))
	m, ev := s.event()
	if ev.OrgID != boot.Organization.ID || ev.Data.(map[string]any)["marker"] != float64(1) {
		t.Fatalf("%+v %+v", m, ev)
	}
	// A reconnect to the first process resumes after that id.
	livePublish(t, a2, marker(boot.Organization.ID, center.ID, 2))
	s.close()
	r := openStream(t, client{t: t, base: httpServe(t, a1), key: boot.PlainKey}, "", map[string]string{"Last-Event-ID": m.ID})
	if _, ev := r.event(); ev.Data.(map[string]any)["marker"] != float64(2) {
		t.Fatalf("%+v", ev)
	}
}

// liveResume is the first message of c's stream resumed after id.
func liveResume(t *testing.T, c client, id string) sseMsg {
	t.Helper()
	s := openStream(t, c, "", map[string]string{"Last-Event-ID": id})
	defer s.close()
	return s.next(false)
}

// httpServe serves a's handler on a loopback port.
func httpServe(t *testing.T, a *app.App) string {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	srv := &http.Server{Handler: a.Handler()}
	go srv.Serve(ln)
	t.Cleanup(func() { srv.Close() })
	return "http://" + ln.Addr().String()
}

// TestLiveEventsEndOnShutdown: a graceful shutdown ends open streams at
// once instead of waiting for them until the shutdown timeout.
func TestLiveEventsEndOnShutdown(t *testing.T) {
	cfg, err := app.FromEnv(func(k string) string {
		if k == "DATABASE_URL" {
			return "sqlite:" + t.TempDir() + "/shutdown.db"
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Role, cfg.ShutdownTimeout = app.RoleAPI, 20*time.Second
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx, ln) }()
	boot := bootstrap(t, a, "Shutdown org")
	s := openStream(t, client{t, "http://" + ln.Addr().String(), boot.PlainKey}, "", nil)
	waitSubscribers(t, a, 1)
	start := time.Now()
	cancel()
	s.ended()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("run: %v", err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("shutdown waited for the stream")
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Fatalf("shutdown took %v", d)
	}
	waitSubscribers(t, a, 0)
}
