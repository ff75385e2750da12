package api

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/bookinggw/gateway/core"
)

// liveResetReasons are the data of an `event: reset`.
const (
	resetGap = "events after Last-Event-ID are no longer kept; reload the screen's data"
	resetLag = "this stream fell behind the retention window; reload the screen's data"
)

func (s *Server) liveRoutes() {
	s.handle(Route{Method: "GET", Path: "/events", Tag: "live",
		Summary: "Server-Sent Events stream of live events for this key's screens: new messages and conversations, assignments, calls, " +
			"campaign progress, of the centres the key sees (and, for events addressed to one staff member, only that member's keys). " +
			"`id:` is the event id, `event:` its kind, `data:` the event as JSON. A reconnect sends Last-Event-ID (or ?last_event_id=) " +
			"and gets the events it missed within the retention window; when that is impossible the stream starts with `event: reset` " +
			"and the screen reloads its data. `: ping` comment lines are heartbeats.",
		Resp: core.LiveEvent{}, ContentType: "text/event-stream",
		Headers: []Param{{Name: "Last-Event-ID", Type: "string", Description: "the id of the last event received, to resume after it"}},
		Query:   []Param{{Name: "last_event_id", Type: "string", Description: "Last-Event-ID for clients that cannot set headers"}},
	}, s.liveEvents)
}

// StopStreams ends every open event stream (the server is shutting down:
// clients reconnect to another process with Last-Event-ID).
func (s *Server) StopStreams() { s.stopStreams() }

func (s *Server) liveEvents(c *gin.Context) {
	if s.d.Live == nil {
		WriteProblem(c, Problem{Status: http.StatusServiceUnavailable, Detail: "live events are not configured on this server"})
		return
	}
	p := principal(c)
	// Streams end with the client, or when the server shuts down.
	ctx, cancel := context.WithCancel(c.Request.Context())
	defer cancel()
	defer context.AfterFunc(s.streams, cancel)()

	last := c.GetHeader("Last-Event-ID")
	if last == "" {
		last = c.Query("last_event_id")
	}
	reset := ""
	sub, err := s.d.Live.Subscribe(ctx, p.OrgID, last)
	if errors.Is(err, core.ErrLiveGap) {
		reset = resetGap
		sub, err = s.d.Live.Subscribe(ctx, p.OrgID, "")
	}
	if err != nil {
		Fail(c, err)
		return
	}
	defer func() { sub.Close() }()
	org, err := s.liveOrg(ctx, p)
	if err != nil {
		Fail(c, err)
		return
	}

	// The server's WriteTimeout, if one is ever set, must not cut the
	// stream: lift the deadline for this response.
	_ = http.NewResponseController(c.Writer).SetWriteDeadline(time.Time{})
	h := c.Writer.Header()
	h.Set("Content-Type", "text/event-stream")
	h.Set("Cache-Control", "no-cache")
	h.Set("X-Accel-Buffering", "no") // nginx: do not buffer the stream
	c.Status(http.StatusOK)
	w := &sseWriter{w: c.Writer}
	w.raw("retry: 3000\n\n")
	if reset != "" {
		w.reset(reset)
	}
	if w.flush() != nil {
		return
	}

	beat, reauth := s.d.LiveHeartbeat, s.d.LiveReauth
	now := time.Now()
	nextBeat, nextAuth := now.Add(beat), now.Add(reauth)
	key := bearerKey(c)
	pol := core.Policy{}
	for {
		wait, wcancel := context.WithDeadline(ctx, earliest(nextBeat, nextAuth))
		ev, err := sub.Next(wait)
		wcancel()
		switch {
		case err == nil:
			if !pol.LiveEvent(p, ev) {
				continue
			}
			w.event(pol.ShownLive(p, org, ev))
			nextBeat = time.Now().Add(beat)
		case ctx.Err() != nil:
			return
		case errors.Is(err, context.DeadlineExceeded):
		case errors.Is(err, core.ErrLiveGap):
			// Too far behind to catch up: start again from now.
			sub.Close()
			if sub, err = s.d.Live.Subscribe(ctx, p.OrgID, ""); err != nil {
				s.streamFailed(ctx, err)
				return
			}
			w.reset(resetLag)
		default:
			s.streamFailed(ctx, err)
			return
		}
		now := time.Now()
		if !now.Before(nextAuth) {
			// A revoked key, or one whose centres changed, must not keep
			// a stream opened earlier.
			np, err := s.d.Services.Tenancy.Authenticate(ctx, key)
			switch code := core.ErrorCode(err); {
			case err == nil:
				p = np
				if o, err := s.liveOrg(ctx, p); err == nil {
					org = o // hiding contacts from marketers may have changed
				}
			case code == core.CodeUnauthorized || code == core.CodeNotFound || code == core.CodeForbidden:
				return
			case ctx.Err() != nil:
				return
			default:
				s.d.Log.WarnContext(ctx, "live events: key check failed; stream kept", "error", err.Error())
			}
			nextAuth = now.Add(reauth)
		}
		if !now.Before(nextBeat) {
			w.raw(": ping\n\n")
			nextBeat = now.Add(beat)
		}
		if w.flush() != nil {
			return // the client is gone
		}
	}
}

// liveOrg reads the organization of a marketer's stream, whose settings
// say whether clients' numbers are hidden from them; other roles see them.
func (s *Server) liveOrg(ctx context.Context, p core.Principal) (core.Organization, error) {
	if p.Role != core.RoleMarketer {
		return core.Organization{}, nil
	}
	return s.d.Services.Tenancy.Organization(ctx, p)
}

func (s *Server) streamFailed(ctx context.Context, err error) {
	s.d.Log.ErrorContext(ctx, "live events: stream ended", "request_id", RequestIDFrom(ctx), "error", err.Error())
}

func earliest(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}

// bearerKey is the key auth accepted for this request.
func bearerKey(c *gin.Context) string {
	_, key, _ := strings.Cut(c.GetHeader("Authorization"), " ")
	return strings.TrimSpace(key)
}

// sseWriter writes Server-Sent Events; the first write error sticks.
type sseWriter struct {
	w   gin.ResponseWriter
	err error
}

func (w *sseWriter) raw(s string) {
	if w.err == nil {
		_, w.err = io.WriteString(w.w, s)
	}
}

func (w *sseWriter) event(ev core.LiveEvent) {
	b, err := json.Marshal(ev)
	if err != nil {
		slog.Error("live events: event not encoded", "kind", string(ev.Kind), "error", err.Error())
		return
	}
	// JSON has no raw newlines, so the data fits one data: line; the id
	// and kind are ours and never contain one either.
	w.raw(fmt.Sprintf("id: %s\nevent: %s\ndata: %s\n\n", ev.ID, ev.Kind, b))
}

func (w *sseWriter) reset(reason string) {
	b, _ := json.Marshal(map[string]string{"reason": reason})
	w.raw("event: reset\ndata: " + string(b) + "\n\n")
}

func (w *sseWriter) flush() error {
	if w.err == nil {
		w.w.Flush()
	}
	return w.err
}
