-- +goose Up
-- An event the relay cannot build is marked failed (with its error) and
-- skipped, so it never holds up the events behind it; staff retry it.
ALTER TABLE events ADD COLUMN failed_at BIGINT;
ALTER TABLE events ADD COLUMN last_error TEXT NOT NULL DEFAULT '';
ALTER TABLE events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0;
CREATE INDEX events_failed ON events(org_id, id) WHERE failed_at IS NOT NULL;

-- A status report that arrives while its message is still being sent (the
-- provider's id is not saved yet) waits on the row and is applied when the
-- send's outcome is written. fallback_due_at marks a permanent failure whose
-- next channel is still to be written (done at once, or by the sweeper).
ALTER TABLE messages ADD COLUMN pending_status TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN pending_code TEXT NOT NULL DEFAULT '';
ALTER TABLE messages ADD COLUMN pending_at BIGINT;
ALTER TABLE messages ADD COLUMN fallback_due_at BIGINT;
CREATE INDEX messages_fallback_due ON messages(fallback_due_at) WHERE fallback_due_at IS NOT NULL;

-- webhook_events is the one record of provider deliveries: inserting a
-- delivery decides first time or repeat; handled_at says its effects are
-- written (a delivery received but not handled, e.g. a crash, is handled
-- again on the provider's retry). Rows are purged after a retention period.
ALTER TABLE webhook_events ADD COLUMN handled_at BIGINT;
ALTER TABLE webhook_events ADD COLUMN attempts INTEGER NOT NULL DEFAULT 1;
UPDATE webhook_events SET handled_at = received_at;
CREATE INDEX webhook_events_received ON webhook_events(received_at);

-- Inbound limits: media of MMS/WhatsApp messages, and text cut at 1,600
-- characters (Twilio's maximum) with a flag.
ALTER TABLE inbound_messages ADD COLUMN media TEXT NOT NULL DEFAULT '[]';
ALTER TABLE inbound_messages ADD COLUMN truncated BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE inbound_messages DROP COLUMN truncated;
ALTER TABLE inbound_messages DROP COLUMN media;
DROP INDEX webhook_events_received;
ALTER TABLE webhook_events DROP COLUMN attempts;
ALTER TABLE webhook_events DROP COLUMN handled_at;
DROP INDEX messages_fallback_due;
ALTER TABLE messages DROP COLUMN fallback_due_at;
ALTER TABLE messages DROP COLUMN pending_at;
ALTER TABLE messages DROP COLUMN pending_code;
ALTER TABLE messages DROP COLUMN pending_status;
DROP INDEX events_failed;
ALTER TABLE events DROP COLUMN attempts;
ALTER TABLE events DROP COLUMN last_error;
ALTER TABLE events DROP COLUMN failed_at;
