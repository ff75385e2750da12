package api

import (
	"encoding/base64"
	"strconv"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// List pagination: ?limit=1..200 (default 50) and ?cursor=<next_cursor of
// the previous page>. Items come in creation order (appointments by start);
// a page has a next_cursor when more may follow.
const (
	defaultLimit = 50
	maxLimit     = 200
)

// ListResponse is the envelope of every list.
type ListResponse[T any] struct {
	Items      []T    `json:"items"`
	NextCursor string `json:"next_cursor,omitempty"`
}

// page reads limit and cursor, answering 400 on bad values.
func page(c *gin.Context) (core.Page, bool) { return readPage(c, core.ValidID) }

// readPage reads limit and a cursor that validCursor accepts.
func readPage(c *gin.Context, validCursor func(string) bool) (core.Page, bool) {
	p := core.Page{Limit: defaultLimit}
	if s := c.Query("limit"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil || n < 1 || n > maxLimit {
			invalid(c, "bad limit", "limit", "must be an integer from 1 to 200")
			return p, false
		}
		p.Limit = n
	}
	if s := c.Query("cursor"); s != "" {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil || !validCursor(string(b)) {
			invalid(c, "bad cursor", "cursor", "must be the next_cursor of a previous page")
			return p, false
		}
		p.After = string(b)
	}
	return p, true
}

// startPage is page for lists sorted by start, whose cursor is a
// core.StartCursor rather than an id.
func startPage(c *gin.Context) (core.Page, bool) {
	return readPage(c, func(s string) bool {
		_, ok := core.ParseStartCursor(s)
		return ok
	})
}

// listOf wraps items with the cursor of the next page.
func listOf[T any](items []T, p core.Page, id func(T) string) ListResponse[T] {
	r := ListResponse[T]{Items: items}
	if r.Items == nil {
		r.Items = []T{}
	}
	if len(items) == p.Limit && len(items) > 0 {
		r.NextCursor = base64.RawURLEncoding.EncodeToString([]byte(id(items[len(items)-1])))
	}
	return r
}
