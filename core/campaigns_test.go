package core

import (
	"strings"
	"testing"
	"time"
)

func TestParseCampaignText(t *testing.T) {
	vars := map[string]string{VarFirstName: "Anne", VarCenter: "Paris", VarBalance: "12,00 €"}
	for _, tc := range []struct{ name, in, want, err string }{
		{"plain", "Bonjour", "Bonjour", ""},
		{"variables", "Bonjour {{first_name}}, {{ center }} : {{balance}}", "Bonjour Anne, Paris : 12,00 €", ""},
		{"missing value renders empty", "RDV {{next_visit}}.", "RDV .", ""},
		{"unknown variable", "Bonjour {{prenom}}", "", "unknown variable {{prenom}}"},
		{"never closed", "Bonjour {{first_name", "", "never closed"},
		{"stray close", "Bonjour }} toi", "", "unexpected }}"},
		{"nested", "{{ {{first_name}} }}", "", "nested"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			p, err := ParseCampaignText(tc.in)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("error %v, want %q", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got := p.Render(vars); got != tc.want {
				t.Errorf("rendered %q, want %q", got, tc.want)
			}
		})
	}
}

func TestNextInWindow(t *testing.T) {
	w := SendWindow{Start: "09:00", End: "20:00"}
	paris, _ := time.LoadLocation("Europe/Paris")
	for _, tc := range []struct {
		name string
		now  time.Time
		tz   string
		want time.Time
	}{
		{"inside", time.Date(2026, 3, 9, 10, 0, 0, 0, paris), "Europe/Paris", time.Date(2026, 3, 9, 10, 0, 0, 0, paris)},
		{"before the window", time.Date(2026, 3, 9, 7, 0, 0, 0, paris), "Europe/Paris", time.Date(2026, 3, 9, 9, 0, 0, 0, paris)},
		{"after the window: next morning", time.Date(2026, 3, 9, 21, 0, 0, 0, paris), "Europe/Paris", time.Date(2026, 3, 10, 9, 0, 0, 0, paris)},
		{"recipient's own zone", time.Date(2026, 3, 9, 12, 0, 0, 0, paris), "America/New_York",
			time.Date(2026, 3, 9, 9, 0, 0, 0, mustLoc("America/New_York"))},
		{"DST morning", time.Date(2026, 3, 28, 22, 0, 0, 0, paris), "Europe/Paris", time.Date(2026, 3, 29, 9, 0, 0, 0, paris)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := nextInWindow(tc.now.UTC(), w, tc.tz, "UTC"); !got.Equal(tc.want) {
				t.Errorf("got %s, want %s", got, tc.want.UTC())
			}
		})
	}
}

func mustLoc(name string) *time.Location {
	l, err := time.LoadLocation(name)
	if err != nil {
		panic(err)
	}
	return l
}

func TestCampaignVisible(t *testing.T) {
	a, b := NewID(), NewID()
	for _, tc := range []struct {
		name string
		p    Principal
		c    Campaign
		want bool
	}{
		{"director sees all", Principal{Role: RoleDirector}, Campaign{}, true},
		{"organization-wide is directors' only", Principal{Role: RoleAdministrator, CenterIDs: []string{a}}, Campaign{}, false},
		{"own centre", Principal{Role: RoleMarketer, CenterIDs: []string{a}}, Campaign{CenterIDs: []string{a}}, true},
		{"one centre not theirs", Principal{Role: RoleAdministrator, CenterIDs: []string{a}}, Campaign{CenterIDs: []string{a, b}}, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := campaignVisible(tc.p, tc.c); got != tc.want {
				t.Errorf("got %v", got)
			}
		})
	}
}

func TestMicrosAmount(t *testing.T) {
	for in, want := range map[int64]string{0: "0.00", 50_000: "0.05", 15_800_000: "15.80", 7_900: "0.0079", 1_234_567: "1.234567"} {
		if got := microsAmount(in); got != want {
			t.Errorf("%d: %q, want %q", in, got, want)
		}
	}
}
