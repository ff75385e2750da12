package schedule

import (
	"testing"
	"time"
)

// TestResolveBruteForce compares resolve with a minute-by-minute scan of real
// time on transition days: for every wall minute of the day, the resolved
// instant must be the first instant whose wall clock reads that minute or
// later, and exact must say whether the minute exists.
func TestResolveBruteForce(t *testing.T) {
	cases := []struct {
		zone string
		day  Date
	}{
		{"Europe/Paris", Date{2026, 3, 29}},
		{"Europe/Paris", Date{2026, 10, 25}},
		{"Europe/Paris", Date{2026, 6, 15}},
		{"America/New_York", Date{2026, 3, 8}},
		{"America/New_York", Date{2026, 11, 1}},
		{"Australia/Lord_Howe", Date{2026, 4, 5}},  // 30-minute fall back
		{"Australia/Lord_Howe", Date{2026, 10, 4}}, // 30-minute spring forward
		{"America/Sao_Paulo", Date{2018, 11, 4}},   // midnight does not exist
		{"America/Sao_Paulo", Date{2019, 2, 16}},   // 23:00-24:00 repeats
		{"Pacific/Apia", Date{2011, 12, 30}},       // the whole day was skipped
		{"Asia/Tokyo", Date{2026, 3, 29}},
		{"UTC", Date{2026, 3, 29}},
	}
	for _, tc := range cases {
		loc := loadLoc(t, tc.zone)
		midnight := tc.day.naive()
		// Scan real time around the day; record wall readings in order.
		type obs struct {
			u    time.Time
			wall time.Time
		}
		var scan []obs
		for u := midnight.Add(-40 * time.Hour); u.Before(midnight.Add(64 * time.Hour)); u = u.Add(time.Minute) {
			scan = append(scan, obs{u, naive(u.In(loc))})
		}
		for m := 0; m <= 1440; m++ {
			w := midnight.Add(time.Duration(m) * time.Minute)
			var want time.Time
			exists := false
			for _, o := range scan {
				if !o.wall.Before(w) {
					want, exists = o.u, o.wall.Equal(w)
					break
				}
			}
			got := resolve(loc, w)
			if !got.t.Equal(want) || got.exact != exists {
				t.Errorf("%s %v +%dm: resolve = %v exact=%v; want %v exact=%v",
					tc.zone, tc.day, m, got.t.UTC(), got.exact, want.UTC(), exists)
			}
			if exists && !naive(got.t).Equal(w) {
				t.Errorf("%s %v +%dm: wall of result %v", tc.zone, tc.day, m, got.t)
			}
		}
	}
}
