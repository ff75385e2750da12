package core

import (
	"strings"
	"unicode"

	"golang.org/x/text/unicode/norm"
)

// foldLetters are letters that carry no separable accent but that people
// type without one ("Łukasz" is found as "lukasz").
var foldLetters = strings.NewReplacer("ł", "l", "ø", "o", "đ", "d", "ħ", "h", "ı", "i", "ß", "ss", "æ", "ae", "œ", "oe", "þ", "th")

// SearchFold is the form in which client names and emails are stored for
// search and in which a search text is compared with them: lower case,
// accents removed ("Élodie" and "elodie" are one), so the search behaves
// the same on SQLite and PostgreSQL whatever their collations.
func SearchFold(s string) string {
	var b strings.Builder
	for _, r := range norm.NFD.String(strings.ToLower(s)) {
		if !unicode.Is(unicode.Mn, r) {
			b.WriteRune(r)
		}
	}
	return foldLetters.Replace(norm.NFC.String(b.String()))
}
