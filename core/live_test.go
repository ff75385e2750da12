package core

import "testing"

// A live event reaches a screen only when its key could read the same
// thing through the API: same organization and centre, the role that may
// read chats or campaigns, and the staff member an event is addressed to.
func TestLiveEventPolicy(t *testing.T) {
	staff := func(role Role) Principal {
		return Principal{OrgID: "o1", StaffID: "s-" + string(role), Role: role, CenterIDs: []string{"c1"}}
	}
	ev := func(kind LiveKind) LiveEvent { return LiveEvent{Kind: kind, OrgID: "o1", CenterID: "c1"} }
	tests := []struct {
		name string
		p    Principal
		ev   LiveEvent
		want bool
	}{
		{"director, message", staff(RoleDirector), ev(LiveMessageNew), true},
		{"administrator, conversation", staff(RoleAdministrator), ev(LiveConversationNew), true},
		{"specialist, message", staff(RoleSpecialist), ev(LiveMessageNew), false},
		{"marketer, conversation changed", staff(RoleMarketer), ev(LiveConversationChanged), false},
		{"marketer, campaign progress", staff(RoleMarketer), ev(LiveCampaignProgress), true},
		{"specialist, campaign progress", staff(RoleSpecialist), ev(LiveCampaignProgress), false},
		{"specialist, incoming call", staff(RoleSpecialist), ev(LiveCallIncoming), true},
		{"marketer, call updated", staff(RoleMarketer), ev(LiveCallUpdated), true},
		{"other organization", Principal{OrgID: "o2", Role: RoleDirector}, ev(LiveCallIncoming), false},
		{"other centre", staff(RoleAdministrator), LiveEvent{Kind: LiveCallIncoming, OrgID: "o1", CenterID: "c2"}, false},
		{"addressed to another staff member", staff(RoleAdministrator), LiveEvent{Kind: LiveConversationChanged, OrgID: "o1", CenterID: "c1", StaffID: "s-x"}, false},
		{"addressed to this staff member", staff(RoleAdministrator), LiveEvent{Kind: LiveConversationChanged, OrgID: "o1", CenterID: "c1", StaffID: "s-administrator"}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := (Policy{}).LiveEvent(tc.p, tc.ev); got != tc.want {
				t.Fatalf("LiveEvent = %v, want %v", got, tc.want)
			}
		})
	}
}
