package core

import (
	"strings"
	"testing"
	"time"
)

// TestReminderTimesNeverDropped: a reminder the sending window pushes
// before now goes at the next window start still before the visit; one
// that cannot go anywhere is returned skipped with its reason, never left
// out.
func TestReminderTimesNeverDropped(t *testing.T) {
	paris, _ := time.LoadLocation("Europe/Paris")
	at := func(d, h, m int) time.Time { return time.Date(2026, 3, d, h, m, 0, 0, paris) }
	p := ReminderPolicy{OffsetsMin: []int{1440}, WindowStart: "09:00", WindowEnd: "20:00"}
	for _, tc := range []struct {
		name       string
		policy     ReminderPolicy
		now, start time.Time
		due        []time.Time // per offset; zero when skipped
		skip       []string    // per offset, a part of the reason
	}{
		{"booked in the evening for the next evening: next window start", p, at(9, 21, 0), at(10, 19, 0),
			[]time.Time{at(10, 9, 0)}, []string{""}},
		{"booked at night for the morning: no window time left", p, at(9, 22, 0), at(10, 8, 30),
			[]time.Time{{}}, []string{"sending window"}},
		{"booked after the reminder's time, the same day", p, at(10, 10, 0), at(10, 15, 0),
			[]time.Time{{}}, []string{"sending window"}},
		{"booked after the reminder's time, the day before", p, at(9, 15, 0), at(10, 11, 0),
			[]time.Time{at(10, 9, 0)}, []string{""}},
		{"the window pushes it before now", p, at(9, 21, 0), at(10, 21, 30),
			[]time.Time{at(10, 9, 0)}, []string{""}},
		{"two offsets pushed to the same window start", ReminderPolicy{OffsetsMin: []int{1440, 720}, WindowStart: "09:00", WindowEnd: "20:00"},
			at(9, 21, 0), at(10, 19, 0), []time.Time{at(10, 9, 0), {}}, []string{"", "1440-minute reminder goes at the same time"}},
		{"inside the window: unchanged", p, at(1, 12, 0), at(10, 14, 0), []time.Time{at(9, 14, 0)}, []string{""}},
	} {
		got := ReminderTimes(tc.start, tc.now, tc.policy, paris)
		if len(got) != len(tc.policy.OffsetsMin) {
			t.Fatalf("%s: %d reminders for %d offsets: %+v", tc.name, len(got), len(tc.policy.OffsetsMin), got)
		}
		for i, rt := range got {
			if tc.skip[i] == "" {
				if rt.Skip != "" || !rt.Due.Equal(tc.due[i]) {
					t.Errorf("%s: offset %d due %s (skip %q), want %s", tc.name, rt.OffsetMin, rt.Due.In(paris), rt.Skip, tc.due[i])
				}
				if !rt.Due.After(tc.now) || !rt.Due.Before(tc.start) {
					t.Errorf("%s: due %s is not between now and the visit", tc.name, rt.Due.In(paris))
				}
				continue
			}
			if !strings.Contains(rt.Skip, tc.skip[i]) {
				t.Errorf("%s: offset %d skip %q, want it to say %q", tc.name, rt.OffsetMin, rt.Skip, tc.skip[i])
			}
		}
	}
}
