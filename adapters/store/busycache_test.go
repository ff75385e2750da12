package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestBusyCache: availability's busy times are cached, yet a booking made
// through this store shows at once, and one made by another process (a
// second store on the same database) within busyCacheTTL (a second).
func TestBusyCache(t *testing.T) {
	for _, be := range storetest.Backends(t) {
		t.Run(be.Name, func(t *testing.T) {
			s, other := storetest.Open(t, be.URL), storetest.Open(t, be.URL)
			ctx := context.Background()
			org, _, _ := newOrg(t, s, "A")
			now := time.Now().UTC().Truncate(time.Minute)
			st := core.Staff{ID: core.NewID(), OrgID: org.ID, Name: "Spec", Role: core.RoleSpecialist, Timezone: "Europe/Paris",
				CenterIDs: []string{}, Active: true, CreatedAt: now}
			if err := s.CreateStaff(ctx, st); err != nil {
				t.Fatal(err)
			}
			svc := core.Offering{ID: core.NewID(), OrgID: org.ID, Name: "Visit", DurationMin: 30, IntervalMin: 30, Capacity: 1,
				Currency: "EUR", Active: true, CreatedAt: now}
			if err := s.CreateService(ctx, svc); err != nil {
				t.Fatal(err)
			}
			client := newTestClient(org.ID, "Ann", "Lee", "+33612345678", now)
			if err := s.CreateClient(ctx, client); err != nil {
				t.Fatal(err)
			}
			from, to := now, now.Add(48*time.Hour)
			busy := func(want int, what string) {
				t.Helper()
				got, err := s.Busy(ctx, org.ID, core.OwnerStaff, st.ID, from, to)
				if err != nil || len(got) != want {
					t.Fatalf("%s: %d busy times (%v), want %d", what, len(got), err, want)
				}
			}
			book := func(via *store.Store, at time.Time, status core.Status) core.Appointment {
				t.Helper()
				a := core.Appointment{ID: core.NewID(), OrgID: org.ID, SpecialistID: st.ID, ServiceID: svc.ID, ClientID: client.ID,
					Start: at, End: at.Add(30 * time.Minute), Seats: 1, Status: status, RequestedBy: "staff", Currency: "EUR",
					CreatedAt: now, UpdatedAt: now}
				if err := via.InBookingTx(ctx, org.ID, []string{st.ID}, func(tx core.BookingTx) error {
					return tx.InsertAppointment(ctx, a)
				}); err != nil {
					t.Fatal(err)
				}
				return a
			}
			busy(0, "empty diary")
			a := book(s, now.Add(2*time.Hour), core.Accepted)
			busy(1, "booked through this store")
			a.Status, a.UpdatedAt = core.Cancelled, now
			if err := s.InBookingTx(ctx, org.ID, []string{st.ID}, func(tx core.BookingTx) error {
				return tx.UpdateAppointment(ctx, a)
			}); err != nil {
				t.Fatal(err)
			}
			busy(0, "cancelled through this store")
			book(other, now.Add(3*time.Hour), core.Accepted)
			time.Sleep(1100 * time.Millisecond)
			busy(1, "booked by another process, a second later")
		})
	}
}
