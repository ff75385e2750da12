package core

import (
	"context"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core/schedule"
)

// ServiceInput creates or replaces a service's fields.
type ServiceInput struct {
	OwnerID     string `json:"owner_id" doc:"specialist who owns the service; empty for the organization catalogue"`
	Name        string `json:"name"`
	Description string `json:"description"`
	DurationMin int    `json:"duration_min"`
	IntervalMin int    `json:"interval_min"`
	Capacity    int    `json:"capacity"`
	PriceMinor  *int64 `json:"price_minor" doc:"null hides the price"`
	Currency    string `json:"currency"`
	IsPackage   bool   `json:"is_package"`
	PaymentLink string `json:"payment_link"`
	Active      *bool  `json:"active"`
	AutoAccept  bool   `json:"auto_accept" doc:"client bookings (web page, Telegram bot) are confirmed at once instead of pending until staff accept"`
}

func (s *CatalogueService) validateService(ctx context.Context, p Principal, in *ServiceInput) error {
	var f Fields
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	f.Check(in.DurationMin < 5 || in.DurationMin > 24*60, "duration_min", "must be from 5 to 1440 minutes")
	if in.IntervalMin == 0 {
		in.IntervalMin = in.DurationMin
	}
	f.Check(in.IntervalMin < 5 || in.IntervalMin > 24*60, "interval_min", "must be from 5 to 1440 minutes")
	if in.Capacity == 0 {
		in.Capacity = 1
	}
	f.Check(in.Capacity < 1 || in.Capacity > 1000, "capacity", "must be from 1 to 1000")
	f.Check(in.PriceMinor != nil && *in.PriceMinor < 0, "price_minor", "must not be negative")
	if in.Currency == "" {
		o, err := s.store.GetOrganization(ctx, p.OrgID)
		if err != nil {
			return err
		}
		in.Currency = o.Currency
	}
	in.Currency = strings.ToUpper(in.Currency)
	checkCurrency(&f, "currency", in.Currency)
	if in.PaymentLink != "" && !strings.HasPrefix(in.PaymentLink, "https://") && !strings.HasPrefix(in.PaymentLink, "http://") {
		f.Add("payment_link", "must be an http(s) URL")
	}
	if in.OwnerID != "" {
		if !ValidID(in.OwnerID) {
			f.Add("owner_id", "is not a staff id")
		} else if _, err := s.visibleStaff(ctx, p, in.OwnerID); ErrorCode(err) == CodeNotFound {
			f.Add("owner_id", "no such staff member")
		} else if err != nil {
			return err
		}
	}
	return f.Err("invalid service")
}

// CreateService adds a catalogue service or a specialist's own service.
func (s *CatalogueService) CreateService(ctx context.Context, p Principal, in ServiceInput) (Offering, error) {
	if err := s.policy.ChangeService(p, Offering{OwnerID: in.OwnerID}); err != nil {
		return Offering{}, err
	}
	if err := s.validateService(ctx, p, &in); err != nil {
		return Offering{}, err
	}
	sv := Offering{ID: NewID(), OrgID: p.OrgID, OwnerID: in.OwnerID, Name: in.Name, Description: in.Description,
		DurationMin: in.DurationMin, IntervalMin: in.IntervalMin, Capacity: in.Capacity, PriceMinor: in.PriceMinor,
		Currency: in.Currency, IsPackage: in.IsPackage, PaymentLink: in.PaymentLink, Active: in.Active == nil || *in.Active, AutoAccept: in.AutoAccept,
		CreatedAt: s.Now()}
	return sv, s.store.CreateService(ctx, sv)
}

// UpdateService replaces a service's fields. Its owner cannot change.
func (s *CatalogueService) UpdateService(ctx context.Context, p Principal, id string, in ServiceInput) (Offering, error) {
	sv, err := s.GetService(ctx, p, id)
	if err != nil {
		return Offering{}, err
	}
	if err := s.policy.ChangeService(p, sv); err != nil {
		return Offering{}, err
	}
	if in.OwnerID != sv.OwnerID {
		return Offering{}, Invalid("a service's owner cannot change", FieldError{Field: "owner_id", Message: "must stay " + sv.OwnerID})
	}
	if err := s.validateService(ctx, p, &in); err != nil {
		return Offering{}, err
	}
	sv.Name, sv.Description, sv.DurationMin, sv.IntervalMin, sv.Capacity = in.Name, in.Description, in.DurationMin, in.IntervalMin, in.Capacity
	sv.PriceMinor, sv.Currency, sv.IsPackage, sv.PaymentLink, sv.AutoAccept = in.PriceMinor, in.Currency, in.IsPackage, in.PaymentLink, in.AutoAccept
	if in.Active != nil {
		sv.Active = *in.Active
	}
	return sv, s.store.UpdateService(ctx, sv)
}

// GetService returns one service the caller may see.
func (s *CatalogueService) GetService(ctx context.Context, p Principal, id string) (Offering, error) {
	sv, err := s.store.GetService(ctx, p.OrgID, id)
	if err != nil {
		return Offering{}, err
	}
	return sv, serviceVisible(ctx, s.policy, s.store, p, sv)
}

// ListServices lists a specialist's services (ownerID) or the catalogue.
func (s *CatalogueService) ListServices(ctx context.Context, p Principal, ownerID string, pg Page) ([]Offering, error) {
	if ownerID != "" {
		if _, err := s.visibleStaff(ctx, p, ownerID); err != nil {
			return nil, err
		}
	}
	return s.store.ListServices(ctx, p.OrgID, ownerID, ownerID == "", pg)
}

// visibleStaff reads a staff member the caller may see.
func (s *CatalogueService) visibleStaff(ctx context.Context, p Principal, id string) (Staff, error) {
	return visibleStaff(ctx, s.policy, s.store, p, id)
}

func visibleStaff(ctx context.Context, pol Policy, dir Directory, p Principal, id string) (Staff, error) {
	if !ValidID(id) {
		return Staff{}, NotFound("staff member")
	}
	st, err := dir.GetStaff(ctx, p.OrgID, id)
	if err != nil {
		return Staff{}, err
	}
	return st, pol.Staff(p, st)
}

// ImportService copies a catalogue service to a specialist, who may then
// edit the copy without touching the original.
func (s *CatalogueService) ImportService(ctx context.Context, p Principal, catalogueID, specialistID string) (Offering, error) {
	if specialistID == "" {
		specialistID = p.StaffID
	}
	if err := s.policy.ChangeService(p, Offering{OwnerID: specialistID}); err != nil {
		return Offering{}, err
	}
	src, err := s.GetService(ctx, p, catalogueID)
	if err != nil {
		return Offering{}, err
	}
	if src.OwnerID != "" {
		return Offering{}, Invalid("only catalogue services can be imported", FieldError{Field: "service_id", Message: "belongs to a specialist"})
	}
	if _, err := s.visibleStaff(ctx, p, specialistID); err != nil {
		return Offering{}, err
	}
	cp := src
	cp.ID, cp.OwnerID, cp.SourceID, cp.CreatedAt = NewID(), specialistID, src.ID, s.Now()
	return cp, s.store.CreateService(ctx, cp)
}

// RoomInput creates or replaces a room's fields.
type RoomInput struct {
	CenterID   string   `json:"center_id"`
	Name       string   `json:"name"`
	ServiceIDs []string `json:"service_ids" doc:"services the room can host; empty means any"`
}

func (s *CatalogueService) validateRoom(ctx context.Context, p Principal, in *RoomInput) error {
	var f Fields
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	if !requiredID(&f, "center_id", "center", in.CenterID) {
		// requiredID recorded why
	} else if _, err := s.store.GetCenter(ctx, p.OrgID, in.CenterID); ErrorCode(err) == CodeNotFound || !p.CanCenter(in.CenterID) {
		f.Add("center_id", "no such center")
	} else if err != nil {
		return err
	}
	if in.ServiceIDs == nil {
		in.ServiceIDs = []string{}
	}
	if err := checkServiceIDs(ctx, s.store, p.OrgID, in.ServiceIDs, &f); err != nil {
		return err
	}
	return f.Err("invalid room")
}

// checkServiceIDs records a field error under service_ids for every id that
// is not a service of the organization.
func checkServiceIDs(ctx context.Context, r interface {
	GetService(ctx context.Context, orgID, id string) (Offering, error)
}, orgID string, ids []string, f *Fields) error {
	for _, id := range ids {
		if !ValidID(id) {
			f.Add("service_ids", id+" is not a service id")
		} else if _, err := r.GetService(ctx, orgID, id); ErrorCode(err) == CodeNotFound {
			f.Add("service_ids", "no such service "+id)
		} else if err != nil {
			return err
		}
	}
	return nil
}

// CreateRoom adds a room to a center.
func (s *CatalogueService) CreateRoom(ctx context.Context, p Principal, in RoomInput) (Room, error) {
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return Room{}, err
	}
	if err := s.validateRoom(ctx, p, &in); err != nil {
		return Room{}, err
	}
	r := Room{ID: NewID(), OrgID: p.OrgID, CenterID: in.CenterID, Name: in.Name, ServiceIDs: in.ServiceIDs, CreatedAt: s.Now()}
	return r, s.store.CreateRoom(ctx, r)
}

// UpdateRoom replaces a room's fields.
func (s *CatalogueService) UpdateRoom(ctx context.Context, p Principal, id string, in RoomInput) (Room, error) {
	if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
		return Room{}, err
	}
	r, err := s.GetRoom(ctx, p, id)
	if err != nil {
		return Room{}, err
	}
	if err := s.validateRoom(ctx, p, &in); err != nil {
		return Room{}, err
	}
	r.CenterID, r.Name, r.ServiceIDs = in.CenterID, in.Name, in.ServiceIDs
	return r, s.store.UpdateRoom(ctx, r)
}

// GetRoom returns a room of a center the caller sees.
func (s *CatalogueService) GetRoom(ctx context.Context, p Principal, id string) (Room, error) {
	r, err := s.store.GetRoom(ctx, p.OrgID, id)
	if err != nil {
		return Room{}, err
	}
	return r, s.policy.Room(p, r)
}

// ListRooms lists the rooms of a center.
func (s *CatalogueService) ListRooms(ctx context.Context, p Principal, centerID string, pg Page) ([]Room, error) {
	if centerID != "" && !p.CanCenter(centerID) {
		return nil, NotFound("center")
	}
	return visiblePage(pg, func(r Room) string { return r.ID },
		func(pg Page) ([]Room, error) { return s.store.ListRooms(ctx, p.OrgID, centerID, pg) },
		func(r Room) (bool, error) { return s.policy.Room(p, r) == nil, nil })
}

var weekdays = map[string]time.Weekday{"sunday": time.Sunday, "monday": time.Monday, "tuesday": time.Tuesday,
	"wednesday": time.Wednesday, "thursday": time.Thursday, "friday": time.Friday, "saturday": time.Saturday}

// ScheduleInput sets weekly working hours.
type ScheduleInput struct {
	Timezone string     `json:"timezone" doc:"IANA zone of the working hours; default the staff member's or center's"`
	Weekly   WeeklyJSON `json:"weekly"`
}

// owner resolves a schedule owner the caller may edit or read, and its
// default timezone. Specialists edit only their own schedule.
func (s *CatalogueService) owner(ctx context.Context, p Principal, kind OwnerKind, id string, write bool) (string, error) {
	switch kind {
	case OwnerStaff:
		st, err := s.visibleStaff(ctx, p, id)
		if err != nil {
			return "", err
		}
		if write {
			if err := s.policy.ChangeStaffData(p, id); err != nil {
				return "", err
			}
		}
		return st.Timezone, nil
	case OwnerRoom:
		r, err := s.GetRoom(ctx, p, id)
		if err != nil {
			return "", err
		}
		if write {
			if err := p.Require(RoleDirector, RoleAdministrator); err != nil {
				return "", err
			}
		}
		c, err := s.store.GetCenter(ctx, p.OrgID, r.CenterID)
		return c.Timezone, err
	}
	return "", NotFound("schedule owner")
}

// PutSchedule replaces weekly working hours of a specialist or a room.
func (s *CatalogueService) PutSchedule(ctx context.Context, p Principal, kind OwnerKind, id string, in ScheduleInput) (Schedule, error) {
	tz, err := s.owner(ctx, p, kind, id, true)
	if err != nil {
		return Schedule{}, err
	}
	if in.Timezone == "" {
		in.Timezone = tz
	}
	sc := Schedule{OwnerID: id, OwnerKind: kind, OrgID: p.OrgID, Timezone: in.Timezone, Weekly: in.Weekly}
	if sc.Weekly == nil {
		sc.Weekly = WeeklyJSON{}
	}
	if _, err := sc.compile(nil); err != nil {
		return Schedule{}, err
	}
	return sc, s.store.PutSchedule(ctx, sc)
}

// GetSchedule returns weekly hours and exceptions.
func (s *CatalogueService) GetSchedule(ctx context.Context, p Principal, kind OwnerKind, id string) (Schedule, []Exception, error) {
	if _, err := s.owner(ctx, p, kind, id, false); err != nil {
		return Schedule{}, nil, err
	}
	sc, err := s.store.GetSchedule(ctx, p.OrgID, id)
	if ErrorCode(err) == CodeNotFound {
		return Schedule{}, nil, NotFound("schedule")
	}
	if err != nil {
		return Schedule{}, nil, err
	}
	ex, err := s.store.ListExceptions(ctx, p.OrgID, id)
	return sc, ex, err
}

// compile turns the stored schedule and its exceptions into the schedule
// arithmetic's form, reporting bad input as field errors.
func (sc Schedule) compile(ex []Exception) (schedule.Schedule, error) {
	var f Fields
	out := schedule.Schedule{}
	loc, err := time.LoadLocation(sc.Timezone)
	if err != nil || sc.Timezone == "" || sc.Timezone == "Local" {
		f.Add("timezone", "unknown timezone "+sc.Timezone)
	}
	out.Location = loc
	for day, ps := range sc.Weekly {
		wd, ok := weekdays[strings.ToLower(day)]
		if !ok {
			f.Add("weekly."+day, "is not a weekday name (monday … sunday)")
			continue
		}
		for i, pj := range ps {
			a, err1 := schedule.ParseClock(pj.Start)
			b, err2 := schedule.ParseClock(pj.End)
			if err1 != nil || err2 != nil {
				f.Add("weekly."+day+"["+strconv.Itoa(i)+"]", "start and end must be HH:MM")
				continue
			}
			out.Weekly[wd] = append(out.Weekly[wd], schedule.Period{Start: a, End: b})
		}
	}
	for _, e := range ex {
		switch e.Kind {
		case Holiday:
			d, _ := schedule.ParseDate(e.FromDate)
			out.Holidays = append(out.Holidays, d)
		case Vacation:
			a, _ := schedule.ParseDate(e.FromDate)
			b, _ := schedule.ParseDate(e.ToDate)
			out.Vacations = append(out.Vacations, schedule.DateRange{From: a, To: b})
		case OutOfOffice:
			out.Blocks = append(out.Blocks, schedule.Interval{Start: *e.StartAt, End: *e.EndAt})
		}
	}
	if len(f) == 0 {
		if err := out.Validate(); err != nil {
			f.Add("weekly", err.Error())
		}
	}
	return out, f.Err("invalid schedule")
}

// ExceptionInput adds time off.
type ExceptionInput struct {
	Kind     ExceptionKind `json:"kind" doc:"holiday, vacation or out_of_office"`
	FromDate string        `json:"from_date"`
	ToDate   string        `json:"to_date"`
	StartAt  *time.Time    `json:"start_at"`
	EndAt    *time.Time    `json:"end_at"`
	Note     string        `json:"note"`
}

// AddException adds a holiday, vacation or out-of-office block.
func (s *CatalogueService) AddException(ctx context.Context, p Principal, kind OwnerKind, id string, in ExceptionInput) (Exception, error) {
	if _, err := s.owner(ctx, p, kind, id, true); err != nil {
		return Exception{}, err
	}
	var f Fields
	e := Exception{ID: NewID(), OrgID: p.OrgID, OwnerID: id, Kind: in.Kind, Note: in.Note, CreatedAt: s.Now()}
	switch in.Kind {
	case Holiday:
		_, err := schedule.ParseDate(in.FromDate)
		f.Check(err != nil, "from_date", "must be a date YYYY-MM-DD")
		f.Check(in.ToDate != "" && in.ToDate != in.FromDate, "to_date", "a holiday is one date; use a vacation for a range")
		e.FromDate = in.FromDate
	case Vacation:
		a, err1 := schedule.ParseDate(in.FromDate)
		b, err2 := schedule.ParseDate(in.ToDate)
		f.Check(err1 != nil, "from_date", "must be a date YYYY-MM-DD")
		f.Check(err2 != nil, "to_date", "must be a date YYYY-MM-DD")
		f.Check(err1 == nil && err2 == nil && b.Before(a), "to_date", "must not be before from_date")
		e.FromDate, e.ToDate = in.FromDate, in.ToDate
	case OutOfOffice:
		f.Check(in.StartAt == nil, "start_at", "is required")
		f.Check(in.EndAt == nil, "end_at", "is required")
		if in.StartAt != nil && in.EndAt != nil {
			a, b := in.StartAt.UTC().Truncate(time.Minute), in.EndAt.UTC().Truncate(time.Minute)
			f.Check(!b.After(a), "end_at", "must be after start_at")
			e.StartAt, e.EndAt = &a, &b
		}
	default:
		f.Add("kind", "must be holiday, vacation or out_of_office")
	}
	if err := f.Err("invalid time off"); err != nil {
		return Exception{}, err
	}
	return e, s.store.AddException(ctx, e)
}

// DeleteException removes time off.
func (s *CatalogueService) DeleteException(ctx context.Context, p Principal, kind OwnerKind, ownerID, id string) error {
	if _, err := s.owner(ctx, p, kind, ownerID, true); err != nil {
		return err
	}
	return s.store.DeleteException(ctx, p.OrgID, ownerID, id)
}

// loadSchedule reads and compiles an owner's schedule; ok is false when the
// owner has none (a room without its own hours follows the specialist's).
func loadSchedule(ctx context.Context, r CatalogueReader, orgID, ownerID string) (schedule.Schedule, bool, error) {
	sc, err := r.GetSchedule(ctx, orgID, ownerID)
	if ErrorCode(err) == CodeNotFound {
		return schedule.Schedule{}, false, nil
	}
	if err != nil {
		return schedule.Schedule{}, false, err
	}
	ex, err := r.ListExceptions(ctx, orgID, ownerID)
	if err != nil {
		return schedule.Schedule{}, false, err
	}
	c, err := sc.compile(ex)
	return c, err == nil, err
}
