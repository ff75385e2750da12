// Package notify turns domain events into outbox messages and sends them:
// core decides who is told what (PlanEvent), the router picks the channel
// (RouteClient), templates render it in the recipient's language and zone,
// and a channel adapter sends it at that channel's rate.
package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/core/sms"
	"github.com/bookinggw/gateway/templates"
)

// Store is what the dispatcher reads and writes.
type Store interface {
	core.MessageStore
	PendingEventsAfter(ctx context.Context, after string, limit int) ([]core.Event, error)
	FailEvent(ctx context.Context, id, why string, permanent bool, at time.Time) error
	CommitEvents(ctx context.Context, batch []core.PlannedEvent, at time.Time) ([]core.Message, error)
	FailedEvents(ctx context.Context, orgID string, p core.Page) ([]core.FailedEvent, error)
	RetryEvent(ctx context.Context, orgID, id string) (core.Event, error)
	FinishAttempt(ctx context.Context, m core.Message, claimed int) (core.Message, error)
	GetFallbackDue(ctx context.Context, id string) (core.Message, bool, error)
	DueFallbacks(ctx context.Context, before time.Time, limit int) ([]core.Message, error)
	ClearFallback(ctx context.Context, id string) error
	// ClientWithChannels reads a client and its channel settings at once.
	ClientWithChannels(ctx context.Context, orgID, id string) (core.Client, []core.ChannelPref, error)
	GetOrganization(ctx context.Context, orgID string) (core.Organization, error)
	GetCenter(ctx context.Context, orgID, id string) (core.Center, error)
	GetStaff(ctx context.Context, orgID, id string) (core.Staff, error)
	GetClient(ctx context.Context, orgID, id string) (core.Client, error)
	GetService(ctx context.Context, orgID, id string) (core.Offering, error)
	GetAppointment(ctx context.Context, orgID, id string) (core.Appointment, error)
	GetEvent(ctx context.Context, orgID, id string) (core.Event, error)
	GetTemplateOverride(ctx context.Context, orgID, kind, locale string) (templates.Override, bool, error)
	PutTemplateOverride(ctx context.Context, orgID, kind, locale string, o templates.Override, at time.Time) error
	DeleteTemplateOverride(ctx context.Context, orgID, kind, locale string) error
	DueReminders(ctx context.Context, before time.Time, limit int) ([]core.Reminder, error)
	QueueReminder(ctx context.Context, r core.Reminder, m core.Message) (bool, error)
	GetInbound(ctx context.Context, id string) (core.Inbound, error)
	FinishInbound(ctx context.Context, in core.Inbound) error
	UnhandledInbound(ctx context.Context, before time.Time, limit int) ([]core.Inbound, error)
	AwaitingReply(ctx context.Context, phone string, now time.Time) (core.Message, error)
	ClientsByPhone(ctx context.Context, phone string) ([]core.Client, error)
	SetOptOut(ctx context.Context, orgID, clientID string, channel core.Channel, at *time.Time) error
	ListInbound(ctx context.Context, orgID string, p core.Page) ([]core.Inbound, error)
	GetSale(ctx context.Context, orgID, id string) (core.PackageSale, error)
	GetPackage(ctx context.Context, orgID, id string) (core.Package, error)
	FindPaymentLink(ctx context.Context, orgID, purpose, refID string, amount int64) (core.StoredLink, error)
	SavePaymentLink(ctx context.Context, l core.StoredLink) (core.StoredLink, error)
}

// Enqueuer schedules the send task of a message. Task ids derive from the
// message id, its attempt and due time, so enqueuing twice is harmless.
type Enqueuer interface {
	EnqueueSend(ctx context.Context, m core.Message) error
	EnqueueInbound(ctx context.Context, id string) error
	// Publish nudges the relay.
	Publish(ctx context.Context, e core.Event) error
}

// Pacer waits for a channel's rate limits before a send.
type Pacer interface {
	Pace(ctx context.Context, m core.Message) error
}

// Counter counts messages by channel and outcome (Prometheus in production).
type Counter interface {
	Inc(channel core.Channel, status core.MessageStatus)
}

// Problems counts what went wrong in the pipeline, by kind (Prometheus in
// production): the Problem* names.
type Problems interface {
	Inc(problem string)
}

// Kinds of pipeline problems.
const (
	ProblemEvent        = "event_failed"  // an event could not be built into messages
	ProblemRelay        = "relay"         // the relay could not read events
	ProblemSweep        = "sweep_read"    // the sweeper could not read what to sweep
	ProblemRequeue      = "requeue"       // a stranded message could not be requeued
	ProblemEnqueue      = "enqueue"       // a task could not be enqueued
	ProblemFallback     = "fallback"      // a fallback message could not be written
	ProblemStaleAttempt = "stale_attempt" // a late outcome of a stale attempt was dropped
)

// Config wires a Dispatcher.
type Config struct {
	Store     Store
	Templates *templates.Set
	Senders   map[core.Channel]core.Sender
	Enqueuer  Enqueuer
	Pacer     Pacer // nil: no pacing
	Counter   Counter
	Problems  Problems // nil: not counted
	Clock     core.Clock
	Log       *slog.Logger
	// PublicURL builds provider callback URLs and client links.
	PublicURL string
	// LinkSecret signs the cancel and confirm links in messages.
	LinkSecret []byte
	// Actions confirm or cancel visits for clients' replies.
	Actions ClientActions
	// Links creates payment links (Stripe); nil when not configured.
	Links core.PaymentLinks
	// MaxAttempts bounds temporary-failure retries of one channel.
	MaxAttempts int
}

// Dispatcher plans, writes and sends messages.
type Dispatcher struct {
	c   Config
	ref *refs
}

// New checks the configuration.
func New(c Config) (*Dispatcher, error) {
	if c.Store == nil || c.Templates == nil || c.Enqueuer == nil || c.Clock == nil || c.Log == nil {
		return nil, errors.New("notify: New needs a store, templates, an enqueuer, a clock and a logger")
	}
	if c.MaxAttempts <= 0 {
		c.MaxAttempts = 8
	}
	if c.Counter == nil {
		c.Counter = nopCounter{}
	}
	if c.Problems == nil {
		c.Problems = nopProblems{}
	}
	return &Dispatcher{c: c, ref: newRefs(c.Store)}, nil
}

type nopCounter struct{}

func (nopCounter) Inc(core.Channel, core.MessageStatus) {}

type nopProblems struct{}

func (nopProblems) Inc(string) {}

func (d *Dispatcher) now() time.Time { return d.c.Clock.Now().UTC().Truncate(time.Millisecond) }

// relayBatch is how many events the relay reads at a time.
const relayBatch = 100

// RelayEvents turns pending domain events into messages and enqueues them,
// batch after batch until none is left. An event that cannot be built is
// recorded with its error and skipped, so it never holds up the others
// (after a permanent error, or its third transient one, it is marked
// failed: staff see it and retry it). It returns how many events it handled.
func (d *Dispatcher) RelayEvents(ctx context.Context) (int, error) {
	n, after := 0, ""
	for {
		events, err := d.c.Store.PendingEventsAfter(ctx, after, relayBatch)
		if err != nil {
			return n, err
		}
		planned := make([]core.PlannedEvent, 0, len(events))
		for _, e := range events {
			after = e.ID
			msgs, err := d.plan(ctx, e)
			if err != nil {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
				d.failEvent(ctx, e, err)
				continue
			}
			planned = append(planned, core.PlannedEvent{Event: e, Messages: msgs})
		}
		// One commit for the batch; if it fails, event by event, so one
		// event's problem stays its own.
		var created []core.Message
		if len(planned) > 0 {
			created, err = d.c.Store.CommitEvents(ctx, planned, d.now())
			ok := len(planned)
			if err != nil {
				if ctx.Err() != nil {
					return n, ctx.Err()
				}
				created, ok = nil, 0
				for _, p := range planned {
					c, err := d.c.Store.CommitEvents(ctx, []core.PlannedEvent{p}, d.now())
					if err != nil {
						d.failEvent(ctx, p.Event, err)
						continue
					}
					created, ok = append(created, c...), ok+1
				}
			}
			n += ok
		}
		for _, m := range created {
			d.dispatch(ctx, m)
		}
		if len(events) < relayBatch {
			return n, nil
		}
	}
}

// plan builds one event's messages.
func (d *Dispatcher) plan(ctx context.Context, e core.Event) ([]core.Message, error) {
	var msgs []core.Message
	for _, in := range core.PlanEvent(e) {
		m, err := d.build(ctx, e, in, nil, "")
		if err != nil {
			return nil, fmt.Errorf("%s to %s %s: %w", in.Kind, in.Recipient.Kind, in.Recipient.ID, err)
		}
		msgs = append(msgs, m)
	}
	return msgs, nil
}

// failEvent records why an event could not be built. Errors of the domain
// (a record gone, invalid data) and template errors do not heal by
// themselves: the event is failed at once; others (the database) get three
// tries.
func (d *Dispatcher) failEvent(ctx context.Context, e core.Event, err error) {
	_, domain := core.AsError(err)
	var perr *templates.ParseError
	permanent := domain || errors.As(err, &perr)
	d.c.Problems.Inc(ProblemEvent)
	d.c.Log.ErrorContext(ctx, "event could not be built into messages", "event_id", e.ID, "org_id", e.OrgID, "kind", string(e.Kind),
		"permanent", permanent, "error", err.Error())
	if ferr := d.c.Store.FailEvent(ctx, e.ID, err.Error(), permanent, d.now()); ferr != nil {
		d.c.Log.ErrorContext(ctx, "event failure not recorded", "event_id", e.ID, "error", ferr.Error())
	}
}

// dispatch counts a newly written message and queues it if it is to be
// sent. The row is stored already, so an enqueue failure only delays it to
// the sweeper.
func (d *Dispatcher) dispatch(ctx context.Context, m core.Message) {
	d.c.Counter.Inc(m.Channel, m.Status)
	if m.Status != core.MsgQueued {
		return
	}
	if err := d.c.Enqueuer.EnqueueSend(ctx, m); err != nil {
		d.c.Log.WarnContext(ctx, "enqueue failed; the sweeper will queue it", "message_id", m.ID, "error", err.Error())
	}
}

// insert writes a message unless its dedupe key exists and dispatches it
// when it is new; it returns the stored message either way.
func (d *Dispatcher) insert(ctx context.Context, m core.Message) (core.Message, error) {
	m, created, err := d.c.Store.InsertMessage(ctx, m)
	if err == nil && created {
		d.dispatch(ctx, m)
	}
	return m, err
}

// build renders one intent into a message for the first usable channel, or
// for the given one (fallback). A recipient with no usable channel gets a
// skipped message, so the outbox shows why nobody was told.
func (d *Dispatcher) build(ctx context.Context, e core.Event, in core.Intent, only []core.Channel, dedupeSuffix string) (core.Message, error) {
	st := d.c.Store
	now := d.now()
	m := core.Message{ID: core.NewID(), OrgID: e.OrgID, RecipientKind: in.Recipient.Kind, RecipientID: in.Recipient.ID, Kind: in.Kind,
		Status: core.MsgQueued, DedupeKey: e.ID + ":" + in.Kind + ":" + in.Recipient.ID + dedupeSuffix, EventID: e.ID,
		AppointmentID: e.Data["appointment_id"], DueAt: now, CreatedAt: now, UpdatedAt: now}
	org, err := d.ref.organization(ctx, e.OrgID)
	if err != nil {
		return m, err
	}
	data := templates.Data{OrganizationName: org.Name, Extra: map[string]string{}}
	if r := e.Data["reason"]; r != "" {
		data.Extra[templates.ExtraReason] = r
	}
	if e.Data["urgent"] == "true" {
		data.Extra[templates.ExtraUrgent] = "true"
	}
	var center core.Center
	if m.AppointmentID != "" {
		a, err := st.GetAppointment(ctx, e.OrgID, m.AppointmentID)
		if err != nil {
			return m, err
		}
		m.CenterID = a.CenterID
		if err := d.appointmentData(ctx, a, &data, &center); err != nil {
			return m, err
		}
		if ps := e.Data["previous_start"]; ps != "" {
			data.PreviousStart, _ = time.Parse(time.RFC3339, ps)
		}
		if len(d.c.LinkSecret) > 0 && (a.Status == core.Accepted || a.Status == core.Pending) {
			link := d.c.PublicURL + "/a/" + core.SignLink(d.c.LinkSecret, a.ID, core.LinkManage, a.End)
			data.CancelURL, data.ConfirmURL = link, link
		}
	}
	if u := e.Data["payment_url"]; u != "" {
		data.PaymentURL = u
	}
	if sid := e.Data["sale_id"]; sid != "" {
		if sale, err := st.GetSale(ctx, e.OrgID, sid); err == nil {
			data.PriceMinor, data.PaidMinor, data.BalanceMinor, data.Currency, data.PriceShown = sale.PriceMinor, sale.PaidMinor, sale.BalanceMinor, sale.Currency, true
			if pk, err := st.GetPackage(ctx, e.OrgID, sale.PackageID); err == nil {
				data.ServiceName = pk.Name
			}
		}
	}
	if e.Kind == core.EventPaymentAdded {
		paymentTotals(e.Data, &data)
	}
	data.HelpText = org.Name
	if center.Phone != "" {
		data.HelpText += " " + center.Phone
	}
	if only == nil {
		switch in.Kind {
		case core.KindReplyConfirm, core.KindReplyCancel, core.KindHelp:
			// Answer on the channel the client wrote on.
			only = []core.Channel{core.Channel(or(e.Data["via"], string(core.ChannelSMS)))}
		case core.KindReminderAsk:
			// Only SMS and WhatsApp carry a reply back.
			only = []core.Channel{core.ChannelWhatsApp, core.ChannelSMS}
		}
	}
	if e.Kind == core.EventWaitlistMatch {
		data.Start, _ = time.Parse(time.RFC3339, e.Data["free_start"])
		if c, err := st.GetClient(ctx, e.OrgID, e.Data["client_id"]); err == nil {
			data.ClientName, data.Extra[templates.ExtraClientPhone] = c.Name, c.Phone
		}
		if sv, err := d.ref.service(ctx, e.OrgID, e.Data["service_id"]); err == nil {
			data.ServiceName, data.DurationMin = sv.Name, sv.DurationMin
		}
	}

	var targets []core.Target
	locale, tz := org.Locale, org.Timezone
	switch in.Recipient.Kind {
	case "client":
		c, prefs, err := st.ClientWithChannels(ctx, e.OrgID, in.Recipient.ID)
		if err != nil {
			return m, err
		}
		data.ClientName = c.Name
		locale, tz = or(c.Language, locale), or(c.Timezone, tz)
		addr := map[core.Channel]string{core.ChannelSMS: c.Phone, core.ChannelWhatsApp: c.Phone,
			core.ChannelTelegram: string(c.TelegramID), core.ChannelEmail: c.Email}
		targets = core.RouteClient(addr, prefs, org.ChannelOrder)
	case "staff":
		s, err := d.ref.staffMember(ctx, e.OrgID, in.Recipient.ID)
		if err != nil {
			return m, err
		}
		tz = or(s.Timezone, tz)
		for _, t := range []core.Target{{Channel: core.ChannelSlack, To: s.SlackUserID}, {Channel: core.ChannelSlack, To: center.SlackChannel},
			{Channel: core.ChannelTelegram, To: s.TelegramChatID}, {Channel: core.ChannelEmail, To: s.Email}} {
			if t.To != "" && !hasChannel(targets, t.Channel) {
				targets = append(targets, t)
			}
		}
	}
	if only != nil {
		targets = filterTargets(targets, only)
	}
	m.Locale = templates.NormalizeLocale(locale)
	if loc, err := time.LoadLocation(tz); err == nil {
		data.Timezone = loc
	}
	if in.Kind == core.KindStaffPaymentCurrency {
		amount, _ := strconv.ParseInt(e.Data["amount_minor"], 10, 64)
		data.Extra[templates.ExtraPayment] = templates.FormatMoney(m.Locale, amount, e.Data["currency"])
	}
	if len(targets) == 0 {
		m.Status, m.LastError = core.MsgSkipped, "no usable channel (no address, no consent, or opted out)"
		return m, nil
	}
	m.Channel, m.To = targets[0].Channel, targets[0].To
	for _, t := range targets[1:] {
		m.Fallback = append(m.Fallback, t.Channel)
	}
	over, found, err := d.ref.override(ctx, e.OrgID, in.Kind, m.Locale)
	if err != nil {
		return m, err
	}
	var op *templates.Override
	if found {
		op = &over
	}
	out, err := d.c.Templates.Render(in.Kind, m.Locale, data, op)
	if err != nil {
		// An override is validated when saved; a render error here is a bug
		// or a data problem: fall back to the default text.
		d.c.Log.ErrorContext(ctx, "render failed, using default template", "kind", in.Kind, "error", err.Error())
		if out, err = d.c.Templates.Render(in.Kind, m.Locale, data, nil); err != nil {
			return m, err
		}
	}
	m.Subject, m.Body, m.HTML = out.Subject, out.Text, out.HTML
	d.decorate(&m, center)
	return m, nil
}

// decorate fills channel specifics: sender, SMS facts, status callback.
func (d *Dispatcher) decorate(m *core.Message, center core.Center) {
	switch m.Channel {
	case core.ChannelSMS, core.ChannelWhatsApp:
		m.From = center.SMSFrom
		info := sms.Analyze(m.Body)
		m.Segments, m.Encoding = info.Segments, string(info.Encoding)
	default:
		m.From, m.Segments, m.Encoding = "", 0, ""
	}
	if m.Channel != core.ChannelEmail {
		m.HTML, m.Subject = "", ""
	}
}

func (d *Dispatcher) appointmentData(ctx context.Context, a core.Appointment, data *templates.Data, center *core.Center) error {
	sv, err := d.ref.service(ctx, a.OrgID, a.ServiceID)
	if err != nil {
		return err
	}
	sp, err := d.ref.staffMember(ctx, a.OrgID, a.SpecialistID)
	if err != nil {
		return err
	}
	if a.CenterID != "" {
		if *center, err = d.ref.center(ctx, a.OrgID, a.CenterID); err != nil {
			return err
		}
		data.CenterName = center.Name
	}
	data.SpecialistName, data.ServiceName, data.DurationMin = sp.Name, sv.Name, sv.DurationMin
	data.Start = a.Start
	data.Location = a.Location.Details
	if data.Location == "" && center.Address != "" {
		data.Location = center.Address
	}
	data.PriceMinor, data.PaidMinor, data.BalanceMinor, data.Currency = a.PriceMinor, a.PaidMinor, a.BalanceMinor, a.Currency
	data.PriceShown = sv.PriceMinor != nil
	return nil
}

// paymentTotals puts the totals as of a payment (its event's data) in
// place of the current ones: a receipt built later, after more payments,
// still states what this payment left to pay.
func paymentTotals(ev map[string]string, data *templates.Data) {
	var v [3]int64
	for i, k := range []string{"price_minor", "paid_minor", "balance_minor"} {
		n, err := strconv.ParseInt(ev[k], 10, 64)
		if err != nil {
			return // an event written before totals were kept
		}
		v[i] = n
	}
	data.PriceMinor, data.PaidMinor, data.BalanceMinor = v[0], v[1], v[2]
	if c := ev["totals_currency"]; c != "" {
		data.Currency = c
	}
}

func hasChannel(ts []core.Target, c core.Channel) bool {
	for _, t := range ts {
		if t.Channel == c {
			return true
		}
	}
	return false
}

func filterTargets(ts []core.Target, only []core.Channel) []core.Target {
	var out []core.Target
	for _, c := range only {
		for _, t := range ts {
			if t.Channel == c {
				out = append(out, t)
				break
			}
		}
	}
	return out
}

func or(v, def string) string {
	if strings.TrimSpace(v) == "" {
		return def
	}
	return v
}
