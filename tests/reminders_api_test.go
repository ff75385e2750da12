package tests

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
)

type reminderPage struct {
	Items      []core.ReminderView `json:"items"`
	NextCursor string              `json:"next_cursor"`
}

func (e *apiEnv) reminderViews(key, apptID string) []core.ReminderView {
	e.t.Helper()
	var l reminderPage
	if code := e.do(key, "GET", "/api/v1/appointments/"+apptID+"/reminders", nil, &l); code != 200 {
		e.t.Fatalf("reminders of %s: %d", apptID, code)
	}
	return l.Items
}

// TestRemindersNeverDroppedAndListed: a reminder the window pushes before
// now goes at the next window start before the visit, one with no such
// time is kept skipped with its reason; staff list reminders per
// appointment and per day with their due time and state (scheduled, sent,
// skipped and why, void), only for visits they may see.
func TestRemindersNeverDroppedAndListed(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "08:00", End: "23:00"}), core.ServiceInput{Name: "Yoga", DurationMin: 60})
		e.must(200, "PUT", "/api/v1/reminder-policy", core.ReminderPolicy{OffsetsMin: []int{1440}, AskConfirm: false,
			WindowStart: "09:00", WindowEnd: "20:00"}, nil)
		paris := paris(t)
		e.clock.Set(time.Date(2026, 3, 9, 21, 0, 0, 0, paris))
		// Booked in the evening for the next evening: 24 h before is 21:30
		// today, outside the window, and 19:59 is past: tomorrow 09:00.
		evening := e.book(f, "2026-03-10T21:30:00+01:00")
		// Booked at night for the morning: no window time before 08:30.
		morning := e.book(f, "2026-03-10T08:30:00+01:00")

		rs := e.reminderViews(e.key, evening.ID)
		if len(rs) != 1 || rs[0].State != "scheduled" || !rs[0].Due.Equal(time.Date(2026, 3, 10, 9, 0, 0, 0, paris)) ||
			rs[0].OffsetMin != 1440 || !rs[0].AppointmentStart.Equal(evening.Start) {
			t.Fatalf("evening visit's reminders: %+v", rs)
		}
		rs = e.reminderViews(e.key, morning.ID)
		if len(rs) != 1 || rs[0].State != "skipped" || !strings.Contains(rs[0].Reason, "sending window") {
			t.Fatalf("morning visit's reminders: %+v", rs)
		}

		// The day's list: what goes out on the 10th, in due order.
		var day reminderPage
		e.must(200, "GET", "/api/v1/reminders?date=2026-03-10", nil, &day)
		if len(day.Items) != 1 || day.Items[0].AppointmentID != evening.ID {
			t.Fatalf("reminders of the 10th: %+v", day.Items)
		}
		// Default: today (the 9th), where the skipped one would have gone.
		e.must(200, "GET", "/api/v1/reminders", nil, &day)
		if len(day.Items) != 1 || day.Items[0].AppointmentID != morning.ID || day.Items[0].State != "skipped" {
			t.Fatalf("reminders of today: %+v", day.Items)
		}

		// Sent: time reaches it and the worker sends it.
		if err := e.app.StartWorker(); err != nil {
			t.Fatal(err)
		}
		e.clock.Set(time.Date(2026, 3, 10, 9, 0, 0, 0, paris))
		if _, err := e.app.Notify.QueueDueReminders(context.Background(), time.Minute); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the reminder sent", 15*time.Second, func() bool {
			rs := e.reminderViews(e.key, evening.ID)
			return len(rs) == 1 && rs[0].State == "sent" && rs[0].Channel == core.ChannelSMS && rs[0].MessageID != ""
		})
		// Void: the visit moves; its new reminder is listed next to it.
		e.must(200, "POST", "/api/v1/appointments/"+evening.ID+"/move", map[string]any{"start": "2026-03-12T10:00:00+01:00"}, nil)
		rs = e.reminderViews(e.key, evening.ID)
		states := map[string]int{}
		for _, r := range rs {
			states[r.State]++
		}
		if states["void"] != 1 || states["scheduled"] != 1 {
			t.Fatalf("after the move: %+v", rs)
		}
		// Skipped for an opt-out: the reminder says so.
		now := time.Date(2026, 3, 10, 9, 0, 0, 0, time.UTC)
		e.must(200, "PUT", "/api/v1/clients/"+f.client+"/channels", map[string]any{"channels": []map[string]any{
			{"channel": "sms", "opted_out_at": now}}}, nil)
		e.clock.Set(time.Date(2026, 3, 11, 10, 0, 0, 0, paris))
		if _, err := e.app.Notify.QueueDueReminders(context.Background(), time.Minute); err != nil {
			t.Fatal(err)
		}
		waitFor(t, "the opted-out reminder", 15*time.Second, func() bool {
			for _, r := range e.reminderViews(e.key, evening.ID) {
				if r.State == "skipped" && strings.Contains(r.Reason, "opted out of sms") {
					return true
				}
			}
			return false
		})

		// Pages of one, in due order, each reminder once.
		e.must(200, "GET", "/api/v1/reminders?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&limit=1", nil, &day)
		var all []core.ReminderView
		all = append(all, day.Items...)
		for day.NextCursor != "" {
			cur := day.NextCursor
			day = reminderPage{}
			e.must(200, "GET", "/api/v1/reminders?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z&limit=1&cursor="+cur, nil, &day)
			all = append(all, day.Items...)
		}
		if len(all) != 3 || !all[0].Due.Before(all[1].Due) || !all[1].Due.Before(all[2].Due) {
			t.Fatalf("paged reminders: %+v", all)
		}

		// Access: another organization's key, a specialist, a centre's
		// administrator.
		other, _ := e.bootstrap("Other", "UTC")
		var p problem
		if code := e.do(other, "GET", "/api/v1/appointments/"+evening.ID+"/reminders", nil, &p); code != 404 {
			t.Errorf("another organization: %d", code)
		}
		if code := e.do(other, "GET", "/api/v1/reminders?date=2026-03-10&specialist_id="+f.specialist, nil, &day); code != 200 || len(day.Items) != 0 {
			t.Errorf("another organization lists %d reminders", len(day.Items))
		}
		var center, colleague idOnly
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Annexe"}, &center)
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Dr Autre", "role": "specialist", "center_ids": []string{center.ID}}, &colleague)
		var key struct {
			Key string `json:"key"`
		}
		e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "autre", "staff_id": colleague.ID}, &key)
		if code := e.do(key.Key, "GET", "/api/v1/appointments/"+evening.ID+"/reminders", nil, &p); code != 404 {
			t.Errorf("another specialist sees the reminders: %d", code)
		}
		if code := e.do(key.Key, "GET", "/api/v1/reminders?from=2026-03-01T00:00:00Z&to=2026-04-01T00:00:00Z", nil, &day); code != 200 || len(day.Items) != 0 {
			t.Errorf("another specialist lists %d reminders", len(day.Items))
		}
		for _, q := range []string{"date=10/03/2026", "date=2026-03-10&from=2026-03-10T00:00:00Z", "specialist_id=martin", "from=2026-03-10"} {
			if code := e.do(e.key, "GET", "/api/v1/reminders?"+q, nil, &p); code != 400 {
				t.Errorf("?%s = %d, want 400", q, code)
			}
		}
	})
}

// TestManualReminderFollowsPolicy: a reminder sent by hand asks for
// confirmation exactly when the visit's policy does.
func TestManualReminderFollowsPolicy(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "12:00"}), core.ServiceInput{Name: "Tutoring", DurationMin: 60})
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		var res struct {
			Messages []core.Message `json:"messages"`
		}
		e.must(200, "PUT", "/api/v1/services/"+f.service+"/reminder-policy", core.ReminderPolicy{OffsetsMin: []int{120},
			AskConfirm: true, WindowStart: "08:00", WindowEnd: "21:00"}, nil)
		e.must(200, "PUT", "/api/v1/reminder-policy", core.ReminderPolicy{OffsetsMin: []int{120}, AskConfirm: false,
			WindowStart: "08:00", WindowEnd: "21:00"}, nil)
		e.must(200, "POST", "/api/v1/appointments/remind", map[string]any{"ids": []string{a.ID}}, &res)
		if len(res.Messages) != 1 || res.Messages[0].Kind != core.KindReminderAsk {
			t.Fatalf("the service's policy asks: %+v", res.Messages)
		}
		e.must(204, "DELETE", "/api/v1/services/"+f.service+"/reminder-policy", nil, nil)
		e.clock.Set(testNow.Add(time.Second))
		e.must(200, "POST", "/api/v1/appointments/remind", map[string]any{"ids": []string{a.ID}}, &res)
		if len(res.Messages) != 1 || res.Messages[0].Kind != core.KindReminder {
			t.Fatalf("the organization's policy does not ask: %+v", res.Messages)
		}
	})
}
