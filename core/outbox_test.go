package core

import (
	"encoding/json"
	"fmt"
	"testing"
	"time"
)

// legacy decodes a payload stored as the flat string map of earlier
// versions, so these tests also show such rows still read the same.
func legacy(t *testing.T, kind EventKind, m map[string]string) EventData {
	t.Helper()
	raw, _ := json.Marshal(m)
	d, err := DecodeEventData(kind, raw)
	if err != nil {
		t.Fatalf("%s %v: %v", kind, m, err)
	}
	return d
}

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
		{EventPaymentAdded, false, "[{payment.receipt {client c}}]"},
		{EventConfirmed, false, "[]"},
	} {
		d := map[string]string{"amount_minor": "2000"}
		for k, v := range data {
			d[k] = v
		}
		if tc.byClient {
			d["by_client"] = "true"
		}
		got := fmt.Sprint(PlanEvent(Event{Kind: tc.kind, Data: legacy(t, tc.kind, d)}))
		if got != tc.want {
			t.Errorf("%s (by client %v): %s, want %s", tc.kind, tc.byClient, got, tc.want)
		}
	}
}

func TestPlanEventReplies(t *testing.T) {
	for _, tc := range []struct {
		kind EventKind
		data map[string]string
		want string
	}{
		{EventConfirmed, map[string]string{"via": "sms"}, "[{reply.confirmed {client c}}]"},
		{EventConfirmed, map[string]string{"via": "link"}, "[]"},
		{EventCancelled, map[string]string{"via": "whatsapp", "by_client": "true"}, "[{reply.cancelled {client c}} {staff.cancelled {staff s}}]"},
		{EventPaymentAdded, map[string]string{"amount_minor": "-500"}, "[]"},
		{EventPaymentAdded, map[string]string{"amount_minor": "500", "method": "stripe"}, "[{payment.receipt {client c}} {staff.payment {staff s}}]"},
		{EventPaymentAdded, map[string]string{"amount_minor": "500", "method": "cash"}, "[{payment.receipt {client c}}]"},
	} {
		tc.data["client_id"], tc.data["specialist_id"] = "c", "s"
		if got := fmt.Sprint(PlanEvent(Event{Kind: tc.kind, Data: legacy(t, tc.kind, tc.data)})); got != tc.want {
			t.Errorf("%s %v: %s, want %s", tc.kind, tc.data, got, tc.want)
		}
	}
}

// TestEventDataRoundTrip: each kind's payload reads back as written.
func TestEventDataRoundTrip(t *testing.T) {
	start := time.Date(2027, 3, 2, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		kind EventKind
		data EventData
	}{
		{EventCancelled, &AppointmentChanged{EventRefs: EventRefs{AppointmentID: "a", ClientID: "c", SpecialistID: "s"}, Start: start,
			Status: Cancelled, Reason: "ill", Late: true, ByClient: true, Via: "sms"}},
		{EventMoved, &AppointmentChanged{EventRefs: EventRefs{AppointmentID: "a"}, Start: start, PreviousStart: &start}},
		{EventPaymentAdded, &PaymentRecorded{EventRefs: EventRefs{ClientID: "c"}, SaleID: "x", PaymentID: "p", AmountMinor: -500, Currency: "EUR", Method: "cash"}},
		{EventWaitlistMatch, &WaitlistMatched{EventRefs: EventRefs{ClientID: "c"}, WaitingID: "w", FreeStart: start, FreeEnd: start.Add(time.Hour), Urgent: true}},
		{"", &Notice{EventRefs: EventRefs{ClientID: "c"}, Via: "whatsapp", PaymentURL: "https://pay.example/x"}},
	} {
		raw, err := json.Marshal(tc.data)
		if err != nil {
			t.Fatal(err)
		}
		got, err := DecodeEventData(tc.kind, raw)
		if err != nil {
			t.Fatalf("%s: %v", tc.kind, err)
		}
		if fmt.Sprintf("%+v", got) != fmt.Sprintf("%+v", tc.data) {
			t.Errorf("%s: read %+v, wrote %+v", tc.kind, got, tc.data)
		}
	}
	var e Event
	raw, _ := json.Marshal(Event{ID: "e", Kind: EventWaitlistMatch, Data: &WaitlistMatched{WaitingID: "w", Urgent: true}})
	if err := json.Unmarshal(raw, &e); err != nil || e.Data.(*WaitlistMatched).WaitingID != "w" {
		t.Errorf("event JSON round trip: %v %+v", err, e)
	}
	if _, err := DecodeEventData(EventPaymentAdded, []byte(`{"amount_minor":"lots"}`)); err == nil {
		t.Error("a broken payload decoded")
	}
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want ReplyIntent
	}{
		{"1", ReplyConfirm}, {" yes ", ReplyConfirm}, {"Oui!", ReplyConfirm}, {"ДА", ReplyConfirm}, {"да.", ReplyConfirm}, {"Ja", ReplyConfirm},
		{"TAK", ReplyConfirm}, {"ok", ReplyConfirm}, {"2", ReplyCancel}, {"No.", ReplyCancel}, {"нет", ReplyCancel}, {"NON", ReplyCancel},
		{"nein!", ReplyCancel}, {"Nie", ReplyCancel}, {"STOP", ReplyStop}, {"stopall", ReplyStop}, {"Unsubscribe", ReplyStop},
		{"cancel", ReplyStop}, {"end", ReplyStop}, {"quit", ReplyStop}, {"START", ReplyStart}, {"help", ReplyHelp},
		{"see you tomorrow", ReplyOther}, {"", ReplyOther}, {"12", ReplyOther},
	} {
		if got := ParseReply(tc.in); got != tc.want {
			t.Errorf("ParseReply(%q) = %s, want %s", tc.in, got, tc.want)
		}
	}
}

func TestReminderTimes(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	p := ReminderPolicy{OffsetsMin: []int{1440, 120}, WindowStart: "09:00", WindowEnd: "20:00"}
	now := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name  string
		start time.Time
		want  []time.Time
	}{
		{"inside the window", time.Date(2026, 3, 9, 14, 0, 0, 0, paris),
			[]time.Time{time.Date(2026, 3, 8, 14, 0, 0, 0, paris), time.Date(2026, 3, 9, 12, 0, 0, 0, paris)}},
		{"early visit: 2 h before is night, moved to the evening before", time.Date(2026, 3, 9, 9, 0, 0, 0, paris),
			[]time.Time{time.Date(2026, 3, 8, 9, 0, 0, 0, paris), time.Date(2026, 3, 8, 19, 59, 0, 0, paris)}},
		{"late visit: 24 h before is after the window, moved to its end", time.Date(2026, 3, 9, 21, 30, 0, 0, paris),
			[]time.Time{time.Date(2026, 3, 8, 19, 59, 0, 0, paris), time.Date(2026, 3, 9, 19, 30, 0, 0, paris)}},
		{"DST: 24 real hours before a visit on the change day", time.Date(2026, 3, 29, 10, 0, 0, 0, paris),
			[]time.Time{time.Date(2026, 3, 28, 8, 0, 0, 0, time.UTC), time.Date(2026, 3, 28, 19, 59, 0, 0, paris)}},
		{"a reminder past at booking goes at the next window start", time.Date(2026, 3, 1, 12, 0, 0, 0, paris),
			[]time.Time{time.Date(2026, 3, 1, 9, 0, 0, 0, paris), time.Date(2026, 3, 1, 10, 0, 0, 0, paris)}},
	} {
		var got []ReminderTime
		for _, rt := range ReminderTimes(tc.start, now, p, paris) {
			if rt.Skip == "" {
				got = append(got, rt)
			}
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: %v", tc.name, got)
			continue
		}
		for i := range got {
			if !got[i].Due.Equal(tc.want[i]) {
				t.Errorf("%s: reminder %d at %s, want %s", tc.name, i, got[i].Due.In(paris), tc.want[i].In(paris))
			}
		}
	}
}

func TestSignLink(t *testing.T) {
	secret := []byte("s3cret")
	exp := time.Date(2026, 3, 9, 11, 0, 0, 0, time.UTC)
	tok := SignLink(secret, "appt-1", LinkManage, exp)
	if id, act, err := VerifyLink(secret, tok, exp.Add(-time.Hour)); err != nil || id != "appt-1" || act != LinkManage {
		t.Fatalf("VerifyLink = %q %q %v", id, act, err)
	}
	if _, _, err := VerifyLink(secret, tok, exp.Add(time.Second)); ErrorCode(err) != CodeInvalid {
		t.Errorf("expired: %v", err)
	}
	if _, _, err := VerifyLink([]byte("other"), tok, exp.Add(-time.Hour)); ErrorCode(err) != CodeNotFound {
		t.Errorf("other secret: %v", err)
	}
	if _, _, err := VerifyLink(secret, tok[:len(tok)-2]+"xx", exp.Add(-time.Hour)); ErrorCode(err) != CodeNotFound {
		t.Errorf("tampered: %v", err)
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
