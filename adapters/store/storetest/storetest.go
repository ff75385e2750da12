// Package storetest opens fresh stores for tests: SQLite always, PostgreSQL
// too when TEST_DATABASE_URL is set, each in a schema of its own so tests
// never see each other's rows.
package storetest

import (
	"context"
	"crypto/rand"
	"database/sql"
	"encoding/hex"
	"encoding/json"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/core"
)

// Backend is one database a test runs against.
type Backend struct {
	Name string
	URL  string
}

// Backends lists the databases available to tests, creating a fresh
// database (SQLite file or PostgreSQL schema) for each and dropping it at
// the end of the test.
func Backends(t testing.TB) []Backend {
	t.Helper()
	out := []Backend{{Name: "sqlite", URL: "sqlite:" + filepath.Join(t.TempDir(), "test.db")}}
	if base := os.Getenv("TEST_DATABASE_URL"); base != "" {
		out = append(out, Backend{Name: "postgres", URL: freshSchema(t, base)})
	}
	return out
}

// Each runs fn as a subtest against each backend with a migrated store.
func Each(t *testing.T, fn func(t *testing.T, s *store.Store)) {
	t.Helper()
	for _, b := range Backends(t) {
		t.Run(b.Name, func(t *testing.T) {
			fn(t, Open(t, b.URL))
		})
	}
}

// Open opens and migrates a store, closing it when the test ends.
func Open(t testing.TB, dbURL string) *store.Store {
	t.Helper()
	s, err := store.Open(context.Background(), dbURL, true)
	if err != nil {
		t.Fatalf("open store: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func freshSchema(t testing.TB, base string) string {
	t.Helper()
	b := make([]byte, 6)
	_, _ = rand.Read(b)
	schema := "t_" + hex.EncodeToString(b)
	db, err := sql.Open("pgx", base)
	if err != nil {
		t.Fatalf("postgres: %v", err)
	}
	if _, err := db.Exec(`CREATE SCHEMA ` + schema); err != nil {
		db.Close()
		t.Fatalf("postgres: create schema: %v", err)
	}
	t.Cleanup(func() {
		_, _ = db.Exec(`DROP SCHEMA ` + schema + ` CASCADE`)
		db.Close()
	})
	u, err := url.Parse(base)
	if err != nil {
		t.Fatalf("TEST_DATABASE_URL: %v", err)
	}
	q := u.Query()
	q.Set("search_path", schema)
	u.RawQuery = q.Encode()
	return u.String()
}

// InsertEvent writes a domain event straight into the database at dbURL,
// bypassing the domain: tests use it to plant an event the relay cannot
// build (naming a record that does not exist).
func InsertEvent(t testing.TB, dbURL string, e core.Event) {
	t.Helper()
	d, dsn, err := store.ParseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	driver := "pgx"
	if d == store.SQLite {
		driver, dsn = "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)"
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	data, err := json.Marshal(e.Data)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Exec(`INSERT INTO events (id, org_id, kind, occurred_at, data) VALUES ($1, $2, $3, $4, $5)`,
		e.ID, e.OrgID, string(e.Kind), e.OccurredAt.UnixMilli(), string(data)); err != nil {
		t.Fatalf("insert event: %v", err)
	}
}

// PoisonedEvent is an event of the organization that the relay cannot
// build: its appointment does not exist.
func PoisonedEvent(orgID string) core.Event {
	return core.Event{ID: core.NewID(), OrgID: orgID, Kind: core.EventBooked, OccurredAt: time.Now().UTC(),
		Data: &core.AppointmentChanged{EventRefs: core.EventRefs{AppointmentID: core.NewID(), ClientID: core.NewID()}}}
}
