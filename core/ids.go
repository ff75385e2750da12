package core

// requiredID records why a required id field cannot name anything: it is
// missing, or it is not an id this service issues (a typo, a name pasted
// instead of an id). It reports whether id is well formed, so the caller
// goes on to look it up.
func requiredID(f *Fields, field, what, id string) bool {
	switch {
	case id == "":
		f.Add(field, "is required")
	case !ValidID(id):
		f.Add(field, "is not a "+what+" id (ids look like 0190f8a4-5b6c-7d8e-9f01-23456789abcd)")
	default:
		return true
	}
	return false
}
