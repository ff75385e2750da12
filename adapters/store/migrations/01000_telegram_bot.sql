-- +goose Up
-- The Telegram booking bot (issue 17).
--
-- One row per Telegram user: the language and timezone they chose (empty:
-- not chosen yet), the invitation they came through and the client card
-- it made, and what free text the bot is waiting for (a city or offset).
CREATE TABLE bot_users (
    tg_user_id TEXT PRIMARY KEY,
    locale TEXT NOT NULL,
    timezone TEXT NOT NULL,
    org_id TEXT NOT NULL,
    invitation_id TEXT NOT NULL,
    client_id TEXT NOT NULL,
    awaiting TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);

-- Inline keyboards: a button's callback_data is "<keyboard id>:<n>" (at
-- most 64 bytes, whatever the names shown), and the choices behind it are
-- kept here. A confirming keyboard is used once (used_at), so two taps
-- make one booking.
CREATE TABLE bot_keyboards (
    id TEXT PRIMARY KEY,
    tg_user_id TEXT NOT NULL,
    payload TEXT NOT NULL,
    used_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX bot_keyboards_created ON bot_keyboards(created_at);

-- Staff linked to Telegram are found by their chat id.
CREATE INDEX staff_telegram_chat ON staff(telegram_chat_id);

-- A team invitation: the organization invites a specialist, who joins
-- its staff through the link (the bot links their Telegram to the new
-- staff record).
ALTER TABLE invitations ADD COLUMN team BOOLEAN NOT NULL DEFAULT FALSE;

-- +goose Down
ALTER TABLE invitations DROP COLUMN team;
DROP INDEX staff_telegram_chat;
DROP INDEX bot_keyboards_created;
DROP TABLE bot_keyboards;
DROP TABLE bot_users;
