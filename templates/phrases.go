package templates

import (
	"bufio"
	"embed"
	"fmt"
	"path"
	"slices"
	"strings"
	"sync"
)

// Phrases are the short texts that are not whole messages: reasons the
// gateway writes itself, status names, and the words of the client pages.
// phrases/<locale>.txt holds them as "key = text" lines ("#" starts a
// comment); every locale has the same keys (the tests check it). A text
// may name values as {name}, filled by Phrase's arguments.
//
//go:embed phrases
var phraseFiles embed.FS

var loadPhrases = sync.OnceValues(func() (map[string]map[string]string, error) {
	out := map[string]map[string]string{}
	for _, loc := range locales {
		f, err := phraseFiles.Open(path.Join("phrases", loc+".txt"))
		if err != nil {
			return nil, fmt.Errorf("templates: phrases: %w", err)
		}
		m := map[string]string{}
		sc := bufio.NewScanner(f)
		for n := 1; sc.Scan(); n++ {
			line := strings.TrimSpace(sc.Text())
			if line == "" || strings.HasPrefix(line, "#") {
				continue
			}
			k, v, ok := strings.Cut(line, "=")
			k, v = strings.TrimSpace(k), strings.TrimSpace(v)
			if !ok || k == "" || v == "" {
				f.Close()
				return nil, fmt.Errorf("templates: phrases/%s.txt:%d: want \"key = text\"", loc, n)
			}
			if _, dup := m[k]; dup {
				f.Close()
				return nil, fmt.Errorf("templates: phrases/%s.txt:%d: %s is defined twice", loc, n, k)
			}
			m[k] = v
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, err
		}
		out[loc] = m
	}
	return out, nil
})

// PhraseKeys lists the keys of a locale's phrases, sorted (for tests).
func PhraseKeys(locale string) []string {
	all, err := loadPhrases()
	if err != nil {
		return nil
	}
	keys := make([]string, 0, len(all[locale]))
	for k := range all[locale] {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

// Phrase returns the text of key in locale (DefaultLocale's when the
// locale lacks it, the key itself when no locale has it), with each {name}
// replaced by the value following name in args: Phrase("fr",
// "page.policy", "hours", "24").
func Phrase(locale, key string, args ...string) string {
	all, err := loadPhrases()
	text := key
	if err == nil {
		if t, ok := all[NormalizeLocale(locale)][key]; ok {
			text = t
		} else if t, ok := all[DefaultLocale][key]; ok {
			text = t
		}
	}
	for i := 0; i+1 < len(args); i += 2 {
		text = strings.ReplaceAll(text, "{"+args[i]+"}", args[i+1])
	}
	return text
}
