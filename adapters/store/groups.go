package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/bookinggw/gateway/core"
)

// groupNameTaken is the conflict of a group name used already.
func groupNameTaken() error {
	return &core.Error{Code: core.CodeConflict, Message: "a client group with this name already exists",
		Fields: []core.FieldError{{Field: "name", Message: "is already used by another group (names are compared regardless of case)"}}}
}

// RenameClientGroup renames a group; a name another group has, regardless
// of case, is a conflict.
func (s *Store) RenameClientGroup(ctx context.Context, orgID, id, name string) error {
	res, err := s.w.ExecContext(ctx, `UPDATE client_groups SET name = $1, name_key = $2 WHERE org_id = $3 AND id = $4`,
		name, core.GroupNameKey(name), orgID, id)
	if isUnique(err) {
		return groupNameTaken()
	}
	return checkAffected(res, err, "client group")
}

// DeleteClientGroup removes a group and its memberships in one transaction.
func (s *Store) DeleteClientGroup(ctx context.Context, orgID, id string) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if _, err := tx.ExecContext(ctx, `DELETE FROM client_group_members WHERE group_id IN
			(SELECT id FROM client_groups WHERE org_id = $1 AND id = $2)`, orgID, id); err != nil {
			return fmt.Errorf("store: delete client group: %w", err)
		}
		res, err := tx.ExecContext(ctx, `DELETE FROM client_groups WHERE org_id = $1 AND id = $2`, orgID, id)
		return checkAffected(res, err, "client group")
	})
}

// AddGroupMember puts a client of the organization in one of its groups.
func (s *Store) AddGroupMember(ctx context.Context, orgID, groupID, clientID string) error {
	res, err := s.w.ExecContext(ctx, `INSERT INTO client_group_members (client_id, group_id)
		SELECT c.id, g.id FROM clients c, client_groups g WHERE c.org_id = $1 AND c.id = $2 AND g.org_id = $1 AND g.id = $3
		ON CONFLICT DO NOTHING`, orgID, clientID, groupID)
	if err != nil {
		return fmt.Errorf("store: add group member: %w", err)
	}
	if n, _ := res.RowsAffected(); n == 1 {
		return nil
	}
	// Nothing inserted: a member already, or no such client or group.
	var n int
	if err := s.w.QueryRowContext(ctx, `SELECT COUNT(*) FROM client_group_members m JOIN client_groups g ON g.id = m.group_id
		WHERE g.org_id = $1 AND m.group_id = $2 AND m.client_id = $3`, orgID, groupID, clientID).Scan(&n); err != nil {
		return fmt.Errorf("store: add group member: %w", err)
	}
	if n == 0 {
		return core.NotFound("client or client group")
	}
	return nil
}

// RemoveGroupMember takes a client out of a group of the organization.
func (s *Store) RemoveGroupMember(ctx context.Context, orgID, groupID, clientID string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM client_group_members WHERE client_id = $1 AND group_id IN
		(SELECT id FROM client_groups WHERE org_id = $2 AND id = $3)`, clientID, orgID, groupID)
	if err != nil {
		return fmt.Errorf("store: remove group member: %w", err)
	}
	return nil
}
