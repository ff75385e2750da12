// Package templates holds the texts of every message the gateway sends, per
// locale (en, fr, de, ru, pl), and renders them.
//
// Each message kind has, under <locale>/ in this directory:
//
//	<kind>.txt          the text: the SMS, WhatsApp, Telegram or Slack body, and the plain part of an email (text/template)
//	<kind>.subject.txt  the email subject (text/template), optional
//	<kind>.html         the body of the HTML email (html/template), optional; it is placed inside layout.html
//
// Every template receives a Data and can call the functions date, time,
// money, duration, firstname and reason, which format for the template's
// locale (see FormatDate and the others), its region (Data.Region) and
// whether it is an SMS (Data.SMS). README.md lists the rules texts follow. Times are shown in Data.Timezone, the
// recipient's zone.
//
// An organization can override any kind in any locale (Override); Validate
// checks an override before it is saved, and Render uses it in place of the
// default.
package templates

import (
	"bytes"
	"embed"
	"errors"
	"fmt"
	htmltemplate "html/template"
	"io"
	"io/fs"
	"path"
	"slices"
	"strings"
	"sync"
	texttemplate "text/template"
	"time"
	_ "time/tzdata" // Sample and tests load IANA zones on any machine
)

//go:embed layout.html en fr de ru pl
var files embed.FS

// Message kinds. The appointment.* kinds are named after the domain events
// that cause them.
const (
	KindRequested       = "appointment.requested" // to the client: request received, awaiting confirmation
	KindAccepted        = "appointment.accepted"  // to the client: confirmed
	KindRejected        = "appointment.rejected"  // to the client: request declined (Extra "reason")
	KindCancelled       = "appointment.cancelled" // to the client (Extra "reason")
	KindMoved           = "appointment.moved"     // to the client: Start is the new time, PreviousStart the old one
	KindCompleted       = "appointment.completed" // to the client: thanks, price, paid and balance
	KindReminder        = "reminder"              // to the client, before the visit
	KindReminderConfirm = "reminder.confirm"      // to the client by SMS: reply 1 (YES) / 2 (NO); see ReplyWords
	KindReplyConfirmed  = "reply.confirmed"       // auto-reply after a confirming reply
	KindReplyCancelled  = "reply.cancelled"       // auto-reply after a cancelling reply
	KindHelp            = "help"                  // reply to HELP (HelpText carries the organization's contact)
	KindWaitlistMatch   = "waitlist.match"        // to staff: a slot freed for a waiting client (Extra "urgent", "client_phone")
	KindStaffNewRequest = "staff.new_request"     // to staff: a client asked for an appointment (Extra "client_phone")
	KindStaffCancelled  = "staff.cancelled"       // to staff: an appointment was cancelled (Extra "reason")
	KindPaymentLink     = "payment.link"          // to the client: PaymentURL to pay the balance (or the price)
	KindPaymentReceipt  = "payment.receipt"
	KindStaffPayment    = "staff.payment" // to staff: a client paid (total paid, balance)       // to the client: payment received, total paid, balance
	// KindStaffPaymentCurrency tells staff a payment came in another
	// currency than the price: recorded, not counted (Extra "payment").
	KindStaffPaymentCurrency = "staff.payment_currency"
	// KindStaffIncomingCall pops up a ringing call in the centre's staff
	// channel (Extra "client_phone": the caller's number; ClientName empty
	// for a number on no card).
	KindStaffIncomingCall = "staff.incoming_call"
	// KindCallMissed tells a client nobody could take their call.
	KindCallMissed = "call.missed"
	KindStopNotice = "stop.notice" // to the client who sent STOP while a reminder awaited a reply: unsubscribed, the visit stands, how to cancel
)

// Kinds of a series as a whole: one message lists its visits (Starts).
const (
	KindWaitlistOffer      = "waitlist.offer"           // to a waiting client: a freed time (Start) and OfferURL, the link that books it
	KindSeries             = "appointment.series"       // to the client: the visits of a series, confirmed (Extra "status" "pending": requested)
	KindSeriesMoved        = "appointment.series_moved" // to the client: Starts moved from PreviousStarts
	KindStaffSeriesRequest = "staff.series_request"     // to staff: a client asked for the visits of a series (Extra "client_phone")
)

var kinds = []string{
	KindRequested, KindAccepted, KindRejected, KindCancelled, KindMoved, KindCompleted,
	KindReminder, KindReminderConfirm, KindReplyConfirmed, KindReplyCancelled, KindHelp,
	KindWaitlistMatch, KindStaffNewRequest, KindStaffCancelled, KindPaymentLink, KindPaymentReceipt, KindStaffPayment,
	KindStaffPaymentCurrency, KindStopNotice, KindSeries, KindSeriesMoved, KindStaffSeriesRequest, KindWaitlistOffer,
	KindStaffIncomingCall, KindCallMissed,
}

// DefaultLocale is used for any locale without templates.
const DefaultLocale = "en"

var locales = []string{"en", "fr", "de", "ru", "pl"}

// Kinds lists every message kind.
func Kinds() []string { return slices.Clone(kinds) }

// Locales lists the locales templates exist for.
func Locales() []string { return slices.Clone(locales) }

// KnownKind reports whether kind is a message kind.
func KnownKind(kind string) bool { return slices.Contains(kinds, kind) }

// StaffKind reports whether a kind is addressed to staff rather than to a
// client.
func StaffKind(kind string) bool {
	return kind == KindWaitlistMatch || kind == KindStaffNewRequest || kind == KindStaffCancelled || kind == KindStaffPayment ||
		kind == KindStaffPaymentCurrency || kind == KindStaffSeriesRequest || kind == KindStaffIncomingCall
}

// NormalizeLocale maps a language tag to one of Locales: "fr-CA", "FR" and
// "fr_FR" give "fr"; anything unknown gives DefaultLocale.
func NormalizeLocale(tag string) string {
	l := strings.ToLower(strings.TrimSpace(tag))
	if i := strings.IndexAny(l, "-_"); i >= 0 {
		l = l[:i]
	}
	if slices.Contains(locales, l) {
		return l
	}
	return DefaultLocale
}

// Keys of Data.Extra the default templates read. A template reading any
// other key renders it empty, and Validate refuses it.
const (
	ExtraReason      = "reason"       // why an appointment was rejected or cancelled, as staff wrote it
	ExtraClientPhone = "client_phone" // the client's phone, for staff messages
	ExtraUrgent      = "urgent"       // "true" when a waiting-list entry is urgent
	ExtraPayment     = "payment"      // a payment's amount in its own currency, formatted
)

// ExtraStatus is "pending" in a series message when the series was
// requested by the client and awaits staff.
const ExtraStatus = "status"

var extraKeys = []string{ExtraReason, ExtraClientPhone, ExtraUrgent, ExtraPayment, ExtraStatus}

// Data is what every template receives. Templates format instants with
// date and time, which show them in Timezone; amounts with money; minutes
// with duration.
type Data struct {
	// Locale is the locale being rendered; Render sets it.
	Locale string
	// Timezone is the recipient's zone (the client's for client messages,
	// the staff member's for staff messages); nil means UTC. Render moves
	// Start and PreviousStart into it.
	Timezone *time.Location

	ClientName       string
	SpecialistName   string
	ServiceName      string
	CenterName       string
	OrganizationName string

	// Start is the appointment's start; PreviousStart its start before a
	// move (zero when not moved). Zero instants format as "".
	Start, PreviousStart time.Time
	DurationMin          int
	// Location is the address and room, the video-call link or the phone
	// instructions.
	Location string

	// Amounts are integers of minor units of Currency (ISO 4217).
	PriceMinor, PaidMinor, BalanceMinor int64
	Currency                            string
	// PriceShown is false for a service with "no price shown": the
	// default templates then mention no amount except in payment messages.
	PriceShown bool

	PaymentURL string // link to pay
	CancelURL  string // signed link to cancel
	ConfirmURL string // signed link to confirm

	// HelpText is the contact line of the help reply: the centre's (else
	// the organization's) name and phone, "Cabinet Martin, 04 72 00 00 00".
	HelpText string

	// Region is the recipient's country where formats differ by region:
	// "US" gives American English dates and a 12-hour clock; anything else
	// British English. See RegionOf.
	Region string
	// SMS renders the text for an SMS: French months in their GSM-7
	// spelling ("aout"), and in the GSM-7 locales (en, fr, de) names
	// transliterated when that keeps the text GSM-7 ("Francois").
	SMS bool
	// Extra carries values without a field of their own; see ExtraReason
	// and the other Extra keys.
	Extra map[string]string

	// Starts are the visits of a series (Start is the first);
	// PreviousStarts where they were before a move. Templates list them
	// with datelist. Render moves them into Timezone.
	Starts, PreviousStarts []time.Time
	// OfferURL is the signed link that books a time offered to a waiting
	// client; the first to use it gets the time.
	OfferURL string
}

// Message is a rendered message. Subject and HTML are empty when the kind
// has none in that locale (an email is then sent as text).
type Message struct {
	Subject string
	Text    string
	HTML    string
}

// Override is an organization's version of one kind in one locale. An
// empty field keeps the default. HTML is a fragment placed inside the
// standard layout, unless it starts with <!DOCTYPE or <html, in which case it
// is the whole document.
type Override struct {
	Text    string `json:"text"`
	Subject string `json:"subject"`
	HTML    string `json:"html"`
}

func (o *Override) empty() bool { return o == nil || o.Text == "" && o.Subject == "" && o.HTML == "" }

// Limits on an override's source and on any rendered part.
const (
	MaxTextSource    = 8 << 10
	MaxSubjectSource = 1 << 10
	MaxHTMLSource    = 64 << 10

	maxTextOutput    = 32 << 10
	maxSubjectOutput = 2 << 10
	maxHTMLOutput    = 256 << 10
)

// ErrUnknownKind is returned for a kind not in Kinds.
var ErrUnknownKind = errors.New("templates: unknown message kind")

// Set is the parsed default templates of every kind and locale. It is
// immutable and safe for concurrent use.
type Set struct {
	byKey   map[key]*Template
	sources map[key]Override // default sources, kept for tests and previews
	layout  *htmltemplate.Template
}

type key struct{ locale, kind string }

// Template is one kind in one locale, ready to render: the defaults, or the
// defaults with an override applied. Safe for concurrent use.
type Template struct {
	kind, locale string
	// format is the key of the formatting functions the template was
	// parsed with: the locale, or a variant of it ("en-US", "fr+sms").
	format  string
	text    *texttemplate.Template
	subject *texttemplate.Template
	html    *htmltemplate.Template
	// src, layout and strict parse the variants on first use.
	src      Override
	layout   *htmltemplate.Template
	strict   bool
	variants *variantCache
}

// variantCache holds a template's variants: the same sources parsed with
// another region's or SMS formatting functions.
type variantCache struct {
	mu sync.Mutex
	m  map[string]*Template
}

var loadDefault = sync.OnceValues(load)

// Default returns the embedded templates, parsed once. An error is a bug in
// the embedded files (the tests parse them all).
func Default() (*Set, error) { return loadDefault() }

func load() (*Set, error) {
	raw, err := files.ReadFile("layout.html")
	if err != nil {
		return nil, err
	}
	layout, err := htmltemplate.New("layout").Parse(string(raw))
	if err != nil {
		return nil, fmt.Errorf("templates: layout.html: %w", err)
	}
	s := &Set{byKey: map[key]*Template{}, sources: map[key]Override{}, layout: layout}
	for _, loc := range locales {
		entries, err := fs.ReadDir(files, loc)
		if err != nil {
			return nil, fmt.Errorf("templates: %w", err)
		}
		for _, e := range entries {
			name := e.Name()
			kind, part := splitName(name)
			if !KnownKind(kind) {
				return nil, fmt.Errorf("templates: %s/%s: not a known kind and part", loc, name)
			}
			b, err := files.ReadFile(path.Join(loc, name))
			if err != nil {
				return nil, err
			}
			k := key{loc, kind}
			src := s.sources[k]
			switch part {
			case "text":
				src.Text = string(b)
			case "subject":
				src.Subject = string(b)
			case "html":
				src.HTML = string(b)
			}
			s.sources[k] = src
		}
		for _, kind := range kinds {
			k := key{loc, kind}
			src := s.sources[k]
			if strings.TrimSpace(src.Text) == "" {
				return nil, fmt.Errorf("templates: %s/%s.txt is missing or empty", loc, kind)
			}
			t := &Template{kind: kind, locale: loc, format: loc, variants: &variantCache{}}
			if err := t.apply(layout, src, false); err != nil {
				return nil, fmt.Errorf("templates: %s/%s: %w", loc, kind, err)
			}
			s.byKey[k] = t
		}
	}
	return s, nil
}

// splitName maps "reminder.confirm.subject.txt" to ("reminder.confirm", "subject").
func splitName(name string) (kind, part string) {
	switch {
	case strings.HasSuffix(name, ".subject.txt"):
		return strings.TrimSuffix(name, ".subject.txt"), "subject"
	case strings.HasSuffix(name, ".txt"):
		return strings.TrimSuffix(name, ".txt"), "text"
	case strings.HasSuffix(name, ".html"):
		return strings.TrimSuffix(name, ".html"), "html"
	}
	return "", ""
}

// Lookup returns the template of kind in locale (falling back to
// DefaultLocale for a locale without templates), with the override's
// non-empty parts in place of the defaults. An override that does not parse
// gives a *ParseError.
func (s *Set) Lookup(kind, locale string, o *Override) (*Template, error) {
	loc := NormalizeLocale(locale)
	base, ok := s.byKey[key{loc, kind}]
	if !ok {
		return nil, fmt.Errorf("%w %q", ErrUnknownKind, kind)
	}
	if o.empty() {
		return base, nil
	}
	t := *base
	t.variants = &variantCache{}
	if err := t.apply(s.layout, *o, false); err != nil {
		return nil, err
	}
	return &t, nil
}

// Render renders kind in locale with d, applying the override when it is
// not nil. An unknown locale falls back to DefaultLocale; an unknown kind,
// an override that does not parse or a failed execution is an error.
// Render never panics. Callers that prefer sending the default to failing
// can render again with a nil override.
func (s *Set) Render(kind, locale string, d Data, o *Override) (Message, error) {
	t, err := s.Lookup(kind, locale, o)
	if err != nil {
		return Message{}, err
	}
	return t.Render(d)
}

// Source returns the default template sources of kind in locale (after the
// DefaultLocale fallback), for editors that start an override from them.
func (s *Set) Source(kind, locale string) (Override, bool) {
	src, ok := s.sources[key{NormalizeLocale(locale), kind}]
	return src, ok
}

// Kind is the template's message kind.
func (t *Template) Kind() string { return t.kind }

// Locale is the locale the template renders in.
func (t *Template) Locale() string { return t.locale }

// Render executes the template with d. Text is trimmed, with trailing
// spaces and repeated blank lines removed; Subject is one line.
func (t *Template) Render(d Data) (m Message, err error) {
	defer func() {
		if r := recover(); r != nil {
			m, err = Message{}, fmt.Errorf("templates: %s/%s: panic while rendering: %v", t.locale, t.kind, r)
		}
	}()
	if t, err = t.variant(formatKey(t.locale, d)); err != nil {
		return Message{}, err
	}
	d = prepare(d, t.locale)
	wrap := func(part string, err error) error {
		return fmt.Errorf("templates: %s/%s %s: %w", t.locale, t.kind, part, err)
	}
	out, err := execute(t.text, d, maxTextOutput)
	if err != nil {
		return Message{}, wrap("text", err)
	}
	m.Text = cleanText(out)
	if t.subject != nil {
		out, err := execute(t.subject, d, maxSubjectOutput)
		if err != nil {
			return Message{}, wrap("subject", err)
		}
		m.Subject = strings.Join(strings.Fields(out), " ")
	}
	if t.html != nil {
		out, err := execute(t.html, d, maxHTMLOutput)
		if err != nil {
			return Message{}, wrap("html", err)
		}
		m.HTML = strings.TrimSpace(out)
	}
	return m, nil
}

// formatKey names the formatting a rendering needs: the locale, "en-US"
// for American English, "+sms" where SMS texts spell differently.
func formatKey(locale string, d Data) string {
	key := locale
	if locale == "en" && strings.EqualFold(d.Region, "US") {
		key = "en-US"
	}
	if d.SMS && smsMonths[locale] != nil {
		key += "+sms"
	}
	return key
}

// variant returns the template parsed with the formatting functions of
// key, parsing it on first use.
func (t *Template) variant(key string) (*Template, error) {
	if key == t.format || t.variants == nil {
		return t, nil
	}
	t.variants.mu.Lock()
	defer t.variants.mu.Unlock()
	if v, ok := t.variants.m[key]; ok {
		return v, nil
	}
	v := &Template{kind: t.kind, locale: t.locale, format: key}
	if err := v.apply(t.layout, t.src, t.strict); err != nil {
		return nil, err
	}
	if t.variants.m == nil {
		t.variants.m = map[string]*Template{}
	}
	t.variants.m[key] = v
	return v, nil
}

func prepare(d Data, locale string) Data {
	if d.SMS && gsm7Locales[locale] {
		d.ClientName, d.SpecialistName = smsName(d.ClientName), smsName(d.SpecialistName)
		d.CenterName, d.OrganizationName = smsName(d.CenterName), smsName(d.OrganizationName)
	}
	d.Locale = locale
	if d.Timezone == nil {
		d.Timezone = time.UTC
	}
	if !d.Start.IsZero() {
		d.Start = d.Start.In(d.Timezone)
	}
	if !d.PreviousStart.IsZero() {
		d.PreviousStart = d.PreviousStart.In(d.Timezone)
	}
	d.Starts, d.PreviousStarts = inZone(d.Starts, d.Timezone), inZone(d.PreviousStarts, d.Timezone)
	return d
}

// apply parses the non-empty parts of src into t. strict makes a missing
// Extra key an execution error (Validate); otherwise it renders empty.
func (t *Template) apply(layout *htmltemplate.Template, src Override, strict bool) error {
	if t.format == "" {
		t.format = t.locale
	}
	t.layout, t.strict = layout, strict
	if src.Text != "" {
		tt, err := parseText(t.kind, "text", src.Text, t.format, strict)
		if err != nil {
			return err
		}
		t.text, t.src.Text = tt, src.Text
	}
	if src.Subject != "" {
		tt, err := parseText(t.kind, "subject", src.Subject, t.format, strict)
		if err != nil {
			return err
		}
		t.subject, t.src.Subject = tt, src.Subject
	}
	if src.HTML != "" {
		ht, err := parseHTML(t.kind, layout, src.HTML, t.format, strict)
		if err != nil {
			return err
		}
		t.html, t.src.HTML = ht, src.HTML
	}
	return nil
}

func missingKey(strict bool) string {
	if strict {
		return "missingkey=error"
	}
	return "missingkey=zero"
}

func parseText(kind, part, src, locale string, strict bool) (*texttemplate.Template, error) {
	if len(src) > maxSource(part) {
		return nil, &ParseError{Kind: kind, Field: part, Message: fmt.Sprintf("is longer than %d bytes", maxSource(part))}
	}
	t, err := texttemplate.New(part).Option(missingKey(strict)).Funcs(funcs(locale)).Parse(src)
	if err != nil {
		return nil, toParseError(kind, part, err)
	}
	if err := checkRestricted(kind, part, src, len(t.Templates()), t.Tree); err != nil {
		return nil, err
	}
	return t, nil
}

// parseHTML parses an HTML fragment into a copy of the layout, or a whole
// document on its own.
func parseHTML(kind string, layout *htmltemplate.Template, src, locale string, strict bool) (*htmltemplate.Template, error) {
	const part = "html"
	if len(src) > maxSource(part) {
		return nil, &ParseError{Kind: kind, Field: part, Message: fmt.Sprintf("is longer than %d bytes", maxSource(part))}
	}
	// Parse alone first: it checks the restrictions on the source alone.
	alone, err := htmltemplate.New(part).Option(missingKey(strict)).Funcs(funcs(locale)).Parse(src)
	if err != nil {
		return nil, toParseError(kind, part, err)
	}
	if err := checkRestricted(kind, part, src, len(alone.Templates()), alone.Tree); err != nil {
		return nil, err
	}
	if wholeDocument(src) {
		return alone, nil
	}
	root, err := layout.Clone()
	if err != nil {
		return nil, err
	}
	root.Option(missingKey(strict)).Funcs(funcs(locale))
	if _, err := root.New(part).Parse(src); err != nil {
		return nil, toParseError(kind, part, err)
	}
	return root, nil
}

func wholeDocument(src string) bool {
	s := strings.ToLower(strings.TrimSpace(src))
	return strings.HasPrefix(s, "<!doctype") || strings.HasPrefix(s, "<html")
}

func maxSource(part string) int {
	switch part {
	case "subject":
		return MaxSubjectSource
	case "html":
		return MaxHTMLSource
	}
	return MaxTextSource
}

// executor is what text and HTML templates have in common.
type executor interface {
	Execute(w io.Writer, data any) error
}

func execute(t executor, d Data, limit int) (string, error) {
	w := &limitedBuffer{max: limit}
	if err := t.Execute(w, d); err != nil {
		return "", err
	}
	return w.buf.String(), nil
}

var errTooLong = errors.New("output too long")

// limitedBuffer stops an execution whose output grows past max.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (w *limitedBuffer) Write(p []byte) (int, error) {
	if w.buf.Len()+len(p) > w.max {
		return 0, fmt.Errorf("%w: more than %d bytes", errTooLong, w.max)
	}
	return w.buf.Write(p)
}

// cleanText trims the text, the trailing spaces of its lines, and keeps at
// most one blank line in a row.
func cleanText(s string) string {
	s = strings.ReplaceAll(s, "\r\n", "\n")
	lines := strings.Split(strings.TrimSpace(s), "\n")
	out := lines[:0]
	blank := false
	for _, l := range lines {
		l = strings.TrimRight(l, " \t")
		if l == "" {
			if blank {
				continue
			}
			blank = true
		} else {
			blank = false
		}
		out = append(out, l)
	}
	return strings.Join(out, "\n")
}

// funcs are the template functions, bound to a format key (formatKey).
func funcs(key string) map[string]any {
	locale, sms := strings.CutSuffix(key, "+sms")
	base, _, _ := strings.Cut(locale, "-")
	date := func(t time.Time) string { return FormatDate(locale, t) }
	if sms {
		date = func(t time.Time) string { return FormatSMSDate(locale, t) }
	}
	return map[string]any{
		"date":      date,
		"time":      func(t time.Time) string { return FormatTime(locale, t) },
		"money":     func(minor int64, currency string) string { return FormatMoney(locale, minor, currency) },
		"duration":  func(minutes int) string { return FormatDuration(locale, minutes) },
		"firstname": firstName,
		"reason":    func(r string) string { return Reason(base, r) },
		"datelist":  func(ts []time.Time) string { return formatDateList(date, locale, ts) },
	}
}

func firstName(name string) string {
	if f := strings.Fields(name); len(f) > 0 {
		return f[0]
	}
	return ""
}

// replyWords are the words a reminder.confirm text asks for, per locale:
// the digit, the locale's word (the one the message shows) and the English
// one, except in Polish, where "no" means "yeah": Polish clients reply 1/TAK
// or 2/NIE only. core.ParseReplyIn understands each of them from a client
// of that language (TestReplyWordsMatchTheParser).
var replyWords = map[string][2][]string{
	"en": {{"1", "YES"}, {"2", "NO"}},
	"fr": {{"1", "OUI", "YES"}, {"2", "NON", "NO"}},
	"de": {{"1", "JA", "YES"}, {"2", "NEIN", "NO"}},
	"ru": {{"1", "ДА", "YES"}, {"2", "НЕТ", "NO"}},
	"pl": {{"1", "TAK"}, {"2", "NIE"}},
}

// ReplyWords returns the replies that confirm and that cancel an
// appointment after a reminder.confirm message in locale, upper case: the
// digit and the locale's word (the one the message shows) first. Compare
// them with the reply trimmed and upper-cased.
func ReplyWords(locale string) (confirm, cancel []string) {
	w := replyWords[NormalizeLocale(locale)]
	return slices.Clone(w[0]), slices.Clone(w[1])
}
