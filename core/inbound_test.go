package core

import (
	"slices"
	"testing"
)

func TestInboundAddresses(t *testing.T) {
	for _, tc := range []struct {
		in   Inbound
		want []string
	}{
		{Inbound{To: "+15005550006"}, []string{"+15005550006"}},
		{Inbound{To: "whatsapp:+15005550006", ServiceSID: "MG1"}, []string{"MG1", "+15005550006"}},
		{Inbound{}, nil},
	} {
		if got := tc.in.Addresses(); !slices.Equal(got, tc.want) {
			t.Errorf("%+v: %v, want %v", tc.in, got, tc.want)
		}
	}
}

func TestMatchAndResolveInbound(t *testing.T) {
	owners := []SenderOwner{
		{OrgID: "A", CenterID: "a1", Address: "+331"},
		{OrgID: "B", CenterID: "b1", Address: "+332"},
		{OrgID: "B", CenterID: "b2", Address: "+332"}, // two centres of B share a number
		{OrgID: "C", Address: "MGc"},                  // an organization's own sender
		{OrgID: "D", CenterID: "d1", Address: "+339"}, // a number two organizations configured
		{OrgID: "E", CenterID: "e1", Address: "+339"},
	}
	msg := func(org, center string) *Message { return &Message{OrgID: org, CenterID: center} }
	for _, tc := range []struct {
		name       string
		addrs      []string
		phoneOrgs  []string
		latest     *Message
		org, cent  string
		ok, shared bool
	}{
		{name: "own number", addrs: []string{"+331"}, phoneOrgs: []string{"A", "B"}, org: "A", cent: "a1", ok: true},
		{name: "own number, whoever wrote last", addrs: []string{"+331"}, phoneOrgs: []string{"A", "B"}, latest: msg("A", "a1"), org: "A", cent: "a1", ok: true},
		{name: "one organization, centres share: the conversation's centre", addrs: []string{"+332"}, latest: msg("B", "b2"), org: "B", cent: "b2", ok: true},
		{name: "one organization, centres share, no conversation", addrs: []string{"+332"}, org: "B", ok: true},
		{name: "messaging service of an organization", addrs: []string{"MGc", "+337"}, phoneOrgs: []string{"A", "C"}, org: "C", ok: true},
		{name: "number configured by two organizations: latest decides", addrs: []string{"+339"}, latest: msg("E", "e1"), org: "E", cent: "e1", ok: true},
		{name: "number configured by two organizations, no conversation", addrs: []string{"+339"}},
		{name: "default sender, one organization knows the phone", addrs: []string{"+1500"}, phoneOrgs: []string{"A"}, org: "A", ok: true, shared: true},
		{name: "default sender, two organizations: latest decides", addrs: []string{"+1500"}, phoneOrgs: []string{"A", "C"}, latest: msg("C", ""), org: "C", ok: true, shared: true},
		{name: "default sender, two organizations, no conversation", addrs: []string{"+1500"}, phoneOrgs: []string{"A", "C", "A"}, shared: true},
		{name: "default sender, unknown phone", addrs: []string{"+1500"}, shared: true},
		{name: "a latest message of a non-candidate is ignored", addrs: []string{"+339"}, latest: msg("A", "a1")},
	} {
		t.Run(tc.name, func(t *testing.T) {
			m := MatchInbound(tc.addrs, owners, tc.phoneOrgs)
			if m.Shared != tc.shared || slices.Contains(m.Senders, "") != tc.shared {
				t.Errorf("shared %v, senders %q", m.Shared, m.Senders)
			}
			org, center, ok := m.Resolve(tc.latest)
			if org != tc.org || center != tc.cent || ok != tc.ok {
				t.Errorf("resolved (%q, %q, %v), want (%q, %q, %v); candidates %v", org, center, ok, tc.org, tc.cent, tc.ok, m.Orgs)
			}
		})
	}
}

func TestCheckSender(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{"", "", ""}, {"MG0123", "MG0123", ""}, {" +33 6 12 34 56 78", "+33612345678", ""}, {"nonsense", "nonsense", "sms_from"},
	} {
		var f Fields
		got := checkSender(&f, "sms_from", tc.in)
		err := f.Err("x")
		if got != tc.want || (err != nil) != (tc.err != "") {
			t.Errorf("%q: %q, %v", tc.in, got, err)
		}
	}
}
