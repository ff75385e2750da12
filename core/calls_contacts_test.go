package core

import (
	"encoding/json"
	"strings"
	"testing"
)

func TestShownLiveHidesCallNumbers(t *testing.T) {
	hiding := Organization{ID: "o", HideContactsFromMarketers: true}
	marketer := Principal{OrgID: "o", Role: RoleMarketer}
	admin := Principal{OrgID: "o", Role: RoleAdministrator}
	in := CallLive{Call: Call{Direction: CallInbound, From: "+33612345678", To: "+33100000001"},
		Card: &CallCard{Name: "Élodie", Phone: "+33612345678", PlannedCalls: []PlannedCall{{Phone: "+33612345678"}}}}
	out := CallLive{Call: Call{Direction: CallOutbound, From: "+33100000001", To: "+33612345678"}}
	raw, _ := json.Marshal(in)
	for _, tc := range []struct {
		name      string
		p         Principal
		o         Organization
		ev        LiveEvent
		wantPhone bool
	}{
		{"marketer, typed pop-up", marketer, hiding, LiveEvent{Kind: LiveCallIncoming, Data: in}, false},
		{"marketer, pop-up read from the stream", marketer, hiding, LiveEvent{Kind: LiveCallIncoming, Data: json.RawMessage(raw)}, false},
		{"marketer, outbound update", marketer, hiding, LiveEvent{Kind: LiveCallUpdated, Data: &out}, false},
		{"administrator", admin, hiding, LiveEvent{Kind: LiveCallIncoming, Data: in}, true},
		{"marketer, setting off", marketer, Organization{ID: "o"}, LiveEvent{Kind: LiveCallIncoming, Data: json.RawMessage(raw)}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := json.Marshal(Policy{}.ShownLive(tc.p, tc.o, tc.ev))
			if has := strings.Contains(string(got), "612345678"); has != tc.wantPhone {
				t.Errorf("shows the number: %v, want %v: %s", has, tc.wantPhone, got)
			}
			if !strings.Contains(string(got), "+33100000001") {
				t.Errorf("the centre's number went too: %s", got)
			}
		})
	}
	// The original is not changed (other screens get it as it is).
	if in.Card.Phone == "" || in.Card.PlannedCalls[0].Phone == "" {
		t.Errorf("the published event was changed: %+v", in.Card)
	}
}
