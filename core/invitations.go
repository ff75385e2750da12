package core

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"strings"
	"time"
	"unicode/utf8"
)

// Invitation targets.
const (
	TargetOrganization = "organization"
	TargetSpecialist   = "specialist"
)

// Invitation is a link ("Instagram", "Business card") through which clients
// join an organization or a specialist: <public URL>/join/<code>, also shown
// as a QR code. ClientsJoined counts the clients created through it, for
// marketing analytics.
type Invitation struct {
	ID            string     `json:"id"`
	OrgID         string     `json:"-"`
	Name          string     `json:"name"`
	Code          string     `json:"code" doc:"random, URL-safe and unique; the last part of the link"`
	Target        string     `json:"target" doc:"organization or specialist (clients join), or team (a specialist joins the staff)"`
	TargetStaffID string     `json:"target_staff_id,omitempty"`
	ValidFrom     *time.Time `json:"valid_from,omitempty"`
	ValidUntil    *time.Time `json:"valid_until,omitempty"`
	SingleUse     bool       `json:"single_use"`
	MaxUses       *int       `json:"max_uses,omitempty" doc:"absent: unlimited"`
	Uses          int        `json:"uses"`
	ClientsJoined int        `json:"clients_joined"`
	Active        bool       `json:"active"`
	CreatedAt     time.Time  `json:"created_at"`
}

// CheckUsable tells whether a client may join through the link at now.
func (inv Invitation) CheckUsable(now time.Time) error {
	switch {
	case !inv.Active:
		return Conflict("invitation is no longer active")
	case inv.ValidFrom != nil && now.Before(*inv.ValidFrom):
		return Conflict("invitation is not valid yet")
	case inv.ValidUntil != nil && !now.Before(*inv.ValidUntil):
		return Conflict("invitation expired")
	case inv.MaxUses != nil && inv.Uses >= *inv.MaxUses:
		if *inv.MaxUses == 1 {
			return Conflict("invitation already used")
		}
		return Conflict("invitation has no uses left")
	}
	return nil
}

// NewInvitationCode returns 96 random bits, URL-safe (16 characters of
// [A-Za-z0-9_-], also valid in a Telegram start parameter).
func NewInvitationCode() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// InvitationInput creates or replaces an invitation's editable fields.
type InvitationInput struct {
	Name          string `json:"name"`
	TargetStaffID string `json:"target_staff_id" doc:"the staff member (specialist) the link leads to; empty: the organization"`
	ValidFrom     string `json:"valid_from" doc:"RFC 3339 instant; empty: no start"`
	ValidUntil    string `json:"valid_until" doc:"RFC 3339 instant, after valid_from; empty: no end"`
	SingleUse     bool   `json:"single_use" doc:"the link admits one client (max_uses 1)"`
	MaxUses       *int   `json:"max_uses" doc:"how many clients may join; absent: unlimited"`
	Active        *bool  `json:"active" doc:"default true on create; absent on update: unchanged"`
	Team          bool   `json:"team" doc:"the link invites a specialist to join the organization's staff instead of a client (directors and administrators; no target_staff_id)"`
}

const maxInvitationUses = 1_000_000

// validate checks the fields that need no store and returns the parsed
// validity window.
func (in *InvitationInput) validate() (from, until *time.Time, f Fields) {
	in.Name = strings.TrimSpace(in.Name)
	f.Check(in.Name == "", "name", "is required")
	f.Check(utf8.RuneCountInString(in.Name) > maxNameLen, "name", "is longer than 100 characters")
	f.Check(in.TargetStaffID != "" && !ValidID(in.TargetStaffID), "target_staff_id", "is not a staff id")
	f.Check(in.Team && in.TargetStaffID != "", "team", "a team link invites a new staff member and names no target_staff_id")
	parse := func(field, v string) *time.Time {
		if strings.TrimSpace(v) == "" {
			return nil
		}
		t, err := time.Parse(time.RFC3339, v)
		if err != nil {
			f.Add(field, "must be an RFC 3339 instant such as 2025-03-01T09:00:00Z")
			return nil
		}
		t = t.UTC().Truncate(time.Millisecond)
		return &t
	}
	from, until = parse("valid_from", in.ValidFrom), parse("valid_until", in.ValidUntil)
	f.Check(from != nil && until != nil && !until.After(*from), "valid_until", "must be after valid_from")
	if in.SingleUse {
		f.Check(in.MaxUses != nil && *in.MaxUses != 1, "max_uses", "must be 1 or absent for a single-use link")
		one := 1
		in.MaxUses = &one
	}
	if in.MaxUses != nil {
		f.Check(*in.MaxUses < 1 || *in.MaxUses > maxInvitationUses, "max_uses", "must be from 1 to 1000000")
	}
	return from, until, f
}

// checkTarget reports a target that is not an active staff member of the
// organization as a field error.
func (s *InvitationService) checkTarget(ctx context.Context, p Principal, staffID string, f *Fields) error {
	if staffID == "" || !ValidID(staffID) {
		return nil
	}
	st, err := visibleStaff(ctx, s.policy, s.store, p, staffID)
	if ErrorCode(err) == CodeNotFound {
		f.Add("target_staff_id", "staff member does not exist")
		return nil
	}
	if err != nil {
		return err
	}
	f.Check(!st.Active, "target_staff_id", "staff member is deactivated")
	return nil
}

// Invitations are managed by directors, administrators and marketers; a
// specialist manages only links to themselves. Every staff role may read
// them.
func canManageInvitation(p Principal, targetStaffID string, team bool) error {
	if team {
		return p.Require(RoleDirector, RoleAdministrator)
	}
	if p.Role == RoleSpecialist && targetStaffID != p.StaffID {
		return Forbidden("a specialist manages only invitation links to themselves")
	}
	return p.Require(RoleDirector, RoleAdministrator, RoleMarketer, RoleSpecialist)
}

func targetOf(staffID string, team bool) string {
	switch {
	case team:
		return TargetTeam
	case staffID == "":
		return TargetOrganization
	}
	return TargetSpecialist
}

// CreateInvitation makes a link with a fresh code.
func (s *InvitationService) CreateInvitation(ctx context.Context, p Principal, in InvitationInput) (Invitation, error) {
	if err := canManageInvitation(p, in.TargetStaffID, in.Team); err != nil {
		return Invitation{}, err
	}
	now := s.Now()
	from, until, f := in.validate()
	f.Check(until != nil && !until.After(now), "valid_until", "is in the past")
	if err := s.checkTarget(ctx, p, in.TargetStaffID, &f); err != nil {
		return Invitation{}, err
	}
	if err := f.Err("invalid invitation"); err != nil {
		return Invitation{}, err
	}
	inv := Invitation{ID: NewID(), OrgID: p.OrgID, Name: in.Name, Code: NewInvitationCode(),
		Target: targetOf(in.TargetStaffID, in.Team), TargetStaffID: in.TargetStaffID, ValidFrom: from, ValidUntil: until,
		SingleUse: in.MaxUses != nil && *in.MaxUses == 1, MaxUses: in.MaxUses, Active: in.Active == nil || *in.Active,
		CreatedAt: now}
	return inv, s.store.CreateInvitation(ctx, inv)
}

// GetInvitation returns a link the caller may see, with its counters.
func (s *InvitationService) GetInvitation(ctx context.Context, p Principal, id string) (Invitation, error) {
	inv, err := s.store.GetInvitation(ctx, p.OrgID, id)
	if err != nil {
		return Invitation{}, err
	}
	return inv, s.visible(ctx, p, inv, nil)
}

// visible asks the policy about a link, reading its specialist (once per
// specialist when seen is a cache).
func (s *InvitationService) visible(ctx context.Context, p Principal, inv Invitation, seen map[string]Staff) error {
	if inv.TargetStaffID == "" {
		return s.policy.Invitation(p, nil)
	}
	st, ok := seen[inv.TargetStaffID]
	if !ok {
		var err error
		if st, err = s.store.GetStaff(ctx, p.OrgID, inv.TargetStaffID); err != nil {
			return err
		}
		if seen != nil {
			seen[st.ID] = st
		}
	}
	return s.policy.Invitation(p, &st)
}

// ListInvitations lists the links the caller may see, with their counters.
func (s *InvitationService) ListInvitations(ctx context.Context, p Principal, pg Page) ([]Invitation, error) {
	seen := map[string]Staff{}
	return visiblePage(pg, func(inv Invitation) string { return inv.ID },
		func(pg Page) ([]Invitation, error) { return s.store.ListInvitations(ctx, p.OrgID, pg) },
		func(inv Invitation) (bool, error) {
			err := s.visible(ctx, p, inv, seen)
			if ErrorCode(err) == CodeNotFound {
				return false, nil
			}
			return err == nil, err
		})
}

// UpdateInvitation replaces a link's editable fields; its code and counters
// stay. Lowering max_uses below the uses so far simply closes the link.
func (s *InvitationService) UpdateInvitation(ctx context.Context, p Principal, id string, in InvitationInput) (Invitation, error) {
	inv, err := s.GetInvitation(ctx, p, id)
	if err != nil {
		return Invitation{}, err
	}
	if err := canManageInvitation(p, inv.TargetStaffID, inv.Target == TargetTeam); err != nil {
		return Invitation{}, err
	}
	if err := canManageInvitation(p, in.TargetStaffID, in.Team); err != nil {
		return Invitation{}, err
	}
	from, until, f := in.validate()
	if err := s.checkTarget(ctx, p, in.TargetStaffID, &f); err != nil {
		return Invitation{}, err
	}
	if err := f.Err("invalid invitation"); err != nil {
		return Invitation{}, err
	}
	inv.Name, inv.TargetStaffID, inv.Target = in.Name, in.TargetStaffID, targetOf(in.TargetStaffID, in.Team)
	inv.ValidFrom, inv.ValidUntil, inv.MaxUses = from, until, in.MaxUses
	inv.SingleUse = in.MaxUses != nil && *in.MaxUses == 1
	if in.Active != nil {
		inv.Active = *in.Active
	}
	if err := s.store.UpdateInvitation(ctx, inv); err != nil {
		return Invitation{}, err
	}
	return s.store.GetInvitation(ctx, p.OrgID, id)
}

// DeactivateInvitation closes a link; clients who joined stay counted.
func (s *InvitationService) DeactivateInvitation(ctx context.Context, p Principal, id string) (Invitation, error) {
	inv, err := s.GetInvitation(ctx, p, id)
	if err != nil {
		return Invitation{}, err
	}
	if err := canManageInvitation(p, inv.TargetStaffID, inv.Target == TargetTeam); err != nil {
		return Invitation{}, err
	}
	inv.Active = false
	if err := s.store.UpdateInvitation(ctx, inv); err != nil {
		return Invitation{}, err
	}
	return inv, nil
}

// JoinInvitation creates a client through an invitation link: the link must
// exist in the organization, be active, be within its validity window and
// have uses left. The use is counted and the client inserted in one store
// transaction, so a single-use link admits exactly one client even when
// joins race; the losers get a conflict "invitation already used". The
// client's source is the invitation (its name, unless the input names one).
// A phone already on a card links that card instead (see decideJoin).
// The Telegram bot calls this with the code of the link the client opened.
func (s *InvitationService) JoinInvitation(ctx context.Context, orgID, code string, in ClientInput) (Client, error) {
	code = strings.TrimSpace(code)
	if code == "" || len(code) > 64 {
		return Client{}, NotFound("invitation")
	}
	o, err := s.store.GetOrganization(ctx, orgID)
	if err != nil {
		return Client{}, err
	}
	f := in.validate(o.Locale, o.Timezone)
	if err := s.clients.checkClientRefs(ctx, orgID, nil, &f, &in); err != nil {
		return Client{}, err
	}
	if err := f.Err("invalid client"); err != nil {
		return Client{}, err
	}
	now := s.Now()
	existing := false
	c, err := s.store.JoinInvitation(ctx, orgID, code, in.Phone, func(inv Invitation, samePhone []Client) (Joining, error) {
		j, err := decideJoin(inv, now, orgID, in, samePhone)
		existing = j.Existing
		return j, err
	})
	if err == nil && existing {
		c, err = s.store.GetClient(ctx, orgID, c.ID) // with its groups and centres
	}
	if err != nil {
		return Client{}, err
	}
	return s.clients.withActivity(ctx, o, c)
}

// JoinInvitationByID is JoinInvitation for staff acting through the API on
// a link they name by id. Staff other than directors may put the client
// only in their own centers, as when creating a client.
func (s *InvitationService) JoinInvitationByID(ctx context.Context, p Principal, id string, in ClientInput) (Client, error) {
	inv, err := s.GetInvitation(ctx, p, id)
	if err != nil {
		return Client{}, err
	}
	var f Fields
	checkCenterAccess(p, &f, in.CenterIDs)
	if err := f.Err("invalid client"); err != nil {
		return Client{}, err
	}
	return s.clients.shownClient(ctx, p)(s.JoinInvitation(ctx, p.OrgID, inv.Code, in))
}
