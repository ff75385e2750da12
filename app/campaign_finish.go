package app

import (
	"context"

	"github.com/bookinggw/gateway/adapters/store"
	"github.com/bookinggw/gateway/core"
)

// campaignFinishStore is the dispatcher's store with campaign messages'
// send outcomes written in group commits (store.FinishBatcher): a
// campaign keeps every worker finishing at once. Other messages are
// written on their own, as before.
type campaignFinishStore struct {
	*store.Store
	batch *store.FinishBatcher
}

func withCampaignFinish(s *store.Store) campaignFinishStore {
	return campaignFinishStore{Store: s, batch: store.NewFinishBatcher(s)}
}

// FinishAttempt implements notify.Store.
func (s campaignFinishStore) FinishAttempt(ctx context.Context, m core.Message, claimed int) (core.Message, error) {
	if m.Kind == core.KindCampaign {
		return s.batch.FinishAttempt(ctx, m, claimed)
	}
	return s.Store.FinishAttempt(ctx, m, claimed)
}
