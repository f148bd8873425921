-- The state check written with ORs: as an IN list it made SQLite build
-- a temporary table for every change inserted (a third of the cost of
-- an import row). SQLite cannot alter a check, so the table is rebuilt.
CREATE TABLE changes_v5 (
    device_seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    nik TEXT NOT NULL,
    hlc TEXT NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
       CHECK (state = 'pending' OR state = 'acked' OR state = 'rejected'),
    outcome TEXT,
    reject_code TEXT,
    reject_reason TEXT,
    superseded_by INTEGER REFERENCES changes_v5(device_seq),
    created_at TEXT NOT NULL,
    answered_at TEXT
);
INSERT INTO changes_v5 (device_seq, id, nik, hlc, kind, fields, state, outcome,
       reject_code, reject_reason, superseded_by, created_at, answered_at)
    SELECT device_seq, id, nik, hlc, kind, fields, state, outcome,
       reject_code, reject_reason, superseded_by, created_at, answered_at
    FROM changes;
DROP TABLE changes;
ALTER TABLE changes_v5 RENAME TO changes;
CREATE INDEX changes_nik ON changes(nik);
CREATE INDEX changes_pending ON changes(device_seq) WHERE state = 'pending';
CREATE INDEX changes_rejected ON changes(device_seq) WHERE state = 'rejected';
