package core

import (
	"context"
	"errors"
	"time"
	_ "time/tzdata" // any machine gets the zone data, so schedules mean the same everywhere
)

// Store is every repository port at once: the adapters implement it for
// SQLite and PostgreSQL. Each service holds only its own port.
type Store interface {
	TenancyStore
	CatalogueStore
	BookingStore
	ClientStore
	GroupStore
	InvitationStore
	MoneyStore
	LedgerStore
	MessagingStore
	ReminderStore
	OfferStore
	CallStore
	SelfServeStore
	ConversationStore
}

// Directory reads the tenancy records every context checks references
// against.
type Directory interface {
	GetOrganization(ctx context.Context, orgID string) (Organization, error)
	GetCenter(ctx context.Context, orgID, id string) (Center, error)
	GetStaff(ctx context.Context, orgID, id string) (Staff, error)
}

// Services are the domain's use cases, one service per bounded context,
// all asking the same Policy. Inbound layers (api, webhooks, pages, the
// queue) call them with the caller's Principal; they never see HTTP or
// queue types.
type Services struct {
	Tenancy     *TenancyService
	Catalogue   *CatalogueService
	Booking     *BookingService
	Clients     *ClientService
	Invitations *InvitationService
	Money       *MoneyService
	// Messaging is made by NewMessagingService once the pipeline exists
	// (the pipeline needs Booking for replies).
	Messaging *MessagingService
	Reminders *ReminderService
	Offers    *OfferService
	// SelfServe is made by NewSelfServeService once the pipeline that
	// sends its codes exists.
	SelfServe *SelfServeService
	// Campaigns is made by NewCampaignService once the queue exists.
	Campaigns *CampaignService
	// Calls is made by NewCallService (it takes the live-events stream and
	// the telephony provider).
	Calls *CallService
	// Conversations is made by NewConversationService once the queue
	// exists (replies go out through the outbox).
	Conversations *ConversationService
}

// NewServices wires every context but messaging to its port.
func NewServices(store Store, clock Clock, events EventSink) (*Services, error) {
	if store == nil || clock == nil || events == nil {
		return nil, errors.New("core: NewServices needs a store, a clock and an event sink")
	}
	b := base{clock: clock, events: events}
	cat := &CatalogueService{base: b, store: store}
	cl := &ClientService{base: b, store: store, groups: store}
	booking := &BookingService{base: b, store: store}
	return &Services{
		Tenancy:     &TenancyService{base: b, store: store},
		Catalogue:   cat,
		Booking:     booking,
		Clients:     cl,
		Invitations: &InvitationService{base: b, store: store, clients: cl},
		Money:       &MoneyService{base: b, store: store, ledger: store},
		Reminders:   &ReminderService{base: b, store: store, booking: booking},
		Offers:      &OfferService{base: b, store: store, booking: booking},
	}, nil
}

// base is what every service shares: the clock, the event sink and the
// access policy.
type base struct {
	clock  Clock
	events EventSink
	policy Policy
}

// Now is the service's clock reading, truncated to milliseconds as stored.
func (b *base) Now() time.Time { return b.clock.Now().UTC().Truncate(time.Millisecond) }

// publish hands committed events to the sink. They are already stored in
// the event outbox, so a sink failure delays them but loses nothing.
func (b *base) publish(ctx context.Context, events []Event) {
	for _, e := range events {
		_ = b.events.Publish(ctx, e)
	}
}

// TenancyService: organizations, centres, staff and API keys.
type TenancyService struct {
	base
	store TenancyStore
	// changed are told the organization whose centres, staff or settings
	// changed (caches of them, see OnChange).
	changed []func(orgID string)
}

// CatalogueService: services, rooms, schedules and time off.
type CatalogueService struct {
	base
	store CatalogueStore
}

// BookingService: availability, appointments, series, the waiting list
// and the reminders appointments carry.
type BookingService struct {
	base
	store BookingStore
}

// ClientService: client cards, families and groups.
type ClientService struct {
	base
	store  ClientStore
	groups GroupStore
	// planned are the sources of planned actions other than visits that
	// count for the activity status (CountPlanned).
	planned []PlannedActions
}

// InvitationService: invitation links and joining through them.
type InvitationService struct {
	base
	store   InvitationStore
	clients *ClientService
}

// MoneyService: appointment payments, packages, sales, debts and
// payments reported by providers.
type MoneyService struct {
	base
	store  MoneyStore
	ledger LedgerStore
}
