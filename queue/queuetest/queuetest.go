// Package queuetest gives each test package its own Redis database, so the
// Asynq workers of packages tested in parallel never take each other's
// tasks.
package queuetest

import (
	"net/url"
	"os"
	"strconv"
)

// RedisURL returns TEST_REDIS_URL with its database number set to db, or
// "" (the embedded Redis) when TEST_REDIS_URL is unset.
func RedisURL(db int) string {
	base := os.Getenv("TEST_REDIS_URL")
	if base == "" {
		return ""
	}
	u, err := url.Parse(base)
	if err != nil {
		return base
	}
	u.Path = "/" + strconv.Itoa(db)
	return u.String()
}

// Databases of the packages that run workers.
const (
	DBAPI      = 13
	DBWebhooks = 12
	DBQueue    = 9 // queue's own tests
)

// DBTests is the database of tests/. TEST_TESTS_REDIS_DB moves it, so that
// shards of tests/ running side by side (scripts/test-shards) each have
// their own queue: every test there starts by emptying its database.
var DBTests = dbFromEnv("TEST_TESTS_REDIS_DB", 14)

func dbFromEnv(name string, def int) int {
	if n, err := strconv.Atoi(os.Getenv(name)); err == nil && n >= 0 {
		return n
	}
	return def
}
