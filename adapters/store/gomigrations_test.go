package store_test

import (
	"context"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestGroupNameMigration: groups made before names were unique regardless
// of case keep their names through the migration, which never fails on
// them; from then on a clashing name is a conflict.
func TestGroupNameMigration(t *testing.T) {
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
			if err := s.Migrate(ctx); err != nil {
				t.Fatal(err)
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
