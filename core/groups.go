package core

import (
	"context"
	"strings"
	"unicode/utf8"
)

// GroupStore changes client groups and their members. Group names are
// unique in an organization regardless of case (GroupNameKey).
type GroupStore interface {
	// RenameClientGroup reports a name taken by another group as a conflict.
	RenameClientGroup(ctx context.Context, orgID, id, name string) error
	// DeleteClientGroup removes a group and its memberships.
	DeleteClientGroup(ctx context.Context, orgID, id string) error
	// AddGroupMember puts a client in a group; adding a member twice is
	// no change.
	AddGroupMember(ctx context.Context, orgID, groupID, clientID string) error
	// RemoveGroupMember takes a client out of a group; removing a
	// non-member is no change.
	RemoveGroupMember(ctx context.Context, orgID, groupID, clientID string) error
}

// GroupNameKey is what makes two group names the same: their trimmed,
// lower-cased text ("Swimmers" and "swimmers " are one name).
func GroupNameKey(name string) string { return strings.ToLower(strings.TrimSpace(name)) }

func checkGroupName(name string) error {
	var f Fields
	f.Check(name == "", "name", "is required")
	f.Check(utf8.RuneCountInString(name) > maxNameLen, "name", "is longer than 100 characters")
	return f.Err("invalid client group")
}

// manageGroups: a group is the whole organization's, its members in every
// centre, so renaming or deleting one is the director's (staff of a centre
// add and remove the clients they see).
func manageGroups(p Principal) error {
	return p.Require(RoleDirector)
}

// RenameClientGroup renames a group; the name must stay unique
// regardless of case.
func (s *ClientService) RenameClientGroup(ctx context.Context, p Principal, id string, in ClientGroupInput) (ClientGroup, error) {
	if err := manageGroups(p); err != nil {
		return ClientGroup{}, err
	}
	g, err := s.store.GetClientGroup(ctx, p.OrgID, id)
	if err != nil {
		return ClientGroup{}, err
	}
	g.Name = strings.TrimSpace(in.Name)
	if err := checkGroupName(g.Name); err != nil {
		return ClientGroup{}, err
	}
	return g, s.groups.RenameClientGroup(ctx, p.OrgID, id, g.Name)
}

// DeleteClientGroup deletes a group; its clients stay, outside it.
func (s *ClientService) DeleteClientGroup(ctx context.Context, p Principal, id string) error {
	if err := manageGroups(p); err != nil {
		return err
	}
	return s.groups.DeleteClientGroup(ctx, p.OrgID, id)
}

// SetGroupMember adds a client the caller may see to a group (in true) or
// takes them out of it.
func (s *ClientService) SetGroupMember(ctx context.Context, p Principal, groupID, clientID string, in bool) error {
	if _, err := s.getVisibleClient(ctx, p, clientID); err != nil {
		return err
	}
	if _, err := s.store.GetClientGroup(ctx, p.OrgID, groupID); err != nil {
		return err
	}
	if in {
		return s.groups.AddGroupMember(ctx, p.OrgID, groupID, clientID)
	}
	return s.groups.RemoveGroupMember(ctx, p.OrgID, groupID, clientID)
}

// checkGroupFilter refuses a group filter naming no group of the
// caller's organization: an empty list would hide the mistake.
func (s *ClientService) checkGroupFilter(ctx context.Context, p Principal, groupID string) error {
	if groupID == "" || !ValidID(groupID) {
		return nil // a malformed id is refused by the filter's own check
	}
	_, err := s.store.GetClientGroup(ctx, p.OrgID, groupID)
	if ErrorCode(err) == CodeNotFound {
		return Invalid("invalid client filter", FieldError{Field: "group_id", Message: "no such client group"})
	}
	return err
}
