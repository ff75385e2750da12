-- +goose Up
-- Reminder policy of an organization ('org', ''), a center or a service.
CREATE TABLE reminder_policies (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    scope TEXT NOT NULL,
    scope_id TEXT NOT NULL,
    offsets TEXT NOT NULL,
    ask_confirm BOOLEAN NOT NULL,
    window_start TEXT NOT NULL,
    window_end TEXT NOT NULL,
    PRIMARY KEY (org_id, scope, scope_id)
);

-- Reminders are rows due at (start − offset), written in the booking
-- transaction; the scheduler turns due ones into outbox messages.
CREATE TABLE reminders (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    offset_min INTEGER NOT NULL,
    due_at BIGINT NOT NULL,
    ask_confirm BOOLEAN NOT NULL,
    status TEXT NOT NULL,
    message_id TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX reminders_due ON reminders(status, due_at);
CREATE INDEX reminders_appointment ON reminders(appointment_id);

-- Messages clients send us (SMS and WhatsApp replies); provider_id de-duplicates.
CREATE TABLE inbound_messages (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    from_addr TEXT NOT NULL,
    to_addr TEXT NOT NULL,
    body TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    intent TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    handled_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX inbound_provider ON inbound_messages(channel, provider_id);
CREATE INDEX inbound_org ON inbound_messages(org_id, id);

-- Service-wide secrets generated on first start (the link-signing key).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL
);

-- +goose Down
DROP TABLE settings;
DROP TABLE inbound_messages;
DROP TABLE reminders;
DROP TABLE reminder_policies;
