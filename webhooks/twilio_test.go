package webhooks_test

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/webhooks"
)

// receipts is a webhooks.Store that keeps status receipts in memory.
type receipts struct {
	mu      sync.Mutex
	reports map[string]core.StatusReport
	writes  int
	fail    error
}

func (r *receipts) RecordStatus(_ context.Context, provider, eventID string, rep core.StatusReport) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.fail != nil {
		return false, r.fail
	}
	key := provider + "/" + eventID
	if _, ok := r.reports[key]; ok {
		return false, nil
	}
	r.reports[key] = rep
	r.writes++
	return true, nil
}

func (r *receipts) ClaimWebhook(context.Context, string, string, time.Time) (bool, error) {
	return false, errors.New("not used")
}
func (r *receipts) FinishWebhook(context.Context, string, string, time.Time) error {
	return errors.New("not used")
}
func (r *receipts) SaveInbound(context.Context, core.Inbound) (bool, error) {
	return false, errors.New("not used")
}

// tasks is a webhooks.Enqueuer that records status tasks.
type tasks struct {
	mu     sync.Mutex
	status []string
	fail   error
}

func (q *tasks) EnqueueStatus(_ context.Context, provider, eventID string) error {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.fail != nil {
		return q.fail
	}
	q.status = append(q.status, provider+"/"+eventID)
	return nil
}
func (q *tasks) EnqueueInbound(context.Context, string) error { return errors.New("not used") }

// logCount counts log records.
type logCount struct {
	mu sync.Mutex
	n  int
}

func (l *logCount) Enabled(context.Context, slog.Level) bool { return true }
func (l *logCount) Handle(context.Context, slog.Record) error {
	l.mu.Lock()
	l.n++
	l.mu.Unlock()
	return nil
}
func (l *logCount) WithAttrs([]slog.Attr) slog.Handler { return l }
func (l *logCount) WithGroup(string) slog.Handler      { return l }

// TestTwilioStatusRecords: a signed status callback is answered once its
// receipt is written and its task queued, and logs nothing; a repeat is
// answered without a write or a task; a forged one is refused and writes
// nothing; an enqueue that fails still answers 204 (the receipt is durable:
// the sweeper applies it); a receipt that cannot be written answers 500 so
// Twilio retries.
func TestTwilioStatusRecords(t *testing.T) {
	gin.SetMode(gin.ReleaseMode)
	const path = "/webhooks/twilio/status?m=0190a3c2-7b1e-7c3d-9f00-000000000001&a=2"
	const sid = "SM0123456789abcdef0123456789abcdef"
	type call struct {
		status, code string
		token        string // signs the callback
		want         int
	}
	tests := []struct {
		name       string
		storeFail  error
		queueFail  error
		calls      []call
		wantWrites int
		wantTasks  int
		wantLogs   int
	}{
		{"fresh, then its repeat", nil, nil, []call{
			{"delivered", "", benchToken, 204},
			{"delivered", "", benchToken, 204},
		}, 1, 1, 0},
		{"forged", nil, nil, []call{{"delivered", "", "wrong-token", 403}}, 0, 0, 1},
		{"untracked statuses", nil, nil, []call{{"queued", "", benchToken, 204}, {"sending", "", benchToken, 204}}, 0, 0, 0},
		{"two statuses of one message", nil, nil, []call{
			{"sent", "", benchToken, 204},
			{"undelivered", "30005", benchToken, 204},
		}, 2, 2, 0},
		{"enqueue fails", nil, errors.New("redis down"), []call{{"delivered", "", benchToken, 204}}, 1, 0, 1},
		{"receipt fails", errors.New("database down"), nil, []call{{"delivered", "", benchToken, 500}}, 0, 0, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st := &receipts{reports: map[string]core.StatusReport{}, fail: tt.storeFail}
			q := &tasks{fail: tt.queueFail}
			logs := &logCount{}
			r := gin.New()
			webhooks.Mount(r, webhooks.Config{Store: st, Queue: q, Clock: core.SystemClock{}, Log: slog.New(logs),
				PublicURL: benchPublicURL, TwilioAuthToken: benchToken})
			for _, c := range tt.calls {
				form := url.Values{"AccountSid": {benchSID}, "MessageSid": {sid}, "MessageStatus": {c.status}, "To": {"+33612345678"}}
				if c.code != "" {
					form.Set("ErrorCode", c.code)
				}
				req := httptest.NewRequest(http.MethodPost, path, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Twilio-Signature", twiliotest.Sign(c.token, benchPublicURL+path, form))
				rec := httptest.NewRecorder()
				r.ServeHTTP(rec, req)
				if rec.Code != c.want {
					t.Fatalf("%s: answered %d, want %d", c.status, rec.Code, c.want)
				}
			}
			if st.writes != tt.wantWrites || len(q.status) != tt.wantTasks || logs.n != tt.wantLogs {
				t.Fatalf("%d receipts written, %d tasks, %d log lines; want %d, %d, %d", st.writes, len(q.status), logs.n,
					tt.wantWrites, tt.wantTasks, tt.wantLogs)
			}
			for key, rep := range st.reports {
				if rep.MessageID != "0190a3c2-7b1e-7c3d-9f00-000000000001" || rep.Attempt != 2 || rep.ProviderID != sid || rep.Channel != core.ChannelSMS {
					t.Errorf("%s: report %+v", key, rep)
				}
				if want := rep.Status == core.MsgUndelivered; rep.Permanent != want || (want && rep.Code != "30005") {
					t.Errorf("%s: permanent %v code %q", key, rep.Permanent, rep.Code)
				}
			}
			for _, task := range q.status {
				if !strings.HasPrefix(task, webhooks.ProviderTwilioStatus+"/"+sid+":") {
					t.Errorf("task %q", task)
				}
			}
		})
	}
}
