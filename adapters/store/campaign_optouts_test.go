package store_test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// The send gate's snapshot of opted-out clients has both kinds of
// opt-out, of this organization and sender only, and says when it is cut.
func TestOptedOutClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		other, _, _ := newOrg(t, s, "B")
		now := time.Now().UTC().Truncate(time.Millisecond)
		own := mustCreateClient(t, s, newTestClient(org.ID, "Own", "OptOut", "+33600000001", now))
		stop := mustCreateClient(t, s, newTestClient(org.ID, "Sent", "Stop", "+33600000002", now))
		mustCreateClient(t, s, newTestClient(org.ID, "Still", "In", "+33600000003", now))
		elsewhere := mustCreateClient(t, s, newTestClient(other.ID, "Other", "Org", "+33600000004", now))
		for _, c := range []core.Client{own, elsewhere} {
			if err := s.SetClientChannels(ctx, c.OrgID, c.ID, []core.ChannelPref{{Channel: core.ChannelSMS, OptedOut: &now}}); err != nil {
				t.Fatal(err)
			}
		}
		for _, sender := range []string{"+15005550006", "+15005550007"} {
			if err := s.SetSenderOptOut(ctx, core.SenderOptOut{Channel: core.ChannelSMS, Sender: sender, Phone: stop.Phone, At: now}, true); err != nil {
				t.Fatal(err)
			}
		}
		got, complete, err := s.OptedOutClients(ctx, org.ID, "+15005550006", 10)
		if err != nil {
			t.Fatal(err)
		}
		if !complete || len(got) != 2 || !slices.Equal(got[own.ID], []core.Channel{core.ChannelSMS}) ||
			!slices.Equal(got[stop.ID], []core.Channel{core.ChannelSMS}) {
			t.Errorf("snapshot %v (complete %v): want the own opt-out and the STOP to this sender", got, complete)
		}
		if got, complete, err := s.OptedOutClients(ctx, org.ID, "+15005550006", 1); err != nil || complete || len(got) != 1 {
			t.Errorf("cut at 1: %v complete %v err %v", got, complete, err)
		}
	})
}

// A campaign is pending while one of its recipients' messages is queued,
// sending or paused; its test sends and other campaigns do not count.
func TestCampaignPending(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		id, other := core.NewID(), core.NewID()
		msg := func(campaign, kind string, st core.MessageStatus) core.Message {
			return core.Message{ID: core.NewID(), OrgID: org.ID, RecipientKind: "client", RecipientID: core.NewID(), Channel: core.ChannelSMS,
				To: "+33600000001", Kind: kind, Locale: "fr", Body: "x", Status: st, DedupeKey: core.NewID(), CampaignID: campaign,
				DueAt: now, CreatedAt: now, UpdatedAt: now}
		}
		for _, tc := range []struct {
			name string
			add  core.Message
			want bool
		}{
			{"no message", core.Message{}, false},
			{"sent, skipped and failed", msg(id, core.KindCampaign, core.MsgSent), false},
			{"a queued test send", msg(id, core.KindCampaignTest, core.MsgQueued), false},
			{"another campaign's queued message", msg(other, core.KindCampaign, core.MsgQueued), false},
			{"one paused", msg(id, core.KindCampaign, core.MsgPaused), true},
		} {
			if tc.add.ID != "" {
				batch := []core.Message{tc.add}
				if tc.add.Status == core.MsgSent {
					batch = append(batch, msg(id, core.KindCampaign, core.MsgSkipped), msg(id, core.KindCampaign, core.MsgFailed))
				}
				if _, err := s.InsertMessages(ctx, batch); err != nil {
					t.Fatal(err)
				}
			}
			if got, err := s.CampaignPending(ctx, id); err != nil || got != tc.want {
				t.Errorf("%s: pending %v, %v; want %v", tc.name, got, err, tc.want)
			}
		}
	})
}
