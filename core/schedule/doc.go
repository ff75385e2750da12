// Package schedule computes a specialist's availability (bookable slots) and
// checks proposed appointments for conflicts.
//
// All working hours are wall-clock times in the specialist's time zone, so
// "09:00" means 09:00 on the specialist's clock on every date, including the
// days on which daylight-saving time starts or ends. Everything that leaves
// this package (slots, intervals, conflicts) is an absolute instant
// (time.Time), so clients in any zone see the same moments.
//
// Wall-clock resolution rules used throughout the package:
//
//   - An ambiguous wall time (the repeated hour when clocks fall back) means
//     its first occurrence. Note that time.Date does not guarantee this (for
//     zones east of UTC it returns the second occurrence), so the package
//     resolves wall times itself. The repeated hour is still working time
//     twice, so Slots offers a grid start at both occurrences when the slot
//     fits the period, as Check (which reads real time) accepts both.
//   - A slot whose start wall time does not exist (the hour skipped when clocks
//     spring forward) is not offered.
//   - A period boundary (start or end of working hours) that falls in such a gap
//     is the instant the gap ends, i.e. the first instant whose wall clock is
//     at or past the boundary.
//   - Durations (service length) are real elapsed time.
package schedule

// Embed the IANA database so LoadLocation works on hosts (minimal containers)
// without /usr/share/zoneinfo; a wrong or missing zone would silently shift
// every slot.
import _ "time/tzdata"
