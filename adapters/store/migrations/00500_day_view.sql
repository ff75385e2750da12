-- +goose Up
-- A visit belongs to its specialist's centre when the specialist works in
-- exactly one (booking now does this): visits booked before without a
-- centre join that centre's day view, and their messages its outbox.
UPDATE appointments SET center_id = (SELECT MIN(sc.center_id) FROM staff_centers sc WHERE sc.staff_id = appointments.specialist_id)
WHERE center_id = '' AND (SELECT COUNT(*) FROM staff_centers sc WHERE sc.staff_id = appointments.specialist_id) = 1;
UPDATE messages SET center_id = (SELECT a.center_id FROM appointments a WHERE a.id = messages.appointment_id)
WHERE center_id = '' AND appointment_id <> '' AND EXISTS (SELECT 1 FROM appointments a WHERE a.id = messages.appointment_id AND a.center_id <> '');
-- Appointment lists are sorted by start: a day view reads one range.
CREATE INDEX appointments_org_start ON appointments(org_id, start_at, id);
CREATE INDEX appointments_center_start ON appointments(org_id, center_id, start_at, id);

-- +goose Down
DROP INDEX appointments_center_start;
DROP INDEX appointments_org_start;
