package templates

import (
	"testing"
	"time"
)

func TestFormatMoney(t *testing.T) {
	tests := []struct {
		locale   string
		minor    int64
		currency string
		want     string
	}{
		{"en", 1250, "EUR", "€12.50"},
		{"fr", 1250, "EUR", "12,50 €"},
		{"de", 1250, "EUR", "12,50 €"},
		{"ru", 1250, "EUR", "12,50 €"},
		{"pl", 1250, "EUR", "12,50 €"},
		{"en", 1250, "eur", "€12.50"},
		{"en", 0, "EUR", "€0.00"},
		{"en", 5, "EUR", "€0.05"},
		{"en", -500, "EUR", "-€5.00"},
		{"fr", -500, "EUR", "-5,00 €"},
		{"en", 123456789, "USD", "$1,234,567.89"},
		{"de", 123456, "EUR", "1.234,56 €"},
		{"fr", 123456, "EUR", "1 234,56 €"},
		{"ru", 125000, "RUB", "1 250,00 ₽"},
		{"pl", 123456, "PLN", "1234,56 zł"}, // Polish groups from five digits
		{"pl", 1234567, "PLN", "12 345,67 zł"},
		{"en", 123456, "PLN", "PLN 1,234.56"}, // no English symbol: the code
		{"en", 1250, "CHF", "CHF 12.50"},
		{"de", 1250, "CHF", "12,50 CHF"},
		{"en", 1250, "JPY", "¥1,250"}, // no minor unit
		{"fr", 1250, "JPY", "1 250 ¥"},
		{"en", 7, "JPY", "¥7"},
		{"en", 1250, "KWD", "KWD 1.250"}, // thousandths
		{"de", 1234567, "KWD", "1.234,567 KWD"},
		{"ru", 5, "KWD", "0,005 KWD"},
		{"en", 12345, "CLF", "CLF 1.2345"}, // ten-thousandths
		{"en", 1250, "", "12.50"},          // no currency: the number alone
		{"xx", 1250, "EUR", "€12.50"},      // unknown locale: English
		{"en", -9223372036854775808, "EUR", "-€92,233,720,368,547,758.08"},
	}
	for _, tt := range tests {
		if got := FormatMoney(tt.locale, tt.minor, tt.currency); got != tt.want {
			t.Errorf("FormatMoney(%s, %d, %s) = %q, want %q", tt.locale, tt.minor, tt.currency, got, tt.want)
		}
	}
}

func TestCurrencyDigits(t *testing.T) {
	for code, want := range map[string]int{"EUR": 2, "JPY": 0, "jpy": 0, "KRW": 0, "KWD": 3, "BHD": 3, "CLF": 4, "XYZ": 2, "": 2} {
		if got := CurrencyDigits(code); got != want {
			t.Errorf("CurrencyDigits(%q) = %d, want %d", code, got, want)
		}
	}
}

func TestFormatDate(t *testing.T) {
	monday := time.Date(2026, 3, 9, 14, 30, 0, 0, time.UTC)
	want := map[string]string{
		"en":    "Monday 9 March 2026",
		"en-US": "Monday, March 9, 2026",
		"fr":    "lundi 9 mars 2026",
		"de":    "Montag, 9. März 2026",
		"ru":    "понедельник, 9 марта 2026 г.",
		"pl":    "poniedziałek, 9 marca 2026 r.",
		"zz":    "Monday 9 March 2026",
	}
	for loc, w := range want {
		if got := FormatDate(loc, monday); got != w {
			t.Errorf("FormatDate(%s) = %q, want %q", loc, got, w)
		}
	}
	first := time.Date(2026, 5, 1, 9, 0, 0, 0, time.UTC) // a Friday
	for loc, w := range map[string]string{"fr": "vendredi 1er mai 2026", "de": "Freitag, 1. Mai 2026", "en": "Friday 1 May 2026", "en-US": "Friday, May 1, 2026"} {
		if got := FormatDate(loc, first); got != w {
			t.Errorf("FormatDate(%s, 1 May) = %q, want %q", loc, got, w)
		}
	}
	if got := FormatDate("en", time.Time{}); got != "" {
		t.Errorf("zero date = %q", got)
	}
}

// TestGenitiveMonths checks that Russian and Polish dates use the genitive
// month ("9 марта", "9 marca"), never the nominative ("март", "marzec").
func TestGenitiveMonths(t *testing.T) {
	ru := []string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа", "сентября", "октября", "ноября", "декабря"}
	pl := []string{"stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia", "września", "października", "listopada", "grudnia"}
	for m := time.January; m <= time.December; m++ {
		d := time.Date(2026, m, 15, 12, 0, 0, 0, time.UTC)
		if got, w := FormatDate("ru", d), " 15 "+ru[m-1]+" 2026 г."; !hasSuffix(got, w) {
			t.Errorf("ru %v: %q, want suffix %q", m, got, w)
		}
		if got, w := FormatDate("pl", d), " 15 "+pl[m-1]+" 2026 r."; !hasSuffix(got, w) {
			t.Errorf("pl %v: %q, want suffix %q", m, got, w)
		}
	}
	if got := FormatDate("ru", time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)); got != "среда, 11 марта 2026 г." {
		t.Errorf("ru Wednesday: %q", got)
	}
	if got := FormatDate("pl", time.Date(2026, 3, 11, 0, 0, 0, 0, time.UTC)); got != "środa, 11 marca 2026 r." {
		t.Errorf("pl Wednesday: %q", got)
	}
}

func hasSuffix(s, suffix string) bool {
	return len(s) >= len(suffix) && s[len(s)-len(suffix):] == suffix
}

func TestFormatTime(t *testing.T) {
	tests := []struct {
		locale    string
		hour, min int
		want      string
	}{
		{"en-US", 14, 30, "2:30 PM"},
		{"en-US", 9, 5, "9:05 AM"},
		{"en-US", 0, 5, "12:05 AM"},
		{"en-US", 12, 0, "12:00 PM"},
		{"en", 14, 30, "14:30"}, // British English: a 24-hour clock
		{"en", 9, 5, "09:05"},
		{"fr", 14, 30, "14:30"},
		{"de", 9, 5, "09:05"},
		{"ru", 0, 0, "00:00"},
		{"pl", 23, 59, "23:59"},
	}
	for _, tt := range tests {
		at := time.Date(2026, 3, 9, tt.hour, tt.min, 0, 0, time.UTC)
		if got := FormatTime(tt.locale, at); got != tt.want {
			t.Errorf("FormatTime(%s, %02d:%02d) = %q, want %q", tt.locale, tt.hour, tt.min, got, tt.want)
		}
	}
	if FormatTime("fr", time.Time{}) != "" {
		t.Error("zero time should format as empty")
	}
}

func TestFormatDuration(t *testing.T) {
	tests := []struct {
		locale  string
		minutes int
		want    string
	}{
		{"en", 90, "1 h 30 min"},
		{"en", 45, "45 min"},
		{"en", 120, "2 h"},
		{"fr", 90, "1 h 30 min"},
		{"de", 90, "1 Std. 30 Min."},
		{"de", 60, "1 Std."},
		{"ru", 90, "1 ч 30 мин"},
		{"ru", 30, "30 мин"},
		{"pl", 90, "1 godz. 30 min"},
		{"pl", 0, ""},
		{"en", -5, ""},
	}
	for _, tt := range tests {
		if got := FormatDuration(tt.locale, tt.minutes); got != tt.want {
			t.Errorf("FormatDuration(%s, %d) = %q, want %q", tt.locale, tt.minutes, got, tt.want)
		}
	}
}

// TestSMSMonths: French SMS spell August "aout" (û would make the SMS
// UCS-2); emails keep "août"; other months and locales are unchanged.
func TestSMSMonths(t *testing.T) {
	aug := time.Date(2027, 8, 3, 10, 0, 0, 0, time.UTC)
	for _, tc := range []struct{ locale, email, sms string }{
		{"fr", "mardi 3 août 2027", "mardi 3 aout 2027"},
		{"de", "Dienstag, 3. August 2027", "Dienstag, 3. August 2027"},
		{"en", "Tuesday 3 August 2027", "Tuesday 3 August 2027"},
	} {
		if got := FormatDate(tc.locale, aug); got != tc.email {
			t.Errorf("%s email: %q", tc.locale, got)
		}
		if got := FormatSMSDate(tc.locale, aug); got != tc.sms {
			t.Errorf("%s SMS: %q", tc.locale, got)
		}
	}
	if got := FormatSMSDate("fr", time.Date(2027, 12, 1, 0, 0, 0, 0, time.UTC)); got != "mercredi 1er décembre 2027" {
		t.Errorf("fr December SMS: %q", got)
	}
}
