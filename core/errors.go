package core

import (
	"errors"
	"fmt"
)

// Code classifies an error so that inbound layers (API, webhooks, queue) can
// branch on it without string matching.
type Code string

const (
	CodeInvalid      Code = "invalid"
	CodeNotFound     Code = "not_found"
	CodeConflict     Code = "conflict"
	CodeForbidden    Code = "forbidden"
	CodeUnauthorized Code = "unauthorized"
	CodeInternal     Code = "internal"
	// CodeRateLimited: too many requests of one kind (one-time codes);
	// retry later.
	CodeRateLimited Code = "rate_limited"
)

// FieldError names one bad input field.
type FieldError struct {
	Field   string `json:"field"`
	Message string `json:"message"`
}

// ConflictItem is one reason a booking cannot be placed as asked.
type ConflictItem struct {
	Kind   string   `json:"kind"`
	Detail string   `json:"detail"`
	With   []Period `json:"with,omitempty"`
	Extra  string   `json:"appointment_id,omitempty"`
}

// Period is an instant interval as shown to API users.
type Period struct {
	Start string `json:"start"`
	End   string `json:"end"`
}

// Error is the application error every layer understands. Message is safe to
// show to users; the wrapped error is for operators' logs only.
type Error struct {
	Code      Code
	Message   string
	Fields    []FieldError
	Conflicts []ConflictItem
	Err       error
}

func (e *Error) Error() string {
	if e.Err != nil {
		return fmt.Sprintf("%s: %s: %v", e.Code, e.Message, e.Err)
	}
	return fmt.Sprintf("%s: %s", e.Code, e.Message)
}

func (e *Error) Unwrap() error { return e.Err }

// ErrorCode returns the code of the first *Error in err's chain, or
// CodeInternal for anything else.
func ErrorCode(err error) Code {
	var e *Error
	if errors.As(err, &e) {
		return e.Code
	}
	return CodeInternal
}

// AsError returns the *Error in err's chain, if any.
func AsError(err error) (*Error, bool) {
	var e *Error
	ok := errors.As(err, &e)
	return e, ok
}

// RateLimited reports a request refused by a limit; msg says which.
func RateLimited(msg string) error { return &Error{Code: CodeRateLimited, Message: msg} }

// NotFound reports a missing resource. Resources of other organizations are
// reported the same way, so their existence never leaks.
func NotFound(what string) error {
	return &Error{Code: CodeNotFound, Message: what + " not found"}
}

// Invalid reports bad input with per-field details.
func Invalid(msg string, fields ...FieldError) error {
	return &Error{Code: CodeInvalid, Message: msg, Fields: fields}
}

// Forbidden reports an authenticated caller acting beyond its role or centers.
func Forbidden(msg string) error {
	return &Error{Code: CodeForbidden, Message: msg}
}

// Conflict reports a state conflict, optionally with its reasons.
func Conflict(msg string, items ...ConflictItem) error {
	return &Error{Code: CodeConflict, Message: msg, Conflicts: items}
}

// Unauthorized reports missing or bad credentials.
func Unauthorized(msg string) error {
	return &Error{Code: CodeUnauthorized, Message: msg}
}

// Fields collects field errors while validating input.
type Fields []FieldError

// Add records a field error.
func (f *Fields) Add(field, msg string) { *f = append(*f, FieldError{Field: field, Message: msg}) }

// Check records msg for field when bad is true.
func (f *Fields) Check(bad bool, field, msg string) {
	if bad {
		f.Add(field, msg)
	}
}

// Err returns an Invalid error when any field was recorded.
func (f Fields) Err(msg string) error {
	if len(f) == 0 {
		return nil
	}
	return &Error{Code: CodeInvalid, Message: msg, Fields: f}
}

// orNotFound is err, or NotFound(what) when err is nil: for a resource the
// caller may not see.
func orNotFound(err error, what string) error {
	if err != nil {
		return err
	}
	return NotFound(what)
}
