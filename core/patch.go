package core

import (
	"context"
	"slices"
)

// Partial updates (PATCH, merge semantics): each Patch… method reads the
// record the caller may change, hands its current fields to apply as the
// record's input type, and writes the result through the same validation
// as the full replace (PUT), which sets every field from the request. So
// a patch names only what changes; absent fields keep their values.

// PatchClient changes the client fields apply sets. A whole name given
// alone replaces both name parts. Staff other than directors see, and
// may change, only their own centers among the client's; the others stay.
func (s *ClientService) PatchClient(ctx context.Context, p Principal, id string, apply func(*ClientInput) error) (Client, error) {
	c, err := s.getVisibleClient(ctx, p, id)
	if err != nil {
		return Client{}, err
	}
	centers := []string{}
	for _, cid := range c.CenterIDs {
		if p.CanCenter(cid) {
			centers = append(centers, cid)
		}
	}
	in := ClientInput{FirstName: c.FirstName, LastName: c.LastName, Phone: c.Phone, Email: c.Email, TelegramID: c.TelegramID,
		Language: c.Language, Timezone: c.Timezone, Notes: c.Notes, GroupIDs: slices.Clone(c.GroupIDs), CenterIDs: centers, Source: c.Source}
	if err := apply(&in); err != nil {
		return Client{}, err
	}
	if in.Name != "" && in.FirstName == c.FirstName && in.LastName == c.LastName {
		in.FirstName, in.LastName = "", ""
	}
	return s.UpdateClient(ctx, p, id, in)
}

// PatchStaff changes the staff fields apply sets; directors only.
func (s *TenancyService) PatchStaff(ctx context.Context, p Principal, id string, apply func(*StaffInput) error) (Staff, error) {
	if err := p.Require(RoleDirector); err != nil {
		return Staff{}, err
	}
	st, err := s.store.GetStaff(ctx, p.OrgID, id)
	if err != nil {
		return Staff{}, err
	}
	active := st.Active
	in := StaffInput{Name: st.Name, Email: st.Email, Phone: st.Phone, Role: st.Role, Timezone: st.Timezone,
		CenterIDs: slices.Clone(st.CenterIDs), Active: &active, SlackUserID: st.SlackUserID, TelegramChatID: st.TelegramChatID}
	if err := apply(&in); err != nil {
		return Staff{}, err
	}
	return s.UpdateStaff(ctx, p, id, in)
}

// PatchCenter changes the center fields apply sets; directors only.
func (s *TenancyService) PatchCenter(ctx context.Context, p Principal, id string, apply func(*CenterInput) error) (Center, error) {
	if err := p.Require(RoleDirector); err != nil {
		return Center{}, err
	}
	c, err := s.store.GetCenter(ctx, p.OrgID, id)
	if err != nil {
		return Center{}, err
	}
	in := CenterInput{Name: c.Name, Address: c.Address, Phone: c.Phone, Timezone: c.Timezone, SMSFrom: c.SMSFrom, SlackChannel: c.SlackChannel}
	if err := apply(&in); err != nil {
		return Center{}, err
	}
	return s.UpdateCenter(ctx, p, id, in)
}

// PatchService changes the service fields apply sets (price_minor null
// hides the price, as on create).
func (s *CatalogueService) PatchService(ctx context.Context, p Principal, id string, apply func(*ServiceInput) error) (Offering, error) {
	sv, err := s.GetService(ctx, p, id)
	if err != nil {
		return Offering{}, err
	}
	if err := s.policy.ChangeService(p, sv); err != nil {
		return Offering{}, err
	}
	active := sv.Active
	var price *int64
	if sv.PriceMinor != nil {
		v := *sv.PriceMinor
		price = &v
	}
	in := ServiceInput{OwnerID: sv.OwnerID, Name: sv.Name, Description: sv.Description, DurationMin: sv.DurationMin,
		IntervalMin: sv.IntervalMin, Capacity: sv.Capacity, PriceMinor: price, Currency: sv.Currency, IsPackage: sv.IsPackage,
		PaymentLink: sv.PaymentLink, Active: &active}
	if err := apply(&in); err != nil {
		return Offering{}, err
	}
	return s.UpdateService(ctx, p, id, in)
}
