package core

import (
	"context"
	"time"
)

// DefaultLostAfterDays is how long a client with nothing planned may go
// without a visit before they are lost, unless the organization sets
// another period (seed 004 documents 7).
const DefaultLostAfterDays = 7

// PlannedActions tells of planned actions other than visits that keep a
// client active; the planned calls of telephony will be one. For each
// client that has one, it returns the earliest such action due at or after
// now.
type PlannedActions interface {
	NextPlanned(ctx context.Context, orgID string, clientIDs []string, now time.Time) (map[string]time.Time, error)
}

// CountPlanned makes a source of planned actions count for the activity
// status of clients. It is wiring, called before the service serves.
func (s *ClientService) CountPlanned(src PlannedActions) {
	s.planned = append(s.planned, src)
}

// addPlannedActions puts the earliest planned action of each client into
// its visit summary.
func (s *ClientService) addPlannedActions(ctx context.Context, orgID string, ids []string, visits map[string]VisitSummary) error {
	for _, src := range s.planned {
		next, err := src.NextPlanned(ctx, orgID, ids, s.Now())
		if err != nil {
			return err
		}
		for id, at := range next {
			v := visits[id]
			if v.NextAction == nil || at.Before(*v.NextAction) {
				v.NextAction = &at
			}
			visits[id] = v
		}
	}
	return nil
}
