package store_test

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestCombinedSendPlans: on PostgreSQL, the combined claim and outcome
// statements reach their rows through the primary key even when the
// planner has no statistics (a server with autovacuum off, or statistics
// older than a burst of sends). Left to itself, the planner then guessed
// that few messages are queued and read every queued row through
// messages_status_due for each group, then joined them to the group: the
// cost of a claim grew with the backlog (a 100,000-recipient campaign sent
// at half the rate it reached at 20,000).
func TestCombinedSendPlans(t *testing.T) {
	ctx := context.Background()
	s, db := postgresStore(t)
	org, _, _ := newOrg(t, s, "A")
	now := time.Now().UTC().Truncate(time.Millisecond)
	m := queuedMessage(t, s, org.ID, now)

	// A backlog of 30,000 queued messages, copies of m, written without
	// ANALYZE: enough rows that reading them all costs more, by the
	// planner's own measure, than looking up a group's ids.
	for _, q := range []string{
		`CREATE TEMP TABLE seed AS SELECT m.* FROM messages m, generate_series(1, 30000)`,
		`UPDATE seed SET id = md5(random()::text), dedupe_key = md5(random()::text)`,
		`INSERT INTO messages SELECT * FROM seed`,
	} {
		if _, err := db.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}

	// A group of 64: the more ids, the cheaper the planner thinks one scan
	// of the (few, it guesses) queued rows is than 64 lookups.
	const n = 64
	ids, nows, strs, ints := make([]string, n), make([]int64, n), make([]string, n), make([]int32, n)
	for i := range ids {
		ids[i], nows[i], strs[i], ints[i] = core.NewID(), now.UnixMilli(), "sent", 1
	}
	ids[0] = m.ID
	for _, c := range []struct {
		name, sql string
		args      []any
	}{
		{"claim", store.ClaimManySQL, []any{ids, nows}},
		{"outcome", store.FinishManySQL, []any{ids, strs, strs, strs, strs, nows, nows, nows, ints, nows, ints}},
	} {
		t.Run(c.name, func(t *testing.T) {
			rows, err := db.QueryContext(ctx, "EXPLAIN "+c.sql, c.args...)
			if err != nil {
				t.Fatal(err)
			}
			defer rows.Close()
			var plan strings.Builder
			for rows.Next() {
				var line string
				if err := rows.Scan(&line); err != nil {
					t.Fatal(err)
				}
				plan.WriteString(line + "\n")
			}
			if err := rows.Err(); err != nil {
				t.Fatal(err)
			}
			p := plan.String()
			if !strings.Contains(p, "messages_pkey") || strings.Contains(p, "messages_status_due") {
				t.Fatalf("the %s does not reach its rows by id:\n%s", c.name, p)
			}
		})
	}
}

// TestImportAnalyzes: on PostgreSQL, a bulk import leaves the clients
// table with statistics. Without them the planner read a campaign's
// audience page by fetching and sorting every client after the page's
// start (47 ms a page of 500 over 100,000 clients, the fan-out quadratic).
func TestImportAnalyzes(t *testing.T) {
	ctx := context.Background()
	s, db := postgresStore(t)
	org, _, _ := newOrg(t, s, "A")
	cs := make([]core.Client, 2000)
	for i := range cs {
		cs[i] = newTestClient(org.ID, fmt.Sprintf("C%d", i), "D", fmt.Sprintf("+3361%07d", i), org.CreatedAt)
	}
	if err := s.ImportClients(ctx, cs); err != nil {
		t.Fatal(err)
	}
	var rows float64
	err := db.QueryRowContext(ctx, `SELECT reltuples FROM pg_class WHERE oid = 'clients'::regclass`).Scan(&rows)
	if err != nil || rows != float64(len(cs)) {
		t.Fatalf("clients after the import: the planner counts %v rows (%v), want %d", rows, err, len(cs))
	}
}

// postgresStore opens a migrated store in a fresh schema of
// TEST_DATABASE_URL, with a database/sql handle on the same schema for
// what the store does not expose (plans, statistics, triggers); without
// TEST_DATABASE_URL the test is skipped.
func postgresStore(t *testing.T) (*store.Store, *sql.DB) {
	t.Helper()
	if os.Getenv("TEST_DATABASE_URL") == "" {
		t.Skip("PostgreSQL only: TEST_DATABASE_URL is not set")
	}
	url := storetest.Backends(t)[1].URL
	s := storetest.Open(t, url)
	db, err := sql.Open("pgx", url)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return s, db
}
