-- +goose Up
-- Instants are BIGINT milliseconds since the Unix epoch (UTC) in both
-- databases, so one SQL text serves SQLite and PostgreSQL and range queries
-- compare integers.
CREATE TABLE organizations (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    timezone TEXT NOT NULL,
    locale TEXT NOT NULL,
    currency TEXT NOT NULL,
    lost_after_days INTEGER NOT NULL,
    cancel_notice_hours INTEGER NOT NULL,
    created_at BIGINT NOT NULL
);

CREATE TABLE centers (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    phone TEXT NOT NULL,
    timezone TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX centers_org ON centers(org_id, id);

CREATE TABLE staff (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    email TEXT NOT NULL,
    phone TEXT NOT NULL,
    role TEXT NOT NULL,
    timezone TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX staff_org ON staff(org_id, id);

CREATE TABLE staff_centers (
    staff_id TEXT NOT NULL REFERENCES staff(id),
    center_id TEXT NOT NULL REFERENCES centers(id),
    PRIMARY KEY (staff_id, center_id)
);

CREATE TABLE api_keys (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    staff_id TEXT NOT NULL REFERENCES staff(id),
    name TEXT NOT NULL,
    hash TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    revoked_at BIGINT
);
CREATE INDEX api_keys_org ON api_keys(org_id, id);

-- A repeated creating request with the same Idempotency-Key returns the
-- first response; fingerprint tells a repeat from a different request.
CREATE TABLE idempotency_keys (
    org_id TEXT NOT NULL,
    key TEXT NOT NULL,
    fingerprint TEXT NOT NULL,
    status INTEGER NOT NULL,
    body TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (org_id, key)
);
CREATE INDEX idempotency_keys_created ON idempotency_keys(created_at);

-- +goose Down
DROP TABLE idempotency_keys;
DROP TABLE api_keys;
DROP TABLE staff_centers;
DROP TABLE staff;
DROP TABLE centers;
DROP TABLE organizations;
