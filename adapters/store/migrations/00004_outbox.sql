-- +goose Up
ALTER TABLE organizations ADD COLUMN channel_order TEXT NOT NULL DEFAULT '';
ALTER TABLE centers ADD COLUMN sms_from TEXT NOT NULL DEFAULT '';
ALTER TABLE centers ADD COLUMN slack_channel TEXT NOT NULL DEFAULT '';
ALTER TABLE staff ADD COLUMN slack_user_id TEXT NOT NULL DEFAULT '';
ALTER TABLE staff ADD COLUMN telegram_chat_id TEXT NOT NULL DEFAULT '';

-- A client's settings per channel: consent, opt-out (STOP), preference.
CREATE TABLE client_channels (
    client_id TEXT NOT NULL REFERENCES clients(id),
    channel TEXT NOT NULL,
    org_id TEXT NOT NULL,
    consent BOOLEAN NOT NULL,
    opted_out_at BIGINT,
    position INTEGER NOT NULL,
    PRIMARY KEY (client_id, channel)
);

-- The outbox: every outbound message is a row before its task exists.
CREATE TABLE messages (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    center_id TEXT NOT NULL,
    recipient_kind TEXT NOT NULL,
    recipient_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    from_addr TEXT NOT NULL,
    kind TEXT NOT NULL,
    locale TEXT NOT NULL,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    html TEXT NOT NULL,
    buttons TEXT NOT NULL,
    status TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    last_error TEXT NOT NULL,
    error_code TEXT NOT NULL,
    segments INTEGER NOT NULL,
    encoding TEXT NOT NULL,
    dedupe_key TEXT NOT NULL,
    fallback TEXT NOT NULL,
    event_id TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    due_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    sent_at BIGINT,
    delivered_at BIGINT
);
CREATE UNIQUE INDEX messages_dedupe ON messages(org_id, dedupe_key);
CREATE INDEX messages_org ON messages(org_id, id);
CREATE INDEX messages_status_due ON messages(status, due_at);
CREATE INDEX messages_provider ON messages(channel, provider_id);

-- Provider events already handled (Twilio callbacks, Stripe events, …).
CREATE TABLE webhook_events (
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    PRIMARY KEY (provider, event_id)
);

-- An organization's version of a message template (kind × locale).
CREATE TABLE template_overrides (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    kind TEXT NOT NULL,
    locale TEXT NOT NULL,
    text TEXT NOT NULL,
    subject TEXT NOT NULL,
    html TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, kind, locale)
);

-- +goose Down
DROP TABLE template_overrides;
DROP TABLE webhook_events;
DROP TABLE messages;
DROP TABLE client_channels;
ALTER TABLE staff DROP COLUMN telegram_chat_id;
ALTER TABLE staff DROP COLUMN slack_user_id;
ALTER TABLE centers DROP COLUMN slack_channel;
ALTER TABLE centers DROP COLUMN sms_from;
ALTER TABLE organizations DROP COLUMN channel_order;
