package tests

import (
	"context"
	"database/sql"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/twilio/twiliotest"
	"github.com/bookinggw/gateway/core"
)

// holdCallsTable blocks writes to the calls table from another connection
// until the returned func is called: SQLite's write lock, PostgreSQL's
// table lock.
func holdCallsTable(t *testing.T, dbURL string) func() {
	t.Helper()
	d, dsn, err := store.ParseURL(dbURL)
	if err != nil {
		t.Fatal(err)
	}
	driver, lock := "pgx", `LOCK TABLE calls IN SHARE ROW EXCLUSIVE MODE`
	if d == store.SQLite {
		driver, dsn, lock = "sqlite", "file:"+dsn+"?_pragma=busy_timeout(10000)", `DELETE FROM calls WHERE id = ''`
	}
	db, err := sql.Open(driver, dsn)
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	conn, err := db.Conn(ctx)
	if err != nil {
		t.Fatal(err)
	}
	begin := "BEGIN"
	if d == store.SQLite {
		begin = "BEGIN IMMEDIATE"
	}
	for _, q := range []string{begin, lock} {
		if _, err := conn.ExecContext(ctx, q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return func() {
		if _, err := conn.ExecContext(ctx, "ROLLBACK"); err != nil {
			t.Error(err)
		}
		conn.Close()
		db.Close()
	}
}

// TestVoiceAnswersAfterCommit: the voice webhook answers only once its
// call's row is committed. While another writer holds the calls table, the
// webhook (whose group commit waits for the table) does not answer; once the
// table is free, it answers the dialling TwiML and the call is in the log.
func TestVoiceAnswersAfterCommit(t *testing.T) {
	for _, b := range backends(t) {
		t.Run(b.name, func(t *testing.T) {
			ce := newCallEnv(t, b.url)
			ce.ring(t, "CA-warm", callerPhone, voiceNumber) // the line is cached: only the write is left
			release := holdCallsTable(t, b.url)
			answered := make(chan string, 1)
			go func() {
				u := ce.app.Config.PublicURL + "/webhooks/twilio/voice"
				form := url.Values{"CallSid": {"CA-held"}, "From": {callerPhone}, "To": {voiceNumber}, "AccountSid": {twSID},
					"CallStatus": {"ringing"}, "Direction": {"inbound"}}
				req, _ := http.NewRequest("POST", u, strings.NewReader(form.Encode()))
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
				req.Header.Set("X-Twilio-Signature", twiliotest.Sign(twToken, u, form))
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					answered <- err.Error()
					return
				}
				defer resp.Body.Close()
				b, _ := io.ReadAll(resp.Body)
				answered <- fmt.Sprintf("%d %s", resp.StatusCode, b)
			}()
			select {
			case body := <-answered:
				release()
				t.Fatalf("answered while the call's row could not be written: %s", body)
			case <-time.After(700 * time.Millisecond):
			}
			if _, err := ce.app.Store.CallByProvider(t.Context(), core.ProviderTwilio, "CA-held"); core.ErrorCode(err) != core.CodeNotFound {
				t.Errorf("call visible before its commit: %v", err)
			}
			release()
			select {
			case body := <-answered:
				if !strings.HasPrefix(body, "200 ") || !strings.Contains(body, "<Dial") {
					t.Errorf("TwiML after the commit: %s", body)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("no answer after the table was released")
			}
			if _, err := ce.app.Store.CallByProvider(t.Context(), core.ProviderTwilio, "CA-held"); err != nil {
				t.Errorf("answered call not in the log: %v", err)
			}
		})
	}
}
