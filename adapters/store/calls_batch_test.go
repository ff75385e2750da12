package store_test

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/core/groupcommit"
)

// callLog is a group commit of RecordIncomingCalls as the voice webhook
// uses it, with the batches it flushed recorded and an optional gate that
// holds the next flush until released.
type callLog struct {
	*groupcommit.Batcher[core.Call, bool]
	mu      sync.Mutex
	batches []int
	gate    chan chan struct{} // a flush takes a gate if one is offered
	held    chan struct{}      // told when a flush took a gate
}

func newCallLog(t *testing.T, s *store.Store) *callLog {
	t.Helper()
	l := &callLog{gate: make(chan chan struct{}, 1), held: make(chan struct{}, 1)}
	b, err := groupcommit.New(256, 10*time.Second, func(ctx context.Context, calls []core.Call) ([]bool, error) {
		l.mu.Lock()
		l.batches = append(l.batches, len(calls))
		l.mu.Unlock()
		select {
		case g := <-l.gate:
			l.held <- struct{}{}
			<-g
		default:
		}
		return s.RecordIncomingCalls(ctx, calls)
	})
	if err != nil {
		t.Fatal(err)
	}
	l.Batcher = b
	return l
}

// callLogEnv is an organization and a call log on s.
func callLogEnv(t *testing.T, s *store.Store) (context.Context, core.Organization, time.Time, *callLog) {
	t.Helper()
	org, _, _ := newOrg(t, s, "A")
	return context.Background(), org, time.Now().UTC().Truncate(time.Millisecond), newCallLog(t, s)
}

// waitSubmitted waits until total calls were submitted: taken by a flush
// or waiting for one.
func (l *callLog) waitSubmitted(t *testing.T, total int) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		l.mu.Lock()
		n := l.Pending()
		for _, b := range l.batches {
			n += b
		}
		l.mu.Unlock()
		if n == total {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d calls submitted, want %d", n, total)
		}
		time.Sleep(time.Millisecond)
	}
}

// hold makes the next flush wait until the returned func is called.
func (l *callLog) hold() func() {
	g := make(chan struct{})
	l.gate <- g
	return func() { close(g) }
}

func ringing(orgID, sid, from string, now time.Time) core.Call {
	return core.Call{ID: core.NewID(), OrgID: orgID, CenterID: "c1", Provider: core.ProviderTwilio, ProviderCallID: sid, Direction: core.CallInbound,
		From: from, To: "+33100000001", Status: core.CallRinging, DialStatus: core.DialPending, StartedAt: now, UpdatedAt: now}
}

// TestIncomingCallsGroupCommit: concurrent webhooks share commits; each
// call is committed exactly once, with its client, whatever batch it fell
// in, and a call submitted twice (Twilio retrying while the first is in
// flight) is created once.
func TestIncomingCallsGroupCommit(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx, org, now, l := callLogEnv(t, s)
		client := mustCreateClient(t, s, newTestClient(org.ID, "Élodie", "Martin", "+33612345678", now))
		release := l.hold() // the first flush waits: the others pile up
		const n = 200
		var created atomic.Int64
		var wg sync.WaitGroup
		errs := make(chan error, 2*n)
		for i := range 2 * n { // every call twice
			wg.Add(1)
			go func() {
				defer wg.Done()
				from := "+33698765432"
				if i%n == 7 {
					from = client.Phone
				}
				ok, err := l.Do(ctx, ringing(org.ID, fmt.Sprintf("CA-%d", i%n), from, now))
				if err != nil {
					errs <- err
				}
				if ok {
					created.Add(1)
				}
			}()
		}
		<-l.held
		l.waitSubmitted(t, 2*n)
		release()
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Fatal(err)
		}
		if created.Load() != n {
			t.Errorf("created %d calls, want %d", created.Load(), n)
		}
		calls, err := s.ListCalls(ctx, org.ID, core.CallFilter{}, core.Page{})
		if err != nil || len(calls) != n {
			t.Fatalf("calls: %d %v, want %d", len(calls), err, n)
		}
		for _, c := range calls {
			if want := map[bool]string{true: client.ID, false: ""}[c.ProviderCallID == "CA-7"]; c.ClientID != want || c.Status != core.CallRinging ||
				c.DialStatus != core.DialPending || !c.StartedAt.Equal(now) {
				t.Errorf("call %s: %+v", c.ProviderCallID, c)
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if len(l.batches) >= 2*n || slices.Max(l.batches) < 2 {
			t.Errorf("batches %v: the calls were not grouped", l.batches)
		}
	})
}

// TestIncomingCallsGroupCommitFails: a batch that fails writes none of its
// calls and every webhook waiting on it gets the error; the next batch is
// not affected.
func TestIncomingCallsGroupCommitFails(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx, org, now, l := callLogEnv(t, s)
		first := ringing(org.ID, "CA-first", "+33698765432", now)
		if ok, err := l.Do(ctx, first); err != nil || !ok {
			t.Fatalf("first call: %v %v", ok, err)
		}
		release := l.hold()
		var blocker sync.WaitGroup
		blocker.Add(1)
		go func() { // holds the flusher while the batch under test piles up
			defer blocker.Done()
			if _, err := l.Do(ctx, ringing(org.ID, "CA-blocker", "+33698765432", now)); err != nil {
				t.Error(err)
			}
		}()
		<-l.held // the blocker is in the held flush
		const n = 10
		var wg sync.WaitGroup
		errs := make([]error, n)
		for i := range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				c := ringing(org.ID, fmt.Sprintf("CA-bad-%d", i), "+33698765432", now)
				if i == 3 {
					c.ID = first.ID // a primary key taken: the statement fails
				}
				_, errs[i] = l.Do(ctx, c)
			}()
		}
		l.waitSubmitted(t, 2+n)
		release()
		wg.Wait()
		blocker.Wait()
		for i, err := range errs {
			if err == nil {
				t.Errorf("call %d of the failed batch: no error", i)
			}
		}
		for i := range n {
			if _, err := s.CallByProvider(ctx, core.ProviderTwilio, fmt.Sprintf("CA-bad-%d", i)); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("call %d of the failed batch was written: %v", i, err)
			}
		}
		if ok, err := l.Do(ctx, ringing(org.ID, "CA-after", "+33698765432", now)); err != nil || !ok {
			t.Errorf("call after the failed batch: %v %v", ok, err)
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if want := []int{1, 1, n, 1}; fmt.Sprint(l.batches) != fmt.Sprint(want) {
			t.Errorf("batches %v, want %v", l.batches, want)
		}
	})
}

// TestIncomingCallsGroupCommitCancel: a webhook whose request ends before
// its call is taken withdraws it (never written); one that ends while its
// batch is in flight returns at once, and the batch still commits for the
// others (and for it).
func TestIncomingCallsGroupCommitCancel(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx, org, now, l := callLogEnv(t, s)
		release := l.hold()
		done := make(chan error, 4)
		do := func(ctx context.Context, sid string) {
			_, err := l.Do(ctx, ringing(org.ID, sid, "+33698765432", now))
			done <- err
		}
		// In flight: the held flush takes it; its caller gives up.
		inFlight, cancelInFlight := context.WithCancel(ctx)
		go do(inFlight, "CA-in-flight")
		<-l.held
		// Pending behind it: one gives up, one waits.
		pending, cancelPending := context.WithCancel(ctx)
		go do(pending, "CA-withdrawn")
		go do(ctx, "CA-kept")
		l.waitSubmitted(t, 3)
		cancelInFlight()
		cancelPending()
		for range 2 {
			if err := <-done; !errors.Is(err, context.Canceled) {
				t.Fatalf("a cancelled call: %v", err)
			}
		}
		release()
		if err := <-done; err != nil {
			t.Fatalf("the kept call: %v", err)
		}
		for sid, want := range map[string]bool{"CA-in-flight": true, "CA-withdrawn": false, "CA-kept": true} {
			_, err := s.CallByProvider(ctx, core.ProviderTwilio, sid)
			if got := err == nil; got != want {
				t.Errorf("%s written: %v (%v), want %v", sid, got, err, want)
			}
		}
		l.mu.Lock()
		defer l.mu.Unlock()
		if want := []int{1, 1}; fmt.Sprint(l.batches) != fmt.Sprint(want) {
			t.Errorf("batches %v, want %v (the withdrawn call in none)", l.batches, want)
		}
	})
}

// BenchmarkRecordIncomingCalls: one group commit's write, per call, by
// batch size (the voice webhook's share of a flush).
func BenchmarkRecordIncomingCalls(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		s := storetest.Open(b, be.URL)
		org := core.NewID()
		now := time.Now().UTC().Truncate(time.Millisecond)
		for _, size := range []int{1, 16, 64} {
			b.Run(fmt.Sprintf("%s/%d", be.Name, size), func(b *testing.B) {
				calls := make([]core.Call, size)
				n := 0
				for b.Loop() {
					for i := range calls {
						n++
						calls[i] = ringing(org, fmt.Sprintf("CA-%d-%d", size, n), "+33698765432", now)
					}
					if _, err := s.RecordIncomingCalls(context.Background(), calls); err != nil {
						b.Fatal(err)
					}
				}
				b.ReportMetric(float64(b.Elapsed().Microseconds())/float64(n), "µs/call")
			})
		}
	}
}
