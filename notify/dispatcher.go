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
	StatusStore
	// ClientWithChannels reads a client and its channel settings at once.
	ClientWithChannels(ctx context.Context, orgID, id string) (core.Client, []core.ChannelPref, error)
	GetOrganization(ctx context.Context, orgID string) (core.Organization, error)
	GetCenter(ctx context.Context, orgID, id string) (core.Center, error)
	GetStaff(ctx context.Context, orgID, id string) (core.Staff, error)
	GetClient(ctx context.Context, orgID, id string) (core.Client, error)
	GetService(ctx context.Context, orgID, id string) (core.Offering, error)
	GetAppointment(ctx context.Context, orgID, id string) (core.Appointment, error)
	// The relay's batch reads and writes (prefetch): one statement each
	// for a whole batch of events.
	AppointmentsByID(ctx context.Context, ids []string) ([]core.Appointment, error)
	ClientsWithChannelsByID(ctx context.Context, ids []string) ([]core.Client, map[string][]core.ChannelPref, error)
	SenderOptOutsOfPhones(ctx context.Context, phones []string) ([]core.SenderOptOut, error)
	LinkTokens(ctx context.Context, ts []core.LinkToken) (map[string]string, error)
	GetEvent(ctx context.Context, orgID, id string) (core.Event, error)
	GetTemplateOverride(ctx context.Context, orgID, kind, locale string) (templates.Override, bool, error)
	PutTemplateOverride(ctx context.Context, orgID, kind, locale string, o templates.Override, at time.Time) error
	DeleteTemplateOverride(ctx context.Context, orgID, kind, locale string) error
	DueReminders(ctx context.Context, before time.Time, limit int) ([]core.Reminder, error)
	core.ReminderPolicyReader
	QueueReminder(ctx context.Context, r core.Reminder, m core.Message) (bool, error)
	GetInbound(ctx context.Context, id string) (core.Inbound, error)
	FinishInbound(ctx context.Context, in core.Inbound) error
	UnhandledInbound(ctx context.Context, before time.Time, limit int) ([]core.Inbound, error)
	AwaitingReply(ctx context.Context, orgID, phone string, senders []string, now time.Time) (core.Message, error)
	LatestOutbound(ctx context.Context, phone string, senders, orgIDs []string) (core.Message, error)
	SenderOwners(ctx context.Context, addrs []string) ([]core.SenderOwner, error)
	SetSenderOptOut(ctx context.Context, o core.SenderOptOut, stop bool) error
	SenderOptOuts(ctx context.Context, sender, phone string) ([]core.SenderOptOut, error)
	ClientsByPhone(ctx context.Context, phone string) ([]core.Client, error)
	LinkToken(ctx context.Context, t core.LinkToken) (string, error)
	GetSale(ctx context.Context, orgID, id string) (core.PackageSale, error)
	GetPackage(ctx context.Context, orgID, id string) (core.Package, error)
	FindPaymentLink(ctx context.Context, orgID, purpose, refID string, amount int64) (core.StoredLink, error)
	SavePaymentLink(ctx context.Context, l core.StoredLink) (core.StoredLink, error)
}

// Enqueuer schedules the send task of a message. Task ids derive from the
// message id, its attempt and due time, so enqueuing twice is harmless.
type Enqueuer interface {
	EnqueueSend(ctx context.Context, m core.Message) error
	// EnqueueSends enqueues many messages' sends, overlapping the calls.
	EnqueueSends(ctx context.Context, msgs []core.Message) error
	EnqueueInbound(ctx context.Context, id string) error
	// Publish nudges the relay.
	Publish(ctx context.Context, e core.Event) error
}

// ChatInbound takes a client's WhatsApp message for the conversations
// (chats.Handler), once its organization and centre are resolved.
type ChatInbound interface {
	WhatsApp(ctx context.Context, in core.Inbound) error
}

// Pacer waits for a channel's rate limits before a send. perMinute > 0
// adds a limit of its own (a campaign's pace, read at each send).
type Pacer interface {
	Pace(ctx context.Context, m core.Message, perMinute int) error
}

// CampaignGate is asked right before a campaign message is handed to the
// provider (core.CampaignService): paused, cancelled, opted out since the
// freeze, outside the recipient's window; and told of permanent failures.
type CampaignGate interface {
	CheckSend(ctx context.Context, m core.Message) (core.SendVerdict, error)
	Failed(ctx context.Context, m core.Message) error
	CampaignStatus(ctx context.Context, id string) (core.CampaignStatus, error)
}

// Counter counts messages by channel and outcome (Prometheus in production).
type Counter interface {
	Inc(channel core.Channel, status core.MessageStatus)
}

// InboundCounter counts handled inbound messages by channel and outcome:
// "matched" to an organization, or "unmatched" (waiting for the operator).
type InboundCounter interface {
	IncInbound(channel core.Channel, outcome string)
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
	ProblemStatus       = "status"        // a provider's status report could not be applied
)

// Config wires a Dispatcher.
type Config struct {
	Store     Store
	Templates *templates.Set
	Senders   map[core.Channel]core.Sender
	Enqueuer  Enqueuer
	Pacer     Pacer // nil: no pacing
	Counter   Counter
	Inbound   InboundCounter // nil: not counted
	Problems  Problems       // nil: not counted
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
	// Chats turns WhatsApp messages that are neither reply words nor
	// opt-outs into conversation messages; nil: they stay inbound only.
	Chats ChatInbound
	// DefaultSMSFrom is the SMS and WhatsApp sender of centres and
	// organizations that configure none (TWILIO_FROM); messages record it
	// as their From, so opt-outs and replies know the address.
	DefaultSMSFrom string
}

// Dispatcher plans, writes and sends messages.
type Dispatcher struct {
	c         Config
	ref       *refs
	campaigns CampaignGate
}

// SetCampaigns wires the campaigns' gate (made after the dispatcher, as it
// needs the queue). Wiring, called before the worker starts.
func (d *Dispatcher) SetCampaigns(g CampaignGate) { d.campaigns = g }

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
	if c.Inbound == nil {
		c.Inbound = nopCounter{}
	}
	if c.Problems == nil {
		c.Problems = nopProblems{}
	}
	return &Dispatcher{c: c, ref: newRefs(c.Store)}, nil
}

type nopCounter struct{}

func (nopCounter) Inc(core.Channel, core.MessageStatus) {}

func (nopCounter) IncInbound(core.Channel, string) {}

type nopProblems struct{}

func (nopProblems) Inc(string) {}

func (d *Dispatcher) now() time.Time { return d.c.Clock.Now().UTC().Truncate(time.Millisecond) }

// EnqueueSend queues a message's send task (a retry staff asked for).
func (d *Dispatcher) EnqueueSend(ctx context.Context, m core.Message) error {
	return d.c.Enqueuer.EnqueueSend(ctx, m)
}

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
		f, err := d.prefetch(ctx, events)
		if err != nil {
			if ctx.Err() != nil {
				return n, ctx.Err()
			}
			// Each message reads its own records instead.
			d.c.Log.WarnContext(ctx, "relay batch read failed; building event by event", "error", err.Error())
			f = nil
		}
		planned := make([]core.PlannedEvent, 0, len(events))
		for _, e := range events {
			after = e.ID
			msgs, err := d.plan(ctx, f, e)
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
		d.dispatchAll(ctx, created)
		if len(events) < relayBatch {
			return n, nil
		}
	}
}

// plan builds one event's messages from the facts read for its batch.
func (d *Dispatcher) plan(ctx context.Context, f *facts, e core.Event) ([]core.Message, error) {
	var msgs []core.Message
	for _, in := range core.PlanEvent(e) {
		m, err := d.build(ctx, f, e, in, nil, "")
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

// dispatchAll is dispatch for a batch of newly written messages, their
// enqueues overlapped (Enqueuer.EnqueueSends).
func (d *Dispatcher) dispatchAll(ctx context.Context, msgs []core.Message) {
	queued := make([]core.Message, 0, len(msgs))
	for _, m := range msgs {
		d.c.Counter.Inc(m.Channel, m.Status)
		if m.Status == core.MsgQueued {
			queued = append(queued, m)
		}
	}
	if err := d.c.Enqueuer.EnqueueSends(ctx, queued); err != nil {
		d.c.Log.WarnContext(ctx, "enqueue failed; the sweeper will queue the messages", "error", err.Error())
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
func (d *Dispatcher) build(ctx context.Context, f *facts, e core.Event, in core.Intent, only []core.Channel, dedupeSuffix string) (core.Message, error) {
	st := d.c.Store
	now := d.now()
	m := core.Message{ID: core.NewID(), OrgID: e.OrgID, RecipientKind: in.Recipient.Kind, RecipientID: in.Recipient.ID, Kind: in.Kind,
		Status: core.MsgQueued, DedupeKey: core.MessageKey(e, in) + dedupeSuffix, EventID: e.ID,
		AppointmentID: e.Refs().AppointmentID, DueAt: now, CreatedAt: now, UpdatedAt: now}
	org, err := d.ref.organization(ctx, e.OrgID)
	if err != nil {
		return m, err
	}
	data := templates.Data{OrganizationName: org.Name, Extra: map[string]string{}}
	change, _ := e.Data.(*core.AppointmentChanged)
	notice, _ := e.Data.(*core.Notice)
	match, _ := e.Data.(*core.WaitlistMatched)
	pay, _ := e.Data.(*core.PaymentRecorded)
	if call, ok := e.Data.(*core.CallNotice); ok {
		// A call's messages are the centre's: its staff channel, its sender.
		notice = &core.Notice{EventRefs: call.EventRefs, CenterID: call.CenterID}
		data.Extra[templates.ExtraClientPhone] = call.From
	}
	if change != nil && change.Reason != "" {
		data.Extra[templates.ExtraReason] = change.Reason
	}
	if match != nil && match.Urgent {
		data.Extra[templates.ExtraUrgent] = "true"
	}
	var center core.Center
	if m.AppointmentID != "" {
		a, err := d.appointment(ctx, f, e.OrgID, m.AppointmentID)
		if err != nil {
			return m, err
		}
		m.CenterID = a.CenterID
		if err := d.appointmentData(ctx, a, &data, &center); err != nil {
			return m, err
		}
		if change != nil && change.PreviousStart != nil {
			data.PreviousStart = *change.PreviousStart
		}
		if len(d.c.LinkSecret) > 0 && (a.Status == core.Accepted || a.Status == core.Pending) {
			tok, err := d.linkToken(ctx, f, a)
			if err != nil {
				return m, err
			}
			link := d.c.PublicURL + "/a/" + tok
			data.CancelURL, data.ConfirmURL = link, link
		}
	}
	if change != nil && len(change.Starts) > 0 {
		// A series told at once: every visit's time.
		data.Starts, data.PreviousStarts = change.Starts, change.PreviousStarts
		data.Extra[templates.ExtraStatus] = string(change.Status)
	}
	saleID := ""
	if notice != nil {
		data.PaymentURL, saleID = notice.PaymentURL, notice.SaleID
	}
	if pay != nil && pay.SaleID != "" {
		saleID = pay.SaleID
	}
	if sid := saleID; sid != "" {
		if sale, err := st.GetSale(ctx, e.OrgID, sid); err == nil {
			data.PriceMinor, data.PaidMinor, data.BalanceMinor, data.Currency, data.PriceShown = sale.PriceMinor, sale.PaidMinor, sale.BalanceMinor, sale.Currency, true
			if pk, err := st.GetPackage(ctx, e.OrgID, sale.PackageID); err == nil {
				data.ServiceName = pk.Name
			}
		}
	}
	var noticeCenter, replyFrom string
	if notice != nil {
		noticeCenter, replyFrom = notice.CenterID, notice.ReplyFrom
	}
	if cid := noticeCenter; center.ID == "" && cid != "" {
		if center, err = st.GetCenter(ctx, e.OrgID, cid); err != nil {
			return m, err
		}
		m.CenterID = center.ID
	}
	// The address SMS and WhatsApp go from; an answer to a client's message
	// goes from the address the client wrote to.
	sender := or(replyFrom, d.smsSender(org, center))
	if pay != nil {
		paymentTotals(pay, &data)
	}
	if only == nil {
		switch in.Kind {
		case core.KindReplyConfirm, core.KindReplyCancel, core.KindHelp:
			// Answer on the channel the client wrote on.
			only = []core.Channel{core.Channel(or(via(e), string(core.ChannelSMS)))}
		case core.KindReminderAsk:
			// Only SMS and WhatsApp carry a reply back.
			only = []core.Channel{core.ChannelWhatsApp, core.ChannelSMS}
		case core.KindStopNotice:
			// The channel written on first; where the provider refuses it
			// after the STOP, the client's other channels.
			only = []core.Channel{core.Channel(or(via(e), string(core.ChannelSMS))), core.ChannelTelegram, core.ChannelEmail,
				core.ChannelWhatsApp, core.ChannelSMS}
		}
	}
	if match != nil {
		data.Start = match.FreeStart
		if c, err := st.GetClient(ctx, e.OrgID, match.ClientID); err == nil {
			data.ClientName, data.Extra[templates.ExtraClientPhone] = c.Name, c.Phone
		}
		if sv, err := d.ref.service(ctx, e.OrgID, match.ServiceID); err == nil {
			data.ServiceName, data.DurationMin = sv.Name, sv.DurationMin
		}
	}
	if in.Kind == core.KindWaitlistOffer {
		if err := d.offerData(ctx, e, &data, &center); err != nil {
			return m, err
		}
		m.CenterID = center.ID
	}

	var targets []core.Target
	var optedOut []core.Channel
	locale, tz := org.Locale, org.Timezone
	unreachable := "no usable channel"
	switch in.Recipient.Kind {
	case "client":
		c, prefs, err := d.clientWithChannels(ctx, f, e.OrgID, in.Recipient.ID)
		if err != nil {
			return m, err
		}
		data.ClientName = c.Name
		locale, tz = or(c.Language, locale), or(c.Timezone, tz)
		data.Region = templates.RegionOf(c.Language, c.Phone)
		// The help line names the centre (else the organization) and its
		// phone as the client would dial it.
		data.HelpText = or(center.Name, org.Name)
		if center.Phone != "" {
			data.HelpText += ", " + core.DisplayPhone(center.Phone, c.Phone)
		}
		addr := map[core.Channel]string{core.ChannelSMS: c.Phone, core.ChannelWhatsApp: c.Phone,
			core.ChannelTelegram: string(c.TelegramID), core.ChannelEmail: c.Email}
		targets = core.RouteClient(addr, prefs, org.ChannelOrder)
		if in.Kind != core.KindStopNotice { // the one answer a STOP gets
			if targets, optedOut, err = d.dropOptedOut(ctx, f, targets, sender, c.Phone); err != nil {
				return m, err
			}
		}
		unreachable = core.Unreachable(addr, prefs, org.ChannelOrder, only)
	case "staff":
		s, err := d.ref.staffMember(ctx, e.OrgID, in.Recipient.ID)
		if err != nil {
			return m, err
		}
		tz = or(s.Timezone, tz)
		unreachable = "the staff member has no Slack, Telegram or email address"
		if err := d.clientForStaff(ctx, e, &data); err != nil {
			return m, err
		}
		for _, t := range []core.Target{{Channel: core.ChannelSlack, To: s.SlackUserID}, {Channel: core.ChannelSlack, To: center.SlackChannel},
			{Channel: core.ChannelTelegram, To: s.TelegramChatID}, {Channel: core.ChannelEmail, To: s.Email}} {
			if t.To != "" && !hasChannel(targets, t.Channel) {
				targets = append(targets, t)
			}
		}
	case core.RecipientCenter:
		// The centre's staff channel. The centre → Slack channel mapping is
		// Center.SlackChannel today; a richer mapping plugs in here.
		tz = or(center.Timezone, tz)
		unreachable = "the centre has no Slack channel"
		if err := d.clientForStaff(ctx, e, &data); err != nil {
			return m, err
		}
		if center.SlackChannel != "" {
			targets = append(targets, core.Target{Channel: core.ChannelSlack, To: center.SlackChannel})
		}
	}
	if only != nil {
		targets = filterTargets(targets, only)
	}
	m.Locale = templates.NormalizeLocale(locale)
	if loc, err := time.LoadLocation(tz); err == nil {
		data.Timezone = loc
	}
	if in.Kind == core.KindStaffPaymentCurrency && pay != nil {
		data.Extra[templates.ExtraPayment] = templates.FormatMoney(m.Locale, pay.AmountMinor, pay.Currency)
	}
	if key, ok := core.SystemReasonKey(data.Extra[templates.ExtraReason]); ok {
		data.Extra[templates.ExtraReason] = templates.Phrase(m.Locale, "reason."+key)
	}
	if len(targets) == 0 {
		m.Status, m.LastError = core.MsgSkipped, unreachable
		if len(optedOut) > 0 {
			m.LastError = optOutReason(optedOut, sender)
		}
		return m, nil
	}
	m.Channel, m.To = targets[0].Channel, targets[0].To
	for _, t := range targets[1:] {
		m.Fallback = append(m.Fallback, t.Channel)
	}
	data.SMS = m.Channel == core.ChannelSMS
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
	d.decorate(&m, sender)
	return m, nil
}

// smsSender is the address SMS and WhatsApp go from: the centre's, else
// the organization's, else the gateway's default.
func (d *Dispatcher) smsSender(org core.Organization, center core.Center) string {
	return or(center.SMSFrom, or(org.SMSFrom, d.c.DefaultSMSFrom))
}

// dropOptedOut removes SMS and WhatsApp targets whose phone sent STOP to
// the sender: carriers block that pair whichever organization sends.
func (d *Dispatcher) dropOptedOut(ctx context.Context, f *facts, ts []core.Target, sender, phone string) ([]core.Target, []core.Channel, error) {
	if sender == "" || phone == "" || !hasChannel(ts, core.ChannelSMS) && !hasChannel(ts, core.ChannelWhatsApp) {
		return ts, nil, nil
	}
	outs, err := d.senderOptOuts(ctx, f, sender, phone)
	if err != nil || len(outs) == 0 {
		return ts, nil, err
	}
	var kept []core.Target
	var dropped []core.Channel
	for _, t := range ts {
		out := false
		for _, o := range outs {
			out = out || (o.Channel == t.Channel && o.Phone == t.To)
		}
		if out {
			dropped = append(dropped, t.Channel)
		} else {
			kept = append(kept, t)
		}
	}
	return kept, dropped, nil
}

// optOutReason tells staff why a message was skipped: the client's STOP to
// this sender, which START undoes.
func optOutReason(chs []core.Channel, sender string) string {
	names := make([]string, len(chs))
	for i, c := range chs {
		names[i] = string(c)
	}
	return fmt.Sprintf("opted out on sender %s: the client sent STOP to it (%s); nothing is sent from it until they send START",
		sender, strings.Join(names, ", "))
}

// decorate fills channel specifics: sender, SMS facts, status callback.
func (d *Dispatcher) decorate(m *core.Message, sender string) {
	switch m.Channel {
	case core.ChannelSMS, core.ChannelWhatsApp:
		m.From = sender
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

// via is the channel a client acted on, when the event says.
func via(e core.Event) string {
	switch d := e.Data.(type) {
	case *core.Notice:
		return d.Via
	case *core.AppointmentChanged:
		return d.Via
	}
	return ""
}

// paymentTotals puts the totals as of a payment (its event's data) in
// place of the current ones: a receipt built later, after more payments,
// still states what this payment left to pay.
func paymentTotals(pay *core.PaymentRecorded, data *templates.Data) {
	if pay.PriceMinor == nil || pay.PaidMinor == nil || pay.BalanceMinor == nil {
		return // an event written before totals were kept
	}
	data.PriceMinor, data.PaidMinor, data.BalanceMinor = *pay.PriceMinor, *pay.PaidMinor, *pay.BalanceMinor
	if pay.TotalsCurrency != "" {
		data.Currency = pay.TotalsCurrency
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
			if t.Channel == c && !hasChannel(out, c) {
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

// clientForStaff names the client a staff message is about, with their
// phone: staff call back from the notification itself.
func (d *Dispatcher) clientForStaff(ctx context.Context, e core.Event, data *templates.Data) error {
	id := e.Refs().ClientID
	if id == "" || data.ClientName != "" {
		return nil
	}
	c, err := d.c.Store.GetClient(ctx, e.OrgID, id)
	if core.ErrorCode(err) == core.CodeNotFound {
		return nil
	}
	if err != nil {
		return err
	}
	data.ClientName = c.Name
	if c.Phone != "" {
		data.Extra[templates.ExtraClientPhone] = c.Phone
	}
	return nil
}
