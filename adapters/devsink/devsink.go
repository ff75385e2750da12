// Package devsink is the embedded default channel, used when no provider
// credentials are configured: it sends nothing and keeps the last messages in
// memory so a new user can follow the whole flow (booking → reminder →
// "sent") without a Twilio, Telegram, Slack or SMTP account.
//
// # Simulating failures
//
// To try retries and channel fallback locally, address a message to a
// recipient whose address contains one of these markers:
//
//	fail-permanent   → a permanent *core.SendError (code "dev-permanent"):
//	                   the router falls back to the next channel
//	fail-temporary   → a temporary *core.SendError (code "dev-temporary"):
//	                   the queue retries with back-off
//	fail-ratelimit   → a temporary *core.SendError with RetryAfter 2s
//	                   (code "dev-ratelimit"), as a provider's HTTP 429 would
//
// e.g. "+15550000000" succeeds while "fail-permanent@example.com" or a Slack
// id "U-fail-temporary" fails. Failed attempts are recorded too, with their
// error, so the list shows every attempt.
package devsink

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/bookinggw/gateway/core"
)

// DefaultMax is the number of records kept when New is given max <= 0.
const DefaultMax = 1000

// RateLimitWait is the RetryAfter of a simulated "fail-ratelimit" failure.
const RateLimitWait = 2 * time.Second

// Record is one send attempt the sink received.
type Record struct {
	Outbound   core.Outbound
	At         time.Time // when Send was called
	ProviderID string    // "dev-" + Outbound.ID; empty on a failed attempt
	Status     string    // "delivered" or "failed"
	Error      string    // the simulated failure, empty on success
}

// Sink is a core.Sender that records instead of sending. It is safe for
// concurrent use. The zero value is not usable; call New.
type Sink struct {
	mu   sync.Mutex
	buf  []Record // ring buffer of capacity max
	next int      // index the next record is written at
	full bool     // the ring has wrapped
	now  func() time.Time
}

var _ core.Sender = (*Sink)(nil)

// New returns a sink keeping the last max records (DefaultMax when max <= 0).
func New(max int) *Sink {
	if max <= 0 {
		max = DefaultMax
	}
	return &Sink{buf: make([]Record, max), now: time.Now}
}

// Send records m. It fails, as documented in the package comment, for
// addresses containing "fail-permanent", "fail-temporary" or
// "fail-ratelimit", and with a temporary error when ctx is already done.
func (s *Sink) Send(ctx context.Context, m core.Outbound) (core.Sent, error) {
	if err := ctx.Err(); err != nil {
		return core.Sent{}, &core.SendError{Code: "context", Err: err}
	}
	rec := Record{Outbound: cloneOutbound(m), At: s.now()}
	var serr *core.SendError
	switch addr := strings.ToLower(m.To); {
	case strings.Contains(addr, "fail-permanent"):
		serr = &core.SendError{Permanent: true, Code: "dev-permanent",
			Err: errors.New("devsink: simulated permanent failure for " + m.To)}
	case strings.Contains(addr, "fail-temporary"):
		serr = &core.SendError{Code: "dev-temporary",
			Err: errors.New("devsink: simulated temporary failure for " + m.To)}
	case strings.Contains(addr, "fail-ratelimit"):
		serr = &core.SendError{Code: "dev-ratelimit", RetryAfter: RateLimitWait,
			Err: errors.New("devsink: simulated rate limit for " + m.To)}
	}
	var sent core.Sent
	if serr != nil {
		rec.Status, rec.Error = "failed", serr.Error()
	} else {
		sent = core.Sent{ProviderID: "dev-" + m.ID, Status: "delivered"}
		rec.ProviderID, rec.Status = sent.ProviderID, sent.Status
	}

	s.mu.Lock()
	s.buf[s.next] = rec
	s.next++
	if s.next == len(s.buf) {
		s.next, s.full = 0, true
	}
	s.mu.Unlock()

	if serr != nil {
		return core.Sent{}, serr
	}
	return sent, nil
}

// List returns the kept records, newest first.
func (s *Sink) List() []Record {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := s.next
	if s.full {
		n = len(s.buf)
	}
	out := make([]Record, 0, n)
	for i := 1; i <= n; i++ {
		idx := (s.next - i + len(s.buf)) % len(s.buf)
		r := s.buf[idx]
		r.Outbound = cloneOutbound(r.Outbound)
		out = append(out, r)
	}
	return out
}

// Len returns the number of records kept.
func (s *Sink) Len() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.full {
		return len(s.buf)
	}
	return s.next
}

// Reset forgets every record.
func (s *Sink) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	clear(s.buf)
	s.next, s.full = 0, false
}

// cloneOutbound copies the Buttons slice so callers can neither change a
// record after the fact nor see later changes.
func cloneOutbound(m core.Outbound) core.Outbound {
	if m.Buttons != nil {
		m.Buttons = append([]core.Button(nil), m.Buttons...)
	}
	return m
}
