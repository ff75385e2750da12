package api

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/hex"
	"io"
	"log/slog"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"

	"github.com/bookinggw/gateway/core"
)

const (
	ctxRequestID = "request_id"
	ctxPrincipal = "principal"
)

type requestIDKey struct{}

// RequestIDFrom returns the request id carried by ctx, for logs.
func RequestIDFrom(ctx context.Context) string {
	s, _ := ctx.Value(requestIDKey{}).(string)
	return s
}

var requestIDPattern = regexp.MustCompile(`^[A-Za-z0-9._-]{1,64}$`)

// requestID takes a sane X-Request-ID from the caller (a proxy's) or makes one.
func requestID() gin.HandlerFunc {
	return func(c *gin.Context) {
		id := c.GetHeader("X-Request-ID")
		if !requestIDPattern.MatchString(id) {
			b := make([]byte, 8)
			_, _ = rand.Read(b)
			id = hex.EncodeToString(b)
		}
		c.Set(ctxRequestID, id)
		c.Request = c.Request.WithContext(context.WithValue(c.Request.Context(), requestIDKey{}, id))
		c.Header("X-Request-ID", id)
		c.Next()
	}
}

// accessLog writes one JSON line per request. It never logs headers or
// bodies: they carry keys, tokens and personal data.
func accessLog(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		attrs := []any{"request_id", c.GetString(ctxRequestID), "method", c.Request.Method, "route", route,
			"status", c.Writer.Status(), "duration_ms", float64(time.Since(start).Microseconds()) / 1000}
		if p, ok := c.Get(ctxPrincipal); ok {
			attrs = append(attrs, "org_id", p.(core.Principal).OrgID)
		}
		level := slog.LevelInfo
		if c.Writer.Status() >= 500 {
			level = slog.LevelError
		}
		log.Log(c.Request.Context(), level, "http request", attrs...)
	}
}

// recovery turns a panic into a 500 problem and a log line with the stack's cause.
func recovery(log *slog.Logger) gin.HandlerFunc {
	return func(c *gin.Context) {
		defer func() {
			if r := recover(); r != nil {
				if r == http.ErrAbortHandler {
					panic(r)
				}
				log.ErrorContext(c.Request.Context(), "panic in handler", "request_id", c.GetString(ctxRequestID), "panic", r)
				WriteProblem(c, Problem{Status: http.StatusInternalServerError, Detail: "internal error; quote the request id to the operator"})
			}
		}()
		c.Next()
	}
}

// Metrics are the HTTP metrics of the service.
type Metrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// NewMetrics registers the HTTP metrics on reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{Name: "gateway_http_requests_total",
			Help: "HTTP requests by method, route and status."}, []string{"method", "route", "status"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{Name: "gateway_http_request_duration_seconds",
			Help: "HTTP request latency by route.", Buckets: prometheus.ExponentialBuckets(0.0005, 2.5, 12)}, []string{"method", "route"}),
	}
	reg.MustRegister(m.requests, m.duration)
	return m
}

func (m *Metrics) middleware() gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		route := c.FullPath()
		if route == "" {
			route = "unmatched"
		}
		m.requests.WithLabelValues(c.Request.Method, route, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(c.Request.Method, route).Observe(time.Since(start).Seconds())
	}
}

// Authenticator resolves an API key to its principal.
type Authenticator interface {
	Authenticate(ctx context.Context, plainKey string) (core.Principal, error)
}

// auth requires "Authorization: Bearer <API key>".
func auth(a Authenticator) gin.HandlerFunc {
	return func(c *gin.Context) {
		h := c.GetHeader("Authorization")
		scheme, key, ok := strings.Cut(h, " ")
		if !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(key) == "" {
			WriteProblem(c, Problem{Status: http.StatusUnauthorized, Detail: "send an API key as Authorization: Bearer <key>"})
			return
		}
		p, err := a.Authenticate(c.Request.Context(), strings.TrimSpace(key))
		if err != nil {
			Fail(c, err)
			return
		}
		c.Set(ctxPrincipal, p)
		c.Next()
	}
}

func principal(c *gin.Context) core.Principal {
	return c.MustGet(ctxPrincipal).(core.Principal)
}

// adminBasic guards operator pages (the queue dashboard) with HTTP basic
// auth, user "admin" and the admin token, so a browser can open them.
func adminBasic(token string) gin.HandlerFunc {
	return func(c *gin.Context) {
		user, pass, ok := c.Request.BasicAuth()
		if token == "" || !ok || user != "admin" || subtle.ConstantTimeCompare([]byte(pass), []byte(token)) != 1 {
			c.Header("WWW-Authenticate", `Basic realm="gateway admin"`)
			WriteProblem(c, Problem{Status: http.StatusUnauthorized, Detail: "operator pages need basic auth: admin / GATEWAY_ADMIN_TOKEN"})
			return
		}
		c.Next()
	}
}

// IdempotencyStore remembers responses to creating requests.
type IdempotencyStore interface {
	BeginIdempotent(ctx context.Context, orgID, key, fingerprint string, now time.Time) (*core.IdempotentRecord, error)
	FinishIdempotent(ctx context.Context, orgID, key string, status int, body string) error
	ReleaseIdempotent(ctx context.Context, orgID, key string) error
}

// capture keeps a copy of what a handler writes.
type capture struct {
	gin.ResponseWriter
	buf bytes.Buffer
}

func (w *capture) Write(b []byte) (int, error) {
	w.buf.Write(b)
	return w.ResponseWriter.Write(b)
}

func (w *capture) WriteString(s string) (int, error) {
	w.buf.WriteString(s)
	return w.ResponseWriter.WriteString(s)
}

// idempotent makes a creating request with an Idempotency-Key header run
// once per organization and key: a repeat gets the first response (with
// Idempotent-Replayed: true); the same key with another request is 422; a
// repeat while the first is still running is 409. Server errors release the
// key so a retry runs again.
func idempotent(st IdempotencyStore, now func() time.Time) gin.HandlerFunc {
	return func(c *gin.Context) {
		key := c.GetHeader("Idempotency-Key")
		if key == "" {
			c.Next()
			return
		}
		if len(key) > 255 {
			invalid(c, "Idempotency-Key is too long", "Idempotency-Key", "must be at most 255 characters")
			return
		}
		body, err := io.ReadAll(c.Request.Body)
		if err != nil {
			WriteProblem(c, Problem{Status: http.StatusRequestEntityTooLarge, Detail: "request body is too large"})
			return
		}
		c.Request.Body = io.NopCloser(bytes.NewReader(body))
		h := sha256.New()
		h.Write([]byte(c.Request.Method + " " + c.Request.URL.RequestURI() + "\n"))
		h.Write(body)
		fp := hex.EncodeToString(h.Sum(nil))
		org := principal(c).OrgID
		ctx := c.Request.Context()
		rec, err := st.BeginIdempotent(ctx, org, key, fp, now())
		if err != nil {
			Fail(c, err)
			return
		}
		if rec != nil {
			switch {
			case rec.Fingerprint != fp:
				WriteProblem(c, Problem{Status: http.StatusUnprocessableEntity,
					Detail: "this Idempotency-Key was used for a different request"})
			case rec.Status == 0:
				WriteProblem(c, Problem{Status: http.StatusConflict, Detail: "a request with this Idempotency-Key is still running; retry later"})
			default:
				c.Header("Idempotent-Replayed", "true")
				ct := "application/json; charset=utf-8"
				if rec.Status >= 400 {
					ct = "application/problem+json"
				}
				c.Data(rec.Status, ct, []byte(rec.Body))
				c.Abort()
			}
			return
		}
		w := &capture{ResponseWriter: c.Writer}
		c.Writer = w
		c.Next()
		// The request's own context may be cancelled by now; the record
		// must still be written.
		bg := context.WithoutCancel(ctx)
		if s := w.Status(); s >= 500 {
			_ = st.ReleaseIdempotent(bg, org, key)
		} else if err := st.FinishIdempotent(bg, org, key, s, w.buf.String()); err != nil {
			slog.ErrorContext(ctx, "idempotency record not saved", "error", err.Error())
		}
	}
}
