package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestApplyStatusOnce: a callback delivery is applied once, whatever order
// the reports come in, and a repeat changes nothing (PostgreSQL runs it as
// one statement, SQLite as a transaction: both answer alike).
func TestApplyStatusOnce(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		type step struct {
			status    core.MessageStatus
			byID      bool // the callback URL names the message and attempt
			wantFirst bool
			want      core.StatusOutcome // when first
			wantMsg   core.MessageStatus // the row after the step
		}
		tests := []struct {
			name  string
			sent  bool // the outcome is written before the reports
			steps []step
		}{
			{"delivered, then its repeat", true, []step{
				{core.MsgDelivered, false, true, core.StatusApplied, core.MsgDelivered},
				{core.MsgDelivered, false, false, core.StatusUnchanged, core.MsgDelivered},
			}},
			{"delivered before a late sent", true, []step{
				{core.MsgDelivered, true, true, core.StatusApplied, core.MsgDelivered},
				{core.MsgSent, true, true, core.StatusUnchanged, core.MsgDelivered},
				{core.MsgSent, true, false, core.StatusUnchanged, core.MsgDelivered},
			}},
			{"before the outcome: parked, then its repeat", false, []step{
				{core.MsgDelivered, true, true, core.StatusParked, core.MsgSending},
				{core.MsgDelivered, true, false, core.StatusUnchanged, core.MsgSending},
			}},
			{"before the outcome, without the message id", false, []step{
				{core.MsgDelivered, false, true, core.StatusUnknown, core.MsgSending},
			}},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
				sid := "SM" + core.NewID()
				if tt.sent {
					if _, err := s.FinishAttempt(ctx, sentAs(m, sid, now), m.Attempts); err != nil {
						t.Fatal(err)
					}
				}
				for i, st := range tt.steps {
					rep := core.StatusReport{Channel: core.ChannelSMS, ProviderID: sid, Status: st.status, At: now.Add(time.Second)}
					if st.byID {
						rep.MessageID, rep.Attempt = m.ID, m.Attempts
					}
					first, got, out, err := s.ApplyStatusOnce(ctx, "twilio.status", sid+":"+string(st.status), rep)
					if err != nil {
						t.Fatal(err)
					}
					if first != st.wantFirst || first && out != st.want {
						t.Fatalf("step %d (%s): first %v outcome %d, want %v %d", i, st.status, first, out, st.wantFirst, st.want)
					}
					if first && out != core.StatusUnknown && got.ID != m.ID {
						t.Fatalf("step %d: answered message %q, want %q", i, got.ID, m.ID)
					}
					if row, err := s.GetMessageByID(ctx, m.ID); err != nil || row.Status != st.wantMsg {
						t.Fatalf("step %d: row %s (%v), want %s", i, row.Status, err, st.wantMsg)
					}
				}
			})
		}
		// A report parked before the outcome is applied by it.
		m := claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
		sid := "SM" + core.NewID()
		if _, _, out, err := s.ApplyStatusOnce(ctx, "twilio.status", sid+":undelivered", core.StatusReport{Channel: core.ChannelSMS,
			ProviderID: sid, MessageID: m.ID, Attempt: m.Attempts, Status: core.MsgUndelivered, Code: "30005", Permanent: true,
			At: now}); err != nil || out != core.StatusParked {
			t.Fatalf("parked: %d %v", out, err)
		}
		done, err := s.FinishAttempt(ctx, sentAs(m, sid, now), m.Attempts)
		if err != nil || done.Status != core.MsgUndelivered || done.ErrorCode != "30005" {
			t.Fatalf("outcome after the parked report: %s %q %v", done.Status, done.ErrorCode, err)
		}
		if _, due, err := s.GetFallbackDue(ctx, m.ID); err != nil || !due {
			t.Fatalf("a permanent failure owes its fallback: %v %v", due, err)
		}
	})
}

// TestApplyStatusOnceRace: callbacks race the send's outcome and their own
// repeats: each report is applied, and exactly one delivery of it counts
// as first.
func TestApplyStatusOnceRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i := 0; i < 20; i++ {
			m := claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
			sid := fmt.Sprintf("SM-once-%d", i)
			var wg sync.WaitGroup
			var mu sync.Mutex
			firsts := 0
			wg.Add(3)
			go func() {
				defer wg.Done()
				if _, err := s.FinishAttempt(ctx, sentAs(m, sid, now), m.Attempts); err != nil {
					t.Error(err)
				}
			}()
			for range 2 { // Twilio's delivery and its retry
				go func() {
					defer wg.Done()
					first, _, _, err := s.ApplyStatusOnce(ctx, "twilio.status", sid+":delivered", core.StatusReport{Channel: core.ChannelSMS,
						ProviderID: sid, MessageID: m.ID, Attempt: m.Attempts, Status: core.MsgDelivered, At: now})
					if err != nil {
						t.Error(err)
					}
					if first {
						mu.Lock()
						firsts++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if got, _ := s.GetMessageByID(ctx, m.ID); got.Status != core.MsgDelivered || firsts != 1 {
				t.Fatalf("round %d: %s with %d first deliveries, want delivered and 1", i, got.Status, firsts)
			}
		}
	})
}

// TestApplyStatusOnceLosesNoReport (PostgreSQL): the send's outcome
// commits while the callback's statement waits on the row it would park
// the report on. The statement's snapshot still sees the row sending; the
// report must be applied all the same, not dropped as unknown.
func TestApplyStatusOnceLosesNoReport(t *testing.T) {
	for _, be := range storetest.Backends(t) {
		if be.Name != "postgres" {
			continue
		}
		s := storetest.Open(t, be.URL)
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		m := claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
		sid := "SM" + core.NewID()
		raw, err := sql.Open("pgx", be.URL)
		if err != nil {
			t.Fatal(err)
		}
		defer raw.Close()
		tx, err := raw.BeginTx(ctx, nil)
		if err != nil {
			t.Fatal(err)
		}
		defer tx.Rollback()
		// The outcome, written but not committed: the row is locked.
		if _, err := tx.ExecContext(ctx, `UPDATE messages SET status = 'sent', provider_id = $1 WHERE id = $2`, sid, m.ID); err != nil {
			t.Fatal(err)
		}
		type result struct {
			first bool
			out   core.StatusOutcome
			err   error
		}
		done := make(chan result, 1)
		go func() {
			first, _, out, err := s.ApplyStatusOnce(ctx, "twilio.status", sid+":delivered", core.StatusReport{Channel: core.ChannelSMS,
				ProviderID: sid, MessageID: m.ID, Attempt: m.Attempts, Status: core.MsgDelivered, At: now})
			done <- result{first, out, err}
		}()
		// Commit once the callback's statement waits on the row lock.
		for deadline := time.Now().Add(10 * time.Second); ; {
			var waiting bool
			if err := raw.QueryRowContext(ctx, `SELECT EXISTS (SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock'
				AND query LIKE 'WITH app AS%')`).Scan(&waiting); err != nil {
				t.Fatal(err)
			}
			if waiting {
				break
			}
			if time.Now().After(deadline) {
				t.Fatal("the callback never waited on the row")
			}
			time.Sleep(10 * time.Millisecond)
		}
		if err := tx.Commit(); err != nil {
			t.Fatal(err)
		}
		r := <-done
		if r.err != nil || !r.first || r.out != core.StatusApplied {
			t.Fatalf("callback: first %v outcome %d %v, want applied", r.first, r.out, r.err)
		}
		if got, err := s.GetMessageByID(ctx, m.ID); err != nil || got.Status != core.MsgDelivered {
			t.Fatalf("row %s (%v), want delivered", got.Status, err)
		}
	}
}

// TestRecordStatus: a status callback's receipt is written once with its
// report and applied later, once: a repeat writes nothing (the first
// report stays the one applied), the receipt is listed as unapplied until
// it is applied, and applying it again does nothing. A report recorded
// before the send's outcome is parked by its application and applied by
// the outcome.
func TestRecordStatus(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		unapplied := func(t *testing.T, key string) bool {
			t.Helper()
			rcs, err := s.UnappliedStatuses(ctx, now.Add(time.Hour), 1000)
			if err != nil {
				t.Fatal(err)
			}
			for _, rc := range rcs {
				if rc == (core.StatusReceipt{Provider: "twilio.status", EventID: key}) {
					return true
				}
			}
			return false
		}
		tests := []struct {
			name    string
			sent    bool // the outcome is written before the report is applied
			want    core.StatusOutcome
			wantMsg core.MessageStatus // the row after the application
		}{
			{"after the outcome: applied", true, core.StatusApplied, core.MsgUndelivered},
			{"before the outcome: parked", false, core.StatusParked, core.MsgSending},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
				sid := "SM" + core.NewID()
				key := sid + ":undelivered"
				rep := core.StatusReport{Channel: core.ChannelSMS, ProviderID: sid, MessageID: m.ID, Attempt: m.Attempts,
					Status: core.MsgUndelivered, Code: "30005", Permanent: true, At: now.Add(time.Second)}
				if first, err := s.RecordStatus(ctx, "twilio.status", key, rep); err != nil || !first {
					t.Fatalf("first delivery: %v %v", first, err)
				}
				if row, _ := s.GetMessageByID(ctx, m.ID); row.Status != core.MsgSending {
					t.Fatalf("recording moved the message to %s", row.Status)
				}
				again := rep
				again.Code, again.At = "30003", now.Add(2*time.Second)
				if first, err := s.RecordStatus(ctx, "twilio.status", key, again); err != nil || first {
					t.Fatalf("repeat: first %v %v, want false", first, err)
				}
				if !unapplied(t, key) {
					t.Fatal("the receipt is not listed as unapplied")
				}
				if tt.sent {
					if _, err := s.FinishAttempt(ctx, sentAs(m, sid, now), m.Attempts); err != nil {
						t.Fatal(err)
					}
				}
				a, applied, err := s.ApplyStatusReceipt(ctx, "twilio.status", key)
				if err != nil || !applied || a.Outcome != tt.want || a.Message.ID != m.ID || a.Report.Code != "30005" || !a.Report.Permanent ||
					!a.Report.At.Equal(rep.At) || a.Report.Attempt != m.Attempts {
					t.Fatalf("apply: %v %+v %v", applied, a, err)
				}
				if row, _ := s.GetMessageByID(ctx, m.ID); row.Status != tt.wantMsg {
					t.Fatalf("row %s, want %s", row.Status, tt.wantMsg)
				}
				if _, applied, err := s.ApplyStatusReceipt(ctx, "twilio.status", key); err != nil || applied {
					t.Fatalf("applied twice: %v %v", applied, err)
				}
				if unapplied(t, key) {
					t.Fatal("an applied receipt is still listed")
				}
				if first, err := s.RecordStatus(ctx, "twilio.status", key, rep); err != nil || first {
					t.Fatalf("repeat after the application: first %v %v, want false", first, err)
				}
				if !tt.sent {
					done, err := s.FinishAttempt(ctx, sentAs(m, sid, now), m.Attempts)
					if err != nil || done.Status != core.MsgUndelivered || done.ErrorCode != "30005" {
						t.Fatalf("outcome after the parked report: %s %q %v", done.Status, done.ErrorCode, err)
					}
				}
				if got, _ := s.GetMessageByID(ctx, m.ID); got.ErrorCode != "30005" {
					t.Fatalf("error code %q: the repeat's report was applied", got.ErrorCode)
				}
				if _, due, err := s.GetFallbackDue(ctx, m.ID); err != nil || !due {
					t.Fatalf("a permanent failure owes its fallback: %v %v", due, err)
				}
			})
		}
		// Not a status receipt, or none: nothing to apply.
		if _, applied, err := s.ApplyStatusReceipt(ctx, "twilio.status", "SM-none:delivered"); err != nil || applied {
			t.Fatalf("no receipt: %v %v", applied, err)
		}
		if _, err := s.ClaimWebhook(ctx, "stripe", "evt_1", now); err != nil {
			t.Fatal(err)
		}
		if _, applied, err := s.ApplyStatusReceipt(ctx, "stripe", "evt_1"); err != nil || applied {
			t.Fatalf("a claimed delivery of another provider: %v %v", applied, err)
		}
	})
}

// TestApplyStatusReceiptRace: a receipt's task and the sweeper apply it at
// once, racing the send's outcome: the report is applied, by exactly one.
func TestApplyStatusReceiptRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i := 0; i < 20; i++ {
			m := claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
			sid := fmt.Sprintf("SM-receipt-%d", i)
			if _, err := s.RecordStatus(ctx, "twilio.status", sid+":delivered", core.StatusReport{Channel: core.ChannelSMS,
				ProviderID: sid, MessageID: m.ID, Attempt: m.Attempts, Status: core.MsgDelivered, At: now}); err != nil {
				t.Fatal(err)
			}
			var wg sync.WaitGroup
			var mu sync.Mutex
			applied := 0
			wg.Add(3)
			go func() {
				defer wg.Done()
				if _, err := s.FinishAttempt(ctx, sentAs(m, sid, now), m.Attempts); err != nil {
					t.Error(err)
				}
			}()
			for range 2 {
				go func() {
					defer wg.Done()
					_, ok, err := s.ApplyStatusReceipt(ctx, "twilio.status", sid+":delivered")
					if err != nil {
						t.Error(err)
					}
					if ok {
						mu.Lock()
						applied++
						mu.Unlock()
					}
				}()
			}
			wg.Wait()
			if got, _ := s.GetMessageByID(ctx, m.ID); got.Status != core.MsgDelivered || applied != 1 {
				t.Fatalf("round %d: %s applied %d times, want delivered and 1", i, got.Status, applied)
			}
		}
	})
}
