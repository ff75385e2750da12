package templates

import (
	"strings"
	"time"
)

// repeatedWallClock reports whether t's wall-clock time happens twice in its
// location: the hour repeated when clocks fall back. Some other offset in
// force within a few hours of t would then show the same wall clock at
// another instant.
func repeatedWallClock(t time.Time) bool {
	_, off := t.Zone()
	for _, probe := range []time.Duration{-3 * time.Hour, 3 * time.Hour} {
		_, o := t.Add(probe).Zone()
		if o == off {
			continue
		}
		twin := t.Add(time.Duration(off-o) * time.Second)
		if _, to := twin.Zone(); to == o {
			return true
		}
	}
	return false
}

// zoneLabel names t's offset: the zone's abbreviation (CET, EDT) when it
// has one, else "UTC+03:00" (Go names zones without one "+03").
func zoneLabel(t time.Time) string {
	name, _ := t.Zone()
	if name != "" && strings.IndexFunc(name, func(r rune) bool { return !(r >= 'A' && r <= 'Z') }) < 0 {
		return name
	}
	return "UTC" + t.Format("-07:00")
}

// inZone copies ts into loc.
func inZone(ts []time.Time, loc *time.Location) []time.Time {
	if ts == nil {
		return nil
	}
	out := make([]time.Time, len(ts))
	for i, t := range ts {
		out[i] = t.In(loc)
	}
	return out
}

// FormatDateList lists instants one a line, "- date, time" in locale, in
// each one's own location: the visits of a series.
func FormatDateList(locale string, ts []time.Time) string {
	return formatDateList(func(t time.Time) string { return FormatDate(locale, t) }, locale, ts)
}

// formatDateList is FormatDateList with the date written by date (an SMS
// writes its dates in GSM-7 where it can: "aout").
func formatDateList(date func(time.Time) string, locale string, ts []time.Time) string {
	lines := make([]string, 0, len(ts))
	for _, t := range ts {
		if !t.IsZero() {
			lines = append(lines, "- "+date(t)+", "+FormatTime(locale, t))
		}
	}
	return strings.Join(lines, "\n")
}
