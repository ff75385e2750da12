package core

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/bookinggw/gateway/core/sms"
)

func smsInfo(body string) sms.Info { return sms.Analyze(body) }

// Start freezes a due scheduled campaign: one conditional update moves it
// to sending, so of two schedulers only one starts it; then its fan-out is
// queued. It reports whether this call started it.
func (s *CampaignService) Start(ctx context.Context, id string) (bool, error) {
	c, err := s.store.GetCampaignByID(ctx, id)
	if err != nil {
		return false, err
	}
	now := s.Now()
	if c.Status != CampaignScheduled || c.SendAt != nil && c.SendAt.After(now) {
		return false, nil
	}
	ok, err := s.store.SetCampaignStatus(ctx, c.OrgID, c.ID, []CampaignStatus{CampaignScheduled}, CampaignSending, "", now)
	if err != nil || !ok {
		return false, err
	}
	return true, s.queue.EnqueueFanout(ctx, c.ID)
}

// FanOut writes the frozen audience's messages batch by batch (one
// transaction per batch) from where the last run stopped, and enqueues
// each written batch. Three stages overlap, as each mostly waits on the
// database or Redis: reading and planning the next batch, writing this
// one, enqueuing the one before (sends start with the first batch). Two
// runs at once are harmless: a batch is written only if the cursor is
// where its run read it and the campaign is still sending, so a pause or
// cancel stops the fan-out at its next batch.
func (s *CampaignService) FanOut(ctx context.Context, id string) error {
	c, err := s.store.GetCampaignByID(ctx, id)
	if err != nil {
		return err
	}
	if c.Status != CampaignSending || c.FanoutDone || c.FrozenAt == nil {
		return nil
	}
	type planned struct {
		rs   []plannedRecipient
		next string
	}
	// The reader runs at most one batch ahead of the writer.
	walkCtx, stopWalk := context.WithCancel(ctx)
	defer stopWalk()
	plans, walked := make(chan planned, 1), make(chan error, 1)
	go func() {
		defer close(plans)
		walked <- s.walk(walkCtx, c, c.FanoutAfter, *c.FrozenAt, func(rs []plannedRecipient, next string) (bool, error) {
			select {
			case plans <- planned{rs, next}:
				return rs == nil, nil
			case <-walkCtx.Done():
				return true, walkCtx.Err()
			}
		})
	}()
	// The enqueuer runs at most one batch behind; its first error stops
	// the writer (the rows are queued: the sweeper enqueues them, and the
	// task's retry resumes from the cursor).
	sends, enqueued := make(chan []Message, 1), make(chan error, 1)
	var enqFailed atomic.Bool
	go func() {
		var first error
		for msgs := range sends {
			if first == nil {
				if first = s.queue.EnqueueSends(ctx, msgs); first != nil {
					enqFailed.Store(true)
				}
			}
		}
		enqueued <- first
	}()
	after, done, stopped := c.FanoutAfter, false, false
	for p := range plans {
		if enqFailed.Load() {
			stopped = true
			break
		}
		b := s.fanoutBatch(c, after, p.next, p.rs)
		msgs, ok, werr := s.store.AppendCampaignBatch(ctx, c.OrgID, b, s.Now())
		if werr != nil || !ok { // !ok: another run moved the cursor, or the campaign stopped sending
			err, stopped = werr, true
			break
		}
		after, done = p.next, b.Done
		sends <- msgs
	}
	stopWalk()
	for range plans { // let the reader see the cancel
	}
	close(sends)
	werr, eerr := <-walked, <-enqueued
	if stopped {
		werr = nil // the reader was cancelled by the writer's stop
	}
	if err = errors.Join(err, werr, eerr); err == nil && done {
		s.notifyProgress(ctx, c.ID)
	}
	return err
}

// fanoutBatch is one batch's recipients and messages; rs nil is the last
// (empty) batch, which marks the fan-out done.
func (s *CampaignService) fanoutBatch(c Campaign, after, next string, rs []plannedRecipient) CampaignBatch {
	b := CampaignBatch{CampaignID: c.ID, After: after, Next: next, Done: rs == nil}
	now := s.Now()
	for _, r := range rs {
		rec := CampaignRecipient{ID: NewID(), ClientID: r.Client.ID, Channel: r.Channel, Address: r.Address, Locale: r.Locale,
			State: MsgSkipped, Reason: r.Reason}
		if r.Reason == "" {
			m := Message{ID: NewID(), OrgID: c.OrgID, CenterID: r.CenterID, RecipientKind: "client", RecipientID: r.Client.ID,
				Channel: r.Channel, To: r.Address, Kind: KindCampaign, Locale: r.Locale, Body: r.Body, Status: MsgQueued,
				Segments: r.Segments, Encoding: r.Encoding, DedupeKey: "campaign:" + c.ID + ":" + string(r.Channel) + ":" + r.Address,
				CampaignID: c.ID, DueAt: r.DueAt, CreatedAt: now, UpdatedAt: now}
			rec.MessageID, rec.State = m.ID, MsgQueued
			b.Messages = append(b.Messages, m)
		}
		b.Recipients = append(b.Recipients, rec)
	}
	return b
}

// progressEvery is how often the tick publishes a sending campaign's
// counters.
const progressEvery = 15 * time.Second

// progressClock remembers when each campaign's progress was published.
type progressClock struct {
	mu   sync.Mutex
	last map[string]time.Time
}

// due reports whether campaign id's progress is due at now, and if so
// takes the slot.
func (p *progressClock) due(id string, now time.Time) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if at, ok := p.last[id]; ok && now.Sub(at) < progressEvery {
		return false
	}
	if p.last == nil || len(p.last) > 1000 {
		p.last = map[string]time.Time{}
	}
	p.last[id] = now
	return true
}

// fanoutStall is how long a fan-out may write no batch before Tick takes
// its runner for dead and starts another. A live runner writes a batch in
// well under a second; a second runner would only lose the cursor race.
const fanoutStall = 10 * time.Second

// Tick starts due campaigns, restarts fan-outs that died (a killed
// worker), and finishes campaigns with nothing pending. It runs
// periodically on every worker; each step is a conditional update.
func (s *CampaignService) Tick(ctx context.Context) error {
	now := s.Now()
	cs, err := s.store.ActiveCampaigns(ctx, now, 200)
	if err != nil {
		return err
	}
	var errs []error
	for _, c := range cs {
		switch {
		case c.Status == CampaignScheduled:
			_, err = s.Start(ctx, c.ID)
		case !c.FanoutDone && now.Sub(c.UpdatedAt) > fanoutStall:
			// No batch written for a while: its runner died (a killed
			// worker's task stays "active" in Asynq until its lease runs
			// out). Another run resumes from the cursor; one per stall.
			err = s.queue.RestartFanout(ctx, c.ID, c.UpdatedAt)
		case !c.FanoutDone:
			err = s.queue.EnqueueFanout(ctx, c.ID)
		default:
			// Whether anything is pending is one probe of an index; the
			// recipients' count (a join over the whole audience, seconds
			// at 100,000 on a busy SQLite) runs when the campaign
			// finishes, and for staff screens every progressEvery.
			var pending, ok bool
			if pending, err = s.store.CampaignPending(ctx, c.ID); err == nil && !pending {
				ok, err = s.store.SetCampaignStatus(ctx, c.OrgID, c.ID, []CampaignStatus{CampaignSending}, CampaignFinished, "", now)
				if ok {
					s.notifyProgress(ctx, c.ID)
				}
			} else if err == nil && s.progress.due(c.ID, now) {
				s.notifyProgress(ctx, c.ID)
			}
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("campaign %s: %w", c.ID, err))
		}
	}
	return errors.Join(errs...)
}

// SendVerdict is what a campaign says of one of its messages about to be
// sent.
type SendVerdict struct {
	Hold       bool          // the campaign is paused: keep the message paused
	Skip       string        // why the message is not sent (cancelled, opted out since)
	Wait       time.Duration // outside the recipient's window: try again then
	PerMinute  int           // the campaign's own pace (0: the channel's)
	ContentSID string        // WhatsApp content template
}

// CheckSend is asked by the pipeline right before a campaign message is
// handed to the provider (after it is claimed): the campaign's state and
// rate are read now, and opt-outs are checked again, not only at freeze.
func (s *CampaignService) CheckSend(ctx context.Context, m Message) (SendVerdict, error) {
	var v SendVerdict
	c, org, err := s.cached(ctx, m.CampaignID)
	if err != nil {
		return v, err
	}
	switch c.Status {
	case CampaignPaused:
		v.Hold = true
		return v, nil
	case CampaignCancelled:
		v.Skip = "campaign cancelled"
		return v, nil
	}
	v.PerMinute = c.RatePerMinute
	if c.Template != nil {
		v.ContentSID = c.Template.ContentSID
	}
	sender := m.From
	if sender == "" {
		if sender = org.SMSFrom; sender == "" {
			sender = s.cfg.DefaultSMSFrom
		}
	}
	outs, err := s.optOuts(ctx, c.OrgID, m.RecipientID, sender)
	if err != nil {
		return v, err
	}
	if slices.Contains(outs, m.Channel) {
		v.Skip = reasonOptedOut + " of " + string(m.Channel) + " after the audience was frozen"
		return v, nil
	}
	if c.Window != nil {
		cl, err := s.store.GetClient(ctx, c.OrgID, m.RecipientID)
		if err != nil {
			return v, err
		}
		now := s.Now()
		if at := nextInWindow(now, *c.Window, cl.Timezone, org.Timezone); at.After(now) {
			v.Wait = at.Sub(now)
		}
	}
	return v, nil
}

// campaignCacheTTL bounds how stale the send-time check's campaign may be:
// a pause or a rate change reaches every worker within it.
const campaignCacheTTL = 300 * time.Millisecond

// campaignCache keeps each campaign and its organization for
// campaignCacheTTL, so a campaign sending hundreds of messages a second
// does not read them for each.
type campaignCache struct {
	mu sync.Mutex
	m  map[string]cachedCampaign
}

type cachedCampaign struct {
	c   Campaign
	org Organization
	at  time.Time
}

func (s *CampaignService) cached(ctx context.Context, id string) (Campaign, Organization, error) {
	s.cache.mu.Lock()
	e, ok := s.cache.m[id]
	s.cache.mu.Unlock()
	if ok && time.Since(e.at) < campaignCacheTTL {
		return e.c, e.org, nil
	}
	c, err := s.store.GetCampaignByID(ctx, id)
	if err != nil {
		return c, Organization{}, err
	}
	org, err := s.store.GetOrganization(ctx, c.OrgID)
	if err != nil {
		return c, org, err
	}
	s.cache.mu.Lock()
	if s.cache.m == nil || len(s.cache.m) > 1000 {
		s.cache.m = map[string]cachedCampaign{}
	}
	s.cache.m[id] = cachedCampaign{c: c, org: org, at: time.Now()}
	s.cache.mu.Unlock()
	return c, org, nil
}

// optOutSnapshotMax bounds the opted-out rows the send gate keeps per
// organization and sender; past it, each message is checked on its own.
const optOutSnapshotMax = 20000

// optOutCache keeps each organization's opted-out clients (per sender) for
// campaignCacheTTL: a campaign sending hundreds of messages a second
// reads the few opted-out rows a few times a second instead of making one
// query per message. An opt-out reaches the gate within the TTL, as a
// pause does.
type optOutCache struct {
	mu   sync.Mutex
	load sync.Mutex // one refresh at a time: the others wait for it
	m    map[string]optOutSnapshot
}

type optOutSnapshot struct {
	out      map[string][]Channel
	complete bool
	at       time.Time
}

// optOuts lists the channels a client opted out of, and those their phone
// opted out of on sender, from the organization's snapshot.
func (s *CampaignService) optOuts(ctx context.Context, orgID, clientID, sender string) ([]Channel, error) {
	key := orgID + "\x00" + sender
	get := func() (optOutSnapshot, bool) {
		s.optouts.mu.Lock()
		defer s.optouts.mu.Unlock()
		e, ok := s.optouts.m[key]
		return e, ok && time.Since(e.at) < campaignCacheTTL
	}
	e, ok := get()
	if !ok {
		s.optouts.load.Lock()
		if e, ok = get(); !ok {
			at := time.Now()
			out, complete, err := s.store.OptedOutClients(ctx, orgID, sender, optOutSnapshotMax)
			if err != nil {
				s.optouts.load.Unlock()
				return nil, err
			}
			e = optOutSnapshot{out: out, complete: complete, at: at}
			s.optouts.mu.Lock()
			if s.optouts.m == nil || len(s.optouts.m) > 1000 {
				s.optouts.m = map[string]optOutSnapshot{}
			}
			s.optouts.m[key] = e
			s.optouts.mu.Unlock()
		}
		s.optouts.load.Unlock()
	}
	if !e.complete {
		return s.store.ClientOptOuts(ctx, orgID, clientID, sender)
	}
	return e.out[clientID], nil
}

// CampaignStatus reads a campaign's status (the pipeline's last look
// before it hands a message to the provider).
func (s *CampaignService) CampaignStatus(ctx context.Context, id string) (CampaignStatus, error) {
	c, _, err := s.cached(ctx, id)
	return c.Status, err
}

// Failed is told of a campaign message that failed permanently: when the
// campaign's last PauseAfterPermanent finished messages all failed, the
// campaign pauses instead of burning through its audience (a suspended
// sender, an unregistered number), saying why.
func (s *CampaignService) Failed(ctx context.Context, m Message) error {
	n := s.cfg.PauseAfterPermanent
	failed, total, err := s.store.RecentCampaignFailures(ctx, m.CampaignID, n)
	if err != nil || total < n || failed < n {
		return err
	}
	c, err := s.store.GetCampaignByID(ctx, m.CampaignID)
	if err != nil || c.Status != CampaignSending {
		return err
	}
	reason := fmt.Sprintf("paused after %d permanent provider errors in a row (last: %s)", n, strings.TrimSpace(m.ErrorCode+" "+m.LastError))
	err = s.pause(ctx, c, reason)
	if ErrorCode(err) == CodeConflict {
		return nil
	}
	return err
}

// TestInput is a "send a test to me".
type TestInput struct {
	Locale string `json:"locale" doc:"which text; default the fallback locale"`
}

// SendTest sends the rendered text (sample variables: the caller's name)
// to the calling staff member only, on the first campaign channel they
// have an address for.
func (s *CampaignService) SendTest(ctx context.Context, p Principal, id string, in TestInput) (Message, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return Message{}, err
	}
	st, err := s.store.GetStaff(ctx, p.OrgID, p.StaffID)
	if err != nil {
		return Message{}, err
	}
	org, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return Message{}, err
	}
	loc := in.Locale
	if loc == "" {
		loc = c.FallbackLocale
	}
	if _, ok := c.Texts[loc]; !ok && !(len(c.Channels) == 1 && c.Channels[0] == ChannelWhatsApp) {
		return Message{}, Invalid("invalid test", FieldError{Field: "locale", Message: "the campaign has no text in this locale"})
	}
	addr := map[Channel]string{ChannelSMS: st.Phone, ChannelWhatsApp: st.Phone, ChannelTelegram: st.TelegramChatID, ChannelEmail: st.Email}
	var ch Channel
	for _, x := range c.Channels {
		if addr[x] != "" {
			ch = x
			break
		}
	}
	if ch == "" {
		return Message{}, Invalid("invalid test", FieldError{Field: "channels", Message: "you have no address on the campaign's channels (phone, Telegram chat or email on your staff record)"})
	}
	first, _, _ := strings.Cut(st.Name, " ")
	vars := map[string]string{VarFirstName: first, VarCenter: org.Name, VarNextVisit: s.format.DateTime(loc, s.Now().Add(48*time.Hour)),
		VarBalance: s.format.Money(loc, 0, org.Currency)}
	now := s.Now()
	m := Message{ID: NewID(), OrgID: p.OrgID, RecipientKind: "staff", RecipientID: st.ID, Channel: ch, To: addr[ch], Kind: KindCampaignTest,
		Locale: loc, Status: MsgQueued, DedupeKey: "campaign-test:" + NewID(), CampaignID: c.ID, DueAt: now, CreatedAt: now, UpdatedAt: now}
	if t, err := ParseCampaignText(c.Texts[loc]); err == nil {
		m.Body = t.Render(vars)
	}
	if ch == ChannelSMS {
		info := smsInfo(m.Body)
		m.Segments, m.Encoding = info.Segments, string(info.Encoding)
	}
	if ch == ChannelSMS || ch == ChannelWhatsApp {
		m.From = org.SMSFrom
	}
	m, _, err = s.store.InsertMessage(ctx, m)
	if err != nil {
		return m, err
	}
	return m, s.queue.EnqueueSends(ctx, []Message{m})
}

// notifyProgress publishes the campaign's counters to staff screens; best
// effort (a lost event costs a refresh).
func (s *CampaignService) notifyProgress(ctx context.Context, id string) {
	if s.live == nil {
		return
	}
	c, err := s.store.GetCampaignByID(ctx, id)
	if err != nil {
		return
	}
	n, err := s.store.CampaignCounts(ctx, id)
	if err != nil {
		return
	}
	center := ""
	if len(c.CenterIDs) > 0 {
		center = c.CenterIDs[0]
	}
	_ = s.live.Publish(ctx, LiveEvent{Kind: LiveCampaignProgress, OrgID: c.OrgID, CenterID: center, At: s.Now(),
		Data: map[string]any{"campaign_id": c.ID, "status": c.Status, "progress": n}})
}
