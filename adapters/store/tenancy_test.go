package store_test

import (
	"context"
	"reflect"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

func newOrg(t *testing.T, s *store.Store, name string) (core.Organization, core.Staff, core.APIKey) {
	t.Helper()
	now := time.Now().UTC().Truncate(time.Millisecond)
	o := core.Organization{ID: core.NewID(), Name: name, Timezone: "Europe/Paris", Locale: "fr", Currency: "EUR", LostAfterDays: 28,
		CancelNoticeHours: 24, ChannelOrder: []core.Channel{core.ChannelSMS, core.ChannelEmail}, CreatedAt: now}
	d := core.Staff{ID: core.NewID(), OrgID: o.ID, Name: "Dir", Role: core.RoleDirector, Timezone: "Europe/Paris", CenterIDs: []string{}, Active: true, CreatedAt: now}
	k := core.APIKey{ID: core.NewID(), OrgID: o.ID, StaffID: d.ID, Name: "boot", Hash: "h", CreatedAt: now}
	if err := s.CreateOrganization(context.Background(), o, d, k); err != nil {
		t.Fatal(err)
	}
	return o, d, k
}

func TestTenancy(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, dirA, keyA := newOrg(t, s, "A")
		b, _, _ := newOrg(t, s, "B")

		got, err := s.GetOrganization(ctx, a.ID)
		if err != nil || !reflect.DeepEqual(got, a) {
			t.Fatalf("GetOrganization = %+v, %v; want %+v", got, err, a)
		}
		c := core.Center{ID: core.NewID(), OrgID: a.ID, Name: "Main", Timezone: "Europe/Paris", CreatedAt: a.CreatedAt}
		if err := s.CreateCenter(ctx, c); err != nil {
			t.Fatal(err)
		}
		// Scoping: B cannot read, update or list A's center.
		if _, err := s.GetCenter(ctx, b.ID, c.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org GetCenter err = %v", err)
		}
		cb := c
		cb.OrgID = b.ID
		if err := s.UpdateCenter(ctx, cb); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org UpdateCenter err = %v", err)
		}
		if l, _ := s.ListCenters(ctx, b.ID, core.Page{}); len(l) != 0 {
			t.Fatalf("B lists %d centers", len(l))
		}
		// A staff member of B cannot be given A's center.
		sb := core.Staff{ID: core.NewID(), OrgID: b.ID, Name: "x", Role: core.RoleSpecialist, Timezone: "UTC", CenterIDs: []string{c.ID}, Active: true, CreatedAt: a.CreatedAt}
		if err := s.CreateStaff(ctx, sb); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org center grant err = %v", err)
		}
		if _, err := s.GetStaff(ctx, b.ID, sb.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("failed CreateStaff left a row: %v", err)
		}
		sa := core.Staff{ID: core.NewID(), OrgID: a.ID, Name: "Spec", Role: core.RoleSpecialist, Timezone: "UTC", CenterIDs: []string{c.ID}, Active: true, CreatedAt: a.CreatedAt}
		if err := s.CreateStaff(ctx, sa); err != nil {
			t.Fatal(err)
		}
		st, err := s.GetStaff(ctx, a.ID, sa.ID)
		if err != nil || len(st.CenterIDs) != 1 || st.CenterIDs[0] != c.ID || st.Role != core.RoleSpecialist {
			t.Fatalf("GetStaff = %+v, %v", st, err)
		}
		list, err := s.ListStaff(ctx, a.ID, core.Page{Limit: 1})
		if err != nil || len(list) != 1 || list[0].ID != dirA.ID {
			t.Fatalf("ListStaff page 1 = %+v, %v", list, err)
		}
		list, _ = s.ListStaff(ctx, a.ID, core.Page{Limit: 1, After: list[0].ID})
		if len(list) != 1 || list[0].ID != sa.ID {
			t.Fatalf("ListStaff page 2 = %+v", list)
		}
		k, kst, err := s.FindAPIKey(ctx, keyA.ID)
		if err != nil || k.OrgID != a.ID || kst.ID != dirA.ID {
			t.Fatalf("FindAPIKey = %+v %+v %v", k, kst, err)
		}
		if err := s.RevokeAPIKey(ctx, b.ID, keyA.ID, time.Now()); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org revoke err = %v", err)
		}
		if err := s.RevokeAPIKey(ctx, a.ID, keyA.ID, time.Now()); err != nil {
			t.Fatal(err)
		}
		if k, _, _ := s.FindAPIKey(ctx, keyA.ID); k.RevokedAt == nil {
			t.Fatal("key not revoked")
		}
	})
}

func TestIdempotency(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		now := time.Now()
		rec, err := s.BeginIdempotent(ctx, "o", "k", "fp", now)
		if err != nil || rec != nil {
			t.Fatalf("first Begin = %v, %v", rec, err)
		}
		rec, err = s.BeginIdempotent(ctx, "o", "k", "fp", now)
		if err != nil || rec == nil || rec.Status != 0 {
			t.Fatalf("Begin while running = %+v, %v", rec, err)
		}
		if err := s.FinishIdempotent(ctx, "o", "k", 201, `{"id":1}`); err != nil {
			t.Fatal(err)
		}
		rec, _ = s.BeginIdempotent(ctx, "o", "k", "other", now)
		if rec == nil || rec.Status != 201 || rec.Body != `{"id":1}` || rec.Fingerprint != "fp" {
			t.Fatalf("Begin after finish = %+v", rec)
		}
		// Another organization's key of the same name is independent.
		if rec, _ := s.BeginIdempotent(ctx, "o2", "k", "fp", now); rec != nil {
			t.Fatalf("keys leak across organizations: %+v", rec)
		}
		if n, err := s.PurgeIdempotent(ctx, now.Add(time.Second)); err != nil || n != 2 {
			t.Fatalf("Purge = %d, %v", n, err)
		}
	})
}
