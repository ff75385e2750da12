-- +goose Up
CREATE TABLE services (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    owner_id TEXT NOT NULL,   -- '' for the organization catalogue
    source_id TEXT NOT NULL,  -- catalogue service a copy came from, or ''
    name TEXT NOT NULL,
    description TEXT NOT NULL,
    duration_min INTEGER NOT NULL,
    interval_min INTEGER NOT NULL,
    capacity INTEGER NOT NULL,
    price_minor BIGINT,       -- NULL: no price shown
    currency TEXT NOT NULL,
    is_package BOOLEAN NOT NULL,
    payment_link TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX services_org_owner ON services(org_id, owner_id, id);

CREATE TABLE rooms (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    center_id TEXT NOT NULL REFERENCES centers(id),
    name TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX rooms_org ON rooms(org_id, center_id, id);

CREATE TABLE room_services (
    room_id TEXT NOT NULL REFERENCES rooms(id),
    service_id TEXT NOT NULL REFERENCES services(id),
    PRIMARY KEY (room_id, service_id)
);

-- Weekly hours of a specialist or a room, as JSON: weekday → periods.
CREATE TABLE schedules (
    owner_id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    owner_kind TEXT NOT NULL,
    timezone TEXT NOT NULL,
    weekly TEXT NOT NULL
);

CREATE TABLE schedule_exceptions (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    owner_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    from_date TEXT NOT NULL,
    to_date TEXT NOT NULL,
    start_at BIGINT,
    end_at BIGINT,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX schedule_exceptions_owner ON schedule_exceptions(org_id, owner_id);

CREATE TABLE appointments (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    center_id TEXT NOT NULL,
    specialist_id TEXT NOT NULL REFERENCES staff(id),
    service_id TEXT NOT NULL REFERENCES services(id),
    room_id TEXT NOT NULL,
    client_id TEXT NOT NULL REFERENCES clients(id),
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    seats INTEGER NOT NULL,
    status TEXT NOT NULL,
    holds BOOLEAN NOT NULL,   -- status takes time (pending, accepted, completed, missed)
    requested_by TEXT NOT NULL,
    location_kind TEXT NOT NULL,
    location_details TEXT NOT NULL,
    notes TEXT NOT NULL,
    price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    paid_minor BIGINT NOT NULL,
    series_id TEXT NOT NULL,
    series_index INTEGER NOT NULL,
    confirmed_at BIGINT,
    cancel_reason TEXT NOT NULL,
    late_cancel BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
-- Covering indexes: availability and conflict checks read busy times from
-- the index alone.
CREATE INDEX appointments_specialist_time ON appointments(specialist_id, start_at, end_at, holds, seats, service_id, org_id);
CREATE INDEX appointments_room_time ON appointments(room_id, start_at, end_at, holds, seats, service_id, org_id);
CREATE INDEX appointments_org ON appointments(org_id, id);
CREATE INDEX appointments_client ON appointments(org_id, client_id, start_at);
CREATE INDEX appointments_series ON appointments(series_id);

CREATE TABLE payments (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    appointment_id TEXT NOT NULL REFERENCES appointments(id),
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    note TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX payments_appointment ON payments(appointment_id);

CREATE TABLE waiting_list (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    client_id TEXT NOT NULL REFERENCES clients(id),
    specialist_id TEXT NOT NULL REFERENCES staff(id),
    service_id TEXT NOT NULL,
    from_at BIGINT NOT NULL,
    to_at BIGINT NOT NULL,
    urgent BOOLEAN NOT NULL,
    note TEXT NOT NULL,
    status TEXT NOT NULL,
    matched_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX waiting_list_specialist ON waiting_list(specialist_id, status, from_at);
CREATE INDEX waiting_list_org ON waiting_list(org_id, id);

-- The domain event outbox: written in the transaction of the change it
-- reports; the notification pipeline consumes it.
CREATE TABLE events (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    data TEXT NOT NULL,
    dispatched_at BIGINT
);
CREATE INDEX events_org ON events(org_id, id);
CREATE INDEX events_pending ON events(dispatched_at, id);

-- +goose Down
DROP TABLE events;
DROP TABLE waiting_list;
DROP TABLE payments;
DROP TABLE appointments;
DROP TABLE schedule_exceptions;
DROP TABLE schedules;
DROP TABLE room_services;
DROP TABLE rooms;
DROP TABLE services;
