package tests

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

// liveStream reads GET /api/v1/events with a key into a channel of events.
func (e *apiEnv) liveStream(t *testing.T, key string) <-chan core.LiveEvent {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", e.srv.URL+"/api/v1/events", nil)
	req.Header.Set("Authorization", "Bearer "+key)
	req.Header.Set("Accept", "text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if resp.StatusCode != 200 {
		cancel()
		t.Fatalf("events: %d", resp.StatusCode)
	}
	out := make(chan core.LiveEvent, 100)
	go func() {
		defer close(out)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<16), 1<<20)
		for sc.Scan() {
			if data, ok := strings.CutPrefix(sc.Text(), "data: "); ok {
				var ev core.LiveEvent
				if json.Unmarshal([]byte(data), &ev) == nil && ev.Kind != "" {
					out <- ev
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); resp.Body.Close() })
	return out
}

// collect gathers events until d passes.
func collect(ch <-chan core.LiveEvent, d time.Duration) []core.LiveEvent {
	var out []core.LiveEvent
	timeout := time.After(d)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return out
			}
			out = append(out, ev)
		case <-timeout:
			return out
		}
	}
}

// TestChatLiveEvents: a client's Telegram message reaches the staff
// screens of the conversation's centre over the SSE stream (a new
// conversation, then the message, then an assignment), and never a screen
// of another centre.
func TestChatLiveEvents(t *testing.T) {
	for _, b := range backendsFor(t) {
		t.Run(b.Name, func(t *testing.T) {
			ce := newChatEnv(t, b.URL)
			ce.must(200, "PATCH", "/api/v1/clients/"+ce.client, map[string]any{"telegram_id": "555000111"}, nil)
			var other idOnly
			ce.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Nice", "timezone": "Europe/Paris"}, &other)
			keyFor := func(name, center string) string {
				var st core.Staff
				ce.must(201, "POST", "/api/v1/staff", map[string]any{"name": name, "role": "administrator", "center_ids": []string{center}}, &st)
				var k map[string]any
				ce.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": name, "staff_id": st.ID}, &k)
				return k["key"].(string)
			}
			lyon, nice := keyFor("Admin Lyon", ce.center), keyFor("Admin Nice", other.ID)
			lyonEvents, niceEvents := ce.liveStream(t, lyon), ce.liveStream(t, nice)
			time.Sleep(300 * time.Millisecond) // the streams are subscribed

			ce.update(t, tgSecret, map[string]any{"message": tgMessage(7, map[string]any{"text": "Are you open on Sunday?"})})
			got := map[core.LiveKind]core.LiveEvent{}
			deadline := time.Now().Add(15 * time.Second)
			for (got[core.LiveConversationNew].Kind == "" || got[core.LiveMessageNew].Kind == "") && time.Now().Before(deadline) {
				for _, ev := range collect(lyonEvents, 200*time.Millisecond) {
					got[ev.Kind] = ev
				}
			}
			msg := got[core.LiveMessageNew]
			if got[core.LiveConversationNew].CenterID != ce.center || msg.CenterID != ce.center {
				t.Fatalf("Lyon's screen got %+v", got)
			}
			data, _ := json.Marshal(msg.Data)
			if !strings.Contains(string(data), "Are you open on Sunday?") {
				t.Fatalf("message.new data = %s", data)
			}
			var convs struct {
				Items []core.Conversation `json:"items"`
			}
			ce.must(200, "GET", "/api/v1/conversations", nil, &convs)
			ce.must(200, "PATCH", "/api/v1/conversations/"+convs.Items[0].ID, map[string]any{"status": "closed"}, nil)
			changed := false
			for _, ev := range collect(lyonEvents, 2*time.Second) {
				changed = changed || ev.Kind == core.LiveConversationChanged
			}
			if !changed {
				t.Error("closing the conversation published no conversation.changed")
			}
			if evs := collect(niceEvents, 500*time.Millisecond); len(evs) != 0 {
				t.Fatalf("another centre's screen got %+v", evs)
			}
		})
	}
}
