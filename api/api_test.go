package api_test

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/app"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/queue/queuetest"
	"github.com/bookinggw/gateway/webhooks"
)

func TestMain(m *testing.M) {
	gin.SetMode(gin.TestMode)
	os.Exit(m.Run())
}

// newApp wires the whole service on dbURL with the embedded queue, or the
// Redis of TEST_REDIS_URL when it is set, and serves it over loopback.
func newApp(t *testing.T, dbURL string, edit func(*app.Config)) (*app.App, *httptest.Server) {
	t.Helper()
	cfg, err := app.FromEnv(func(k string) string {
		switch k {
		case "DATABASE_URL":
			return dbURL
		case "REDIS_URL":
			return queuetest.RedisURL(queuetest.DBAPI)
		}
		return ""
	})
	if err != nil {
		t.Fatal(err)
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := app.New(context.Background(), cfg, slog.New(slog.NewJSONHandler(io.Discard, nil)))
	if err != nil {
		t.Fatalf("app.New: %v", err)
	}
	srv := httptest.NewServer(a.Handler())
	t.Cleanup(func() {
		srv.Close()
		a.Close()
	})
	return a, srv
}

// eachBackend runs fn on SQLite, and on PostgreSQL when TEST_DATABASE_URL is set.
func eachBackend(t *testing.T, fn func(t *testing.T, dbURL string)) {
	for _, b := range storetest.Backends(t) {
		t.Run(b.Name, func(t *testing.T) { fn(t, b.URL) })
	}
}

func bootstrap(t *testing.T, a *app.App, name string) core.BootstrapResult {
	t.Helper()
	res, err := a.Services.Tenancy.Bootstrap(context.Background(), core.BootstrapInput{OrgName: name, Timezone: "Europe/Paris"})
	if err != nil {
		t.Fatalf("bootstrap %s: %v", name, err)
	}
	return res
}

// client calls the API with one key.
type client struct {
	t    *testing.T
	base string
	key  string
}

type response struct {
	Status int
	Header http.Header
	Body   []byte
}

// req is one request; Body is sent as is (no Content-Type when empty and
// CT is empty), Header adds headers.
type req struct {
	Method, Path, Body, CT string
	Header                 map[string]string
}

func (c client) do(r req) response {
	c.t.Helper()
	var body io.Reader
	if r.Body != "" {
		body = strings.NewReader(r.Body)
	}
	hr, err := http.NewRequest(r.Method, c.base+r.Path, body)
	if err != nil {
		c.t.Fatal(err)
	}
	if c.key != "" {
		hr.Header.Set("Authorization", "Bearer "+c.key)
	}
	if r.CT != "" {
		hr.Header.Set("Content-Type", r.CT)
	} else if r.Body != "" {
		hr.Header.Set("Content-Type", "application/json")
	}
	for k, v := range r.Header {
		hr.Header.Set(k, v)
	}
	return c.send(hr)
}

func (c client) send(hr *http.Request) response {
	c.t.Helper()
	res, err := http.DefaultClient.Do(hr)
	if err != nil {
		c.t.Fatalf("%s %s: %v", hr.Method, hr.URL.Path, err)
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if err != nil {
		c.t.Fatal(err)
	}
	return response{Status: res.StatusCode, Header: res.Header, Body: b}
}

func (c client) get(path string) response { return c.do(req{Method: "GET", Path: path}) }

func (c client) post(path, body string) response {
	return c.do(req{Method: "POST", Path: path, Body: body})
}

func (c client) put(path, body string) response {
	return c.do(req{Method: "PUT", Path: path, Body: body})
}

func (c client) del(path string) response { return c.do(req{Method: "DELETE", Path: path}) }

// must checks the status and decodes the body into v (when v is not nil).
func must[T any](t *testing.T, r response, status int) T {
	t.Helper()
	var v T
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if len(r.Body) > 0 {
		if err := json.Unmarshal(r.Body, &v); err != nil {
			t.Fatalf("decode %s: %v", r.Body, err)
		}
	}
	return v
}

type list[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor"`
}

type problem struct {
	Type      string            `json:"type"`
	Title     string            `json:"title"`
	Status    int               `json:"status"`
	Detail    string            `json:"detail"`
	RequestID string            `json:"request_id"`
	Errors    []core.FieldError `json:"errors"`
}

// assertProblem checks an RFC 7807 answer with the given status and returns it.
func assertProblem(t *testing.T, r response, status int) problem {
	t.Helper()
	if r.Status != status {
		t.Fatalf("status %d, want %d; body %s", r.Status, status, r.Body)
	}
	if ct := r.Header.Get("Content-Type"); !strings.HasPrefix(ct, "application/problem+json") {
		t.Fatalf("Content-Type %q, want application/problem+json; body %s", ct, r.Body)
	}
	var p problem
	if err := json.Unmarshal(r.Body, &p); err != nil {
		t.Fatalf("problem body %s: %v", r.Body, err)
	}
	if p.Type == "" || p.Title == "" || p.Detail == "" || p.Status != status {
		t.Fatalf("problem lacks type/title/detail or has status %d: %s", p.Status, r.Body)
	}
	if p.RequestID == "" || p.RequestID != r.Header.Get("X-Request-ID") {
		t.Fatalf("problem request_id %q, X-Request-ID header %q", p.RequestID, r.Header.Get("X-Request-ID"))
	}
	return p
}

func fieldNames(p problem) []string {
	var s []string
	for _, e := range p.Errors {
		s = append(s, e.Field)
	}
	return s
}

func ids[T any](items []T, id func(T) string) []string {
	out := make([]string, len(items))
	for i, x := range items {
		out[i] = id(x)
	}
	return out
}

func centerID(c core.Center) string { return c.ID }

// tenantB is organization B with one of each resource, made through the API.
type tenantB struct {
	ids       map[string]string // B's id by the first path segment after /api/v1/
	client2   string            // a second client, linked to the first as family
	staffOff  string            // a time-off exception of the specialist
	roomOff   string            // a time-off exception of the room
	keyPlain  string            // a second key of B
	snapshots []string          // paths B reads to check nothing changed
}

// makeTenantB makes one of each resource of organization B; relay turns
// B's domain events into outbox messages, as the worker would.
func makeTenantB(t *testing.T, a *app.App, cb client, relay func()) tenantB {
	t.Helper()
	return makeResources(t, cb, relay, resourceOpts{app: a})
}

// resourceOpts places the resources makeResources makes. The zero value
// makes a centre and a specialist of their own, with organization-wide
// clients, catalogue service and invitation (another organization's
// resources). Scoped puts the clients, the appointment, the service and
// the invitation on the centre and the specialist (another centre's or
// another specialist's resources).
type resourceOpts struct {
	centerID, staffID string // existing ones to use; "" makes them
	scoped            bool
	// app receives a client's Telegram message, so B has a conversation
	// (conversations begin only with a client's message).
	app *app.App
}

func makeResources(t *testing.T, cb client, relay func(), o resourceOpts) tenantB {
	t.Helper()
	day := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour)
	start := day.Add(10 * time.Hour).Format(time.RFC3339)
	date := func(d int) string { return day.AddDate(0, 0, d).Format("2006-01-02") }
	week := `{"timezone":"UTC","weekly":{"monday":[{"start":"08:00","end":"18:00"}],"tuesday":[{"start":"08:00","end":"18:00"}],` +
		`"wednesday":[{"start":"08:00","end":"18:00"}],"thursday":[{"start":"08:00","end":"18:00"}],"friday":[{"start":"08:00","end":"18:00"}],` +
		`"saturday":[{"start":"08:00","end":"18:00"}],"sunday":[{"start":"08:00","end":"18:00"}]}}`
	id := func(r response, status int) string {
		t.Helper()
		v := must[map[string]any](t, r, status)
		s, _ := v["id"].(string)
		if s == "" {
			t.Fatalf("no id in %s", r.Body)
		}
		return s
	}
	var b tenantB
	center, staff := o.centerID, o.staffID
	if center == "" {
		center = id(cb.post("/api/v1/centers", `{"name":"B main","timezone":"UTC"}`), 201)
	}
	if staff == "" {
		staff = id(cb.post("/api/v1/staff", `{"name":"B spec","role":"specialist","timezone":"UTC","center_ids":["`+center+`"]}`), 201)
	}
	clientCenters, serviceOwner, apptCenter, invTarget := "", "", "", ""
	if o.scoped {
		clientCenters = `,"center_ids":["` + center + `"]`
		serviceOwner = `,"owner_id":"` + staff + `"`
		apptCenter = `,"center_id":"` + center + `"`
		invTarget = `,"target_staff_id":"` + staff + `"`
	}
	must[map[string]any](t, cb.put("/api/v1/staff/"+staff+"/schedule", week), 200)
	b.staffOff = id(cb.post("/api/v1/staff/"+staff+"/time-off", `{"kind":"vacation","from_date":"`+date(20)+`","to_date":"`+date(21)+`"}`), 201)
	service := id(cb.post("/api/v1/services", `{"name":"B visit","duration_min":60,"price_minor":5000,"currency":"EUR"`+serviceOwner+`}`), 201)
	room := id(cb.post("/api/v1/rooms", `{"center_id":"`+center+`","name":"B room"}`), 201)
	must[map[string]any](t, cb.put("/api/v1/rooms/"+room+"/schedule", week), 200)
	b.roomOff = id(cb.post("/api/v1/rooms/"+room+"/time-off", `{"kind":"holiday","from_date":"`+date(22)+`","to_date":"`+date(22)+`"}`), 201)
	cl := id(cb.post("/api/v1/clients", `{"name":"B client","phone":"+33612345678"`+clientCenters+`}`), 201)
	b.client2 = id(cb.post("/api/v1/clients", `{"name":"B sibling","phone":"+33612345679"`+clientCenters+`}`), 201)
	must[map[string]any](t, cb.post("/api/v1/clients/"+cl+"/family", `{"client_id":"`+b.client2+`","relation":"sibling"}`), 201)
	booked := must[core.BookingResult](t, cb.post("/api/v1/appointments", `{"specialist_id":"`+staff+`","service_id":"`+service+
		`","client_id":"`+cl+`","start":"`+start+`"`+apptCenter+`}`), 201)
	appt := booked.Appointments[0].ID
	must[map[string]any](t, cb.post("/api/v1/appointments/"+appt+"/payments", `{"amount_minor":1000,"method":"cash"}`), 201)
	waiting := id(cb.post("/api/v1/waiting-list", `{"client_id":"`+b.client2+`","specialist_id":"`+staff+`","service_id":"`+service+
		`","from":"`+start+`","to":"`+day.Add(18*time.Hour).Format(time.RFC3339)+`"}`), 201)
	inv := id(cb.post("/api/v1/invitations", `{"name":"B link"`+invTarget+`}`), 201)
	group := id(cb.post("/api/v1/client-groups", `{"name":"B group `+center[len(center)-12:]+`"}`), 201)
	if r := cb.put("/api/v1/client-groups/"+group+"/members/"+b.client2, ""); r.Status != 204 {
		t.Fatalf("B's group member: %d %s", r.Status, r.Body)
	}
	pkg := id(cb.post("/api/v1/packages", `{"name":"B 10 visits","visits":10,"validity_days":90,"price_minor":40000,"service_ids":["`+service+`"]}`), 201)
	sale := id(cb.post("/api/v1/package-sales", `{"package_id":"`+pkg+`","client_id":"`+cl+`"}`), 201)
	policy := cb.get("/api/v1/reminder-policy")
	must[map[string]any](t, cb.put("/api/v1/centers/"+center+"/reminder-policy", string(policy.Body)), 200)
	must[map[string]any](t, cb.put("/api/v1/services/"+service+"/reminder-policy", string(policy.Body)), 200)
	relay()
	msgs := must[struct {
		Items []core.Message `json:"items"`
	}](t, cb.get("/api/v1/messages?appointment_id="+appt), 200)
	if len(msgs.Items) == 0 {
		t.Fatal("B has no outbox message after the relay")
	}
	audience := `{"all":true}`
	if o.scoped {
		audience = `{"center_ids":["` + center + `"]}`
	}
	campaign := id(cb.post("/api/v1/campaigns", `{"name":"B promo","channels":["sms"],"audience":`+audience+
		`,"texts":{"fr":"Bonjour {{first_name}}"},"send_at":"`+day.AddDate(0, 0, 30).Format(time.RFC3339)+`"}`), 201)
	k := must[map[string]any](t, cb.post("/api/v1/api-keys", `{"name":"B extra","staff_id":"`+staff+`"}`), 201)
	b.keyPlain = k["key"].(string)
	// Telephony: a connection, a call it reported (missed: a call-back),
	// a planned call and the centre's call settings.
	must[map[string]any](t, cb.put("/api/v1/centers/"+center+"/call-settings", `{"voice_number":"+3319`+fmt.Sprintf("%07d", time.Now().UnixNano()%10_000_000)+`","hours":{}}`), 200)
	conn := must[core.CallConnection](t, cb.post("/api/v1/call-connections", `{"name":"B PBX","center_id":"`+center+`"}`), 201)
	ev := `{"call_id":"b-call-` + center + `","event":"missed","from":"+33612345678","to":"+33100000000"}`
	ts := time.Now().Unix()
	if r := cb.do(req{Method: "POST", Path: "/webhooks/calls/" + conn.ID, Body: ev, CT: "application/json", Header: map[string]string{
		webhooks.CallTimestampHeader: strconv.FormatInt(ts, 10), webhooks.CallSignatureHeader: webhooks.SignCallEvent(conn.Secret, ts, []byte(ev))}}); r.Status != 200 {
		t.Fatalf("B's call event: %d %s", r.Status, r.Body)
	}
	callID := must[list[core.Call]](t, cb.get("/api/v1/calls?center_id="+center), 200).Items[0].ID
	planned := id(cb.post("/api/v1/planned-calls", `{"client_id":"`+cl+`","center_id":"`+center+`","staff_id":"`+staff+`","due_at":"`+start+`","note":"B"}`), 201)
	conv := ""
	if o.app != nil {
		org := must[core.Organization](t, cb.get("/api/v1/organization"), 200)
		m, _, err := o.app.Services.Conversations.Receive(context.Background(), core.ChatReceive{OrgID: org.ID, CenterID: center, ClientID: cl,
			Channel: core.ChannelTelegram, Address: "4242", Text: "hello", ProviderKey: "tg:4242:" + cl})
		if err != nil {
			t.Fatal(err)
		}
		conv = m.ConversationID
	}
	b.ids = map[string]string{"centers": center, "staff": staff, "services": service, "rooms": room, "clients": cl,
		"appointments": appt, "waiting-list": waiting, "invitations": inv, "api-keys": k["id"].(string), "messages": msgs.Items[0].ID, "package-sales": sale,
		"packages": pkg, "client-groups": group, "campaigns": campaign,
		"calls": callID, "planned-calls": planned, "call-connections": conn.ID, "conversations": conv}
	b.snapshots = []string{"/api/v1/organization", "/api/v1/centers", "/api/v1/centers/" + center, "/api/v1/staff", "/api/v1/staff/" + staff,
		"/api/v1/staff/" + staff + "/schedule", "/api/v1/services", "/api/v1/services?owner_id=" + staff, "/api/v1/services/" + service, "/api/v1/rooms", "/api/v1/rooms/" + room,
		"/api/v1/rooms/" + room + "/schedule", "/api/v1/clients", "/api/v1/clients?archived=all", "/api/v1/clients/" + cl, "/api/v1/clients/" + cl + "/family",
		"/api/v1/appointments", "/api/v1/appointments/" + appt, "/api/v1/appointments/" + appt + "/payments", "/api/v1/waiting-list",
		"/api/v1/invitations", "/api/v1/invitations/" + inv, "/api/v1/client-groups", "/api/v1/clients?group_id=" + group, "/api/v1/messages", "/api/v1/package-sales", "/api/v1/package-sales/" + sale, "/api/v1/debtors",
		"/api/v1/centers/" + center + "/reminder-policy", "/api/v1/services/" + service + "/reminder-policy", "/api/v1/failed-events",
		"/api/v1/campaigns", "/api/v1/campaigns/" + campaign, "/api/v1/campaigns/" + campaign + "/recipients",
		"/api/v1/calls", "/api/v1/calls/" + callID, "/api/v1/planned-calls?status=all", "/api/v1/planned-calls/" + planned,
		"/api/v1/centers/" + center + "/call-settings", "/api/v1/call-connections", "/api/v1/call-settings",

		"/api/v1/conversations", "/api/v1/centers/" + center + "/chat-routes", "/api/v1/chat-settings"}
	if conv != "" {
		b.snapshots = append(b.snapshots, "/api/v1/conversations/"+conv, "/api/v1/conversations/"+conv+"/messages")
	}
	return b
}

// snapshot reads every snapshot path with B's key.
func (b tenantB) snapshot(t *testing.T, cb client) map[string]string {
	t.Helper()
	m := map[string]string{}
	for _, p := range b.snapshots {
		r := cb.get(p)
		if r.Status != 200 {
			t.Fatalf("B reads %s: %d %s", p, r.Status, r.Body)
		}
		m[p] = string(r.Body)
	}
	return m
}

// crossBodies are valid bodies for the writing routes, so that a missing
// organization check would let the write through rather than fail on input.
func crossBodies(b tenantB) map[string]string {
	day := time.Now().UTC().Add(72 * time.Hour).Truncate(24 * time.Hour)
	return map[string]string{
		"PUT /api/v1/centers/:id":                 `{"name":"hijacked"}`,
		"PUT /api/v1/staff/:id":                   `{"name":"hijacked","role":"director"}`,
		"PUT /api/v1/staff/:id/schedule":          `{"timezone":"UTC","weekly":{"monday":[{"start":"00:00","end":"23:00"}]}}`,
		"PUT /api/v1/rooms/:id/schedule":          `{"timezone":"UTC","weekly":{"monday":[{"start":"00:00","end":"23:00"}]}}`,
		"POST /api/v1/staff/:id/time-off":         `{"kind":"holiday","from_date":"` + day.Format("2006-01-02") + `","to_date":"` + day.Format("2006-01-02") + `"}`,
		"POST /api/v1/rooms/:id/time-off":         `{"kind":"holiday","from_date":"` + day.Format("2006-01-02") + `","to_date":"` + day.Format("2006-01-02") + `"}`,
		"PUT /api/v1/services/:id":                `{"name":"hijacked","duration_min":30}`,
		"PUT /api/v1/rooms/:id":                   `{"center_id":"` + b.ids["centers"] + `","name":"hijacked"}`,
		"PUT /api/v1/clients/:id":                 `{"name":"hijacked"}`,
		"PATCH /api/v1/clients/:id":               `{"name":"hijacked"}`,
		"PATCH /api/v1/staff/:id":                 `{"name":"hijacked"}`,
		"PATCH /api/v1/services/:id":              `{"name":"hijacked"}`,
		"PATCH /api/v1/centers/:id":               `{"name":"hijacked"}`,
		"PATCH /api/v1/client-groups/:id":         `{"name":"hijacked"}`,
		"POST /api/v1/clients/:id/family":         `{"client_id":"` + b.client2 + `","relation":"parent"}`,
		"POST /api/v1/clients/:id/family-members": `{"name":"Intruder","relation":"child"}`,
		"POST /api/v1/appointments/:id/status":    `{"status":"cancelled"}`,
		"POST /api/v1/appointments/:id/move":      `{"start":"` + day.Add(11*time.Hour).Format(time.RFC3339) + `"}`,
		"POST /api/v1/appointments/:id/payments":  `{"amount_minor":100,"method":"cash"}`,
		"PUT /api/v1/invitations/:id":             `{"name":"hijacked"}`,
		"POST /api/v1/invitations/:id/join":       `{"name":"Intruder","phone":"+33612345670"}`,
		"POST /api/v1/waiting-list/:id/status":    `{"status":"removed"}`,
		"POST /api/v1/services/:id/import":        `{}`,
		"POST /api/v1/invitations/:id/deactivate": ``,
		"PUT /api/v1/centers/:id/call-settings":   `{"voice_number":"+33100000555","hours":{}}`,
		"POST /api/v1/planned-calls/:id/result":   `{"result":"hijacked","next_due_at":"` + day.Format(time.RFC3339) + `"}`,
		"PATCH /api/v1/conversations/:id":         `{"status":"closed"}`,
		"POST /api/v1/conversations/:id/messages": `{"text":"hijacked"}`,
		"PUT /api/v1/centers/:id/chat-routes":     `{"telegram_bot":"hijack_bot","slack_channel":"C0HIJACK"}`,
		"PUT /api/v1/staff/:id/chat-history":      `{"granted":true}`,
	}
}

// TestTenantIsolation: a key of organization A learns nothing of B and
// changes nothing of B. For every /api/v1 route with ids in its path, A's
// request naming B's resources gets exactly the answer a made-up id gets
// (404 for reads); lists filtered by B's ids are those of made-up ids; and
// B's data reads the same before and after.
func TestTenantIsolation(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL string) {
		a, srv := newApp(t, dbURL, nil)
		ra, rb := bootstrap(t, a, "Org A"), bootstrap(t, a, "Org B")
		ca := client{t, srv.URL, ra.PlainKey}
		cb := client{t, srv.URL, rb.PlainKey}
		centerA := must[core.Center](t, ca.post("/api/v1/centers", `{"name":"A main"}`), 201)
		staffA := must[core.Staff](t, ca.post("/api/v1/staff", `{"name":"A spec","role":"specialist","center_ids":["`+centerA.ID+`"]}`), 201)

		// B has an event the relay cannot build: it is failed, listed and
		// retryable by B only.
		storetest.InsertEvent(t, dbURL, storetest.PoisonedEvent(rb.Organization.ID))
		b := makeTenantB(t, a, cb, func() {
			if _, err := a.Notify.RelayEvents(context.Background()); err != nil {
				t.Fatal(err)
			}
		})
		before := b.snapshot(t, cb)
		bodies := crossBodies(b)

		if checked := sweepPaths(t, a, ca, cb, b, bodies, nil); checked < 30 {
			t.Errorf("only %d routes with ids checked; the route table is not what this test expects", checked)
		}

		// Ids of B in queries and bodies of routes without path ids.
		day := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour)
		for _, q := range []struct{ method, path, body string }{
			{"GET", "/api/v1/availability?specialist_id={staff}&service_id={service}&from=" + day.Format("2006-01-02") + "&to=" + day.Format("2006-01-02"), ""},
			{"GET", "/api/v1/appointments?specialist_id={staff}", ""},
			{"GET", "/api/v1/appointments?client_id={client}", ""},
			{"GET", "/api/v1/appointments?center_id={center}", ""},
			{"GET", "/api/v1/reminders?specialist_id={staff}&from=2020-01-01T00:00:00Z&to=2040-01-01T00:00:00Z", ""},
			{"GET", "/api/v1/reminders?center_id={center}&from=2020-01-01T00:00:00Z&to=2040-01-01T00:00:00Z", ""},
			{"GET", "/api/v1/rooms?center_id={center}", ""},
			{"GET", "/api/v1/clients?center_id={center}", ""},
			{"GET", "/api/v1/clients?group_id={group}", ""},
			{"GET", "/api/v1/services?owner_id={staff}", ""},
			{"GET", "/api/v1/waiting-list?specialist_id={staff}", ""},
			{"POST", "/api/v1/appointments/bulk-status", `{"ids":["{appt}"],"from_status":"accepted","status":"cancelled"}`},
			{"POST", "/api/v1/appointments", `{"specialist_id":"{staff}","service_id":"{service}","client_id":"{client}","start":"` + day.Add(12*time.Hour).Format(time.RFC3339) + `"}`},
			{"POST", "/api/v1/rooms", `{"center_id":"{center}","name":"in B"}`},
			{"POST", "/api/v1/clients", `{"name":"x","center_ids":["{center}"]}`},
			{"POST", "/api/v1/staff", `{"name":"x","role":"specialist","center_ids":["{center}"]}`},
			{"POST", "/api/v1/api-keys", `{"name":"x","staff_id":"{staff}"}`},
			{"POST", "/api/v1/invitations", `{"name":"x","target_staff_id":"{staff}"}`},
			{"POST", "/api/v1/waiting-list", `{"client_id":"{client}","specialist_id":"{staff}","service_id":"{service}","from":"` +
				day.Add(10*time.Hour).Format(time.RFC3339) + `","to":"` + day.Add(12*time.Hour).Format(time.RFC3339) + `"}`},
			{"POST", "/api/v1/clients/{own}/family", `{"client_id":"{client}","relation":"sibling"}`},
		} {
			own := ""
			if strings.Contains(q.path, "{own}") { // A's own client linked to B's client
				own = must[map[string]any](t, ca.post("/api/v1/clients", `{"name":"A client `+core.NewID()[:8]+`"}`), 201)["id"].(string)
			}
			fill := func(staff, service, client, center, appt, group string) (string, string) {
				r := strings.NewReplacer("{staff}", staff, "{service}", service, "{client}", client, "{center}", center, "{appt}", appt,
					"{group}", group, "{own}", own)
				return r.Replace(q.path), r.Replace(q.body)
			}
			bp, bb := fill(b.ids["staff"], b.ids["services"], b.ids["clients"], b.ids["centers"], b.ids["appointments"], b.ids["client-groups"])
			fp, fb := fill(core.NewID(), core.NewID(), core.NewID(), core.NewID(), core.NewID(), core.NewID())
			cross := ca.do(req{Method: q.method, Path: bp, Body: bb})
			fake := ca.do(req{Method: q.method, Path: fp, Body: fb})
			if q.method == "POST" && cross.Status < 400 {
				t.Errorf("A's key: %s %s with B's ids answered %d: %s", q.method, q.path, cross.Status, cross.Body)
			}
			if !sameAnswer(cross, fake) {
				t.Errorf("A's key: %s %s tells B's ids from made-up ones:\n B's:      %d %s\n made-up:  %d %s",
					q.method, q.path, cross.Status, cross.Body, fake.Status, fake.Body)
			}
		}

		// Live events: neither key receives the other organization's
		// events, and B's event ids resume A's stream like made-up ones.
		orgA, orgB := ra.Organization.ID, rb.Organization.ID
		liveSeesOnly(t, a, ca, []core.LiveEvent{
			{Kind: core.LiveMessageNew, OrgID: orgB, CenterID: b.ids["centers"]},
			{Kind: core.LiveCallIncoming, OrgID: orgB, CenterID: b.ids["centers"], StaffID: b.ids["staff"]},
			{Kind: core.LiveCallIncoming, OrgID: orgB, CenterID: centerA.ID, StaffID: ra.Director.ID},
		}, []core.LiveEvent{marker(orgA, centerA.ID, 1)})
		liveSeesOnly(t, a, cb, []core.LiveEvent{marker(orgA, centerA.ID, 2), marker(orgA, b.ids["centers"], 3)},
			[]core.LiveEvent{marker(orgB, b.ids["centers"], 4)})
		sb := openStream(t, cb, "", nil)
		livePublish(t, a, marker(orgB, b.ids["centers"], 5))
		bID, _ := sb.event()
		sb.close()
		if cross, fake := liveResume(t, ca, bID.ID), liveResume(t, ca, "1-0"); cross != fake || cross.Event != "reset" {
			t.Errorf("A's stream resumed after B's event id: %+v, after a made-up one: %+v", cross, fake)
		}

		// B's data is untouched and its keys still work.
		after := b.snapshot(t, cb)
		for _, p := range b.snapshots {
			if before[p] != after[p] {
				t.Errorf("B's %s changed:\nbefore %s\nafter  %s", p, before[p], after[p])
			}
		}
		must[map[string]any](t, client{t, srv.URL, b.keyPlain}.get("/api/v1/me"), 200)

		// A's lists hold only A's items.
		if l := must[list[core.Center]](t, ca.get("/api/v1/centers"), 200); !slices.Equal(ids(l.Items, centerID), []string{centerA.ID}) {
			t.Errorf("A's centers = %v, want only %s", ids(l.Items, centerID), centerA.ID)
		}
		staffIDs := ids(must[list[core.Staff]](t, ca.get("/api/v1/staff"), 200).Items, func(s core.Staff) string { return s.ID })
		if !slices.Equal(staffIDs, []string{ra.Director.ID, staffA.ID}) {
			t.Errorf("A's staff = %v, want %v", staffIDs, []string{ra.Director.ID, staffA.ID})
		}
		keyIDs := ids(must[list[core.APIKey]](t, ca.get("/api/v1/api-keys"), 200).Items, func(k core.APIKey) string { return k.ID })
		if !slices.Equal(keyIDs, []string{ra.Key.ID}) {
			t.Errorf("A's keys = %v, want only %s", keyIDs, ra.Key.ID)
		}
		for _, p := range []string{"/api/v1/services", "/api/v1/rooms", "/api/v1/appointments", "/api/v1/waiting-list", "/api/v1/invitations", "/api/v1/client-groups",
			"/api/v1/failed-events", "/api/v1/reminders?from=2020-01-01T00:00:00Z&to=2040-01-01T00:00:00Z"} {
			if l := must[list[map[string]any]](t, ca.get(p), 200); len(l.Items) != 0 {
				t.Errorf("A lists %d items at %s, all of them B's", len(l.Items), p)
			}
		}
		for _, c := range must[list[map[string]any]](t, ca.get("/api/v1/clients?archived=all"), 200).Items {
			if name, _ := c["name"].(string); !strings.HasPrefix(name, "A client") {
				t.Errorf("A lists a client that is not A's: %v", c)
			}
		}
		if o := must[core.Organization](t, ca.get("/api/v1/organization"), 200); o.ID != ra.Organization.ID {
			t.Errorf("A's organization = %s, want %s", o.ID, ra.Organization.ID)
		}
	})
}

// sweepPaths calls every /api/v1 route with ids in its path with caller's
// key on b's resources (b's own key cb finds a resource makeResources did
// not name) and with made-up ids. Unless the route is in visible (a
// resource the caller may see but not change: reads answer 200, writes
// 403), the caller gets exactly the answer a made-up id gets, and 404 for
// reads. It returns how many routes it checked.
func sweepPaths(t *testing.T, a *app.App, ca, cb client, b tenantB, bodies map[string]string, visible map[string]bool) int {
	t.Helper()
	// paramValue is B's id for a path parameter of a route. A resource
	// makeTenantB does not make is looked up in B's list of it.
	paramValue := func(path, param string) (string, bool) {
		rest := strings.TrimPrefix(path, "/api/v1/")
		seg, _, _ := strings.Cut(rest, "/")
		switch param {
		case "id":
			if v, ok := b.ids[seg]; ok {
				return v, true
			}
			r := cb.get("/api/v1/" + seg)
			var l list[map[string]any]
			if r.Status == 200 && json.Unmarshal(r.Body, &l) == nil && len(l.Items) > 0 {
				if v, ok := l.Items[0]["id"].(string); ok && v != "" {
					b.ids[seg] = v
					return v, true
				}
			}
			return "", false
		case "client_id":
			return b.client2, seg == "clients" || seg == "client-groups"
		case "exception_id":
			if seg == "rooms" {
				return b.roomOff, true
			}
			return b.staffOff, seg == "staff"
		}
		return "", false
	}
	// Only ids name another organization's data; other parameters
	// (a template kind, a locale) are read within the caller's.
	idLike := func(param string) bool { return param == "id" || strings.HasSuffix(param, "_id") }
	fill := func(path string, value func(param string) string) string {
		segs := strings.Split(path, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") {
				segs[i] = value(s[1:])
			}
		}
		return strings.Join(segs, "/")
	}

	checked := 0
	for _, ri := range a.HTTP.Engine.Routes() {
		if !strings.HasPrefix(ri.Path, "/api/v1/") {
			continue
		}
		hasID := false
		for _, seg := range strings.Split(ri.Path, "/") {
			if strings.HasPrefix(seg, ":") && idLike(seg[1:]) {
				hasID = true
			}
		}
		if !hasID {
			continue
		}
		missing := ""
		bPath := fill(ri.Path, func(param string) string {
			v, ok := paramValue(ri.Path, param)
			if !ok {
				missing = param
			}
			return v
		})
		if missing != "" {
			t.Errorf("%s %s: this test has no resource of organization B for :%s (and B's list of them is empty); add one in makeTenantB",
				ri.Method, ri.Path, missing)
			continue
		}
		fakePath := fill(ri.Path, func(string) string { return core.NewID() })
		body := bodies[ri.Method+" "+ri.Path]
		if body == "" && (ri.Method == "PUT" || ri.Method == "PATCH") {
			body = "{}"
		}
		if readOnly, ok := lookupVisible(visible, ri.Method, ri.Path); ok {
			if !readOnly {
				continue // shared with the caller: theirs to change too
			}
			cross := ca.do(req{Method: ri.Method, Path: bPath, Body: body})
			if ri.Method == "GET" && cross.Status != http.StatusOK ||
				ri.Method != "GET" && cross.Status != http.StatusForbidden && cross.Status != http.StatusBadRequest && cross.Status != http.StatusConflict {
				t.Errorf("caller: %s %s on a resource it may see but not change answered %d (want 200 to reads, 403 or a refusal to writes); body %s",
					ri.Method, ri.Path, cross.Status, cross.Body)
			}
			checked++
			continue
		}
		cross := ca.do(req{Method: ri.Method, Path: bPath, Body: body})
		fake := ca.do(req{Method: ri.Method, Path: fakePath, Body: body})
		if cross.Status < 400 || cross.Status >= 500 {
			t.Errorf("A's key: %s %s on B's resource answered %d; body %s", ri.Method, ri.Path, cross.Status, cross.Body)
			continue
		}
		// A read is 404, unless the caller's role may not read such
		// resources at all (then a made-up id gets the same 403).
		if ri.Method == "GET" && cross.Status != 404 && cross.Status != fake.Status {
			t.Errorf("A's key: GET %s on B's resource answered %d, want 404", ri.Path, cross.Status)
		}
		if !sameAnswer(cross, fake) {
			t.Errorf("A's key: %s %s tells B's resource from a made-up one:\n B's:      %d %s\n made-up:  %d %s",
				ri.Method, ri.Path, cross.Status, cross.Body, fake.Status, fake.Body)
		}
		checked++
	}
	return checked
}

// lookupVisible finds a route in a visible map by "METHOD path", by path
// alone, or by a key ending in "*" that prefixes the path.
func lookupVisible(visible map[string]bool, method, path string) (readOnly, found bool) {
	if v, ok := visible[method+" "+path]; ok {
		return v, true
	}
	if v, ok := visible[path]; ok {
		return v, true
	}
	for k, v := range visible {
		if strings.HasSuffix(k, "*") && strings.HasPrefix(path, strings.TrimSuffix(k, "*")) {
			return v, true
		}
	}
	return false, false
}

var uuidPattern = regexp.MustCompile(`[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}`)

// sameAnswer reports whether two answers are the same (status, problem type,
// detail and field errors), ignoring request ids, paths and the ids named.
func sameAnswer(x, y response) bool {
	if x.Status != y.Status {
		return false
	}
	bx, by := uuidPattern.ReplaceAll(x.Body, []byte("<id>")), uuidPattern.ReplaceAll(y.Body, []byte("<id>"))
	var px, py map[string]any
	if json.Unmarshal(bx, &px) != nil || json.Unmarshal(by, &py) != nil {
		return bytes.Equal(bx, by)
	}
	for _, m := range []map[string]any{px, py} {
		delete(m, "request_id")
		delete(m, "instance")
	}
	jx, _ := json.Marshal(px)
	jy, _ := json.Marshal(py)
	return bytes.Equal(jx, jy)
}

// TestAuth: missing, malformed, unknown and revoked keys are 401 with a
// problem and WWW-Authenticate; a role too low is 403 and writes nothing.
func TestAuth(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL string) {
		a, srv := newApp(t, dbURL, nil)
		boot := bootstrap(t, a, "Org")
		dir := client{t, srv.URL, boot.PlainKey}

		// A second key, revoked below.
		k := must[map[string]any](t, dir.post("/api/v1/api-keys", `{"name":"temp"}`), 201)
		revoked := client{t, srv.URL, k["key"].(string)}
		must[map[string]any](t, revoked.get("/api/v1/me"), 200)
		if r := dir.del("/api/v1/api-keys/" + k["id"].(string)); r.Status != 204 {
			t.Fatalf("revoke: %d %s", r.Status, r.Body)
		}

		_, secret, _ := strings.Cut(strings.TrimPrefix(boot.PlainKey, "bgw_"), "_")
		wrongSecret := strings.TrimSuffix(boot.PlainKey, secret) + "A" + secret[1:]
		if wrongSecret == boot.PlainKey {
			wrongSecret = strings.TrimSuffix(boot.PlainKey, secret) + "B" + secret[1:]
		}
		unknownID := "bgw_" + strings.Repeat("0", 32) + "_" + secret
		tests := []struct {
			name, authorization string
		}{
			{"no header", ""},
			{"empty bearer", "Bearer "},
			{"basic scheme", "Basic " + base64.StdEncoding.EncodeToString([]byte("admin:"+boot.PlainKey))},
			{"key without scheme", boot.PlainKey},
			{"malformed key", "Bearer not-a-key"},
			{"prefix only", "Bearer bgw_"},
			{"bad hex id", "Bearer bgw_" + strings.Repeat("z", 32) + "_secret"},
			{"unknown key id", "Bearer " + unknownID},
			{"wrong secret", "Bearer " + wrongSecret},
			{"revoked key", "Bearer " + revoked.key},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				c := client{t, srv.URL, ""}
				h := map[string]string{}
				if tt.authorization != "" {
					h["Authorization"] = tt.authorization
				}
				r := c.do(req{Method: "GET", Path: "/api/v1/me", Header: h})
				assertProblem(t, r, 401)
				if r.Header.Get("WWW-Authenticate") == "" {
					t.Error("401 without WWW-Authenticate")
				}
				// Writes are refused the same way, and write nothing.
				r = c.do(req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"intruder"}`, Header: h})
				assertProblem(t, r, 401)
			})
		}
		if l := must[list[core.Center]](t, dir.get("/api/v1/centers"), 200); len(l.Items) != 0 {
			t.Fatalf("unauthenticated requests created centers: %+v", l.Items)
		}

		// A specialist may read but not create centers.
		center := must[core.Center](t, dir.post("/api/v1/centers", `{"name":"Main"}`), 201)
		spec := must[core.Staff](t, dir.post("/api/v1/staff", `{"name":"Spec","role":"specialist","center_ids":["`+center.ID+`"]}`), 201)
		sk := must[map[string]any](t, dir.post("/api/v1/api-keys", `{"name":"spec","staff_id":"`+spec.ID+`"}`), 201)
		sc := client{t, srv.URL, sk["key"].(string)}
		me := must[map[string]any](t, sc.get("/api/v1/me"), 200)
		if me["role"] != "specialist" || me["staff_id"] != spec.ID {
			t.Fatalf("specialist /me = %v", me)
		}
		assertProblem(t, sc.post("/api/v1/centers", `{"name":"Rogue"}`), 403)
		assertProblem(t, sc.put("/api/v1/centers/"+center.ID, `{"name":"Renamed"}`), 403)
		assertProblem(t, sc.post("/api/v1/staff", `{"name":"Friend","role":"director"}`), 403)
		assertProblem(t, sc.get("/api/v1/api-keys"), 403)
		assertProblem(t, sc.del("/api/v1/api-keys/"+boot.Key.ID), 403)
		// A key for someone else is a director's act.
		assertProblem(t, sc.post("/api/v1/api-keys", `{"name":"x","staff_id":"`+boot.Director.ID+`"}`), 403)
		l := must[list[core.Center]](t, dir.get("/api/v1/centers"), 200)
		if !slices.Equal(ids(l.Items, centerID), []string{center.ID}) || l.Items[0].Name != "Main" {
			t.Fatalf("forbidden requests changed centers: %+v", l.Items)
		}
		must[map[string]any](t, dir.get("/api/v1/me"), 200) // the director's key was not revoked
	})
}

// TestProblems: bad requests get a 4xx problem+json (never a 500) and
// change nothing.
func TestProblems(t *testing.T) {
	const maxBody = 1024
	eachBackend(t, func(t *testing.T, dbURL string) {
		a, srv := newApp(t, dbURL, func(c *app.Config) { c.MaxBodyBytes = maxBody })
		boot := bootstrap(t, a, "Org")
		c := client{t, srv.URL, boot.PlainKey}
		existing := must[core.Center](t, c.post("/api/v1/centers", `{"name":"Main","address":"1 Rue"}`), 201)
		before := c.get("/api/v1/centers")
		must[list[core.Center]](t, before, 200)

		big := `{"name":"` + strings.Repeat("x", 2*maxBody) + `"}`
		tests := []struct {
			name   string
			req    req
			status int
			field  string // a field errors[] must name, if any
		}{
			{"malformed JSON", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name" "x"}`}, 400, ""},
			{"truncated JSON", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":`}, 400, ""},
			{"unknown field", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"x","colour":"red"}`}, 400, "colour"},
			{"wrong type", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":42}`}, 400, "name"},
			{"array body", req{Method: "POST", Path: "/api/v1/centers", Body: `[{"name":"x"}]`}, 400, ""},
			{"empty body", req{Method: "POST", Path: "/api/v1/centers", CT: "application/json"}, 400, ""},
			{"blank body", req{Method: "POST", Path: "/api/v1/centers", Body: "  \n "}, 400, ""},
			{"trailing data", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"x"}{"name":"y"}`}, 400, ""},
			{"validation", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":" "}`}, 400, "name"},
			{"bad timezone", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"x","timezone":"Mars/Olympus"}`}, 400, "timezone"},
			{"body too large", req{Method: "POST", Path: "/api/v1/centers", Body: big}, 413, ""},
			{"body too large with idempotency key", req{Method: "POST", Path: "/api/v1/centers", Body: big,
				Header: map[string]string{"Idempotency-Key": "big-1"}}, 413, ""},
			{"text/plain", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"x"}`, CT: "text/plain"}, 415, ""},
			{"form", req{Method: "POST", Path: "/api/v1/centers", Body: `name=x`, CT: "application/x-www-form-urlencoded"}, 415, ""},
			{"bad content type", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"x"}`, CT: "json;;"}, 415, ""},
			{"unknown route", req{Method: "GET", Path: "/api/v1/nope"}, 404, ""},
			{"unknown top-level route", req{Method: "GET", Path: "/nope"}, 404, ""},
			{"method not allowed", req{Method: "DELETE", Path: "/api/v1/centers"}, 405, ""},
			{"malformed id", req{Method: "GET", Path: "/api/v1/centers/42"}, 404, ""},
			{"unknown id", req{Method: "GET", Path: "/api/v1/centers/" + core.NewID()}, 404, ""},
			{"put unknown id", req{Method: "PUT", Path: "/api/v1/centers/" + core.NewID(), Body: `{"name":"x"}`}, 404, ""},
			{"limit zero", req{Method: "GET", Path: "/api/v1/centers?limit=0"}, 400, "limit"},
			{"limit too large", req{Method: "GET", Path: "/api/v1/centers?limit=201"}, 400, "limit"},
			{"limit not a number", req{Method: "GET", Path: "/api/v1/centers?limit=ten"}, 400, "limit"},
			{"cursor not base64", req{Method: "GET", Path: "/api/v1/centers?cursor=%21%21"}, 400, "cursor"},
			{"cursor not an id", req{Method: "GET", Path: "/api/v1/centers?cursor=" + base64.RawURLEncoding.EncodeToString([]byte("hello"))}, 400, "cursor"},
			{"staff bad limit", req{Method: "GET", Path: "/api/v1/staff?limit=-1"}, 400, "limit"},
			{"keys bad cursor", req{Method: "GET", Path: "/api/v1/api-keys?cursor=zz"}, 400, "cursor"},
			{"idempotency key too long", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"x"}`,
				Header: map[string]string{"Idempotency-Key": strings.Repeat("k", 256)}}, 400, "Idempotency-Key"},
			// A bad replacement leaves the center as it was.
			{"put invalid", req{Method: "PUT", Path: "/api/v1/centers/" + existing.ID, Body: `{"name":"Renamed","timezone":"Nowhere/Void"}`}, 400, "timezone"},
			{"put unknown field", req{Method: "PUT", Path: "/api/v1/centers/" + existing.ID, Body: `{"name":"Renamed","extra":1}`}, 400, "extra"},
			{"staff unknown role", req{Method: "POST", Path: "/api/v1/staff", Body: `{"name":"x","role":"king"}`}, 400, "role"},
			{"staff center_ids wrong type", req{Method: "POST", Path: "/api/v1/staff", Body: `{"name":"x","role":"specialist","center_ids":"all"}`}, 400, "center_ids"},
			{"organization bad patch", req{Method: "PATCH", Path: "/api/v1/organization", Body: `{"lost_after_days":5}`}, 400, "lost_after_days"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				p := assertProblem(t, c.do(tt.req), tt.status)
				if tt.field != "" && !slices.Contains(fieldNames(p), tt.field) {
					t.Errorf("errors name %v, want %q", fieldNames(p), tt.field)
				}
			})
		}
		// A body of unknown length (chunked) over the limit is 413 too.
		t.Run("chunked body too large", func(t *testing.T) {
			hr, _ := http.NewRequest("POST", srv.URL+"/api/v1/centers", io.MultiReader(strings.NewReader(big)))
			hr.ContentLength = -1
			hr.Header.Set("Authorization", "Bearer "+boot.PlainKey)
			hr.Header.Set("Content-Type", "application/json")
			assertProblem(t, c.send(hr), 413)
		})

		after := c.get("/api/v1/centers")
		if !bytes.Equal(before.Body, after.Body) {
			t.Fatalf("bad requests changed the centers:\nbefore %s\nafter  %s", before.Body, after.Body)
		}
		if o := must[core.Organization](t, c.get("/api/v1/organization"), 200); o.LostAfterDays != core.DefaultLostAfterDays {
			t.Fatalf("bad patch changed lost_after_days to %d", o.LostAfterDays)
		}
		if l := must[list[core.Staff]](t, c.get("/api/v1/staff"), 200); len(l.Items) != 1 {
			t.Fatalf("bad requests created staff: %+v", l.Items)
		}
	})
}

// TestIdempotency: a repeated creating request returns the first response
// and creates once; the same key with another body is 422; keys are per
// organization.
func TestIdempotency(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL string) {
		a, srv := newApp(t, dbURL, nil)
		ca := client{t, srv.URL, bootstrap(t, a, "A").PlainKey}
		cb := client{t, srv.URL, bootstrap(t, a, "B").PlainKey}
		withKey := func(c client, key, body string) response {
			return c.do(req{Method: "POST", Path: "/api/v1/centers", Body: body, Header: map[string]string{"Idempotency-Key": key}})
		}

		first := withKey(ca, "create-main", `{"name":"Main"}`)
		created := must[core.Center](t, first, 201)
		if first.Header.Get("Idempotent-Replayed") != "" {
			t.Fatalf("first response is marked replayed")
		}
		for i := 0; i < 2; i++ {
			again := withKey(ca, "create-main", `{"name":"Main"}`)
			if again.Status != 201 || !bytes.Equal(again.Body, first.Body) {
				t.Fatalf("repeat %d: %d %s, want 201 %s", i, again.Status, again.Body, first.Body)
			}
			if again.Header.Get("Idempotent-Replayed") != "true" {
				t.Fatalf("repeat %d: Idempotent-Replayed = %q", i, again.Header.Get("Idempotent-Replayed"))
			}
			if !strings.HasPrefix(again.Header.Get("Content-Type"), "application/json") {
				t.Fatalf("repeat %d: Content-Type %q", i, again.Header.Get("Content-Type"))
			}
		}
		assertProblem(t, withKey(ca, "create-main", `{"name":"Other"}`), 422)

		// Another organization may use the same key for its own request.
		inB := withKey(cb, "create-main", `{"name":"Main"}`)
		centerB := must[core.Center](t, inB, 201)
		if inB.Header.Get("Idempotent-Replayed") != "" || centerB.ID == created.ID {
			t.Fatalf("B's request was answered with A's response: %s", inB.Body)
		}
		// Without a key, the same body creates again.
		must[core.Center](t, ca.post("/api/v1/centers", `{"name":"Main"}`), 201)

		la := must[list[core.Center]](t, ca.get("/api/v1/centers"), 200)
		if len(la.Items) != 2 || la.Items[0].ID != created.ID {
			t.Fatalf("A has %d centers %v, want the keyed one once plus the unkeyed one", len(la.Items), ids(la.Items, centerID))
		}
		if lb := must[list[core.Center]](t, cb.get("/api/v1/centers"), 200); !slices.Equal(ids(lb.Items, centerID), []string{centerB.ID}) {
			t.Fatalf("B's centers = %v", ids(lb.Items, centerID))
		}

		// A refused request is remembered too: its repeat is the same
		// problem and still creates nothing.
		bad := withKey(ca, "bad-one", `{"name":""}`)
		assertProblem(t, bad, 400)
		badAgain := withKey(ca, "bad-one", `{"name":""}`)
		// A replay is the first response byte for byte, so its request_id
		// is the first request's.
		if badAgain.Status != 400 || !bytes.Equal(badAgain.Body, bad.Body) || badAgain.Header.Get("Idempotent-Replayed") != "true" ||
			!strings.HasPrefix(badAgain.Header.Get("Content-Type"), "application/problem+json") {
			t.Fatalf("replayed refusal: %d %q %s, want the first 400 problem replayed", badAgain.Status, badAgain.Header.Get("Content-Type"), badAgain.Body)
		}
		if la2 := must[list[core.Center]](t, ca.get("/api/v1/centers"), 200); len(la2.Items) != 2 {
			t.Fatalf("a refused keyed request created a center")
		}
	})
}

// TestPagination: limit and next_cursor walk the list in creation order,
// each item exactly once.
func TestPagination(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL string) {
		a, srv := newApp(t, dbURL, nil)
		c := client{t, srv.URL, bootstrap(t, a, "Org").PlainKey}
		var want []string
		for _, n := range []string{"one", "two", "three", "four", "five"} {
			want = append(want, must[core.Center](t, c.post("/api/v1/centers", `{"name":"`+n+`"}`), 201).ID)
		}
		var got []string
		var sizes []int
		path := "/api/v1/centers?limit=2"
		for page := 0; ; page++ {
			if page > 5 {
				t.Fatalf("more than 5 pages; got %v so far", got)
			}
			l := must[list[core.Center]](t, c.get(path), 200)
			sizes = append(sizes, len(l.Items))
			got = append(got, ids(l.Items, centerID)...)
			if l.NextCursor == "" {
				break
			}
			path = "/api/v1/centers?limit=2&cursor=" + l.NextCursor
		}
		if !slices.Equal(got, want) {
			t.Fatalf("paged ids %v, want %v in creation order", got, want)
		}
		if !slices.Equal(sizes, []int{2, 2, 1}) {
			t.Fatalf("page sizes %v, want [2 2 1]", sizes)
		}
		// The default page holds them all, with no cursor.
		if l := must[list[core.Center]](t, c.get("/api/v1/centers"), 200); !slices.Equal(ids(l.Items, centerID), want) || l.NextCursor != "" {
			t.Fatalf("default page: %v cursor %q", ids(l.Items, centerID), l.NextCursor)
		}
	})
}

// TestOperatorEndpoints: health, readiness, metrics and the queue dashboard.
func TestOperatorEndpoints(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL string) {
		const token = "op-token-123"
		_, srv := newApp(t, dbURL, func(c *app.Config) { c.AdminToken = token })
		c := client{t, srv.URL, ""}

		must[map[string]any](t, c.get("/healthz"), 200)
		ready := must[struct {
			Status string            `json:"status"`
			Checks map[string]string `json:"checks"`
		}](t, c.get("/readyz"), 200)
		if ready.Status != "ok" || ready.Checks["database"] != "ok" || ready.Checks["redis"] != "ok" {
			t.Fatalf("readyz = %+v", ready)
		}

		c.get("/api/v1/nope")
		m := c.get("/metrics")
		if m.Status != 200 {
			t.Fatalf("/metrics: %d", m.Status)
		}
		for _, want := range []string{"gateway_http_requests_total", `route="/healthz"`, `route="unmatched"`, "gateway_http_request_duration_seconds"} {
			if !strings.Contains(string(m.Body), want) {
				t.Errorf("/metrics lacks %s", want)
			}
		}

		for _, tt := range []struct {
			name, user, pass string
			status           int
		}{
			{"no auth", "", "", 401},
			{"wrong token", "admin", "nope", 401},
			{"wrong user", "root", token, 401},
			{"admin", "admin", token, 200},
		} {
			t.Run("admin queues "+tt.name, func(t *testing.T) {
				hr, _ := http.NewRequest("GET", srv.URL+"/admin/queues", nil)
				if tt.user != "" {
					hr.SetBasicAuth(tt.user, tt.pass)
				}
				r := c.send(hr)
				if tt.status == 401 {
					assertProblem(t, r, 401)
					if h := r.Header.Get("WWW-Authenticate"); !strings.HasPrefix(h, "Basic") {
						t.Errorf("WWW-Authenticate %q: a browser needs a Basic challenge to prompt for the admin token", h)
					}
					return
				}
				if r.Status != tt.status {
					t.Fatalf("status %d, want %d", r.Status, tt.status)
				}
			})
		}
	})
	t.Run("dashboard off without admin token", func(t *testing.T) {
		_, srv := newApp(t, "sqlite:"+t.TempDir()+"/g.db", nil)
		hr, _ := http.NewRequest("GET", srv.URL+"/admin/queues", nil)
		hr.SetBasicAuth("admin", "")
		assertProblem(t, client{t, srv.URL, ""}.send(hr), 404)
	})
}

// TestServedOpenAPI: the served document is valid JSON, equals
// Server.OpenAPI and describes every /api/v1 route Gin serves.
func TestServedOpenAPI(t *testing.T) {
	a, srv := newApp(t, "sqlite:"+t.TempDir()+"/g.db", nil)
	r := client{t, srv.URL, ""}.get("/api/v1/openapi.json")
	if r.Status != 200 || !strings.HasPrefix(r.Header.Get("Content-Type"), "application/json") {
		t.Fatalf("openapi.json: %d %s", r.Status, r.Header.Get("Content-Type"))
	}
	if !bytes.Equal(r.Body, a.HTTP.OpenAPI()) {
		t.Fatal("served document differs from Server.OpenAPI()")
	}
	var doc struct {
		OpenAPI string                            `json:"openapi"`
		Paths   map[string]map[string]interface{} `json:"paths"`
	}
	if err := json.Unmarshal(r.Body, &doc); err != nil {
		t.Fatalf("openapi.json is not JSON: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi version %q", doc.OpenAPI)
	}
	n := 0
	for _, ri := range a.HTTP.Engine.Routes() {
		if !strings.HasPrefix(ri.Path, "/api/v1/") {
			continue
		}
		if ri.Path == "/api/v1/openapi.json" {
			continue // the document itself is not one of the API's operations
		}
		segs := strings.Split(ri.Path, "/")
		for i, s := range segs {
			if strings.HasPrefix(s, ":") || strings.HasPrefix(s, "*") {
				segs[i] = "{" + s[1:] + "}"
			}
		}
		p := strings.Join(segs, "/")
		if _, ok := doc.Paths[p][strings.ToLower(ri.Method)]; !ok {
			t.Errorf("%s %s is served but not in the OpenAPI document", ri.Method, p)
		}
		n++
	}
	if n == 0 {
		t.Fatal("no /api/v1 routes found")
	}
	// And the document names nothing that is not served.
	served := map[string]bool{}
	for _, ri := range a.HTTP.Engine.Routes() {
		served[strings.ToLower(ri.Method)+" "+ri.Path] = true
	}
	for p, ops := range doc.Paths {
		gin := strings.NewReplacer("{", ":", "}", "").Replace(p)
		for m := range ops {
			if !served[m+" "+gin] {
				t.Errorf("the document describes %s %s, which is not served", strings.ToUpper(m), p)
			}
		}
	}
}
