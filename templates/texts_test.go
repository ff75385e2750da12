package templates

import (
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/core/sms"
)

// renderAll renders every kind in every locale with the sample data, as
// SMS text and as email (text, subject, HTML).
func renderAll(t *testing.T, fn func(loc, kind string, m Message)) {
	t.Helper()
	s := mustSet(t)
	for _, loc := range Locales() {
		for _, kind := range Kinds() {
			for _, forSMS := range []bool{false, true} {
				d := Sample(loc)
				d.SMS = forSMS
				m, err := s.Render(kind, loc, d, nil)
				if err != nil {
					t.Fatal(err)
				}
				fn(loc, kind, m)
			}
		}
	}
}

var tags = regexp.MustCompile(`<[^>]*>`)

// TestFrenchColons: French keeps a space before ":" in every text,
// subject and HTML email (times "14:30" and URLs aside).
func TestFrenchColons(t *testing.T) {
	bad := regexp.MustCompile(`[^\s\d]:|\d:[^\d]`)
	renderAll(t, func(loc, kind string, m Message) {
		if loc != "fr" {
			return
		}
		for part, text := range map[string]string{"text": m.Text, "subject": m.Subject, "html": tags.ReplaceAllString(m.HTML, " ")} {
			text = regexp.MustCompile(`https?://\S+`).ReplaceAllString(text, "URL")
			for _, line := range strings.Split(text, "\n") {
				if loc := bad.FindStringIndex(line); loc != nil && !strings.Contains(line, "{") {
					t.Errorf("fr/%s %s: no space before a colon: %q", kind, part, line)
				}
			}
		}
	})
}

// TestNoDoubledFullStop: no text ends a sentence twice ("2026 г..",
// "ill.."), whatever the reason or date.
func TestNoDoubledFullStop(t *testing.T) {
	renderAll(t, func(loc, kind string, m Message) {
		for _, part := range []string{m.Text, m.Subject, tags.ReplaceAllString(m.HTML, " ")} {
			if strings.Contains(strings.ReplaceAll(part, "...", ""), "..") {
				t.Errorf("%s/%s: doubled full stop: %s", loc, kind, part)
			}
		}
	})
}

func TestReason(t *testing.T) {
	for _, tc := range []struct{ locale, in, want string }{
		{"en", "The specialist is ill", "The specialist is ill."},
		{"en", "The specialist is ill.", "The specialist is ill."}, // as typed, no second stop
		{"fr", "Fermeture exceptionnelle !", "Fermeture exceptionnelle !"},
		{"de", "  Krank?  ", "Krank?"},
		{"fr", "illness", "Maladie."}, // from the list: translated
		{"ru", "cancelled by the client", "Отменено клиентом."},
		{"pl", "schedule_change", "Zmienił się grafik."},
		{"xx", "illness", "Illness."},
		{"en", "", ""},
	} {
		if got := Reason(tc.locale, tc.in); got != tc.want {
			t.Errorf("Reason(%s, %q) = %q, want %q", tc.locale, tc.in, got, tc.want)
		}
	}
	for _, code := range ListReasons() {
		for _, loc := range Locales() {
			r := Reason(loc, code)
			if r == "" || (gsm7Locales[loc] && sms.Analyze(r).Encoding != sms.GSM7) {
				t.Errorf("list reason %s in %s: %q", code, loc, r)
			}
		}
	}
	s := mustSet(t)
	d := Sample("fr")
	d.Extra = map[string]string{ExtraReason: "illness"}
	m, _ := s.Render(KindCancelled, "fr", d, nil)
	if !strings.Contains(m.Text, "Motif : Maladie.") || !strings.Contains(m.HTML, "Motif : Maladie.") {
		t.Errorf("a list reason in a French cancellation: %s", m.Text)
	}
}

// TestServiceNameNeedsNoArticle: a service name follows a colon, an
// opening bracket or a quote, never a preposition that would need an
// article ("your request for Counselling session").
func TestServiceNameNeedsNoArticle(t *testing.T) {
	renderAll(t, func(loc, kind string, m Message) {
		d := Sample(loc)
		for _, text := range []string{m.Text, m.Subject} {
			for i := strings.Index(text, d.ServiceName); i >= 0; {
				before := strings.TrimRight(text[:i], " ")
				if !strings.HasSuffix(before, ":") && !strings.HasSuffix(before, "(") && !strings.HasSuffix(before, "«") &&
					!strings.HasSuffix(before, "„") && !strings.HasSuffix(before, ".") && !strings.HasSuffix(before, ",") && before != "" {
					t.Errorf("%s/%s: %q comes after %q", loc, kind, d.ServiceName, before[max(0, len(before)-20):])
				}
				next := strings.Index(text[i+1:], d.ServiceName)
				if next < 0 {
					break
				}
				i += 1 + next
			}
		}
	})
}

// TestRemindersNeverInviteCancel: "cancel" is one of Twilio's opt-out
// words; a client who answers a reminder with it is unsubscribed and the
// visit stays booked. No reply instruction names an opt-out word other
// than STOP itself (help explains STOP and START on purpose).
func TestRemindersNeverInviteCancel(t *testing.T) {
	optOut := regexp.MustCompile(`(?i)\b(cancel|stopall|unsubscribe|end|quit|revoke|optout)\b`)
	s := mustSet(t)
	for _, loc := range Locales() {
		for _, kind := range []string{KindReminderConfirm, KindHelp} {
			m, err := s.Render(kind, loc, Sample(loc), nil)
			if err != nil {
				t.Fatal(err)
			}
			if w := optOut.FindString(m.Text); w != "" {
				t.Errorf("%s/%s invites %q: %s", loc, kind, w, m.Text)
			}
			if kind == KindReminderConfirm && strings.Contains(strings.ToUpper(m.Text), "STOP") {
				t.Errorf("%s/%s mentions STOP", loc, kind)
			}
		}
	}
	en, _ := s.Render(KindReminderConfirm, "en", Sample("en"), nil)
	if !strings.HasSuffix(en.Text, "Reply 1 (YES) to confirm or 2 (NO) if you can't make it.") {
		t.Errorf("en reminder: %s", en.Text)
	}
}

// TestReplyWordsMatchTheParser: the words each locale's texts ask for are
// the ones core understands from a client of that language, and Polish
// texts offer only TAK and NIE.
func TestReplyWordsMatchTheParser(t *testing.T) {
	for _, loc := range Locales() {
		confirm, cancel := ReplyWords(loc)
		for _, w := range confirm {
			if got := core.ParseReplyIn(w, loc); got != core.ReplyConfirm {
				t.Errorf("%s: %q parses as %s", loc, w, got)
			}
		}
		for _, w := range cancel {
			if got := core.ParseReplyIn(w, loc); got != core.ReplyCancel {
				t.Errorf("%s: %q parses as %s", loc, w, got)
			}
		}
	}
	if c, n := ReplyWords("pl"); !slices.Equal(c, []string{"1", "TAK"}) || !slices.Equal(n, []string{"2", "NIE"}) {
		t.Errorf("pl reply words: %v %v", c, n)
	}
}

// TestEnglishRegions: en-GB (the default) and en-US formats, the region
// taken from the language tag or the phone's country.
func TestEnglishRegions(t *testing.T) {
	s := mustSet(t)
	for _, tc := range []struct{ tag, phone, want string }{
		{"en", "+447700900123", "on Tuesday 2 March 2027 at 09:00"},
		{"en-GB", "+15005550006", "on Tuesday 2 March 2027 at 09:00"},
		{"en-US", "+447700900123", "on Tuesday, March 2, 2027 at 9:00 AM"},
		{"en_us", "", "on Tuesday, March 2, 2027 at 9:00 AM"},
		{"en", "+12025550101", "on Tuesday, March 2, 2027 at 9:00 AM"},
	} {
		d := Sample("en")
		d.Start, d.Region = time.Date(2027, 3, 2, 9, 0, 0, 0, d.Timezone), RegionOf(tc.tag, tc.phone)
		for _, forSMS := range []bool{false, true} {
			d.SMS = forSMS
			m, err := s.Render(KindAccepted, NormalizeLocale(tc.tag), d, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.Text, tc.want) {
				t.Errorf("%s %s (sms %v): %s", tc.tag, tc.phone, forSMS, m.Text)
			}
			if !forSMS && !strings.Contains(m.HTML, strings.TrimPrefix(tc.want, "on ")) {
				t.Errorf("%s %s: HTML lacks %q", tc.tag, tc.phone, tc.want)
			}
		}
	}
	// An override follows the region too.
	d := Sample("en")
	d.Region = "US"
	m, err := s.Render(KindAccepted, "en", d, &Override{Text: "{{date .Start}} {{time .Start}}"})
	if err != nil || m.Text != "Monday, March 9, 2026 2:30 PM" {
		t.Errorf("override in en-US: %q %v", m.Text, err)
	}
}

// TestSMSNamesAndMonths: in en, fr and de an SMS spells names in GSM-7
// when it can, and French SMS write "aout"; the email keeps both as
// written.
func TestSMSNamesAndMonths(t *testing.T) {
	s := mustSet(t)
	for _, tc := range []struct{ loc, client, smsName string }{
		{"fr", "François Lefèvre", "Francois"},
		{"de", "Łukasz Dąbrowski", "Lukasz Dabrowski"},
		{"en", "Мария Петрова", "Mariya"},
	} {
		d := Sample(tc.loc)
		d.ClientName, d.Start = tc.client, time.Date(2027, 8, 3, 10, 0, 0, 0, d.Timezone)
		d.SMS = true
		m, err := s.Render(KindAccepted, tc.loc, d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if info := sms.Analyze(m.Text); info.Encoding != sms.GSM7 || !strings.Contains(m.Text, tc.smsName) {
			t.Errorf("%s SMS (%s): %s", tc.loc, info.Encoding, m.Text)
		}
		d.SMS = false
		email, _ := s.Render(KindAccepted, tc.loc, d, nil)
		if first := strings.Fields(tc.client)[0]; !strings.Contains(email.Text, first) || !strings.Contains(email.HTML, first) {
			t.Errorf("%s email lost the name as written: %s", tc.loc, email.Text)
		}
		if tc.loc == "fr" && (!strings.Contains(m.Text, "3 aout 2027") || !strings.Contains(email.Text, "3 août 2027") || !strings.Contains(email.HTML, "août")) {
			t.Errorf("fr August: SMS %q, email %q", m.Text, email.Text)
		}
	}
	// A name transliteration cannot bring to GSM-7 stays as written.
	d := Sample("en")
	d.ClientName, d.SMS = "王 Wei", true
	if m, _ := s.Render(KindAccepted, "en", d, nil); !strings.Contains(m.Text, "王") {
		t.Errorf("an untransliterable name changed: %s", m.Text)
	}
	// Russian and Polish SMS keep their names (they are UCS-2 anyway).
	d = Sample("pl")
	d.SpecialistName, d.SMS = "Łucja Żak", true
	if m, _ := s.Render(KindReminder, "pl", d, nil); !strings.Contains(m.Text, "Łucja Żak") {
		t.Errorf("pl SMS: %s", m.Text)
	}
}

// TestGreetings: German greets "Guten Tag Vorname Nachname"; Polish
// "Dzień dobry!" without the name.
func TestGreetings(t *testing.T) {
	renderAll(t, func(loc, kind string, m Message) {
		d := Sample(loc)
		switch loc {
		case "de":
			if strings.Contains(m.Text, "Hallo") || strings.Contains(m.HTML, "Hallo") {
				t.Errorf("de/%s says Hallo: %s", kind, m.Text)
			}
		case "pl":
			if !StaffKind(kind) && (strings.Contains(m.Text, firstName(d.ClientName)) || strings.Contains(m.HTML, firstName(d.ClientName))) {
				t.Errorf("pl/%s names the client: %s", kind, m.Text)
			}
		}
	})
	s := mustSet(t)
	m, _ := s.Render(KindReminder, "de", Sample("de"), nil)
	if !strings.Contains(m.Text, "Guten Tag Lena Schmidt,") || !strings.Contains(m.HTML, "Guten Tag Lena Schmidt,") {
		t.Errorf("de: %s", m.Text)
	}
	m, _ = s.Render(KindReminder, "pl", Sample("pl"), nil)
	if !strings.Contains(m.Text, "Dzień dobry!") || !strings.Contains(m.HTML, "Dzień dobry!") {
		t.Errorf("pl: %s", m.Text)
	}
}

// TestYearAbbreviations: "4 марта 2027 г., в 12:00", "5 marca 2027 r.,
// godz. 10:00".
func TestYearAbbreviations(t *testing.T) {
	s := mustSet(t)
	for _, tc := range []struct {
		loc  string
		at   time.Time
		want string
	}{
		{"ru", time.Date(2027, 3, 4, 12, 0, 0, 0, time.UTC), "4 марта 2027 г., в 12:00"},
		{"pl", time.Date(2027, 3, 5, 10, 0, 0, 0, time.UTC), "5 marca 2027 r., godz. 10:00"},
	} {
		d := Sample(tc.loc)
		d.Timezone, d.Start = time.UTC, tc.at
		for _, kind := range []string{KindAccepted, KindReminder, KindReminderConfirm, KindReplyConfirmed} {
			m, err := s.Render(kind, tc.loc, d, nil)
			if err != nil || !strings.Contains(m.Text, tc.want) {
				t.Errorf("%s/%s: %s %v", tc.loc, kind, m.Text, err)
			}
		}
	}
}

// TestHelpNamesTheCentre: the help reply ends with the contact line.
func TestHelpNamesTheCentre(t *testing.T) {
	s := mustSet(t)
	for loc, label := range map[string]string{"en": "Contact: ", "fr": "Contact : ", "de": "Kontakt: ", "ru": "Контакты: ", "pl": "Kontakt: "} {
		d := Sample(loc)
		m, err := s.Render(KindHelp, loc, d, nil)
		if err != nil || !strings.HasSuffix(m.Text, label+d.HelpText) {
			t.Errorf("%s help: %s %v", loc, m.Text, err)
		}
	}
	d := Sample("fr")
	d.HelpText = "Cabinet Martin, 04 72 00 00 00"
	if m, _ := s.Render(KindHelp, "fr", d, nil); !strings.Contains(m.Text, "Contact : Cabinet Martin, 04 72 00 00 00") {
		t.Errorf("fr help: %s", m.Text)
	}
}
