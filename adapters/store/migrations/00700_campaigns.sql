-- +goose Up
-- Campaigns (mass mailings). A campaign's messages are ordinary outbox
-- rows carrying campaign_id; campaign_recipients is the frozen audience:
-- one row per client reached or skipped, unique per normalized address
-- (address_key), so two clients sharing a phone get one message.
CREATE TABLE campaigns (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    channels TEXT NOT NULL,
    audience TEXT NOT NULL,
    texts TEXT NOT NULL,
    fallback_locale TEXT NOT NULL,
    template TEXT NOT NULL,
    send_at BIGINT,
    send_window TEXT NOT NULL,
    rate_per_minute INTEGER NOT NULL,
    status TEXT NOT NULL,
    status_reason TEXT NOT NULL,
    center_ids TEXT NOT NULL,
    created_by TEXT NOT NULL,
    frozen_at BIGINT,
    finished_at BIGINT,
    fanout_after TEXT NOT NULL,
    fanout_done BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX campaigns_org ON campaigns(org_id, id);
CREATE INDEX campaigns_active ON campaigns(status) WHERE status IN ('scheduled', 'sending');

CREATE TABLE campaign_recipients (
    campaign_id TEXT NOT NULL REFERENCES campaigns(id),
    id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    channel TEXT NOT NULL,
    address TEXT NOT NULL,
    address_key TEXT NOT NULL,
    locale TEXT NOT NULL,
    message_id TEXT NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (campaign_id, id)
);
CREATE UNIQUE INDEX campaign_recipients_address ON campaign_recipients(campaign_id, address_key);

ALTER TABLE messages ADD COLUMN campaign_id TEXT NOT NULL DEFAULT '';
CREATE INDEX messages_campaign ON messages(campaign_id, status) WHERE campaign_id <> '';
CREATE INDEX messages_campaign_updated ON messages(campaign_id, updated_at) WHERE campaign_id <> '';

-- +goose Down
DROP INDEX messages_campaign_updated;
DROP INDEX messages_campaign;
ALTER TABLE messages DROP COLUMN campaign_id;
DROP TABLE campaign_recipients;
DROP TABLE campaigns;
