-- Devices belong to the token that first pushed for them or read their
-- receipt (docs/sync-api.md, "Devices"); existing devices go to the token
-- whose name their changes carry.
ALTER TABLE devices ADD COLUMN token_id INTEGER REFERENCES tokens(id);
UPDATE devices SET token_id = (
    SELECT t.id FROM changes c JOIN tokens t ON t.name = c.agent
    WHERE c.device_id = devices.device_id AND c.in_log = 1 LIMIT 1);
-- The highest number held from the device at all (gaps included): a
-- device restored from an old backup learns from it that the server holds
-- numbers it no longer has.
ALTER TABLE devices ADD COLUMN max_seq INTEGER NOT NULL DEFAULT 0;
UPDATE devices SET max_seq = COALESCE((
    SELECT MAX(c.device_seq) FROM changes c
    WHERE c.device_id = devices.device_id AND c.in_log = 1), 0);
-- Rules that need the whole merged record (PU needs an employer,
-- programmes per category, …) no longer refuse a change: the person is
-- marked for review with the rules that fail (JSON list of issues).
ALTER TABLE persons ADD COLUMN review TEXT;
CREATE INDEX persons_review ON persons(kelurahan) WHERE review IS NOT NULL;
-- Who made the person's latest write (token name, `supervisor NAME` or
-- `membership roll`), sent in the feed so that a device can show which of
-- its own records others changed.
ALTER TABLE persons ADD COLUMN last_changed_by TEXT;
-- Identity claims per source (server/src/claims.rs), kept once a second
-- source writes a person's identity: open conflicts are worked out from
-- them, so they do not depend on the order changes arrived in.
ALTER TABLE persons ADD COLUMN claims TEXT;
