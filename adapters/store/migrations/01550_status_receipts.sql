-- +goose Up
-- A status callback is answered once its receipt is durable: the row in
-- webhook_events carries the report (JSON), and handled_at stays NULL until
-- a worker has applied it to the message. The sweeper finds receipts whose
-- task was lost (a Redis flush, a failed enqueue) through this index, which
-- holds only the few receipts not yet applied.
ALTER TABLE webhook_events ADD COLUMN report TEXT;
CREATE INDEX webhook_events_unapplied ON webhook_events(received_at) WHERE report IS NOT NULL AND handled_at IS NULL;

-- +goose Down
DROP INDEX webhook_events_unapplied;
ALTER TABLE webhook_events DROP COLUMN report;
