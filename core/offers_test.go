package core

import (
	"fmt"
	"testing"
	"time"
)

// TestWaitlistOfferPlan: a freed time in the wished window is offered to
// the waiting client (with the entry's service, else the freed visit's)
// while staff are told as before; a freed time outside it only tells
// staff.
func TestWaitlistOfferPlan(t *testing.T) {
	at := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	freed := Appointment{SpecialistID: "s", ServiceID: "svc-freed", CenterID: "c1"}
	for _, tc := range []struct {
		name    string
		entry   WaitingEntry
		from    time.Time
		plan    string
		service string
	}{
		{"inside the window, entry's service", WaitingEntry{ID: "w", ClientID: "c", ServiceID: "svc-w", From: at, To: at.Add(3 * time.Hour)},
			at.Add(time.Hour), "[{waitlist.match {staff s}} {waitlist.offer {client c}}]", "svc-w"},
		{"entry without a service", WaitingEntry{ID: "w", ClientID: "c", From: at, To: at.Add(3 * time.Hour)},
			at, "[{waitlist.match {staff s}} {waitlist.offer {client c}}]", "svc-freed"},
		{"freed before the window", WaitingEntry{ID: "w", ClientID: "c", From: at, To: at.Add(3 * time.Hour)},
			at.Add(-30 * time.Minute), "[{waitlist.match {staff s}}]", ""},
		{"freed at the window's end", WaitingEntry{ID: "w", ClientID: "c", From: at, To: at.Add(3 * time.Hour)},
			at.Add(3 * time.Hour), "[{waitlist.match {staff s}}]", ""},
	} {
		m := &WaitlistMatched{EventRefs: EventRefs{ClientID: "c", SpecialistID: "s"}, WaitingID: "w"}
		e := Event{ID: "e1", OrgID: "o", Kind: EventWaitlistMatch, Data: m}
		offerData(tc.entry, freed, tc.from, m)
		if got := fmt.Sprint(PlanEvent(e)); got != tc.plan {
			t.Errorf("%s: plan %s, want %s", tc.name, got, tc.plan)
		}
		o, err := OfferOf(e)
		if tc.service == "" {
			if ErrorCode(err) != CodeNotFound {
				t.Errorf("%s: an offer was read: %+v", tc.name, o)
			}
			continue
		}
		if err != nil || o.ServiceID != tc.service || !o.Start.Equal(tc.from) || o.CenterID != "c1" || o.WaitingID != "w" || o.ClientID != "c" {
			t.Errorf("%s: offer %+v %v", tc.name, o, err)
		}
	}
}
