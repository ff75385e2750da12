-- +goose Up
-- Telephony (issue 18). How a centre answers calls: the Twilio number its
-- clients call (inbound calls belong to the centre that configured the
-- called number), its opening hours (JSON weekly periods in the centre's
-- timezone), the caller id shown on staff phones, the ring timeout, how each
-- staff leg is screened (press1 or amd) and the voicemail language.
CREATE TABLE call_settings (
    org_id TEXT NOT NULL,
    center_id TEXT NOT NULL,
    voice_number TEXT NOT NULL DEFAULT '',
    caller_id TEXT NOT NULL DEFAULT '',
    ring_seconds INTEGER NOT NULL DEFAULT 20,
    screening TEXT NOT NULL DEFAULT 'press1',
    language TEXT NOT NULL DEFAULT '',
    hours TEXT NOT NULL DEFAULT '[]',
    updated_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, center_id)
);
CREATE UNIQUE INDEX call_settings_number ON call_settings(voice_number) WHERE voice_number <> '';

-- The organization's telephony options.
CREATE TABLE call_org_settings (
    org_id TEXT PRIMARY KEY,
    missed_call_message BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at BIGINT NOT NULL
);

-- The call log: one row per call and provider call id, whatever order the
-- provider's callbacks arrive in.
CREATE TABLE calls (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    center_id TEXT NOT NULL,
    client_id TEXT NOT NULL DEFAULT '',
    staff_id TEXT NOT NULL DEFAULT '',
    provider TEXT NOT NULL,
    provider_call_id TEXT NOT NULL,
    direction TEXT NOT NULL,
    from_number TEXT NOT NULL,
    to_number TEXT NOT NULL,
    status TEXT NOT NULL,
    dial_status TEXT NOT NULL DEFAULT '',
    outcome TEXT NOT NULL DEFAULT '',
    started_at BIGINT NOT NULL,
    answered_at BIGINT,
    ended_at BIGINT,
    duration_sec INTEGER NOT NULL DEFAULT 0,
    recording_sid TEXT NOT NULL DEFAULT '',
    recording_url TEXT NOT NULL DEFAULT '',
    updated_at BIGINT NOT NULL,
    UNIQUE (provider, provider_call_id)
);
CREATE INDEX calls_org_center ON calls(org_id, center_id, id);
CREATE INDEX calls_live ON calls(status, updated_at);

-- Planned calls (seed 004's "date of next call"); a missed call's call-back
-- names the call, once.
CREATE TABLE planned_calls (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    center_id TEXT NOT NULL,
    client_id TEXT NOT NULL DEFAULT '',
    phone TEXT NOT NULL DEFAULT '',
    staff_id TEXT NOT NULL DEFAULT '',
    due_at BIGINT NOT NULL,
    note TEXT NOT NULL DEFAULT '',
    status TEXT NOT NULL DEFAULT 'open',
    result TEXT NOT NULL DEFAULT '',
    call_id TEXT NOT NULL DEFAULT '',
    next_id TEXT NOT NULL DEFAULT '',
    created_by TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL,
    done_at BIGINT
);
CREATE UNIQUE INDEX planned_calls_call ON planned_calls(call_id) WHERE call_id <> '';
CREATE INDEX planned_calls_due ON planned_calls(org_id, status, due_at, id);
CREATE INDEX planned_calls_client ON planned_calls(org_id, client_id, status, due_at);

-- When a client was last told "we missed your call" (at most once an hour).
CREATE TABLE call_notices (
    org_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    last_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, client_id)
);

-- Provider-neutral telephony connections (a PBX, a call-tracking app): each
-- signs its events with its own secret and belongs to one centre.
CREATE TABLE call_connections (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    center_id TEXT NOT NULL,
    name TEXT NOT NULL,
    secret TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX call_connections_org ON call_connections(org_id, id);

-- +goose Down
DROP TABLE call_connections;
DROP TABLE call_notices;
DROP TABLE planned_calls;
DROP TABLE calls;
DROP TABLE call_org_settings;
DROP TABLE call_settings;
