package core

import (
	"crypto/rand"
	"encoding/base64"
	"time"
)

// LinkToken is a short random token standing for an appointment and an
// action until it expires. SMS links carry it instead of a signed token
// (about 40 characters of link instead of 110: a whole segment in UCS-2
// languages).
type LinkToken struct {
	Token         string
	OrgID         string
	AppointmentID string
	Action        LinkAction
	Expires       time.Time
}

// ShortTokenLen is the length of a new token: 16 characters carrying 96
// random bits, not guessable.
const ShortTokenLen = 16

// NewLinkToken returns a random token of ShortTokenLen URL-safe characters.
func NewLinkToken() string {
	b := make([]byte, 12)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand never fails on supported platforms
	}
	return base64.RawURLEncoding.EncodeToString(b)
}

// IsShortToken tells a short token from a signed one (SignLink), which is
// at least 44 characters.
func IsShortToken(token string) bool { return len(token) == ShortTokenLen }

// CheckLinkToken says whether a stored token may be used at now.
func CheckLinkToken(t LinkToken, now time.Time) error {
	if now.After(t.Expires) {
		return &Error{Code: CodeInvalid, Message: "this link has expired"}
	}
	return nil
}
