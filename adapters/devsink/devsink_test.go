package devsink

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

func TestSendRecordsNewestFirst(t *testing.T) {
	s := New(3)
	ctx := context.Background()
	for i := 1; i <= 5; i++ {
		sent, err := s.Send(ctx, core.Outbound{ID: fmt.Sprint(i), Channel: core.ChannelSMS, To: "+15550000000", Text: "hi"})
		if err != nil {
			t.Fatal(err)
		}
		want := core.Sent{ProviderID: fmt.Sprintf("dev-%d", i), Status: "delivered"}
		if sent != want {
			t.Fatalf("sent = %+v, want %+v", sent, want)
		}
	}
	got := s.List()
	if len(got) != 3 || s.Len() != 3 {
		t.Fatalf("len = %d (Len %d), want 3", len(got), s.Len())
	}
	for i, want := range []string{"5", "4", "3"} {
		if got[i].Outbound.ID != want || got[i].ProviderID != "dev-"+want || got[i].Status != "delivered" || got[i].At.IsZero() {
			t.Errorf("List()[%d] = %+v, want id %s", i, got[i], want)
		}
	}
	s.Reset()
	if n := len(s.List()); n != 0 {
		t.Fatalf("after Reset: %d records", n)
	}
}

func TestSendPartialRing(t *testing.T) {
	s := New(0)
	for i := 0; i < 2; i++ {
		if _, err := s.Send(context.Background(), core.Outbound{ID: fmt.Sprint(i)}); err != nil {
			t.Fatal(err)
		}
	}
	got := s.List()
	if len(got) != 2 || got[0].Outbound.ID != "1" || got[1].Outbound.ID != "0" {
		t.Fatalf("List = %+v", got)
	}
}

func TestSimulatedFailures(t *testing.T) {
	tests := []struct {
		to         string
		permanent  bool
		code       string
		retryAfter time.Duration
	}{
		{"fail-permanent@example.com", true, "dev-permanent", 0},
		{"U-FAIL-TEMPORARY", false, "dev-temporary", 0},
		{"+1555fail-ratelimit", false, "dev-ratelimit", RateLimitWait},
	}
	for _, tt := range tests {
		t.Run(tt.to, func(t *testing.T) {
			s := New(10)
			_, err := s.Send(context.Background(), core.Outbound{ID: "x", To: tt.to})
			var se *core.SendError
			if !errors.As(err, &se) {
				t.Fatalf("err = %v, want *core.SendError", err)
			}
			if se.Permanent != tt.permanent || se.Code != tt.code || se.RetryAfter != tt.retryAfter {
				t.Fatalf("err = %+v", se)
			}
			if core.IsPermanent(err) != tt.permanent {
				t.Fatal("IsPermanent mismatch")
			}
			recs := s.List()
			if len(recs) != 1 || recs[0].Status != "failed" || recs[0].Error == "" || recs[0].ProviderID != "" {
				t.Fatalf("records = %+v", recs)
			}
		})
	}
}

func TestCancelledContextIsTemporary(t *testing.T) {
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := New(1).Send(ctx, core.Outbound{ID: "1", To: "x"})
	var se *core.SendError
	if !errors.As(err, &se) || se.Permanent || !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v", err)
	}
}

func TestRecordsAreCopies(t *testing.T) {
	s := New(2)
	btns := []core.Button{{Text: "ok", Data: "a"}}
	if _, err := s.Send(context.Background(), core.Outbound{ID: "1", Buttons: btns}); err != nil {
		t.Fatal(err)
	}
	btns[0].Data = "changed"
	got := s.List()
	got[0].Outbound.Buttons[0].Data = "changed too"
	if d := s.List()[0].Outbound.Buttons[0].Data; d != "a" {
		t.Fatalf("stored button data = %q", d)
	}
}

func TestConcurrentUse(t *testing.T) {
	s := New(50)
	var wg sync.WaitGroup
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 100; i++ {
				_, _ = s.Send(context.Background(), core.Outbound{ID: fmt.Sprint(g, "-", i), To: "+1555"})
				_ = s.List()
			}
		}()
	}
	wg.Wait()
	if n := len(s.List()); n != 50 {
		t.Fatalf("kept %d, want 50", n)
	}
}
