package core

import (
	"context"
	"strings"
	"time"
)

// FamilyMemberInput creates a client from a card: the client's fields,
// and what the new client is to the card.
type FamilyMemberInput struct {
	ClientInput
	Relation string `json:"relation" doc:"what the new client is to this client: parent, child, guardian, ward, sibling, spouse or relative"`
}

// CreateFamilyMember creates a client from a card and links the two in
// one transaction. Unless the input names its own, the new client takes
// the card's phone (a child reached on a parent's number, seed 004),
// language, timezone and the card's centres the caller has access to.
func (s *ClientService) CreateFamilyMember(ctx context.Context, p Principal, id string, in FamilyMemberInput) (FamilyLink, error) {
	card, err := s.getVisibleClient(ctx, p, id)
	if err != nil {
		return FamilyLink{}, err
	}
	o, err := s.store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return FamilyLink{}, err
	}
	ci := in.ClientInput
	if strings.TrimSpace(ci.Phone) == "" {
		ci.Phone, ci.PhoneRegion = card.Phone, ""
	}
	if ci.CenterIDs == nil {
		ci.CenterIDs = []string{}
		for _, cid := range card.CenterIDs {
			if p.CanCenter(cid) {
				ci.CenterIDs = append(ci.CenterIDs, cid)
			}
		}
	}
	f := ci.validate(card.Language, card.Timezone)
	inverse, ok := familyInverse[in.Relation]
	f.Check(!ok, "relation", "must be one of "+strings.Join(FamilyRelations, ", "))
	checkCenterAccess(p, &f, ci.CenterIDs)
	if err := s.checkClientRefs(ctx, p.OrgID, &p, &f, &ci); err != nil {
		return FamilyLink{}, err
	}
	if err := f.Err("invalid family member"); err != nil {
		return FamilyLink{}, err
	}
	now := s.Now()
	c := newClient(p.OrgID, ci, now)
	if err := s.store.CreateFamilyMember(ctx, c, card.ID, in.Relation, inverse, now); err != nil {
		return FamilyLink{}, err
	}
	if c, err = s.shownClient(ctx, p)(s.withActivity(ctx, o, c)); err != nil {
		return FamilyLink{}, err
	}
	return FamilyLink{Relation: in.Relation, Client: c, CreatedAt: now}, nil
}

// Joining is what a join through an invitation link does: create Client,
// or (Existing) link the client Client already is; CountUse says whether
// it counts a use of the link.
type Joining struct {
	Client   Client
	Existing bool
	CountUse bool
}

// decideJoin applies the joining rule. A phone already on a card links
// that card instead of making a duplicate:
//   - a card that joined through this very link joins again without
//     counting a use (joining twice is one use), even when the link has
//     no uses left;
//   - otherwise the oldest card with the phone is linked: the join counts
//     a use, and the card takes the link as its source if it had none;
//   - with no such card, a new client is created and a use counted.
//
// The link must be active and within its validity window in every case.
func decideJoin(inv Invitation, now time.Time, orgID string, in ClientInput, samePhone []Client) (Joining, error) {
	if inv.Target == TargetTeam {
		return Joining{}, Conflict("invitation is no longer active: it invites staff, not clients")
	}
	open := inv
	open.MaxUses = nil
	if err := open.CheckUsable(now); err != nil {
		return Joining{}, err
	}
	for _, c := range samePhone {
		if c.SourceInvitationID == inv.ID {
			return Joining{Client: c, Existing: true}, nil
		}
	}
	if err := inv.CheckUsable(now); err != nil {
		return Joining{}, err
	}
	if len(samePhone) > 0 {
		c := samePhone[0]
		if c.SourceInvitationID == "" {
			c.SourceInvitationID = inv.ID
			if c.Source == "" {
				c.Source = inv.Name
			}
		}
		return Joining{Client: c, Existing: true, CountUse: true}, nil
	}
	c := newClient(orgID, in, now)
	c.SourceInvitationID = inv.ID
	if c.Source == "" {
		c.Source = inv.Name
	}
	return Joining{Client: c, CountUse: true}, nil
}
