package schedule

import (
	"math/rand/v2"
	"testing"
	"time"
)

// monthFixture: Paris, March 2026 (31 days, includes the DST change),
// Mon–Sat 09:00–13:00 and 14:00–19:00, and 2,000 bookings in random order.
func monthFixture(tb testing.TB) (Schedule, Spec, time.Time, time.Time, []Booking) {
	paris := loadLoc(tb, "Europe/Paris")
	var w [7][]Period
	for d := time.Monday; d <= time.Saturday; d++ {
		w[d] = periods(tb, "09:00-13:00", "14:00-19:00")
	}
	s := Schedule{
		Location: paris,
		Weekly:   w,
		Holidays: []Date{{2026, 3, 17}},
		Blocks:   []Interval{{local(tb, paris, "2026-03-10 15:00"), local(tb, paris, "2026-03-10 16:30")}},
	}
	spec := Spec{Duration: time.Hour, Interval: 30 * time.Minute}
	from := Date{2026, 3, 1}.In(paris)
	to := Date{2026, 4, 1}.In(paris)
	rng := rand.New(rand.NewPCG(42, 42))
	booked := make([]Booking, 2000)
	for i := range booked {
		day := Date{2026, 3, 1 + rng.IntN(31)}
		start := local(tb, paris, day.String()+" 09:00").Add(time.Duration(rng.IntN(40)) * 15 * time.Minute)
		booked[i] = booking(start, start.Add(time.Duration(1+rng.IntN(4))*15*time.Minute), 1)
	}
	return s, spec, from, to, booked
}

func BenchmarkSlotsMonth(b *testing.B) {
	s, spec, from, to, booked := monthFixture(b)
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n = len(Slots(s, spec, from, to, time.Time{}, booked))
	}
	b.ReportMetric(float64(n), "slots")
}

// Same month, no bookings: the cost of laying the grid alone.
func BenchmarkSlotsMonthEmpty(b *testing.B) {
	s, spec, from, to, _ := monthFixture(b)
	b.ReportAllocs()
	for b.Loop() {
		Slots(s, spec, from, to, time.Time{}, nil)
	}
}

// Same month and bookings for a group class of 40 seats, so most slots
// survive and the output path is exercised too.
func BenchmarkSlotsMonthGroup(b *testing.B) {
	s, spec, from, to, booked := monthFixture(b)
	spec.Capacity = 40
	var n int
	b.ReportAllocs()
	for b.Loop() {
		n = len(Slots(s, spec, from, to, time.Time{}, booked))
	}
	b.ReportMetric(float64(n), "slots")
}
