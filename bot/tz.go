package bot

import (
	"regexp"
	"strconv"
	"strings"
	"time"
	"unicode"
)

var offsetRE = regexp.MustCompile(`^(?i)(?:utc|gmt)?\s*([+-−])\s*(\d{1,2})(?::?(00))?$`)

// areas are the IANA regions a city is looked up in ("Paris" →
// Europe/Paris, "new york" → America/New_York).
var areas = []string{"Europe", "America", "Asia", "Africa", "Australia", "Pacific", "Atlantic", "Indian", "America/Argentina"}

// ParseZone reads a timezone as a user writes it: an IANA name
// ("Europe/Paris"), a city of the IANA database in English ("Paris",
// "New York"), or a whole-hour UTC offset ("UTC+2", "+3", "GMT-5"), which
// becomes the fixed zone Etc/GMT∓N. ok is false for anything else.
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
