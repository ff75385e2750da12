package store_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

func TestSelfServeStore(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		o, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)

		// Start tokens: the live one is found, an expired one is not.
		inv := core.NewID()
		old := core.StartToken{Token: "old_token", OrgID: o.ID, InvitationID: inv, Expires: now.Add(-time.Minute), CreatedAt: now.Add(-time.Hour)}
		live := core.StartToken{Token: "live-token", OrgID: o.ID, InvitationID: inv, Expires: now.Add(time.Hour), CreatedAt: now}
		for _, tk := range []core.StartToken{old, live} {
			if err := s.SaveStartToken(ctx, tk); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.LiveStartToken(ctx, inv, now); err != nil || got.Token != live.Token {
			t.Fatalf("LiveStartToken = %+v, %v", got, err)
		}
		if got, err := s.ResolveStartToken(ctx, "old_token"); err != nil || !got.Expires.Equal(old.Expires) || got.OrgID != o.ID {
			t.Fatalf("ResolveStartToken = %+v, %v", got, err)
		}
		if _, err := s.ResolveStartToken(ctx, "nope"); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("unknown token err = %v", err)
		}

		// One-time codes: every check counts, even concurrent ones; a code
		// is used once.
		otp := core.OTP{ID: core.NewID(), OrgID: o.ID, Phone: "+33612345678", CodeHash: "h", Expires: now.Add(10 * time.Minute), CreatedAt: now,
			Request: core.BookingRequest{InvitationCode: "c", Name: "Zoé", Start: now.Add(24 * time.Hour)}}
		if err := s.CreateOTP(ctx, otp); err != nil {
			t.Fatal(err)
		}
		var wg sync.WaitGroup
		for i := 0; i < 4; i++ {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if _, err := s.CountOTPCheck(ctx, otp.ID); err != nil {
					t.Error(err)
				}
			}()
		}
		wg.Wait()
		got, err := s.CountOTPCheck(ctx, otp.ID)
		if err != nil || got.Attempts != 5 || got.Request.Name != "Zoé" || !got.Request.Start.Equal(otp.Request.Start) || got.UsedAt != nil {
			t.Fatalf("CountOTPCheck = %+v, %v", got, err)
		}
		if ok, err := s.UseOTP(ctx, otp.ID, now); !ok || err != nil {
			t.Fatalf("first use = %v, %v", ok, err)
		}
		if ok, err := s.UseOTP(ctx, otp.ID, now); ok || err != nil {
			t.Fatalf("replay = %v, %v", ok, err)
		}

		// Hits: counted in a window, the latest read, old ones purged.
		for _, at := range []time.Time{now.Add(-3 * time.Hour), now.Add(-20 * time.Minute), now.Add(-time.Minute)} {
			if err := s.Hit(ctx, core.HitSendPhone, "+33612345678", at); err != nil {
				t.Fatal(err)
			}
		}
		if n, err := s.CountHits(ctx, core.HitSendPhone, "+33612345678", now.Add(-10*time.Minute)); n != 1 || err != nil {
			t.Fatalf("CountHits = %d, %v", n, err)
		}
		if last, err := s.LastHit(ctx, core.HitSendPhone, "+33612345678"); !last.Equal(now.Add(-time.Minute)) || err != nil {
			t.Fatalf("LastHit = %v, %v", last, err)
		}
		if last, err := s.LastHit(ctx, core.HitSendIP, "1.2.3.4"); !last.IsZero() || err != nil {
			t.Fatalf("LastHit of none = %v, %v", last, err)
		}
		if n, err := s.PurgeSelfServe(ctx, now.Add(-2*time.Hour)); n != 1 || err != nil { // the three-hour-old hit; the token expired a minute ago stays
			t.Fatalf("PurgeSelfServe = %d, %v", n, err)
		}

		// Payment result pages: found by reference; a paid state sticks.
		l, err := s.SavePaymentLink(ctx, core.StoredLink{ID: core.NewID(), OrgID: o.ID, Purpose: "appointment", RefID: core.NewID(),
			AmountMinor: 100, Currency: "EUR", ProviderID: "cs_1", URL: "u", Ref: "ref_1", CreatedAt: now})
		if err != nil {
			t.Fatal(err)
		}
		for _, st := range []string{core.LinkPaid, core.LinkExpired} {
			if _, err := s.SetPaymentLinkState(ctx, "cs_1", st); err != nil {
				t.Fatal(err)
			}
		}
		if got, err := s.PaymentLinkByRef(ctx, "ref_1"); err != nil || got.State != core.LinkPaid || got.ID != l.ID {
			t.Fatalf("PaymentLinkByRef = %+v, %v", got, err)
		}
		if _, err := s.PaymentLinkByRef(ctx, ""); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("empty ref err = %v", err)
		}
	})
}
