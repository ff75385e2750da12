package templates

import (
	"embed"
	htmltemplate "html/template"
	"io"
	"sync"
)

// The pages clients open from a message (pages/page.html), in the client's
// language: every word comes from phrases/<locale>.txt ("page.*").
//
//go:embed pages
var pageFiles embed.FS

// Page is what a client page shows. Texts are already in Locale; the
// page's fixed words (buttons, labels) are looked up there.
type Page struct {
	Locale         string
	Title, Message string
	// The visit (or the time offered): shown when Service is set.
	Org, Service, Specialist, When, Address string
	Status                                  string // the status, in words
	Confirmed                               bool
	// Open shows the cancellation policy and the confirm and cancel buttons.
	Open   bool
	Policy string
	Late   bool
	// Bookable shows the button that books an offered time.
	Bookable bool
}

var pageTemplate = sync.OnceValues(func() (*htmltemplate.Template, error) {
	src, err := pageFiles.ReadFile("pages/page.html")
	if err != nil {
		return nil, err
	}
	return htmltemplate.New("page").Funcs(map[string]any{"t": func(string) string { return "" }}).Parse(string(src))
})

// RenderPage writes p as an HTML document in p.Locale (normalized; an
// unknown locale is DefaultLocale).
func RenderPage(w io.Writer, p Page) error {
	base, err := pageTemplate()
	if err != nil {
		return err
	}
	t, err := base.Clone()
	if err != nil {
		return err
	}
	p.Locale = NormalizeLocale(p.Locale)
	locale := p.Locale
	t.Funcs(map[string]any{"t": func(key string) string { return Phrase(locale, key) }})
	return t.Execute(w, p)
}
