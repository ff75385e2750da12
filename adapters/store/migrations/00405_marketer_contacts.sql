-- +goose Up
-- An organization may hide clients' phones and emails from marketers.
ALTER TABLE organizations ADD COLUMN hide_contacts_from_marketers BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE organizations DROP COLUMN hide_contacts_from_marketers;
