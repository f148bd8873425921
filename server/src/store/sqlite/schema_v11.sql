-- The change log as a row-id table. Keyed by the change id (WITHOUT
-- ROWID) every row, ~400 bytes, sat in the key's B-tree, so each insert
-- moved wide cells when a page split; with row ids a push appends its
-- rows at the end of the table and only the 16-byte id goes into a
-- B-tree of its own (BENCHMARKS.md, issue 16). Nothing refers to the
-- row ids: a change is still found by its id.
CREATE TABLE changes_v11 (
    id BLOB NOT NULL UNIQUE,
    device_id BLOB NOT NULL,
    device_seq INTEGER NOT NULL,
    in_log INTEGER NOT NULL,        -- 0 for seq_conflict and server writes
    nik TEXT NOT NULL,
    hlc TEXT NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    agent TEXT NOT NULL,
    received_at INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reject_code TEXT,
    reject_reason TEXT
);
INSERT INTO changes_v11 (id, device_id, device_seq, in_log, nik, hlc, kind, fields, agent,
                         received_at, outcome, reject_code, reject_reason)
    SELECT id, device_id, device_seq, in_log, nik, hlc, kind, fields, agent,
           received_at, outcome, reject_code, reject_reason
    FROM changes ORDER BY received_at, id;
DROP TABLE changes;
ALTER TABLE changes_v11 RENAME TO changes;
CREATE UNIQUE INDEX changes_device_seq ON changes(device_id, device_seq) WHERE in_log = 1;
CREATE INDEX changes_nik ON changes(nik);
CREATE INDEX changes_received ON changes(received_at);
