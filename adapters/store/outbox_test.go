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

// queuedMessage writes a queued SMS of an organization with email as its
// fallback, due now.
func queuedMessage(t *testing.T, s *store.Store, orgID string, now time.Time) core.Message {
	t.Helper()
	m := core.Message{ID: core.NewID(), OrgID: orgID, RecipientKind: "client", RecipientID: core.NewID(), Channel: core.ChannelSMS,
		To: "+33612345678", Kind: core.KindAccepted, Locale: "fr", Body: "hello", Status: core.MsgQueued, DedupeKey: core.NewID(),
		Fallback: []core.Channel{core.ChannelEmail}, EventID: core.NewID(), DueAt: now, CreatedAt: now, UpdatedAt: now}
	if _, created, err := s.InsertMessage(context.Background(), m); err != nil || !created {
		t.Fatalf("insert message: %v %v", created, err)
	}
	return m
}

func claim(t *testing.T, s *store.Store, id string, now time.Time) core.Message {
	t.Helper()
	m, ok, err := s.ClaimMessage(context.Background(), id, now)
	if err != nil || !ok {
		t.Fatalf("claim: %v %v (status %s)", ok, err, m.Status)
	}
	return m
}

func sentAs(m core.Message, sid string, at time.Time) core.Message {
	m.Status, m.ProviderID, m.SentAt, m.UpdatedAt = core.MsgSent, sid, &at, at
	return m
}

// TestStaleAttemptCannotOverwrite: a worker whose lease ran out (the
// sweeper requeued the message and a second worker claimed and sent it)
// writes its late outcome: nothing changes.
func TestStaleAttemptCannotOverwrite(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		m := queuedMessage(t, s, org.ID, now)
		first := claim(t, s, m.ID, now)
		// The lease runs out: the sweeper puts it back; a new worker claims it.
		if _, err := s.RequeueMessage(ctx, "", m.ID, now.Add(time.Minute)); err != nil {
			t.Fatal(err)
		}
		second := claim(t, s, m.ID, now.Add(time.Minute))
		if first.Attempts != 1 || second.Attempts != 2 {
			t.Fatalf("attempts %d and %d", first.Attempts, second.Attempts)
		}
		if _, err := s.FinishAttempt(ctx, sentAs(second, "SM-new", now.Add(time.Minute)), second.Attempts); err != nil {
			t.Fatal(err)
		}
		// The first worker comes back, with a failure and with a success.
		late := first
		late.Status, late.LastError, late.UpdatedAt = core.MsgFailed, "timeout", now.Add(2*time.Minute)
		if _, err := s.FinishAttempt(ctx, late, first.Attempts); !errors.Is(err, core.ErrStaleAttempt) {
			t.Fatalf("late failure: err = %v, want ErrStaleAttempt", err)
		}
		if err := s.FinishMessage(ctx, sentAs(first, "SM-old", now.Add(2*time.Minute))); !errors.Is(err, core.ErrStaleAttempt) {
			t.Fatalf("late success: err = %v, want ErrStaleAttempt", err)
		}
		got, err := s.GetMessageByID(ctx, m.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Status != core.MsgSent || got.ProviderID != "SM-new" || got.Attempts != 2 || got.LastError != "" {
			t.Fatalf("after the stale outcome: %s %q attempts %d error %q", got.Status, got.ProviderID, got.Attempts, got.LastError)
		}
	})
}

// TestStatusBeforeOutcome: the provider's report overtakes the write of
// the send's outcome; it waits on the row and applies with the outcome.
func TestStatusBeforeOutcome(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		tests := []struct {
			name     string
			reports  []core.MessageStatus
			code     string
			perm     bool
			want     core.MessageStatus
			fallback bool
		}{
			{"delivered", []core.MessageStatus{core.MsgDelivered}, "", false, core.MsgDelivered, false},
			{"sent then delivered", []core.MessageStatus{core.MsgSent, core.MsgDelivered}, "", false, core.MsgDelivered, false},
			{"delivered then a late sent", []core.MessageStatus{core.MsgDelivered, core.MsgSent}, "", false, core.MsgDelivered, false},
			{"undelivered, permanent", []core.MessageStatus{core.MsgUndelivered}, "30005", true, core.MsgUndelivered, true},
			{"undelivered, temporary", []core.MessageStatus{core.MsgUndelivered}, "30008", false, core.MsgUndelivered, false},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				m := claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
				sid := "SM" + core.NewID()
				for _, st := range tt.reports {
					_, out, err := s.ApplyStatus(ctx, core.StatusReport{Channel: core.ChannelSMS, ProviderID: sid, MessageID: m.ID,
						Attempt: m.Attempts, Status: st, Code: tt.code, Permanent: tt.perm, At: now.Add(time.Second)})
					if err != nil {
						t.Fatal(err)
					}
					if want := core.StatusParked; out != want && st == tt.reports[0] {
						t.Fatalf("report %s: outcome %d, want parked", st, out)
					}
				}
				// A report naming another attempt of the message is not parked.
				if _, out, err := s.ApplyStatus(ctx, core.StatusReport{Channel: core.ChannelSMS, ProviderID: "SM-other", MessageID: m.ID,
					Attempt: m.Attempts + 1, Status: core.MsgFailed, Code: "30005", Permanent: true, At: now}); err != nil || out != core.StatusUnknown {
					t.Fatalf("report of another attempt: %d %v", out, err)
				}
				done, err := s.FinishAttempt(ctx, sentAs(m, sid, now.Add(2*time.Second)), m.Attempts)
				if err != nil {
					t.Fatal(err)
				}
				if done.Status != tt.want || done.ProviderID != sid || done.ErrorCode != tt.code {
					t.Fatalf("after the outcome: %s %q code %q, want %s", done.Status, done.ProviderID, done.ErrorCode, tt.want)
				}
				if (tt.want == core.MsgDelivered) != (done.DeliveredAt != nil) {
					t.Fatalf("delivered_at %v with status %s", done.DeliveredAt, done.Status)
				}
				_, due, err := s.GetFallbackDue(ctx, m.ID)
				if err != nil || due != tt.fallback {
					t.Fatalf("fallback due %v (%v), want %v", due, err, tt.fallback)
				}
				// After the outcome, reports apply directly; repeats change nothing.
				_, out, err := s.ApplyStatus(ctx, core.StatusReport{Channel: core.ChannelSMS, ProviderID: sid, Status: tt.want, At: now})
				if err != nil || out != core.StatusUnchanged {
					t.Fatalf("repeat: %d %v", out, err)
				}
			})
		}
		// An unknown SID is unknown.
		if _, out, err := s.ApplyStatus(ctx, core.StatusReport{Channel: core.ChannelSMS, ProviderID: "SM-nobody", Status: core.MsgDelivered,
			At: now}); err != nil || out != core.StatusUnknown {
			t.Fatalf("unknown: %d %v", out, err)
		}
	})
}

// TestStatusAndOutcomeRace: the report and the outcome race many times;
// the report is never lost.
func TestStatusAndOutcomeRace(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		for i := 0; i < 20; i++ {
			m := claim(t, s, queuedMessage(t, s, org.ID, now).ID, now)
			sid := fmt.Sprintf("SM-race-%d", i)
			var wg sync.WaitGroup
			wg.Add(2)
			go func() {
				defer wg.Done()
				if _, err := s.FinishAttempt(ctx, sentAs(m, sid, now), m.Attempts); err != nil {
					t.Error(err)
				}
			}()
			go func() {
				defer wg.Done()
				if _, _, err := s.ApplyStatus(ctx, core.StatusReport{Channel: core.ChannelSMS, ProviderID: sid, MessageID: m.ID,
					Attempt: m.Attempts, Status: core.MsgDelivered, At: now}); err != nil {
					t.Error(err)
				}
			}()
			wg.Wait()
			if got, _ := s.GetMessageByID(ctx, m.ID); got.Status != core.MsgDelivered {
				t.Fatalf("round %d: %s, want delivered", i, got.Status)
			}
		}
	})
}

// TestWebhookReceipts: the insert decides first time or repeat; a delivery
// not handled (a crash) is handled again; old records are purged.
func TestWebhookReceipts(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now().UTC().Truncate(time.Millisecond)
		steps := []struct {
			do   func() (bool, error)
			want bool
			what string
		}{
			{func() (bool, error) { return s.ClaimWebhook(ctx, "stripe", "evt_1", now) }, true, "first delivery"},
			{func() (bool, error) { return s.ClaimWebhook(ctx, "stripe", "evt_1", now) }, true, "retry of an unhandled delivery"},
			{func() (bool, error) { return true, s.FinishWebhook(ctx, "stripe", "evt_1", now) }, true, "handled"},
			{func() (bool, error) { return s.ClaimWebhook(ctx, "stripe", "evt_1", now) }, false, "repeat of a handled delivery"},
			{func() (bool, error) { return s.ClaimWebhook(ctx, "twilio.sms", "evt_1", now) }, true, "same id, other provider"},
			{func() (bool, error) { return s.RecordWebhook(ctx, "twilio.status", "SM1:delivered", now) }, true, "recorded handled"},
			{func() (bool, error) { return s.ClaimWebhook(ctx, "twilio.status", "SM1:delivered", now) }, false, "repeat of it"},
		}
		for _, st := range steps {
			if got, err := st.do(); err != nil || got != st.want {
				t.Fatalf("%s: %v %v, want %v", st.what, got, err, st.want)
			}
		}
		if _, err := s.ClaimWebhook(ctx, "stripe", "evt_old", now.Add(-40*24*time.Hour)); err != nil {
			t.Fatal(err)
		}
		// An old status receipt not applied yet outlives the purge.
		old := core.StatusReport{Channel: core.ChannelSMS, ProviderID: "SMold", MessageID: core.NewID(), Attempt: 1,
			Status: core.MsgDelivered, At: now.Add(-40 * 24 * time.Hour)}
		if first, err := s.RecordStatus(ctx, "twilio.status", "SMold:delivered", old); err != nil || !first {
			t.Fatalf("record old receipt: %v %v", first, err)
		}
		if n, err := s.PurgeWebhooks(ctx, now.Add(-30*24*time.Hour)); err != nil || n != 1 {
			t.Fatalf("purge: %d %v", n, err)
		}
		if first, _ := s.ClaimWebhook(ctx, "stripe", "evt_1", now); first {
			t.Fatal("purge removed a recent record")
		}
		if rcs, err := s.UnappliedStatuses(ctx, now, 10); err != nil || len(rcs) != 1 || rcs[0].EventID != "SMold:delivered" {
			t.Fatalf("purge removed an unapplied status receipt: %v %v", rcs, err)
		}
	})
}

// appointment books one accepted visit priced in currency.
func appointment(t *testing.T, s *store.Store, org core.Organization, spec core.Staff, price int64, currency string) core.Appointment {
	t.Helper()
	ctx := context.Background()
	now := time.Now().UTC().Truncate(time.Millisecond)
	sv := core.Offering{ID: core.NewID(), OrgID: org.ID, Name: "Visit", DurationMin: 60, IntervalMin: 60, Capacity: 1, PriceMinor: &price,
		Currency: currency, Active: true, CreatedAt: now}
	if err := s.CreateService(ctx, sv); err != nil {
		t.Fatal(err)
	}
	c := mustCreateClient(t, s, newTestClient(org.ID, "Anna", "Petrova", "+33612345678", now))
	start := now.Add(48 * time.Hour).Truncate(time.Hour)
	a := core.Appointment{ID: core.NewID(), OrgID: org.ID, SpecialistID: spec.ID, ServiceID: sv.ID, ClientID: c.ID, Start: start,
		End: start.Add(time.Hour), Seats: 1, Status: core.Accepted, RequestedBy: "staff", PriceMinor: price, Currency: currency,
		CreatedAt: now, UpdatedAt: now}
	if err := s.InBookingTx(ctx, org.ID, []string{spec.ID}, func(tx core.BookingTx) error { return tx.InsertAppointment(ctx, a) }); err != nil {
		t.Fatal(err)
	}
	return a
}

func stripePayment(orgID string, amount int64, currency, ref string) core.Payment {
	return core.Payment{ID: core.NewID(), OrgID: orgID, AmountMinor: amount, Currency: currency, Method: "stripe", ProviderRef: ref,
		CreatedAt: time.Now().UTC().Truncate(time.Millisecond)}
}

// TestConcurrentRefunds: two refund reports of one charge (cumulative 100
// and 300) race; 300 is recorded in all, once, whatever the order.
func TestConcurrentRefunds(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, dir, _ := newOrg(t, s, "A")
		a := appointment(t, s, org, dir, 5000, "EUR")
		for round := 0; round < 10; round++ {
			charge := fmt.Sprintf("ch_%d_%s", round, core.NewID()[:8])
			pay := stripePayment(org.ID, 500, "EUR", "pi_"+charge)
			pay.AppointmentID = a.ID
			if _, added, err := s.AddPayment(ctx, pay); err != nil || !added {
				t.Fatalf("payment: %v %v", added, err)
			}
			before, _ := s.GetAppointment(ctx, org.ID, a.ID)
			var wg sync.WaitGroup
			for _, cum := range []int64{100, 300} {
				wg.Add(1)
				go func() {
					defer wg.Done()
					p := stripePayment(org.ID, 0, "EUR", "")
					if _, err := s.AddProviderRefund(ctx, p, "appointment", a.ID, charge, cum); err != nil {
						t.Error(err)
					}
				}()
			}
			wg.Wait()
			if added, err := s.AddProviderRefund(ctx, stripePayment(org.ID, 0, "EUR", ""), "appointment", a.ID, charge, 300); err != nil || added {
				t.Fatalf("repeat of 300: %v %v", added, err)
			}
			refunded, err := s.RefundedSoFar(ctx, charge)
			if err != nil || refunded != 300 {
				t.Fatalf("round %d: refunded %d (%v), want 300", round, refunded, err)
			}
			after, _ := s.GetAppointment(ctx, org.ID, a.ID)
			if after.PaidMinor != before.PaidMinor-300 {
				t.Fatalf("round %d: paid %d → %d, want -300", round, before.PaidMinor, after.PaidMinor)
			}
		}
	})
}

// TestPaymentInAnotherCurrency: recorded, not counted, staff told; the
// event carries the totals as of the payment.
func TestPaymentInAnotherCurrency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, dir, _ := newOrg(t, s, "A")
		a := appointment(t, s, org, dir, 5000, "EUR")
		eur := stripePayment(org.ID, 2000, "EUR", "pi_eur")
		eur.AppointmentID = a.ID
		usd := stripePayment(org.ID, 7500, "USD", "pi_usd")
		usd.AppointmentID = a.ID
		for _, p := range []core.Payment{eur, usd} {
			if _, _, err := s.AddPayment(ctx, p); err != nil {
				t.Fatal(err)
			}
		}
		got, _ := s.GetAppointment(ctx, org.ID, a.ID)
		if got.PaidMinor != 2000 || got.BalanceMinor != 3000 {
			t.Fatalf("paid %d balance %d, want 2000 and 3000", got.PaidMinor, got.BalanceMinor)
		}
		ledger, err := s.ListPayments(ctx, org.ID, a.ID)
		if err != nil || len(ledger) != 2 {
			t.Fatalf("ledger: %d rows (%v)", len(ledger), err)
		}
		events, err := s.ListEvents(ctx, org.ID, core.Page{})
		if err != nil {
			t.Fatal(err)
		}
		var pays []core.Event
		for _, e := range events {
			if e.Kind == core.EventPaymentAdded {
				pays = append(pays, e)
			}
		}
		if len(pays) != 2 {
			t.Fatalf("%d payment events", len(pays))
		}
		if d := pays[0].Data.(*core.PaymentRecorded); d.PaidMinor == nil || *d.PaidMinor != 2000 || *d.BalanceMinor != 3000 || d.CurrencyMismatch {
			t.Fatalf("EUR payment event: %+v", d)
		}
		if d := pays[1].Data.(*core.PaymentRecorded); !d.CurrencyMismatch || d.StaffID != dir.ID || *d.PaidMinor != 2000 || d.Currency != "USD" {
			t.Fatalf("USD payment event: %+v", d)
		}
		intents := core.PlanEvent(pays[1])
		if len(intents) != 1 || intents[0].Kind != core.KindStaffPaymentCurrency || intents[0].Recipient.ID != dir.ID {
			t.Fatalf("USD payment tells %+v", intents)
		}
	})
}

// TestFailedEvents: a failed event is skipped by the relay's reads, listed
// for its organization only, and retried.
func TestFailedEvents(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			s := storetest.Open(t, b.URL)
			ctx := context.Background()
			org, _, _ := newOrg(t, s, "A")
			other, _, _ := newOrg(t, s, "B")
			bad, good := storetest.PoisonedEvent(org.ID), storetest.PoisonedEvent(org.ID)
			storetest.InsertEvent(t, b.URL, bad)
			storetest.InsertEvent(t, b.URL, good)
			now := time.Now()
			// Two transient failures keep it pending; the third fails it.
			for i := 0; i < 3; i++ {
				if pending, _ := s.PendingEventsAfter(ctx, "", 10); len(pending) != 2 {
					t.Fatalf("try %d: %d pending, want 2", i, len(pending))
				}
				if err := s.FailEvent(ctx, bad.ID, "database hiccup", false, now); err != nil {
					t.Fatal(err)
				}
			}
			pending, _ := s.PendingEventsAfter(ctx, "", 10)
			if len(pending) != 1 || pending[0].ID != good.ID {
				t.Fatalf("pending after the failure: %v", pending)
			}
			if after, _ := s.PendingEventsAfter(ctx, good.ID, 10); len(after) != 0 {
				t.Fatalf("pending after the cursor: %v", after)
			}
			failed, err := s.FailedEvents(ctx, org.ID, core.Page{})
			if err != nil || len(failed) != 1 || failed[0].ID != bad.ID || failed[0].Error != "database hiccup" || failed[0].Attempts != 3 {
				t.Fatalf("failed events: %+v %v", failed, err)
			}
			if l, _ := s.FailedEvents(ctx, other.ID, core.Page{}); len(l) != 0 {
				t.Fatalf("B sees A's failed events: %v", l)
			}
			if _, err := s.RetryEvent(ctx, other.ID, bad.ID); core.ErrorCode(err) != core.CodeNotFound {
				t.Fatalf("B retries A's event: %v", err)
			}
			if _, err := s.RetryEvent(ctx, org.ID, bad.ID); err != nil {
				t.Fatal(err)
			}
			if _, err := s.RetryEvent(ctx, org.ID, bad.ID); core.ErrorCode(err) != core.CodeConflict {
				t.Fatalf("retry of a pending event: %v", err)
			}
			if pending, _ := s.PendingEventsAfter(ctx, "", 10); len(pending) != 2 {
				t.Fatalf("after the retry: %d pending, want 2", len(pending))
			}
			// A permanent error fails it at once.
			if err := s.FailEvent(ctx, bad.ID, "no such appointment", true, now); err != nil {
				t.Fatal(err)
			}
			if l, _ := s.FailedEvents(ctx, org.ID, core.Page{}); len(l) != 1 {
				t.Fatalf("after a permanent error: %d failed", len(l))
			}
		})
	}
}
