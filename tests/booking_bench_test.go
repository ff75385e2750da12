package tests

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
)

// benchApp is the wired service on a backend, without HTTP: the benchmarks
// measure the domain and the database.
func benchApp(b *testing.B, dbURL string) (*app.App, core.Principal, *fakeClock) {
	b.Helper()
	clock := &fakeClock{t: testNow}
	cfg, err := app.FromEnv(func(k string) string {
		switch k {
		case "DATABASE_URL":
			return dbURL
		case "REDIS_URL":
			return queuetest.RedisURL(queuetest.DBTests)
		}
		return ""
	})
	if err != nil {
		b.Fatal(err)
	}
	cfg.Clock = clock
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { a.Close() })
	res, err := a.Services.Tenancy.Bootstrap(context.Background(), core.BootstrapInput{OrgName: "Bench", Timezone: "Europe/Paris"})
	if err != nil {
		b.Fatal(err)
	}
	p, err := a.Services.Tenancy.Authenticate(context.Background(), res.PlainKey)
	if err != nil {
		b.Fatal(err)
	}
	return a, p, clock
}

type benchFixture struct {
	specialists, services []string
	client                string
}

// benchSetup makes n specialists working Mon–Sat 08:00–20:00, each with a
// 30-minute service on a 30-minute grid, and one client.
func benchSetup(b *testing.B, a *app.App, p core.Principal, n int) benchFixture {
	b.Helper()
	ctx := context.Background()
	var f benchFixture
	week := core.WeeklyJSON{}
	for _, d := range []string{"monday", "tuesday", "wednesday", "thursday", "friday", "saturday"} {
		week[d] = []core.PeriodJSON{{Start: "08:00", End: "20:00"}}
	}
	for i := 0; i < n; i++ {
		st, err := a.Services.Tenancy.CreateStaff(ctx, p, core.StaffInput{Name: fmt.Sprint("S", i), Role: core.RoleSpecialist, Timezone: "Europe/Paris"})
		if err != nil {
			b.Fatal(err)
		}
		if _, err := a.Services.Catalogue.PutSchedule(ctx, p, core.OwnerStaff, st.ID, core.ScheduleInput{Weekly: week}); err != nil {
			b.Fatal(err)
		}
		sv, err := a.Services.Catalogue.CreateService(ctx, p, core.ServiceInput{OwnerID: st.ID, Name: "Visit", DurationMin: 30, IntervalMin: 30})
		if err != nil {
			b.Fatal(err)
		}
		f.specialists, f.services = append(f.specialists, st.ID), append(f.services, sv.ID)
	}
	c, err := a.Services.Clients.CreateClient(ctx, p, core.ClientInput{Name: "Bench Client", Phone: "+33612345678"})
	if err != nil {
		b.Fatal(err)
	}
	f.client = c.ID
	return f
}

// BenchmarkAvailabilityMonth: one specialist, 2,000 appointments spread over
// the month, availability for 31 days (target: under 2 ms).
func BenchmarkAvailabilityMonth(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			a, p, _ := benchApp(b, be.URL)
			f := benchSetup(b, a, p, 1)
			ctx := context.Background()
			// 2,000 bookings, all inside the queried month: 26 working days
			// of March × 77 starts 9 minutes apart (staff override lets them
			// overlap, as a busy group practice's diary does).
			var days []time.Time
			for d := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC); d.Month() == time.March; d = d.AddDate(0, 0, 1) {
				if d.Weekday() != time.Sunday {
					days = append(days, d)
				}
			}
			for i := 0; i < 2000; i++ {
				at := days[i%len(days)].Add(time.Duration(i/len(days)) * 9 * time.Minute)
				if _, err := a.Services.Booking.CreateAppointment(ctx, p, core.AppointmentInput{SpecialistID: f.specialists[0],
					ServiceID: f.services[0], ClientID: f.client, Start: at, Override: true}); err != nil {
					b.Fatal(err)
				}
			}
			q := core.AvailabilityQuery{SpecialistID: f.specialists[0], ServiceID: f.services[0], From: "2026-03-01", To: "2026-03-31", Timezone: "Europe/Paris"}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				if _, err := a.Services.Booking.Availability(ctx, p, q); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBookingConcurrent: 32 concurrent clients book distinct slots of
// 16 specialists (target: above 1,000 bookings/s).
func BenchmarkBookingConcurrent(b *testing.B) {
	for _, be := range storetest.Backends(b) {
		b.Run(be.Name, func(b *testing.B) {
			a, p, _ := benchApp(b, be.URL)
			f := benchSetup(b, a, p, 32)
			b.ReportMetric(bookConcurrently(b, a, p, f), "bookings/s")
		})
	}
}

// BenchmarkBookingVsPgbench (PostgreSQL, when pgbench is installed): the
// service's booking throughput at 32 concurrent clients against pgbench
// running the booking transaction's own four statements (lock the
// specialist, read its appointments in the window, insert the appointment,
// insert the event) at 32 clients on the same database, in the same run.
func BenchmarkBookingVsPgbench(b *testing.B) {
	pgbench, err := exec.LookPath("pgbench")
	if err != nil || os.Getenv("TEST_DATABASE_URL") == "" {
		b.Skip("needs pgbench and TEST_DATABASE_URL")
	}
	var pg storetest.Backend
	for _, be := range storetest.Backends(b) {
		if be.Name == "postgres" {
			pg = be
		}
	}
	a, p, _ := benchApp(b, pg.URL)
	f := benchSetup(b, a, p, 32)
	quote := func(ids []string) string { return "ARRAY['" + strings.Join(ids, "','") + "']" }
	script := fmt.Sprintf(`\set sp random(1, 32)
\set k random(1, 1000000000)
BEGIN;
SELECT id FROM staff WHERE id = (%[1]s)[:sp] AND org_id = '%[3]s' FOR UPDATE;
SELECT id, start_at, end_at, seats FROM appointments WHERE specialist_id = (%[1]s)[:sp] AND org_id = '%[3]s' AND holds
  AND start_at >= :k - 86400000 AND start_at < :k + 1800000 AND end_at > :k;
INSERT INTO appointments (id, org_id, center_id, specialist_id, service_id, room_id, client_id, start_at, end_at, seats, status,
  requested_by, location_kind, location_details, notes, price_minor, currency, paid_minor, series_id, series_index, confirmed_at,
  cancel_reason, late_cancel, created_at, updated_at, package_sale_id, holds)
  VALUES (gen_random_uuid()::text, '%[3]s', '', (%[1]s)[:sp], (%[2]s)[:sp], '', '%[4]s', :k, :k + 1800000, 1, 'accepted',
  'staff', '', '', '', 0, 'EUR', 0, '', 0, NULL, '', false, 0, 0, '', true);
INSERT INTO events (id, org_id, kind, occurred_at, data) VALUES (gen_random_uuid()::text, '%[3]s', 'appointment.booked', 0,
  '{"appointment_id":"x","client_id":"%[4]s","specialist_id":"y"}');
END;
`, quote(f.specialists), quote(f.services), p.OrgID, f.client)
	file := filepath.Join(b.TempDir(), "booking.sql")
	if err := os.WriteFile(file, []byte(script), 0o600); err != nil {
		b.Fatal(err)
	}
	u, _ := url.Parse(pg.URL)
	schema := u.Query().Get("search_path")
	q := u.Query()
	q.Del("search_path")
	u.RawQuery = q.Encode()
	cmd := exec.Command(pgbench, "-n", "-c", "32", "-j", "2", "-T", "10", "-f", file, u.String())
	cmd.Env = append(os.Environ(), "PGOPTIONS=-c search_path="+schema)
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatalf("pgbench: %v\n%s", err, out)
	}
	m := regexp.MustCompile(`tps = ([0-9.]+)`).FindSubmatch(out)
	if m == nil {
		b.Fatalf("no tps in pgbench's output:\n%s", out)
	}
	base, _ := strconv.ParseFloat(string(m[1]), 64)

	rate := bookConcurrently(b, a, p, f)
	b.ReportMetric(rate, "bookings/s")
	b.ReportMetric(base, "pgbench-tps")
	b.ReportMetric(100*rate/base, "%-of-pgbench")
	fmt.Printf("BenchmarkBookingVsPgbench: service %.0f bookings/s, pgbench %.0f tps (same statements, 32 clients): %.0f%%\n", rate, base, 100*rate/base)
}

// bookConcurrently books b.N distinct slots of the fixture's 32 specialists
// from 32 goroutines and returns the bookings per second.
func bookConcurrently(b *testing.B, a *app.App, p core.Principal, f benchFixture) float64 {
	ctx := context.Background()
	var seq atomic.Int64
	base := time.Date(2026, 3, 2, 7, 0, 0, 0, time.UTC) // Monday 08:00 Paris
	b.SetParallelism((32 + 1) / 2)                      // 2 cores × 16 = 32 goroutines
	b.ResetTimer()
	start := time.Now()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			n := seq.Add(1) - 1
			sp := int(n % 32)
			k := int(n / 32) // k-th booking of this specialist
			day, slot := k/24, k%24
			date := base.AddDate(0, 0, day+day/6) // skip Sundays
			at := date.Add(time.Duration(slot) * 30 * time.Minute)
			if _, err := a.Services.Booking.CreateAppointment(ctx, p, core.AppointmentInput{SpecialistID: f.specialists[sp],
				ServiceID: f.services[sp], ClientID: f.client, Start: at}); err != nil {
				b.Error(err)
				return
			}
		}
	})
	return float64(b.N) / time.Since(start).Seconds()
}
