// Package live is the Redis implementation of core.LiveEvents and
// core.LiveFeed: the live events staff screens follow over Server-Sent
// Events (GET /api/v1/events).
//
// Each organization has one Redis Stream. Publish appends to it (trimmed to
// a retention window and a maximum length); every API process reads the
// streams its connected screens need. DESIGN.md speaks of pub/sub: a stream
// is used instead because it keeps the recent events, so a screen that
// reconnects with Last-Event-ID replays what it missed, and the stream
// entry id is the SSE event id. It works the same on a real Redis and on the
// embedded miniredis (one process).
//
// Every entry also records the id of the entry before it ("prev"), and a
// small key keeps the organization's newest id. Together they tell exactly
// whether a reader resuming after some id missed events that were trimmed
// (core.ErrLiveGap) or missed nothing, even when the stream itself has
// expired in a quiet organization.
package live

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/bookinggw/gateway/core"
)

// Config tunes the streams. Zero values take the defaults.
type Config struct {
	// Retention is how long events are kept for replay (default 15m).
	Retention time.Duration
	// MaxEvents caps each organization's stream (default 10000).
	MaxEvents int64
	// Block bounds one blocking read, which is also how long Close may
	// wait for the reader when Redis does not answer (default 5s).
	Block time.Duration
	// Buffer is how many events a slow subscriber may be behind before it
	// catches up from Redis instead (default 256).
	Buffer int
	// Now stamps events published without At (default time.Now).
	Now func() time.Time
	Log *slog.Logger
}

// Defaults of Config.
const (
	DefaultRetention = 15 * time.Minute
	DefaultMaxEvents = 10000
)

// Stream publishes and follows live events on Redis. It implements
// core.LiveEvents and core.LiveFeed.
type Stream struct {
	rdb  redis.UniversalClient
	cfg  Config
	wake string // this process's wake-up stream (see reader)

	mu      sync.Mutex
	orgs    map[string]*orgFeed
	running bool
	closed  bool
	done    chan struct{} // closed when the reader returns
	stop    context.CancelFunc
}

var (
	_ core.LiveEvents = (*Stream)(nil)
	_ core.LiveFeed   = (*Stream)(nil)
)

// ErrClosed is returned by Next after the Stream was closed.
var ErrClosed = errors.New("live: stream closed")

// New follows live events on rdb (the queue's Redis client is fine: the
// Stream holds one connection for its blocking reads, whatever the number
// of screens).
func New(rdb redis.UniversalClient, cfg Config) *Stream {
	if cfg.Retention <= 0 {
		cfg.Retention = DefaultRetention
	}
	if cfg.MaxEvents <= 0 {
		cfg.MaxEvents = DefaultMaxEvents
	}
	if cfg.Block <= 0 {
		cfg.Block = 5 * time.Second
	}
	if cfg.Buffer <= 0 {
		cfg.Buffer = 256
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	return &Stream{rdb: rdb, cfg: cfg, wake: "live:wake:" + strconv.FormatInt(time.Now().UnixNano(), 36) + randSuffix(),
		orgs: map[string]*orgFeed{}}
}

func randSuffix() string {
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// The keys of an organization share a hash tag, so the publish script
// touches one cluster slot.
func streamKey(org string) string { return "live:{" + org + "}:events" }
func lastKey(org string) string   { return "live:{" + org + "}:last" }

// publishScript appends an event with the id of the one before it, trims
// the stream to MAXLEN and to the retention window (by the new id's own
// time, so Redis's clock alone decides), lets a quiet stream expire, and
// remembers the newest id. It runs atomically, so "prev" never lies.
var publishScript = redis.NewScript(`
local prev = redis.call('GET', KEYS[2]) or '0-0'
local id = redis.call('XADD', KEYS[1], 'MAXLEN', ARGV[1], '*', 'prev', prev, 'ev', ARGV[2])
local ms = tonumber(string.match(id, '^(%d+)'))
redis.call('XTRIM', KEYS[1], 'MINID', tostring(ms - tonumber(ARGV[3])))
redis.call('PEXPIRE', KEYS[1], ARGV[3])
redis.call('SET', KEYS[2], id)
return id
`)

// Publish appends ev to its organization's stream. It stamps At when it is
// zero and refuses events without kind, organization or centre.
func (s *Stream) Publish(ctx context.Context, ev core.LiveEvent) error {
	if err := ev.Check(); err != nil {
		return err
	}
	if ev.At.IsZero() {
		ev.At = s.cfg.Now()
	}
	ev.ID = ""
	b, err := json.Marshal(ev)
	if err != nil {
		return fmt.Errorf("live: encode %s event: %w", ev.Kind, err)
	}
	ret := s.cfg.Retention.Milliseconds()
	if err := publishScript.Run(ctx, s.rdb, []string{streamKey(ev.OrgID), lastKey(ev.OrgID)}, s.cfg.MaxEvents, b, ret).Err(); err != nil {
		return fmt.Errorf("live: publish %s event: %w", ev.Kind, err)
	}
	return nil
}

// decode turns a stream entry into an event; Data stays raw JSON.
func decode(m redis.XMessage) (core.LiveEvent, string, error) {
	raw, _ := m.Values["ev"].(string)
	var ev struct {
		core.LiveEvent
		Data json.RawMessage `json:"data,omitempty"`
	}
	if err := json.Unmarshal([]byte(raw), &ev); err != nil {
		return core.LiveEvent{}, "", fmt.Errorf("live: decode entry %s: %w", m.ID, err)
	}
	out := ev.LiveEvent
	out.ID = m.ID
	if len(ev.Data) > 0 {
		out.Data = ev.Data
	}
	prev, _ := m.Values["prev"].(string)
	return out, prev, nil
}

// id is a parsed stream entry id, ordered like Redis orders them.
type id struct{ ms, seq uint64 }

func parseID(s string) (id, bool) {
	a, b, ok := strings.Cut(s, "-")
	if !ok {
		return id{}, false
	}
	ms, err1 := strconv.ParseUint(a, 10, 64)
	seq, err2 := strconv.ParseUint(b, 10, 64)
	return id{ms, seq}, err1 == nil && err2 == nil
}

func (a id) less(b id) bool { return a.ms < b.ms || (a.ms == b.ms && a.seq < b.seq) }

// orgFeed is one organization followed by this process.
type orgFeed struct {
	org  string
	pos  string // the reader's position: the last entry it fanned out
	subs map[*Subscription]struct{}
}

// Subscription follows one organization. It is used by one goroutine.
type Subscription struct {
	s    *Stream
	feed *orgFeed
	ch   chan core.LiveEvent
	kick chan struct{} // a lag or the Stream's close happened
	// behind means events were dropped (buffer full, or a gap seen by the
	// reader): Next reads them from Redis after last.
	behind  atomic.Bool
	closed  atomic.Bool
	last    id
	pending []core.LiveEvent
}

// Subscribe follows org's events after afterID ("" = from now).
func (s *Stream) Subscribe(ctx context.Context, orgID, afterID string) (core.LiveSubscription, error) {
	if orgID == "" {
		return nil, core.Invalid("live: organization is required")
	}
	var after id
	if afterID != "" {
		var ok bool
		if after, ok = parseID(afterID); !ok {
			return nil, core.ErrLiveGap
		}
	}
	// The newest id decides where a new reader of this organization
	// starts, and where a subscriber without afterID starts.
	newest, err := s.rdb.Get(ctx, lastKey(orgID)).Result()
	if err != nil && !errors.Is(err, redis.Nil) {
		return nil, fmt.Errorf("live: subscribe: %w", err)
	}
	if newest == "" {
		newest = "0-0"
	}
	sub := &Subscription{s: s, ch: make(chan core.LiveEvent, s.cfg.Buffer), kick: make(chan struct{}, 1)}
	if afterID == "" {
		sub.last, _ = parseID(newest)
	} else {
		sub.last = after
		sub.behind.Store(true)
	}
	if err := s.join(ctx, sub, orgID, newest); err != nil {
		return nil, err
	}
	if afterID != "" {
		// Catch up now, so a resume point outside the window is refused
		// before the API starts streaming.
		if err := sub.catchUp(ctx); err != nil {
			sub.Close()
			return nil, err
		}
	}
	return sub, nil
}

func (s *Stream) join(ctx context.Context, sub *Subscription, org, newest string) error {
	s.mu.Lock()
	if s.closed {
		s.mu.Unlock()
		return ErrClosed
	}
	f := s.orgs[org]
	added := f == nil
	if added {
		f = &orgFeed{org: org, pos: newest, subs: map[*Subscription]struct{}{}}
		s.orgs[org] = f
	}
	f.subs[sub] = struct{}{}
	sub.feed = f
	if !s.running {
		s.running = true
		rctx, cancel := context.WithCancel(context.Background())
		s.stop = cancel
		s.done = make(chan struct{})
		go s.read(rctx, s.done)
	}
	s.mu.Unlock()
	if added {
		// The reader may be blocked on the other streams: wake it so it
		// reads this one from now on.
		return s.poke(ctx)
	}
	return nil
}

func (s *Stream) poke(ctx context.Context) error {
	p := s.rdb.TxPipeline()
	p.XAdd(ctx, &redis.XAddArgs{Stream: s.wake, MaxLen: 1, Values: []string{"w", "1"}})
	p.PExpire(ctx, s.wake, time.Minute)
	if _, err := p.Exec(ctx); err != nil {
		return fmt.Errorf("live: wake reader: %w", err)
	}
	return nil
}

// read is the process's one reader: a blocking XREAD over every followed
// organization's stream and the wake-up stream, fanning entries out to the
// subscribers. It ends when the last subscriber leaves or on Close.
func (s *Stream) read(ctx context.Context, done chan struct{}) {
	defer close(done)
	// The wake-up stream is this process's own and keeps one entry: reading
	// it from the start costs one spurious round and misses no wake-up.
	wakePos := "0-0"
	backoff := 100 * time.Millisecond
	for {
		s.mu.Lock()
		if len(s.orgs) == 0 || ctx.Err() != nil {
			s.running = false
			s.stop()
			s.mu.Unlock()
			return
		}
		keys := make([]string, 0, len(s.orgs)+1)
		ids := make([]string, 0, len(s.orgs)+1)
		feeds := map[string]*orgFeed{}
		for org, f := range s.orgs {
			keys = append(keys, streamKey(org))
			ids = append(ids, f.pos)
			feeds[streamKey(org)] = f
		}
		s.mu.Unlock()
		keys = append(keys, s.wake)
		ids = append(ids, wakePos)

		res, err := s.rdb.XRead(ctx, &redis.XReadArgs{Streams: append(keys, ids...), Block: s.cfg.Block, Count: 500}).Result()
		if errors.Is(err, redis.Nil) {
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				continue
			}
			s.cfg.Log.Warn("live events: read failed", "error", err.Error())
			select {
			case <-time.After(backoff):
			case <-ctx.Done():
			}
			backoff = min(2*backoff, 5*time.Second)
			continue
		}
		backoff = 100 * time.Millisecond
		for _, st := range res {
			if st.Stream == s.wake {
				if n := len(st.Messages); n > 0 {
					wakePos = st.Messages[n-1].ID
				}
				continue
			}
			s.fanOut(feeds[st.Stream], st.Messages)
		}
	}
}

func (s *Stream) fanOut(f *orgFeed, msgs []redis.XMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if f == nil || s.orgs[f.org] != f {
		return // nobody follows it any more
	}
	for _, m := range msgs {
		ev, prev, err := decode(m)
		gap := prev != f.pos
		f.pos = m.ID
		for sub := range f.subs {
			if gap || err != nil {
				// Trimmed before this reader saw it (Redis was away), or
				// unreadable: each subscriber checks from Redis itself.
				sub.lag()
				continue
			}
			select {
			case sub.ch <- ev:
			default:
				sub.lag()
			}
		}
		if err != nil {
			s.cfg.Log.Warn("live events: bad entry", "org_id", f.org, "error", err.Error())
		}
	}
}

func (sub *Subscription) lag() {
	sub.behind.Store(true)
	select {
	case sub.kick <- struct{}{}:
	default:
	}
}

// catchBatch is how many events one catch-up read takes from Redis.
const catchBatch = 500

// catchUp reads from Redis the events after sub.last, checking that none
// was trimmed in between.
func (sub *Subscription) catchUp(ctx context.Context) error {
	s, org := sub.s, sub.feed.org
	after := fmt.Sprintf("%d-%d", sub.last.ms, sub.last.seq)
	var newest *redis.StringCmd
	var entries *redis.XMessageSliceCmd
	_, err := s.rdb.TxPipelined(ctx, func(p redis.Pipeliner) error {
		newest = p.Get(ctx, lastKey(org))
		entries = p.XRangeN(ctx, streamKey(org), "("+after, "+", catchBatch)
		return nil
	})
	if err != nil && !errors.Is(err, redis.Nil) {
		return fmt.Errorf("live: catch up: %w", err)
	}
	if err := entries.Err(); err != nil {
		return fmt.Errorf("live: catch up: %w", err)
	}
	msgs := entries.Val()
	if len(msgs) == 0 {
		// Nothing kept after our point: fine only if our point is the
		// newest event (or there never was one and we start from zero).
		n := newest.Val()
		if n == after || (n == "" && sub.last == (id{})) {
			return nil
		}
		return core.ErrLiveGap
	}
	if prev, _ := msgs[0].Values["prev"].(string); prev != after {
		return core.ErrLiveGap
	}
	for _, m := range msgs {
		ev, _, err := decode(m)
		if err != nil {
			s.cfg.Log.Warn("live events: bad entry", "org_id", org, "error", err.Error())
			continue
		}
		sub.pending = append(sub.pending, ev)
	}
	if len(msgs) == catchBatch {
		sub.behind.Store(true)
	}
	return nil
}

// Next waits for the next event of the organization.
func (sub *Subscription) Next(ctx context.Context) (core.LiveEvent, error) {
	for {
		if len(sub.pending) > 0 {
			ev := sub.pending[0]
			sub.pending = sub.pending[1:]
			if sub.take(ev) {
				return ev, nil
			}
			continue
		}
		if sub.closed.Load() {
			return core.LiveEvent{}, ErrClosed
		}
		if sub.behind.Swap(false) {
			if err := sub.catchUp(ctx); err != nil {
				sub.behind.Store(true)
				return core.LiveEvent{}, err
			}
			continue
		}
		select {
		case <-ctx.Done():
			return core.LiveEvent{}, ctx.Err()
		case ev := <-sub.ch:
			if sub.take(ev) {
				return ev, nil
			}
		case <-sub.kick:
		}
	}
}

// take moves past ev unless it was delivered already (an event can come
// both from a catch-up read and from the reader).
func (sub *Subscription) take(ev core.LiveEvent) bool {
	i, ok := parseID(ev.ID)
	if !ok || !sub.last.less(i) {
		return false
	}
	sub.last = i
	return true
}

// Close stops following; the reader stops when nobody follows anything.
func (sub *Subscription) Close() {
	if sub.closed.Swap(true) {
		return
	}
	s := sub.s
	s.mu.Lock()
	defer s.mu.Unlock()
	f := sub.feed
	delete(f.subs, sub)
	if len(f.subs) == 0 && s.orgs[f.org] == f {
		delete(s.orgs, f.org)
	}
}

// Subscribers counts this process's open subscriptions.
func (s *Stream) Subscribers() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, f := range s.orgs {
		n += len(f.subs)
	}
	return n
}

// Close ends every subscription (their Next answers ErrClosed) and waits
// for the reader. Publish keeps working.
func (s *Stream) Close() error {
	s.mu.Lock()
	s.closed = true
	for _, f := range s.orgs {
		for sub := range f.subs {
			sub.closed.Store(true)
			select {
			case sub.kick <- struct{}{}:
			default:
			}
		}
	}
	s.orgs = map[string]*orgFeed{}
	done, running := s.done, s.running
	if running {
		s.stop()
	}
	s.mu.Unlock()
	if running {
		// Wake the blocked read so Close does not wait for its timeout.
		ctx, cancel := context.WithTimeout(context.Background(), time.Second)
		_ = s.poke(ctx)
		cancel()
		<-done
	}
	return nil
}
