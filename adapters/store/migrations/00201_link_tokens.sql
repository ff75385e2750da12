-- +goose Up
-- Short client links: a random token stands for an appointment and an
-- action until it expires, so an SMS link is about 40 characters, not 110.
-- One token per appointment and action; a move extends its expiry.
CREATE TABLE link_tokens (
    token TEXT PRIMARY KEY,
    org_id TEXT NOT NULL,
    appointment_id TEXT NOT NULL,
    action TEXT NOT NULL,
    expires_at BIGINT NOT NULL,
    created_at BIGINT NOT NULL
);
CREATE UNIQUE INDEX link_tokens_appointment ON link_tokens(appointment_id, action);

-- +goose Down
DROP INDEX link_tokens_appointment;
DROP TABLE link_tokens;
