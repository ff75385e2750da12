package core

import (
	"strings"

	"github.com/nyaruka/phonenumbers"
)

// NormalizePhone returns a number in E.164 (+33612345678). Without a leading
// "+" the number is read in defaultRegion (ISO 3166 code such as "FR"); with
// no region such a number is rejected rather than guessed.
func NormalizePhone(raw, defaultRegion string) (string, error) {
	raw = strings.TrimSpace(raw)
	if raw == "" {
		return "", Invalid("phone number is empty")
	}
	region := strings.ToUpper(defaultRegion)
	if strings.HasPrefix(raw, "00") {
		raw = "+" + raw[2:]
	}
	if !strings.HasPrefix(raw, "+") && region == "" {
		return "", &Error{Code: CodeInvalid, Message: "phone number must start with + and a country code"}
	}
	n, err := phonenumbers.Parse(raw, region)
	if err != nil {
		return "", &Error{Code: CodeInvalid, Message: "is not a phone number"}
	}
	if !phonenumbers.IsValidNumber(n) {
		return "", &Error{Code: CodeInvalid, Message: "is not a valid phone number"}
	}
	return phonenumbers.Format(n, phonenumbers.E164), nil
}

// DisplayPhone formats an E.164 number for a reader whose own number is
// viewer: nationally ("04 72 00 00 00") within the same country,
// internationally ("+33 4 72 00 00 00") otherwise; as given if it does not
// parse.
func DisplayPhone(e164, viewer string) string {
	n, err := phonenumbers.Parse(e164, "")
	if err != nil {
		return e164
	}
	if v, err := phonenumbers.Parse(viewer, ""); err == nil && v.GetCountryCode() == n.GetCountryCode() {
		return phonenumbers.Format(n, phonenumbers.NATIONAL)
	}
	return phonenumbers.Format(n, phonenumbers.INTERNATIONAL)
}
