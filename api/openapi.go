package api

import (
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
)

// Every /api/v1 route is declared through a Route, which registers it with
// Gin and describes it in the OpenAPI document, so the two cannot drift.
type Route struct {
	Method  string
	Path    string // Gin syntax: /centers/:id
	Tag     string
	Summary string
	Req     any // request body type, nil if none
	Resp    any // response body type, nil for 204
	Status  int // success status
	List    bool
	Query   []Param
	Public  bool // no API key needed
	// ContentType of the success response (default application/json);
	// text/event-stream documents Resp as the data of each event.
	ContentType string
	Headers     []Param // documented request headers
	// Webhook documents a provider callback outside /api/v1 (registered by
	// the webhooks package, not by handle): Path is absolute.
	Webhook     bool
	Description string
}

// Param is a documented query parameter.
type Param struct {
	Name, Type, Description string
	Required                bool
}

// openAPI builds the OpenAPI 3 document of the routes.
type openAPI struct {
	routes  []Route
	schemas map[string]any
}

func (o *openAPI) add(r Route) { o.routes = append(o.routes, r) }

// Document renders the OpenAPI 3.0 document.
func (o *openAPI) Document() []byte {
	o.schemas = map[string]any{}
	paths := map[string]map[string]any{}
	for _, r := range o.routes {
		p := "/api/v1" + ginToOpenAPI(r.Path)
		if r.Webhook {
			p = ginToOpenAPI(r.Path)
		}
		if paths[p] == nil {
			paths[p] = map[string]any{}
		}
		op := map[string]any{"summary": r.Summary, "tags": []string{r.Tag},
			"operationId": strings.ToLower(r.Method) + strings.NewReplacer("/", "_", ":", "", "-", "_").Replace(r.Path)}
		if r.Description != "" {
			op["description"] = r.Description
		}
		var params []any
		for _, seg := range strings.Split(r.Path, "/") {
			if strings.HasPrefix(seg, ":") {
				params = append(params, map[string]any{"name": seg[1:], "in": "path", "required": true, "schema": map[string]any{"type": "string"}})
			}
		}
		query := r.Query
		if r.List {
			query = append(query, Param{Name: "limit", Type: "integer", Description: "page size, 1 to 200 (default 50)"},
				Param{Name: "cursor", Type: "string", Description: "next_cursor of the previous page"})
		}
		for _, q := range query {
			params = append(params, map[string]any{"name": q.Name, "in": "query", "required": q.Required,
				"description": q.Description, "schema": map[string]any{"type": q.Type}})
		}
		for _, h := range r.Headers {
			params = append(params, map[string]any{"name": h.Name, "in": "header", "required": h.Required,
				"description": h.Description, "schema": map[string]any{"type": h.Type}})
		}
		if r.Method == "POST" && !r.Public {
			params = append(params, map[string]any{"$ref": "#/components/parameters/IdempotencyKey"})
		}
		if len(params) > 0 {
			op["parameters"] = params
		}
		if r.Req != nil {
			op["requestBody"] = map[string]any{"required": true, "content": map[string]any{
				"application/json": map[string]any{"schema": o.schemaOf(reflect.TypeOf(r.Req))}}}
		}
		resp := map[string]any{}
		status := r.Status
		if status == 0 {
			status = 200
		}
		code := strconv.Itoa(status)
		switch {
		case r.Resp == nil:
			resp[code] = map[string]any{"description": "done"}
		case r.List:
			resp[code] = map[string]any{"description": "a page", "content": map[string]any{"application/json": map[string]any{
				"schema": map[string]any{"type": "object", "properties": map[string]any{
					"items":       map[string]any{"type": "array", "items": o.schemaOf(reflect.TypeOf(r.Resp))},
					"next_cursor": map[string]any{"type": "string"}}}}}}
		case r.ContentType == "text/event-stream":
			resp[code] = map[string]any{"description": "an event stream; each event's data is this object as JSON",
				"content": map[string]any{r.ContentType: map[string]any{"schema": map[string]any{"type": "string",
					"description": "text/event-stream", "x-event-data": o.schemaOf(reflect.TypeOf(r.Resp))}}}}
		default:
			resp[code] = map[string]any{"description": "ok", "content": map[string]any{"application/json": map[string]any{
				"schema": o.schemaOf(reflect.TypeOf(r.Resp))}}}
		}
		resp["default"] = map[string]any{"$ref": "#/components/responses/Problem"}
		op["responses"] = resp
		if r.Public {
			op["security"] = []any{}
		}
		paths[p][strings.ToLower(r.Method)] = op
	}
	doc := map[string]any{
		"openapi": "3.0.3",
		"info": map[string]any{"title": "Booking & notifications gateway API", "version": "1.0.0",
			"description": "Staff and admin API. Errors are RFC 7807 problem+json. Lists are paginated with limit and cursor. " +
				"Creating requests accept an Idempotency-Key header: a repeat returns the first response."},
		"servers":  []any{map[string]any{"url": "/"}},
		"security": []any{map[string]any{"bearer": []string{}}},
		"paths":    paths,
		"components": map[string]any{
			"securitySchemes": map[string]any{"bearer": map[string]any{"type": "http", "scheme": "bearer", "description": "an API key: bgw_…"}},
			"parameters": map[string]any{"IdempotencyKey": map[string]any{"name": "Idempotency-Key", "in": "header", "required": false,
				"description": "a unique key per creating request; a repeat returns the first response", "schema": map[string]any{"type": "string", "maxLength": 255}}},
			"responses": map[string]any{"Problem": map[string]any{"description": "an error", "content": map[string]any{
				"application/problem+json": map[string]any{"schema": o.schemaOf(reflect.TypeOf(Problem{}))}}}},
			"schemas": o.schemas,
		},
	}
	b, err := json.MarshalIndent(doc, "", "  ")
	if err != nil {
		panic(err) // the document is built from plain maps
	}
	return append(b, '\n')
}

func ginToOpenAPI(p string) string {
	segs := strings.Split(p, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") {
			segs[i] = "{" + s[1:] + "}"
		}
	}
	return strings.Join(segs, "/")
}

var (
	timeType      = reflect.TypeOf(time.Time{})
	eventDataType = reflect.TypeOf((*core.EventData)(nil)).Elem()
)

// schemaOf describes a Go type by its JSON encoding; named structs become
// components.
func (o *openAPI) schemaOf(t reflect.Type) map[string]any {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if t == timeType {
		return map[string]any{"type": "string", "format": "date-time"}
	}
	switch t.Kind() {
	case reflect.String:
		return map[string]any{"type": "string"}
	case reflect.Bool:
		return map[string]any{"type": "boolean"}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return map[string]any{"type": "integer"}
	case reflect.Float32, reflect.Float64:
		return map[string]any{"type": "number"}
	case reflect.Slice, reflect.Array:
		if t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.Uint8 {
			return map[string]any{"type": "string", "format": "byte"} // encoding/json writes []byte as base64
		}
		return map[string]any{"type": "array", "items": o.schemaOf(t.Elem())}
	case reflect.Map:
		return map[string]any{"type": "object", "additionalProperties": o.schemaOf(t.Elem())}
	case reflect.Interface:
		if t == eventDataType {
			var one []any
			for _, d := range []core.EventData{&core.AppointmentChanged{}, &core.PaymentRecorded{}, &core.WaitlistMatched{}, &core.Notice{}} {
				one = append(one, o.schemaOf(reflect.TypeOf(d)))
			}
			return map[string]any{"oneOf": one, "description": "the kind's payload: AppointmentChanged for appointment kinds, " +
				"PaymentRecorded for appointment.payment_recorded, WaitlistMatched for waiting_list.matched"}
		}
		return map[string]any{}
	case reflect.Struct:
	default:
		return map[string]any{}
	}
	name := schemaName(t.Name())
	if name != "" {
		if _, done := o.schemas[name]; !done {
			o.schemas[name] = nil // guards recursion
			o.schemas[name] = o.structSchema(t)
		}
		return map[string]any{"$ref": "#/components/schemas/" + name}
	}
	return o.structSchema(t)
}

func (o *openAPI) structSchema(t reflect.Type) map[string]any {
	props := map[string]any{}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("json")
		name, _, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			sub := o.structSchema(f.Type)
			for k, v := range sub["properties"].(map[string]any) {
				props[k] = v
			}
			continue
		}
		if name == "" {
			name = f.Name
		}
		s := o.schemaOf(f.Type)
		if d := f.Tag.Get("doc"); d != "" {
			s = map[string]any{"allOf": []any{s}, "description": d}
		}
		props[name] = s
	}
	return map[string]any{"type": "object", "properties": props}
}

// schemaName makes a component name of a Go type name; a generic instance
// such as ListResponse[…/core.Payment] becomes ListResponse_Payment.
func schemaName(n string) string {
	base, arg, ok := strings.Cut(n, "[")
	if !ok {
		return n
	}
	arg = strings.TrimSuffix(arg, "]")
	if i := strings.LastIndex(arg, "."); i >= 0 {
		arg = arg[i+1:]
	}
	return base + "_" + arg
}
