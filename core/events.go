package core

import (
	"context"
	"time"
)

// EventKind names a domain event. The notification pipeline turns events
// into messages; later channels (chats, bot, telephony) subscribe to the same
// stream.
type EventKind string

// Event is something that happened in the domain that someone may need to be
// told about. Data holds the ids a consumer needs to load the rest.
type Event struct {
	ID         string            `json:"id"`
	OrgID      string            `json:"org_id"`
	Kind       EventKind         `json:"kind"`
	OccurredAt time.Time         `json:"occurred_at"`
	Data       map[string]string `json:"data"`
}

// EventSink receives domain events. Implementations must be durable or fast:
// core calls it after the change it reports has been committed.
type EventSink interface {
	Publish(ctx context.Context, e Event) error
}
