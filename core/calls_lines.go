package core

import (
	"context"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/singleflight"
)

// CallLineTTL bounds how stale a process's view of a centre's telephony
// (voice number, hours, caller id, language, staff phones, centre name and
// timezone) may be when another process changed it. Changes made through
// this process are seen at once (the cache is emptied).
const CallLineTTL = 15 * time.Second

// callLine is what answering a call to a centre needs. It changes rarely and
// reading it took most of the voice webhook's time, so it is kept briefly.
type callLine struct {
	seq      uint64 // this load's number, unique in the process (never 0)
	known    bool   // false: no centre has this number
	settings CallSettings
	center   Center
	locale   string
	loc      *time.Location
	phones   []string // the active staff of the centre with a phone
	at       time.Time
}

// lineCache keeps callLines by called number (or centre, for provider-
// neutral connections). Concurrent misses of one key share one read, and a
// read that started before an invalidation is not kept.
type lineCache struct {
	ttl   time.Duration
	now   func() time.Time
	group singleflight.Group

	mu    sync.Mutex
	gen   uint64
	lines map[string]*callLine
}

// lineSeq numbers the loads of lines.
var lineSeq atomic.Uint64

func newLineCache(ttl time.Duration, now func() time.Time) *lineCache {
	return &lineCache{ttl: ttl, now: now, lines: map[string]*callLine{}}
}

// get returns the line of key, reading it with load when missing or older
// than the TTL. The line is shared: read only.
func (lc *lineCache) get(ctx context.Context, key string, load func(ctx context.Context) (callLine, error)) (*callLine, error) {
	now := lc.now()
	lc.mu.Lock()
	l, ok := lc.lines[key]
	gen := lc.gen
	lc.mu.Unlock()
	if ok && now.Sub(l.at) < lc.ttl {
		return l, nil
	}
	// The generation is part of the flight's key: a caller after an
	// invalidation does not join a read that started before it.
	v, err, _ := lc.group.Do(key+"\x00"+strconv.FormatUint(gen, 10), func() (any, error) {
		// Not the caller's context: its cancellation must not fail the
		// other callers waiting on this read.
		l, err := load(context.WithoutCancel(ctx))
		if err != nil {
			return nil, err
		}
		l.at = now
		l.seq = lineSeq.Add(1)
		lc.mu.Lock()
		if lc.gen == gen {
			lc.lines[key] = &l
		}
		lc.mu.Unlock()
		return &l, nil
	})
	if err != nil {
		return nil, err
	}
	return v.(*callLine), nil
}

// reset forgets every line: settings, staff or a centre changed.
func (lc *lineCache) reset() {
	lc.mu.Lock()
	lc.gen++
	clear(lc.lines)
	lc.mu.Unlock()
}
