package store_test

import (
	"context"
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/store/storetest"
	"github.com/bookinggw/gateway/core"
)

func newTestClient(orgID, first, last, phone string, created time.Time) core.Client {
	return core.Client{ID: core.NewID(), OrgID: orgID, FirstName: first, LastName: last, Name: core.FullName(first, last),
		Phone: phone, Language: "fr", Timezone: "Europe/Paris", GroupIDs: []string{}, CenterIDs: []string{}, CreatedAt: created}
}

func testClientIDs(l []core.Client) []string {
	ids := make([]string, len(l))
	for i, c := range l {
		ids[i] = c.ID
	}
	return ids
}

func mustCreateClient(t *testing.T, s *store.Store, c core.Client) core.Client {
	t.Helper()
	if err := s.CreateClient(context.Background(), c); err != nil {
		t.Fatal(err)
	}
	return c
}

func TestClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _ := newOrg(t, s, "A")
		b, _, _ := newOrg(t, s, "B")
		now := a.CreatedAt
		c1 := core.Center{ID: core.NewID(), OrgID: a.ID, Name: "Left bank", Timezone: "Europe/Paris", CreatedAt: now}
		c2 := core.Center{ID: core.NewID(), OrgID: a.ID, Name: "Right bank", Timezone: "Europe/Paris", CreatedAt: now}
		for _, c := range []core.Center{c1, c2} {
			if err := s.CreateCenter(ctx, c); err != nil {
				t.Fatal(err)
			}
		}
		g := core.ClientGroup{ID: core.NewID(), OrgID: a.ID, Name: "VIP", CreatedAt: now}
		if err := s.CreateClientGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		dup := core.ClientGroup{ID: core.NewID(), OrgID: a.ID, Name: "VIP", CreatedAt: now}
		if err := s.CreateClientGroup(ctx, dup); core.ErrorCode(err) != core.CodeConflict {
			t.Fatalf("duplicate group name err = %v", err)
		}
		// Another organization may use the same name.
		gb := core.ClientGroup{ID: core.NewID(), OrgID: b.ID, Name: "VIP", CreatedAt: now}
		if err := s.CreateClientGroup(ctx, gb); err != nil {
			t.Fatal(err)
		}

		anna := newTestClient(a.ID, "Anna", "Petrova", "+33612345678", now)
		anna.Email, anna.TelegramID, anna.Notes, anna.Source = "anna@example.com", "123456789", "allergic", "instagram"
		anna.GroupIDs, anna.CenterIDs = []string{g.ID}, []string{c1.ID}
		mustCreateClient(t, s, anna)
		// A child shares the parent's phone: phone is not unique.
		kid := mustCreateClient(t, s, newTestClient(a.ID, "Иван", "Петров", "+33612345678", now))
		bob := newTestClient(a.ID, "Bob", "", "+4915112345678", now)
		bob.CenterIDs = []string{c2.ID}
		mustCreateClient(t, s, bob)
		noPhone := mustCreateClient(t, s, newTestClient(a.ID, "Zoé", "100%_sure", "", now))
		other := mustCreateClient(t, s, newTestClient(b.ID, "Anna", "Other", "+33612345678", now))

		got, err := s.GetClient(ctx, a.ID, anna.ID)
		if err != nil {
			t.Fatal(err)
		}
		if got.Name != "Anna Petrova" || got.Phone != anna.Phone || got.Email != anna.Email || got.TelegramID != "123456789" ||
			got.Notes != "allergic" || got.Source != "instagram" || !slices.Equal(got.GroupIDs, []string{g.ID}) ||
			!slices.Equal(got.CenterIDs, []string{c1.ID}) || got.ArchivedAt != nil || !got.CreatedAt.Equal(now) {
			t.Fatalf("GetClient = %+v", got)
		}

		// Scoping: B sees none of A's clients or groups, nor A's of B's.
		if _, err := s.GetClient(ctx, b.ID, anna.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org GetClient err = %v", err)
		}
		if _, err := s.GetClientGroup(ctx, b.ID, g.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org GetClientGroup err = %v", err)
		}
		if l, _ := s.ListClientGroups(ctx, b.ID, core.Page{}); len(l) != 1 || l[0].ID != gb.ID {
			t.Fatalf("B's groups = %+v", l)
		}
		evil := anna
		evil.OrgID = b.ID
		if err := s.UpdateClient(ctx, evil); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org UpdateClient err = %v", err)
		}
		if err := s.SetClientArchived(ctx, b.ID, anna.ID, &now); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org archive err = %v", err)
		}
		// A client of B cannot be put in A's center or group; nothing is written.
		intruder := newTestClient(b.ID, "X", "", "", now)
		intruder.CenterIDs = []string{c1.ID}
		if err := s.CreateClient(ctx, intruder); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org center err = %v", err)
		}
		if _, err := s.GetClient(ctx, b.ID, intruder.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("failed CreateClient left a row: %v", err)
		}
		intruder.CenterIDs, intruder.GroupIDs = []string{}, []string{g.ID}
		if err := s.CreateClient(ctx, intruder); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org group err = %v", err)
		}

		list := func(q core.ClientQuery, p core.Page) []string {
			t.Helper()
			if !q.AllCenters && q.VisibleCenters == nil {
				q.AllCenters = true
			}
			l, err := s.ListClients(ctx, a.ID, q, p)
			if err != nil {
				t.Fatal(err)
			}
			return testClientIDs(l)
		}
		all := []string{anna.ID, kid.ID, bob.ID, noPhone.ID}
		if got := list(core.ClientQuery{}, core.Page{}); !slices.Equal(got, all) {
			t.Fatalf("list all = %v, want %v", got, all)
		}
		if got := list(core.ClientQuery{}, core.Page{Limit: 2, After: kid.ID}); !slices.Equal(got, []string{bob.ID, noPhone.ID}) {
			t.Fatalf("page 2 = %v", got)
		}
		for _, tc := range []struct {
			name string
			q    core.ClientQuery
			want []string
		}{
			{"name substring", core.ClientQuery{NameContains: "petr"}, []string{anna.ID}},
			{"name across first and last", core.ClientQuery{NameContains: "anna pet"}, []string{anna.ID}},
			{"cyrillic lowercased", core.ClientQuery{NameContains: "иван"}, []string{kid.ID}},
			{"LIKE characters are literal", core.ClientQuery{NameContains: "100%_"}, []string{noPhone.ID}},
			{"percent alone is literal", core.ClientQuery{NameContains: "%"}, []string{noPhone.ID}},
			{"phone digits", core.ClientQuery{PhoneDigits: []string{"61234"}}, []string{anna.ID, kid.ID}},
			{"phone digits, any of", core.ClientQuery{PhoneDigits: []string{"0151", "151"}}, []string{bob.ID}},
			{"no match", core.ClientQuery{PhoneDigits: []string{"999"}}, []string{}},
			{"group", core.ClientQuery{GroupID: g.ID}, []string{anna.ID}},
			{"center", core.ClientQuery{CenterID: c2.ID}, []string{bob.ID}},
			{"visible to c1 staff: c1 and no center", core.ClientQuery{VisibleCenters: []string{c1.ID}}, []string{anna.ID, kid.ID, noPhone.ID}},
			{"visible to staff of no center", core.ClientQuery{VisibleCenters: []string{}}, []string{kid.ID, noPhone.ID}},
		} {
			if got := list(tc.q, core.Page{}); !slices.Equal(got, tc.want) {
				t.Errorf("%s: got %v, want %v", tc.name, got, tc.want)
			}
		}

		// Update replaces fields, centers and groups.
		anna.FirstName, anna.Phone, anna.GroupIDs, anna.CenterIDs = "Anya", "+33700000000", []string{}, []string{c1.ID, c2.ID}
		if err := s.UpdateClient(ctx, anna); err != nil {
			t.Fatal(err)
		}
		got, _ = s.GetClient(ctx, a.ID, anna.ID)
		if got.Name != "Anya Petrova" || len(got.GroupIDs) != 0 || len(got.CenterIDs) != 2 || got.Source != "instagram" {
			t.Fatalf("after update = %+v", got)
		}
		if got := list(core.ClientQuery{NameContains: "anya"}, core.Page{}); !slices.Equal(got, []string{anna.ID}) {
			t.Fatalf("search after rename = %v", got)
		}
		if got := list(core.ClientQuery{PhoneDigits: []string{"61234"}}, core.Page{}); !slices.Equal(got, []string{kid.ID}) {
			t.Fatalf("search after phone change = %v", got)
		}

		// Archive: left out by default, listed with only/all; the first
		// instant is kept; unarchive brings the client back.
		if err := s.SetClientArchived(ctx, a.ID, bob.ID, &now); err != nil {
			t.Fatal(err)
		}
		later := now.Add(time.Hour)
		if err := s.SetClientArchived(ctx, a.ID, bob.ID, &later); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetClient(ctx, a.ID, bob.ID); got.ArchivedAt == nil || !got.ArchivedAt.Equal(now) {
			t.Fatalf("archived_at = %v", got.ArchivedAt)
		}
		if got := list(core.ClientQuery{}, core.Page{}); slices.Contains(got, bob.ID) || len(got) != 3 {
			t.Fatalf("default list has archived: %v", got)
		}
		if got := list(core.ClientQuery{Archived: core.ArchivedOnly}, core.Page{}); !slices.Equal(got, []string{bob.ID}) {
			t.Fatalf("archived only = %v", got)
		}
		if got := list(core.ClientQuery{Archived: core.ArchivedAll}, core.Page{}); len(got) != 4 {
			t.Fatalf("archived all = %v", got)
		}
		if err := s.SetClientArchived(ctx, a.ID, bob.ID, nil); err != nil {
			t.Fatal(err)
		}
		if got := list(core.ClientQuery{}, core.Page{}); !slices.Contains(got, bob.ID) {
			t.Fatalf("unarchived client missing: %v", got)
		}

		v, err := s.ClientVisits(ctx, a.ID, []string{anna.ID, kid.ID}, time.Now())
		if err != nil || len(v) != 2 || v[anna.ID].LastVisit != nil || v[anna.ID].NextVisit != nil {
			t.Fatalf("ClientVisits = %v, %v", v, err)
		}
		if l, _ := s.ListClients(ctx, b.ID, core.ClientQuery{AllCenters: true}, core.Page{}); len(l) != 1 || l[0].ID != other.ID {
			t.Fatalf("B lists %v", testClientIDs(l))
		}
	})
}

func TestClientFamily(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, _, _ := newOrg(t, s, "A")
		b, _, _ := newOrg(t, s, "B")
		now := a.CreatedAt
		mum := mustCreateClient(t, s, newTestClient(a.ID, "Marie", "Curie", "+33612345678", now))
		kid1 := mustCreateClient(t, s, newTestClient(a.ID, "Irène", "Curie", "+33612345678", now))
		kid2 := mustCreateClient(t, s, newTestClient(a.ID, "Ève", "Curie", "+33612345678", now))
		stranger := mustCreateClient(t, s, newTestClient(b.ID, "Other", "", "", now))

		if err := s.LinkFamily(ctx, a.ID, mum.ID, kid1.ID, "child", "parent", now); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkFamily(ctx, a.ID, kid2.ID, mum.ID, "parent", "child", now.Add(time.Second)); err != nil {
			t.Fatal(err)
		}
		if err := s.LinkFamily(ctx, a.ID, kid1.ID, mum.ID, "parent", "child", now); core.ErrorCode(err) != core.CodeConflict {
			t.Fatalf("linking twice err = %v", err)
		}
		if err := s.LinkFamily(ctx, a.ID, mum.ID, stranger.ID, "child", "parent", now); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org link err = %v", err)
		}
		if err := s.LinkFamily(ctx, b.ID, stranger.ID, mum.ID, "child", "parent", now); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org link from B err = %v", err)
		}
		fam, err := s.ListFamily(ctx, a.ID, mum.ID)
		if err != nil || len(fam) != 2 || fam[0].Client.ID != kid1.ID || fam[0].Relation != "child" ||
			fam[1].Client.ID != kid2.ID || fam[1].Relation != "child" || fam[0].Client.Name != "Irène Curie" {
			t.Fatalf("mum's family = %+v, %v", fam, err)
		}
		fam, _ = s.ListFamily(ctx, a.ID, kid1.ID)
		if len(fam) != 1 || fam[0].Client.ID != mum.ID || fam[0].Relation != "parent" {
			t.Fatalf("kid's family = %+v", fam)
		}
		if fam, _ := s.ListFamily(ctx, b.ID, mum.ID); len(fam) != 0 {
			t.Fatalf("B sees A's family: %+v", fam)
		}
		if err := s.UnlinkFamily(ctx, b.ID, mum.ID, kid1.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org unlink err = %v", err)
		}
		if err := s.UnlinkFamily(ctx, a.ID, kid1.ID, mum.ID); err != nil {
			t.Fatal(err)
		}
		if fam, _ := s.ListFamily(ctx, a.ID, mum.ID); len(fam) != 1 || fam[0].Client.ID != kid2.ID {
			t.Fatalf("after unlink = %+v", fam)
		}
		if fam, _ := s.ListFamily(ctx, a.ID, kid1.ID); len(fam) != 0 {
			t.Fatalf("unlink left the other side: %+v", fam)
		}
	})
}

type clientsClock struct{ t time.Time }

func (c clientsClock) Now() time.Time { return c.t }

type clientsNoEvents struct{}

func (clientsNoEvents) Publish(context.Context, core.Event) error { return nil }

func TestInvitations(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		a, dirA, _ := newOrg(t, s, "A")
		b, dirB, _ := newOrg(t, s, "B")
		now := time.Now().UTC().Truncate(time.Millisecond)
		all, err := core.NewServices(s, clientsClock{now}, clientsNoEvents{})
		if err != nil {
			t.Fatal(err)
		}
		pa := core.Principal{OrgID: a.ID, StaffID: dirA.ID, Role: core.RoleDirector}
		pb := core.Principal{OrgID: b.ID, StaffID: dirB.ID, Role: core.RoleDirector}

		multi, err := all.Invitations.CreateInvitation(ctx, pa, core.InvitationInput{Name: "Instagram", TargetStaffID: dirA.ID})
		if err != nil {
			t.Fatal(err)
		}
		single, err := all.Invitations.CreateInvitation(ctx, pa, core.InvitationInput{Name: "Business card", SingleUse: true})
		if err != nil {
			t.Fatal(err)
		}
		got, err := s.GetInvitation(ctx, a.ID, single.ID)
		if err != nil || got.Code != single.Code || !got.SingleUse || got.MaxUses == nil || *got.MaxUses != 1 ||
			got.Target != core.TargetOrganization || !got.Active || got.Uses != 0 || got.ClientsJoined != 0 {
			t.Fatalf("GetInvitation = %+v, %v", got, err)
		}
		if got, _ := s.GetInvitation(ctx, a.ID, multi.ID); got.Target != core.TargetSpecialist || got.TargetStaffID != dirA.ID || got.MaxUses != nil {
			t.Fatalf("multi = %+v", got)
		}
		// B cannot see, list, update or use A's links.
		if _, err := all.Invitations.GetInvitation(ctx, pb, single.ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org GetInvitation err = %v", err)
		}
		if l, _ := all.Invitations.ListInvitations(ctx, pb, core.Page{}); len(l) != 0 {
			t.Fatalf("B lists %d invitations", len(l))
		}
		if _, err := all.Invitations.UpdateInvitation(ctx, pb, single.ID, core.InvitationInput{Name: "x"}); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org update err = %v", err)
		}
		if _, err := all.Invitations.JoinInvitation(ctx, b.ID, single.Code, core.ClientInput{Name: "x"}); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("cross-org join err = %v", err)
		}
		if _, err := all.Invitations.CreateInvitation(ctx, pb, core.InvitationInput{Name: "x", TargetStaffID: dirA.ID}); core.ErrorCode(err) != core.CodeInvalid {
			t.Fatalf("B targets A's staff err = %v", err)
		}

		// Twenty clients race for the single-use link: exactly one joins.
		var wg sync.WaitGroup
		results := make([]error, 20)
		for i := range results {
			wg.Add(1)
			go func() {
				defer wg.Done()
				phone := fmt.Sprintf("+336123456%02d", i)
				_, results[i] = all.Invitations.JoinInvitation(ctx, a.ID, single.Code, core.ClientInput{Name: "Racer", Phone: phone})
			}()
		}
		wg.Wait()
		wins := 0
		for _, err := range results {
			switch e, _ := core.AsError(err); {
			case err == nil:
				wins++
			case e != nil && e.Code == core.CodeConflict && e.Message == "invitation already used":
			default:
				t.Errorf("join err = %v", err)
			}
		}
		if wins != 1 {
			t.Fatalf("%d joins of a single-use link succeeded", wins)
		}
		joined, err := all.Clients.ListClients(ctx, pa, core.ClientFilter{Query: "racer"}, core.Page{})
		if err != nil || len(joined) != 1 || joined[0].SourceInvitationID != single.ID || joined[0].Source != "Business card" {
			t.Fatalf("joined clients = %+v, %v", joined, err)
		}

		// A multi-use link counts every join.
		for i := range 3 {
			c, err := all.Invitations.JoinInvitation(ctx, a.ID, multi.Code, core.ClientInput{Name: "Fan", TelegramID: core.TelegramID("10" + string(rune('0'+i)))})
			if err != nil || c.SourceInvitationID != multi.ID || c.Source != "Instagram" || c.Language != a.Locale {
				t.Fatalf("join multi = %+v, %v", c, err)
			}
		}
		// Bad input writes nothing and counts nothing.
		if _, err := all.Invitations.JoinInvitation(ctx, a.ID, multi.Code, core.ClientInput{Name: "Fan", Email: "nope"}); core.ErrorCode(err) != core.CodeInvalid {
			t.Fatalf("invalid join err = %v", err)
		}
		l, err := all.Invitations.ListInvitations(ctx, pa, core.Page{})
		if err != nil || len(l) != 2 || l[0].ID != multi.ID || l[0].Uses != 3 || l[0].ClientsJoined != 3 ||
			l[1].Uses != 1 || l[1].ClientsJoined != 1 {
			t.Fatalf("counters = %+v, %v", l, err)
		}

		// A capped link closes at its cap; deactivation closes it too.
		three := 3
		inv, err := all.Invitations.UpdateInvitation(ctx, pa, multi.ID, core.InvitationInput{Name: "Instagram bio", TargetStaffID: dirA.ID, MaxUses: &three})
		if err != nil || inv.Name != "Instagram bio" || inv.Code != multi.Code || inv.Uses != 3 || inv.ClientsJoined != 3 {
			t.Fatalf("UpdateInvitation = %+v, %v", inv, err)
		}
		if _, err := all.Invitations.JoinInvitation(ctx, a.ID, multi.Code, core.ClientInput{Name: "Late"}); core.ErrorCode(err) != core.CodeConflict {
			t.Fatalf("join over the cap err = %v", err)
		}
		if _, err := all.Invitations.DeactivateInvitation(ctx, pa, multi.ID); err != nil {
			t.Fatal(err)
		}
		if got, _ := s.GetInvitation(ctx, a.ID, multi.ID); got.Active || got.ClientsJoined != 3 {
			t.Fatalf("after deactivate = %+v", got)
		}

		// An expired link is rejected and counts nothing; so is one not yet open.
		past := now.Add(-time.Hour)
		exp := core.Invitation{ID: core.NewID(), OrgID: a.ID, Name: "Old flyer", Code: core.NewInvitationCode(),
			Target: core.TargetOrganization, ValidUntil: &past, Active: true, CreatedAt: now.Add(-48 * time.Hour)}
		if err := s.CreateInvitation(ctx, exp); err != nil {
			t.Fatal(err)
		}
		_, err = all.Invitations.JoinInvitation(ctx, a.ID, exp.Code, core.ClientInput{Name: "Too late"})
		if e, ok := core.AsError(err); !ok || e.Code != core.CodeConflict || e.Message != "invitation expired" {
			t.Fatalf("expired join err = %v", err)
		}
		soon := core.InvitationInput{Name: "Next month", ValidFrom: now.Add(time.Hour).Format(time.RFC3339)}
		future, err := all.Invitations.CreateInvitation(ctx, pa, soon)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := all.Invitations.JoinInvitation(ctx, a.ID, future.Code, core.ClientInput{Name: "Early"}); core.ErrorCode(err) != core.CodeConflict {
			t.Fatalf("early join err = %v", err)
		}
		if _, err := all.Invitations.JoinInvitation(ctx, a.ID, "no-such-code", core.ClientInput{Name: "x"}); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("unknown code err = %v", err)
		}
		for _, id := range []string{exp.ID, future.ID} {
			if got, _ := s.GetInvitation(ctx, a.ID, id); got.Uses != 0 || got.ClientsJoined != 0 {
				t.Fatalf("rejected joins counted: %+v", got)
			}
		}
		if l, _ := all.Clients.ListClients(ctx, pa, core.ClientFilter{Query: "too late"}, core.Page{}); len(l) != 0 {
			t.Fatalf("rejected join created a client: %+v", l)
		}
		if _, err := all.Invitations.CreateInvitation(ctx, pa, core.InvitationInput{Name: "x", ValidUntil: past.Format(time.RFC3339)}); core.ErrorCode(err) != core.CodeInvalid {
			t.Fatalf("creating an expired link err = %v", err)
		}
	})
}

// ImportClients writes what CreateClient writes, across the boundaries of
// its multi-row statements, and all or nothing.
func TestImportClients(t *testing.T) {
	storetest.Each(t, func(t *testing.T, s *store.Store) {
		ctx := context.Background()
		org, _, _ := newOrg(t, s, "Import")
		now := org.CreatedAt
		ce := core.Center{ID: core.NewID(), OrgID: org.ID, Name: "Left bank", Timezone: "Europe/Paris", CreatedAt: now}
		if err := s.CreateCenter(ctx, ce); err != nil {
			t.Fatal(err)
		}
		g := core.ClientGroup{ID: core.NewID(), OrgID: org.ID, Name: "VIP", CreatedAt: now}
		if err := s.CreateClientGroup(ctx, g); err != nil {
			t.Fatal(err)
		}
		for _, n := range []int{0, 1, 499, 500, 501, 1001} {
			t.Run(fmt.Sprint(n), func(t *testing.T) {
				cs := make([]core.Client, n)
				for i := range cs {
					cs[i] = newTestClient(org.ID, fmt.Sprintf("Zoé%d", i), "Müller", fmt.Sprintf("+3361%07d", i), now)
					if i%250 == 7 {
						cs[i].Email, cs[i].Notes, cs[i].CenterIDs, cs[i].GroupIDs = "Zoe@Example.com", "n", []string{ce.ID}, []string{g.ID}
					}
				}
				if err := s.ImportClients(ctx, cs); err != nil {
					t.Fatal(err)
				}
				for _, i := range []int{0, 7, 499, 500, 757, n - 1} {
					if i < 0 || i >= n {
						continue
					}
					got, err := s.GetClient(ctx, org.ID, cs[i].ID)
					if err != nil {
						t.Fatalf("client %d: %v", i, err)
					}
					if got.Name != cs[i].Name || got.Phone != cs[i].Phone || got.Email != cs[i].Email || !got.CreatedAt.Equal(now) ||
						!slices.Equal(got.CenterIDs, cs[i].CenterIDs) || !slices.Equal(got.GroupIDs, cs[i].GroupIDs) {
						t.Fatalf("client %d: got %+v, want %+v", i, got, cs[i])
					}
				}
				if n == 0 {
					return
				}
				// Found by the search columns CreateClient fills.
				found, err := s.ListClients(ctx, org.ID, core.ClientQuery{NameContains: core.SearchFold(cs[n-1].FirstName), AllCenters: true},
					core.Page{Limit: 10})
				if err != nil || len(found) != 1 || found[0].ID != cs[n-1].ID {
					t.Fatalf("search %q: %v %v", cs[n-1].FirstName, testClientIDs(found), err)
				}
			})
		}
		// A bad row in the second statement writes nothing of the first.
		cs := make([]core.Client, 600)
		for i := range cs {
			cs[i] = newTestClient(org.ID, "Bad", "Batch", "+33700000000", now)
		}
		cs[550].CenterIDs = []string{core.NewID()} // not a centre of the organization
		if err := s.ImportClients(ctx, cs); err == nil {
			t.Fatal("import with an unknown centre succeeded")
		}
		if _, err := s.GetClient(ctx, org.ID, cs[0].ID); core.ErrorCode(err) != core.CodeNotFound {
			t.Fatalf("first client of a failed import: %v", err)
		}
	})
}
