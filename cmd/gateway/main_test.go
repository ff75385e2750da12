package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
)

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// TestInternalErrorsReachTheJSONLog: with the process's logger, the cause
// of a 500 that api logs reaches the JSON log with the request id the
// caller was given.
func TestInternalErrorsReachTheJSONLog(t *testing.T) {
	defer slog.SetDefault(slog.Default())
	var logs lockedBuffer
	log := newLogger(&logs, slog.LevelInfo)
	path := filepath.Join(t.TempDir(), "gw.db")
	cfg, err := app.FromEnv(func(k string) string { return map[string]string{"DATABASE_URL": "sqlite:" + path}[k] })
	if err != nil {
		t.Fatal(err)
	}
	a, err := app.New(context.Background(), cfg, log)
	if err != nil {
		t.Fatal(err)
	}
	defer a.Close()
	boot, err := a.Services.Tenancy.Bootstrap(context.Background(), core.BootstrapInput{OrgName: "Org"})
	if err != nil {
		t.Fatal(err)
	}
	// The database loses a table under the running service.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=busy_timeout(10000)")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`ALTER TABLE centers RENAME TO centers_gone`); err != nil {
		t.Fatal(err)
	}
	srv := httptest.NewServer(a.Handler())
	defer srv.Close()
	req, _ := http.NewRequest("GET", srv.URL+"/api/v1/centers", nil)
	req.Header.Set("Authorization", "Bearer "+boot.PlainKey)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	rid := resp.Header.Get("X-Request-ID")
	if resp.StatusCode != 500 || rid == "" {
		t.Fatalf("status %d, request id %q", resp.StatusCode, rid)
	}
	for _, line := range strings.Split(logs.String(), "\n") {
		var rec map[string]any
		if json.Unmarshal([]byte(line), &rec) != nil {
			continue
		}
		if rec["msg"] == "internal error" && rec["request_id"] == rid && strings.Contains(rec["error"].(string), "centers") {
			return
		}
	}
	t.Fatalf("no JSON line with the 500's cause and request id %s in:\n%s", rid, logs.String())
}
