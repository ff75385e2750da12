package templates

import (
	"errors"
	"fmt"
	htmltemplate "html/template"
	"regexp"
	"strconv"
	"strings"
	"text/template/parse"
	"time"
)

// ParseError is an override that cannot be used: it does not parse, uses a
// construct overrides may not use, or fails on sample data (an unknown
// field, a missing Extra key, a function given the wrong arguments). Its
// message is meant for the person who wrote the override: an API answers it
// with a 400 naming Field and Line.
type ParseError struct {
	Kind    string `json:"kind"`
	Field   string `json:"field"`          // "text", "subject" or "html"; "kind" for an unknown kind
	Line    int    `json:"line,omitempty"` // 1-based line within Field; 0 when not known
	Message string `json:"message"`
}

func (e *ParseError) Error() string {
	if e.Field == "kind" {
		return fmt.Sprintf("unknown message kind %q", e.Kind)
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s template of %s, line %d: %s", e.Field, e.Kind, e.Line, e.Message)
	}
	return fmt.Sprintf("%s template of %s: %s", e.Field, e.Kind, e.Message)
}

// Validate checks an organization's override of kind before it is saved:
// each non-empty part must parse (text/template for Text and Subject,
// html/template for HTML, with the template functions), must not use
// range, define, block or template (overrides must not loop or reach other
// templates), and must execute against sample data both filled in and
// empty, with an unknown field ({{.Nope}}) or an Extra key other than the
// documented ones being an error. The error is a *ParseError.
func Validate(kind string, o Override) error {
	if !KnownKind(kind) {
		return &ParseError{Kind: kind, Field: "kind", Message: "unknown message kind"}
	}
	t := &Template{kind: kind, locale: DefaultLocale}
	set, err := Default()
	if err != nil {
		return err
	}
	if err := t.apply(set.layout, o, true); err != nil {
		return err
	}
	samples := []Data{prepare(Sample(DefaultLocale), DefaultLocale), prepare(emptySample(), DefaultLocale)}
	check := func(part string, limit int, ex executor) error {
		for _, d := range samples {
			if _, err := execute(ex, d, limit); err != nil {
				return toParseError(kind, part, err)
			}
		}
		return nil
	}
	if o.Text != "" {
		if err := check("text", maxTextOutput, t.text); err != nil {
			return err
		}
	}
	if o.Subject != "" {
		if err := check("subject", maxSubjectOutput, t.subject); err != nil {
			return err
		}
	}
	if o.HTML != "" {
		// The fragment alone must end where it began (outside any tag), or
		// the layout around it would break.
		alone, err := htmltemplate.New("html").Option("missingkey=error").Funcs(funcs(DefaultLocale)).Parse(o.HTML)
		if err != nil {
			return toParseError(kind, "html", err)
		}
		if err := check("html", maxHTMLOutput, alone); err != nil {
			return err
		}
		if err := check("html", maxHTMLOutput, t.html); err != nil {
			return err
		}
	}
	return nil
}

// errLocation matches "template: text:3: msg", "template: text:3:7: msg"
// and html/template's "html/template:html:3:7: msg".
var errLocation = regexp.MustCompile(`(?s)^(?:html/)?template: ?[^:]*:(\d+)(?::\d+)?: (.*)$`)

// execPrefix is the part of an execution error naming the template.
var execPrefix = regexp.MustCompile(`^executing "[^"]*" `)

func toParseError(kind, part string, err error) error {
	var pe *ParseError
	if errors.As(err, &pe) {
		return pe
	}
	e := &ParseError{Kind: kind, Field: part}
	var he *htmltemplate.Error
	if errors.As(err, &he) {
		e.Line = he.Line
		switch he.ErrorCode {
		case htmltemplate.ErrEndContext:
			e.Message = "the HTML ends inside an unclosed tag, attribute, comment or script"
		case htmltemplate.ErrBranchEnd:
			e.Message = "the branches of an {{if}} or {{with}} end in different HTML contexts (an unclosed tag or quote in one of them)"
		default:
			e.Message = he.Description
		}
		return e
	}
	msg := err.Error()
	if m := errLocation.FindStringSubmatch(msg); m != nil {
		e.Line, _ = strconv.Atoi(m[1])
		msg = m[2]
	}
	e.Message = execPrefix.ReplaceAllString(msg, "")
	if errors.Is(err, errTooLong) {
		e.Message = "renders " + errTooLong.Error()
	}
	return e
}

var defineAction = regexp.MustCompile(`\{\{-?\s*(define|block)\b`)

// checkRestricted refuses the constructs overrides may not use: define and
// block (more than one template), range (a loop, possibly over a huge
// integer) and template (a call to another template).
func checkRestricted(kind, part, src string, templates int, tree *parse.Tree) error {
	lineAt := func(pos int) int {
		if pos < 0 || pos > len(src) {
			return 0
		}
		return 1 + strings.Count(src[:pos], "\n")
	}
	if loc := defineAction.FindStringSubmatchIndex(src); loc != nil || templates > 1 {
		name, line := "define", 0
		if loc != nil {
			name, line = src[loc[2]:loc[3]], lineAt(loc[0])
		}
		return &ParseError{Kind: kind, Field: part, Line: line, Message: "{{" + name + "}} is not allowed in message templates"}
	}
	if tree == nil || tree.Root == nil {
		return nil
	}
	var bad parse.Node
	var walk func(n parse.Node)
	walk = func(n parse.Node) {
		if bad != nil || n == nil {
			return
		}
		switch n := n.(type) {
		case *parse.ListNode:
			if n == nil {
				return
			}
			for _, c := range n.Nodes {
				walk(c)
			}
		case *parse.IfNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.WithNode:
			walk(n.List)
			walk(n.ElseList)
		case *parse.RangeNode, *parse.TemplateNode:
			bad = n
		}
	}
	walk(tree.Root)
	if bad == nil {
		return nil
	}
	what := "{{range}}"
	if _, ok := bad.(*parse.TemplateNode); ok {
		what = "{{template}}"
	}
	return &ParseError{Kind: kind, Field: part, Line: lineAt(int(bad.Position())),
		Message: what + " is not allowed in message templates"}
}

type sampleText struct {
	client, specialist, service, center, org, location, help, reason, zone string
	currency                                                               string
}

var samples = map[string]sampleText{
	"en": {"Emma Wilson", "Dr Sarah Green", "Counselling session", "Riverside Wellbeing Centre", "Riverside Wellbeing",
		"12 High Street, Room 3", "Riverside Wellbeing Centre, 020 7946 0000", "The specialist is ill", "Europe/London", "GBP"},
	"fr": {"Camille Durand", "Julie Martin", "Coupe et brushing", "Salon Lumière", "Lumière",
		"8 rue des Lilas, Lyon", "Salon Lumière, 04 72 00 00 00", "La coiffeuse est malade", "Europe/Paris", "EUR"},
	"de": {"Lena Schmidt", "Jonas Weber", "Mathe-Nachhilfe", "Lernstudio Mitte", "Lernstudio",
		"Hauptstraße 5, Berlin", "Lernstudio Mitte, 030 1234567", "Der Lehrer ist krank", "Europe/Berlin", "EUR"},
	"ru": {"Анна Иванова", "Мария Петрова", "Консультация психолога", "Центр «Гармония»", "Гармония",
		"ул. Ленина, 10, каб. 5", "Центр «Гармония», 8 (495) 123-45-67", "Специалист заболел", "Europe/Moscow", "RUB"},
	"pl": {"Anna Kowalska", "Katarzyna Nowak", "Konsultacja psychologiczna", "Gabinet Spokój", "Spokój",
		"ul. Długa 5, Kraków", "Gabinet Spokój, 12 345 67 89", "Specjalistka jest chora", "Europe/Warsaw", "PLN"},
}

// Sample returns filled-in example data in locale (a client, a specialist,
// an appointment on Monday 9 March 2026 moved from Friday, prices, links),
// for previews of templates and for Validate.
func Sample(locale string) Data {
	loc := NormalizeLocale(locale)
	s := samples[loc]
	tz, err := time.LoadLocation(s.zone)
	if err != nil {
		tz = time.UTC
	}
	return Data{
		Locale: loc, Timezone: tz,
		ClientName: s.client, SpecialistName: s.specialist, ServiceName: s.service,
		CenterName: s.center, OrganizationName: s.org,
		Start:         time.Date(2026, 3, 9, 14, 30, 0, 0, tz),
		PreviousStart: time.Date(2026, 3, 6, 10, 0, 0, 0, tz),
		DurationMin:   90,
		Location:      s.location,
		PriceMinor:    6000, PaidMinor: 2000, BalanceMinor: 4000, Currency: s.currency, PriceShown: true,
		PaymentURL: "https://pay.example.com/p/7Hq2x",
		CancelURL:  "https://book.example.com/c/Zk3p9",
		ConfirmURL: "https://book.example.com/y/Zk3p9",
		HelpText:   s.help,
		Extra:      map[string]string{ExtraReason: s.reason, ExtraClientPhone: "+33612345678", ExtraUrgent: "true", ExtraPayment: "$75.00", ExtraStatus: ""},
		Starts: []time.Time{time.Date(2026, 3, 9, 14, 30, 0, 0, tz), time.Date(2026, 3, 16, 14, 30, 0, 0, tz),
			time.Date(2026, 3, 23, 14, 30, 0, 0, tz)},
		OfferURL: "https://book.example.com/w/Qx81m",
		PreviousStarts: []time.Time{time.Date(2026, 3, 6, 10, 0, 0, 0, tz), time.Date(2026, 3, 13, 10, 0, 0, 0, tz),
			time.Date(2026, 3, 20, 10, 0, 0, 0, tz)},
	}
}

// emptySample is data with nothing set, so Validate also runs the
// branches taken when fields are empty.
func emptySample() Data {
	extra := map[string]string{}
	for _, k := range extraKeys {
		extra[k] = ""
	}
	return Data{Extra: extra}
}
