-- +goose Up
-- Client self-service (issue 17).
--
-- Telegram deep links carry a random, expiring token that stands for an
-- invitation, never the invitation's data: t.me/<bot>?start=<token>.
CREATE TABLE start_tokens (
    token TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    invitation_id TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE INDEX start_tokens_invitation ON start_tokens(invitation_id, expires_at);

-- One-time codes proving a phone on the web booking page. The code is kept
-- hashed; the booking it unlocks rides with it (payload, JSON).
CREATE TABLE otp_codes (
    id TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    phone TEXT NOT NULL,
    code_hash TEXT NOT NULL,
    payload TEXT NOT NULL,
    attempts INTEGER NOT NULL,
    expires_at BIGINT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);

-- Hits counted by the self-service limits (code sends per phone, IP,
-- country prefix and in all; code checks per phone and IP). Rows older
-- than the longest window are purged.
CREATE TABLE selfserve_hits (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    hkey TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX selfserve_hits_key ON selfserve_hits(kind, hkey, at);

-- The payment result page: /paid/<ref>, an unguessable reference per
-- payment link, and the state Stripe's webhook recorded for it.
ALTER TABLE payment_links ADD COLUMN ref TEXT NOT NULL DEFAULT '';
ALTER TABLE payment_links ADD COLUMN state TEXT NOT NULL DEFAULT 'open';
CREATE INDEX payment_links_ref_token ON payment_links(ref);
CREATE INDEX payment_links_provider ON payment_links(provider_id);

-- A service may confirm client bookings at once instead of waiting for
-- staff (the web page and the bot then book it accepted).
ALTER TABLE services ADD COLUMN auto_accept BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE services DROP COLUMN auto_accept;
DROP INDEX payment_links_provider;
DROP INDEX payment_links_ref_token;
ALTER TABLE payment_links DROP COLUMN state;
ALTER TABLE payment_links DROP COLUMN ref;
DROP INDEX selfserve_hits_key;
DROP TABLE selfserve_hits;
DROP TABLE otp_codes;
DROP INDEX start_tokens_invitation;
DROP TABLE start_tokens;
