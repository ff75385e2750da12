package schedule

import (
	"testing"
	"time"
)

func TestOccurrences(t *testing.T) {
	paris, ny := loadLoc(t, "Europe/Paris"), loadLoc(t, "America/New_York")
	cases := []struct {
		name  string
		first time.Time
		loc   *time.Location
		weeks int
		n     int
		want  []string // RFC 3339
	}{
		{
			name: "weekly across Paris spring forward keeps 10:00", first: local(t, paris, "2026-03-16 10:00"), loc: paris, weeks: 1, n: 4,
			want: []string{"2026-03-16T10:00:00+01:00", "2026-03-23T10:00:00+01:00", "2026-03-30T10:00:00+02:00", "2026-04-06T10:00:00+02:00"},
		},
		{
			name: "every 2 weeks across New York fall back", first: local(t, ny, "2026-10-12 10:00"), loc: ny, weeks: 2, n: 3,
			want: []string{"2026-10-12T10:00:00-04:00", "2026-10-26T10:00:00-04:00", "2026-11-09T10:00:00-05:00"},
		},
		{
			name: "first given in UTC, series in Paris", first: ts(t, "2026-10-19T08:00:00Z"), loc: paris, weeks: 1, n: 2,
			want: []string{"2026-10-19T10:00:00+02:00", "2026-10-26T10:00:00+01:00"},
		},
		{
			name: "nil loc uses first's location", first: local(t, ny, "2026-03-02 10:00"), loc: nil, weeks: 1, n: 2,
			want: []string{"2026-03-02T10:00:00-05:00", "2026-03-09T10:00:00-04:00"},
		},
		{
			name: "nonexistent 02:30 shifts past the gap (RFC 5545)", first: local(t, paris, "2026-03-22 02:30"), loc: paris, weeks: 1, n: 3,
			want: []string{"2026-03-22T02:30:00+01:00", "2026-03-29T03:30:00+02:00", "2026-04-05T02:30:00+02:00"},
		},
		{
			name: "ambiguous 02:30 takes the first occurrence", first: local(t, paris, "2026-10-18 02:30"), loc: paris, weeks: 1, n: 3,
			want: []string{"2026-10-18T02:30:00+02:00", "2026-10-25T02:30:00+02:00", "2026-11-01T02:30:00+01:00"},
		},
		{
			name: "New York nonexistent 02:30", first: local(t, ny, "2026-03-01 02:30"), loc: ny, weeks: 1, n: 2,
			want: []string{"2026-03-01T02:30:00-05:00", "2026-03-08T03:30:00-04:00"},
		},
		{name: "n = 0", first: local(t, paris, "2026-03-16 10:00"), loc: paris, weeks: 1, n: 0},
		{name: "weeks = 0", first: local(t, paris, "2026-03-16 10:00"), loc: paris, weeks: 0, n: 3},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Occurrences(tc.first, tc.loc, tc.weeks, tc.n)
			if len(got) != len(tc.want) {
				t.Fatalf("got %v; want %v", got, tc.want)
			}
			for i, g := range got {
				if !g.Equal(ts(t, tc.want[i])) || g.Format(time.RFC3339) != tc.want[i] {
					t.Errorf("[%d] = %s; want %s", i, g.Format(time.RFC3339), tc.want[i])
				}
			}
		})
	}
}
