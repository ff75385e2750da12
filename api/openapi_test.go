package api_test

import (
	"bytes"
	"os"
	"testing"
)

// TestOpenAPIGolden: the committed api/openapi.json is the document the
// service serves, so clients and reviewers can read it without running it.
func TestOpenAPIGolden(t *testing.T) {
	a, _ := newApp(t, "sqlite:"+t.TempDir()+"/g.db", nil)
	want := a.HTTP.OpenAPI()
	got, err := os.ReadFile("openapi.json")
	if err != nil {
		t.Fatalf("read api/openapi.json: %v; run `make openapi` to create it", err)
	}
	if !bytes.Equal(got, want) {
		line := 1 + bytes.Count(want[:commonPrefix(got, want)], []byte("\n"))
		t.Fatalf("api/openapi.json is out of date (first difference on line %d); run `make openapi` and commit the result", line)
	}
}

func commonPrefix(a, b []byte) int {
	n := 0
	for n < len(a) && n < len(b) && a[n] == b[n] {
		n++
	}
	return n
}
