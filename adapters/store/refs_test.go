package store_test

import (
	"context"
	"reflect"
	"slices"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestSpecialistRefsFoldsReads: the one-row read of a booking's references
// gives what the separate reads give: the service, the time off, the
// centres, the client's reminder zone, and the reminder policy of a visit
// in each centre.
func TestSpecialistRefsFoldsReads(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "A")
		now := time.Now().UTC().Truncate(time.Millisecond)
		var centers []string
		for _, name := range []string{"North", "South"} {
			c := core.Center{ID: core.NewID(), OrgID: org.ID, Name: name, Timezone: "Europe/Paris", CreatedAt: now}
			if err := s.CreateCenter(ctx, c); err != nil {
				t.Fatal(err)
			}
			centers = append(centers, c.ID)
		}
		st := core.Staff{ID: core.NewID(), OrgID: org.ID, Name: "Spec", Role: core.RoleSpecialist, Timezone: "Europe/Berlin",
			CenterIDs: centers, Active: true, CreatedAt: now}
		if err := s.CreateStaff(ctx, st); err != nil {
			t.Fatal(err)
		}
		price := int64(4500)
		svc := core.Offering{ID: core.NewID(), OrgID: org.ID, OwnerID: st.ID, Name: "Visit", DurationMin: 45, IntervalMin: 15, Capacity: 1,
			PriceMinor: &price, Currency: "EUR", Active: true, AutoAccept: true, CreatedAt: now}
		if err := s.CreateService(ctx, svc); err != nil {
			t.Fatal(err)
		}
		client := newTestClient(org.ID, "Ann", "Lee", "+33612345678", now)
		client.Timezone = "America/New_York"
		if err := s.CreateClient(ctx, client); err != nil {
			t.Fatal(err)
		}
		// No schedule, time off or policy yet.
		refs, err := s.SpecialistRefs(ctx, org.ID, st.ID, svc.ID, client.ID)
		if err != nil {
			t.Fatal(err)
		}
		if refs.Schedule != nil || len(refs.TimeOff) != 0 || !refs.TimeOffRead || !refs.ServiceRead || refs.Service == nil {
			t.Fatalf("bare refs: %+v", refs)
		}
		if p, ok := refs.Reminders.For(centers[0], svc.ID); !ok || !reflect.DeepEqual(p, core.DefaultReminderPolicy()) {
			t.Fatalf("no policy stored: %+v %v, want the default", p, ok)
		}

		if err := s.PutSchedule(ctx, core.Schedule{OwnerID: st.ID, OwnerKind: core.OwnerStaff, OrgID: org.ID, Timezone: "Europe/Berlin",
			Weekly: core.WeeklyJSON{"monday": {{Start: "09:00", End: "12:00"}}}}); err != nil {
			t.Fatal(err)
		}
		from, to := now.Add(time.Hour), now.Add(3*time.Hour)
		for _, e := range []core.Exception{
			{ID: core.NewID(), OrgID: org.ID, OwnerID: st.ID, Kind: core.Holiday, FromDate: "2026-12-25", Note: "Xmas", CreatedAt: now},
			{ID: core.NewID(), OrgID: org.ID, OwnerID: st.ID, Kind: core.OutOfOffice, StartAt: &from, EndAt: &to, Note: "dentist", CreatedAt: now},
		} {
			if err := s.AddException(ctx, e); err != nil {
				t.Fatal(err)
			}
		}
		policies := []struct {
			scope, id string
			p         core.ReminderPolicy
		}{
			{"org", "", core.ReminderPolicy{OffsetsMin: []int{1440}, WindowStart: "09:00", WindowEnd: "20:00"}},
			{"center", centers[1], core.ReminderPolicy{OffsetsMin: []int{120, 60}, AskConfirm: true, WindowStart: "08:00", WindowEnd: "21:00"}},
		}
		for _, p := range policies {
			if err := s.PutReminderPolicy(ctx, org.ID, p.scope, p.id, p.p); err != nil {
				t.Fatal(err)
			}
		}
		check := func(what string) {
			t.Helper()
			refs, err := s.SpecialistRefs(ctx, org.ID, st.ID, svc.ID, client.ID)
			if err != nil {
				t.Fatal(err)
			}
			wantSvc, _ := s.GetService(ctx, org.ID, svc.ID)
			if !reflect.DeepEqual(*refs.Service, wantSvc) {
				t.Fatalf("%s: service %+v, want %+v", what, *refs.Service, wantSvc)
			}
			wantEx, _ := s.ListExceptions(ctx, org.ID, st.ID)
			if !reflect.DeepEqual(refs.TimeOff, wantEx) {
				t.Fatalf("%s: time off %+v, want %+v", what, refs.TimeOff, wantEx)
			}
			wantSc, _ := s.GetSchedule(ctx, org.ID, st.ID)
			if refs.Schedule == nil || !reflect.DeepEqual(refs.Schedule.Weekly, wantSc.Weekly) || refs.Timezone != "Europe/Berlin" {
				t.Fatalf("%s: schedule %+v", what, refs.Schedule)
			}
			if !reflect.DeepEqual(refs.CenterIDs, slices.Sorted(slices.Values(centers))) || !refs.ClientFound || refs.ReminderZone != "America/New_York" {
				t.Fatalf("%s: centres %v, client %v zone %q", what, refs.CenterIDs, refs.ClientFound, refs.ReminderZone)
			}
			for _, c := range append([]string{""}, centers...) {
				want, err := core.ReminderPolicyOf(ctx, s, org.ID, c, svc.ID)
				if err != nil {
					t.Fatal(err)
				}
				if got, ok := refs.Reminders.For(c, svc.ID); !ok || !reflect.DeepEqual(got, want) {
					t.Fatalf("%s: policy in centre %q: %+v, want %+v", what, c, got, want)
				}
			}
		}
		check("org and centre policies")
		if err := s.PutReminderPolicy(ctx, org.ID, "service", svc.ID, core.ReminderPolicy{OffsetsMin: []int{30}, WindowStart: "07:00",
			WindowEnd: "22:00"}); err != nil {
			t.Fatal(err)
		}
		check("a service policy")

		// Another service's id, a missing service, a missing specialist.
		if refs, err := s.SpecialistRefs(ctx, org.ID, st.ID, core.NewID(), ""); err != nil || !refs.ServiceRead || refs.Service != nil ||
			refs.ClientFound {
			t.Fatalf("missing service: %+v %v", refs, err)
		}
		if _, err := s.SpecialistRefs(ctx, org.ID, core.NewID(), svc.ID, ""); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("missing specialist: %v", err)
		}
	})
}
