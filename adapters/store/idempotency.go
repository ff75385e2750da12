package store

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/bookinggw/gateway/core"
)

// BeginIdempotent claims (org, key) for a request. When the key is new it
// returns (nil, nil) and the caller runs the request; otherwise it returns
// what is stored.
func (s *Store) BeginIdempotent(ctx context.Context, orgID, key, fingerprint string, now time.Time) (*core.IdempotentRecord, error) {
	_, err := s.w.ExecContext(ctx, `INSERT INTO idempotency_keys (org_id, key, fingerprint, status, body, created_at)
		VALUES ($1, $2, $3, 0, '', $4)`, orgID, key, fingerprint, ms(now))
	if err == nil {
		return nil, nil
	}
	if !isUnique(err) {
		return nil, fmt.Errorf("store: idempotency: %w", err)
	}
	var r core.IdempotentRecord
	err = s.w.QueryRowContext(ctx, `SELECT fingerprint, status, body FROM idempotency_keys WHERE org_id = $1 AND key = $2`, orgID, key).
		Scan(&r.Fingerprint, &r.Status, &r.Body)
	if errors.Is(err, sql.ErrNoRows) {
		// The first request failed and released the key between our two
		// statements: report it as still running; a retry will go through.
		return &core.IdempotentRecord{Fingerprint: fingerprint}, nil
	}
	if err != nil {
		return nil, fmt.Errorf("store: idempotency: %w", err)
	}
	return &r, nil
}

// FinishIdempotent stores the response of the request that claimed the key.
func (s *Store) FinishIdempotent(ctx context.Context, orgID, key string, status int, body string) error {
	_, err := s.w.ExecContext(ctx, `UPDATE idempotency_keys SET status = $1, body = $2 WHERE org_id = $3 AND key = $4`, status, body, orgID, key)
	if err != nil {
		return fmt.Errorf("store: idempotency: %w", err)
	}
	return nil
}

// ReleaseIdempotent forgets a key whose request failed on our side, so the
// client's retry runs again instead of replaying an error.
func (s *Store) ReleaseIdempotent(ctx context.Context, orgID, key string) error {
	_, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE org_id = $1 AND key = $2`, orgID, key)
	if err != nil {
		return fmt.Errorf("store: idempotency: %w", err)
	}
	return nil
}

// PurgeIdempotent forgets keys older than before; returns how many.
func (s *Store) PurgeIdempotent(ctx context.Context, before time.Time) (int64, error) {
	res, err := s.w.ExecContext(ctx, `DELETE FROM idempotency_keys WHERE created_at < $1`, ms(before))
	if err != nil {
		return 0, fmt.Errorf("store: purge idempotency: %w", err)
	}
	return res.RowsAffected()
}
