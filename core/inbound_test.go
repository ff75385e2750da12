package core

import (
	"slices"
	"testing"
	"time"
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

func TestParseReplyIn(t *testing.T) {
	for _, tc := range []struct {
		locale, in string
		want       ReplyIntent
	}{
		// Every language: digits, its words, Twilio's keywords.
		{"en", "1", ReplyConfirm}, {"en", "yes", ReplyConfirm}, {"en", "Y", ReplyConfirm}, {"en", "no", ReplyCancel}, {"en", "n", ReplyCancel},
		{"fr", "Oui !", ReplyConfirm}, {"fr", "non", ReplyCancel}, {"fr", "NO", ReplyCancel}, {"fr", "arrêt", ReplyStop}, {"fr", "ARRET", ReplyStop},
		{"fr", "aide", ReplyHelp}, {"fr", "stop", ReplyStop},
		{"de", "Ja", ReplyConfirm}, {"de", "nein", ReplyCancel}, {"de", "N", ReplyCancel}, {"de", "Hilfe", ReplyHelp}, {"de", "START", ReplyStart},
		{"ru", "да", ReplyConfirm}, {"ru", "Нет.", ReplyCancel}, {"ru", "no", ReplyCancel}, {"ru", "стоп", ReplyStop}, {"ru", "СТАРТ", ReplyStart},
		{"ru", "помощь", ReplyHelp},
		// Polish: 1/TAK and 2/NIE only; "no" is "yeah", left for staff.
		{"pl", "tak", ReplyConfirm}, {"pl", "1", ReplyConfirm}, {"pl", "Nie", ReplyCancel}, {"pl", "2", ReplyCancel},
		{"pl", "no", ReplyOther}, {"pl", "N", ReplyOther}, {"pl", "yes", ReplyOther}, {"pl-PL", "ok", ReplyOther}, {"pl", "pomoc", ReplyHelp},
		{"pl", "STOP", ReplyStop},
		// Another language's words are not understood...
		{"en", "СТОП", ReplyOther}, {"de", "aide", ReplyOther}, {"en", "oui", ReplyOther},
		// ...except where the language is unknown.
		{"", "СТОП", ReplyStop}, {"", "pomoc", ReplyHelp}, {"", "no", ReplyCancel},
		// CANCEL is Twilio's opt-out word in every language, never a cancellation.
		{"en", "Cancel", ReplyStop}, {"pl", "cancel", ReplyStop},
	} {
		if got := ParseReplyIn(tc.in, tc.locale); got != tc.want {
			t.Errorf("ParseReplyIn(%q, %q) = %s, want %s", tc.in, tc.locale, got, tc.want)
		}
	}
}

func TestLinkTokens(t *testing.T) {
	seen := map[string]bool{}
	for range 1000 {
		tok := NewLinkToken()
		if len(tok) != ShortTokenLen || len(tok) >= 40 || !IsShortToken(tok) || seen[tok] {
			t.Fatalf("token %q", tok)
		}
		seen[tok] = true
	}
	exp := time.Date(2026, 3, 9, 11, 0, 0, 0, time.UTC)
	if IsShortToken(SignLink([]byte("k"), NewID(), LinkManage, exp)) {
		t.Error("a signed token taken for a short one")
	}
	lt := LinkToken{Expires: exp}
	if CheckLinkToken(lt, exp) != nil || ErrorCode(CheckLinkToken(lt, exp.Add(time.Second))) != CodeInvalid {
		t.Error("expiry")
	}
}
