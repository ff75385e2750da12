package schedule

import (
	"testing"
	"time"
)

func TestParseClock(t *testing.T) {
	good := []struct {
		in   string
		want Clock
	}{
		{"00:00", 0}, {"09:15", 555}, {"13:30", 810}, {"23:59", 1439}, {"24:00", 1440},
	}
	for _, tc := range good {
		got, err := ParseClock(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseClock(%q) = %d, %v; want %d", tc.in, got, err, tc.want)
		}
		if s := got.String(); s != tc.in {
			t.Errorf("Clock(%d).String() = %q; want %q", got, s, tc.in)
		}
	}
	bad := []string{"", "9:15", "09:5", "0915", "09-15", "24:01", "25:00", "09:60", "-1:00", "ab:cd", "09:15 ", " 09:15", "09:15:00", "+9:15", "99:99"}
	for _, in := range bad {
		if c, err := ParseClock(in); err == nil {
			t.Errorf("ParseClock(%q) = %d; want error", in, c)
		}
	}
	if s := Clock(-5).String(); s != "Clock(-5)" {
		t.Errorf("Clock(-5).String() = %q", s)
	}
}

func TestParseDate(t *testing.T) {
	good := []struct {
		in   string
		want Date
	}{
		{"2026-03-29", Date{2026, time.March, 29}},
		{"2024-02-29", Date{2024, time.February, 29}},
		{"0001-01-01", Date{1, time.January, 1}},
		{"9999-12-31", Date{9999, time.December, 31}},
	}
	for _, tc := range good {
		got, err := ParseDate(tc.in)
		if err != nil || got != tc.want {
			t.Errorf("ParseDate(%q) = %v, %v; want %v", tc.in, got, err, tc.want)
		}
		if got.String() != tc.in {
			t.Errorf("String() = %q; want %q", got.String(), tc.in)
		}
	}
	bad := []string{"", "2026-3-29", "2026-03-9", "26-03-29", "2026/03/29", "2026-13-01", "2026-00-10",
		"2026-02-29", "2026-04-31", "2026-03-00", "0000-01-01", "2026-03-29T00:00", "2026-03-2x", " 2026-03-29", "+026-03-29"}
	for _, in := range bad {
		if d, err := ParseDate(in); err == nil {
			t.Errorf("ParseDate(%q) = %v; want error", in, d)
		}
	}
}

func TestDateHelpers(t *testing.T) {
	d := Date{2026, time.December, 31}
	if got := d.AddDays(1); got != (Date{2027, time.January, 1}) {
		t.Errorf("AddDays(1) = %v", got)
	}
	if got := (Date{2024, time.March, 1}).AddDays(-1); got != (Date{2024, time.February, 29}) {
		t.Errorf("AddDays(-1) = %v", got)
	}
	if got := (Date{2026, time.March, 29}).Weekday(); got != time.Sunday {
		t.Errorf("Weekday = %v", got)
	}
	if !(Date{2026, 3, 29}).Before(Date{2026, 3, 30}) || (Date{2026, 3, 30}).Before(Date{2026, 3, 30}) ||
		(Date{2027, 1, 1}).Before(Date{2026, 12, 31}) || !(Date{2026, 2, 28}).Before(Date{2026, 3, 1}) {
		t.Error("Before is wrong")
	}
	tokyo := loadLoc(t, "Asia/Tokyo")
	instant := ts(t, "2026-03-28T20:00:00Z") // Sat 21:00 Paris, Sun 05:00 Tokyo
	if got := DateOf(instant.In(tokyo)); got != (Date{2026, 3, 29}) {
		t.Errorf("DateOf Tokyo = %v", got)
	}
	if got := DateOf(instant.In(loadLoc(t, "Europe/Paris"))); got != (Date{2026, 3, 28}) {
		t.Errorf("DateOf Paris = %v", got)
	}

	in := []struct {
		zone string
		d    Date
		want string
	}{
		{"Europe/Paris", Date{2026, 3, 29}, "2026-03-29T00:00:00+01:00"},
		{"Europe/Paris", Date{2026, 3, 30}, "2026-03-30T00:00:00+02:00"},
		{"America/New_York", Date{2026, 11, 1}, "2026-11-01T00:00:00-04:00"},
		// Brazil sprang forward at midnight: the day began at 01:00.
		{"America/Sao_Paulo", Date{2018, 11, 4}, "2018-11-04T01:00:00-02:00"},
	}
	for _, tc := range in {
		got := tc.d.In(loadLoc(t, tc.zone))
		if !got.Equal(ts(t, tc.want)) {
			t.Errorf("%v.In(%s) = %v; want %s", tc.d, tc.zone, got, tc.want)
		}
	}
}
