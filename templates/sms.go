package templates

import (
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/bookinggw/gateway/core/sms"
)

// gsm7Locales are the locales whose texts fit the GSM-7 alphabet; one
// character outside it makes a whole SMS UCS-2.
var gsm7Locales = map[string]bool{"en": true, "fr": true, "de": true}

// translit spells letters outside GSM-7 with letters inside it. Letters
// GSM-7 has (é, è, à, ä, ö, ü, ñ, ß, å, ø, æ, Ç, É, …) are kept as they are.
var translit = map[rune]string{}

func init() {
	for _, set := range []struct{ from, to string }{
		{"áâãāăą", "a"}, {"ÁÀÂÃĀĂĄ", "A"}, {"çćčĉċ", "c"}, {"ĆČĈĊ", "C"}, {"ďđ", "d"}, {"ĎĐ", "D"},
		{"êëēėęě", "e"}, {"ÈÊËĒĖĘĚ", "E"}, {"íîïīįı", "i"}, {"ÍÌÎÏĪĮİ", "I"}, {"ł", "l"}, {"Ł", "L"}, {"ńňņ", "n"}, {"ŃŇŅ", "N"},
		{"óôõōő", "o"}, {"ÓÒÔÕŌŐ", "O"}, {"řŕ", "r"}, {"ŘŔ", "R"}, {"śšşș", "s"}, {"ŚŠŞȘ", "S"}, {"ťţț", "t"}, {"ŤŢȚ", "T"},
		{"úûūůűų", "u"}, {"ÚÙÛŪŮŰŲ", "U"}, {"ýÿ", "y"}, {"ÝŸ", "Y"}, {"źżž", "z"}, {"ŹŻŽ", "Z"}, {"ğ", "g"}, {"Ğ", "G"},
		{"’‘ʼ", "'"}, {"‐‑–—", "-"},
	} {
		for _, r := range set.from {
			translit[r] = set.to
		}
	}
	for r, s := range map[rune]string{'œ': "oe", 'Œ': "Oe", 'þ': "th", 'Þ': "Th", 'ð': "d", 'Ð': "D"} {
		translit[r] = s
	}
	// Russian names in a French, German or English SMS (passport style).
	cyr := map[rune]string{'а': "a", 'б': "b", 'в': "v", 'г': "g", 'д': "d", 'е': "e", 'ё': "e", 'ж': "zh", 'з': "z", 'и': "i",
		'й': "y", 'к': "k", 'л': "l", 'м': "m", 'н': "n", 'о': "o", 'п': "p", 'р': "r", 'с': "s", 'т': "t", 'у': "u", 'ф': "f",
		'х': "kh", 'ц': "ts", 'ч': "ch", 'ш': "sh", 'щ': "shch", 'ъ': "", 'ы': "y", 'ь': "", 'э': "e", 'ю': "yu", 'я': "ya"}
	for r, s := range cyr {
		translit[r] = s
		if s != "" {
			translit[unicode.ToUpper(r)] = strings.ToUpper(s[:1]) + s[1:]
		} else {
			translit[unicode.ToUpper(r)] = ""
		}
	}
}

// smsName spells a name in GSM-7 when transliteration can ("François" →
// "Francois", "Łukasz" → "Lukasz", "Мария" → "Mariya"); a name it cannot
// (Chinese, Arabic) is kept as written.
func smsName(name string) string {
	var b strings.Builder
	changed := false
	for _, r := range name {
		if sms.IsGSM7(r) {
			b.WriteRune(r)
			continue
		}
		t, ok := translit[r]
		if !ok {
			return name
		}
		b.WriteString(t)
		changed = true
	}
	if !changed {
		return name
	}
	return b.String()
}

// RegionOf tells the recipient's region where formats depend on it: the
// region of the language tag ("en-US", "en_GB"), else "US" for a North
// American phone number (+1). Empty when neither says.
func RegionOf(tag, phone string) string {
	if _, region, ok := strings.Cut(strings.ReplaceAll(tag, "_", "-"), "-"); ok && len(region) == 2 {
		return strings.ToUpper(region)
	}
	if strings.HasPrefix(phone, "+1") {
		return "US"
	}
	return ""
}

// listReasons are the reasons chosen from a list (and the one the gateway
// writes itself), translated; any other reason is shown as staff typed it.
var listReasons = map[string]map[string]string{
	"cancelled by the client": {"en": "Cancelled by the client", "fr": "Annulé par le client", "de": "Vom Kunden abgesagt",
		"ru": "Отменено клиентом", "pl": "Odwołane przez klienta"},
	"client_request": {"en": "At the client's request", "fr": "Sur demande du client", "de": "Auf Wunsch des Kunden",
		"ru": "По просьбе клиента", "pl": "Na prośbę klienta"},
	"illness": {"en": "Illness", "fr": "Maladie", "de": "Krankheit", "ru": "Болезнь", "pl": "Choroba"},
	"specialist_unavailable": {"en": "The specialist is not available", "fr": "Le spécialiste n'est pas disponible",
		"de": "Die Fachkraft ist nicht verfügbar", "ru": "Специалист недоступен", "pl": "Specjalista jest niedostępny"},
	"schedule_change": {"en": "The schedule has changed", "fr": "Le planning a changé", "de": "Der Zeitplan hat sich geändert",
		"ru": "Изменилось расписание", "pl": "Zmienił się grafik"},
}

// ListReasons are the reason codes Reason translates.
func ListReasons() []string {
	out := make([]string, 0, len(listReasons))
	for k := range listReasons {
		if !strings.Contains(k, " ") {
			out = append(out, k)
		}
	}
	return out
}

// Reason shows a cancellation or rejection reason as a sentence in
// locale: a reason from the list translated; a typed one as typed, with a
// full stop added only when it ends without one (never "ill..").
func Reason(locale, r string) string {
	r = strings.TrimSpace(r)
	if t, ok := listReasons[strings.ToLower(r)]; ok {
		if r = t[locale]; r == "" {
			r = t[DefaultLocale]
		}
	}
	if r == "" {
		return ""
	}
	if last, _ := utf8.DecodeLastRuneInString(r); !strings.ContainsRune(".!?…", last) {
		r += "."
	}
	return r
}
