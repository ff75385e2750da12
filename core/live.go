package core

import (
	"context"
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
