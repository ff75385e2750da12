package core

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"testing"
	"time"
)

// answerStore is the part of CallStore Answer and Announce use; the rest
// panics (nil embedded interface).
type answerStore struct {
	CallStore
	calls   map[string]Call
	notices map[string]bool
}

func (f *answerStore) CallLine(_ context.Context, number string) (CallSettings, error) {
	if number != "+33100000001" {
		return CallSettings{}, NotFound("voice number")
	}
	return CallSettings{OrgID: "o", CenterID: "c", VoiceNumber: number, Hours: WeeklyJSON{"monday": {{Start: "09:00", End: "18:00"}}}}, nil
}
func (f *answerStore) GetOrganization(context.Context, string) (Organization, error) {
	return Organization{ID: "o", Locale: "fr", Timezone: "Europe/Paris"}, nil
}
func (f *answerStore) GetCenter(context.Context, string, string) (Center, error) {
	return Center{ID: "c", Name: "Bastille"}, nil
}
func (f *answerStore) CenterStaff(context.Context, string, string) ([]Staff, error) {
	return []Staff{{ID: "s", Phone: "+33600000001"}}, nil
}
func (f *answerStore) RecordIncomingCalls(_ context.Context, calls []Call) ([]bool, error) {
	created := make([]bool, len(calls))
	for i, c := range calls {
		if _, ok := f.calls[c.ProviderCallID]; !ok {
			f.calls[c.ProviderCallID], created[i] = c, true
		}
	}
	return created, nil
}
func (f *answerStore) CallByProvider(_ context.Context, _, id string) (Call, error) {
	c, ok := f.calls[id]
	if !ok {
		return c, NotFound("call")
	}
	return c, nil
}
func (f *answerStore) RecordCallNotice(_ context.Context, _, key string, _ time.Time, _ []Event) (bool, error) {
	repeat := f.notices[key]
	f.notices[key] = true
	return repeat, nil
}

type announceQueue struct {
	err    error
	queued []string
}

func (q *announceQueue) EnqueueCallAnnounces(_ context.Context, calls []CallRef) error {
	if q.err == nil {
		for _, c := range calls {
			q.queued = append(q.queued, c.CallID)
		}
	}
	return q.err
}

type liveCount struct{ n int }

func (l *liveCount) Publish(context.Context, LiveEvent) error { l.n++; return nil }

// Answer queues the announcement; when the queue refuses it, it announces
// before answering; a retried webhook announces nothing.
func TestAnswerQueuesOrAnnounces(t *testing.T) {
	monday10 := time.Date(2026, 3, 9, 9, 0, 0, 0, time.UTC)
	for _, tc := range []struct {
		name       string
		queueErr   error
		wantQueued int
		wantPopUps int
		wantEvents int
	}{
		{"queued", nil, 1, 0, 0},
		{"queue down: announced now", errors.New("redis: connection refused"), 0, 1, 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			st := &answerStore{calls: map[string]Call{}, notices: map[string]bool{}}
			q, live, sink := &announceQueue{err: tc.queueErr}, &liveCount{}, &recordingSink{}
			s := &CallService{base: base{clock: fixedClock{monday10}, events: sink}, store: st, live: live, announcer: q,
				log: slog.New(slog.NewTextHandler(io.Discard, nil)), lines: newLineCache(CallLineTTL, time.Now)}
			in := IncomingCall{Provider: ProviderTwilio, CallID: "CA1", From: "+33698765432", To: "+33100000001", At: monday10}
			for range 2 { // Twilio retries
				ans, err := s.Answer(context.Background(), in)
				if err != nil || !ans.Known || !ans.Open || len(ans.Phones) != 1 || ans.Locale != "fr" {
					t.Fatalf("answer: %+v %v", ans, err)
				}
			}
			if len(q.queued) != tc.wantQueued || live.n != tc.wantPopUps || len(sink.events) != tc.wantEvents {
				t.Errorf("queued %d, pop-ups %d, events %d", len(q.queued), live.n, len(sink.events))
			}
			if c := st.calls["CA1"]; c.DialStatus != DialPending || c.From != "+33698765432" || c.CenterID != "c" {
				t.Errorf("call: %+v", c)
			}
			// The worker's announcement, run twice, tells once.
			for range 2 {
				if card, err := s.Announce(context.Background(), ProviderTwilio, "CA1"); err != nil || card.Known || card.Phone != "+33698765432" {
					t.Fatalf("announce: %+v %v", card, err)
				}
			}
			if live.n != 1 {
				t.Errorf("pop-ups after the announcements: %d", live.n)
			}
			// A number no centre has: not known, nothing written.
			if ans, err := s.Answer(context.Background(), IncomingCall{Provider: ProviderTwilio, CallID: "CA2", From: "+33698765432", To: "+33199999999"}); err != nil || ans.Known {
				t.Errorf("unknown number: %+v %v", ans, err)
			}
			if len(st.calls) != 1 {
				t.Errorf("calls: %d", len(st.calls))
			}
		})
	}
}
