package templates

import (
	"strconv"
	"strings"
	"time"
)

// The formatting below is a small, fixed subset of CLDR for the five
// locales, written out by hand because golang.org/x/text is not a
// dependency. Every function takes a normalized locale ("en", "fr", "de",
// "ru", "pl"); anything else is formatted as "en".
//
// Separators are plain ASCII spaces, not the no-break spaces CLDR uses
// (U+00A0, U+202F): a single no-break space makes a whole SMS UCS-2, which
// halves what a segment carries.

type localeFormat struct {
	weekdays [7]string  // Sunday first, as time.Weekday
	months   [12]string // the form used after a day number (genitive in ru and pl)
	// dateLayout builds "weekday, day month year" from its parts.
	date     func(weekday, day, month string, year int) string
	hours12  bool   // "2:30 PM" instead of "14:30"
	decimal  string // decimal separator
	group    string // thousands separator
	minGroup int    // group thousands only from this many digits (CLDR minimumGroupingDigits + 3)
	hour     string // duration unit for hours
	minute   string // duration unit for minutes
}

var formats = map[string]*localeFormat{
	// British English, the default: "Tuesday 2 March 2027", "09:00".
	"en": {
		weekdays: enWeekdays, months: enMonths,
		date:    func(w, d, m string, y int) string { return w + " " + d + " " + m + " " + strconv.Itoa(y) },
		decimal: ".", group: ",", minGroup: 4, hour: "h", minute: "min",
	},
	// American English: "Tuesday, March 2, 2027", "9:00 AM".
	"en-US": {
		weekdays: enWeekdays, months: enMonths,
		date:    func(w, d, m string, y int) string { return w + ", " + m + " " + d + ", " + strconv.Itoa(y) },
		hours12: true, decimal: ".", group: ",", minGroup: 4, hour: "h", minute: "min",
	},
	"fr": {
		weekdays: [7]string{"dimanche", "lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi"},
		months: [12]string{"janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août",
			"septembre", "octobre", "novembre", "décembre"},
		date: func(w, d, m string, y int) string {
			if d == "1" {
				d = "1er"
			}
			return w + " " + d + " " + m + " " + strconv.Itoa(y)
		},
		decimal: ",", group: " ", minGroup: 4, hour: "h", minute: "min",
	},
	"de": {
		weekdays: [7]string{"Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"},
		months: [12]string{"Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August",
			"September", "Oktober", "November", "Dezember"},
		date:    func(w, d, m string, y int) string { return w + ", " + d + ". " + m + " " + strconv.Itoa(y) },
		decimal: ",", group: ".", minGroup: 4, hour: "Std.", minute: "Min.",
	},
	"ru": {
		weekdays: [7]string{"воскресенье", "понедельник", "вторник", "среда", "четверг", "пятница", "суббота"},
		months: [12]string{"января", "февраля", "марта", "апреля", "мая", "июня", "июля", "августа",
			"сентября", "октября", "ноября", "декабря"},
		// A year carries its abbreviation: "4 марта 2027 г.".
		date:    func(w, d, m string, y int) string { return w + ", " + d + " " + m + " " + strconv.Itoa(y) + " г." },
		decimal: ",", group: " ", minGroup: 4, hour: "ч", minute: "мин",
	},
	"pl": {
		weekdays: [7]string{"niedziela", "poniedziałek", "wtorek", "środa", "czwartek", "piątek", "sobota"},
		months: [12]string{"stycznia", "lutego", "marca", "kwietnia", "maja", "czerwca", "lipca", "sierpnia",
			"września", "października", "listopada", "grudnia"},
		// A year carries its abbreviation: "5 marca 2027 r.".
		date:    func(w, d, m string, y int) string { return w + ", " + d + " " + m + " " + strconv.Itoa(y) + " r." },
		decimal: ",", group: " ", minGroup: 5, hour: "godz.", minute: "min",
	},
}

var (
	enWeekdays = [7]string{"Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"}
	enMonths   = [12]string{"January", "February", "March", "April", "May", "June", "July", "August",
		"September", "October", "November", "December"}
)

// smsMonths replace a locale's months in SMS texts where the usual spelling
// leaves GSM-7: French "août" (û) would make every August SMS UCS-2, so
// SMS use the reformed spelling "aout"; emails keep "août".
var smsMonths = map[string]map[time.Month]string{"fr": {time.August: "aout"}}

// FormatSMSDate is FormatDate for an SMS text (see smsMonths).
func FormatSMSDate(locale string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	if m, ok := smsMonths[locale][t.Month()]; ok {
		f := formatFor(locale)
		return f.date(f.weekdays[t.Weekday()], strconv.Itoa(t.Day()), m, t.Year())
	}
	return FormatDate(locale, t)
}

func formatFor(locale string) *localeFormat {
	if f, ok := formats[locale]; ok {
		return f
	}
	return formats[DefaultLocale]
}

// FormatDate formats t's calendar date, in t's own location, the way
// locale writes a full date: en "Monday 9 March 2026", en-US "Monday,
// March 9, 2026", fr "lundi 9 mars 2026", de "Montag, 9. März 2026", ru
// "понедельник, 9 марта 2026 г.", pl "poniedziałek, 9 marca 2026 r.". The
// zero time gives "".
func FormatDate(locale string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	f := formatFor(locale)
	return f.date(f.weekdays[t.Weekday()], strconv.Itoa(t.Day()), f.months[t.Month()-1], t.Year())
}

// FormatTime formats t's wall-clock time in t's own location: "2:30 PM"
// in en-US, "14:30" elsewhere (en-GB included). A time in the hour
// repeated when clocks fall back happens twice, so it carries its zone:
// "02:30 CEST", then "02:30 CET" (or "UTC+03:00" where the zone has no
// abbreviation). The zero time gives "".
func FormatTime(locale string, t time.Time) string {
	if t.IsZero() {
		return ""
	}
	layout := "3:04 PM"
	if !formatFor(locale).hours12 {
		layout = "15:04"
	}
	if repeatedWallClock(t) {
		return t.Format(layout) + " " + zoneLabel(t)
	}
	return t.Format(layout)
}

// FormatDuration formats minutes: en "1 h 30 min", de "1 Std. 30 Min.",
// ru "1 ч 30 мин", pl "1 godz. 30 min"; whole hours drop the minutes
// ("2 h") and under an hour drops the hours ("45 min"). Zero or less gives
// "".
func FormatDuration(locale string, minutes int) string {
	if minutes <= 0 {
		return ""
	}
	f := formatFor(locale)
	h, m := minutes/60, minutes%60
	switch {
	case h == 0:
		return strconv.Itoa(m) + " " + f.minute
	case m == 0:
		return strconv.Itoa(h) + " " + f.hour
	}
	return strconv.Itoa(h) + " " + f.hour + " " + strconv.Itoa(m) + " " + f.minute
}

// currencyDigits lists the ISO 4217 currencies whose minor unit is not a
// hundredth.
var currencyDigits = map[string]int{
	// no minor unit
	"BIF": 0, "CLP": 0, "DJF": 0, "GNF": 0, "ISK": 0, "JPY": 0, "KMF": 0, "KRW": 0, "PYG": 0,
	"RWF": 0, "UGX": 0, "UYI": 0, "VND": 0, "VUV": 0, "XAF": 0, "XOF": 0, "XPF": 0,
	// thousandths
	"BHD": 3, "IQD": 3, "JOD": 3, "KWD": 3, "LYD": 3, "OMR": 3, "TND": 3,
	// ten-thousandths
	"CLF": 4, "UYW": 4,
}

// CurrencyDigits returns how many decimal digits the minor unit of an ISO
// 4217 currency has: 0 for JPY, 3 for KWD, 2 for most (and for unknown
// codes).
func CurrencyDigits(currency string) int {
	if d, ok := currencyDigits[strings.ToUpper(currency)]; ok {
		return d
	}
	return 2
}

// currencySymbols are the symbols shown instead of the ISO code. Others are
// shown by their code ("CHF 12.50", "12,50 CHF").
var currencySymbols = map[string]string{
	"EUR": "€", "USD": "$", "GBP": "£", "JPY": "¥", "RUB": "₽", "PLN": "zł", "UAH": "₴", "KZT": "₸",
	"INR": "₹", "ILS": "₪", "TRY": "₺",
}

// enPrefixSymbols are the symbols English writes before the amount
// ("€12.50"); any other currency is written "PLN 12.50".
var enPrefixSymbols = map[string]bool{"EUR": true, "USD": true, "GBP": true, "JPY": true, "INR": true, "ILS": true}

// FormatMoney formats an amount of minor units: en "€12.50", "¥1,250",
// "KWD 1.250"; fr "12,50 €", "1 250 ¥"; de "1.234,50 €"; ru "12,50 €",
// "1 250,00 ₽"; pl "12,50 zł". The number of decimals comes from
// CurrencyDigits. An empty currency gives the number alone.
func FormatMoney(locale string, minor int64, currency string) string {
	f := formatFor(locale)
	code := strings.ToUpper(currency)
	num := formatNumber(f, minor, CurrencyDigits(code))
	neg := strings.HasPrefix(num, "-")
	num = strings.TrimPrefix(num, "-")
	sign := ""
	if neg {
		sign = "-"
	}
	if code == "" {
		return sign + num
	}
	sym, hasSym := currencySymbols[code]
	if strings.HasPrefix(locale, "en") || formats[locale] == nil {
		if enPrefixSymbols[code] {
			return sign + sym + num
		}
		return sign + code + " " + num
	}
	if !hasSym {
		sym = code
	}
	return sign + num + " " + sym
}

func formatNumber(f *localeFormat, minor int64, digits int) string {
	neg := minor < 0
	u := uint64(minor)
	if neg {
		u = -u
	}
	s := strconv.FormatUint(u, 10)
	if len(s) <= digits {
		s = strings.Repeat("0", digits-len(s)+1) + s
	}
	whole, frac := s[:len(s)-digits], s[len(s)-digits:]
	if len(whole) >= f.minGroup {
		var b strings.Builder
		for i, c := range whole {
			if i > 0 && (len(whole)-i)%3 == 0 {
				b.WriteString(f.group)
			}
			b.WriteRune(c)
		}
		whole = b.String()
	}
	out := whole
	if digits > 0 {
		out += f.decimal + frac
	}
	if neg {
		out = "-" + out
	}
	return out
}
