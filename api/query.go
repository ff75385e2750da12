package api

import (
	"slices"
	"strings"

	"github.com/gin-gonic/gin"
)

// knownQuery refuses a query parameter the route does not document, as
// bindJSON refuses unknown body fields: a misspelt filter (centre_id for
// center_id) would otherwise be ignored and answer with everything.
func knownQuery(r Route) gin.HandlerFunc {
	var names []string
	for _, q := range r.Query {
		names = append(names, q.Name)
	}
	if r.List {
		names = append(names, "limit", "cursor")
	}
	takes := "this route takes no query parameters"
	if len(names) > 0 {
		takes = "this route takes " + strings.Join(names, ", ")
	}
	return func(c *gin.Context) {
		q := c.Request.URL.Query()
		if len(q) == 0 {
			return
		}
		keys := make([]string, 0, len(q))
		for k := range q {
			keys = append(keys, k)
		}
		slices.Sort(keys)
		for _, k := range keys {
			if !slices.Contains(names, k) {
				invalid(c, "unknown query parameter "+k, k, "is not a parameter of this route; "+takes)
				return
			}
		}
	}
}
