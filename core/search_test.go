package core

import "testing"

func TestSearchFold(t *testing.T) {
	for in, want := range map[string]string{
		"Élodie":            "elodie",
		"ÉLODIE Lefèvre":    "elodie lefevre",
		"elodie":            "elodie",
		"Łukasz Wałęsa":     "lukasz walesa",
		"Søren Ærø":         "soren aero",
		"Straße":            "strasse",
		"Анна Петрова":      "анна петрова",
		"Йоган":             "иоган",
		"Zoë O'Neil-Çelik":  "zoe o'neil-celik",
		"élodie@Example.FR": "elodie@example.fr",
	} {
		if got := SearchFold(in); got != want {
			t.Errorf("SearchFold(%q) = %q, want %q", in, got, want)
		}
	}
}
