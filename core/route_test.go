package core

import (
	"fmt"
	"testing"
	"time"
)

// TestPlanEventPastVisit: a visit booked or accepted after it started (a
// staff override) gets no "your visit is confirmed"; one ahead does.
func TestPlanEventPastVisit(t *testing.T) {
	at := time.Date(2026, 3, 9, 12, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		kind  EventKind
		start time.Time
		want  string
	}{
		{EventBooked, at.Add(-time.Hour), "[]"},
		{EventAccepted, at.Add(-time.Minute), "[]"},
		{EventBooked, at.Add(time.Hour), "[{appointment.accepted {client c}}]"},
		{EventAccepted, at, "[{appointment.accepted {client c}}]"},
	} {
		e := Event{Kind: tc.kind, OccurredAt: at, Data: &AppointmentChanged{EventRefs: EventRefs{ClientID: "c", SpecialistID: "s"}, Start: tc.start}}
		if got := fmt.Sprint(PlanEvent(e)); got != tc.want {
			t.Errorf("%s of a visit at %s, at %s: %s, want %s", tc.kind, tc.start, at, got, tc.want)
		}
	}
}

// TestUnreachable: a skipped message says why nobody was told, opt-outs
// first.
func TestUnreachable(t *testing.T) {
	now := time.Now()
	phone := map[Channel]string{ChannelSMS: "+33612345678", ChannelWhatsApp: "+33612345678"}
	for _, tc := range []struct {
		name  string
		addr  map[Channel]string
		prefs []ChannelPref
		only  []Channel
		want  string
	}{
		{"opted out of sms, no whatsapp consent", phone, []ChannelPref{{Channel: ChannelSMS, OptedOut: &now}}, nil,
			"not sent: the client opted out of sms (STOP); no consent for whatsapp; no address for telegram, email"},
		{"opted out of both", phone, []ChannelPref{{Channel: ChannelSMS, OptedOut: &now}, {Channel: ChannelWhatsApp, Consent: true, OptedOut: &now}},
			[]Channel{ChannelWhatsApp, ChannelSMS}, "not sent: the client opted out of whatsapp and sms (STOP)"},
		{"no address at all", map[Channel]string{}, nil, nil, "not sent: no address for telegram, whatsapp, sms, email"},
		{"reply channel only", phone, []ChannelPref{{Channel: ChannelSMS, OptedOut: &now}}, []Channel{ChannelSMS},
			"not sent: the client opted out of sms (STOP)"},
	} {
		if RouteClient(tc.addr, tc.prefs, nil) != nil && tc.only == nil {
			t.Fatalf("%s: the case is reachable", tc.name)
		}
		if got := Unreachable(tc.addr, tc.prefs, nil, tc.only); got != tc.want {
			t.Errorf("%s: %q, want %q", tc.name, got, tc.want)
		}
	}
}
