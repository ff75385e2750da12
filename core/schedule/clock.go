package schedule

import (
	"fmt"
	"time"
)

// Clock is a local wall-clock time of day in minutes since midnight (0..1440).
// It is deliberately not a time.Duration: it names a reading of the
// specialist's clock, which is not the same as elapsed time on DST days.
type Clock int

// endOfDay is the only Clock above 23:59; it is valid as a period end.
const endOfDay Clock = 24 * 60

// ParseClock parses "HH:MM" (24-hour, two digits each). "24:00" is accepted
// so that a period can run to the end of the day.
func ParseClock(s string) (Clock, error) {
	if len(s) != 5 || s[2] != ':' {
		return 0, fmt.Errorf("schedule: invalid clock %q: want HH:MM", s)
	}
	h, ok1 := twoDigits(s[0:2])
	m, ok2 := twoDigits(s[3:5])
	if !ok1 || !ok2 {
		return 0, fmt.Errorf("schedule: invalid clock %q: want HH:MM", s)
	}
	if m > 59 || h > 24 || (h == 24 && m != 0) {
		return 0, fmt.Errorf("schedule: invalid clock %q: out of range 00:00..24:00", s)
	}
	return Clock(h*60 + m), nil
}

func twoDigits(s string) (int, bool) {
	if len(s) != 2 || s[0] < '0' || s[0] > '9' || s[1] < '0' || s[1] > '9' {
		return 0, false
	}
	return int(s[0]-'0')*10 + int(s[1]-'0'), true
}

// String formats c as "HH:MM"; out-of-range values are shown as Clock(n) so
// they are visible in validation messages rather than silently wrapped.
func (c Clock) String() string {
	if c < 0 || c > endOfDay {
		return fmt.Sprintf("Clock(%d)", int(c))
	}
	return fmt.Sprintf("%02d:%02d", int(c)/60, int(c)%60)
}

// wall returns the offset of c from local midnight on the wall clock.
func (c Clock) wall() time.Duration { return time.Duration(c) * time.Minute }

// Period is a working period within one local day, [Start, End) on the wall
// clock. Start < End; periods never cross midnight (use 24:00 as End).
type Period struct{ Start, End Clock }

func (p Period) valid() bool { return 0 <= p.Start && p.Start < p.End && p.End <= endOfDay }

func (p Period) String() string { return p.Start.String() + "–" + p.End.String() }
