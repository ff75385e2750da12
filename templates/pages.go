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

var pageTemplate = loadTemplate("pages/page.html")

// loadTemplate parses an embedded page once; "t" is bound to the page's
// locale at each render.
func loadTemplate(file string) func() (*htmltemplate.Template, error) {
	return sync.OnceValues(func() (*htmltemplate.Template, error) {
		src, err := pageFiles.ReadFile(file)
		if err != nil {
			return nil, err
		}
		return htmltemplate.New(file).Funcs(map[string]any{"t": func(string) string { return "" }}).Parse(string(src))
	})
}

// renderPage renders data with a copy of load's template whose "t" looks
// phrases up in locale.
func renderPage(w io.Writer, load func() (*htmltemplate.Template, error), locale string, data any) error {
	base, err := load()
	if err != nil {
		return err
	}
	t, err := base.Clone()
	if err != nil {
		return err
	}
	t.Funcs(map[string]any{"t": func(key string) string { return Phrase(locale, key) }})
	return t.Execute(w, data)
}

// RenderPage writes p as an HTML document in p.Locale (normalized; an
// unknown locale is DefaultLocale).
func RenderPage(w io.Writer, p Page) error {
	p.Locale = NormalizeLocale(p.Locale)
	return renderPage(w, pageTemplate, p.Locale, p)
}

// SelfPage is a page of client self-service: an invitation's landing
// page, a step of web booking, a payment result. Texts are already in
// Locale; the fixed words are looked up there.
type SelfPage struct {
	Locale, Title        string
	Org, Specialist      string
	Error, Message       string
	Summary              []string
	TelegramURL, BookURL string
	ChoicesTitle, Empty  string
	Choices              []Choice
	Form                 *Form
	// Zone shows the timezone the times are in, with a select to change
	// it (ZoneHidden keeps the step); ZoneScript adds the optional script
	// that sends the browser's zone.
	Zone, ZoneText string
	Zones          []string
	ZoneHidden     []Hidden
	ZoneScript     bool
	Back           string
	Refresh        int // seconds; 0: none
}

// Choice is one link of a list (a specialist, service, day or time).
type Choice struct{ Label, Sub, URL string }

// Hidden is a hidden form field.
type Hidden struct{ Name, Value string }

// Field is a visible form field.
type Field struct{ Name, Label, Type, Value, Autocomplete string }

// Form is a POST form.
type Form struct {
	Action string
	Hidden []Hidden
	Fields []Field
	Submit string
}

var selfTemplate = loadTemplate("pages/selfserve.html")

// RenderSelfPage writes p as an HTML document in p.Locale.
func RenderSelfPage(w io.Writer, p SelfPage) error {
	p.Locale = NormalizeLocale(p.Locale)
	return renderPage(w, selfTemplate, p.Locale, p)
}
