package core

import (
	"testing"
	"time"
)

func TestNormalizeChatID(t *testing.T) {
	for _, tc := range []struct {
		channel Channel
		raw     string
		want    string
		bad     bool
	}{
		{ChannelWhatsApp, "whatsapp:+541123456789", "+5491123456789", false},
		{ChannelWhatsApp, "+5491123456789", "+5491123456789", false},
		{ChannelWhatsApp, "whatsapp:+5491123456789", "+5491123456789", false},
		{ChannelWhatsApp, "5491123456789", "+5491123456789", false}, // Telegram contacts come without "+"
		{ChannelWhatsApp, "whatsapp:+33612345678", "+33612345678", false},
		{ChannelWhatsApp, "+5215512345678", "+525512345678", false},
		{ChannelWhatsApp, "whatsapp:hello", "", true},
		{ChannelTelegram, " 555000111 ", "555000111", false},
		{ChannelTelegram, "", "", true},
	} {
		got, err := NormalizeChatID(tc.channel, tc.raw)
		if (err != nil) != tc.bad || got != tc.want {
			t.Errorf("NormalizeChatID(%s, %q) = %q, %v; want %q (error %v)", tc.channel, tc.raw, got, err, tc.want, tc.bad)
		}
	}
	if f := PhoneForms("+5491123456789"); len(f) != 2 || f[1] != "+541123456789" {
		t.Errorf("PhoneForms = %v", f)
	}
}

func TestConversationPolicy(t *testing.T) {
	joined := time.Date(2026, 6, 1, 0, 0, 0, 0, time.UTC)
	conv := Conversation{CenterID: "c1", LastActivityAt: joined.Add(-time.Hour)}
	admin := Principal{Role: RoleAdministrator, StaffID: "s1", CenterIDs: []string{"c1"}}
	other := Principal{Role: RoleAdministrator, StaffID: "s2", CenterIDs: []string{"c2"}}
	spec := Principal{Role: RoleSpecialist, StaffID: "s3", CenterIDs: []string{"c1"}}
	dir := Principal{Role: RoleDirector, StaffID: "s4"}
	hide := ChatSettings{HideEarlierHistory: true}
	st := Staff{CreatedAt: joined}
	var pol Policy
	for _, tc := range []struct {
		name    string
		p       Principal
		set     ChatSettings
		granted bool
		want    Code
	}{
		{"administrator of the centre", admin, ChatSettings{}, false, ""},
		{"administrator of another centre", other, ChatSettings{}, false, CodeNotFound},
		{"specialist", spec, ChatSettings{}, false, CodeForbidden},
		{"director", dir, hide, false, ""},
		{"administrator added after the conversation's activity", admin, hide, false, CodeNotFound},
		{"administrator added later but granted", admin, hide, true, ""},
	} {
		since := pol.ChatHistorySince(tc.p, tc.set, st, tc.granted)
		err := pol.Conversation(tc.p, conv, since)
		if tc.want == "" && err != nil || tc.want != "" && ErrorCode(err) != tc.want {
			t.Errorf("%s: %v, want %q", tc.name, err, tc.want)
		}
	}
	if pol.ChatAssignee(Staff{Role: RoleAdministrator, Active: true, CenterIDs: []string{"c2"}}, conv) == nil {
		t.Error("a conversation was assignable to another centre's administrator")
	}
	if pol.ChatAssignee(Staff{Role: RoleAdministrator, Active: true, CenterIDs: []string{"c1"}}, conv) != nil {
		t.Error("the centre's administrator could not be assigned")
	}
}
