-- +goose Up
-- What a client owes for a sale: the price while it runs; once the unused
-- visits are refunded, the value of the visits used. The balance is
-- due_minor - paid_minor, so a debt left after a refund stays a debt.
ALTER TABLE package_sales ADD COLUMN due_minor BIGINT NOT NULL DEFAULT 0;
UPDATE package_sales SET due_minor = CASE WHEN status = 'refunded' THEN paid_minor ELSE price_minor END;

-- A package may charge missed visits (no-shows) like completed ones; a
-- sale keeps the setting it was sold with, as it keeps its services.
ALTER TABLE packages ADD COLUMN charge_missed BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE package_sales ADD COLUMN charge_missed BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE package_sales DROP COLUMN charge_missed;
ALTER TABLE packages DROP COLUMN charge_missed;
ALTER TABLE package_sales DROP COLUMN due_minor;
