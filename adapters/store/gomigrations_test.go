package store_test

import (
	"context"
	"database/sql"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestRecordMigrations: groups made before names were unique regardless
// of case keep their names through the migration, which never fails on
// them, and from then on a clashing name is a conflict; clients stored
// before search folded accents are found without them, and by email.
func TestRecordMigrations(t *testing.T) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			ctx := context.Background()
			s, err := store.Open(ctx, b.URL, false)
			if err != nil {
				t.Fatal(err)
			}
			defer s.Close()
			if err := s.MigrateTo(ctx, 401); err != nil {
				t.Fatal(err)
			}
			org, _, _ := newOrg(t, s, "Legacy")
			now := time.Now().UTC()
			for _, name := range []string{"Swimmers", "swimmers", "Yoga"} {
				if err := s.CreateClientGroup(ctx, core.ClientGroup{ID: core.NewID(), OrgID: org.ID, Name: name, CreatedAt: now}); err != nil {
					t.Fatalf("legacy group %q: %v", name, err)
				}
			}
			// A client stored before search folded accents and read emails.
			d, dsn, _ := store.ParseURL(b.URL)
			driver := map[store.Dialect]string{store.SQLite: "sqlite", store.Postgres: "pgx"}[d]
			if d == store.SQLite {
				dsn = "file:" + dsn
			}
			db, err := sql.Open(driver, dsn)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			legacy := core.NewID()
			if _, err := db.ExecContext(ctx, `INSERT INTO clients (id, org_id, first_name, last_name, search_name, phone, phone_digits, email,
				telegram_id, language, timezone, notes, source, created_at) VALUES ($1, $2, 'Élodie', 'Lefèvre', 'élodie lefèvre', '', '',
				'Elodie.L@Example.com', '', 'fr', 'Europe/Paris', '', '', $3)`, legacy, org.ID, now.UnixMilli()); err != nil {
				t.Fatal(err)
			}
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
			}
			for _, q := range []string{"elodie", "lefevre", "elodie.l@example", "ÉLODIE"} {
				found, err := s.ListClients(ctx, org.ID, core.ClientQuery{NameContains: core.SearchFold(q), AllCenters: true}, core.Page{})
				if err != nil || len(found) != 1 || found[0].ID != legacy {
					t.Fatalf("search %q after the migration: %+v %v", q, found, err)
				}
			}
			gs, err := s.ListClientGroups(ctx, org.ID, core.Page{})
			if err != nil || len(gs) != 3 || gs[0].Name != "Swimmers" || gs[1].Name != "swimmers" {
				t.Fatalf("groups after the migration: %+v %v", gs, err)
			}
			err = s.CreateClientGroup(ctx, core.ClientGroup{ID: core.NewID(), OrgID: org.ID, Name: "YOGA", CreatedAt: now})
			if core.ErrorCode(err) != core.CodeConflict {
				t.Fatalf("YOGA beside Yoga after the migration: %v", err)
			}
		})
	}
}
