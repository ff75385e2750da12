-- +goose Up
-- A reminder that cannot go (its time passed before the visit was booked,
-- no sending-window time left before the visit) is kept, skipped, with
-- its reason: none is dropped silently.
ALTER TABLE reminders ADD COLUMN reason TEXT NOT NULL DEFAULT '';
-- The reminders of a day, in due order, for staff.
CREATE INDEX reminders_org_due ON reminders(org_id, due_at, id);

-- +goose Down
DROP INDEX reminders_org_due;
ALTER TABLE reminders DROP COLUMN reason;
