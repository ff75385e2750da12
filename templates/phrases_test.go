package templates

import (
	"slices"
	"strings"
	"testing"
)

// TestPhrases: every locale has the same phrase keys, and the {names} a
// phrase takes are the same in every locale.
func TestPhrases(t *testing.T) {
	en := PhraseKeys("en")
	if len(en) == 0 {
		t.Fatal("no phrases")
	}
	for _, loc := range Locales() {
		if got := PhraseKeys(loc); !slices.Equal(got, en) {
			t.Errorf("%s phrase keys differ from en: %v", loc, got)
		}
		for _, k := range en {
			if placeholders(Phrase(loc, k)) != placeholders(Phrase("en", k)) {
				t.Errorf("%s %s takes %s, en takes %s", loc, k, placeholders(Phrase(loc, k)), placeholders(Phrase("en", k)))
			}
		}
	}
	if got := Phrase("fr", "reason.cancelled_by_client"); got != "annulé par le client" {
		t.Errorf("fr reason = %q", got)
	}
	if got := Phrase("fr-CA", "status.accepted"); got != "confirmé" {
		t.Errorf("fr-CA status = %q", got)
	}
	if got := Phrase("fr", "no.such.key"); got != "no.such.key" {
		t.Errorf("unknown key = %q", got)
	}
}

func placeholders(s string) string {
	var out []string
	for {
		i := strings.Index(s, "{")
		j := strings.Index(s, "}")
		if i < 0 || j < i {
			break
		}
		out = append(out, s[i:j+1])
		s = s[j+1:]
	}
	slices.Sort(out)
	return strings.Join(out, ",")
}
