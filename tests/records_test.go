package tests

import (
	"net/url"
	"testing"

	"github.com/bookinggw/gateway/core"
)

// TestPatchMergesPutReplaces: PATCH changes only the fields it names, for
// clients, staff, services and centres; PUT stays a full replace.
func TestPatchMergesPutReplaces(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		var center core.Center
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Main", "address": "1 rue de la Paix", "phone": "+33140000000"}, &center)
		var group core.ClientGroup
		e.must(201, "POST", "/api/v1/client-groups", map[string]any{"name": "Swimmers"}, &group)
		var cl core.Client
		e.must(201, "POST", "/api/v1/clients", map[string]any{"first_name": "Anne", "last_name": "Martin", "phone": "+33612345678",
			"email": "anne@example.com", "center_ids": []string{center.ID}, "notes": "allergic to chlorine"}, &cl)

		// The reported case: adding a group keeps the phone and the centre.
		e.must(200, "PATCH", "/api/v1/clients/"+cl.ID, map[string]any{"group_ids": []string{group.ID}}, &cl)
		if cl.Phone != "+33612345678" || cl.Email != "anne@example.com" || len(cl.CenterIDs) != 1 || cl.Notes != "allergic to chlorine" ||
			len(cl.GroupIDs) != 1 || cl.Name != "Anne Martin" {
			t.Fatalf("after PATCH group_ids: %+v", cl)
		}
		e.must(200, "PATCH", "/api/v1/clients/"+cl.ID, map[string]any{"name": "Anne-Marie Martin"}, &cl)
		if cl.Name != "Anne-Marie Martin" || cl.Phone != "+33612345678" || len(cl.GroupIDs) != 1 {
			t.Fatalf("after PATCH name: %+v", cl)
		}
		first := cl.FirstName
		e.must(200, "PATCH", "/api/v1/clients/"+cl.ID, map[string]any{"last_name": "Dupont"}, &cl)
		if cl.FirstName != first || cl.LastName != "Dupont" || cl.Phone != "+33612345678" {
			t.Fatalf("after PATCH last_name: %+v", cl)
		}
		// A bad patch changes nothing.
		before := cl
		for _, body := range []map[string]any{{"phone": "not a phone"}, {"colour": "red"}, {"email": 42}} {
			var p problem
			if code := e.do(e.key, "PATCH", "/api/v1/clients/"+cl.ID, body, &p); code != 400 {
				t.Fatalf("bad patch %v: %d", body, code)
			}
		}
		e.must(200, "GET", "/api/v1/clients/"+cl.ID, nil, &cl)
		if cl.Phone != before.Phone || cl.Email != before.Email || cl.LastName != before.LastName {
			t.Fatalf("a refused patch changed the client: %+v", cl)
		}
		// PUT replaces: what it does not send is emptied.
		e.must(200, "PUT", "/api/v1/clients/"+cl.ID, map[string]any{"name": "Anne Martin"}, &cl)
		if cl.Phone != "" || len(cl.GroupIDs) != 0 || len(cl.CenterIDs) != 0 {
			t.Fatalf("PUT kept fields it did not send: %+v", cl)
		}

		var st core.Staff
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Dr Martin", "role": "specialist", "email": "dr@example.com",
			"center_ids": []string{center.ID}, "slack_user_id": "U123"}, &st)
		e.must(200, "PATCH", "/api/v1/staff/"+st.ID, map[string]any{"phone": "+33611111111"}, &st)
		if st.Phone != "+33611111111" || st.Email != "dr@example.com" || st.Role != core.RoleSpecialist || len(st.CenterIDs) != 1 ||
			st.SlackUserID != "U123" || !st.Active {
			t.Fatalf("after PATCH staff: %+v", st)
		}

		price := int64(4500)
		var sv core.Offering
		e.must(201, "POST", "/api/v1/services", core.ServiceInput{Name: "Swimming", DurationMin: 45, IntervalMin: 15, Capacity: 6,
			PriceMinor: &price, Currency: "EUR", Description: "in the big pool"}, &sv)
		e.must(200, "PATCH", "/api/v1/services/"+sv.ID, map[string]any{"price_minor": 5000}, &sv)
		if sv.PriceMinor == nil || *sv.PriceMinor != 5000 || sv.DurationMin != 45 || sv.IntervalMin != 15 || sv.Capacity != 6 ||
			sv.Description != "in the big pool" || !sv.Active {
			t.Fatalf("after PATCH service: %+v", sv)
		}
		e.must(200, "PATCH", "/api/v1/services/"+sv.ID, map[string]any{"price_minor": nil}, &sv)
		if sv.PriceMinor != nil || sv.DurationMin != 45 {
			t.Fatalf("price_minor null hides the price: %+v", sv)
		}

		e.must(200, "PATCH", "/api/v1/centers/"+center.ID, map[string]any{"slack_channel": "C42"}, &center)
		if center.Address != "1 rue de la Paix" || center.Phone != "+33140000000" || center.SlackChannel != "C42" || center.Name != "Main" {
			t.Fatalf("after PATCH center: %+v", center)
		}
		// Roles hold for PATCH as for PUT.
		var k struct {
			Key string `json:"key"`
		}
		e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "spec", "staff_id": st.ID}, &k)
		var p problem
		if code := e.do(k.Key, "PATCH", "/api/v1/centers/"+center.ID, map[string]any{"name": "Mine"}, &p); code != 403 {
			t.Fatalf("specialist patching a center: %d %+v", code, p)
		}
	})
}

// TestClientGroups: groups are renamed and deleted, take and lose one
// member at a time, have names unique regardless of case, and a filter
// naming another organization's group is a 400.
func TestClientGroups(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		var swim, yoga core.ClientGroup
		e.must(201, "POST", "/api/v1/client-groups", map[string]any{"name": "Swimmers"}, &swim)
		e.must(201, "POST", "/api/v1/client-groups", map[string]any{"name": "Yoga"}, &yoga)
		var p problem
		for _, name := range []string{"swimmers", " SWIMMERS ", "Swimmers"} {
			if code := e.do(e.key, "POST", "/api/v1/client-groups", map[string]any{"name": name}, &p); code != 409 {
				t.Fatalf("group %q beside Swimmers: %d %+v", name, code, p)
			}
		}
		if code := e.do(e.key, "PATCH", "/api/v1/client-groups/"+yoga.ID, map[string]any{"name": "sWimmers"}, &p); code != 409 {
			t.Fatalf("renaming onto another group's name: %d %+v", code, p)
		}
		e.must(200, "PATCH", "/api/v1/client-groups/"+swim.ID, map[string]any{"name": "swimmers (adults)"}, &swim)
		e.must(200, "PATCH", "/api/v1/client-groups/"+swim.ID, map[string]any{"name": "Swimmers (adults)"}, &swim)
		if swim.Name != "Swimmers (adults)" {
			t.Fatalf("renamed: %+v", swim)
		}

		var anne, paul core.Client
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Anne", "phone": "+33612345678", "group_ids": []string{yoga.ID}}, &anne)
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Paul"}, &paul)
		members := func(g string) []string {
			var l struct {
				Items []core.Client `json:"items"`
			}
			e.must(200, "GET", "/api/v1/clients?group_id="+g, nil, &l)
			out := []string{}
			for _, c := range l.Items {
				out = append(out, c.Name)
			}
			return out
		}
		for i := 0; i < 2; i++ { // adding twice is one membership
			e.must(204, "PUT", "/api/v1/client-groups/"+swim.ID+"/members/"+anne.ID, nil, nil)
		}
		e.must(204, "PUT", "/api/v1/client-groups/"+swim.ID+"/members/"+paul.ID, nil, nil)
		if got := members(swim.ID); !equal(got, []string{"Anne", "Paul"}) {
			t.Fatalf("members %v", got)
		}
		e.must(204, "DELETE", "/api/v1/client-groups/"+swim.ID+"/members/"+paul.ID, nil, nil)
		e.must(204, "DELETE", "/api/v1/client-groups/"+swim.ID+"/members/"+paul.ID, nil, nil)
		if got := members(swim.ID); !equal(got, []string{"Anne"}) {
			t.Fatalf("members after removing Paul %v", got)
		}
		// Anne keeps her other group and her phone.
		e.must(200, "GET", "/api/v1/clients/"+anne.ID, nil, &anne)
		if len(anne.GroupIDs) != 2 || anne.Phone != "+33612345678" {
			t.Fatalf("Anne: %+v", anne)
		}
		if code := e.do(e.key, "PUT", "/api/v1/client-groups/"+swim.ID+"/members/"+core.NewID(), nil, &p); code != 404 {
			t.Fatalf("unknown client: %d", code)
		}

		// Another organization's group in a filter is a 400, as is a made-up one.
		otherKey, _ := e.bootstrap("Other", "UTC")
		var theirs core.ClientGroup
		if code := e.do(otherKey, "POST", "/api/v1/client-groups", map[string]any{"name": "Theirs"}, &theirs); code != 201 {
			t.Fatalf("other org's group: %d", code)
		}
		for _, g := range []string{theirs.ID, core.NewID()} {
			if code := e.do(e.key, "GET", "/api/v1/clients?group_id="+g, nil, &p); code != 400 || !hasField(p, "group_id") {
				t.Fatalf("filter by a group not ours: %d %+v", code, p)
			}
		}
		if code := e.do(otherKey, "DELETE", "/api/v1/client-groups/"+swim.ID, nil, &p); code != 404 {
			t.Fatalf("other org deleting our group: %d", code)
		}

		// Deleting a group leaves its clients, outside it; its name is free again.
		e.must(204, "DELETE", "/api/v1/client-groups/"+swim.ID, nil, nil)
		e.must(200, "GET", "/api/v1/clients/"+anne.ID, nil, &anne)
		if len(anne.GroupIDs) != 1 || anne.GroupIDs[0] != yoga.ID {
			t.Fatalf("Anne after the group was deleted: %+v", anne)
		}
		if code := e.do(e.key, "GET", "/api/v1/clients?group_id="+swim.ID, nil, &p); code != 400 {
			t.Fatalf("filter by a deleted group: %d", code)
		}
		e.must(201, "POST", "/api/v1/client-groups", map[string]any{"name": "SWIMMERS (ADULTS)"}, nil)
	})
}

// TestFamilyMemberFromCard: a family member is created from a card in one
// call, takes the card's phone and is linked both ways.
func TestFamilyMemberFromCard(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		var center core.Center
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Main"}, &center)
		var parent core.Client
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Marie Dubois", "phone": "+33612345678", "email": "marie@example.com",
			"language": "de", "center_ids": []string{center.ID}}, &parent)
		var link core.FamilyLink
		e.must(201, "POST", "/api/v1/clients/"+parent.ID+"/family-members", map[string]any{"name": "Léo Dubois", "relation": "child"}, &link)
		kid := link.Client
		if link.Relation != "child" || kid.Phone != "+33612345678" || kid.Email != "" || kid.Language != "de" ||
			len(kid.CenterIDs) != 1 || kid.CenterIDs[0] != center.ID || kid.Name != "Léo Dubois" {
			t.Fatalf("family member: %+v", link)
		}
		var fam struct {
			Items []core.FamilyLink `json:"items"`
		}
		e.must(200, "GET", "/api/v1/clients/"+parent.ID+"/family", nil, &fam)
		if len(fam.Items) != 1 || fam.Items[0].Client.ID != kid.ID || fam.Items[0].Relation != "child" {
			t.Fatalf("parent's family: %+v", fam.Items)
		}
		e.must(200, "GET", "/api/v1/clients/"+kid.ID+"/family", nil, &fam)
		if len(fam.Items) != 1 || fam.Items[0].Client.ID != parent.ID || fam.Items[0].Relation != "parent" {
			t.Fatalf("child's family: %+v", fam.Items)
		}
		// Its own phone wins; a bad relation creates nobody.
		e.must(201, "POST", "/api/v1/clients/"+parent.ID+"/family-members", map[string]any{"name": "Paul Dubois", "phone": "+33698765432",
			"relation": "spouse"}, &link)
		if link.Client.Phone != "+33698765432" {
			t.Fatalf("spouse: %+v", link.Client)
		}
		before := e.count("/api/v1/clients")
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/clients/"+parent.ID+"/family-members", map[string]any{"name": "X", "relation": "cousin"}, &p); code != 400 || !hasField(p, "relation") {
			t.Fatalf("bad relation: %d %+v", code, p)
		}
		if after := e.count("/api/v1/clients"); after != before {
			t.Fatalf("a refused family member created a client: %d → %d", before, after)
		}
	})
}

// TestJoinTwiceSamePhone: joining twice with one phone links the client
// who joined, not a duplicate, and counts one use; a card made by staff
// is linked rather than duplicated.
func TestJoinTwiceSamePhone(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		var inv core.Invitation
		e.must(201, "POST", "/api/v1/invitations", map[string]any{"name": "Instagram", "max_uses": 2}, &inv)
		var first, again core.Client
		e.must(201, "POST", "/api/v1/invitations/"+inv.ID+"/join", map[string]any{"name": "Chloé", "phone": "+33611111111"}, &first)
		e.must(201, "POST", "/api/v1/invitations/"+inv.ID+"/join", map[string]any{"name": "Chloé B.", "phone": "06 11 11 11 11", "phone_region": "FR"}, &again)
		if again.ID != first.ID || again.SourceInvitationID != inv.ID {
			t.Fatalf("second join made %+v, want the first client %s", again, first.ID)
		}
		e.must(200, "GET", "/api/v1/invitations/"+inv.ID, nil, &inv)
		if inv.Uses != 1 || inv.ClientsJoined != 1 {
			t.Fatalf("after joining twice: uses %d, joined %d", inv.Uses, inv.ClientsJoined)
		}
		// A card staff made earlier is linked by the link, counting a use.
		var card core.Client
		e.must(201, "POST", "/api/v1/clients", map[string]any{"name": "Hugo", "phone": "+33622222222"}, &card)
		var joined core.Client
		e.must(201, "POST", "/api/v1/invitations/"+inv.ID+"/join", map[string]any{"name": "Hugo", "phone": "+33622222222"}, &joined)
		if joined.ID != card.ID || joined.SourceInvitationID != inv.ID || joined.Source != "Instagram" {
			t.Fatalf("staff's card joining: %+v", joined)
		}
		e.must(200, "GET", "/api/v1/invitations/"+inv.ID, nil, &inv)
		if inv.Uses != 2 || inv.ClientsJoined != 2 {
			t.Fatalf("uses %d, joined %d", inv.Uses, inv.ClientsJoined)
		}
		// The link is used up for newcomers, not for those who joined.
		var p problem
		if code := e.do(e.key, "POST", "/api/v1/invitations/"+inv.ID+"/join", map[string]any{"name": "New", "phone": "+33633333333"}, &p); code != 409 {
			t.Fatalf("a third person on a two-use link: %d", code)
		}
		e.must(201, "POST", "/api/v1/invitations/"+inv.ID+"/join", map[string]any{"name": "Chloé", "phone": "+33611111111"}, &again)
		if again.ID != first.ID {
			t.Fatalf("rejoining a used-up link: %+v", again)
		}
		if n := e.count("/api/v1/clients"); n != 2 {
			t.Fatalf("%d clients, want Chloé and Hugo", n)
		}
	})
}

// TestClientSearch: clients are found by email, and by name regardless of
// accents and case, on SQLite and PostgreSQL alike.
func TestClientSearch(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		for _, c := range []map[string]any{
			{"first_name": "Élodie", "last_name": "Lefèvre", "email": "elodie.lefevre@example.fr"},
			{"name": "ELODIE MARTIN", "email": "em@mail.example"},
			{"name": "Łukasz Wałęsa", "email": "lukasz@example.pl"},
			{"name": "Zoë Brontë", "email": "zoe@Example.COM"},
		} {
			e.must(201, "POST", "/api/v1/clients", c, nil)
		}
		search := func(q string) []string {
			var l struct {
				Items []core.Client `json:"items"`
			}
			e.must(200, "GET", "/api/v1/clients?q="+url.QueryEscape(q), nil, &l)
			out := []string{}
			for _, c := range l.Items {
				out = append(out, c.Email)
			}
			return out
		}
		for q, want := range map[string][]string{
			"elodie":           {"elodie.lefevre@example.fr", "em@mail.example"},
			"Élodie":           {"elodie.lefevre@example.fr", "em@mail.example"},
			"ÉLODIE L":         {"elodie.lefevre@example.fr"},
			"lefevre":          {"elodie.lefevre@example.fr"},
			"LEFÈVRE":          {"elodie.lefevre@example.fr"},
			"lukasz walesa":    {"lukasz@example.pl"},
			"zoe bronte":       {"zoe@Example.COM"},
			"mail.example":     {"em@mail.example"},
			"zoe@example.com":  {"zoe@Example.COM"},
			"EXAMPLE.PL":       {"lukasz@example.pl"},
			"nobody@example":   {},
			"elodie.lefevre@e": {"elodie.lefevre@example.fr"},
		} {
			if got := search(q); !equal(got, want) {
				t.Errorf("q=%q found %v, want %v", q, got, want)
			}
		}
	})
}

// TestActivityFromImportedHistory: a new organization counts a client
// lost after 7 days; visits recorded before the client's card existed
// count, so imported history can make a client lost the day the card is
// made.
func TestActivityFromImportedHistory(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		var org core.Organization
		e.must(200, "GET", "/api/v1/organization", nil, &org)
		if org.LostAfterDays != 7 {
			t.Fatalf("default lost_after_days %d, want 7", org.LostAfterDays)
		}
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Visit", DurationMin: 60})
		// Today (2 March 2026) the card is made; the history is of 10 and 20 February.
		status := func() string {
			var c core.Client
			e.must(200, "GET", "/api/v1/clients/"+f.client, nil, &c)
			return c.Status
		}
		if got := status(); got != core.ClientInactive {
			t.Fatalf("new client with no visit: %s", got)
		}
		for _, day := range []string{"2026-02-10", "2026-02-20"} {
			var res core.BookingResult
			e.must(201, "POST", "/api/v1/appointments", map[string]any{"specialist_id": f.specialist, "service_id": f.service,
				"client_id": f.client, "start": day + "T10:00:00+01:00", "override": true}, &res)
			e.must(200, "POST", "/api/v1/appointments/"+res.Appointments[0].ID+"/status", map[string]any{"status": "completed"}, nil)
		}
		if got := status(); got != core.ClientLost {
			t.Fatalf("client whose last visit, imported, was 10 days ago: %s, want lost", got)
		}
		var l struct {
			Items []core.Client `json:"items"`
		}
		e.must(200, "GET", "/api/v1/clients?status=lost", nil, &l)
		if len(l.Items) != 1 || l.Items[0].ID != f.client || l.Items[0].LastVisitAt == nil {
			t.Fatalf("lost clients: %+v", l.Items)
		}
		// Something planned makes them active again.
		e.book(f, "2026-03-09T10:00:00+01:00")
		if got := status(); got != core.ClientActive {
			t.Fatalf("with a visit planned: %s", got)
		}
	})
}

// TestMarketersWithoutContacts: as an organization setting, marketers are
// not shown clients' phones and emails (lists, reads, messages) and cannot
// search or change them; the clients are still reached.
func TestMarketersWithoutContacts(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Visit", DurationMin: 60})
		e.must(200, "PATCH", "/api/v1/clients/"+f.client, map[string]any{"email": "anne@example.com"}, nil)
		var mk core.Staff
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Mia Marketing", "role": "marketer"}, &mk)
		var k struct {
			Key string `json:"key"`
		}
		e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "mk", "staff_id": mk.ID}, &k)
		marketer := func(method, path string, body any, out any) int { return e.do(k.Key, method, path, body, out) }
		contacts := func() (string, string) {
			var l struct {
				Items []core.Client `json:"items"`
			}
			if code := marketer("GET", "/api/v1/clients", nil, &l); code != 200 || len(l.Items) != 1 {
				t.Fatalf("marketer's list: %d %+v", code, l.Items)
			}
			return l.Items[0].Phone, l.Items[0].Email
		}
		// By default marketers see contacts.
		if phone, email := contacts(); phone != "+33612345678" || email != "anne@example.com" {
			t.Fatalf("setting off: %s %s", phone, email)
		}
		var org core.Organization
		e.must(200, "PATCH", "/api/v1/organization", map[string]any{"hide_contacts_from_marketers": true}, &org)
		if !org.HideContactsFromMarketers {
			t.Fatalf("organization: %+v", org)
		}
		if phone, email := contacts(); phone != "" || email != "" {
			t.Fatalf("setting on, marketer's list shows %q %q", phone, email)
		}
		var one core.Client
		if code := marketer("GET", "/api/v1/clients/"+f.client, nil, &one); code != 200 || one.Phone != "" || one.Email != "" || one.Name != "Anne Client" {
			t.Fatalf("marketer's read: %d %+v", code, one)
		}
		// Searching by a contact is refused or finds nothing; by name works.
		var p problem
		if code := marketer("GET", "/api/v1/clients?q=0612", nil, &p); code != 403 {
			t.Fatalf("marketer searching by phone: %d", code)
		}
		var l struct {
			Items []core.Client `json:"items"`
		}
		if code := marketer("GET", "/api/v1/clients?q=anne%40example", nil, &l); code != 200 || len(l.Items) != 0 {
			t.Fatalf("marketer searching by email: %d %+v", code, l.Items)
		}
		if code := marketer("GET", "/api/v1/clients?q=anne", nil, &l); code != 200 || len(l.Items) != 1 {
			t.Fatalf("marketer searching by name: %d %+v", code, l.Items)
		}
		// Writes keep the contacts they cannot see, and cannot change them.
		if code := marketer("PATCH", "/api/v1/clients/"+f.client, map[string]any{"notes": "likes newsletters"}, &one); code != 200 || one.Phone != "" {
			t.Fatalf("marketer's patch: %d %+v", code, one)
		}
		if code := marketer("PUT", "/api/v1/clients/"+f.client, map[string]any{"name": "Anne Client", "notes": "again"}, &one); code != 200 {
			t.Fatalf("marketer's put: %d %+v", code, one)
		}
		if code := marketer("PATCH", "/api/v1/clients/"+f.client, map[string]any{"phone": "+33699999999"}, &p); code != 403 {
			t.Fatalf("marketer changing a hidden phone: %d", code)
		}
		var dir core.Client
		e.must(200, "GET", "/api/v1/clients/"+f.client, nil, &dir)
		if dir.Phone != "+33612345678" || dir.Email != "anne@example.com" || dir.Notes != "again" {
			t.Fatalf("director's view after the marketer's writes: %+v", dir)
		}
		// Messages still reach the client; the marketer does not see where.
		a := e.book(f, "2026-03-09T10:00:00+01:00")
		if _, err := e.app.Notify.RelayEvents(t.Context()); err != nil {
			t.Fatal(err)
		}
		sent := e.messages("appointment_id=" + a.ID)
		if len(sent) != 1 || sent[0].To != "+33612345678" || sent[0].Status == core.MsgSkipped {
			t.Fatalf("the client's confirmation: %+v", sent)
		}
		var ml struct {
			Items []core.Message `json:"items"`
		}
		if code := marketer("GET", "/api/v1/messages?appointment_id="+a.ID, nil, &ml); code != 200 || len(ml.Items) != 1 || ml.Items[0].To != "" {
			t.Fatalf("marketer's messages: %d %+v", code, ml.Items)
		}
		var m core.Message
		if code := marketer("GET", "/api/v1/messages/"+sent[0].ID, nil, &m); code != 200 || m.To != "" {
			t.Fatalf("marketer's message: %d %+v", code, m)
		}
	})
}

// TestSpecialistFilterOfAnother: a specialist's key naming another
// specialist in ?specialist_id= is refused (appointments, waiting list);
// lists keyed by another specialist for a reason (their services, their
// free slots) show that specialist's, never the caller's own silently.
func TestSpecialistFilterOfAnother(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		f := e.setup("Europe/Paris", allWeek(core.PeriodJSON{Start: "09:00", End: "18:00"}), core.ServiceInput{Name: "Visit", DurationMin: 60})
		var me core.Staff
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Dr Me", "role": "specialist"}, &me)
		var k struct {
			Key string `json:"key"`
		}
		e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "me", "staff_id": me.ID}, &k)
		var own core.Offering
		e.must(201, "POST", "/api/v1/services", map[string]any{"name": "Mine", "duration_min": 30, "owner_id": me.ID}, &own)
		var theirs core.Offering
		e.must(201, "POST", "/api/v1/services", map[string]any{"name": "Theirs", "duration_min": 30, "owner_id": f.specialist}, &theirs)
		for _, path := range []string{"/api/v1/appointments?specialist_id=" + f.specialist, "/api/v1/waiting-list?specialist_id=" + f.specialist} {
			var p problem
			if code := e.do(k.Key, "GET", path, nil, &p); code != 403 {
				t.Errorf("%s with another specialist's id: %d, want 403", path, code)
			}
		}
		var l struct {
			Items []core.Offering `json:"items"`
		}
		if code := e.do(k.Key, "GET", "/api/v1/services?owner_id="+f.specialist, nil, &l); code != 200 || len(l.Items) != 1 || l.Items[0].ID != theirs.ID {
			t.Fatalf("a colleague's services: %d %+v", code, l.Items)
		}
	})
}
