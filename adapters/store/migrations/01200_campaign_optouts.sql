-- +goose Up
-- The campaign send gate reads an organization's opted-out clients at once
-- (a snapshot it keeps for a fraction of a second) instead of one query
-- per message: the few rows with an opt-out, found without a scan.
CREATE INDEX client_channels_opted_out ON client_channels(org_id) WHERE opted_out_at IS NOT NULL;

-- +goose Down
DROP INDEX client_channels_opted_out;
