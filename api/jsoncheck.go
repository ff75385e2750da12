package api

import (
	"bytes"
	"encoding/json"
	"reflect"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
)

// instantForm is how every date-time field and parameter is written.
const instantForm = "must be an RFC 3339 date-time with a UTC offset, such as 2026-03-09T10:00:00+01:00 or 2026-03-09T09:00:00Z"

// duplicateKey returns the path of the first key that appears twice in one
// JSON object of body ("" when none). encoding/json keeps the last of
// repeated keys silently and matches keys to fields without regard to case,
// so "start" and "Start" are repeats too. A body that does not tokenize is
// left to the decoder to describe.
func duplicateKey(body []byte) string {
	type frame struct {
		keys    map[string]bool // nil for an array
		path    string
		key     string // the object's current key
		index   int    // the array's current index
		wantKey bool
	}
	var stack []*frame
	childPath := func() string {
		if len(stack) == 0 {
			return ""
		}
		f := stack[len(stack)-1]
		if f.keys == nil {
			return f.path + "[" + strconv.Itoa(f.index) + "]"
		}
		return joinPath(f.path, f.key)
	}
	valueDone := func() {
		if len(stack) == 0 {
			return
		}
		if f := stack[len(stack)-1]; f.keys != nil {
			f.wantKey = true
		} else {
			f.index++
		}
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	for {
		tok, err := dec.Token()
		if err != nil {
			return ""
		}
		switch t := tok.(type) {
		case json.Delim:
			switch t {
			case '{':
				stack = append(stack, &frame{keys: map[string]bool{}, path: childPath(), wantKey: true})
			case '[':
				stack = append(stack, &frame{path: childPath()})
			default:
				stack = stack[:len(stack)-1]
				valueDone()
			}
		case string:
			if n := len(stack); n > 0 && stack[n-1].keys != nil && stack[n-1].wantKey {
				f := stack[n-1]
				folded := strings.ToLower(t)
				if f.keys[folded] {
					return joinPath(f.path, t)
				}
				f.keys[folded], f.key, f.wantKey = true, t, false
				continue
			}
			valueDone()
		default:
			valueDone()
		}
		if len(stack) == 0 {
			return "" // the first top-level value is complete
		}
	}
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// badInstant returns the path of the first date-time field of t (a struct
// type, searched through nested structs, pointers and slices) whose value in
// body is not an RFC 3339 string with an offset, or "". It explains a
// decode failure in the client's terms: time.Time's own error names neither
// the field nor the form and quotes Go's layout string.
func badInstant(body []byte, t reflect.Type) string {
	var v any
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if dec.Decode(&v) != nil {
		return ""
	}
	return findBadInstant(v, t, "")
}

func findBadInstant(v any, t reflect.Type, path string) string {
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	if v == nil {
		return ""
	}
	if t == timeType {
		s, ok := v.(string)
		if !ok {
			return orRoot(path)
		}
		if _, err := time.Parse(time.RFC3339, s); err != nil {
			return orRoot(path)
		}
		return ""
	}
	switch t.Kind() {
	case reflect.Slice, reflect.Array:
		items, ok := v.([]any)
		if !ok {
			return ""
		}
		for i, item := range items {
			if p := findBadInstant(item, t.Elem(), path+"["+strconv.Itoa(i)+"]"); p != "" {
				return p
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		for k, item := range obj {
			if p := findBadInstant(item, t.Elem(), joinPath(path, k)); p != "" {
				return p
			}
		}
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return ""
		}
		return structBadInstant(obj, t, path)
	}
	return ""
}

// structBadInstant checks an object against a struct's fields, matched by
// JSON name as encoding/json matches them (exact, then without case).
func structBadInstant(obj map[string]any, t reflect.Type, path string) string {
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			continue
		}
		if f.Anonymous && name == "" {
			ft := f.Type
			for ft.Kind() == reflect.Pointer {
				ft = ft.Elem()
			}
			if ft.Kind() == reflect.Struct {
				if p := structBadInstant(obj, ft, path); p != "" {
					return p
				}
				continue
			}
		}
		if name == "" {
			name = f.Name
		}
		for k, item := range obj {
			if k == name || strings.EqualFold(k, name) {
				if p := findBadInstant(item, f.Type, joinPath(path, k)); p != "" {
					return p
				}
			}
		}
	}
	return ""
}

func orRoot(path string) string {
	if path == "" {
		return "(body)"
	}
	return path
}

// rangeParams reads the from and to query parameters, date-times in the
// form bodies use, answering 400 on a bad one.
func rangeParams(c *gin.Context, from, to *time.Time) bool {
	for _, q := range []struct {
		name string
		dst  *time.Time
	}{{"from", from}, {"to", to}} {
		if v := c.Query(q.name); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				invalid(c, "bad "+q.name, q.name, instantForm)
				return false
			}
			*q.dst = t
		}
	}
	return true
}
