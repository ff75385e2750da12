package core

import (
	"context"
	"errors"
	"time"
)

// LiveKind names a live event.
type LiveKind string

// The live events staff screens receive. Chats, calls and campaigns publish
// them; new kinds are added beside the use case that publishes them.
const (
	LiveMessageNew          LiveKind = "message.new"
	LiveConversationNew     LiveKind = "conversation.new"
	LiveConversationChanged LiveKind = "conversation.changed"
	LiveCallIncoming        LiveKind = "call.incoming"
	LiveCallUpdated         LiveKind = "call.updated"
	LiveCampaignProgress    LiveKind = "campaign.progress"
)

// LiveEvent is a notice for the staff screens open right now: a new chat
// message, an assignment, an incoming call. It is not a record: the database
// stays the source of truth, and the stream keeps events only for a short
// retention window so that a screen that reconnects catches up
// (Last-Event-ID). A screen sees an event only when the policy lets its key
// see the event's centre, and, when StaffID is set, only that staff member's
// screens see it.
type LiveEvent struct {
	// ID is given by the stream when the event is published.
	ID       string    `json:"id,omitempty"`
	Kind     LiveKind  `json:"kind"`
	OrgID    string    `json:"org_id"`
	CenterID string    `json:"center_id"`
	StaffID  string    `json:"staff_id,omitempty"`
	At       time.Time `json:"at"`
	// Data is the kind's payload, marshalled to JSON as it is.
	Data any `json:"data,omitempty"`
}

// LiveEvents publishes live events to every API process's streams.
// Publishing is best effort for the caller's transaction: a lost live event
// costs a screen refresh, never data, so callers publish after commit and
// log a failure instead of undoing their work.
type LiveEvents interface {
	Publish(ctx context.Context, ev LiveEvent) error
}

// ErrLiveGap says a reader asked to resume after an event the stream no
// longer keeps (older than the retention window, or from before Redis was
// reset): events may have been missed, so the screen must reload its data
// from the API instead of trusting the stream.
var ErrLiveGap = errors.New("live: resume point is outside the retention window")

// LiveFeed is the reading side of LiveEvents, for the API's event stream.
type LiveFeed interface {
	// Subscribe follows an organization's events published after afterID
	// (a LiveEvent.ID), or after now when afterID is empty. It answers
	// ErrLiveGap when events after afterID may have been lost.
	Subscribe(ctx context.Context, orgID, afterID string) (LiveSubscription, error)
}

// LiveSubscription delivers one organization's events in publishing order,
// unfiltered: the reader applies Policy.LiveEvent.
type LiveSubscription interface {
	// Next waits for the next event until ctx ends. ErrLiveGap means the
	// reader fell behind the retention window and must start over.
	Next(ctx context.Context) (LiveEvent, error)
	Close()
}

// LiveEvent reports whether p's screens may receive ev: same organization,
// a centre p sees, a role that may read what the event is about through the
// API (chats: directors and administrators; campaigns: not specialists),
// and, for an event addressed to one staff member, only that staff member
// (and only while they still see the centre).
func (Policy) LiveEvent(p Principal, ev LiveEvent) bool {
	if ev.OrgID != p.OrgID || !p.CanCenter(ev.CenterID) {
		return false
	}
	switch ev.Kind {
	case LiveMessageNew, LiveConversationNew, LiveConversationChanged:
		if canChat(p) != nil {
			return false
		}
	case LiveCampaignProgress:
		if canCampaign(p) != nil {
			return false
		}
	}
	return ev.StaffID == "" || ev.StaffID == p.StaffID
}

// Check refuses an event no screen could be shown: it needs a kind, an
// organization and a centre (every live event belongs to a centre).
func (ev LiveEvent) Check() error {
	var f Fields
	f.Check(ev.Kind == "", "kind", "is required")
	f.Check(ev.OrgID == "", "org_id", "is required")
	f.Check(ev.CenterID == "", "center_id", "is required")
	return f.Err("live event is incomplete")
}
