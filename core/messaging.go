package core

import (
	"context"
	"errors"
	"time"
)

// MessagingStore keeps what staff see and set of messaging: the outbox,
// inbound messages, client channels and reminder policies.
type MessagingStore interface {
	Directory
	GetService(ctx context.Context, orgID, id string) (Offering, error)
	ListMessages(ctx context.Context, orgID string, f MessageFilter, p Page) ([]Message, error)
	GetMessage(ctx context.Context, orgID, id string) (Message, error)
	// RequeueMessage puts a failed message back to queued (manual retry).
	RequeueMessage(ctx context.Context, orgID, id string, now time.Time) (Message, error)
	ClientChannels(ctx context.Context, orgID, clientID string) ([]ChannelPref, error)
	// SetClientChannels replaces a client's channel settings.
	SetClientChannels(ctx context.Context, orgID, clientID string, prefs []ChannelPref) error
	ListInbound(ctx context.Context, orgID string, f InboundFilter, p Page) ([]Inbound, error)
	GetReminderPolicy(ctx context.Context, orgID, scope, scopeID string) (ReminderPolicy, error)
	PutReminderPolicy(ctx context.Context, orgID, scope, scopeID string, p ReminderPolicy) error
	DeleteReminderPolicy(ctx context.Context, orgID, scope, scopeID string) error
	// FailedEvents lists events the relay could not build, oldest first.
	FailedEvents(ctx context.Context, orgID string, p Page) ([]FailedEvent, error)
	// RetryEvent puts a failed event back in the relay's way; a conflict
	// when it is not failed.
	RetryEvent(ctx context.Context, orgID, id string) (Event, error)
}

// InboundFilter selects inbound messages.
type InboundFilter struct {
	// CenterIDs limits the list to messages of clients of these centres
	// ("" stands for clients of no centre, and for messages of no known
	// client); nil is every message.
	CenterIDs []string
}

// Pipeline is the outbox pipeline as staff use cases need it. It renders
// and queues; the messaging service has asked the policy before calling it,
// so its methods take an organization id, not a principal.
type Pipeline interface {
	EnqueueSend(ctx context.Context, m Message) error
	// RemindNow writes and queues a reminder for each appointment.
	RemindNow(ctx context.Context, orgID string, as []Appointment) ([]Message, error)
	// SendPaymentLink makes (or finds) the payment link of an appointment
	// or a package sale and sends it to the client.
	SendPaymentLink(ctx context.Context, orgID string, purpose PaymentPurpose, id string) (LinkResult, error)
	// PaymentLink makes (or finds) that same link and sends nothing: the
	// caller shows it to the client itself (the bot).
	PaymentLink(ctx context.Context, orgID string, purpose PaymentPurpose, id string) (LinkResult, error)
	PreviewTemplate(ctx context.Context, org Organization, in TemplatePreviewInput) (TemplatePreview, error)
	PutTemplate(ctx context.Context, orgID, kind, locale string, o TemplateOverride) error
	DeleteTemplate(ctx context.Context, orgID, kind, locale string) error
	// NudgeRelay wakes the relay for an event put back in its way.
	NudgeRelay(ctx context.Context, e Event)
}

// PaymentPurpose is what a payment link pays for.
type PaymentPurpose string

const (
	PayAppointment PaymentPurpose = "appointment"
	PayPackageSale PaymentPurpose = "package_sale"
)

// ChannelSettings is a client's channel preferences.
type ChannelSettings struct {
	Channels []ChannelPref `json:"channels" doc:"in preference order; a channel not listed follows the organization's order"`
}

// LinkResult is a payment link and the message that carries it.
type LinkResult struct {
	URL     string  `json:"url"`
	Static  bool    `json:"static" doc:"the service's own external payment link, sent as is"`
	Message Message `json:"message"`
}

// TemplateOverride is an organization's text of one message kind in one
// locale.
type TemplateOverride struct {
	Text    string `json:"text"`
	Subject string `json:"subject"`
	HTML    string `json:"html"`
}

// TemplatePreviewInput renders a kind for sample data, with an optional
// unsaved override, in a locale and timezone.
type TemplatePreviewInput struct {
	Kind     string            `json:"kind"`
	Locale   string            `json:"locale"`
	Timezone string            `json:"timezone"`
	Override *TemplateOverride `json:"override"`
}

// TemplatePreview is a rendered message with its SMS facts.
type TemplatePreview struct {
	Kind     string `json:"kind"`
	Locale   string `json:"locale"`
	Subject  string `json:"subject,omitempty"`
	Text     string `json:"text"`
	HTML     string `json:"html,omitempty"`
	Encoding string `json:"sms_encoding" doc:"GSM-7 or UCS-2"`
	Segments int    `json:"sms_segments"`
	Chars    int    `json:"sms_units" doc:"septets (GSM-7) or UTF-16 units (UCS-2)"`
}

// MessagingService: the outbox and inbound messages as staff see them,
// client channels, templates, reminder policies, manual reminders and
// payment links.
type MessagingService struct {
	base
	store    MessagingStore
	pipeline Pipeline
	booking  *BookingService
	clients  *ClientService
	money    *MoneyService
}

// NewMessagingService wires messaging once the pipeline exists.
func NewMessagingService(svc *Services, store MessagingStore, pipeline Pipeline) (*MessagingService, error) {
	if svc == nil || store == nil || pipeline == nil {
		return nil, errors.New("core: NewMessagingService needs the services, a store and a pipeline")
	}
	return &MessagingService{base: svc.Booking.base, store: store, pipeline: pipeline,
		booking: svc.Booking, clients: svc.Clients, money: svc.Money}, nil
}

func canManageMessages(p Principal) error {
	return p.Require(RoleDirector, RoleAdministrator, RoleMarketer)
}

// ListMessages lists the outbox of the caller's centres.
func (s *MessagingService) ListMessages(ctx context.Context, p Principal, f MessageFilter, pg Page) ([]Message, error) {
	if err := canManageMessages(p); err != nil {
		return nil, err
	}
	f.CenterIDs = s.policy.VisibleCenters(p)
	return s.shownMessages(ctx, p)(s.store.ListMessages(ctx, p.OrgID, f, pg))
}

// GetMessage reads one outbox message.
func (s *MessagingService) GetMessage(ctx context.Context, p Principal, id string) (Message, error) {
	if err := canManageMessages(p); err != nil {
		return Message{}, err
	}
	m, err := s.store.GetMessage(ctx, p.OrgID, id)
	if err != nil {
		return Message{}, err
	}
	if err := s.policy.Message(p, m); err != nil {
		return Message{}, err
	}
	ms, err := s.shownMessages(ctx, p)([]Message{m}, nil)
	return ms[0], err
}

// RetryMessage puts a failed message back in the queue by hand.
func (s *MessagingService) RetryMessage(ctx context.Context, p Principal, id string) (Message, error) {
	if _, err := s.GetMessage(ctx, p, id); err != nil {
		return Message{}, err
	}
	m, err := s.store.RequeueMessage(ctx, p.OrgID, id, s.Now())
	if err != nil {
		return m, err
	}
	if err := s.pipeline.EnqueueSend(ctx, m); err != nil {
		return m, err
	}
	ms, err := s.shownMessages(ctx, p)([]Message{m}, nil)
	return ms[0], err
}

// ClientChannels reads a client's channel settings.
func (s *MessagingService) ClientChannels(ctx context.Context, p Principal, clientID string) (ChannelSettings, error) {
	if _, err := s.clients.getVisibleClient(ctx, p, clientID); err != nil {
		return ChannelSettings{}, err
	}
	cs, err := s.store.ClientChannels(ctx, p.OrgID, clientID)
	return ChannelSettings{Channels: cs}, err
}

// SetClientChannels replaces a client's channel settings; list order is
// preference order.
func (s *MessagingService) SetClientChannels(ctx context.Context, p Principal, clientID string, in ChannelSettings) (ChannelSettings, error) {
	if _, err := s.clients.getVisibleClient(ctx, p, clientID); err != nil {
		return ChannelSettings{}, err
	}
	if p.Role == RoleMarketer {
		return ChannelSettings{}, Forbidden("marketers do not change a client's channels")
	}
	var f Fields
	seen := map[Channel]bool{}
	for i := range in.Channels {
		c := in.Channels[i].Channel
		f.Check(!c.Valid() || c == ChannelSlack, "channels", "unknown client channel "+string(c))
		f.Check(seen[c], "channels", "lists "+string(c)+" twice")
		seen[c] = true
		in.Channels[i].Position = i
	}
	if err := f.Err("invalid channel settings"); err != nil {
		return ChannelSettings{}, err
	}
	if in.Channels == nil {
		in.Channels = []ChannelPref{}
	}
	return in, s.store.SetClientChannels(ctx, p.OrgID, clientID, in.Channels)
}

// ListInbound lists messages clients of the caller's centres sent.
func (s *MessagingService) ListInbound(ctx context.Context, p Principal, pg Page) ([]Inbound, error) {
	if err := canManageMessages(p); err != nil {
		return nil, err
	}
	return s.shownInbound(ctx, p)(s.store.ListInbound(ctx, p.OrgID, InboundFilter{CenterIDs: s.policy.VisibleCenters(p)}, pg))
}

// PreviewTemplate renders a kind with sample data; a broken override is a
// 400 with the parse error, never a broken send.
func (s *MessagingService) PreviewTemplate(ctx context.Context, p Principal, in TemplatePreviewInput) (TemplatePreview, error) {
	org, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return TemplatePreview{}, err
	}
	if in.Locale == "" {
		in.Locale = org.Locale
	}
	if in.Timezone != "" {
		var f Fields
		checkTimezone(&f, "timezone", in.Timezone)
		if err := f.Err("bad timezone"); err != nil {
			return TemplatePreview{}, err
		}
	}
	return s.pipeline.PreviewTemplate(ctx, org, in)
}

// PutTemplate saves an organization's override; the pipeline validates it.
func (s *MessagingService) PutTemplate(ctx context.Context, p Principal, kind, locale string, in TemplateOverride) error {
	if err := canManageMessages(p); err != nil {
		return err
	}
	return s.pipeline.PutTemplate(ctx, p.OrgID, kind, locale, in)
}

// DeleteTemplate restores the default of one kind and locale.
func (s *MessagingService) DeleteTemplate(ctx context.Context, p Principal, kind, locale string) error {
	if err := canManageMessages(p); err != nil {
		return err
	}
	return s.pipeline.DeleteTemplate(ctx, p.OrgID, kind, locale)
}

// RemindNow sends a reminder now for upcoming appointments the caller may
// change (seed: "send a reminder by hand for selected appointments").
func (s *MessagingService) RemindNow(ctx context.Context, p Principal, ids []string) ([]Message, error) {
	if err := p.Require(RoleDirector, RoleAdministrator, RoleSpecialist); err != nil {
		return nil, err
	}
	var f Fields
	f.Check(len(ids) == 0 || len(ids) > 200, "ids", "must list 1 to 200 appointments")
	for _, id := range ids {
		f.Check(!ValidID(id), "ids", id+" is not an appointment id")
	}
	if err := f.Err("invalid reminder request"); err != nil {
		return nil, err
	}
	now := s.Now()
	as := make([]Appointment, 0, len(ids))
	for _, id := range ids {
		a, err := s.booking.GetAppointment(ctx, p, id)
		if err != nil {
			return nil, err
		}
		if err := s.policy.ChangeAppointment(p, a); err != nil {
			return nil, err
		}
		if a.Status != Accepted && a.Status != Pending || !a.End.After(now) {
			return nil, Conflict("only upcoming pending or accepted visits get reminders",
				ConflictItem{Kind: "status", Detail: "appointment is " + string(a.Status), Extra: a.ID})
		}
		as = append(as, a)
	}
	return s.pipeline.RemindNow(ctx, p.OrgID, as)
}

// SendPaymentLink sends the client a link to pay an appointment's balance
// (or a package sale's).
func (s *MessagingService) SendPaymentLink(ctx context.Context, p Principal, purpose PaymentPurpose, id string) (LinkResult, error) {
	if err := p.Require(RoleDirector, RoleAdministrator, RoleSpecialist); err != nil {
		return LinkResult{}, err
	}
	switch purpose {
	case PayAppointment:
		a, err := s.booking.GetAppointment(ctx, p, id)
		if err != nil {
			return LinkResult{}, err
		}
		if err := s.policy.ChangeAppointment(p, a); err != nil {
			return LinkResult{}, err
		}
	case PayPackageSale:
		if _, err := s.money.GetSale(ctx, p, id); err != nil {
			return LinkResult{}, err
		}
	default:
		return LinkResult{}, NotFound("payment purpose")
	}
	return s.pipeline.SendPaymentLink(ctx, p.OrgID, purpose, id)
}

// FailedEvents lists the organization's events the relay could not turn
// into messages; directors only, since an event may concern any centre.
func (s *MessagingService) FailedEvents(ctx context.Context, p Principal, pg Page) ([]FailedEvent, error) {
	if err := p.Require(RoleDirector); err != nil {
		return nil, err
	}
	return s.store.FailedEvents(ctx, p.OrgID, pg)
}

// RetryEvent relays a failed event again, after staff fixed what it
// needed; directors only.
func (s *MessagingService) RetryEvent(ctx context.Context, p Principal, id string) (Event, error) {
	if err := p.Require(RoleDirector); err != nil {
		return Event{}, err
	}
	e, err := s.store.RetryEvent(ctx, p.OrgID, id)
	if err != nil {
		return Event{}, err
	}
	s.pipeline.NudgeRelay(ctx, e)
	return e, nil
}

// PolicyScope names what a reminder policy applies to.
type PolicyScope string

const (
	ScopeOrganization PolicyScope = "org"
	ScopeCenter       PolicyScope = "center"
	ScopeService      PolicyScope = "service"
)

// GetReminderPolicy reads a policy; for the organization, the default when
// none is set.
func (s *MessagingService) GetReminderPolicy(ctx context.Context, p Principal, scope PolicyScope, id string) (ReminderPolicy, error) {
	if err := s.checkPolicyScope(ctx, p, scope, id); err != nil {
		return ReminderPolicy{}, err
	}
	rp, err := s.store.GetReminderPolicy(ctx, p.OrgID, string(scope), id)
	if ErrorCode(err) == CodeNotFound && scope == ScopeOrganization {
		return DefaultReminderPolicy(), nil
	}
	return rp, err
}

// PutReminderPolicy sets a policy; directors and administrators.
func (s *MessagingService) PutReminderPolicy(ctx context.Context, p Principal, scope PolicyScope, id string, rp ReminderPolicy) (ReminderPolicy, error) {
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return ReminderPolicy{}, err
	}
	if err := s.checkPolicyScope(ctx, p, scope, id); err != nil {
		return ReminderPolicy{}, err
	}
	if rp.OffsetsMin == nil {
		rp.OffsetsMin = []int{}
	}
	if err := rp.Validate(); err != nil {
		return ReminderPolicy{}, err
	}
	return rp, s.store.PutReminderPolicy(ctx, p.OrgID, string(scope), id, rp)
}

// DeleteReminderPolicy removes a center's or service's override.
func (s *MessagingService) DeleteReminderPolicy(ctx context.Context, p Principal, scope PolicyScope, id string) error {
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return err
	}
	if err := s.checkPolicyScope(ctx, p, scope, id); err != nil {
		return err
	}
	return s.store.DeleteReminderPolicy(ctx, p.OrgID, string(scope), id)
}

func (s *MessagingService) checkPolicyScope(ctx context.Context, p Principal, scope PolicyScope, id string) error {
	switch scope {
	case ScopeOrganization:
		return nil
	case ScopeCenter:
		if !ValidID(id) || s.policy.Center(p, id) != nil {
			return NotFound("center")
		}
		_, err := s.store.GetCenter(ctx, p.OrgID, id)
		return err
	case ScopeService:
		if !ValidID(id) {
			return NotFound("service")
		}
		sv, err := s.store.GetService(ctx, p.OrgID, id)
		if err != nil {
			return err
		}
		return s.serviceVisible(ctx, p, sv)
	}
	return NotFound("policy scope")
}

// serviceVisible asks the policy about a service, reading its owner.
func (s *MessagingService) serviceVisible(ctx context.Context, p Principal, sv Offering) error {
	return serviceVisible(ctx, s.policy, s.store, p, sv)
}

// serviceVisible asks the policy about a service, reading its owner.
func serviceVisible(ctx context.Context, pol Policy, dir Directory, p Principal, sv Offering) error {
	if sv.OwnerID == "" || p.AllCenters() {
		return pol.Service(p, nil)
	}
	owner, err := dir.GetStaff(ctx, p.OrgID, sv.OwnerID)
	if ErrorCode(err) == CodeNotFound {
		return NotFound("service")
	}
	if err != nil {
		return err
	}
	return pol.Service(p, &owner)
}
