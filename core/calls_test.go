package core

import (
	"math/rand"
	"testing"
	"time"
)

func TestCallFinalStaysFinal(t *testing.T) {
	t0 := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	tests := []struct {
		name    string
		updates []CallUpdate
		status  CallStatus
		outcome string
	}{
		{"completed before ringing", []CallUpdate{{Status: CallCompleted, At: t0.Add(time.Minute)}, {Status: CallRinging, At: t0}}, CallCompleted, OutcomeMissed},
		{"completed twice", []CallUpdate{{Status: CallCompleted, At: t0}, {Status: CallCompleted, At: t0}}, CallCompleted, OutcomeMissed},
		{"in-progress after completed", []CallUpdate{{Status: CallCompleted, At: t0}, {Status: CallInProgress, At: t0}}, CallCompleted, OutcomeMissed},
		{"dial answered", []CallUpdate{{Status: CallRinging, At: t0}, {DialStatus: CallCompleted, At: t0.Add(5 * time.Second)},
			{Status: CallCompleted, At: t0.Add(time.Minute)}}, CallCompleted, OutcomeAnswered},
		{"dial no-answer is missed", []CallUpdate{{Status: CallRinging, At: t0}, {DialStatus: CallNoAnswer, At: t0}}, CallRinging, OutcomeMissed},
		{"dial busy then voicemail", []CallUpdate{{DialStatus: CallBusy, At: t0}, {RecordingSID: "RE1", RecordingURL: "u"}}, "", OutcomeVoicemail},
		{"dial pending is live", []CallUpdate{{Status: CallRinging, DialStatus: DialPending, At: t0}}, CallRinging, ""},
		{"answer wins over a miss", []CallUpdate{{DialStatus: CallNoAnswer, At: t0}, {DialStatus: CallCompleted, At: t0}}, "", OutcomeAnswered},
		{"two finals: completed wins", []CallUpdate{{Status: CallNoAnswer, At: t0}, {Status: CallCompleted, At: t0}}, CallCompleted, OutcomeMissed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var c Call
			for _, u := range tt.updates {
				c = ApplyCallUpdate(c, u)
			}
			if c.Status != tt.status || c.Outcome != tt.outcome {
				t.Errorf("status %q outcome %q, want %q %q", c.Status, c.Outcome, tt.status, tt.outcome)
			}
		})
	}
}

// The same reports in any order, repeated, give the same call.
func TestCallReportsShuffledGiveOneRecord(t *testing.T) {
	t0 := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	reports := []CallUpdate{
		{Status: CallInitiated, At: t0},
		{Status: CallRinging, At: t0.Add(time.Second)},
		{Status: CallInProgress, At: t0.Add(3 * time.Second)},
		{DialStatus: CallCompleted, At: t0.Add(9 * time.Second), DurationSec: 40},
		{Status: CallCompleted, At: t0.Add(50 * time.Second), DurationSec: 50},
		{RecordingSID: "RE2", RecordingURL: "https://api.twilio.com/RE2"},
		{Status: CallCompleted, At: t0.Add(50 * time.Second), DurationSec: 50},
	}
	var want Call
	for _, u := range reports {
		want = ApplyCallUpdate(want, u)
	}
	r := rand.New(rand.NewSource(1))
	for i := 0; i < 200; i++ {
		l := append([]CallUpdate(nil), reports...)
		r.Shuffle(len(l), func(a, b int) { l[a], l[b] = l[b], l[a] })
		l = append(l, l[r.Intn(len(l))]) // and a repeat
		var got Call
		for _, u := range l {
			got = ApplyCallUpdate(got, u)
		}
		if !sameMerged(got, want) {
			t.Fatalf("order %d: %+v, want %+v", i, got, want)
		}
	}
	if want.Status != CallCompleted || want.Outcome != OutcomeAnswered || want.DurationSec != 50 || !want.StartedAt.Equal(t0) ||
		want.AnsweredAt == nil || !want.AnsweredAt.Equal(t0.Add(9*time.Second)) || want.EndedAt == nil || !want.EndedAt.Equal(t0.Add(50*time.Second)) {
		t.Errorf("merged %+v", want)
	}
}

func sameMerged(a, b Call) bool {
	eq := func(x, y *time.Time) bool { return x == nil && y == nil || x != nil && y != nil && x.Equal(*y) }
	return a.Status == b.Status && a.DialStatus == b.DialStatus && a.Outcome == b.Outcome && a.StartedAt.Equal(b.StartedAt) &&
		eq(a.AnsweredAt, b.AnsweredAt) && eq(a.EndedAt, b.EndedAt) && a.DurationSec == b.DurationSec && a.RecordingSID == b.RecordingSID
}

func TestCallSettingsOpenAt(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	cs := CallSettings{Hours: WeeklyJSON{"monday": {{Start: "09:00", End: "12:00"}, {Start: "13:30", End: "18:00"}}}}
	for _, tt := range []struct {
		at   string
		open bool
	}{{"2026-03-09T09:00:00+01:00", true}, {"2026-03-09T12:00:00+01:00", false}, {"2026-03-09T17:59:00+01:00", true},
		{"2026-03-09T08:59:00+01:00", false}, {"2026-03-10T10:00:00+01:00", false}} {
		at, _ := time.Parse(time.RFC3339, tt.at)
		if got := cs.OpenAt(at, paris); got != tt.open {
			t.Errorf("%s: open %v, want %v", tt.at, got, tt.open)
		}
	}
}
