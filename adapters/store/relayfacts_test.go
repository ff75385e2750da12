package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestLinkTokensBatch: the relay's batched link tokens behave as LinkToken
// one by one: a new appointment gets the token offered, one that has a
// token keeps it (whatever token is offered) with its expiry moved, and
// each token resolves to its appointment.
func TestLinkTokensBatch(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org := core.NewID()
		end := time.Date(2026, 3, 9, 11, 0, 0, 0, time.UTC)
		old := core.LinkToken{Token: core.NewLinkToken(), OrgID: org, AppointmentID: core.NewID(), Action: core.LinkManage, Expires: end}
		first, err := s.LinkToken(ctx, old)
		if err != nil || first != old.Token {
			t.Fatalf("link token: %q %v", first, err)
		}
		moved := end.Add(24 * time.Hour)
		fresh := core.LinkToken{Token: core.NewLinkToken(), OrgID: org, AppointmentID: core.NewID(), Action: core.LinkManage, Expires: end}
		again := core.LinkToken{Token: core.NewLinkToken(), OrgID: org, AppointmentID: old.AppointmentID, Action: core.LinkManage, Expires: moved}
		got, err := s.LinkTokens(ctx, []core.LinkToken{fresh, again})
		if err != nil {
			t.Fatal(err)
		}
		if len(got) != 2 || got[fresh.AppointmentID] != fresh.Token || got[old.AppointmentID] != old.Token {
			t.Fatalf("tokens %v; want %s → %s (new) and %s → %s (kept)", got, fresh.AppointmentID, fresh.Token, old.AppointmentID, old.Token)
		}
		r, err := s.ResolveLinkToken(ctx, old.Token)
		if err != nil || r.AppointmentID != old.AppointmentID || !r.Expires.Equal(moved) {
			t.Fatalf("kept token: %+v %v; want its expiry moved to %s", r, err, moved)
		}
		if _, err := s.ResolveLinkToken(ctx, again.Token); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("the token offered for an appointment that had one was stored: %v", err)
		}
		if r, err := s.ResolveLinkToken(ctx, fresh.Token); err != nil || r.AppointmentID != fresh.AppointmentID {
			t.Fatalf("new token: %+v %v", r, err)
		}
		if got, err := s.LinkTokens(ctx, nil); err != nil || len(got) != 0 {
			t.Fatalf("no tokens: %v %v", got, err)
		}
	})
}
