-- The PostgreSQL schema: the SQLite schema at version 9, in one step.
-- Times are Unix milliseconds (BIGINT); ids are UUIDs; JSON is kept as
-- the same text the SQLite store keeps, so both stores serve the same
-- bytes.

CREATE TABLE tokens (
    id BIGSERIAL PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    role TEXT NOT NULL,
    areas TEXT NOT NULL,            -- comma-separated area codes
    hash TEXT NOT NULL UNIQUE,      -- SHA-256 hex of the token
    created_at BIGINT NOT NULL,
    revoked_at BIGINT,
    expires_at BIGINT
);

-- `seq` is the feed position. It is given out at the end of each write
-- transaction under the row lock of meta('feed_seq'), held to commit, so
-- feed positions become visible in order (docs/sync-api.md).
CREATE TABLE persons (
    seq BIGINT NOT NULL UNIQUE,
    nik TEXT PRIMARY KEY,
    record TEXT NOT NULL,           -- sigap_shared::PersonRecord as JSON
    kelurahan TEXT,
    participant BOOLEAN NOT NULL DEFAULT FALSE,
    registered_by TEXT,
    registered_hlc TEXT,
    registered_at BIGINT,
    sole_device UUID,
    review TEXT,
    last_changed_by TEXT,
    claims TEXT,
    roll_as_of TEXT                 -- YYYY-MM-DD
);
-- One kelurahan's persons in feed order (an agent's pull).
CREATE INDEX persons_kelurahan ON persons(kelurahan, seq);
CREATE INDEX persons_review ON persons(kelurahan) WHERE review IS NOT NULL;

CREATE TABLE changes (
    id UUID PRIMARY KEY,
    device_id UUID NOT NULL,
    device_seq BIGINT NOT NULL,
    in_log BOOLEAN NOT NULL,        -- false for seq_conflict and server writes
    nik TEXT NOT NULL,
    hlc TEXT NOT NULL,
    kind TEXT NOT NULL,
    fields TEXT NOT NULL,
    agent TEXT NOT NULL,
    received_at BIGINT NOT NULL,
    outcome TEXT NOT NULL,
    reject_code TEXT,
    reject_reason TEXT
);
CREATE UNIQUE INDEX changes_device_seq ON changes(device_id, device_seq) WHERE in_log;
CREATE INDEX changes_nik ON changes(nik);
CREATE INDEX changes_received ON changes(received_at);

CREATE TABLE devices (
    device_id UUID PRIMARY KEY,
    count BIGINT NOT NULL,
    highest_seq BIGINT NOT NULL,
    max_seq BIGINT NOT NULL DEFAULT 0,
    hash TEXT NOT NULL,
    token_id BIGINT REFERENCES tokens(id),
    last_push_at BIGINT,
    pending BIGINT
);

CREATE TABLE counters (
    area TEXT NOT NULL,
    category TEXT NOT NULL,
    since_year INTEGER NOT NULL,
    covered BIGINT NOT NULL,
    PRIMARY KEY (area, category, since_year)
);

CREATE TABLE baselines (
    area TEXT NOT NULL,
    year INTEGER NOT NULL,
    working_population BIGINT NOT NULL,
    PRIMARY KEY (area, year)
);

CREATE TABLE targets (
    area TEXT NOT NULL,
    year INTEGER NOT NULL,
    percent_bp INTEGER NOT NULL,
    count BIGINT,
    PRIMARY KEY (area, year)
);

CREATE TABLE conflicts (
    id BIGSERIAL PRIMARY KEY,
    nik TEXT NOT NULL,
    kelurahan TEXT,
    fields TEXT NOT NULL,
    existing TEXT NOT NULL,
    incoming TEXT NOT NULL,
    change_id UUID NOT NULL,
    status TEXT NOT NULL,
    opened_at BIGINT NOT NULL,
    resolved_at BIGINT,
    resolved_by TEXT,
    resolution TEXT,
    note TEXT
);
CREATE INDEX conflicts_status ON conflicts(status, id);
-- One open conflict per person, even with several servers writing.
CREATE UNIQUE INDEX conflicts_open_nik ON conflicts(nik) WHERE status = 'open';

CREATE TABLE meta (
    key TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO meta (key, value) VALUES ('feed_seq', 0), ('generation', 0);

CREATE TABLE secrets (
    name TEXT PRIMARY KEY,
    value BYTEA NOT NULL
);

CREATE TABLE coverage_history (
    area TEXT NOT NULL,
    day TEXT NOT NULL,              -- YYYY-MM-DD, UTC
    pu BIGINT NOT NULL,
    bpu BIGINT NOT NULL,
    jakon BIGINT NOT NULL,
    pmi BIGINT NOT NULL,
    working_population BIGINT,      -- NULL: no baseline for the day's year
    target_bp INTEGER,
    target_count BIGINT,
    taken_at BIGINT NOT NULL,       -- Unix milliseconds; 0 for a backfill
    PRIMARY KEY (area, day)
);

CREATE TABLE visits (
    id UUID PRIMARY KEY,
    device_id UUID NOT NULL,
    agent TEXT NOT NULL,            -- token name
    kelurahan TEXT NOT NULL,
    rw INTEGER NOT NULL,
    rt INTEGER NOT NULL,
    households INTEGER NOT NULL,
    note TEXT,
    visited_at BIGINT NOT NULL,     -- Unix milliseconds, the device's clock
    received_at BIGINT NOT NULL
);
CREATE INDEX visits_kelurahan ON visits(kelurahan, visited_at);

CREATE TABLE unlogged_rejections (
    agent TEXT NOT NULL,
    day TEXT NOT NULL,
    count BIGINT NOT NULL,
    PRIMARY KEY (agent, day)
);
