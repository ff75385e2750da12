package core

import (
	"context"
	"time"

	"github.com/bookinggw/gateway/core/schedule"
)

// Offering is a service a specialist offers (the API calls it a service;
// the Go name keeps it apart from the Service that holds the rules). A service with no OwnerID is
// in the organization catalogue; a specialist imports it as a private copy
// (SourceID names the original) and edits the copy freely.
type Offering struct {
	ID          string `json:"id"`
	OrgID       string `json:"-"`
	OwnerID     string `json:"owner_id,omitempty" doc:"specialist who owns this copy; empty for the organization catalogue"`
	SourceID    string `json:"source_id,omitempty" doc:"catalogue service this copy was imported from"`
	Name        string `json:"name"`
	Description string `json:"description"`
	DurationMin int    `json:"duration_min"`
	IntervalMin int    `json:"interval_min" doc:"slots start every N minutes; defaults to the duration"`
	Capacity    int    `json:"capacity" doc:"people in one session; more than 1 for group classes"`
	// PriceMinor nil means "no price shown".
	PriceMinor  *int64 `json:"price_minor"`
	Currency    string `json:"currency"`
	IsPackage   bool   `json:"is_package"`
	PaymentLink string `json:"payment_link"`
	Active      bool   `json:"active"`
	// AutoAccept books a client's request (web page, bot) accepted at once
	// instead of pending until staff accept it.
	AutoAccept bool      `json:"auto_accept"`
	CreatedAt  time.Time `json:"created_at"`
}

// Spec is the slot arithmetic of a service.
func (s Offering) Spec() schedule.Spec {
	return schedule.Spec{Duration: time.Duration(s.DurationMin) * time.Minute,
		Interval: time.Duration(s.IntervalMin) * time.Minute, Capacity: s.Capacity}
}

// Room is a room of a center, able to host some services.
type Room struct {
	ID         string    `json:"id"`
	OrgID      string    `json:"-"`
	CenterID   string    `json:"center_id"`
	Name       string    `json:"name"`
	ServiceIDs []string  `json:"service_ids"`
	CreatedAt  time.Time `json:"created_at"`
}

// OwnerKind says whose schedule it is.
type OwnerKind string

const (
	OwnerStaff OwnerKind = "staff"
	OwnerRoom  OwnerKind = "room"
)

// Schedule is the stored form of a specialist's or room's working time.
type Schedule struct {
	OwnerID   string     `json:"owner_id"`
	OwnerKind OwnerKind  `json:"owner_kind"`
	OrgID     string     `json:"-"`
	Timezone  string     `json:"timezone"`
	Weekly    WeeklyJSON `json:"weekly" doc:"periods per weekday: {\"monday\": [{\"start\":\"09:00\",\"end\":\"12:00\"}], …}; a missing day is a day off"`
}

// WeeklyJSON is weekday name → periods.
type WeeklyJSON map[string][]PeriodJSON

// PeriodJSON is a local wall-clock period.
type PeriodJSON struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// ExceptionKind is a kind of time off.
type ExceptionKind string

const (
	Holiday     ExceptionKind = "holiday"       // one local date
	Vacation    ExceptionKind = "vacation"      // local date range, inclusive
	OutOfOffice ExceptionKind = "out_of_office" // instant range, partial days
)

// Exception is time off in a schedule.
type Exception struct {
	ID        string        `json:"id"`
	OrgID     string        `json:"-"`
	OwnerID   string        `json:"owner_id"`
	Kind      ExceptionKind `json:"kind"`
	FromDate  string        `json:"from_date,omitempty" doc:"holiday and vacation: local date YYYY-MM-DD"`
	ToDate    string        `json:"to_date,omitempty" doc:"vacation: last local date, inclusive"`
	StartAt   *time.Time    `json:"start_at,omitempty" doc:"out_of_office: start instant"`
	EndAt     *time.Time    `json:"end_at,omitempty" doc:"out_of_office: end instant"`
	Note      string        `json:"note"`
	CreatedAt time.Time     `json:"created_at"`
}

// Status is an appointment's status.
type Status string

const (
	Pending   Status = "pending"
	Accepted  Status = "accepted"
	Rejected  Status = "rejected"
	Cancelled Status = "cancelled"
	Completed Status = "completed"
	Missed    Status = "missed"
)

// transitions lists the statuses each status may move to.
var transitions = map[Status][]Status{
	Pending:  {Accepted, Rejected, Cancelled},
	Accepted: {Cancelled, Completed, Missed},
	// A visit marked by mistake can be corrected either way, or undone
	// back to accepted.
	Completed: {Missed, Accepted},
	Missed:    {Completed, Accepted},
}

// CanMove reports whether an appointment may go from one status to another.
func CanMove(from, to Status) bool {
	for _, s := range transitions[from] {
		if s == to {
			return true
		}
	}
	return false
}

// Holds reports whether an appointment in this status takes its time.
func (s Status) Holds() bool { return s == Pending || s == Accepted || s == Completed || s == Missed }

// Valid reports whether s is a known status.
func (s Status) Valid() bool {
	switch s {
	case Pending, Accepted, Rejected, Cancelled, Completed, Missed:
		return true
	}
	return false
}

// Location tells the client where the visit happens.
type Location struct {
	Kind    string `json:"kind" doc:"address, room, video or phone"`
	Details string `json:"details" doc:"the address, the video link or the phone instructions"`
}

// Appointment is one client's visit (one seat of a group session).
type Appointment struct {
	ID           string    `json:"id"`
	OrgID        string    `json:"-"`
	CenterID     string    `json:"center_id,omitempty"`
	SpecialistID string    `json:"specialist_id"`
	ServiceID    string    `json:"service_id"`
	RoomID       string    `json:"room_id,omitempty"`
	ClientID     string    `json:"client_id"`
	Start        time.Time `json:"start"`
	End          time.Time `json:"end"`
	Seats        int       `json:"seats"`
	Status       Status    `json:"status"`
	RequestedBy  string    `json:"requested_by" doc:"client or staff"`
	Location     Location  `json:"location"`
	Notes        string    `json:"notes"`
	PriceMinor   int64     `json:"price_minor"`
	Currency     string    `json:"currency"`
	PaidMinor    int64     `json:"paid_minor"`
	BalanceMinor int64     `json:"balance_minor"`
	// PackageSaleID is the package this visit was charged to.
	PackageSaleID string     `json:"package_sale_id,omitempty"`
	SeriesID      string     `json:"series_id,omitempty"`
	SeriesIndex   int        `json:"series_index,omitempty"`
	ConfirmedAt   *time.Time `json:"confirmed_at,omitempty" doc:"when the client confirmed the visit"`
	CancelReason  string     `json:"cancel_reason,omitempty"`
	LateCancel    bool       `json:"late_cancel"`
	CreatedAt     time.Time  `json:"created_at"`
	UpdatedAt     time.Time  `json:"updated_at"`

	// ClientName and ClientPhone are read with lists, so a day view shows
	// who comes without a lookup per visit.
	ClientName  string `json:"client_name,omitempty" doc:"the client's name (in lists)"`
	ClientPhone string `json:"client_phone,omitempty" doc:"the client's phone (in lists)"`
}

// Payment is money received for (or refunded from) an appointment.
type Payment struct {
	ID            string `json:"id"`
	OrgID         string `json:"-"`
	AppointmentID string `json:"appointment_id"`
	SaleID        string `json:"sale_id,omitempty" doc:"the package sale paid for"`
	AmountMinor   int64  `json:"amount_minor" doc:"positive for a payment, negative for a refund"`
	Currency      string `json:"currency"`
	Method        string `json:"method" doc:"cash, card, transfer, stripe, …"`
	Note          string `json:"note"`
	// ProviderRef is the provider's id of the money movement (Stripe
	// payment intent or refund); unique, so a replayed webhook records nothing.
	ProviderRef string    `json:"provider_ref,omitempty"`
	CreatedAt   time.Time `json:"created_at"`
}

// WaitingEntry is a client waiting for time with a specialist.
type WaitingEntry struct {
	ID           string     `json:"id"`
	OrgID        string     `json:"-"`
	ClientID     string     `json:"client_id"`
	SpecialistID string     `json:"specialist_id"`
	ServiceID    string     `json:"service_id,omitempty"`
	From         time.Time  `json:"from"`
	To           time.Time  `json:"to"`
	Urgent       bool       `json:"urgent"`
	Note         string     `json:"note"`
	Status       string     `json:"status" doc:"waiting, matched, booked or removed"`
	MatchedAt    *time.Time `json:"matched_at,omitempty"`
	CreatedAt    time.Time  `json:"created_at"`
}

// Event kinds the booking domain raises.
const (
	EventRequested     EventKind = "appointment.requested"
	EventBooked        EventKind = "appointment.booked" // created by staff, accepted at once
	EventAccepted      EventKind = "appointment.accepted"
	EventRejected      EventKind = "appointment.rejected"
	EventCancelled     EventKind = "appointment.cancelled"
	EventMoved         EventKind = "appointment.moved"
	EventCompleted     EventKind = "appointment.completed"
	EventMissed        EventKind = "appointment.missed"
	EventConfirmed     EventKind = "appointment.confirmed" // by the client (SMS reply, link)
	EventPaymentAdded  EventKind = "appointment.payment_recorded"
	EventWaitlistMatch EventKind = "waiting_list.matched"
)

// AppointmentFilter selects appointments to list.
type AppointmentFilter struct {
	SpecialistID string
	ClientID     string
	CenterID     string
	Status       Status
	From, To     time.Time // start within [From, To) when set
	SeriesID     string
	CenterIDs    []string // when set, only these centers (staff access)

	// Date is a day of the organization's zone: the visits starting that
	// day (instead of From and To).
	Date string
}

// BookingTx is the view of the store inside a booking transaction: the
// specialists and rooms named when it began are locked, so what it reads
// stays true until commit.
type BookingTx interface {
	// Holding lists appointments that hold time (Status.Holds) for a
	// specialist or a room overlapping [from, to).
	Holding(ctx context.Context, ownerKind OwnerKind, ownerID string, from, to time.Time) ([]Appointment, error)
	GetAppointment(ctx context.Context, id string) (Appointment, error)
	SeriesAppointments(ctx context.Context, seriesID string) ([]Appointment, error)
	InsertAppointment(ctx context.Context, a Appointment) error
	UpdateAppointment(ctx context.Context, a Appointment) error
	WaitingOverlapping(ctx context.Context, specialistID string, from, to time.Time) ([]WaitingEntry, error)
	MarkWaitingMatched(ctx context.Context, id string, at time.Time) error
	// SetReminders voids an appointment's pending reminders (and the
	// outbox messages already made of them) and schedules rs instead.
	SetReminders(ctx context.Context, appointmentID string, rs []Reminder) error
	// ConsumeVisit charges a completed (or missed) visit to an active
	// package sale of its client that covers it (PackageSale.Covers) and
	// has visits left, returning the sale id ("" when none: a completed
	// visit is then a debt unless paid).
	ConsumeVisit(ctx context.Context, a Appointment) (string, error)
	// ReleaseVisit gives a visit back to its package (completed or missed undone).
	ReleaseVisit(ctx context.Context, a Appointment) error
	AddEvent(ctx context.Context, e Event) error
}

// CatalogueReader reads the catalogue records bookings and availability
// check against.
type CatalogueReader interface {
	GetService(ctx context.Context, orgID, id string) (Offering, error)
	GetRoom(ctx context.Context, orgID, id string) (Room, error)
	// GetSchedule returns a stored schedule, or NotFound when none is set.
	GetSchedule(ctx context.Context, orgID, ownerID string) (Schedule, error)
	ListExceptions(ctx context.Context, orgID, ownerID string) ([]Exception, error)
}

// CatalogueStore keeps services, rooms, schedules and time off.
type CatalogueStore interface {
	Directory
	CatalogueReader
	CreateService(ctx context.Context, s Offering) error
	ListServices(ctx context.Context, orgID, ownerID string, catalogue bool, p Page) ([]Offering, error)
	UpdateService(ctx context.Context, s Offering) error
	CreateRoom(ctx context.Context, r Room) error
	ListRooms(ctx context.Context, orgID, centerID string, p Page) ([]Room, error)
	UpdateRoom(ctx context.Context, r Room) error
	PutSchedule(ctx context.Context, s Schedule) error
	AddException(ctx context.Context, e Exception) error
	DeleteException(ctx context.Context, orgID, ownerID, id string) error
}

// BookingStore keeps appointments and the waiting list, and reads what
// booking checks against.
type BookingStore interface {
	Directory
	CatalogueReader
	// SpecialistRefs reads, in one query, a specialist's timezone, schedule,
	// time off and centres, whether a client exists (clientID "" skips it),
	// and a service with its reminder policies (serviceID "" skips them);
	// NotFound when the specialist does not exist.
	SpecialistRefs(ctx context.Context, orgID, specialistID, serviceID, clientID string) (SpecialistRefs, error)
	GetClient(ctx context.Context, orgID, id string) (Client, error)
	// InBookingTx runs fn in one transaction that first locks the given
	// specialists and rooms (in a fixed order), so two bookings for the
	// same time cannot both pass their checks.
	InBookingTx(ctx context.Context, orgID string, lock []string, fn func(tx BookingTx) error) error
	GetAppointment(ctx context.Context, orgID, id string) (Appointment, error)
	ListAppointments(ctx context.Context, orgID string, f AppointmentFilter, p Page) ([]Appointment, error)
	// Busy lists the times held by a specialist's or room's appointments
	// overlapping [from, to), for availability (outside any transaction).
	Busy(ctx context.Context, orgID string, kind OwnerKind, ownerID string, from, to time.Time) ([]Busy, error)
	// ReminderPolicyFor resolves the policy of a visit: the service's, else
	// the center's, else the organization's; found false means none is set.
	ReminderPolicyFor(ctx context.Context, orgID, centerID, serviceID string) (ReminderPolicy, bool, error)
	// ClientTimezone reads a client's timezone ("" if unset).
	ClientTimezone(ctx context.Context, orgID, clientID string) (string, error)

	AddWaiting(ctx context.Context, w WaitingEntry) error
	GetWaiting(ctx context.Context, orgID, id string) (WaitingEntry, error)
	ListWaiting(ctx context.Context, orgID string, f WaitingFilter, p Page) ([]WaitingEntry, error)
	UpdateWaitingStatus(ctx context.Context, orgID, id, status string) error
	// ListEvents reads the domain event outbox (oldest first, after a cursor).
	ListEvents(ctx context.Context, orgID string, p Page) ([]Event, error)
}

// WaitingFilter selects waiting-list entries.
type WaitingFilter struct {
	SpecialistID string
	Status       string
	// CenterIDs limits the entries to clients of these centres ("" stands
	// for clients of no centre); nil is every client.
	CenterIDs []string
}

// SpecialistRefs is what a booking check reads about its specialist and client.
type SpecialistRefs struct {
	Timezone    string
	ClientFound bool
	// ReminderZone is the client's timezone, else the organization's: the
	// zone its reminders are timed in ("" when unknown: read it then).
	ReminderZone string
	Schedule     *Schedule // nil: no working hours set

	// CenterIDs are the centres the specialist works in, sorted: a visit
	// takes its specialist's only centre.
	CenterIDs []string

	// What a store may read in the same query (each read only when its
	// …Read flag is set; otherwise the caller asks for it):
	// the service named (nil: no such service), the specialist's time off,
	// and the reminder policies a visit of the service may follow.
	ServiceRead bool
	Service     *Offering
	TimeOffRead bool
	TimeOff     []Exception
	Reminders   *ReminderPolicies
}

// ReminderPolicies are the stored reminder policies a visit of one service
// may follow, by scope: the service's, the centres', the organization's.
type ReminderPolicies struct {
	ServiceID    string
	Service, Org *ReminderPolicy
	Centers      map[string]ReminderPolicy
}

// For resolves the policy of a visit of the service in a centre as
// ReminderPolicyOf does (service, else centre, else organization, else the
// default); ok is false when rp does not cover that service.
func (rp *ReminderPolicies) For(centerID, serviceID string) (p ReminderPolicy, ok bool) {
	if rp == nil || serviceID != rp.ServiceID {
		return ReminderPolicy{}, false
	}
	if rp.Service != nil {
		return *rp.Service, true
	}
	if c, found := rp.Centers[centerID]; found && centerID != "" {
		return c, true
	}
	if rp.Org != nil {
		return *rp.Org, true
	}
	return DefaultReminderPolicy(), true
}

// Busy is time held by an appointment: all availability needs of it.
type Busy struct {
	Start, End time.Time
	Seats      int
	ServiceID  string
}
