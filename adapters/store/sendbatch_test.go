package store_test

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestCombinedClaimsAndOutcomes: many workers claim and finish at once, so
// their writes share groups (sendbatch.go), each message's task delivered
// three times (a sweeper re-enqueue, a redelivery): every message is
// claimed exactly once, every outcome lands on its own row, a stale
// outcome beside them writes nothing, and a parked report is applied with
// its outcome.
func TestCombinedClaimsAndOutcomes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		const n, copies = 40, 3
		ids := make([]string, n)
		for i := range ids {
			ids[i] = queuedMessage(t, s, org.ID, now).ID
		}
		// One not due yet: no copy may claim it.
		later := queuedMessage(t, s, org.ID, now.Add(time.Hour))

		var mu sync.Mutex
		wins := map[string]core.Message{}
		var wg sync.WaitGroup
		for _, id := range append(ids, later.ID) {
			for range copies {
				wg.Add(1)
				go func() {
					defer wg.Done()
					m, ok, err := s.ClaimMessage(ctx, id, now)
					if err != nil {
						t.Error(err)
						return
					}
					if !ok {
						if m.ID != id || (m.Status != core.MsgSending && m.Status != core.MsgQueued) {
							t.Errorf("not claimed: %s %s", m.ID, m.Status)
						}
						return
					}
					mu.Lock()
					defer mu.Unlock()
					if _, twice := wins[id]; twice {
						t.Errorf("%s claimed twice", id)
					}
					wins[id] = m
				}()
			}
		}
		wg.Wait()
		if len(wins) != n {
			t.Fatalf("%d messages claimed, want %d", len(wins), n)
		}
		if _, ok := wins[later.ID]; ok {
			t.Fatal("a message not due was claimed")
		}

		// A delivery report overtakes the outcome of the first message.
		first := wins[ids[0]]
		if _, out, err := s.ApplyStatus(ctx, core.StatusReport{Channel: core.ChannelSMS, ProviderID: "SM-0", MessageID: first.ID,
			Attempt: first.Attempts, Status: core.MsgDelivered, At: now}); err != nil || out != core.StatusParked {
			t.Fatalf("report: %d %v", out, err)
		}
		// Every outcome at once, each beside a stale one of the same row.
		for i, id := range ids {
			m := wins[id]
			for _, claimed := range []int{m.Attempts, m.Attempts + 1} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					done, err := s.FinishAttempt(ctx, sentAs(m, fmt.Sprintf("SM-%d", i), now.Add(time.Second)), claimed)
					if claimed != m.Attempts {
						if !errors.Is(err, core.ErrStaleAttempt) {
							t.Errorf("stale outcome of %s: %v", id, err)
						}
						return
					}
					if err != nil || done.ID != id || done.ProviderID != fmt.Sprintf("SM-%d", i) {
						t.Errorf("outcome of %s: %s %s %v", id, done.ID, done.ProviderID, err)
					}
				}()
			}
		}
		wg.Wait()
		for i, id := range ids {
			got, err := s.GetMessageByID(ctx, id)
			want := core.MsgSent
			if i == 0 {
				want = core.MsgDelivered // the parked report, applied with the outcome
			}
			if err != nil || got.Status != want || got.ProviderID != fmt.Sprintf("SM-%d", i) || got.Attempts != 1 {
				t.Fatalf("%d: %s %q attempts %d %v, want %s", i, got.Status, got.ProviderID, got.Attempts, err, want)
			}
		}
		if got, _ := s.GetMessageByID(ctx, later.ID); got.Status != core.MsgQueued || got.Attempts != 0 {
			t.Fatalf("the message not due: %s attempts %d", got.Status, got.Attempts)
		}
	})
}

// TestClaimsBesideOutcomes: claims of some messages and outcomes of others
// arrive at the same moment, so on PostgreSQL they share batches (one
// round trip, one commit: jointMany): each claim is answered with its own
// row, each outcome lands on its own, a stale outcome beside them writes
// nothing, and a message is claimed once however many tasks ask.
func TestClaimsBesideOutcomes(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		const n = 60
		sending := make([]core.Message, n) // claimed before: their outcomes go in
		queued := make([]string, n)        // claimed now
		for i := range n {
			sending[i] = claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
			queued[i] = queuedMessage(t, s, org.ID, now).ID
		}
		start := make(chan struct{})
		var wg sync.WaitGroup
		var mu sync.Mutex
		claimedBy := map[string]int{}
		for i := range n {
			for copy := range 2 {
				wg.Add(1)
				go func() { // a claim, twice per message
					defer wg.Done()
					<-start
					m, ok, err := s.ClaimMessage(ctx, queued[i], now)
					if err != nil {
						t.Error(err)
						return
					}
					if ok {
						if m.ID != queued[i] || m.Status != core.MsgSending || m.Attempts != 1 {
							t.Errorf("claim %d/%d answered with %s %s attempt %d", i, copy, m.ID, m.Status, m.Attempts)
						}
						mu.Lock()
						claimedBy[m.ID]++
						mu.Unlock()
					}
				}()
			}
			m := sending[i]
			for _, claimed := range []int{m.Attempts, m.Attempts + 1} {
				wg.Add(1)
				go func() { // its outcome, and a stale one
					defer wg.Done()
					<-start
					done, err := s.FinishAttempt(ctx, sentAs(m, fmt.Sprintf("SM-%d", i), now.Add(time.Second)), claimed)
					if claimed != m.Attempts {
						if !errors.Is(err, core.ErrStaleAttempt) {
							t.Errorf("stale outcome of %d: %v", i, err)
						}
						return
					}
					if err != nil || done.ID != m.ID || done.Status != core.MsgSent || done.ProviderID != fmt.Sprintf("SM-%d", i) {
						t.Errorf("outcome of %d answered with %s %s %q %v", i, done.ID, done.Status, done.ProviderID, err)
					}
				}()
			}
		}
		close(start)
		wg.Wait()
		for i := range n {
			if claimedBy[queued[i]] != 1 {
				t.Fatalf("message %d claimed %d times", i, claimedBy[queued[i]])
			}
			got, err := s.GetMessageByID(ctx, sending[i].ID)
			if err != nil || got.Status != core.MsgSent || got.ProviderID != fmt.Sprintf("SM-%d", i) {
				t.Fatalf("outcome %d: %s %q %v", i, got.Status, got.ProviderID, err)
			}
			if got, _ := s.GetMessageByID(ctx, queued[i]); got.Status != core.MsgSending || got.Attempts != 1 {
				t.Fatalf("claim %d: %s attempt %d", i, got.Status, got.Attempts)
			}
		}
	})
}

// TestJointFailureSparesOutcomes (PostgreSQL): when the claims of a joint
// batch fail (here a trigger refuses one message's claim), the batch's
// outcomes are written anyway, each group being tried again on its own:
// an outcome lost with the claims would leave its sent message to be sent
// a second time when its lease ran out.
func TestJointFailureSparesOutcomes(t *testing.T) {
	ctx := context.Background()
	s, db := postgresStore(t)
	org, _, _ := newOrg(t, s, "A")
	now := time.Now().UTC().Truncate(time.Millisecond)
	const n = 40
	sending := make([]core.Message, n)
	for i := range sending {
		sending[i] = claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
	}
	poison := queuedMessage(t, s, org.ID, now)
	for _, q := range []string{
		`CREATE FUNCTION refuse_claim() RETURNS trigger LANGUAGE plpgsql AS $$
		BEGIN RAISE EXCEPTION 'claim refused'; END $$`,
		`CREATE TRIGGER refuse_claim BEFORE UPDATE ON messages FOR EACH ROW
		WHEN (NEW.id = '` + poison.ID + `' AND NEW.status = 'sending') EXECUTE FUNCTION refuse_claim()`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatal(err)
		}
	}
	start := make(chan struct{})
	var wg sync.WaitGroup
	for i, m := range sending {
		wg.Add(2)
		go func() {
			defer wg.Done()
			<-start
			if _, ok, err := s.ClaimMessage(ctx, poison.ID, now); err == nil || ok {
				t.Errorf("the refused claim: ok %v, err %v", ok, err)
			}
		}()
		go func() {
			defer wg.Done()
			<-start
			done, err := s.FinishAttempt(ctx, sentAs(m, fmt.Sprintf("SM-%d", i), now.Add(time.Second)), m.Attempts)
			if err != nil || done.Status != core.MsgSent {
				t.Errorf("outcome %d: %s %v", i, done.Status, err)
			}
		}()
	}
	close(start)
	wg.Wait()
	for i, m := range sending {
		if got, err := s.GetMessageByID(ctx, m.ID); err != nil || got.Status != core.MsgSent || got.ProviderID != fmt.Sprintf("SM-%d", i) {
			t.Fatalf("outcome %d: %s %q %v", i, got.Status, got.ProviderID, err)
		}
	}
	if got, _ := s.GetMessageByID(ctx, poison.ID); got.Status != core.MsgQueued || got.Attempts != 0 {
		t.Fatalf("the refused message: %s attempts %d", got.Status, got.Attempts)
	}
}

// TestClaimAfterClose: a store closed under a worker answers its claim
// with an error instead of blocking it.
func TestClaimAfterClose(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s, err := store.Open(context.Background(), b.URL, true)
			if err != nil {
				t.Fatal(err)
			}
			s.Close()
			done := make(chan error, 1)
			go func() {
				_, _, err := s.ClaimMessage(context.Background(), core.NewID(), time.Now())
				done <- err
			}()
			select {
			case err := <-done:
				if err == nil {
					t.Fatal("claim on a closed store: no error")
				}
			case <-time.After(5 * time.Second):
				t.Fatal("claim on a closed store blocks")
			}
		})
	}
}
