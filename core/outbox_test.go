package core

import (
	"fmt"
	"testing"
	"time"
)

func TestPlanEvent(t *testing.T) {
	data := map[string]string{"client_id": "c", "specialist_id": "s"}
	for _, tc := range []struct {
		kind     EventKind
		byClient bool
		want     string
	}{
		{EventRequested, false, "[{appointment.requested {client c}} {staff.new_request {staff s}}]"},
		{EventBooked, false, "[{appointment.accepted {client c}}]"},
		{EventAccepted, false, "[{appointment.accepted {client c}}]"},
		{EventRejected, false, "[{appointment.rejected {client c}}]"},
		{EventCancelled, false, "[{appointment.cancelled {client c}}]"},
		{EventCancelled, true, "[{appointment.cancelled {client c}} {staff.cancelled {staff s}}]"},
		{EventMoved, false, "[{appointment.moved {client c}}]"},
		{EventCompleted, false, "[{appointment.completed {client c}}]"},
		{EventWaitlistMatch, false, "[{waitlist.match {staff s}}]"},
		{EventMissed, false, "[]"},
		{EventPaymentAdded, false, "[]"},
	} {
		d := map[string]string{}
		for k, v := range data {
			d[k] = v
		}
		if tc.byClient {
			d["by_client"] = "true"
		}
		got := fmt.Sprint(PlanEvent(Event{Kind: tc.kind, Data: d}))
		if got != tc.want {
			t.Errorf("%s (by client %v): %s, want %s", tc.kind, tc.byClient, got, tc.want)
		}
	}
}

func TestRouteClient(t *testing.T) {
	now := time.Now()
	all := map[Channel]string{ChannelSMS: "+33612345678", ChannelWhatsApp: "+33612345678", ChannelTelegram: "42", ChannelEmail: "a@b.c"}
	for _, tc := range []struct {
		name  string
		addr  map[Channel]string
		prefs []ChannelPref
		org   []Channel
		want  string
	}{
		{"default order, WhatsApp without consent skipped", all, nil, nil, "[telegram sms email]"},
		{"WhatsApp with consent", all, []ChannelPref{{Channel: ChannelWhatsApp, Consent: true, Position: 5}}, nil, "[whatsapp telegram sms email]"},
		{"client preference first", all, []ChannelPref{{Channel: ChannelEmail, Position: 0}, {Channel: ChannelSMS, Position: 1}}, nil, "[email sms telegram]"},
		{"organization order leaves telegram out", all, nil, []Channel{ChannelSMS, ChannelEmail}, "[sms email]"},
		{"opted out of SMS", all, []ChannelPref{{Channel: ChannelSMS, OptedOut: &now}}, nil, "[telegram email]"},
		{"no addresses", map[Channel]string{}, nil, nil, "[]"},
		{"phone only", map[Channel]string{ChannelSMS: "+1"}, nil, nil, "[sms]"},
	} {
		var got []Channel
		for _, tg := range RouteClient(tc.addr, tc.prefs, tc.org) {
			got = append(got, tg.Channel)
		}
		if s := fmt.Sprint(got); s != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, s, tc.want)
		}
	}
}

func TestMessageStatusAdvances(t *testing.T) {
	for _, tc := range []struct {
		from, to MessageStatus
		want     bool
	}{
		{MsgQueued, MsgSending, true}, {MsgSending, MsgSent, true}, {MsgSent, MsgDelivered, true},
		{MsgDelivered, MsgSent, false}, {MsgDelivered, MsgDelivered, false}, {MsgSent, MsgUndelivered, true},
		{MsgFailed, MsgDelivered, false}, {MsgUndelivered, MsgSent, false},
	} {
		if got := tc.from.Advances(tc.to); got != tc.want {
			t.Errorf("%s → %s: %v", tc.from, tc.to, got)
		}
	}
}
