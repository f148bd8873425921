-- Half the bytes per registration: a record made by one write (a
-- registration not edited since) points at that change for its fields
-- and timestamps instead of holding a second copy of both (no foreign
-- key: a new record is inserted before its change, so that inserting
-- it is also the check that the NIK is new here); the records
-- table is keyed by NIK alone (no rowid, no separate index); a change's
-- id loses its unique index, which nothing reads (ids are UUIDv7 made
-- here, and the server refuses a reused one).
CREATE TABLE records_v6 (
    nik TEXT PRIMARY KEY,
    fields TEXT,
    stamps TEXT,
    fields_seq INTEGER,
    warnings TEXT NOT NULL DEFAULT '[]',
    name TEXT NOT NULL DEFAULT '',
    kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    CHECK ((fields IS NULL AND stamps IS NULL AND fields_seq IS NOT NULL)
       OR (fields IS NOT NULL AND stamps IS NOT NULL AND fields_seq IS NULL))
) WITHOUT ROWID;
INSERT INTO records_v6 (nik, fields, stamps, warnings, name, kelurahan, rw, rt, category,
       status, created_at, updated_at)
    SELECT nik, fields, stamps, warnings, name, kelurahan, rw, rt, category,
       status, created_at, updated_at
    FROM records;
DROP TABLE records;
ALTER TABLE records_v6 RENAME TO records;
CREATE INDEX records_area ON records(kelurahan, rw, rt);
CREATE TABLE changes_v6 (
    device_seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL,
    nik TEXT NOT NULL,
    hlc TEXT NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
       CHECK (state = 'pending' OR state = 'acked' OR state = 'rejected'),
    outcome TEXT,
    reject_code TEXT,
    reject_reason TEXT,
    superseded_by INTEGER REFERENCES changes_v6(device_seq),
    created_at TEXT NOT NULL,
    answered_at TEXT
);
INSERT INTO changes_v6 (device_seq, id, nik, hlc, kind, fields, state, outcome,
       reject_code, reject_reason, superseded_by, created_at, answered_at)
    SELECT device_seq, id, nik, hlc, kind, fields, state, outcome,
       reject_code, reject_reason, superseded_by, created_at, answered_at
    FROM changes;
DROP TABLE changes;
ALTER TABLE changes_v6 RENAME TO changes;
CREATE INDEX changes_nik ON changes(nik);
CREATE INDEX changes_pending ON changes(device_seq) WHERE state = 'pending';
CREATE INDEX changes_rejected ON changes(device_seq) WHERE state = 'rejected';
