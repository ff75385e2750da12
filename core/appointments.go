package core

import (
	"context"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core/schedule"
)

// AppointmentInput books a visit, or a weekly series of visits.
type AppointmentInput struct {
	SpecialistID string    `json:"specialist_id"`
	ServiceID    string    `json:"service_id"`
	ClientID     string    `json:"client_id"`
	CenterID     string    `json:"center_id"`
	RoomID       string    `json:"room_id"`
	Start        time.Time `json:"start" doc:"RFC 3339 instant"`
	Seats        int       `json:"seats" doc:"default 1; a client holds one seat of a group lesson unless seats is given explicitly"`
	RequestedBy  string    `json:"requested_by" doc:"staff (default: accepted at once) or client (pending until staff accept)"`
	Location     *Location `json:"location"`
	Notes        string    `json:"notes"`
	PriceMinor   *int64    `json:"price_minor" doc:"default the service's price"`
	Override     bool      `json:"override" doc:"staff only: book despite conflicts"`
	Repeat       *Repeat   `json:"repeat"`
}

// Repeat makes a weekly series: every EveryWeeks weeks, Count visits.
type Repeat struct {
	EveryWeeks int `json:"every_weeks"`
	Count      int `json:"count"`
}

// Skipped is an occurrence of a series that could not be booked.
type Skipped struct {
	Start     time.Time      `json:"start"`
	Conflicts []ConflictItem `json:"conflicts"`
}

// BookingResult is what a booking created.
type BookingResult struct {
	Appointments []Appointment `json:"appointments"`
	SeriesID     string        `json:"series_id,omitempty"`
	Skipped      []Skipped     `json:"skipped"`
}

// Scope says which occurrences of a series a change applies to.
type Scope string

const (
	ScopeThis      Scope = "this"
	ScopeFollowing Scope = "following"
	ScopeAll       Scope = "all"
)

func (sc Scope) valid() bool {
	return sc == ScopeThis || sc == ScopeFollowing || sc == ScopeAll || sc == ""
}

// bookingContext is what checking a booking needs, loaded before the
// transaction (none of it is what concurrent bookings change).
type bookingContext struct {
	svc        Offering
	specialist Staff
	sched      schedule.Schedule
	hasSched   bool
	room       *Room
	roomSched  schedule.Schedule
	roomHas    bool
	// reminderZone is the client's reminder zone when read with the
	// specialist ("" otherwise).
	reminderZone string
	// reminders are the service's reminder policies when read with the
	// specialist (nil otherwise).
	reminders *ReminderPolicies
}

// loadBookingContext reads what checking a booking needs in few queries:
// booking is the hot path. clientID "" skips the client check. What the
// caller may not see (another centre's specialist, client or room) is
// reported as missing, exactly like an id that does not exist; directors
// see everything and pay no extra read.
func (s *BookingService) loadBookingContext(ctx context.Context, p Principal, specialistID, serviceID, roomID, clientID string) (bookingContext, error) {
	orgID := p.OrgID
	var bc bookingContext
	var f Fields
	var err error
	var refs SpecialistRefs
	if !requiredID(&f, "specialist_id", "staff", specialistID) {
		// requiredID recorded why
	} else if refs, err = s.store.SpecialistRefs(ctx, orgID, specialistID, serviceID, clientID); ErrorCode(err) == CodeNotFound {
		f.Add("specialist_id", "no such staff member")
	} else if err != nil {
		return bc, err
	} else if hidden, err := s.hiddenRefs(ctx, p, specialistID, clientID, refs.ClientFound); err != nil {
		return bc, err
	} else if hidden == "specialist_id" {
		f.Add("specialist_id", "no such staff member")
	} else {
		bc.specialist = Staff{ID: specialistID, OrgID: orgID, Timezone: refs.Timezone, CenterIDs: refs.CenterIDs}
		bc.reminderZone, bc.reminders = refs.ReminderZone, refs.Reminders
		if ValidID(clientID) && (!refs.ClientFound || hidden == "client_id") {
			f.Add("client_id", "no such client")
		}
	}
	if clientID != "" {
		requiredID(&f, "client_id", "client", clientID)
	}
	if !requiredID(&f, "service_id", "service", serviceID) {
		// requiredID recorded why
	} else if bc.svc, err = refs.service(ctx, s.store, orgID, serviceID); ErrorCode(err) == CodeNotFound {
		f.Add("service_id", "no such service")
	} else if err != nil {
		return bc, err
	} else if serviceVisible(ctx, s.policy, s.store, p, bc.svc) != nil {
		f.Add("service_id", "no such service")
	} else if bc.svc.OwnerID != "" && bc.svc.OwnerID != specialistID {
		// A specialist's own service is booked only with that specialist.
		f.Add("service_id", "is another specialist's own service")
	} else if !bc.svc.Active {
		f.Add("service_id", "service is not active")
	}
	if roomID != "" {
		r, err := s.store.GetRoom(ctx, orgID, roomID)
		switch {
		case !ValidID(roomID) || ErrorCode(err) == CodeNotFound || err == nil && s.policy.Room(p, r) != nil:
			f.Add("room_id", "no such room")
		case err != nil:
			return bc, err
		case len(r.ServiceIDs) > 0 && !slices.Contains(r.ServiceIDs, serviceID):
			f.Add("room_id", "this room does not host the service")
		default:
			bc.room = &r
		}
	}
	if err := f.Err("invalid appointment"); err != nil {
		return bc, err
	}
	if refs.Schedule != nil {
		ex := refs.TimeOff
		if !refs.TimeOffRead {
			if ex, err = s.store.ListExceptions(ctx, orgID, specialistID); err != nil {
				return bc, err
			}
		}
		if bc.sched, err = refs.Schedule.compile(ex); err != nil {
			return bc, err
		}
		bc.hasSched = true
	}
	if !bc.hasSched {
		// No hours set: nothing is inside the schedule.
		loc, _ := time.LoadLocation(bc.specialist.Timezone)
		bc.sched = schedule.Schedule{Location: loc}
	}
	if bc.room != nil {
		if bc.roomSched, bc.roomHas, err = loadSchedule(ctx, s.store, orgID, bc.room.ID); err != nil {
			return bc, err
		}
	}
	return bc, nil
}

// service is the service read with the specialist, or reads it.
func (r SpecialistRefs) service(ctx context.Context, cat CatalogueReader, orgID, id string) (Offering, error) {
	if !r.ServiceRead {
		return cat.GetService(ctx, orgID, id)
	}
	if r.Service == nil || r.Service.ID != id {
		return Offering{}, NotFound("service")
	}
	return *r.Service, nil
}

// hiddenRefs names the reference ("specialist_id" or "client_id") the
// caller may not see, or "". Directors see every centre: no read.
func (s *BookingService) hiddenRefs(ctx context.Context, p Principal, specialistID, clientID string, clientFound bool) (string, error) {
	if p.AllCenters() {
		return "", nil
	}
	st, err := s.store.GetStaff(ctx, p.OrgID, specialistID)
	if err != nil {
		return "", err
	}
	if s.policy.Staff(p, st) != nil {
		return "specialist_id", nil
	}
	if clientID == "" || !clientFound {
		return "", nil
	}
	c, err := s.store.GetClient(ctx, p.OrgID, clientID)
	if err != nil {
		return "", err
	}
	if s.policy.Client(p, c) != nil {
		return "client_id", nil
	}
	return "", nil
}

func (bc bookingContext) lockIDs() []string {
	ids := []string{bc.specialist.ID}
	if bc.room != nil {
		ids = append(ids, bc.room.ID)
	}
	return ids
}

// conflicts lists every reason putting a visit at [start, start+duration)
// fails, reading what is booked inside the transaction. ignore is the
// appointment being moved.
func (s *BookingService) conflicts(ctx context.Context, tx BookingTx, bc bookingContext, start time.Time, seats int, ignore string) ([]ConflictItem, error) {
	spec := bc.svc.Spec()
	end := start.Add(spec.Duration)
	now := s.Now()
	held, err := tx.Holding(ctx, OwnerStaff, bc.specialist.ID, start, end)
	if err != nil {
		return nil, err
	}
	session, others := splitSession(held, bc.specialist.ID, bc.svc.ID, start, end, ignore)
	var out []ConflictItem
	if bc.svc.Capacity > 1 {
		out = append(out, fromSchedule(schedule.Check(bc.sched, spec, start, seats, now, session), "")...)
	} else {
		out = append(out, fromSchedule(schedule.Check(bc.sched, spec, start, seats, now, append(session, others...)), "")...)
		others = nil
	}
	if len(others) > 0 {
		out = append(out, overlapItem(others, "overlaps another appointment of the specialist"))
	}
	if bc.room != nil {
		rheld, err := tx.Holding(ctx, OwnerRoom, bc.room.ID, start, end)
		if err != nil {
			return nil, err
		}
		rsession, rothers := splitSession(rheld, bc.specialist.ID, bc.svc.ID, start, end, ignore)
		if bc.roomHas {
			for _, c := range schedule.Check(bc.roomSched, spec, start, seats, now, rsession) {
				if c.Kind == schedule.OutsideSchedule || c.Kind == schedule.OutOfOffice || c.Kind == schedule.OverCapacity {
					out = append(out, fromSchedule([]schedule.Conflict{c}, "room: ")...)
				}
			}
		}
		// Another session in the same room.
		if len(rothers) > 0 {
			out = append(out, overlapItem(rothers, "the room is taken"))
		}
	}
	return dedupe(out), nil
}

// splitSession separates bookings of the same group session (same
// specialist, service and times: they share seats) from any other
// overlapping booking; another specialist's session in the same room is
// another booking, not seats of this one.
func splitSession(held []Appointment, specialistID, serviceID string, start, end time.Time, ignore string) (session, others []schedule.Booking) {
	for _, a := range held {
		if a.ID == ignore {
			continue
		}
		b := schedule.Booking{Interval: schedule.Interval{Start: a.Start, End: a.End}, Seats: a.Seats}
		if a.SpecialistID == specialistID && a.ServiceID == serviceID && a.Start.Equal(start) && a.End.Equal(end) {
			session = append(session, b)
		} else {
			others = append(others, b)
		}
	}
	return session, others
}

func overlapItem(bs []schedule.Booking, detail string) ConflictItem {
	it := ConflictItem{Kind: string(schedule.Overlap), Detail: detail}
	for _, b := range bs {
		it.With = append(it.With, Period{Start: b.Start.UTC().Format(time.RFC3339), End: b.End.UTC().Format(time.RFC3339)})
	}
	return it
}

func fromSchedule(cs []schedule.Conflict, prefix string) []ConflictItem {
	out := make([]ConflictItem, 0, len(cs))
	for _, c := range cs {
		it := ConflictItem{Kind: string(c.Kind), Detail: prefix + c.Detail}
		for _, w := range c.With {
			it.With = append(it.With, Period{Start: w.Start.UTC().Format(time.RFC3339), End: w.End.UTC().Format(time.RFC3339)})
		}
		out = append(out, it)
	}
	return out
}

func dedupe(items []ConflictItem) []ConflictItem {
	var out []ConflictItem
	seen := map[string]bool{}
	for _, it := range items {
		k := it.Kind + "|" + it.Detail
		if !seen[k] {
			seen[k] = true
			out = append(out, it)
		}
	}
	return out
}

// CreateAppointment books a visit (or a series). Conflicts make it a 409
// listing all of them, unless staff override; a client request never
// overrides and starts pending.
func (s *BookingService) CreateAppointment(ctx context.Context, p Principal, in AppointmentInput) (BookingResult, error) {
	if p.Role == RoleMarketer {
		return BookingResult{}, Forbidden("marketers do not book appointments")
	}
	if p.Role == RoleSpecialist && in.SpecialistID != p.StaffID {
		return BookingResult{}, Forbidden("specialists book only their own appointments")
	}
	var f Fields
	if in.RequestedBy == "" {
		in.RequestedBy = "staff"
	}
	f.Check(in.RequestedBy != "staff" && in.RequestedBy != "client", "requested_by", "must be staff or client")
	f.Check(in.RequestedBy == "client" && in.Override, "override", "a client request cannot override conflicts")
	f.Check(in.Start.IsZero(), "start", "is required")
	explicitSeats := in.Seats != 0
	if in.Seats == 0 {
		in.Seats = 1
	}
	f.Check(in.Seats < 1, "seats", "must be at least 1")
	f.Check(in.PriceMinor != nil && *in.PriceMinor < 0, "price_minor", "must not be negative")
	if in.Location != nil {
		checkLocation(&f, *in.Location)
	}
	if in.Repeat != nil {
		f.Check(in.Repeat.EveryWeeks < 1 || in.Repeat.EveryWeeks > 52, "repeat.every_weeks", "must be from 1 to 52")
		f.Check(in.Repeat.Count < 1 || in.Repeat.Count > 104, "repeat.count", "must be from 1 to 104")
	}
	f.Check(in.ClientID == "", "client_id", "is required")
	if in.CenterID != "" {
		if !requiredID(&f, "center_id", "center", in.CenterID) {
			// requiredID recorded why
		} else if _, err := s.store.GetCenter(ctx, p.OrgID, in.CenterID); ErrorCode(err) == CodeNotFound || !p.CanCenter(in.CenterID) {
			f.Add("center_id", "no such center")
		} else if err != nil {
			return BookingResult{}, err
		}
	}
	if err := f.Err("invalid appointment"); err != nil {
		return BookingResult{}, err
	}
	bc, err := s.loadBookingContext(ctx, p, in.SpecialistID, in.ServiceID, in.RoomID, in.ClientID)
	if err != nil {
		return BookingResult{}, err
	}
	if bc.room != nil {
		if in.CenterID != "" && in.CenterID != bc.room.CenterID {
			return BookingResult{}, Invalid("invalid appointment", FieldError{Field: "room_id", Message: "the room is in another center"})
		}
		in.CenterID = bc.room.CenterID
	}
	if in.CenterID, err = visitCenter(in.CenterID, bc.room != nil, bc.specialist.CenterIDs); err != nil {
		return BookingResult{}, err
	}
	if p.Role == RoleAdministrator && in.CenterID != "" && !p.CanCenter(in.CenterID) {
		return BookingResult{}, Forbidden("no access to this center")
	}
	start := in.Start.UTC().Truncate(time.Minute)
	starts := []time.Time{start}
	seriesID := ""
	if in.Repeat != nil && in.Repeat.Count > 1 {
		starts = schedule.Occurrences(start, bc.sched.Location, in.Repeat.EveryWeeks, in.Repeat.Count)
		seriesID = NewID()
	}
	price := int64(0)
	if bc.svc.PriceMinor != nil {
		price = *bc.svc.PriceMinor
	}
	if in.PriceMinor != nil {
		price = *in.PriceMinor
	}
	loc := Location{Kind: "address", Details: ""}
	if in.Location != nil {
		loc = *in.Location
	} else if bc.room != nil {
		loc = Location{Kind: "room", Details: bc.room.Name}
	}
	status, kind := Accepted, EventBooked
	if in.RequestedBy == "client" {
		status, kind = Pending, EventRequested
	}
	now := s.Now()
	res := BookingResult{SeriesID: seriesID, Appointments: []Appointment{}, Skipped: []Skipped{}}
	reminders := s.reminderPlanner()
	reminders.knowZone(in.ClientID, bc.reminderZone)
	reminders.policies = bc.reminders
	if status == Accepted {
		// Read the reminder settings before taking the specialist's lock.
		if _, err := reminders.settings(ctx, Appointment{OrgID: p.OrgID, CenterID: in.CenterID, ServiceID: bc.svc.ID, ClientID: in.ClientID}); err != nil {
			return BookingResult{}, err
		}
	}
	var events []Event
	err = s.store.InBookingTx(ctx, p.OrgID, bc.lockIDs(), func(tx BookingTx) error {
		res.Appointments, res.Skipped, events = res.Appointments[:0], res.Skipped[:0], events[:0]
		for i, st := range starts {
			st = st.UTC()
			cs, err := s.conflicts(ctx, tx, bc, st, in.Seats, "")
			if err != nil {
				return err
			}
			seated, err := s.seatedAlready(ctx, tx, bc, st, in.ClientID, "", explicitSeats)
			if err != nil {
				return err
			}
			if len(seated) > 0 || len(cs) > 0 && !in.Override {
				res.Skipped = append(res.Skipped, Skipped{Start: st, Conflicts: append(cs, seated...)})
				continue
			}
			a := Appointment{ID: NewID(), OrgID: p.OrgID, CenterID: in.CenterID, SpecialistID: bc.specialist.ID,
				ServiceID: bc.svc.ID, RoomID: in.RoomID, ClientID: in.ClientID, Start: st, End: st.Add(bc.svc.Spec().Duration),
				Seats: in.Seats, Status: status, RequestedBy: in.RequestedBy, Location: loc, Notes: in.Notes,
				PriceMinor: price, Currency: bc.svc.Currency, BalanceMinor: price, SeriesID: seriesID, CreatedAt: now, UpdatedAt: now}
			if seriesID != "" {
				a.SeriesIndex = i + 1
			}
			if err := tx.InsertAppointment(ctx, a); err != nil {
				return err
			}
			if err := reminders.schedule(ctx, tx, a); err != nil {
				return err
			}
			e := s.event(p, kind, a, seriesMark(len(starts) > 1, nil))
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
			events = append(events, e)
			res.Appointments = append(res.Appointments, a)
		}
		if len(res.Appointments) == 0 {
			return Conflict("the appointment conflicts with existing bookings or the schedule", res.Skipped[0].Conflicts...)
		}
		if len(starts) > 1 {
			e := s.seriesEvent(p, EventSeriesBooked, res.Appointments, nil)
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return BookingResult{}, err
	}
	s.publish(ctx, events)
	return res, nil
}

func checkLocation(f *Fields, l Location) {
	switch l.Kind {
	case "address", "room", "video", "phone":
	default:
		f.Add("location.kind", "must be address, room, video or phone")
	}
	f.Check(l.Kind == "video" && !strings.HasPrefix(l.Details, "https://"), "location.details", "a video location needs an https link")
	f.Check(len(l.Details) > 2000, "location.details", "is too long")
}

// checkClient adds a field error unless clientID names a client the
// caller may see.
func checkClient(ctx context.Context, pol Policy, r interface {
	GetClient(ctx context.Context, orgID, id string) (Client, error)
}, p Principal, clientID string, f *Fields) error {
	if !requiredID(f, "client_id", "client", clientID) {
		return nil
	}
	c, err := r.GetClient(ctx, p.OrgID, clientID)
	if ErrorCode(err) == CodeNotFound || err == nil && pol.Client(p, c) != nil {
		f.Add("client_id", "no such client")
		return nil
	}
	return err
}

// getAppointment reads an appointment the caller may see.
func getAppointment(ctx context.Context, pol Policy, r interface {
	GetAppointment(ctx context.Context, orgID, id string) (Appointment, error)
}, p Principal, id string) (Appointment, error) {
	a, err := r.GetAppointment(ctx, p.OrgID, id)
	if err != nil {
		return Appointment{}, err
	}
	return a, pol.Appointment(p, a)
}

// event makes an appointment event; extra, when set, adds what the change
// said (a reason, how the client acted).
func (s *BookingService) event(p Principal, kind EventKind, a Appointment, extra func(*AppointmentChanged)) Event {
	d := &AppointmentChanged{EventRefs: EventRefs{AppointmentID: a.ID, ClientID: a.ClientID, SpecialistID: a.SpecialistID},
		Start: a.Start.UTC(), Status: a.Status, ByStaffID: p.StaffID}
	if extra != nil {
		extra(d)
	}
	return Event{ID: NewID(), OrgID: a.OrgID, Kind: kind, OccurredAt: s.Now(), Data: d}
}

// GetAppointment returns one appointment the caller may see.
func (s *BookingService) GetAppointment(ctx context.Context, p Principal, id string) (Appointment, error) {
	return getAppointment(ctx, s.policy, s.store, p, id)
}

// ListAppointments lists appointments the caller may see, sorted by start
// (pg.After is a StartCursor).
func (s *BookingService) ListAppointments(ctx context.Context, p Principal, f AppointmentFilter, pg Page) ([]Appointment, error) {
	if err := s.prepareAppointmentFilter(ctx, p, &f); err != nil {
		return nil, err
	}
	if err := s.policy.appointmentScope(p, &f.SpecialistID, &f.CenterIDs); err != nil {
		return nil, err
	}
	return s.store.ListAppointments(ctx, p.OrgID, f, pg)
}

var statusEvents = map[Status]EventKind{Accepted: EventAccepted, Rejected: EventRejected, Cancelled: EventCancelled,
	Completed: EventCompleted, Missed: EventMissed}

// StatusChange moves an appointment (or part of its series) to a status.
type StatusChange struct {
	Status   Status `json:"status"`
	Reason   string `json:"reason"`
	Scope    Scope  `json:"scope" doc:"this (default), following or all occurrences of a series"`
	ByClient bool   `json:"by_client" doc:"the client asked (a cancellation inside the notice period is recorded as late)"`
	Override bool   `json:"override" doc:"staff only: complete a visit that has not started yet"`
	// Via is how the client asked (sms, link); set by the gateway, not the API.
	Via string `json:"-"`
}

// ChangeStatus applies a status change with the allowed transitions.
func (s *BookingService) ChangeStatus(ctx context.Context, p Principal, id string, in StatusChange) ([]Appointment, error) {
	var f Fields
	f.Check(!in.Status.Valid() || in.Status == Pending, "status", "must be accepted, rejected, cancelled, completed or missed")
	f.Check(!in.Scope.valid(), "scope", "must be this, following or all")
	f.Check(len(in.Reason) > 1000, "reason", "is too long")
	if err := f.Err("invalid status change"); err != nil {
		return nil, err
	}
	a, err := s.GetAppointment(ctx, p, id)
	if err != nil {
		return nil, err
	}
	if err := s.policy.ChangeAppointment(p, a); err != nil {
		return nil, err
	}
	return s.applyStatus(ctx, p, []string{a.ID}, a, in, "")
}

// BulkStatus changes the status of selected appointments that are all in
// one status (seed: select appointments of one status, change them
// together). Nothing changes unless all can.
func (s *BookingService) BulkStatus(ctx context.Context, p Principal, ids []string, from Status, in StatusChange) ([]Appointment, error) {
	var f Fields
	f.Check(len(ids) == 0 || len(ids) > 500, "ids", "must list 1 to 500 appointments")
	f.Check(!from.Valid(), "from_status", "is required")
	f.Check(!in.Status.Valid() || in.Status == Pending, "status", "must be accepted, rejected, cancelled, completed or missed")
	f.Check(in.Scope != "" && in.Scope != ScopeThis, "scope", "bulk changes apply to the selected appointments only")
	for _, id := range ids {
		if !ValidID(id) {
			f.Add("ids", id+" is not an appointment id")
		}
	}
	if err := f.Err("invalid bulk status change"); err != nil {
		return nil, err
	}
	first, err := s.GetAppointment(ctx, p, ids[0])
	if err != nil {
		return nil, err
	}
	return s.applyStatus(ctx, p, ids, first, in, from)
}

func (s *BookingService) applyStatus(ctx context.Context, p Principal, ids []string, first Appointment, in StatusChange, mustBe Status) ([]Appointment, error) {
	org, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return nil, err
	}
	// Lock every specialist concerned; for one appointment or a series
	// that is one specialist.
	lock := []string{first.SpecialistID}
	if len(ids) > 1 {
		lock = nil
		for _, id := range ids {
			a, err := s.store.GetAppointment(ctx, p.OrgID, id)
			if err != nil {
				return nil, err
			}
			if !slices.Contains(lock, a.SpecialistID) {
				lock = append(lock, a.SpecialistID)
			}
		}
	}
	now := s.Now()
	reminders := s.reminderPlanner()
	var out []Appointment
	var events []Event
	err = s.store.InBookingTx(ctx, p.OrgID, lock, func(tx BookingTx) error {
		out, events = out[:0], events[:0]
		targets := ids
		if len(ids) == 1 && in.Scope != "" && in.Scope != ScopeThis && first.SeriesID != "" {
			series, err := tx.SeriesAppointments(ctx, first.SeriesID)
			if err != nil {
				return err
			}
			targets = nil
			for _, o := range series {
				if (in.Scope == ScopeAll || o.SeriesIndex >= first.SeriesIndex) && CanMove(o.Status, in.Status) &&
					(o.ID == first.ID || o.Start.After(now) || in.Status != Cancelled) && (o.ID == first.ID || !isUndo(o.Status, in.Status)) {
					targets = append(targets, o.ID)
				}
			}
			if !slices.Contains(targets, first.ID) {
				targets = append([]string{first.ID}, targets...)
			}
		}
		for _, id := range targets {
			a, err := tx.GetAppointment(ctx, id)
			if err != nil {
				return err
			}
			if s.policy.Appointment(p, a) != nil {
				return NotFound("appointment " + id)
			}
			// Visible but not theirs to change (marketers): Forbidden, as
			// ChangeStatus answers.
			if err := s.policy.ChangeAppointment(p, a); err != nil {
				return err
			}
			if mustBe != "" && a.Status != mustBe {
				return Conflict("appointment "+id+" is "+string(a.Status)+", not "+string(mustBe),
					ConflictItem{Kind: "status", Detail: "selected appointments must share one status", Extra: id})
			}
			if !CanMove(a.Status, in.Status) {
				return Conflict("cannot change an appointment from "+string(a.Status)+" to "+string(in.Status),
					ConflictItem{Kind: "transition", Detail: string(a.Status) + " → " + string(in.Status) + " is not allowed", Extra: a.ID})
			}
			if err := checkCompletion(a, in, now); err != nil {
				return err
			}
			freed := a.Status.Holds() && !in.Status.Holds()
			undone := isUndo(a.Status, in.Status)
			if a.PackageSaleID != "" {
				if err := tx.ReleaseVisit(ctx, a); err != nil {
					return err
				}
				// The visit is owed again, as the store computes it on read.
				a.PackageSaleID, a.BalanceMinor = "", a.PriceMinor-a.PaidMinor
			}
			a.Status, a.UpdatedAt = in.Status, now
			if in.Status == Completed || in.Status == Missed {
				// Attendance consumes a visit of the client's package (and a
				// no-show does, for packages that charge missed visits).
				if a.PackageSaleID, err = tx.ConsumeVisit(ctx, a); err != nil {
					return err
				}
				if a.PackageSaleID != "" {
					a.BalanceMinor = 0
				}
			}
			if in.Status == Cancelled || in.Status == Rejected {
				a.CancelReason = in.Reason
				a.LateCancel = in.Status == Cancelled && in.ByClient && a.Start.Sub(now) < time.Duration(org.CancelNoticeHours)*time.Hour
			}
			if err := tx.UpdateAppointment(ctx, a); err != nil {
				return err
			}
			if err := reminders.schedule(ctx, tx, a); err != nil {
				return err
			}
			e := s.event(p, statusEvents[in.Status], a, func(d *AppointmentChanged) {
				d.Reason, d.Late, d.ByClient, d.Via, d.Undo = in.Reason, a.LateCancel, in.ByClient, in.Via, undone
			})
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
			events = append(events, e)
			if freed && a.End.After(now) {
				ev, err := s.matchWaiting(ctx, tx, p, a, a.Start, a.End)
				if err != nil {
					return err
				}
				events = append(events, ev...)
			}
			out = append(out, a)
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	s.publish(ctx, events)
	return out, nil
}

// matchWaiting raises a waiting-list match for every waiting entry of the
// specialist whose wished window overlaps the time freed by a visit, with
// the time offered to the waiting client (offerData).
func (s *BookingService) matchWaiting(ctx context.Context, tx BookingTx, p Principal, freed Appointment, from, to time.Time) ([]Event, error) {
	specialistID := freed.SpecialistID
	ws, err := tx.WaitingOverlapping(ctx, specialistID, from, to)
	if err != nil {
		return nil, err
	}
	// Urgent entries first, then the longest waiting.
	sort.SliceStable(ws, func(i, j int) bool {
		if ws[i].Urgent != ws[j].Urgent {
			return ws[i].Urgent
		}
		return ws[i].CreatedAt.Before(ws[j].CreatedAt)
	})
	var out []Event
	for _, w := range ws {
		if err := tx.MarkWaitingMatched(ctx, w.ID, s.Now()); err != nil {
			return nil, err
		}
		e := Event{ID: NewID(), OrgID: p.OrgID, Kind: EventWaitlistMatch, OccurredAt: s.Now(), Data: &WaitlistMatched{
			EventRefs: EventRefs{ClientID: w.ClientID, SpecialistID: specialistID}, WaitingID: w.ID, ServiceID: w.ServiceID,
			FreeStart: from.UTC(), FreeEnd: to.UTC(), Urgent: w.Urgent}}
		offerData(w, freed, from, e.Data.(*WaitlistMatched))
		if err := tx.AddEvent(ctx, e); err != nil {
			return nil, err
		}
		out = append(out, e)
	}
	return out, nil
}

// MoveInput reschedules an appointment (or part of its series).
type MoveInput struct {
	Start    time.Time `json:"start"`
	Scope    Scope     `json:"scope" doc:"this (default), following or all occurrences of a series"`
	Override bool      `json:"override" doc:"book despite conflicts"`
}

// MoveResult lists moved occurrences and those that could not move.
type MoveResult struct {
	Appointments []Appointment `json:"appointments"`
	Skipped      []Skipped     `json:"skipped"`
}

// MoveAppointment reschedules. For a series, the same shift in local days and
// wall-clock time applies to each chosen occurrence, each checked for
// conflicts; those that conflict stay where they were and are reported.
func (s *BookingService) MoveAppointment(ctx context.Context, p Principal, id string, in MoveInput) (MoveResult, error) {
	var f Fields
	f.Check(in.Start.IsZero(), "start", "is required")
	f.Check(!in.Scope.valid(), "scope", "must be this, following or all")
	if err := f.Err("invalid move"); err != nil {
		return MoveResult{}, err
	}
	a, err := s.GetAppointment(ctx, p, id)
	if err != nil {
		return MoveResult{}, err
	}
	if err := s.policy.ChangeAppointment(p, a); err != nil {
		return MoveResult{}, err
	}
	if a.Status != Pending && a.Status != Accepted {
		return MoveResult{}, Conflict("only pending or accepted appointments can move",
			ConflictItem{Kind: "transition", Detail: "appointment is " + string(a.Status), Extra: a.ID})
	}
	bc, err := s.loadBookingContext(ctx, p, a.SpecialistID, a.ServiceID, a.RoomID, "")
	if err != nil {
		return MoveResult{}, err
	}
	loc := bc.sched.Location
	newStart := in.Start.UTC().Truncate(time.Minute)
	oldL, newL := a.Start.In(loc), newStart.In(loc)
	dayShift := daysBetween(schedule.DateOf(oldL), schedule.DateOf(newL))
	clockShift := wallClock(newL) - wallClock(oldL)
	now := s.Now()
	reminders := s.reminderPlanner()
	res := MoveResult{Appointments: []Appointment{}, Skipped: []Skipped{}}
	var events []Event
	var moved []Appointment
	var movedFrom []time.Time
	err = s.store.InBookingTx(ctx, p.OrgID, bc.lockIDs(), func(tx BookingTx) error {
		res.Appointments, res.Skipped, events = res.Appointments[:0], res.Skipped[:0], events[:0]
		// Check again under the lock: another change may have committed
		// since a was read.
		if cur, err := tx.GetAppointment(ctx, a.ID); err != nil {
			return err
		} else if cur.Status != Pending && cur.Status != Accepted {
			return Conflict("only pending or accepted appointments can move",
				ConflictItem{Kind: "transition", Detail: "appointment is " + string(cur.Status), Extra: cur.ID})
		}
		moved, movedFrom = moved[:0], movedFrom[:0]
		targets := []Appointment{a}
		if in.Scope != "" && in.Scope != ScopeThis && a.SeriesID != "" {
			series, err := tx.SeriesAppointments(ctx, a.SeriesID)
			if err != nil {
				return err
			}
			targets = nil
			for _, o := range series {
				if (o.Status == Pending || o.Status == Accepted) && (o.ID == a.ID ||
					(o.Start.After(now) && (in.Scope == ScopeAll || o.SeriesIndex >= a.SeriesIndex))) {
					targets = append(targets, o)
				}
			}
		}
		for _, o := range targets {
			cur, err := tx.GetAppointment(ctx, o.ID)
			if err != nil {
				return err
			}
			to := newStart
			if cur.ID != a.ID {
				to = shiftWall(cur.Start.In(loc), dayShift, clockShift).UTC()
			}
			if to.Equal(cur.Start) {
				// Already there: nothing changes, nobody is told.
				res.Appointments = append(res.Appointments, cur)
				continue
			}
			cs, err := s.conflicts(ctx, tx, bc, to, cur.Seats, cur.ID)
			if err != nil {
				return err
			}
			seated, err := s.seatedAlready(ctx, tx, bc, to, cur.ClientID, cur.ID, false)
			if err != nil {
				return err
			}
			if len(seated) > 0 || len(cs) > 0 && !in.Override {
				res.Skipped = append(res.Skipped, Skipped{Start: to, Conflicts: append(cs, seated...)})
				continue
			}
			from := cur.Start
			oldEnd := cur.End
			cur.Start, cur.End, cur.UpdatedAt = to, to.Add(bc.svc.Spec().Duration), now
			cur.ConfirmedAt = nil // a moved visit needs confirming again
			if err := tx.UpdateAppointment(ctx, cur); err != nil {
				return err
			}
			if err := reminders.schedule(ctx, tx, cur); err != nil {
				return err
			}
			prev := from.UTC()
			e := s.event(p, EventMoved, cur, seriesMark(len(targets) > 1, func(d *AppointmentChanged) { d.PreviousStart = &prev }))
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
			events = append(events, e)
			moved, movedFrom = append(moved, cur), append(movedFrom, from)
			if oldEnd.After(now) {
				ev, err := s.matchWaiting(ctx, tx, p, cur, from, oldEnd)
				if err != nil {
					return err
				}
				events = append(events, ev...)
			}
			res.Appointments = append(res.Appointments, cur)
		}
		if len(res.Appointments) == 0 {
			return Conflict("the new time conflicts with existing bookings or the schedule", res.Skipped[0].Conflicts...)
		}
		if len(targets) > 1 && len(moved) > 0 {
			e := s.seriesEvent(p, EventSeriesMoved, moved, movedFrom)
			if err := tx.AddEvent(ctx, e); err != nil {
				return err
			}
			events = append(events, e)
		}
		return nil
	})
	if err != nil {
		return MoveResult{}, err
	}
	s.publish(ctx, events)
	return res, nil
}

func wallClock(t time.Time) time.Duration {
	return time.Duration(t.Hour())*time.Hour + time.Duration(t.Minute())*time.Minute
}

// shiftWall moves a local time by whole days and a wall-clock amount, so a
// series moved from 10:00 to 11:30 stays at 11:30 local across DST.
func shiftWall(t time.Time, days int, clock time.Duration) time.Time {
	d := schedule.DateOf(t).AddDays(days)
	w := wallClock(t) + clock
	return time.Date(d.Year, d.Month, d.Day, 0, int(w/time.Minute), 0, 0, t.Location())
}

// daysBetween counts calendar days from a to b.
func daysBetween(a, b schedule.Date) int {
	ua := time.Date(a.Year, a.Month, a.Day, 0, 0, 0, 0, time.UTC)
	ub := time.Date(b.Year, b.Month, b.Day, 0, 0, 0, 0, time.UTC)
	return int(ub.Sub(ua).Hours() / 24)
}

// scheduleReminders replaces an appointment's reminders with those its
// current state calls for, inside the booking transaction: accepting,
// moving or cancelling a visit creates, moves or voids them atomically.
func (r *reminderPlanner) schedule(ctx context.Context, tx BookingTx, a Appointment) error {
	rs, err := r.plan(ctx, a)
	if err != nil {
		return err
	}
	return tx.SetReminders(ctx, a.ID, rs)
}

// system is the principal of the gateway acting for a client (an SMS reply,
// a signed link): it sees the whole organization.
func system(orgID string) Principal { return Principal{OrgID: orgID, Role: RoleDirector} }

// ConfirmByClient records that the client confirmed a visit (SMS reply or
// signed link). Confirming twice changes nothing.
func (s *BookingService) ConfirmByClient(ctx context.Context, orgID, id, via string) (Appointment, error) {
	a, err := s.store.GetAppointment(ctx, orgID, id)
	if err != nil {
		return a, err
	}
	var events []Event
	err = s.store.InBookingTx(ctx, orgID, []string{a.SpecialistID}, func(tx BookingTx) error {
		events = events[:0]
		cur, err := tx.GetAppointment(ctx, id)
		if err != nil {
			return err
		}
		if (cur.Status != Accepted && cur.Status != Pending) || !cur.End.After(s.Now()) {
			return Conflict("this visit can no longer be confirmed", ConflictItem{Kind: "transition", Detail: "appointment is " + string(cur.Status), Extra: cur.ID})
		}
		a = cur
		if cur.ConfirmedAt != nil {
			return nil
		}
		now := s.Now()
		a.ConfirmedAt, a.UpdatedAt = &now, now
		if err := tx.UpdateAppointment(ctx, a); err != nil {
			return err
		}
		e := s.event(system(orgID), EventConfirmed, a, func(d *AppointmentChanged) { d.Via = via })
		events = append(events, e)
		return tx.AddEvent(ctx, e)
	})
	if err != nil {
		return a, err
	}
	s.publish(ctx, events)
	return a, nil
}

// CancelByClient cancels a visit at the client's request; inside the
// organization's notice period it is recorded as a late cancellation.
func (s *BookingService) CancelByClient(ctx context.Context, orgID, id, via string) (Appointment, error) {
	a, err := s.store.GetAppointment(ctx, orgID, id)
	if err != nil {
		return a, err
	}
	out, err := s.applyStatus(ctx, system(orgID), []string{id}, a, StatusChange{Status: Cancelled, ByClient: true, Via: via,
		Reason: ReasonCancelledByClient}, "")
	if err != nil {
		return a, err
	}
	return out[0], nil
}
