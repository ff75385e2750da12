package core

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
	"unicode/utf8"
)

// CampaignStatus is where a campaign is in its life.
type CampaignStatus string

const (
	CampaignDraft     CampaignStatus = "draft"     // created; preview, test, schedule
	CampaignScheduled CampaignStatus = "scheduled" // waits for its send time
	CampaignSending   CampaignStatus = "sending"   // audience frozen, messages going out
	CampaignPaused    CampaignStatus = "paused"    // by staff, or by a burst of permanent provider errors
	CampaignCancelled CampaignStatus = "cancelled" // what was not handed to the provider is skipped
	CampaignFinished  CampaignStatus = "finished"  // nothing left pending
)

// KindCampaign is the outbox kind of a campaign's messages; KindCampaignTest
// of a "send a test to me".
const (
	KindCampaign     = "campaign"
	KindCampaignTest = "campaign.test"
)

// Audience selects a campaign's clients: everyone (All), or the clients
// matching every filter given (a client in any of the groups, any of the
// centres, any of the statuses, any of the languages), plus ClientIDs.
// Archived clients are always left out.
type Audience struct {
	All       bool     `json:"all,omitempty" doc:"every client the campaign's scope holds"`
	GroupIDs  []string `json:"group_ids,omitempty"`
	CenterIDs []string `json:"center_ids,omitempty"`
	Statuses  []string `json:"statuses,omitempty" doc:"active, inactive, lost (as the client list computes them)"`
	Languages []string `json:"languages,omitempty"`
	ClientIDs []string `json:"client_ids,omitempty" doc:"explicit clients, added to whatever the filters select"`
}

func (a Audience) filtered() bool {
	return len(a.GroupIDs)+len(a.CenterIDs)+len(a.Statuses)+len(a.Languages) > 0
}

// ContentTemplate is an approved WhatsApp content template (Twilio
// ContentSid) and its variables ("1": "{{first_name}}"), which may use the
// campaign variables.
type ContentTemplate struct {
	ContentSID string            `json:"content_sid"`
	Variables  map[string]string `json:"variables,omitempty"`
}

// SendWindow is the local time of day (in each recipient's timezone)
// messages may be sent in, "09:00" to "20:00".
type SendWindow struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Campaign is a mass mailing.
type Campaign struct {
	ID             string            `json:"id"`
	OrgID          string            `json:"-"`
	Name           string            `json:"name"`
	Channels       []Channel         `json:"channels" doc:"channel order: each recipient gets the first one they can be reached on"`
	Audience       Audience          `json:"audience"`
	Texts          map[string]string `json:"texts" doc:"text per locale, with variables {{first_name}}, {{center}}, {{next_visit}}, {{balance}}"`
	FallbackLocale string            `json:"fallback_locale" doc:"used for recipients whose language has no text"`
	Template       *ContentTemplate  `json:"whatsapp_template,omitempty" doc:"required when the channels include whatsapp"`
	SendAt         *time.Time        `json:"send_at,omitempty"`
	Window         *SendWindow       `json:"window,omitempty" doc:"each recipient's local sending window"`
	RatePerMinute  int               `json:"rate_per_minute" doc:"campaign's own pace (0: the channel's rate); changes apply at once"`
	Status         CampaignStatus    `json:"status"`
	StatusReason   string            `json:"status_reason,omitempty"`
	// CenterIDs is the campaign's scope: the centres whose staff see it and
	// whose clients it may reach (with clients of no centre; "" stands for
	// those alone); empty is the whole organization (directors only).
	CenterIDs   []string        `json:"center_ids"`
	CreatedBy   string          `json:"created_by"`
	FrozenAt    *time.Time      `json:"frozen_at,omitempty" doc:"when the audience was frozen (sending started)"`
	FinishedAt  *time.Time      `json:"finished_at,omitempty"`
	FanoutAfter string          `json:"-"`
	FanoutDone  bool            `json:"fanout_done"`
	CreatedAt   time.Time       `json:"created_at"`
	UpdatedAt   time.Time       `json:"updated_at"`
	Progress    *CampaignCounts `json:"progress,omitempty"`
}

// CampaignInput creates a campaign.
type CampaignInput struct {
	Name           string            `json:"name"`
	Channels       []Channel         `json:"channels"`
	Audience       Audience          `json:"audience"`
	Texts          map[string]string `json:"texts"`
	FallbackLocale string            `json:"fallback_locale"`
	Template       *ContentTemplate  `json:"whatsapp_template"`
	SendAt         *time.Time        `json:"send_at" doc:"when to send; omit with send_now"`
	SendNow        bool              `json:"send_now"`
	Window         *SendWindow       `json:"window"`
	RatePerMinute  int               `json:"rate_per_minute"`
}

// CampaignPatch changes a campaign while it runs.
type CampaignPatch struct {
	Name          *string `json:"name"`
	RatePerMinute *int    `json:"rate_per_minute"`
}

// CampaignScheduleInput confirms a campaign's send time (or now).
type CampaignScheduleInput struct {
	SendAt  *time.Time `json:"send_at"`
	SendNow bool       `json:"send_now"`
}

// CampaignCounts is a campaign's progress.
type CampaignCounts struct {
	Total     int            `json:"total"`
	Queued    int            `json:"queued" doc:"written, not yet handed to the provider (queued, paused or being sent)"`
	Sent      int            `json:"sent"`
	Delivered int            `json:"delivered"`
	Failed    int            `json:"failed" doc:"failed or undelivered"`
	Skipped   int            `json:"skipped"`
	Reasons   map[string]int `json:"skipped_reasons"`
	Pending   int            `json:"pending" doc:"queued + paused + sending: the campaign finishes when this is 0 and fan-out is done"`
}

// CampaignRecipient is one recipient's state.
type CampaignRecipient struct {
	ID        string        `json:"id"`
	ClientID  string        `json:"client_id"`
	Channel   Channel       `json:"channel,omitempty"`
	Address   string        `json:"address,omitempty"`
	Locale    string        `json:"locale,omitempty"`
	MessageID string        `json:"message_id,omitempty"`
	State     MessageStatus `json:"state" doc:"skipped at freeze, or the message's status: queued, paused, sending, sent, delivered, failed, undelivered, skipped"`
	Reason    string        `json:"reason,omitempty"`
	ErrorCode string        `json:"error_code,omitempty"`
}

// MsgPaused is a campaign message held while its campaign is paused.
const MsgPaused MessageStatus = "paused"

// LocalePreview is what one locale's recipients cost.
type LocalePreview struct {
	Locale     string `json:"locale"`
	Recipients int    `json:"recipients"`
	SMS        int    `json:"sms_recipients"`
	Segments   int    `json:"segments" doc:"SMS segments, counted on each recipient's final text"`
	GSM7       int    `json:"gsm7" doc:"SMS recipients whose text is GSM-7"`
	UCS2       int    `json:"ucs2" doc:"SMS recipients whose text is UCS-2 (one character outside GSM-7 is enough)"`
	Encoding   string `json:"encoding" doc:"UCS-2 when any recipient's text is, else GSM-7"`
	Sample     string `json:"sample" doc:"the text rendered for the locale's first recipient"`
}

// CampaignPreview is what a campaign would send now.
type CampaignPreview struct {
	Recipients int                     `json:"recipients"`
	ByChannel  map[Channel]int         `json:"by_channel"`
	Skipped    int                     `json:"skipped"`
	Reasons    map[string]int          `json:"skipped_reasons"`
	Locales    []LocalePreview         `json:"locales"`
	Cost       map[Channel]CostFigures `json:"cost"`
	TotalCost  CostFigures             `json:"total_cost"`
}

// CostFigures is an estimated cost in micro-units of Currency.
type CostFigures struct {
	Units    int    `json:"units" doc:"SMS segments, or messages for other channels"`
	Micros   int64  `json:"micros" doc:"millionths of the currency unit"`
	Amount   string `json:"amount"`
	Currency string `json:"currency"`
}

// CampaignPrices are prices per segment (SMS) or message (others), in
// micro-units of Currency.
type CampaignPrices struct {
	Currency string
	Micros   map[Channel]int64
}

// CampaignFacts is what fan-out and preview read about a client beside
// the card: channel settings, sender opt-outs, what they owe, centre names.
type CampaignFacts struct {
	Prefs      []ChannelPref
	OptedOut   []Channel // SMS/WhatsApp opted out of the campaign's sender (STOP)
	DebtMinor  int64
	Currency   string
	CenterName string
}

// CampaignFormat formats variable values in a locale (templates' rules).
type CampaignFormat interface {
	Money(locale string, minor int64, currency string) string
	DateTime(locale string, t time.Time) string
}

// CampaignQueue enqueues campaign messages (pipelined) and the fan-out.
type CampaignQueue interface {
	EnqueueSends(ctx context.Context, msgs []Message) error
	EnqueueFanout(ctx context.Context, campaignID string) error
	// RestartFanout queues another fan-out run of a campaign whose runner
	// stalled at since (its last write): one task per stall point.
	RestartFanout(ctx context.Context, campaignID string, since time.Time) error
}

// CampaignBatch is one fan-out step written in one transaction: the
// recipients and their messages, and the cursor moved from After to Next.
type CampaignBatch struct {
	CampaignID string
	After      string
	Next       string
	Done       bool
	Recipients []CampaignRecipient
	Messages   []Message // Messages[i] belongs to the recipient with MessageID Messages[i].ID
}

// CampaignStore is the campaigns' port.
type CampaignStore interface {
	Directory
	GetClientGroup(ctx context.Context, orgID, id string) (ClientGroup, error)
	GetClient(ctx context.Context, orgID, id string) (Client, error)
	ListClients(ctx context.Context, orgID string, q ClientQuery, p Page) ([]Client, error)
	ClientVisits(ctx context.Context, orgID string, clientIDs []string, now time.Time) (map[string]VisitSummary, error)
	CampaignFacts(ctx context.Context, orgID string, clientIDs []string, sender string) (map[string]CampaignFacts, error)
	// ClientOptOuts lists the channels a client opted out of, and those
	// their phone opted out of on sender (STOP).
	ClientOptOuts(ctx context.Context, orgID, clientID, sender string) ([]Channel, error)
	// OptedOutClients reads the organization's opted-out clients at once
	// (ClientOptOuts for every client); complete is false past limit rows.
	OptedOutClients(ctx context.Context, orgID, sender string, limit int) (map[string][]Channel, bool, error)
	CreateCampaign(ctx context.Context, c Campaign) error
	GetCampaign(ctx context.Context, orgID, id string) (Campaign, error)
	ListCampaigns(ctx context.Context, orgID string, p Page) ([]Campaign, error)
	UpdateCampaign(ctx context.Context, c Campaign) error
	// SetCampaignStatus moves a campaign from one of from to to (a
	// conditional update: false when it was in none of them).
	SetCampaignStatus(ctx context.Context, orgID, id string, from []CampaignStatus, to CampaignStatus, reason string, at time.Time) (bool, error)
	// HoldCampaignMessages pauses (to paused) or cancels (to skipped) the
	// campaign's queued messages; ReleaseCampaignMessages puts up to limit
	// paused ones back to queued and returns them.
	HoldCampaignMessages(ctx context.Context, id string, to MessageStatus, reason string, at time.Time) (int, error)
	ReleaseCampaignMessages(ctx context.Context, id string, at time.Time, limit int) ([]Message, error)
	// AppendCampaignBatch writes a fan-out batch unless the cursor moved
	// (another runner wrote it: false). Recipients whose address is taken
	// are written skipped instead, without their message. It returns the
	// messages written.
	AppendCampaignBatch(ctx context.Context, orgID string, b CampaignBatch, at time.Time) ([]Message, bool, error)
	CampaignCounts(ctx context.Context, id string) (CampaignCounts, error)
	// CampaignPending reports whether any of the campaign's messages is
	// still queued, sending or paused.
	CampaignPending(ctx context.Context, id string) (bool, error)
	ListCampaignRecipients(ctx context.Context, id string, p Page) ([]CampaignRecipient, error)
	// ActiveCampaigns lists campaigns that are scheduled and due, or sending.
	ActiveCampaigns(ctx context.Context, now time.Time, limit int) ([]Campaign, error)
	// GetCampaignByID reads a campaign by id alone (queue handlers).
	GetCampaignByID(ctx context.Context, id string) (Campaign, error)
	// RecentCampaignOutcomes reports, of the campaign's last n finished
	// messages, how many failed permanently.
	RecentCampaignFailures(ctx context.Context, id string, n int) (failed, total int, err error)
	InsertMessage(ctx context.Context, m Message) (Message, bool, error)
}

// CampaignConfig sets the campaigns' knobs.
type CampaignConfig struct {
	Prices CampaignPrices
	// DefaultSMSFrom is the SMS/WhatsApp sender when neither centre nor
	// organization sets one (opt-outs are per sender).
	DefaultSMSFrom string
	// BatchSize is how many clients one fan-out step reads (default 500).
	BatchSize int
	// PauseAfterPermanent pauses a campaign when this many of its last
	// finished messages in a row failed permanently (default 20).
	PauseAfterPermanent int
}

// CampaignService: mass mailings.
type CampaignService struct {
	base
	cache    campaignCache
	optouts  optOutCache
	progress progressClock
	store    CampaignStore
	queue    CampaignQueue
	format   CampaignFormat
	live     LiveEvents
	cfg      CampaignConfig
}

// NewCampaignService wires campaigns; live may be nil.
func NewCampaignService(svc *Services, store CampaignStore, q CampaignQueue, f CampaignFormat, live LiveEvents, cfg CampaignConfig) (*CampaignService, error) {
	if svc == nil || store == nil || q == nil || f == nil {
		return nil, errors.New("core: NewCampaignService needs the services, a store, a queue and a formatter")
	}
	if cfg.BatchSize <= 0 {
		cfg.BatchSize = 500
	}
	if cfg.PauseAfterPermanent <= 0 {
		cfg.PauseAfterPermanent = 20
	}
	return &CampaignService{base: svc.Booking.base, store: store, queue: q, format: f, live: live, cfg: cfg}, nil
}

func canCampaign(p Principal) error {
	return p.Require(RoleDirector, RoleAdministrator, RoleMarketer)
}

// campaignVisible: a campaign scoped to centres is seen by whoever sees all
// of them; an organization-wide one by directors only (its recipients span
// every centre).
func campaignVisible(p Principal, c Campaign) bool {
	if p.AllCenters() {
		return true
	}
	if len(c.CenterIDs) == 0 {
		return false
	}
	for _, id := range c.CenterIDs {
		if id != "" && !p.CanCenter(id) {
			return false
		}
	}
	return true
}

func (s *CampaignService) get(ctx context.Context, p Principal, id string) (Campaign, error) {
	if err := canCampaign(p); err != nil {
		return Campaign{}, err
	}
	c, err := s.store.GetCampaign(ctx, p.OrgID, id)
	if err != nil {
		return c, err
	}
	if !campaignVisible(p, c) {
		return Campaign{}, NotFound("campaign")
	}
	return c, nil
}

const maxCampaignIDs = 1000

// validate checks an input and returns the parsed texts. It reads the
// store for groups, centres and clients named.
func (s *CampaignService) validate(ctx context.Context, p Principal, in *CampaignInput) (Fields, error) {
	var f Fields
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	f.Check(utf8.RuneCountInString(in.Name) > maxNameLen, "name", "is longer than 100 characters")
	f.Check(len(in.Channels) == 0, "channels", "name at least one channel: sms, whatsapp, telegram or email")
	seen := map[Channel]bool{}
	for i, c := range in.Channels {
		switch c {
		case ChannelSMS, ChannelWhatsApp, ChannelTelegram, ChannelEmail:
		default:
			f.Add(fmt.Sprintf("channels[%d]", i), "must be sms, whatsapp, telegram or email")
		}
		f.Check(seen[c], fmt.Sprintf("channels[%d]", i), "is named twice")
		seen[c] = true
	}
	if seen[ChannelWhatsApp] {
		switch {
		case in.Template == nil || strings.TrimSpace(in.Template.ContentSID) == "":
			f.Add("whatsapp_template", "a WhatsApp campaign needs an approved content template (content_sid, HX…): free text is refused outside the 24-hour session")
		case !strings.HasPrefix(in.Template.ContentSID, "HX") || len(in.Template.ContentSID) != 34:
			f.Add("whatsapp_template.content_sid", "is not a Twilio content SID (HX followed by 32 hex digits)")
		default:
			for k, v := range in.Template.Variables {
				if _, err := ParseCampaignText(v); err != nil {
					f.Add("whatsapp_template.variables."+k, err.Error())
				}
			}
		}
	} else if in.Template != nil {
		f.Add("whatsapp_template", "is only for campaigns that use whatsapp")
	}
	needsText := len(in.Channels) == 0 || !(len(in.Channels) == 1 && in.Channels[0] == ChannelWhatsApp)
	f.Check(needsText && len(in.Texts) == 0, "texts", "give a text for at least one locale")
	for loc, txt := range in.Texts {
		field := "texts." + loc
		if !ValidLocale(loc) {
			f.Add(field, "locale must be one of "+strings.Join(Locales, ", "))
			continue
		}
		if strings.TrimSpace(txt) == "" {
			f.Add(field, "is empty")
			continue
		}
		if _, err := ParseCampaignText(txt); err != nil {
			f.Add(field, err.Error())
		}
	}
	if len(in.Texts) > 0 {
		if in.FallbackLocale == "" && len(in.Texts) == 1 {
			for l := range in.Texts {
				in.FallbackLocale = l
			}
		}
		_, ok := in.Texts[in.FallbackLocale]
		f.Check(!ok, "fallback_locale", "must be one of the locales given a text")
	}
	now := s.Now()
	switch {
	case in.SendNow && in.SendAt != nil:
		f.Add("send_at", "give send_at or send_now, not both")
	case in.SendAt != nil && in.SendAt.Before(now.Add(-time.Minute)):
		f.Add("send_at", "is in the past")
	}
	if in.Window != nil {
		a, e1 := clockMinutes(in.Window.Start)
		b, e2 := clockMinutes(in.Window.End)
		f.Check(e1 != nil, "window.start", "must be HH:MM")
		f.Check(e2 != nil, "window.end", "must be HH:MM")
		f.Check(e1 == nil && e2 == nil && a >= b, "window", "start must be before end")
	}
	f.Check(in.RatePerMinute < 0, "rate_per_minute", "must be 0 (the channel's rate) or positive")
	a := &in.Audience
	f.Check(!a.All && !a.filtered() && len(a.ClientIDs) == 0, "audience", "choose all clients or at least one filter")
	f.Check(len(a.ClientIDs) > maxCampaignIDs, "audience.client_ids", fmt.Sprintf("at most %d ids", maxCampaignIDs))
	for _, st := range a.Statuses {
		f.Check(st != ClientActive && st != ClientInactive && st != ClientLost, "audience.statuses", "must be active, inactive or lost")
	}
	for _, l := range a.Languages {
		f.Check(!ValidLocale(l), "audience.languages", "must be one of "+strings.Join(Locales, ", "))
	}
	if len(f) > 0 {
		return f, nil
	}
	for i, id := range a.GroupIDs {
		if !ValidID(id) {
			f.Add(fmt.Sprintf("audience.group_ids[%d]", i), "unknown group")
			continue
		}
		if _, err := s.store.GetClientGroup(ctx, p.OrgID, id); ErrorCode(err) == CodeNotFound {
			f.Add(fmt.Sprintf("audience.group_ids[%d]", i), "unknown group")
		} else if err != nil {
			return f, err
		}
	}
	for i, id := range a.CenterIDs {
		field := fmt.Sprintf("audience.center_ids[%d]", i)
		if !ValidID(id) || !p.CanCenter(id) {
			f.Add(field, "unknown center")
			continue
		}
		if _, err := s.store.GetCenter(ctx, p.OrgID, id); ErrorCode(err) == CodeNotFound {
			f.Add(field, "unknown center")
		} else if err != nil {
			return f, err
		}
	}
	for i, id := range a.ClientIDs {
		field := fmt.Sprintf("audience.client_ids[%d]", i)
		if !ValidID(id) {
			f.Add(field, "unknown client")
			continue
		}
		c, err := s.store.GetClient(ctx, p.OrgID, id)
		if ErrorCode(err) == CodeNotFound || err == nil && !anyCenter(p, c.CenterIDs) {
			f.Add(field, "unknown client")
		} else if err != nil {
			return f, err
		}
	}
	return f, nil
}

// CreateCampaign validates and stores a draft. Nothing is written when
// anything is wrong, an audience that selects nobody included.
func (s *CampaignService) CreateCampaign(ctx context.Context, p Principal, in CampaignInput) (Campaign, error) {
	if err := canCampaign(p); err != nil {
		return Campaign{}, err
	}
	f, err := s.validate(ctx, p, &in)
	if err != nil {
		return Campaign{}, err
	}
	if err := f.Err("invalid campaign"); err != nil {
		return Campaign{}, err
	}
	now := s.Now()
	c := Campaign{ID: NewID(), OrgID: p.OrgID, Name: in.Name, Channels: in.Channels, Audience: in.Audience, Texts: in.Texts,
		FallbackLocale: in.FallbackLocale, Template: in.Template, SendAt: in.SendAt, Window: in.Window, RatePerMinute: in.RatePerMinute,
		Status: CampaignDraft, CreatedBy: p.StaffID, CreatedAt: now, UpdatedAt: now}
	if in.SendNow {
		c.SendAt = nil
	}
	if c.Texts == nil {
		c.Texts = map[string]string{}
	}
	switch {
	case len(in.Audience.CenterIDs) > 0:
		c.CenterIDs = slices.Clone(in.Audience.CenterIDs)
	case !p.AllCenters():
		// The caller's centres and "" (clients of no centre): what they see.
		c.CenterIDs = s.policy.VisibleCenters(p)
	}
	prev, err := s.preview(ctx, c, 1)
	if err != nil {
		return Campaign{}, err
	}
	if prev.Recipients+prev.Skipped == 0 {
		return Campaign{}, Invalid("invalid campaign", FieldError{Field: "audience", Message: "selects no client"})
	}
	return c, s.store.CreateCampaign(ctx, c)
}

// GetCampaign reads a campaign with its progress.
func (s *CampaignService) GetCampaign(ctx context.Context, p Principal, id string) (Campaign, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return c, err
	}
	counts, err := s.store.CampaignCounts(ctx, c.ID)
	c.Progress = &counts
	return c, err
}

// ListCampaigns lists the campaigns the caller may see.
func (s *CampaignService) ListCampaigns(ctx context.Context, p Principal, pg Page) ([]Campaign, error) {
	if err := canCampaign(p); err != nil {
		return nil, err
	}
	return visiblePage(pg, func(c Campaign) string { return c.ID },
		func(pg Page) ([]Campaign, error) { return s.store.ListCampaigns(ctx, p.OrgID, pg) },
		func(c Campaign) (bool, error) { return campaignVisible(p, c), nil })
}

// UpdateCampaign renames a campaign or changes its pace; a new rate applies
// to the next message sent, without a restart.
func (s *CampaignService) UpdateCampaign(ctx context.Context, p Principal, id string, in CampaignPatch) (Campaign, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return c, err
	}
	var f Fields
	if in.Name != nil {
		c.Name = strings.TrimSpace(*in.Name)
		f.Check(c.Name == "", "name", "is required")
		f.Check(utf8.RuneCountInString(c.Name) > maxNameLen, "name", "is longer than 100 characters")
	}
	if in.RatePerMinute != nil {
		f.Check(*in.RatePerMinute < 0, "rate_per_minute", "must be 0 (the channel's rate) or positive")
		c.RatePerMinute = *in.RatePerMinute
	}
	if err := f.Err("invalid campaign change"); err != nil {
		return c, err
	}
	c.UpdatedAt = s.Now()
	if err := s.store.UpdateCampaign(ctx, c); err != nil {
		return c, err
	}
	return s.GetCampaign(ctx, p, id)
}

// Schedule moves a draft to scheduled: at its send time, or at once.
func (s *CampaignService) Schedule(ctx context.Context, p Principal, id string, in CampaignScheduleInput) (Campaign, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return c, err
	}
	now := s.Now()
	at := c.SendAt
	if in.SendAt != nil {
		at = in.SendAt
	}
	if in.SendNow {
		at = nil
	}
	if at != nil && at.Before(now.Add(-time.Minute)) {
		return c, Invalid("invalid schedule", FieldError{Field: "send_at", Message: "is in the past"})
	}
	if at == nil {
		at = &now
	}
	c.SendAt, c.UpdatedAt = at, now
	if c.Status != CampaignDraft {
		return c, Conflict("only a draft can be scheduled; this campaign is " + string(c.Status))
	}
	if err := s.store.UpdateCampaign(ctx, c); err != nil {
		return c, err
	}
	if ok, err := s.store.SetCampaignStatus(ctx, c.OrgID, c.ID, []CampaignStatus{CampaignDraft}, CampaignScheduled, "", now); err != nil || !ok {
		return c, orConflict(err, "the campaign changed meanwhile")
	}
	if !at.After(now) {
		if _, err := s.Start(ctx, c.ID); err != nil {
			return c, err
		}
	}
	return s.GetCampaign(ctx, p, id)
}

func orConflict(err error, msg string) error {
	if err != nil {
		return err
	}
	return Conflict(msg)
}

// Pause holds every message not yet handed to the provider.
func (s *CampaignService) Pause(ctx context.Context, p Principal, id string) (Campaign, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return c, err
	}
	if err := s.pause(ctx, c, "paused by staff"); err != nil {
		return c, err
	}
	return s.GetCampaign(ctx, p, id)
}

func (s *CampaignService) pause(ctx context.Context, c Campaign, reason string) error {
	now := s.Now()
	ok, err := s.store.SetCampaignStatus(ctx, c.OrgID, c.ID, []CampaignStatus{CampaignScheduled, CampaignSending}, CampaignPaused, reason, now)
	if err != nil || !ok {
		return orConflict(err, "only a scheduled or sending campaign can be paused")
	}
	_, err = s.store.HoldCampaignMessages(ctx, c.ID, MsgPaused, "campaign paused", now)
	s.notifyProgress(ctx, c.ID)
	return err
}

// Resume releases a paused campaign: held messages are queued again (due
// now) and the fan-out goes on where it stopped.
func (s *CampaignService) Resume(ctx context.Context, p Principal, id string) (Campaign, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return c, err
	}
	now := s.Now()
	to := CampaignSending
	if c.FrozenAt == nil {
		to = CampaignScheduled
	}
	ok, err := s.store.SetCampaignStatus(ctx, c.OrgID, c.ID, []CampaignStatus{CampaignPaused}, to, "", now)
	if err != nil || !ok {
		return c, orConflict(err, "only a paused campaign can be resumed")
	}
	for {
		msgs, err := s.store.ReleaseCampaignMessages(ctx, c.ID, now, 1000)
		if err != nil {
			return c, err
		}
		if err := s.queue.EnqueueSends(ctx, msgs); err != nil {
			return c, err // queued rows: the sweeper enqueues them
		}
		if len(msgs) < 1000 {
			break
		}
	}
	if to == CampaignSending && !c.FanoutDone {
		if err := s.queue.EnqueueFanout(ctx, c.ID); err != nil {
			return c, err
		}
	}
	return s.GetCampaign(ctx, p, id)
}

// Cancel stops a campaign for good: messages not handed to the provider
// are skipped ("campaign cancelled").
func (s *CampaignService) Cancel(ctx context.Context, p Principal, id string) (Campaign, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return c, err
	}
	now := s.Now()
	ok, err := s.store.SetCampaignStatus(ctx, c.OrgID, c.ID, []CampaignStatus{CampaignDraft, CampaignScheduled, CampaignSending, CampaignPaused},
		CampaignCancelled, "cancelled by staff", now)
	if err != nil || !ok {
		return c, orConflict(err, "a finished or cancelled campaign cannot be cancelled")
	}
	if _, err := s.store.HoldCampaignMessages(ctx, c.ID, MsgSkipped, "campaign cancelled", now); err != nil {
		return c, err
	}
	s.notifyProgress(ctx, c.ID)
	return s.GetCampaign(ctx, p, id)
}

// Recipients lists a campaign's recipients in freeze order.
func (s *CampaignService) Recipients(ctx context.Context, p Principal, id string, pg Page) ([]CampaignRecipient, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return nil, err
	}
	l, err := s.store.ListCampaignRecipients(ctx, c.ID, pg)
	if err != nil {
		return nil, err
	}
	hide, err := hidesContacts(ctx, s.policy, s.store, p)
	if hide {
		for i := range l {
			l[i].Address = ""
		}
	}
	return l, err
}

// Preview computes what the campaign would send now: recipients per
// channel after opt-outs and missing addresses, SMS encoding and segments
// per locale on each recipient's final text, the estimated cost and a
// rendered sample per locale.
func (s *CampaignService) Preview(ctx context.Context, p Principal, id string) (CampaignPreview, error) {
	c, err := s.get(ctx, p, id)
	if err != nil {
		return CampaignPreview{}, err
	}
	return s.preview(ctx, c, 0)
}

// preview runs the audience without writing; stopAt > 0 stops once that
// many clients were seen (the non-empty check at creation).
func (s *CampaignService) preview(ctx context.Context, c Campaign, stopAt int) (CampaignPreview, error) {
	out := CampaignPreview{ByChannel: map[Channel]int{}, Reasons: map[string]int{}, Cost: map[Channel]CostFigures{}}
	locs := map[string]*LocalePreview{}
	seen := map[string]bool{}
	units := map[Channel]int{}
	err := s.walk(ctx, c, "", time.Time{}, func(rs []plannedRecipient, _ string) (bool, error) {
		for _, r := range rs {
			if r.Reason != "" {
				out.Skipped++
				out.Reasons[r.Reason]++
				continue
			}
			key := string(r.Channel) + ":" + r.Address
			if seen[key] {
				out.Skipped++
				out.Reasons[reasonDuplicate]++
				continue
			}
			seen[key] = true
			out.Recipients++
			out.ByChannel[r.Channel]++
			lp := locs[r.Locale]
			if lp == nil {
				lp = &LocalePreview{Locale: r.Locale, Sample: r.Body, Encoding: "GSM-7"}
				locs[r.Locale] = lp
			}
			lp.Recipients++
			switch r.Channel {
			case ChannelSMS:
				lp.SMS++
				lp.Segments += r.Segments
				units[ChannelSMS] += r.Segments
				if r.Encoding == "UCS-2" {
					lp.UCS2++
					lp.Encoding = "UCS-2"
				} else {
					lp.GSM7++
				}
			default:
				units[r.Channel]++
			}
		}
		return stopAt > 0 && out.Recipients+out.Skipped >= stopAt, nil
	})
	if err != nil {
		return out, err
	}
	for _, l := range Locales {
		if lp := locs[l]; lp != nil {
			out.Locales = append(out.Locales, *lp)
		}
	}
	var total int64
	for ch, n := range units {
		micros := int64(n) * s.cfg.Prices.Micros[ch]
		total += micros
		out.Cost[ch] = CostFigures{Units: n, Micros: micros, Amount: microsAmount(micros), Currency: s.cfg.Prices.Currency}
	}
	out.TotalCost = CostFigures{Micros: total, Amount: microsAmount(total), Currency: s.cfg.Prices.Currency}
	for _, f := range out.Cost {
		out.TotalCost.Units += f.Units
	}
	return out, nil
}

// microsAmount shows micro-units as a decimal with up to 6 digits.
func microsAmount(m int64) string {
	s := fmt.Sprintf("%d.%06d", m/1_000_000, m%1_000_000)
	s = strings.TrimRight(s, "0")
	if strings.HasSuffix(s, ".") {
		s += "00"
	}
	if i := strings.IndexByte(s, '.'); len(s)-i-1 < 2 {
		s += "0"
	}
	return s
}

// Skip reasons.
const (
	reasonArchived  = "archived"
	reasonDuplicate = "duplicate address: another recipient of this campaign has it"
	reasonNoChannel = "no address on the campaign's channels"
	reasonOptedOut  = "opted out"
	reasonNoConsent = "no WhatsApp consent"
)

// plannedRecipient is a client turned into a recipient: the channel and
// address, or why not.
type plannedRecipient struct {
	Client   Client
	Channel  Channel
	Address  string
	Locale   string
	Body     string
	Segments int
	Encoding string
	Reason   string
	DueAt    time.Time
	CenterID string
}

// walk runs the audience in batches from after: fn gets each batch's
// recipients and the cursor after it; it stops when fn says so. frozen,
// when set, leaves out clients created after it.
func (s *CampaignService) walk(ctx context.Context, c Campaign, after string, frozen time.Time,
	fn func([]plannedRecipient, string) (bool, error)) error {
	org, err := s.store.GetOrganization(ctx, c.OrgID)
	if err != nil {
		return err
	}
	texts := map[string]CampaignText{}
	for l, t := range c.Texts {
		if texts[l], err = ParseCampaignText(t); err != nil {
			return Invalid("invalid campaign", FieldError{Field: "texts." + l, Message: err.Error()})
		}
	}
	var vars map[string]CampaignText
	if c.Template != nil {
		vars = map[string]CampaignText{}
		for k, v := range c.Template.Variables {
			if vars[k], err = ParseCampaignText(v); err != nil {
				return err
			}
		}
	}
	sender := org.SMSFrom
	if sender == "" {
		sender = s.cfg.DefaultSMSFrom
	}
	q := ClientQuery{Archived: ArchivedExclude, AllCenters: len(c.CenterIDs) == 0, VisibleCenters: c.CenterIDs}
	if q.VisibleCenters == nil {
		q.VisibleCenters = []string{}
	}
	explicit := map[string]bool{}
	for _, id := range c.Audience.ClientIDs {
		explicit[id] = true
	}
	needStatus := len(c.Audience.Statuses) > 0
	now := s.Now()
	for {
		batch, err := s.store.ListClients(ctx, c.OrgID, q, Page{Limit: s.cfg.BatchSize, After: after})
		if err != nil {
			return err
		}
		if len(batch) == 0 {
			_, err := fn(nil, after)
			return err
		}
		next := batch[len(batch)-1].ID
		var picked []Client
		for _, cl := range batch {
			if !frozen.IsZero() && cl.CreatedAt.After(frozen) {
				continue
			}
			if explicit[cl.ID] || c.Audience.All && !c.Audience.filtered() || c.Audience.filtered() && audienceMatch(c.Audience, cl) {
				picked = append(picked, cl)
			}
		}
		ids := make([]string, len(picked))
		for i, cl := range picked {
			ids[i] = cl.ID
		}
		var visits map[string]VisitSummary
		if len(ids) > 0 {
			visits, err = s.store.ClientVisits(ctx, c.OrgID, ids, now)
			if err != nil {
				return err
			}
		}
		var facts map[string]CampaignFacts
		if len(ids) > 0 {
			if facts, err = s.store.CampaignFacts(ctx, c.OrgID, ids, sender); err != nil {
				return err
			}
		}
		rs := make([]plannedRecipient, 0, len(picked))
		for _, cl := range picked {
			v := visits[cl.ID]
			if needStatus && !explicit[cl.ID] && !slices.Contains(c.Audience.Statuses, ActivityStatus(now, cl.CreatedAt, v, org.LostAfterDays)) {
				continue
			}
			rs = append(rs, s.plan(c, org, cl, v, facts[cl.ID], texts, vars, now))
		}
		stop, err := fn(rs, next)
		if err != nil || stop {
			return err
		}
		if len(batch) < s.cfg.BatchSize {
			_, err := fn(nil, next)
			return err
		}
		after = next
	}
}

func audienceMatch(a Audience, c Client) bool {
	if len(a.GroupIDs) > 0 && !overlaps(a.GroupIDs, c.GroupIDs) {
		return false
	}
	if len(a.CenterIDs) > 0 && !overlaps(a.CenterIDs, c.CenterIDs) {
		return false
	}
	if len(a.Languages) > 0 && !slices.Contains(a.Languages, c.Language) {
		return false
	}
	return true
}

func overlaps(a, b []string) bool {
	for _, x := range a {
		if slices.Contains(b, x) {
			return true
		}
	}
	return false
}

// plan picks a client's channel (the campaign's order; an address, no
// opt-out, WhatsApp consent), locale and final text.
func (s *CampaignService) plan(c Campaign, org Organization, cl Client, v VisitSummary, f CampaignFacts,
	texts map[string]CampaignText, tvars map[string]CampaignText, now time.Time) plannedRecipient {
	r := plannedRecipient{Client: cl, DueAt: now}
	addr := map[Channel]string{ChannelSMS: cl.Phone, ChannelWhatsApp: cl.Phone, ChannelTelegram: string(cl.TelegramID),
		ChannelEmail: strings.ToLower(strings.TrimSpace(cl.Email))}
	pref := map[Channel]ChannelPref{}
	for _, p := range f.Prefs {
		pref[p.Channel] = p
	}
	reason := ""
	for _, ch := range c.Channels {
		p, has := pref[ch]
		switch {
		case addr[ch] == "":
			if reason == "" {
				reason = reasonNoChannel
			}
		case has && p.OptedOut != nil || slices.Contains(f.OptedOut, ch):
			reason = reasonOptedOut + " of " + string(ch)
		case ch == ChannelWhatsApp && !(has && p.Consent):
			if reason == "" || reason == reasonNoChannel {
				reason = reasonNoConsent
			}
		default:
			r.Channel, r.Address = ch, addr[ch]
		}
		if r.Channel != "" {
			break
		}
	}
	if r.Channel == "" {
		r.Reason = reason
		return r
	}
	r.Locale = cl.Language
	if _, ok := texts[r.Locale]; !ok {
		r.Locale = c.FallbackLocale
	}
	if r.Locale == "" {
		r.Locale = org.Locale
	}
	vars := map[string]string{VarFirstName: cl.FirstName, VarCenter: f.CenterName}
	if vars[VarCenter] == "" {
		vars[VarCenter] = org.Name
	}
	if v.NextVisit != nil {
		loc, err := time.LoadLocation(cl.Timezone)
		if err != nil {
			loc, _ = time.LoadLocation(org.Timezone)
		}
		if loc == nil {
			loc = time.UTC
		}
		vars[VarNextVisit] = s.format.DateTime(r.Locale, v.NextVisit.In(loc))
	}
	cur := f.Currency
	if cur == "" {
		cur = org.Currency
	}
	vars[VarBalance] = s.format.Money(r.Locale, f.DebtMinor, cur)
	if r.Channel == ChannelWhatsApp && tvars != nil {
		b, _ := json.Marshal(renderVars(tvars, vars))
		r.Body = string(b)
	} else if t, ok := texts[r.Locale]; ok {
		r.Body = t.Render(vars)
	}
	if r.Channel == ChannelSMS {
		info := smsInfo(r.Body)
		r.Segments, r.Encoding = info.Segments, string(info.Encoding)
	}
	if c.Window != nil {
		r.DueAt = nextInWindow(now, *c.Window, cl.Timezone, org.Timezone)
	}
	for _, id := range cl.CenterIDs {
		if len(c.CenterIDs) == 0 || slices.Contains(c.CenterIDs, id) {
			r.CenterID = id
			break
		}
	}
	return r
}

// clockMinutes reads "HH:MM" as minutes after midnight.
func clockMinutes(s string) (int, error) {
	t, err := time.Parse("15:04", s)
	if err != nil {
		return 0, err
	}
	return t.Hour()*60 + t.Minute(), nil
}

// nextInWindow is now when it falls inside the recipient's local window,
// else the window's next start (DST-true: it is a wall-clock time).
func nextInWindow(now time.Time, w SendWindow, tz, orgTZ string) time.Time {
	loc, err := time.LoadLocation(tz)
	if err != nil || tz == "" {
		if loc, err = time.LoadLocation(orgTZ); err != nil {
			loc = time.UTC
		}
	}
	start, e1 := clockMinutes(w.Start)
	end, e2 := clockMinutes(w.End)
	if e1 != nil || e2 != nil {
		return now
	}
	l := now.In(loc)
	m := l.Hour()*60 + l.Minute()
	if m >= start && m < end {
		return now
	}
	day := l
	if m >= end {
		day = l.AddDate(0, 0, 1)
	}
	return time.Date(day.Year(), day.Month(), day.Day(), start/60, start%60, 0, 0, loc).UTC()
}
