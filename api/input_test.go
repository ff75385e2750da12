package api_test

import (
	"os"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/bookinggw/gateway/core"
)

// TestInputProblems: date-times without an offset, dates alone and numbers,
// repeated JSON keys and malformed ids are each a 400 naming the field and
// what is expected, in the client's terms (never Go's parse message), and
// change nothing.
func TestInputProblems(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL string) {
		a, srv := newApp(t, dbURL, nil)
		c := client{t, srv.URL, bootstrap(t, a, "Org").PlainKey}
		staff := must[core.Staff](t, c.post("/api/v1/staff", `{"name":"Spec","role":"specialist"}`), 201)
		svc := must[core.Offering](t, c.post("/api/v1/services", `{"name":"Visit","duration_min":60}`), 201)
		cl := must[core.Client](t, c.post("/api/v1/clients", `{"name":"Anna Smith"}`), 201)
		if cl.FirstName != "Anna" || cl.LastName != "Smith" || cl.Name != "Anna Smith" {
			t.Fatalf("a whole name is not split: %+v", cl)
		}
		booking := func(start string) string {
			return `{"specialist_id":"` + staff.ID + `","service_id":"` + svc.ID + `","client_id":"` + cl.ID + `","start":` + start + `}`
		}
		tests := []struct {
			name    string
			req     req
			field   string
			message string // a substring of the field's message
		}{
			{"time without offset", req{Method: "POST", Path: "/api/v1/appointments", Body: booking(`"2026-03-09T10:00:00"`)}, "start", "RFC 3339"},
			{"date alone", req{Method: "POST", Path: "/api/v1/appointments", Body: booking(`"2026-03-09"`)}, "start", "offset"},
			{"time as a number", req{Method: "POST", Path: "/api/v1/appointments", Body: booking(`1773046800`)}, "start", "RFC 3339"},
			{"time as an object", req{Method: "POST", Path: "/api/v1/appointments/" + core.NewID() + "/move", Body: `{"start":{}}`}, "start", "RFC 3339"},
			{"pointer time field", req{Method: "POST", Path: "/api/v1/staff/" + staff.ID + "/time-off",
				Body: `{"kind":"out_of_office","start_at":"2026-03-09 10:00","end_at":"2026-03-09T11:00:00Z"}`}, "start_at", "RFC 3339"},
			{"waiting-list window", req{Method: "POST", Path: "/api/v1/waiting-list", Body: `{"client_id":"` + cl.ID + `","specialist_id":"` + staff.ID +
				`","from":"2026-03-09T10:00:00Z","to":"tomorrow"}`}, "to", "RFC 3339"},
			{"time query parameter", req{Method: "GET", Path: "/api/v1/appointments?from=2026-03-09"}, "from", "RFC 3339"},
			{"repeated key", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"A","name":"B"}`}, "name", "more than once"},
			{"repeated key in another case", req{Method: "POST", Path: "/api/v1/centers", Body: `{"name":"A","Name":"B"}`}, "Name", "more than once"},
			{"repeated nested key", req{Method: "POST", Path: "/api/v1/appointments", Body: strings.TrimSuffix(booking(`"2026-03-09T10:00:00Z"`), "}") +
				`,"location":{"kind":"room","kind":"video"}}`}, "location.kind", "more than once"},
			{"malformed specialist id", req{Method: "POST", Path: "/api/v1/appointments", Body: `{"specialist_id":"42","service_id":"` + svc.ID +
				`","client_id":"` + cl.ID + `","start":"2026-03-09T10:00:00Z"}`}, "specialist_id", "is not a staff id"},
			{"malformed service id", req{Method: "POST", Path: "/api/v1/appointments", Body: `{"specialist_id":"` + staff.ID + `","service_id":"visit","client_id":"` +
				cl.ID + `","start":"2026-03-09T10:00:00Z"}`}, "service_id", "is not a service id"},
			{"malformed client id", req{Method: "POST", Path: "/api/v1/appointments", Body: `{"specialist_id":"` + staff.ID + `","service_id":"` + svc.ID +
				`","client_id":"anna","start":"2026-03-09T10:00:00Z"}`}, "client_id", "is not a client id"},
			{"malformed waiting-list specialist", req{Method: "POST", Path: "/api/v1/waiting-list", Body: `{"client_id":"` + cl.ID +
				`","specialist_id":"dr-martin","from":"2030-03-09T10:00:00Z","to":"2030-03-09T12:00:00Z"}`}, "specialist_id", "is not a staff id"},
			{"malformed room centre", req{Method: "POST", Path: "/api/v1/rooms", Body: `{"name":"R1","center_id":"main"}`}, "center_id", "is not a center id"},
			{"name that cannot be split", req{Method: "POST", Path: "/api/v1/clients", Body: `{"name":"Smith, Anna, Maria"}`}, "name", "First Last"},
			{"missing specialist id", req{Method: "POST", Path: "/api/v1/appointments", Body: `{"service_id":"` + svc.ID +
				`","client_id":"` + cl.ID + `","start":"2026-03-09T10:00:00Z"}`}, "specialist_id", "is required"},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				r := c.do(tt.req)
				p := assertProblem(t, r, 400)
				i := slices.IndexFunc(p.Errors, func(e core.FieldError) bool { return e.Field == tt.field })
				if i < 0 {
					t.Fatalf("errors %+v do not name %q", p.Errors, tt.field)
				}
				if !strings.Contains(p.Errors[i].Message, tt.message) {
					t.Errorf("%s: %q, want it to say %q", tt.field, p.Errors[i].Message, tt.message)
				}
				for _, leak := range []string{"parsing time", "2006-01-02", "Z07:00", "UnmarshalJSON", "cannot parse"} {
					if strings.Contains(string(r.Body), leak) {
						t.Errorf("the answer quotes Go's parser (%q): %s", leak, r.Body)
					}
				}
			})
		}
		if l := must[list[core.Appointment]](t, c.get("/api/v1/appointments"), 200); len(l.Items) != 0 {
			t.Errorf("refused requests booked %d appointments", len(l.Items))
		}
		if l := must[list[core.Center]](t, c.get("/api/v1/centers"), 200); len(l.Items) != 0 {
			t.Errorf("refused requests created %d centers", len(l.Items))
		}
	})
}

// TestReadmeStatusNames: the README names the statuses the status route
// accepts, not verbs it refuses.
func TestReadmeStatusNames(t *testing.T) {
	b, err := os.ReadFile("../README.md")
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	i := strings.Index(text, "/appointments/{id}/status`")
	if i < 0 {
		t.Fatal("README does not describe POST /appointments/{id}/status")
	}
	seg := text[i:]
	if j := strings.Index(seg, "/appointments/{id}/move"); j > 0 {
		seg = seg[:j]
	}
	statusLike := regexp.MustCompile(`\b(accept|reject|cancel|complete|miss|pend)[a-z]*\b`)
	seen := map[core.Status]bool{}
	for _, w := range statusLike.FindAllString(seg, -1) {
		if !core.Status(w).Valid() {
			t.Errorf("README's status route names %q, which the API refuses", w)
		}
		seen[core.Status(w)] = true
	}
	for _, s := range []core.Status{core.Accepted, core.Rejected, core.Cancelled, core.Completed, core.Missed} {
		if !seen[s] {
			t.Errorf("README's status route does not name %q", s)
		}
	}
}

// TestUnknownQueryParameter: every route refuses a query parameter it does
// not take, as unknown body fields are refused, and still takes its own.
func TestUnknownQueryParameter(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL string) {
		a, srv := newApp(t, dbURL, nil)
		c := client{t, srv.URL, bootstrap(t, a, "Org").PlainKey}
		checked := 0
		for _, ri := range a.HTTP.Engine.Routes() {
			if !strings.HasPrefix(ri.Path, "/api/v1/") || ri.Path == "/api/v1/openapi.json" {
				continue
			}
			segs := strings.Split(ri.Path, "/")
			for i, s := range segs {
				if strings.HasPrefix(s, ":") {
					segs[i] = core.NewID()
				}
			}
			body := ""
			if ri.Method != "GET" && ri.Method != "DELETE" {
				body = "{}"
			}
			r := c.do(req{Method: ri.Method, Path: strings.Join(segs, "/") + "?centre_id=x", Body: body})
			p := assertProblem(t, r, 400)
			if len(p.Errors) != 1 || p.Errors[0].Field != "centre_id" {
				t.Errorf("%s %s: errors %+v, want one naming centre_id", ri.Method, ri.Path, p.Errors)
			}
			checked++
		}
		if checked < 60 {
			t.Errorf("only %d routes checked", checked)
		}
		must[list[core.Center]](t, c.get("/api/v1/centers?limit=2"), 200)
		must[list[core.Appointment]](t, c.get("/api/v1/appointments?status=accepted&limit=5"), 200)
		p := assertProblem(t, c.get("/api/v1/appointments?centre_id="+core.NewID()), 400)
		if !strings.Contains(p.Errors[0].Message, "center_id") {
			t.Errorf("the refusal does not list the route's parameters: %+v", p.Errors)
		}
	})
}
