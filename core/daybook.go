package core

import (
	"context"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core/schedule"
)

// visitCenter decides the centre a new visit belongs to, so that it shows
// in that centre's day view and reaches its staff: the centre named (by
// the request or its room), else the specialist's only centre. A
// specialist working in several centres needs one named; one working in
// none (the whole organization's) books visits of no centre. byRoom says
// the centre is the room's.
func visitCenter(named string, byRoom bool, specialistCenters []string) (string, error) {
	switch {
	case named != "" && len(specialistCenters) > 0 && !slices.Contains(specialistCenters, named):
		if byRoom {
			return "", Invalid("invalid appointment", FieldError{Field: "room_id", Message: "the room is in a center the specialist does not work in"})
		}
		return "", Invalid("invalid appointment", FieldError{Field: "center_id", Message: "the specialist does not work in this center"})
	case named != "":
		return named, nil
	case len(specialistCenters) == 1:
		return specialistCenters[0], nil
	case len(specialistCenters) > 1:
		return "", Invalid("invalid appointment", FieldError{Field: "center_id",
			Message: "is required: the specialist works in several centers; name the one the visit is in"})
	}
	return "", nil
}

// StartCursor is a position in a list sorted by start time: the start and
// id of the last item of the previous page. Start ties are broken by id, so
// every item is listed exactly once however many share a start.
type StartCursor struct {
	Start time.Time
	ID    string
}

// String is the cursor's stored form: Unix milliseconds, "_", the id.
func (c StartCursor) String() string {
	return strconv.FormatInt(c.Start.UnixMilli(), 10) + "_" + c.ID
}

// ParseStartCursor reads a cursor made by String.
func ParseStartCursor(s string) (StartCursor, bool) {
	msText, id, ok := strings.Cut(s, "_")
	if !ok || !ValidID(id) {
		return StartCursor{}, false
	}
	ms, err := strconv.ParseInt(msText, 10, 64)
	if err != nil {
		return StartCursor{}, false
	}
	return StartCursor{Start: time.UnixMilli(ms).UTC(), ID: id}, true
}

// prepareAppointmentFilter checks a list's filters and turns a local date
// into its instants: Date is a day of the organization's zone (23 or 25
// hours long on DST days), exclusive with From and To.
func (s *BookingService) prepareAppointmentFilter(ctx context.Context, p Principal, f *AppointmentFilter) error {
	var fe Fields
	for _, id := range []struct{ field, what, id string }{{"specialist_id", "staff", f.SpecialistID},
		{"client_id", "client", f.ClientID}, {"center_id", "center", f.CenterID}, {"series_id", "series", f.SeriesID}} {
		if id.id != "" {
			requiredID(&fe, id.field, id.what, id.id)
		}
	}
	fe.Check(f.Status != "" && !f.Status.Valid(), "status", "must be pending, accepted, rejected, cancelled, completed or missed")
	if err := orgDay(ctx, s.store, p.OrgID, f.Date, time.Time{}, &f.From, &f.To, &fe); err != nil {
		return err
	}
	return fe.Err("bad filter")
}

// orgDay turns date, a day YYYY-MM-DD of the organization's zone (23 or
// 25 hours long on DST days), into [from, to); with no date and no range,
// the day of today when today is set. A date with a range, a bad date or a
// range ending before it starts are field errors.
func orgDay(ctx context.Context, dir interface {
	GetOrganization(ctx context.Context, orgID string) (Organization, error)
}, orgID, date string, today time.Time, from, to *time.Time, fe *Fields) error {
	fe.Check(!from.IsZero() && !to.IsZero() && !to.After(*from), "to", "must be after from")
	ranged := !from.IsZero() || !to.IsZero()
	if date == "" && (ranged || today.IsZero()) {
		return nil
	}
	var d schedule.Date
	if date != "" {
		var err error
		if d, err = schedule.ParseDate(date); err != nil {
			fe.Add("date", "must be a date YYYY-MM-DD")
			return nil
		}
		if ranged {
			fe.Add("date", "give date, or from and to, not both")
			return nil
		}
	}
	o, err := dir.GetOrganization(ctx, orgID)
	if err != nil {
		return err
	}
	loc, err := time.LoadLocation(o.Timezone)
	if err != nil {
		loc = time.UTC
	}
	if date == "" {
		d = schedule.DateOf(today.In(loc))
	}
	*from, *to = d.In(loc), d.AddDays(1).In(loc)
	return nil
}

// appointmentScope narrows a list of what belongs to appointments to the
// ones the caller may see: a specialist's own (naming another specialist
// is Forbidden), everyone else's their centres' and those of no centre.
func (pol Policy) appointmentScope(p Principal, specialistID *string, centerIDs *[]string) error {
	if p.Role == RoleSpecialist {
		if *specialistID != "" && *specialistID != p.StaffID {
			return Forbidden("specialists see only their own appointments")
		}
		*specialistID = p.StaffID
		return nil
	}
	*centerIDs = pol.VisibleCenters(p)
	return nil
}
