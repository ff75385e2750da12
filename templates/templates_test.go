package templates

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/bookinggw/gateway/core/sms"
)

func mustSet(t *testing.T) *Set {
	t.Helper()
	s, err := Default()
	if err != nil {
		t.Fatalf("Default: %v", err)
	}
	return s
}

// htmlKinds are the kinds with an HTML email; subjectKinds those with a
// subject. Every locale has the same ones.
var (
	htmlKinds = []string{KindRequested, KindAccepted, KindRejected, KindCancelled, KindMoved, KindCompleted,
		KindReminder, KindPaymentLink, KindPaymentReceipt, KindSeries, KindSeriesMoved, KindWaitlistOffer}
	subjectKinds = append(slices.Clone(htmlKinds), KindStaffNewRequest, KindStaffCancelled, KindWaitlistMatch, KindStaffPayment,
		KindStaffPaymentCurrency, KindStopNotice, KindStaffSeriesRequest, KindStaffIncomingCall, KindCallMissed)
	// smsKinds are the client kinds sent as SMS.
	smsKinds = []string{KindRequested, KindAccepted, KindRejected, KindCancelled, KindMoved, KindCompleted,
		KindReminder, KindReminderConfirm, KindReplyConfirmed, KindReplyCancelled, KindHelp,
		KindPaymentLink, KindPaymentReceipt, KindStopNotice, KindSeries, KindSeriesMoved, KindWaitlistOffer}
)

func TestDefaultParsesEveryFile(t *testing.T) {
	s := mustSet(t)
	if got := Locales(); !slices.Equal(got, []string{"en", "fr", "de", "ru", "pl"}) {
		t.Errorf("Locales = %v", got)
	}
	if len(Kinds()) != 25 {
		t.Errorf("Kinds = %v", Kinds())
	}
	for _, loc := range Locales() {
		for _, kind := range Kinds() {
			src, ok := s.Source(kind, loc)
			if !ok || strings.TrimSpace(src.Text) == "" {
				t.Errorf("%s/%s: no text", loc, kind)
			}
			if has := src.Subject != ""; has != slices.Contains(subjectKinds, kind) {
				t.Errorf("%s/%s: subject present = %v", loc, kind, has)
			}
			if has := src.HTML != ""; has != slices.Contains(htmlKinds, kind) {
				t.Errorf("%s/%s: HTML present = %v", loc, kind, has)
			}
			// The defaults pass the checks an override must pass: no
			// unknown field or Extra key, in any branch.
			if err := Validate(kind, src); err != nil {
				t.Errorf("%s/%s: default does not validate: %v", loc, kind, err)
			}
		}
	}
	if s2 := mustSet(t); s2 != s {
		t.Error("Default should parse once and share the set")
	}
}

func TestSplitName(t *testing.T) {
	for name, want := range map[string][2]string{
		"reminder.confirm.txt":              {"reminder.confirm", "text"},
		"reminder.confirm.subject.txt":      {"reminder.confirm", "subject"},
		"appointment.accepted.html":         {"appointment.accepted", "html"},
		"appointment.accepted.subject.html": {"appointment.accepted.subject", "html"},
		"README.md":                         {"", ""},
	} {
		if k, p := splitName(name); k != want[0] || p != want[1] {
			t.Errorf("splitName(%q) = %q, %q", name, k, p)
		}
	}
}

// expected is what the sample appointment looks like in each locale
// (Monday 9 March 2026, 14:30 in the sample's own zone).
var expected = map[string]struct{ date, time, balance, paid, price, confirm, cancel string }{
	"en": {"Monday 9 March 2026", "14:30", "£40.00", "£20.00", "£60.00", "1 (YES)", "2 (NO)"},
	"fr": {"lundi 9 mars 2026", "14:30", "40,00 €", "20,00 €", "60,00 €", "1 (OUI)", "2 (NON)"},
	"de": {"Montag, 9. März 2026", "14:30", "40,00 €", "20,00 €", "60,00 €", "1 (JA)", "2 (NEIN)"},
	"ru": {"понедельник, 9 марта 2026 г.", "14:30", "40,00 ₽", "20,00 ₽", "60,00 ₽", "1 (ДА)", "2 (НЕТ)"},
	"pl": {"poniedziałek, 9 marca 2026 r.", "14:30", "40,00 zł", "20,00 zł", "60,00 zł", "1 (TAK)", "2 (NIE)"},
}

func TestRenderEveryKindAndLocale(t *testing.T) {
	s := mustSet(t)
	for _, loc := range Locales() {
		e := expected[loc]
		d := Sample(loc)
		for _, kind := range Kinds() {
			t.Run(loc+"/"+kind, func(t *testing.T) {
				m, err := s.Render(kind, loc, d, nil)
				if err != nil {
					t.Fatal(err)
				}
				want := []string{}
				switch {
				case kind == KindStaffIncomingCall:
					// A pop-up: who calls, and from which number.
					want = append(want, d.ClientName, d.Extra[ExtraClientPhone])
				case kind == KindCallMissed:
					want = append(want, d.HelpText)
				case StaffKind(kind):
					// Staff call the client back from the message itself.
					want = append(want, d.ClientName, d.Extra[ExtraClientPhone], d.SpecialistName, e.date, e.time)
				case kind == KindHelp:
					want = append(want, d.CenterName, e.confirm, e.cancel, "STOP", "START", d.HelpText)
				case kind == KindStopNotice:
					want = append(want, d.CenterName, e.date, e.time, d.CancelURL, "START")
				default:
					want = append(want, d.CenterName, e.date)
					// German greets with the full name, Polish with none
					// (the vocative cannot be formed reliably).
					switch {
					case loc == "de" && kind != KindReplyConfirmed:
						want = append(want, "Guten Tag "+d.ClientName)
					case loc == "pl":
						if strings.Contains(m.Text, firstName(d.ClientName)) {
							t.Errorf("Polish text names the client: %s", m.Text)
						}
					case loc != "de":
						want = append(want, firstName(d.ClientName))
					}
				}
				switch kind {
				case KindRequested, KindAccepted, KindRejected, KindCancelled, KindMoved, KindReminder, KindReminderConfirm:
					want = append(want, d.ServiceName, d.SpecialistName, e.time)
				case KindReplyConfirmed, KindReplyCancelled:
					want = append(want, e.time)
				case KindCompleted:
					want = append(want, d.ServiceName, e.price, e.paid, e.balance, d.PaymentURL)
				case KindPaymentLink:
					want = append(want, d.ServiceName, e.balance, d.PaymentURL)
				case KindPaymentReceipt:
					want = append(want, d.ServiceName, e.paid, e.balance)
				case KindStaffCancelled:
					want = append(want, d.Extra[ExtraReason])
				case KindStaffNewRequest:
					want = append(want, d.Extra[ExtraClientPhone])
				case KindStaffPayment:
					want = append(want, d.ServiceName, e.paid, e.balance)
				case KindStaffPaymentCurrency:
					want = append(want, d.ServiceName, d.Extra[ExtraPayment], e.balance)
				case KindSeries, KindStaffSeriesRequest:
					// Every visit of the series, one a line.
					want = append(want, d.ServiceName, d.SpecialistName, "\n- "+FormatDate(loc, d.Starts[1])+", "+e.time,
						"- "+FormatDate(loc, d.Starts[2]))
				case KindWaitlistOffer:
					want = append(want, d.ServiceName, d.SpecialistName, e.time, d.OfferURL)
				case KindSeriesMoved:
					want = append(want, d.ServiceName, "- "+FormatDate(loc, d.Starts[2])+", "+e.time)
				}
				switch kind {
				case KindAccepted, KindRequested, KindMoved, KindReminder:
					want = append(want, d.CancelURL)
				case KindRejected, KindCancelled:
					want = append(want, d.Extra[ExtraReason]+".")
				}
				switch kind {
				case KindAccepted, KindReminder, KindReminderConfirm:
					want = append(want, d.Location)
				case KindMoved:
					want = append(want, FormatDate(loc, d.PreviousStart), FormatTime(loc, d.PreviousStart))
				}
				if kind == KindReminder {
					want = append(want, FormatDuration(loc, d.DurationMin))
				}
				if kind == KindReminderConfirm {
					want = append(want, e.confirm, e.cancel)
				}
				if kind == KindReminder && !strings.Contains(m.HTML, `href="`+d.ConfirmURL+`"`) {
					t.Errorf("reminder HTML lacks the confirm link")
				}
				for _, w := range want {
					if !strings.Contains(m.Text, w) {
						t.Errorf("text lacks %q:\n%s", w, m.Text)
					}
				}
				checkClean(t, "text", m.Text)
				if slices.Contains(subjectKinds, kind) {
					if m.Subject == "" || strings.ContainsAny(m.Subject, "\r\n") {
						t.Errorf("subject %q", m.Subject)
					}
					checkClean(t, "subject", m.Subject)
				} else if m.Subject != "" {
					t.Errorf("unexpected subject %q", m.Subject)
				}
				if slices.Contains(htmlKinds, kind) {
					if !strings.HasPrefix(m.HTML, "<!DOCTYPE html>") || !strings.Contains(m.HTML, `<html lang="`+loc+`">`) {
						t.Errorf("HTML is not a document in %s:\n%.200s", loc, m.HTML)
					}
					for _, w := range want {
						if w == d.HelpText || w == d.Extra[ExtraClientPhone] || strings.HasPrefix(w, "https://") {
							continue
						}
						if !strings.Contains(m.HTML, w) {
							t.Errorf("HTML lacks %q", w)
						}
					}
					checkClean(t, "html", m.HTML)
				} else if m.HTML != "" {
					t.Errorf("unexpected HTML")
				}
			})
		}
	}
}

func checkClean(t *testing.T, part, s string) {
	t.Helper()
	for _, bad := range []string{"<no value>", "{{", "}}", "%!", "  "} {
		if strings.Contains(s, bad) {
			t.Errorf("%s contains %q:\n%s", part, bad, s)
		}
	}
	if s != strings.TrimSpace(s) {
		t.Errorf("%s is not trimmed: %q", part, s)
	}
}

// TestRecipientTimezone renders the same instant for a client in Paris and
// one in Tokyo: each sees their own wall clock, even across midnight.
func TestRecipientTimezone(t *testing.T) {
	s := mustSet(t)
	paris, _ := time.LoadLocation("Europe/Paris")
	tokyo, _ := time.LoadLocation("Asia/Tokyo")
	tests := []struct {
		name   string
		at     time.Time
		zone   *time.Location
		locale string
		want   string
	}{
		{"paris", time.Date(2026, 3, 9, 13, 30, 0, 0, time.UTC), paris, "fr", "le lundi 9 mars 2026 à 14:30"},
		{"tokyo", time.Date(2026, 3, 9, 13, 30, 0, 0, time.UTC), tokyo, "fr", "le lundi 9 mars 2026 à 22:30"},
		{"tokyo next day", time.Date(2026, 3, 9, 16, 30, 0, 0, time.UTC), tokyo, "fr", "le mardi 10 mars 2026 à 01:30"},
		{"paris same instant", time.Date(2026, 3, 9, 16, 30, 0, 0, time.UTC), paris, "fr", "le lundi 9 mars 2026 à 17:30"},
		{"tokyo en", time.Date(2026, 3, 9, 16, 30, 0, 0, time.UTC), tokyo, "en", "on Tuesday 10 March 2026 at 01:30"},
		{"paris after DST", time.Date(2026, 3, 30, 12, 30, 0, 0, time.UTC), paris, "en", "on Monday 30 March 2026 at 14:30"},
		{"nil zone is UTC", time.Date(2026, 3, 9, 13, 30, 0, 0, time.UTC), nil, "de", "am Montag, 9. März 2026 um 13:30 Uhr"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := Sample(tt.locale)
			d.Timezone = tt.zone
			d.Start = tt.at
			m, err := s.Render(KindAccepted, tt.locale, d, nil)
			if err != nil {
				t.Fatal(err)
			}
			if !strings.Contains(m.Text, tt.want) {
				t.Errorf("text lacks %q:\n%s", tt.want, m.Text)
			}
			if !strings.Contains(m.HTML, strings.TrimPrefix(strings.TrimPrefix(strings.TrimPrefix(tt.want, "le "), "on "), "am ")) {
				t.Errorf("HTML lacks %q", tt.want)
			}
		})
	}
}

func TestLocaleFallback(t *testing.T) {
	s := mustSet(t)
	d := Sample("en")
	en, err := s.Render(KindReminder, "en", d, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, loc := range []string{"es", "", "EN", "en-GB", "zh_Hans"} {
		m, err := s.Render(KindReminder, loc, d, nil)
		if err != nil || m != en {
			t.Errorf("locale %q: %v, text %q", loc, err, m.Text)
		}
	}
	fr, err := s.Render(KindReminder, "fr-CA", Sample("fr"), nil)
	if err != nil || !strings.Contains(fr.Text, "nous vous rappelons") || !strings.Contains(fr.HTML, `lang="fr"`) {
		t.Errorf("fr-CA: %v %q", err, fr.Text)
	}
	for tag, want := range map[string]string{"fr-CA": "fr", "FR": "fr", "pl_PL": "pl", " ru ": "ru", "uk": "en", "": "en"} {
		if got := NormalizeLocale(tag); got != want {
			t.Errorf("NormalizeLocale(%q) = %q, want %q", tag, got, want)
		}
	}
}

func TestUnknownKind(t *testing.T) {
	s := mustSet(t)
	if _, err := s.Render("appointment.nope", "en", Sample("en"), nil); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("err = %v, want ErrUnknownKind", err)
	}
	if _, err := s.Lookup("", "fr", &Override{Text: "x"}); !errors.Is(err, ErrUnknownKind) {
		t.Errorf("err = %v, want ErrUnknownKind", err)
	}
}

func TestHTMLEscaping(t *testing.T) {
	s := mustSet(t)
	for _, kind := range htmlKinds {
		d := Sample("en")
		d.ClientName = `<script>alert("x")</script>`
		d.ServiceName = `Cut & <b>colour</b>`
		d.CancelURL = "javascript:alert(1)"
		d.PaymentURL = `https://pay.example.com/p?a=1&b="2"`
		m, err := s.Render(kind, "en", d, nil)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(m.HTML, "<script>") || strings.Contains(m.HTML, "<b>colour") || strings.Contains(m.HTML, "javascript:") {
			t.Errorf("%s: HTML not escaped:\n%s", kind, m.HTML)
		}
		if !strings.Contains(m.HTML, "Cut &amp; &lt;b&gt;colour&lt;/b&gt;") {
			t.Errorf("%s: service name not escaped as text", kind)
		}
		if kind == KindPaymentLink && !strings.Contains(m.HTML, `href="https://pay.example.com/p?a=1&amp;b=%222%22"`) {
			t.Errorf("payment URL not kept as an attribute: %s", m.HTML)
		}
		// The text part is not HTML: the name is kept as written.
		if kind == KindAccepted && !strings.Contains(m.Text, "Cut & <b>colour</b>") {
			t.Errorf("text changed the service name: %s", m.Text)
		}
	}
}

func TestOverride(t *testing.T) {
	s := mustSet(t)
	d := Sample("fr")
	def, _ := s.Render(KindReminder, "fr", d, nil)

	m, err := s.Render(KindReminder, "fr", d, &Override{Text: "Rappel {{.ClientName}} : {{date .Start}} à {{time .Start}}, {{money .BalanceMinor .Currency}}."})
	if err != nil {
		t.Fatal(err)
	}
	if m.Text != "Rappel Camille Durand : lundi 9 mars 2026 à 14:30, 40,00 €." {
		t.Errorf("override text: %q", m.Text)
	}
	if m.Subject != def.Subject || m.HTML != def.HTML {
		t.Error("empty override fields should keep the defaults")
	}

	m, err = s.Render(KindReminder, "fr", d, &Override{Subject: "Rappel\r\nBcc: x@example.com", HTML: "<p>Bonjour {{.ClientName}}</p>"})
	if err != nil {
		t.Fatal(err)
	}
	if m.Subject != "Rappel Bcc: x@example.com" {
		t.Errorf("subject should be one line: %q", m.Subject)
	}
	if !strings.HasPrefix(m.HTML, "<!DOCTYPE html>") || !strings.Contains(m.HTML, "<p>Bonjour Camille Durand</p>") || m.Text != def.Text {
		t.Errorf("HTML fragment should be placed in the layout:\n%s", m.HTML)
	}

	m, err = s.Render(KindReminder, "fr", d, &Override{HTML: "<!doctype html><html><body>{{.ClientName}}</body></html>"})
	if err != nil || m.HTML != "<!doctype html><html><body>Camille Durand</body></html>" {
		t.Errorf("whole-document override: %v %q", err, m.HTML)
	}

	// A kind without a default subject takes the override's.
	m, err = s.Render(KindHelp, "en", Sample("en"), &Override{Subject: "Help"})
	if err != nil || m.Subject != "Help" {
		t.Errorf("help subject: %v %q", err, m.Subject)
	}

	// Errors, never panics.
	var pe *ParseError
	if _, err := s.Render(KindReminder, "fr", d, &Override{Text: "Bonjour {{.ClientName"}); !errors.As(err, &pe) || pe.Line != 1 {
		t.Errorf("parse error: %v", err)
	}
	if _, err := s.Render(KindReminder, "fr", d, &Override{Text: "{{.Nope}}"}); err == nil || !strings.Contains(err.Error(), "Nope") {
		t.Errorf("execution error: %v", err)
	}
	// A missing Extra key renders empty at send time (Validate refuses it).
	m, err = s.Render(KindReminder, "fr", d, &Override{Text: "a{{.Extra.other}}b"})
	if err != nil || m.Text != "ab" {
		t.Errorf("missing Extra key: %v %q", err, m.Text)
	}
	if _, err := s.Render(KindReminder, "fr", d, &Override{Text: "{{range 1000000000}}x{{end}}"}); !errors.As(err, &pe) {
		t.Errorf("range should be refused: %v", err)
	}
}

func TestOutputLimit(t *testing.T) {
	s := mustSet(t)
	d := Sample("en")
	d.ClientName = strings.Repeat("x", maxTextOutput)
	if _, err := s.Render(KindStaffNewRequest, "en", d, nil); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Errorf("err = %v, want output too long", err)
	}
}

func TestCleanText(t *testing.T) {
	in := "\n  Hello  \r\n\r\n\r\n\nWorld \t\n\n"
	if got := cleanText(in); got != "Hello\n\nWorld" {
		t.Errorf("cleanText = %q", got)
	}
}

// TestEmptyData renders every kind with nothing set: no panic, no error, no
// "<no value>", and no sender prefix without a sender.
func TestEmptyData(t *testing.T) {
	s := mustSet(t)
	for _, loc := range Locales() {
		for _, kind := range Kinds() {
			m, err := s.Render(kind, loc, Data{}, nil)
			if err != nil {
				t.Errorf("%s/%s: %v", loc, kind, err)
				continue
			}
			if strings.HasPrefix(m.Text, ":") || strings.HasPrefix(m.Text, " :") || strings.Contains(m.Text, "<no value>") || m.Text == "" {
				t.Errorf("%s/%s: %q", loc, kind, m.Text)
			}
		}
	}
}

// TestSMSEncoding: the SMS kinds stay GSM-7 in en, fr and de (the French
// and German texts avoid ç, ê, ô and typographic punctuation), are UCS-2 in
// ru and pl, and the English ones fit two segments with the sample data.
func TestSMSEncoding(t *testing.T) {
	s := mustSet(t)
	for _, loc := range Locales() {
		for _, kind := range smsKinds {
			// An August date too: "août" would make a French SMS UCS-2.
			d := Sample(loc)
			d.SMS = true
			m, err := s.Render(kind, loc, d, nil)
			if err != nil {
				t.Fatal(err)
			}
			d.Start = time.Date(2026, 8, 3, 14, 30, 0, 0, d.Timezone)
			d.Starts = []time.Time{d.Start, d.Start.AddDate(0, 0, 7)} // a series lists its dates
			aug, err := s.Render(kind, loc, d, nil)
			if err != nil {
				t.Fatal(err)
			}
			if m.Text == aug.Text && kind != KindHelp {
				t.Errorf("%s/%s: the August date is not in the text", loc, kind)
			}
			m.Text += "\n" + aug.Text
			info := sms.Analyze(m.Text)
			want := sms.GSM7
			if loc == "ru" || loc == "pl" {
				want = sms.UCS2
			}
			if info.Encoding != want {
				var bad []string
				for _, r := range m.Text {
					if !sms.IsGSM7(r) {
						bad = append(bad, string(r))
					}
				}
				t.Errorf("%s/%s: %s, want %s (non-GSM: %q)", loc, kind, info.Encoding, want, bad)
			}
			if loc == "en" && info.Segments > 4 { // both texts: two segments each
				t.Errorf("en/%s: %d segments (%d units)", kind, info.Segments, info.Units)
			}
		}
	}
}

func TestReplyWords(t *testing.T) {
	s := mustSet(t)
	for _, loc := range Locales() {
		confirm, cancel := ReplyWords(loc)
		if confirm[0] != "1" || cancel[0] != "2" || (loc != "pl") != slices.Contains(confirm, "YES") || (loc != "pl") != slices.Contains(cancel, "NO") {
			t.Errorf("%s: %v %v", loc, confirm, cancel)
		}
		m, err := s.Render(KindReminderConfirm, loc, Sample(loc), nil)
		if err != nil {
			t.Fatal(err)
		}
		// The message shows "1 (WORD)" and "2 (WORD)" with the locale's word.
		if !strings.Contains(m.Text, fmt.Sprintf("1 (%s)", confirm[1])) || !strings.Contains(m.Text, fmt.Sprintf("2 (%s)", cancel[1])) {
			t.Errorf("%s: reminder.confirm does not ask for %s / %s: %s", loc, confirm[1], cancel[1], m.Text)
		}
		help, _ := s.Render(KindHelp, loc, Sample(loc), nil)
		if !strings.Contains(help.Text, confirm[1]) || !strings.Contains(help.Text, cancel[1]) {
			t.Errorf("%s: help does not name %s / %s", loc, confirm[1], cancel[1])
		}
	}
	if c, _ := ReplyWords("es"); c[1] != "YES" {
		t.Errorf("unknown locale: %v", c)
	}
}

func TestRenderConcurrently(t *testing.T) {
	s := mustSet(t)
	var wg sync.WaitGroup
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			loc := Locales()[i%5]
			kind := Kinds()[i%len(Kinds())]
			var o *Override
			if i%3 == 0 {
				o = &Override{Text: "{{.ClientName}} {{date .Start}}", HTML: "<p>{{.ClientName}}</p>"}
			}
			for range 20 {
				if _, err := s.Render(kind, loc, Sample(loc), o); err != nil {
					t.Error(err)
					return
				}
			}
		}()
	}
	wg.Wait()
}

func BenchmarkRenderReminder(b *testing.B) {
	s, _ := Default()
	d := Sample("fr")
	for b.Loop() {
		if _, err := s.Render(KindReminder, "fr", d, nil); err != nil {
			b.Fatal(err)
		}
	}
}
