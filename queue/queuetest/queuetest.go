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
	DBTests    = 14
	DBWebhooks = 12
)
