package core

import "time"

// Policy is the one access rule every staff use case asks: organization,
// role, centre access and a specialist's own resources. Every service
// reads a resource scoped by the caller's organization first (another
// organization's id is simply not found), then asks the policy whether the
// caller may see it, and again before changing it.
//
// What a caller cannot see answers NotFound, exactly like an id that does
// not exist, so a key never learns that another centre's resource exists.
// What a caller can see but not change answers Forbidden.
//
// The rules:
//   - Directors see and change everything of their organization.
//   - Administrators and marketers see what belongs to their centres and
//     what belongs to no centre (the organization's catalogue, clients with
//     no centre). Marketers change nothing of the booking domain.
//   - Specialists see their centres' clients and colleagues, the catalogue,
//     and only their own appointments, waiting-list entries and invitations;
//     they change their own schedule, services and appointments.
type Policy struct{}

// Center reports whether p may see a centre's data.
func (Policy) Center(p Principal, centerID string) error {
	if p.CanCenter(centerID) {
		return nil
	}
	return NotFound("center")
}

// anyCenter reports whether p may see something that belongs to centres
// (none: it belongs to the whole organization).
func anyCenter(p Principal, centerIDs []string) bool {
	if p.AllCenters() || len(centerIDs) == 0 {
		return true
	}
	for _, id := range centerIDs {
		if p.CanCenter(id) {
			return true
		}
	}
	return false
}

// Client reports whether p may see a client.
func (Policy) Client(p Principal, c Client) error {
	if anyCenter(p, c.CenterIDs) {
		return nil
	}
	return NotFound("client")
}

// Staff reports whether p may see a staff member: themselves, and staff of
// their centres or of no centre.
func (Policy) Staff(p Principal, st Staff) error {
	if st.ID == p.StaffID || anyCenter(p, st.CenterIDs) {
		return nil
	}
	return NotFound("staff member")
}

// ChangeStaffData reports whether p may change what belongs to a staff
// member they can see (schedule, time off, services): directors and
// administrators, or the staff member themselves.
func (Policy) ChangeStaffData(p Principal, staffID string) error {
	if p.Role == RoleDirector || p.Role == RoleAdministrator || p.StaffID == staffID {
		return nil
	}
	return Forbidden("only directors, administrators and the specialist themselves change this")
}

// Appointment reports whether p may see an appointment. Specialists see
// only their own; others see their centres' and those with no centre.
func (Policy) Appointment(p Principal, a Appointment) error {
	switch {
	case p.Role == RoleSpecialist && a.SpecialistID == p.StaffID:
		return nil
	case p.Role == RoleSpecialist:
	case a.CenterID == "" || p.CanCenter(a.CenterID):
		return nil
	}
	return NotFound("appointment")
}

// ChangeAppointment reports whether p may change an appointment they see:
// directors any, administrators their centres' (and those with no centre),
// specialists their own, marketers none.
func (Policy) ChangeAppointment(p Principal, a Appointment) error {
	switch p.Role {
	case RoleDirector:
		return nil
	case RoleAdministrator:
		if a.CenterID == "" || p.CanCenter(a.CenterID) {
			return nil
		}
	case RoleSpecialist:
		if a.SpecialistID == p.StaffID {
			return nil
		}
	}
	return Forbidden("this appointment is not yours to change")
}

// Room reports whether p may see a room (rooms belong to a centre).
func (Policy) Room(p Principal, r Room) error {
	if p.CanCenter(r.CenterID) {
		return nil
	}
	return NotFound("room")
}

// Service reports whether p may see a service: the catalogue is the whole
// organization's; a specialist's own service is seen by whoever sees the
// specialist (owner is the owner's staff record, nil for the catalogue).
func (pol Policy) Service(p Principal, owner *Staff) error {
	if owner == nil {
		return nil
	}
	if pol.Staff(p, *owner) != nil {
		return NotFound("service")
	}
	return nil
}

// ChangeService reports whether p may change a service they see:
// directors and administrators, or the specialist who owns it.
func (Policy) ChangeService(p Principal, sv Offering) error {
	if p.Role == RoleDirector || p.Role == RoleAdministrator {
		return nil
	}
	if sv.OwnerID != "" && sv.OwnerID == p.StaffID {
		return nil
	}
	return Forbidden("only directors, administrators and the owner change a service")
}

// Message reports whether p may see an outbox message: staff other than
// specialists see messages of their centres and of no centre.
func (Policy) Message(p Principal, m Message) error {
	if p.Role == RoleSpecialist {
		return Forbidden("this action needs the role director, administrator or marketer")
	}
	if m.CenterID == "" || p.CanCenter(m.CenterID) {
		return nil
	}
	return NotFound("message")
}

// VisibleCenters is the centre filter of a list: nil for every centre,
// else the caller's centres plus "" (what belongs to no centre).
func (Policy) VisibleCenters(p Principal) []string {
	if p.AllCenters() {
		return nil
	}
	return append([]string{""}, p.CenterIDs...)
}

// visiblePage reads one page of a list the policy filters in memory: it
// keeps reading the store's pages until it has pg.Limit items the caller
// may see or the list ends, so pages stay full and cursors keep working.
func visiblePage[T any](pg Page, id func(T) string, list func(Page) ([]T, error), keep func(T) (bool, error)) ([]T, error) {
	out := []T{}
	for {
		items, err := list(pg)
		if err != nil {
			return nil, err
		}
		for _, x := range items {
			ok, err := keep(x)
			if err != nil {
				return nil, err
			}
			if ok {
				out = append(out, x)
				if pg.Limit > 0 && len(out) == pg.Limit {
					return out, nil
				}
			}
		}
		if pg.Limit <= 0 || len(items) < pg.Limit {
			return out, nil
		}
		pg.After = id(items[len(items)-1])
	}
}

// Invitation reports whether p may see an invitation link: the
// organization's links are everyone's; a link to a specialist is seen by
// whoever sees that specialist, except other specialists (target is the
// link's specialist, nil for the organization's links).
func (pol Policy) Invitation(p Principal, target *Staff) error {
	if target == nil {
		return nil
	}
	if pol.Staff(p, *target) != nil || p.Role == RoleSpecialist && target.ID != p.StaffID {
		return NotFound("invitation")
	}
	return nil
}

// Conversation reports whether p may see a messenger conversation: chats
// are for directors and administrators (specialists: Forbidden), of the
// caller's centres; a conversation with no activity since the history the
// caller may see (ChatHistorySince) is hidden like another centre's.
func (Policy) Conversation(p Principal, c Conversation, since time.Time) error {
	if err := canChat(p); err != nil {
		return err
	}
	if c.CenterID != "" && !p.CanCenter(c.CenterID) || c.LastActivityAt.Before(since) {
		return NotFound("conversation")
	}
	return nil
}

// ChatHistorySince is the earliest chat history p may see. With the
// organization's setting HideEarlierHistory (seed 004: "chats are
// available from the moment the staff account is created"), a staff member
// sees messages from their account's creation on, unless a director
// granted them the earlier history; directors always see everything.
func (Policy) ChatHistorySince(p Principal, set ChatSettings, st Staff, granted bool) time.Time {
	if !set.HideEarlierHistory || granted || p.Role == RoleDirector {
		return time.Time{}
	}
	return st.CreatedAt
}

// ChatAssignee reports whether a conversation may be assigned to a staff
// member: an active director or administrator who sees its centre.
func (Policy) ChatAssignee(st Staff, c Conversation) error {
	p := Principal{OrgID: st.OrgID, StaffID: st.ID, Role: st.Role, CenterIDs: st.CenterIDs}
	if !st.Active || canChat(p) != nil || c.CenterID != "" && !p.CanCenter(c.CenterID) {
		return Forbidden("the staff member cannot see this conversation")
	}
	return nil
}
