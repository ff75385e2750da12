-- +goose Up
-- Clients are found by email too; search_email (and search_name, refilled)
-- hold the text folded by core.SearchFold, which the Go migration 404
-- (adapters/store/gomigrations.go) computes for existing clients.
ALTER TABLE clients ADD COLUMN search_email TEXT NOT NULL DEFAULT '';

-- +goose Down
ALTER TABLE clients DROP COLUMN search_email;
