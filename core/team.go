package core

import (
	"context"
	"strings"
	"unicode/utf8"
)

// TargetTeam is an invitation of the organization to a specialist: who
// opens it joins the organization's staff (issue 17), instead of
// registering as a client.
const TargetTeam = "team"

// TeamJoin is who joins a team through a team invitation.
type TeamJoin struct {
	Name  string
	Email string
	// TelegramChatID links the new staff member's Telegram (the bot):
	// staff messages and request buttons reach them there.
	TelegramChatID string
	Timezone       string
}

// JoinTeam makes a specialist of the organization through its team
// invitation: the link must be a team link, active, within its window and
// with uses left; the use is counted and the staff member created in one
// store transaction. A Telegram chat already on the organization's staff
// joins again without counting a use.
func (s *InvitationService) JoinTeam(ctx context.Context, orgID, code string, in TeamJoin) (Staff, error) {
	o, err := s.store.GetOrganization(ctx, orgID)
	if err != nil {
		return Staff{}, err
	}
	var f Fields
	in.Name, in.Email = strings.TrimSpace(in.Name), strings.TrimSpace(in.Email)
	f.Check(in.Name == "", "name", "is required")
	f.Check(utf8.RuneCountInString(in.Name) > maxNameLen, "name", "is longer than 100 characters")
	if in.Email != "" {
		checkEmail(&f, "email", in.Email)
	}
	if in.Timezone == "" {
		in.Timezone = o.Timezone
	}
	checkTimezone(&f, "timezone", in.Timezone)
	if err := f.Err("invalid staff member"); err != nil {
		return Staff{}, err
	}
	now := s.Now()
	st := Staff{ID: NewID(), OrgID: orgID, Name: in.Name, Email: in.Email, Role: RoleSpecialist, Timezone: in.Timezone,
		CenterIDs: []string{}, Active: true, TelegramChatID: in.TelegramChatID, CreatedAt: now}
	st, _, err = s.store.JoinTeam(ctx, orgID, code, st, func(inv Invitation) error {
		if inv.Target != TargetTeam {
			return NotFound("invitation")
		}
		return inv.CheckUsable(now)
	})
	return st, err
}

// JoinTeam is InvitationService.JoinTeam through an invitation's landing
// (the /join page).
func (s *SelfServeService) JoinTeam(ctx context.Context, l Landing, in TeamJoin) (Staff, error) {
	return s.invites.JoinTeam(ctx, l.Org.ID, l.Invitation.Code, in)
}
