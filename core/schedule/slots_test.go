package schedule

import (
	"math/rand/v2"
	"slices"
	"testing"
	"time"
)

// Reference week: Monday 2026-03-02 .. Sunday 2026-03-08 in Paris (CET, no DST change).

func TestSlotsSeedExamples(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	mon := func(s string) time.Time { return local(t, paris, "2026-03-02 "+s) }
	cases := []struct {
		name   string
		period string
		spec   Spec
		want   []string
	}{
		{
			name:   "Monday 09:15 start, 30-min interval",
			period: "09:15-12:00",
			spec:   Spec{Duration: 30 * time.Minute, Interval: 30 * time.Minute},
			want:   []string{"03-02 09:15", "03-02 09:45", "03-02 10:15", "03-02 10:45", "03-02 11:15"},
		},
		{
			name:   "09:00-12:00, 30-min interval, 60-min service ends at 11:00",
			period: "09:00-12:00",
			spec:   Spec{Duration: time.Hour, Interval: 30 * time.Minute},
			want:   []string{"03-02 09:00", "03-02 09:30", "03-02 10:00", "03-02 10:30", "03-02 11:00"},
		},
		{
			name:   "interval defaults to duration",
			period: "09:00-12:00",
			spec:   Spec{Duration: time.Hour},
			want:   []string{"03-02 09:00", "03-02 10:00", "03-02 11:00"},
		},
		{
			name:   "each period has its own grid",
			period: "09:00-10:00 10:45-12:00",
			spec:   Spec{Duration: 30 * time.Minute, Interval: 45 * time.Minute},
			want:   []string{"03-02 09:00", "03-02 10:45", "03-02 11:30"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			var specs []string
			for i := 0; i+11 <= len(tc.period); i += 12 {
				specs = append(specs, tc.period[i:i+11])
			}
			var w [7][]Period
			w[time.Monday] = periods(t, specs...)
			s := Schedule{Location: paris, Weekly: w}
			got := Slots(s, tc.spec, mon("00:00"), mon("23:59"), mon("00:00"), nil)
			eqStrings(t, localStarts(got, paris), tc.want)
			for _, sl := range got {
				if sl.End.Sub(sl.Start) != tc.spec.Duration || sl.SeatsLeft != 1 {
					t.Errorf("slot %v: end %v seats %d", sl.Start, sl.End, sl.SeatsLeft)
				}
			}
		})
	}
}

func TestSlotsRemovals(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	at := func(s string) time.Time { return local(t, paris, s) }
	base := Schedule{Location: paris, Weekly: weekdays(periods(t, "09:00-12:00"))}
	spec := Spec{Duration: time.Hour, Interval: 30 * time.Minute}
	full := []string{"09:00", "09:30", "10:00", "10:30", "11:00"}
	day := func(d string, clocks ...string) []string {
		var out []string
		for _, c := range clocks {
			out = append(out, d+" "+c)
		}
		return out
	}
	cat := func(parts ...[]string) []string { return slices.Concat(parts...) }

	cases := []struct {
		name     string
		mutate   func(*Schedule)
		booked   []Booking
		from, to string
		want     []string
	}{
		{
			name: "baseline Mon-Tue", from: "2026-03-02 00:00", to: "2026-03-04 00:00",
			want: cat(day("03-02", full...), day("03-03", full...)),
		},
		{
			name:   "holiday removes the whole day",
			mutate: func(s *Schedule) { s.Holidays = []Date{date(t, "2026-03-03")} },
			from:   "2026-03-02 00:00", to: "2026-03-05 00:00",
			want: cat(day("03-02", full...), day("03-04", full...)),
		},
		{
			name:   "vacation is inclusive at both ends",
			mutate: func(s *Schedule) { s.Vacations = []DateRange{{date(t, "2026-03-03"), date(t, "2026-03-05")}} },
			from:   "2026-03-02 00:00", to: "2026-03-07 00:00",
			want: cat(day("03-02", full...), day("03-06", full...)),
		},
		{
			name: "weekend is a day off",
			from: "2026-03-06 00:00", to: "2026-03-10 00:00",
			want: cat(day("03-06", full...), day("03-09", full...)),
		},
		{
			name: "out-of-office partial day",
			mutate: func(s *Schedule) {
				s.Blocks = []Interval{{at("2026-03-02 10:00"), at("2026-03-02 10:45")}}
			},
			from: "2026-03-02 00:00", to: "2026-03-03 00:00",
			want: day("03-02", "09:00", "11:00"), // 09:00-10:00 only touches the block
		},
		{
			name: "out-of-office spanning days",
			mutate: func(s *Schedule) {
				s.Blocks = []Interval{{at("2026-03-02 11:30"), at("2026-03-03 09:30")}}
			},
			from: "2026-03-02 00:00", to: "2026-03-04 00:00",
			want: cat(day("03-02", "09:00", "09:30", "10:00", "10:30"), day("03-03", "09:30", "10:00", "10:30", "11:00")),
		},
		{
			name:   "bookings remove overlapping slots only",
			booked: []Booking{booking(at("2026-03-02 10:00"), at("2026-03-02 11:00"), 0)},
			from:   "2026-03-02 00:00", to: "2026-03-03 00:00",
			want: day("03-02", "09:00", "11:00"),
		},
		{
			name: "unsorted bookings, off-grid and outside hours",
			booked: []Booking{
				booking(at("2026-03-03 11:59"), at("2026-03-03 12:30"), 1),
				booking(at("2026-03-02 09:10"), at("2026-03-02 09:20"), 1),
				booking(at("2026-03-02 07:00"), at("2026-03-02 09:00"), 1), // ends at opening: harmless
				booking(at("2026-03-02 10:00"), at("2026-03-02 10:00"), 1), // empty: ignored
			},
			from: "2026-03-02 00:00", to: "2026-03-04 00:00",
			want: cat(day("03-02", "09:30", "10:00", "10:30", "11:00"), day("03-03", "09:00", "09:30", "10:00", "10:30")),
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s := base
			if tc.mutate != nil {
				tc.mutate(&s)
			}
			if err := s.Validate(); err != nil {
				t.Fatal(err)
			}
			got := Slots(s, spec, at(tc.from), at(tc.to), time.Time{}, tc.booked)
			eqStrings(t, localStarts(got, paris), tc.want)
		})
	}
}

func TestSlotsCapacity(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	at := func(s string) time.Time { return local(t, paris, "2026-03-02 "+s) }
	s := Schedule{Location: paris, Weekly: weekdays(periods(t, "09:00-12:00"))}
	spec := Spec{Duration: time.Hour, Capacity: 3}
	type want struct {
		start string
		left  int
	}
	cases := []struct {
		name   string
		booked []Booking
		want   []want
	}{
		{"empty class", nil, []want{{"09:00", 3}, {"10:00", 3}, {"11:00", 3}}},
		{"2 of 3 booked leaves 1", []Booking{booking(at("10:00"), at("11:00"), 2)},
			[]want{{"09:00", 3}, {"10:00", 1}, {"11:00", 3}}},
		{"2 separate single bookings leave 1", []Booking{booking(at("10:00"), at("11:00"), 1), booking(at("10:00"), at("11:00"), 0)},
			[]want{{"09:00", 3}, {"10:00", 1}, {"11:00", 3}}},
		{"3 of 3 booked removes the slot", []Booking{booking(at("10:00"), at("11:00"), 2), booking(at("10:00"), at("11:00"), 1)},
			[]want{{"09:00", 3}, {"11:00", 3}}},
		{"any overlapping booking counts", []Booking{booking(at("09:50"), at("10:10"), 1), booking(at("10:50"), at("11:10"), 2)},
			[]want{{"09:00", 2}, {"10:00", 0 /* removed */}, {"11:00", 1}}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Slots(s, spec, at("00:00"), at("23:00"), time.Time{}, tc.booked)
			var exp []want
			for _, w := range tc.want {
				if w.left > 0 {
					exp = append(exp, w)
				}
			}
			var have []want
			for _, sl := range got {
				have = append(have, want{sl.Start.In(paris).Format("15:04"), sl.SeatsLeft})
			}
			if !slices.Equal(have, exp) {
				t.Errorf("got %v; want %v", have, exp)
			}
		})
	}
}

func TestSlotsQueryRange(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	at := func(s string) time.Time { return local(t, paris, s) }
	s := Schedule{Location: paris, Weekly: weekdays(periods(t, "09:00-12:00"))}
	spec := Spec{Duration: time.Hour, Interval: 30 * time.Minute}
	cases := []struct {
		name          string
		from, to, now string
		want          []string
	}{
		{"range starts and ends mid-day", "2026-03-02 10:10", "2026-03-03 09:45", "2026-01-01 00:00",
			[]string{"03-02 10:30", "03-02 11:00", "03-03 09:00", "03-03 09:30"}},
		{"start exactly at from is included, at to excluded", "2026-03-02 10:00", "2026-03-02 11:00", "2026-01-01 00:00",
			[]string{"03-02 10:00", "03-02 10:30"}},
		{"now mid-day on a slot start keeps it", "2026-03-02 00:00", "2026-03-03 00:00", "2026-03-02 10:00",
			[]string{"03-02 10:00", "03-02 10:30", "03-02 11:00"}},
		{"now one minute later drops it", "2026-03-02 00:00", "2026-03-03 00:00", "2026-03-02 10:01",
			[]string{"03-02 10:30", "03-02 11:00"}},
		{"now after to", "2026-03-02 00:00", "2026-03-03 00:00", "2026-03-04 00:00", nil},
		{"empty range", "2026-03-02 10:00", "2026-03-02 10:00", "2026-01-01 00:00", nil},
		{"inverted range", "2026-03-03 10:00", "2026-03-02 10:00", "2026-01-01 00:00", nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			got := Slots(s, spec, at(tc.from), at(tc.to), at(tc.now), nil)
			eqStrings(t, localStarts(got, paris), tc.want)
		})
	}
}

func TestSlotsDST(t *testing.T) {
	spec := Spec{Duration: time.Hour} // interval defaults to 60 min
	nine2noon := everyDay(periods(t, "09:00-12:00"))
	cases := []struct {
		name   string
		zone   string
		weekly [7][]Period
		spec   Spec
		day    string // local date queried (whole day in UTC terms ±1 day)
		want   []string
	}{
		{"Paris day before spring forward (CET)", "Europe/Paris", nine2noon, spec, "2026-03-28",
			[]string{"03-28T08:00Z/09:00Z", "03-28T09:00Z/10:00Z", "03-28T10:00Z/11:00Z"}},
		{"Paris spring forward day (CEST)", "Europe/Paris", nine2noon, spec, "2026-03-29",
			[]string{"03-29T07:00Z/08:00Z", "03-29T08:00Z/09:00Z", "03-29T09:00Z/10:00Z"}},
		{"Paris day before fall back (CEST)", "Europe/Paris", nine2noon, spec, "2026-10-24",
			[]string{"10-24T07:00Z/08:00Z", "10-24T08:00Z/09:00Z", "10-24T09:00Z/10:00Z"}},
		{"Paris fall back day (CET)", "Europe/Paris", nine2noon, spec, "2026-10-25",
			[]string{"10-25T08:00Z/09:00Z", "10-25T09:00Z/10:00Z", "10-25T10:00Z/11:00Z"}},
		{"New York day before spring forward (EST)", "America/New_York", nine2noon, spec, "2026-03-07",
			[]string{"03-07T14:00Z/15:00Z", "03-07T15:00Z/16:00Z", "03-07T16:00Z/17:00Z"}},
		{"New York spring forward day (EDT)", "America/New_York", nine2noon, spec, "2026-03-08",
			[]string{"03-08T13:00Z/14:00Z", "03-08T14:00Z/15:00Z", "03-08T15:00Z/16:00Z"}},
		{"New York day before fall back (EDT)", "America/New_York", nine2noon, spec, "2026-10-31",
			[]string{"10-31T13:00Z/14:00Z", "10-31T14:00Z/15:00Z", "10-31T15:00Z/16:00Z"}},
		{"New York fall back day (EST)", "America/New_York", nine2noon, spec, "2026-11-01",
			[]string{"11-01T14:00Z/15:00Z", "11-01T15:00Z/16:00Z", "11-01T16:00Z/17:00Z"}},
		{
			// 01:00-04:00 on the spring-forward night: 02:00 and 02:30 do not
			// exist; the period is 2 real hours (00:00Z-02:00Z) and each slot
			// lasts a real hour, so 01:30 CET ends at 03:30 CEST.
			"Paris period spanning the gap", "Europe/Paris", everyDay(periods(t, "01:00-04:00")),
			Spec{Duration: time.Hour, Interval: 30 * time.Minute}, "2026-03-29",
			[]string{"03-29T00:00Z/01:00Z", "03-29T00:30Z/01:30Z", "03-29T01:00Z/02:00Z"},
		},
		{
			"New York period spanning the gap", "America/New_York", everyDay(periods(t, "01:00-04:00")),
			Spec{Duration: time.Hour, Interval: 30 * time.Minute}, "2026-03-08",
			[]string{"03-08T06:00Z/07:00Z", "03-08T06:30Z/07:30Z", "03-08T07:00Z/08:00Z"},
		},
		{
			// 01:00-04:00 on the fall-back night lasts 4 real hours. 02:00 and
			// 02:30 happen twice; both occurrences (CEST, then CET) are
			// offered. 03:30 CET would end after 04:00 CET.
			"Paris period spanning the repeated hour", "Europe/Paris", everyDay(periods(t, "01:00-04:00")),
			Spec{Duration: time.Hour, Interval: 30 * time.Minute}, "2026-10-25",
			[]string{"10-24T23:00Z/00:00Z", "10-24T23:30Z/00:30Z", "10-25T00:00Z/01:00Z", "10-25T00:30Z/01:30Z",
				"10-25T01:00Z/02:00Z", "10-25T01:30Z/02:30Z", "10-25T02:00Z/03:00Z"},
		},
		{
			"New York period spanning the repeated hour", "America/New_York", everyDay(periods(t, "00:00-03:00")),
			Spec{Duration: time.Hour, Interval: 30 * time.Minute}, "2026-11-01",
			[]string{"11-01T04:00Z/05:00Z", "11-01T04:30Z/05:30Z", "11-01T05:00Z/06:00Z", "11-01T05:30Z/06:30Z",
				"11-01T06:00Z/07:00Z", "11-01T06:30Z/07:30Z", "11-01T07:00Z/08:00Z"},
		},
		{
			// A period ending inside the repeated hour ends at its first
			// occurrence: the second one is outside it.
			"Paris period ending in the repeated hour", "Europe/Paris", everyDay(periods(t, "01:00-02:30")),
			Spec{Duration: 30 * time.Minute, Interval: 30 * time.Minute}, "2026-10-25",
			[]string{"10-24T23:00Z/23:30Z", "10-24T23:30Z/00:00Z", "10-25T00:00Z/00:30Z"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			loc := loadLoc(t, tc.zone)
			s := Schedule{Location: loc, Weekly: tc.weekly}
			d := date(t, tc.day)
			got := Slots(s, tc.spec, d.In(loc), d.AddDays(1).In(loc), time.Time{}, nil)
			eqStrings(t, utcSpans(got), tc.want)
			for _, sl := range got {
				if sl.End.Sub(sl.Start) != tc.spec.Duration {
					t.Errorf("slot %v lasts %v", sl.Start, sl.End.Sub(sl.Start))
				}
				if DateOf(sl.Start.In(loc)) != d {
					t.Errorf("slot %v is not on %v", sl.Start, d)
				}
			}
		})
	}
}

// A client in Tokyo queries with Tokyo-local bounds and must get the same
// instants; the Tokyo day 2026-03-29 covers Paris Sat 16:00 .. Sun 17:00.
func TestSlotsClientZone(t *testing.T) {
	paris, tokyo := loadLoc(t, "Europe/Paris"), loadLoc(t, "Asia/Tokyo")
	s := Schedule{Location: paris, Weekly: everyDay(periods(t, "09:00-12:00"))}
	spec := Spec{Duration: time.Hour}
	from, to := local(t, tokyo, "2026-03-29 00:00"), local(t, tokyo, "2026-03-30 00:00")
	got := Slots(s, spec, from, to, time.Time{}, nil)
	eqStrings(t, utcSpans(got), []string{"03-29T07:00Z/08:00Z", "03-29T08:00Z/09:00Z", "03-29T09:00Z/10:00Z"})
	var inTokyo []string
	for _, sl := range got {
		inTokyo = append(inTokyo, sl.Start.In(tokyo).Format("01-02 15:04"))
	}
	eqStrings(t, inTokyo, []string{"03-29 16:00", "03-29 17:00", "03-29 18:00"})
	// Same query expressed in UTC and in Paris time gives identical instants.
	for _, loc := range []*time.Location{time.UTC, paris} {
		again := Slots(s, spec, from.In(loc), to.In(loc), time.Time{}, nil)
		eqStrings(t, utcSpans(again), utcSpans(got))
	}
}

// TestSlotsMatchBruteForce checks the binary-search counting against the
// O(slots*bookings) definition on random data, including capacity.
func TestSlotsMatchBruteForce(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	rng := rand.New(rand.NewPCG(1, 2))
	s := Schedule{Location: paris, Weekly: everyDay(periods(t, "08:00-12:30", "13:00-20:00"))}
	from := local(t, paris, "2026-03-20 00:00")
	to := local(t, paris, "2026-04-05 00:00")
	for iter := range 50 {
		spec := Spec{
			Duration: time.Duration(15+rng.IntN(8)*15) * time.Minute,
			Interval: time.Duration(5+rng.IntN(12)*5) * time.Minute,
			Capacity: 1 + rng.IntN(4),
		}
		var booked, blocks []Booking
		for range rng.IntN(300) {
			st := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
			booked = append(booked, booking(st, st.Add(time.Duration(rng.IntN(240))*time.Minute), rng.IntN(3)))
		}
		for range rng.IntN(4) {
			st := from.Add(time.Duration(rng.Int64N(int64(to.Sub(from)))))
			blocks = append(blocks, booking(st, st.Add(time.Duration(1+rng.IntN(600))*time.Minute), 1))
		}
		sc := s
		for _, b := range blocks {
			sc.Blocks = append(sc.Blocks, b.Interval)
		}
		got := Slots(sc, spec, from, to, time.Time{}, booked)

		// Reference: the unfiltered grid, filtered by brute force.
		grid := Slots(s, Spec{Duration: spec.Duration, Interval: spec.Interval, Capacity: 1}, from, to, time.Time{}, nil)
		var want []Slot
	next:
		for _, g := range grid {
			iv := Interval{g.Start, g.End}
			for _, b := range blocks {
				if b.Overlaps(iv) {
					continue next
				}
			}
			left := spec.Capacity
			for _, b := range booked {
				if b.Overlaps(iv) {
					left -= max(b.Seats, 1)
				}
			}
			if left > 0 {
				want = append(want, Slot{g.Start, g.End, left})
			}
		}
		if !slices.EqualFunc(got, want, func(a, b Slot) bool {
			return a.Start.Equal(b.Start) && a.End.Equal(b.End) && a.SeatsLeft == b.SeatsLeft
		}) {
			t.Fatalf("iteration %d (%+v): Slots gave %d slots, brute force %d", iter, spec, len(got), len(want))
		}
	}
}

func TestSlotsInvalidInput(t *testing.T) {
	paris := loadLoc(t, "Europe/Paris")
	from, to := local(t, paris, "2026-03-02 00:00"), local(t, paris, "2026-03-03 00:00")
	good := Schedule{Location: paris, Weekly: weekdays(periods(t, "09:00-12:00"))}
	cases := []struct {
		name string
		s    Schedule
		spec Spec
	}{
		{"nil location", Schedule{Weekly: good.Weekly}, Spec{Duration: time.Hour}},
		{"zero duration", good, Spec{}},
		{"negative interval", good, Spec{Duration: time.Hour, Interval: -time.Minute}},
		{"negative capacity", good, Spec{Duration: time.Hour, Capacity: -1}},
	}
	for _, tc := range cases {
		if got := Slots(tc.s, tc.spec, from, to, time.Time{}, nil); got != nil {
			t.Errorf("%s: got %v; want nil", tc.name, got)
		}
	}
	// Malformed periods are skipped, valid ones still served.
	bad := good
	bad.Weekly[time.Monday] = []Period{{600, 540}, {-60, 30}, {540, 600}}
	eqStrings(t, localStarts(Slots(bad, Spec{Duration: time.Hour}, from, to, time.Time{}, nil), paris), []string{"03-02 09:00"})
}
