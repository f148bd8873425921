CREATE TABLE config (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE records (
    nik TEXT PRIMARY KEY,
    fields TEXT NOT NULL,
    stamps TEXT NOT NULL,
    warnings TEXT NOT NULL DEFAULT '[]',
    name TEXT NOT NULL DEFAULT '',
    kelurahan TEXT, rw INTEGER, rt INTEGER, category TEXT, status TEXT,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
);
CREATE INDEX records_area ON records(kelurahan, rw, rt);
CREATE TABLE changes (
    device_seq INTEGER PRIMARY KEY,
    id TEXT NOT NULL UNIQUE,
    nik TEXT NOT NULL,
    hlc TEXT NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    state TEXT NOT NULL DEFAULT 'pending'
       CHECK (state IN ('pending', 'acked', 'rejected')),
    outcome TEXT,
    reject_code TEXT,
    reject_reason TEXT,
    superseded_by INTEGER REFERENCES changes(device_seq),
    created_at TEXT NOT NULL,
    answered_at TEXT
);
CREATE INDEX changes_nik ON changes(nik);
CREATE INDEX changes_state ON changes(state, device_seq);
CREATE TABLE receipts (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    received_at TEXT NOT NULL,
    count INTEGER NOT NULL,
    highest_seq INTEGER NOT NULL,
    hash TEXT NOT NULL
);
CREATE TABLE replica (
    nik TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    participant INTEGER NOT NULL,
    registered_by TEXT,
    registered_at INTEGER,
    name TEXT,
    kelurahan TEXT, rw INTEGER, rt INTEGER, status TEXT,
    seq INTEGER NOT NULL
);
CREATE TABLE visits (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    kelurahan TEXT NOT NULL, rw INTEGER NOT NULL, rt INTEGER NOT NULL,
    households INTEGER NOT NULL,
    note TEXT,
    visited_at TEXT NOT NULL
);
CREATE INDEX visits_area ON visits(kelurahan, rw, rt);
