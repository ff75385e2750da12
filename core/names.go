package core

import "strings"

// SplitName splits a whole name into a first and a last name, as staff
// type it in one field: "Anna Petrova" (first name first; everything after
// the first word is the last name, so "Jean de La Fontaine" keeps its
// particle), or "Petrova, Anna" (last name first, as lists write it). One
// word is a first name alone. A name it cannot read unambiguously gives why,
// a message for the client of the API.
func SplitName(name string) (first, last, why string) {
	const ask = `write it as "First Last" or "Last, First", or send first_name and last_name`
	name = strings.Join(strings.Fields(name), " ")
	switch strings.Count(name, ",") {
	case 0:
		first, last, _ = strings.Cut(name, " ")
		return first, last, ""
	case 1:
		l, f, _ := strings.Cut(name, ",")
		l, f = strings.TrimSpace(l), strings.TrimSpace(f)
		if l == "" || f == "" {
			return "", "", "has a comma but no name on one side of it: " + ask
		}
		return f, l, ""
	}
	return "", "", "has more than one comma, so which part is the last name is unclear: " + ask
}
