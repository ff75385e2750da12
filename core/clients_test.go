package core

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

var clientTestNow = time.Date(2025, 3, 10, 12, 0, 0, 0, time.UTC)

func ptime(t time.Time) *time.Time { return &t }

func TestActivityStatus(t *testing.T) {
	day := 24 * time.Hour
	now := clientTestNow
	cases := []struct {
		name    string
		created time.Time
		v       VisitSummary
		days    int
		want    string
	}{
		{"planned visit", now.Add(-100 * day), VisitSummary{NextVisit: ptime(now.Add(day))}, 28, ClientActive},
		{"planned visit right now", now.Add(-100 * day), VisitSummary{NextVisit: ptime(now)}, 28, ClientActive},
		{"planned visit and long-ago visit", now.Add(-100 * day), VisitSummary{LastVisit: ptime(now.Add(-90 * day)), NextVisit: ptime(now.Add(day))}, 7, ClientActive},
		{"stale next visit in the past is not planned", now.Add(-100 * day), VisitSummary{NextVisit: ptime(now.Add(-time.Minute))}, 28, ClientLost},
		{"recent visit, nothing planned", now.Add(-100 * day), VisitSummary{LastVisit: ptime(now.Add(-3 * day))}, 7, ClientInactive},
		{"visit exactly N days ago", now.Add(-100 * day), VisitSummary{LastVisit: ptime(now.Add(-7 * day))}, 7, ClientInactive},
		{"visit just over N days ago", now.Add(-100 * day), VisitSummary{LastVisit: ptime(now.Add(-7*day - time.Millisecond))}, 7, ClientLost},
		{"visit 20 days ago, N=21", now.Add(-100 * day), VisitSummary{LastVisit: ptime(now.Add(-20 * day))}, 21, ClientInactive},
		{"visit 20 days ago, N=14", now.Add(-100 * day), VisitSummary{LastVisit: ptime(now.Add(-20 * day))}, 14, ClientLost},
		{"new client, no visit", now.Add(-2 * day), VisitSummary{}, 7, ClientInactive},
		{"old client, never visited", now.Add(-30 * day), VisitSummary{}, 28, ClientLost},
		{"new client, never visited, N=0 means 7", now.Add(-6 * day), VisitSummary{}, 0, ClientInactive},
		{"client of 8 days, never visited, N=0 means 7", now.Add(-8 * day), VisitSummary{}, 0, ClientLost},
		{"card made today, visits imported from 10 days ago", now, VisitSummary{LastVisit: ptime(now.Add(-10 * day))}, 7, ClientLost},
		{"card made today, visit imported from 3 days ago", now, VisitSummary{LastVisit: ptime(now.Add(-3 * day))}, 7, ClientInactive},
		{"planned call, no visit for long", now.Add(-100 * day), VisitSummary{LastVisit: ptime(now.Add(-90 * day)), NextAction: ptime(now.Add(day))}, 7, ClientActive},
		{"call planned in the past does not count", now.Add(-100 * day), VisitSummary{NextAction: ptime(now.Add(-day))}, 7, ClientLost},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := ActivityStatus(now, tc.created, tc.v, tc.days); got != tc.want {
				t.Fatalf("ActivityStatus = %s, want %s", got, tc.want)
			}
		})
	}
}

func TestClientInputValidate(t *testing.T) {
	gid := NewID()
	cases := []struct {
		name   string
		in     ClientInput
		fields []string // expected field errors, in order
		check  func(t *testing.T, in ClientInput)
	}{
		{name: "minimal with defaults", in: ClientInput{FirstName: " Anna "},
			check: func(t *testing.T, in ClientInput) {
				if in.FirstName != "Anna" || in.Language != "fr" || in.Timezone != "Europe/Paris" || in.GroupIDs == nil || in.CenterIDs == nil {
					t.Fatalf("normalized = %+v", in)
				}
			}},
		{name: "name alone is split", in: ClientInput{Name: "Anna Petrova"},
			check: func(t *testing.T, in ClientInput) {
				if in.FirstName != "Anna" || in.LastName != "Petrova" {
					t.Fatalf("names = %q %q", in.FirstName, in.LastName)
				}
			}},
		{name: "name that cannot be split", in: ClientInput{Name: "Petrova, Anna, Maria"}, fields: []string{"name"}},
		{name: "no name", in: ClientInput{}, fields: []string{"first_name"}},
		{name: "name and first name", in: ClientInput{Name: "A", FirstName: "B"}, fields: []string{"name"}},
		{name: "too long", in: ClientInput{FirstName: strings.Repeat("é", 101), LastName: strings.Repeat("x", 101), Notes: strings.Repeat("n", 10001), Source: strings.Repeat("s", 201)},
			fields: []string{"first_name", "last_name", "notes", "source"}},
		{name: "phone E.164", in: ClientInput{FirstName: "A", Phone: "+33 6 12 34 56 78"},
			check: func(t *testing.T, in ClientInput) {
				if in.Phone != "+33612345678" {
					t.Fatalf("phone = %s", in.Phone)
				}
			}},
		{name: "phone national with region", in: ClientInput{FirstName: "A", Phone: "06 12 34 56 78", PhoneRegion: "fr"},
			check: func(t *testing.T, in ClientInput) {
				if in.Phone != "+33612345678" {
					t.Fatalf("phone = %s", in.Phone)
				}
			}},
		{name: "phone national without region", in: ClientInput{FirstName: "A", Phone: "06 12 34 56 78"}, fields: []string{"phone"}},
		{name: "phone invalid", in: ClientInput{FirstName: "A", Phone: "+33 1"}, fields: []string{"phone"}},
		{name: "bad region", in: ClientInput{FirstName: "A", Phone: "0612345678", PhoneRegion: "FRA"}, fields: []string{"phone_region"}},
		{name: "email", in: ClientInput{FirstName: "A", Email: "not an email"}, fields: []string{"email"}},
		{name: "email with name part", in: ClientInput{FirstName: "A", Email: "Anna <anna@example.com>"}, fields: []string{"email"}},
		{name: "telegram number", in: ClientInput{FirstName: "A", TelegramID: "123456789"},
			check: func(t *testing.T, in ClientInput) {
				if in.TelegramID != "123456789" {
					t.Fatalf("telegram = %s", in.TelegramID)
				}
			}},
		{name: "telegram username gets @", in: ClientInput{FirstName: "A", TelegramID: "anna_p"},
			check: func(t *testing.T, in ClientInput) {
				if in.TelegramID != "@anna_p" {
					t.Fatalf("telegram = %s", in.TelegramID)
				}
			}},
		{name: "telegram bad", in: ClientInput{FirstName: "A", TelegramID: "-5"}, fields: []string{"telegram_id"}},
		{name: "telegram short username", in: ClientInput{FirstName: "A", TelegramID: "@ab"}, fields: []string{"telegram_id"}},
		{name: "language", in: ClientInput{FirstName: "A", Language: "es"}, fields: []string{"language"}},
		{name: "timezone", in: ClientInput{FirstName: "A", Timezone: "Mars/Olympus"}, fields: []string{"timezone"}},
		{name: "ids", in: ClientInput{FirstName: "A", GroupIDs: []string{gid, gid}, CenterIDs: []string{"x"}}, fields: []string{"group_ids", "center_ids"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			f := in.validate("fr", "Europe/Paris")
			var got []string
			for _, fe := range f {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("field errors = %v, want %v (%v)", got, tc.fields, f)
			}
			if tc.check != nil {
				tc.check(t, in)
			}
		})
	}
}

func TestTelegramIDJSON(t *testing.T) {
	cases := []struct {
		body    string
		want    TelegramID
		wantErr bool
	}{
		{`{"telegram_id": 123456789}`, "123456789", false},
		{`{"telegram_id": "123456789"}`, "123456789", false},
		{`{"telegram_id": "@anna_p"}`, "@anna_p", false},
		{`{"telegram_id": null}`, "", false},
		{`{"telegram_id": 1.5}`, "", true},
		{`{"telegram_id": 99999999999999999999}`, "", true},
		{`{"telegram_id": true}`, "", true},
		{`{"telegram_id": {}}`, "", true},
	}
	for _, tc := range cases {
		var in ClientInput
		err := json.Unmarshal([]byte(tc.body), &in)
		if tc.wantErr {
			var te *json.UnmarshalTypeError
			if err == nil || !errors.As(err, &te) || te.Field != "telegram_id" {
				t.Errorf("%s: err = %v, want a type error on telegram_id", tc.body, err)
			}
			continue
		}
		if err != nil || in.TelegramID != tc.want {
			t.Errorf("%s: got %q, %v", tc.body, in.TelegramID, err)
		}
	}
}

func TestClientFilterQuery(t *testing.T) {
	dir := Principal{OrgID: "o", Role: RoleDirector}
	spec := Principal{OrgID: "o", Role: RoleSpecialist, CenterIDs: []string{"c1"}}
	cases := []struct {
		name   string
		f      ClientFilter
		p      Principal
		fields []string
		check  func(t *testing.T, q ClientQuery)
	}{
		{name: "name", f: ClientFilter{Query: "  АННА "}, p: dir, check: func(t *testing.T, q ClientQuery) {
			if q.NameContains != "анна" || q.PhoneDigits != nil || q.Archived != ArchivedExclude || !q.AllCenters {
				t.Fatalf("q = %+v", q)
			}
		}},
		{name: "phone digits", f: ClientFilter{Query: "612 34"}, p: spec, check: func(t *testing.T, q ClientQuery) {
			if q.NameContains != "" || len(q.PhoneDigits) != 1 || q.PhoneDigits[0] != "61234" || q.AllCenters || q.VisibleCenters[0] != "c1" {
				t.Fatalf("q = %+v", q)
			}
		}},
		{name: "national phone tries without trunk zero", f: ClientFilter{Query: "06 12-34"}, p: dir, check: func(t *testing.T, q ClientQuery) {
			if strings.Join(q.PhoneDigits, ",") != "061234,61234" {
				t.Fatalf("q = %+v", q)
			}
		}},
		{name: "mixed text is a name", f: ClientFilter{Query: "anna 2"}, p: dir, check: func(t *testing.T, q ClientQuery) {
			if q.NameContains != "anna 2" || q.PhoneDigits != nil {
				t.Fatalf("q = %+v", q)
			}
		}},
		{name: "all filters", f: ClientFilter{GroupID: NewID(), CenterID: NewID(), Status: ClientLost, Archived: ArchivedAll}, p: dir},
		{name: "bad filters", f: ClientFilter{Query: strings.Repeat("a", 101), GroupID: "g", CenterID: "c", Status: "gone", Archived: "yes"}, p: dir,
			fields: []string{"q", "group_id", "center_id", "status", "archived"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			q, err := tc.f.query(tc.p)
			var got []string
			if e, ok := AsError(err); ok {
				for _, fe := range e.Fields {
					got = append(got, fe.Field)
				}
			} else if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("field errors = %v, want %v", got, tc.fields)
			}
			if tc.check != nil {
				tc.check(t, q)
			}
		})
	}
}

func TestClientVisible(t *testing.T) {
	dir := Principal{Role: RoleDirector}
	admin := Principal{Role: RoleAdministrator, CenterIDs: []string{"c1"}}
	cases := []struct {
		p       Principal
		centers []string
		want    bool
	}{
		{dir, []string{"c2"}, true},
		{admin, nil, true},
		{admin, []string{"c1"}, true},
		{admin, []string{"c2", "c1"}, true},
		{admin, []string{"c2"}, false},
	}
	for _, tc := range cases {
		if got := clientVisible(tc.p, Client{CenterIDs: tc.centers}); got != tc.want {
			t.Errorf("%s sees client of %v = %v, want %v", tc.p.Role, tc.centers, got, tc.want)
		}
	}
}

func TestInvitationCheckUsable(t *testing.T) {
	now := clientTestNow
	one, three := 1, 3
	cases := []struct {
		name string
		inv  Invitation
		want string // "" when usable
	}{
		{"open", Invitation{Active: true}, ""},
		{"inactive", Invitation{Active: false}, "invitation is no longer active"},
		{"not yet", Invitation{Active: true, ValidFrom: ptime(now.Add(time.Hour))}, "invitation is not valid yet"},
		{"starts now", Invitation{Active: true, ValidFrom: ptime(now)}, ""},
		{"expired", Invitation{Active: true, ValidUntil: ptime(now.Add(-time.Second))}, "invitation expired"},
		{"ends now", Invitation{Active: true, ValidUntil: ptime(now)}, "invitation expired"},
		{"single use unused", Invitation{Active: true, MaxUses: &one}, ""},
		{"single use used", Invitation{Active: true, MaxUses: &one, Uses: 1}, "invitation already used"},
		{"multi use left", Invitation{Active: true, MaxUses: &three, Uses: 2}, ""},
		{"multi use spent", Invitation{Active: true, MaxUses: &three, Uses: 3}, "invitation has no uses left"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.inv.CheckUsable(now)
			if tc.want == "" {
				if err != nil {
					t.Fatalf("err = %v", err)
				}
				return
			}
			e, ok := AsError(err)
			if !ok || e.Code != CodeConflict || e.Message != tc.want {
				t.Fatalf("err = %v, want conflict %q", err, tc.want)
			}
		})
	}
}

func TestInvitationInputValidate(t *testing.T) {
	two, zero := 2, 0
	cases := []struct {
		name   string
		in     InvitationInput
		fields []string
		check  func(t *testing.T, in InvitationInput, from, until *time.Time)
	}{
		{name: "multi-use open", in: InvitationInput{Name: " Instagram "}, check: func(t *testing.T, in InvitationInput, from, until *time.Time) {
			if in.Name != "Instagram" || in.MaxUses != nil || from != nil || until != nil {
				t.Fatalf("in = %+v", in)
			}
		}},
		{name: "single use", in: InvitationInput{Name: "Card", SingleUse: true}, check: func(t *testing.T, in InvitationInput, _, _ *time.Time) {
			if in.MaxUses == nil || *in.MaxUses != 1 {
				t.Fatalf("max_uses = %v", in.MaxUses)
			}
		}},
		{name: "window", in: InvitationInput{Name: "x", ValidFrom: "2025-03-01T09:00:00+01:00", ValidUntil: "2025-04-01T00:00:00Z"},
			check: func(t *testing.T, _ InvitationInput, from, until *time.Time) {
				if !from.Equal(time.Date(2025, 3, 1, 8, 0, 0, 0, time.UTC)) || from.Location() != time.UTC || until == nil {
					t.Fatalf("from = %v until = %v", from, until)
				}
			}},
		{name: "errors", in: InvitationInput{TargetStaffID: "x", ValidFrom: "tomorrow", ValidUntil: "2025-04-01"},
			fields: []string{"name", "target_staff_id", "valid_from", "valid_until"}},
		{name: "until before from", in: InvitationInput{Name: "x", ValidFrom: "2025-03-01T00:00:00Z", ValidUntil: "2025-03-01T00:00:00Z"},
			fields: []string{"valid_until"}},
		{name: "single use with max 2", in: InvitationInput{Name: "x", SingleUse: true, MaxUses: &two}, fields: []string{"max_uses"}},
		{name: "max 0", in: InvitationInput{Name: "x", MaxUses: &zero}, fields: []string{"max_uses"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			from, until, f := in.validate()
			var got []string
			for _, fe := range f {
				got = append(got, fe.Field)
			}
			if strings.Join(got, ",") != strings.Join(tc.fields, ",") {
				t.Fatalf("field errors = %v, want %v", got, tc.fields)
			}
			if tc.check != nil {
				tc.check(t, in, from, until)
			}
		})
	}
}

func TestNewInvitationCode(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		c := NewInvitationCode()
		if len(c) != 16 || strings.Trim(c, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_") != "" || seen[c] {
			t.Fatalf("code %q", c)
		}
		seen[c] = true
	}
}

// clientFakeStore is an in-memory ClientStore for the service rules that
// need one; everything else of Store is left nil and panics if reached.
type clientFakeStore struct {
	Store
	org     Organization
	clients []Client
	visits  map[string]VisitSummary
	writes  int
	lists   int
}

func (f *clientFakeStore) GetOrganization(_ context.Context, id string) (Organization, error) {
	if id != f.org.ID {
		return Organization{}, NotFound("organization")
	}
	return f.org, nil
}

func (f *clientFakeStore) GetCenter(_ context.Context, _, id string) (Center, error) {
	return Center{}, NotFound("center")
}

func (f *clientFakeStore) GetClientGroup(_ context.Context, _, id string) (ClientGroup, error) {
	return ClientGroup{}, NotFound("client group")
}

func (f *clientFakeStore) CreateClient(_ context.Context, c Client) error {
	f.writes++
	f.clients = append(f.clients, c)
	return nil
}

func (f *clientFakeStore) ListClients(_ context.Context, _ string, _ ClientQuery, p Page) ([]Client, error) {
	f.lists++
	out := []Client{}
	for _, c := range f.clients {
		if c.ID > p.After && len(out) < p.Limit {
			out = append(out, c)
		}
	}
	return out, nil
}

func (f *clientFakeStore) ClientVisits(_ context.Context, _ string, ids []string, _ time.Time) (map[string]VisitSummary, error) {
	out := map[string]VisitSummary{}
	for _, id := range ids {
		if v, ok := f.visits[id]; ok {
			out[id] = v
		}
	}
	return out, nil
}

type clientTestClock struct{ t time.Time }

func (c clientTestClock) Now() time.Time { return c.t }

type clientTestSink struct{}

func (clientTestSink) Publish(context.Context, Event) error { return nil }

func newClientTestService(t *testing.T) (*ClientService, *clientFakeStore) {
	t.Helper()
	st := &clientFakeStore{org: Organization{ID: NewID(), Locale: "en", Timezone: "UTC", LostAfterDays: 14}, visits: map[string]VisitSummary{}}
	return &ClientService{base: base{clock: clientTestClock{clientTestNow}, events: clientTestSink{}}, store: st}, st
}

func TestCreateClientRejectsWithoutWriting(t *testing.T) {
	svc, st := newClientTestService(t)
	p := Principal{OrgID: st.org.ID, Role: RoleSpecialist, CenterIDs: []string{NewID()}}
	_, err := svc.CreateClient(context.Background(), p, ClientInput{Phone: "12", CenterIDs: []string{NewID()}, GroupIDs: []string{NewID()}})
	e, ok := AsError(err)
	if !ok || e.Code != CodeInvalid {
		t.Fatalf("err = %v", err)
	}
	var got []string
	for _, fe := range e.Fields {
		got = append(got, fe.Field)
	}
	// No name, bad phone, a center the specialist has no access to
	// (whether it exists is not theirs to learn), a group that does not
	// exist.
	if strings.Join(got, ",") != "first_name,phone,center_ids,group_ids" {
		t.Fatalf("fields = %v", got)
	}
	if st.writes != 0 {
		t.Fatal("invalid input was written")
	}
	c, err := svc.CreateClient(context.Background(), p, ClientInput{Name: "Anna", Phone: "+33612345678"})
	if err != nil || c.Language != "en" || c.Status != ClientInactive || c.Name != "Anna" || st.writes != 1 {
		t.Fatalf("CreateClient = %+v, %v", c, err)
	}
}

// A status filter is applied after fetching, across store batches, and the
// page stays full so that its last item is a correct cursor.
func TestListClientsStatusFilterPages(t *testing.T) {
	svc, st := newClientTestService(t)
	p := Principal{OrgID: st.org.ID, Role: RoleDirector}
	var active []string
	for i := range 500 {
		c := Client{ID: NewID(), OrgID: st.org.ID, CreatedAt: clientTestNow.Add(-60 * 24 * time.Hour)}
		if i%7 == 0 {
			st.visits[c.ID] = VisitSummary{NextVisit: ptime(clientTestNow.Add(time.Hour))}
			active = append(active, c.ID)
		}
		st.clients = append(st.clients, c)
	}
	var got []string
	pg := Page{Limit: 30}
	for {
		l, err := svc.ListClients(context.Background(), p, ClientFilter{Status: ClientActive}, pg)
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range l {
			if c.Status != ClientActive {
				t.Fatalf("client %s has status %s", c.ID, c.Status)
			}
			got = append(got, c.ID)
		}
		if len(l) < pg.Limit {
			break
		}
		pg.After = l[len(l)-1].ID
	}
	if strings.Join(got, ",") != strings.Join(active, ",") {
		t.Fatalf("paged %d active clients, want %d", len(got), len(active))
	}
	lost, err := svc.ListClients(context.Background(), p, ClientFilter{Status: ClientLost}, Page{Limit: 1000})
	if err != nil || len(lost) != 500-len(active) {
		t.Fatalf("lost = %d, %v", len(lost), err)
	}
}

func TestDecideJoin(t *testing.T) {
	now := clientTestNow
	one := 1
	inv := Invitation{ID: NewID(), Name: "Flyer", Active: true}
	used := inv
	used.MaxUses, used.Uses = &one, 1
	closed := inv
	closed.Active = false
	joined := Client{ID: NewID(), SourceInvitationID: inv.ID, Source: "Flyer"}
	card := Client{ID: NewID(), Source: "phone call"}
	other := Client{ID: NewID(), SourceInvitationID: NewID(), Source: "Other link"}
	cases := []struct {
		name      string
		inv       Invitation
		same      []Client
		wantID    string // "" for a new client
		countUse  bool
		wantSrcID string
		err       bool
	}{
		{"new phone", inv, nil, "", true, inv.ID, false},
		{"joined through this link", inv, []Client{card, joined}, joined.ID, false, inv.ID, false},
		{"joined through this link, used up", used, []Client{joined}, joined.ID, false, inv.ID, false},
		{"staff's card", inv, []Client{card}, card.ID, true, inv.ID, false},
		{"came through another link", inv, []Client{other}, other.ID, true, other.SourceInvitationID, false},
		{"new phone, used up", used, nil, "", false, "", true},
		{"joined, link inactive", closed, []Client{joined}, "", false, "", true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			j, err := decideJoin(tc.inv, now, "org", ClientInput{FirstName: "N"}, tc.same)
			if tc.err {
				if ErrorCode(err) != CodeConflict {
					t.Fatalf("err = %v, want a conflict", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if j.Existing != (tc.wantID != "") || tc.wantID != "" && j.Client.ID != tc.wantID || j.CountUse != tc.countUse ||
				j.Client.SourceInvitationID != tc.wantSrcID {
				t.Fatalf("decideJoin = %+v", j)
			}
		})
	}
}

func TestSplitName(t *testing.T) {
	for _, tc := range []struct{ in, first, last string }{
		{"Anna Petrova", "Anna", "Petrova"},
		{"  Anna   Petrova ", "Anna", "Petrova"},
		{"Jean de La Fontaine", "Jean", "de La Fontaine"},
		{"Petrova, Anna", "Anna", "Petrova"},
		{"de La Fontaine,Jean", "Jean", "de La Fontaine"},
		{"Madonna", "Madonna", ""},
	} {
		first, last, why := SplitName(tc.in)
		if first != tc.first || last != tc.last || why != "" {
			t.Errorf("SplitName(%q) = %q, %q, %q; want %q, %q", tc.in, first, last, why, tc.first, tc.last)
		}
	}
	for _, in := range []string{"Petrova, Anna, Maria", ", Anna", "Petrova,"} {
		if _, _, why := SplitName(in); !strings.Contains(why, "First Last") {
			t.Errorf("SplitName(%q) gives %q, want a refusal saying how to write it", in, why)
		}
	}
}

// plannedCalls is a source of planned actions, as telephony's planned
// calls will be.
type plannedCalls map[string]time.Time

func (p plannedCalls) NextPlanned(_ context.Context, _ string, ids []string, now time.Time) (map[string]time.Time, error) {
	out := map[string]time.Time{}
	for _, id := range ids {
		if at, ok := p[id]; ok && !at.Before(now) {
			out[id] = at
		}
	}
	return out, nil
}

func TestPlannedActionsKeepClientsActive(t *testing.T) {
	s, st := newClientTestService(t)
	old := clientTestNow.Add(-60 * 24 * time.Hour)
	called, quiet := Client{ID: NewID(), CreatedAt: old}, Client{ID: NewID(), CreatedAt: old}
	st.clients = []Client{called, quiet}
	p := Principal{OrgID: st.org.ID, Role: RoleDirector}
	status := func() map[string]string {
		l, err := s.ListClients(context.Background(), p, ClientFilter{}, Page{})
		if err != nil {
			t.Fatal(err)
		}
		out := map[string]string{}
		for _, c := range l {
			out[c.ID] = c.Status
		}
		return out
	}
	if got := status(); got[called.ID] != ClientLost || got[quiet.ID] != ClientLost {
		t.Fatalf("without planned calls: %v", got)
	}
	s.CountPlanned(plannedCalls{called.ID: clientTestNow.Add(time.Hour), quiet.ID: clientTestNow.Add(-time.Hour)})
	if got := status(); got[called.ID] != ClientActive || got[quiet.ID] != ClientLost {
		t.Fatalf("with a call planned for one client: %v", got)
	}
}
