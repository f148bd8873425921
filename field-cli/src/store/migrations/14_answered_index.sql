-- The answered changes, by number. Every sync asks which changes numbered
-- above what the server holds it has answered (`outbox::answered_after`,
-- a server restored from an older backup): without an index that read
-- every row above that number, the whole outbox on a device's first sync
-- (a tenth of the client's work syncing 100,000 registrations,
-- BENCHMARKS.md, issue 16), to find none.
CREATE INDEX changes_answered ON changes(device_seq) WHERE state <> 'pending';
