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

func canManageMessages(p core.Principal) error {
	return p.Require(core.RoleDirector, core.RoleAdministrator, core.RoleMarketer)
}

// ListMessages lists the organization's outbox.
func (d *Dispatcher) ListMessages(ctx context.Context, p core.Principal, f core.MessageFilter, pg core.Page) ([]core.Message, error) {
	if err := canManageMessages(p); err != nil {
		return nil, err
	}
	return d.c.Store.ListMessages(ctx, p.OrgID, f, pg)
}

// GetMessage reads one outbox message.
func (d *Dispatcher) GetMessage(ctx context.Context, p core.Principal, id string) (core.Message, error) {
	if err := canManageMessages(p); err != nil {
		return core.Message{}, err
	}
	return d.c.Store.GetMessage(ctx, p.OrgID, id)
}

// Retry puts a failed message back in the queue by hand.
func (d *Dispatcher) Retry(ctx context.Context, p core.Principal, id string) (core.Message, error) {
	if err := canManageMessages(p); err != nil {
		return core.Message{}, err
	}
	m, err := d.c.Store.RequeueMessage(ctx, p.OrgID, id, d.now())
	if err != nil {
		return m, err
	}
	return m, d.c.Enqueuer.EnqueueSend(ctx, m)
}

// ChannelSettings is a client's channel preferences.
type ChannelSettings struct {
	Channels []core.ChannelPref `json:"channels" doc:"in preference order; a channel not listed follows the organization's order"`
}

// ClientChannels reads a client's channel settings.
func (d *Dispatcher) ClientChannels(ctx context.Context, p core.Principal, clientID string) (ChannelSettings, error) {
	if _, err := d.c.Store.GetClient(ctx, p.OrgID, clientID); err != nil {
		return ChannelSettings{}, err
	}
	cs, err := d.c.Store.ClientChannels(ctx, p.OrgID, clientID)
	return ChannelSettings{Channels: cs}, err
}

// SetClientChannels replaces a client's channel settings; list order is
// preference order.
func (d *Dispatcher) SetClientChannels(ctx context.Context, p core.Principal, clientID string, in ChannelSettings) (ChannelSettings, error) {
	if p.Role == core.RoleMarketer {
		return ChannelSettings{}, core.Forbidden("marketers do not change a client's channels")
	}
	var f core.Fields
	seen := map[core.Channel]bool{}
	for i := range in.Channels {
		c := in.Channels[i].Channel
		f.Check(!c.Valid() || c == core.ChannelSlack, "channels", "unknown client channel "+string(c))
		f.Check(seen[c], "channels", "lists "+string(c)+" twice")
		seen[c] = true
		in.Channels[i].Position = i
	}
	if err := f.Err("invalid channel settings"); err != nil {
		return ChannelSettings{}, err
	}
	if _, err := d.c.Store.GetClient(ctx, p.OrgID, clientID); err != nil {
		return ChannelSettings{}, err
	}
	if in.Channels == nil {
		in.Channels = []core.ChannelPref{}
	}
	return in, d.c.Store.SetClientChannels(ctx, p.OrgID, clientID, in.Channels)
}

// TemplateInput is an override of one kind in one locale.
type TemplateInput = templates.Override

// Preview is a rendered message with its SMS facts.
type Preview struct {
	Kind     string `json:"kind"`
	Locale   string `json:"locale"`
	Subject  string `json:"subject,omitempty"`
	Text     string `json:"text"`
	HTML     string `json:"html,omitempty"`
	Encoding string `json:"sms_encoding" doc:"GSM-7 or UCS-2"`
	Segments int    `json:"sms_segments"`
	Chars    int    `json:"sms_units" doc:"septets (GSM-7) or UTF-16 units (UCS-2)"`
}

// PreviewInput renders a kind for sample data, with an optional unsaved
// override, in a locale and timezone.
type PreviewInput struct {
	Kind     string              `json:"kind"`
	Locale   string              `json:"locale"`
	Timezone string              `json:"timezone"`
	Override *templates.Override `json:"override"`
}

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
// 400 with the parse error, never a broken send.
func (d *Dispatcher) PreviewTemplate(ctx context.Context, p core.Principal, in PreviewInput) (Preview, error) {
	if in.Locale == "" {
		o, err := d.c.Store.GetOrganization(ctx, p.OrgID)
		if err != nil {
			return Preview{}, err
		}
		in.Locale = o.Locale
	}
	if err := validateKindLocale(in.Kind, in.Locale); err != nil {
		return Preview{}, err
	}
	loc := time.UTC
	if in.Timezone != "" {
		l, err := time.LoadLocation(in.Timezone)
		if err != nil {
			return Preview{}, core.Invalid("bad timezone", core.FieldError{Field: "timezone", Message: "unknown timezone"})
		}
		loc = l
	}
	override := in.Override
	if override != nil {
		if err := templates.Validate(in.Kind, *override); err != nil {
			return Preview{}, parseProblem(err)
		}
	} else if o, found, err := d.c.Store.GetTemplateOverride(ctx, p.OrgID, in.Kind, in.Locale); err != nil {
		return Preview{}, err
	} else if found {
		override = &o
	}
	org, err := d.c.Store.GetOrganization(ctx, p.OrgID)
	if err != nil {
		return Preview{}, err
	}
	start := d.now().Add(48 * time.Hour).Truncate(time.Hour)
	sample := templates.Data{Timezone: loc, ClientName: "Anna Smith", SpecialistName: "Dr Martin", ServiceName: "Consultation",
		CenterName: "Main center", OrganizationName: org.Name, Start: start, PreviousStart: start.Add(-24 * time.Hour), DurationMin: 50,
		Location: "12 rue de la Paix, room 3", PriceMinor: 6000, PaidMinor: 2000, BalanceMinor: 4000, Currency: org.Currency,
		PriceShown: true, PaymentURL: "https://pay.example/abc", CancelURL: "https://example.invalid/c/abc",
		ConfirmURL: "https://example.invalid/v/abc", HelpText: org.Name, Extra: map[string]string{templates.ExtraReason: "illness"}}
	out, err := d.c.Templates.Render(in.Kind, in.Locale, sample, override)
	if err != nil {
		return Preview{}, parseProblem(err)
	}
	info := sms.Analyze(out.Text)
	return Preview{Kind: in.Kind, Locale: in.Locale, Subject: out.Subject, Text: out.Text, HTML: out.HTML,
		Encoding: string(info.Encoding), Segments: info.Segments, Chars: info.Units}, nil
}

// PutTemplate saves an organization's override after validating it.
func (d *Dispatcher) PutTemplate(ctx context.Context, p core.Principal, kind, locale string, in TemplateInput) error {
	if err := canManageMessages(p); err != nil {
		return err
	}
	if err := validateKindLocale(kind, locale); err != nil {
		return err
	}
	if in.Text == "" && in.Subject == "" && in.HTML == "" {
		return core.Invalid("an override needs text, subject or html", core.FieldError{Field: "text", Message: "is empty"})
	}
	if err := templates.Validate(kind, in); err != nil {
		return parseProblem(err)
	}
	defer d.ref.overrides.forget(overrideKey{p.OrgID, kind, locale})
	return d.c.Store.PutTemplateOverride(ctx, p.OrgID, kind, locale, in, d.now())
}

// DeleteTemplate restores the default of one kind and locale.
func (d *Dispatcher) DeleteTemplate(ctx context.Context, p core.Principal, kind, locale string) error {
	if err := canManageMessages(p); err != nil {
		return err
	}
	if err := validateKindLocale(kind, locale); err != nil {
		return err
	}
	defer d.ref.overrides.forget(overrideKey{p.OrgID, kind, locale})
	return d.c.Store.DeleteTemplateOverride(ctx, p.OrgID, kind, locale)
}

// ListInbound lists messages clients sent.
func (d *Dispatcher) ListInbound(ctx context.Context, p core.Principal, pg core.Page) ([]core.Inbound, error) {
	if err := canManageMessages(p); err != nil {
		return nil, err
	}
	return d.c.Store.ListInbound(ctx, p.OrgID, pg)
}
