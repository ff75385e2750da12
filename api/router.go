// Package api is the staff and admin REST API (/api/v1) and the operator
// endpoints (/healthz, /readyz, /metrics, /admin/queues).
package api

import (
	"context"
	"log/slog"
	"net/http"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/bookinggw/gateway/core"
)

// ReadyCheck is one dependency /readyz checks.
type ReadyCheck struct {
	Name  string
	Check func(ctx context.Context) error
}

// Deps are what the HTTP layer needs.
type Deps struct {
	Services    *core.Services
	Idempotency IdempotencyStore
	Log         *slog.Logger
	Registry    *prometheus.Registry
	Ready       []ReadyCheck
	MaxBody     int64
	AdminToken  string
	// PublicURL is GATEWAY_PUBLIC_URL: the base of links the service hands
	// out (invitation links, QR codes, webhook URLs).
	PublicURL string
	// TelegramBot is the bot's username for invitations' deep links; empty:
	// none.
	TelegramBot string
	// QueueDashboard is asynqmon, mounted at /admin/queues; nil leaves it out.
	QueueDashboard http.Handler
	Now            func() time.Time
	// DevOutbox shows what the devsink channel kept; nil when every
	// channel has a real provider.
	DevOutbox DevOutbox
	// Unmatched lists inbound messages no organization could claim, for
	// the operator at /admin/inbound/unmatched; nil leaves it out.
	Unmatched UnmatchedInbound
	// Live feeds GET /api/v1/events; nil answers 503 there.
	Live core.LiveFeed
	// LiveHeartbeat is the period of the stream's comment lines (default
	// 15s); LiveReauth how often a stream checks its key again (default 1m).
	LiveHeartbeat, LiveReauth time.Duration
}

// UnmatchedInbound lists inbound messages that belong to no organization.
type UnmatchedInbound interface {
	UnmatchedInbound(ctx context.Context, p core.Page) ([]core.Inbound, error)
}

// Server is the HTTP surface. Engine serves it; webhooks mount their routes
// on Engine too.
type Server struct {
	Engine *gin.Engine
	d      Deps
	v1     *gin.RouterGroup
	authed *gin.RouterGroup
	spec   *openAPI
	// streams ends with StopStreams; every event stream follows it.
	streams     context.Context
	stopStreams context.CancelFunc
}

// New builds the router with every middleware and route.
func New(d Deps) *Server {
	if d.MaxBody <= 0 {
		d.MaxBody = 1 << 20
	}
	if d.Now == nil {
		d.Now = time.Now
	}
	if d.LiveHeartbeat <= 0 {
		d.LiveHeartbeat = 15 * time.Second
	}
	if d.LiveReauth <= 0 {
		d.LiveReauth = time.Minute
	}
	e := gin.New()
	e.HandleMethodNotAllowed = true
	m := NewMetrics(d.Registry)
	e.Use(requestID(), recovery(d.Log), accessLog(d.Log), m.middleware())
	e.NoRoute(func(c *gin.Context) { WriteProblem(c, Problem{Status: http.StatusNotFound, Detail: "no such route"}) })
	e.NoMethod(func(c *gin.Context) {
		WriteProblem(c, Problem{Status: http.StatusMethodNotAllowed, Detail: "method not allowed on this route"})
	})

	s := &Server{Engine: e, d: d, spec: &openAPI{}}
	s.streams, s.stopStreams = context.WithCancel(context.Background())
	s.operatorRoutes(e)
	if d.QueueDashboard != nil {
		e.Any("/admin/queues", adminBasic(d.AdminToken), gin.WrapH(d.QueueDashboard))
		e.Any("/admin/queues/*any", adminBasic(d.AdminToken), gin.WrapH(d.QueueDashboard))
	}
	if d.Unmatched != nil && d.AdminToken != "" {
		e.GET("/admin/inbound/unmatched", adminBasic(d.AdminToken), s.unmatchedInbound)
	}

	s.v1 = e.Group("/api/v1", bodyLimit(d.MaxBody))
	doc := []byte(nil)
	s.v1.GET("/openapi.json", func(c *gin.Context) {
		if doc == nil {
			doc = s.spec.Document()
		}
		c.Data(http.StatusOK, "application/json", doc)
	})
	s.authed = s.v1.Group("", auth(d.Services.Tenancy))
	s.tenancyRoutes()
	s.clientRoutes()
	s.bookingRoutes()
	s.messageRoutes()
	s.reminderRoutes()
	s.packageRoutes()
	s.recordRoutes()
	s.callRoutes()
	s.conversationRoutes()
	s.liveRoutes()
	s.campaignRoutes()
	doc = s.spec.Document()
	return s
}

// unmatchedInbound lists, for the operator, inbound messages that wait
// because no single organization owns the address they were sent to (a
// shared sender with several candidates and no earlier conversation). They
// are not shown to any organization's staff.
func (s *Server) unmatchedInbound(c *gin.Context) {
	if pg, ok := page(c); ok {
		l, err := s.d.Unmatched.UnmatchedInbound(c.Request.Context(), pg)
		respondList(c, l, err, pg, func(x core.Inbound) string { return x.ID })
	}
}

// OperatorHandler serves only /healthz, /readyz and /metrics: what a
// worker process exposes.
func (s *Server) OperatorHandler() http.Handler {
	e := gin.New()
	e.Use(recovery(s.d.Log))
	s.operatorRoutes(e)
	e.NoRoute(func(c *gin.Context) {
		WriteProblem(c, Problem{Status: http.StatusNotFound, Detail: "a worker serves only /healthz, /readyz and /metrics"})
	})
	return e
}

func (s *Server) operatorRoutes(e *gin.Engine) {
	e.GET("/healthz", func(c *gin.Context) { c.JSON(http.StatusOK, gin.H{"status": "ok"}) })
	e.GET("/readyz", s.readyz)
	e.GET("/metrics", gin.WrapH(promhttp.HandlerFor(s.d.Registry, promhttp.HandlerOpts{})))
}

// OpenAPI renders the OpenAPI document of every registered route.
func (s *Server) OpenAPI() []byte { return s.spec.Document() }

// handle registers an authenticated route and documents it. Creating (POST)
// routes honour Idempotency-Key.
func (s *Server) handle(r Route, h gin.HandlerFunc) {
	s.spec.add(r)
	chain := []gin.HandlerFunc{knownQuery(r)}
	if r.Method == http.MethodPost {
		chain = append(chain, idempotent(s.d.Idempotency, s.d.Now))
	}
	chain = append(chain, h)
	g := s.authed
	if r.Public {
		g = s.v1
	}
	g.Handle(r.Method, r.Path, chain...)
}

func (s *Server) readyz(c *gin.Context) {
	ctx, cancel := context.WithTimeout(c.Request.Context(), 2*time.Second)
	defer cancel()
	status := http.StatusOK
	checks := gin.H{}
	for _, rc := range s.d.Ready {
		if err := rc.Check(ctx); err != nil {
			status = http.StatusServiceUnavailable
			checks[rc.Name] = "down"
			s.d.Log.WarnContext(ctx, "readiness check failed", "check", rc.Name, "error", err.Error())
			continue
		}
		checks[rc.Name] = "ok"
	}
	c.JSON(status, gin.H{"status": map[bool]string{true: "ok", false: "unavailable"}[status == http.StatusOK], "checks": checks})
}

// idParam reads a path id; an id of the wrong shape cannot exist, so it is 404.
func idParam(c *gin.Context, name, what string) (string, bool) {
	id := c.Param(name)
	if !core.ValidID(id) {
		Fail(c, core.NotFound(what))
		return "", false
	}
	return id, true
}
