-- +goose Up
-- Group names are unique regardless of case: name_key is the name as
-- core.GroupNameKey folds it. The Go migration 402 (adapters/store/
-- gomigrations.go) fills it for existing groups and makes it unique.
ALTER TABLE client_groups ADD COLUMN name_key TEXT NOT NULL DEFAULT '';
DROP INDEX client_groups_name;

-- +goose Down
CREATE UNIQUE INDEX client_groups_name ON client_groups(org_id, name);
ALTER TABLE client_groups DROP COLUMN name_key;
