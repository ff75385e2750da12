package app

import (
	"log/slog"
	"strings"
	"testing"
	"time"
)

// env returns a getenv over a fixed map, so tests never read the real
// environment.
func env(kv map[string]string) func(string) string {
	return func(k string) string { return kv[k] }
}

// field is one configuration value a test expects.
type field struct {
	name      string
	got, want any
}

func checkFields(t *testing.T, fields []field) {
	t.Helper()
	for _, f := range fields {
		if f.got != f.want {
			t.Errorf("%s = %v, want %v", f.name, f.got, f.want)
		}
	}
}

func TestFromEnvDefaults(t *testing.T) {
	c, err := FromEnv(env(nil))
	if err != nil {
		t.Fatalf("FromEnv with an empty environment: %v", err)
	}
	checkFields(t, []field{
		{"HTTPAddr (GATEWAY_HTTP_ADDR)", c.HTTPAddr, ":8080"},
		{"DatabaseURL (DATABASE_URL)", c.DatabaseURL, "sqlite:data/gateway.db"},
		{"RedisURL (REDIS_URL)", c.RedisURL, ""},
		{"Role (GATEWAY_ROLE)", c.Role, RoleAll},
		{"PublicURL (GATEWAY_PUBLIC_URL)", c.PublicURL, "http://localhost:8080"},
		{"AdminToken (GATEWAY_ADMIN_TOKEN)", c.AdminToken, ""},
		{"LogLevel (GATEWAY_LOG_LEVEL)", c.LogLevel, slog.LevelInfo},
		{"MaxBodyBytes (GATEWAY_MAX_BODY_BYTES)", c.MaxBodyBytes, int64(1 << 20)},
		{"ShutdownTimeout (GATEWAY_SHUTDOWN_TIMEOUT)", c.ShutdownTimeout, 30 * time.Second},
		{"WorkerConcurrency (GATEWAY_WORKER_CONCURRENCY)", c.WorkerConcurrency, 150},
		{"LiveHeartbeat (GATEWAY_LIVE_HEARTBEAT)", c.LiveHeartbeat, 15 * time.Second},
		{"LiveRetention (GATEWAY_LIVE_RETENTION)", c.LiveRetention, 15 * time.Minute},
		{"LiveMaxEvents (GATEWAY_LIVE_MAX_EVENTS)", c.LiveMaxEvents, int64(10000)},
	})
}

func TestFromEnvReadsEveryVariable(t *testing.T) {
	c, err := FromEnv(env(map[string]string{
		"GATEWAY_HTTP_ADDR":          "127.0.0.1:9000",
		"DATABASE_URL":               "postgres://u@db:5432/g?sslmode=disable",
		"REDIS_URL":                  "redis://redis:6379/2",
		"GATEWAY_ROLE":               "worker",
		"GATEWAY_PUBLIC_URL":         "https://gw.example.com/",
		"GATEWAY_ADMIN_TOKEN":        "s3cret",
		"GATEWAY_LOG_LEVEL":          "debug",
		"GATEWAY_MAX_BODY_BYTES":     "4096",
		"GATEWAY_SHUTDOWN_TIMEOUT":   "5s",
		"GATEWAY_WORKER_CONCURRENCY": "3",
	}))
	if err != nil {
		t.Fatalf("FromEnv: %v", err)
	}
	checkFields(t, []field{
		{"HTTPAddr", c.HTTPAddr, "127.0.0.1:9000"},
		{"DatabaseURL", c.DatabaseURL, "postgres://u@db:5432/g?sslmode=disable"},
		{"RedisURL", c.RedisURL, "redis://redis:6379/2"},
		{"Role", c.Role, RoleWorker},
		{"PublicURL", c.PublicURL, "https://gw.example.com"}, // trailing slash trimmed
		{"AdminToken", c.AdminToken, "s3cret"},
		{"LogLevel", c.LogLevel, slog.LevelDebug},
		{"MaxBodyBytes", c.MaxBodyBytes, int64(4096)},
		{"ShutdownTimeout", c.ShutdownTimeout, 5 * time.Second},
		{"WorkerConcurrency", c.WorkerConcurrency, 3},
	})
}

// Without GATEWAY_PUBLIC_URL, links in messages point at this machine on
// the port the gateway listens on, not always 8080.
func TestPublicURLFollowsListenPort(t *testing.T) {
	for _, tc := range []struct{ addr, want string }{
		{"", "http://localhost:8080"},
		{":9090", "http://localhost:9090"},
		{"0.0.0.0:9090", "http://localhost:9090"},
		{"[::]:9090", "http://localhost:9090"},
		{"127.0.0.1:9000", "http://127.0.0.1:9000"},
		{"[::1]:9000", "http://[::1]:9000"},
	} {
		vars := map[string]string{}
		if tc.addr != "" {
			vars["GATEWAY_HTTP_ADDR"] = tc.addr
		}
		c, err := FromEnv(env(vars))
		if err != nil || c.PublicURL != tc.want {
			t.Errorf("GATEWAY_HTTP_ADDR=%q: public URL %q (%v), want %q", tc.addr, c.PublicURL, err, tc.want)
		}
	}
	c, err := FromEnv(env(map[string]string{"GATEWAY_HTTP_ADDR": ":9090", "GATEWAY_PUBLIC_URL": "https://gw.example.com"}))
	if err != nil || c.PublicURL != "https://gw.example.com" {
		t.Errorf("an explicit GATEWAY_PUBLIC_URL: %q (%v)", c.PublicURL, err)
	}
}

func TestFromEnvAcceptsEveryRole(t *testing.T) {
	for _, role := range []Role{RoleAll, RoleAPI, RoleWorker} {
		c, err := FromEnv(env(map[string]string{"GATEWAY_ROLE": string(role), "REDIS_URL": "redis://127.0.0.1:6379/0"}))
		if err != nil || c.Role != role {
			t.Errorf("GATEWAY_ROLE=%s: role %q, err %v", role, c.Role, err)
		}
	}
	// The embedded queue is fine when everything runs in one process.
	if _, err := FromEnv(env(map[string]string{"GATEWAY_ROLE": "all"})); err != nil {
		t.Errorf("GATEWAY_ROLE=all without REDIS_URL: %v", err)
	}
}

func TestFromEnvRejectsBadValues(t *testing.T) {
	// Every case is otherwise valid (REDIS_URL set), so the error can come
	// only from the one bad variable, and must name it.
	tests := []struct {
		name  string
		key   string
		value string
	}{
		{"unknown role", "GATEWAY_ROLE", "everything"},
		{"role in capitals", "GATEWAY_ROLE", "API"},
		{"public URL without scheme", "GATEWAY_PUBLIC_URL", "gateway.example.com"},
		{"public URL with another scheme", "GATEWAY_PUBLIC_URL", "ftp://gateway.example.com"},
		{"public URL without host", "GATEWAY_PUBLIC_URL", "https://"},
		{"public URL unparsable", "GATEWAY_PUBLIC_URL", "http://[::1"},
		{"unknown log level", "GATEWAY_LOG_LEVEL", "loud"},
		{"max body not a number", "GATEWAY_MAX_BODY_BYTES", "1MB"},
		{"max body too small", "GATEWAY_MAX_BODY_BYTES", "1023"},
		{"max body zero", "GATEWAY_MAX_BODY_BYTES", "0"},
		{"max body negative", "GATEWAY_MAX_BODY_BYTES", "-5000"},
		{"shutdown timeout without unit", "GATEWAY_SHUTDOWN_TIMEOUT", "30"},
		{"shutdown timeout zero", "GATEWAY_SHUTDOWN_TIMEOUT", "0s"},
		{"shutdown timeout negative", "GATEWAY_SHUTDOWN_TIMEOUT", "-1s"},
		{"worker concurrency not a number", "GATEWAY_WORKER_CONCURRENCY", "many"},
		{"worker concurrency zero", "GATEWAY_WORKER_CONCURRENCY", "0"},
		{"live heartbeat too short", "GATEWAY_LIVE_HEARTBEAT", "10ms"},
		{"live retention not a duration", "GATEWAY_LIVE_RETENTION", "forever"},
		{"live max events too small", "GATEWAY_LIVE_MAX_EVENTS", "5"},
		{"worker concurrency too large", "GATEWAY_WORKER_CONCURRENCY", "1001"},
		{"send lease shorter than a send", "GATEWAY_SEND_LEASE", "30s"},
		{"send lease equal to timeout plus pacer wait", "GATEWAY_SEND_LEASE", "65s"},
		{"send timeout too long for the default lease", "GATEWAY_SEND_TIMEOUT", "2m"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := FromEnv(env(map[string]string{"REDIS_URL": "redis://127.0.0.1:6379/0", tt.key: tt.value}))
			if err == nil {
				t.Fatalf("%s=%q accepted", tt.key, tt.value)
			}
			if !strings.Contains(err.Error(), tt.key) {
				t.Fatalf("%s=%q: error %q does not name the variable", tt.key, tt.value, err)
			}
		})
	}
}

func TestFromEnvSplitRolesNeedRedis(t *testing.T) {
	for _, role := range []string{"api", "worker"} {
		t.Run(role, func(t *testing.T) {
			_, err := FromEnv(env(map[string]string{"GATEWAY_ROLE": role}))
			if err == nil {
				t.Fatalf("GATEWAY_ROLE=%s without REDIS_URL accepted", role)
			}
			if !strings.Contains(err.Error(), "REDIS_URL") || !strings.Contains(err.Error(), "GATEWAY_ROLE") {
				t.Fatalf("error %q should name GATEWAY_ROLE and REDIS_URL", err)
			}
		})
	}
}

func TestFromEnvReportsEveryProblemAtOnce(t *testing.T) {
	_, err := FromEnv(env(map[string]string{
		"GATEWAY_ROLE":               "api", // and no REDIS_URL
		"GATEWAY_LOG_LEVEL":          "loud",
		"GATEWAY_MAX_BODY_BYTES":     "x",
		"GATEWAY_SHUTDOWN_TIMEOUT":   "x",
		"GATEWAY_WORKER_CONCURRENCY": "x",
		"GATEWAY_PUBLIC_URL":         "x",
	}))
	if err == nil {
		t.Fatal("bad configuration accepted")
	}
	for _, name := range []string{"REDIS_URL", "GATEWAY_LOG_LEVEL", "GATEWAY_MAX_BODY_BYTES",
		"GATEWAY_SHUTDOWN_TIMEOUT", "GATEWAY_WORKER_CONCURRENCY", "GATEWAY_PUBLIC_URL"} {
		if !strings.Contains(err.Error(), name) {
			t.Errorf("error does not mention %s: %v", name, err)
		}
	}
}

// TestSendLeaseCoversASend: the lease must outlast the longest legitimate
// send (task timeout plus pacer wait); the message says how long it must be.
func TestSendLeaseCoversASend(t *testing.T) {
	c, err := FromEnv(env(map[string]string{"GATEWAY_SEND_TIMEOUT": "2s", "GATEWAY_SEND_LEASE": "8s"}))
	if err != nil {
		t.Fatalf("a lease longer than timeout plus pacer wait refused: %v", err)
	}
	if c.SendTimeout != 2*time.Second || c.SendLease != 8*time.Second {
		t.Fatalf("SendTimeout %s, SendLease %s", c.SendTimeout, c.SendLease)
	}
	_, err = FromEnv(env(map[string]string{"GATEWAY_SEND_LEASE": "1m"}))
	if err == nil || !strings.Contains(err.Error(), "GATEWAY_SEND_LEASE (1m0s) must be longer than GATEWAY_SEND_TIMEOUT (1m0s) plus the pacer's longest wait (5s), i.e. more than 1m5s") {
		t.Fatalf("error = %v", err)
	}
}
