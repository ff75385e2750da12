-- +goose Up
-- Messenger conversations (issue 16): one per client, centre and channel
-- family, holding every message in and out.
CREATE TABLE conversations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    center_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id),
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    sender TEXT NOT NULL,
    status TEXT NOT NULL,
    assigned_to TEXT NOT NULL,
    last_activity_at BIGINT NOT NULL,
    last_inbound_at BIGINT,
    slack_channel TEXT NOT NULL DEFAULT '',
    slack_thread_ts TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    UNIQUE (org_id, center_id, client_id, channel)
);
CREATE INDEX conversations_activity ON conversations(org_id, last_activity_at, id);
CREATE INDEX conversations_slack ON conversations(slack_channel, slack_thread_ts);

-- provider_key is unique per organization: a provider's repeat is stored
-- once, and a Telegram edit finds its message by chat and message id.
CREATE TABLE chat_messages (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    direction TEXT NOT NULL,
    body TEXT NOT NULL,
    attachments TEXT NOT NULL,
    via TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    provider_key TEXT,
    group_key TEXT,
    outbox_id TEXT NOT NULL,
    template_sid TEXT NOT NULL,
    slack_ts TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    edited_at BIGINT,
    UNIQUE (org_id, provider_key),
    UNIQUE (org_id, group_key)
);
CREATE INDEX chat_messages_conv ON chat_messages(conversation_id, created_at, id);
CREATE INDEX chat_messages_outbox ON chat_messages(outbox_id);

CREATE TABLE conversation_reads (
    conversation_id TEXT NOT NULL REFERENCES conversations(id),
    staff_id TEXT NOT NULL,
    read_at BIGINT NOT NULL,
    PRIMARY KEY (conversation_id, staff_id)
);

CREATE TABLE chat_settings (
    org_id TEXT PRIMARY KEY REFERENCES organizations(id),
    hide_earlier_history BOOLEAN NOT NULL
);

CREATE TABLE chat_history_grants (
    org_id TEXT NOT NULL,
    staff_id TEXT NOT NULL,
    granted_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, staff_id)
);

-- A messenger address (Telegram bot, Slack channel) belongs to one centre.
CREATE TABLE chat_routes (
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    center_id TEXT NOT NULL,
    PRIMARY KEY (channel, address)
);
CREATE INDEX chat_routes_center ON chat_routes(org_id, center_id);

-- One client per messenger identity and organization: the identity is
-- normalized (E.164 without "whatsapp:", Telegram user id), so the same
-- person arriving in two formats stays one card.
CREATE TABLE chat_identities (
    org_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    external_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id),
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, channel, external_id)
);

-- Messenger deliveries (Telegram updates, Slack events) as received:
-- unique per provider and provider id (update_id, event_id), so a repeat
-- is acknowledged and ignored; the worker handles the row by id.
CREATE TABLE chat_inbox (
    id TEXT PRIMARY KEY,
    provider TEXT NOT NULL,
    event_id TEXT NOT NULL,
    address TEXT NOT NULL,
    payload TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    handled_at BIGINT,
    UNIQUE (provider, event_id)
);
CREATE INDEX chat_inbox_unhandled ON chat_inbox(handled_at, received_at);

-- +goose Down
DROP TABLE chat_inbox;
DROP TABLE chat_identities;
DROP TABLE chat_routes;
DROP TABLE chat_history_grants;
DROP TABLE chat_settings;
DROP TABLE conversation_reads;
DROP TABLE chat_messages;
DROP TABLE conversations;
