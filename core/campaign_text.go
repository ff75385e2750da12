package core

import (
	"fmt"
	"sort"
	"strings"
)

// Campaign texts are plain text with variables in double braces:
// "Hello {{first_name}}, {{center}} misses you". Only the variables below
// exist; anything else in braces is refused when the campaign is created,
// so a recipient never receives a raw "{{frist_name}}".

// The variables a campaign text may use.
const (
	VarFirstName = "first_name"
	VarCenter    = "center"
	VarNextVisit = "next_visit"
	VarBalance   = "balance"
)

// CampaignVariables lists the variables, sorted.
var CampaignVariables = []string{VarBalance, VarCenter, VarFirstName, VarNextVisit}

// textPart is a literal (Var empty) or a variable.
type textPart struct {
	Lit string
	Var string
}

// CampaignText is a parsed campaign text.
type CampaignText struct{ parts []textPart }

// ParseCampaignText parses a text; a brace that opens no variable or never
// closes, and an unknown variable, are errors that say where.
func ParseCampaignText(s string) (CampaignText, error) {
	var t CampaignText
	known := map[string]bool{}
	for _, v := range CampaignVariables {
		known[v] = true
	}
	rest, pos := s, 0
	for rest != "" {
		open := strings.Index(rest, "{{")
		close := strings.Index(rest, "}}")
		if close >= 0 && (open < 0 || close < open) {
			return t, fmt.Errorf("unexpected }} at character %d", pos+close+1)
		}
		if open < 0 {
			t.parts = append(t.parts, textPart{Lit: rest})
			break
		}
		if open > 0 {
			t.parts = append(t.parts, textPart{Lit: rest[:open]})
		}
		end := strings.Index(rest[open+2:], "}}")
		if end < 0 {
			return t, fmt.Errorf("{{ at character %d is never closed with }}", pos+open+1)
		}
		name := strings.TrimSpace(rest[open+2 : open+2+end])
		if strings.ContainsAny(name, "{}") {
			return t, fmt.Errorf("nested braces at character %d", pos+open+1)
		}
		if !known[name] {
			return t, fmt.Errorf("unknown variable {{%s}}; the variables are %s", name, strings.Join(CampaignVariables, ", "))
		}
		t.parts = append(t.parts, textPart{Var: name})
		adv := open + 2 + end + 2
		rest, pos = rest[adv:], pos+adv
	}
	return t, nil
}

// Render fills the variables; a variable missing from vars renders empty.
func (t CampaignText) Render(vars map[string]string) string {
	var b strings.Builder
	for _, p := range t.parts {
		if p.Var != "" {
			b.WriteString(vars[p.Var])
		} else {
			b.WriteString(p.Lit)
		}
	}
	return b.String()
}

// renderVars renders every value of a map (a WhatsApp template's variables)
// with a recipient's variables, in key order for a stable JSON.
func renderVars(tpl map[string]CampaignText, vars map[string]string) map[string]string {
	out := make(map[string]string, len(tpl))
	keys := make([]string, 0, len(tpl))
	for k := range tpl {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		out[k] = tpl[k].Render(vars)
	}
	return out
}
