package bot

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

var offsetRE = regexp.MustCompile(`^(?i)(?:utc|gmt)?\s*([+-−])\s*(\d{1,2})(?::?(\d{2}))?$`)

// fractionalOffsets are the offsets that are not whole hours, each with a
// zone that keeps it all year (no Etc/ zone exists for them). Offsets
// that only some zones with daylight saving have (St John's −3:30,
// Adelaide +9:30 in summer) are left to the city's name.
var fractionalOffsets = map[string]string{
	"+3:30": "Asia/Tehran",
	"+4:30": "Asia/Kabul",
	"+5:30": "Asia/Kolkata",
	"+5:45": "Asia/Kathmandu",
	"+6:30": "Asia/Yangon",
	"+8:45": "Australia/Eucla",
	"+9:30": "Australia/Darwin",
	"-9:30": "Pacific/Marquesas",
}

// cityAliases are cities as clients of the seeds' markets write them in
// their own languages, where the IANA database has an English name or
// none (Kraków has no zone of its own).
var cityAliases = map[string]string{
	"москва": "Europe/Moscow", "санкт-петербург": "Europe/Moscow", "петербург": "Europe/Moscow",
	"казань": "Europe/Moscow", "новосибирск": "Asia/Novosibirsk", "екатеринбург": "Asia/Yekaterinburg",
	"минск": "Europe/Minsk", "алматы": "Asia/Almaty", "ташкент": "Asia/Tashkent", "рига": "Europe/Riga",
	"варшава": "Europe/Warsaw", "париж": "Europe/Paris", "берлин": "Europe/Berlin", "лондон": "Europe/London",
	"warszawa": "Europe/Warsaw", "kraków": "Europe/Warsaw", "krakow": "Europe/Warsaw", "wrocław": "Europe/Warsaw",
	"gdańsk": "Europe/Warsaw", "poznań": "Europe/Warsaw", "łódź": "Europe/Warsaw",
	"londres": "Europe/London", "bruxelles": "Europe/Brussels", "genève": "Europe/Zurich", "lyon": "Europe/Paris",
	"marseille": "Europe/Paris", "montréal": "America/Toronto",
}

// areas are the IANA regions a city is looked up in ("Paris" →
// Europe/Paris, "new york" → America/New_York).
var areas = []string{"Europe", "America", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian", "America/Argentina"}

// ParseZone reads a timezone as a user writes it: an IANA name
// ("Europe/Paris"), a city of the IANA database in English ("Paris",
// "New York") or a common one in Russian, Polish or French ("Москва",
// "Kraków"), or a UTC offset: a whole hour ("UTC+2", "+3", "GMT-5")
// becomes the fixed zone Etc/GMT∓N, a fractional one ("+5:30") a zone
// that keeps it all year. ok is false for anything else.
func ParseZone(text string) (string, bool) {
	text = strings.TrimSpace(text)
	if text == "" || len(text) > 64 {
		return "", false
	}
	switch strings.ToUpper(text) {
	case "UTC", "GMT", "Z":
		return "UTC", true
	}
	if m := offsetRE.FindStringSubmatch(text); m != nil {
		h, _ := strconv.Atoi(m[2])
		if h > 14 {
			return "", false
		}
		if m[3] != "" && m[3] != "00" {
			sign := "+"
			if m[1] != "+" {
				sign = "-"
			}
			zone, ok := fractionalOffsets[sign+strconv.Itoa(h)+":"+m[3]]
			return zone, ok
		}
		if h == 0 {
			return "UTC", true
		}
		// Etc/GMT zones are named with the POSIX sign: Etc/GMT-3 is UTC+3.
		sign := "-"
		if m[1] != "+" {
			sign = "+"
		}
		return "Etc/GMT" + sign + strconv.Itoa(h), true
	}
	if zone, ok := cityAliases[strings.ToLower(strings.Join(strings.Fields(text), " "))]; ok {
		return zone, true
	}
	if strings.Contains(text, "/") {
		if _, err := time.LoadLocation(text); err == nil {
			return text, true
		}
		return "", false
	}
	city := cityName(text)
	if city == "" {
		return "", false
	}
	for _, a := range areas {
		name := a + "/" + city
		if _, err := time.LoadLocation(name); err == nil {
			return name, true
		}
	}
	return "", false
}

// cityName writes a city as the IANA database does: words capitalized and
// joined by "_"; only ASCII letters, spaces, "-" and "'" are accepted.
func cityName(s string) string {
	var words []string
	for _, w := range strings.Fields(s) {
		for _, r := range w {
			if r > unicode.MaxASCII || !(unicode.IsLetter(r) || r == '-' || r == '\'') {
				return ""
			}
		}
		w = strings.ToLower(w)
		words = append(words, strings.ToUpper(w[:1])+w[1:])
	}
	return strings.Join(words, "_")
}
