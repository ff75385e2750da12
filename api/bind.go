package api

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"reflect"
	"strings"

	"github.com/gin-gonic/gin"
)

// bindJSON decodes the body into v strictly: JSON media type, no unknown
// fields, no trailing data, within the size limit. It answers the problem
// itself and returns false on bad input.
func bindJSON(c *gin.Context, v any) bool {
	if ct := c.GetHeader("Content-Type"); ct != "" {
		mt, _, err := mime.ParseMediaType(ct)
		if err != nil || (mt != "application/json" && !strings.HasSuffix(mt, "+json")) {
			WriteProblem(c, Problem{Status: http.StatusUnsupportedMediaType, Detail: "send the body as application/json"})
			return false
		}
	}
	body, err := io.ReadAll(c.Request.Body)
	if err != nil {
		var mbe *http.MaxBytesError
		if errors.As(err, &mbe) {
			WriteProblem(c, Problem{Status: http.StatusRequestEntityTooLarge,
				Detail: fmt.Sprintf("request body is larger than %d bytes", mbe.Limit)})
			return false
		}
		invalid(c, "could not read the request body", "", "")
		return false
	}
	if len(bytes.TrimSpace(body)) == 0 {
		invalid(c, "request body is empty; send a JSON object", "", "")
		return false
	}
	if k := duplicateKey(body); k != "" {
		invalid(c, "the key "+k+" appears twice in one object", k, "appears more than once; send each field once")
		return false
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		describeJSONError(c, err, body, reflect.TypeOf(v))
		return false
	}
	if dec.More() {
		invalid(c, "request body has data after the JSON value", "", "")
		return false
	}
	return true
}

func describeJSONError(c *gin.Context, err error, body []byte, target reflect.Type) {
	var se *json.SyntaxError
	var te *json.UnmarshalTypeError
	switch {
	case errors.As(err, &se):
		invalid(c, fmt.Sprintf("malformed JSON at byte %d: %v", se.Offset, se), "", "")
		return
	case errors.Is(err, io.ErrUnexpectedEOF):
		invalid(c, "malformed JSON: body ends too early", "", "")
		return
	}
	// A date-time that time.Time refuses: name the field and the form,
	// never Go's layout string.
	if field := badInstant(body, target); field != "" {
		invalid(c, field+" is not a date-time with an offset", field, instantForm)
		return
	}
	switch {
	case errors.As(err, &te):
		field := te.Field
		if field == "" {
			field = "(body)"
		}
		invalid(c, "a field has the wrong type", field, "must be "+jsonKind(te.Type.Kind().String()))
	case strings.HasPrefix(err.Error(), "json: unknown field "):
		name := strings.Trim(strings.TrimPrefix(err.Error(), "json: unknown field "), `"`)
		invalid(c, "unknown field "+name, name, "is not a field of this resource")
	default:
		invalid(c, "malformed JSON: "+err.Error(), "", "")
	}
}

func jsonKind(goKind string) string {
	switch goKind {
	case "string":
		return "a string"
	case "bool":
		return "true or false"
	case "slice", "array":
		return "an array"
	case "struct", "map":
		return "an object"
	case "int", "int8", "int16", "int32", "int64", "uint", "uint8", "uint16", "uint32", "uint64":
		return "an integer"
	case "float32", "float64":
		return "a number"
	}
	return "of another type"
}

// bodyLimit caps request bodies; reading past the cap fails with
// http.MaxBytesError, which bindJSON turns into 413.
func bodyLimit(n int64) gin.HandlerFunc {
	return func(c *gin.Context) {
		if c.Request.ContentLength > n {
			WriteProblem(c, Problem{Status: http.StatusRequestEntityTooLarge,
				Detail: fmt.Sprintf("request body is larger than %d bytes", n)})
			return
		}
		c.Request.Body = http.MaxBytesReader(c.Writer, c.Request.Body, n)
		c.Next()
	}
}
