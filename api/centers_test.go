package api_test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

// TestCenterIsolation: inside one organization, an administrator limited to
// centre A and a specialist of centre A learn nothing of centre B and
// change nothing of it; the specialist also learns nothing of a colleague's
// appointments, waiting list and invitations, and sees (read-only) the
// colleague's staff record, services and schedule. Every /api/v1 route with
// ids is called on those resources and with made-up ids: a hidden resource
// answers exactly as a made-up id does (404 for reads); a visible read-only
// one answers 200 to reads and 403 to writes. The director's reads of
// every resource are the same before and after, and the callers' lists
// name none of the hidden resources.
func TestCenterIsolation(t *testing.T) {
	eachBackend(t, func(t *testing.T, dbURL string) {
		a, srv := newApp(t, dbURL, nil)
		boot := bootstrap(t, a, "Org")
		dir := client{t, srv.URL, boot.PlainKey}
		relay := func() {
			if _, err := a.Notify.RelayEvents(context.Background()); err != nil {
				t.Fatal(err)
			}
		}
		centerA := must[core.Center](t, dir.post("/api/v1/centers", `{"name":"A","timezone":"UTC"}`), 201)
		keyOf := func(name, role string) (client, string) {
			st := must[core.Staff](t, dir.post("/api/v1/staff", `{"name":"`+name+`","role":"`+role+`","timezone":"UTC","center_ids":["`+centerA.ID+`"]}`), 201)
			k := must[map[string]any](t, dir.post("/api/v1/api-keys", `{"name":"`+name+`","staff_id":"`+st.ID+`"}`), 201)
			return client{t, srv.URL, k["key"].(string)}, st.ID
		}
		admin, _ := keyOf("Admin A", "administrator")
		spec, _ := keyOf("Spec A", "specialist")
		_, colleague := keyOf("Colleague A", "specialist")

		// A failed event (directors only see and retry those).
		storetest.InsertEvent(t, dbURL, storetest.PoisonedEvent(boot.Organization.ID))
		centreB := makeResources(t, dir, relay, resourceOpts{scoped: true, app: a})
		mate := makeResources(t, dir, relay, resourceOpts{centerID: centerA.ID, staffID: colleague, scoped: true, app: a})
		before := centreB.snapshot(t, dir)
		mateBefore := mate.snapshot(t, dir)

		// What the specialist may see of a colleague in the same centre.
		colleagueVisible := map[string]bool{
			"/api/v1/staff/:id": true, "/api/v1/staff/:id/schedule": true, "GET /api/v1/services/:id": true,
			"PUT /api/v1/services/:id": true, "POST /api/v1/staff/:id/time-off": true,
			"DELETE /api/v1/staff/:id/time-off/:exception_id": true, "GET /api/v1/rooms/:id": true,
			"GET /api/v1/rooms/:id/schedule": true, "GET /api/v1/centers/:id": true,
			"/api/v1/services/:id/reminder-policy": true, "/api/v1/centers/:id/reminder-policy": true,
			"/api/v1/rooms/:id/time-off*": true, "PUT /api/v1/rooms/:id/schedule": true, "PUT /api/v1/rooms/:id": true,
			"POST /api/v1/services/:id/import": true, "PATCH /api/v1/services/:id": true,
			// The centre's clients (and their packages) are every staff
			// member's of the centre: theirs to change too.
			"/api/v1/clients/:id*": false, "/api/v1/package-sales/:id*": false, "/api/v1/client-groups/:id/members/:client_id": false,
			// The centre's calls, planned calls and call settings are the
			// centre's staff's: they work through the planned calls.
			"/api/v1/calls/:id": true, "GET /api/v1/planned-calls/:id": true, "POST /api/v1/planned-calls/:id/result": false,
			"/api/v1/centers/:id/call-settings": true,
		}
		for _, tc := range []struct {
			name    string
			caller  client
			of      tenantB
			visible map[string]bool
		}{
			{"administrator of A on centre B", admin, centreB, nil},
			{"specialist of A on centre B", spec, centreB, nil},
			{"specialist of A on a colleague", spec, mate, colleagueVisible},
		} {
			t.Run(tc.name, func(t *testing.T) {
				if n := sweepPaths(t, a, tc.caller, dir, tc.of, crossBodies(tc.of), tc.visible); n < 30 {
					t.Errorf("only %d routes with ids checked", n)
				}
				// The caller's lists name none of the hidden resources.
				hidden := []string{tc.of.ids["appointments"], tc.of.ids["waiting-list"], tc.of.ids["invitations"], tc.of.ids["messages"], tc.of.ids["conversations"]}
				if tc.visible == nil {
					hidden = append(hidden, tc.of.ids["package-sales"], tc.of.ids["clients"], tc.of.client2, tc.of.ids["staff"], tc.of.ids["rooms"],
						tc.of.ids["services"], tc.of.ids["centers"])
				}
				for _, p := range []string{"/api/v1/conversations", "/api/v1/conversations?center_id=" + tc.of.ids["centers"], "/api/v1/appointments", "/api/v1/waiting-list", "/api/v1/invitations", "/api/v1/messages",
					"/api/v1/inbound", "/api/v1/package-sales", "/api/v1/debtors", "/api/v1/clients?archived=all", "/api/v1/staff",
					"/api/v1/rooms", "/api/v1/centers", "/api/v1/services", "/api/v1/appointments?center_id=" + tc.of.ids["centers"]} {
					r := tc.caller.get(p)
					if r.Status >= 500 {
						t.Errorf("%s: %d %s", p, r.Status, r.Body)
					}
					for _, id := range hidden {
						if strings.Contains(string(r.Body), id) {
							t.Errorf("%s names hidden resource %s: %s", p, id, r.Body)
						}
					}
				}
			})
		}
		// Live events: the centre-A keys receive nothing of centre B, nor
		// what is addressed to a colleague.
		org := boot.Organization.ID
		for _, caller := range []client{admin, spec} {
			liveSeesOnly(t, a, caller, []core.LiveEvent{
				{Kind: core.LiveMessageNew, OrgID: org, CenterID: centreB.ids["centers"]},
				{Kind: core.LiveCallIncoming, OrgID: org, CenterID: centreB.ids["centers"], StaffID: centreB.ids["staff"]},
				{Kind: core.LiveCallIncoming, OrgID: org, CenterID: centerA.ID, StaffID: colleague},
			}, []core.LiveEvent{marker(org, centerA.ID, 1)})
		}
		// Nor does a specialist get its own centre's chats or campaign
		// progress, which its key cannot read through the API either.
		liveSeesOnly(t, a, spec, []core.LiveEvent{
			{Kind: core.LiveMessageNew, OrgID: org, CenterID: centerA.ID},
			{Kind: core.LiveConversationNew, OrgID: org, CenterID: centerA.ID},
			{Kind: core.LiveCampaignProgress, OrgID: org, CenterID: centerA.ID},
		}, []core.LiveEvent{marker(org, centerA.ID, 2)})

		// Ids of centre B in queries and bodies: answered as made-up ids.
		day := time.Now().UTC().Add(48 * time.Hour).Truncate(24 * time.Hour)
		for _, q := range []struct{ method, path, body string }{
			{"GET", "/api/v1/availability?specialist_id={staff}&service_id={service}&from=" + day.Format("2006-01-02") + "&to=" + day.Format("2006-01-02"), ""},
			{"GET", "/api/v1/rooms?center_id={center}", ""},
			{"GET", "/api/v1/services?owner_id={staff}", ""},
			{"POST", "/api/v1/appointments", `{"specialist_id":"{staff}","service_id":"{service}","client_id":"{client}","start":"` + day.Add(12*time.Hour).Format(time.RFC3339) + `"}`},
			{"POST", "/api/v1/rooms", `{"center_id":"{center}","name":"in B"}`},
			{"POST", "/api/v1/clients", `{"name":"x","center_ids":["{center}"]}`},
			{"POST", "/api/v1/invitations", `{"name":"x","target_staff_id":"{staff}"}`},
			{"POST", "/api/v1/waiting-list", `{"client_id":"{client}","specialist_id":"{staff}","service_id":"{service}","from":"` +
				day.Add(10*time.Hour).Format(time.RFC3339) + `","to":"` + day.Add(12*time.Hour).Format(time.RFC3339) + `"}`},
			{"POST", "/api/v1/package-sales", `{"package_id":"{package}","client_id":"{client}"}`},
			{"POST", "/api/v1/appointments/remind", `{"ids":["{appt}"]}`},
			{"POST", "/api/v1/appointments/bulk-status", `{"ids":["{appt}"],"from_status":"accepted","status":"cancelled"}`},
		} {
			for _, caller := range []client{admin, spec} {
				r := strings.NewReplacer("{staff}", centreB.ids["staff"], "{service}", centreB.ids["services"], "{client}", centreB.ids["clients"],
					"{center}", centreB.ids["centers"], "{appt}", centreB.ids["appointments"], "{package}", centreB.ids["packages"])
				fr := strings.NewReplacer("{staff}", core.NewID(), "{service}", core.NewID(), "{client}", core.NewID(),
					"{center}", core.NewID(), "{appt}", core.NewID(), "{package}", centreB.ids["packages"])
				cross := caller.do(req{Method: q.method, Path: r.Replace(q.path), Body: r.Replace(q.body)})
				fake := caller.do(req{Method: q.method, Path: fr.Replace(q.path), Body: fr.Replace(q.body)})
				if q.method == "POST" && cross.Status < 400 {
					t.Errorf("%s %s with centre B's ids answered %d: %s", q.method, q.path, cross.Status, cross.Body)
				}
				if !sameAnswer(cross, fake) {
					t.Errorf("%s %s tells centre B's ids from made-up ones:\n B's:      %d %s\n made-up:  %d %s",
						q.method, q.path, cross.Status, cross.Body, fake.Status, fake.Body)
				}
			}
		}
		for name, snap := range map[string]struct {
			b      tenantB
			before map[string]string
		}{"centre B": {centreB, before}, "the colleague": {mate, mateBefore}} {
			after := snap.b.snapshot(t, dir)
			for _, p := range snap.b.snapshots {
				if snap.before[p] != after[p] {
					t.Errorf("%s: %s changed:\nbefore %s\nafter  %s", name, p, snap.before[p], after[p])
				}
			}
		}
	})
}
