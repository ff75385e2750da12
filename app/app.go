package app

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/hibiken/asynqmon"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"

	"github.com/bookinggw/gateway/adapters/devsink"
	"github.com/bookinggw/gateway/adapters/live"
	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/adapters/stripe"
	"github.com/bookinggw/gateway/adapters/telegram"
	"github.com/bookinggw/gateway/adapters/twilio"
	"github.com/bookinggw/gateway/api"
	"github.com/bookinggw/gateway/chats"
	"github.com/bookinggw/gateway/core"
	"github.com/bookinggw/gateway/notify"
	"github.com/bookinggw/gateway/pages"
	"github.com/bookinggw/gateway/queue"
	"github.com/bookinggw/gateway/templates"
	"github.com/bookinggw/gateway/webhooks"
)

// App is a wired service.
type App struct {
	Config   Config
	Log      *slog.Logger
	Store    *store.Store
	Broker   *queue.Broker
	Services *core.Services
	HTTP     *api.Server
	Notify   *notify.Dispatcher
	// DevSink keeps what channels without a provider would have sent.
	DevSink *devsink.Sink
	// Chats handles stored messenger deliveries (Telegram, Slack) on the
	// worker.
	Chats *chats.Handler
	// Live publishes live events to the staff screens of every API
	// process (GET /api/v1/events); services take it in their constructors.
	Live   core.LiveEvents
	live   *live.Stream
	clock  core.Clock
	worker *queue.Worker
	// bots is the booking bot as the chats handler asks it (wireBot).
	bots lateBots
}

// New opens the store (running migrations) and the queue and wires
// everything. Close releases what New opened.
func New(ctx context.Context, cfg Config, log *slog.Logger) (*App, error) {
	st, err := store.Open(ctx, cfg.DatabaseURL, true)
	if err != nil {
		return nil, err
	}
	br, err := queue.Open(ctx, cfg.RedisURL)
	if err != nil {
		st.Close()
		return nil, err
	}
	a := &App{Config: cfg, Log: log, Store: st, Broker: br}
	if err := a.wire(); err != nil {
		a.Close()
		return nil, err
	}
	return a, nil
}

func (a *App) wire() error {
	var clock core.Clock = core.SystemClock{}
	if a.Config.Clock != nil {
		clock = a.Config.Clock
	}
	qc := queue.NewClient(a.Broker).WithSendTimeout(a.Config.SendTimeout)
	a.live = live.New(a.Broker.Redis, live.Config{Retention: a.Config.LiveRetention, MaxEvents: a.Config.LiveMaxEvents,
		Now: clock.Now, Log: a.Log})
	a.Live = a.live
	svc, err := core.NewServices(a.Store, clock, eventSink{pub: qc, log: a.Log})
	if err != nil {
		return err
	}
	a.Services = svc
	a.clock = clock
	tmpl, err := templates.Default()
	if err != nil {
		return err
	}

	reg := prometheus.NewRegistry()
	reg.MustRegister(collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}),
		queue.NewDepthCollector(a.Broker.Inspector))
	senders, sink, err := a.senders(a.Log)
	if err != nil {
		return err
	}
	a.DevSink = sink
	secret, err := a.Store.Secret(context.Background(), "link-signing")
	if err != nil {
		return err
	}
	var links core.PaymentLinks
	if a.Config.Providers.StripeSecretKey != "" {
		l, err := stripe.New(stripe.Config{SecretKey: a.Config.Providers.StripeSecretKey, BaseURL: a.Config.Providers.StripeAPIURL})
		if err != nil {
			return err
		}
		links = l
	}
	tg, _ := senders[core.ChannelTelegram].(*telegram.Sender)
	ch, err := a.wireChats(svc, qc, senders)
	if err != nil {
		return err
	}
	a.botSender(tg, senders)
	a.Chats = ch
	counter := newMessageCounter(reg)
	d, err := notify.New(notify.Config{Chats: ch, LinkSecret: secret, Actions: svc.Booking, Links: links, Store: a.Store, Templates: tmpl, Senders: senders, Enqueuer: qc,
		Counter: counter, Inbound: counter, Problems: newProblemCounter(reg), DefaultSMSFrom: a.Config.Providers.TwilioFrom,
		Pacer: queue.NewPacer(a.Broker, a.Config.Rates, queue.PaceMaxWait, a.Config.Providers.TwilioFrom),
		Clock: clock, Log: a.Log, PublicURL: a.Config.PublicURL})
	if err != nil {
		return err
	}
	a.Notify = d
	if svc.Messaging, err = core.NewMessagingService(svc, a.Store, d); err != nil {
		return err
	}
	limits := a.Config.SelfServe
	if limits == (core.Limits{}) {
		limits = core.DefaultLimits()
	}
	if svc.SelfServe, err = core.NewSelfServeService(svc, a.Store, d, secret, limits); err != nil {
		return err
	}
	if err := a.wireBot(svc, tg); err != nil {
		return err
	}
	if svc.Campaigns, err = core.NewCampaignService(svc, a.Store, qc, campaignFormat{}, a.Live, core.CampaignConfig{
		Prices: a.Config.CampaignPrices, DefaultSMSFrom: a.Config.Providers.TwilioFrom, BatchSize: a.Config.CampaignBatch,
		PauseAfterPermanent: a.Config.CampaignPauseAfter}); err != nil {
		return err
	}
	d.SetCampaigns(svc.Campaigns)
	var voice core.Voice
	if p := a.Config.Providers; p.TwilioAccountSID != "" && p.TwilioAuthToken != "" {
		tw, err := twilio.New(twilio.Config{AccountSID: p.TwilioAccountSID, AuthToken: p.TwilioAuthToken, BaseURL: p.TwilioBaseURL})
		if err != nil {
			return err
		}
		voice = tw
	}
	// Pop-ups go to the live-events stream (GET /api/v1/events); a test may
	// record them instead (Config.Live).
	var callLive core.LiveEvents = a.Live
	if a.Config.Live != nil {
		callLive = a.Config.Live
	}
	if _, err := core.NewCallService(svc, core.CallConfig{Store: a.Store, Live: callLive, Voice: voice, Log: a.Log, Announcer: qc,
		StatusCallback: a.Config.PublicURL + "/webhooks/twilio/voice/status"}); err != nil {
		return err
	}
	var dev api.DevOutbox
	if sink != nil {
		dev = devOutbox{sink: sink}
	}
	var dash http.Handler
	if a.Config.AdminToken != "" {
		dash = asynqmon.New(asynqmon.Options{RootPath: "/admin/queues", RedisConnOpt: a.Broker.Opt})
	}
	a.HTTP = api.New(api.Deps{
		Services:    svc,
		Idempotency: a.Store,
		Log:         a.Log,
		Registry:    reg,
		Ready: []api.ReadyCheck{
			{Name: "database", Check: a.Store.Ping},
			{Name: "redis", Check: a.Broker.Ping},
		},
		MaxBody:        a.Config.MaxBodyBytes,
		AdminToken:     a.Config.AdminToken,
		PublicURL:      a.Config.PublicURL,
		TelegramBot:    a.Config.Providers.TelegramBotUsername,
		QueueDashboard: dash,
		Now:            clock.Now,
		DevOutbox:      dev,
		Unmatched:      a.Store,
		Live:           a.live,
		LiveHeartbeat:  a.Config.LiveHeartbeat,
		LiveReauth:     a.Config.LiveReauth,
	})
	webhooks.Mount(a.HTTP.Engine, webhooks.Config{Store: a.Store, Clock: clock, Log: a.Log, PublicURL: a.Config.PublicURL,
		TwilioAuthToken: a.Config.Providers.TwilioAuthToken, Registry: reg, MaxBody: a.Config.MaxBodyBytes, Queue: qc,
		StripeSecret: a.Config.Providers.StripeWebhookKey, Payments: svc.Money, Refunds: a.Store, LinkStates: a.Store,
		Calls: svc.Calls, Centers: a.Store,
		TelegramSecret: a.Config.Chats.TelegramWebhookSecret, TelegramBot: a.Config.Chats.TelegramBotUsername,
		SlackSigningSecret: a.Config.Chats.SlackSigningSecret, ChatInbox: a.Store, ChatQueue: qc})
	pages.Mount(a.HTTP.Engine, pages.Config{Store: a.Store, Actions: svc.Booking, Offers: svc.Offers, Secret: secret, Clock: clock})
	pages.MountSelfServe(a.HTTP.Engine, pages.SelfConfig{Service: svc.SelfServe, Secret: secret, Clock: clock,
		BotUsername: a.Config.Providers.TelegramBotUsername})

	if a.Config.Role != RoleAPI {
		// An idle worker looks at its queues every 100 ms, not Asynq's
		// second: an incoming call's pop-up is queued and staff see it while
		// the phone rings.
		w := queue.NewWorker(a.Broker, a.Log, queue.WorkerConfig{Concurrency: a.Config.WorkerConcurrency, ShutdownTimeout: a.Config.ShutdownTimeout,
			TaskCheckInterval: 100 * time.Millisecond})
		w.Handle(queue.TypePurgeIdempotency, queue.PurgeIdempotency(a.Store, clock.Now, a.Log))
		if err := w.Every(time.Hour, queue.TypePurgeIdempotency, queue.Bulk); err != nil {
			return err
		}
		w.Handle(queue.TypePurgeWebhooks, queue.PurgeWebhooks(a.Store, clock.Now, a.Log))
		if err := w.Every(time.Hour, queue.TypePurgeWebhooks, queue.Bulk); err != nil {
			return err
		}
		w.Handle(queue.TypeReconcileCalls, queue.ReconcileCalls(svc.Calls, a.Log))
		w.Handle(queue.TypeCallAnnounce, queue.CallAnnounce(func(ctx context.Context, provider, callID string) error {
			_, err := svc.Calls.Announce(ctx, provider, callID)
			return err
		}))
		if err := w.Every(time.Minute, queue.TypeReconcileCalls, queue.Bulk); err != nil {
			return err
		}
		w.Handle(queue.TypePurgeSelfServe, queue.PurgeSelfServe(a.Store, clock.Now, a.Log))
		if err := w.Every(time.Hour, queue.TypePurgeSelfServe, queue.Bulk); err != nil {
			return err
		}
		if err := queue.RegisterNotify(w, d, a.Log, a.Config.SweepEvery, a.Config.SweepGrace, a.Config.SendLease); err != nil {
			return err
		}
		if err := queue.RegisterCampaigns(w, svc.Campaigns, a.Config.CampaignTick); err != nil {
			return err
		}
		if err := queue.RegisterChats(w, qc, ch, a.Store, clock.Now, a.Log, a.Config.SweepEvery, a.Config.SweepGrace); err != nil {
			return err
		}
		a.worker = w
	}
	return nil
}

// Handler is the HTTP handler (for tests that serve it with httptest).
func (a *App) Handler() http.Handler { return a.HTTP.Engine }

// StartWorker starts the queue worker and scheduler, if this role has them.
func (a *App) StartWorker() error {
	if a.worker == nil {
		return nil
	}
	return a.worker.Start()
}

// Run serves HTTP on ln and runs the worker until ctx is cancelled, then
// shuts down gracefully: the listener closes, in-flight requests finish,
// the worker finishes its running tasks (unfinished ones return to the
// queue), all within the shutdown timeout.
func (a *App) Run(ctx context.Context, ln net.Listener) error {
	if err := a.StartWorker(); err != nil {
		return err
	}
	handler := a.Handler()
	if a.Config.Role == RoleWorker {
		handler = a.HTTP.OperatorHandler()
	}
	srv := &http.Server{Handler: handler, ReadHeaderTimeout: 10 * time.Second, IdleTimeout: 2 * time.Minute,
		ErrorLog: slog.NewLogLogger(a.Log.Handler(), slog.LevelWarn)}
	// Event streams never finish on their own: end them when shutdown
	// starts, or Shutdown would wait for them until its timeout.
	srv.RegisterOnShutdown(a.HTTP.StopStreams)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	a.Log.Info("gateway started", "addr", ln.Addr().String(), "role", string(a.Config.Role),
		"database", string(a.Store.Dialect()), "embedded_queue", a.Broker.Embedded())

	var serveErr error
	select {
	case <-ctx.Done():
	case serveErr = <-errc:
	}
	a.Log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), a.Config.ShutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		serveErr = errors.Join(serveErr, fmt.Errorf("http shutdown: %w", err))
	}
	if a.worker != nil {
		a.worker.Shutdown()
	}
	if errors.Is(serveErr, http.ErrServerClosed) {
		serveErr = nil
	}
	return serveErr
}

// Close releases the queue and the store.
func (a *App) Close() error {
	var err error
	if a.live != nil {
		err = a.live.Close()
	}
	if a.Broker != nil {
		err = errors.Join(err, a.Broker.Close())
	}
	if a.Store != nil {
		err = errors.Join(err, a.Store.Close())
	}
	return err
}

// StopWorker stops the worker started by StartWorker (tests use it to play
// a worker crash: tasks not finished go back to the queue).
func (a *App) StopWorker() {
	if a.worker != nil {
		a.worker.Shutdown()
	}
}
