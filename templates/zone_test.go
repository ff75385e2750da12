package templates

import (
	"testing"
	"time"
)

// TestFormatTimeRepeatedHour: a time in the hour repeated when clocks fall
// back shows which of its two occurrences it is; any other time does not.
func TestFormatTimeRepeatedHour(t *testing.T) {
	load := func(name string) *time.Location {
		l, err := time.LoadLocation(name)
		if err != nil {
			t.Fatal(err)
		}
		return l
	}
	paris, ny, lordHowe, chatham := load("Europe/Paris"), load("America/New_York"), load("Australia/Lord_Howe"), load("Pacific/Chatham")
	at := func(s string, loc *time.Location) time.Time {
		u, err := time.Parse(time.RFC3339, s)
		if err != nil {
			t.Fatal(err)
		}
		return u.In(loc)
	}
	for _, tc := range []struct {
		locale string
		t      time.Time
		want   string
	}{
		{"fr", at("2026-10-25T00:30:00Z", paris), "02:30 CEST"},
		{"fr", at("2026-10-25T01:30:00Z", paris), "02:30 CET"},
		{"de", at("2026-10-25T01:00:00Z", paris), "02:00 CET"},
		{"en-US", at("2026-11-01T05:30:00Z", ny), "1:30 AM EDT"},
		{"en-US", at("2026-11-01T06:30:00Z", ny), "1:30 AM EST"},
		{"en-US", at("2026-04-04T14:45:00Z", lordHowe), "1:45 AM UTC+11:00"}, // a 30-minute fall back, no abbreviation
		{"fr", at("2026-04-04T14:45:00Z", chatham), "03:30 UTC+12:45"},       // Chatham repeats 02:45-03:45
		{"fr", at("2026-10-25T02:00:00Z", paris), "03:00"},                   // the hour after the repeat
		{"fr", at("2026-10-24T23:59:00Z", paris), "01:59"},                   // the hour before
		{"fr", at("2026-03-29T01:30:00Z", paris), "03:30"},                   // spring forward: nothing repeats
		{"en-US", at("2026-07-01T12:00:00Z", paris), "2:00 PM"},
		{"en", at("2026-07-01T12:00:00Z", paris), "14:00"},
	} {
		if got := FormatTime(tc.locale, tc.t); got != tc.want {
			t.Errorf("FormatTime(%s, %s) = %q, want %q", tc.locale, tc.t.Format(time.RFC3339), got, tc.want)
		}
	}
}
