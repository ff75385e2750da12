-- +goose Up
-- Clients, their groups and family links, and invitation links. Portable
-- SQL for SQLite and PostgreSQL: TEXT ids, BIGINT millisecond instants.

CREATE TABLE client_groups (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX client_groups_org ON client_groups(org_id, id);
CREATE UNIQUE INDEX client_groups_name ON client_groups(org_id, name);

-- uses counts joins and enforces max_uses (NULL: unlimited); it is
-- incremented in the transaction that inserts the joining client.
CREATE TABLE invitations (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    code TEXT NOT NULL,
    target_staff_id TEXT REFERENCES staff(id),
    valid_from BIGINT,
    valid_until BIGINT,
    max_uses INTEGER,
    uses INTEGER NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX invitations_org ON invitations(org_id, id);
CREATE UNIQUE INDEX invitations_code ON invitations(code);

-- phone is E.164 or empty and not unique: children share a parent's phone.
-- search_name (lowercased full name) and phone_digits (E.164 without +)
-- serve the substring search.
CREATE TABLE clients (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    search_name TEXT NOT NULL,
    phone TEXT NOT NULL,
    phone_digits TEXT NOT NULL,
    email TEXT NOT NULL,
    telegram_id TEXT NOT NULL,
    language TEXT NOT NULL,
    timezone TEXT NOT NULL,
    notes TEXT NOT NULL,
    source TEXT NOT NULL,
    source_invitation_id TEXT REFERENCES invitations(id),
    archived_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX clients_org ON clients(org_id, id);
CREATE INDEX clients_phone ON clients(org_id, phone);
CREATE INDEX clients_telegram ON clients(org_id, telegram_id);
CREATE INDEX clients_invitation ON clients(source_invitation_id);

CREATE TABLE client_centers (
    client_id TEXT NOT NULL REFERENCES clients(id),
    center_id TEXT NOT NULL REFERENCES centers(id),
    PRIMARY KEY (client_id, center_id)
);
CREATE INDEX client_centers_center ON client_centers(center_id);

CREATE TABLE client_group_members (
    client_id TEXT NOT NULL REFERENCES clients(id),
    group_id TEXT NOT NULL REFERENCES client_groups(id),
    PRIMARY KEY (client_id, group_id)
);
CREATE INDEX client_group_members_group ON client_group_members(group_id);

-- One row per direction: relation is what related_id is to client_id.
CREATE TABLE client_family (
    org_id TEXT NOT NULL REFERENCES organizations(id),
    client_id TEXT NOT NULL REFERENCES clients(id),
    related_id TEXT NOT NULL REFERENCES clients(id),
    relation TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (client_id, related_id)
);
CREATE INDEX client_family_related ON client_family(related_id);

-- +goose Down
DROP TABLE client_family;
DROP TABLE client_group_members;
DROP TABLE client_centers;
DROP TABLE clients;
DROP TABLE invitations;
DROP TABLE client_groups;
