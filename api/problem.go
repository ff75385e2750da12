package api

import (
	"errors"
	"log/slog"
	"net/http"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// Problem is an RFC 7807 problem+json body.
type Problem struct {
	Type      string              `json:"type"`
	Title     string              `json:"title"`
	Status    int                 `json:"status"`
	Detail    string              `json:"detail,omitempty"`
	Instance  string              `json:"instance,omitempty"`
	RequestID string              `json:"request_id,omitempty"`
	Errors    []core.FieldError   `json:"errors,omitempty"`
	Conflicts []core.ConflictItem `json:"conflicts,omitempty"`
}

const problemType = "urn:bookinggw:problem:"

var codeStatus = map[core.Code]int{
	core.CodeInvalid:      http.StatusBadRequest,
	core.CodeNotFound:     http.StatusNotFound,
	core.CodeConflict:     http.StatusConflict,
	core.CodeForbidden:    http.StatusForbidden,
	core.CodeUnauthorized: http.StatusUnauthorized,
	core.CodeRateLimited:  http.StatusTooManyRequests,
}

// WriteProblem answers with a problem+json body and aborts the chain.
func WriteProblem(c *gin.Context, p Problem) {
	if p.Type == "" {
		p.Type = problemType + slugFor(p.Status)
	}
	if p.Title == "" {
		p.Title = http.StatusText(p.Status)
	}
	p.Instance = c.Request.URL.Path
	p.RequestID = c.GetString(ctxRequestID)
	if p.Status == http.StatusUnauthorized && c.Writer.Header().Get("WWW-Authenticate") == "" {
		c.Header("WWW-Authenticate", `Bearer realm="api"`)
	}
	c.Header("Content-Type", "application/problem+json")
	c.AbortWithStatusJSON(p.Status, p)
}

func slugFor(status int) string {
	switch status {
	case 400:
		return "invalid"
	case 401:
		return "unauthorized"
	case 403:
		return "forbidden"
	case 404:
		return "not_found"
	case 409:
		return "conflict"
	case 413:
		return "too_large"
	case 415:
		return "unsupported_media_type"
	case 422:
		return "unprocessable"
	case 429:
		return "rate_limited"
	}
	if status >= 500 {
		return "internal"
	}
	return "error"
}

// Fail maps an error to a problem. Only core errors' messages reach the
// user; anything else is an internal error whose detail goes to the log.
func Fail(c *gin.Context, err error) {
	var ce *core.Error
	if errors.As(err, &ce) && ce.Code != core.CodeInternal {
		WriteProblem(c, Problem{Type: problemType + string(ce.Code), Status: codeStatus[ce.Code], Detail: ce.Message,
			Errors: ce.Fields, Conflicts: ce.Conflicts})
		return
	}
	slog.ErrorContext(c.Request.Context(), "internal error", "request_id", c.GetString(ctxRequestID), "error", err.Error())
	WriteProblem(c, Problem{Status: http.StatusInternalServerError, Detail: "internal error; quote the request id to the operator"})
}

// invalid answers 400 with one field error.
func invalid(c *gin.Context, detail, field, msg string) {
	p := Problem{Type: problemType + "invalid", Status: http.StatusBadRequest, Detail: detail}
	if field != "" {
		p.Errors = []core.FieldError{{Field: field, Message: msg}}
	}
	WriteProblem(c, p)
}
