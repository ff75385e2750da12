-- +goose Up
-- One ledger for every movement of money: appointment payments, package
-- sales, refunds (negative), by hand or from Stripe. provider_ref (a Stripe
-- payment intent or refund) is unique, so a replayed webhook records nothing.
CREATE TABLE ledger (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    client_id TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    sale_id TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    method TEXT NOT NULL,
    note TEXT NOT NULL,
    provider_ref TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
INSERT INTO ledger (id, org_id, client_id, appointment_id, sale_id, amount_minor, currency, method, note, provider_ref, created_at)
    SELECT p.id, p.org_id, a.client_id, p.appointment_id, '', p.amount_minor, p.currency, p.method, p.note, '', p.created_at
    FROM payments p JOIN appointments a ON a.id = p.appointment_id;
DROP TABLE payments;
CREATE INDEX ledger_appointment ON ledger(appointment_id);
CREATE INDEX ledger_sale ON ledger(sale_id);
CREATE INDEX ledger_org ON ledger(org_id, id);
CREATE UNIQUE INDEX ledger_provider_ref ON ledger(provider_ref) WHERE provider_ref <> '';

-- Packages ("subscriptions", seed 004): N visits of given services, valid for some days.
CREATE TABLE packages (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    name TEXT NOT NULL,
    visits INTEGER NOT NULL,
    validity_days INTEGER NOT NULL,
    price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    service_ids TEXT NOT NULL,
    active BOOLEAN NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX packages_org ON packages(org_id, id);

CREATE TABLE package_sales (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL REFERENCES organizations(id),
    package_id TEXT NOT NULL REFERENCES packages(id),
    client_id TEXT NOT NULL REFERENCES clients(id),
    visits_total INTEGER NOT NULL,
    visits_used INTEGER NOT NULL,
    service_ids TEXT NOT NULL,
    valid_from BIGINT NOT NULL,
    valid_until BIGINT NOT NULL,
    price_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    paid_minor BIGINT NOT NULL,
    status TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX package_sales_client ON package_sales(org_id, client_id);

-- Which visit consumed which package.
ALTER TABLE appointments ADD COLUMN package_sale_id TEXT NOT NULL DEFAULT '';

-- Payment links handed out, one per purpose, object and amount.
CREATE TABLE payment_links (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    purpose TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    amount_minor BIGINT NOT NULL,
    currency TEXT NOT NULL,
    provider_id TEXT NOT NULL,
    url TEXT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX payment_links_ref ON payment_links(org_id, purpose, ref_id, amount_minor);

-- +goose Down
DROP TABLE payment_links;
ALTER TABLE appointments DROP COLUMN package_sale_id;
DROP TABLE package_sales;
DROP TABLE packages;
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
INSERT INTO payments SELECT id, org_id, appointment_id, amount_minor, currency, method, note, created_at FROM ledger WHERE appointment_id <> '';
DROP TABLE ledger;
