package notify

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/core/sms"
	"github.com/bookinggw/gateway/templates"
)

func validateKindLocale(kind, locale string) error {
	var f core.Fields
	f.Check(!templates.KnownKind(kind), "kind", "must be one of "+strings.Join(templates.Kinds(), ", "))
	f.Check(!core.ValidLocale(locale), "locale", "must be one of "+strings.Join(core.Locales, ", "))
	return f.Err("invalid template reference")
}

// parseProblem turns a template error into a 400 with the line.
func parseProblem(err error) error {
	var pe *templates.ParseError
	if errors.As(err, &pe) {
		field := pe.Field
		if pe.Line > 0 {
			field += ":" + strconv.Itoa(pe.Line)
		}
		return core.Invalid("the template does not work: "+pe.Message, core.FieldError{Field: field, Message: pe.Message})
	}
	return core.Invalid("the template does not work: " + err.Error())
}

// PreviewTemplate renders a kind with sample data; a broken override is a
// 400 with the parse error, never a broken send. The messaging service
// has checked the caller and the timezone.
func (d *Dispatcher) PreviewTemplate(ctx context.Context, org core.Organization, in core.TemplatePreviewInput) (core.TemplatePreview, error) {
	if err := validateKindLocale(in.Kind, in.Locale); err != nil {
		return core.TemplatePreview{}, err
	}
	loc := time.UTC
	if in.Timezone != "" {
		l, err := time.LoadLocation(in.Timezone)
		if err != nil {
			return core.TemplatePreview{}, core.Invalid("bad timezone", core.FieldError{Field: "timezone", Message: "unknown timezone"})
		}
		loc = l
	}
	var override *templates.Override
	if in.Override != nil {
		o := templates.Override(*in.Override)
		if err := templates.Validate(in.Kind, o); err != nil {
			return core.TemplatePreview{}, parseProblem(err)
		}
		override = &o
	} else if o, found, err := d.c.Store.GetTemplateOverride(ctx, org.ID, in.Kind, in.Locale); err != nil {
		return core.TemplatePreview{}, err
	} else if found {
		override = &o
	}
	// Sample data in the preview's own language (names, service, reason,
	// currency of that locale), on the organization's name, two days ahead.
	start := d.now().Add(48 * time.Hour).Truncate(time.Hour)
	sample := templates.Sample(in.Locale)
	sample.Timezone, sample.OrganizationName, sample.Start, sample.PreviousStart = loc, org.Name, start, start.Add(-24*time.Hour)
	if org.Currency != "" {
		sample.Currency = org.Currency
	}
	sample.Starts = []time.Time{start, start.AddDate(0, 0, 7), start.AddDate(0, 0, 14)}
	sample.SMS = true // the SMS facts below are of the SMS text
	out, err := d.c.Templates.Render(in.Kind, in.Locale, sample, override)
	if err != nil {
		return core.TemplatePreview{}, parseProblem(err)
	}
	info := sms.Analyze(out.Text)
	return core.TemplatePreview{Kind: in.Kind, Locale: in.Locale, Subject: out.Subject, Text: out.Text, HTML: out.HTML,
		Encoding: string(info.Encoding), Segments: info.Segments, Chars: info.Units}, nil
}

// PutTemplate saves an organization's override after validating it.
func (d *Dispatcher) PutTemplate(ctx context.Context, orgID, kind, locale string, o core.TemplateOverride) error {
	in := templates.Override(o)
	if err := validateKindLocale(kind, locale); err != nil {
		return err
	}
	if in.Text == "" && in.Subject == "" && in.HTML == "" {
		return core.Invalid("an override needs text, subject or html", core.FieldError{Field: "text", Message: "is empty"})
	}
	if err := templates.Validate(kind, in); err != nil {
		return parseProblem(err)
	}
	return d.c.Store.PutTemplateOverride(ctx, orgID, kind, locale, in, d.now())
}

// DeleteTemplate restores the default of one kind and locale.
func (d *Dispatcher) DeleteTemplate(ctx context.Context, orgID, kind, locale string) error {
	if err := validateKindLocale(kind, locale); err != nil {
		return err
	}
	return d.c.Store.DeleteTemplateOverride(ctx, orgID, kind, locale)
}

var _ core.Pipeline = (*Dispatcher)(nil)
