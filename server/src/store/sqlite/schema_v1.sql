CREATE TABLE tokens (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    areas TEXT NOT NULL,            -- comma-separated area codes
    hash TEXT NOT NULL UNIQUE,      -- SHA-256 hex of the token
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);

-- One row per NIK: the merged record plus columns for queries.
CREATE TABLE persons (
    nik TEXT PRIMARY KEY,
    record TEXT NOT NULL,           -- sigap_shared::PersonRecord as JSON
    kelurahan TEXT,
    cov_area TEXT,                  -- RT code when the person counts
    category TEXT,
    participant INTEGER NOT NULL DEFAULT 0,
    registered_by TEXT,
    registered_hlc TEXT,
    registered_at INTEGER,
    seq INTEGER NOT NULL
);
CREATE UNIQUE INDEX persons_seq ON persons(seq);
CREATE INDEX persons_kelurahan_seq ON persons(kelurahan, seq);

-- Every change answered: the audit trail and each device's log.
CREATE TABLE changes (
    id BLOB PRIMARY KEY,
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
) WITHOUT ROWID;
CREATE UNIQUE INDEX changes_device_seq ON changes(device_id, device_seq) WHERE in_log = 1;
CREATE INDEX changes_nik ON changes(nik);

CREATE TABLE devices (
    device_id BLOB PRIMARY KEY,
    count INTEGER NOT NULL,
    highest_seq INTEGER NOT NULL,
    hash TEXT NOT NULL
) WITHOUT ROWID;

-- Covered persons per area (RT up to province) and category.
CREATE TABLE counters (
    area TEXT NOT NULL,
    category TEXT NOT NULL,
    covered INTEGER NOT NULL,
    PRIMARY KEY (area, category)
) WITHOUT ROWID;

CREATE TABLE baselines (
    area TEXT NOT NULL,
    year INTEGER NOT NULL,
    working_population INTEGER NOT NULL,
    PRIMARY KEY (area, year)
) WITHOUT ROWID;

CREATE TABLE targets (
    area TEXT NOT NULL,
    year INTEGER NOT NULL,
    percent_bp INTEGER NOT NULL,
    count INTEGER,
    PRIMARY KEY (area, year)
) WITHOUT ROWID;

CREATE TABLE conflicts (
    id INTEGER PRIMARY KEY,
    nik TEXT NOT NULL,
    kelurahan TEXT,
    fields TEXT NOT NULL,
    existing TEXT NOT NULL,
    incoming TEXT NOT NULL,
    change_id BLOB NOT NULL,
    status TEXT NOT NULL,
    opened_at INTEGER NOT NULL,
    resolved_at INTEGER,
    resolved_by TEXT,
    resolution TEXT,
    note TEXT
);
CREATE INDEX conflicts_status ON conflicts(status, id);

-- Small server-wide counters (e.g. how many roll imports have run).
CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value INTEGER NOT NULL
) WITHOUT ROWID;
