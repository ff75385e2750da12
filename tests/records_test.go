package tests

import (
	"testing"

	"github.com/bookinggw/gateway/core"
)

// TestPatchMergesPutReplaces: PATCH changes only the fields it names, for
// clients, staff, services and centres; PUT stays a full replace.
func TestPatchMergesPutReplaces(t *testing.T) {
	eachBackend(t, func(t *testing.T, e *apiEnv) {
		var center core.Center
		e.must(201, "POST", "/api/v1/centers", map[string]any{"name": "Main", "address": "1 rue de la Paix", "phone": "+33140000000"}, &center)
		var group core.ClientGroup
		e.must(201, "POST", "/api/v1/client-groups", map[string]any{"name": "Swimmers"}, &group)
		var cl core.Client
		e.must(201, "POST", "/api/v1/clients", map[string]any{"first_name": "Anne", "last_name": "Martin", "phone": "+33612345678",
			"email": "anne@example.com", "center_ids": []string{center.ID}, "notes": "allergic to chlorine"}, &cl)

		// The reported case: adding a group keeps the phone and the centre.
		e.must(200, "PATCH", "/api/v1/clients/"+cl.ID, map[string]any{"group_ids": []string{group.ID}}, &cl)
		if cl.Phone != "+33612345678" || cl.Email != "anne@example.com" || len(cl.CenterIDs) != 1 || cl.Notes != "allergic to chlorine" ||
			len(cl.GroupIDs) != 1 || cl.Name != "Anne Martin" {
			t.Fatalf("after PATCH group_ids: %+v", cl)
		}
		e.must(200, "PATCH", "/api/v1/clients/"+cl.ID, map[string]any{"name": "Anne-Marie Martin"}, &cl)
		if cl.Name != "Anne-Marie Martin" || cl.Phone != "+33612345678" || len(cl.GroupIDs) != 1 {
			t.Fatalf("after PATCH name: %+v", cl)
		}
		first := cl.FirstName
		e.must(200, "PATCH", "/api/v1/clients/"+cl.ID, map[string]any{"last_name": "Dupont"}, &cl)
		if cl.FirstName != first || cl.LastName != "Dupont" || cl.Phone != "+33612345678" {
			t.Fatalf("after PATCH last_name: %+v", cl)
		}
		// A bad patch changes nothing.
		before := cl
		for _, body := range []map[string]any{{"phone": "not a phone"}, {"colour": "red"}, {"email": 42}} {
			var p problem
			if code := e.do(e.key, "PATCH", "/api/v1/clients/"+cl.ID, body, &p); code != 400 {
				t.Fatalf("bad patch %v: %d", body, code)
			}
		}
		e.must(200, "GET", "/api/v1/clients/"+cl.ID, nil, &cl)
		if cl.Phone != before.Phone || cl.Email != before.Email || cl.LastName != before.LastName {
			t.Fatalf("a refused patch changed the client: %+v", cl)
		}
		// PUT replaces: what it does not send is emptied.
		e.must(200, "PUT", "/api/v1/clients/"+cl.ID, map[string]any{"name": "Anne Martin"}, &cl)
		if cl.Phone != "" || len(cl.GroupIDs) != 0 || len(cl.CenterIDs) != 0 {
			t.Fatalf("PUT kept fields it did not send: %+v", cl)
		}

		var st core.Staff
		e.must(201, "POST", "/api/v1/staff", map[string]any{"name": "Dr Martin", "role": "specialist", "email": "dr@example.com",
			"center_ids": []string{center.ID}, "slack_user_id": "U123"}, &st)
		e.must(200, "PATCH", "/api/v1/staff/"+st.ID, map[string]any{"phone": "+33611111111"}, &st)
		if st.Phone != "+33611111111" || st.Email != "dr@example.com" || st.Role != core.RoleSpecialist || len(st.CenterIDs) != 1 ||
			st.SlackUserID != "U123" || !st.Active {
			t.Fatalf("after PATCH staff: %+v", st)
		}

		price := int64(4500)
		var sv core.Offering
		e.must(201, "POST", "/api/v1/services", core.ServiceInput{Name: "Swimming", DurationMin: 45, IntervalMin: 15, Capacity: 6,
			PriceMinor: &price, Currency: "EUR", Description: "in the big pool"}, &sv)
		e.must(200, "PATCH", "/api/v1/services/"+sv.ID, map[string]any{"price_minor": 5000}, &sv)
		if sv.PriceMinor == nil || *sv.PriceMinor != 5000 || sv.DurationMin != 45 || sv.IntervalMin != 15 || sv.Capacity != 6 ||
			sv.Description != "in the big pool" || !sv.Active {
			t.Fatalf("after PATCH service: %+v", sv)
		}
		e.must(200, "PATCH", "/api/v1/services/"+sv.ID, map[string]any{"price_minor": nil}, &sv)
		if sv.PriceMinor != nil || sv.DurationMin != 45 {
			t.Fatalf("price_minor null hides the price: %+v", sv)
		}

		e.must(200, "PATCH", "/api/v1/centers/"+center.ID, map[string]any{"slack_channel": "C42"}, &center)
		if center.Address != "1 rue de la Paix" || center.Phone != "+33140000000" || center.SlackChannel != "C42" || center.Name != "Main" {
			t.Fatalf("after PATCH center: %+v", center)
		}
		// Roles hold for PATCH as for PUT.
		var k struct {
			Key string `json:"key"`
		}
		e.must(201, "POST", "/api/v1/api-keys", map[string]any{"name": "spec", "staff_id": st.ID}, &k)
		var p problem
		if code := e.do(k.Key, "PATCH", "/api/v1/centers/"+center.ID, map[string]any{"name": "Mine"}, &p); code != 403 {
			t.Fatalf("specialist patching a center: %d %+v", code, p)
		}
	})
}
