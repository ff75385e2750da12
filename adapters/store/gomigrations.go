package store

import (
	"context"
	"database/sql"
	"fmt"

	"github.com/pressly/goose/v3"

	"github.com/bookinggw/gateway/core"
)

// goMigrations are the migrations that need Go's Unicode rules, which
// SQLite's lower() lacks: their versions sit among the SQL files'.
func goMigrations() []*goose.Migration {
	return []*goose.Migration{
		goose.NewGoMigration(402, &goose.GoFunc{RunTx: groupNameKeys},
			&goose.GoFunc{RunTx: func(ctx context.Context, tx *sql.Tx) error {
				_, err := tx.ExecContext(ctx, `DROP INDEX client_groups_name_key`)
				return err
			}}),
		// Down needs nothing: the old lower-cased names still match.
		goose.NewGoMigration(404, &goose.GoFunc{RunTx: clientSearchKeys}, &goose.GoFunc{}),
	}
}

// clientSearchKeys refills the search columns of existing clients with
// their names and emails folded by core.SearchFold.
func clientSearchKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, first_name, last_name, email FROM clients ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store: migrate client search: %w", err)
	}
	cs, err := collect(rows, func(r interface{ Scan(...any) error }) (core.Client, error) {
		var c core.Client
		return c, r.Scan(&c.ID, &c.FirstName, &c.LastName, &c.Email)
	})
	if err != nil {
		return err
	}
	for _, c := range cs {
		if _, err := tx.ExecContext(ctx, `UPDATE clients SET search_name = $1, search_email = $2 WHERE id = $3`,
			searchName(c), searchEmail(c), c.ID); err != nil {
			return fmt.Errorf("store: migrate client search: %w", err)
		}
	}
	return nil
}

// groupNameKeys fills client_groups.name_key and makes it unique per
// organization. Groups whose names already clash regardless of case keep
// their names; all but the oldest get a key made unique by their id, so
// the migration never fails on existing data.
func groupNameKeys(ctx context.Context, tx *sql.Tx) error {
	rows, err := tx.QueryContext(ctx, `SELECT id, org_id, name FROM client_groups ORDER BY id`)
	if err != nil {
		return fmt.Errorf("store: migrate group names: %w", err)
	}
	type group struct{ id, org, name string }
	groups, err := collect(rows, func(r interface{ Scan(...any) error }) (group, error) {
		var g group
		return g, r.Scan(&g.id, &g.org, &g.name)
	})
	if err != nil {
		return err
	}
	seen := map[string]bool{}
	for _, g := range groups {
		key := core.GroupNameKey(g.name)
		if seen[g.org+"\x00"+key] {
			key += " " + g.id
		}
		seen[g.org+"\x00"+key] = true
		if _, err := tx.ExecContext(ctx, `UPDATE client_groups SET name_key = $1 WHERE id = $2`, key, g.id); err != nil {
			return fmt.Errorf("store: migrate group names: %w", err)
		}
	}
	_, err = tx.ExecContext(ctx, `CREATE UNIQUE INDEX client_groups_name_key ON client_groups(org_id, name_key)`)
	return err
}
