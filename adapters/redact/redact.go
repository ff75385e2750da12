// Package redact keeps secrets (API tokens, passwords) out of the errors the
// channel adapters return: SDKs put tokens in URLs and echo them in errors.
package redact

import (
	"context"
	"errors"
	"net/url"
	"strings"
)

// Scrub removes secret (raw or URL-escaped) from err's text. A *url.Error
// keeps its type and cause; any other error carrying the secret is replaced
// by its redacted text, keeping only context cancellation as a cause.
func Scrub(err error, secret string) error {
	if err == nil || secret == "" {
		return err
	}
	forms := []string{secret, url.PathEscape(secret), url.QueryEscape(secret)}
	has := func(s string) bool {
		for _, f := range forms {
			if strings.Contains(s, f) {
				return true
			}
		}
		return false
	}
	clean := func(s string) string {
		for _, f := range forms {
			s = strings.ReplaceAll(s, f, "REDACTED")
		}
		return s
	}
	if !has(err.Error()) {
		return err
	}
	if ue, ok := err.(*url.Error); ok && !has(ue.Err.Error()) {
		return &url.Error{Op: ue.Op, URL: clean(ue.URL), Err: ue.Err}
	}
	return Text(err, clean(err.Error()))
}

// Text is an error with the given (redacted) text that keeps only context
// cancellation of err as its cause.
func Text(err error, msg string) error {
	r := &redacted{msg: msg}
	switch {
	case errors.Is(err, context.Canceled):
		r.cause = context.Canceled
	case errors.Is(err, context.DeadlineExceeded):
		r.cause = context.DeadlineExceeded
	}
	return r
}

type redacted struct {
	msg   string
	cause error
}

func (r *redacted) Error() string { return r.msg }
func (r *redacted) Unwrap() error { return r.cause }
