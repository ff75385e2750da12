package core

import (
	"context"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookinggw/gateway/core/groupcommit"
)

// Incoming calls are logged through a group commit: under a burst of calls
// each webhook would otherwise pay a commit (and, on PostgreSQL, a round
// trip) and a queue round trip of its own. Concurrent webhooks submit their
// call; one flush writes every call waiting in one statement, queues the
// announcements of the new ones in one task, and wakes each webhook, which
// answers only then: a call is committed before its answer.
const (
	// incomingBatchMax bounds the calls of one flush.
	incomingBatchMax = 256
	// incomingFlushTimeout bounds a flush; Twilio waits 15 s in all.
	incomingFlushTimeout = 10 * time.Second
)

type incomingItem struct {
	call Call
	// queue: the flush queues the call's announcement if it is new.
	queue bool
}

type incomingResult struct {
	created bool // the row is new (false: the call was logged before)
	queued  bool // its announcement is queued
}

// incoming returns the group commit of new calls.
func (s *CallService) incoming() *groupcommit.Batcher[incomingItem, incomingResult] {
	s.incomingOnce.Do(func() {
		b, err := groupcommit.New(incomingBatchMax, incomingFlushTimeout, s.flushIncoming)
		if err != nil {
			panic(err) // constant arguments
		}
		s.incomingLog = b
	})
	return s.incomingLog
}

// flushIncoming logs a batch of calls in one transaction, then queues the
// new calls' announcements in one task. When the queue refuses, the calls
// are still logged and each webhook announces its own call (Answer).
func (s *CallService) flushIncoming(ctx context.Context, items []incomingItem) ([]incomingResult, error) {
	calls := make([]Call, len(items))
	for i, it := range items {
		calls[i] = it.call
	}
	created, err := s.store.RecordIncomingCalls(ctx, calls)
	if err != nil {
		return nil, err
	}
	out := make([]incomingResult, len(items))
	var refs []CallRef
	for i, it := range items {
		out[i].created = created[i]
		if created[i] && it.queue && s.announcer != nil {
			refs = append(refs, CallRef{Provider: it.call.Provider, CallID: it.call.ProviderCallID})
		}
	}
	if len(refs) == 0 {
		return out, nil
	}
	if err := s.announcer.EnqueueCallAnnounces(ctx, refs); err != nil {
		s.log.WarnContext(ctx, "call announcements not queued; each webhook announces its call", "calls", len(refs), "error", err.Error())
		return out, nil
	}
	for i, it := range items {
		out[i].queued = created[i] && it.queue
	}
	return out, nil
}

// callerNumbers remembers how callers' numbers normalize: parsing one
// costs more than the rest of a call's answer, and callers call again.
// Bounded: it starts over past callerNumbersMax numbers.
type callerNumbers struct {
	m sync.Map // raw -> E.164 (or raw, when it does not parse)
	n atomic.Int64
}

const callerNumbersMax = 10000

func (c *callerNumbers) normalize(raw string) string {
	if v, ok := c.m.Load(raw); ok {
		return v.(string)
	}
	e164, _ := NormalizePhone(raw, "")
	if e164 == "" {
		e164 = raw
	}
	if c.n.Add(1) > callerNumbersMax {
		c.m.Clear()
		c.n.Store(1)
	}
	c.m.Store(raw, e164)
	return e164
}
