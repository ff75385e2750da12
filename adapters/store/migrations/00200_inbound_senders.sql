-- +goose Up
-- An organization-wide sender (Twilio number or messaging service SID) for
-- centres that set none; empty uses the gateway's default.
ALTER TABLE organizations ADD COLUMN sms_from TEXT NOT NULL DEFAULT '';
CREATE INDEX centers_sms_from ON centers(sms_from);

-- Where an inbound message was sent: its centre once resolved, and the
-- messaging service that received it (Twilio's MessagingServiceSid).
ALTER TABLE inbound_messages ADD COLUMN center_id TEXT NOT NULL DEFAULT '';
ALTER TABLE inbound_messages ADD COLUMN service_sid TEXT NOT NULL DEFAULT '';

-- The latest outbound message from a sender to a phone decides which
-- organization an inbound message on a shared sender belongs to.
CREATE INDEX messages_to_addr ON messages(to_addr, sent_at);

-- Opt-outs per sender address and recipient, as carriers and Twilio enforce
-- them (a STOP to a number blocks every message from that number to the
-- phone, whichever organization sends it). START removes the row.
CREATE TABLE sender_optouts (
    channel TEXT NOT NULL,
    sender TEXT NOT NULL,
    phone TEXT NOT NULL,
    opted_out_at BIGINT NOT NULL,
    inbound_id TEXT NOT NULL,
    PRIMARY KEY (channel, sender, phone)
);
CREATE INDEX sender_optouts_phone ON sender_optouts(phone);

-- +goose Down
DROP INDEX sender_optouts_phone;
DROP TABLE sender_optouts;
DROP INDEX messages_to_addr;
ALTER TABLE inbound_messages DROP COLUMN service_sid;
ALTER TABLE inbound_messages DROP COLUMN center_id;
DROP INDEX centers_sms_from;
ALTER TABLE organizations DROP COLUMN sms_from;
