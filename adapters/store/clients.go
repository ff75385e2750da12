package store

import (
	"context"
	"database/sql"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

const clientCols = `c.id, c.org_id, c.first_name, c.last_name, c.phone, c.email, c.telegram_id, c.language, c.timezone,
	c.notes, c.source, c.source_invitation_id, c.archived_at, c.created_at`

func scanClient(row interface{ Scan(...any) error }) (core.Client, error) { return scanClientAnd(row) }

// scanClientAnd scans clientCols and then extra columns into extra.
func scanClientAnd(row interface{ Scan(...any) error }, extra ...any) (core.Client, error) {
	var c core.Client
	var tg string
	var inv sql.NullString
	var archived sql.NullInt64
	var created int64
	err := row.Scan(append([]any{&c.ID, &c.OrgID, &c.FirstName, &c.LastName, &c.Phone, &c.Email, &tg, &c.Language, &c.Timezone,
		&c.Notes, &c.Source, &inv, &archived, &created}, extra...)...)
	c.Name = core.FullName(c.FirstName, c.LastName)
	c.TelegramID = core.TelegramID(tg)
	c.SourceInvitationID = inv.String
	c.ArchivedAt = fromNullMS(archived)
	c.CreatedAt = fromMS(created)
	c.GroupIDs, c.CenterIDs = []string{}, []string{}
	return c, err
}

// searchName, searchEmail and phoneDigits are the columns the client
// search matches: core folds the query the same way (core.SearchFold).
func searchName(c core.Client) string { return core.SearchFold(core.FullName(c.FirstName, c.LastName)) }

func searchEmail(c core.Client) string { return core.SearchFold(c.Email) }

func phoneDigits(phone string) string { return strings.TrimPrefix(phone, "+") }

func nullString(s string) sql.NullString { return sql.NullString{String: s, Valid: s != ""} }

func insertClient(ctx context.Context, tx *sql.Tx, c core.Client) error {
	if _, err := tx.ExecContext(ctx, `INSERT INTO clients (id, org_id, first_name, last_name, search_name, phone, phone_digits,
		email, telegram_id, language, timezone, notes, source, source_invitation_id, archived_at, created_at, search_email)
		VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)`,
		c.ID, c.OrgID, c.FirstName, c.LastName, searchName(c), c.Phone, phoneDigits(c.Phone),
		c.Email, string(c.TelegramID), c.Language, c.Timezone, c.Notes, c.Source, nullString(c.SourceInvitationID),
		nullMS(c.ArchivedAt), ms(c.CreatedAt), searchEmail(c)); err != nil {
		return fmt.Errorf("store: create client: %w", err)
	}
	return setClientLinks(ctx, tx, c)
}

// setClientLinks replaces a client's centers and groups; each must belong
// to the client's organization.
func setClientLinks(ctx context.Context, tx *sql.Tx, c core.Client) error {
	if _, err := tx.ExecContext(ctx, `DELETE FROM client_centers WHERE client_id = $1`, c.ID); err != nil {
		return fmt.Errorf("store: client centers: %w", err)
	}
	for _, id := range c.CenterIDs {
		res, err := tx.ExecContext(ctx, `INSERT INTO client_centers (client_id, center_id)
			SELECT $1, id FROM centers WHERE id = $2 AND org_id = $3`, c.ID, id, c.OrgID)
		if err := checkAffected(res, err, "center"); err != nil {
			return err
		}
	}
	if _, err := tx.ExecContext(ctx, `DELETE FROM client_group_members WHERE client_id = $1`, c.ID); err != nil {
		return fmt.Errorf("store: client groups: %w", err)
	}
	for _, id := range c.GroupIDs {
		res, err := tx.ExecContext(ctx, `INSERT INTO client_group_members (client_id, group_id)
			SELECT $1, id FROM client_groups WHERE id = $2 AND org_id = $3`, c.ID, id, c.OrgID)
		if err := checkAffected(res, err, "client group"); err != nil {
			return err
		}
	}
	return nil
}

// CreateClient writes a new client with their centers and groups.
func (s *Store) CreateClient(ctx context.Context, c core.Client) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return insertClient(ctx, tx, c) })
}

// importChunk is how many clients one INSERT of ImportClients writes: 17
// parameters each keeps a statement far under both databases' limits.
const importChunk = 500

// ImportClients writes many new clients in one transaction, importChunk
// per multi-row statement, with their centres and groups as CreateClient
// writes them: loading a list (or a load test's audience) one
// CreateClient at a time costs a transaction per client, minutes for
// 100,000.
//
// The tables it wrote are analyzed afterwards (on PostgreSQL; SQLite
// plans without statistics), as PostgreSQL advises after a bulk load:
// without statistics, or with ones from before the load, the planner
// reads a campaign's audience one page at a time by fetching and sorting
// every client after the page's start, so a fan-out over 100,000 clients
// cost 47 ms a page instead of one.
func (s *Store) ImportClients(ctx context.Context, cs []core.Client) error {
	if err := s.importClients(ctx, cs); err != nil {
		return err
	}
	if s.dialect == Postgres {
		if _, err := s.w.ExecContext(ctx, `ANALYZE clients, client_centers, client_group_members`); err != nil {
			return fmt.Errorf("store: analyze imported clients: %w", err)
		}
	}
	return nil
}

func (s *Store) importClients(ctx context.Context, cs []core.Client) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		for i := 0; i < len(cs); i += importChunk {
			chunk := cs[i:min(i+importChunk, len(cs))]
			a := &rowArgs{sqlite: s.dialect == SQLite}
			vals := make([]string, len(chunk))
			for j, c := range chunk {
				vals[j] = "(" + strings.Join([]string{a.add(c.ID), a.add(c.OrgID), a.add(c.FirstName), a.add(c.LastName), a.add(searchName(c)),
					a.add(c.Phone), a.add(phoneDigits(c.Phone)), a.add(c.Email), a.add(string(c.TelegramID)), a.add(c.Language), a.add(c.Timezone),
					a.add(c.Notes), a.add(c.Source), a.add(nullString(c.SourceInvitationID)), a.add(nullMS(c.ArchivedAt)), a.add(ms(c.CreatedAt)),
					a.add(searchEmail(c))}, ", ") + ")"
			}
			if _, err := tx.ExecContext(ctx, `INSERT INTO clients (id, org_id, first_name, last_name, search_name, phone, phone_digits,
				email, telegram_id, language, timezone, notes, source, source_invitation_id, archived_at, created_at, search_email)
				VALUES `+strings.Join(vals, ", "), a.args...); err != nil {
				return fmt.Errorf("store: import clients: %w", err)
			}
			for _, c := range chunk {
				if len(c.CenterIDs)+len(c.GroupIDs) > 0 {
					if err := setClientLinks(ctx, tx, c); err != nil {
						return err
					}
				}
			}
		}
		return nil
	})
}

// GetClient reads one client of an organization.
func (s *Store) GetClient(ctx context.Context, orgID, id string) (core.Client, error) {
	c, err := scanClient(s.r.QueryRowContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.org_id = $1 AND c.id = $2`, orgID, id))
	if err != nil {
		return c, notFound(err, "client")
	}
	l := []core.Client{c}
	if err := s.attachClientLinks(ctx, l); err != nil {
		return c, err
	}
	return l[0], nil
}

// UpdateClient writes a client's fields, centers and groups. The source
// invitation, archive state and creation instant are not touched.
func (s *Store) UpdateClient(ctx context.Context, c core.Client) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		res, err := tx.ExecContext(ctx, `UPDATE clients SET first_name = $1, last_name = $2, search_name = $3, phone = $4,
			phone_digits = $5, email = $6, telegram_id = $7, language = $8, timezone = $9, notes = $10, source = $11, search_email = $12
			WHERE org_id = $13 AND id = $14`,
			c.FirstName, c.LastName, searchName(c), c.Phone, phoneDigits(c.Phone), c.Email, string(c.TelegramID),
			c.Language, c.Timezone, c.Notes, c.Source, searchEmail(c), c.OrgID, c.ID)
		if err := checkAffected(res, err, "client"); err != nil {
			return err
		}
		return setClientLinks(ctx, tx, c)
	})
}

// args numbers query arguments as $1, $2, …
type args []any

func (a *args) add(v any) string {
	*a = append(*a, v)
	return "$" + strconv.Itoa(len(*a))
}

// escapeLike makes s match itself in a LIKE pattern with ESCAPE '\'.
func escapeLike(s string) string {
	return strings.NewReplacer(`\`, `\\`, `%`, `\%`, `_`, `\_`).Replace(s)
}

// ListClients lists an organization's clients matching q in creation order.
// Text search compares the stored folded name and email with the folded
// query (both folded in Go, so it ignores case and accents beyond ASCII on
// SQLite and PostgreSQL alike).
func (s *Store) ListClients(ctx context.Context, orgID string, q core.ClientQuery, p core.Page) ([]core.Client, error) {
	limit, after := pageArgs(p)
	var a args
	where := []string{`c.org_id = ` + a.add(orgID), `c.id > ` + a.add(after)}
	switch q.Archived {
	case core.ArchivedOnly:
		where = append(where, `c.archived_at IS NOT NULL`)
	case core.ArchivedAll:
	default:
		where = append(where, `c.archived_at IS NULL`)
	}
	if q.NameContains != "" {
		like := a.add("%" + escapeLike(q.NameContains) + "%")
		cond := `c.search_name LIKE ` + like + ` ESCAPE '\'`
		if !q.NameOnly {
			cond = `(` + cond + ` OR c.search_email LIKE ` + like + ` ESCAPE '\')`
		}
		where = append(where, cond)
	}
	if len(q.PhoneDigits) > 0 {
		ors := make([]string, len(q.PhoneDigits))
		for i, d := range q.PhoneDigits {
			ors[i] = `c.phone_digits LIKE ` + a.add("%"+escapeLike(d)+"%") + ` ESCAPE '\'`
		}
		where = append(where, `(`+strings.Join(ors, " OR ")+`)`)
	}
	if q.GroupID != "" {
		where = append(where, `EXISTS (SELECT 1 FROM client_group_members m WHERE m.client_id = c.id AND m.group_id = `+a.add(q.GroupID)+`)`)
	}
	if q.CenterID != "" {
		where = append(where, `EXISTS (SELECT 1 FROM client_centers cc WHERE cc.client_id = c.id AND cc.center_id = `+a.add(q.CenterID)+`)`)
	}
	if !q.AllCenters {
		// Staff limited to some centers see clients of those centers and
		// clients of no center.
		vis := `NOT EXISTS (SELECT 1 FROM client_centers cc WHERE cc.client_id = c.id)`
		if len(q.VisibleCenters) > 0 {
			ph := make([]string, len(q.VisibleCenters))
			for i, id := range q.VisibleCenters {
				ph[i] = a.add(id)
			}
			vis = `(` + vis + ` OR EXISTS (SELECT 1 FROM client_centers cc WHERE cc.client_id = c.id AND cc.center_id IN (` +
				strings.Join(ph, ", ") + `)))`
		}
		where = append(where, vis)
	}
	query := `SELECT ` + clientCols + ` FROM clients c WHERE ` + strings.Join(where, " AND ") + ` ORDER BY c.id LIMIT ` + a.add(limit)
	rows, err := s.r.QueryContext(ctx, query, a...)
	if err != nil {
		return nil, fmt.Errorf("store: list clients: %w", err)
	}
	list, err := collect(rows, scanClient)
	if err != nil {
		return nil, err
	}
	return list, s.attachClientLinks(ctx, list)
}

// attachClientLinks fills the centers and groups of clients.
func (s *Store) attachClientLinks(ctx context.Context, list []core.Client) error {
	if len(list) == 0 {
		return nil
	}
	idx := make(map[string]int, len(list))
	ids := make([]string, len(list))
	for i, c := range list {
		idx[c.ID] = i
		ids[i] = c.ID
	}
	for _, part := range []struct {
		query string
		set   func(c *core.Client, id string)
	}{
		{`SELECT client_id, center_id FROM client_centers WHERE client_id IN `,
			func(c *core.Client, id string) { c.CenterIDs = append(c.CenterIDs, id) }},
		{`SELECT client_id, group_id FROM client_group_members WHERE client_id IN `,
			func(c *core.Client, id string) { c.GroupIDs = append(c.GroupIDs, id) }},
	} {
		q, qa := inList(part.query, 1, ids)
		rows, err := s.r.QueryContext(ctx, q+` ORDER BY 2`, qa...)
		if err != nil {
			return fmt.Errorf("store: client links: %w", err)
		}
		for rows.Next() {
			var cid, id string
			if err := rows.Scan(&cid, &id); err != nil {
				rows.Close()
				return fmt.Errorf("store: client links: %w", err)
			}
			part.set(&list[idx[cid]], id)
		}
		err = rows.Err()
		rows.Close()
		if err != nil {
			return fmt.Errorf("store: client links: %w", err)
		}
	}
	return nil
}

// SetClientArchived archives a client (keeping the first instant) or, with
// a nil at, unarchives them.
func (s *Store) SetClientArchived(ctx context.Context, orgID, id string, at *time.Time) error {
	var res sql.Result
	var err error
	if at != nil {
		res, err = s.w.ExecContext(ctx, `UPDATE clients SET archived_at = COALESCE(archived_at, $1) WHERE org_id = $2 AND id = $3`, ms(*at), orgID, id)
	} else {
		res, err = s.w.ExecContext(ctx, `UPDATE clients SET archived_at = NULL WHERE org_id = $1 AND id = $2`, orgID, id)
	}
	return checkAffected(res, err, "client")
}

// LinkFamily links two clients of an organization, one row per direction.
func (s *Store) LinkFamily(ctx context.Context, orgID, clientID, relatedID, relation, inverse string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error { return linkFamily(ctx, tx, orgID, clientID, relatedID, relation, inverse, at) })
}

func linkFamily(ctx context.Context, tx *sql.Tx, orgID, clientID, relatedID, relation, inverse string, at time.Time) error {
	for _, l := range [][3]string{{clientID, relatedID, relation}, {relatedID, clientID, inverse}} {
		res, err := tx.ExecContext(ctx, `INSERT INTO client_family (org_id, client_id, related_id, relation, created_at)
			SELECT a.org_id, a.id, b.id, $1, $2 FROM clients a, clients b
			WHERE a.org_id = $3 AND a.id = $4 AND b.org_id = $3 AND b.id = $5`, l[2], ms(at), orgID, l[0], l[1])
		if isUnique(err) {
			return core.Conflict("these clients are already linked")
		}
		if err := checkAffected(res, err, "client"); err != nil {
			return err
		}
	}
	return nil
}

// CreateFamilyMember inserts a client and links them to another in one
// transaction: relation is what the new client is to relatedTo.
func (s *Store) CreateFamilyMember(ctx context.Context, c core.Client, relatedTo, relation, inverse string, at time.Time) error {
	return s.tx(ctx, func(tx *sql.Tx) error {
		if err := insertClient(ctx, tx, c); err != nil {
			return err
		}
		return linkFamily(ctx, tx, c.OrgID, relatedTo, c.ID, relation, inverse, at)
	})
}

// ListFamily lists the clients linked to one, oldest link first.
func (s *Store) ListFamily(ctx context.Context, orgID, clientID string) ([]core.FamilyLink, error) {
	rows, err := s.r.QueryContext(ctx, `SELECT `+clientCols+`, f.relation, f.created_at
		FROM client_family f JOIN clients c ON c.id = f.related_id AND c.org_id = f.org_id
		WHERE f.org_id = $1 AND f.client_id = $2 ORDER BY f.created_at, f.related_id`, orgID, clientID)
	if err != nil {
		return nil, fmt.Errorf("store: list family: %w", err)
	}
	type row struct {
		c        core.Client
		relation string
		created  int64
	}
	list, err := collect(rows, func(r interface{ Scan(...any) error }) (row, error) {
		var x row
		var err error
		x.c, err = scanClientAnd(r, &x.relation, &x.created)
		return x, err
	})
	if err != nil {
		return nil, err
	}
	clients := make([]core.Client, len(list))
	for i, x := range list {
		clients[i] = x.c
	}
	if err := s.attachClientLinks(ctx, clients); err != nil {
		return nil, err
	}
	out := make([]core.FamilyLink, len(list))
	for i, x := range list {
		out[i] = core.FamilyLink{Relation: x.relation, Client: clients[i], CreatedAt: fromMS(x.created)}
	}
	return out, nil
}

// UnlinkFamily removes both directions of a link.
func (s *Store) UnlinkFamily(ctx context.Context, orgID, clientID, relatedID string) error {
	res, err := s.w.ExecContext(ctx, `DELETE FROM client_family WHERE org_id = $1
		AND ((client_id = $2 AND related_id = $3) OR (client_id = $3 AND related_id = $2))`, orgID, clientID, relatedID)
	return checkAffected(res, err, "family link")
}

// CreateClientGroup writes a new group; a name taken in the organization,
// regardless of case, is a conflict.
func (s *Store) CreateClientGroup(ctx context.Context, g core.ClientGroup) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO client_groups (id, org_id, name, created_at, name_key) VALUES ($1, $2, $3, $4, $5)`,
		g.ID, g.OrgID, g.Name, ms(g.CreatedAt), core.GroupNameKey(g.Name))
	if isUnique(err) {
		return groupNameTaken()
	}
	if err != nil {
		return fmt.Errorf("store: create client group: %w", err)
	}
	return nil
}

const groupCols = `id, org_id, name, created_at`

func scanGroup(row interface{ Scan(...any) error }) (core.ClientGroup, error) {
	var g core.ClientGroup
	var created int64
	err := row.Scan(&g.ID, &g.OrgID, &g.Name, &created)
	g.CreatedAt = fromMS(created)
	return g, err
}

// GetClientGroup reads one group of an organization.
func (s *Store) GetClientGroup(ctx context.Context, orgID, id string) (core.ClientGroup, error) {
	g, err := scanGroup(s.r.QueryRowContext(ctx, `SELECT `+groupCols+` FROM client_groups WHERE org_id = $1 AND id = $2`, orgID, id))
	if err != nil {
		return g, notFound(err, "client group")
	}
	return g, nil
}

// ListClientGroups lists an organization's groups in creation order.
func (s *Store) ListClientGroups(ctx context.Context, orgID string, p core.Page) ([]core.ClientGroup, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+groupCols+` FROM client_groups WHERE org_id = $1 AND id > $2 ORDER BY id LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list client groups: %w", err)
	}
	return collect(rows, scanGroup)
}

// invCols ends with the number of clients who joined through the link.
const invCols = `i.id, i.org_id, i.name, i.code, i.target_staff_id, i.valid_from, i.valid_until, i.max_uses, i.uses,
	i.active, i.created_at, (SELECT COUNT(*) FROM clients j WHERE j.source_invitation_id = i.id), i.team`

// invLockCols reads an invitation to lock it (FOR UPDATE takes no
// aggregate); the joined count is not needed there.
const invLockCols = `i.id, i.org_id, i.name, i.code, i.target_staff_id, i.valid_from, i.valid_until, i.max_uses, i.uses,
	i.active, i.created_at, 0, i.team`

func scanInvitation(row interface{ Scan(...any) error }) (core.Invitation, error) {
	var inv core.Invitation
	var target sql.NullString
	var from, until, maxUses sql.NullInt64
	var created int64
	var team bool
	err := row.Scan(&inv.ID, &inv.OrgID, &inv.Name, &inv.Code, &target, &from, &until, &maxUses, &inv.Uses,
		&inv.Active, &created, &inv.ClientsJoined, &team)
	inv.TargetStaffID = target.String
	inv.Target = core.TargetOrganization
	switch {
	case target.Valid:
		inv.Target = core.TargetSpecialist
	case team:
		inv.Target = core.TargetTeam
	}
	inv.ValidFrom, inv.ValidUntil = fromNullMS(from), fromNullMS(until)
	if maxUses.Valid {
		n := int(maxUses.Int64)
		inv.MaxUses = &n
		inv.SingleUse = n == 1
	}
	inv.CreatedAt = fromMS(created)
	return inv, err
}

func nullUses(p *int) sql.NullInt64 {
	if p == nil {
		return sql.NullInt64{}
	}
	return sql.NullInt64{Int64: int64(*p), Valid: true}
}

// CreateInvitation writes a new invitation link.
func (s *Store) CreateInvitation(ctx context.Context, inv core.Invitation) error {
	_, err := s.w.ExecContext(ctx, `INSERT INTO invitations (id, org_id, name, code, target_staff_id, valid_from, valid_until,
		max_uses, uses, active, created_at, team) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)`,
		inv.ID, inv.OrgID, inv.Name, inv.Code, nullString(inv.TargetStaffID), nullMS(inv.ValidFrom), nullMS(inv.ValidUntil),
		nullUses(inv.MaxUses), inv.Uses, inv.Active, ms(inv.CreatedAt), inv.Target == core.TargetTeam)
	if err != nil {
		return fmt.Errorf("store: create invitation: %w", err)
	}
	return nil
}

// GetInvitation reads one invitation of an organization with its counter.
func (s *Store) GetInvitation(ctx context.Context, orgID, id string) (core.Invitation, error) {
	inv, err := scanInvitation(s.r.QueryRowContext(ctx, `SELECT `+invCols+` FROM invitations i WHERE i.org_id = $1 AND i.id = $2`, orgID, id))
	if err != nil {
		return inv, notFound(err, "invitation")
	}
	return inv, nil
}

// ListInvitations lists an organization's invitations in creation order.
func (s *Store) ListInvitations(ctx context.Context, orgID string, p core.Page) ([]core.Invitation, error) {
	limit, after := pageArgs(p)
	rows, err := s.r.QueryContext(ctx, `SELECT `+invCols+` FROM invitations i WHERE i.org_id = $1 AND i.id > $2 ORDER BY i.id LIMIT $3`, orgID, after, limit)
	if err != nil {
		return nil, fmt.Errorf("store: list invitations: %w", err)
	}
	return collect(rows, scanInvitation)
}

// UpdateInvitation writes an invitation's editable fields.
func (s *Store) UpdateInvitation(ctx context.Context, inv core.Invitation) error {
	res, err := s.w.ExecContext(ctx, `UPDATE invitations SET name = $1, target_staff_id = $2, valid_from = $3, valid_until = $4,
		max_uses = $5, active = $6, team = $7 WHERE org_id = $8 AND id = $9`,
		inv.Name, nullString(inv.TargetStaffID), nullMS(inv.ValidFrom), nullMS(inv.ValidUntil), nullUses(inv.MaxUses), inv.Active,
		inv.Target == core.TargetTeam, inv.OrgID, inv.ID)
	return checkAffected(res, err, "invitation")
}

// lockInvitation reads an invitation inside tx, locked against concurrent
// joins until tx ends.
func (s *Store) lockInvitation(ctx context.Context, tx *sql.Tx, orgID, code string) (core.Invitation, error) {
	inv, err := scanInvitation(tx.QueryRowContext(ctx, `SELECT `+invLockCols+` FROM invitations i WHERE i.org_id = $1 AND i.code = $2`+s.lockSuffix(), orgID, code))
	if err != nil {
		return inv, notFound(err, "invitation")
	}
	return inv, nil
}

// JoinInvitation runs a join through a link in one transaction. The
// invitation row is locked first (PostgreSQL: SELECT … FOR UPDATE; SQLite:
// the write transaction is BEGIN IMMEDIATE on the single writer
// connection), so concurrent joins see each other's uses and clients; the
// conditional update of uses is a second guard. join sees the clients who
// have the joining phone and decides: a new client to insert, or an
// existing one whose source it may set, and whether a use is counted.
func (s *Store) JoinInvitation(ctx context.Context, orgID, code, phone string,
	join func(core.Invitation, []core.Client) (core.Joining, error)) (core.Client, error) {
	var c core.Client
	err := s.tx(ctx, func(tx *sql.Tx) error {
		inv, err := s.lockInvitation(ctx, tx, orgID, code)
		if err != nil {
			return err
		}
		same := []core.Client{}
		if phone != "" {
			rows, err := tx.QueryContext(ctx, `SELECT `+clientCols+` FROM clients c WHERE c.org_id = $1 AND c.phone = $2
				AND c.archived_at IS NULL ORDER BY c.id`, orgID, phone)
			if err != nil {
				return fmt.Errorf("store: join: %w", err)
			}
			if same, err = collect(rows, scanClient); err != nil {
				return err
			}
		}
		j, err := join(inv, same)
		if err != nil {
			return err
		}
		c = j.Client
		c.OrgID = orgID
		if j.CountUse {
			res, err := tx.ExecContext(ctx, `UPDATE invitations SET uses = uses + 1 WHERE id = $1 AND uses = $2`, inv.ID, inv.Uses)
			if err := checkAffected(res, err, "invitation"); err != nil {
				if core.ErrorCode(err) == core.CodeNotFound {
					return core.Conflict("invitation already used")
				}
				return err
			}
		}
		if !j.Existing {
			return insertClient(ctx, tx, c)
		}
		res, err := tx.ExecContext(ctx, `UPDATE clients SET source = $1, source_invitation_id = $2 WHERE org_id = $3 AND id = $4`,
			c.Source, nullString(c.SourceInvitationID), orgID, c.ID)
		return checkAffected(res, err, "client")
	})
	if err != nil {
		return core.Client{}, err
	}
	return c, nil
}
