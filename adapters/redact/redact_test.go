package redact

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"testing"
)

func TestScrub(t *testing.T) {
	const secret = "tok/en+1"
	for _, tc := range []struct {
		name    string
		err     error
		keepsIs error
	}{
		{"raw", fmt.Errorf("call failed for %s", secret), nil},
		{"path-escaped", fmt.Errorf("GET /bot%s/send", url.PathEscape(secret)), nil},
		{"url error", &url.Error{Op: "Post", URL: "https://api/bot" + secret + "/x", Err: errors.New("refused")}, nil},
		{"cancelled", fmt.Errorf("%s: %w", secret, context.Canceled), context.Canceled},
		{"deadline", fmt.Errorf("%s: %w", secret, context.DeadlineExceeded), context.DeadlineExceeded},
	} {
		got := Scrub(tc.err, secret)
		if s := fmt.Sprintf("%v %#v", got, got); strings.Contains(s, secret) || strings.Contains(s, url.PathEscape(secret)) {
			t.Errorf("%s: secret left in %s", tc.name, s)
		}
		if tc.keepsIs != nil && !errors.Is(got, tc.keepsIs) {
			t.Errorf("%s: lost %v", tc.name, tc.keepsIs)
		}
	}
	plain := errors.New("nothing secret")
	if Scrub(plain, secret) != plain || Scrub(nil, secret) != nil {
		t.Error("errors without the secret must pass unchanged")
	}
}
